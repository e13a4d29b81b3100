#!/usr/bin/env bash
# Packs are written from what the repository stores (src/packwrite.c): each
# entry copied as stored, deltas kept when their base goes along, thin
# deltas against what the client has, offsets for go-git, and a stored
# entry whose bytes do not match its index CRC never copied.
. "$(dirname "$0")/lib.sh"
need_interop

start_daemon
create_repo reuse
W=$T/w
new_work "$W" reuse
# Two files that differ by one line: git's push packs one as a delta of
# the other. Pseudo-random lines, so the file does not compress away.
awk 'BEGIN { srand(7); for (i = 0; i < 3000; i++) printf "%d %08x%08x\n", i, rand() * 4294967295, rand() * 4294967295 }' >"$W/big.txt"
sed 's/^1500 .*/1500 changed/' "$W/big.txt" >"$W/copy.txt"
commit_files "$W" "c1" >/dev/null || die "commit"
g -C "$W" push -q origin main || die "push c1"

# the last pack line of the log: "N objects (R reused, D deltas), B bytes"
pack_line() { grep 'git-upload-pack reuse by admin: ok, [0-9]* objects' "$DAEMON_LOG" | tail -n 1; }
field() { sed -E "s/.*ok, ([0-9]+) objects \(([0-9]+) reused, ([0-9]+) deltas\), ([0-9]+) bytes.*/\\$1/"; }

# A full clone (no maintained pack yet): everything as stored.
for v in 0 2; do
	C=$T/full$v
	out=$(g -c protocol.version=$v clone -q "$URL/reuse.git" "$C" 2>&1) || fail "full clone (v$v)" "$out"
	check "full clone (v$v): fsck" git -C "$C" fsck --strict --no-progress
	line=$(pack_line)
	check_match "full clone (v$v): the log says what the pack was made of" "ok, 4 objects \(4 reused, [0-9]+ deltas\)" "$line"
	check_eq "full clone (v$v): the pushed delta goes out as a delta" 1 "$(printf '%s' "$line" | field 3)"
	check_eq "full clone (v$v): files equal" "" "$(tree_diff "$W" "$C")"
done

# The client at c1; c2 changes one line of big.txt. The fetch is thin:
# the stored delta against c1's blob goes as it is, not the whole file.
sed -i 's/^10 .*/10 changed too/' "$W/big.txt"
commit_files "$W" "c2" >/dev/null || die "commit"
g -C "$W" push -q origin main || die "push c2"
for v in 0 2; do
	C=$T/full$v
	out=$(g -C "$C" -c protocol.version=$v fetch -q origin 2>&1) || fail "fetch (v$v)" "$out"
	check_eq "fetch (v$v): has c2" "$(git -C "$W" rev-parse HEAD)" "$(git -C "$C" rev-parse origin/main)"
	check "fetch (v$v): fsck" git -C "$C" fsck --strict --no-progress
	line=$(pack_line)
	check_match "fetch (v$v): 3 objects, none the client has" "ok, 3 objects" "$line"
	bytes=$(printf '%s' "$line" | field 4)
	if [ "${bytes:-99999}" -lt 4000 ]; then ok "fetch (v$v): thin, $bytes bytes for a change to a ${#bytes}-digit file"; else fail "fetch (v$v): thin pack" "$line"; fi
