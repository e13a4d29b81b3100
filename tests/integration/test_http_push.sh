#!/usr/bin/env bash
# Pushing with the git CLI over smart HTTP: new branches, a large commit,
# deletes, the fast-forward policy per role, atomic pushes, rejected pushes
# leaving nothing behind, and malformed request bodies.
. "$(dirname "$0")/lib.sh"

start_daemon
create_repo demo

W=$T/work
new_work "$W" demo || die "git init"
commit_files "$W" "one" "README=one" || die "commit"
commit_files "$W" "two" "README=two" "lib/a.txt=a" || die "commit"
out=$(g -C "$W" push origin main 2>&1) || die "initial push" "$out"
check_eq "initial push: server main" "$(git -C "$W" rev-parse main)" "$(server_ref demo refs/heads/main)"

# ---------------------------------------------------------------- new branch
git -C "$W" checkout -q -b feature || die "checkout"
commit_files "$W" "feature work" "feature.txt=f" || die "commit"
check "push a new branch" g -C "$W" push origin feature
check_eq "new branch on the server" "$(git -C "$W" rev-parse feature)" "$(server_ref demo refs/heads/feature)"
check_eq "main untouched by the branch push" "$(git -C "$W" rev-parse main)" "$(server_ref demo refs/heads/main)"
git -C "$W" checkout -q main

# ---------------------------------------------------------------- 2,000 files
for d in $(seq 0 39); do mkdir -p "$W/many/d$d"; done
for i in $(seq 1 2000); do printf 'file %d of many\nline two %d\n' "$i" "$((i * 7919))" >"$W/many/d$((i % 40))/f$i.txt"; done
commit_files "$W" "two thousand files" || die "commit"
if out=$(g -C "$W" push origin main 2>&1); then
	ok "push one commit with 2,000 files"
	check_eq "2,000 files: server main" "$(git -C "$W" rev-parse main)" "$(server_ref demo refs/heads/main)"
	C=$T/clone-many
	if out=$(g clone -q "$URL/demo.git" "$C" 2>&1); then
		ok "clone the 2,000-file commit back"
		check_eq "2,000 files: clone has them all" 2000 "$(count_files "$C/many")"
		check "2,000 files: clone equals the pushed tree" tree_diff "$W" "$C"
		check_eq "2,000 files: clone HEAD" "$(git -C "$W" rev-parse main)" "$(git -C "$C" rev-parse HEAD 2>&1)"
	else
		fail "clone the 2,000-file commit back" "$out"
	fi
else
	fail "push one commit with 2,000 files" "$out"
fi

# ---------------------------------------------------------------- delete a branch
check "delete a branch (push origin :feature)" g -C "$W" push origin :feature
check_eq "deleted branch is gone on the server" "" "$(server_ref demo refs/heads/feature)"
out=$(g ls-remote "$URL/demo.git" 2>&1)
if [ $? -eq 0 ] && ! printf '%s' "$out" | grep -q refs/heads/feature; then ok "deleted branch is not advertised"; else fail "deleted branch is not advertised" "$out"; fi

# ---------------------------------------------------------------- fast-forward policy
api POST /api/tokens '{"name":"ci","role":"deploy","envs":["*"]}'
check_eq "POST /api/tokens deploy: 201" 201 "$API_STATUS"
check_eq "deploy token: role" deploy "$(printf '%s' "$API_BODY" | json_str role)"
check_eq "deploy token: name" ci "$(printf '%s' "$API_BODY" | json_str name)"
DTOK=$(printf '%s' "$API_BODY" | json_str token)
[ -n "$DTOK" ] || { fail "deploy token in the reply" "$API_BODY"; DTOK=no-deploy-token; }
[ "$DTOK" != "$TOKEN" ] || die "deploy token equals the admin token"
api POST /api/tokens '{"name":"bad","role":"emperor","envs":["*"]}'
check_eq "POST /api/tokens with an unknown role: 400" 400 "$API_STATUS"

