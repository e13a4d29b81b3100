#!/usr/bin/env python3
"""Raw smart-HTTP exchanges for protocol tests, loopback only, bounded.

  rawgit.py push-then-list HOST PORT TOKEN REPO OID ROUNDS
      Each round creates refs/heads/race-<n> at OID with a receive-pack
      POST (an empty pack), reads the report up to its flush, and at once
      lists refs on a second keep-alive connection. Prints
      "stale <count> of <rounds>".
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
    if len(a) == 7 and a[0] == "push-then-list":
        push_then_list(a[1], int(a[2]), a[3], a[4], a[5], int(a[6]))
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
