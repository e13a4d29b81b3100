#!/usr/bin/python3
"""The interop suite's driver for dulwich, Debian's build (pure Python).

Same command line as every driver (tests/interop/README.md):

  driver.py ls-remote URL
  driver.py clone URL DIR [--branch B] [--single-branch] [--no-tags] [--depth N]
  driver.py fetch DIR URL [--branch B] [--depth N]
  driver.py push DIR URL [SRC]:DST [--force]

dulwich 0.21 speaks protocol v0 only and knows "deepen N" but neither
deepen-relative, deepen-since nor deepen-not. It checks nothing before a
push, so --force changes nothing: the server alone refuses. HTTP: Basic
auth, user "git", password $AUGER_TOKEN. SSH: OpenSSH run by dulwich,
with the key in $AUGER_SSH_KEY and host keys in $AUGER_KNOWN_HOSTS.
"""
import os
import sys

from dulwich.client import get_transport_and_path
from dulwich.errors import GitProtocolError, HangupException
from dulwich.objects import ZERO_SHA
from dulwich.repo import Repo


def die(msg):
    print(f"dulwich-driver: {msg}", file=sys.stderr)
    sys.exit(1)


def transport(url):
    if url.startswith("ssh://"):
        key = os.environ.get("AUGER_SSH_KEY")
        known = os.environ.get("AUGER_KNOWN_HOSTS")
        if not key or not known:
            die("ssh URL needs AUGER_SSH_KEY and AUGER_KNOWN_HOSTS")
        ssh = (f"ssh -F /dev/null -i {key} -o UserKnownHostsFile={known}"
               " -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes"
               " -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes"
               " -o LogLevel=ERROR")
        return get_transport_and_path(url, ssh_command=ssh)
    return get_transport_and_path(url, username="git",
                                  password=os.environ.get("AUGER_TOKEN", ""))


def parse(args, flags, valued):
    opts, i = {}, 0
    while i < len(args):
        k = args[i].removeprefix("--")
        if k in valued and i + 1 < len(args):
            opts[k] = args[i + 1]
            i += 2
        elif k in flags:
            opts[k] = True
            i += 1
        else:
            die(f"unknown option {args[i]}")
    return opts


def ls_remote(url, args):
    parse(args, [], [])
    client, path = transport(url)
    refs = client.get_refs(path)
    print("protocol 1")
    for name in sorted(refs):
        if not name.endswith(b"^{}"):
            print(refs[name].decode(), name.decode())


def fetch_into(repo, url, branch, tags, depth):
    """Fetch branch (None: every branch) into refs/remotes/origin/, and the
    tags: every tag, or for one branch those it reaches (as git clone)."""
    client, path = transport(url)
    chosen = {}

    def wants(refs, depth=None):
        for name, sha in refs.items():
            if name.endswith(b"^{}"):
                continue
            if name.startswith(b"refs/heads/") and branch in (None, name[11:].decode()):
                chosen[b"refs/remotes/origin/" + name[11:]] = sha
            elif name.startswith(b"refs/tags/") and tags and branch is None:
                chosen[name] = sha
        return sorted(set(chosen.values()))

    res = client.fetch(path, repo, determine_wants=wants,
                       depth=int(depth) if depth else None)
    for name, sha in chosen.items():
        repo.refs[name] = sha
    if tags and branch is not None:
        # include-tag sent the tag objects that point into the pack.
        for name, sha in res.refs.items():
            if name.startswith(b"refs/tags/") and not name.endswith(b"^{}") and sha in repo.object_store:
                repo.refs[name] = sha


def clone(url, path, args):
    o = parse(args, ["single-branch", "no-tags"], ["branch", "depth"])
    branch = o.get("branch", "main")
    repo = Repo.init(path, mkdir=not os.path.exists(path))
    fetch_into(repo, url, branch if o.get("single-branch") else None,
               not o.get("no-tags"), o.get("depth"))
    tip = repo.refs[b"refs/remotes/origin/" + branch.encode()]
    head = b"refs/heads/" + branch.encode()
    repo.refs[head] = tip
    repo.refs.set_symbolic_ref(b"HEAD", head)
    repo.reset_index(repo[tip].tree)


def fetch(path, url, args):
    o = parse(args, [], ["branch", "depth"])
    fetch_into(Repo(path), url, o.get("branch"), False, o.get("depth"))


def push(path, url, spec, args):
    parse(args, ["force"], [])
    repo = Repo(path)
    src, _, dst = spec.partition(":")
    new = repo.refs[src.encode()] if src else ZERO_SHA

    def update_refs(refs):
        refs = dict(refs)
        refs[dst.encode()] = new
        return refs

    client, rpath = transport(url)
    res = client.send_pack(rpath, update_refs, repo.generate_pack_data)
    refused = [f"{r.decode()}: {m}" for r, m in (res.ref_status or {}).items() if m]
    if refused:
        die("push refused: " + "; ".join(refused))


def main(argv):
    op, rest = (argv[0], argv[1:]) if argv else ("", [])
    try:
        if op == "ls-remote" and rest:
            ls_remote(rest[0], rest[1:])
        elif op == "clone" and len(rest) >= 2:
            clone(rest[0], rest[1], rest[2:])
        elif op == "fetch" and len(rest) >= 2:
            fetch(rest[0], rest[1], rest[2:])
        elif op == "push" and len(rest) >= 3:
            push(rest[0], rest[1], rest[2], rest[3:])
        else:
            die("usage: see the top of driver.py")
    except (GitProtocolError, HangupException, OSError, KeyError) as e:
        die(f"{op}: {type(e).__name__}: {e}")


if __name__ == "__main__":
    main(sys.argv[1:])
