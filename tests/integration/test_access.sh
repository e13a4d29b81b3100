#!/usr/bin/env bash
# Access control over HTTP (tokens) and SSH (keys): read credentials fetch
# only their envs' gitops repositories and never push; deploy credentials
# scoped to staging push app repositories and staging's apps repository
# (fetch, never push, its infra repository) but not production's, and never
# force; admin forces; revoked tokens and
# removed keys stop working at once; every decision is in the daemon log.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ssh_lib.sh"

ssh_start_daemon
export AUGER_URL=$URL
printf '0000' >"$T/flush"	# a flush-pkt: ends an upload/receive session at once

# ---------------------------------------------------------------- setup
# Credentials name existing envs: staging and production are made first
# (with their gitops repositories). Each repository gets one more commit,
# pushed by the admin over HTTP.
for e in staging production; do
	api POST /api/envs "{\"name\":\"$e\"}"
	[ "$API_STATUS" = 201 ] || die "POST /api/envs $e -> $API_STATUS" "$API_BODY"
done
REPOS="web gitops-staging-apps gitops-staging-infra gitops-production-apps"
for r in $REPOS; do
	w=$T/seed-$r
	case $r in
	gitops-*) { new_work "$w" "$r" && g -C "$w" pull -q origin main; } >/dev/null 2>&1 || die "git pull $r" ;;
	*) create_repo "$r" && new_work "$w" "$r" || die "git init $r" ;;
	esac
	commit_files "$w" "seed $r" "README.md=$r" || die "commit $r"
	out=$(g -C "$w" push -q origin main 2>&1) || die "seed push to $r" "$out"
done
SEED_PROD=$(server_ref gitops-production-apps refs/heads/main)

add_token reader-t read '["staging"]'
READ_T=$NEW_TOKEN
add_token deployer-t deploy '["staging"]'
DEPLOY_T=$NEW_TOKEN
new_key reader-k
add_key reader-k read '["staging"]' "$T/keys/reader-k"
new_key deployer-k
add_key deployer-k deploy '["staging"]' "$T/keys/deployer-k"
new_key admin-k
add_key admin-k admin '["*"]' "$T/keys/admin-k"
READ_K=$T/keys/reader-k DEPLOY_K=$T/keys/deployer-k ADMIN_K=$T/keys/admin-k

api GET /api/tokens
check_eq "GET /api/tokens: 200" 200 "$API_STATUS"
check_match "GET /api/tokens lists reader-t" '"reader-t"' "$API_BODY"
if printf '%s' "$API_BODY" | grep -q -- "$READ_T"; then fail "GET /api/tokens does not show token values" "$API_BODY"; else ok "GET /api/tokens does not show token values"; fi
api GET /api/keys
check_match "GET /api/keys lists deployer-k with its fingerprint" "$(ssh-keygen -l -E sha256 -f "$DEPLOY_K.pub" | awk '{ print $2 }' | sed 's/[+/]/./g')" "$API_BODY"

# http_code TOKEN PATH: the status of a GET with Bearer TOKEN.
http_code() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "Authorization: Bearer $1" "$URL$2"
}

# push_change WHO_DIR: one new commit on main in a work dir; prints its id.
_N=0
new_commit_on() {
	local dir=$1 repo=$2
	_N=$((_N + 1))
	[ -d "$dir" ] || { new_work "$dir" "$repo" && g -C "$dir" pull -q origin main; } >/dev/null 2>&1
	commit_files "$dir" "change $_N" "change.txt=$_N" >/dev/null 2>&1
	git -C "$dir" rev-parse HEAD
}

# ================================================================ read
# ---------------------------------------------------------------- over HTTP
if out=$(git_as "$READ_T" clone -q "$URL/gitops-staging-apps.git" "$T/r-http" 2>&1); then
	ok "HTTP read token clones its env's gitops repo"
	check_eq "HTTP read clone: HEAD" "$(server_ref gitops-staging-apps refs/heads/main)" "$(git -C "$T/r-http" rev-parse HEAD 2>&1)"
