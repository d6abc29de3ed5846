#!/usr/bin/env bash
# 码上办 in both modes, against a server started with `make run` (serve --demo), which
# printed the tokens this script reads from the data directory. Every request is curl.
#   MSB_URL   the server (default http://127.0.0.1:8080)
#   MSB_DATA  its data directory (default ./data)
#   MSB_BIN   the mashangban binary, for the face-auth stand-in (default .build/release/mashangban)
#   ITEM      the item (事项) to handle (default sb-transfer)
set -euo pipefail
URL=${MSB_URL:-http://127.0.0.1:8080}
DATA=${MSB_DATA:-./data}
BIN=${MSB_BIN:-.build/release/mashangban}
ITEM=${ITEM:-sb-transfer}
source "$DATA/demo/clients.env"            # TERMINAL, APP, ISSUER: the demo's client tokens (the admin's is in $DATA/admin-token)
KEY="$DATA/demo/face-auth-stub.pem"        # the face-auth stand-in's private key
PERSON=430405198501011235                  # 王一静, whose two cards are in her wallet
api() {  # curl; a 4xx/5xx answer is shown and stops the walkthrough
  local out
  if ! out=$(curl -sS --fail-with-body "$@"); then echo "request failed: $out" >&2; return 22; fi
  printf '%s\n' "$out"
}
field() { sed -E "s/.*\"$1\":\"([^\"]+)\".*/\1/"; }   # one string field of a JSON answer

seen() {  # face recognition for $1 (consent | holder_session): a challenge, then the provider's attestation
  local nonce
  nonce=$(api -X POST "$URL/v1/face-auth/challenges" -H "Authorization: Bearer $APP" \
    -d "{\"subject\":\"$PERSON\",\"purpose\":\"$1\"}" | field nonce)
  "$BIN" face-auth-stub sign --key "$KEY" --sub "$PERSON" --nonce="$nonce"
}

# The holder is present at the app: a holder session (30 minutes) lets the app read her wallet,
# where it sees her licences masked; their ids, as a JSON list.
SESSION_TOKEN=$(api -X POST "$URL/v1/holder-sessions" -H "Authorization: Bearer $APP" \
  -d "{\"holder\":\"$PERSON\",\"attestation\":\"$(seen holder_session)\"}" | field token)
LICENCES=$(api "$URL/v1/holders/$PERSON/wallet" -H "Authorization: Bearer $APP" -H "MSB-Holder-Session: $SESSION_TOKEN" \
  | grep -o '"id":"lic_[^"]*"' | sed -E 's/"id":"([^"]+)"/"\1"/' | paste -sd, -)

consent() {  # the holder's consent, after a face check of its own
  api -X POST "$URL/v1/consents" -H "Authorization: Bearer $APP" \
    -d "{\"holder\":\"$PERSON\",\"attestation\":\"$(seen consent)\",\"licences\":[$LICENCES],\"item\":\"$ITEM\"}" | field id
}

delivered() {  # the window follows its submission until the approval system has it (at most 30 s)
  local status=""
  for _ in $(seq 60); do
    status=$(api "$URL/v1/submissions/$1" -H "Authorization: Bearer $TERMINAL")
    if [[ $status == *'"status":"delivered"'* ]]; then echo "$status"; return 0; fi
    sleep 0.5
  done
  echo "not delivered: $status" >&2
  return 1
}

echo "== 一码出示: the holder's phone shows a code; the window scans it"
CODE=$(api -X POST "$URL/v1/presentations" -H "Authorization: Bearer $APP" -d "{\"consent\":\"$(consent)\"}")
SCAN=$(api -X POST "$URL/v1/scans" -H "Authorization: Bearer $TERMINAL" \
  -d "{\"token\":\"$(echo "$CODE" | field token)\",\"item\":\"$ITEM\"}")
echo "$SCAN"
delivered "$(echo "$SCAN" | field submission)"

echo "== 一码获取: the window shows a code; the holder's app scans it and hands the licences over"
SESSION=$(api -X POST "$URL/v1/window-sessions" -H "Authorization: Bearer $TERMINAL" -d "{\"item\":\"$ITEM\"}")
WINDOW=$(mktemp)
api "$URL/v1/window-sessions/$(echo "$SESSION" | field id)?wait=30" -H "Authorization: Bearer $TERMINAL" > "$WINDOW" &
CLAIM=$(api -X POST "$URL/v1/window-sessions/claim" -H "Authorization: Bearer $APP" \
  -d "{\"token\":\"$(echo "$SESSION" | field token)\",\"consent\":\"$(consent)\"}")
echo "$CLAIM"
wait
echo "the window's long poll: $(cat "$WINDOW")"
rm -f "$WINDOW"
delivered "$(echo "$CLAIM" | field submission)"

echo "== the holder leaves: the app ends her session"
api -X DELETE "$URL/v1/holder-sessions/current" -H "Authorization: Bearer $APP" -H "MSB-Holder-Session: $SESSION_TOKEN"

echo "== what the approval system received (the demo's stand-in on the server)"
api "${RECEIVED:-$URL/demo/approval-system/received}" -H "Authorization: Bearer $(cat "$DATA/admin-token")"
echo
