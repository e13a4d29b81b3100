#!/usr/bin/env bash
# Build the interop clients used by the integration tests:
#   build/interop/gogit-client  (go-git v5 from the Debian package)
#   build/interop/fluxbytes     (standard library only)
#   build/interop/gogit-driver  (go-git v5: the interop suite's driver)
# GOPATH mode, offline: GOPATH=<build>/gopath:/usr/share/gocode, where
# <build>/gopath/src/github.com/go-git/go-git/v5 links to the Debian source.
# Idempotent; fails loudly.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$ROOT/build/interop
GOCODE=${GOCODE:-/usr/share/gocode}
GOGIT_SRC=$GOCODE/src/github.com/go-git/go-git

command -v go >/dev/null 2>&1 || { echo "build.sh: go not found (install golang-go)" >&2; exit 1; }
[ -f "$GOGIT_SRC/repository.go" ] || {
	echo "build.sh: go-git sources not found at $GOGIT_SRC (install golang-github-go-git-go-git-dev)" >&2
	exit 1
}

mkdir -p "$OUT/gopath/src/github.com/go-git/go-git" "$OUT/gocache"
ln -sfn "$GOGIT_SRC" "$OUT/gopath/src/github.com/go-git/go-git/v5"

export GO111MODULE=off GOFLAGS= GOPROXY=off GOTOOLCHAIN=local CGO_ENABLED=0
export GOPATH="$OUT/gopath:$GOCODE"
export GOCACHE="$OUT/gocache"

cd "$ROOT/tests/interop"
# source folder:binary name
for pair in fluxbytes:fluxbytes gogit-client:gogit-client gogit:gogit-driver; do
	src=${pair%%:*} prog=${pair#*:}
	if ! go build -o "$OUT/$prog.tmp" "./$src"; then
		echo "build.sh: building $prog failed" >&2
		rm -f "$OUT/$prog.tmp"
		exit 1
	fi
	mv -f "$OUT/$prog.tmp" "$OUT/$prog"
done
echo "build.sh: built $OUT/gogit-client $OUT/fluxbytes $OUT/gogit-driver"
