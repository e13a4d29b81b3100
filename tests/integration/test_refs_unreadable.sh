#!/usr/bin/env bash
# A ref list that cannot be read whole is an error (503 with Retry-After;
# git sees a failure), never a 200 with fewer refs: a GitOps client must
# not take "fewer refs" for the truth. Here an annotated tag's object is
# damaged on disk, so the advertisement cannot peel it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ssh_lib.sh"

start_daemon
create_repo refs
W=$T/w
new_work "$W" refs
commit_files "$W" "one" "a.yaml=k: v" >/dev/null || die "commit"
git -C "$W" tag -a v1 -m "release v1" || die "tag"
g -C "$W" push -q origin main v1 || die "push"
check_eq "before: info/refs is 200" 200 "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$URL/refs.git/info/refs?service=git-upload-pack")"

# Damage the tag object where the repository keeps it (loose or packed).
TAG=$(git -C "$W" rev-parse v1)
stop_daemon || fail "stop"
B=$DATA/repos/refs.git
loose=$B/objects/${TAG:0:2}/${TAG:2}
if [ -f "$loose" ]; then
	chmod u+w "$loose" && printf 'garbage' >"$loose"
else
	for idx in "$B"/objects/pack/pack-*.idx; do
		off=$(git verify-pack -v "$idx" 2>/dev/null | awk -v t="$TAG" '$1 == t { print $5 }')
		[ -n "$off" ] || continue
		printf '\377\377\377\377\377\377\377\377' | dd of="${idx%.idx}.pack" bs=1 seek=$((off + 2)) conv=notrunc status=none
	done
fi
ssh_start_daemon "$DATA"
hdr=$T/h
code=$(curl -s -D "$hdr" -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$URL/refs.git/info/refs?service=git-upload-pack")
check_eq "a tag that cannot be read: info/refs is 503, not a shorter list" 503 "$code"
check_match "... with Retry-After" "^Retry-After:" "$(tr -d '\r' <"$hdr")"
out=$(g ls-remote "$URL/refs.git" 2>&1)
rc=$?
check_not "git ls-remote does not succeed with fewer refs" test "$rc" = 0
check_not "... and prints no ref list" grep -q "refs/heads/main" <<<"$out"
# Over SSH the same: the listing fails, and no ref of it is printed.
new_key ops ed25519
add_key ops admin '["*"]' "$T/keys/ops"
out=$(git_ssh "$T/keys/ops" ls-remote "$(ssh_url refs)" 2>&1)
rc=$?
check_not "ssh: git ls-remote does not succeed with fewer refs" test "$rc" = 0
check_not "ssh: ... and prints no ref list" grep -q "refs/heads/main" <<<"$out"
check "daemon alive" daemon_alive
finish