else
	fail "HTTP read token clones its env's gitops repo" "$out"
fi
check "HTTP read token fetches gitops-staging-infra" git_as "$READ_T" ls-remote "$URL/gitops-staging-infra.git"
check_eq "HTTP read token: info/refs of gitops-production-apps -> 403" 403 \
	"$(http_code "$READ_T" "/gitops-production-apps.git/info/refs?service=git-upload-pack")"
check_eq "HTTP read token: info/refs of app repo web -> 403" 403 \
	"$(http_code "$READ_T" "/web.git/info/refs?service=git-upload-pack")"
check_eq "HTTP read token: receive-pack info/refs of its own gitops repo -> 403" 403 \
	"$(http_code "$READ_T" "/gitops-staging-apps.git/info/refs?service=git-receive-pack")"
out=$(git_as "$READ_T" clone -q "$URL/gitops-production-apps.git" "$T/r-http-prod" 2>&1)
rc=$?
if [ $rc != 0 ] && printf '%s' "$out" | grep -q 403; then ok "HTTP read token cannot clone another env's repo (403)"; else fail "HTTP read token cannot clone another env's repo (403)" "rc=$rc" "$out"; fi
check_not "HTTP read token cannot clone app repo web" git_as "$READ_T" clone -q "$URL/web.git" "$T/r-http-web"
if [ -d "$T/r-http" ]; then
	before=$(server_ref gitops-staging-apps refs/heads/main)
	commit_files "$T/r-http" "read tries" "x=1" >/dev/null
	out=$(git_as "$READ_T" -C "$T/r-http" push origin main 2>&1)
	rc=$?
	if [ $rc != 0 ] && printf '%s' "$out" | grep -q 403; then
		ok "HTTP read token cannot push (403 in git's message)"
	else
		fail "HTTP read token cannot push (403 in git's message)" "command: git push (read token) $URL/gitops-staging-apps.git" "rc=$rc" "$out"
	fi
	check_eq "HTTP read push left the ref alone" "$before" "$(server_ref gitops-staging-apps refs/heads/main)"
fi
body=$(curl -s --max-time 10 -H "Authorization: Bearer $READ_T" "$URL/gitops-staging-apps.git/info/refs?service=git-receive-pack")
check_match "HTTP read token: the 403 body says who may not push where" 'reader-t may not push' "$body"
api POST /api/repos '{"name":"by-reader"}' "$READ_T"
check_eq "HTTP read token: POST /api/repos -> 403" 403 "$API_STATUS"
api POST /api/tokens '{"name":"x","role":"admin","envs":["*"]}' "$READ_T"
check_eq "HTTP read token cannot mint an admin token (403)" 403 "$API_STATUS"

# ---------------------------------------------------------------- over SSH
if out=$(git_ssh "$READ_K" clone -q "$(ssh_url gitops-staging-apps)" "$T/r-ssh" 2>&1); then
	ok "SSH read key clones its env's gitops repo"
else
	fail "SSH read key clones its env's gitops repo" "$out"
fi
ssh_exec "$READ_K" "git-upload-pack 'gitops-production-apps'"
if [ "$SSH_RC" = 1 ] && printf '%s' "$SSH_ERR" | grep -q 'auger: reader-k may not fetch from gitops-production-apps' && [ -z "$SSH_OUT" ]; then
	ok "SSH read key cannot fetch another env's repo (exit 1, message)"
else
	fail "SSH read key cannot fetch another env's repo (exit 1, message)" "rc=$SSH_RC" "stdout: ${SSH_OUT:0:200}" "stderr: $SSH_ERR"
