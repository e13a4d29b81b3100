#!/usr/bin/env bash
# What a push may store: git fsck's checks on every pushed tree, commit,
# tag and .gitmodules blob (receive.fsckObjects), blob bombs (--max-blob,
# checked from the pack while it is read), a pack header claiming
# 0xffffffff objects, and an SSH push whose client keeps the channel open
# after the pack (libgit2, dulwich, JGit).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ssh_lib.sh"

ssh_start_daemon
create_repo demo
W=$T/w
new_work "$W" demo
commit_files "$W" "base" "README=base" || die "commit"
g -C "$W" push -q origin main || die "push base"
BLOB=$(git -C "$W" rev-parse HEAD:README)
packs() { find "$DATA/repos/demo.git/objects" -name '*.pack' | wc -l | tr -d ' '; }

# mktree ENTRY...: a tree object written as is; ENTRY is MODE:NAME:OID
# (\uXXXX in NAME is that code point, in UTF-8).
mktree() {
	python3 - "$@" <<'PY' | git -C "$W" hash-object -t tree --literally -w --stdin
import sys, binascii
out = b""
for e in sys.argv[1:]:
    mode, name, oid = e.split(":", 2)
    if "\\u" in name:
        name = name.encode().decode("unicode_escape")
    out += mode.encode() + b" " + name.encode("utf-8") + b"\0" + binascii.unhexlify(oid)
sys.stdout.buffer.write(out)
PY
}

# refused DESC MSGID TREE: a commit of TREE pushed to a new branch is
# refused with "<MSGID>: ...", and nothing of it stays.
n=0
refused() {
	local desc=$1 id=$2 tree=$3 c out p0
	n=$((n + 1))
	c=$(git -C "$W" commit-tree -m "bad $n" -p main "$tree") || { fail "$desc: commit-tree"; return; }
	p0=$(packs)
	out=$(g -C "$W" push --porcelain origin "$c:refs/heads/bad$n" 2>&1)
	check_match "$desc: refused with $id" "refs/heads/bad$n	.*$id: " "$out"
	check_eq "$desc: no ref" "" "$(server_ref demo "refs/heads/bad$n")"
	check_eq "$desc: no pack stays" "$p0" "$(packs)"
}

sub=$(mktree "100644:a:$BLOB")
refused "a tree entry .git. (NTFS)" hasDotgit "$(mktree "40000:.git.:$sub")"
refused "a tree entry '.git ' (NTFS)" hasDotgit "$(mktree "40000:.git :$sub")"
refused "a tree entry .GIT" hasDotgit "$(mktree "40000:.GIT:$sub")"
refused "a tree entry .g<U+200C>it (HFS+)" hasDotgit "$(mktree "40000:.g\u200cit:$sub")"
refused "a tree entry git~1 (NTFS short name)" hasDotgit "$(mktree "40000:git~1:$sub")"
refused "a tree entry ." hasDot "$(mktree "40000:.:$sub")"
refused "a tree entry .." hasDotdot "$(mktree "40000:..:$sub")"
refused "a tree entry with a /" fullPathname "$(mktree "100644:a/b:$BLOB")"
refused "duplicate tree entries" duplicateEntries "$(mktree "100644:a:$BLOB" "100644:a:$BLOB")"
refused "unsorted tree entries" treeNotSorted "$(mktree "100644:b:$BLOB" "100644:a:$BLOB")"
refused "a zero-padded mode" zeroPaddedFilemode "$(mktree "0100644:a:$BLOB")"
link=$(printf 'x' | git -C "$W" hash-object -w --stdin)
refused "a symlinked .gitmodules" gitmodulesSymlink "$(mktree "120000:.gitmodules:$link")"
gm() { printf '%s' "$1" | git -C "$W" hash-object -w --stdin; }
refused ".gitmodules url --upload-pack=..." gitmodulesUrl \
	"$(mktree "100644:.gitmodules:$(gm $'[submodule "x"]\n\tpath = x\n\turl = --upload-pack=touch /tmp/pwned\n')")"
refused ".gitmodules name with .." gitmodulesName \
	"$(mktree "100644:.gitmodules:$(gm $'[submodule "../../hooks"]\n\tpath = x\n\turl = https://example.invalid/x\n')")"
refused ".gitmodules path starting with -" gitmodulesPath \
	"$(mktree "100644:.gitmodules:$(gm $'[submodule "x"]\n\tpath = -x\n\turl = https://example.invalid/x\n')")"
badc=$(printf 'tree %s\nauthor nobody\ncommitter c <c@x> 1 +0000\n\nm\n' "$(git -C "$W" rev-parse 'main^{tree}')" |
	git -C "$W" hash-object -t commit --literally -w --stdin)
