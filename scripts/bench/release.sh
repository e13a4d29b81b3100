#!/usr/bin/env bash
# Release-engine benchmark: augerd's deploy / rollback / history API against
# the same operations done the Gimlet way, with the git CLI on a gitops repo
# served by git http-backend (lighttpd + fcgiwrap):
#
#   deploy    augerd: POST /api/releases
#             git:    clone --depth 1, write the app's files, commit, push
#   rollback  augerd: POST /api/rollback {"to": N} (alternately the two newest deploys)
#             git:    pull a warm clone, find the app's commits newer than the
#                     target (git log -- <app>), git revert them, push
#   history   augerd: GET /api/releases?app=&limit=50 (and a page deep down)
#             git:    git log -n 50 [--skip N] -- <app> in a warm clone (no fetch)
#
# Rollback and history are measured with 10 and with BENCH_DEPTH (10,000)
# releases of the app in history; the git side runs on a copy of the very
# gitops repository augerd wrote (same commits, same trees).
#
#   bash scripts/bench/release.sh
#   BENCH_QUICK=1 bash scripts/bench/release.sh      # short run (~1 min)
#
# Environment:
#   AUGERD=path        augerd binary (default bin/augerd)
#   BENCH_QUICK=1      fewer samples, depth 1000
#   BENCH_DEPTH        releases in the deep history (10000; quick 1000)
#   BENCH_SEQ          sequential deploys for the latency (200; quick 40)
#   BENCH_BURST        deploys in the throughput burst (1000; quick 200)
#   BENCH_OPS          rollbacks / git operations per measurement (20; quick 5)
#   BENCH_LISTS        history requests per measurement (50; quick 10)
#   BENCH_KEEP=1       keep the run directory (build/bench/release-run.*)
#
# Output: the table on stdout and in build/bench/release-results.md; logs in
# build/bench/logs-release/. Only 127.0.0.1 is ever contacted.

# shellcheck disable=SC2317 # cleanup functions are reached through the trap
set -uo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT="$ROOT/build/bench"
LOGS="$OUT/logs-release"
RESULTS="$OUT/release-results.md"
AUGERD=${AUGERD:-$ROOT/bin/augerd}
QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
	DEPTH=${BENCH_DEPTH:-1000} SEQ=${BENCH_SEQ:-40} BURST=${BENCH_BURST:-200}
	OPS=${BENCH_OPS:-5} LISTS=${BENCH_LISTS:-10}
else
	DEPTH=${BENCH_DEPTH:-10000} SEQ=${BENCH_SEQ:-200} BURST=${BENCH_BURST:-1000}
	OPS=${BENCH_OPS:-20} LISTS=${BENCH_LISTS:-50}
fi
BURST_APPS=50
NCPU=$(nproc 2>/dev/null || echo 2)
FCGI_CHILDREN=$((NCPU < 2 ? 2 : NCPU))
START=$SECONDS

say() { printf '%s\n' "bench: $*" >&2; }
die() {
	say "error: $*"
	exit 2
}

GIT_HTTP_BACKEND="$(git --exec-path 2>/dev/null)/git-http-backend"
FCGIWRAP=$(command -v fcgiwrap || echo /usr/sbin/fcgiwrap)
LIGHTTPD=$(command -v lighttpd || echo /usr/sbin/lighttpd)
for t in git curl jq awk sort timeout; do
	command -v "$t" >/dev/null || die "$t not found"
done
[ -x "$AUGERD" ] || die "no augerd at $AUGERD (run make)"
[ -x "$LIGHTTPD" ] || die "lighttpd not found (sh scripts/deps.sh --bench)"
[ -x "$FCGIWRAP" ] || die "fcgiwrap not found (sh scripts/deps.sh --bench)"
[ -x "$GIT_HTTP_BACKEND" ] || die "git-http-backend not found at $GIT_HTTP_BACKEND"
[ -n "${EPOCHREALTIME:-}" ] || die "bash >= 5 needed (EPOCHREALTIME)"

