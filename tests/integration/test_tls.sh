#!/usr/bin/env bash
# Native TLS (--tls-cert/--tls-key): HTTPS for git (v0 and v2), go-git with
# a CA bundle (as Flux's ca.crt), curl; a chain (leaf + intermediate);
# TLS 1.2 and 1.3 only; session resumption; SIGHUP reloads the files for
# new connections while open ones go on; a bad reload keeps the old files.
. "$(dirname "$0")/lib.sh"
need_interop
command -v openssl >/dev/null || die "openssl not found"

# A root CA, an intermediate, and leaves for 127.0.0.1 signed by it.
P=$T/pki
mkdir -p "$P"
ossl() { openssl "$@" 2>>"$P/openssl.log" || die "openssl $1" "$(tail -n 5 "$P/openssl.log")"; }
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$P/ca.key" -out "$P/ca.pem" \
	-days 2 -subj "/CN=auger test root" -addext "basicConstraints=critical,CA:true" -addext "keyUsage=critical,keyCertSign"
ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$P/int.key" -out "$P/int.csr" -subj "/CN=auger test intermediate"
printf 'basicConstraints=critical,CA:true,pathlen:0\nkeyUsage=critical,keyCertSign\n' >"$P/int.ext"
ossl x509 -req -in "$P/int.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" -CAcreateserial -days 2 -extfile "$P/int.ext" -out "$P/int.pem"
leaf() { # NAME: NAME.key and NAME.chain (leaf, then the intermediate)
	ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$P/$1.key" -out "$P/$1.csr" -subj "/CN=$1"
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$P/$1.ext"
	ossl x509 -req -in "$P/$1.csr" -CA "$P/int.pem" -CAkey "$P/int.key" -CAcreateserial -days 2 -extfile "$P/$1.ext" -out "$P/$1.pem"
	cat "$P/$1.pem" "$P/int.pem" >"$P/$1.chain"
}
leaf one
leaf two
cp "$P/one.chain" "$P/server.chain"
cp "$P/one.key" "$P/server.key"

# Flags that do not go together are refused.
out=$("$AUGERD" --data "$T/bad" --http 127.0.0.1:0 --ssh off --tls-cert "$P/server.chain" 2>&1)
check_eq "--tls-cert without --tls-key: exit 2" 2 "$?"
check_match "... and says why" "go together" "$out"
out=$("$AUGERD" --data "$T/bad" --http 127.0.0.1:0 --ssh off --tls-cert "$P/server.chain" --tls-key "$P/two.key" 2>&1)
check_eq "a key that does not match: exit 2" 2 "$?"
check_match "... and says so" "does not match" "$out"

TLS_CA=$P/ca.pem
AUGERD_ARGS="--tls-cert $P/server.chain --tls-key $P/server.key --request-timeout 2"
start_daemon
check_match "the URL is https" "^https://127.0.0.1:" "$URL"
check_match "the log gives the https public URL" "listening on https://127.0.0.1:[0-9]+ \(public URL https://" "$(cat "$DAEMON_LOG")"
check_eq "curl with the CA: /healthz 200" 200 "$(curl -s --cacert "$P/ca.pem" -o /dev/null -w '%{http_code}' "$URL/healthz")"
curl -s -o /dev/null "$URL/healthz"
check_eq "curl without the CA: the certificate is not trusted (60)" 60 "$?"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$ADDR/healthz")
check_not "plain HTTP to the TLS port gets no 200" test "$code" = 200

# git over HTTPS, both protocol versions, and a push.
create_repo tls
W=$T/w
new_work "$W" tls
git -C "$W" config http.sslCAInfo "$P/ca.pem"
commit_files "$W" "one" "apps/web/deploy.yaml=kind: Deployment" >/dev/null || die "commit"
out=$(g -C "$W" push origin main 2>&1)
check "git push over https" test $? = 0
check_eq "the push moved main" "$(git -C "$W" rev-parse HEAD)" "$(server_ref tls refs/heads/main)"
for v in 0 2; do
	C=$T/clone$v
	out=$(g -c http.sslCAInfo="$P/ca.pem" -c protocol.version=$v clone -q "$URL/tls.git" "$C" 2>&1) || fail "git clone over https (v$v)" "$out"
	check_eq "git clone over https (v$v): HEAD" "$(git -C "$W" rev-parse HEAD)" "$(git -C "$C" rev-parse HEAD 2>/dev/null)"
done
out=$(g clone -q "$URL/tls.git" "$T/untrusted" 2>&1)
check_match "git without the CA refuses the server" "SSL certificate problem|certificate verif(y|ication) failed|unable to get local issuer" "$out"
# go-git as Flux runs it: a CA bundle, depth 1, one branch.
out=$(AUGER_CA_FILE=$P/ca.pem AUGER_USER=flux AUGER_TOKEN=$TOKEN timeout -k 5 "$CMD_TIMEOUT" "$GOGIT_CLIENT" clone "$URL/tls.git" "$T/gg" --depth 1 --branch main 2>&1) || fail "go-git clone over https with a CA bundle" "$out"
check_eq "go-git over https: HEAD" "$(git -C "$W" rev-parse HEAD)" "$(git -C "$T/gg" rev-parse HEAD 2>/dev/null)"
out=$(AUGER_USER=flux AUGER_TOKEN=$TOKEN timeout -k 5 "$CMD_TIMEOUT" "$GOGIT_CLIENT" clone "$URL/tls.git" "$T/gg-untrusted" --depth 1 2>&1)
check_match "go-git without the CA refuses the server" "x509|certificate" "$out"

