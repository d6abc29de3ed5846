#!/usr/bin/env bash
# Schema fuzzing (issue 8): schemathesis generates requests from openapi.yaml against a live
# `serve --demo` on a fresh data directory, each role's operations with that role's token,
# and fails on any 5xx or on an answer that does not match the document.
#   scripts/schema-fuzz.sh [EXAMPLES]   (examples per operation; default 20, `make test` uses 10)
#   MSB_BIN   the mashangban binary (default .build/release/mashangban)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${MSB_BIN:-.build/release/mashangban}
EXAMPLES=${1:-20}
command -v schemathesis >/dev/null || { echo "schemathesis is missing: pip install schemathesis" >&2; exit 2; }
WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" serve --data "$WORK/data" --port "$PORT" --demo --rate-limit all=off --log-level error > "$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
source "$WORK/data/demo/clients.env"
ADMIN=$(tr -d '\n' < "$WORK/data/admin-token")
run() {  # run TOKEN TAG...: the operations of those tags, with that token
  local token=$1; shift
  local tags=()
  for tag in "$@"; do tags+=(--include-tag "$tag"); done
  echo "== schemathesis: $* operations"
  schemathesis run openapi.yaml --url "http://127.0.0.1:$PORT" -H "Authorization: Bearer $token" "${tags[@]}" \
    --exclude-path '/v1/licences:batch' --exclude-path '/v1/protected-enterprises/batch' --exclude-path '/v1/policies:batch' \
    --exclude-path '/v1/peers/refresh' \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --phases examples,fuzzing --max-examples "$EXAMPLES" --workers 1 --seed 20261125 --no-color
}
status=0
# Admin last: its fuzzing deletes what it finds, the other roles' clients included.
run "$ISSUER" issuer || status=1
run "$APP" app || status=1
run "$TERMINAL" terminal || status=1
run "$UNIT" unit || status=1
run "$ENTERPRISE" enterprise || status=1
# Not fuzzed: the NDJSON batches (schemathesis writes no NDJSON), and /v1/peers/refresh, which
# calls every registered peer's address (under fuzzing, random hosts; its tests use real peers).
run "$ADMIN" admin ops public federation || status=1
if grep -q "http.status=5\|unhandled error" "$WORK/server.log"; then echo "the server logged errors:"; cat "$WORK/server.log"; status=1; fi
exit $status
