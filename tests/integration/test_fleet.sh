#!/usr/bin/env bash
# The fleet: many clusters' go-git asking for the same new tip at once.
# Concurrent identical upload-pack requests share one pack build (single
# flight); each waiter gets the same bytes, complete. And when refs move,
# Flux's depth-1 replies are built ahead (pre-warm): the first poll after
# a push is already a cache hit.
. "$(dirname "$0")/lib.sh"
need_interop

# First without pre-warm, so that the requests below meet a cold cache.
AUGERD_ARGS="--prewarm 0"
start_daemon
create_repo fleet
W=$T/w
new_work "$W" fleet
# Enough content that a build takes a moment (the requests overlap it).
awk -v dir="$W" 'BEGIN { srand(3); for (f = 0; f < 4000; f++) { p = sprintf("%s/apps/a%02d/f%04d.yaml", dir, f % 40, f); if (f < 40) system("mkdir -p " dir "/apps/a" sprintf("%02d", f)); for (i = 0; i < 20; i++) printf "k%d: %08x%08x\n", i, rand() * 4294967295, rand() * 4294967295 >p; close(p) } }'
commit_files "$W" "many" >/dev/null || die "commit"
g -C "$W" push -q origin main || die "push"
TIP=$(git -C "$W" rev-parse HEAD)

# N concurrent requests, Flux's shape (go-git 5: no multi_ack, agent
# before shallow), released together; RESULTS: one status line each.
N=24
python3 - "$URL/fleet.git/git-upload-pack" "$TOKEN" "$TIP" "$N" "$T/resp" <<'EOF' >"$T/fleet.out" 2>&1
import sys, threading, urllib.request
url, tok, tip, n, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
def pkt(s):
    b = s.encode()
    return b"%04x" % (len(b) + 4) + b
body = (pkt("want %s side-band-64k ofs-delta agent=go-git/5.%d shallow no-progress\n" % (tip, 0))
        + pkt("deepen 1\n") + b"0000" + pkt("done\n"))
go = threading.Barrier(n)
def one(i):
    req = urllib.request.Request(url, data=body, headers={
        "Authorization": "Bearer " + tok,
        "Content-Type": "application/x-git-upload-pack-request"})
    go.wait()
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            data = r.read()
        open("%s.%d" % (out, i), "wb").write(data)
        with lock:
            res.append("status %d %d" % (r.status, len(data)))
    except Exception as e:
        with lock:
            res.append("error %s" % e)
lock = threading.Lock()
res = []
ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
for t in ts: t.start()
for t in ts: t.join()
print("\n".join(res))
EOF
check_eq "$N concurrent identical requests: all answered 200" "$N" "$(grep -c '^status 200' "$T/fleet.out")"
builds=$(grep -c "git-upload-pack fleet by admin: ok, [0-9]* objects" "$DAEMON_LOG")
shared=$(grep -c "git-upload-pack fleet by admin: ok, shared with the build in flight" "$DAEMON_LOG")
hits=$(grep -c "git-upload-pack fleet by admin: ok, from the fetch cache" "$DAEMON_LOG")
check_eq "one pack build for $N concurrent identical requests (shared: $shared, cache hits: $hits)" 1 "$builds"
check "most of them waited for that build rather than arriving after it" [ "$shared" -ge 1 ]
same=1
for i in $(seq 1 $((N - 1))); do cmp -s "$T/resp.0" "$T/resp.$i" || same=0; done
check_eq "every answer is byte for byte the same" 1 "$same"
# The answer is complete: shallow, flush, NAK, then the pack on band 1.
python3 - "$T/resp.0" "$T/fleet.pack" <<'EOF' || fail "the shared answer parses"
import sys
d = open(sys.argv[1], "rb").read(); i = 0; pack = b""
while i < len(d):
    n = int(d[i:i + 4], 16)
    if n == 0: i += 4; continue
    p = d[i + 4:i + n]; i += n
    if p[:1] == b"\x01": pack += p[1:]
open(sys.argv[2], "wb").write(pack)
EOF
git init -q --bare "$T/check"
check "the shared answer's pack indexes" git -C "$T/check" index-pack --stdin <"$T/fleet.pack"

# A client that leaves while it waits costs nothing and breaks nothing.
commit_files "$W" "next" "apps/a00/new.yaml=k: v" >/dev/null && g -C "$W" push -q origin main || die "push 2"
TIP2=$(git -C "$W" rev-parse HEAD)
python3 - "$URL/fleet.git/git-upload-pack" "$TOKEN" "$TIP2" <<'EOF' >"$T/leave.out" 2>&1
import sys, socket, threading, urllib.parse, urllib.request
url, tok, tip = sys.argv[1], sys.argv[2], sys.argv[3]
def pkt(s):
    b = s.encode()
    return b"%04x" % (len(b) + 4) + b
