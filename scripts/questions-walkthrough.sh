#!/usr/bin/env bash
# 码上问 / 马上答 and 码上查, against a server started with `make run` (serve --demo): an
# enterprise asks 衡阳市应急管理局 a question; the three working-day clocks are set at once (1
# working day to accept, 2 to report progress, the category's limit to finish); the unit
# accepts, reports and answers; the enterprise rates the answer; the supervisor sees the
# figures. Then the enterprise looks up the policies (惠企政策) it qualifies for.
#   MSB_URL   the server (default http://127.0.0.1:8080)
#   MSB_DATA  its data directory (default ./data)
set -euo pipefail
URL=${MSB_URL:-http://127.0.0.1:8080}
DATA=${MSB_DATA:-./data}
source "$DATA/demo/clients.env"   # UNIT (应急管理局), ENTERPRISE (衡阳市湘江建设有限公司), SUPERVISOR, …
api() {  # curl; a 4xx/5xx answer is shown and stops the walkthrough
  local out
  if ! out=$(curl -sS --fail-with-body "$@"); then echo "request failed: $out" >&2; return 22; fi
  printf '%s\n' "$out"
}
field() { sed -E "s/.*\"$1\":\"([^\"]+)\".*/\1/"; }   # one string field of a JSON answer
show() {  # some members of a JSON answer, each distinct one once, for reading
  { grep -oE "\"($1)\":(\"[^\"]*\"|\[[^]]*\]|\{[^}]*\}|null)" || true; } | awk '!seen[$0]++' | paste -sd' ' -
}

echo "== the working-day calendar the clocks run on (2026: holidays and 调休 days)"
api "$URL/v1/calendar/2026" -H "Authorization: Bearer $ENTERPRISE" | show workdays

echo "== the enterprise asks (category 安全生产许可: finished within 3 working days)"
QUESTION=$(api -X POST "$URL/v1/questions" -H "Authorization: Bearer $ENTERPRISE" -d '{"unit":"hy-yjj",
  "category":"安全生产许可","title":"危化品仓储许可证延续","body":"我公司许可证下月到期，延续需要哪些材料？"}')
echo "$QUESTION" | show "status|accept_by|reply_by|complete_by"
ID=$(echo "$QUESTION" | grep -oE '"id":"qst_[^"]+"' | head -1 | field id)

echo "== the unit accepts, reports how it is handled, and answers"
api -X POST "$URL/v1/questions/$ID/accept" -H "Authorization: Bearer $UNIT" \
  -d '{"opinion":"已受理，由行政审批科办理","handler":"李承办"}' | show "status|handler"
api -X POST "$URL/v1/questions/$ID/progress" -H "Authorization: Bearer $UNIT" -d '{"text":"已核对企业资质"}' | show status
api -X POST "$URL/v1/questions/$ID/complete" -H "Authorization: Bearer $UNIT" \
  -d '{"answer":"请携带许可证正本、安全评价报告到市民中心3号窗口办理延续。"}' | show "status|overdue"

echo "== the enterprise reads its question, with the clocks and the history, and rates the answer"
api "$URL/v1/questions/$ID" -H "Authorization: Bearer $ENTERPRISE" | show "event"
api -X POST "$URL/v1/questions/$ID/rating" -H "Authorization: Bearer $ENTERPRISE" -d '{"score":5,"comment":"答复及时清楚"}' | show level

echo "== the supervisor's figures (the demo holds a question that was never accepted: overdue)"
api "$URL/v1/question-stats" -H "Authorization: Bearer $SUPERVISOR" | show "on_time|clocks"

echo "== 码上查: search the 200 demo policies (Chinese full text, a filter), then by the enterprise's profile"
api -G "$URL/v1/policies" -H "Authorization: Bearer $ENTERPRISE" --data-urlencode "q=中小企业 贴息" \
  --data-urlencode "region=430405" --data-urlencode "limit=2" | show "title|snippet"
api -X PUT "$URL/v1/enterprise/profile" -H "Authorization: Bearer $ENTERPRISE" \
  -d '{"industry":"E4701","region":"430406","scale":"medium"}' | show "industry|region|scale"
api "$URL/v1/enterprise/policies?limit=3" -H "Authorization: Bearer $ENTERPRISE" | show "title"
