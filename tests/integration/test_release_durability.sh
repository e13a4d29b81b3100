#!/usr/bin/env bash
# Crash safety of the release engine: kill -9 augerd in the middle of a
# burst of deploys, restart, and check that every deploy that was answered
# 201 is in the history, that git is intact (fsck), that LMDB indexes every
# commit git has, and that the history equals what `augerd reindex` rebuilds
# from the git trailers alone.
#
#   bash tests/integration/test_release_durability.sh
#   DUR_DEPLOYS=100 (default), DUR_KILL_AFTER=15 (201 answers before the kill)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/release_lib.sh"

DEPLOYS=${DUR_DEPLOYS:-100}
KILL_AFTER=${DUR_KILL_AFTER:-15}
ENV=dur

section() { echo "# $1 (${SECONDS}s)"; }

start_daemon
api POST /api/envs "{\"name\":\"$ENV\"}"
[ "$API_STATUS" = 201 ] || die "POST /api/envs $ENV -> $API_STATUS" "$API_BODY"
EVENTS_TOKEN=$(events_token "$ENV")
[ -n "$EVENTS_TOKEN" ] || die "no events token from POST /api/bootstrap" "$API_BODY"

# ---------------------------------------------------------------- history before the crash
# deploys (policy and API), a rollback, a delete and a Flux status, so that
# reindex has every kind of record to rebuild.
section "history before the burst"
rl_push_ok "$(rl_artifact web "$ENV" "$(rl_sha w1)" main)"
W1=$(jf '.releases[0].gitopsRef' <<<"$API_BODY")
rl_push_ok "$(rl_artifact web "$ENV" "$(rl_sha w2)")"
rl_deploy "$ENV" "$ART_ID" web
[ "$API_STATUS" = 201 ] || die "deploy web w2" "$API_BODY"
api POST /api/rollback "{\"env\":\"$ENV\",\"app\":\"web\",\"to\":1}"
[ "$API_STATUS" = 201 ] || die "rollback web" "$API_BODY"
rl_push_ok "$(rl_artifact api "$ENV" "$(rl_sha a1)" main)"
api POST "/api/delete?env=$ENV&app=api"
[ "$API_STATUS" = 201 ] || die "delete api" "$API_BODY"
flux_event "$ENV" "$EVENTS_TOKEN" "$(apps_main "$ENV")" ReconciliationSucceeded
check_eq "Flux event accepted" 200 "$API_STATUS"
H=$(rl_history "$ENV" limit=1000)
check_eq "the Flux status reached the newest release" ReconciliationSucceeded "$(jf '.[0].gitopsCommitStatus' <<<"$H")"
check_eq "and its ancestors without a status" ReconciliationSucceeded "$(jf '.[-1].gitopsCommitStatus' <<<"$H")"

# ---------------------------------------------------------------- the burst
section "artifacts for the burst"
CD=$T/burst
mkdir -p "$CD"
jobs_list=()
for n in $(seq 1 "$DEPLOYS"); do
	jobs_list+=("app-$(((n - 1) % 10 + 1)) $(((n - 1) / 10 + 1))")
done
for j in "${jobs_list[@]}"; do
	set -- $j
	rl_artifact "$1" "$ENV" "$(rl_sha "$1-$2")" >"$CD/$1-$2.json"
done
: >"$CD/art.cfg"
for j in "${jobs_list[@]}"; do
	set -- $j
	batch_add "$CD/art.cfg" "$URL/api/artifact" "$CD/$1-$2.json" "$CD/$1-$2.art"
done
batch_run "$CD/art.cfg" "$CD/art.log" 16
bad=0
for j in "${jobs_list[@]}"; do
	set -- $j
	id=$(jq -r '.id // empty' "$CD/$1-$2.art" 2>/dev/null)
	[ -n "$id" ] || bad=$((bad + 1))
	printf '{"env":"%s","app":"%s","artifactId":"%s"}' "$ENV" "$1" "$id" >"$CD/$1-$2.req"
done
check_eq "$DEPLOYS artifacts stored" 0 "$bad"