body = (pkt("want %s side-band-64k ofs-delta agent=go-git/5.x shallow no-progress\n" % tip)
        + pkt("deepen 1\n") + b"0000" + pkt("done\n"))
u = urllib.parse.urlparse(url)
def leaver():
    s = socket.create_connection((u.hostname, u.port))
    s.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/x-git-upload-pack-request\r\nContent-Length: %d\r\n\r\n" % (u.path, tok, len(body))).encode() + body)
    s.close()
def stayer(res):
    req = urllib.request.Request(url, data=body, headers={"Authorization": "Bearer " + tok, "Content-Type": "application/x-git-upload-pack-request"})
    with urllib.request.urlopen(req, timeout=60) as r:
        res.append((r.status, len(r.read())))
res = []
ts = [threading.Thread(target=leaver) for _ in range(6)] + [threading.Thread(target=stayer, args=(res,)) for _ in range(6)]
for t in ts: t.start()
for t in ts: t.join()
print(res)
print("ok" if len(res) == 6 and all(s == 200 and n > 100 for s, n in res) else "bad")
EOF
check_eq "clients that leave mid-flight: the others all get their answer" ok "$(tail -n 1 "$T/leave.out")"
check "daemon alive" daemon_alive

# A reply too large for the fetch cache (40 MiB): still one build. Each
# reader takes the spool at its own pace: a slow one holds nobody back,
# the first asker may leave, memory stays flat, nothing stays on disk.
create_repo large
L=$T/large
new_work "$L" large
head -c $((40 << 20)) /dev/urandom >"$L/blob.bin"
commit_files "$L" "large" >/dev/null || die "commit large"
g -C "$L" push -q origin main || die "push large"
LTIP=$(git -C "$L" rev-parse HEAD)
rss() { awk '/^RssAnon/ {print $2}' "/proc/$DAEMON_PID/status"; }
base=$(rss)
python3 - "$ADDR" "$TOKEN" "$LTIP" "$T/large" <<'PY' >"$T/large.out" 2>&1 &
import socket, sys, threading, time
hp, tok, tip, out = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
host, port = hp.split(":")
def pkt(s):
    b = s.encode()
    return b"%04x" % (len(b) + 4) + b
body = pkt("want %s ofs-delta side-band-64k\n" % tip) + b"0000" + pkt("done\n")
head = ("POST /large.git/git-upload-pack HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
        "Content-Type: application/x-git-upload-pack-request\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
        % (tok, len(body))).encode()
res = {}
# Each reader's chunk framing follows its own pace: compare the payloads.
def unchunk(b):
    out = bytearray(); i = 0
    while True:
        j = b.index(b"\r\n", i); n = int(b[i:j], 16)
        if n == 0:
            return bytes(out)
        out += b[j + 2:j + 2 + n]; i = j + 2 + n + 2
# The first asker leaves only once the others are being served: one that
# left before anyone joined would end the flight, and a loaded machine
# can start the others that late.
joined = {n: threading.Event() for n in ("slow", "fast1", "fast2")}
def reader(name, rate, leave_after):
    s = socket.create_connection((host, int(port)))
    s.sendall(head + body)
    got = bytearray(); t0 = time.time()
    while True:
        d = s.recv(65536)
        if not d:
            break
        got += d
        if name in joined:
            joined[name].set()
        if leave_after and len(got) > leave_after:
            for e in joined.values():
                e.wait(30)
            s.close(); res[name] = ("left", len(got), 0); return
        if rate:
            time.sleep(len(d) / rate)
    res[name] = ("done", len(got), time.time() - t0)
    open(out + "." + name, "wb").write(unchunk(bytes(got).split(b"\r\n\r\n", 1)[1]))
