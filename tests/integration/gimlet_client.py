#!/usr/bin/env python3
"""Replays the HTTP calls of Gimlet's Go client (gimlet-io/gimlet
pkg/client/client.go) and decodes the answers as its types would
(pkg/dx/artifact.go, release.go, pkg/dashboard/model/user.go): a JSON value
of the wrong type for a Go field fails, as json.Unmarshal fails, and a
missing "id" where the client does res["id"].(string) panics.

  gimlet_client.py URL TOKEN CALL [ARGS...]

Prints the decoded result as JSON on stdout; exits 1 on an error (the
client's error text on stderr), 2 on a panic.
"""
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

STR, INT, BOOL = "string", "int64", "bool"

# Go types as schemas: dict = struct (unknown keys ignored, as Go does),
# ("map", T), ("slice", T), ("ptr", T), or a scalar name.
GIT_EVENT = "GitEvent"  # a string; unknown words decode to push (0)
VERSION = {"repositoryName": STR, "sha": STR, "created": INT,
           "branch": STR, "event": GIT_EVENT, "sourceBranch": STR,
           "targetBranch": STR, "tag": STR, "authorName": STR,
           "authorEmail": STR, "committerName": STR,
           "committerEmail": STR, "message": STR, "url": STR}
DEPLOY = {"branch": STR, "tag": STR, "event": ("ptr", GIT_EVENT)}
MANIFEST = {"app": STR, "env": STR, "namespace": STR,
            "deploy": ("ptr", DEPLOY), "preview": ("ptr", BOOL),
            "values": ("map", "any")}
ARTIFACT = {"id": STR, "created": INT, "version": VERSION,
            "context": ("map", STR),
            "environments": ("slice", ("ptr", MANIFEST)),
            "cueEnvironments": ("slice", STR),
            "items": ("slice", ("map", "any")),
            "vars": ("map", STR), "fake": BOOL}
RELEASE = {"app": STR, "env": STR, "artifactId": STR, "triggeredBy": STR,
           "version": ("ptr", VERSION), "gitopsRef": STR,
           "gitopsRepo": STR, "gitopsCommitStatus": STR,
           "gitopsCommitStatusDesc": STR, "gitopsCommitCreated": INT,
           "created": INT, "rolledBack": BOOL}
RESULT = {"app": STR, "hash": STR, "status": STR,
          "gitopsCommitStatus": STR, "gitopsCommitStatusDesc": STR,
          "env": STR, "statusDesc": STR, "triggeredDeployRequestID": STR}
RELEASE_STATUS = {"type": STR, "status": STR, "statusDesc": STR,
                  "results": ("slice", RESULT)}
USER = {"login": STR, "token": STR, "admin": BOOL, "name": STR,
        "favoriteRepos": ("slice", STR),
        "favoriteServices": ("slice", STR)}


class DecodeError(Exception):
    pass


def decode(v, t, where="value"):
    """Checks v against Go type t as encoding/json would."""
    if v is None:
        return  # null leaves any Go value at its zero value
    if t == "any":
        return
    if t == STR or t == GIT_EVENT:
        if not isinstance(v, str):
            raise DecodeError("json: cannot unmarshal %s into Go value of "
                              "type string (%s)" % (type(v).__name__, where))
        return
    if t == INT:
        if isinstance(v, bool) or not isinstance(v, int):
            raise DecodeError("json: cannot unmarshal %s into Go value of "
                              "type int64 (%s)" % (type(v).__name__, where))
        return
    if t == BOOL:
        if not isinstance(v, bool):
            raise DecodeError("json: cannot unmarshal %s into Go value of "
                              "type bool (%s)" % (type(v).__name__, where))
        return
    if isinstance(t, dict):
        if not isinstance(v, dict):
            raise DecodeError("json: cannot unmarshal %s into Go struct "
                              "(%s)" % (type(v).__name__, where))
        for k, ft in t.items():
            if k in v:
                decode(v[k], ft, where + "." + k)
        return
    kind, inner = t
    if kind == "ptr":
        decode(v, inner, where)
    elif kind == "map":
        if not isinstance(v, dict):
            raise DecodeError("json: cannot unmarshal %s into Go map (%s)"
                              % (type(v).__name__, where))
        for k, x in v.items():
            decode(x, inner, "%s[%s]" % (where, k))
    elif kind == "slice":
        if not isinstance(v, list):
            raise DecodeError("json: cannot unmarshal %s into Go slice (%s)"
                              % (type(v).__name__, where))
        for i, x in enumerate(v):
            decode(x, inner, "%s[%d]" % (where, i))


