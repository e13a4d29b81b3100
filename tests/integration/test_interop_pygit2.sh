#!/usr/bin/env bash
# The interop case list (interop_lib.sh) with pygit2 (libgit2 1.5, Debian's
# build, SSH through libssh2), over HTTP and SSH.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ssh_lib.sh"
. "$(dirname "$0")/interop_lib.sh"

# Debian's python3-pygit2 is for Debian's python3, whatever else is on PATH.
PY=/usr/bin/python3
ver=$("$PY" -c 'import pygit2; print(pygit2.__version__, "libgit2", pygit2.LIBGIT2_VERSION, pygit2.features & pygit2.GIT_FEATURE_SSH)' 2>/dev/null) ||
	{ CLIENT=pygit2; skip_client "python3-pygit2 is not installed (sh scripts/deps.sh)"; }
# shellcheck disable=SC2086 # split on purpose
set -- $ver
CLIENT="pygit2 $1 ($2 $3)"
CLIENT_CMD=("$PY" "$ROOT/tests/interop/pygit2/driver.py")
[ "$4" != 0 ] || CLIENT_SSH="this libgit2 was built without SSH"
client_cant() {
	case $1 in
	ls-remote-v2) echo "libgit2 1.5 speaks protocol v0 only" ;;
	depth-1 | deepen | deepen-relative | shallow-since | shallow-exclude | multi-want-depth)
		echo "libgit2 1.5 cannot fetch shallow (it came in 1.7)" ;;
	esac
}

interop_main