fi
ssh_exec "$READ_K" "git-upload-pack 'web'"
if [ "$SSH_RC" = 1 ] && printf '%s' "$SSH_ERR" | grep -q 'may not fetch from web'; then ok "SSH read key cannot fetch app repo web"; else fail "SSH read key cannot fetch app repo web" "rc=$SSH_RC" "$SSH_ERR"; fi
ssh_exec "$READ_K" "git-receive-pack 'gitops-staging-apps'"
if [ "$SSH_RC" = 1 ] && printf '%s' "$SSH_ERR" | grep -q 'auger: reader-k may not push to gitops-staging-apps' && [ -z "$SSH_OUT" ]; then
	ok "SSH read key: receive-pack refused (exit 1, 'may not push to')"
else
	fail "SSH read key: receive-pack refused (exit 1, 'may not push to')" "rc=$SSH_RC" "stdout: ${SSH_OUT:0:200}" "stderr: $SSH_ERR"
fi
if [ -d "$T/r-ssh" ]; then
	before=$(server_ref gitops-staging-apps refs/heads/main)
	commit_files "$T/r-ssh" "read tries ssh" "y=1" >/dev/null
	out=$(git_ssh "$READ_K" -C "$T/r-ssh" push origin main 2>&1)
	rc=$?
	if [ $rc != 0 ] && printf '%s' "$out" | grep -q 'reader-k may not push to gitops-staging-apps'; then
		ok "SSH read key: git push fails with the server's message"
	else
		fail "SSH read key: git push fails with the server's message" "rc=$rc" "$out"
	fi
	check_eq "SSH read push left the ref alone" "$before" "$(server_ref gitops-staging-apps refs/heads/main)"
fi
out=$(git_ssh "$READ_K" clone -q "$(ssh_url gitops-production-apps)" "$T/r-ssh-prod" 2>&1)
check_match "SSH read key: git clone of another env's repo fails with the message" 'may not fetch from gitops-production-apps' "$out"

# ================================================================ deploy (staging)
# push_refused DIR REPO: a new commit on REPO, pushed as the deploy
# credential ($via, $who), is refused: 403 over HTTP, "may not push" over SSH.
push_refused() {
	local d=$1 r=$2 out rc re
	new_commit_on "$d" "$r" >/dev/null
	out=$(push "$d" "$(url "$r")" main 2>&1)
	rc=$?
	if [ "$via" = http ]; then re=403; else re="$who may not push to $r"; fi
	if [ $rc != 0 ] && printf '%s' "$out" | grep -q "$re"; then
		ok "$via deploy ($who, staging) cannot push to $r"
	else
		fail "$via deploy ($who, staging) cannot push to $r" "rc=$rc" "$out"
	fi
}