git -C "$W" checkout -q -b nff || die "checkout"
commit_files "$W" "nff base" "nff.txt=base" || die "commit"
check "push branch nff" g -C "$W" push origin nff
commit_files "$W" "nff ff" "nff.txt=ff by deploy" || die "commit"
check "deploy token: fast-forward push accepted" git_as "$DTOK" -C "$W" push origin nff
NFF_OLD=$(git -C "$W" rev-parse nff)
check_eq "deploy token: fast-forward landed" "$NFF_OLD" "$(server_ref demo refs/heads/nff)"

# Rewrite history: a new commit replacing the tip, with a new blob.
git -C "$W" reset -q --hard HEAD~1
NEWBLOB_CONTENT="rewritten history $(date +%s%N) $$"
commit_files "$W" "rewritten" "nff.txt=$NEWBLOB_CONTENT" || die "commit"
NFF_NEW=$(git -C "$W" rev-parse nff)
NEWBLOB=$(git -C "$W" rev-parse nff:nff.txt)

out=$(g -C "$W" push origin nff 2>&1)
rc=$?
if [ $rc -ne 0 ] && printf '%s' "$out" | grep -Eq 'non-fast-forward|fetch first|rejected'; then
	ok "plain push of rewritten history refused"
else
	fail "plain push of rewritten history refused" "rc=$rc" "$out"
fi
check_eq "plain push refused: server ref unchanged" "$NFF_OLD" "$(server_ref demo refs/heads/nff)"

objs_before=$(find "$DATA/repos/demo.git/objects" -type f | sort)
cnt_before=$(server_git demo count-objects -v | grep -E '^(count|in-pack):')
out=$(git_as "$DTOK" -C "$W" push --force origin nff 2>&1)
rc=$?
if [ $rc -ne 0 ]; then ok "push --force with a deploy token refused"; else fail "push --force with a deploy token refused" "$out"; fi
check_match "push --force with a deploy token: server says non-fast-forward" 'non-fast-forward' "$out"
check_match "push --force with a deploy token: git reports the ref rejected" '! \[remote rejected\] +nff -> nff|nff -> nff \(.*non-fast-forward' "$out"
check_eq "push --force with a deploy token: server ref unchanged" "$NFF_OLD" "$(server_ref demo refs/heads/nff)"
objs_after=$(find "$DATA/repos/demo.git/objects" -type f | sort)
check_eq "rejected push left no new files in objects/" "" "$(comm -13 <(printf '%s\n' "$objs_before") <(printf '%s\n' "$objs_after"))"
check_eq "rejected push: count-objects unchanged" "$cnt_before" "$(server_git demo count-objects -v | grep -E '^(count|in-pack):')"
check_not "rejected push: its new blob is not in the server's object store" server_git demo cat-file -e "$NEWBLOB"
check_not "rejected push: its new commit is not in the server's object store" server_git demo cat-file -e "$NFF_NEW"

if out=$(g -C "$W" push --force origin nff 2>&1); then
	ok "push --force with the admin token accepted"
else
	fail "push --force with the admin token accepted" "$out"
fi
check_eq "admin force push: server ref rewritten" "$NFF_NEW" "$(server_ref demo refs/heads/nff)"
check "admin force push: the new blob arrived" server_git demo cat-file -e "$NEWBLOB"
git -C "$W" checkout -q main

# ---------------------------------------------------------------- deleting HEAD's branch
MAIN=$(server_ref demo refs/heads/main)
out=$(g -C "$W" push origin :main 2>&1)
rc=$?
if [ $rc -ne 0 ]; then ok "deleting the branch HEAD points to is refused"; else fail "deleting the branch HEAD points to is refused" "$out"; fi
check_eq "main still on the server" "$MAIN" "$(server_ref demo refs/heads/main)"

