#!/usr/bin/env bash
# make soak: augerd under crashes and load (not part of make test).
#
# 1. Kill trials: SOAK_TRIALS (20) times, a burst of API deploys and
#    rollbacks, a large HTTP push and a large SSH push run together, and
#    augerd gets kill -9 at a random moment (SOAK_KILL_MS, 20..1000 ms
#    in). After each: restart, git fsck of every repository, every release
#    a client saw answered 201 must be in the history, and `augerd
#    reindex` of a copy must list the same releases as the live index.
# 2. Load: SOAK_CLIENTS (1000) HTTP clients at once (info/refs polls and
#    API reads through curl --parallel, plus deploys) and, alongside, real
#    git clients (SOAK_GIT clones and ls-remotes, SOAK_PUSHES pushes),
#    with augerd under ulimit -n SOAK_NOFILE (1024). It must end with zero
#    errors. A 503 (which carries Retry-After) or a git "busy" refusal is
#    back-pressure, not an error: that request is retried after the
#    Retry-After, up to 5 times; any other status, or a request still
#    refused after 5 retries, is an error.
# Prints the figures at the end; exit status 0 only with no loss and no
# error.
#
#   make soak
#   SOAK_TRIALS=5 SOAK_CLIENTS=300 bash scripts/soak/soak.sh
. "$(dirname "$0")/../../tests/integration/lib.sh"
. "$ROOT/tests/integration/release_lib.sh"
. "$ROOT/tests/integration/ssh_lib.sh"

TRIALS=${SOAK_TRIALS:-20}
CLIENTS=${SOAK_CLIENTS:-1000}
NOFILE=${SOAK_NOFILE:-1024}
NGIT=${SOAK_GIT:-60}
NPUSH=${SOAK_PUSHES:-20}
BURST=${SOAK_BURST:-120}
ENV=soak
CMD_TIMEOUT=300
# Every client here is 127.0.0.1: the per-address cap would refuse most.
AUGERD_ARGS="--max-conns-per-addr 0 ${AUGERD_ARGS:-}"

