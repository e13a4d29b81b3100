#!/bin/sh
# Install the Debian packages that building and testing auger need.
# Non-interactive and idempotent: packages already present are skipped.
set -eu

PKGS="build-essential pkg-config git curl ca-certificates
libgit2-dev libevent-dev libssh-dev libjansson-dev libyaml-dev liblmdb-dev
zlib1g-dev libssl-dev openssl libcmocka-dev
clang libclang-rt-14-dev
golang-go golang-github-go-git-go-git-dev
openssh-client jq
python3 python3-pygit2 python3-dulwich libjgit-java default-jdk-headless nodejs"

# The interop suite (tests/interop/) drives isomorphic-git with npm. Node's
# own builds ship npm inside the nodejs package; Debian's ship it apart.
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"

# The dashboard's browser tests (tests/integration/test_ui.sh) drive Debian's
# chromium, headless, through playwright-core from npm: never a browser build
# of Playwright's own, downloaded at test time.
PKGS="$PKGS chromium"

# Extra packages for the benchmarks only (scripts/bench/).
if [ "${1:-}" = "--bench" ]; then
	PKGS="$PKGS lighttpd fcgiwrap wrk openssh-server hyperfine"
fi

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
