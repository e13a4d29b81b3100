# shellcheck shell=bash
# Helpers for the integration tests. Source it from a test file:
#
#   . "$(dirname "$0")/lib.sh"
#   start_daemon
#   ok "something" ... / fail "something" "details"
#
# Every test file can run alone (`bash tests/integration/test_x.sh`). The
# binaries come from the repository's bin/, or from $AUGERD / $AUGER.
# KEEP_TMP=1 keeps the scratch directory (and prints where it is).
# AUGER_RESULTS_FILE, when set (run.sh sets it), receives "PASSED FAILED".

set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
AUGERD=${AUGERD:-$ROOT/bin/augerd}
AUGER=${AUGER:-$ROOT/bin/auger}
GOGIT_CLIENT=${GOGIT_CLIENT:-$ROOT/build/interop/gogit-client}
FLUXBYTES=${FLUXBYTES:-$ROOT/build/interop/fluxbytes}
# The SSH listener: a free loopback port unless AUGERD_SSH says otherwise
# (AUGERD_SSH=off disables it); never a fixed port, so runs do not collide.
# Extra daemon arguments: AUGERD_ARGS, word-split on purpose.
AUGERD_ARGS=${AUGERD_ARGS:-}
# Seconds any single git/curl invocation may take before it is killed.
CMD_TIMEOUT=${CMD_TIMEOUT:-90}

TEST_NAME=$(basename "$0" .sh)
PASSED=0
FAILED=0
_PIDS=()          # background processes this test started (daemons, jobs)
_FINISHED=0

T=$(mktemp -d "${TMPDIR:-/tmp}/auger-it-$TEST_NAME.XXXXXX") || { echo "mktemp failed" >&2; exit 1; }

# Isolate git from the user's and the system's configuration.
export HOME="$T/home"
mkdir -p "$HOME"
export GIT_CONFIG_NOSYSTEM=1
unset GIT_CONFIG_GLOBAL GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY \
	GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_PROTOCOL GIT_TRACE GIT_TRACE_PACKET \
	GIT_TRACE_CURL GIT_ASKPASS SSH_ASKPASS http_proxy https_proxy HTTP_PROXY \
	HTTPS_PROXY ALL_PROXY all_proxy 2>/dev/null || true
export NO_PROXY='*' no_proxy='*'
# A CA bundle from the environment would override http.sslCAInfo.
unset GIT_SSL_CAINFO GIT_SSL_CAPATH
export GIT_TERMINAL_PROMPT=0
export GIT_AUTHOR_NAME="Auger Test" GIT_AUTHOR_EMAIL="test@auger.invalid"
export GIT_COMMITTER_NAME="Auger Test" GIT_COMMITTER_EMAIL="test@auger.invalid"
export GIT_AUTHOR_DATE="1700000000 +0000" GIT_COMMITTER_DATE="1700000000 +0000"
git config --global init.defaultBranch main
git config --global advice.detachedHead false
git config --global core.autocrlf false
git config --global gc.auto 0
git config --global fetch.writeCommitGraph false
git config --global credential.helper ''
LC_ALL=C
export LC_ALL

# ---------------------------------------------------------------- results

_red() { if [ -t 1 ]; then printf '\033[31m%s\033[0m' "$1"; else printf '%s' "$1"; fi; }

ok() {
	PASSED=$((PASSED + 1))
	printf 'ok   %s\n' "$1"
}

# fail DESC [DETAILS...]
fail() {
	FAILED=$((FAILED + 1))
	printf '%s %s\n' "$(_red FAIL)" "$1"
	shift
	local d
	for d in "$@"; do
		printf '%s\n' "$d" | head -c 4000 | sed 's/^/       | /'
	done
}

# check DESC CMD... : ok when CMD exits 0. CMD's output goes to the failure.
check() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then ok "$desc"; else fail "$desc" "command: $*" "$out"; fi
}

# check_not DESC CMD... : ok when CMD exits non-zero.
check_not() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then fail "$desc" "command unexpectedly succeeded: $*" "$out"; else ok "$desc"; fi
}

# check_eq DESC EXPECTED GOT
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "expected: $2" "got:      $3"; fi
}

# check_match DESC EXTENDED-REGEX TEXT
check_match() {
	if printf '%s' "$3" | grep -Eq -- "$2"; then ok "$1"; else fail "$1" "expected to match: $2" "got: $3"; fi
}

# die MSG: a setup step failed; the rest of the file cannot run.
die() {
	FAILED=$((FAILED + 1))
	printf '%s %s (setup failed, stopping %s)\n' "$(_red FAIL)" "$1" "$TEST_NAME"
	shift
	local d
	for d in "$@"; do printf '%s\n' "$d" | head -c 4000 | sed 's/^/       | /'; done
	_DONE=1
	exit 1
}

# _is_child PID: PID is a live (not zombie) child of this shell.
_is_child() {
	local st
	st=$(ps -o ppid=,stat= -p "$1" 2>/dev/null) || return 1
	# shellcheck disable=SC2086 # split "PPID STAT" on purpose
	set -- $st
	[ "${1:-}" = "$$" ] && [ "${2#Z}" = "${2:-}" ]
}