# ---------------------------------------------------------------- atomic push (git CLI)
git -C "$W" branch at-a main && git -C "$W" branch at-b main || die "branch"
git -C "$W" checkout -q at-b && commit_files "$W" "b base" "b.txt=b" || die "commit"
if out=$(g -C "$W" push origin at-a at-b 2>&1); then
	A0=$(git -C "$W" rev-parse at-a)
	B0=$(git -C "$W" rev-parse at-b)
	# at-a: fast-forward; at-b: rewritten (non-fast-forward, refused for deploy).
	git -C "$W" checkout -q at-a && commit_files "$W" "a ff" "a.txt=a" || die "commit"
	git -C "$W" checkout -q at-b && git -C "$W" reset -q --hard main && commit_files "$W" "b rewritten" "b.txt=b2" || die "commit"
	git -C "$W" checkout -q main
	out=$(git_as "$DTOK" -C "$W" push --atomic --force origin at-a at-b 2>&1)
	rc=$?
	if [ $rc -ne 0 ]; then ok "atomic push with one refused ref fails"; else fail "atomic push with one refused ref fails" "$out"; fi
	check_eq "atomic push: the acceptable ref (at-a) did not move" "$A0" "$(server_ref demo refs/heads/at-a)"
	check_eq "atomic push: the refused ref (at-b) did not move" "$B0" "$(server_ref demo refs/heads/at-b)"
	# The same push without --atomic moves at-a only.
	out=$(git_as "$DTOK" -C "$W" push --force origin at-a at-b 2>&1)
	check_eq "non-atomic push: at-a moved" "$(git -C "$W" rev-parse at-a)" "$(server_ref demo refs/heads/at-a)"
	check_eq "non-atomic push: at-b refused" "$B0" "$(server_ref demo refs/heads/at-b)"
else
	fail "push branches at-a at-b (atomic section skipped)" "$out"
fi

