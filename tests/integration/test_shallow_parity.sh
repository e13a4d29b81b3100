#!/usr/bin/env bash
# Shallow boundaries against git itself: every case is cloned or fetched
# twice, from augerd (HTTP) and from git's own upload-pack (file://), with
# protocol v0 and v2, and the commits the client ends with and its
# .git/shallow must be the same. Shapes: one want an ancestor of another,
# merges, several wants at different depths, deepen-relative, client
# shallow lines, deepen-since and deepen-not.
. "$(dirname "$0")/lib.sh"

start_daemon
create_repo hist

# History: a linear main c1..c8, a branch "old" at c3, a side branch
# forked at c4 and merged at c7, a tag at c2, a branch "far" at c6.
W=$T/w
new_work "$W" hist
for i in 1 2 3 4; do
	GIT_COMMITTER_DATE="$((1700000000 + i * 86400)) +0000" GIT_AUTHOR_DATE="$((1700000000 + i * 86400)) +0000" \
		git -C "$W" commit -q --allow-empty -m "c$i"
	[ $i = 2 ] && git -C "$W" tag v2
	[ $i = 3 ] && git -C "$W" branch old
done
git -C "$W" checkout -q -b side
for i in 1 2 3; do
	GIT_COMMITTER_DATE="$((1700000000 + (4 + i) * 86400 + 3600)) +0000" GIT_AUTHOR_DATE="$((1700000000 + (4 + i) * 86400)) +0000" \
		git -C "$W" commit -q --allow-empty -m "s$i"
done
git -C "$W" checkout -q main
for i in 5 6 7 8; do
	d=$((1700000000 + i * 86400))
	if [ $i = 7 ]; then
		GIT_COMMITTER_DATE="$d +0000" GIT_AUTHOR_DATE="$d +0000" git -C "$W" merge -q --no-ff -m "c7 merge" side
	else
		GIT_COMMITTER_DATE="$d +0000" GIT_AUTHOR_DATE="$d +0000" git -C "$W" commit -q --allow-empty -m "c$i"
	fi
	[ $i = 6 ] && git -C "$W" branch far
done
g -C "$W" push -q origin main old side far v2 || die "push history"
BARE="$DATA/repos/hist.git"

# state DIR: the commits the clone has and its shallow list.
state() {
	{
		echo "commits:"
		git -C "$1" rev-list --all 2>&1 | sort
		echo "shallow:"
		sort "$1/.git/shallow" 2>/dev/null
	}
}

N=0
# same DESC PROTO ARGS...: clone with ARGS from both servers, compare.
same() {
	local desc=$1 proto=$2 a b oa ob
	N=$((N + 1)) a=$T/a.$N b=$T/b.$N
	shift 2
	oa=$(g -c protocol.version="$proto" clone -q "$@" "$URL/hist.git" "$a" 2>&1) || { fail "$desc (v$proto): auger clone" "$oa"; return; }
	ob=$(git -c protocol.version="$proto" -c protocol.file.allow=always clone -q "$@" "file://$BARE" "$b" 2>&1) || { fail "$desc (v$proto): git clone" "$ob"; return; }
	check_eq "$desc (v$proto)" "$(state "$b")" "$(state "$a")"
	check "$desc (v$proto): fsck of the auger clone" git -C "$a" fsck --no-progress
	LAST_A=$a LAST_B=$b
}

# again DESC PROTO ARGS...: "git fetch ARGS" in both of the last clones.
again() {
	local desc=$1 proto=$2 oa ob
	shift 2
	oa=$(g -C "$LAST_A" -c protocol.version="$proto" fetch -q "$@" 2>&1) || { fail "$desc (v$proto): auger fetch" "$oa"; return; }
	ob=$(git -C "$LAST_B" -c protocol.version="$proto" -c protocol.file.allow=always fetch -q "$@" 2>&1) || { fail "$desc (v$proto): git fetch" "$ob"; return; }
	check_eq "$desc (v$proto)" "$(state "$LAST_B")" "$(state "$LAST_A")"
	check "$desc (v$proto): fsck" git -C "$LAST_A" fsck --no-progress
}

for v in 0 2; do
	same "depth 3, all branches (old is an ancestor of main)" $v --depth 3 --no-single-branch
	same "depth 1, all branches" $v --depth 1 --no-single-branch
	same "depth 2, single branch across a merge" $v --depth 2 --branch main
	same "depth 4, single branch across a merge" $v --depth 4 --branch main
	same "depth 2 of far and main (several wants, different depths)" $v --depth 2 --no-single-branch
	same "depth 2 from old, then deepen by 2 (deepen-relative)" $v --depth 2 --branch old
	again "deepen 2 from old" $v --deepen 2 origin
	same "depth 1 of main, then fetch all at depth 3 (client shallow lines)" $v --depth 1 --branch main
	again "then depth 3 of every branch" $v --depth 3 origin "+refs/heads/*:refs/remotes/origin/*"
	same "shallow-since c5's time" $v --shallow-since=$((1700000000 + 5 * 86400)) --branch main
	same "shallow-since across the merge (side is newer)" $v --shallow-since=$((1700000000 + 6 * 86400)) --no-single-branch
	same "shallow-exclude old" $v --shallow-exclude=old --branch main
	same "shallow-exclude old and far" $v --shallow-exclude=old --shallow-exclude=far --branch main
	same "shallow-exclude v2 (a tag)" $v --shallow-exclude=v2 --branch main
	same "depth 2, then unshallow" $v --depth 2 --branch main
	again "unshallow" $v --unshallow origin
done

# What git refuses, auger refuses too.
out=$(g clone -q --shallow-exclude=nosuchref "$URL/hist.git" "$T/bad1" 2>&1)
check_match "shallow-exclude of an unknown ref is refused" "deepen-not is not a ref" "$out"
out=$(g clone -q --shallow-since=2030-01-01 --branch old "$URL/hist.git" "$T/bad2" 2>&1)
check_match "shallow-since after every commit is refused" "no commits selected" "$out"
finish