for via in http ssh; do
	if [ $via = http ]; then
		push() { git_as "$DEPLOY_T" -C "$1" push "${@:2}"; }
		url() { printf '%s/%s.git' "$URL" "$1"; }
		who=deployer-t
	else
		push() { git_ssh "$DEPLOY_K" -C "$1" push "${@:2}"; }
		url() { ssh_url "$1"; }
		who=deployer-k
	fi
	for r in web gitops-staging-apps; do
		d=$T/d-$via-$r
		tip=$(new_commit_on "$d" "$r")
		if out=$(push "$d" "$(url "$r")" main 2>&1); then
			check_eq "$via deploy ($who) pushes to $r" "$tip" "$(server_ref "$r" refs/heads/main)"
		else
			fail "$via deploy ($who) pushes to $r" "$out"
		fi
	done
	push_refused "$T/d-$via-prod" gitops-production-apps
	check_eq "$via: gitops-production-apps unchanged" "$SEED_PROD" "$(server_ref gitops-production-apps refs/heads/main)"

	# Its own env's infra repository: fetched, never pushed (cluster
	# objects that Flux applies with cluster-wide rights are admin's).
	before=$(server_ref gitops-staging-infra refs/heads/main)
	push_refused "$T/d-$via-infra" gitops-staging-infra
	check_eq "$via: gitops-staging-infra unchanged" "$before" "$(server_ref gitops-staging-infra refs/heads/main)"
	if [ $via = http ]; then
		body=$(curl -s --max-time 10 -H "Authorization: Bearer $DEPLOY_T" "$URL/gitops-staging-infra.git/info/refs?service=git-receive-pack")
		check_match "http deploy token: receive-pack of gitops-staging-infra: 403 'may not push'" 'deployer-t may not push to gitops-staging-infra' "$body"
		check "http deploy token still fetches gitops-staging-infra" git_as "$DEPLOY_T" ls-remote "$URL/gitops-staging-infra.git"
	else
		ssh_exec "$DEPLOY_K" "git-upload-pack 'gitops-staging-infra'" "$T/flush"
		check_eq "ssh deploy key still fetches gitops-staging-infra" 0 "$SSH_RC"
	fi

	# Force-push of a rewritten history to web: refused for deploy.
	d=$T/d-$via-web
	before=$(server_ref web refs/heads/main)
	git -C "$d" reset -q --hard HEAD~1 && commit_files "$d" "rewrite $via" "rewritten.txt=$via" >/dev/null
	out=$(push "$d" --force "$(url web)" main 2>&1)
	rc=$?
	if [ $rc != 0 ] && printf '%s' "$out" | grep -q 'remote rejected.*non-fast-forward'; then
		ok "$via deploy force-push refused (non-fast-forward)"
	else
		fail "$via deploy force-push refused (non-fast-forward)" "command: git push --force $(url web) main (as $who)" "expected: failure, '! [remote rejected] main -> main (non-fast-forward)'" "got rc=$rc" "$out"
	fi
	check_eq "$via deploy force-push left web alone" "$before" "$(server_ref web refs/heads/main)"
done
check_eq "HTTP deploy token: info/refs of gitops-production-apps (fetch) -> 403" 403 \
	"$(http_code "$DEPLOY_T" "/gitops-production-apps.git/info/refs?service=git-upload-pack")"
ssh_exec "$DEPLOY_K" "git-upload-pack 'gitops-production-apps'"
check_eq "SSH deploy key (staging) cannot fetch gitops-production-apps: exit 1" 1 "$SSH_RC"
api POST /api/repos '{"name":"by-deployer"}' "$DEPLOY_T"
check_eq "HTTP deploy token: POST /api/repos -> 403" 403 "$API_STATUS"
api GET /api/tokens "" "$DEPLOY_T"
check_eq "HTTP deploy token: GET /api/tokens -> 403" 403 "$API_STATUS"

# ================================================================ admin force
for via in http ssh; do
	d=$T/a-$via
	rm -rf "$d"
	new_work "$d" web >/dev/null && g -C "$d" pull -q origin main >/dev/null 2>&1
	git -C "$d" reset -q --hard HEAD~1 && commit_files "$d" "admin rewrite $via" "admin.txt=$via" >/dev/null
	tip=$(git -C "$d" rev-parse HEAD)
	if [ $via = http ]; then
		out=$(g -C "$d" push --force origin main 2>&1)
	else
		out=$(git_ssh "$ADMIN_K" -C "$d" push --force "$(ssh_url web)" main 2>&1)
	fi
	rc=$?
	if [ $rc = 0 ]; then
		check_eq "$via admin force-push moves web to the rewritten tip" "$tip" "$(server_ref web refs/heads/main)"
	else
		fail "$via admin force-push allowed" "$out"
	fi
done
# Admin pushes an env's infra repository, over both transports.
for via in http ssh; do
	d=$T/a-$via-infra
	tip=$(new_commit_on "$d" gitops-staging-infra)
	if [ $via = http ]; then
		out=$(g -C "$d" push origin main 2>&1)
	else
		out=$(git_ssh "$ADMIN_K" -C "$d" push "$(ssh_url gitops-staging-infra)" main 2>&1)
	fi
	if [ $? = 0 ]; then
		check_eq "$via admin pushes to gitops-staging-infra" "$tip" "$(server_ref gitops-staging-infra refs/heads/main)"
	else
		fail "$via admin pushes to gitops-staging-infra" "$out"
	fi
