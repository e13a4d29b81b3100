#!/usr/bin/env bash
# The SSH startup gate: limits on connections that have not authenticated
# (per address, in total with early random drop, as OpenSSH's MaxStartups),
# and the login grace time. Idle clients that connect and say nothing, send
# only their banner, trickle it, stall inside the key exchange or at the
# passphrase prompt mid-auth are all cut after the grace time; while one
# address sits at its cap a real git clone from another still gets in;
# beyond FULL new connections are refused at once; a flood of refusals is
# logged at most once a second per address; the slots are counted exactly
# (after a concurrent churn, the gate holds exactly FULL again, and
# authenticated sessions are not counted); SIGTERM does not wait for
# connections that never logged in. Every connection is on loopback
# (127.0.0.0/8 source addresses), every loop is bounded.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ssh_lib.sh"

command -v python3 >/dev/null 2>&1 || die "python3 not installed (the idle clients are python sockets)"
command -v jq >/dev/null 2>&1 || die "jq not installed"

START=4 RATE=50 FULL=8 PER_ADDR=3 GRACE=4
GATE_ARGS="--ssh-max-startups $START:$RATE:$FULL --ssh-max-startups-per-addr $PER_ADDR"

# ---------------------------------------------------------------- the idle clients
# gate.py MODE ...: the clients that hold connections open, in python so they
# can bind a source address and time what the server does. Their reports are
# lines of words in an OUT file.
cat >"$T/gate.py" <<'EOF'
import os, select, socket, struct, sys, time

PORT = int(os.environ["GATE_PORT"])
FULL = int(os.environ.get("GATE_FULL", "8"))


def connect(src, port=PORT):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    return s


def classify(s, wait=3.0):
    """held (the server's banner came), refused (EOF or reset without one),
    none (nothing within wait); and the ms it took."""
    t0 = time.monotonic()
    s.settimeout(wait)
    try:
        b = s.recv(256)
    except socket.timeout:
        return "none", b"", 1000 * (time.monotonic() - t0)
    except OSError:
        return "refused", b"", 1000 * (time.monotonic() - t0)
    ms = 1000 * (time.monotonic() - t0)
    if not b:
        return "refused", b, ms
    return ("held" if b.startswith(b"SSH-") else "other"), b, ms


def kexinit():
    """A client SSH_MSG_KEXINIT packet (RFC 4253 7.1), unencrypted."""
    def names(s):
        return struct.pack(">I", len(s)) + s
    payload = bytes([20]) + os.urandom(16)
    for n in (b"curve25519-sha256", b"ssh-ed25519", b"aes128-ctr",
              b"aes128-ctr", b"hmac-sha2-256", b"hmac-sha2-256", b"none",
              b"none", b"", b""):
        payload += names(n)
    payload += b"\0" + struct.pack(">I", 0)
    pad = 8 - (5 + len(payload)) % 8
    if pad < 4:
        pad += 8
    return struct.pack(">IB", 1 + len(payload) + pad, pad) + payload + \
        b"\0" * pad


