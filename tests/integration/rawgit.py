#!/usr/bin/env python3
"""Raw smart-HTTP exchanges for protocol tests, loopback only, bounded.

  rawgit.py push-then-list HOST PORT TOKEN REPO OID ROUNDS
      Each round creates refs/heads/race-<n> at OID with a receive-pack
      POST (an empty pack), reads the report up to its flush, and at once
      lists refs on a second keep-alive connection. Prints
      "stale <count> of <rounds>".
  rawgit.py ssh-push-open "SSH COMMAND" REPO REF OLD NEW PACKFILE SECS
      Pushes PACKFILE over SSH and, like libgit2, dulwich and JGit, keeps
      the channel open while it waits for the report; prints the report
      lines, or "timeout: ..." when none came within SECS.
"""
import base64
import hashlib
import socket
import struct
import sys


def pkt(s):
    b = s.encode() if isinstance(s, str) else s
    return b"%04x" % (len(b) + 4) + b


class Conn:
    def __init__(self, host, port):
        self.s = socket.create_connection((host, port), timeout=30)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def fill(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError("connection closed")
        self.buf += d

    def read_head(self):
        while b"\r\n\r\n" not in self.buf:
            self.fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {}
        for l in lines[1:]:
            k, v = l.split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
        return status, hdrs

    def read_chunk(self):
        """One chunk of a chunked body; b"" at its end."""
        while b"\r\n" not in self.buf:
            self.fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        n = int(line.split(b";")[0], 16)
        while len(self.buf) < n + 2:
            self.fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        if n == 0:
            return b""
        return data

    def read_body(self, hdrs):
        if "content-length" in hdrs:
            n = int(hdrs["content-length"])
            while len(self.buf) < n:
                self.fill()
            body, self.buf = self.buf[:n], self.buf[n:]
            return body
        out = b""
        while True:
            c = self.read_chunk()
            if not c:
                return out
            out += c


def push_then_list(host, port, token, repo, oid, rounds):
    auth = "Authorization: Bearer %s\r\n" % token
    lister = Conn(host, port)
    stale = 0
    empty_pack = b"PACK" + struct.pack(">II", 2, 0)
    empty_pack += hashlib.sha1(empty_pack).digest()
    for i in range(rounds):
        ref = "refs/heads/race-%d" % i
        body = pkt("%s %s %s\0report-status side-band-64k" %
                   ("0" * 40, oid, ref)) + b"0000" + empty_pack
        c = Conn(host, port)
        c.send(("POST /%s.git/git-receive-pack HTTP/1.1\r\nHost: x\r\n%s"
                "Content-Type: application/x-git-receive-pack-request\r\n"
                "Content-Length: %d\r\n\r\n" % (repo, auth, len(body))).encode()
               + body)
        status, hdrs = c.read_head()
        if status != 200:
            raise SystemExit("push answered %d" % status)
        # Read chunks until the report's flush (band 1 "0000").
        got = b""
        while b"0000" not in got.replace(b"0000", b"0000", 1)[4:] and \
                b"ok " + ref.encode() not in got:
            ch = c.read_chunk()
            if not ch:
                break
            got += ch
        while not got.endswith(b"0000"):
            ch = c.read_chunk()
            if not ch:
                break
            got += ch
        # At once: the ref list, on the other connection.
        lister.send(("GET /%s.git/info/refs?service=git-upload-pack "
                     "HTTP/1.1\r\nHost: x\r\n%s\r\n" % (repo, auth)).encode())
        st, h = lister.read_head()
        refs = lister.read_body(h)
        if ref.encode() not in refs:
            stale += 1
        c.s.close()
    print("stale %d of %d" % (stale, rounds))


def main():
    a = sys.argv[1:]
    if len(a) == 8 and a[0] == "ssh-push-open":
        return ssh_push_open(a[1], a[2], a[3], a[4], a[5], a[6], float(a[7]))
    if len(a) == 7 and a[0] == "push-then-list":
        push_then_list(a[1], int(a[2]), a[3], a[4], a[5], int(a[6]))
        return 0
    print(__doc__)
    return 2



def pkt_lines(data):
    """Splits pkt-lines: a list of payloads (None for a flush)."""
    out, i = [], 0
    while i + 4 <= len(data):
        n = int(data[i:i + 4], 16)
        if n == 0:
            out.append(None)
            i += 4
            continue
        out.append(data[i + 4:i + n])
        i += n
    return out, data[i:]


def ssh_push_open(sshcmd, repo, ref, old, new, packfile, timeout):
    """Pushes over SSH like libgit2, dulwich and JGit: the pack is sent and
    the channel stays open while the report is awaited."""
    import subprocess
    import select
    import time
    p = subprocess.Popen(sshcmd.split() + ["git-receive-pack '%s.git'" % repo],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    buf = b""
    end = time.time() + timeout
    # The advertisement, up to its flush.
    while b"0000" not in buf:
        r, _, _ = select.select([p.stdout], [], [], max(0, end - time.time()))
        if not r:
            print("timeout: no advertisement")
            p.kill()
            return 1
        d = p.stdout.read1(65536)
        if not d:
            print("eof before the advertisement ended")
            return 1
        buf += d
    pack = open(packfile, "rb").read()
    p.stdin.write(pkt("%s %s %s\0report-status" % (old, new, ref)) +
                  b"0000" + pack)
    p.stdin.flush()
    # stdin stays open: the server must answer from the pack's own end.
    rep = b""
    while True:
        r, _, _ = select.select([p.stdout], [], [], max(0, end - time.time()))
        if not r:
            print("timeout: no report while the channel stays open")
            p.kill()
            return 1
        d = p.stdout.read1(65536)
        if not d:
            break
        rep += d
        lines, _ = pkt_lines(rep)
        if None in lines:
            break
    lines, _ = pkt_lines(rep)
    print(" | ".join(l.decode(errors="replace").strip() for l in lines if l))
    p.stdin.close()
    p.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
