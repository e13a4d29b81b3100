#!/usr/bin/env python3
"""Load client for scripts/bench/fleet.sh: N simulated Flux clusters.

Each cluster polls GET REPO/info/refs?service=git-upload-pack every INTERVAL
seconds (jittered by +-10 %) and, when refs/heads/main moved, sends Flux's
depth-1 request (go-git 5: want TIP side-band-64k ofs-delta agent=go-git/5.x
shallow no-progress, deepen 1, flush, done) and checks the whole answer
(shallow lines, flush, NAK, band-1 pack data with a valid pack, final flush).

Connections: plain HTTP/1.1 keep-alive (one connection per cluster, as
go-git's shared transport), or TLS with a CA either with a new connection and
a full handshake per poll (--tls-mode handshake: what Flux does when the
GitRepository's secret has a ca.crt, a new transport per poll and no client
session cache) or keep-alive (--tls-mode keepalive).

Phases: connect all clusters; poll for --warmup seconds (the "steady"
latencies); run --deploy-cmd (it prints the new tip) and, with --notify, wake
every cluster at once as a Flux notification Receiver would; wait until every
cluster holds the new tip (or --timeout); print one JSON object on stdout.
Server RSS and open fds are read from /proc for --pids (and their children)
before connecting, after the warm-up, and after convergence.

Standard library only.
"""
import argparse
import asyncio
import hashlib
import json
import os
import random
import re
import ssl
import sys
import time
import urllib.parse
import zlib

TIP_RE = re.compile(rb"([0-9a-f]{40}) refs/heads/main[\x00\n]")


def pkt(s):
    b = s.encode()
    return b"%04x" % (len(b) + 4) + b


