#!/usr/bin/env bash
# SSH benchmark: depth-1 clones over SSH from augerd against the usual setup,
# OpenSSH's sshd with git-shell as the forced command, serving the same
# repository. Both run side by side in one run on free loopback ports; the
# clones alternate between the servers and the table gives p50/p99/mean of
# the wall time per clone and the ratio augerd/sshd.
#
#   bash scripts/bench/ssh.sh
#   BENCH_QUICK=1 bash scripts/bench/ssh.sh      # smoke run (5 clones each)
#
# Environment:
#   AUGERD=path        augerd binary (default bin/augerd)
#   BENCH_CLONES       depth-1 clones per server (default 30; 5 with BENCH_QUICK=1)
#   BENCH_PROTOCOL     git protocol version for the clones (default 2)
#   BENCH_BUDGET       seconds after start at which the clone loop stops (150)
#   BENCH_KEEP=1       keep the run directory (logs) and print where it is
#
# The repository is build/bench/repo/bench.git when scripts/bench/http.sh has
# made it (300 apps x 4 manifests, 1000 commits; only read, never written),
# otherwise a smaller one generated here with gen-repo.awk. Packages come
# from `sh scripts/deps.sh --bench` (openssh-server). sshd runs as the
# current user from a private config; as root it needs /run/sshd, which is
# created (and removed again) when missing. Only 127.0.0.1 is contacted.
# Exit status: 0 when both columns were measured, 1 otherwise.

# shellcheck disable=SC2317 # cleanup is reached through the trap
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/scripts/bench"
AUGERD=${AUGERD:-$ROOT/bin/augerd}
if [ "${BENCH_QUICK:-0}" = 1 ]; then CLONES=${BENCH_CLONES:-5}; else CLONES=${BENCH_CLONES:-30}; fi
PROTO=${BENCH_PROTOCOL:-2}
BUDGET=${BENCH_BUDGET:-150}
SSHD=${SSHD:-/usr/sbin/sshd}
CLONE_TIMEOUT=60
START=$SECONDS
LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)

say() { printf 'bench: %s\n' "$*" >&2; }
die() {
	say "error: $*"
	exit 1
}

# --- packages and tools ------------------------------------------------------

if ! [ -x "$SSHD" ] || ! command -v ssh >/dev/null 2>&1 || ! command -v git-shell >/dev/null 2>&1; then
	say "installing the benchmark packages (sh scripts/deps.sh --bench)"
	sh "$ROOT/scripts/deps.sh" --bench >&2 || die "sh scripts/deps.sh --bench failed"
fi
for t in git ssh ssh-keygen ssh-keyscan curl awk sort timeout; do
	command -v "$t" >/dev/null || die "$t not found (sh scripts/deps.sh --bench)"
done
[ -x "$SSHD" ] || die "$SSHD not found (sh scripts/deps.sh --bench installs openssh-server)"
GIT_SHELL=$(command -v git-shell) || die "git-shell not found"
[ -x "$AUGERD" ] || die "augerd not found at $AUGERD (run make)"
[ -n "${EPOCHREALTIME:-}" ] || die "bash >= 5 needed (EPOCHREALTIME)"

# --- scratch space, cleanup ----------------------------------------------------

W=$(mktemp -d "${TMPDIR:-/tmp}/auger-bench-ssh.XXXXXX")
AUGERD_PID="" SSHD_PID="" MADE_PRIVSEP=0
cleanup() {
	local p n
	for p in $SSHD_PID $AUGERD_PID; do
		kill -TERM "$p" 2>/dev/null || continue
		n=0
		while kill -0 "$p" 2>/dev/null && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	[ "$MADE_PRIVSEP" = 1 ] && rmdir /run/sshd 2>/dev/null
	if [ "${BENCH_KEEP:-0}" = 1 ]; then say "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export HOME="$W/home"
mkdir -p "$HOME" "$W/logs"
export GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0 NO_PROXY='*' no_proxy='*'
unset GIT_DIR GIT_PROTOCOL GIT_SSH GIT_SSH_COMMAND SSH_AUTH_SOCK http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy 2>/dev/null || true
git config --global init.defaultBranch main
git config --global gc.auto 0
git config --global advice.detachedHead false

# free_port: an unused loopback TCP port.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
		awk 'BEGIN { srand(); print 20000 + int(rand() * 30000) }'
}