# ---------------------------------------------------------------- atomic push (raw, stale old id)
# A receive-pack request built by hand: update at-a with a stale old id, and
# create a new ref; with "atomic", neither may happen.
ZERO=0000000000000000000000000000000000000000
A1=$(server_ref demo refs/heads/at-a)
NEWID=$(server_ref demo refs/heads/main)
STALE=$(server_ref demo refs/heads/main~1)
pkt() { printf '%04x%s' $((${#1} + 4)) "$1"; }
empty_pack() {
	printf 'PACK\0\0\0\2\0\0\0\0' >"$T/empty.pack"
	local sum
	sum=$(sha1sum "$T/empty.pack" | cut -c1-40)
	printf '%s' "$sum" | xxd -r -p >>"$T/empty.pack"
}
empty_pack
rp_request() { # OLD-A NEW-A NEW-REF
	printf '%s %s refs/heads/at-a\0report-status atomic agent=test\n' "$1" "$2" >"$T/line1"
	{
		printf '%04x' $(($(wc -c <"$T/line1") + 4))
		cat "$T/line1"
		pkt "$ZERO $2 $3"$'\n'
		printf '0000'
		cat "$T/empty.pack"
	} >"$T/rp.req"
}
post() { # PATH CONTENT-TYPE FILE [extra curl args]: sets POST_STATUS, POST_BODY file
	local path=$1 ctype=$2 file=$3
	shift 3
	POST_STATUS=$(curl -s -o "$T/post.body" -w '%{http_code}' --max-time 30 -H "Authorization: Bearer $TOKEN" \
		-H "Content-Type: $ctype" "$@" --data-binary @"$file" "$URL$path")
}
if [ -n "$A1" ] && [ "$A1" != "$STALE" ] && [ "$A1" != "$NEWID" ]; then
	rp_request "$STALE" "$NEWID" refs/heads/created
	post /demo.git/git-receive-pack application/x-git-receive-pack-request "$T/rp.req"
	check_eq "raw receive-pack with a stale old id: HTTP 200" 200 "$POST_STATUS"
	check_match "raw receive-pack with a stale old id: ng for at-a" 'ng refs/heads/at-a' "$(tr -d '\0' <"$T/post.body")"
	check_eq "raw atomic receive-pack: at-a unchanged" "$A1" "$(server_ref demo refs/heads/at-a)"
	check_eq "raw atomic receive-pack: the created ref does not exist" "" "$(server_ref demo refs/heads/created)"
	# Control: the same request with the right old id applies both.
	rp_request "$A1" "$NEWID" refs/heads/created
	post /demo.git/git-receive-pack application/x-git-receive-pack-request "$T/rp.req"
	check_match "raw receive-pack with the right old id: unpack ok and ok for both refs" 'unpack ok.*ok refs/heads/at-a.*ok refs/heads/created' "$(tr -d '\0\n' <"$T/post.body")"
	check_eq "raw receive-pack: at-a updated" "$NEWID" "$(server_ref demo refs/heads/at-a)"
	check_eq "raw receive-pack: created ref exists" "$NEWID" "$(server_ref demo refs/heads/created)"
else
	fail "raw atomic receive-pack: setup (at-a must exist and differ from main, main~1)" "at-a=$A1 main=$NEWID main~1=$STALE"
fi

# ---------------------------------------------------------------- .git in a tree
blob=$(printf 'x\n' | git -C "$W" hash-object -w --stdin)
sub=$(printf '100644 blob %s\tconfig\n' "$blob" | git -C "$W" mktree)
tree=$(printf '040000 tree %s\t.git\n100644 blob %s\tok.txt\n' "$sub" "$blob" | git -C "$W" mktree --missing 2>/dev/null)
if [ -n "$tree" ]; then
	commit=$(git -C "$W" commit-tree -p main -m "dotgit" "$tree")
	out=$(g -C "$W" push origin "$commit:refs/heads/dotgit" 2>&1)
	rc=$?
	if [ $rc -ne 0 ]; then ok "push of a tree with a .git entry refused"; else fail "push of a tree with a .git entry refused" "$out"; fi
	check_eq "tree with .git: no ref created" "" "$(server_ref demo refs/heads/dotgit)"
fi

# ---------------------------------------------------------------- malformed requests
# Acceptable answers: a 4xx status, or 200 with an ERR pkt-line. Never 5xx,
# never a hang, never a crash.
bad_ok() { # DESC
	if [[ $POST_STATUS =~ ^4[0-9][0-9]$ ]] || { [ "$POST_STATUS" = 200 ] && grep -aq 'ERR ' "$T/post.body"; }; then
		ok "$1: 4xx or ERR (HTTP $POST_STATUS)"
	else
		fail "$1: 4xx or ERR" "HTTP $POST_STATUS" "$(head -c 300 "$T/post.body" | cat -v)"
	fi
}
printf 'this is not a pkt-line stream at all\n' >"$T/garbage"
post /demo.git/git-receive-pack application/x-git-receive-pack-request "$T/garbage"
bad_ok "receive-pack with garbage"
printf 'zzzz' >"$T/zzzz"
post /demo.git/git-upload-pack application/x-git-upload-pack-request "$T/zzzz"
bad_ok "upload-pack with pkt length zzzz"
{ printf 'ffff'; head -c 100 /dev/zero | tr '\0' a; } >"$T/oversize"
post /demo.git/git-upload-pack application/x-git-upload-pack-request "$T/oversize"
bad_ok "upload-pack with an oversize pkt length (ffff)"
{ printf 'fff5'; head -c 65521 /dev/zero | tr '\0' a; printf '0000'; } >"$T/oversize2"
post /demo.git/git-upload-pack application/x-git-upload-pack-request "$T/oversize2"
bad_ok "upload-pack with a pkt length of 65525 (> 65520)"
printf '0003' >"$T/p0003"
post /demo.git/git-upload-pack application/x-git-upload-pack-request "$T/p0003"
bad_ok "upload-pack with pkt length 0003"
printf '0032want ' >"$T/trunc"
post /demo.git/git-upload-pack application/x-git-upload-pack-request "$T/trunc"
bad_ok "upload-pack with a truncated pkt-line"
{ pkt "want 1234567890123456789012345678901234567890 side-band-64k ofs-delta"$'\n'; printf '0000'; pkt $'done\n'; } >"$T/badwant"
post /demo.git/git-upload-pack application/x-git-upload-pack-request "$T/badwant"
bad_ok "upload-pack want of an unknown object"
{ pkt "want $(printf 'zz%.0s' $(seq 20)) side-band-64k"$'\n'; printf '0000'; pkt $'done\n'; } >"$T/badhex"
post /demo.git/git-upload-pack application/x-git-upload-pack-request "$T/badhex"
bad_ok "upload-pack want with a non-hex id"
{ pkt $'command=ls-refs\n'; printf '0001'; pkt $'peel\n'; pkt "ref-prefix $(head -c 70000 /dev/zero | tr '\0' r)"$'\n'; printf '0000'; } >"$T/v2bad" 2>/dev/null
post /demo.git/git-upload-pack application/x-git-upload-pack-request "$T/v2bad" -H 'Git-Protocol: version=2'
bad_ok "v2 ls-refs with a garbage pkt"
head -c 50000000 /dev/zero | gzip -1 >"$T/bomb.gz"
post /demo.git/git-upload-pack application/x-git-upload-pack-request "$T/bomb.gz" -H 'Content-Encoding: gzip'
bad_ok "upload-pack with a gzip body of 50 MB of zeros"
printf 'not gzip at all' >"$T/notgz"
post /demo.git/git-upload-pack application/x-git-upload-pack-request "$T/notgz" -H 'Content-Encoding: gzip'
bad_ok "upload-pack with a broken gzip body"
# A well-formed gzip request is served.
{ pkt "want $(server_ref demo refs/heads/main) side-band-64k ofs-delta no-progress"$'\n'; printf '0000'; pkt $'done\n'; } | gzip >"$T/good.gz"
post /demo.git/git-upload-pack application/x-git-upload-pack-request "$T/good.gz" -H 'Content-Encoding: gzip'
if [ "$POST_STATUS" = 200 ] && grep -aq PACK "$T/post.body"; then ok "upload-pack with a gzip request body: pack sent"; else fail "upload-pack with a gzip request body: pack sent" "HTTP $POST_STATUS" "$(head -c 300 "$T/post.body" | cat -v)"; fi

code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "Authorization: Bearer $TOKEN" "$URL/nope.git/info/refs?service=git-upload-pack")
check_eq "info/refs of an unknown repository: 404" 404 "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "Authorization: Bearer $TOKEN" "$URL/demo.git/info/refs?service=git-frobnicate")
check_match "info/refs with an unknown service: 4xx" '^4[0-9][0-9]$' "$code"
for p in '/../admin.token' '/demo.git/../../admin.token' '/%2e%2e/admin.token' '/demo.git/%2e%2e/%2e%2e/admin.token' '/..%2fadmin.token'; do
	body=$(curl -s --path-as-is --max-time 10 -H "Authorization: Bearer $TOKEN" -o - -w '\n%{http_code}' "$URL$p")
	code=${body##*$'\n'}
	if [ "$code" != 200 ] && ! printf '%s' "$body" | grep -q "$TOKEN"; then ok "path traversal $p refused ($code)"; else fail "path traversal $p refused" "HTTP $code"; fi
done

check "daemon alive after malformed requests" daemon_alive
C=$T/clone-after
if out=$(g clone -q "$URL/demo.git" "$C" 2>&1); then
	ok "clone after the malformed requests"
	check_eq "clone after the malformed requests: HEAD" "$(server_ref demo refs/heads/main)" "$(git -C "$C" rev-parse HEAD 2>&1)"
else
	fail "clone after the malformed requests" "$out"
fi
check "push after the malformed requests" g -C "$W" push origin main:refs/heads/after

out=$(server_git demo fsck --full 2>&1)
if [ $? -eq 0 ] && ! printf '%s' "$out" | grep -Eq '^(error|missing|broken|bad)'; then ok "git fsck of the server repository is clean"; else fail "git fsck of the server repository is clean" "$out"; fi
check "no leftover quarantine or lock files" test -z "$(find "$DATA/repos/demo.git" -name '*.lock' -o -name 'incoming-*' -o -name 'tmp_*' | head)"

stop_daemon
check_eq "SIGTERM: clean exit (status 0)" 0 "$?"
finish
