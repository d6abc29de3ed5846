#!/usr/bin/env bash
# 跨域通办 between two demo servers started as README shows (衡阳市 430400 and 长沙市 430100,
# each its own data, keys and approval-system stand-in; each pinned the other's key as first
# seen): a code 长沙市 issued is scanned at a 衡阳市 window and redeemed by 长沙市, once; a
# matter 长沙市 decides is taken at a 衡阳市 window and forwarded there (异地代收).
#   HY_URL, CS_URL    the two servers (default http://127.0.0.1:8080 and :8081)
#   HY_DATA, CS_DATA  their data directories (default ./data-hy and ./data-cs)
#   MSB_BIN           the mashangban binary, for the face-auth stand-in (default .build/release/mashangban)
set -euo pipefail
HY_URL=${HY_URL:-http://127.0.0.1:8080}
CS_URL=${CS_URL:-http://127.0.0.1:8081}
HY_DATA=${HY_DATA:-./data-hy}
CS_DATA=${CS_DATA:-./data-cs}
BIN=${MSB_BIN:-.build/release/mashangban}
PERSON=430405198501011235                                  # 王一静, with her ID card in both regions' demo wallets
HY_TERMINAL=$(source "$HY_DATA/demo/clients.env"; echo "$TERMINAL")   # a 衡阳市 window
api() {  # curl; a 4xx/5xx answer is shown and stops the walkthrough
  local out
  if ! out=$(curl -sS --fail-with-body "$@"); then echo "request failed: $out" >&2; return 22; fi
  printf '%s\n' "$out"
}
field() { sed -E "s/.*\"$1\":\"([^\"]+)\".*/\1/"; }         # one string field of a JSON answer
json() { python3 -c "import json, sys; d = json.load(sys.stdin); $1"; }

app_of() { (source "$1/demo/clients.env"; echo "$APP"); }  # the demo app's token of the region with data directory $1

seen() {  # a face check of $PERSON's at the region at URL $1, data directory $2, for purpose $3 (the stand-in signs)
  local nonce
  nonce=$(api -X POST "$1/v1/face-auth/challenges" -H "Authorization: Bearer $(app_of "$2")" \
    -d "{\"subject\":\"$PERSON\",\"purpose\":\"$3\"}" | field nonce)
  "$BIN" face-auth-stub sign --key "$2/demo/face-auth-stub.pem" --sub "$PERSON" --nonce="$nonce"
}

session() {  # a holder session of $PERSON's at the region at URL $1 with data directory $2
  api -X POST "$1/v1/holder-sessions" -H "Authorization: Bearer $(app_of "$2")" \
    -d "{\"holder\":\"$PERSON\",\"attestation\":\"$(seen "$1" "$2" holder_session)\"}" | field token
}

code() {  # a code of $PERSON's, issued by the region at URL $1 with data directory $2, for any item and any hall
  local app licences consent
  app=$(app_of "$2")
  licences=$(api "$1/v1/holders/$PERSON/wallet" -H "Authorization: Bearer $app" -H "MSB-Holder-Session: $(session "$1" "$2")" \
    | grep -o '"id":"lic_[^"]*"' | sed -E 's/"id":"([^"]+)"/"\1"/' | paste -sd, -)
  consent=$(api -X POST "$1/v1/consents" -H "Authorization: Bearer $app" \
    -d "{\"holder\":\"$PERSON\",\"attestation\":\"$(seen "$1" "$2" consent)\",\"licences\":[$licences]}" | field id)
  api -X POST "$1/v1/presentations" -H "Authorization: Bearer $app" -d "{\"consent\":\"$consent\"}" | field token
}

follow() {  # the 衡阳市 window follows submission $1 until $2 holds (a Python test on `s`), at most 30 s
  local status=""
  for _ in $(seq 60); do
    status=$(api "$HY_URL/v1/submissions/$1" -H "Authorization: Bearer $HY_TERMINAL")
    if echo "$status" | json "s = d; sys.exit(0 if ($2) else 1)"; then echo "$status"; return 0; fi
    sleep 0.5
  done
  echo "not there yet: $status" >&2
  return 1
}

echo "== each region pinned the other's key and read its catalogue (wait for both, at most 60 s)"
for _ in $(seq 120); do
  ready=yes
  for pair in "$HY_URL $HY_DATA" "$CS_URL $CS_DATA"; do
    set -- $pair
    api "$1/v1/peers" -H "Authorization: Bearer $(cat "$2/admin-token")" \
      | json 'p = d["peers"]; sys.exit(0 if p and p[0]["items"] and p[0]["refresh_error"] is None else 1)' || ready=no
  done
  [[ $ready == yes ]] && break
  sleep 0.5
done
for pair in "衡阳市 $HY_URL $HY_DATA" "长沙市 $CS_URL $CS_DATA"; do
  set -- $pair
  api "$2/v1/peers" -H "Authorization: Bearer $(cat "$3/admin-token")" | json "p = d['peers'][0]
print('$1 holds', p['region'], p['name'], p['key_fingerprints'], [k['status'] for k in p['keys']], [i['national_code'] for i in p['items']])"
done

echo "== 1. a code 长沙市 issued, scanned at a 衡阳市 window for xr-430400 (衡阳市 decides it)"
CODE=$(code "$CS_URL" "$CS_DATA")
SCAN=$(api -X POST "$HY_URL/v1/scans" -H "Authorization: Bearer $HY_TERMINAL" -d "{\"token\":\"$CODE\",\"item\":\"xr-430400\"}")
echo "$SCAN"
follow "$(echo "$SCAN" | field submission)" 's["status"] == "delivered"' | json 'print(d["status"], d["cross_region"])'
echo "== scanned again, here or in 长沙市, it is used: a code is consumed once"
curl -s -X POST "$HY_URL/v1/scans" -H "Authorization: Bearer $HY_TERMINAL" -d "{\"token\":\"$CODE\",\"item\":\"xr-430400\"}"; echo
curl -s -X POST "$CS_URL/v1/scans" -H "Authorization: Bearer $(source "$CS_DATA/demo/clients.env"; echo "$TERMINAL")" \
  -d "{\"token\":\"$CODE\",\"item\":\"sb-transfer\"}"; echo

echo "== 2. 异地代收: a 衡阳市 code at the 衡阳市 window for xr-430100, which 长沙市 decides"
SCAN=$(api -X POST "$HY_URL/v1/scans" -H "Authorization: Bearer $HY_TERMINAL" \
  -d "{\"token\":\"$(code "$HY_URL" "$HY_DATA")\",\"item\":\"xr-430100\"}")
echo "$SCAN"
follow "$(echo "$SCAN" | field submission)" 's["status"] == "delivered" and s["cross_region"][0]["peer_status"] == "delivered"' \
  | json 'print(d["status"], d["cross_region"])'
echo "== what 长沙市's approval system (its stand-in) received last"
api "$CS_URL/demo/approval-system/received" -H "Authorization: Bearer $(cat "$CS_DATA/admin-token")" \
  | json 'b = d["received"][-1]["body"]; print(b["item"], "forwarded by", b["forwarded_by"]["region"], b["holder"], b["licences"])'

echo "== each step is in both audit logs, with the other region's id for it"
for pair in "衡阳市 $HY_URL $HY_DATA" "长沙市 $CS_URL $CS_DATA"; do
  set -- $pair
  api "$2/v1/audit/entries?limit=1000" -H "Authorization: Bearer $(cat "$3/admin-token")" | json "
for e in d['entries']:
    x = e['detail']
    if 'peer_request' in x and e['action'] != 'federation.redemption_refused':
        print('$1', e['seq'], e['actor'], e['action'], e['object'], 'peer', x.get('region'), x['peer_request'])"
done

echo "== each region witnesses the other's audit log: a refresh checks and cosigns its newest checkpoint"
for pair in "$HY_URL $HY_DATA" "$CS_URL $CS_DATA"; do
  set -- $pair
  api -X POST "$1/v1/peers/refresh" -H "Authorization: Bearer $(cat "$2/admin-token")" \
    | json 'p = d["peers"][0]; print(p["region"], "audit log", p["witness"]["status"], "at size", p["witness"]["size"])'
done
api "$HY_URL/v1/audit/checkpoints/cosigned" -H "Authorization: Bearer $(cat "$HY_DATA/admin-token")" \
  | json 'print("衡阳市 checkpoint", d["size"], "cosigned by", [c["region"] for c in d["cosignatures"]]); print(d["note"], end="")'

echo "== who saw 王一静's data in 衡阳市 (her app, with her holder session), each with its proof"
api "$HY_URL/v1/holders/$PERSON/disclosures" -H "Authorization: Bearer $(app_of "$HY_DATA")" \
  -H "MSB-Holder-Session: $(session "$HY_URL" "$HY_DATA")" | json '
for x in d["disclosures"]:
    proof = x["proof"]
    print(x["at"], x["item"], "→", x["recipient"]["kind"], x["recipient"]["id"], sorted(x["fields"].items()),
          "seq", x["seq"], "proof at size %d, %d hashes" % (proof["size"], len(proof["path"])) if proof else "(not yet under a cosigned checkpoint)")'

echo "== the region-to-region endpoints answer only a peer's signed request"
curl -s "$HY_URL/v1/federation/items"; echo
