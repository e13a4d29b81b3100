#!/usr/bin/env bash
# The interop case list (interop_lib.sh) with isomorphic-git (pinned
# below, installed from npm into build/interop/ by this file), over HTTP:
# isomorphic-git has no SSH transport.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ssh_lib.sh"
. "$(dirname "$0")/interop_lib.sh"

ISOGIT_VERSION=1.44.19
CLIENT="isomorphic-git $ISOGIT_VERSION"
PREFIX=$ROOT/build/interop
export ISOGIT_MODULES=$PREFIX/node_modules
command -v node >/dev/null 2>&1 || skip_client "node is not installed (sh scripts/deps.sh)"
have=$(node -p "require('$ISOGIT_MODULES/isomorphic-git/package.json').version" 2>/dev/null)
if [ "$have" != "$ISOGIT_VERSION" ]; then
	command -v npm >/dev/null 2>&1 || skip_client "npm is not installed (sh scripts/deps.sh)"
	mkdir -p "$PREFIX"
	out=$(timeout -k 5 150 npm install --no-audit --no-fund --prefix "$PREFIX" "isomorphic-git@$ISOGIT_VERSION" 2>&1) ||
		skip_client "npm install isomorphic-git@$ISOGIT_VERSION failed: $(printf '%s' "$out" | tail -n 3)"
fi
CLIENT_CMD=(node "$ROOT/tests/interop/isogit/driver.js")
CLIENT_SSH="isomorphic-git has no SSH transport"
client_cant() { :; }

interop_main
