#!/usr/bin/env bash
# Fleet benchmark: N simulated Flux clusters polling one GitOps repository,
# augerd (plain HTTP keep-alive, and HTTPS with a CA and a new handshake per
# poll as Flux does with ca.crt) against git http-backend behind lighttpd +
# fcgiwrap, in one run. The load client is scripts/bench/fleet_client.py
# (Python asyncio, standard library only).
#
#   make bench                       # or: bash scripts/bench/fleet.sh
#   BENCH_QUICK=1 bash scripts/bench/fleet.sh   # smoke run: N=200
#
# Each run: connect N clusters, poll for a warm-up (steady-state latencies),
# then deploy = `git push` of a new commit to main (the same for every
# server; augerd's POST /api/releases moves main the same way), and every
# cluster's next poll is due at once (a Flux notification Receiver waking
# each cluster; BENCH_FLEET_NOTIFY=0 waits for the regular polls instead).
# Measured: time from the push's exit (the ref moved and was reported) until
# all N clusters hold the new tip, pack builds for that tip (augerd: its log
# lines after the deploy; http-backend: each POST is one upload-pack
# process, as counted by the client), poll latency p50/p99 (steady and
# during the herd), server RSS and fds from /proc (before connecting, with
# N connected, after converging).
#
# Environment:
#   AUGERD=path           augerd binary (default bin/augerd)
#   BENCH_QUICK=1         N=200, 2 s interval, 4 s warm-up
#   BENCH_FLEET_N         cluster counts, e.g. "1000 5000" (default)
#   BENCH_FLEET_INTERVAL  poll interval in s (5; quick 2), jittered +-10 %
#   BENCH_FLEET_WARMUP    steady-state seconds before the deploy (2 intervals)
#   BENCH_FLEET_TIMEOUT   convergence deadline in s (60; quick 30)
#   BENCH_FLEET_NOTIFY=0  no wake-up after the deploy
#   BENCH_FLEET_TLS_MODE  handshake (default) | keepalive
#   BENCH_FLEET_HB_N      http-backend counts (default "100" plus BENCH_FLEET_N);
#                         the ladder stops at the first N it does not hold
#   BENCH_FCGI_CHILDREN   fcgiwrap processes (default: CPUs, at least 2)
#   BENCH_KEEP=1          keep the run directory
#
# Output: the table on stdout and in build/bench/fleet-results.md, raw JSON
# per run and server logs in build/bench/logs/fleet/. Exit status 0 when every
# augerd run converged without errors, 1 otherwise, 2 on setup failure.
# Only 127.0.0.1 is ever contacted.

# shellcheck disable=SC2317 # cleanup functions are reached through the trap
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/scripts/bench"
OUT="$ROOT/build/bench"
LOGS="$OUT/logs/fleet"
RESULTS="$OUT/fleet-results.md"
CLIENT="$HERE/fleet_client.py"

AUGERD=${AUGERD:-$ROOT/bin/augerd}
QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
	NS=${BENCH_FLEET_N:-200}
	INTERVAL=${BENCH_FLEET_INTERVAL:-2}
	TIMEOUT=${BENCH_FLEET_TIMEOUT:-30}
	HB_NS=${BENCH_FLEET_HB_N:-$NS}
else
	NS=${BENCH_FLEET_N:-1000 5000}
	INTERVAL=${BENCH_FLEET_INTERVAL:-5}
	TIMEOUT=${BENCH_FLEET_TIMEOUT:-60}
	HB_NS=${BENCH_FLEET_HB_N:-100 $NS}
fi
WARMUP=${BENCH_FLEET_WARMUP:-$(awk -v i="$INTERVAL" 'BEGIN { print 2 * i }')}
NOTIFY=${BENCH_FLEET_NOTIFY:-1}
TLS_MODE=${BENCH_FLEET_TLS_MODE:-handshake}
NCPU=$(nproc 2>/dev/null || echo 2)
FCGI_CHILDREN=${BENCH_FCGI_CHILDREN:-$((NCPU < 2 ? 2 : NCPU))}
APPS=300
COMMITS=1000
GEN_VERSION=1 # the same repository as http.sh (build/bench/repo)
REPO_CACHE="$OUT/repo"
SRC="$REPO_CACHE/bench.git"
LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)