# wait_file FILE PID: until FILE ends with a newline (10 s), PID alive.
wait_file() {
	local i=0
	while [ $i -lt 100 ]; do
		[ -s "$1" ] && [ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" = '\n' ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# percentile P FILE: nearest-rank percentile of the numbers in FILE.
percentile() {
	sort -n "$2" | awk -v p="$1" '{ v[NR] = $1 } END {
		if (NR == 0) { print "-"; exit }
		r = int(p / 100 * NR); if (r < p / 100 * NR) r++; if (r < 1) r = 1
		printf "%.1f\n", v[r] }'
}
mean() { awk '{ s += $1; n++ } END { if (n) printf "%.1f\n", s / n; else print "-" }' "$1"; }
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b + 0 == 0) { print "-"; exit }
		printf "%.2fx\n", a / b }'
}

# --- 1. the repository -----------------------------------------------------------

SRC="$ROOT/build/bench/repo/bench.git"
if git -C "$SRC" rev-parse -q --verify refs/heads/main >/dev/null 2>&1; then
	say "using $SRC (made by scripts/bench/http.sh)"
	cp -a "$SRC" "$W/bench.git"
else
	say "generating a repository: 100 apps x 4 manifests, 200 commits"
	git init -q --bare "$W/bench.git"
	git -C "$W/bench.git" symbolic-ref HEAD refs/heads/main
	awk -v APPS=100 -v COMMITS=200 -f "$HERE/gen-repo.awk" |
		MALLOC_TOP_PAD_=67108864 git -C "$W/bench.git" fast-import --quiet
	git -C "$W/bench.git" repack -adfq
fi
REPO="$W/bench.git"
TIP=$(git -C "$REPO" rev-parse refs/heads/main)
NCOMMITS=$(git -C "$REPO" rev-list --count "$TIP")
NFILES=$(git -C "$REPO" ls-tree -r --name-only "$TIP" | wc -l)
PACK_KB=$(git -C "$REPO" count-objects -v | awk '/^size-pack:/ { print $2 }')
say "repository: $NCOMMITS commits, $NFILES files, ${PACK_KB} KiB pack, main=$TIP"

# --- 2. the client key -----------------------------------------------------------

ssh-keygen -q -t ed25519 -N '' -C bench -f "$W/client_key" </dev/null
: >"$W/ssh_config"
KH="$W/known_hosts"

# --- 3. augerd ---------------------------------------------------------------------

"$AUGERD" --data "$W/augerd" --http 127.0.0.1:0 --ssh 127.0.0.1:0 </dev/null >"$W/logs/augerd.log" 2>&1 &
AUGERD_PID=$!
wait_file "$W/augerd/http.addr" "$AUGERD_PID" || die "augerd did not start (see $W/logs/augerd.log)"
wait_file "$W/augerd/ssh.addr" "$AUGERD_PID" || die "augerd did not write ssh.addr"
A_HTTP=$(head -n 1 "$W/augerd/http.addr")
A_SSH_PORT=$(head -n 1 "$W/augerd/ssh.addr" | sed 's/.*://')
A_TOKEN=$(head -n 1 "$W/augerd/admin.token")
api() { curl -s -o "$W/logs/api.json" -w '%{http_code}' --max-time 30 -H "Authorization: Bearer $A_TOKEN" \
	-H 'Content-Type: application/json' -X POST --data-binary "$2" "http://$A_HTTP$1"; }
for _ in $(seq 50); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$A_HTTP/api/repos")" != 000 ] && break
	sleep 0.1