def addr(k):
    return "127.0.%d.%d" % (1 + k // 250, 1 + k % 250)


def hold(out, maxwait, specs):
    """One connection per KIND@SRC, one after the other; then watch the
    held ones (doing what KIND does) until the server closes them."""
    conns = []
    for i, spec in enumerate(specs):
        kind, src = spec.split("@")
        t0 = time.monotonic()
        s = connect(src)
        st, b, ms = classify(s)
        out.write("conn %d %s %s %s %d\n" % (i, kind, src, st, ms))
        if st != "held":
            s.close()
            continue
        if kind in ("banner", "kexinit"):
            s.sendall(b"SSH-2.0-gatetest\r\n")
        if kind == "kexinit":
            s.sendall(kexinit())
        conns.append({"i": i, "s": s, "kind": kind, "t0": t0, "buf": b"",
                      "sent": 0, "next": t0})
    out.write("ready\n")
    out.flush()
    end = time.monotonic() + maxwait
    trickle = b"SSH-2.0-" + b"x" * 100
    while conns and time.monotonic() < end:
        now = time.monotonic()
        for c in conns:
            if c["kind"] == "trickle" and now >= c["next"] and \
                    c["sent"] < len(trickle):
                try:
                    c["s"].send(trickle[c["sent"]:c["sent"] + 1])
                except OSError:
                    pass
                c["sent"] += 1
                c["next"] = now + 0.5
        r, _, _ = select.select([c["s"] for c in conns], [], [], 0.05)
        for c in [c for c in conns if c["s"] in r]:
            try:
                b = c["s"].recv(65536)
            except OSError:
                b = b""
            if b:
                c["buf"] += b
                # The server's KEXINIT: uint32 length, padding, type 20.
                if c["kind"] == "kexinit" and not c.get("seen") and \
                        len(c["buf"]) > 5 and c["buf"][5] == 20:
                    c["seen"] = 1
                    out.write("kexinit-seen %d\n" % c["i"])
                continue
            t = time.monotonic() - c["t0"]
            out.write("closed %d %s %.2f\n" % (c["i"], c["kind"], t))
            if c["kind"] == "trickle":
                out.write("trickled %d %d\n" % (c["i"], c["sent"]))
            c["s"].close()
            conns.remove(c)
    for c in conns:
        out.write("open %d %s %.2f\n" % (c["i"], c["kind"],
                                           time.monotonic() - c["t0"]))
        if c["kind"] == "trickle":
            out.write("trickled %d %d\n" % (c["i"], c["sent"]))
        c["s"].close()
    out.write("done\n")


def fill(out, release, first):
    """Opens connections from distinct addresses until 100 in a row are
    refused; beyond that, 20 more, then a flood of 50 from 127.0.0.2."""
    held, states, k = [], [], first
    consec = early = weird = 0
    while k - first < 1000 and consec < 100 and len(held) <= FULL + 4:
        s = connect(addr(k))
        k += 1
        st, b, ms = classify(s)
        states.append(st)
        if st == "held":
            held.append(s)
            consec = 0
            continue
        s.close()
        consec += 1
        if st == "refused" and len(held) < FULL:
            early += 1
        if st != "refused":
            weird += 1
    out.write("fill held %d attempts %d early %d weird %d first %s\n" % (
        len(held), len(states), early, weird,
        ",".join(states[:4])))
    fast = slow = 0
    for j in range(20):
        s = connect(addr(k))
        k += 1
        st, b, ms = classify(s)
        if st == "refused" and ms < 1000:
            fast += 1
        else:
            slow += 1
            out.write("beyond-detail %s %d\n" % (st, ms))
        s.close()
    out.write("beyond fast %d slow %d\n" % (fast, slow))
    # A second of quiet, so the flood starts with a fresh log budget.
    time.sleep(1.2)
    t0 = time.monotonic()
    n = 0
    for j in range(50):
        s = connect("127.0.0.2")
        st, b, ms = classify(s)
        n += st == "refused"
        s.close()
    out.write("flood refused %d secs %.2f\n" % (n, time.monotonic() - t0))
    # One more, a second later: its log line counts what was left out.
    time.sleep(1.2)
    s = connect(addr(k))
    k += 1
    st, b, ms = classify(s)
    s.close()
    out.write("after %s\n" % st)
    r, _, _ = select.select(held, [], [], 0)
    lost = 0
    for s in r:
        try:
            if not s.recv(1, socket.MSG_PEEK):
                lost += 1
        except OSError:
            lost += 1
    out.write("lost %d\n" % lost)
    out.write("ready\n")
    out.flush()
    end = time.monotonic() + 60
    while not os.path.exists(release) and time.monotonic() < end:
        time.sleep(0.05)
    for s in held:
        s.close()
    out.write("done\n")


def churn(out, n):
    """n connections that end early in every way: closed at once, reset,
    after the banner, inside the key exchange."""
    import threading

    def one(j):
        for r in range(5):
            try:
                s = connect("127.0.0.%d" % (20 + j % 5))
                if (j + r) % 4 >= 2:
                    st, b, ms = classify(s, 2.0)
                    s.sendall(b"SSH-2.0-churn\r\n")
                    if (j + r) % 4 == 3:
                        s.sendall(kexinit())
                        time.sleep(0.05)
                if (j + r) % 2:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack("ii", 1, 0))
                s.close()
            except OSError:
                pass
            time.sleep(0.01 * ((j * 7 + r * 3) % 20))
    ts = [threading.Thread(target=one, args=(j,)) for j in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(10)
    out.write("done\n")


def relay(src, port, outpath):
    """A ProxyCommand: stdin/stdout to the server, from src; writes when the
    server closed the connection."""
    s = connect(src, port)
    t0 = time.monotonic()
    fds = [0, s]
    while True:
        r, _, _ = select.select(fds, [], [], 30)
        if not r:
            break
        if 0 in r:
            b = os.read(0, 65536)
            if b:
                s.sendall(b)
            else:
                fds.remove(0)
        if s in r:
            try:
                b = s.recv(65536)
            except OSError:
                b = b""
            if not b:
                with open(outpath, "w") as f:
                    f.write("closed %.2f\n" % (time.monotonic() - t0))
                return
            os.write(1, b)


mode = sys.argv[1]
if mode == "relay":
    relay(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    sys.exit(0)
with open(sys.argv[2], "w", buffering=1) as out:
    if mode == "hold":
        hold(out, float(sys.argv[3]), sys.argv[4:])
    elif mode == "fill":
        fill(out, sys.argv[3], int(sys.argv[4]))
    elif mode == "churn":
        churn(out, int(sys.argv[3]))
EOF

# gate NAME MODE ARGS...: run gate.py in the background, report in $T/NAME.out.
gate() {
	local name=$1
	shift
	rm -f "$T/$name.out"
	GATE_PORT=$SSH_PORT GATE_FULL=$FULL timeout -k 5 90 python3 "$T/gate.py" "$1" "$T/$name.out" "${@:2}" \
		2>"$T/$name.err" &
	GATE_PID=$!
	track "$GATE_PID"
}

# gate_wait NAME WORD [SECS]: wait until $T/NAME.out has a line WORD.
gate_wait() {
	local i=0 n=$((${3:-30} * 10))
	while [ $i -lt $n ]; do
		grep -qx "$2" "$T/$1.out" 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# gate_start_daemon GRACE: augerd with the small limits (when it knows the
# flags) and known_hosts from GET /api/ssh (ssh-keyscan opens several
# connections at once, which the per-address cap would cut short).
gate_start_daemon() {
	rm -f "$T/data/ssh.addr"
	AUGERD_ARGS=""
	[ "$HAVE_FLAGS" = 1 ] && AUGERD_ARGS="$GATE_ARGS --ssh-login-grace $1"
	start_daemon "$T/data"
	ssh_wait_addr
	KNOWN_HOSTS=$T/known_hosts
	api GET /api/ssh
	[ "$API_STATUS" = 200 ] || die "GET /api/ssh -> $API_STATUS" "$API_BODY"
	printf '%s' "$API_BODY" | jq -r --arg h "[127.0.0.1]:$SSH_PORT" \
		'.hostKeys[] | "\($h) \(.type) \(.publicKey)"' >"$KNOWN_HOSTS"
	[ -s "$KNOWN_HOSTS" ] || die "no host keys from GET /api/ssh" "$API_BODY"
}

# ---------------------------------------------------------------- flags
if "$AUGERD" --help 2>&1 | grep -q -- '--ssh-max-startups START:RATE:FULL' &&
	"$AUGERD" --help 2>&1 | grep -q -- '--ssh-max-startups-per-addr' &&
	"$AUGERD" --help 2>&1 | grep -q -- '--ssh-login-grace'; then
	HAVE_FLAGS=1
	ok "augerd --help documents --ssh-max-startups, --ssh-max-startups-per-addr, --ssh-login-grace"
	check_match "augerd --help: default 10:30:100" 'default 10:30:100' "$("$AUGERD" --help 2>&1)"
else
	# Go on with the daemon's own limits: the checks below show what fails.
	HAVE_FLAGS=0
	fail "augerd --help documents --ssh-max-startups, --ssh-max-startups-per-addr, --ssh-login-grace" \
		"$("$AUGERD" --help 2>&1 | grep -i ssh)"
fi
for bad in "--ssh-max-startups 8:50:4" "--ssh-max-startups 4:0:8" "--ssh-max-startups 4:50" \
	"--ssh-max-startups x" "--ssh-max-startups 0" "--ssh-max-startups-per-addr 0" \
	"--ssh-login-grace 0" "--ssh-login-grace 5s"; do
	# shellcheck disable=SC2086 # split the flag from its value on purpose
	out=$(timeout 10 "$AUGERD" --data "$T/bad" --http 127.0.0.1:0 --ssh 127.0.0.1:0 $bad 2>&1 </dev/null)
	rc=$?
	if [ $rc = 2 ] && printf '%s' "$out" | grep -q -- "^augerd: ${bad%% *}" &&
		! printf '%s' "$out" | grep -q 'unrecognized option'; then
		ok "augerd $bad: refused at start (exit 2, says what is wrong with the value)"
	else
		fail "augerd $bad: refused at start (exit 2, says what is wrong with the value)" "exit $rc" "$out"
	fi
done

gate_start_daemon "$GRACE"
if [ "$HAVE_FLAGS" = 1 ]; then
	check_match "daemon log states the startup limits" \
		"at most $START:$RATE:$FULL unauthenticated connections.*$PER_ADDR from one address, $GRACE s to log in" \
		"$(grep 'ssh: at most' "$DAEMON_LOG")"
fi
new_key ci ed25519
add_key ci admin '["*"]' "$T/keys/ci"
CI=$T/keys/ci
create_repo demo
W=$T/work
{ git init -q -b main "$W" && git -C "$W" remote add origin "$(ssh_url demo)"; } || die "git init"
commit_files "$W" "first" "README.md=hello" || die "commit"
out=$(git_ssh "$CI" -C "$W" push -q origin main 2>&1) || die "push over SSH" "$out"
TIP=$(git -C "$W" rev-parse HEAD)

# ---------------------------------------------------------------- per address
# Six silent connections from 127.0.0.2, one after the other: the first
# PER_ADDR are held (fewer than START in all, so none is dropped at random),
# the rest refused at once.
gate idle2 hold $((GRACE + 5)) silent@127.0.0.2 silent@127.0.0.2 silent@127.0.0.2 \
	silent@127.0.0.2 silent@127.0.0.2 silent@127.0.0.2
gate_wait idle2 ready 30 || die "idle clients from 127.0.0.2 did not connect" "$(cat "$T/idle2.out" "$T/idle2.err" 2>&1)"
states=$(awk '$1 == "conn" { print $5 }' "$T/idle2.out" | tr '\n' ' ' | sed 's/ $//')
check_eq "6 silent connections from 127.0.0.2: $PER_ADDR held, then refused (per-address cap)" \
	"held held held refused refused refused" "$states"
slow=$(awk '$1 == "conn" && $5 == "refused" && $6 >= 1000' "$T/idle2.out")
# Vacuous when nothing was refused (the check above then fails instead).
check_eq "the refused ones were closed at once (under 1 s)" "" "$slow"

# A real user from 127.0.0.1 while 127.0.0.2 sits at its cap.
C=$T/clone
if out=$(git_ssh "$CI" clone -q "$(ssh_url demo)" "$C" 2>&1); then
	ok "git clone over SSH from 127.0.0.1 while 127.0.0.2 holds $PER_ADDR idle connections"
	check_eq "the clone has the pushed tip" "$TIP" "$(git -C "$C" rev-parse HEAD 2>&1)"
else
	fail "git clone over SSH from 127.0.0.1 while 127.0.0.2 holds $PER_ADDR idle connections" "$out"
fi
check_eq "the idle connections were still held while the clone ran" "" \
	"$(grep '^closed' "$T/idle2.out")"
ssh_exec "$CI" "git-upload-pack 'demo'" /dev/null
check_match "ssh exec from 127.0.0.1 while 127.0.0.2 is at its cap: advertisement" "$TIP" "$SSH_OUT"

# ---------------------------------------------------------------- login grace
gate_wait idle2 "done" $((GRACE + 10)) || fail "the idle client from 127.0.0.2 finished" "$(cat "$T/idle2.out")"
times=$(awk '$1 == "closed" { print $4 }' "$T/idle2.out" | tr '\n' ' ')
in_grace=$(awk -v lo=$((GRACE - 1)) -v hi=$((GRACE + 2)) '$1 == "closed" && $4 >= lo && $4 <= hi' "$T/idle2.out" | wc -l)
check_eq "the $PER_ADDR silent connections were closed by the server after the ${GRACE} s grace time (closed after: ${times:-never})" \
	"$PER_ADDR" "$in_grace"

# Banner only, banner trickled a byte every 0.5 s, stalled inside the key
# exchange (KEXINIT sent, no ECDH_INIT), and OpenSSH's ssh stalled mid-auth
# (the server accepted the key's offer; ssh waits at the passphrase prompt).
ssh-keygen -q -t ed25519 -N 'gate-secret' -C "locked@auger-test" -f "$T/keys/locked" </dev/null >/dev/null || die "ssh-keygen"
add_key locked admin '["*"]' "$T/keys/locked"
cat >"$T/askpass.sh" <<EOF
#!/bin/sh
: >"$T/askpass.called"
sleep 20
EOF
chmod +x "$T/askpass.sh"
rm -f "$T/askpass.called" "$T/relay.out"
# shellcheck disable=SC2046
SSH_ASKPASS=$T/askpass.sh SSH_ASKPASS_REQUIRE=force DISPLAY=:0 timeout -k 2 25 ssh -T -o BatchMode=no \
	-o "ProxyCommand=env GATE_PORT=$SSH_PORT python3 $T/gate.py relay 127.0.0.5 %p $T/relay.out" \
	$(ssh_opts "$T/keys/locked") git@127.0.0.1 "git-upload-pack 'demo'" </dev/null >"$T/stall.out" 2>"$T/stall.err" &
STALL_PID=$!
track "$STALL_PID"
i=0
while [ ! -e "$T/askpass.called" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "ssh with a registered locked key reached the passphrase prompt (stalled mid-auth)" test -e "$T/askpass.called"
gate stall hold $((GRACE + 5)) banner@127.0.0.3 kexinit@127.0.0.4 trickle@127.0.0.6
gate_wait stall ready 30 || die "stalling clients did not connect" "$(cat "$T/stall.out" "$T/stall.err" 2>&1)"
states=$(awk '$1 == "conn" { print $3 "=" $5 }' "$T/stall.out" | tr '\n' ' ' | sed 's/ $//')
check_eq "banner, kexinit and trickle clients held (3 more, still below START with the mid-auth one)" \
	"banner=held kexinit=held trickle=held" "$states"
gate_wait stall "done" $((GRACE + 10)) || fail "the stalling clients finished" "$(cat "$T/stall.out")"
for kind in banner kexinit trickle; do
	t=$(awk -v k=$kind '$1 == "closed" && $3 == k { print $4 }' "$T/stall.out")
	if [ -n "$t" ] && awk -v t="$t" -v lo=$((GRACE - 1)) -v hi=$((GRACE + 2)) 'BEGIN { exit !(t >= lo && t <= hi) }'; then
		ok "a client that sent $kind was closed by the server after the grace time (${t} s)"
	else
		fail "a client that sent $kind was closed by the server after the grace time" "closed after: ${t:-never (still open after $((GRACE + 5)) s)}" "$(cat "$T/stall.out")"
	fi
done
check_match "the kexinit client got the server's KEXINIT (it stalled inside the key exchange)" '^kexinit-seen' "$(cat "$T/stall.out")"
check_match "the trickling client kept sending (a grace time, not an idle timeout)" '^trickled [0-9]+ ([4-9]|[1-9][0-9])$' "$(cat "$T/stall.out")"
i=0
while [ ! -s "$T/relay.out" ] && [ $i -lt 60 ]; do sleep 0.1; i=$((i + 1)); done
t=$(awk '{ print $2 }' "$T/relay.out" 2>/dev/null)
if [ -n "$t" ] && awk -v t="$t" -v lo=$((GRACE - 1)) -v hi=$((GRACE + 2)) 'BEGIN { exit !(t >= lo && t <= hi) }'; then
	ok "ssh stalled mid-auth was closed by the server after the grace time (${t} s)"
else
	fail "ssh stalled mid-auth was closed by the server after the grace time" "closed after: ${t:-never}" "$(cat "$T/stall.err" 2>&1)"
fi
kill "$STALL_PID" 2>/dev/null
wait "$STALL_PID" 2>/dev/null
if [ "$HAVE_FLAGS" = 1 ]; then
	check_eq "daemon log: one login-grace line for each of the 7 cut connections" 7 \
		"$(log_count "not authenticated within the login grace time \($GRACE s\): closed")"
fi
check "daemon alive after the stalled clients" daemon_alive

# ---------------------------------------------------------------- FULL
# A longer grace, so that nothing held expires while the gate is measured.
stop_daemon || fail "augerd exits 0 on SIGTERM" "exit $?"
gate_start_daemon 30
# From distinct addresses, until 100 in a row are refused: the first START
# are all held, then some are dropped at random, and the gate ends up holding
# exactly FULL. Beyond FULL every new connection is refused at once.
gate full1 fill "$T/release1" 0
gate_wait full1 ready 60 || die "the fill client did not finish" "$(cat "$T/full1.out" "$T/full1.err" 2>&1)"
read -r _ _ held _ attempts _ early _ weird _ first <<<"$(grep '^fill ' "$T/full1.out")"
check_eq "the first $START connections are all held (below START nothing is refused)" "held,held,held,held" "$first"
check_eq "filling from fresh addresses, the gate holds exactly FULL=$FULL unauthenticated connections" "$FULL" "$held"
echo "     ($attempts attempts, $early dropped at random between START and FULL)"
check_eq "no connection got neither a banner nor a close" 0 "$weird"
check_eq "beyond FULL, 20 new connections are all refused at once" "beyond fast 20 slow 0" "$(grep '^beyond ' "$T/full1.out")"
read -r _ _ nflood _ secs <<<"$(grep '^flood ' "$T/full1.out")"
check_eq "a flood of 50 connections from 127.0.0.2 beyond FULL: all refused" 50 "$nflood"
check_eq "the held connections stayed open meanwhile" "lost 0" "$(grep '^lost ' "$T/full1.out")"
lines=$(log_count 'ssh 127\.0\.0\.2: refused before authentication')
most=$(awk -v s="$secs" 'BEGIN { printf "%d", s + 2 }')
if [ "$lines" -ge 1 ] && [ "$lines" -le "$most" ]; then
	ok "the flood is logged at most once a second for 127.0.0.2 ($lines lines in ${secs} s)"
else
	fail "the flood is logged at most once a second for 127.0.0.2" "$lines lines in ${secs} s" "$(grep 'refused before' "$DAEMON_LOG" | tail -n 5)"
fi
check_match "daemon log: the refusal of 127.0.0.2 says the gate is full" \
	"ssh 127\.0\.0\.2: refused before authentication: $FULL unauthenticated connections \(--ssh-max-startups $START:$RATE:$FULL is full" \
	"$(grep 'ssh 127\.0\.0\.2: refused' "$DAEMON_LOG")"
check_match "daemon log: the next refusal counts the 49 left out" 'refused before authentication: .*\(and 49 more refusals not logged\)' \
	"$(grep 'refusals not logged' "$DAEMON_LOG")"
touch "$T/release1"
gate_wait full1 "done" 10 || fail "the fill client let go"

# ---------------------------------------------------------------- exact accounting
# Four authenticated sessions from 127.0.0.1 held open: more than PER_ADDR
# and as many as START, yet they hold no startup slot, so another login from
# 127.0.0.1 gets in at once.
sleep 1
SESS_PIDS=() WRITER_PIDS=()
for i in 1 2 3 4; do
	# ssh reads a fifo whose writer is a sleep of ours: killing it ends the session.
	mkfifo "$T/sess$i.in"
	# shellcheck disable=SC2046
	timeout -k 2 60 ssh -T $(ssh_opts "$CI") git@127.0.0.1 "git-upload-pack 'demo'" <"$T/sess$i.in" >"$T/sess$i.out" 2>&1 &
	SESS_PIDS+=($!)
	track $!
	sleep 60 >"$T/sess$i.in" &
	WRITER_PIDS+=($!)
	track $!
	n=0
	while ! grep -q "$TIP" "$T/sess$i.out" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
	check_match "authenticated session $i from 127.0.0.1 held open (it got the advertisement)" "$TIP" "$(tr -d '\0' <"$T/sess$i.out")"
done
C2=$T/clone2
if out=$(git_ssh "$CI" clone -q "$(ssh_url demo)" "$C2" 2>&1); then
	ok "git clone from 127.0.0.1 beside 4 authenticated sessions from it (sessions hold no startup slot)"
else
	fail "git clone from 127.0.0.1 beside 4 authenticated sessions from it (sessions hold no startup slot)" "$out"
fi

# Churn: logins, unknown keys and connections that end early in every way,
# all at once (some refused by the gate: that is the point). Then the gate
# must again hold exactly FULL: no slot leaked, none given back twice.
new_key stranger ed25519
pids=()
gate churn churn 40
pids+=("$GATE_PID")
for i in $(seq 1 8); do
	# A login refused at the gate tries again (bounded), as a user would.
	(n=0; until git_ssh "$CI" ls-remote "$(ssh_url demo)" >"$T/churn-ok-$i.log" 2>&1 || [ $n -ge 40 ]; do
		n=$((n + 1))
		echo "$n" >"$T/churn-ok-$i.tries"
		sleep 0.25
	done) &
	pids+=($!)
	(git_ssh "$T/keys/stranger" ls-remote "$(ssh_url demo)" >"$T/churn-bad-$i.log" 2>&1) &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
check_eq "during the churn, all 8 logins got in (retrying when the gate refused them)" 8 \
	"$(grep -l "$TIP" "$T"/churn-ok-*.log 2>/dev/null | wc -l)"
echo "     ($(cat "$T"/churn-ok-*.tries 2>/dev/null | awk '{ s += $1 } END { print s + 0 }') retries)"
check_eq "no unknown key got in during the churn" 0 "$(grep -l "$TIP" "$T"/churn-bad-*.log 2>/dev/null | wc -l)"
sleep 1
gate full2 fill "$T/release2" 2000
gate_wait full2 ready 60 || die "the second fill client did not finish" "$(cat "$T/full2.out" "$T/full2.err" 2>&1)"
read -r _ _ held _ <<<"$(grep '^fill ' "$T/full2.out")"
check_eq "after the churn, with 4 sessions open, the gate holds exactly FULL=$FULL again" "$FULL" "$held"
check "daemon alive after the churn" daemon_alive

# SIGTERM with FULL connections that never logged in: no grace time waited.
for p in "${WRITER_PIDS[@]}"; do kill "$p" 2>/dev/null; done
for p in "${SESS_PIDS[@]}"; do wait "$p" 2>/dev/null; done
t0=$(date +%s%N)
stop_daemon
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check_eq "SIGTERM while $FULL unauthenticated connections are held: exit 0" 0 "$rc"
if [ $ms -lt 5000 ]; then ok "... within 5 s (${ms} ms)"; else fail "SIGTERM with held unauthenticated connections: within 5 s" "${ms} ms"; fi
touch "$T/release2"
gate_wait full2 "done" 10 || fail "the second fill client let go"

# ---------------------------------------------------------------- early drop
# Early random drop, made deterministic: with 2:99:50, below 2 nothing is
# refused and from 2 on a new connection is refused with a chance of 99% or
# more. Of 10 more after the first 2, at least 8 must be refused (the chance
# that 3 get in is about 1 in 10,000); a gate without early drop holds them.
AUGERD_ARGS=""
[ "$HAVE_FLAGS" = 1 ] && AUGERD_ARGS="--ssh-max-startups 2:99:50 --ssh-max-startups-per-addr 10 --ssh-login-grace 30"
rm -f "$T/data-drop/ssh.addr"
start_daemon "$T/data-drop"
ssh_wait_addr
specs=()
for i in $(seq 1 12); do specs+=("silent@127.0.1.$i"); done
gate drop hold 2 "${specs[@]}"
gate_wait drop ready 30 || die "the early-drop clients did not connect" "$(cat "$T/drop.out" "$T/drop.err" 2>&1)"
states=$(awk '$1 == "conn" { print $5 }' "$T/drop.out" | tr '\n' ' ')
check_eq "--ssh-max-startups 2:99:50: the first 2 connections are held (below START)" "held held" "$(echo "$states" | cut -d' ' -f1-2)"
dropped=$(echo "$states" | cut -d' ' -f3-12 | tr ' ' '\n' | grep -c '^refused$')
if [ "$dropped" -ge 8 ]; then
	ok "... of the next 10 (between START and FULL), $dropped dropped at random (at least 8)"
else
	fail "... of the next 10 (between START and FULL), at least 8 dropped at random" "states: $states"
fi
check_match "daemon log: the drop says it was random, with its chance" \
	'refused before authentication: [0-9]+ unauthenticated connections \(--ssh-max-startups 2:99:50: dropped at random, (99|100)% at this count\)' \
	"$(grep 'dropped at random' "$DAEMON_LOG")"
gate_wait drop done 15
stop_daemon

finish