section() { echo "# $1 (${SECONDS}s)"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$DAEMON_PID/status" 2>/dev/null; }
nfds() { ls "/proc/$DAEMON_PID/fd" 2>/dev/null | wc -l | tr -d ' '; }
fsck_all() {
	local r out bad=""
	for r in "$DATA"/repos/*.git; do
		out=$(git --git-dir="$r" fsck --strict --no-dangling 2>&1) &&
			! grep -Eq 'error|missing|broken|corrupt' <<<"$out" || bad="$bad $(basename "$r")"
	done
	printf '%s' "$bad"
}
# Every release of the env, page by page (1000 at most per page).
history_keys() {
	local off=0 page n
	while :; do
		page=$(rl_history "$ENV" "limit=1000&offset=$off")
		n=$(jq length <<<"$page" 2>/dev/null || echo 0)
		[ "${n:-0}" -gt 0 ] || break
		jf '.[] | "\(.app) \(.seq) \(.gitopsRef)"' <<<"$page"
		off=$((off + n))
	done | sort
}

# augerd through a wrapper with the descriptor limit of part 2.
cat >"$T/augerd-nofile" <<EOF
#!/bin/sh
ulimit -n $NOFILE || exit 97
exec "$AUGERD" "\$@"
EOF
chmod +x "$T/augerd-nofile"
AUGERD=$T/augerd-nofile

section "setup"
ssh_start_daemon
RSS0=$(rss_kb)
FDS0=$(nfds)
api POST /api/envs "{\"name\":\"$ENV\"}"
[ "$API_STATUS" = 201 ] || die "POST /api/envs -> $API_STATUS" "$API_BODY"
create_repo big
new_key pusher
add_key pusher admin '["*"]' "$T/keys/pusher"
new_work "$T/hw" big
commit_files "$T/hw" init README=big
g -C "$T/hw" push -q origin main 2>/dev/null || die "first push"
git clone -q "$DATA/repos/big.git" "$T/sw" 2>/dev/null
BASE=$(git -C "$T/hw" rev-parse HEAD)
W=$T/soak
mkdir -p "$W"
: >"$W/acked"
# Artifacts for the bursts: 10 apps, an artifact per (trial, slot).
: >"$W/art.cfg"
for t in $(seq 1 "$TRIALS"); do
	for s in $(seq 1 "$BURST"); do
		app=app-$(((s - 1) % 10 + 1))
		rl_artifact "$app" "$ENV" "$(rl_sha "t$t-$s")" >"$W/a.$t.$s.json"
		batch_add "$W/art.cfg" "$URL/api/artifact" "$W/a.$t.$s.json" "$W/a.$t.$s.out"
	done
done
batch_run "$W/art.cfg" "$W/art.log" 16
[ "$(grep -c '^201 ' "$W/art.log")" = $((TRIALS * BURST)) ] || die "storing the artifacts" "$(grep -v '^201 ' "$W/art.log" | head)"
# One release per app first, so that rollbacks have a target.
for a in $(seq 1 10); do
	rl_deploy "$ENV" "$(jq -r .id "$W/a.1.$a.out")" "app-$a"
	[ "$API_STATUS" = 201 ] || die "first deploy app-$a" "$API_BODY"
	rl_rel | jf '"\(.app) \(.seq) \(.gitopsRef)"' >>"$W/acked"
done

# ---------------------------------------------------------------- part 1
section "part 1: $TRIALS kill -9 trials"
lost_total=0 trial_fail=0 hacks=0 sacks=0 plost=0
for t in $(seq 1 "$TRIALS"); do
	: >"$W/dep.$t.cfg"
	for s in $(seq 1 "$BURST"); do
		app=app-$(((s - 1) % 10 + 1))
		id=$(jq -r .id "$W/a.$t.$s.out")
		if [ $((s % 7)) = 0 ]; then
			printf '{"env":"%s","app":"%s"}' "$ENV" "$app" >"$W/r.$t.$s.req"
			batch_add "$W/dep.$t.cfg" "$URL/api/rollback" "$W/r.$t.$s.req" "$W/d.$t.$s.out"
		else
			printf '{"env":"%s","app":"%s","artifactId":"%s"}' "$ENV" "$app" "$id" >"$W/d.$t.$s.req"
			batch_add "$W/dep.$t.cfg" "$URL/api/releases" "$W/d.$t.$s.req" "$W/d.$t.$s.out"
		fi
	done
	# Both pushes' commits are made first, so the kill timer starts when
	# the burst and the pushes do.
	# Each push is one new 3 MB commit on the server's first commit, so
	# a push cut by an earlier kill does not add to this one.
	git -C "$T/hw" checkout -q --detach "$BASE"
	head -c 3000000 /dev/urandom >"$T/hw/blob-$t.bin"
	commit_files "$T/hw" "big $t" >/dev/null
	git -C "$T/sw" checkout -q --detach "$BASE"
	head -c 3000000 /dev/urandom >"$T/sw/sblob-$t.bin"
	git -C "$T/sw" add -A && git -C "$T/sw" commit -q -m "ssh $t"
	: >"$W/dep.$t.log"
	batch_run "$W/dep.$t.cfg" "$W/dep.$t.log" 8 &
	bp=$!
	(g -C "$T/hw" push -q "$URL/big.git" "HEAD:refs/heads/h$t" >"$W/hp.$t" 2>&1; echo $? >>"$W/hp.$t") &
	hp=$!
	(git_ssh "$T/keys/pusher" -C "$T/sw" push -q "$(ssh_url big)" "HEAD:refs/heads/s$t" >"$W/sp.$t" 2>&1; echo $? >>"$W/sp.$t") &
	sp=$!
	ms=${SOAK_KILL_MS:-$((20 + RANDOM % 980))}
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	kill -KILL "$DAEMON_PID"
	{ wait "$DAEMON_PID"; } 2>/dev/null
	wait "$bp" "$hp" "$sp" 2>/dev/null
	# What clients were told had happened.
	grep '^201 ' "$W/dep.$t.log" | while read -r _ _ f; do
		jq -r '(.releases[0] // .) | select(.gitopsRef != null) | "\(.app) \(.seq) \(.gitopsRef)"' "$f"
	done >>"$W/acked"
	n201=$(grep -c '^201 ' "$W/dep.$t.log")
	nnew=$(sort -u "$W/acked" | wc -l | tr -d ' ')
	hpush=$(tail -n 1 "$W/hp.$t")
	spush=$(tail -n 1 "$W/sp.$t")
	[ "$spush" = 0 ] || spush="$spush ($(grep -m1 -Eio '(fatal|error): .{0,80}' "$W/sp.$t"))"
	[ "$hpush" = 0 ] || hpush="$hpush ($(grep -m1 -Eio '(fatal|error): .{0,80}' "$W/hp.$t"))"
	bad=$(fsck_all)
	rm -f "$DATA/ssh.addr"
	start_daemon "$DATA"
	ssh_wait_addr
	sort -u "$W/acked" >"$W/acked.sorted"
	history_keys >"$W/hist.$t"
	lost=$(comm -23 "$W/acked.sorted" "$W/hist.$t" | wc -l | tr -d ' ')
	lost_total=$((lost_total + lost))
	# Acknowledged pushes are on the server.
	pl=""
	[ "${hpush%% *}" = 0 ] && [ "$(server_ref big "refs/heads/h$t")" != "$(git -C "$T/hw" rev-parse HEAD)" ] && pl="$pl http"
	[ "${spush%% *}" = 0 ] && [ "$(server_ref big "refs/heads/s$t")" != "$(git -C "$T/sw" rev-parse HEAD)" ] && pl="$pl ssh"
	# reindex of a copy lists the same releases.
	stop_daemon >/dev/null
	rm -rf "$W/copy"
	cp -a "$DATA" "$W/copy"
	rei="ok"
	"$AUGERD" reindex --data "$W/copy" >"$W/reindex.$t.log" 2>&1 || rei="reindex failed"
	rm -f "$DATA/ssh.addr"
	start_daemon "$W/copy"
	if [ "$rei" = ok ] && [ "$(history_keys)" != "$(cat "$W/hist.$t")" ]; then rei="differs"; fi
	stop_daemon >/dev/null
	rm -f "$T/data/ssh.addr"
	start_daemon "$T/data"
	ssh_wait_addr
	ssh_keyscan "$KNOWN_HOSTS" >/dev/null
	[ "${hpush%% *}" = 0 ] && hacks=$((hacks + 1))
	[ "${spush%% *}" = 0 ] && sacks=$((sacks + 1))
	[ -n "$pl" ] && plost=$((plost + $(wc -w <<<"$pl")))
	echo "     trial $t: kill at ${ms} ms, $n201 of $BURST answered 201, $lost lost, http push rc=$hpush ssh push rc=$spush, fsck ${bad:-clean}, reindex $rei${pl:+, lost pushes:$pl}"
	if [ "$lost" != 0 ] || [ -n "$bad" ] || [ "$rei" != ok ] || [ -n "$pl" ]; then
		trial_fail=$((trial_fail + 1))
	fi
done
ACKED=$(sort -u "$W/acked" | wc -l | tr -d ' ')
check_eq "kill trials: no acknowledged release or push lost, fsck clean, reindex equal" 0 "$trial_fail"

# ---------------------------------------------------------------- part 2
section "part 2: $CLIENTS HTTP clients at once, $NGIT git clients, $NPUSH pushes, ulimit -n $NOFILE"
check_eq "augerd runs with ulimit -n $NOFILE" "$NOFILE" "$(awk '/Max open files/ {print $4}' "/proc/$DAEMON_PID/limits")"
RSS1=$(rss_kb)
FDS1=$(nfds)
L=$W/load
mkdir -p "$L"
: >"$L/urls"
# Each curl process holds at most 250 connections open (curl's cap is 300).
per=250
nproc=$(((CLIENTS + per - 1) / per))
for p in $(seq 1 "$nproc"); do
	: >"$L/c.$p.cfg"
	for i in $(seq 1 "$per"); do
		n=$(((p - 1) * per + i))
		[ "$n" -le "$CLIENTS" ] || break
		case $((n % 4)) in
		0) u="$URL/big.git/info/refs?service=git-upload-pack" ;;
		1) u="$URL/gitops-$ENV-apps.git/info/refs?service=git-upload-pack" ;;
		2) u="$URL/api/releases?env=$ENV&limit=50" ;;
		3) u="$URL/api/artifacts?limit=20" ;;
		esac
		echo "$n $u" >>"$L/urls"
		cat >>"$L/c.$p.cfg" <<EOC
url = "$u"
header = "Authorization: Bearer $TOKEN"
output = "$L/o.$n"
write-out = "%{http_code} $n %header{retry-after}\\n"
max-time = 120
next
EOC
	done
done
# Deploys among them (one curl each, concurrently).
deploys() {
	local i id app code
	for i in $(seq 1 "$((BURST < 20 ? BURST : 20))"); do
		app=app-$(((i - 1) % 10 + 1))
		id=$(jq -r .id "$W/a.1.$i.out" 2>/dev/null)
		printf '{"env":"%s","app":"%s","artifactId":"%s"}' "$ENV" "$app" "$id" >"$L/dep.$i.req"
		for try in 1 2 3 4 5 6; do
			code=$(curl -s -o "$L/dep.$i.out" -w '%{http_code}' --max-time 120 -X POST -H "Authorization: Bearer $TOKEN" \
				-H 'Content-Type: application/json' --data-binary "@$L/dep.$i.req" "$URL/api/releases")
			[ "$code" = 503 ] || break
			echo bp >>"$L/backpressure"
			sleep 1
		done
		echo "$code" >>"$L/deploys"
	done
}
gitclient() {
	local i=$1 out try
	for try in 1 2 3 4 5 6; do
		rm -rf "$L/g.$i"
		if [ $((i % 2)) = 0 ]; then
			out=$(g clone -q --no-checkout "$URL/gitops-$ENV-apps.git" "$L/g.$i" 2>&1) && { echo ok >>"$L/git"; return; }
		else
			out=$(g ls-remote "$URL/big.git" 2>&1 >/dev/null) && { echo ok >>"$L/git"; return; }
		fi
		if grep -Eq '503|busy' <<<"$out"; then echo bp >>"$L/backpressure"; sleep 1; continue; fi
		break
	done
	echo "fail $i: $(tr '\n' ' ' <<<"$out" | head -c 200)" >>"$L/git"
}
pusher() {
	local i=$1 d=$L/p.$i out try
	git clone -q "$DATA/repos/big.git" "$d" 2>/dev/null
	head -c 200000 /dev/urandom | base64 >"$d/load-$i.txt"
	git -C "$d" add -A && git -C "$d" commit -q -m "load $i"
	for try in 1 2 3 4 5 6; do
		out=$(g -C "$d" push -q origin "HEAD:refs/heads/load-$i" 2>&1) && { echo ok >>"$L/push"; return; }
		if grep -Eq '503|busy' <<<"$out"; then echo bp >>"$L/backpressure"; sleep 1; continue; fi
		break
	done
	echo "fail $i: $(tr '\n' ' ' <<<"$out" | head -c 200)" >>"$L/push"
}
: >"$L/backpressure"
: >"$L/git"
: >"$L/push"
: >"$L/deploys"
pids=()
for p in $(seq 1 "$nproc"); do
	sed '$d' "$L/c.$p.cfg" | curl -s --no-progress-meter --parallel --parallel-immediate --parallel-max "$per" -K - >"$L/c.$p.log" 2>"$L/c.$p.err" &
	pids+=($!)
done
deploys &
pids+=($!)
# git clients at most 20 processes at a time (2 cores).
(
	for i in $(seq 1 "$NGIT"); do
		gitclient "$i" &
		[ $((i % 20)) = 0 ] && wait
	done
	wait
) &
pids+=($!)
(
	for i in $(seq 1 "$NPUSH"); do
		pusher "$i" &
		[ $((i % 10)) = 0 ] && wait
	done
	wait
) &
pids+=($!)
for p in "${pids[@]}"; do wait "$p"; done
# The 503s of the curl batch: retried together after their Retry-After,
# up to 5 rounds.
herr=0
cat "$L"/c.*.log >"$L/all.log"
nlog=$(wc -l <"$L/all.log" | tr -d ' ')
cp "$L/all.log" "$L/round.log"
for round in 1 2 3 4 5 6; do
	: >"$L/retry.cfg"
	wait_s=1
	while read -r code n ra; do
		case $code in
		200) ;;
		503)
			echo bp >>"$L/backpressure"
			[ "${ra:-1}" -gt "$wait_s" ] 2>/dev/null && wait_s=$ra
			if [ "$round" -le 5 ]; then
				u=$(awk -v n="$n" '$1 == n {print $2}' "$L/urls")
				cat >>"$L/retry.cfg" <<EOC
url = "$u"
header = "Authorization: Bearer $TOKEN"
output = "$L/o.$n"
write-out = "%{http_code} $n %header{retry-after}\\n"
max-time = 120
next
EOC
			else
				herr=$((herr + 1))
			fi
			;;
		*) herr=$((herr + 1)); echo "     http error: $code on request $n: $(head -c 150 "$L/o.$n" 2>/dev/null)" ;;
		esac
	done <"$L/round.log"
	[ -s "$L/retry.cfg" ] || break
	sleep "$wait_s"
	sed '$d' "$L/retry.cfg" | curl -s --no-progress-meter --parallel --parallel-max "$per" -K - >"$L/round.log" 2>>"$L/retry.err"
done
[ "$nlog" = "$CLIENTS" ] || herr=$((herr + CLIENTS - nlog))
derr=$(grep -vc '^201$' "$L/deploys")
gerr=$(grep -c '^fail' "$L/git")
perr=$(grep -c '^fail' "$L/push")
grep -h '^fail' "$L/git" "$L/push" | head -n 5 | sed 's/^/     /'
BP=$(wc -l <"$L/backpressure" | tr -d ' ')
ERRS=$((herr + derr + gerr + perr))
check_eq "load: zero errors (HTTP $herr, deploys $derr, git $gerr, pushes $perr)" 0 "$ERRS"
check "augerd alive after the load" daemon_alive
sleep 2
RSS2=$(rss_kb)
FDS2=$(nfds)
bad=$(fsck_all)
check_eq "git fsck of every repository after the load" "" "$bad"

section "figures"
cat <<EOF | tee "$W/figures"
kill trials:            $TRIALS (kill -9 at a random 20..1000 ms into each burst)
releases acknowledged:  $ACKED (201 answers, deploys and rollbacks)
releases lost:          $lost_total
pushes acknowledged:    $((hacks + sacks)) of $((2 * TRIALS)) (HTTP $hacks, SSH $sacks; the others cut by the kill), lost: $plost
load clients:           $CLIENTS HTTP at once + $NGIT git + $NPUSH pushes + 20 deploys, ulimit -n $NOFILE
load errors:            $ERRS (back-pressure 503/busy, retried: $BP)
augerd RSS (KiB):       start $RSS0, before load $RSS1, after load $RSS2
augerd open fds:        start $FDS0, before load $FDS1, after load $FDS2
EOF
AUGERD=$ROOT/bin/augerd
finish