done
[ "$(api /api/repos '{"name":"bench"}')" = 201 ] || die "augerd: POST /api/repos: $(cat "$W/logs/api.json")"
# deploy: the least role that may fetch an application repository.
[ "$(api /api/keys "{\"name\":\"bench\",\"role\":\"deploy\",\"envs\":[\"*\"],\"publicKey\":\"$(cat "$W/client_key.pub")\"}")" = 201 ] ||
	die "augerd: POST /api/keys: $(cat "$W/logs/api.json")"
say "augerd: pushing the repository over HTTP"
t0=$SECONDS
timeout 300 git -C "$REPO" -c "http.extraHeader=Authorization: Bearer $A_TOKEN" push -q "http://$A_HTTP/bench.git" main \
	>"$W/logs/augerd-push.log" 2>&1 || die "push to augerd failed (see $W/logs/augerd-push.log)"
say "augerd: push took $((SECONDS - t0)) s"
ssh-keyscan -T 5 -p "$A_SSH_PORT" 127.0.0.1 >>"$KH" 2>/dev/null || die "ssh-keyscan of augerd failed"

# --- 4. OpenSSH sshd + git-shell -------------------------------------------------

S_PORT=$(free_port)
USER_NAME=$(id -un)
mkdir -p "$W/sshd"
ssh-keygen -q -t ed25519 -N '' -f "$W/sshd/host_ed25519" </dev/null
# shellcheck disable=SC2016 # $SSH_ORIGINAL_COMMAND is for sshd's shell
printf 'command="%s -c \\"$SSH_ORIGINAL_COMMAND\\"",no-port-forwarding,no-X11-forwarding,no-agent-forwarding,no-pty %s\n' \
	"$GIT_SHELL" "$(cat "$W/client_key.pub")" >"$W/sshd/authorized_keys"
cat >"$W/sshd/sshd_config" <<EOF
Port $S_PORT
ListenAddress 127.0.0.1
HostKey $W/sshd/host_ed25519
PidFile $W/sshd/sshd.pid
AuthorizedKeysFile $W/sshd/authorized_keys
AllowUsers $USER_NAME
PermitRootLogin yes
StrictModes no
UsePAM no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AllowTcpForwarding no
AllowAgentForwarding no
X11Forwarding no
PrintMotd no
UseDNS no
AcceptEnv GIT_PROTOCOL
MaxStartups 100:30:200
LogLevel ERROR
EOF
if [ "$(id -u)" = 0 ] && [ ! -d /run/sshd ]; then
	mkdir -m 0755 /run/sshd && MADE_PRIVSEP=1
fi
"$SSHD" -t -f "$W/sshd/sshd_config" >"$W/logs/sshd-check.log" 2>&1 || die "sshd -t: $(cat "$W/logs/sshd-check.log")"
"$SSHD" -D -e -f "$W/sshd/sshd_config" </dev/null >"$W/logs/sshd.log" 2>&1 &
SSHD_PID=$!
for _ in $(seq 50); do
	ssh-keyscan -T 2 -p "$S_PORT" 127.0.0.1 >"$W/sshd/keyscan" 2>/dev/null && [ -s "$W/sshd/keyscan" ] && break
	kill -0 "$SSHD_PID" 2>/dev/null || die "sshd exited: $(cat "$W/logs/sshd.log")"
	sleep 0.1
done
[ -s "$W/sshd/keyscan" ] || die "sshd does not answer on 127.0.0.1:$S_PORT"
cat "$W/sshd/keyscan" >>"$KH"

SSH_BASE="ssh -F $W/ssh_config -i $W/client_key -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$KH -o GlobalKnownHostsFile=/dev/null -o LogLevel=ERROR"
A_URL="ssh://git@127.0.0.1:$A_SSH_PORT/bench.git"
S_URL="ssh://$USER_NAME@127.0.0.1:$S_PORT$REPO"

# clone_once NAME URL PORT: one timed depth-1 clone; prints ms, or fails.
clone_once() {
	local name=$1 url=$2 port=$3 dir="$W/clone-$1" t0 t1
	rm -rf "$dir"
	t0=$EPOCHREALTIME
	if ! GIT_SSH_COMMAND="$SSH_BASE -p $port" timeout "$CLONE_TIMEOUT" \
		git -c protocol.version="$PROTO" clone -q --depth 1 --single-branch --no-tags -b main "$url" "$dir" \
		>>"$W/logs/clone-$name.log" 2>&1; then
		return 1
	fi
	t1=$EPOCHREALTIME
	if [ "$(git -C "$dir" rev-parse HEAD 2>/dev/null)" != "$TIP" ] ||
		[ "$(git -C "$dir" rev-list --count HEAD 2>/dev/null)" != 1 ]; then
		echo "clone of $url: wrong HEAD or not shallow" >>"$W/logs/clone-$name.log"
		return 1
	fi
	rm -rf "$dir"
	awk -v a="${t0/,/.}" -v b="${t1/,/.}" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }'
}

