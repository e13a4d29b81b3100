#!/usr/bin/python3
"""The interop suite's driver for pygit2 (libgit2), Debian's build.

Same command line as every driver (tests/interop/README.md):

  driver.py ls-remote URL
  driver.py clone URL DIR [--branch B] [--single-branch] [--no-tags]
  driver.py fetch DIR URL [--branch B]
  driver.py push DIR URL [SRC]:DST [--force]

libgit2 1.5 speaks protocol v0 only and cannot fetch shallow, so the
deepen options are not taken. HTTP: Basic auth, user "git", password
$AUGER_TOKEN. SSH (libssh2): the key in $AUGER_SSH_KEY; libgit2 checks the
host key against $HOME/.ssh/known_hosts, which the caller fills.
"""
import os
import sys
import tempfile

import pygit2


def die(msg):
    print(f"pygit2-driver: {msg}", file=sys.stderr)
    sys.exit(1)


class Callbacks(pygit2.RemoteCallbacks):
    def __init__(self):
        super().__init__()
        self.rejected = []

    def credentials(self, url, username_from_url, allowed):
        if allowed & pygit2.GIT_CREDENTIAL_SSH_KEY:
            key = os.environ.get("AUGER_SSH_KEY") or die("ssh URL needs AUGER_SSH_KEY")
            return pygit2.Keypair(username_from_url or "git", key + ".pub", key, "")
        if allowed & pygit2.GIT_CREDENTIAL_USERPASS_PLAINTEXT:
            return pygit2.UserPass("git", os.environ.get("AUGER_TOKEN", ""))
        die(f"no credential of the kinds the server allows ({allowed})")

    def certificate_check(self, certificate, valid, host):
        # pygit2 1.11 passes no certificate; "valid" is libgit2's verdict
        # (known_hosts for SSH).
        return valid

    def push_update_reference(self, refname, message):
        if message is not None:
            self.rejected.append(f"{refname}: {message}")


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
    with tempfile.TemporaryDirectory() as tmp:
        repo = pygit2.init_repository(tmp, bare=True)
        heads = repo.remotes.create("origin", url).ls_remotes(callbacks=Callbacks())
    print("protocol 1")
    for h in sorted(heads, key=lambda h: h["name"]):
        if not h["name"].endswith("^{}"):
            print(h["oid"], h["name"])


def set_remote(repo, url, spec, tags):
    """The remote "origin" with one fetch refspec, tags or not."""
    if "origin" in [r.name for r in repo.remotes]:
        repo.remotes.set_url("origin", url)
        repo.config["remote.origin.fetch"] = spec
    else:
        repo.remotes.create("origin", url, spec)
    # libgit2 reads the tag option from the config when it looks the remote up.
    repo.config["remote.origin.tagopt"] = "--tags" if tags else "--no-tags"
    return repo.remotes["origin"]


def clone(url, path, args):
    o = parse(args, ["single-branch", "no-tags"], ["branch"])
    branch = o.get("branch", "main")
    spec = "+refs/heads/%s:refs/remotes/origin/%s" % (
        (branch, branch) if o.get("single-branch") else ("*", "*"))
    repo = pygit2.init_repository(path)
    set_remote(repo, url, spec, not o.get("no-tags")).fetch(callbacks=Callbacks())
    tip = repo.references.get(f"refs/remotes/origin/{branch}") or die(f"no origin/{branch} after the fetch")
    repo.create_reference(f"refs/heads/{branch}", tip.target, force=True)
    repo.set_head(f"refs/heads/{branch}")
    repo.checkout_head(strategy=pygit2.GIT_CHECKOUT_FORCE)


def fetch(path, url, args):
    o = parse(args, [], ["branch"])
    b = o.get("branch", "*")
    repo = pygit2.Repository(path)
    set_remote(repo, url, f"+refs/heads/{b}:refs/remotes/origin/{b}", False).fetch(callbacks=Callbacks())


def push(path, url, spec, args):
    o = parse(args, ["force"], [])
    repo = pygit2.Repository(path)
    repo.remotes.set_url("origin", url)
    cb = Callbacks()
    # libgit2 checks nothing before it sends: "+" only says "force" locally.
    repo.remotes["origin"].push([("+" if o.get("force") else "") + spec], callbacks=cb)
    if cb.rejected:
        die("push refused: " + "; ".join(cb.rejected))


def main(argv):
    if len(argv) < 2:
        die("usage: see the top of driver.py")
    op, rest = argv[0], argv[1:]
    try:
        if op == "ls-remote":
            ls_remote(rest[0], rest[1:])
        elif op == "clone" and len(rest) >= 2:
            clone(rest[0], rest[1], rest[2:])
        elif op == "fetch" and len(rest) >= 2:
            fetch(rest[0], rest[1], rest[2:])
        elif op == "push" and len(rest) >= 3:
            push(rest[0], rest[1], rest[2], rest[3:])
        else:
            die("usage: see the top of driver.py")
    except pygit2.GitError as e:
        die(f"{op}: {e}")


if __name__ == "__main__":
    main(sys.argv[1:])
