#!/usr/bin/env bash
# 跨域通办, against two servers started as README shows (衡阳市 and 长沙市, each its own data and
# keys): each region pins the other's key by the fingerprint its GET /v1/keys shows; 长沙市
# offers an item by its national code; each reads the other's keys, and 衡阳市 reads 长沙市's
# catalogue over a request it signs.
#   HY_URL, CS_URL    the two servers (default http://127.0.0.1:8080 and :8081)
#   HY_DATA, CS_DATA  their data directories (default ./data-hy and ./data-cs)
set -euo pipefail
HY_URL=${HY_URL:-http://127.0.0.1:8080}
CS_URL=${CS_URL:-http://127.0.0.1:8081}
HY=$(cat "${HY_DATA:-./data-hy}/admin-token")
CS=$(cat "${CS_DATA:-./data-cs}/admin-token")
api() {  # curl; a 4xx/5xx answer is shown and stops the walkthrough
  local out
  if ! out=$(curl -sS --fail-with-body "$@"); then echo "request failed: $out" >&2; return 22; fi
  printf '%s\n' "$out"
}
key() { api "$1/v1/keys" | python3 -c 'import json, sys; print(json.load(sys.stdin)["keys"][0]["fingerprint"])'; }

echo "== the fingerprints each region shows (compare them over a channel you trust before pinning)"
HY_FP=$(key "$HY_URL"); CS_FP=$(key "$CS_URL")
echo "衡阳市 $HY_FP"; echo "长沙市 $CS_FP"

echo "== each pins the other"
api -X POST "$HY_URL/v1/peers" -H "Authorization: Bearer $HY" \
  -d '{"region":"430100","name":"长沙市","base_url":"'"$CS_URL"'","key_fingerprints":["'"$CS_FP"'"]}'
api -X POST "$CS_URL/v1/peers" -H "Authorization: Bearer $CS" \
  -d '{"region":"430400","name":"衡阳市","base_url":"'"$HY_URL"'","key_fingerprints":["'"$HY_FP"'"]}'

echo "== 长沙市 offers an item by its national code"
api -X POST "$CS_URL/v1/approval-systems" -H "Authorization: Bearer $CS" \
  -d '{"code":"cs-hr","name":"长沙市人社审批系统","webhook_url":"http://127.0.0.1:9/webhook"}' > /dev/null
api -X POST "$CS_URL/v1/items" -H "Authorization: Bearer $CS" -d '{"code":"cs-sb-transfer","name":"社保关系转移",
  "approval_system":"cs-hr","required":["resident_id_card"],"national_code":"11430100-SB-001"}'

echo "== each reads the other's keys (every 10 minutes by itself too); 衡阳市 has not taken"
echo "   长沙市's key yet, so 长沙市's read of its catalogue is refused"
api -X POST "$CS_URL/v1/peers/refresh" -H "Authorization: Bearer $CS"
api -X POST "$HY_URL/v1/peers/refresh" -H "Authorization: Bearer $HY"

echo "== 衡阳市 now holds 长沙市's key and its cross-region item"
api "$HY_URL/v1/peers" -H "Authorization: Bearer $HY" | python3 -c 'import json, sys
peer = json.load(sys.stdin)["peers"][0]
print(peer["region"], [key["status"] for key in peer["keys"]], [item["national_code"] for item in peer["items"]])'

echo "== the catalogue answers only a peer's signed request"
curl -s "$HY_URL/v1/federation/items"; echo