# --- 5. warm-up and correctness ----------------------------------------------------

clone_once augerd "$A_URL" "$A_SSH_PORT" >/dev/null || die "augerd: SSH clone failed: $(tail -n 5 "$W/logs/clone-augerd.log")"
clone_once sshd "$S_URL" "$S_PORT" >/dev/null || die "sshd+git-shell: SSH clone failed: $(tail -n 5 "$W/logs/clone-sshd.log") $(tail -n 5 "$W/logs/sshd.log")"
say "both servers serve main=$TIP; $CLONES depth-1 clones each, alternating (budget ${BUDGET}s)"

# --- 6. the measurement ------------------------------------------------------------

: >"$W/augerd.ms"
: >"$W/sshd.ms"
A_FAIL=0 S_FAIL=0 n=0
while [ $n -lt "$CLONES" ] && [ $((SECONDS - START)) -lt "$BUDGET" ]; do
	if [ $((n % 2)) = 0 ]; then order="augerd sshd"; else order="sshd augerd"; fi
	for s in $order; do
		if [ "$s" = augerd ]; then
			ms=$(clone_once augerd "$A_URL" "$A_SSH_PORT") && echo "$ms" >>"$W/augerd.ms" || A_FAIL=$((A_FAIL + 1))
		else
			ms=$(clone_once sshd "$S_URL" "$S_PORT") && echo "$ms" >>"$W/sshd.ms" || S_FAIL=$((S_FAIL + 1))
		fi
	done
	n=$((n + 1))
done
[ $n -lt "$CLONES" ] && say "time budget reached after $n rounds"

# --- 7. the table ------------------------------------------------------------------

NA=$(wc -l <"$W/augerd.ms" | tr -d ' ')
NS=$(wc -l <"$W/sshd.ms" | tr -d ' ')
A50=$(percentile 50 "$W/augerd.ms") S50=$(percentile 50 "$W/sshd.ms")
A99=$(percentile 99 "$W/augerd.ms") S99=$(percentile 99 "$W/sshd.ms")
AM=$(mean "$W/augerd.ms") SM=$(mean "$W/sshd.ms")
AMIN=$(percentile 0 "$W/augerd.ms") SMIN=$(percentile 0 "$W/sshd.ms")

echo
echo "# auger SSH benchmark"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(git --version), $("$SSHD" -V 2>&1 | head -n 1 | cut -d, -f1), load average at start $LOAD_AT_START"
echo "Repository: $NFILES files, $NCOMMITS commits, ${PACK_KB} KiB pack."
echo "Clone: git -c protocol.version=$PROTO clone --depth 1 --single-branch --no-tags -b main over ssh (ed25519 client key, new connection per clone); wall time per clone, servers alternate; nearest-rank percentiles."
echo "sshd: OpenSSH sshd -D, forced command git-shell -c \"\$SSH_ORIGINAL_COMMAND\" (fork+exec of git-upload-pack per clone)."
echo
printf '| %-28s | %10s | %14s | %14s |\n' "metric (ms, lower is better)" augerd "sshd+git-shell" "augerd/sshd"
printf '| %-28s | %10s | %14s | %14s |\n' "----------------------------" "---------:" "-------------:" "-------------:"
printf '| %-28s | %10s | %14s | %14s |\n' "depth-1 clone min" "$AMIN" "$SMIN" "$(ratio "$AMIN" "$SMIN")"
printf '| %-28s | %10s | %14s | %14s |\n' "depth-1 clone p50" "$A50" "$S50" "$(ratio "$A50" "$S50")"
printf '| %-28s | %10s | %14s | %14s |\n' "depth-1 clone p99" "$A99" "$S99" "$(ratio "$A99" "$S99")"
printf '| %-28s | %10s | %14s | %14s |\n' "depth-1 clone mean" "$AM" "$SM" "$(ratio "$AM" "$SM")"
printf '| %-28s | %10s | %14s | %14s |\n' "clones measured / failed" "$NA / $A_FAIL" "$NS / $S_FAIL" ""
echo
say "total time $((SECONDS - START)) s"
[ "$NA" -gt 0 ] && [ "$NS" -gt 0 ] && [ "$A_FAIL" = 0 ] && [ "$S_FAIL" = 0 ]
