#!/usr/bin/env bash
# At the file-descriptor limit: augerd runs under `ulimit -n 40` (and
# --max-conns above that, so descriptors, not the connection cap, run
# out) while many clients at once fetch info/refs, ls-remote, clone and
# push over HTTP and SSH. Every ref listing is either complete (200 with
# all refs) or an error (503, or a git client's failure); never a shorter
# list. Afterwards: no quarantine left, the daemon alive, fsck clean.
#
#   bash tests/integration/test_fd_limit.sh
#   FD_LIMIT=40 FD_ROUNDS=3 FD_CLIENTS=120
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ssh_lib.sh" 2>/dev/null || true

LIMIT=${FD_LIMIT:-40}
ROUNDS=${FD_ROUNDS:-3}
CLIENTS=${FD_CLIENTS:-120}

section() { echo "# $1 (${SECONDS}s)"; }

# The daemon through a wrapper that lowers its descriptor limit (soft and
# hard, so augerd cannot raise it back).
cat >"$T/augerd-lowfd" <<EOF
#!/bin/sh
ulimit -n $LIMIT || exit 97
exec "$AUGERD" "\$@"
EOF
chmod +x "$T/augerd-lowfd"
REAL_AUGERD=$AUGERD

section "setup: a repository with 40 branches and 30 annotated tags"
start_daemon
create_repo fd
new_work "$T/w" fd
commit_files "$T/w" base a.txt=1
for i in $(seq 1 40); do
	git -C "$T/w" branch "b$i"
done
for i in $(seq 1 30); do
	git -C "$T/w" tag -a -m "tag $i" "v$i"
done
g -C "$T/w" push -q origin --all 2>"$T/p.err" || die "push branches" "$(cat "$T/p.err")"
g -C "$T/w" push -q origin --tags 2>"$T/p.err" || die "push tags" "$(cat "$T/p.err")"
stop_daemon
# The refs a complete listing holds: 41 branches, 30 tags and their peels.
WANT=$(git --git-dir="$DATA/repos/fd.git" for-each-ref --format='%(refname)' | sort)
NWANT=$(wc -l <<<"$WANT")

section "augerd under ulimit -n $LIMIT"
AUGERD=$T/augerd-lowfd AUGERD_ARGS="--max-conns 400 --max-conns-per-addr 0" start_daemon "$DATA"
check_match "augerd sees the low limit" "$LIMIT file descriptors" "$(cat "$DAEMON_LOG")"
LIMIT_SEEN=$(awk '/Max open files/ {print $4}' "/proc/$DAEMON_PID/limits" 2>/dev/null)
check_eq "the daemon's soft limit" "$LIMIT" "$LIMIT_SEEN"

R=$T/results
mkdir -p "$R"
# info/refs via curl: status and the ref names of the body.
inforefs() {
	local i=$1 out=$R/ir.$i
	curl -s --max-time 60 -H "Authorization: Bearer $TOKEN" -o "$out.body" -w '%{http_code}' \
		"$URL/fd.git/info/refs?service=git-upload-pack" >"$out.code" 2>/dev/null
}
lsremote() {
	local i=$1
	if g ls-remote "$URL/fd.git" >"$R/ls.$i.out" 2>"$R/ls.$i.err"; then echo ok >"$R/ls.$i.rc"; else echo fail >"$R/ls.$i.rc"; fi
}
clone() {
	local i=$1
	rm -rf "$R/c.$i"
	if g clone -q --no-checkout "$URL/fd.git" "$R/c.$i" 2>"$R/c.$i.err"; then echo ok >"$R/c.$i.rc"; else echo fail >"$R/c.$i.rc"; fi
}
push() {
	local i=$1 d=$R/pw.$i
	rm -rf "$d"
	git clone -q "$DATA/repos/fd.git" "$d" 2>/dev/null
	head -c 20000 /dev/urandom | base64 >"$d/f$i.txt"
	git -C "$d" add -A && git -C "$d" commit -q -m "push $i"
	if g -C "$d" push -q "$URL/fd.git" "HEAD:refs/heads/p$i" 2>"$R/p.$i.err"; then echo ok >"$R/p.$i.rc"; else echo fail >"$R/p.$i.rc"; fi
}

for round in $(seq 1 "$ROUNDS"); do
	section "round $round: $CLIENTS clients at once"
	pids=()
	for c in $(seq 1 "$CLIENTS"); do
		i=$round.$c
		case $((c % 6)) in
		0 | 1 | 2) inforefs "$i" & ;;
		3) lsremote "$i" & ;;
		4) clone "$i" & ;;
		5) push "$i" & ;;
		esac
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p"; done
done

