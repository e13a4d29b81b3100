#!/usr/bin/env python3
"""Hostile HTTP clients for the security tests, loopback only, bounded.

  hostile.py bigpost HOST PORT NCLIENTS MBYTES [TOKEN]
      NCLIENTS parallel POSTs declaring a 400 MB body, each sending up to
      MBYTES of it as fast as the server takes it; prints one line per
      client: "<status or -> <bytes sent>".
  hostile.py apipost HOST PORT PATH TOKEN LENGTH SEND
      One POST to PATH declaring a body of LENGTH bytes, sending the first
      SEND of them, then waiting up to 5 s for an answer; prints
      "<status or -> <seconds to the answer>".
  hostile.py trickle HOST PORT SRC NCONN SECONDS [TOKEN]
      NCONN connections from source address SRC, each sending a chunked
      POST (authenticated when TOKEN is given) one byte every 2 s for at
      most SECONDS; prints "opened N refused R cut C" at the end (cut:
      connections the server closed before the time was up).
  hostile.py idle HOST PORT SRC NCONN SECONDS
      NCONN connections that send nothing, held SECONDS; prints
      "opened N refused R cut C".
"""
import socket
import sys
import threading
import time


def connect(host, port, src=None, timeout=5):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if src:
        s.bind((src, 0))
    s.connect((host, port))
    return s


def read_status(s):
    try:
        s.settimeout(5)
        data = s.recv(4096)
        if data.startswith(b"HTTP/1."):
            return data.split(b" ", 2)[1].decode()
    except OSError:
        pass
    return "-"


def bigpost(host, port, n, mbytes, token):
    out = [None] * n

    def one(i):
        sent = 0
        status = "-"
        try:
            s = connect(host, port)
            auth = "Authorization: Bearer %s\r\n" % token if token else ""
            s.sendall(("POST /demo.git/git-receive-pack HTTP/1.1\r\n"
                       "Host: x\r\n%s"
                       "Content-Type: application/x-git-receive-pack-request\r\n"
                       "Content-Length: 400000000\r\n\r\n" % auth).encode())
            chunk = b"\0" * 65536
            deadline = time.time() + 20
            while sent < mbytes << 20 and time.time() < deadline:
                try:
                    s.sendall(chunk)
                except OSError:
                    break
                sent += len(chunk)
            status = read_status(s)
            s.close()
        except OSError:
            pass
        out[i] = "%s %d" % (status, sent)

    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for line in out:
        print(line)


def apipost(host, port, path, token, length, send):
    status = "-"
    t0 = time.time()
    try:
        s = connect(host, port)
        s.sendall(("POST %s HTTP/1.1\r\nHost: x\r\n"
                   "Authorization: Bearer %s\r\n"
                   "Content-Type: application/json\r\n"
                   "Content-Length: %d\r\n\r\n" % (path, token, length))
                  .encode())
        try:
            s.sendall(b" " * send)
        except OSError:
            pass
        t0 = time.time()
        status = read_status(s)
        s.close()
    except OSError:
        pass
    print("%s %.1f" % (status, time.time() - t0))


def hold(host, port, src, n, seconds, body_token, trickle):
    socks = []
    refused = 0
    for _ in range(n):
        try:
            s = connect(host, port, src)
            if trickle:
                auth = ("Authorization: Bearer %s\r\n" % body_token
                        if body_token else "")
                s.sendall(("POST /demo.git/git-receive-pack HTTP/1.1\r\n"
                           "Host: x\r\n%sTransfer-Encoding: chunked\r\n\r\n"
                           % auth).encode())
            socks.append(s)
        except OSError:
            refused += 1
    alive = set(range(len(socks)))
    end = time.time() + seconds
    while time.time() < end and alive:
        for i in list(alive):
            s = socks[i]
            try:
                s.setblocking(False)
                try:
                    d = s.recv(4096)
                    if d == b"" or d.startswith(b"HTTP/1.1 4") or \
                            d.startswith(b"HTTP/1.1 5"):
                        alive.discard(i)
                        continue
                except BlockingIOError:
                    pass
                if trickle:
                    s.send(b"1")
            except OSError:
                alive.discard(i)
        time.sleep(2 if trickle else 0.5)
    cut = len(socks) - len(alive)
    for s in socks:
        try:
            s.close()
        except OSError:
            pass
    print("opened %d refused %d cut %d" % (len(socks), refused, cut))


def main():
    a = sys.argv[1:]
    if not a:
        print(__doc__)
        return 2
    if a[0] == "bigpost":
        bigpost(a[1], int(a[2]), int(a[3]), int(a[4]),
                a[5] if len(a) > 5 else "")
    elif a[0] == "apipost":
        apipost(a[1], int(a[2]), a[3], a[4], int(a[5]), int(a[6]))
    elif a[0] == "trickle":
        hold(a[1], int(a[2]), a[3], int(a[4]), float(a[5]),
             a[6] if len(a) > 6 else "", True)
    elif a[0] == "idle":
        hold(a[1], int(a[2]), a[3], int(a[4]), float(a[5]), "", False)
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
