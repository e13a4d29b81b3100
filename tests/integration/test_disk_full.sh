#!/usr/bin/env bash
# A full disk: the data dir is a small tmpfs, filled with a file. Deploys,
# artifacts and rollbacks answer 507 "no space left on device" (never 201
# for a release that did not happen), pushes get an error, refs and the
# index stay as they were, git fsck is clean and no quarantine is left;
# once the file is removed, deploys and pushes work again.
#
# Needs to mount a tmpfs (root); without it, says so and skips.
#   bash tests/integration/test_disk_full.sh
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/release_lib.sh"

ENV=df
M=$T/mnt
mkdir -p "$M"
if ! mount -t tmpfs -o size=24m,mode=0755 tmpfs "$M" 2>"$T/mount.err"; then
	ok "skipped: cannot mount a tmpfs here ($(head -c 200 "$T/mount.err"))"
	finish
fi
# On every exit: stop the daemon, unmount, then lib.sh's cleanup.
_df_exit() {
	local rc=$? n=0
	if [ -n "${DAEMON_PID:-}" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -TERM "$DAEMON_PID" 2>/dev/null
		while kill -0 "$DAEMON_PID" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
		kill -KILL "$DAEMON_PID" 2>/dev/null
	fi
	umount "$M" 2>/dev/null || umount -l "$M" 2>/dev/null
	(exit $rc)
	_cleanup
}
trap _df_exit EXIT

section() { echo "# $1 (${SECONDS}s)"; }
fill() { dd if=/dev/zero of="$M/filler" bs=64k 2>/dev/null; sync; }
unfill() { rm -f "$M/filler"; sync; }
free_bytes() { df -B1 --output=avail "$M" | tail -n 1 | tr -d ' '; }
quarantines() { find "$DATA/repos" -maxdepth 3 -name 'incoming-*' | wc -l | tr -d ' '; }
fsck_ok() {
	local out
	out=$(git --git-dir="$DATA/repos/$1.git" fsck --strict --no-dangling 2>&1) &&
		! printf '%s' "$out" | grep -Eq 'error|missing|broken|corrupt'
}
state() {
	printf 'apps=%s app=%s hist=%s arts=%s\n' "$(apps_main "$ENV")" \
		"$(server_ref app refs/heads/main)" \
		"$(rl_history "$ENV" limit=1000 | jq -c '[.[] | [.app, .seq, .gitopsRef]]')" \
		"$(api GET '/api/artifacts?limit=1000' && jq -c '[.[]? // .artifacts[]? | .id] | sort' <<<"$API_BODY")"
}

section "setup on a 24 MiB tmpfs"
start_daemon "$M/data"
api POST /api/envs "{\"name\":\"$ENV\"}"
[ "$API_STATUS" = 201 ] || die "POST /api/envs -> $API_STATUS" "$API_BODY"
rl_push_ok "$(rl_artifact web "$ENV" "$(rl_sha w1)" main)"
[ -n "$(jf '.releases[0].gitopsRef' <<<"$API_BODY")" ] || die "first deploy" "$API_BODY"
rl_push_ok "$(rl_artifact web "$ENV" "$(rl_sha w2)")"
W2=$ART_ID
rl_push_ok "$(rl_artifact web "$ENV" "$(rl_sha w3)")"
W3=$ART_ID
rl_deploy "$ENV" "$W2" web
[ "$API_STATUS" = 201 ] || die "second deploy" "$API_BODY"
create_repo app
new_work "$T/w" app
commit_files "$T/w" one a.txt=1
g -C "$T/w" push -q origin main 2>"$T/push0.err" || die "first push" "$(cat "$T/push0.err")"
BEFORE=$(state)

section "the disk is full"
fill
echo "     $(free_bytes) bytes free"
rl_deploy "$ENV" "$W3" web
check_eq "deploy at a full disk: 507" 507 "$API_STATUS"
check_match "and says: no space left on device" '"error":"[^"]*no space left on device' "$API_BODY"
check_not "and holds no release" jq -e '.releases' <<<"$API_BODY"
rl_push "$(rl_artifact web "$ENV" "$(rl_sha w4)" main)"
check_eq "artifact with a policy deploy at a full disk: 507" 507 "$API_STATUS"
check_match "and says: no space left on device" 'no space left on device' "$API_BODY"
api POST /api/rollback "{\"env\":\"$ENV\",\"app\":\"web\"}"
check_eq "rollback at a full disk: 507" 507 "$API_STATUS"
check_match "and says: no space left on device" 'no space left on device' "$API_BODY"
head -c 300000 /dev/urandom | base64 >"$T/w/big.txt"
commit_files "$T/w" big
out=$(g -C "$T/w" push origin main 2>&1)
rc=$?
check_eq "push at a full disk fails" 1 "$([ $rc -ne 0 ] && echo 1 || echo 0)"
check_match "and the client is told why (no space)" '[Nn]o space left on device' "$out"
echo "     git push said: $(grep -i 'no space' <<<"$out" | head -n 1 | cut -c1-200)"
# The artifact may have fit in LMDB's free pages: then the answer says so.
check_eq "refs and history are unchanged" "$(sed 's/ arts=.*//' <<<"$BEFORE")" "$(state | sed 's/ arts=.*//')"
check_eq "no quarantine left behind" 0 "$(quarantines)"
check "daemon alive" daemon_alive

section "partly full: every answer is a whole release or a clean 507"
unfill
odd=""
for keep in 0 4 16 64 200; do
	unfill
	rl_push "$(rl_artifact web "$ENV" "$(rl_sha "k$keep")")"
	[ "$API_STATUS" = 201 ] || { odd="$odd [artifact $keep: $API_STATUS]"; continue; }
	id=$ART_ID
	avail=$(free_bytes)
	dd if=/dev/zero of="$M/filler" bs=4096 count=$((avail / 4096 - keep)) 2>/dev/null
	s0=$(state)
	rl_deploy "$ENV" "$id" web
	s1=$(state)
	echo "     $keep pages left: $API_STATUS $(jf '.error // .releases[0].gitopsRef' <<<"$API_BODY" | cut -c1-120)"
	case $API_STATUS in
	201) [ "$s0" != "$s1" ] && [ -n "$(rl_rel | jf .gitopsRef)" ] || odd="$odd [$keep: 201 without a release]" ;;
	507) [ "$s0" = "$s1" ] || odd="$odd [$keep: 507 but the state moved]" ;;
	*) odd="$odd [$keep: $API_STATUS $(head -c 200 <<<"$API_BODY")]" ;;
	esac
