#!/usr/bin/env bash
# 50 concurrent shallow clones (protocol v0, Flux's shape) while a push lands.
# Every clone must succeed and see either the old or the new tip, complete.
. "$(dirname "$0")/lib.sh"

N=${CONCURRENT_CLONES:-50}

start_daemon
create_repo demo

W=$T/work
new_work "$W" demo || die "git init"
for c in 1 2 3; do
	for i in $(seq 1 60); do printf 'commit %d file %d\n' "$c" "$i" >"$W/f$i.txt"; done
	commit_files "$W" "commit $c" || die "commit"
done
out=$(g -C "$W" push origin main 2>&1) || die "initial push" "$out"
OLD=$(git -C "$W" rev-parse HEAD)
for i in $(seq 1 60); do printf 'new tip file %d\n' "$i" >"$W/f$i.txt"; done
commit_files "$W" "new tip" "added.txt=added" || die "commit"
NEW=$(git -C "$W" rev-parse HEAD)

# Launch the clones, then the push while they run.
pids=()
for i in $(seq 1 "$N"); do
	(
		g -c protocol.version=0 clone -q --depth 1 "$URL/demo.git" "$T/c$i" >"$T/c$i.out" 2>&1
		echo $? >"$T/c$i.rc"
	) &
	pids+=($!)
	track $!
	if [ "$i" -eq $((N / 2)) ]; then
		(
			g -C "$W" push origin main >"$T/push.out" 2>&1
			echo $? >"$T/push.rc"
		) &
		pids+=($!)
		track $!
	fi
done
for p in "${pids[@]}"; do wait "$p"; done

check_eq "push during the clones succeeded" 0 "$(cat "$T/push.rc" 2>/dev/null)"
check_eq "server main is the new tip" "$NEW" "$(server_ref demo refs/heads/main)"

failed=0 n_old=0 n_new=0 bad=()
for i in $(seq 1 "$N"); do
	rc=$(cat "$T/c$i.rc" 2>/dev/null)
	if [ "$rc" != 0 ]; then
		failed=$((failed + 1))
		bad+=("clone $i: rc=${rc:-none}: $(head -c 300 "$T/c$i.out")")
		continue
	fi
	h=$(git -C "$T/c$i" rev-parse HEAD 2>&1)
	if [ "$h" = "$OLD" ]; then
		n_old=$((n_old + 1))
	elif [ "$h" = "$NEW" ]; then
		n_new=$((n_new + 1))
	else
		bad+=("clone $i: HEAD $h is neither old $OLD nor new $NEW")
		continue
	fi
	# The checkout is complete and matches that commit.
	if [ -n "$(git -C "$T/c$i" status --porcelain 2>&1)" ] || [ "$(git -C "$T/c$i" rev-list --count HEAD 2>&1)" != 1 ]; then
		bad+=("clone $i: dirty checkout or not depth 1")
	fi
done
check_eq "all $N concurrent clones succeeded" 0 "$failed"
if [ ${#bad[@]} -eq 0 ]; then
	ok "every clone's HEAD is the old or the new tip, depth 1, clean ($n_old old, $n_new new)"
else
	fail "every clone's HEAD is the old or the new tip, depth 1, clean" "${bad[@]:0:5}"
fi
fsck_bad=0
for i in $(seq 1 "$N"); do
	[ -d "$T/c$i/.git" ] || continue
	git -C "$T/c$i" fsck --no-dangling >/dev/null 2>&1 || fsck_bad=$((fsck_bad + 1))
done
check_eq "fsck clean in every clone" 0 "$fsck_bad"

# A clone after the push sees the new tip.
if out=$(g -c protocol.version=0 clone -q --depth 1 "$URL/demo.git" "$T/after" 2>&1); then
	check_eq "clone after the push gets the new tip" "$NEW" "$(git -C "$T/after" rev-parse HEAD 2>&1)"
else
	fail "clone after the push" "$out"
fi
out=$(server_git demo fsck --full 2>&1)
if [ $? -eq 0 ] && ! printf '%s' "$out" | grep -Eq '^(error|missing|broken|bad)'; then ok "git fsck of the server repository is clean"; else fail "git fsck of the server repository is clean" "$out"; fi
check "daemon alive" daemon_alive

stop_daemon
check_eq "SIGTERM: clean exit (status 0)" 0 "$?"
finish