ts = [threading.Thread(target=reader, args=("first", 0, 1 << 20))]
ts[0].start(); time.sleep(0.05)
ts += [threading.Thread(target=reader, args=(n, r, 0)) for n, r in (("slow", 8 << 20), ("fast1", 0), ("fast2", 0))]
for t in ts[1:]: t.start()
for t in ts: t.join()
for k in sorted(res): print(k, *res[k])
PY
LPID=$!
peak=$base
while kill -0 "$LPID" 2>/dev/null; do r=$(rss); [ "$r" -gt "$peak" ] && peak=$r; sleep 0.05; done
wait "$LPID"
cat "$T/large.out" >&2
lbuilds=$(grep -c "git-upload-pack large by admin: ok, [0-9]* objects" "$DAEMON_LOG")
check_eq "a 40 MiB reply to 4 concurrent identical requests: one build" 1 "$lbuilds"
check_match "the first asker left early" "^first left" "$(cat "$T/large.out")"
check_eq "the three others got it complete (the same bytes)" 1 "$(cmp -s "$T/large.fast1" "$T/large.slow" && cmp -s "$T/large.fast1" "$T/large.fast2" && echo 1)"
fast=$(awk '$1 == "fast1" { print $4 }' "$T/large.out")
slow=$(awk '$1 == "slow" { print $4 }' "$T/large.out")
check "the fast readers did not wait for the slow one ($fast s vs $slow s)" python3 -c "import sys; sys.exit(0 if float('$fast') < float('$slow') / 2 else 1)"
grow=$(( (peak - base) / 1024 ))
check "memory stayed flat while 40 MiB went to 4 readers (anonymous RSS +${grow} MiB < 32)" [ "$grow" -lt 32 ]
check_eq "no spool file is left in DATA/cache" "" "$(ls -A "$DATA/cache")"

# Pre-warm (the default): after a push, the replies are ready.
stop_daemon || fail "stop"
AUGERD_ARGS=""
start_daemon "$DATA"
git -C "$W" remote set-url origin "$URL/fleet.git"
git -C "$W" checkout -q -b side && commit_files "$W" "side" "apps/a01/side.yaml=k: s" >/dev/null &&
	git -C "$W" checkout -q main && commit_files "$W" "third" "apps/a00/third.yaml=k: t" >/dev/null || die "commits"
g -C "$W" push -q origin main side || die "push 3"
TIP3=$(git -C "$W" rev-parse main)
n=0
while [ $n -lt 100 ] && ! grep -q "prewarm fleet: " "$DAEMON_LOG"; do sleep 0.1; n=$((n + 1)); done
check_match "after the push, the depth-1 replies are built ahead" "prewarm fleet: 4 depth-1 replies built for the new tips" "$(cat "$DAEMON_LOG")"
before=$(grep -c "git-upload-pack fleet by admin: ok, [0-9]* objects" "$DAEMON_LOG")
hits0=$(grep -c "git-upload-pack fleet by admin: ok, from the fetch cache" "$DAEMON_LOG")
# Flux's exact request (go-git 5, with and without multi_ack_detailed),
# then the real go-git client, as Flux clones: depth 1, one branch, no tags.
out=$(AUGER_USER=flux AUGER_TOKEN=$TOKEN "$FLUXBYTES" "$URL/fleet.git" "$T/fb1.pack" 2>&1)
check_match "Flux's request (multi_ack_detailed): answered" "TIP $TIP3" "$out"
out=$(AUGER_USER=flux AUGER_TOKEN=$TOKEN "$FLUXBYTES" --no-multi-ack "$URL/fleet.git" "$T/fb2.pack" 2>&1)
check_match "Flux's request (go-git 5.4, no multi_ack): answered" "TIP $TIP3" "$out"
out=$(AUGER_USER=flux AUGER_TOKEN=$TOKEN timeout -k 5 "$CMD_TIMEOUT" "$GOGIT_CLIENT" clone "$URL/fleet.git" "$T/gg" --depth 1 --branch main 2>&1) || fail "go-git clone" "$out"
check_eq "go-git clone: the new tip" "$TIP3" "$(git -C "$T/gg" rev-parse HEAD 2>/dev/null)"
out=$(AUGER_USER=flux AUGER_TOKEN=$TOKEN timeout -k 5 "$CMD_TIMEOUT" "$GOGIT_CLIENT" clone "$URL/fleet.git" "$T/gg2" --depth 1 --branch side 2>&1) || fail "go-git clone of side" "$out"
after=$(grep -c "git-upload-pack fleet by admin: ok, [0-9]* objects" "$DAEMON_LOG")
hits=$(grep -c "git-upload-pack fleet by admin: ok, from the fetch cache" "$DAEMON_LOG")
check_eq "none of them built a pack (all pre-warmed)" "$before" "$after"
check_eq "all four were fetch-cache hits" $((hits0 + 4)) "$hits"
check "the pre-warmed pack indexes" git -C "$T/check" index-pack --stdin <"$T/fb2.pack"
check "daemon alive" daemon_alive
finish
