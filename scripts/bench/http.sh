#!/usr/bin/env bash
# HTTP benchmark: augerd against the usual git smart-HTTP setup
# (git http-backend behind lighttpd + fcgiwrap) and against a ceiling (the same
# lighttpd serving the ref advertisement bytes as a static file).
#
#   make bench                      # or: bash scripts/bench/http.sh
#   BENCH_QUICK=1 bash scripts/bench/http.sh    # smoke run (2 s wrk, 5 clones)
#
# Environment:
#   AUGERD=path          augerd binary (default bin/augerd); AUGERD=none skips it
#   BENCH_QUICK=1        short run: 2 s per wrk target, 5 depth-1 and 2 full clones
#   BENCH_WRK_SECONDS, BENCH_WRK_CONNS (64), BENCH_WRK_THREADS (2),
#   BENCH_CLONES (depth-1 clones per server), BENCH_FULL_CLONES,
#   BENCH_FCGI_CHILDREN  fcgiwrap processes (default: number of CPUs, at least 2)
#   BENCH_BUDGET         seconds after start at which the clone loops stop (270)
#   BENCH_KEEP=1         keep the run directory (build/bench/run.*) for inspection
#
# Output: the table on stdout and in build/bench/http-results.md; logs of every
# server in build/bench/logs/http/. Exit status: 0 when every column was measured,
# 1 when augerd failed (the baseline numbers are still printed), 2 when the
# baseline itself could not be set up. Only 127.0.0.1 is ever contacted.

# shellcheck disable=SC2317 # cleanup functions are reached through the trap
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/scripts/bench"
OUT="$ROOT/build/bench"
LOGS="$OUT/logs/http" # other benchmarks share build/bench/logs
RESULTS="$OUT/http-results.md"

AUGERD=${AUGERD:-$ROOT/bin/augerd}
QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
	WRK_SECONDS=${BENCH_WRK_SECONDS:-2}
	CLONES=${BENCH_CLONES:-5}
	FULL_CLONES=${BENCH_FULL_CLONES:-2}
else
	WRK_SECONDS=${BENCH_WRK_SECONDS:-10}
	CLONES=${BENCH_CLONES:-30}
	FULL_CLONES=${BENCH_FULL_CLONES:-5}
fi
WRK_CONNS=${BENCH_WRK_CONNS:-64}
WRK_THREADS=${BENCH_WRK_THREADS:-2}
BUDGET=${BENCH_BUDGET:-270} # seconds since start; the clone loops stop there
NCPU=$(nproc 2>/dev/null || echo 2)
FCGI_CHILDREN=${BENCH_FCGI_CHILDREN:-$((NCPU < 2 ? 2 : NCPU))}

APPS=300
COMMITS=1000
GEN_VERSION=1 # bump when gen-repo.awk changes
REPO_CACHE="$OUT/repo"
SRC="$REPO_CACHE/bench.git"
CLONE_TIMEOUT=60
PUSH_TIMEOUT=180

say() { printf '%s\n' "bench: $*" >&2; }
die() {
	say "error: $*"
	exit 2
}

# --- tools -------------------------------------------------------------------

GIT_HTTP_BACKEND="$(git --exec-path 2>/dev/null)/git-http-backend"
FCGIWRAP=$(command -v fcgiwrap || echo /usr/sbin/fcgiwrap)
LIGHTTPD=$(command -v lighttpd || echo /usr/sbin/lighttpd)
for t in git wrk curl awk timeout sort; do
	command -v "$t" >/dev/null || die "$t not found (sh scripts/deps.sh --bench)"
done
[ -x "$LIGHTTPD" ] || die "lighttpd not found (sh scripts/deps.sh --bench)"
[ -x "$FCGIWRAP" ] || die "fcgiwrap not found (sh scripts/deps.sh --bench)"
[ -x "$GIT_HTTP_BACKEND" ] || die "git-http-backend not found at $GIT_HTTP_BACKEND"
[ -n "${EPOCHREALTIME:-}" ] || die "bash >= 5 needed (EPOCHREALTIME)"

# --- isolation: no user/system git config, no proxies, loopback only ---------

