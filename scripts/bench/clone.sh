#!/usr/bin/env bash
# Clone benchmark: full clone, depth-1 clone and incremental fetch of a large
# repository (20,000 files, 2,000 commits) from augerd, from `git daemon` and
# from `git http-backend` behind lighttpd + fcgiwrap: the same bare repository,
# all three servers running side by side on loopback, in one run.
#
#   make bench                       # or: bash scripts/bench/clone.sh
#   BENCH_QUICK=1 bash scripts/bench/clone.sh   # smoke run: 2,000 files, 200 commits, 2 runs
#
# What is measured (wall time of the git client, protocol v2 for every server:
# git -c protocol.version=2, checked with GIT_TRACE_PACKET before timing):
#   full     git clone --no-checkout URL        (every branch and tag; the
#            transfer and the client's index-pack, no checkout)
#   depth1   git clone --no-checkout --depth 1 URL   (main only, as --depth implies)
#   fetch    git fetch origin, in a client cloned when main was KEEP (20) commits
#            older: a fresh `cp -a` of that client before every run, so every
#            run fetches the same 20 commits
# Each case runs once untimed per server (a warm-up, and the result is checked:
# refs, commit counts, shallowness), then N timed runs with hyperfine (a loop
# with $EPOCHREALTIME when hyperfine is missing or BENCH_HYPERFINE=0; the loop
# alternates the servers run by run). The table gives medians.
#
# augerd answers a repeated identical upload-pack request from its fetch cache
# (whole replies up to 32 MiB). git has no such cache, so by default augerd is
# restarted before every timed run (outside the timed window): each run
# builds its pack, as git's upload-pack (a new process per request) does.
# BENCH_AUGERD_WARM=1 keeps one augerd process instead (runs after the first
# are then cache hits when the reply fits).
#
# The repository comes from scripts/bench/gen-clone-repo.awk through
# git fast-import (seconds), then `git pack-refs --all` and
# `git repack -adf --write-bitmap-index` (one pack, deltas recomputed with
# git's default window 10 / depth 50, and the reachability bitmap that
# `git gc` writes in a bare repository; not `gc --aggressive`), as a server
# holds a maintained repository. It is cached in build/bench/clone-repo/ and
# rebuilt only when missing or when the generator, its parameters or git's
# version changed. Each server gets a `cp -a` of that bare repository
# (augerd as DATA/repos/bench.git, found when augerd starts).
#
# Environment:
#   AUGERD=path            augerd binary (default bin/augerd)
#   BENCH_QUICK=1          2,000 files, 200 commits, 2 timed runs per case
#   BENCH_FILES, BENCH_COMMITS   repository size (20000, 2000)
#   BENCH_FETCH_COMMITS    how far behind main the fetch client is (20)
#   BENCH_RUNS             timed runs per case and server (5; BENCH_RUNS_FULL for full)
#   BENCH_CASES            which cases, in order (default "full depth1 fetch")
#   BENCH_HYPERFINE=0      time with the built-in loop even if hyperfine is there
#   BENCH_AUGERD_WARM=1    do not restart augerd between runs (see above)
#   BENCH_FCGI_CHILDREN    fcgiwrap processes (default: number of CPUs, at least 2)
#   BENCH_KEEP=1           keep the run directory (build/bench/run.*)
#
# Output: the table on stdout and in build/bench/clone-results.md, with the
# repository's shape and per-server spread; logs in build/bench/logs/clone/.
# Exit status: 0 when every cell was measured, 1 when an augerd cell failed,
# 2 when a baseline (git daemon, http-backend) or the setup failed. Only
# 127.0.0.1 is ever contacted.

# shellcheck disable=SC2317 # cleanup functions are reached through the trap
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/scripts/bench"
OUT="$ROOT/build/bench"
LOGS="$OUT/logs/clone"
RESULTS="$OUT/clone-results.md"
GEN="$HERE/gen-clone-repo.awk"
GEN_VERSION=1 # bump when the preparation below changes

AUGERD=${AUGERD:-$ROOT/bin/augerd}
QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
	FILES=${BENCH_FILES:-2000}
	COMMITS=${BENCH_COMMITS:-200}
	RUNS=${BENCH_RUNS:-2}
else
	FILES=${BENCH_FILES:-20000}
	COMMITS=${BENCH_COMMITS:-2000}
	RUNS=${BENCH_RUNS:-5}
fi
RUNS_FULL=${BENCH_RUNS_FULL:-$RUNS}
KEEP=${BENCH_FETCH_COMMITS:-20}
CASES=${BENCH_CASES:-full depth1 fetch}
WARM=${BENCH_AUGERD_WARM:-0}
NCPU=$(nproc 2>/dev/null || echo 2)
FCGI_CHILDREN=${BENCH_FCGI_CHILDREN:-$((NCPU < 2 ? 2 : NCPU))}
TIMEOUT_FULL=900
TIMEOUT_SMALL=300
START=$SECONDS
LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)

say() { printf '%s\n' "bench: $*" >&2; }
die() {
	say "error: $*"
	exit 2
}

# --- tools -------------------------------------------------------------------