done
check_eq "each deploy is either 201 with its release, or 507 with nothing moved" "" "$odd"
for r in app "gitops-$ENV-apps" "gitops-$ENV-infra"; do
	check "git fsck $r after the full disk" fsck_ok "$r"
done

section "space freed"
unfill
HN=$(rl_history "$ENV" limit=1000 | jq length)
rl_deploy "$ENV" "$W3" web
check_eq "deploy after freeing space: 201" 201 "$API_STATUS"
check_match "with a release" '^[0-9a-f]{40}$' "$(rl_rel | jf .gitopsRef)"
check_eq "main is that release" "$(rl_rel | jf .gitopsRef)" "$(apps_main "$ENV")"
out=$(g -C "$T/w" push origin main 2>&1)
check_eq "push after freeing space succeeds" 0 "$?"
check_eq "the pushed commit is on the server" "$(git -C "$T/w" rev-parse HEAD)" "$(server_ref app refs/heads/main)"
check_eq "history grew by one" $((HN + 1)) "$(rl_history "$ENV" limit=1000 | jq length)"
for r in app "gitops-$ENV-apps"; do
	check "git fsck $r at the end" fsck_ok "$r"
done
check_eq "no quarantine left behind" 0 "$(quarantines)"
check_not "no 500 answered (daemon log)" grep -q ' 500 ' "$DAEMON_LOG"
stop_daemon
check_eq "augerd stops cleanly" 0 "$?"
finish