say() { printf '%s\n' "bench: $*" >&2; }
die() {
	say "error: $*"
	exit 2
}

GIT_HTTP_BACKEND="$(git --exec-path 2>/dev/null)/git-http-backend"
FCGIWRAP=$(command -v fcgiwrap || echo /usr/sbin/fcgiwrap)
LIGHTTPD=$(command -v lighttpd || echo /usr/sbin/lighttpd)
for t in git curl awk python3 openssl jq; do
	command -v "$t" >/dev/null || die "$t not found (sh scripts/deps.sh --bench)"
done
[ -x "$LIGHTTPD" ] || die "lighttpd not found (sh scripts/deps.sh --bench)"
[ -x "$FCGIWRAP" ] || die "fcgiwrap not found (sh scripts/deps.sh --bench)"
[ -x "$GIT_HTTP_BACKEND" ] || die "git-http-backend not found at $GIT_HTTP_BACKEND"
[ -x "$AUGERD" ] || die "no executable at $AUGERD (run make)"
for n in $NS $HB_NS; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || die "bad cluster count '$n'"
done

# --- file descriptors: every cluster is one socket on each side ---------------

MAXN=0
for n in $NS $HB_NS; do [ "$n" -gt "$MAXN" ] && MAXN=$n; done
NEED_FDS=$((MAXN * 2 + 1024))
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FDLIMIT=$(ulimit -n)
[ "$FDLIMIT" = unlimited ] || [ "$FDLIMIT" -ge "$NEED_FDS" ] ||
	die "open-file limit is $FDLIMIT (hard $(ulimit -Hn)); N=$MAXN needs $NEED_FDS"
say "open-file limit $FDLIMIT (asked 65536, hard limit $(ulimit -Hn))"

# --- isolation ------------------------------------------------------------------