GIT_EXEC=$(git --exec-path 2>/dev/null) || die "git not found"
GIT_HTTP_BACKEND="$GIT_EXEC/git-http-backend"
FCGIWRAP=$(command -v fcgiwrap || echo /usr/sbin/fcgiwrap)
LIGHTTPD=$(command -v lighttpd || echo /usr/sbin/lighttpd)
if ! [ -x "$LIGHTTPD" ] || ! [ -x "$FCGIWRAP" ]; then
	say "installing the benchmark packages (sh scripts/deps.sh --bench)"
	sh "$ROOT/scripts/deps.sh" --bench >&2 || die "sh scripts/deps.sh --bench failed"
fi
for t in git curl awk timeout sort cksum setsid; do
	command -v "$t" >/dev/null || die "$t not found (sh scripts/deps.sh --bench)"
done
[ -x "$LIGHTTPD" ] || die "lighttpd not found (sh scripts/deps.sh --bench)"
[ -x "$FCGIWRAP" ] || die "fcgiwrap not found (sh scripts/deps.sh --bench)"
[ -x "$GIT_HTTP_BACKEND" ] || die "git-http-backend not found at $GIT_HTTP_BACKEND"
[ -x "$GIT_EXEC/git-daemon" ] || die "git-daemon not found in $GIT_EXEC"
[ -n "${EPOCHREALTIME:-}" ] || die "bash >= 5 needed (EPOCHREALTIME)"
TIMER=loop
if [ "${BENCH_HYPERFINE:-1}" != 0 ] && command -v hyperfine >/dev/null && command -v jq >/dev/null; then
	TIMER=hyperfine
fi
for c in $CASES; do
	case $c in full | depth1 | fetch) ;; *) die "unknown case '$c' in BENCH_CASES" ;; esac
done

# --- isolation: no user/system git config, no proxies, loopback only ---------