section "what the clients saw"
ir200=0 ir503=0 irbad=""
for f in "$R"/ir.*.code; do
	i=${f%.code}
	code=$(cat "$f")
	case $code in
	200)
		got=$(grep -ao 'refs/[^ ^]*' "$i.body" | sed 's/[^a-zA-Z0-9_/.-].*//' | grep -v '\^{}' | sort -u | grep -v '^refs/heads/p[0-9]')
		want=$(grep -v '^refs/heads/p[0-9]' <<<"$WANT")
		if [ "$got" = "$want" ]; then ir200=$((ir200 + 1)); else irbad="$irbad [$(basename "$i"): 200 with $(wc -l <<<"$got") refs]"; fi
		;;
	503) ir503=$((ir503 + 1)) ;;
	*) irbad="$irbad [$(basename "$i"): $code $(head -c 100 "$i.body")]" ;;
	esac
done
echo "     info/refs: $ir200 complete 200s, $ir503 503s"
check_eq "every info/refs answer is a complete list or a 503" "" "$irbad"
lsok=0 lsfail=0 lsbad=""
for f in "$R"/ls.*.rc; do
	i=${f%.rc}
	if [ "$(cat "$f")" = ok ]; then
		got=$(awk '{print $2}' "$i.out" | grep -v '\^{}' | grep -v '^HEAD$' | grep -v '^refs/heads/p[0-9]' | sort -u)
		want=$(grep -v '^refs/heads/p[0-9]' <<<"$WANT")
		if [ "$got" = "$want" ]; then lsok=$((lsok + 1)); else lsbad="$lsbad [$(basename "$i"): $(wc -l <<<"$got") refs]"; fi
	else
		lsfail=$((lsfail + 1))
	fi
done
echo "     ls-remote: $lsok complete, $lsfail failed cleanly"
check_eq "no ls-remote that succeeded saw a short list" "" "$lsbad"
cok=0 cfail=0 cbad=""
for f in "$R"/c.*.rc; do
	i=${f%.rc}
	if [ "$(cat "$f")" = ok ]; then
		n=$(git -C "$i" for-each-ref --format='%(refname)' refs/tags | wc -l)
		if [ "$n" = 30 ] && git -C "$i" fsck --no-dangling >"$i.fsck" 2>&1; then cok=$((cok + 1)); else cbad="$cbad [$(basename "$i"): $n tags]"; fi
	else
		cfail=$((cfail + 1))
	fi
done
echo "     clones: $cok complete, $cfail failed"
check_eq "every clone that succeeded is whole (30 tags, fsck)" "" "$cbad"
# A clone that failed was told the truth: never "not our ref" for a tip
# the server advertised (it could not be read for want of descriptors).
check_eq "no failed clone was told \"not our ref\"" "" "$(grep -l 'not our ref' "$R"/c.*.err 2>/dev/null)"
pok=0 pfail=0 pbad=""
for f in "$R"/p.*.rc; do
	i=$(basename "${f%.rc}")
	i=${i#p.}
	if [ "$(cat "$f")" = ok ]; then
		[ -n "$(server_ref fd "refs/heads/p$i")" ] && pok=$((pok + 1)) || pbad="$pbad [$i: ok but no ref]"
	else
		pfail=$((pfail + 1))
		[ -z "$(server_ref fd "refs/heads/p$i")" ] || pbad="$pbad [$i: failed but the ref moved]"
	fi
done
echo "     pushes: $pok accepted, $pfail refused"
check_eq "every push either moved its ref and said ok, or neither" "" "$pbad"
errs=$(cat "$R"/*.err 2>/dev/null | grep -Eio "(error|fatal|remote): .{0,140}" | grep -v "failed to push some refs" | sort | uniq -c | sort -rn | head -n 5)
[ -n "$errs" ] && echo "     client errors seen:" && sed 's/^/       /' <<<"$errs"

section "afterwards"
check "augerd alive" daemon_alive
check_eq "no quarantine dirs left" 0 "$(find "$DATA/repos" -maxdepth 3 -name 'incoming-*' | wc -l | tr -d ' ')"
check_eq "no ref locks left" 0 "$(find "$DATA/repos/fd.git/refs" -name '*.lock' | wc -l | tr -d ' ')"
out=$(server_git fd fsck --strict --no-dangling 2>&1)
check "git fsck fd clean" test -z "$(grep -Ei 'error|missing|broken|corrupt' <<<"$out")"
check_eq "no worker crashed (no 'fatal' in the log)" 0 "$(grep -c 'fatal\|Assertion' "$DAEMON_LOG")"
n=$(ls /proc/"$DAEMON_PID"/fd | wc -l)
check "descriptors drained back below the limit ($n open)" test "$n" -lt $((LIMIT - 8))
code=$(curl -s -o "$T/last.body" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$URL/fd.git/info/refs?service=git-upload-pack")
check_eq "a quiet info/refs afterwards: 200" 200 "$code"
check_eq "with every ref" "$(grep -v '^refs/heads/p[0-9]' <<<"$WANT")" \
	"$(grep -ao 'refs/[^ ^]*' "$T/last.body" | sed 's/[^a-zA-Z0-9_/.-].*//' | grep -v '\^{}' | sort -u | grep -v '^refs/heads/p[0-9]')"
AUGERD=$REAL_AUGERD
stop_daemon
finish
