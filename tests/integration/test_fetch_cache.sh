#!/usr/bin/env bash
# The fetch cache: an identical upload-pack request at the same ref state is
# answered from memory, byte for byte; a push changes the ref state, so the
# next fetch sees the new tip; requests that differ only in the agent or
# the order of capabilities share an entry.
. "$(dirname "$0")/lib.sh"

AUGERD_ARGS="--prewarm 0"	# the cache itself, not what pre-warm puts in it
start_daemon
create_repo demo

W=$T/work
new_work "$W" demo || die "git init"
two_commits "$W" || die "commit"
out=$(g -C "$W" push origin main 2>&1) || die "push" "$out"
TIP=$(git -C "$W" rev-parse HEAD)

hits() { grep -c "from the fetch cache" "$DAEMON_LOG"; }

# Flux's request, as raw bytes, twice: the second comes from the cache.
pkt() { printf '%04x%s' $((${#1} + 4)) "$1"; }
flux_body() {
	pkt "want $1 multi_ack_detailed side-band-64k ofs-delta shallow no-progress agent=$2"$'\n'
	pkt $'deepen 1\n'
	printf '0000'
	pkt $'done\n'
}
post() {
	curl -s --max-time 30 -H "Authorization: Bearer $TOKEN" \
	    -H 'Content-Type: application/x-git-upload-pack-request' \
	    --data-binary @"$1" "$URL/demo.git/git-upload-pack" -o "$2"
}
flux_body "$TIP" git/2.39.5 >"$T/req-a"
flux_body "$TIP" git/2.40.0 >"$T/req-b"
before=$(hits)
post "$T/req-a" "$T/resp1"
post "$T/req-a" "$T/resp2"
check_eq "the second identical request is a cache hit" $((before + 1)) "$(hits)"
check "the cached answer is byte for byte the built one" cmp -s "$T/resp1" "$T/resp2"
post "$T/req-b" "$T/resp3"
check_eq "a different agent version shares the entry" $((before + 2)) "$(hits)"
check "... with the same bytes" cmp -s "$T/resp1" "$T/resp3"

# Every client that asks the same is sent the same bytes (packs are
# written from stored entries, offsets for whoever takes ofs-delta): a
# go-git agent, even one whose name has another length, shares the entry.
flux_body "$TIP" go-git/5.4.2 >"$T/req-g"
post "$T/req-g" "$T/resp-g"
check_eq "go-git's request (another agent length) shares git's entry" \
    $((before + 3)) "$(hits)"
check "... with the same bytes" cmp -s "$T/resp1" "$T/resp-g"
# The capabilities in another order (go-git writes agent= before shallow).
{ pkt "want $TIP side-band-64k ofs-delta agent=go-git/5.x shallow no-progress multi_ack_detailed"$'\n'
	pkt $'deepen 1\n'; printf '0000'; pkt $'done\n'; } >"$T/req-o"
post "$T/req-o" "$T/resp-o"
check_eq "capabilities in another order share the entry" $((before + 4)) "$(hits)"
# A different capability set is a different answer.
{ pkt "want $TIP side-band-64k ofs-delta shallow no-progress"$'\n'
	pkt $'deepen 1\n'; printf '0000'; pkt $'done\n'; } >"$T/req-n"
post "$T/req-n" "$T/resp-n"
check_eq "without multi_ack_detailed: built, not shared" $((before + 4)) "$(hits)"

# Real clones: the second depth-1 clone is served from the cache, complete.
g -c protocol.version=0 clone -q --depth 1 "$URL/demo.git" "$T/c1" ||
    die "clone 1"
h=$(hits)
g -c protocol.version=0 clone -q --depth 1 "$URL/demo.git" "$T/c2" ||
    die "clone 2"
check "the second clone's fetch came from the cache" [ "$(hits)" -gt "$h" ]
check_eq "cached clone: HEAD" "$TIP" "$(git -C "$T/c2" rev-parse HEAD)"
check "cached clone: fsck" git -C "$T/c2" fsck --no-progress
check "cached clone: same files" tree_diff "$T/c1" "$T/c2"

# A push moves the refs: the next clone gets the new tip.
for i in $(seq 1 40); do printf 'app %d\nimage: v3\n' "$i" >"$W/f$i.yaml"; done
commit_files "$W" "third" || die "commit"
out=$(g -C "$W" push origin main 2>&1) || die "push" "$out"
NEW=$(git -C "$W" rev-parse HEAD)
g -c protocol.version=0 clone -q --depth 1 "$URL/demo.git" "$T/c3" ||
    die "clone 3"
check_eq "after a push, a clone sees the new tip" "$NEW" \
    "$(git -C "$T/c3" rev-parse HEAD)"
check_match "after a push, its files are the new ones" "image: v3" \
    "$(cat "$T/c3/f1.yaml")"

# go-git twice: the second from the cache, and it still clones.
need_interop
h=$(hits)
for n in 1 2; do
	out=$(AUGER_USER=x AUGER_TOKEN=$TOKEN \
	    "$GOGIT_CLIENT" clone "$URL/demo.git" "$T/gg$n" --depth 1 2>&1)
	check "go-git clone $n" [ $? -eq 0 ]
done
check "go-git's second clone came from the cache" [ "$(hits)" -gt "$h" ]
check_eq "go-git cached clone: HEAD" "$NEW" \
    "$(git -C "$T/gg2" rev-parse HEAD 2>/dev/null)"
finish