def pct(vals, p):
    if not vals:
        return None
    v = sorted(vals)
    r = max(1, -(-len(v) * p // 100))  # nearest rank
    return round(v[int(r) - 1], 2)


def proc_stats(pids):
    """Sum of VmRSS (KiB) and open fds over pids and their descendants."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    todo, seen = list(pids), set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        todo.extend(kids.get(p, []))
    rss = fds = 0
    for p in seen:
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
            fds += len(os.listdir("/proc/%d/fd" % p))
        except OSError:
            pass
    return {"rss_kb": rss, "fds": fds, "procs": len(seen)}


class BadReply(Exception):
    pass


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise BadReply("bad status line %r" % lines[0][:80])
    status = int(parts[1])
    hdr = {}
    for ln in lines[1:]:
        if ":" in ln:
            k, v = ln.split(":", 1)
            hdr[k.strip().lower()] = v.strip()
    if "chunked" in hdr.get("transfer-encoding", "").lower():
        chunks = []
        while True:
            szl = await reader.readuntil(b"\r\n")
            sz = int(szl.split(b";")[0], 16)
            if sz == 0:
                await reader.readuntil(b"\r\n")  # no trailers expected
                break
            chunks.append(await reader.readexactly(sz))
            await reader.readexactly(2)
        body = b"".join(chunks)
    elif "content-length" in hdr:
        body = await reader.readexactly(int(hdr["content-length"]))
    else:
        body = await reader.read()
        hdr["connection"] = "close"
    keep = hdr.get("connection", "").lower() != "close" and lines[0].startswith("HTTP/1.1")
    return status, hdr, body, keep


class Verifier:
    """Checks upload-pack replies; a full SHA-1 check of the pack once per
    distinct reply, a CRC-32 comparison with that reply for the others."""

    def __init__(self):
        self.seen = {}  # (len, trailer) -> crc32 of the whole body

    def check(self, body, tip):
        pos, n = 0, len(body)
        shallow = []

        def next_pkt():
            nonlocal pos
            if pos + 4 > n:
                raise BadReply("truncated at byte %d" % pos)
            try:
                ln = int(body[pos:pos + 4], 16)
            except ValueError:
                raise BadReply("bad pkt-line length at byte %d" % pos)
            if ln == 0:
                pos += 4
                return None
            if ln < 4 or pos + ln > n:
                raise BadReply("bad pkt-line length %d at byte %d" % (ln, pos))
            d = body[pos + 4:pos + ln]
            pos += ln
            return d

        while True:
            d = next_pkt()
            if d is None:
                break
            if d.startswith(b"shallow "):
                shallow.append(d[8:48].decode())
            elif d.startswith(b"ERR "):
                raise BadReply("server said %r" % d[:120])
            else:
                raise BadReply("expected shallow lines, got %r" % d[:40])
        if tip not in shallow:
            raise BadReply("no 'shallow %s' line" % tip[:12])
        d = next_pkt()
        if d != b"NAK\n":
            raise BadReply("expected NAK, got %r" % (d[:40] if d else d))
        pack = []
        while True:
            d = next_pkt()
            if d is None:
                break
            band = d[:1]
            if band == b"\x01":
                pack.append(d[1:])
            elif band == b"\x03":
                raise BadReply("band 3 error: %r" % d[1:120])
            elif band != b"\x02":
                raise BadReply("unknown side band %r" % band)
        if pos != n:
            raise BadReply("%d bytes after the final flush" % (n - pos))
        pack = b"".join(pack)
        if len(pack) < 32 or pack[:4] != b"PACK" or pack[4:8] not in (b"\0\0\0\2", b"\0\0\0\3"):
            raise BadReply("band 1 does not hold a pack")
        if int.from_bytes(pack[8:12], "big") == 0:
            raise BadReply("empty pack")
        key = (len(pack), pack[-20:])
        crc = zlib.crc32(pack)
        if key in self.seen:
            if self.seen[key] != crc:
                raise BadReply("pack differs from an identical-looking verified one")
        else:
            if hashlib.sha1(pack[:-20]).digest() != pack[-20:]:
                raise BadReply("pack checksum is wrong")
            self.seen[key] = crc
        return len(body)


class Fleet:
    def __init__(self, a):
        self.a = a
        u = urllib.parse.urlsplit(a.url)
        self.host, self.port = u.hostname, u.port or (443 if u.scheme == "https" else 80)
        self.path = u.path.rstrip("/")
        self.tls = None
        if u.scheme == "https":
            self.tls = ssl.create_default_context(cafile=a.cafile)
        self.keepalive = self.tls is None or a.tls_mode == "keepalive"
        auth = "Authorization: Bearer %s\r\n" % a.token if a.token else ""
        hp = "%s:%d" % (self.host, self.port)
        self.get_req = ("GET %s/info/refs?service=git-upload-pack HTTP/1.1\r\nHost: %s\r\n"
                        "User-Agent: go-git/5.x\r\nAccept: */*\r\n%s\r\n" % (self.path, hp, auth)).encode()
        self.post_head = ("POST %s/git-upload-pack HTTP/1.1\r\nHost: %s\r\nUser-Agent: go-git/5.x\r\n"
                          "Content-Type: application/x-git-upload-pack-request\r\n"
                          "Accept: application/x-git-upload-pack-result\r\n%s" % (self.path, hp, auth))
        self.tip = a.tip
        self.held = [a.tip] * a.n
        self.held_at = [None] * a.n
        self.wake = [asyncio.Event() for _ in range(a.n)]
        self.phase = "connect"
        self.lat = {"steady": [], "deploy": []}
        self.poll_err = {"steady": 0, "deploy": 0, "connect": 0}
        self.fetch_ms, self.fetch_bytes, self.fetch_err = [], 0, 0
        self.err_samples = []
        self.reconnects = self.connects = self.connect_err = 0
        self.fetches = 0
        self.verifier = Verifier()
        self.t_deploy = None
        self.stop = False
        self.lag = []

    def note(self, what):
        if len(self.err_samples) < 8:
            self.err_samples.append(what)

    async def open(self):
        r, w = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port, ssl=self.tls,
                                    server_hostname=self.host if self.tls else None,
                                    limit=1 << 20), self.a.req_timeout)
        self.connects += 1
        return r, w

    async def close(self, conn):
        if conn:
            try:
                conn[1].close()
            except Exception:
                pass

    async def poll(self, i, conn):
        """One poll (and fetch if main moved); returns the connection to keep."""
        phase = self.phase
        t0 = time.monotonic()
        try:
            if conn is None:
                conn = await self.open()
                if self.phase != "connect" and self.keepalive:
                    self.reconnects += 1
            r, w = conn
            w.write(self.get_req)
            st, hdr, body, keep = await asyncio.wait_for(read_response(r), self.a.req_timeout)
            if st != 200:
                raise BadReply("info/refs answered %d" % st)
            m = TIP_RE.search(body)
            if not m:
                raise BadReply("no refs/heads/main in the advertisement")
            self.lat[phase if phase in self.lat else "steady"].append((time.monotonic() - t0) * 1000)
            if not keep:
                await self.close(conn)
                conn = None
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                BadReply, ValueError, ssl.SSLError) as e:
            self.poll_err[phase] = self.poll_err.get(phase, 0) + 1
            self.note("poll: %s" % (e or type(e).__name__))
            await self.close(conn)
            return None
        tip = m.group(1).decode()
        if tip != self.held[i]:
            conn = await self.fetch(i, conn, tip)
        return conn

    async def fetch(self, i, conn, tip):
        body = (pkt("want %s side-band-64k ofs-delta agent=go-git/5.x shallow no-progress\n" % tip)
                + pkt("deepen 1\n") + b"0000" + pkt("done\n"))
        t0 = time.monotonic()
        self.fetches += 1
        try:
            if conn is None:
                conn = await self.open()
            r, w = conn
            w.write(self.post_head.encode() + b"Content-Length: %d\r\n\r\n" % len(body) + body)
            st, hdr, reply, keep = await asyncio.wait_for(read_response(r), self.a.fetch_timeout)
            if st != 200:
                raise BadReply("git-upload-pack answered %d: %r" % (st, reply[:100]))
            self.fetch_bytes += self.verifier.check(reply, tip)
            now = time.monotonic()
            self.fetch_ms.append((now - t0) * 1000)
            self.held[i] = tip
            self.held_at[i] = now
            if not keep:
                await self.close(conn)
                conn = None
            return conn
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                BadReply, ValueError, ssl.SSLError) as e:
            self.fetch_err += 1
            self.note("fetch: %s" % (e or type(e).__name__))
            await self.close(conn)
            return None

    async def cluster(self, i, conn):
        a = self.a
        due = time.monotonic() + random.uniform(0, a.interval)
        while not self.stop:
            try:
                await asyncio.wait_for(self.wake[i].wait(), max(0.0, due - time.monotonic()))
                self.wake[i].clear()
            except asyncio.TimeoutError:
                pass
            if self.stop:
                break
            due = time.monotonic() + a.interval * random.uniform(0.9, 1.1)
            if not self.keepalive:
                await self.close(conn)
                conn = None
            conn = await self.poll(i, conn)
            if not self.keepalive:
                await self.close(conn)
                conn = None
        await self.close(conn)

    async def lag_probe(self):
        while not self.stop:
            t = time.monotonic()
            await asyncio.sleep(0.05)
            self.lag.append((time.monotonic() - t - 0.05) * 1000)

    async def run(self):
        a = self.a
        pids = [int(p) for p in a.pids.split(",") if p]
        out = {"n": a.n, "interval_s": a.interval, "warmup_s": a.warmup,
               "tls": self.tls is not None, "keepalive": self.keepalive}
        out["server_before"] = proc_stats(pids)
        # connect every cluster (keep-alive) in batches
        conns = [None] * a.n
        if self.keepalive:
            sem = asyncio.Semaphore(256)

            async def one(i):
                async with sem:
                    try:
                        conns[i] = await self.open()
                    except (OSError, asyncio.TimeoutError, ssl.SSLError) as e:
                        self.connect_err += 1
                        self.note("connect: %s" % (e or type(e).__name__))
            t0 = time.monotonic()
            await asyncio.gather(*(one(i) for i in range(a.n)))
            out["connect_s"] = round(time.monotonic() - t0, 2)
            out["connect_errors"] = self.connect_err
        self.phase = "steady"
        probe = asyncio.ensure_future(self.lag_probe())
        tasks = [asyncio.ensure_future(self.cluster(i, conns[i])) for i in range(a.n)]
        await asyncio.sleep(a.warmup)
        out["server_steady"] = proc_stats(pids)
        out["steady_lag_p99_ms"] = pct(self.lag, 99)
        # deploy
        t0 = time.monotonic()
        proc = await asyncio.create_subprocess_shell(a.deploy_cmd, stdout=asyncio.subprocess.PIPE)
        so, _ = await proc.communicate()
        self.t_deploy = time.monotonic()
        out["deploy_ms"] = round((self.t_deploy - t0) * 1000, 1)
        self.phase = "deploy"
        new = so.decode().strip().split()[-1] if so.strip() else ""
        if proc.returncode != 0 or not re.fullmatch(r"[0-9a-f]{40}", new):
            out["error"] = "deploy command failed (status %s, said %r)" % (proc.returncode, so[-200:])
        else:
            out["new_tip"] = new
            if a.notify:
                for e in self.wake:
                    e.set()
            deadline = self.t_deploy + a.timeout
            while time.monotonic() < deadline:
                if all(h == new for h in self.held):
                    break
                await asyncio.sleep(0.01)
            held = [t for h, t in zip(self.held, self.held_at) if h == new]
            out["converged"] = len(held)
            rel = sorted((t - self.t_deploy) * 1000 for t in held)
            out["converge_all_ms"] = round(rel[-1], 1) if len(held) == a.n else None
            out["converge_p50_ms"] = pct(rel, 50)
            out["converge_last_ms"] = round(rel[-1], 1) if rel else None
            out["server_after"] = proc_stats(pids)
        self.stop = True
        for e in self.wake:
            e.set()
        await asyncio.wait(tasks, timeout=10)
        probe.cancel()
        for k in ("steady", "deploy"):
            out["poll_%s" % k] = {"count": len(self.lat[k]), "errors": self.poll_err.get(k, 0),
                                  "p50_ms": pct(self.lat[k], 50), "p99_ms": pct(self.lat[k], 99),
                                  "max_ms": round(max(self.lat[k]), 1) if self.lat[k] else None}
        out["fetch"] = {"count": self.fetches, "ok": len(self.fetch_ms), "errors": self.fetch_err,
                        "bytes": self.fetch_bytes, "p50_ms": pct(self.fetch_ms, 50),
                        "p99_ms": pct(self.fetch_ms, 99)}
        out["connects"] = self.connects
        out["reconnects"] = self.reconnects
        out["lag_p99_ms"] = pct(self.lag, 99)
        out["errors_sample"] = self.err_samples
        return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", required=True, help="http(s)://HOST:PORT/REPO.git")
    p.add_argument("--token", default="", help="Bearer token (none: no Authorization)")
    p.add_argument("--cafile", help="CA bundle for https")
    p.add_argument("--tls-mode", choices=("handshake", "keepalive"), default="handshake")
    p.add_argument("--n", type=int, required=True, help="clusters")
    p.add_argument("--interval", type=float, default=5.0)
    p.add_argument("--warmup", type=float, default=10.0)
    p.add_argument("--tip", required=True, help="the tip every cluster holds at the start")
    p.add_argument("--deploy-cmd", required=True, help="moves main; prints the new tip last")
    p.add_argument("--notify", action="store_true", help="wake every cluster after the deploy")
    p.add_argument("--timeout", type=float, default=60.0, help="convergence deadline, s")
    p.add_argument("--req-timeout", type=float, default=30.0)
    p.add_argument("--fetch-timeout", type=float, default=120.0)
    p.add_argument("--pids", default="", help="server pids, comma-separated")
    a = p.parse_args()
    out = asyncio.run(Fleet(a).run())
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 1 if "error" in out else 0


if __name__ == "__main__":
    sys.exit(main())
