#!/usr/bin/env bash
# Repository maintenance: hundreds of pushes under a low fd limit leave a
# repository that still clones (libgit2's open packs are bounded, and the
# daemon repacks on its own); old packs go only after the grace time and
# only when every ref is whole without them; `augerd maintain` repacks
# offline; a full clone of a maintained repository is its pack file.
. "$(dirname "$0")/lib.sh"

packs() { find "$DATA/repos/$1.git/objects/pack" -name '*.idx' | wc -l | tr -d ' '; }

DATA=$T/data
mkdir -p "$DATA"
(ulimit -n 96; exec "$AUGERD" --data "$DATA" --http 127.0.0.1:0 --ssh off --maint-grace 2) >"$T/d.log" 2>&1 &
DAEMON_PID=$!
DAEMON_LOG=$T/d.log
track "$DAEMON_PID"
for i in $(seq 1 50); do [ -s "$DATA/http.addr" ] && break; sleep 0.1; done
ADDR=$(head -n 1 "$DATA/http.addr"); URL="http://$ADDR"; TOKEN=$(head -n 1 "$DATA/admin.token")
create_repo many
W=$T/w
new_work "$W" many
fails=0
for i in $(seq 1 150); do
	commit_files "$W" "push $i" "f$((i % 7)).txt=$i" >/dev/null
	g -C "$W" push -q origin main 2>>"$T/push.err" || fails=$((fails + 1))
done
check_eq "150 pushes under ulimit -n 96 all succeed" 0 "$fails"
C=$T/c1
check "the repository still clones" g clone -q "$URL/many.git" "$C"
check_eq "with all 150 commits" 150 "$(git -C "$C" rev-list --count HEAD 2>/dev/null)"
for i in $(seq 1 30); do grep -q "maintain many: repacked" "$DAEMON_LOG" && break; sleep 0.5; done
check_match "the daemon repacked on its own" "maintain many: repacked [0-9]+ packs" "$(cat "$DAEMON_LOG")"
for i in $(seq 1 30); do grep -q "maintain many: removed" "$DAEMON_LOG" && break; sleep 0.5; done
check_match "old packs removed after the grace time" "maintain many: removed [0-9]+ old packs" "$(cat "$DAEMON_LOG")"
n=$(packs many)
if [ "$n" -le 3 ]; then ok "$n packs left"; else fail "$n packs left after maintenance"; fi
check "fsck is clean" server_git many fsck --no-progress
check "a clone after maintenance" g clone -q "$URL/many.git" "$T/c2"
check_eq "with all commits" 150 "$(git -C "$T/c2" rev-list --count HEAD 2>/dev/null)"
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null

# Offline: augerd maintain, then a full clone is the pack file itself.
for i in $(seq 1 5); do
	commit_files "$W" "more $i" "g$i.txt=$i" >/dev/null
	git -C "$W" tag -a "v$i" -m "tag $i"
done
start_daemon "$DATA"
g -C "$W" push -q "$URL/many.git" main --tags || die "push tags"
stop_daemon
check "augerd maintain" "$AUGERD" maintain --data "$DATA"
check_eq "one pack after augerd maintain" 1 "$(packs many)"
check "fsck after augerd maintain" server_git many fsck --no-progress
check_eq "no loose objects left" 0 "$(find "$DATA/repos/many.git/objects" -path '*/objects/??/*' -type f | wc -l | tr -d ' ')"
start_daemon "$DATA"
{
	first=1
	server_git many for-each-ref --format='%(objectname)' refs/heads refs/tags | while read -r oid; do
		if [ $first = 1 ]; then
			l="want $oid ofs-delta"; printf '%04x%s\n' $((5 + ${#l})) "$l"; first=0
		else
			printf '0032want %s\n' "$oid"
		fi
	done
	printf '00000009done\n'
} >"$T/req"
curl -s --max-time 30 -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/x-git-upload-pack-request' \
	--data-binary @"$T/req" "$URL/many.git/git-upload-pack" >"$T/resp"
pack=$(find "$DATA/repos/many.git/objects/pack" -name '*.pack')
# The answer is "0008NAK\n" and then the pack.
tail -c +9 "$T/resp" >"$T/resp.pack"
check_eq "a full clone is answered with the maintained pack, byte for byte" "$(sha1sum <"$pack" | cut -c1-40)" "$(sha1sum <"$T/resp.pack" | cut -c1-40)"
check "git clones it (all branches and tags)" g clone -q "$URL/many.git" "$T/c3"
check_eq "tags came along" 5 "$(git -C "$T/c3" tag | wc -l | tr -d ' ')"
check "and fsck of the clone is clean" git -C "$T/c3" fsck --no-progress
need_interop
check "go-git clones the maintained pack (offset deltas)" env AUGER_USER=flux AUGER_TOKEN="$TOKEN" "$GOGIT_CLIENT" clone "$URL/many.git" "$T/c4" --tags
finish
