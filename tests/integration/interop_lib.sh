# shellcheck shell=bash disable=SC2034 # CLIENT_* are set by the callers
# The interop case list (tests/interop/README.md), run against one client.
# Source lib.sh and ssh_lib.sh first, then this file; set
#
#   CLIENT=name                  as printed in every result line
#   CLIENT_CMD=(prog args...)    the driver (tests/interop/<client>/)
#   CLIENT_SSH=""                or why the client has no SSH transport
#   CLIENT_KEY=ed25519           the SSH key type it reads (ecdsa-pem: PEM)
#   client_cant CASE TRANSPORT   prints why the client cannot do CASE, or
#                                nothing when it can
#
# and call interop_main. One daemon serves both transports; each transport
# gets its own copy of the history (repository "interop-http", ...), so a
# push case over one cannot disturb the other. Every driver call has a
# timeout (CASE_TIMEOUT, PUSH_TIMEOUT for pushes): a hung client fails its
# case, not the run. A case the client cannot do is printed as
# "skip CLIENT CASE over TRANSPORT: reason" and counted as neither.

CASE_TIMEOUT=${CASE_TIMEOUT:-60}
# Short on purpose: a push that hangs waits for a report that never comes.
PUSH_TIMEOUT=${PUSH_TIMEOUT:-15}
CLIENT_SSH=${CLIENT_SSH:-}
CLIENT_KEY=${CLIENT_KEY:-ed25519}
GIT_DRIVER=$ROOT/tests/interop/git/driver.sh
SKIPPED=0
declare -A MATRIX=()	# "transport case" -> pass | FAIL | skip
CASES=(ls-remote-v1 ls-remote-v2 clone annotated-tags single-branch depth-1
	deepen deepen-relative shallow-since shallow-exclude multi-want-depth
	fetch-new push-new-branch push-ff push-non-ff push-force push-delete
	push-tag)

# skip_client REASON: the client cannot be installed; nothing runs.
skip_client() {
	printf 'skip %s: %s\n' "$CLIENT" "$1"
	finish
}

skip() {
	SKIPPED=$((SKIPPED + 1))
	printf 'skip %s %s over %s: %s\n' "$CLIENT" "$2" "$1" "$3"
}

# ---------------------------------------------------------------- setup

# _key NAME: a key pair of CLIENT_KEY's type in $T/keys/NAME.
_key() {
	rm -f "$T/keys/$1" "$T/keys/$1.pub"
	case $CLIENT_KEY in
	ecdsa-pem) ssh-keygen -q -t ecdsa -b 256 -m PEM -N '' -C "$1@auger-test" -f "$T/keys/$1" </dev/null >/dev/null ;;
	*) ssh-keygen -q -t "$CLIENT_KEY" -N '' -C "$1@auger-test" -f "$T/keys/$1" </dev/null >/dev/null ;;
	esac || die "ssh-keygen $CLIENT_KEY failed"
}

# _history DIR: the history every case reads, made with git in DIR:
#   c1 (tag v0, lightweight) - c2 (tag v1) - c3 (branch old) - c4
#   side: s1 - s2 - s3 forked at c4, merged by c7
#   main: c4 - c5 (tag v2) - c6 (branch far) - c7 (merge of side) - c8
_history() {
	local w=$1 i
	git init -q -b main "$w" || return 1
	for i in 1 2 3 4; do
		commit_files "$w" "c$i" "main.txt=c$i" "dir/c$i.txt=$i" || return 1
	done
	git -C "$w" tag v0 HEAD~3 &&
		git -C "$w" tag -a v1 -m "release v1" HEAD~2 &&
		git -C "$w" branch old HEAD~1 &&
		git -C "$w" checkout -q -b side || return 1
	for i in 1 2 3; do
		commit_files "$w" "s$i" "side.txt=s$i" || return 1
	done
	git -C "$w" checkout -q main || return 1
	commit_files "$w" "c5" "main.txt=c5" && git -C "$w" tag -a v2 -m "release v2" &&
		commit_files "$w" "c6" "main.txt=c6" && git -C "$w" branch far &&
		_TICK=$((_TICK + 60)) &&
		GIT_AUTHOR_DATE="$_TICK +0000" GIT_COMMITTER_DATE="$_TICK +0000" \
			git -C "$w" merge -q --no-ff -m "c7 merge side" side &&
		commit_files "$w" "c8" "main.txt=c8"
}