section "burst of $DEPLOYS deploys, kill -9 after $KILL_AFTER answers"
: >"$CD/dep.cfg"
for j in "${jobs_list[@]}"; do
	set -- $j
	batch_add "$CD/dep.cfg" "$URL/api/releases" "$CD/$1-$2.req" "$CD/$1-$2.out"
done
: >"$CD/dep.log"
batch_run "$CD/dep.cfg" "$CD/dep.log" "$DEPLOYS" &
BATCH=$!
track "$BATCH"
answered() { grep -c '^201 ' "$CD/dep.log"; }
t0=$(now_ms)
while [ "$(answered)" -lt "$KILL_AFTER" ] && [ $(($(now_ms) - t0)) -lt 20000 ]; do sleep 0.02; done
kill -KILL "$DAEMON_PID"
t1=$(now_ms)
{ wait "$DAEMON_PID"; } 2>/dev/null
wait "$BATCH"
N201=$(answered)
NALL=$(wc -l <"$CD/dep.log")
echo "     killed augerd $((t1 - t0)) ms into the burst: $N201 of $NALL deploys answered 201, $((NALL - N201)) cut off"
[ "$N201" -ge 1 ] || die "no deploy answered before the kill" "$(head -n 5 "$CD/dep.log")"
[ "$N201" -lt "$DEPLOYS" ] || echo "     (every deploy finished before the kill: the crash hit an idle daemon)"
grep '^201 ' "$CD/dep.log" | while read -r _ _ f; do
	jq -r '.releases[0] | "\(.app) \(.seq) \(.gitopsRef)"' "$f"
done >"$CD/answered"
check_eq "every 201 answer names a release" "$N201" "$(grep -c ' [0-9a-f]\{40\}$' "$CD/answered")"

# ---------------------------------------------------------------- after the restart
section "restart"
REPO=$DATA/repos/gitops-$ENV-apps.git
for r in apps infra; do
	if out=$(git --git-dir="$DATA/repos/gitops-$ENV-$r.git" fsck --strict --no-dangling 2>&1) &&
		! printf '%s' "$out" | grep -Eq 'error|missing|broken|corrupt'; then
		ok "git fsck gitops-$ENV-$r after kill -9"
	else
		fail "git fsck gitops-$ENV-$r after kill -9" "$out"
	fi
done
start_daemon "$DATA"
H=$(rl_history "$ENV" limit=1000)
check_eq "GET /api/releases after the restart: 200" 200 "$(rl_history "$ENV" limit=1 >/dev/null; echo "$API_STATUS")"
jf '.[] | "\(.app) \(.seq) \(.gitopsRef)"' <<<"$H" | sort >"$CD/history"
sort "$CD/answered" >"$CD/answered.sorted"
missing=$(comm -23 "$CD/answered.sorted" "$CD/history")
check_eq "every deploy answered 201 is in the history (app, seq, gitopsRef): $N201" "" "$missing"
MAIN=$(apps_main "$ENV")
notanc=0
while read -r _ _ ref; do
	git --git-dir="$REPO" merge-base --is-ancestor "$ref" "$MAIN" 2>/dev/null || notanc=$((notanc + 1))
done <"$CD/answered"
check_eq "every answered deploy's commit is in main's history" 0 "$notanc"
HREFS=$(jf '.[].gitopsRef' <<<"$H" | tr '\n' ' ')
N=$(jq length <<<"$H")
GREFS=$(git --git-dir="$REPO" rev-list --first-parent "$MAIN" | head -n "$N" | tr '\n' ' ')
check_eq "the history is git's first-parent log, newest first" "$GREFS" "$HREFS"
check_eq "LMDB indexes every commit after the first ($N)" $(($(git --git-dir="$REPO" rev-list --count "$MAIN") - 1)) "$N"
check_eq "(app, seq) unique" "$N" "$(jf '[.[] | "\(.app) \(.seq)"] | unique | length' <<<"$H")"
check_eq "each app's seqs are 1..n" true "$(jf 'group_by(.app) | map([.[].seq] | sort == [range(1; length + 1)]) | all' <<<"$H")"
check_eq "each release's appTree is its commit's <app>/ tree" "" \
	"$(jf '.[] | select(.action != "delete") | "\(.app) \(.gitopsRef) \(.appTree)"' <<<"$H" | while read -r a ref tree; do
		[ "$(git --git-dir="$REPO" rev-parse "$ref:$a" 2>/dev/null)" = "$tree" ] || echo "$a $ref"
	done)"
