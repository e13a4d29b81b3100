# shellcheck shell=bash
# Helpers for the push-to-deploy and gitops-push tests (test_push_deploy.sh,
# test_gitops_push.sh). Source after lib.sh:
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/push_lib.sh"
#
# Fixtures live in tests/integration/fixtures/push/. Needs jq.

PUSH_FIX=$ROOT/tests/integration/fixtures/push

command -v jq >/dev/null 2>&1 || die "jq is needed by the push tests"

# lib.sh's exit trap ends with "<test>: N passed, N failed"; this one runs
# it, then prints a plain last line "N passed, N failed".
_pl_exit() {
	local rc=$?
	# lib.sh's _cleanup exits; run it in a subshell (with $? = rc), then
	# print the plain line.
	(exit $rc)
	( _cleanup )
	rc=$?
	[ "${_DONE:-0}" = 1 ] || FAILED=$((FAILED + 1))
	echo "$PASSED passed, $FAILED failed"
	_FINISHED=1
	# Reap what the subshell stopped (it cannot wait for our children).
	wait 2>/dev/null
	[ "$FAILED" -eq 0 ] && [ $rc -eq 0 ] && exit 0
	exit 1
}
trap _pl_exit EXIT

# section TITLE
section() { printf -- '-- %s\n' "$1"; }

# jf FILTER: jq -r FILTER on stdin, quiet on bad input.
jf() { jq -r "$1" 2>/dev/null; }

# pl_env NAME: POST /api/envs; dies unless 201 (or 409 when it exists).
pl_env() {
	api POST /api/envs "{\"name\":\"$1\"}"
	case $API_STATUS in
	200 | 201) ;;
	*) die "POST /api/envs $1 -> $API_STATUS" "$API_BODY" ;;
	esac
}

# pl_token NAME ROLE ENV...: prints a new token; dies on failure.
pl_token() {
	local name=$1 role=$2 envs body
	shift 2
	envs=$(printf '%s\n' "$@" | jq -R . | jq -cs 'map(select(. != ""))')
	body=$(jq -cn --arg n "$name" --arg r "$role" --argjson e "$envs" '{name: $n, role: $r, envs: $e}')
	api POST /api/tokens "$body"
	local tok
	tok=$(printf '%s' "$API_BODY" | jf '.token // empty')
	[ "$API_STATUS" = 201 ] || [ "$API_STATUS" = 200 ] || die "POST /api/tokens $name -> $API_STATUS" "$API_BODY"
	[ -n "$tok" ] || die "POST /api/tokens $name: no token" "$API_BODY"
	printf '%s' "$tok"
}

# pl_push_as TOKEN DIR GIT-PUSH-ARGS...: git push from DIR with TOKEN.
# Sets PUSH_OUT (stdout+stderr) and PUSH_RC; prints nothing.
pl_push_as() {
	local tok=$1 dir=$2
	shift 2
	PUSH_OUT=$(git_as "$tok" -C "$dir" push "$@" 2>&1)
	# shellcheck disable=SC2034 # read by the test files
	PUSH_RC=$?
	PUSH_OUT=$(printf '%s' "$PUSH_OUT" | tr -d '\r')
}

# pl_push DIR ARGS...: pl_push_as with the admin token.
pl_push() { pl_push_as "$TOKEN" "$@"; }

# pl_remote_lines: the "remote:" lines of the last push.
pl_remote_lines() { printf '%s\n' "$PUSH_OUT" | grep '^remote:'; }

# pl_ref REPO [REF]: the server's value of REF (default refs/heads/main).
pl_ref() { server_ref "$1" "${2:-refs/heads/main}"; }

# pl_gref ENV: the tip of gitops-ENV-apps main.
pl_gref() { pl_ref "gitops-$1-apps"; }

# pl_objects REPO: number of files under the bare repository's objects/.
pl_objects() { find "$DATA/repos/$1.git/objects" -type f | wc -l | tr -d ' '; }

# pl_show ENV PATH [REV]: a file of gitops-ENV-apps at REV (default main).
pl_show() { server_git "gitops-$1-apps" show "${3:-refs/heads/main}:$2" 2>/dev/null; }

# pl_has ENV PATH [REV]: exit 0 when PATH (file or folder) exists there.
pl_has() { server_git "gitops-$1-apps" cat-file -e "${3:-refs/heads/main}:$2" 2>/dev/null; }