# interop_setup: the daemon, the credentials (admin and deploy, token and
# key), the history, and one repository per transport holding it.
interop_setup() {
	ssh_start_daemon
	_key admin
	add_key interop-admin admin '["*"]' "$T/keys/admin"
	_key deploy
	add_key interop-deploy deploy '["*"]' "$T/keys/deploy"
	add_token interop-deploy deploy '["*"]'
	DEPLOY_TOKEN=$NEW_TOKEN
	# libgit2 checks host keys against ~/.ssh/known_hosts (HOME is the test's).
	mkdir -p "$HOME/.ssh" && cp "$KNOWN_HOSTS" "$HOME/.ssh/known_hosts"
	_history "$T/hist" >/dev/null || die "making the history with git"
	local tr out
	for tr in http ssh; do
		create_repo "interop-$tr"
		out=$(g -C "$T/hist" push -q "$URL/interop-$tr.git" main old side far v0 v1 v2 2>&1) ||
			die "pushing the history to interop-$tr" "$out"
	done
}

# ---------------------------------------------------------------- helpers

# url TRANSPORT: the URL of this transport's repository.
url() {
	if [ "$1" = ssh ]; then ssh_url "interop-ssh"; else printf '%s/interop-http.git' "$URL"; fi
}

# bare TRANSPORT: file:// URL of the same repository, for git's own answer.
bare() { printf 'file://%s/repos/interop-%s.git' "$DATA" "$1"; }

# drive CRED TIMEOUT ARGS...: the client's driver with the admin or deploy
# credentials; its output (both streams) in OUT, exit status in RC (124:
# timed out).
drive() {
	local cred=$1 limit=$2
	shift 2
	OUT=$(AUGER_TOKEN=$([ "$cred" = admin ] && echo "$TOKEN" || echo "$DEPLOY_TOKEN") \
		AUGER_SSH_KEY=$T/keys/$cred AUGER_KNOWN_HOSTS=$KNOWN_HOSTS \
		timeout -k 5 "$limit" "${CLIENT_CMD[@]}" "$@" 2>&1)
	RC=$?
	[ $RC -eq 124 ] || [ $RC -eq 137 ] && OUT="timed out after ${limit}s${OUT:+: $OUT}"
	return $RC
}

# reference ARGS...: the git CLI's driver against git's own upload-pack
# (file://): what a case should end with.
reference() { timeout -k 5 "$CMD_TIMEOUT" sh "$GIT_DRIVER" "$@" >/dev/null 2>&1; }

# shallow_state DIR: the remote branches, the commits they reach and the
# shallow list: what a shallow case compares with git's answer.
shallow_state() {
	git -C "$1" for-each-ref --format='%(objectname) %(refname)' refs/remotes/origin | grep -v ' refs/remotes/origin/HEAD$'
	echo "commits:"
	git -C "$1" rev-list --remotes=origin 2>&1 | sort
	echo "shallow:"
	sort "$1/.git/shallow" 2>/dev/null
}

# server_state TRANSPORT: refs as a full clone should hold them.
server_refs() {
	server_git "interop-$1" for-each-ref --format='%(objectname) %(refname)' refs/heads |
		sed 's| refs/heads/| refs/remotes/origin/|'
	server_git "interop-$1" for-each-ref --format='%(objectname) %(objecttype) %(refname)' refs/tags
}
clone_refs() {
	git -C "$1" for-each-ref --format='%(objectname) %(refname)' refs/remotes/origin | grep -v ' refs/remotes/origin/HEAD$'
	git -C "$1" for-each-ref --format='%(objectname) %(objecttype) %(refname)' refs/tags
}

