#!/usr/bin/env bash
# SSH fetches share the fetch cache with HTTP, with a single flight. A
# protocol v0 upload-pack exchange over SSH that sends its wants, a flush
# and "done" without haves (a clone; Flux's fetch of a new revision) is
# keyed as the same bytes POSTed over HTTP: the second identical clone
# (git CLI or go-git) is a cache hit, an HTTP POST of the bytes an SSH
# client sent is a hit with the bytes that client got, an HTTP build
# serves SSH, and the pre-warm's depth-1 replies serve go-git over SSH.
# A push changes the ref state: the same request is built again. Twelve
# identical SSH clones at once cost one build. Protocol v2 clones (full or
# shallow) are cached the same way, command by command. Incremental
# fetches (haves), v2's ls-refs and the git CLI's v0 shallow clone (it
# waits for the shallow lines before "done") are not cached and still
# work; a malformed v2 request gets the engine's error.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ssh_lib.sh"
need_interop

# Twelve concurrent SSH logins from 127.0.0.1 below: more than the default
# startup gate lets in at once (test_ssh_gate.sh tests the gate).
GATE_ARGS="--ssh-max-startups 64:30:100 --ssh-max-startups-per-addr 64"
# Builds are counted first: no pre-warm entries (it is turned on below).
AUGERD_ARGS="--prewarm 0 $GATE_ARGS"
ssh_start_daemon
new_key alice ed25519
add_key alice admin '["*"]' "$T/keys/alice"
K=$T/keys/alice
create_repo demo

W=$T/work
new_work "$W" demo || die "git init"
two_commits "$W" || die "commit"
out=$(g -C "$W" push -q origin main 2>&1) || die "push" "$out"
TIP=$(git -C "$W" rev-parse HEAD)

# ---------------------------------------------------------------- helpers

# The access log lines of SSH fetches by alice, and of HTTP cache hits.
UP="info ssh 127\.0\.0\.1 git-upload-pack"
KEPT="ok, built and kept in the fetch cache \([0-9]+ bytes\)$"
HIT="ok, from the fetch cache \([0-9]+ bytes\)$"
SHARED="ok, shared with the build in flight \([0-9]+ bytes\)$"
PLAIN="ok$"
# line REPO WHAT: the regex of alice's SSH upload-pack line for REPO.
line() { printf '%s %s by alice: %s' "$UP" "$1" "$2"; }
# http_hit REPO: an HTTP fetch-cache hit (no "ssh" prefix) by the admin token.
http_hit() { printf 'info git-upload-pack %s by admin: ok, from the fetch cache \([0-9]+ bytes\)$' "$1"; }

# mark: remember where the log is; since: what was logged after it.
mark() { MARK=$(wc -l <"$DAEMON_LOG"); }
since() { tail -n +$((MARK + 1)) "$DAEMON_LOG"; }
n_since() { since | grep -Ec -- "$1"; }
# wait_since N REGEX...: until N lines since the mark match one of the
# REGEXes (~5 s; go-git may close before the line is written).
wait_since() {
	local n=$1 i=0 re
	shift
	re=$(printf '%s|' "$@")
	re=${re%|}
	while [ $i -lt 50 ] && [ "$(n_since "$re")" -lt "$n" ]; do sleep 0.1; i=$((i + 1)); done
}
# bytes_of REGEX: the "(N bytes)" of the last line since the mark matching.
bytes_of() { since | grep -E -- "$1" | tail -n 1 | sed -n 's/.*(\([0-9]*\) bytes)$/\1/p'; }

# git through an ssh wrapper (a script taking its own arguments first).
git_wrapped() {
	local wrap=$1
	shift
	GIT_SSH_COMMAND="$wrap $(ssh_opts "$K")" GIT_SSH_VARIANT=ssh \
		timeout -k 5 "$CMD_TIMEOUT" git "$@"
}
# ssh-tee REQ RESP SSH-ARGS...: ssh, keeping what git sends and receives.
cat >"$T/ssh-tee" <<'EOF'
#!/bin/sh
req=$1 resp=$2
shift 2
tee "$req" | ssh "$@" | tee "$resp"
EOF
# ssh-gate FIFO SSH-ARGS...: ssh whose input (git's request) is held until
# the FIFO is opened for writing: every client's request is let go at once.
cat >"$T/ssh-gate" <<'EOF'
#!/bin/sh
gate=$1
shift
{ : <"$gate"; exec cat; } | exec ssh "$@"
EOF

