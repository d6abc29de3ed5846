#!/usr/bin/env bash
# 赋码入企 (visit codes), against a server started with `make run` (serve --demo): a unit
# applies to inspect a protected enterprise, the enterprise confirms the day (码上约), the
# unit's head approves with a face check, and the code is green at the enterprise's door; a
# survey the enterprise refused has a red code, and the refusal reaches the unit's supervisor.
#   MSB_URL   the server (default http://127.0.0.1:8080)
#   MSB_DATA  its data directory (default ./data)
#   MSB_BIN   the mashangban binary, for the face-auth stand-in (default .build/release/mashangban)
set -euo pipefail
URL=${MSB_URL:-http://127.0.0.1:8080}
DATA=${MSB_DATA:-./data}
BIN=${MSB_BIN:-.build/release/mashangban}
source "$DATA/demo/clients.env"   # UNIT (应急管理局), UNIT2 (消防救援支队), ENTERPRISE (its door), RED_VISIT, …
KEY="$DATA/demo/face-auth-stub.pem"
HEAD=430421197806055517           # the head of 衡阳市应急管理局, who approves its visits
COMPANY=91430400MA4L0XXX16        # 衡阳市湘江建设有限公司, a protected enterprise
TODAY=$(TZ=Asia/Shanghai date +%F)
api() {  # curl; a 4xx/5xx answer is shown and stops the walkthrough
  local out
  if ! out=$(curl -sS --fail-with-body "$@"); then echo "request failed: $out" >&2; return 22; fi
  printf '%s\n' "$out"
}
field() { sed -E "s/.*\"$1\":\"([^\"]+)\".*/\1/"; }   # one string field of a JSON answer
show() {  # some members of a JSON answer, each distinct one once, for reading
  { grep -oE "\"($1)\":(\"[^\"]*\"|\[[^]]*\]|\{[^}]*\}|null)" || true; } | awk '!seen[$0]++' | paste -sd' ' -
}

echo "== the unit applies to inspect the enterprise today, and proposes today (码上约)"
VISIT=$(api -X POST "$URL/v1/visits" -H "Authorization: Bearer $UNIT" -d "{\"enterprise\":\"$COMPANY\",\
\"type\":\"inspection\",\"matter\":\"安全生产检查\",\"legal_basis\":\"《中华人民共和国安全生产法》第六十五条\",\
\"officials\":[\"yj01\",\"yj02\"],\"from\":\"$TODAY\",\"until\":\"$TODAY\",\"purpose\":\"复查整改情况\",\"dates\":[\"$TODAY\"]}" \
  | grep -oE '"id":"vis_[^"]+"' | head -1 | field id)
echo "visit $VISIT"

echo "== the enterprise sees it in advance (officials' names masked) and confirms the day"
api "$URL/v1/enterprise/visits" -H "Authorization: Bearer $ENTERPRISE" | show "legal_basis|name|credential_no"
api -X POST "$URL/v1/visits/$VISIT/booking" -H "Authorization: Bearer $ENTERPRISE" -d "{\"date\":\"$TODAY\"}" | show booking

echo "== the unit's head approves, seen by face recognition"
NONCE=$(api -X POST "$URL/v1/face-auth/challenges" -H "Authorization: Bearer $UNIT" \
  -d "{\"subject\":\"$HEAD\",\"purpose\":\"visit_approval\"}" | field nonce)
ATTESTATION=$("$BIN" face-auth-stub sign --key "$KEY" --sub "$HEAD" --nonce="$NONCE")
api -X POST "$URL/v1/visits/$VISIT/approve" -H "Authorization: Bearer $UNIT" -d "{\"attestation\":\"$ATTESTATION\"}" | show "status|checks"

echo "== the code, and the enterprise's door: green, so the officials enter; later they leave"
TOKEN=$(api -X POST "$URL/v1/visits/$VISIT/code" -H "Authorization: Bearer $UNIT" | field token)
api -X POST "$URL/v1/visit-scans" -H "Authorization: Bearer $ENTERPRISE" -d "{\"token\":\"$TOKEN\",\"event\":\"enter\"}" \
  | show "colour|reasons|entry"
api -X POST "$URL/v1/visit-scans" -H "Authorization: Bearer $ENTERPRISE" -d "{\"token\":\"$TOKEN\",\"event\":\"exit\"}" | show entry
api "$URL/v1/visits/$VISIT" -H "Authorization: Bearer $UNIT" | show "event|at"   # its timeline

echo "== a survey the enterprise refused: red at the door, refused, and reported to the supervisor"
RED=$(api -X POST "$URL/v1/visits/$RED_VISIT/code" -H "Authorization: Bearer $UNIT2" | field token)
api -X POST "$URL/v1/visit-scans" -H "Authorization: Bearer $ENTERPRISE" -d "{\"token\":\"$RED\",\"event\":\"enter\"}" \
  | show "colour|reasons|entry"
for _ in $(seq 60); do   # the supervisor's webhook is a stand-in on the demo server
  RECEIVED=$(api "$URL/demo/supervisor/received" -H "Authorization: Bearer $(cat "$DATA/admin-token")")
  [[ $RECEIVED == *"$RED_VISIT"* ]] && break
  sleep 0.5
done
[[ $RECEIVED == *"$RED_VISIT"* ]] || { echo "the supervisor was not told" >&2; exit 1; }
echo "the supervisor received a notice: $(echo "$RECEIVED" | grep -o 'visit\.refused' | head -1) of $RED_VISIT"
