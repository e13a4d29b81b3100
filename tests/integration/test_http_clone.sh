#!/usr/bin/env bash
# Repository API, auth, and fetching with the git CLI over smart HTTP:
# clone (protocol v0 and v2), shallow clone and deepen, incremental fetch,
# ls-remote, tag auto-following, fsck of the server's repository.
. "$(dirname "$0")/lib.sh"

start_daemon

# ---------------------------------------------------------------- startup
check_match "http.addr holds 127.0.0.1:PORT and a newline" '^127\.0\.0\.1:[0-9]+$' "$(cat "$DATA/http.addr")"
check_eq "admin.token has mode 0600" 600 "$(stat -c %a "$DATA/admin.token")"
check_match "admin.token is a hex token" '^[0-9a-f]{16,}$' "$TOKEN"

# ---------------------------------------------------------------- auth
hdrs=$(curl -s -D - -o /dev/null --max-time 10 "$URL/api/repos")
check_match "no credentials: 401" '^HTTP/[0-9.]+ 401' "$hdrs"
check_match "401 carries WWW-Authenticate: Basic realm=\"auger\"" '^[Ww][Ww][Ww]-[Aa]uthenticate: Basic realm="auger"' "$(printf '%s' "$hdrs" | tr -d '\r')"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "Authorization: Bearer 0000${TOKEN#????}x" "$URL/api/repos")
check_eq "wrong bearer token: 401" 401 "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -u "anyone:nottherighttoken" "$URL/api/repos")
check_eq "wrong basic password: 401" 401 "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -u "anyone:$TOKEN" "$URL/api/repos")
check_eq "basic auth with any user and the token: 200" 200 "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "Authorization: Bearer $TOKEN" "$URL/api/repos")
check_eq "bearer token: 200" 200 "$code"

# ---------------------------------------------------------------- repo API
api POST /api/repos '{"name":"demo"}'
check_eq "POST /api/repos demo: 201" 201 "$API_STATUS"
check_eq "created repo: name" demo "$(printf '%s' "$API_BODY" | json_str name)"
check_eq "created repo: url" "$URL/demo.git" "$(printf '%s' "$API_BODY" | json_str url)"
check "created repo is a bare repository on disk" test "$(git --git-dir="$DATA/repos/demo.git" rev-parse --is-bare-repository 2>&1)" = true
check_eq "created repo: HEAD -> refs/heads/main" refs/heads/main "$(server_git demo symbolic-ref HEAD 2>&1)"
check_not "created repo has no commits" server_git demo rev-parse -q --verify HEAD

api POST /api/repos '{"name":"demo"}'
check_eq "POST /api/repos existing name: 409" 409 "$API_STATUS"

for bad in '..' '-x' '.x' '/abs' "$(printf 'a%.0s' $(seq 70))" 'Bad!'; do
	api POST /api/repos "{\"name\":\"$bad\"}"
	check_eq "POST /api/repos '${bad:0:20}': 400" 400 "$API_STATUS"
	if printf '%s' "$API_BODY" | json_valid && [ -n "$(printf '%s' "$API_BODY" | json_str error)" ]; then
		ok "POST /api/repos '${bad:0:20}': JSON error message"
	else
		fail "POST /api/repos '${bad:0:20}': JSON error message" "body: $API_BODY"
	fi
done
check "no repository was created outside DATA/repos by bad names" test ! -e "$DATA/abs.git" -a ! -e "$DATA/repos/..git" -a ! -e /abs.git

api GET /api/repos
check_eq "GET /api/repos: 200" 200 "$API_STATUS"
if command -v jq >/dev/null 2>&1; then
	check_eq "GET /api/repos lists demo with its url" "demo $URL/demo.git" \
		"$(printf '%s' "$API_BODY" | jq -r '.repos[] | select(.name == "demo") | "\(.name) \(.url)"' 2>&1)"
else
	check_match "GET /api/repos lists demo" '"name" *: *"demo"' "$API_BODY"
fi