class Client:
    def __init__(self, addr, token):
        self.addr = addr.rstrip("/")
        self.token = token

    def open(self, url, method, body=None):
        # client.open: status > 206 is "client error N: body".
        data = None
        req = urllib.request.Request(url, method=method)
        # oauth2.Config.Client sends the token as a Bearer token.
        req.add_header("Authorization", "Bearer " + self.token)
        if body is not None:
            data = json.dumps(body).encode()
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, data, timeout=60) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            text = e.read().decode()
            if e.code > 206:
                raise RuntimeError("client error %d: %s" % (e.code, text))
            return e.code, text

    def do(self, url, method, body, schema):
        _, text = self.open(url, method, body)
        out = json.loads(text)
        decode(out, schema)
        return out

    # The calls, in client.go's order.
    def artifact_post(self, artifact):
        return self.do(self.addr + "/api/artifact", "POST", artifact,
                       ARTIFACT)

    def artifacts_get(self, params):
        return self.list_get("/api/artifacts", params, ARTIFACT)

    def releases_get(self, params):
        return self.list_get("/api/releases", params, RELEASE)

    def list_get(self, path, params, schema):
        q = "?" + "&".join(params) if params else ""
        _, text = self.open(self.addr + path + q, "GET")
        if text.strip() == "[]":
            return []
        out = json.loads(text)
        decode(out, ("slice", ("ptr", schema)))
        return out or []

    def status_get(self, app, env):
        params = []
        if app:
            params.append("app=" + app)
        if env:
            params.append("env=" + env)
        _, text = self.open(self.addr + "/api/status?" + "&".join(params),
                            "GET")
        if text.strip() == "[]":
            return {}
        out = json.loads(text)
        decode(out, ("map", ("ptr", RELEASE)))
        return out or {}

    def releases_post(self, request):
        res = self.do(self.addr + "/api/releases", "POST", request,
                      ("map", "any"))
        return type_assert_string(res, "id")

    def rollback_post(self, env, app, sha):
        res = self.do("%s/api/rollback?env=%s&app=%s&sha=%s" % (
            self.addr, env, app, sha), "POST", None, ("map", "any"))
        return type_assert_string(res, "id")

    def delete_post(self, env, app):
        self.do("%s/api/delete?env=%s&app=%s" % (self.addr, env, app),
                "POST", None, ("map", "any"))
        return {}

    def track_release(self, tid):
        return self.do(self.addr + "/api/eventReleaseTrack?id=" + tid,
                       "GET", None, RELEASE_STATUS)

    def track_artifact(self, aid):
        return self.do(self.addr + "/api/eventArtifactTrack?artifactId=" +
                       aid, "GET", None, RELEASE_STATUS)

    def users_get(self):
        return self.do(self.addr + "/api/users", "GET", None,
                       ("slice", ("ptr", USER)))

    def gitops_repo_get(self):
        return self.do(self.addr + "/api/gitopsRepo", "GET", None,
                       {"gitopsRepo": STR})["gitopsRepo"]

    def gitops_manifests_get(self, env):
        return self.do(self.addr + "/api/gitopsManifests/" + env, "GET",
                       None, ("map", ("map", STR)))


class Panic(Exception):
    pass


def type_assert_string(res, key):
    """res[key].(string): panics unless a string is there."""
    v = res.get(key) if isinstance(res, dict) else None
    if not isinstance(v, str):
        raise Panic("interface conversion: interface {} is %s, not string"
                    % ("nil" if v is None else type(v).__name__))
    return v


def main():
    url, token, call, args = sys.argv[1], sys.argv[2], sys.argv[3], \
        sys.argv[4:]
    c = Client(url, token)
    try:
        if call == "artifact-post":
            with open(args[0]) as f:
                out = c.artifact_post(json.load(f))
        elif call == "artifacts-get":
            out = c.artifacts_get(args)
        elif call == "releases-get":
            out = c.releases_get(args)
        elif call == "status-get":
            out = c.status_get(args[1] if len(args) > 1 else "", args[0])
        elif call == "releases-post":
            req = {"env": args[0], "artifactId": args[2],
                   "triggeredBy": ""}
            if args[1]:
                req["app"] = args[1]
            out = c.releases_post(req)
        elif call == "rollback-post":
            out = c.rollback_post(args[0], args[1], args[2])
        elif call == "delete-post":
            out = c.delete_post(args[0], args[1])
        elif call == "track-release":
            out = c.track_release(args[0])
        elif call == "track-artifact":
            out = c.track_artifact(args[0])
        elif call == "users-get":
            out = c.users_get()
        elif call == "gitops-repo-get":
            out = c.gitops_repo_get()
        elif call == "gitops-manifests-get":
            out = c.gitops_manifests_get(args[0])
        else:
            print("unknown call " + call, file=sys.stderr)
            return 2
    except Panic as e:
        print("panic: " + str(e), file=sys.stderr)
        return 2
    except (RuntimeError, DecodeError, ValueError) as e:
        print(str(e), file=sys.stderr)
        return 1
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
