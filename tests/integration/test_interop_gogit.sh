#!/usr/bin/env bash
# The interop case list (interop_lib.sh) with go-git 5.4.2 (Debian's, the
# library inside Flux), over HTTP and SSH.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ssh_lib.sh"
. "$(dirname "$0")/interop_lib.sh"

GOGIT_DRIVER=$ROOT/build/interop/gogit-driver
CLIENT="go-git $(dpkg-query -W -f='${Version}' golang-github-go-git-go-git-dev 2>/dev/null)"
if [ ! -x "$GOGIT_DRIVER" ]; then
	dpkg-query -W golang-github-go-git-go-git-dev >/dev/null 2>&1 ||
		skip_client "golang-github-go-git-go-git-dev is not installed (sh scripts/deps.sh)"
	out=$(bash "$ROOT/tests/interop/build.sh" 2>&1) || die "building the go-git driver failed" "$out"
fi
CLIENT_CMD=("$GOGIT_DRIVER")
client_cant() {
	case $1 in
	ls-remote-v2) echo "go-git 5.4 speaks protocol v0 only" ;;
	# Against git's own upload-pack too: the old tip stays in .git/shallow.
	deepen) echo "go-git 5.4 cannot deepen a shallow clone (over HTTP it sends no request, its wants being haves; over SSH it ignores the unshallow lines)" ;;
	deepen-relative | shallow-since | shallow-exclude)
		echo "go-git 5.4 knows deepen N only (no deepen-relative, deepen-since, deepen-not)" ;;
	esac
}

interop_main