# new_commit DIR PARENT MSG: a commit on PARENT adding one file, made with
# git in the client's repository (plumbing only: no index, no work tree).
new_commit() {
	local dir=$1 parent=$2 msg=$3 blob tree idx
	_TICK=$((_TICK + 60))
	idx=$(mktemp -u "$T/index.XXXXXX")
	blob=$(printf '%s\n' "$msg" | git -C "$dir" hash-object -w --stdin) &&
		GIT_INDEX_FILE=$idx git -C "$dir" read-tree "$parent" &&
		GIT_INDEX_FILE=$idx git -C "$dir" update-index --add --cacheinfo "100644,$blob,pushed/$msg.txt" &&
		tree=$(GIT_INDEX_FILE=$idx git -C "$dir" write-tree) &&
		GIT_COMMITTER_DATE="$_TICK +0000" git -C "$dir" commit-tree -p "$parent" -m "$msg" "$tree"
	rm -f "$idx"
}

# ---------------------------------------------------------------- cases
# Each case_X TRANSPORT runs one case through drive and checks its outcome
# on the server or in the client's repository. $C is the description.

_ls_remote() {
	local tr=$1 v=$2 want got
	if ! drive admin "$CASE_TIMEOUT" ls-remote "$(url "$tr")" ${3:+"$3"}; then
		fail "$C" "$OUT"
		return
	fi
	check_eq "$C: protocol $v spoken" "protocol $v" "$(printf '%s\n' "$OUT" | grep '^protocol ')"
	want=$({
		echo "$(server_ref "interop-$tr" HEAD) HEAD"
		server_git "interop-$tr" for-each-ref --format='%(objectname) %(refname)'
	} | sort -k2)
	got=$(printf '%s\n' "$OUT" | grep -v '^protocol ' | sort -k2)
	check_eq "$C: refs and HEAD equal the server's" "$want" "$got"
}
case_ls-remote-v1() { _ls_remote "$1" 1; }
case_ls-remote-v2() { _ls_remote "$1" 2 --v2; }

case_clone() {
	local tr=$1 d=$T/$1-clone
	if ! drive admin "$CASE_TIMEOUT" clone "$(url "$tr")" "$d"; then
		fail "$C" "$OUT"
		return
	fi
	check_eq "$C: every branch and tag" "$(server_refs "$tr")" "$(clone_refs "$d")"
	check_eq "$C: HEAD is main" "$(server_ref "interop-$tr" main)" "$(git -C "$d" rev-parse HEAD 2>&1)"
	check_eq "$C: all the history" "$(server_git "interop-$tr" rev-list --all --count)" \
		"$(git -C "$d" rev-list --all --count 2>&1)"
	check_eq "$C: not shallow" "" "$(cat "$d/.git/shallow" 2>/dev/null)"
	check "$C: git fsck clean" git -C "$d" fsck --no-progress
}

case_annotated-tags() {
	local tr=$1 d=$T/$1-clone t
	[ -d "$d/.git" ] || { fail "$C" "no clone to look at (the clone case failed)"; return; }
	for t in v1 v2; do
		check_eq "$C: $t is the tag object" "tag $(server_ref "interop-$tr" "refs/tags/$t")" \
			"$(git -C "$d" cat-file -t "refs/tags/$t" 2>&1) $(git -C "$d" rev-parse "refs/tags/$t" 2>&1)"
		check_eq "$C: $t's object is intact" "$(server_git "interop-$tr" cat-file tag "$t")" \
			"$(git -C "$d" cat-file tag "$t" 2>&1)"
	done
	check_eq "$C: lightweight v0 names c1" "$(server_ref "interop-$tr" v0)" "$(git -C "$d" rev-parse refs/tags/v0 2>&1)"
}

