#!/usr/bin/env bash
# Shutdown always ends: a clone still streaming when the grace time runs
# out is cut and the daemon exits; a second signal exits at once; a push
# whose body is still uploading when SIGTERM comes finishes.
. "$(dirname "$0")/lib.sh"

# exits_within SECS: the daemon exits within SECS; sets EXIT_RC.
exits_within() {
	local n=0 max=$(($1 * 10))
	while kill -0 "$DAEMON_PID" 2>/dev/null && [ $n -lt $max ]; do sleep 0.1; n=$((n + 1)); done
	if kill -0 "$DAEMON_PID" 2>/dev/null; then EXIT_RC=hung; return 1; fi
	wait "$DAEMON_PID"; EXIT_RC=$?
	return 0
}

AUGERD_ARGS="--shutdown-grace 2"
start_daemon
create_repo big
W=$T/w
new_work "$W" big
head -c $((24 << 20)) /dev/urandom >"$W/blob.bin"
commit_files "$W" "big" || die "commit"
g -C "$W" push -q origin main || die "push big"
tip=$(git -C "$W" rev-parse HEAD)

# A clone that reads slowly: the reply cannot finish in the grace time.
printf '0032want %s\n00000009done\n' "$tip" >"$T/req"
curl -s -o /dev/null --limit-rate 20k --max-time 60 -H "Authorization: Bearer $TOKEN" \
	-H 'Content-Type: application/x-git-upload-pack-request' --data-binary @"$T/req" \
	"$URL/big.git/git-upload-pack" &
SLOW=$!
track "$SLOW"
sleep 1.5
kill -TERM "$DAEMON_PID"
if exits_within 12; then ok "SIGTERM with a clone streaming past the grace time: the daemon exits"; else fail "SIGTERM with a clone streaming: the daemon hangs"; fi
check_eq "it exits 0" 0 "$EXIT_RC"
check_match "the cut is logged" "grace time over: cut 1 HTTP request" "$(cat "$DAEMON_LOG")"
kill "$SLOW" 2>/dev/null; wait "$SLOW" 2>/dev/null

# A second signal: no waiting for the grace time.
AUGERD_ARGS="--shutdown-grace 60"
start_daemon "$DATA"
curl -s -o /dev/null --limit-rate 20k --max-time 60 -H "Authorization: Bearer $TOKEN" \
	-H 'Content-Type: application/x-git-upload-pack-request' --data-binary @"$T/req" \
	"$URL/big.git/git-upload-pack" &
SLOW=$!
track "$SLOW"
sleep 1.5
kill -TERM "$DAEMON_PID"
sleep 0.5
check "after one SIGTERM it is still finishing the clone" daemon_alive
kill -INT "$DAEMON_PID"
if exits_within 4; then ok "a second signal exits at once"; else fail "a second signal: still running after 4 s"; fi
check_eq "it exits 0" 0 "$EXIT_RC"
check_match "the second signal is logged" "second signal: cut" "$(cat "$DAEMON_LOG")"
kill "$SLOW" 2>/dev/null; wait "$SLOW" 2>/dev/null

# A push whose body is still uploading when SIGTERM comes finishes.
AUGERD_ARGS="--shutdown-grace 30"
start_daemon "$DATA"
git -C "$W" checkout -q -b slow
head -c $((2 << 20)) /dev/urandom >"$W/blob2.bin"
commit_files "$W" "slow push" || die "commit"
new=$(git -C "$W" rev-parse HEAD)
old=0000000000000000000000000000000000000000
{
	line="$old $new refs/heads/slow"
	printf '%04x%s\0report-status\n' $((4 + ${#line} + 15)) "$line"
	printf '0000'
	printf '%s\n^%s\n' "$new" "$tip" | git -C "$W" pack-objects --stdout --revs 2>/dev/null
} >"$T/push.body" || die "build the push body"
curl -s -o "$T/push.out" --limit-rate 400k --max-time 60 -H "Authorization: Bearer $TOKEN" \
	-H 'Content-Type: application/x-git-receive-pack-request' --data-binary @"$T/push.body" \
	"$URL/big.git/git-receive-pack" &
PUSH=$!
track "$PUSH"
sleep 1.5
kill -TERM "$DAEMON_PID"
wait "$PUSH"
check_match "the push that was uploading is answered ok" "ok refs/heads/slow" "$(tr -d '\0' <"$T/push.out")"
check_eq "its ref moved" "$new" "$(server_ref big refs/heads/slow)"
if exits_within 10; then ok "the daemon exits once the push is done"; else fail "the daemon did not exit after the push"; fi
check_eq "it exits 0" 0 "$EXIT_RC"
check "fsck is clean" server_git big fsck --no-progress
finish
