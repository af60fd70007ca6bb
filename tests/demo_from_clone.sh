#!/usr/bin/env bash
# The newcomer's path (issue 6, "Must show"): clone this repository's HEAD
# into a temp dir, run README.md's FIRST line exactly as written, wait for
# the demo's summary (proposals, the approval on the feed, one draft and no
# send but the digest, the digest delivered), call its API with the printed
# token and run its printed curl lines, check the answers, then stop it.
# `.ci/run` runs this after the test suite.
#
#   DEMO_CLONE_TIMEOUT_SECS  how long the first command may take to be ready
#                            (default 3600: a cold build on 2 busy cores)
#   DEMO_CLONE_COLD=1        build in the clone's own target dir (truly cold);
#                            by default CARGO_TARGET_DIR is this checkout's
#                            target/ so compiled dependencies are reused.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
timeout_s=${DEMO_CLONE_TIMEOUT_SECS:-3600}
work=$(mktemp -d)
pgid=""
cleanup() {
    if [ -n "$pgid" ] && kill -0 -- "-$pgid" 2>/dev/null; then
        kill -TERM -- "-$pgid" 2>/dev/null || true
        sleep 2
        kill -KILL -- "-$pgid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "demo_from_clone: FAIL: $*" >&2; echo "--- stdout" >&2; cat "$work/out" >&2 || true; echo "--- stderr (tail)" >&2; tail -n 30 "$work/err" >&2 || true; exit 1; }

git clone -q "$repo" "$work/clone"
git -C "$work/clone" checkout -q --detach "$(git -C "$repo" rev-parse HEAD)"
first=$(head -n 1 "$work/clone/README.md" | sed 's/[[:space:]]*$//')
case "$first" in
    *" demo"*) ;;
    *) echo "demo_from_clone: README.md's first line is not the demo command: $first" >&2; exit 1 ;;
esac
if [ "${DEMO_CLONE_COLD:-0}" != 1 ]; then
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
fi
echo "== demo_from_clone: running README line 1 in a fresh clone: $first"
cd "$work/clone"
start=$(date +%s)
: > "$work/out"
setsid bash -c "$first" > "$work/out" 2> "$work/err" < /dev/null &
pgid=$!
# The tour's last line: everything above it has been printed.
while ! grep -q '^Ctrl-C stops the demo\.$' "$work/out"; do
    kill -0 "$pgid" 2>/dev/null || fail "the command exited before the demo was ready"
    [ $(( $(date +%s) - start )) -lt "$timeout_s" ] || fail "not ready within ${timeout_s}s"
    sleep 1
done
ready=$(( $(date +%s) - start ))
line=$(grep '^demo ready: ' "$work/out")
base=$(echo "$line" | sed -E 's/^demo ready: ([^ ]+)  token: .*$/\1/')
token=$(echo "$line" | sed -E 's/^.*  token: ([^ ]+)$/\1/')
grep -q '^  mailboxes   3: alice@fund.example, bob@fund.example, carol@fund.example$' "$work/out" || fail "mailboxes line"
grep -q '^  messages    11 emails captured (16 copies' "$work/out" || fail "messages line"
grep -q '^  matched     9 emails linked to 5 investors' "$work/out" || fail "matched line"
grep -q 'FAILED' "$work/out" && fail "a demo step failed"
grep -Eq '^  proposals   8 proposed: 1 approved by alice@fund\.example \(id [0-9]+, .*\), 7 pending review$' "$work/out" || fail "proposals line"
approved=$(sed -nE 's/^  proposals   .*\(id ([0-9]+), .*$/\1/p' "$work/out")
grep -q '^  feed        1 item for the CRM (GET feed as the service)' "$work/out" || fail "feed line"
grep -q "^  gmail       1 draft in alice@fund.example's mailbox (in the reply's thread); users.drafts.create 1, users.messages.send 1 (0 besides the digest" "$work/out" || fail "gmail line: one draft, no send but the digest"
grep -q "^  digest      1 delivered via gmail to alice@fund.example: .*copies with its Message-ID: 1 in fake Gmail's sent mail, 0 in the SMTP sink" "$work/out" || fail "digest line"

health=$(curl -sS --max-time 10 "$base/api/email/health")
[ "$health" = '{"db":"ok","status":"ok"}' ] || [ "$health" = '{"status":"ok","db":"ok"}' ] || fail "health: $health"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "Authorization: Bearer wrong" "$base/api/email/status")
[ "$code" = 401 ] || fail "a wrong token got $code"
curl -sS --max-time 10 -H "Authorization: Bearer $token" "$base/api/email/status" > "$work/status.json"
python3 - "$work/status.json" <<'PY' || fail "status: $(cat "$work/status.json")"
import json, sys
s = json.load(open(sys.argv[1]))
got = [(a["email"], a["messages"], a["backfill_done"], a["status"]) for a in s["accounts"]]
want = [("alice@fund.example", 8, True, "active"), ("bob@fund.example", 4, True, "active"),
        ("carol@fund.example", 4, True, "active")]
assert s["enabled"] is True and got == want, got
PY
# The printed curl lines, run as printed with the printed TOKEN.
TOKEN=$(sed -nE 's/^  TOKEN=(.*)$/\1/p' "$work/out")
[ "$TOKEN" = "$token" ] || fail "the tour's TOKEN is not the ready line's token"
export TOKEN
tour() { grep -E "^  curl .*/api/email/$1([?\" ]|\$)" "$work/out" | sed 's/^  //'; }
for route in status proposals feed; do
    cmd=$(tour "$route")
    [ "$(printf '%s\n' "$cmd" | grep -c .)" = 1 ] || fail "one printed curl line for $route, got: $cmd"
    bash -c "$cmd" > "$work/tour-$route.json" || fail "the printed line for $route failed: $cmd"
done
python3 - "$work" "$approved" <<'PY' || fail "the printed curl lines' answers"
import json, sys
d, approved = sys.argv[1], sys.argv[2]
s = json.load(open(f"{d}/tour-status.json"))
assert [a["email"] for a in s["accounts"]] == ["alice@fund.example", "bob@fund.example", "carol@fund.example"], s
p = json.load(open(f"{d}/tour-proposals.json"))["items"]
assert len(p) == 7 and all(i["status"] == "pending" and i["id"] != approved for i in p), p
f = json.load(open(f"{d}/tour-feed.json"))["items"]
assert [(i["proposal_id"], i["approved_by"]) for i in f] == [(approved, "alice@fund.example")], f
PY
kill -TERM -- "-$pgid"
for _ in $(seq 1 100); do kill -0 -- "-$pgid" 2>/dev/null || break; sleep 0.1; done
kill -0 -- "-$pgid" 2>/dev/null && fail "the demo did not stop within 10 s of SIGTERM"
pgid=""
echo "== demo_from_clone: ok (ready after ${ready}s; summary figures, health, token, status and the printed status/proposals/feed lines checked; stopped on SIGTERM)"
