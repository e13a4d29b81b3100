#!/usr/bin/env bash
# The release index grows when its LMDB map fills: augerd starts with a
# 256 KiB map (--index-size 256K), takes far more artifacts and releases
# than fit in it, answers every one 201, lists them all, logs the growth,
# keeps everything over a restart, and `augerd reindex` (same small size)
# rebuilds the same history.
#
#   bash tests/integration/test_index_grow.sh
#   GROW_DEPLOYS=120 (default)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/release_lib.sh"

DEPLOYS=${GROW_DEPLOYS:-120}
ENV=grow
SIZE=256K

section() { echo "# $1 (${SECONDS}s)"; }

# ---------------------------------------------------------------- flag parsing
section "--index-size parsing"
for bad in 0 12 1X 64Q -5 "" 99999999T; do
	out=$("$AUGERD" --data "$T/bad" --index-size "$bad" --http 127.0.0.1:0 --ssh off 2>&1 </dev/null)
	rc=$?
	if [ "$rc" = 2 ] && printf '%s' "$out" | grep -q -- '--index-size must be'; then
		ok "--index-size '$bad' is refused (exit 2, says why)"
	else
		fail "--index-size '$bad' is refused (exit 2, says why)" "exit $rc" "$out"
	fi
done
check_match "--help names --index-size" '--index-size BYTES' "$("$AUGERD" --help)"

# ---------------------------------------------------------------- a tiny map
section "start with --index-size $SIZE"
AUGERD_ARGS="--index-size $SIZE" start_daemon
check_match "the log gives the map's size" "map of 262144 bytes" "$(cat "$DAEMON_LOG")"
api POST /api/envs "{\"name\":\"$ENV\"}"
[ "$API_STATUS" = 201 ] || die "POST /api/envs $ENV -> $API_STATUS" "$API_BODY"

# Artifacts that deploy at once (branch main), each with ~2 KiB of values,
# ten apps; each answer must carry a release with a gitops commit.
PAD=$(head -c 1500 /dev/zero | tr '\0' x)
CD=$T/grow
mkdir -p "$CD"
: >"$CD/art.cfg"
for n in $(seq 1 "$DEPLOYS"); do
	app=app-$(((n - 1) % 10 + 1))
	vals='{"image":{"repository":"ghcr.io/acme/'"$app"'","tag":"{{ .SHA }}"},"replicas":2,"vars":{"PAD":"'"$PAD"'","N":"'"$n"'"}}'
	rl_artifact "$app" "$ENV" "$(rl_sha "g$n")" main "$vals" >"$CD/$n.json"
	batch_add "$CD/art.cfg" "$URL/api/artifact" "$CD/$n.json" "$CD/$n.out"
done
section "$DEPLOYS artifacts with deploys, 8 at a time"
: >"$CD/art.log"
batch_run "$CD/art.cfg" "$CD/art.log" 8
check_eq "every POST /api/artifact answered 201 ($DEPLOYS)" "$DEPLOYS" "$(grep -c '^201 ' "$CD/art.log")"
bad=""
for n in $(seq 1 "$DEPLOYS"); do
	ref=$(jq -r '.releases[0].gitopsRef // empty' "$CD/$n.out" 2>/dev/null)
	[ -n "$ref" ] || bad="$bad $n:$(jq -c '.releases' "$CD/$n.out" 2>/dev/null | head -c 200)"
done
check_eq "every answer holds a release with a gitops commit (no \"error\")" "" "$bad"
check_match "the log says the map grew" "index map grown from 262144 to [0-9]+ bytes" "$(cat "$DAEMON_LOG")"
grows=$(grep -c 'index map grown' "$DAEMON_LOG")
echo "     $grows growth(s): $(grep 'index map grown' "$DAEMON_LOG" | tail -n 1 | sed 's/.*index map/index map/')"
check "the index file outgrew the starting map" test "$(stat -c %s "$DATA/index/data.mdb")" -gt 262144
check_not "no 500 or 'MDB_MAP_FULL' in the log" grep -Eq 'MDB_MAP_FULL|mapsize limit' "$DAEMON_LOG"

H=$(rl_history "$ENV" limit=1000)
check_eq "GET /api/releases lists all $DEPLOYS" "$DEPLOYS" "$(jq length <<<"$H")"
api GET "/api/artifacts?limit=1000"
check_eq "GET /api/artifacts: 200" 200 "$API_STATUS"
check_eq "GET /api/artifacts lists all $DEPLOYS" "$DEPLOYS" "$(jq 'if type == "array" then length else (.artifacts // []) | length end' <<<"$API_BODY")"
check_eq "LMDB indexes every commit after the first" \
	$(($(apps_count "$ENV") - 1)) "$(jq length <<<"$H")"

# ---------------------------------------------------------------- restart
section "restart with the same small --index-size"
stop_daemon
check_eq "augerd stops cleanly" 0 "$?"
AUGERD_ARGS="--index-size $SIZE" start_daemon "$DATA"
H2=$(rl_history "$ENV" limit=1000)
check_eq "after the restart: all $DEPLOYS releases" "$DEPLOYS" "$(jq length <<<"$H2")"
check_eq "after the restart: the same history" "$(jq -S . <<<"$H")" "$(jq -S . <<<"$H2")"
rl_push "$(rl_artifact web "$ENV" "$(rl_sha after)" main "{\"replicas\":1,\"vars\":{\"PAD\":\"$PAD\"}}")"
check_eq "a deploy after the restart: 201" 201 "$API_STATUS"
check_match "with a release" '^[0-9a-f]{40}$' "$(jf '.releases[0].gitopsRef' <<<"$API_BODY")"
H=$(rl_history "$ENV" limit=1000)
stop_daemon

# ---------------------------------------------------------------- reindex
section "augerd reindex --index-size $SIZE into a copy"
COPY=$T/copy
cp -a "$DATA" "$COPY"
rm -f "$COPY/http.addr"
if out=$(timeout -k 5 120 "$AUGERD" reindex --data "$COPY" --index-size "$SIZE" 2>&1); then
	ok "augerd reindex --data COPY --index-size $SIZE"
else
	fail "augerd reindex --data COPY --index-size $SIZE" "$out"
fi
AUGERD_ARGS="--index-size $SIZE" start_daemon "$COPY"
H3=$(rl_history "$ENV" limit=1000)
check_eq "reindexed: $((DEPLOYS + 1)) releases" "$((DEPLOYS + 1))" "$(jq length <<<"$H3")"
check_eq "reindexed history lists the same releases (app, seq, gitopsRef)" \
	"$(jf '.[] | "\(.app) \(.seq) \(.gitopsRef)"' <<<"$H")" "$(jf '.[] | "\(.app) \(.seq) \(.gitopsRef)"' <<<"$H3")"
check "augerd still alive" daemon_alive
finish