# after_adv FILE OUT: what an upload-pack session sent after its
# advertisement (up to and including its flush).
after_adv() {
	python3 - "$1" "$2" <<'EOF'
import sys
d = open(sys.argv[1], "rb").read(); i = 0
while True:
    n = int(d[i:i + 4], 16)
    i += 4 if n == 0 else n
    if n == 0:
        break
open(sys.argv[2], "wb").write(d[i:])
EOF
}
# post REQ OUT [REPO]: the request bytes POSTed to upload-pack over HTTP.
post() {
	curl -s --max-time 30 -H "Authorization: Bearer $TOKEN" \
		-H 'Content-Type: application/x-git-upload-pack-request' \
		--data-binary @"$1" "$URL/${3:-demo}.git/git-upload-pack" -o "$2"
}
pkt() { printf '%04x%s' $((${#1} + 4)) "$1"; }
# flux_req TIP: go-git's depth-1 request as the pre-warm frames it.
flux_req() {
	pkt "want $1 side-band-64k ofs-delta shallow no-progress agent=go-git/5"$'\n'
	pkt $'deepen 1\n'
	printf '0000'
	pkt $'done\n'
}
# up_ssh REQ: REQ on the stdin of one SSH git-upload-pack 'demo' session;
# its whole output in $T/ssh.out.
up_ssh() { ssh_exec "$K" "git-upload-pack 'demo'" "$1"; }

# ---------------------------------------------------------------- git CLI over SSH: a full v0 clone twice
mark
check "git CLI v0 clone 1 over SSH" git_wrapped "sh $T/ssh-tee $T/req1 $T/resp1" -c protocol.version=0 clone -q "$(ssh_url demo)" "$T/c1"
check_eq "clone 1: logged as built and kept in the fetch cache" 1 "$(n_since "$(line demo "$KEPT")")"
check_eq "clone 1: not a cache hit" 0 "$(n_since "$(line demo "$HIT")")"
built1=$(bytes_of "$(line demo "$KEPT")")
mark
check "git CLI v0 clone 2 over SSH" git_ssh "$K" -c protocol.version=0 clone -q "$(ssh_url demo)" "$T/c2"
check_eq "clone 2: logged as from the fetch cache" 1 "$(n_since "$(line demo "$HIT")")"
check_eq "clone 2: no build (neither kept nor plain ok)" 0 "$(n_since "$(line demo "$KEPT")|$(line demo "$PLAIN")")"
check_eq "clone 2: the hit served as many bytes as clone 1's build ($built1)" "$built1" "$(bytes_of "$(line demo "$HIT")")"
for c in c1 c2; do
	check_eq "$c: HEAD is the pushed tip" "$TIP" "$(git -C "$T/$c" rev-parse HEAD 2>&1)"
	check "$c: git fsck clean" git -C "$T/$c" fsck --no-progress --no-dangling
done
check "c1 and c2: the same files" tree_diff "$T/c1" "$T/c2"

# ---------------------------------------------------------------- HTTP is answered from what SSH built
# The exact bytes git sent over SSH (the tee): wants, flush, done.
check_match "the git CLI's SSH request: wants, flush, done, no haves" \
	"^[0-9a-f]{4}want $TIP .*0000[0-9a-f]{4}done$" "$(tr -d '\n' <"$T/req1")"
check_not "... and no have line in it" grep -aq 'have ' "$T/req1"
mark
post "$T/req1" "$T/http1"
check_eq "HTTP POST of the git CLI's SSH request: a fetch-cache hit" 1 "$(n_since "$(http_hit demo)")"
after_adv "$T/resp1" "$T/resp1.reply" || fail "parsing clone 1's SSH session"
check "... byte for byte what clone 1 got over SSH" cmp "$T/resp1.reply" "$T/http1"
check_eq "... as many bytes as the SSH build logged" "$built1" "$(wc -c <"$T/http1" | tr -d ' ')"

# ---------------------------------------------------------------- go-git over SSH: depth 1 and full, twice each
# Each go-git clone lists first (its own session, a bare flush: plain ok).
gogit() { AUGER_SSH_KEY=$K AUGER_KNOWN_HOSTS=$KNOWN_HOSTS timeout -k 5 "$CMD_TIMEOUT" "$GOGIT_CLIENT" clone "$(ssh_url demo)" "$@" 2>&1; }
for mode in depth1 full; do
	args=()
	[ $mode = depth1 ] && args=(--depth 1)
	for n in 1 2; do
		mark
		out=$(gogit "$T/gg-$mode-$n" "${args[@]}")
		check_match "go-git SSH clone ($mode) $n: the pushed tip" "HEAD $TIP" "$out"
		wait_since 1 "$(line demo "$KEPT")" "$(line demo "$HIT")" "$(line demo "$SHARED")"
		if [ $n = 1 ]; then
			check_eq "go-git $mode clone 1: built and kept" 1 "$(n_since "$(line demo "$KEPT")")"
		else
			check_eq "go-git $mode clone 2: from the fetch cache" 1 "$(n_since "$(line demo "$HIT")")"
			check_eq "go-git $mode clone 2: no build" 0 "$(n_since "$(line demo "$KEPT")")"
		fi
		check "go-git $mode clone $n: git fsck clean" git -C "$T/gg-$mode-$n" fsck --no-progress --no-dangling
	done
done
check_eq "go-git depth-1 clone: shallow at the tip" "$TIP" "$(cat "$T/gg-depth1-2/.git/shallow" 2>&1)"
check_eq "go-git full clone: the whole history" 2 "$(git -C "$T/gg-full-2" rev-list --count HEAD 2>&1)"

# ---------------------------------------------------------------- raw requests: SSH and HTTP share entries both ways
# The pre-warm's depth-1 request, as raw bytes all at once over SSH: the
# entry go-git's depth-1 clone made (go-git 5.4 asks for no more than it).
flux_req "$TIP" >"$T/req-flux"
mark
up_ssh "$T/req-flux"
check_eq "raw SSH git-upload-pack with the pre-warm's depth-1 request: exit 0" 0 "$SSH_RC"
check_eq "... from the fetch cache: go-git's SSH depth-1 request has its key" 1 "$(n_since "$(line demo "$HIT")")"
cp "$T/ssh.out" "$T/ssh-flux.out"
after_adv "$T/ssh-flux.out" "$T/ssh-flux.reply" || fail "parsing the SSH session"
check_match "... its reply starts with the shallow line" "^0035shallow $TIP" "$(head -c 52 "$T/ssh-flux.reply")"
mark
post "$T/req-flux" "$T/http-flux"
check_eq "the same bytes over HTTP: a fetch-cache hit" 1 "$(n_since "$(http_hit demo)")"
check "... byte for byte the SSH reply" cmp "$T/ssh-flux.reply" "$T/http-flux"

# The other way: an HTTP build serves SSH.
# (Caps that neither the git CLI nor go-git send: an entry of its own.)
{ pkt "want $TIP side-band-64k ofs-delta agent=curl/1"$'\n'; printf '0000'; pkt $'done\n'; } >"$T/req-h"
mark
post "$T/req-h" "$T/http-h"
check_eq "a new request over HTTP: built, not a hit" 0 "$(n_since "$(http_hit demo)")"
up_ssh "$T/req-h"
check_eq "... then over SSH: exit 0" 0 "$SSH_RC"
check_eq "... from the fetch cache" 1 "$(n_since "$(line demo "$HIT")")"
after_adv "$T/ssh.out" "$T/ssh-h.reply" || fail "parsing the SSH session"
check "... byte for byte the HTTP answer" cmp "$T/http-h" "$T/ssh-h.reply"

# ---------------------------------------------------------------- a push changes the ref state
for i in $(seq 1 40); do printf 'app %d\nimage: v3\n' "$i" >"$W/f$i.yaml"; done
commit_files "$W" "third" || die "commit"
out=$(g -C "$W" push -q origin main 2>&1) || die "push" "$out"
NEW=$(git -C "$W" rev-parse HEAD)
mark
check "after a push: git CLI v0 clone over SSH" git_ssh "$K" -c protocol.version=0 clone -q "$(ssh_url demo)" "$T/c3"
check_eq "... not a cache hit" 0 "$(n_since "$(line demo "$HIT")")"
check_eq "... built (and kept) anew" 1 "$(n_since "$(line demo "$KEPT")")"
check_eq "... HEAD is the new tip" "$NEW" "$(git -C "$T/c3" rev-parse HEAD 2>&1)"
check_match "... with the new files" "image: v3" "$(cat "$T/c3/f1.yaml" 2>&1)"
# The very bytes of clone 1 (wanting the old tip): a new ref state, a new key.
mark
up_ssh "$T/req1"
check_eq "clone 1's request replayed over SSH after the push: exit 0" 0 "$SSH_RC"
check_eq "... not a cache hit" 0 "$(n_since "$(line demo "$HIT")")"
check_eq "... built and kept under the new ref state" 1 "$(n_since "$(line demo "$KEPT")")"

# ---------------------------------------------------------------- control: an incremental fetch
mark
check "control: incremental v0 fetch over SSH (sends haves)" git_ssh "$K" -C "$T/c1" -c protocol.version=0 fetch -q origin
check_eq "control: ... origin/main is the new tip" "$NEW" "$(git -C "$T/c1" rev-parse origin/main 2>&1)"
check "control: ... fsck clean" git -C "$T/c1" fsck --no-progress --no-dangling
check_eq "control: ... logged as a plain ok" 1 "$(n_since "$(line demo "$PLAIN")")"
check_eq "control: ... not cached (no hit, nothing kept)" 0 "$(n_since "$(line demo "$HIT")|$(line demo "$KEPT")|$(line demo "$SHARED")")"

# ---------------------------------------------------------------- control: the git CLI's shallow clone
mark
# git_ssh's timeout at 60 s: a server waiting for a "done" that the client
# only sends after the shallow lines would hang here.
CMD_TIMEOUT=60
check "control: git CLI v0 clone --depth 1 over SSH (within 60 s)" git_ssh "$K" -c protocol.version=0 clone -q --depth 1 "$(ssh_url demo)" "$T/c4"
CMD_TIMEOUT=90
check_eq "control: ... HEAD is the new tip" "$NEW" "$(git -C "$T/c4" rev-parse HEAD 2>&1)"
check_eq "control: ... shallow at it" "$NEW" "$(cat "$T/c4/.git/shallow" 2>&1)"
check_eq "control: ... one commit" 1 "$(git -C "$T/c4" rev-list --count HEAD 2>&1)"
check "control: ... fsck clean" git -C "$T/c4" fsck --no-progress --no-dangling
check_eq "control: ... logged as a plain ok (done came after the shallow lines)" 1 "$(n_since "$(line demo "$PLAIN")")"

# ---------------------------------------------------------------- protocol v2 over SSH
# Each v2 command is read ahead whole: a fetch with "done" and no haves
# (a clone's, shallow or not) goes through the cache; ls-refs and
# negotiation rounds go to the engine as they are.
mark
check "git CLI protocol v2 clone 1 over SSH" git_wrapped "sh $T/ssh-tee $T/req5 $T/resp5" -c protocol.version=2 clone -q "$(ssh_url demo)" "$T/c5"
check_eq "v2 clone 1: HEAD is the new tip" "$NEW" "$(git -C "$T/c5" rev-parse HEAD 2>&1)"
check "v2 clone 1: fsck clean" git -C "$T/c5" fsck --no-progress --no-dangling
check "v2 clone 1: the same files as the v0 clone" tree_diff "$T/c3" "$T/c5"
check_eq "v2 clone 1: built and kept in the fetch cache" 1 "$(n_since "$(line demo "$KEPT")")"
built5=$(bytes_of "$(line demo "$KEPT")")
mark
check "git CLI protocol v2 clone 2 over SSH" git_ssh "$K" -c protocol.version=2 clone -q "$(ssh_url demo)" "$T/c6"
check_eq "v2 clone 2: HEAD is the new tip" "$NEW" "$(git -C "$T/c6" rev-parse HEAD 2>&1)"
check "v2 clone 2: fsck clean" git -C "$T/c6" fsck --no-progress --no-dangling
check_eq "v2 clone 2: from the fetch cache" 1 "$(n_since "$(line demo "$HIT")")"
check_eq "v2 clone 2: as many bytes as clone 1's build ($built5)" "$built5" "$(bytes_of "$(line demo "$HIT")")"
check_eq "v2 clone 2: no build" 0 "$(n_since "$(line demo "$KEPT")|$(line demo "$PLAIN")")"

# The fetch command git sent over SSH, POSTed over HTTP as v2: the same
# key, so a hit, with the bytes the SSH client got after its ls-refs.
python3 - "$T/req5" "$T/resp5" "$T/req5-fetch" "$T/resp5-fetch" <<'EOF'
import sys
def sections(d):
    """pkt-line sections, each up to and including its flush."""
    out, i, start = [], 0, 0
    while i + 4 <= len(d):
        n = int(d[i:i + 4], 16)
        i += 4 if n < 4 else n
        if n == 0:
            out.append(d[start:i]); start = i
    return out
req = [s for s in sections(open(sys.argv[1], "rb").read()) if s != b"0000"]
fetch = [s for s in req if b"command=fetch" in s]
open(sys.argv[3], "wb").write(fetch[0] if fetch else b"")
resp = sections(open(sys.argv[2], "rb").read())
# capabilities, ls-refs' answer, then the fetch's
open(sys.argv[4], "wb").write(b"".join(resp[2:]))
EOF
check_match "the SSH v2 request held one fetch command with done" "0009done" "$(tr -d '\n' <"$T/req5-fetch" 2>&1)"
mark
curl -s --max-time 30 -H "Authorization: Bearer $TOKEN" -H 'Git-Protocol: version=2' \
	-H 'Content-Type: application/x-git-upload-pack-request' \
	--data-binary @"$T/req5-fetch" "$URL/demo.git/git-upload-pack" -o "$T/http5"
check_eq "HTTP v2 POST of that fetch: from the fetch cache" 1 "$(n_since "$(http_hit demo)")"
check "... the same bytes as the SSH v2 clone got" cmp -s "$T/http5" "$T/resp5-fetch"

mark
check "git CLI protocol v2 clone --depth 1 over SSH" git_ssh "$K" -c protocol.version=2 clone -q --depth 1 "$(ssh_url demo)" "$T/c7"
check_eq "v2 depth 1: shallow at the tip" "$NEW" "$(cat "$T/c7/.git/shallow" 2>&1)"
check "v2 depth 1: fsck clean" git -C "$T/c7" fsck --no-progress --no-dangling
check_eq "v2 depth 1: built and kept (v2 has no wait for shallow lines)" 1 "$(n_since "$(line demo "$KEPT")")"
mark
check "git CLI protocol v2 clone --depth 1 over SSH, again" git_ssh "$K" -c protocol.version=2 clone -q --depth 1 "$(ssh_url demo)" "$T/c8"
check_eq "v2 depth 1 again: from the fetch cache" 1 "$(n_since "$(line demo "$HIT")")"
check "v2 depth 1 again: fsck clean" git -C "$T/c8" fsck --no-progress --no-dangling

mark
check "control: v2 ls-remote over SSH" git_ssh "$K" -c protocol.version=2 ls-remote "$(ssh_url demo)"
check_eq "control: ... ls-refs alone is a plain ok" 1 "$(n_since "$(line demo "$PLAIN")")"
# A fetch with haves: negotiation rounds, answered by the engine.
git -C "$T/c5" update-ref refs/remotes/origin/main HEAD~1
git -C "$T/c5" reset -q --hard HEAD~1
git -C "$T/c5" reflog expire --expire=now --all && git -C "$T/c5" gc -q --prune=now
mark
check "control: v2 incremental fetch over SSH (haves)" git_ssh "$K" -c protocol.version=2 -C "$T/c5" fetch -q origin
check_eq "control: ... the new tip fetched" "$NEW" "$(git -C "$T/c5" rev-parse refs/remotes/origin/main 2>&1)"
check "control: ... fsck clean" git -C "$T/c5" fsck --no-progress --no-dangling
check_eq "control: ... not through the cache (plain ok)" 1 "$(n_since "$(line demo "$PLAIN")")"

# A malformed v2 request is the engine's to refuse, precisely.
mark
printf '0012command=fetch\n0001zzzz' >"$T/req-bad"
# shellcheck disable=SC2046
timeout -k 5 30 ssh -T $(ssh_opts "$K") -o SetEnv=GIT_PROTOCOL=version=2 \
	git@127.0.0.1 "git-upload-pack 'demo'" <"$T/req-bad" >"$T/ssh.out" 2>&1 || true
wait_since 1 "$UP demo by alice: error: "
check_match "control: a malformed v2 request: the engine's error" "$UP demo by alice: error: bad pkt-line length \"zzzz\"" "$(since)"

# ---------------------------------------------------------------- single flight
create_repo big
B=$T/big
new_work "$B" big || die "git init big"
head -c $((8 << 20)) /dev/urandom >"$B/blob.bin"
commit_files "$B" "big" "README=big" || die "commit big"
out=$(g -C "$B" push -q origin main 2>&1) || die "push big" "$out"
BTIP=$(git -C "$B" rev-parse HEAD)
N=12
mkfifo "$T/gate" || die "mkfifo"
mark
pids=()
for i in $(seq 1 $N); do
	git_wrapped "sh $T/ssh-gate $T/gate" -c protocol.version=0 clone -q \
		"ssh://git@127.0.0.1:$SSH_PORT/big.git" "$T/sf$i" >"$T/sf$i.out" 2>&1 &
	pids+=($!)
	track $!
done
# Every session logged in (its advertisement on its way), then the gate.
i=0
while [ $i -lt 200 ] && [ "$(n_since "ssh 127\.0\.0\.1: key .* \(alice\) authenticated")" -lt $N ]; do sleep 0.05; i=$((i + 1)); done
sleep 0.3
exec 3<>"$T/gate"	# never blocks; lets every reader of the gate through
rcs=0
for p in "${pids[@]}"; do wait "$p" || rcs=$((rcs + 1)); done
exec 3>&-
check_eq "$N concurrent identical v0 clones over SSH: all exit 0" 0 "$rcs"
kept=$(n_since "$(line big "$KEPT")")
shared=$(n_since "$(line big "$SHARED")")
hits=$(n_since "$(line big "$HIT")")
plain=$(n_since "$(line big "$PLAIN")")
check_eq "one build for the $N (kept: $kept, shared: $shared, hits: $hits, plain: $plain)" 1 "$kept"
check_eq "the other $((N - 1)) shared it or came from the cache" $((N - 1)) $((shared + hits))
check "most of them waited for that build rather than arriving after it" [ "$shared" -ge 1 ]
size=$(since | grep -E -- "$(line big "$KEPT")" | sed -n 's/.*(\([0-9]*\) bytes)$/\1/p')
check_eq "every one of them was sent the built size" "$N" "$(since | grep -E -- "$(line big "$KEPT|$SHARED|$HIT")" | grep -c "($size bytes)\$")"
bad=""
for i in $(seq 1 $N); do
	[ "$(git -C "$T/sf$i" rev-parse HEAD 2>&1)" = "$BTIP" ] || bad="$bad sf$i:head"
	git -C "$T/sf$i" fsck --no-progress --no-dangling >/dev/null 2>&1 || bad="$bad sf$i:fsck"
	cmp -s "$B/blob.bin" "$T/sf$i/blob.bin" || bad="$bad sf$i:blob"
done
check_eq "all $N clones: the tip, fsck clean, the blob intact" "" "$bad"

# ---------------------------------------------------------------- pre-warm serves SSH
stop_daemon || fail "daemon stopped cleanly" "status $?"
AUGERD_ARGS=$GATE_ARGS	# --prewarm at its default
ssh_start_daemon "$DATA"
git -C "$W" remote set-url origin "$URL/demo.git"
commit_files "$W" "fourth" "f1.yaml=app 1 image: v4" || die "commit"
mark
out=$(g -C "$W" push -q origin main 2>&1) || die "push" "$out"
TIP4=$(git -C "$W" rev-parse HEAD)
i=0
while [ $i -lt 100 ] && [ "$(n_since "prewarm demo: ")" -lt 1 ]; do sleep 0.1; i=$((i + 1)); done
check_match "after the push, the depth-1 replies are built ahead" "prewarm demo: [0-9]+ depth-1 replies built" "$(since)"
mark
flux_req "$TIP4" >"$T/req-flux4"
up_ssh "$T/req-flux4"
check_eq "the pre-warm's request over SSH: exit 0" 0 "$SSH_RC"
check_eq "... from the fetch cache" 1 "$(n_since "$(line demo "$HIT")")"
mark
out=$(gogit "$T/gg-warm" --depth 1)
check_match "go-git depth-1 SSH clone after the push: the new tip" "HEAD $TIP4" "$out"
wait_since 1 "$(line demo "$KEPT")" "$(line demo "$HIT")" "$(line demo "$SHARED")"
check_eq "... from the fetch cache (pre-warmed)" 1 "$(n_since "$(line demo "$HIT")")"
check_eq "... no build" 0 "$(n_since "$(line demo "$KEPT")")"
check "... git fsck clean" git -C "$T/gg-warm" fsck --no-progress --no-dangling

# ---------------------------------------------------------------- the end
check_eq "no other SSH upload-pack ended in an error" "" "$(grep -E "$UP .* error: " "$T"/augerd.*.log | grep -v '"zzzz"' | head -n 5)"
check "daemon alive" daemon_alive
finish