# ---------------------------------------------------------------- CLI
export AUGER_URL=$URL AUGER_TOKEN=$TOKEN
if [ -x "$AUGER" ]; then
	out=$(timeout 10 "$AUGER" repo create cli-made 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then ok "auger repo create cli-made"; else fail "auger repo create cli-made" "rc=$rc (124 = timed out)" "$out"; fi
	check "cli-made exists on disk" test -d "$DATA/repos/cli-made.git"
	out=$(timeout 10 "$AUGER" repo list 2>&1)
	check_match "auger repo list shows demo" '(^|[^a-z-])demo([^a-z-]|$)' "$out"
	check_match "auger repo list shows cli-made" 'cli-made' "$out"
	out=$(AUGER_TOKEN=bad timeout 10 "$AUGER" repo create nope 2>&1)
	rc=$?
	if [ $rc -ne 0 ] && [ $rc -ne 124 ]; then ok "auger repo create with a bad token fails"; else fail "auger repo create with a bad token fails" "rc=$rc (124 = timed out)" "$out"; fi
	check "auger repo create with a bad token created nothing" test ! -e "$DATA/repos/nope.git"
else
	fail "auger CLI binary at $AUGER"
fi
unset AUGER_TOKEN

# ---------------------------------------------------------------- git auth
check_not "git ls-remote without credentials fails" git_noauth ls-remote "$URL/demo.git"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$URL/demo.git/info/refs?service=git-upload-pack")
check_eq "info/refs without credentials: 401" 401 "$code"
check "git clone of an empty repo" g clone -q "$URL/demo.git" "$T/empty"
host=${ADDR%:*} port=${ADDR#*:}
check "git ls-remote with the token in the URL userinfo" \
	git_noauth ls-remote "http://x:$TOKEN@$host:$port/demo.git"

# ---------------------------------------------------------------- push a history
W=$T/work
new_work "$W" demo || die "git init"
commit_files "$W" "first" "README.md=hello" "src/main.c=int main(void){return 0;}" || die "commit"
printf '\0\1\2\3binary\377' >"$W/blob.bin"
commit_files "$W" "second" "docs/guide.md=guide v1" "a b.txt=space in name" || die "commit"
commit_files "$W" "third" "README.md=hello again" || die "commit"
out=$(g -C "$W" push origin main 2>&1) || die "initial push" "$out"
TIP=$(git -C "$W" rev-parse HEAD)
check_eq "server main after push" "$TIP" "$(server_ref demo refs/heads/main)"

# ---------------------------------------------------------------- clone v0 / v2
for v in 0 2; do
	C=$T/clone-v$v
	if out=$(GIT_TRACE_PACKET="$T/trace-clone-v$v" g -c protocol.version=$v clone -q "$URL/demo.git" "$C" 2>&1); then
		ok "clone with protocol.version=$v"
		check_eq "clone v$v: HEAD equals pushed tip" "$TIP" "$(git -C "$C" rev-parse HEAD 2>&1)"
		check "clone v$v: files equal the pushed tree" tree_diff "$W" "$C"
		check_eq "clone v$v: full history" 3 "$(git -C "$C" rev-list --count HEAD 2>&1)"
		check_eq "clone v$v: checked-out branch is main" main "$(git -C "$C" symbolic-ref --short HEAD 2>&1)"
		check "clone v$v: fsck clean" git -C "$C" fsck --no-dangling
	else
		fail "clone with protocol.version=$v" "$out"
	fi
done
if grep -q '< version 2' "$T/trace-clone-v2" 2>/dev/null; then ok "clone v2 negotiated protocol v2"; else fail "clone v2 negotiated protocol v2" "no 'version 2' in the packet trace"; fi
if grep -q '< version 2' "$T/trace-clone-v0" 2>/dev/null; then fail "clone v0 stayed on protocol v0" "server answered version 2"; else ok "clone v0 stayed on protocol v0"; fi

# ---------------------------------------------------------------- shallow
for v in 0 2; do
	S=$T/shallow-v$v
	if out=$(g -c protocol.version=$v clone -q --depth 1 "$URL/demo.git" "$S" 2>&1); then
		ok "clone --depth 1 (v$v)"
		check "clone --depth 1 (v$v): .git/shallow exists" test -s "$S/.git/shallow"
		check_eq "clone --depth 1 (v$v): .git/shallow names the tip" "$TIP" "$(cat "$S/.git/shallow" 2>&1)"
		check_eq "clone --depth 1 (v$v): rev-list --count HEAD = 1" 1 "$(git -C "$S" rev-list --count HEAD 2>&1)"
		check "clone --depth 1 (v$v): files equal the pushed tree" tree_diff "$W" "$S"
		if out=$(g -C "$S" -c protocol.version=$v fetch -q --deepen 1 2>&1); then
			ok "fetch --deepen 1 (v$v)"
			check_eq "fetch --deepen 1 (v$v): rev-list --count HEAD = 2" 2 "$(git -C "$S" rev-list --count HEAD 2>&1)"
			check_eq "fetch --deepen 1 (v$v): .git/shallow names the tip's parent" "$(git -C "$W" rev-parse HEAD~1)" "$(cat "$S/.git/shallow" 2>&1)"
		else
			fail "fetch --deepen 1 (v$v)" "$out"
		fi
		if out=$(g -C "$S" -c protocol.version=$v fetch -q --unshallow 2>&1); then
			ok "fetch --unshallow (v$v)"
			check_eq "fetch --unshallow (v$v): full history" 3 "$(git -C "$S" rev-list --count HEAD 2>&1)"
			check "fetch --unshallow (v$v): no .git/shallow" test ! -e "$S/.git/shallow"
		else
			fail "fetch --unshallow (v$v)" "$out"
		fi
	else
		fail "clone --depth 1 (v$v)" "$out"
	fi
done

# ---------------------------------------------------------------- incremental fetch
commit_files "$W" "fourth" "src/lib.c=int lib;" || die "commit"
commit_files "$W" "fifth" "docs/guide.md=guide v2" || die "commit"
out=$(g -C "$W" push origin main 2>&1) || die "second push" "$out"
TIP2=$(git -C "$W" rev-parse HEAD)
for v in 0 2; do
	C=$T/clone-v$v
	[ -d "$C" ] || continue
	if out=$(GIT_TRACE_PACKET="$T/trace-fetch-v$v" g -C "$C" -c protocol.version=$v fetch origin 2>&1); then
		ok "incremental fetch (v$v)"
		check_eq "incremental fetch (v$v): origin/main is the new tip" "$TIP2" "$(git -C "$C" rev-parse origin/main 2>&1)"
		if grep -q "> have $TIP" "$T/trace-fetch-v$v"; then
			ok "incremental fetch (v$v): client sent its old tip as a have"
		else
			fail "incremental fetch (v$v): client sent its old tip as a have" "$(grep -E 'have|want|ACK|NAK' "$T/trace-fetch-v$v" | head -n 20)"
		fi
		if grep -q "< ACK $TIP" "$T/trace-fetch-v$v"; then
			ok "incremental fetch (v$v): server acknowledged the common commit"
		else
			fail "incremental fetch (v$v): server acknowledged the common commit" "$(grep -E '< ' "$T/trace-fetch-v$v" | grep -v 'PACK' | head -n 20)"
		fi
		check "incremental fetch (v$v): merge --ff-only" git -C "$C" merge -q --ff-only origin/main
		check "incremental fetch (v$v): files equal the pushed tree" tree_diff "$W" "$C"
		check "incremental fetch (v$v): fsck clean" git -C "$C" fsck --no-dangling
	else
		fail "incremental fetch (v$v)" "$out"
	fi
done

# ---------------------------------------------------------------- refs, tags, ls-remote
git -C "$W" tag -a v1.0 -m "release 1.0" HEAD~1 || die "tag"
git -C "$W" tag light HEAD~2 || die "tag"
git -C "$W" branch feature HEAD~3 || die "branch"
out=$(g -C "$W" push origin v1.0 light feature 2>&1) || die "push tags" "$out"
check_eq "annotated tag object on the server" "$(git -C "$W" rev-parse v1.0)" "$(server_ref demo refs/tags/v1.0)"

want=$(git ls-remote "$DATA/repos/demo.git" 2>&1)
check_match "reference ls-remote has a peeled tag line" 'refs/tags/v1\.0\^\{\}' "$want"
for v in 0 2; do
	got=$(g -c protocol.version=$v ls-remote "$URL/demo.git" 2>&1)
	check_eq "ls-remote (v$v) equals the server's refs incl. HEAD and peeled tags" "$want" "$got"
done
want=$(git ls-remote --symref "$DATA/repos/demo.git" HEAD 2>&1)
got=$(g -c protocol.version=2 ls-remote --symref "$URL/demo.git" HEAD 2>&1)
check_eq "ls-remote --symref HEAD (v2)" "$want" "$got"
got=$(g -c protocol.version=0 ls-remote --symref "$URL/demo.git" HEAD 2>&1)
check_eq "ls-remote --symref HEAD (v0, from the symref capability)" "$want" "$got"
got=$(g -c protocol.version=2 ls-remote "$URL/demo.git" 'refs/tags/*' 2>&1)
check_eq "ls-remote with a ref pattern (v2)" "$(git ls-remote "$DATA/repos/demo.git" 'refs/tags/*')" "$got"

# Auto-follow: a new commit and an annotated tag on it; plain `git fetch`.
commit_files "$W" "sixth" "CHANGELOG=1.1" || die "commit"
git -C "$W" tag -a v1.1 -m "release 1.1" || die "tag"
out=$(g -C "$W" push origin main v1.1 2>&1) || die "push v1.1" "$out"
for v in 0 2; do
	C=$T/clone-v$v
	[ -d "$C" ] || continue
	git -C "$C" tag -d v1.0 light >/dev/null 2>&1
	if out=$(g -C "$C" -c protocol.version=$v fetch origin 2>&1); then
		ok "plain fetch with a new annotated tag (v$v)"
		check_eq "plain fetch (v$v) auto-followed the annotated tag v1.1" "$(git -C "$W" rev-parse v1.1)" "$(git -C "$C" rev-parse -q --verify refs/tags/v1.1 2>&1)"
		check_eq "plain fetch (v$v): v1.1 is a tag object" tag "$(git -C "$C" cat-file -t refs/tags/v1.1 2>&1)"
		check_eq "plain fetch (v$v) auto-followed v1.0 (its commit was already here)" "$(git -C "$W" rev-parse v1.0)" "$(git -C "$C" rev-parse -q --verify refs/tags/v1.0 2>&1)"
		check "plain fetch (v$v): fsck clean" git -C "$C" fsck --no-dangling
	else
		fail "plain fetch with a new annotated tag (v$v)" "$out"
	fi
done
# A depth-1 clone of main gets the tag on its tip too (include-tag).
for v in 0 2; do
	S=$T/shallow-tag-v$v
	if out=$(g -c protocol.version=$v clone -q --depth 1 "$URL/demo.git" "$S" 2>&1); then
		check_eq "clone --depth 1 (v$v) brings the annotated tag on the tip" "$(git -C "$W" rev-parse v1.1)" "$(git -C "$S" rev-parse -q --verify refs/tags/v1.1 2>&1)"
	else
		fail "clone --depth 1 (v$v) after tagging" "$out"
	fi
done

# Fetch of a single ref by name and of a commit id (allow-reachable-sha1-in-want).
F=$T/fetch-by-id
git init -q "$F"
check "fetch of a reachable commit id (v2)" g -C "$F" -c protocol.version=2 fetch -q "$URL/demo.git" "$TIP"
check "fetch of a reachable commit id (v0)" g -C "$F" -c protocol.version=0 fetch -q "$URL/demo.git" "$(git -C "$W" rev-parse HEAD~4)"
check "the fetched commit is present" git -C "$F" cat-file -e "$TIP^{commit}"

# ---------------------------------------------------------------- server repo health
out=$(git --git-dir="$DATA/repos/demo.git" fsck --full --strict 2>&1)
rc=$?
if [ $rc -eq 0 ] && ! printf '%s' "$out" | grep -Eq '^(error|missing|broken|bad)'; then
	ok "git fsck of the server repository is clean"
else
	fail "git fsck of the server repository is clean" "$out"
fi
check "daemon still running" daemon_alive

stop_daemon
check_eq "SIGTERM: clean exit (status 0)" 0 "$?"

finish