mkdir -p "$OUT" "$LOGS"
rm -f "$LOGS"/*
RUN=$(mktemp -d "$OUT/run.XXXXXX")
SOCKDIR=$(mktemp -d /tmp/auger-bench.XXXXXX) # unix socket paths must stay short
mkdir -p "$RUN/home"
export HOME="$RUN/home" XDG_CONFIG_HOME="$RUN/home/.config"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_TERMINAL_PROMPT=0
export GIT_ASKPASS=/bin/false SSH_ASKPASS=/bin/false
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY GIT_PROXY_COMMAND
export no_proxy=127.0.0.1 NO_PROXY=127.0.0.1
CURL=(curl -sS --noproxy '*' --max-time 20)

# --- cleanup -----------------------------------------------------------------

AUGERD_PID=""
LIGHTTPD_PID=""
FCGI_PID=""

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

stop_fcgiwrap() {
	# fcgiwrap -c N leaves its preforked children running when the parent
	# gets SIGTERM, and respawns any child that dies while it lives. So:
	# freeze the parent, list its children, end the parent (the pending
	# SIGTERM kills it as soon as it is continued, before it can fork), then
	# end the children.
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
	[ -n "$AUGERD_PID" ] && stop_pid "$AUGERD_PID"
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

now_us() { local t=${EPOCHREALTIME/[.,]/}; echo "$((10#$t))"; }

# pick_port: a loopback port that nothing answers on (the server that binds it
# still checks: start_lighttpd retries with another port if the bind fails).
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

wait_http() { # url [curl args...]: wait up to ~10 s for an HTTP answer
	local url=$1 i
	shift
	for i in $(seq 100); do
		if "${CURL[@]}" -o /dev/null --max-time 2 "$@" "$url" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# percentile P file: nearest-rank percentile of the numbers in file
percentile() {
	sort -n "$2" | awk -v p="$1" '{ v[NR] = $1 } END {
		if (NR == 0) { print "-"; exit }
		r = int(p / 100 * NR); if (r < p / 100 * NR) r++; if (r < 1) r = 1
		printf "%.1f\n", v[r] }'
}

# wrk_run name url [wrk args...]: writes LOGS/wrk-name.txt, sets WRK_RPS,
# WRK_P50, WRK_P99 (ms) and WRK_NOTE (errors, non-2xx)
wrk_run() {
	local name=$1 url=$2 f="$LOGS/wrk-$1.txt"
	shift 2
	WRK_RPS="FAIL" WRK_P50="-" WRK_P99="-" WRK_NOTE=""
	say "wrk $name: $WRK_THREADS threads, $WRK_CONNS connections, ${WRK_SECONDS}s"
	if ! timeout $((WRK_SECONDS + 30)) wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${WRK_SECONDS}s" \
		--timeout 10s --latency "$@" "$url" >"$f" 2>&1; then
		WRK_NOTE="wrk failed (see $f)"
		return 1
	fi
	local ms='function ms(s) { if (s ~ /us$/) return s / 1000; if (s ~ /ms$/) return s + 0;
		if (s ~ /m$/) return s * 60000; if (s ~ /s$/) return s * 1000; return s }'
	WRK_RPS=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$f")
	WRK_P50=$(awk "$ms"' $1 == "50%" { printf "%.2f", ms($2) }' "$f")
	WRK_P99=$(awk "$ms"' $1 == "99%" { printf "%.2f", ms($2) }' "$f")
	local total non2xx errs
	total=$(awk '/requests in/ { print $1 }' "$f")
	non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$f")
	errs=$(awk -F'Socket errors: ' 'NF > 1 { print $2 }' "$f")
	[ -n "$WRK_RPS" ] || WRK_RPS="FAIL"
	if [ -n "$non2xx" ]; then
		WRK_NOTE="$non2xx of $total responses were not 2xx"
		[ "$non2xx" = "$total" ] && WRK_RPS="FAIL"
	fi
	[ -n "$errs" ] && WRK_NOTE="${WRK_NOTE:+$WRK_NOTE; }socket errors: $errs"
	return 0
}

# clone_once kind name url dir [git -c args...]: one timed clone into dir;
# prints the wall time in ms, or fails. kind: depth1 | full
clone_once() {
	local kind=$1 name=$2 url=$3 dir=$4 t0 t1 rc=0
	shift 4
	local args=(clone -q --no-tags --single-branch -b main)
	[ "$kind" = depth1 ] && args+=(--depth 1)
	rm -rf "$dir"
	t0=$(now_us)
	timeout "$CLONE_TIMEOUT" git -c protocol.version=0 "$@" "${args[@]}" "$url" "$dir" \
		>>"$LOGS/clone-$name.log" 2>&1 || rc=$?
	t1=$(now_us)
	if [ "$rc" -ne 0 ]; then
		echo "$kind clone of $url failed with status $rc" >>"$LOGS/clone-$name.log"
		return 1
	fi
	# correctness, outside the timed window
	local head count
	head=$(git -C "$dir" rev-parse HEAD 2>/dev/null || echo none)
	if [ "$head" != "$TIP" ]; then
		echo "$kind clone of $url: HEAD is $head, want $TIP" >>"$LOGS/clone-$name.log"
		return 1
	fi
	if [ "$kind" = full ]; then
		count=$(git -C "$dir" rev-list --count HEAD 2>/dev/null || echo 0)
		if [ "$count" != "$COMMITS" ]; then
			echo "full clone of $url: $count commits, want $COMMITS" >>"$LOGS/clone-$name.log"
			return 1
		fi
	elif [ "$(git -C "$dir" rev-list --count HEAD 2>/dev/null)" != 1 ]; then
		echo "depth-1 clone of $url is not shallow" >>"$LOGS/clone-$name.log"
		return 1
	fi
	rm -rf "$dir"
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", (b - a) / 1000 }'
}

# adv_ok file: a complete v0 upload-pack advertisement (well-formed pkt-lines,
# service line, flush, main at TIP, final flush)
adv_ok() {
	local f=$1 hex total pos=0 h s c i len
	[ "$(head -c 34 "$f" | od -An -c | tr -d ' \n')" = '001e#service=git-upload-pack\n0000' ] || return 1
	[ "$(tail -c 4 "$f")" = 0000 ] || return 1
	grep -aq "$TIP refs/heads/main" "$f" || return 1
	hex=$(od -An -v -tx1 "$f" | tr -d ' \n')
	total=$((${#hex} / 2))
	while [ "$pos" -lt "$total" ]; do
		h=${hex:$((pos * 2)):8} s=""
		for i in 0 2 4 6; do printf -v c %b "\\x${h:$i:2}"; s+=$c; done
		[[ $s =~ ^[0-9a-f]{4}$ ]] || return 1
		len=$((16#$s))
		if [ "$len" -eq 0 ]; then
			pos=$((pos + 4))
		elif [ "$len" -ge 5 ]; then
			pos=$((pos + len))
		else
			return 1
		fi
	done
	[ "$pos" -eq "$total" ]
}

adv_head() { head -c 16 "$1" | od -An -c | tr -s ' ' | head -n 1; }

fmt_ratio() { # a b: a/b as "12.3x", or "-"
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b + 0 == 0) { print "-"; exit }
		r = a / b
		if (r >= 100) printf "%.0fx\n", r; else if (r >= 10) printf "%.1fx\n", r;
		else if (r >= 0.1) printf "%.2fx\n", r; else printf "%.2gx\n", r }'
}

LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)

# --- 1. the repository (cached) ----------------------------------------------

STAMP="gen=$GEN_VERSION apps=$APPS commits=$COMMITS awk=$(cksum <"$HERE/gen-repo.awk" | awk '{ print $1 }')"
if [ -f "$REPO_CACHE/stamp" ] && [ "$(cat "$REPO_CACHE/stamp")" = "$STAMP" ] &&
	git -C "$SRC" rev-parse -q --verify refs/heads/main >/dev/null 2>&1; then
	say "using cached repository $SRC"
else
	say "generating $APPS apps x 4 manifests, $COMMITS commits (git fast-import)"
	rm -rf "$REPO_CACHE"
	mkdir -p "$REPO_CACHE"
	git init -q --bare "$SRC"
	git -C "$SRC" symbolic-ref HEAD refs/heads/main
	git -C "$SRC" config gc.auto 0
	# glibc malloc trims the heap on every free in fast-import's pattern here:
	# a large top pad takes generation from ~9 s to <1 s.
	awk -v APPS="$APPS" -v COMMITS="$COMMITS" -f "$HERE/gen-repo.awk" |
		MALLOC_TOP_PAD_=67108864 MALLOC_TRIM_THRESHOLD_=134217728 \
			git -C "$SRC" fast-import --quiet
	# one pack, deltas recomputed, as a maintained server repo would have
	git -C "$SRC" repack -adfq
	[ "$(git -C "$SRC" rev-list --count refs/heads/main)" = "$COMMITS" ] ||
		die "generated repository does not have $COMMITS commits"
	echo "$STAMP" >"$REPO_CACHE/stamp"
fi
TIP=$(git -C "$SRC" rev-parse refs/heads/main)
NFILES=$(git -C "$SRC" ls-tree -r --name-only "$TIP" | wc -l)
PACK_KB=$(git -C "$SRC" count-objects -v | awk '/^size-pack:/ { print $2 }')
NOBJ=$(git -C "$SRC" count-objects -v | awk '/^in-pack:/ { print $2 }')
say "repository: $COMMITS commits, $NFILES files, $NOBJ objects, ${PACK_KB} KiB pack, main=$TIP"

# --- 2b/2c. git http-backend behind lighttpd + fcgiwrap, and the static file --

HB_ROOT="$RUN/hb"
mkdir -p "$HB_ROOT" "$RUN/www/static/bench.git/info"
cp -a "$SRC" "$HB_ROOT/bench.git" # upload-pack may write temp files; keep the cache pristine
FCGI_SOCK="$SOCKDIR/fcgiwrap.sock"

# fcgiwrap gets a clean environment: git http-backend sees only the CGI
# variables lighttpd sends plus GIT_PROJECT_ROOT/GIT_HTTP_EXPORT_ALL.
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
# git http-backend (the usual smart-HTTP setup) and, under /static/, the
# ref advertisement bytes as a plain file (the ceiling).
server.modules = ( "mod_alias", "mod_setenv", "mod_fastcgi" )
server.bind = "127.0.0.1"
server.port = $1
server.document-root = "$RUN/www"
server.errorlog = "$LOGS/lighttpd-error.log"
server.max-connections = 1024
server.max-fds = 4096
server.max-keep-alive-requests = 100000
mimetype.assign = ( "" => "application/x-git-upload-pack-advertisement" )
\$HTTP["url"] !~ "^/static/" {
	# /bench.git/info/refs -> SCRIPT_FILENAME=git-http-backend, PATH_INFO=/bench.git/info/refs
	alias.url = ( "/" => "$GIT_HTTP_BACKEND/" )
	setenv.add-environment = ( "GIT_PROJECT_ROOT" => "$HB_ROOT", "GIT_HTTP_EXPORT_ALL" => "1" )
	fastcgi.server = ( "" => (( "socket" => "$FCGI_SOCK" )) )
}
EOF
}

start_lighttpd() {
	local try port
	for try in 1 2 3 4 5; do
		port=$(pick_port) || die "no free loopback port found"
		write_lighttpd_conf "$port"
		"$LIGHTTPD" -tt -f "$RUN/lighttpd.conf" >"$LOGS/lighttpd.log" 2>&1 ||
			die "lighttpd rejected its configuration (see $LOGS/lighttpd.log)"
		"$LIGHTTPD" -D -f "$RUN/lighttpd.conf" >>"$LOGS/lighttpd.log" 2>&1 &
		LIGHTTPD_PID=$!
		local i
		for i in $(seq 50); do
			kill -0 "$LIGHTTPD_PID" 2>/dev/null || break
			if "${CURL[@]}" -o /dev/null --max-time 2 "http://127.0.0.1:$port/static/" 2>/dev/null; then
				LIGHTTPD_PORT=$port
				return 0
			fi
			sleep 0.1
		done
		stop_pid "$LIGHTTPD_PID"
		LIGHTTPD_PID=""
		say "lighttpd did not come up on port $port (attempt $try), retrying"
	done
	die "lighttpd did not start (see $LOGS/lighttpd.log, $LOGS/lighttpd-error.log)"
}
start_lighttpd
HB_BASE="http://127.0.0.1:$LIGHTTPD_PORT"
HB_URL="$HB_BASE/bench.git"
ADV_PATH="/bench.git/info/refs?service=git-upload-pack"

code=$("${CURL[@]}" -o "$RUN/www/static/bench.git/info/refs" -w '%{http_code}' "$HB_BASE$ADV_PATH") ||
	die "GET $HB_BASE$ADV_PATH failed (see $LOGS/lighttpd-error.log, $LOGS/fcgiwrap.log)"
[ "$code" = 200 ] || die "git http-backend answered $code to GET info/refs (see $LOGS/)"
head -c 30 "$RUN/www/static/bench.git/info/refs" | grep -q '^001e# service=git-upload-pack' ||
	die "git http-backend's advertisement does not look like one"
adv_ok "$RUN/www/static/bench.git/info/refs" ||
	die "git http-backend's advertisement is not well-formed or lacks main=$TIP"
HB_ADV_BYTES=$(wc -c <"$RUN/www/static/bench.git/info/refs")
STATIC_URL="$HB_BASE/static$ADV_PATH"
cmp -s <("${CURL[@]}" "$STATIC_URL") "$RUN/www/static/bench.git/info/refs" ||
	die "the static advertisement is not served byte for byte"
say "git http-backend on $HB_URL (lighttpd + fcgiwrap -c $FCGI_CHILDREN), static copy on $STATIC_URL"

# --- 2a. augerd --------------------------------------------------------------

AUGERD_OK=0
AUGERD_FAIL=""
AUGERD_ADV_BYTES="-"
AUGERD_PUSH_MS="-"
AUGERD_AGENT="-"
AUGERD_URL=""
TOKEN=""

augerd_fail() {
	AUGERD_FAIL="$*"
	say "augerd: $*"
	return 1
}

setup_augerd() {
	if [ "$AUGERD" = none ]; then
		AUGERD_FAIL="skipped (AUGERD=none)"
		return 1
	fi
	[ -x "$AUGERD" ] || { augerd_fail "no executable at $AUGERD (run make)"; return 1; }
	local data="$RUN/augerd" i
	mkdir -p "$data"
	"$AUGERD" --data "$data" --http 127.0.0.1:0 --ssh off >"$LOGS/augerd.log" 2>&1 &
	AUGERD_PID=$!
	for i in $(seq 100); do
		[ -s "$data/http.addr" ] && [ -s "$data/admin.token" ] && break
		kill -0 "$AUGERD_PID" 2>/dev/null || {
			AUGERD_PID=""
			augerd_fail "exited during startup (see $LOGS/augerd.log)"
			return 1
		}
		sleep 0.1
	done
	[ -s "$data/http.addr" ] || { augerd_fail "no $data/http.addr after 10 s"; return 1; }
	local addr
	addr=$(tr -d ' \r\n' <"$data/http.addr")
	case $addr in
	127.0.0.1:[0-9]*) ;;
	*) augerd_fail "http.addr is '$addr', not a 127.0.0.1 address"; return 1 ;;
	esac
	TOKEN=$(tr -d ' \r\n' <"$data/admin.token")
	AUTH="Authorization: Bearer $TOKEN"
	AUGERD_URL="http://$addr/bench.git"
	wait_http "http://$addr/" || { augerd_fail "does not answer HTTP on $addr"; return 1; }

	local code
	code=$("${CURL[@]}" -o "$LOGS/augerd-create.json" -w '%{http_code}' -H "$AUTH" \
		-H 'Content-Type: application/json' -d '{"name":"bench"}' "http://$addr/api/repos") ||
		{ augerd_fail "POST /api/repos failed (curl)"; return 1; }
	case $code in
	200 | 201) ;;
	*) augerd_fail "POST /api/repos answered $code: $(head -c 200 "$LOGS/augerd-create.json")"; return 1 ;;
	esac

	local t0 t1
	t0=$(now_us)
	if ! timeout "$PUSH_TIMEOUT" git -C "$SRC" -c http.extraHeader="$AUTH" -c protocol.version=0 \
		push -q "$AUGERD_URL" refs/heads/main:refs/heads/main >"$LOGS/augerd-push.log" 2>&1; then
		augerd_fail "git push failed: $(tail -n 3 "$LOGS/augerd-push.log" | tr '\n' ' ')"
		return 1
	fi
	t1=$(now_us)
	AUGERD_PUSH_MS=$(((t1 - t0) / 1000))

	# the advertisement must be well-formed and the same bytes every time
	for i in 1 2 3; do
		code=$("${CURL[@]}" -o "$RUN/augerd-adv.$i" -w '%{http_code}' -H "$AUTH" "http://$addr$ADV_PATH") ||
			{ augerd_fail "GET info/refs failed (curl)"; return 1; }
		[ "$code" = 200 ] || { augerd_fail "GET info/refs answered $code"; return 1; }
		adv_ok "$RUN/augerd-adv.$i" || {
			augerd_fail "GET info/refs #$i after the push is not a valid advertisement of main=$TIP (starts with:$(adv_head "$RUN/augerd-adv.$i"))"
			return 1
		}
	done
	cmp -s "$RUN/augerd-adv.1" "$RUN/augerd-adv.3" ||
		{ augerd_fail "GET info/refs gives different bytes on repeated requests"; return 1; }
	cp "$RUN/augerd-adv.1" "$RUN/augerd-adv"
	AUGERD_ADV_BYTES=$(wc -c <"$RUN/augerd-adv")
	AUGERD_AGENT=$(grep -ao 'agent=[^ ]*' "$RUN/augerd-adv" | head -n 1 | tr -d '\n\0' || true)
	code=$("${CURL[@]}" -o /dev/null -w '%{http_code}' "http://$addr$ADV_PATH" || true)
	[ "$code" = 401 ] || say "warning: augerd answered $code (not 401) to info/refs without credentials"
	say "augerd on $AUGERD_URL (push of the full history: ${AUGERD_PUSH_MS} ms)"
	AUGERD_OK=1
}
setup_augerd || true

augerd_alive() {
	[ "$AUGERD_OK" = 1 ] || return 1
	if ! kill -0 "$AUGERD_PID" 2>/dev/null; then
		AUGERD_OK=0
		AUGERD_PID=""
		AUGERD_FAIL="${AUGERD_FAIL:+$AUGERD_FAIL; }augerd died during the $1 (see $LOGS/augerd.log)"
		say "augerd died during the $1"
		return 1
	fi
}

# --- 3a. ref advertisements per second ---------------------------------------

declare -A R N # R[metric,server]: results; N[kind,server]: clone runs
NOTES=()
for k in rps p50 p99; do R[$k,augerd]="-"; done

wrk_run http-backend "$HB_BASE$ADV_PATH" || true
R[rps,hb]=$WRK_RPS R[p50,hb]=$WRK_P50 R[p99,hb]=$WRK_P99
[ -n "$WRK_NOTE" ] && NOTES+=("wrk git http-backend: $WRK_NOTE")

wrk_run static "$STATIC_URL" || true
R[rps,static]=$WRK_RPS R[p50,static]=$WRK_P50 R[p99,static]=$WRK_P99
[ -n "$WRK_NOTE" ] && NOTES+=("wrk static: $WRK_NOTE")

if [ "$AUGERD_OK" = 1 ]; then
	wrk_run augerd "${AUGERD_URL%/bench.git}$ADV_PATH" -H "$AUTH" || true
	R[rps,augerd]=$WRK_RPS R[p50,augerd]=$WRK_P50 R[p99,augerd]=$WRK_P99
	[ -n "$WRK_NOTE" ] && NOTES+=("wrk augerd: $WRK_NOTE")
	[ "$WRK_RPS" = FAIL ] && AUGERD_FAIL="${AUGERD_FAIL:+$AUGERD_FAIL; }ref advertisement benchmark failed: $WRK_NOTE"
	# what wrk measured must still be the right bytes
	if augerd_alive "wrk run"; then
		"${CURL[@]}" -o "$RUN/augerd-adv.after" -H "$AUTH" "${AUGERD_URL%/bench.git}$ADV_PATH" || true
		if ! cmp -s "$RUN/augerd-adv" "$RUN/augerd-adv.after"; then
			AUGERD_FAIL="${AUGERD_FAIL:+$AUGERD_FAIL; }info/refs bytes changed during the wrk run (now starts with:$(adv_head "$RUN/augerd-adv.after"))"
			R[rps,augerd]="${R[rps,augerd]}?"
		fi
	fi
fi

# --- 3b. clones ----------------------------------------------------------------


# clone_series kind runs: alternates augerd and http-backend run by run, so that
# noise on the machine hits both alike. Fills $RUN/<kind>-<server>.ms.
clone_series() {
	local kind=$1 runs=$2 deadline=$3 i ms gave_up=0 what
	what=$([ "$kind" = depth1 ] && echo "depth-1" || echo "full")
	: >"$RUN/$kind-augerd.ms"
	: >"$RUN/$kind-hb.ms"
	FAILS_augerd=0 FAILS_hb=0
	say "$what clones: $runs per server"
	for i in $(seq "$runs"); do
		if [ "$SECONDS" -ge "$deadline" ]; then
			NOTES+=("$what clones stopped after $((i - 1)) of $runs runs: time budget (${BUDGET}s) used up")
			break
		fi
		if [ "$gave_up" = 0 ] && augerd_alive "$what clones"; then
			if ms=$(clone_once "$kind" augerd "$AUGERD_URL" "$RUN/clone" -c http.extraHeader="$AUTH"); then
				echo "$ms" >>"$RUN/$kind-augerd.ms"
			else
				FAILS_augerd=$((FAILS_augerd + 1))
				# a server that fails every time is not worth 30 timeouts
				if [ "$FAILS_augerd" -ge 3 ] && [ ! -s "$RUN/$kind-augerd.ms" ]; then
					gave_up=1
					AUGERD_FAIL="${AUGERD_FAIL:+$AUGERD_FAIL; }$what clone failed 3 times, last: $(grep -av '^$' "$LOGS/clone-augerd.log" | tail -n 2 | tr '\n' ' ' | tr -cd '[:print:]')"
					say "augerd: $what clones fail, giving up on them"
				fi
			fi
		fi
		if ms=$(clone_once "$kind" hb "$HB_URL" "$RUN/clone"); then
			echo "$ms" >>"$RUN/$kind-hb.ms"
		else
			FAILS_hb=$((FAILS_hb + 1))
		fi
	done
	if [ "$FAILS_augerd" -gt 0 ] && [ "$gave_up" = 0 ] && [ ! -s "$RUN/$kind-augerd.ms" ]; then
		AUGERD_FAIL="${AUGERD_FAIL:+$AUGERD_FAIL; }no $what clone succeeded, last: $(grep -av '^$' "$LOGS/clone-augerd.log" | tail -n 2 | tr '\n' ' ' | tr -cd '[:print:]')"
	fi
	[ "$FAILS_augerd" -gt 0 ] && NOTES+=("augerd: $FAILS_augerd $what clone(s) failed (see build/bench/logs/http/clone-augerd.log)")
	[ "$FAILS_hb" -gt 0 ] && NOTES+=("git http-backend: $FAILS_hb $what clone(s) failed (see build/bench/logs/http/clone-hb.log)")
	return 0
}

: >"$LOGS/clone-augerd.log"
: >"$LOGS/clone-hb.log"
clone_series depth1 "$CLONES" $((BUDGET - 45))
for s in augerd hb; do
	R[d1p50,$s]=$(percentile 50 "$RUN/depth1-$s.ms")
	R[d1p99,$s]=$(percentile 99 "$RUN/depth1-$s.ms")
	N[d1,$s]=$(wc -l <"$RUN/depth1-$s.ms")
done
clone_series full "$FULL_CLONES" "$BUDGET"
for s in augerd hb; do
	R[full,$s]=$(percentile 50 "$RUN/full-$s.ms")
	N[full,$s]=$(wc -l <"$RUN/full-$s.ms")
done

# --- 4. the table ----------------------------------------------------------------

ROWS=()
row() { # metric augerd hb static
	local a=$2 h=$3 s=$4
	ROWS+=("$1|$a|$h|$s|$(fmt_ratio "$a" "$h")|$(fmt_ratio "$a" "$s")")
}
nd1="${N[d1,hb]}"
nfull="${N[full,hb]}"
row "ref advertisements/s, $WRK_CONNS conns, ${WRK_SECONDS}s (higher is better)" \
	"${R[rps,augerd]}" "${R[rps,hb]}" "${R[rps,static]}"
row "ref advertisement latency p50 ms under that load (lower is better)" \
	"${R[p50,augerd]}" "${R[p50,hb]}" "${R[p50,static]}"
row "ref advertisement latency p99 ms under that load (lower is better)" \
	"${R[p99,augerd]}" "${R[p99,hb]}" "${R[p99,static]}"
row "depth-1 clone p50 ms, n=$nd1 (lower is better)" "${R[d1p50,augerd]}" "${R[d1p50,hb]}" "-"
row "depth-1 clone p99 ms, n=$nd1 (lower is better)" "${R[d1p99,augerd]}" "${R[d1p99,hb]}" "-"
row "full clone median ms, n=$nfull (lower is better)" "${R[full,augerd]}" "${R[full,hb]}" "-"

render_table() { # aligned markdown: text column left, numbers right
	printf '%s\n' "metric|augerd|git http-backend|static ceiling|ratio augerd/http-backend|ratio augerd/ceiling" \
		"${ROWS[@]}" | awk -F'|' '
		{ for (i = 1; i <= NF; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } }
		function line(r,    i, out, v) {
			out = "|"
			for (i = 1; i <= 6; i++) {
				v = c[r, i]
				out = out " " sprintf("%" (i == 1 ? "-" : "") w[i] "s", v) " |"
			}
			print out
		}
		END {
			line(1)
			out = "|"
			for (i = 1; i <= 6; i++) {
				d = ""; while (length(d) < w[i] - (i > 1)) d = d "-"
				out = out " " d (i > 1 ? ":" : "") " |"
			}
			print out
			for (r = 2; r <= NR; r++) line(r)
		}'
}

QUICK_NOTE=""
[ "$QUICK" = 1 ] && QUICK_NOTE=", BENCH_QUICK=1 (smoke run)"
{
	echo "# auger HTTP benchmark"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $NCPU CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)), $(git --version), $("$LIGHTTPD" -v 2>/dev/null | head -n 1 | awk '{ print $1 }'), fcgiwrap -c $FCGI_CHILDREN, load average at start $LOAD_AT_START$QUICK_NOTE"
	echo
	echo "augerd: ${AUGERD#"$ROOT"/}; git http-backend: $GIT_HTTP_BACKEND via fcgiwrap."
	echo "Repository: $APPS apps x 4 manifests ($NFILES files), $COMMITS commits, $NOBJ objects, ${PACK_KB} KiB pack."
	echo "Ref advertisement: augerd ${AUGERD_ADV_BYTES} bytes ($AUGERD_AGENT), git http-backend ${HB_ADV_BYTES} bytes."
	echo "wrk: $WRK_THREADS threads, $WRK_CONNS connections, ${WRK_SECONDS}s, GET /bench.git/info/refs?service=git-upload-pack (augerd with a Bearer token)."
	echo "Clones: git clone -c protocol.version=0 [--depth 1] --single-branch --no-tags -b main, wall time per run, runs alternate between servers; percentiles are nearest-rank."
	echo
	render_table
	if [ -n "$AUGERD_FAIL" ]; then
		echo
		echo "augerd: $AUGERD_FAIL"
	fi
	if [ "${#NOTES[@]}" -gt 0 ]; then
		echo
		for n in "${NOTES[@]}"; do echo "- $n"; done
	fi
	[ "$AUGERD_PUSH_MS" != "-" ] && { echo; echo "augerd: git push of the full history took ${AUGERD_PUSH_MS} ms."; }
	echo
	echo "Logs: build/bench/logs/http/"
} >"$RESULTS"

echo
cat "$RESULTS"

# baseline failures are setup errors; augerd failures are what we report
case "${R[rps,hb]}${R[d1p50,hb]}" in *FAIL* | *-) exit 2 ;; esac
[ "$AUGERD" = none ] && exit 0
[ -z "$AUGERD_FAIL" ] || exit 1
exit 0