# A client that connects and never says hello is cut like a slow head.
out=$(python3 -c '
import socket, sys, time
h, p = sys.argv[1].split(":")
s = socket.create_connection((h, int(p))); s.settimeout(10); t = time.time()
try:
    d = s.recv(100)
except Exception as e:
    d = None
print("closed" if d == b"" else "open", round(time.time() - t))' "$ADDR")
check_match "a stalled TLS handshake is closed by --request-timeout" "^closed [1-4]$" "$out"

# Protocol versions, and resumption.
HOSTPORT=$ADDR
sc() { timeout 10 openssl s_client -connect "$HOSTPORT" -servername localhost -CAfile "$P/ca.pem" "$@" </dev/null 2>&1; }
check_match "TLS 1.3 handshake" "Protocol *: TLSv1.3|TLSv1.3, Cipher" "$(sc -tls1_3)"
check_match "TLS 1.2 handshake" "Protocol *: TLSv1.2|TLSv1.2, Cipher" "$(sc -tls1_2)"
check_match "the chain verifies (leaf + intermediate sent)" "Verify return code: 0 \(ok\)" "$(sc -tls1_3)"
check_match "TLS 1.1 is refused" "alert protocol version|no protocols available|Cipher is \(NONE\)" "$(sc -tls1_1)"
# TLS 1.3 tickets come after the handshake: keep the connection a moment.
for v in tls1_2 tls1_3; do
	sleep 0.5 | timeout 10 openssl s_client -connect "$HOSTPORT" -servername localhost -CAfile "$P/ca.pem" -$v -sess_out "$T/sess.$v" >/dev/null 2>&1
	out=$(sleep 0.5 | timeout 10 openssl s_client -connect "$HOSTPORT" -servername localhost -CAfile "$P/ca.pem" -$v -sess_in "$T/sess.$v" 2>&1)
	check_match "session resumption ($v)" "^Reused" "$out"
done

# SIGHUP: new connections get the new certificate; an open keep-alive
# connection made before goes on with its next request.
fp() { sc -tls1_3 | openssl x509 -noout -fingerprint -sha256 2>/dev/null; }
before=$(fp)
check_eq "the served certificate is the first leaf" "$(openssl x509 -noout -fingerprint -sha256 -in "$P/one.pem")" "$before"
python3 - "$ADDR" "$P/ca.pem" "$T/ka.fifo" "$T/ka.out" <<'EOF' &
import socket, ssl, sys, time, os
hp, ca, fifo, out = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
host, port = hp.split(":")
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection((host, int(port))), server_hostname="127.0.0.1")
def get():
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    d = b""
    while b"\r\n\r\n" not in d:
        d += s.recv(4096)
    head, rest = d.split(b"\r\n\r\n", 1)
    n = 0
    for l in head.split(b"\r\n"):
        if l.lower().startswith(b"content-length:"):
            n = int(l.split(b":")[1])
    while len(rest) < n:
        rest += s.recv(4096)
    return head.split(b"\r\n")[0].decode()
r1 = get()
open(out, "w").write(r1 + "\n")
while not os.path.exists(fifo):
    time.sleep(0.05)
r2 = get()
open(out, "a").write(r2 + "\n")
EOF
KA=$!
n=0; while [ $n -lt 50 ] && [ ! -s "$T/ka.out" ]; do sleep 0.1; n=$((n + 1)); done
cp "$P/two.chain" "$P/server.chain"
cp "$P/two.key" "$P/server.key"
kill -HUP "$DAEMON_PID"
n=0; while [ $n -lt 50 ] && ! grep -q "SIGHUP: TLS" "$DAEMON_LOG"; do sleep 0.1; n=$((n + 1)); done
check_match "SIGHUP: the log says the files were reloaded" "SIGHUP: TLS certificate and key reloaded" "$(cat "$DAEMON_LOG")"
check_eq "after SIGHUP, new connections get the second leaf" "$(openssl x509 -noout -fingerprint -sha256 -in "$P/two.pem")" "$(fp)"
touch "$T/ka.fifo"
wait "$KA"
check_eq "a connection opened before SIGHUP served both its requests" "$(printf 'HTTP/1.1 200 OK\nHTTP/1.1 200 OK')" "$(cat "$T/ka.out")"
# A reload from broken files keeps the certificate being served.
echo garbage >"$P/server.chain"
kill -HUP "$DAEMON_PID"
n=0; while [ $n -lt 50 ] && ! grep -q "TLS not reloaded" "$DAEMON_LOG"; do sleep 0.1; n=$((n + 1)); done
check_match "a bad reload is logged" "SIGHUP: TLS not reloaded, still serving the old certificate" "$(cat "$DAEMON_LOG")"
check_eq "... and the second leaf is still served" "$(openssl x509 -noout -fingerprint -sha256 -in "$P/two.pem")" "$(fp)"
out=$(g -c http.sslCAInfo="$P/ca.pem" clone -q --depth 1 "$URL/tls.git" "$T/after" 2>&1) || fail "git clone after the reloads" "$out"
check "daemon alive" daemon_alive
finish