wrong=$(jf 'group_by(.app) | .[] | max_by(.seq) | select(.action != "delete") | "\(.app) \(.version.sha)"' <<<"$H" |
	while read -r a sha; do
		git --git-dir="$REPO" show "$MAIN:$a/deployment.yaml" 2>/dev/null | grep -q "ghcr.io/acme/$a:$sha" || echo "$a"
	done)
check_eq "main holds each app's newest release" "" "$wrong"
api GET "/api/status?env=$ENV"
check_eq "status: one entry per app present in main" \
	"$(git --git-dir="$REPO" ls-tree --name-only -d "$MAIN" | grep -v '^flux$' | sort | tr '\n' ' ')" \
	"$(jf 'keys | sort | join(" ")' <<<"$API_BODY") "
rl_push_ok "$(rl_artifact web "$ENV" "$(rl_sha after-crash)")"
rl_deploy "$ENV" "$ART_ID" web
check_eq "a deploy after the crash: 201 (no stale lock)" 201 "$API_STATUS"
check_eq "a deploy after the crash: seq follows" \
	$(($(jf '[.[] | select(.app == "web")][0].seq' <<<"$H") + 1)) "$(rl_rel | jf .seq)"
api POST /api/rollback "{\"env\":\"$ENV\",\"app\":\"app-1\"}"
check_eq "a rollback after the crash: 201" 201 "$API_STATUS"

# ---------------------------------------------------------------- reindex from scratch
section "reindex"
H1=$(rl_history "$ENV" limit=1000 | jq -S .)
S1=$(api GET "/api/status?env=$ENV" && jq -S . <<<"$API_BODY")
stop_daemon
check_eq "augerd stops cleanly" 0 "$?"
COPY=$T/copy
cp -a "$DATA" "$COPY"
rm -f "$COPY/http.addr"
if out=$(timeout -k 5 120 "$AUGERD" reindex --data "$COPY" 2>&1); then
	ok "augerd reindex --data COPY"
else
	fail "augerd reindex --data COPY" "$out"
fi
start_daemon "$COPY"
H2=$(rl_history "$ENV" limit=1000 | jq -S .)
S2=$(api GET "/api/status?env=$ENV" && jq -S . <<<"$API_BODY")
check_eq "reindexed history has as many releases" "$(jq length <<<"$H1")" "$(jq length <<<"$H2")"
if [ "$H1" = "$H2" ]; then
	ok "reindexed history equals the live history (every field)"
else
	# Which fields differ, and how often, to say precisely what reindex loses.
	fields=$(jq -n --argjson a "$H1" --argjson b "$H2" -r '
		[range(0; [($a | length), ($b | length)] | min) as $i
		 | ($a[$i] | keys) + ($b[$i] | keys) | unique[] as $k
		 | select($a[$i][$k] != $b[$i][$k]) | $k] | group_by(.) | map("\(.[0]) (\(length) releases)") | join(", ")')
	example=$(jq -n --argjson a "$H1" --argjson b "$H2" -c '
		first(range(0; [($a | length), ($b | length)] | min) as $i | select($a[$i] != $b[$i])
		 | {seq: $a[$i].seq, app: $a[$i].app, live: ($a[$i] | with_entries(select(.value != $b[$i][.key]))),
		    reindexed: ($b[$i] | with_entries(select(.value != $a[$i][.key])))})')
	fail "reindexed history equals the live history (every field)" "fields that differ: $fields" "first difference: $example"
fi
check_eq "reindexed status equals the live status" "$S1" "$S2"
# the same without the one field git cannot know (Flux's verdict)
strip='map(del(.gitopsCommitStatus, .gitopsCommitStatusDesc))'
check_eq "reindexed history equals the live one, Flux status aside" "$(jq -S "$strip" <<<"$H1")" "$(jq -S "$strip" <<<"$H2")"
finish