done
# Without thin-pack (a raw v0 request that does not ask for it), the
# delta's base is not there: big.txt goes whole, the pack stands alone.
old=$(git -C "$W" rev-parse HEAD~1)
new=$(git -C "$W" rev-parse HEAD)
pkt() { printf '%04x%s' $((${#1} + 4)) "$1"; }
{ pkt "want $new ofs-delta agent=test
"; printf 0000; pkt "have $old
"; pkt "done
"; } >"$T/nothin.req"
curl -s --max-time 30 -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/x-git-upload-pack-request' \
	--data-binary @"$T/nothin.req" "$URL/reuse.git/git-upload-pack" >"$T/nothin.resp"
# The answer: "NAK" or "ACK ..." pkt-lines, then the pack itself.
python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); i = d.find(b"PACK"); sys.stdout.buffer.write(d[i:] if i >= 0 else b"")' "$T/nothin.resp" >"$T/nothin.pack"
git init -q --bare "$T/nothin"
check "no thin-pack: the pack indexes on its own (no missing base)" git -C "$T/nothin" index-pack --stdin <"$T/nothin.pack"
check_match "no thin-pack: 3 objects, big.txt whole" "ok, 3 objects \([0-9]+ reused, 0 deltas\)" "$(pack_line)"

# depth 1: the tip's objects, the delta between big.txt and copy.txt
# kept only if its base is sent too; either way a valid pack.
for v in 0 2; do
	C=$T/shallow$v
	out=$(g -c protocol.version=$v clone -q --depth 1 "$URL/reuse.git" "$C" 2>&1) || fail "depth 1 (v$v)" "$out"
	check "depth 1 (v$v): fsck" git -C "$C" fsck --strict --no-progress
	check_match "depth 1 (v$v): 4 objects, copied as stored where they can be" "ok, 4 objects \([1-4] reused" "$(pack_line)"
done

# A repository packed with REF_DELTA only (as libgit2 writes): go-git,
# which follows delta chains only by offset, gets offsets.
server_git reuse -c repack.useDeltaBaseOffset=false repack -adfq --depth 5 --window 10 || die "repack"
rm -f "$DATA"/repos/reuse.git/objects/pack/*.tips
C=$T/gogit
out=$(AUGER_USER=flux AUGER_TOKEN=$TOKEN timeout -k 5 "$CMD_TIMEOUT" "$GOGIT_CLIENT" clone "$URL/reuse.git" "$C" --depth 1 --branch main 2>&1) || fail "go-git depth 1 of a REF_DELTA pack" "$out"
check_eq "go-git depth 1 of a REF_DELTA pack: files" "" "$(diff "$W/big.txt" "$C/big.txt" && diff "$W/copy.txt" "$C/copy.txt")"
C=$T/refclone
out=$(g clone -q "$URL/reuse.git" "$C" 2>&1) || fail "git clone of a REF_DELTA pack" "$out"
check "git clone of a REF_DELTA pack: fsck" git -C "$C" fsck --strict --no-progress
check_match "git clone of a REF_DELTA pack: deltas reused" "ok, 7 objects \(7 reused, [1-9]" "$(pack_line)"

# A stored entry whose bytes do not match the index CRC is not copied:
# the object is read through libgit2 instead (from its cache, or refused
# as damaged). The client gets a sound pack or an error, never a pack
# carrying the damaged bytes.
P=$(ls "$DATA"/repos/reuse.git/objects/pack/pack-*.pack | head -n 1)
# The largest entry (a whole big.txt or copy.txt): damage the middle of it.
read -r off size <<<"$(server_git reuse verify-pack -v "${P%.pack}.idx" | awk '$2 == "blob" { if ($4 > s) { s = $4; o = $5 } } END { print o, s }')"
printf 'XXXX' | dd of="$P" bs=1 seek=$((off + size / 2)) conv=notrunc status=none
C=$T/damaged
out=$(g -c protocol.version=0 clone -q "$URL/reuse.git" "$C" 2>&1)
rc=$?
line=$(tail -n 3 "$DAEMON_LOG" | grep 'git-upload-pack reuse by admin' | tail -n 1)
if [ $rc = 0 ]; then
	check "a damaged stored entry: the clone that succeeded is sound" git -C "$C" fsck --strict --no-progress
	check_eq "a damaged stored entry: the clone has the right big.txt" "" "$(diff "$W/big.txt" "$C/big.txt" 2>&1)"
	check_match "a damaged stored entry: it was not copied (6 of 7 reused)" "ok, 7 objects \(6 reused" "$line"
else
	check_match "a damaged stored entry: the daemon says why" "git-upload-pack reuse by admin: .*(object|zlib|inflate|corrupt|pack)" "$line"
fi
check "daemon alive" daemon_alive
finish
