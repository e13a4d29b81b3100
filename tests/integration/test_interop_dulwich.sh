#!/usr/bin/env bash
# The interop case list (interop_lib.sh) with dulwich (Debian's, pure
# Python; SSH through OpenSSH), over HTTP and SSH.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ssh_lib.sh"
. "$(dirname "$0")/interop_lib.sh"

# Debian's python3-dulwich is for Debian's python3, whatever else is on PATH.
PY=/usr/bin/python3
ver=$("$PY" -c 'import dulwich; print(".".join(map(str, dulwich.__version__)))' 2>/dev/null) ||
	{ CLIENT=dulwich; skip_client "python3-dulwich is not installed (sh scripts/deps.sh)"; }
CLIENT="dulwich $ver"
CLIENT_CMD=("$PY" "$ROOT/tests/interop/dulwich/driver.py")
client_cant() {
	case $1 in
	ls-remote-v2) echo "dulwich 0.21 speaks protocol v0 only" ;;
	deepen-relative | shallow-since | shallow-exclude)
		echo "dulwich 0.21 knows deepen N only (no deepen-relative, deepen-since, deepen-not)" ;;
	esac
}

interop_main