mkdir -p "$OUT" "$LOGS"
rm -f "$LOGS"/*
RUN=$(mktemp -d "$OUT/run.XXXXXX")
SOCKDIR=$(mktemp -d /tmp/auger-bench.XXXXXX)
mkdir -p "$RUN/home"
export HOME="$RUN/home" XDG_CONFIG_HOME="$RUN/home/.config"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_TERMINAL_PROMPT=0
export GIT_ASKPASS=/bin/false SSH_ASKPASS=/bin/false
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY GIT_PROXY_COMMAND
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY
unset GIT_SSL_CAINFO GIT_SSL_CAPATH # would override http.sslCAInfo
export no_proxy=127.0.0.1 NO_PROXY=127.0.0.1
CURL=(curl -sS --noproxy '*' --max-time 20)

AUGERD_PID=""
LIGHTTPD_PID=""
FCGI_PID=""

alive() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	case $st in Z*) return 1 ;; esac
	[ -n "$st" ]
}

stop_pid() {
	local p left
	kill -TERM "$@" 2>/dev/null || true
	for _ in $(seq 50); do
		left=""
		for p in "$@"; do alive "$p" && left="$left $p"; done
		[ -n "$left" ] || break
		sleep 0.1
	done
	# shellcheck disable=SC2086
	[ -z "$left" ] || kill -KILL $left 2>/dev/null || true
	for p in "$@"; do wait "$p" 2>/dev/null || true; done
}

stop_fcgiwrap() { # see http.sh: freeze the parent, end it, then its children
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

stop_augerd() {
	[ -n "$AUGERD_PID" ] && stop_pid "$AUGERD_PID"
	AUGERD_PID=""
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_augerd
	[ -n "$LIGHTTPD_PID" ] && stop_pid "$LIGHTTPD_PID"
	stop_fcgiwrap
	rm -rf "$SOCKDIR"
	if [ "${BENCH_KEEP:-0}" = 1 ]; then say "kept $RUN"; else rm -rf "$RUN"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pick_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# --- the repository (the cache http.sh builds; generated here if missing) -----

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
	awk -v APPS="$APPS" -v COMMITS="$COMMITS" -f "$HERE/gen-repo.awk" |
		MALLOC_TOP_PAD_=67108864 MALLOC_TRIM_THRESHOLD_=134217728 \
			git -C "$SRC" fast-import --quiet
	git -C "$SRC" repack -adfq
	echo "$STAMP" >"$REPO_CACHE/stamp"
fi
# the deploys' commits go into a copy; the cache stays as http.sh expects it
DEPLOY_SRC="$RUN/src.git"
cp -a "$SRC" "$DEPLOY_SRC"
TIP0=$(git -C "$DEPLOY_SRC" rev-parse refs/heads/main)
NFILES=$(git -C "$SRC" ls-tree -r --name-only "$TIP0" | wc -l)

P="$RUN/pki"
# deploy.sh URL LOG [HEADER]: remembers LOG's line count (the counting of
# pack builds starts there), commits a new image tag for one app on main
# and pushes it to URL; prints the new tip.
cat >"$RUN/deploy.sh" <<DEPLOY
#!/usr/bin/env bash
set -euo pipefail
url=\$1 log=\$2 hdr=\${3:-}
wc -l <"\$log" >"\$log.mark"
export GIT_DIR="$DEPLOY_SRC" GIT_INDEX_FILE="$RUN/deploy.index"
n=\$(cat "$RUN/deploy.count" 2>/dev/null || echo 0); n=\$((n + 1)); echo "\$n" >"$RUN/deploy.count"
git read-tree refs/heads/main
f=\$(git ls-files | awk '/deployment/ && f == "" { f = \$0 } END { print f }')
blob=\$( { git cat-file blob "HEAD:\$f"; echo "# fleet deploy \$n"; } | git hash-object -w --stdin)
git update-index --cacheinfo "100644,\$blob,\$f"
tree=\$(git write-tree)
c=\$(echo "fleet deploy \$n" | GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=b@x GIT_COMMITTER_NAME=bench \
	GIT_COMMITTER_EMAIL=b@x git commit-tree "\$tree" -p refs/heads/main)
if [ -n "\$hdr" ]; then
	git -c http.extraHeader="\$hdr" -c http.sslCAInfo="$P/ca.pem" push -q "\$url" "\$c:refs/heads/main" >&2
else
	git push -q "\$url" "\$c:refs/heads/main" >&2
fi
git update-ref refs/heads/main "\$c"
echo "\$c"
DEPLOY
chmod +x "$RUN/deploy.sh"

# --- TLS material: a CA and an ECDSA P-256 leaf for 127.0.0.1 ------------------

P="$RUN/pki"
mkdir -p "$P"
ossl() { openssl "$@" >>"$LOGS/openssl.log" 2>&1 || die "openssl $1 failed (see $LOGS/openssl.log)"; }
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$P/ca.key" -out "$P/ca.pem" \
	-days 2 -subj "/CN=auger bench root" -addext "basicConstraints=critical,CA:true" -addext "keyUsage=critical,keyCertSign"
ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$P/leaf.key" -out "$P/leaf.csr" -subj "/CN=127.0.0.1"
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$P/leaf.ext"
ossl x509 -req -in "$P/leaf.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" -CAcreateserial -days 2 -extfile "$P/leaf.ext" -out "$P/leaf.pem"

# --- servers -----------------------------------------------------------------------

# start_augerd [tls]: augerd on DATA (the repository pushed on the first start)
AUGERD_DATA="$RUN/augerd"
start_augerd() {
	local tls=${1:-} args=() i addr
	[ "$tls" = tls ] && args=(--tls-cert "$P/leaf.pem" --tls-key "$P/leaf.key")
	mkdir -p "$AUGERD_DATA"
	rm -f "$AUGERD_DATA/http.addr"
	"$AUGERD" --data "$AUGERD_DATA" --http 127.0.0.1:0 --ssh off \
		--max-conns $((MAXN + 512)) --max-conns-per-addr 0 "${args[@]}" \
		>>"$LOGS/augerd.log" 2>&1 &
	AUGERD_PID=$!
	for i in $(seq 100); do
		[ -s "$AUGERD_DATA/http.addr" ] && [ -s "$AUGERD_DATA/admin.token" ] && break
		kill -0 "$AUGERD_PID" 2>/dev/null || die "augerd exited during startup (see $LOGS/augerd.log)"
		sleep 0.1
	done
	addr=$(tr -d ' \r\n' <"$AUGERD_DATA/http.addr")
	TOKEN=$(tr -d ' \r\n' <"$AUGERD_DATA/admin.token")
	AUTH="Authorization: Bearer $TOKEN"
	if [ "$tls" = tls ]; then AUGERD_BASE="https://$addr"; else AUGERD_BASE="http://$addr"; fi
	for i in $(seq 100); do
		"${CURL[@]}" --cacert "$P/ca.pem" -o /dev/null "$AUGERD_BASE/healthz" 2>/dev/null && return 0
		sleep 0.1
	done
	die "augerd does not answer on $AUGERD_BASE"
}

say "starting augerd"
: >"$LOGS/augerd.log"
start_augerd
code=$("${CURL[@]}" -o "$LOGS/augerd-create.json" -w '%{http_code}' -H "$AUTH" \
	-H 'Content-Type: application/json' -d '{"name":"bench"}' "$AUGERD_BASE/api/repos") || die "POST /api/repos failed"
case $code in 200 | 201) ;; *) die "POST /api/repos answered $code" ;; esac
git -C "$DEPLOY_SRC" -c http.extraHeader="$AUTH" push -q "$AUGERD_BASE/bench.git" refs/heads/main:refs/heads/main \
	>"$LOGS/augerd-push.log" 2>&1 || die "git push to augerd failed (see $LOGS/augerd-push.log)"

HB_ROOT="$RUN/hb"
mkdir -p "$HB_ROOT" "$RUN/www"
cp -a "$SRC" "$HB_ROOT/bench.git"
git -C "$HB_ROOT/bench.git" config http.receivepack true # the deploys push here
FCGI_SOCK="$SOCKDIR/fcgiwrap.sock"
env -i PATH=/usr/bin:/bin HOME="$HOME" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null \
	"$FCGIWRAP" -c "$FCGI_CHILDREN" -s "unix:$FCGI_SOCK" -p "$GIT_HTTP_BACKEND" \
	>"$LOGS/fcgiwrap.log" 2>&1 &
FCGI_PID=$!
for _ in $(seq 50); do
	[ -S "$FCGI_SOCK" ] && break
	sleep 0.1
done
[ -S "$FCGI_SOCK" ] || die "fcgiwrap did not create $FCGI_SOCK"
HB_ACCESS="$LOGS/lighttpd-access.log"
: >"$HB_ACCESS"
LIGHTTPD_PORT=""
for _ in 1 2 3 4 5; do
	port=$(pick_port) || die "no free loopback port"
	cat >"$RUN/lighttpd.conf" <<CONF
server.modules = ( "mod_alias", "mod_setenv", "mod_fastcgi", "mod_accesslog" )
server.bind = "127.0.0.1"
server.port = $port
server.document-root = "$RUN/www"
server.errorlog = "$LOGS/lighttpd-error.log"
accesslog.filename = "$HB_ACCESS"
server.max-connections = $((MAXN + 512))
server.max-fds = $((FDLIMIT > 65536 ? 65536 : FDLIMIT))
server.max-keep-alive-requests = 1000000
server.max-keep-alive-idle = 600
server.max-read-idle = 600
server.max-write-idle = 600
alias.url = ( "/" => "$GIT_HTTP_BACKEND/" )
setenv.add-environment = ( "GIT_PROJECT_ROOT" => "$HB_ROOT", "GIT_HTTP_EXPORT_ALL" => "1" )
fastcgi.server = ( "" => (( "socket" => "$FCGI_SOCK" )) )
CONF
	"$LIGHTTPD" -tt -f "$RUN/lighttpd.conf" >"$LOGS/lighttpd.log" 2>&1 || die "lighttpd rejected its configuration"
	"$LIGHTTPD" -D -f "$RUN/lighttpd.conf" >>"$LOGS/lighttpd.log" 2>&1 &
	LIGHTTPD_PID=$!
	for _ in $(seq 50); do
		kill -0 "$LIGHTTPD_PID" 2>/dev/null || break
		if "${CURL[@]}" -o /dev/null "http://127.0.0.1:$port/bench.git/info/refs?service=git-upload-pack" 2>/dev/null; then
			LIGHTTPD_PORT=$port
			break 2
		fi
		sleep 0.1
	done
	stop_pid "$LIGHTTPD_PID"
	LIGHTTPD_PID=""
done
[ -n "$LIGHTTPD_PORT" ] || die "lighttpd did not start (see $LOGS/)"
HB_URL="http://127.0.0.1:$LIGHTTPD_PORT/bench.git"
git -C "$DEPLOY_SRC" push -q "$HB_URL" refs/heads/main:refs/heads/main >/dev/null 2>&1 || true
say "augerd $AUGERD_BASE, git http-backend $HB_URL (lighttpd + fcgiwrap -c $FCGI_CHILDREN)"

# --- runs ---------------------------------------------------------------------------

ROWS=()
FAILED=0
HB_STOP=""

# fleet_run LABEL SERVER(augerd|hb) N URL: one client run, one table row
fleet_run() {
	local label=$1 server=$2 n=$3 url=$4 json="$LOGS/run-$1-$3.json" log hdr="" tip pids
	local cargs=(--url "$url" --n "$n" --interval "$INTERVAL" --warmup "$WARMUP" --timeout "$TIMEOUT")
	[ "$NOTIFY" = 1 ] && cargs+=(--notify)
	if [ "$server" = augerd ]; then
		log="$LOGS/augerd.log" hdr="$AUTH" pids=$AUGERD_PID
		cargs+=(--token "$TOKEN" --cafile "$P/ca.pem" --tls-mode "$TLS_MODE")
	else
		log="$HB_ACCESS" pids="$LIGHTTPD_PID,$FCGI_PID"
	fi
	tip=$(git -C "$DEPLOY_SRC" rev-parse refs/heads/main)
	# every cluster starts in sync: the server gets the deploys that went
	# to the other servers before (outside the measured window)
	git -C "$DEPLOY_SRC" -c http.extraHeader="$hdr" -c http.sslCAInfo="$P/ca.pem" \
		push -q "$url" refs/heads/main:refs/heads/main >>"$LOGS/sync-push.log" 2>&1 ||
		{ say "$label: could not bring the server to $tip (see $LOGS/sync-push.log)"; ROWS+=("$label|$n|sync push failed|-|-|-|-|-|-|-|-"); return 1; }
	say "$label: N=$n, interval ${INTERVAL}s, warm-up ${WARMUP}s"
	local rc=0
	python3 "$CLIENT" "${cargs[@]}" --tip "$tip" --pids "$pids" \
		--deploy-cmd "$(printf '%q %q %q %q' "$RUN/deploy.sh" "$url" "$log" "$hdr")" \
		>"$json" 2>"$LOGS/client-$label-$n.err" || rc=$?
	if ! jq -e . "$json" >/dev/null 2>&1; then
		say "$label N=$n: the client failed (status $rc, see $LOGS/client-$label-$n.err)"
		ROWS+=("$label|$n|client failed|-|-|-|-|-|-|-|-")
		[ "$server" = augerd ] && FAILED=1
		return 1
	fi
	local mark builds="-" shared="-" hits="-" prewarm="-" after
	mark=$(cat "$log.mark" 2>/dev/null || echo 0)
	after=$(tail -n +"$((mark + 1))" "$log")
	if [ "$server" = augerd ]; then
		builds=$(grep -cE 'git-upload-pack bench by [^:]+: ok, [0-9]+ objects|git-upload-pack bench by [^:]+: ok, the maintained pack' <<<"$after" || true)
		shared=$(grep -c 'shared with the build in flight' <<<"$after" || true)
		hits=$(grep -c 'ok, from the fetch cache' <<<"$after" || true)
		prewarm=$(grep -oE 'prewarm bench: [0-9]+ depth-1 replies built' <<<"$after" | awk '{ s += $3 } END { print s + 0 }')
	else
		# one upload-pack process per POST (lighttpd buffers its access
		# log, so the client's count of POSTs sent is the reliable one)
		builds=$(jq -r '.fetch.count' "$json")
	fi
	local r
	r=$(jq -r --arg b "$builds" --arg pw "$prewarm" --arg h "$hits" --arg s "$shared" '
		def f(x): if x == null then "-" else (x | tostring) end;
		def mb(x): if x == null then "-" else ((x / 1024 * 10 | round) / 10 | tostring) end;
		[ f(.deploy_ms),
		  (if .converge_all_ms != null then f(.converge_all_ms)
		   else "not converged: \(.converged // 0)/\(.n) in \(.converge_last_ms // "-") ms" end),
		  (if $pw == "-" then $b else "\($b) + \($pw) prewarm" end),
		  (if $h == "-" then "-" else "\($h) / \($s)" end),
		  "\(f(.poll_steady.p50_ms)) / \(f(.poll_steady.p99_ms))",
		  "\(f(.poll_deploy.p50_ms)) / \(f(.poll_deploy.p99_ms))",
		  "\(mb(.server_before.rss_kb)) / \(mb(.server_steady.rss_kb)) / \(mb(.server_after.rss_kb))",
		  "\(f(.server_before.fds)) / \(f(.server_steady.fds)) / \(f(.server_after.fds))",
		  "\(.poll_steady.errors + .poll_deploy.errors + (.connect_errors // 0)) / \(.fetch.errors) / \(.reconnects)"
		] | join("|")' "$json")
	ROWS+=("$label|$n|$r")
	local ok
	ok=$(jq -r 'if .converge_all_ms != null and .fetch.errors == 0 and .poll_steady.errors == 0
		and .poll_deploy.errors == 0 and (.connect_errors // 0) == 0 then 1 else 0 end' "$json")
	jq -r '.errors_sample[]?' "$json" | sed "s/^/bench: $label N=$n: /" >&2
	if [ "$ok" != 1 ]; then
		[ "$server" = augerd ] && FAILED=1
		return 1
	fi
	return 0
}

for n in $NS; do fleet_run "augerd" augerd "$n" "$AUGERD_BASE/bench.git" || true; done
HB_HELD="none"
for n in $HB_NS; do
	if fleet_run "http-backend" hb "$n" "$HB_URL"; then
		HB_HELD=$n
	else
		HB_STOP=$n
		break
	fi
done
stop_augerd
say "restarting augerd with TLS"
start_augerd tls
for n in $NS; do fleet_run "augerd-tls-$TLS_MODE" augerd "$n" "$AUGERD_BASE/bench.git" || true; done

# --- the table ------------------------------------------------------------------------

HEAD="server|N|deploy (push) ms|all N hold the new tip, ms after the push|pack builds for the new tip|cache hits / shared|poll p50 / p99 ms, steady|poll p50 / p99 ms, after the deploy|server RSS MiB before / N connected / after|server fds before / N connected / after|errors: polls / fetches / reconnects"
render() { # markdown: the first two columns left, the others right
	printf '%s\n' "$HEAD" "${ROWS[@]}" | awk -F'|' '
		{ o = "|"; for (i = 1; i <= NF; i++) o = o " " $i " |"; print o }
		NR == 1 { o = "|"; for (i = 1; i <= NF; i++) o = o (i <= 2 ? "---|" : "---:|"); print o }'
}
QUICK_NOTE=""
[ "$QUICK" = 1 ] && QUICK_NOTE=", BENCH_QUICK=1 (smoke run)"
{
	echo "# auger fleet benchmark"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $NCPU CPUs, $(git --version), fcgiwrap -c $FCGI_CHILDREN, load average at start $LOAD_AT_START$QUICK_NOTE."
	echo "Repository: $APPS apps x 4 manifests ($NFILES files), $COMMITS commits. Open-file limit $FDLIMIT."
	echo "Each cluster polls GET /bench.git/info/refs every ${INTERVAL}s +-10 % (keep-alive HTTP/1.1; the TLS rows: $([ "$TLS_MODE" = handshake ] && echo 'a new connection and full TLS handshake per poll, as Flux with ca.crt' || echo 'keep-alive TLS')), steady latencies over ${WARMUP}s."
	echo "Deploy: git push of a new commit on main; $([ "$NOTIFY" = 1 ] && echo 'then every cluster polls at once (a notification Receiver on each)' || echo 'clusters see it on their next regular poll'); a cluster that sees the new tip sends Flux's depth-1 request and checks the whole reply (shallow, NAK, pack checksum, final flush). Deadline ${TIMEOUT}s."
	echo "Pack builds: augerd log lines 'ok, N objects' after the deploy (plus the pre-warm's depth-1 replies); git http-backend: one upload-pack process per POST (the POSTs the clients sent)."
	echo
	render
	echo
	if [ -n "$HB_STOP" ]; then
		echo "git http-backend held N=$HB_HELD; it did not hold N=$HB_STOP (the ladder stopped there)."
	else
		echo "git http-backend held every N tried ($HB_NS)."
	fi
	echo
	echo "Raw numbers: build/bench/logs/fleet/run-*.json; logs: build/bench/logs/fleet/"
} >"$RESULTS"
echo
cat "$RESULTS"
exit "$FAILED"