done
ssh_exec "$ADMIN_K" "git-upload-pack 'gitops-production-apps'" "$T/flush"
check_eq "SSH admin key fetches gitops-production-apps" 0 "$SSH_RC"

# ================================================================ revocation
# Token: works, revoked via the API, 401 on the very next request.
check_eq "deploy token works before revocation" 200 "$(http_code "$DEPLOY_T" "/web.git/info/refs?service=git-upload-pack")"
api DELETE /api/tokens/deployer-t
check_eq "DELETE /api/tokens/deployer-t: 200" 200 "$API_STATUS"
check_eq "revoked token: next request 401" 401 "$(http_code "$DEPLOY_T" "/web.git/info/refs?service=git-upload-pack")"
check_eq "revoked token: API 401" 401 "$(http_code "$DEPLOY_T" "/api/repos")"
check_not "revoked token: git ls-remote fails" git_as "$DEPLOY_T" ls-remote "$URL/web.git"
api DELETE /api/tokens/deployer-t
check_eq "DELETE of a revoked token: 404" 404 "$API_STATUS"
api GET /api/tokens
if printf '%s' "$API_BODY" | grep -q '"deployer-t"'; then fail "GET /api/tokens no longer lists deployer-t" "$API_BODY"; else ok "GET /api/tokens no longer lists deployer-t"; fi

# cli ARGS...: the auger CLI as admin, bounded: it must exit once answered.
CLI_OK=0
cli() { AUGER_TOKEN=$TOKEN timeout -k 2 10 "$AUGER" "$@"; }
if [ -x "$AUGER" ]; then
	start=$(date +%s)
	out=$(cli token list 2>&1)
	rc=$?
	if [ $rc = 0 ]; then
		CLI_OK=1
		ok "auger token list exits once answered"
	else
		fail "auger token list exits once answered" "command: AUGER_URL=$URL AUGER_TOKEN=<admin> $AUGER token list" \
			"expected: the token list, exit 0, within 10 s" "got: exit $rc after $(($(date +%s) - start)) s (124: killed by timeout)" "$out"
		echo "SKIP the remaining auger CLI checks (the CLI does not exit)"
	fi
else
	fail "auger CLI binary at $AUGER"
fi

# The same with the CLI.
if [ $CLI_OK = 1 ]; then
	cli_tok=$(cli token create cli-t --role read --env staging 2>/dev/null | tail -n 1)
	check_eq "auger token create: token works" 200 "$(http_code "$cli_tok" "/gitops-staging-apps.git/info/refs?service=git-upload-pack")"
	check_match "auger token list shows cli-t" 'cli-t +read' "$(cli token list 2>&1)"
	check "auger token revoke cli-t" cli token revoke cli-t
	check_eq "auger token revoke: next request 401" 401 "$(http_code "$cli_tok" "/gitops-staging-apps.git/info/refs?service=git-upload-pack")"
fi

# Key: works, removed via the API, refused on the next connection.
ssh_exec "$READ_K" "git-upload-pack 'gitops-staging-apps'" "$T/flush"
check_eq "read key works before removal" 0 "$SSH_RC"
api DELETE /api/keys/reader-k
check_eq "DELETE /api/keys/reader-k: 200" 200 "$API_STATUS"
ssh_exec "$READ_K" "git-upload-pack 'gitops-staging-apps'" "$T/flush"
if [ "$SSH_RC" = 255 ] && printf '%s' "$SSH_ERR" | grep -q 'Permission denied (publickey)'; then
	ok "removed key: next connection refused (Permission denied)"
else
	fail "removed key: next connection refused (Permission denied)" "rc=$SSH_RC" "stdout: ${SSH_OUT:0:200}" "stderr: $SSH_ERR"