mkdir -p "$OUT" "$LOGS"
rm -f "$LOGS"/*
RUN=$(mktemp -d "$OUT/run.XXXXXX")
SOCKDIR=$(mktemp -d /tmp/auger-bench.XXXXXX) # unix socket paths must stay short
mkdir -p "$RUN/home" "$RUN/work"
export HOME="$RUN/home" XDG_CONFIG_HOME="$RUN/home/.config"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_TERMINAL_PROMPT=0
export GIT_ASKPASS=/bin/false SSH_ASKPASS=/bin/false
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY GIT_PROXY_COMMAND
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_TRACE GIT_TRACE_PACKET
export no_proxy=127.0.0.1 NO_PROXY=127.0.0.1

# --- cleanup -----------------------------------------------------------------

GD_PID=""
SUPER_PID=""
LIGHTTPD_PID=""
FCGI_PID=""
AUGERD_PIDFILE="$RUN/augerd.pid"

alive() { # pid: running (not gone, not a zombie)
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	case $st in Z*) return 1 ;; esac
	[ -n "$st" ]
}

stop_pid() { # pid...: TERM, wait up to 5 s, then KILL whatever still runs
	local p i left
	kill -TERM "$@" 2>/dev/null || true
	for i in $(seq 50); do
		left=""
		for p in "$@"; do alive "$p" && left="$left $p"; done
		[ -n "$left" ] || break
		sleep 0.1
	done
	# shellcheck disable=SC2086
	[ -z "$left" ] || kill -KILL $left 2>/dev/null || true
	for p in "$@"; do wait "$p" 2>/dev/null || true; done
}

stop_fcgiwrap() { # as in http.sh: freeze, list the children, end parent then children
	[ -n "$FCGI_PID" ] || return 0
	local kids
	kill -STOP "$FCGI_PID" 2>/dev/null || true
	kids=$(pgrep -P "$FCGI_PID" 2>/dev/null || ps -o pid= --ppid "$FCGI_PID" 2>/dev/null || true)
	kill -TERM "$FCGI_PID" 2>/dev/null || true
	kill -CONT "$FCGI_PID" 2>/dev/null || true
	stop_pid "$FCGI_PID"
	# shellcheck disable=SC2086
	[ -z "$kids" ] || stop_pid $kids
	FCGI_PID=""
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	# the supervisor ends its augerd; should it not, the pid file names it
	[ -n "$SUPER_PID" ] && stop_pid "$SUPER_PID"
	if [ -s "$AUGERD_PIDFILE" ]; then stop_pid "$(cat "$AUGERD_PIDFILE")"; fi
	[ -n "$GD_PID" ] && stop_pid "$GD_PID"
	[ -n "$LIGHTTPD_PID" ] && stop_pid "$LIGHTTPD_PID"
	stop_fcgiwrap
	rm -rf "$SOCKDIR"
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		say "kept $RUN"
	else
		rm -rf "$RUN"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- helpers -----------------------------------------------------------------

# pick_port: a loopback port that nothing answers on (servers still retry)
pick_port() {
	local p i
	for i in $(seq 50); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# stats file: "median mean sd min max n" of the seconds in file (one a line)
stats() {
	sort -g "$1" | awk '{ v[NR] = $1; s += $1; q += $1 * $1 } END {
		if (NR == 0) { print "- - - - - 0"; exit }
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		mean = s / NR; var = NR > 1 ? (q - NR * mean * mean) / (NR - 1) : 0
		if (var < 0) var = 0
		printf "%.3f %.3f %.3f %.3f %.3f %d\n", m, mean, sqrt(var), v[1], v[NR], NR }'
}

fmt_s() { # seconds: 3 significant-ish decimals
	awk -v a="$1" 'BEGIN { if (a !~ /^[0-9.]+$/) { print a; exit }
		if (a >= 100) printf "%.1f\n", a; else if (a >= 10) printf "%.2f\n", a; else printf "%.3f\n", a }'
}

fmt_ratio() { # a b: a/b as "12.3×", or "-"
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b + 0 == 0) { print "-"; exit }
		r = a / b
		if (r >= 100) printf "%.0f×\n", r; else if (r >= 10) printf "%.1f×\n", r;
		else printf "%.2f×\n", r }'
}

le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; } # a <= b

now_s() { echo "$EPOCHREALTIME" | tr , .; }

# --- 1. the repository (cached) ----------------------------------------------

CACHE="$OUT/clone-repo/f$FILES-c$COMMITS-k$KEEP"
SRC="$CACHE/bench.git"
CLIENT_OLD="$CACHE/client-old"
STAMP="gen=$GEN_VERSION files=$FILES commits=$COMMITS keep=$KEEP awk=$(cksum <"$GEN" | awk '{ print $1 }') $(git --version)"

if [ -f "$CACHE/stamp" ] && [ "$(cat "$CACHE/stamp")" = "$STAMP" ] &&
	git -C "$SRC" rev-parse -q --verify refs/heads/main >/dev/null 2>&1 &&
	git -C "$CLIENT_OLD" rev-parse -q --verify refs/remotes/origin/main >/dev/null 2>&1; then
	say "using cached repository $SRC"
else
	say "generating $FILES files, $COMMITS commits (gen-clone-repo.awk | git fast-import)"
	t0=$SECONDS
	rm -rf "$CACHE"
	mkdir -p "$CACHE"
	git init -q --bare "$SRC"
	git -C "$SRC" symbolic-ref HEAD refs/heads/main
	git -C "$SRC" config gc.auto 0
	# a large malloc top pad keeps glibc from trimming the heap on every free
	# in fast-import's allocation pattern (http.sh: ~9 s -> <1 s)
	awk -v FILES="$FILES" -v COMMITS="$COMMITS" -v KEEP="$KEEP" -f "$GEN" |
		MALLOC_TOP_PAD_=67108864 MALLOC_TRIM_THRESHOLD_=134217728 \
			git -C "$SRC" fast-import --quiet
	# as a server holds it: packed refs, one pack with fresh deltas and a bitmap
	git -C "$SRC" pack-refs --all
	git -C "$SRC" repack -adfq --write-bitmap-index
	[ "$(git -C "$SRC" rev-list --count refs/heads/main)" = "$COMMITS" ] ||
		die "generated repository does not have $COMMITS commits on main"
	[ "$(git -C "$SRC" ls-tree -r --name-only refs/heads/main | wc -l)" = "$FILES" ] ||
		die "generated repository does not have $FILES files on main"

	# the fetch client: a clone made when main was KEEP commits older. Every
	# other branch and tag is older than that (the generator sees to it).
	say "preparing the fetch client (a clone of main~$KEEP)"
	OLD=$(git -C "$SRC" rev-parse "refs/heads/main~$KEEP")
	git clone -q --bare --no-local "$SRC" "$CACHE/old.git"
	git -C "$CACHE/old.git" update-ref refs/heads/main "$OLD"
	git -C "$CACHE/old.git" repack -adq
	git -C "$CACHE/old.git" prune --expire=now
	[ "$(git -C "$CACHE/old.git" rev-parse refs/heads/main)" = "$OLD" ] ||
		die "could not set main back in the old-state repository"
	if git -C "$CACHE/old.git" cat-file -e "$(git -C "$SRC" rev-parse refs/heads/main)" 2>/dev/null; then
		die "the old-state repository still holds main's tip"
	fi
	git clone -q --no-checkout --no-local "$CACHE/old.git" "$CLIENT_OLD"
	rm -rf "$CACHE/old.git"
	git -C "$CLIENT_OLD" config gc.auto 0
	git -C "$CLIENT_OLD" config maintenance.auto false
	git -C "$CLIENT_OLD" config fetch.writeCommitGraph false
	[ "$(git -C "$CLIENT_OLD" rev-parse refs/remotes/origin/main)" = "$OLD" ] ||
		die "the fetch client is not at main~$KEEP"
	echo "$STAMP" >"$CACHE/stamp"
	say "repository ready in $((SECONDS - t0)) s"
fi

TIP=$(git -C "$SRC" rev-parse refs/heads/main)
OLD=$(git -C "$CLIENT_OLD" rev-parse refs/remotes/origin/main)
NFILES=$(git -C "$SRC" ls-tree -r --name-only "$TIP" | wc -l)
NDIRS=$(git -C "$SRC" ls-tree -r -d --name-only "$TIP" | wc -l)
TREE_MB=$(git -C "$SRC" ls-tree -r -l "$TIP" | awk '{ s += $4 } END { printf "%.1f", s / 1048576 }')
NMAIN=$(git -C "$SRC" rev-list --count "$TIP")
NALL=$(git -C "$SRC" rev-list --count --all)
NBRANCH=$(git -C "$SRC" for-each-ref refs/heads | wc -l)
NTAGS=$(git -C "$SRC" for-each-ref refs/tags | wc -l)
NOBJ=$(git -C "$SRC" count-objects -v | awk '/^in-pack:/ { print $2 }')
PACK_MB=$(git -C "$SRC" count-objects -v | awk '/^size-pack:/ { printf "%.1f", $2 / 1024 }')
BITMAP=$(find "$SRC/objects/pack" -name '*.bitmap' | grep -q . && echo "with" || echo "without")
NFETCH=$(git -C "$SRC" rev-list --count "$OLD..$TIP")
NFETCH_OBJ=$(git -C "$SRC" rev-list --objects "$TIP" --not "$OLD" | wc -l)
SHAPE="$NFILES files in $NDIRS folders ($TREE_MB MiB at main's tip), $NMAIN commits on main ($NALL in all), $NBRANCH branches, $NTAGS annotated tags, $NOBJ objects, one $PACK_MB MiB pack $BITMAP a bitmap index"
say "repository: $SHAPE"
say "fetch case: $NFETCH commits, $NFETCH_OBJ objects, main ${OLD:0:12} -> ${TIP:0:12}"

# --- 2. the servers ----------------------------------------------------------

declare -A URL GITC OK WHY
SERVERS="augerd gd hb"
for s in $SERVERS; do OK[$s]=1 WHY[$s]=""; done
fail_server() { # server reason
	OK[$1]=0
	WHY[$1]="${WHY[$1]:+${WHY[$1]}; }$2"
	say "$(name_of "$1"): $2"
}
name_of() { case $1 in augerd) echo augerd ;; gd) echo "git daemon" ;; hb) echo "git http-backend" ;; esac; }

mkdir -p "$RUN/srv/gd" "$RUN/srv/hb" "$RUN/augerd/repos"
cp -a "$SRC" "$RUN/srv/gd/bench.git"
cp -a "$SRC" "$RUN/srv/hb/bench.git"
cp -a "$SRC" "$RUN/augerd/repos/bench.git"
# augerd keeps its repositories maintained itself (it repacks after pushes
# past its thresholds); a repository copied in from outside gets the same
# by `augerd maintain`, as an operator would run it. BENCH_AUGERD_MAINTAIN=0
# serves git's own pack as it is.
if [ "${BENCH_AUGERD_MAINTAIN:-1}" = 1 ] && [ -x "$AUGERD" ]; then
	"$AUGERD" maintain --data "$RUN/augerd" >>"$LOGS/augerd-maintain.log" 2>&1 ||
		echo "clone.sh: augerd maintain failed (see $LOGS/augerd-maintain.log)" >&2
fi

# 2a. git daemon
start_gd() {
	local try port i
	for try in 1 2 3 4 5; do
		port=$(pick_port) || die "no free loopback port found"
		git daemon --export-all --base-path="$RUN/srv/gd" --reuseaddr --informative-errors \
			--listen=127.0.0.1 --port="$port" >>"$LOGS/git-daemon.log" 2>&1 &
		GD_PID=$!
		for i in $(seq 50); do
			alive "$GD_PID" || break
			if timeout 5 git ls-remote "git://127.0.0.1:$port/bench.git" refs/heads/main \
				>/dev/null 2>&1; then
				URL[gd]="git://127.0.0.1:$port/bench.git"
				GITC[gd]=""
				return 0
			fi
			sleep 0.1
		done
		stop_pid "$GD_PID"
		GD_PID=""
		say "git daemon did not come up on port $port (attempt $try), retrying"
	done
	return 1
}
start_gd || fail_server gd "did not start (see $LOGS/git-daemon.log)"

# 2b. git http-backend behind lighttpd + fcgiwrap (as in http.sh)
FCGI_SOCK="$SOCKDIR/fcgiwrap.sock"
env -i PATH=/usr/bin:/bin HOME="$HOME" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null \
	"$FCGIWRAP" -c "$FCGI_CHILDREN" -s "unix:$FCGI_SOCK" -p "$GIT_HTTP_BACKEND" \
	>"$LOGS/fcgiwrap.log" 2>&1 &
FCGI_PID=$!
for _ in $(seq 50); do
	[ -S "$FCGI_SOCK" ] && break
	kill -0 "$FCGI_PID" 2>/dev/null || die "fcgiwrap exited (see $LOGS/fcgiwrap.log)"
	sleep 0.1
done
[ -S "$FCGI_SOCK" ] || die "fcgiwrap did not create $FCGI_SOCK"

write_lighttpd_conf() { # port
	cat >"$RUN/lighttpd.conf" <<EOF
server.modules = ( "mod_alias", "mod_setenv", "mod_fastcgi" )
server.bind = "127.0.0.1"
server.port = $1
server.document-root = "$RUN/srv/hb"
server.errorlog = "$LOGS/lighttpd-error.log"
server.max-connections = 1024
server.max-fds = 4096
# /bench.git/info/refs -> SCRIPT_FILENAME=git-http-backend, PATH_INFO=/bench.git/info/refs;
# the Git-Protocol header reaches it as HTTP_GIT_PROTOCOL (protocol v2)
alias.url = ( "/" => "$GIT_HTTP_BACKEND/" )
setenv.add-environment = ( "GIT_PROJECT_ROOT" => "$RUN/srv/hb", "GIT_HTTP_EXPORT_ALL" => "1" )
fastcgi.server = ( "" => (( "socket" => "$FCGI_SOCK" )) )
EOF
}

start_lighttpd() {
	local try port i
	for try in 1 2 3 4 5; do
		port=$(pick_port) || die "no free loopback port found"
		write_lighttpd_conf "$port"
		"$LIGHTTPD" -tt -f "$RUN/lighttpd.conf" >"$LOGS/lighttpd.log" 2>&1 ||
			die "lighttpd rejected its configuration (see $LOGS/lighttpd.log)"
		"$LIGHTTPD" -D -f "$RUN/lighttpd.conf" >>"$LOGS/lighttpd.log" 2>&1 &
		LIGHTTPD_PID=$!
		for i in $(seq 50); do
			alive "$LIGHTTPD_PID" || break
			if timeout 5 git ls-remote "http://127.0.0.1:$port/bench.git" refs/heads/main \
				>/dev/null 2>&1; then
				URL[hb]="http://127.0.0.1:$port/bench.git"
				GITC[hb]=""
				return 0
			fi
			sleep 0.1
		done
		stop_pid "$LIGHTTPD_PID"
		LIGHTTPD_PID=""
		say "lighttpd did not come up on port $port (attempt $try), retrying"
	done
	return 1
}
start_lighttpd || fail_server hb "did not start (see $LOGS/lighttpd.log, $LOGS/lighttpd-error.log, $LOGS/fcgiwrap.log)"

# 2c. augerd, run by a supervisor (a child of this script, so that every augerd
# it ends is reaped): a line written to its FIFO makes it stop augerd and start
# a fresh one on the same port, and it answers "ok" once that one answers HTTP.
# AUGERD_RESTART is the client side, which hyperfine's --prepare runs too.
AUGERD_SUPER="$RUN/augerd-supervisor.sh"
AUGERD_RESTART="$RUN/augerd-restart.sh"
setup_augerd() {
	[ -x "$AUGERD" ] || { fail_server augerd "no executable at $AUGERD (run make)"; return 1; }
	local data="$RUN/augerd" port token
	token="bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
	(umask 077 && echo "$token" >"$data/admin.token")
	port=$(pick_port) || die "no free loopback port found"
	mkfifo "$SOCKDIR/restart" "$SOCKDIR/ack"
	cat >"$AUGERD_SUPER" <<EOF
#!/usr/bin/env bash
set -u
alive() { local st; st=\$(ps -o stat= -p "\$1" 2>/dev/null) || return 1; case \$st in Z*) return 1 ;; esac; [ -n "\$st" ]; }
pid=""
stop() {
	[ -n "\$pid" ] || return 0
	kill -TERM "\$pid" 2>/dev/null
	for i in \$(seq 400); do alive "\$pid" || break; sleep 0.025; done
	alive "\$pid" && kill -KILL "\$pid" 2>/dev/null
	wait "\$pid" 2>/dev/null
	pid=""
	: >"$AUGERD_PIDFILE"
}
start() {
	rm -f "$data/http.addr"
	"$AUGERD" --data "$data" --http 127.0.0.1:$port --ssh off --shutdown-grace 1 \\
		</dev/null >>"$LOGS/augerd.log" 2>&1 &
	pid=\$!
	echo "\$pid" >"$AUGERD_PIDFILE"
	for i in \$(seq 400); do
		if [ -s "$data/http.addr" ] &&
			curl -s --noproxy '*' --max-time 2 -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; then
			return 0
		fi
		alive "\$pid" || { echo "augerd exited during startup" >&2; return 1; }
		sleep 0.025
	done
	echo "augerd did not answer on 127.0.0.1:$port within 10 s" >&2
	return 1
}
trap 'stop; exit 0' TERM INT
while :; do
	read -r _ <"$SOCKDIR/restart" || continue
	stop
	if start; then echo ok >"$SOCKDIR/ack"; else echo fail >"$SOCKDIR/ack"; fi
done
EOF
	cat >"$AUGERD_RESTART" <<EOF
#!/usr/bin/env bash
# ask the supervisor for a fresh augerd and wait until it answers (at most 30 s)
exec timeout 30 bash -c 'echo restart >"$SOCKDIR/restart" && read -r r <"$SOCKDIR/ack" && [ "\$r" = ok ]'
EOF
	chmod +x "$AUGERD_SUPER" "$AUGERD_RESTART"
	bash "$AUGERD_SUPER" 2>>"$LOGS/augerd.log" &
	SUPER_PID=$!
	local t0 t1
	t0=$(now_s)
	if ! "$AUGERD_RESTART"; then
		fail_server augerd "did not start (see $LOGS/augerd.log)"
		return 1
	fi
	t1=$(now_s)
	AUGERD_START_MS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
	URL[augerd]="http://127.0.0.1:$port/bench.git"
	GITC[augerd]="-c http.extraHeader='Authorization: Bearer $token'"
	say "augerd on ${URL[augerd]} (started in $AUGERD_START_MS ms)"
}
AUGERD_START_MS="-"
setup_augerd || true

# 2d. every server speaks protocol v2 here and advertises main at TIP
for s in $SERVERS; do
	[ "${OK[$s]}" = 1 ] || continue
	if ! eval "GIT_TRACE_PACKET='$RUN/trace-$s' timeout 20 git -c protocol.version=2 ${GITC[$s]} \
		ls-remote '${URL[$s]}' refs/heads/main" >"$RUN/ls-$s" 2>>"$LOGS/ls-remote-$s.log"; then
		fail_server "$s" "git ls-remote ${URL[$s]} failed (see $LOGS/ls-remote-$s.log)"
		continue
	fi
	cp "$RUN/trace-$s" "$LOGS/ls-remote-$s.trace" 2>/dev/null || true
	grep -q '< version 2' "$RUN/trace-$s" ||
		{ fail_server "$s" "does not answer with protocol v2 (see $LOGS/ls-remote-$s.trace)"; continue; }
	grep -q "^$TIP	refs/heads/main$" "$RUN/ls-$s" ||
		fail_server "$s" "does not advertise main=$TIP"
done
[ "${OK[gd]}" = 1 ] || die "git daemon is not usable: ${WHY[gd]}"
[ "${OK[hb]}" = 1 ] || die "git http-backend is not usable: ${WHY[hb]}"

# --- 3. the cases ------------------------------------------------------------

W="$RUN/work"
prep_of() { # case server: the shell command run before each timed run
	local c=$1 s=$2 p
	case $c in
	full | depth1) p="rm -rf '$W/$c-$s'" ;;
	fetch) p="rm -rf '$W/$c-$s' && cp -a '$CLIENT_OLD' '$W/$c-$s' && git -C '$W/$c-$s' remote set-url origin '${URL[$s]}'" ;;
	esac
	[ "$s" = augerd ] && [ "$WARM" != 1 ] && p="$p && '$AUGERD_RESTART'"
	echo "$p"
}
cmd_of() { # case server: the timed shell command
	local c=$1 s=$2 g
	g="git -c protocol.version=2 ${GITC[$2]}"
	case $c in
	full) echo "timeout $TIMEOUT_FULL $g clone -q --no-checkout '${URL[$s]}' '$W/$c-$s'" ;;
	depth1) echo "timeout $TIMEOUT_SMALL $g clone -q --no-checkout --depth 1 '${URL[$s]}' '$W/$c-$s'" ;;
	fetch) echo "timeout $TIMEOUT_SMALL $g -C '$W/$c-$s' fetch -q origin" ;;
	esac
}
check_result() { # case server: is W/case-server what the case should give?
	local c=$1 s=$2 d="$W/$1-$2" got
	got=$(git -C "$d" rev-parse -q --verify refs/remotes/origin/main 2>/dev/null) || {
		echo "no refs/remotes/origin/main in the result"
		return 1
	}
	[ "$got" = "$TIP" ] || { echo "origin/main is $got, want $TIP"; return 1; }
	case $c in
	full | fetch)
		got=$(git -C "$d" rev-list --count --all)
		[ "$got" = "$NALL" ] || { echo "$got commits, want $NALL"; return 1; }
		got=$(git -C "$d" for-each-ref refs/remotes/origin | grep -cv 'refs/remotes/origin/HEAD$' || true)
		[ "$got" = "$NBRANCH" ] || { echo "$got remote branches, want $NBRANCH"; return 1; }
		got=$(git -C "$d" for-each-ref refs/tags | wc -l)
		[ "$got" = "$NTAGS" ] || { echo "$got tags, want $NTAGS"; return 1; }
		[ ! -f "$d/.git/shallow" ] || { echo "result is shallow"; return 1; }
		;;
	depth1)
		[ -s "$d/.git/shallow" ] || { echo "result is not shallow"; return 1; }
		got=$(git -C "$d" rev-list --count --all)
		[ "$got" = 1 ] || { echo "$got commits, want 1"; return 1; }
		;;
	esac
	return 0
}

run_logged() { # log shell-command: runs it with bash, output to log
	local log=$1
	shift
	printf '$ %s\n' "$*" >>"$log"
	bash -c "$*" >>"$log" 2>&1
}

declare -A R SPREAD
for c in $CASES; do
	runs=$RUNS
	[ "$c" = full ] && runs=$RUNS_FULL
	say "case $c: a checked warm-up, then $runs timed runs per server ($TIMER)"
	active=""
	for s in $SERVERS; do
		R[$c,$s]="-" SPREAD[$c,$s]=""
		[ "${OK[$s]}" = 1 ] || { R[$c,$s]="FAIL"; continue; }
		log="$LOGS/$c-$s.log"
		t0=$(now_s)
		if ! run_logged "$log" "$(prep_of "$c" "$s")"; then
			fail_server "$s" "$c: preparing the run failed (see $log)"
			R[$c,$s]="FAIL"
			continue
		fi
		t1=$(now_s)
		if ! run_logged "$log" "$(cmd_of "$c" "$s")"; then
			R[$c,$s]="FAIL"
			[ "$s" = augerd ] || OK[$s]=0
			WHY[$s]="${WHY[$s]:+${WHY[$s]}; }$c failed: $(grep -av '^\$ ' "$log" | tail -n 2 | tr '\n' ' ' | tr -cd '[:print:]')"
			say "$(name_of "$s"): $c failed (see $log)"
			continue
		fi
		t2=$(now_s)
		if ! why=$(check_result "$c" "$s"); then
			R[$c,$s]="FAIL"
			[ "$s" = augerd ] || OK[$s]=0
			WHY[$s]="${WHY[$s]:+${WHY[$s]}; }$c gave a wrong result: $why"
			say "$(name_of "$s"): $c gave a wrong result: $why"
			continue
		fi
		say "  warm-up $(name_of "$s"): $(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.2f", b - a }') s (prepare $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s)"
		active="$active $s"
		: >"$RUN/$c-$s.times"
	done

	if [ "$TIMER" = hyperfine ]; then
		for s in $active; do
			log="$LOGS/$c-$s.log"
			if ! hyperfine --runs "$runs" --style basic -n "$(name_of "$s")" \
				--prepare "$(prep_of "$c" "$s")" --export-json "$RUN/$c-$s.json" \
				"$(cmd_of "$c" "$s")" >>"$LOGS/hyperfine-$c.txt" 2>&1; then
				R[$c,$s]="FAIL"
				WHY[$s]="${WHY[$s]:+${WHY[$s]}; }$c: a timed run failed (see $LOGS/hyperfine-$c.txt)"
				say "$(name_of "$s"): a timed $c run failed (see $LOGS/hyperfine-$c.txt)"
				continue
			fi
			jq -r '.results[0].times[]' "$RUN/$c-$s.json" >"$RUN/$c-$s.times"
		done
	else
		for i in $(seq "$runs"); do
			# rotate which server goes first, so drift on the machine hits all alike
			# shellcheck disable=SC2086 # a list of names
			set -- $active
			k=$(((i - 1) % ($# > 0 ? $# : 1)))
			order="${*:k+1} ${*:1:k}"
			for s in $order; do
				[ "${R[$c,$s]}" = FAIL ] && continue
				log="$LOGS/$c-$s.log"
				if ! run_logged "$log" "$(prep_of "$c" "$s")"; then
					R[$c,$s]="FAIL"
					WHY[$s]="${WHY[$s]:+${WHY[$s]}; }$c: preparing run $i failed"
					continue
				fi
				cmd=$(cmd_of "$c" "$s")
				t1=$(now_s)
				if ! bash -c "$cmd" >>"$log" 2>&1; then
					R[$c,$s]="FAIL"
					WHY[$s]="${WHY[$s]:+${WHY[$s]}; }$c: timed run $i failed (see $log)"
					continue
				fi
				t2=$(now_s)
				awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.6f\n", b - a }' >>"$RUN/$c-$s.times"
			done
		done
	fi

	for s in $active; do
		[ "${R[$c,$s]}" = FAIL ] && continue
		# the last timed run's result must be right too
		if ! why=$(check_result "$c" "$s"); then
			R[$c,$s]="FAIL"
			WHY[$s]="${WHY[$s]:+${WHY[$s]}; }$c: the last timed run gave a wrong result: $why"
			continue
		fi
		read -r med mean sd min max n < <(stats "$RUN/$c-$s.times")
		if [ "$n" = 0 ]; then R[$c,$s]="FAIL"; continue; fi
		R[$c,$s]=$med
		SPREAD[$c,$s]="$(fmt_s "$med") | $(fmt_s "$mean") ± $(fmt_s "$sd") | $(fmt_s "$min") | $(fmt_s "$max") | $n"
		cp "$RUN/$c-$s.times" "$LOGS/$c-$s.times"
		say "  $(name_of "$s"): median $(fmt_s "$med") s (min $(fmt_s "$min"), max $(fmt_s "$max"), n=$n)"
		rm -rf "${W:?}/$c-$s"
	done
	for s in gd hb; do [ "${R[$c,$s]}" = FAIL ] && OK[$s]=0; done
done

# --- 4. the table ----------------------------------------------------------------

case_name() {
	case $1 in
	full) echo "full clone (--no-checkout)" ;;
	depth1) echo "depth-1 clone (--depth 1 --no-checkout)" ;;
	fetch) echo "incremental fetch ($NFETCH commits)" ;;
	esac
}
goal_of() { case $1 in full) echo 1.5 ;; *) echo 1.2 ;; esac; }

render() { # align: one L or R per column; rows on stdin, "|"-separated, the
	# first row the head; prints an aligned markdown table (widths counted in
	# characters: UTF-8 continuation bytes do not count)
	awk -F'|' -v align="$1" '
		function width(s,    t) { t = s; return length(s) - gsub(/[\200-\277]/, "", t) }
		function pad(s, n, right,    f) { f = ""; while (width(s) + length(f) < n) f = f " "
			return right ? f s : s f }
		{ for (i = 1; i <= NF; i++) { gsub(/^ +| +$/, "", $i); c[NR, i] = $i
			l = width($i); if (l > w[i]) w[i] = l }; if (NF > nf) nf = NF }
		function line(r,    i, out) {
			out = "|"
			for (i = 1; i <= nf; i++) out = out " " pad(c[r, i], w[i], substr(align, i, 1) == "R") " |"
			print out
		}
		END {
			line(1)
			out = "|"
			for (i = 1; i <= nf; i++) {
				r = substr(align, i, 1) == "R"
				d = ""; while (length(d) < w[i] - r) d = d "-"
				out = out " " d (r ? ":" : "") " |"
			}
			print out
			for (r = 2; r <= NR; r++) line(r)
		}'
}

ALL_MEASURED=1
{
	echo "case|auger (s)|git daemon (s)|http-backend (s)|auger/daemon|auger/http-backend|goal|met?"
	for c in $CASES; do
		a=${R[$c,augerd]} d=${R[$c,gd]} h=${R[$c,hb]} g=$(goal_of "$c")
		for v in "$a" "$d" "$h"; do [[ $v =~ ^[0-9.]+$ ]] || ALL_MEASURED=0; done
		rd=$(fmt_ratio "$a" "$d") rh=$(fmt_ratio "$a" "$h") met="-"
		if [ "$rd" != - ] && [ "$rh" != - ]; then
			md=0 mh=0
			le "$(awk -v a="$a" -v b="$d" 'BEGIN { print a / b }')" "$g" && md=1
			le "$(awk -v a="$a" -v b="$h" 'BEGIN { print a / b }')" "$g" && mh=1
			case $md$mh in 11) met=yes ;; 00) met=no ;; 10) met="vs daemon only" ;; 01) met="vs http-backend only" ;; esac
		fi
		echo "$(case_name "$c")|$(fmt_s "$a")|$(fmt_s "$d")|$(fmt_s "$h")|$rd|$rh|≤ ${g}×|$met"
	done
} >"$RUN/table"
echo "$ALL_MEASURED" >"$RUN/all-measured"

{
	echo "server|case|median (s)|mean ± sd (s)|min (s)|max (s)|runs"
	for s in $SERVERS; do
		for c in $CASES; do
			[ -n "${SPREAD[$c,$s]}" ] && echo "$(name_of "$s")|$c|${SPREAD[$c,$s]}"
		done
	done
} >"$RUN/spread"

ELAPSED=$((SECONDS - START))
QUICK_NOTE=""
[ "$QUICK" = 1 ] && QUICK_NOTE=", BENCH_QUICK=1 (smoke run)"
RESTART_NOTE="augerd restarted before every timed run (outside the timing; startup ${AUGERD_START_MS} ms), so no run is a fetch-cache hit"
[ "$WARM" = 1 ] && RESTART_NOTE="one augerd process for all runs (BENCH_AUGERD_WARM=1): runs after the first may be fetch-cache hits"
{
	echo "# auger clone benchmark"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $NCPU CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)), $(git --version), $("$LIGHTTPD" -v 2>/dev/null | head -n 1 | awk '{ print $1 }'), fcgiwrap -c $FCGI_CHILDREN, load average at start $LOAD_AT_START$QUICK_NOTE; the whole run took ${ELAPSED} s."
	echo
	echo "Repository: $SHAPE; generated by scripts/bench/gen-clone-repo.awk (git fast-import), then \`git pack-refs --all\` and \`git repack -adf --write-bitmap-index\`. Each server serves a \`cp -a\` of it on 127.0.0.1."
	echo
	echo "Clients: git -c protocol.version=2 (all three servers answered with v2), wall time of \`git clone -q --no-checkout [--depth 1] URL\` (every branch and tag for the full clone; main only at depth 1), and of \`git fetch -q origin\` in a fresh \`cp -a\` of a client cloned at main~$NFETCH ($NFETCH commits, $NFETCH_OBJ objects to fetch). One checked warm-up, then $RUNS_FULL timed runs (full) / $RUNS (others) per server with $([ "$TIMER" = hyperfine ] && echo "hyperfine $(hyperfine --version | awk '{ print $2 }')" || echo "a loop over \$EPOCHREALTIME, servers alternating"); medians. $RESTART_NOTE."
	echo
	echo "augerd: ${AUGERD#"$ROOT"/}; git daemon: --export-all --reuseaddr; git http-backend: $GIT_HTTP_BACKEND via fcgiwrap behind lighttpd."
	echo
	render LRRRRRRL <"$RUN/table"
	echo
	echo "Spread per server:"
	echo
	render LLRRRRR <"$RUN/spread"
	for s in $SERVERS; do
		[ -n "${WHY[$s]}" ] && { echo; echo "$(name_of "$s"): ${WHY[$s]}"; }
	done
	echo
	echo "Logs: build/bench/logs/clone/"
} >"$RESULTS"

echo
cat "$RESULTS"
say "done in ${ELAPSED} s"

for c in $CASES; do
	for s in gd hb; do [[ ${R[$c,$s]} =~ ^[0-9.]+$ ]] || exit 2; done
done
[ "$ALL_MEASURED" = 1 ] || exit 1
exit 0