case_single-branch() {
	local tr=$1 d=$T/$1-single
	if ! drive admin "$CASE_TIMEOUT" clone "$(url "$tr")" "$d" --branch side --single-branch --no-tags; then
		fail "$C" "$OUT"
		return
	fi
	check_eq "$C: only origin/side" "$(server_ref "interop-$tr" side) refs/remotes/origin/side" \
		"$(git -C "$d" for-each-ref --format='%(objectname) %(refname)' refs/remotes | grep -v '/HEAD$')"
	check_eq "$C: no tags" "" "$(git -C "$d" tag -l 2>&1)"
	check_eq "$C: HEAD is side" "$(server_ref "interop-$tr" side)" "$(git -C "$d" rev-parse HEAD 2>&1)"
	check_eq "$C: side's history" "$(server_git "interop-$tr" rev-list --count side)" \
		"$(git -C "$d" rev-list --count --all 2>&1)"
	check "$C: git fsck clean" git -C "$d" fsck --no-progress
}

# _shallow TRANSPORT NAME CLONE-ARGS [-- FETCH-ARGS]: clone (and fetch) with
# the client, do the same with git against git's own upload-pack, compare.
_shallow() {
	local tr=$1 d=$T/$1-$2 r=$T/$1-$2.ref clone_args=() fetch_args=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do clone_args+=("$1"); shift; done
	[ "${1:-}" = -- ] && shift && fetch_args=("$@")
	reference clone "$(bare "$tr")" "$r" "${clone_args[@]}" &&
		{ [ ${#fetch_args[@]} -eq 0 ] || reference fetch "$r" "$(bare "$tr")" "${fetch_args[@]}"; } ||
		{ fail "$C: git's own answer (file://) failed" "clone ${clone_args[*]} / fetch ${fetch_args[*]}"; return 1; }
	if ! drive admin "$CASE_TIMEOUT" clone "$(url "$tr")" "$d" "${clone_args[@]}"; then
		fail "$C: clone ${clone_args[*]}" "$OUT"
		return 1
	fi
	if [ ${#fetch_args[@]} -gt 0 ] && ! drive admin "$CASE_TIMEOUT" fetch "$d" "$(url "$tr")" "${fetch_args[@]}"; then
		fail "$C: fetch ${fetch_args[*]}" "$OUT"
		return 1
	fi
	check_eq "$C: commits and shallow list equal git's" "$(shallow_state "$r")" "$(shallow_state "$d")"
	check "$C: git fsck clean" git -C "$d" fsck --no-progress
}

case_depth-1() {
	local tip
	tip=$(server_ref "interop-$1" main)
	_shallow "$1" depth1 --branch main --single-branch --depth 1 || return
	check_eq "$C: .git/shallow is main's tip" "$tip" "$(cat "$T/$1-depth1/.git/shallow" 2>&1)"
	check_eq "$C: one commit" 1 "$(git -C "$T/$1-depth1" rev-list --count HEAD 2>&1)"
}
case_deepen() { _shallow "$1" deepen --branch main --single-branch --depth 1 -- --branch main --depth 3; }
case_deepen-relative() { _shallow "$1" deepenrel --branch main --single-branch --depth 2 -- --branch main --deepen 2; }
case_shallow-since() {
	_shallow "$1" since --branch main --single-branch --since "$(server_git "interop-$1" log -1 --format=%ct v2)"
}
case_shallow-exclude() { _shallow "$1" exclude --branch main --single-branch --exclude old; }
# All four branches at depth 3: old, far and side are ancestors of main at
# other depths, so boundaries from one want fall inside another's range.
case_multi-want-depth() { _shallow "$1" multi --no-tags --depth 3; }

case_fetch-new() {
	local tr=$1 d=$T/$1-clone w=$T/$1-src out
	[ -d "$d/.git" ] || { fail "$C" "no clone to fetch into (the clone case failed)"; return; }
	out=$(g clone -q "$URL/interop-$tr.git" "$w" 2>&1) &&
		commit_files "$w" "n1" "main.txt=n1" && commit_files "$w" "n2" "new.txt=n2" &&
		git -C "$w" branch fresh HEAD~1 &&
		out=$(g -C "$w" push -q origin main fresh 2>&1) || { fail "$C: new commits on the server" "$out"; return; }
	if ! drive admin "$CASE_TIMEOUT" fetch "$d" "$(url "$tr")"; then
		fail "$C" "$OUT"
		return
	fi
	check_eq "$C: origin/main is the new tip" "$(server_ref "interop-$tr" main)" "$(git -C "$d" rev-parse origin/main 2>&1)"
	check_eq "$C: new branch origin/fresh" "$(server_ref "interop-$tr" fresh)" "$(git -C "$d" rev-parse origin/fresh 2>&1)"
	check_eq "$C: all the history" "$(server_git "interop-$tr" rev-list --count main)" \
		"$(git -C "$d" rev-list --count origin/main 2>&1)"
	check "$C: git fsck clean" git -C "$d" fsck --no-progress
}

# The push cases work in the full clone, on branch "topic" of the server:
# new branch (P1), fast-forward (P2 on P1), a deploy credential's rewrite
# (P3 on P1) refused, then forced by admin, then deleted. Each case starts
# from the server state it needs: when an earlier case failed, git sets it
# up, so one hung push fails one case only.
declare -A P1=() P2=() P3=()

_push() {
	local tr=$1 cred=$2
	shift 2
	drive "$cred" "$PUSH_TIMEOUT" push "$T/$tr-clone" "$(url "$tr")" "$@"
}

# _commits TRANSPORT: P1, P2 and P3, made with git in the clone, once.
_commits() {
	local tr=$1 d=$T/$1-clone
	[ -n "${P3[$tr]:-}" ] && return 0
	[ -d "$d/.git" ] || { fail "$C" "no clone to push from (the clone case failed)"; return 1; }
	P1[$tr]=$(new_commit "$d" refs/remotes/origin/main "topic-1-$tr") &&
		P2[$tr]=$(new_commit "$d" "${P1[$tr]}" "topic-2-$tr") &&
		P3[$tr]=$(new_commit "$d" "${P1[$tr]}" "rewrite-$tr") && return 0
	fail "$C: making commits with git"
	return 1
}

# _topic TRANSPORT ID: the server's topic at ID (git pushes it if need be),
# and the clone's local topic at the commit the case pushes ($3).
_topic() {
	local tr=$1 id=$2 out
	if [ "$(server_ref "interop-$tr" refs/heads/topic)" != "$id" ]; then
		echo "     (an earlier case failed: git sets the server's topic to ${id:0:12})"
		out=$(g -C "$T/$tr-clone" push -q --force "$URL/interop-$tr.git" "$id:refs/heads/topic" 2>&1) ||
			{ fail "$C: setting up the server's topic with git" "$out"; return 1; }
	fi
	git -C "$T/$tr-clone" update-ref refs/heads/topic "$3"
}

case_push-new-branch() {
	local tr=$1
	_commits "$tr" || return
	git -C "$T/$tr-clone" update-ref refs/heads/topic "${P1[$tr]}"
	if ! _push "$tr" admin refs/heads/topic:refs/heads/topic; then fail "$C" "$OUT"; return; fi
	check_eq "$C: server has topic" "${P1[$tr]}" "$(server_ref "interop-$tr" refs/heads/topic)"
	check "$C: server has the new file" server_git "interop-$tr" cat-file -e "${P1[$tr]}:pushed/topic-1-$tr.txt"
}

case_push-ff() {
	local tr=$1
	_commits "$tr" && _topic "$tr" "${P1[$tr]}" "${P2[$tr]}" || return
	if ! _push "$tr" admin refs/heads/topic:refs/heads/topic; then fail "$C" "$OUT"; return; fi
	check_eq "$C: server's topic moved forward" "${P2[$tr]}" "$(server_ref "interop-$tr" refs/heads/topic)"
}

# A deploy credential may not rewrite history, even with the client's force.
case_push-non-ff() {
	local tr=$1
	_commits "$tr" && _topic "$tr" "${P2[$tr]}" "${P3[$tr]}" || return
	if _push "$tr" deploy refs/heads/topic:refs/heads/topic --force; then
		fail "$C: a deploy credential's non-fast-forward push was accepted" "$OUT"
	elif [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ]; then
		fail "$C" "$OUT"
	elif printf '%s' "$OUT" | grep -qi 'fast-forward'; then
		ok "$C: refused ($(printf '%s' "$OUT" | grep -i -m1 'fast-forward' | cut -c1-120))"
	else
		fail "$C: refused, but not as a non-fast-forward" "$OUT"
	fi
	check_eq "$C: server's topic unchanged" "${P2[$tr]}" "$(server_ref "interop-$tr" refs/heads/topic)"
	check_not "$C: the refused commit is not on the server" server_git "interop-$tr" cat-file -e "${P3[$tr]}"
}

case_push-force() {
	local tr=$1
	_commits "$tr" && _topic "$tr" "${P2[$tr]}" "${P3[$tr]}" || return
	if ! _push "$tr" admin refs/heads/topic:refs/heads/topic --force; then fail "$C" "$OUT"; return; fi
	check_eq "$C: admin rewrote topic" "${P3[$tr]}" "$(server_ref "interop-$tr" refs/heads/topic)"
}

case_push-delete() {
	local tr=$1
	_commits "$tr" && _topic "$tr" "${P3[$tr]}" "${P3[$tr]}" || return
	if ! _push "$tr" admin :refs/heads/topic; then fail "$C" "$OUT"; return; fi
	check_eq "$C: topic gone from the server" "" "$(server_ref "interop-$tr" refs/heads/topic)"
}

case_push-tag() {
	local tr=$1 d=$T/$1-clone tag
	[ -d "$d/.git" ] || { fail "$C" "no clone to push from (the clone case failed)"; return; }
	git -C "$d" tag -a "t-$tr" -m "pushed by $CLIENT" refs/remotes/origin/main && tag=$(git -C "$d" rev-parse "refs/tags/t-$tr") ||
		{ fail "$C: making a tag with git"; return; }
	if ! _push "$tr" admin "refs/tags/t-$tr:refs/tags/t-$tr"; then fail "$C" "$OUT"; return; fi
	check_eq "$C: server has the tag object" "tag $tag" \
		"$(server_git "interop-$tr" cat-file -t "refs/tags/t-$tr" 2>&1) $(server_ref "interop-$tr" "refs/tags/t-$tr")"
}

# ---------------------------------------------------------------- main

interop_main() {
	local tr c reason before t0
	interop_setup
	for tr in http ssh; do
		if [ "$tr" = ssh ] && [ -n "$CLIENT_SSH" ]; then
			printf 'skip %s over ssh: %s\n' "$CLIENT" "$CLIENT_SSH"
			SKIPPED=$((SKIPPED + ${#CASES[@]}))
			for c in "${CASES[@]}"; do MATRIX["$tr $c"]=skip; done
			continue
		fi
		for c in "${CASES[@]}"; do
			reason=$(client_cant "$c" "$tr")
			if [ -n "$reason" ]; then
				skip "$tr" "$c" "$reason"
				MATRIX["$tr $c"]=skip
				continue
			fi
			CASE=$c C="$CLIENT $tr $c" before=$FAILED t0=$SECONDS
			"case_$c" "$tr"
			[ "$FAILED" = "$before" ] && MATRIX["$tr $c"]=pass || MATRIX["$tr $c"]=FAIL
			[ $((SECONDS - t0)) -lt 20 ] || echo "     ($C took $((SECONDS - t0))s)"
		done
	done
	check "daemon alive" daemon_alive
	echo "-- $CLIENT: case      http  ssh"
	for c in "${CASES[@]}"; do
		printf -- '-- %-22s %-5s %s\n' "$c" "${MATRIX["http $c"]}" "${MATRIX["ssh $c"]}"
	done
	echo "$TEST_NAME: $SKIPPED skipped"
	finish
}
