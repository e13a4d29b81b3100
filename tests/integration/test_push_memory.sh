#!/usr/bin/env bash
# Push bodies stream into the indexer: memory per push stays bounded
# whatever its size (8 concurrent 24 MiB pushes used to add their whole
# bodies to RSS).
. "$(dirname "$0")/lib.sh"

# Pushes only: pre-warm (a pack job after each push) is measured elsewhere.
AUGERD_ARGS="--workers 8 --prewarm 0"
start_daemon
for i in 1 2 3 4 5 6 7 8; do
	create_repo "big$i"
	new_work "$T/w$i" "big$i"
	head -c $((24 << 20)) /dev/urandom >"$T/w$i/blob.bin"
	commit_files "$T/w$i" "big $i" >/dev/null || die "commit"
done
# Anonymous memory only: the indexer maps the pack it writes, and those
# file-backed pages are page cache (RssFile), not memory the push holds.
rss() { awk '/^RssAnon/ {print $2}' "/proc/$DAEMON_PID/status"; }
base=$(rss)
peak=$base
pids=()
for i in 1 2 3 4 5 6 7 8; do
	g -C "$T/w$i" push -q origin main >"$T/push$i.log" 2>&1 &
	pids+=($!)
done
while :; do
	r=$(rss); [ "$r" -gt "$peak" ] && peak=$r
	alive=0
	for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
	[ $alive = 1 ] || break
	sleep 0.05
done
fails=0
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
check_eq "8 concurrent 24 MiB pushes succeed" 0 "$fails"
for i in 1 2 3 4 5 6 7 8; do
	[ "$(server_ref "big$i" refs/heads/main)" = "$(git -C "$T/w$i" rev-parse HEAD)" ] || fail "big$i: main did not move"
done
grow=$(( (peak - base) / 1024 ))
if [ "$grow" -lt 48 ]; then ok "peak anonymous RSS grew ${grow} MiB for 192 MiB of pushes (< 48 MiB)"; else fail "peak anonymous RSS grew ${grow} MiB for 192 MiB of pushes"; fi
finish