fi
check_not "removed key: git clone fails" git_ssh "$READ_K" clone -q "$(ssh_url gitops-staging-apps)" "$T/removed"

# The same with the CLI.
if [ $CLI_OK = 1 ]; then
	new_key cli-k
	out=$(cli key add cli-k --role deploy --env staging -f "$T/keys/cli-k.pub" 2>&1)
	check_match "auger key add prints the fingerprint" "$(ssh-keygen -l -E sha256 -f "$T/keys/cli-k.pub" | awk '{ print $2 }' | sed 's/[+/]/./g')" "$out"
	check_match "auger key list shows cli-k as deploy" 'cli-k +deploy' "$(cli key list 2>&1)"
	ssh_exec "$T/keys/cli-k" "git-receive-pack 'gitops-staging-apps'" "$T/flush"
	check_eq "CLI-added deploy key may open receive-pack on gitops-staging-apps" 0 "$SSH_RC"
	ssh_exec "$T/keys/cli-k" "git-receive-pack 'gitops-production-apps'" "$T/flush"
	check_eq "CLI-added deploy key (staging) refused receive-pack on gitops-production-apps" 1 "$SSH_RC"
	check "auger key remove cli-k" cli key remove cli-k
	ssh_exec "$T/keys/cli-k" "git-upload-pack 'web'" "$T/flush"
	check_eq "auger key remove: next connection refused" 255 "$SSH_RC"
fi

# ================================================================ log
log_line() {
	if log_has "$2"; then ok "daemon log: $1"; else fail "daemon log: $1" "no line matching /$2/"; fi
}
log_line "HTTP read fetch allowed" 'access reader-t read fetch gitops-staging-apps: allowed$'
log_line "HTTP read fetch of another env denied" 'access reader-t read fetch gitops-production-apps: denied$'
log_line "HTTP read fetch of an app repo denied" 'access reader-t read fetch web: denied$'
log_line "HTTP read push denied" 'access reader-t read push gitops-staging-apps: denied$'
log_line "HTTP read admin (API) denied" 'access reader-t read admin [^ ]+: denied$'
log_line "SSH read fetch allowed" 'access reader-k read fetch gitops-staging-apps: allowed$'
log_line "SSH read fetch denied" 'access reader-k read fetch gitops-production-apps: denied$'
log_line "SSH read push denied" 'access reader-k read push gitops-staging-apps: denied$'
log_line "HTTP deploy push allowed" 'access deployer-t deploy push gitops-staging-apps: allowed$'
log_line "HTTP deploy push to production denied" 'access deployer-t deploy push gitops-production-apps: denied$'
log_line "SSH deploy push allowed" 'access deployer-k deploy push web: allowed$'
log_line "SSH deploy push to production denied" 'access deployer-k deploy push gitops-production-apps: denied$'
log_line "SSH admin push allowed" 'access admin-k admin push web: allowed$'
check_eq "daemon log: every access line has the form 'access NAME ROLE OP REPO: allowed|denied'" "" \
	"$(grep -E '(^| )access ' "$DAEMON_LOG" | grep -Ev ' access [^ ]+ (admin|deploy|read) (fetch|push|admin) [^ ]+: (allowed|denied)$' | head -n 5)"
# Nothing a revoked token or removed key asked for was allowed afterwards.
for c in "tokens deployer-t" "keys reader-k"; do
	after=$(awk -v r="$c revoked" -v n=" access ${c#* } " 'index($0, r) { seen = 1; next }
		seen && index($0, n) && / allowed$/' "$DAEMON_LOG")
	if log_has "$c revoked" && [ -z "$after" ]; then
		ok "daemon log: ${c#* } revoked, and nothing of it allowed afterwards"
	else
		fail "daemon log: ${c#* } revoked, and nothing of it allowed afterwards" "$after"
	fi
done
check "daemon alive" daemon_alive
finish
