#!/usr/bin/env bash
# Work is queued by kind: clones that hold every worker (slow readers)
# cannot starve the API; a full queue answers git with ERR "busy" at
# once; a clone whose client left is not built.
. "$(dirname "$0")/lib.sh"

AUGERD_ARGS="--workers 2 --max-queued 2"
start_daemon
create_repo big
W=$T/w
new_work "$W" big
head -c $((16 << 20)) /dev/urandom >"$W/blob.bin"
commit_files "$W" "big" || die "commit"
g -C "$W" push -q origin main || die "push"
tip=$(git -C "$W" rev-parse HEAD)
# Six different requests that pace their builds by their slow readers:
# a keyed request (the usual) shares one build through a spool on disk,
# which its readers take at their own pace, so it holds a worker only
# while the pack is written. Bodies over 64 KiB (a long negotiation: here
# 1,700 "have" lines of ids the server does not know) are not keyed, and
# their builds stream straight to their client, as every build did before.
caps=("" " ofs-delta" " no-progress" " thin-pack" " ofs-delta no-progress" " include-tag")
pkt() { printf '%04x%s' $((${#1} + 4)) "$1"; }
haves=$(awk 'BEGIN { for (i = 0; i < 1700; i++) printf "0032have %s%08x\n", "00000000000000000000000000000000", i + 1 }')
for i in 1 2 3 4 5 6; do
	{ pkt "want $tip${caps[$((i - 1))]}"$'\n'; printf '0000%s\n' "$haves"; printf '0009done\n'; } >"$T/req$i"
done

# slow_clone N: a clone reading at 8 KB/s, for at most 40 s.
# The body goes at once; only the answer is read slowly.
slow_clone() {
	python3 -c '
import socket, sys, time
host, port = sys.argv[1].split(":")
body = open(sys.argv[2], "rb").read()
s = socket.create_connection((host, int(port)))
s.sendall(("POST /big.git/git-upload-pack HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
    "Content-Type: application/x-git-upload-pack-request\r\nContent-Length: %d\r\n\r\n"
    % (sys.argv[3], len(body))).encode() + body)
out = open(sys.argv[4], "wb"); end = time.time() + 40
while time.time() < end:
    d = s.recv(800)
    if not d:
        break
    out.write(d); out.flush(); time.sleep(0.1)
' "$ADDR" "$T/req$1" "$TOKEN" "$T/slow$1.out" &
	SLOW+=($!)
	track $!
}
SLOW=()
for i in 1 2 3 4 5 6; do slow_clone $i; sleep 0.3; done
sleep 1
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "Authorization: Bearer $TOKEN" -X POST \
	-H 'Content-Type: application/json' --data '{"name":"other"}' "$URL/api/repos")
check_eq "the API answers while slow clones hold the pack workers" 201 "$code"
out=$(g clone -q "$URL/big.git" "$T/c-busy" 2>&1)
check_match "past --max-queued a clone gets ERR busy at once" "remote error: augerd is busy: [0-9]+ pack builds queued" "$out"
check_match "the refusal is logged" "refused, the pack queue is full" "$(cat "$DAEMON_LOG")"
# The first is being served; the next two wait in the queue (the others
# were turned away). Their clients leave first, then the first's.
kill "${SLOW[1]}" "${SLOW[2]}" 2>/dev/null
sleep 1
for p in "${SLOW[@]}"; do kill "$p" 2>/dev/null; done
for p in "${SLOW[@]}"; do wait "$p" 2>/dev/null; done
n=0
while [ $n -lt 100 ] && ! grep -q "cancelled, the client left before its turn" "$DAEMON_LOG"; do sleep 0.1; n=$((n + 1)); done
check_match "queued clones whose clients left are not built" "cancelled, the client left before its turn" "$(cat "$DAEMON_LOG")"
check "afterwards a clone works" g clone -q "$URL/big.git" "$T/c-after"
finish