# --- isolation ---------------------------------------------------------------
mkdir -p "$OUT" "$LOGS"
rm -f "$LOGS"/*
RUN=$(mktemp -d "$OUT/release-run.XXXXXX")
SOCKDIR=$(mktemp -d /tmp/auger-rbench.XXXXXX)
mkdir -p "$RUN/home"
export HOME="$RUN/home" XDG_CONFIG_HOME="$RUN/home/.config"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_TERMINAL_PROMPT=0
export GIT_ASKPASS=/bin/false SSH_ASKPASS=/bin/false
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@auger.invalid
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@auger.invalid
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY GIT_PROXY_COMMAND
export no_proxy='*' NO_PROXY='*'

AUGERD_PID="" LIGHTTPD_PID="" FCGI_PID=""
stop_pid() {
	local pid=$1 i
	shift
	kill -TERM "$pid" "$@" 2>/dev/null || true
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" "$@" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
stop_fcgiwrap() {
	# fcgiwrap -c N leaves its preforked children behind on SIGTERM: freeze
	# the parent, collect its children, then stop them all.
	[ -n "$FCGI_PID" ] || return 0
	local kids
	kill -STOP "$FCGI_PID" 2>/dev/null || true
	kids=$(pgrep -P "$FCGI_PID" 2>/dev/null || ps -o pid= --ppid "$FCGI_PID" 2>/dev/null || true)
	# shellcheck disable=SC2086
	kill -TERM $kids 2>/dev/null || true
	kill -CONT "$FCGI_PID" 2>/dev/null || true
	# shellcheck disable=SC2086
	stop_pid "$FCGI_PID" $kids
	FCGI_PID=""
}
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	[ -n "$AUGERD_PID" ] && stop_pid "$AUGERD_PID"
	[ -n "$LIGHTTPD_PID" ] && stop_pid "$LIGHTTPD_PID"
	stop_fcgiwrap
	rm -rf "$SOCKDIR"
	if [ "${BENCH_KEEP:-0}" = 1 ]; then say "kept $RUN"; else rm -rf "$RUN"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- helpers -----------------------------------------------------------------
now_us() { local t=${EPOCHREALTIME/[.,]/}; echo "$((10#$t))"; }
# percentile P FILE (nearest rank), numbers in ms
percentile() {
	sort -n "$2" | awk -v p="$1" '{ v[NR] = $1 } END {
		if (NR == 0) { print "-"; exit }
		r = int(p / 100 * NR); if (r < p / 100 * NR) r++; if (r < 1) r = 1
		printf "%.1f\n", v[r] }'
}
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || a + 0 == 0) { print "-"; exit }
		r = b / a
		if (r >= 100) printf "%.0fx\n", r; else if (r >= 10) printf "%.1fx\n", r; else printf "%.2fx\n", r }'
}
sha_of() { printf '%s' "$1" | sha1sum | cut -c1-40; }

# artifact APP ENV SHA: Gimlet's artifact shape; the policy never matches
# (branch bench), deploys are explicit.
artifact() {
	printf '{"version":{"repositoryName":"acme/%s","sha":"%s","branch":"bench","event":"push","authorName":"bench","message":"bench %s","url":"https://example.invalid/%s","created":1700000000},"vars":{},"environments":[{"app":"%s","env":"%s","namespace":"default","deploy":{"branch":"main","event":"push"},"chart":{"repository":"https://chart.onechart.dev","name":"onechart","version":"0.70.0"},"values":{"image":{"repository":"ghcr.io/acme/%s","tag":"{{ .SHA }}"},"replicas":2,"ingress":{"host":"%s.example.com","tlsEnabled":true},"vars":{"A":"1"}}}],"items":[],"context":{}}' \
		"$1" "$3" "${3:0:7}" "$3" "$1" "$2" "$1" "$1"
}

# api METHOD PATH [BODY]: the body goes to RUN/api.out; API_MS = curl's
# time_total (ms), API_CODE = HTTP status. (Call it outside $(...).)
api() {
	local args=(-s -o "$RUN/api.out" -w '%{http_code} %{time_total}' --max-time 120 -X "$1"
		-H "Authorization: Bearer $TOKEN")
	[ -n "${3:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
	local r
	r=$(curl "${args[@]}" "$AURL$2")
	API_CODE=${r%% *}
	API_MS=$(awk -v s="${r#* }" 'BEGIN { printf "%.2f", s * 1000 }')
}

# push_artifacts ENV FILE_OF_"app sha"_LINES OUT: stores the artifacts
# (16 at a time, one curl process); OUT gets "app sha id" lines.
push_artifacts() {
	local env=$1 list=$2 out=$3 cfg="$RUN/push.cfg" app sha n=0
	: >"$cfg"
	mkdir -p "$RUN/art"
	while read -r app sha; do
		artifact "$app" "$env" "$sha" >"$RUN/art/$env-$app-$sha.json"
		printf 'url = "%s/api/artifact"\nheader = "Authorization: Bearer %s"\nheader = "Content-Type: application/json"\ndata-binary = "@%s"\noutput = "%s"\n' \
			"$AURL" "$TOKEN" "$RUN/art/$env-$app-$sha.json" "$RUN/art/$env-$app-$sha.out" >>"$cfg"
		n=$((n + 1))
		printf 'next\n' >>"$cfg"
	done <"$list"
	sed -i '$d' "$cfg"
	curl -s --no-progress-meter --parallel --parallel-max 16 -K "$cfg" >/dev/null 2>>"$LOGS/release-curl.log"
	: >"$out"
	while read -r app sha; do
		printf '%s %s %s\n' "$app" "$sha" "$(jq -r '.id // empty' "$RUN/art/$env-$app-$sha.out" 2>/dev/null)" >>"$out"
	done <"$list"
	[ "$(awk 'NF == 3' "$out" | wc -l)" = "$n" ] || die "storing artifacts for $env failed (see $RUN/art)"
}

# deploy_batch ENV REQS_FILE PARALLEL LOG: POST /api/releases for each line
# ("app id") of REQS_FILE, PARALLEL at once; LOG gets "code time_total".
deploy_batch() {
	local env=$1 reqs=$2 par=$3 log=$4 cfg="$RUN/deploy.cfg" app id i=0
	: >"$cfg"
	mkdir -p "$RUN/req"
	while read -r app id; do
		i=$((i + 1))
		printf '{"env":"%s","app":"%s","artifactId":"%s"}' "$env" "$app" "$id" >"$RUN/req/$env-$i.json"
		printf 'url = "%s/api/releases"\nheader = "Authorization: Bearer %s"\nheader = "Content-Type: application/json"\ndata-binary = "@%s"\noutput = "/dev/null"\nwrite-out = "%%{http_code} %%{time_total}\\n"\nnext\n' \
			"$AURL" "$TOKEN" "$RUN/req/$env-$i.json" >>"$cfg"
	done <"$reqs"
	sed -i '$d' "$cfg"
	curl -s --no-progress-meter --parallel --parallel-max "$par" -K "$cfg" >>"$log" 2>>"$LOGS/release-curl.log"
	rm -rf "$RUN/req"
}

# releases_of ENV APP: how many releases APP has (its newest seq).
releases_of() { api GET "/api/releases?env=$1&app=$2&limit=1" && jq -r '.[0].seq // 0' "$RUN/api.out"; }

# --- augerd ------------------------------------------------------------------
DATA="$RUN/augerd"
mkdir -p "$DATA"
"$AUGERD" --data "$DATA" --http 127.0.0.1:0 --ssh off >"$LOGS/release-augerd.log" 2>&1 &
AUGERD_PID=$!
for _ in $(seq 100); do
	[ -s "$DATA/http.addr" ] && [ -s "$DATA/admin.token" ] && break
	kill -0 "$AUGERD_PID" 2>/dev/null || die "augerd exited during startup (see $LOGS/release-augerd.log)"
	sleep 0.1
done
ADDR=$(tr -d ' \r\n' <"$DATA/http.addr")
case $ADDR in 127.0.0.1:[0-9]*) ;; *) die "augerd's http.addr is '$ADDR'" ;; esac
AURL="http://$ADDR"
TOKEN=$(tr -d ' \r\n' <"$DATA/admin.token")
for e in bench d10 deep; do
	api POST /api/envs "{\"name\":\"$e\"}"
	[ "$API_CODE" = 201 ] || die "POST /api/envs $e: $API_CODE $(cat "$RUN/api.out")"
done
say "augerd on $AURL; depth $DEPTH, $SEQ sequential deploys, burst $BURST, $OPS ops, $LISTS lists"

# --- 1. deploy latency (sequential) and throughput (burst) -------------------
printf 'web %s\nweb %s\n' "$(sha_of web-a)" "$(sha_of web-b)" >"$RUN/web.list"
push_artifacts bench "$RUN/web.list" "$RUN/web.ids"
mapfile -t WEB_IDS < <(awk '{ print $3 }' "$RUN/web.ids")
: >"$RUN/deploy.ms"
for i in $(seq 1 "$SEQ"); do
	api POST /api/releases "{\"env\":\"bench\",\"app\":\"web\",\"artifactId\":\"${WEB_IDS[$((i % 2))]}\"}"
	[ "$API_CODE" = 201 ] || die "deploy #$i: $API_CODE $(cat "$RUN/api.out")"
	jq -e '.releases[0].gitopsRef' "$RUN/api.out" >/dev/null || die "deploy #$i made no release: $(cat "$RUN/api.out")"
	echo "$API_MS" >>"$RUN/deploy.ms"
done
DEP_P50=$(percentile 50 "$RUN/deploy.ms") DEP_P99=$(percentile 99 "$RUN/deploy.ms")
say "sequential deploy: p50 $DEP_P50 ms, p99 $DEP_P99 ms"

: >"$RUN/burst.list"
for i in $(seq 1 "$BURST_APPS"); do
	printf 'svc-%d %s\nsvc-%d %s\n' "$i" "$(sha_of "svc-$i-a")" "$i" "$(sha_of "svc-$i-b")" >>"$RUN/burst.list"
done
push_artifacts bench "$RUN/burst.list" "$RUN/burst.ids"
: >"$RUN/burst.reqs"
for r in $(seq 0 $((BURST / BURST_APPS))); do
	awk -v r="$r" -v apps="$BURST_APPS" 'NR % 2 == r % 2 { print $1, $3 }' "$RUN/burst.ids" >>"$RUN/burst.reqs"
done
head -n "$BURST" "$RUN/burst.reqs" >"$RUN/burst.reqs.n"
t0=$(now_us)
deploy_batch bench "$RUN/burst.reqs.n" 64 "$RUN/burst.log"
t1=$(now_us)
BURST_OK=$(grep -c '^201 ' "$RUN/burst.log")
BURST_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e6 }')
DPS=$(awk -v n="$BURST_OK" -v s="$BURST_S" 'BEGIN { printf "%.0f", n / s }')
awk '{ printf "%.2f\n", $2 * 1000 }' "$RUN/burst.log" >"$RUN/burst.ms"
BURST_P50=$(percentile 50 "$RUN/burst.ms") BURST_P99=$(percentile 99 "$RUN/burst.ms")
BURST_COMMITS=$(($(git --git-dir="$DATA/repos/gitops-bench-apps.git" rev-list --count main) - SEQ - 1))
api GET "/api/status?env=bench"
BURST_REL=$(jq '[.apps | to_entries[] | select(.key != "web") | .value.seq] | add // 0' "$RUN/api.out")
say "burst: $BURST_OK/$BURST deploys answered 201 in ${BURST_S}s = $DPS deploys/s ($BURST_REL releases, the rest unchanged, in $BURST_COMMITS commits; answer p50 $BURST_P50 ms, p99 $BURST_P99 ms with 64 in flight)"

# --- 2. histories: app r with 10 releases in env d10, DEPTH in env deep -------
# (100 artifacts in rotation so that queued deploys of the same app never
# repeat the previous tree)
: >"$RUN/r.list"
for i in $(seq 1 100); do printf 'r %s\n' "$(sha_of "r-$i")" >>"$RUN/r.list"; done
push_artifacts d10 "$RUN/r.list" "$RUN/r10.ids"
push_artifacts deep "$RUN/r.list" "$RUN/rdeep.ids"
for i in $(seq 1 10); do
	id=$(sed -n "${i}p" "$RUN/r10.ids" | awk '{ print $3 }')
	api POST /api/releases "{\"env\":\"d10\",\"app\":\"r\",\"artifactId\":\"$id\"}"
	[ "$API_CODE" = 201 ] || die "deploy d10 #$i: $API_CODE"
done
t0=$(now_us)
have=0
while :; do
	have=$(releases_of deep r)
	[ "$have" -ge "$DEPTH" ] && break
	need=$((DEPTH - have))
	awk '{ print $1, $3 }' "$RUN/rdeep.ids" >"$RUN/rdeep.cycle"
	: >"$RUN/deep.reqs"
	while [ "$(wc -l <"$RUN/deep.reqs")" -lt "$need" ]; do cat "$RUN/rdeep.cycle" >>"$RUN/deep.reqs"; done
	head -n "$need" "$RUN/deep.reqs" >"$RUN/deep.reqs.n"
	deploy_batch deep "$RUN/deep.reqs.n" 16 "$RUN/deep.log"
	[ "$(releases_of deep r)" -gt "$have" ] || die "deploys into env deep make no progress (see $RUN/deep.log, $LOGS/release-augerd.log)"
	[ $((SECONDS - START)) -lt 900 ] || die "building $DEPTH releases takes too long (have $(releases_of deep r))"
done
t1=$(now_us)
DEPTH_REAL=$(releases_of deep r)
BUILD_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')
say "deep history: $DEPTH_REAL releases of app r in ${BUILD_S}s ($(awk -v n="$DEPTH_REAL" -v s="$BUILD_S" 'BEGIN { printf "%.0f", n / s }') deploys/s, 16 in flight, one app)"

# --- 3. augerd rollback and history at both depths ----------------------------
measure_augerd() { # env label
	local env=$1 l=$2 i n
	: >"$RUN/rb-$l.ms"
	# Alternate between the two newest deploys (a bare rollback walks one
	# release further back each time and runs out at depth 10).
	n=$(releases_of "$env" r)
	for i in $(seq 1 "$OPS"); do
		api POST /api/rollback "{\"env\":\"$env\",\"app\":\"r\",\"to\":$((n - 1 + i % 2))}"
		[ "$API_CODE" = 201 ] || die "rollback in $env: $API_CODE $(cat "$RUN/api.out")"
		echo "$API_MS" >>"$RUN/rb-$l.ms"
	done
	: >"$RUN/ls-$l.ms"
	: >"$RUN/lsdeep-$l.ms"
	n=$(releases_of "$env" r)
	for i in $(seq 1 "$LISTS"); do
		api GET "/api/releases?env=$env&app=r&limit=50"
		[ "$(jq length "$RUN/api.out")" -ge 10 ] || die "history of $env is short"
		echo "$API_MS" >>"$RUN/ls-$l.ms"
		api GET "/api/releases?env=$env&app=r&limit=50&offset=$((n / 2))"
		echo "$API_MS" >>"$RUN/lsdeep-$l.ms"
	done
}
measure_augerd d10 10
measure_augerd deep deep
say "augerd rollback p50: $(percentile 50 "$RUN/rb-10.ms") ms at 10, $(percentile 50 "$RUN/rb-deep.ms") ms at $DEPTH_REAL"

# --- 4. the Gimlet way: git http-backend behind lighttpd + fcgiwrap -----------
HB_ROOT="$RUN/hb"
mkdir -p "$HB_ROOT" "$RUN/www"
for e in d10 deep; do
	git clone -q --bare "$DATA/repos/gitops-$e-apps.git" "$HB_ROOT/$e.git"
	git -C "$HB_ROOT/$e.git" config http.receivepack true
	git -C "$HB_ROOT/$e.git" config gc.auto 0
	git -C "$HB_ROOT/$e.git" repack -adq
done
FCGI_SOCK="$SOCKDIR/fcgiwrap.sock"
env -i PATH=/usr/bin:/bin HOME="$HOME" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null \
	"$FCGIWRAP" -c "$FCGI_CHILDREN" -s "unix:$FCGI_SOCK" -p "$GIT_HTTP_BACKEND" \
	>"$LOGS/release-fcgiwrap.log" 2>&1 &
FCGI_PID=$!
for _ in $(seq 50); do [ -S "$FCGI_SOCK" ] && break; sleep 0.1; done
[ -S "$FCGI_SOCK" ] || die "fcgiwrap did not create its socket"
pick_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
	done
	return 1
}
for try in 1 2 3 4 5; do
	PORT=$(pick_port) || die "no free port"
	cat >"$RUN/lighttpd.conf" <<EOF
server.modules = ( "mod_alias", "mod_setenv", "mod_fastcgi" )
server.bind = "127.0.0.1"
server.port = $PORT
server.document-root = "$RUN/www"
server.errorlog = "$LOGS/release-lighttpd-error.log"
server.max-request-size = 1048576
alias.url = ( "/" => "$GIT_HTTP_BACKEND/" )
setenv.add-environment = ( "GIT_PROJECT_ROOT" => "$HB_ROOT", "GIT_HTTP_EXPORT_ALL" => "1", "REMOTE_USER" => "bench" )
fastcgi.server = ( "" => (( "socket" => "$FCGI_SOCK")) )
EOF
	"$LIGHTTPD" -D -f "$RUN/lighttpd.conf" >>"$LOGS/release-lighttpd.log" 2>&1 &
	LIGHTTPD_PID=$!
	up=0
	for _ in $(seq 50); do
		kill -0 "$LIGHTTPD_PID" 2>/dev/null || break
		if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/d10.git/info/refs?service=git-upload-pack"; then up=1; break; fi
		sleep 0.1
	done
	[ "$up" = 1 ] && break
	stop_pid "$LIGHTTPD_PID"
	LIGHTTPD_PID=""
done
[ -n "$LIGHTTPD_PID" ] || die "lighttpd did not start (see $LOGS/release-lighttpd*.log)"
HB="http://127.0.0.1:$PORT"
say "git http-backend on $HB"

# Rendered files of two releases, to write in the git deploys.
for v in a b; do
	mkdir -p "$RUN/tmpl-$v"
	git --git-dir="$HB_ROOT/d10.git" archive "main~$([ $v = a ] && echo 0 || echo 1)" r | tar -x -C "$RUN/tmpl-$v"
done

git_ms() { # label cmd...: runs cmd, appends its wall time (ms) to RUN/label.ms
	local l=$1 t0 t1
	shift
	t0=$(now_us)
	"$@" >>"$LOGS/release-git.log" 2>&1 || die "git step failed ($l): $* (see $LOGS/release-git.log)"
	t1=$(now_us)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", (b - a) / 1000 }' >>"$RUN/$l.ms"
}
git_deploy() { # repo n
	local d="$RUN/gd" v
	v=$([ $(($2 % 2)) = 0 ] && echo a || echo b)
	rm -rf "$d"
	git clone -q --depth 1 "$HB/$1.git" "$d" &&
		rm -rf "$d/r" && cp -r "$RUN/tmpl-$v/r" "$d/r" && date +%s%N >"$d/r/release.json" &&
		git -C "$d" add -A && git -C "$d" commit -q -m "[gimlet] deploy r $2" &&
		git -C "$d" push -q origin HEAD:main
}
git_rollback() { # warm clone dir: revert the app's commits newer than the one before the newest
	local w=$1 target newer
	git -C "$w" pull -q --ff-only origin main || return 1
	target=$(git -C "$w" log --format=%H -n 2 -- r/ | tail -n 1)
	newer=$(git -C "$w" rev-list "$target..HEAD" -- r/)
	# shellcheck disable=SC2086
	git -C "$w" revert --no-edit $newer >/dev/null && git -C "$w" push -q origin HEAD:main
}
measure_git() { # repo label
	local repo=$1 l=$2 i w="$RUN/warm-$2" n
	: >"$RUN/gdep-$l.ms"
	: >"$RUN/grb-$l.ms"
	: >"$RUN/gls-$l.ms"
	: >"$RUN/glsdeep-$l.ms"
	for i in $(seq 1 "$OPS"); do git_ms "gdep-$l" git_deploy "$repo" "$i"; done
	git clone -q "$HB/$repo.git" "$w" || die "clone of $repo"
	for i in $(seq 1 "$OPS"); do git_ms "grb-$l" git_rollback "$w"; done
	n=$(git -C "$w" rev-list --count HEAD -- r/)
	for i in $(seq 1 "$LISTS"); do
		git_ms "gls-$l" git -C "$w" log -n 50 --format='%H %ct %s' -- r/
		git_ms "glsdeep-$l" git -C "$w" log -n 50 --skip "$((n / 2))" --format='%H %ct %s' -- r/
	done
}
measure_git d10 10
say "git at depth 10 done"
measure_git deep deep
say "git at depth $DEPTH_REAL done"

# --- 5. the table ---------------------------------------------------------------
P() { percentile "$1" "$RUN/$2.ms"; }
row() { # label augerd-file git-file
	local a50 a99 g50 g99
	a50=$(P 50 "$2") a99=$(P 99 "$2")
	if [ -n "$3" ]; then g50=$(P 50 "$3") g99=$(P 99 "$3"); else g50="-" g99="-"; fi
	printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$a50" "$a99" "$g50" "$g99" "$(ratio "$a50" "$g50")"
}
{
	echo "# Release engine: augerd vs the Gimlet way (git CLI + git http-backend)"
	echo
	echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -srm), $NCPU CPUs, load at start $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)."
	echo "augerd: $("$AUGERD" --version 2>/dev/null | head -n 1 || echo '?'); $(git --version); lighttpd + fcgiwrap -c $FCGI_CHILDREN."
	echo "Times in ms (augerd: curl time_total of the API call; git: wall time of the git commands)."
	echo "Deep history: $DEPTH_REAL releases of one app (asked: $DEPTH), built in ${BUILD_S}s."
	echo "Samples: $SEQ sequential deploys, $OPS rollbacks and git operations, $LISTS history reads per depth."
	echo
	echo "| operation | augerd p50 | augerd p99 | git p50 | git p99 | git/augerd (p50) |"
	echo "|---|---:|---:|---:|---:|---:|"
	row "deploy (sequential; git: clone --depth 1, write, commit, push; depth 10)" deploy gdep-10
	row "deploy, git on the deep repo" deploy gdep-deep
	row "rollback, 10 releases in history" rb-10 grb-10
	row "rollback, $DEPTH_REAL releases in history" rb-deep grb-deep
	row "history, newest 50 (10 releases)" ls-10 gls-10
	row "history, newest 50 ($DEPTH_REAL releases)" ls-deep gls-deep
	row "history, 50 from the middle (10 releases)" lsdeep-10 glsdeep-10
	row "history, 50 from the middle ($DEPTH_REAL releases)" lsdeep-deep glsdeep-deep
	echo
	echo "Deploy throughput into one env: **$DPS deploys/s** ($BURST_OK of $BURST answered 201 in ${BURST_S}s, 64 in flight over $BURST_APPS apps: $BURST_REL releases (the rest unchanged) in $BURST_COMMITS commits; answer time p50 $BURST_P50 ms, p99 $BURST_P99 ms)."
	echo
	echo "Notes: augerd rolls back alternately to the two newest deploys; the git rollback works on a warm"
	echo "full clone (pull, git log -- r/ to find the target, git revert of the newer commit, push);"
	echo "the git history reads a warm clone without fetching (Gimlet's cached clone); augerd's numbers include HTTP."
	echo "Rollback depth scaling (augerd): $(ratio "$(P 50 rb-10)" "$(P 50 rb-deep)") from 10 to $DEPTH_REAL releases; git: $(ratio "$(P 50 grb-10)" "$(P 50 grb-deep)")."
	echo "Run time: $((SECONDS - START)) s."
} >"$RESULTS"
cat "$RESULTS"
