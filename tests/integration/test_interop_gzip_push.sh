#!/usr/bin/env bash
# JGit's HTTP push, reduced to curl: JGit gzips every POST body that gzip
# makes smaller, receive-pack's included (Content-Encoding: gzip), and
# git-http-backend inflates either service's body. The same push request
# is sent plain and gzipped; both must update the ref.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

start_daemon
create_repo gz
W=$T/w
new_work "$W" gz || die "git init"
commit_files "$W" "one" "a.txt=one" || die "commit"
commit_files "$W" "two" "b.txt=two" || die "commit"
NEW=$(git -C "$W" rev-parse HEAD)
ZERO=0000000000000000000000000000000000000000

# push_command REF: the first pkt-line, "old new ref\0caps\n" (one NUL).
push_command() {
	local line="$ZERO $NEW $1" caps="report-status"
	printf '%04x%s\0%s\n' $((${#line} + ${#caps} + 6)) "$line" "$caps"
}

# body REF FILE: a receive-pack request creating REF at NEW, with its pack.
body() {
	{
		push_command "$1"
		printf '0000'
		printf '%s\n' "$NEW" | git -C "$W" pack-objects --stdout --revs -q
	} >"$2"
}

# post FILE [ENCODING]: POST it to git-receive-pack; sets STATUS and REPLY.
post() {
	local args=(-s -o "$T/reply" -w '%{http_code}' --max-time 30
		-H "Authorization: Bearer $TOKEN"
		-H 'Content-Type: application/x-git-receive-pack-request'
		--data-binary "@$1")
	[ -n "${2:-}" ] && args+=(-H "Content-Encoding: $2")
	STATUS=$(curl "${args[@]}" "$URL/gz.git/git-receive-pack")
	REPLY=$(tr -d '\0' <"$T/reply")
}

body refs/heads/plain "$T/plain.req" || die "building the request"
post "$T/plain.req"
check_eq "plain receive-pack request: 200" 200 "$STATUS"
check_match "plain receive-pack request: ok refs/heads/plain" 'ok refs/heads/plain' "$REPLY"
check_eq "plain receive-pack request: ref created" "$NEW" "$(server_ref gz refs/heads/plain)"

body refs/heads/gzipped "$T/gz.req" && gzip -c "$T/gz.req" >"$T/gz.req.gz" || die "building the request"
post "$T/gz.req.gz" gzip
check_eq "gzipped receive-pack request (JGit's): 200" 200 "$STATUS"
check_match "gzipped receive-pack request: ok refs/heads/gzipped" 'ok refs/heads/gzipped' "$REPLY"
check_eq "gzipped receive-pack request: ref created" "$NEW" "$(server_ref gz refs/heads/gzipped)"

check "daemon alive" daemon_alive
finish