p0=$(packs)
out=$(g -C "$W" push --porcelain origin "$badc:refs/heads/badcommit" 2>&1)
check_match "a commit with a malformed author: refused" "badcommit	.*(badEmail|missingEmail|badName)" "$out"
check_eq "it left no pack" "$p0" "$(packs)"
# Tag objects, through git fsck's ident checks: a tagger without an email
# (libgit2 alone refuses that one too, without a msgId), and three that
# libgit2 would store (a bad time zone, no space before the email, a
# zero-padded date). A well-formed annotated tag is stored.
MAIN=$(git -C "$W" rev-parse main)
badtag() {
	local desc=$1 id=$2 tagger=$3 t out p0
	n=$((n + 1))
	t=$(printf 'object %s\ntype commit\ntag bt%s\n%s\n\nm\n' "$MAIN" "$n" "$tagger" |
		git -C "$W" hash-object -t tag --literally -w --stdin)
	p0=$(packs)
	out=$(g -C "$W" push --porcelain origin "$t:refs/tags/bt$n" 2>&1)
	check_match "$desc: refused with $id" "refs/tags/bt$n	.*$id: tag " "$out"
	check_eq "$desc: no tag ref" "" "$(server_ref demo "refs/tags/bt$n")"
	check_eq "$desc: no pack stays" "$p0" "$(packs)"
}
badtag "a tag without a tagger email" missingEmail 'tagger nobody 1700000000 +0000'
badtag "a tag with a bad tagger time zone" badTimezone 'tagger t <t@x> 1700000000 +00000'
badtag "a tag with no space before the tagger email" missingSpaceBeforeEmail 'tagger t<t@x> 1700000000 +0000'
badtag "a tag with a zero-padded tagger date" zeroPaddedDate 'tagger t <t@x> 01700000000 +0000'
git -C "$W" tag -a -m "a good tag" goodtag main
check "a well-formed annotated tag is accepted" g -C "$W" push -q origin refs/tags/goodtag
good=$(git -C "$W" commit-tree -m good -p main "$(mktree "100644:.gitmodules:$(gm $'[submodule "x"]\n\tpath = x\n\turl = https://example.invalid/x\n')" "100644:a:$BLOB")")
check "a valid tree and .gitmodules are accepted" g -C "$W" push -q origin "$good:refs/heads/good"
check "git fsck of the served repository is clean" server_git demo fsck --strict --no-progress
C=$T/fsckclone
check "a client with fetch.fsckObjects clones it" g -c fetch.fsckObjects=true -c transfer.fsckObjects=true clone -q --no-single-branch "$URL/demo.git" "$C"

# Blob bombs: the inflated size counts, checked while the pack is read.
head -c $((120 << 20)) /dev/zero >"$W/zeros.bin"
commit_files "$W" "bomb" || die "commit bomb"
bomb=$(git -C "$W" rev-parse HEAD)
git -C "$W" reset -q --hard HEAD~1
p0=$(packs)
rss0=$(awk '/^VmHWM/ {print $2}' "/proc/$DAEMON_PID/status")
out=$(g -C "$W" push --porcelain origin "$bomb:refs/heads/bomb" 2>&1)
check_match "a 120 MiB blob (a pack of a few hundred KB) is refused by --max-blob" "inflates to 125829120 bytes; the limit \(--max-blob\) is 104857600" "$out"
check_eq "the bomb left no ref" "" "$(server_ref demo refs/heads/bomb)"
check_eq "the bomb left no pack" "$p0" "$(packs)"
rss1=$(awk '/^VmHWM/ {print $2}' "/proc/$DAEMON_PID/status")
# A guard, not proof: libgit2 streams, so the base stayed low too; the
# refusal checks above are what tell old from new.
if [ $((rss1 - rss0)) -lt 65536 ]; then ok "refusing it cost $((rss1 - rss0)) KiB of peak RSS"; else fail "refusing the bomb raised peak RSS by $((rss1 - rss0)) KiB"; fi

# A header claiming 0xffffffff objects: refused from the header.
{
	line="$(printf '0%.0s' $(seq 40)) $(git -C "$W" rev-parse main) refs/heads/huge"
	printf '%04x%s\0report-status\n' $((4 + ${#line} + 15)) "$line"
	printf '0000PACK\0\0\0\2\377\377\377\377'
	head -c 64 /dev/zero
} >"$T/huge.body"
out=$(curl -s --max-time 20 -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/x-git-receive-pack-request' \
	--data-binary @"$T/huge.body" "$URL/demo.git/git-receive-pack" | tr -d '\0')
check_match "a pack header claiming 4294967295 objects is refused from the header" "4294967295 objects; the limit is" "$out"
rss2=$(awk '/^VmHWM/ {print $2}' "/proc/$DAEMON_PID/status")
# A guard, not proof: the base's libgit2 allocation failed outright, so
# its RSS did not rise either; the refusal from the header is the proof.
if [ $((rss2 - rss1)) -lt 65536 ]; then ok "it allocated nothing from the count (peak RSS +$((rss2 - rss1)) KiB)"; else fail "peak RSS rose by $((rss2 - rss1)) KiB"; fi
check "the daemon is alive" daemon_alive

# SSH: the channel stays open after the pack, as libgit2, dulwich and JGit do.
new_key ci
add_key ci admin '["*"]' "$T/keys/ci"
commit_files "$W" "over ssh" "ssh.txt=1" || die "commit"
tip=$(git -C "$W" rev-parse HEAD)
printf '%s\n^%s\n' "$tip" "$(server_ref demo refs/heads/main)" | git -C "$W" pack-objects --stdout --revs >"$T/ssh.pack" 2>/dev/null
out=$(timeout 40 python3 "$(dirname "$0")/rawgit.py" ssh-push-open "ssh $(ssh_opts "$T/keys/ci") git@127.0.0.1" \
	demo refs/heads/main "$(server_ref demo refs/heads/main)" "$tip" "$T/ssh.pack" 15 2>&1)
check_match "an SSH push answers while the client keeps the channel open" "unpack ok \| ok refs/heads/main" "$out"
check_eq "and main moved" "$tip" "$(server_ref demo refs/heads/main)"
check "git fsck is clean at the end" server_git demo fsck --no-progress
finish