_cleanup() {
	local rc=$? p i
	[ "$_FINISHED" = 1 ] && return
	_FINISHED=1
	# Stop what we started, newest first, by PID only.
	for ((i = ${#_PIDS[@]} - 1; i >= 0; i--)); do
		p=${_PIDS[$i]}
		# Only our own children still running (a reaped PID may be reused).
		_is_child "$p" || continue
		kill -TERM "$p" 2>/dev/null
	done
	for ((i = ${#_PIDS[@]} - 1; i >= 0; i--)); do
		p=${_PIDS[$i]}
		_is_child "$p" || continue
		local n=0
		while _is_child "$p" && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
		_is_child "$p" && kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if [ "$FAILED" -gt 0 ] && [ -n "${DAEMON_LOG:-}" ] && [ -s "$DAEMON_LOG" ]; then
		echo "--- last lines of the daemon log ($DAEMON_LOG)"
		tail -n 40 "$DAEMON_LOG" | cut -c1-300 | sed 's/^/       | /'
	fi
	# An unexpected exit (not via finish or die) counts as a failure.
	if [ "${_DONE:-0}" != 1 ]; then
		FAILED=$((FAILED + 1))
		echo "$(_red FAIL) $TEST_NAME exited early with status $rc"
	fi
	echo "$TEST_NAME: $PASSED passed, $FAILED failed"
	[ -n "${AUGER_RESULTS_FILE:-}" ] && echo "$PASSED $FAILED" >"$AUGER_RESULTS_FILE"
	if [ "${KEEP_TMP:-0}" = 1 ]; then
		echo "kept $T"
	else
		rm -rf "$T"
	fi
	[ "$FAILED" -eq 0 ] || exit 1
	exit 0
}
trap _cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# finish: call at the end of a test file.
finish() {
	_DONE=1
	exit 0
}

# track PID: stop this process on exit.
track() { _PIDS+=("$1"); }

# ---------------------------------------------------------------- daemon

# start_daemon [DATA_DIR]: start augerd on a free loopback port and set
# DATA, ADDR (127.0.0.1:PORT), URL (http://ADDR), TOKEN (admin), DAEMON_PID,
# DAEMON_LOG. Dies when the daemon does not come up within ~10 s.
start_daemon() {
	DATA=${1:-$T/data}
	mkdir -p "$DATA"
	[ -x "$AUGERD" ] || die "augerd binary not found at $AUGERD (run make)"
	DAEMON_LOG=$T/augerd.$(date +%s%N).log
	rm -f "$DATA/http.addr"
	# shellcheck disable=SC2086
	"$AUGERD" --data "$DATA" --http 127.0.0.1:0 --ssh "${AUGERD_SSH:-127.0.0.1:0}" $AUGERD_ARGS 2>"$DAEMON_LOG" >>"$DAEMON_LOG" </dev/null &
	DAEMON_PID=$!
	track "$DAEMON_PID"
	local i=0
	while [ $i -lt 100 ]; do
		# The file is complete once it ends with a newline.
		if [ -s "$DATA/http.addr" ] && [ "$(tail -c 1 "$DATA/http.addr" | od -An -c | tr -d ' ')" = '\n' ]; then
			break
		fi
		kill -0 "$DAEMON_PID" 2>/dev/null || die "augerd exited during startup" "$(tail -n 30 "$DAEMON_LOG")"
		sleep 0.1
		i=$((i + 1))
	done
	[ $i -lt 100 ] || die "augerd did not write $DATA/http.addr within 10s" "$(tail -n 30 "$DAEMON_LOG")"
	ADDR=$(head -n 1 "$DATA/http.addr")
	case $ADDR in
	127.0.0.1:[0-9]*) ;;
	*) die "http.addr does not hold 127.0.0.1:PORT" "got: $ADDR" ;;
	esac
	# TLS_CA: the daemon serves HTTPS (--tls-cert), signed by that CA.
	if [ -n "${TLS_CA:-}" ]; then URL="https://$ADDR"; else URL="http://$ADDR"; fi
	[ -s "$DATA/admin.token" ] || die "no $DATA/admin.token after start"
	TOKEN=$(head -n 1 "$DATA/admin.token")
	[ -n "$TOKEN" ] || die "empty admin token"
	# Wait until the API answers (the listener may be up just before routing).
	i=0
	while [ $i -lt 50 ]; do
		if [ "$(curl -s ${TLS_CA:+--cacert "$TLS_CA"} -o /dev/null -w '%{http_code}' --max-time 2 -H "Authorization: Bearer $TOKEN" "$URL/api/repos")" != 000 ]; then
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	die "augerd at $ADDR does not answer HTTP" "$(tail -n 30 "$DAEMON_LOG")"
}

# stop_daemon: SIGTERM, wait up to 10 s. Returns the daemon's exit status
# (or 124 when it had to be killed).
stop_daemon() {
	local p=$DAEMON_PID n=0 rc
	kill -TERM "$p" 2>/dev/null || return 125
	while kill -0 "$p" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
	if kill -0 "$p" 2>/dev/null; then
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
		return 124
	fi
	wait "$p"
	rc=$?
	return $rc
}

daemon_alive() { kill -0 "$DAEMON_PID" 2>/dev/null; }

# ---------------------------------------------------------------- clients

# g ARGS...: git authenticated with the admin token (Bearer).
g() { git_as "$TOKEN" "$@"; }

# git_as TOKEN ARGS...: git authenticated with TOKEN.
git_as() {
	local tok=$1
	shift
	timeout -k 5 "$CMD_TIMEOUT" git -c credential.helper= -c "http.extraHeader=Authorization: Bearer $tok" "$@"
}

# git_noauth ARGS...: git with no credentials at all.
git_noauth() { timeout -k 5 "$CMD_TIMEOUT" git -c credential.helper= "$@"; }

# api METHOD PATH [JSON] [TOKEN]: sets API_STATUS and API_BODY.
api() {
	local method=$1 path=$2 body=${3:-} tok=${4-$TOKEN}
	local args=(-s -o "$T/api.body" -w '%{http_code}' --max-time 30 -X "$method")
	[ -n "${TLS_CA:-}" ] && args+=(--cacert "$TLS_CA")
	[ -n "$tok" ] && args+=(-H "Authorization: Bearer $tok")
	[ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
	API_STATUS=$(curl "${args[@]}" "$URL$path")
	API_BODY=$(cat "$T/api.body" 2>/dev/null)
}

# json_str KEY < JSON: the string value of a top-level KEY ("" when absent).
json_str() {
	if command -v jq >/dev/null 2>&1; then
		jq -r --arg k "$1" 'if type == "object" and (.[$k] | type) == "string" then .[$k] else "" end' 2>/dev/null
	else
		sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\\([^\"]*\\)\".*/\\1/p" | head -n 1
	fi
}

# json_valid < JSON: exit 0 when the input is a JSON object.
json_valid() {
	if command -v jq >/dev/null 2>&1; then
		jq -e 'type == "object"' >/dev/null 2>&1
	else
		local s
		s=$(cat)
		case $s in "{"*"}") return 0 ;; *) return 1 ;; esac
	fi
}

# create_repo NAME: via the API, dies on failure.
create_repo() {
	api POST /api/repos "{\"name\":\"$1\"}"
	[ "$API_STATUS" = 201 ] || die "POST /api/repos $1 -> $API_STATUS" "$API_BODY"
}

# server_git NAME ARGS...: git on the bare repository inside DATA.
server_git() {
	local name=$1
	shift
	git --git-dir="$DATA/repos/$name.git" "$@"
}

# server_ref NAME REF: the ref's value on the server ("" when absent).
server_ref() { server_git "$1" rev-parse -q --verify "$2" 2>/dev/null; }

# new_work DIR NAME: a local non-bare repo whose origin is NAME on the daemon.
new_work() {
	git init -q -b main "$1" && git -C "$1" remote add origin "$URL/$2.git"
}

# commit_files DIR MSG [FILE=CONTENT ...]: write files and commit everything.
# Bumps the commit date so successive commits get distinct ids.
_TICK=1700000000
commit_files() {
	local dir=$1 msg=$2 kv
	shift 2
	for kv in "$@"; do
		mkdir -p "$(dirname "$dir/${kv%%=*}")"
		printf '%s\n' "${kv#*=}" >"$dir/${kv%%=*}"
	done
	_TICK=$((_TICK + 60))
	git -C "$dir" add -A &&
		GIT_AUTHOR_DATE="$_TICK +0000" GIT_COMMITTER_DATE="$_TICK +0000" \
			git -C "$dir" commit -q --allow-empty -m "$msg"
}

# two_commits DIR: commits "first" and "second" of 40 small files each, the
# history the fetch-cache suites clone (enough objects for a real pack).
two_commits() {
	local i
	for i in $(seq 1 40); do printf 'app %d\nimage: v1\n' "$i" >"$1/f$i.yaml"; done
	commit_files "$1" "first" || return 1
	for i in $(seq 1 40); do printf 'app %d\nimage: v2\n' "$i" >"$1/f$i.yaml"; done
	commit_files "$1" "second"
}

# tree_diff A B: compare two work trees, ignoring .git.
tree_diff() { diff -r -q --exclude=.git "$1" "$2"; }

# count_files DIR: number of regular files below DIR.
count_files() { find "$1" -type f | wc -l | tr -d ' '; }

# need_interop: build the interop clients (tests/interop/build.sh) unless
# they exist; dies when the build fails.
need_interop() {
	if [ ! -x "$GOGIT_CLIENT" ] || [ ! -x "$FLUXBYTES" ]; then
		local out
		out=$(bash "$ROOT/tests/interop/build.sh" 2>&1) || die "building the interop clients failed" "$out"
	fi
}