# pl_images FILE-TEXT (stdin): every container image of the YAML documents.
pl_images() {
	yq -r '.. | objects | select(has("image")) | .image | strings' 2>/dev/null
}

# pl_image ENV APP [REV]: the images of APP/deployment.yaml, one a line.
pl_image() { pl_show "$1" "$2/deployment.yaml" "${3:-}" | pl_images; }

# pl_releases ENV: GET /api/releases?env=ENV&all=true&limit=50 (the body).
pl_releases() {
	api GET "/api/releases?env=$1&all=true&limit=50"
	printf '%s' "$API_BODY"
}

# pl_latest ENV APP: the newest release of APP in ENV (compact JSON, or "").
pl_latest() {
	pl_releases "$1" | jq -c --arg a "$2" '[.[]? | select(.app == $a)][0] // empty' 2>/dev/null
}

# pl_nrel ENV APP: number of releases of APP in ENV.
pl_nrel() { pl_releases "$1" | jq --arg a "$2" '[.[]? | select(.app == $a)] | length' 2>/dev/null; }

# pl_status ENV: GET /api/status?env=ENV (the body).
pl_status() {
	api GET "/api/status?env=$1"
	printf '%s' "$API_BODY"
}

# pl_fixture NAME DEST: copy fixtures/push/NAME to DEST (dirs made).
pl_fixture() {
	mkdir -p "$(dirname "$2")"
	cp "$PUSH_FIX/$1" "$2" || die "fixture $1 missing"
}

# pl_commit DIR MSG: commit everything in DIR (distinct dates, like commit_files).
pl_commit() { commit_files "$1" "$2"; }

# pl_hooks_dir: DATA/hooks/validate.d (created).
pl_hooks_dir() {
	mkdir -p "$DATA/hooks/validate.d"
	printf '%s' "$DATA/hooks/validate.d"
}

# pl_hook NAME FIXTURE: install fixtures/push/hooks/FIXTURE as
# DATA/hooks/validate.d/NAME (mode 0755), @OUT@ replaced by $HOOK_OUT.
HOOK_OUT=${T}/hook-out
mkdir -p "$HOOK_OUT"
pl_hook() {
	local d
	d=$(pl_hooks_dir)
	if ! { sed "s#@OUT@#$HOOK_OUT#g" "$PUSH_FIX/hooks/$2" >"$d/$1.tmp" &&
		chmod 0755 "$d/$1.tmp" && mv -f "$d/$1.tmp" "$d/$1"; }; then
		die "installing hook $1"
	fi
}

# pl_unhook: remove every installed hook.
pl_unhook() { rm -rf "$DATA/hooks/validate.d"; }

# pl_clone_gitops ENV DIR [TOKEN]: clone gitops-ENV-apps into DIR.
pl_clone_gitops() {
	local out
	out=$(git_as "${3:-$TOKEN}" clone -q "$URL/gitops-$1-apps.git" "$2" 2>&1) ||
		die "clone gitops-$1-apps" "$out"
}

# pl_reset DIR: make DIR's main the server's main again (after a refusal).
pl_reset() {
	g -C "$1" fetch -q origin 2>/dev/null
	git -C "$1" reset -q --hard origin/main
	git -C "$1" clean -q -fdx
}

# pl_work NAME DIR: a clone of app repo NAME in DIR, on main (unborn when
# the repository is empty).
pl_work() {
	local out
	out=$(g clone -q "$URL/$1.git" "$2" 2>&1) || die "clone $1" "$out"
	git -C "$2" rev-parse -q --verify HEAD >/dev/null 2>&1 ||
		git -C "$2" symbolic-ref HEAD refs/heads/main
}

# pl_folder ENV APP [REV]: every .yaml file of APP/ in gitops-ENV-apps,
# joined as one multi-document stream.
pl_folder() {
	local rev=${3:-refs/heads/main} f
	server_git "gitops-$1-apps" ls-tree --name-only "$rev:$2" 2>/dev/null | grep -E '\.ya?ml$' |
		while read -r f; do
			printf -- '---\n'
			server_git "gitops-$1-apps" show "$rev:$2/$f"
			printf '\n'
		done
}

# pl_parent REPO REV: the first parent of REV in the bare REPO.
pl_parent() { server_git "$1" rev-parse -q --verify "$2^" 2>/dev/null; }
