#!/usr/bin/env bash
# The interop case list (interop_lib.sh) with the git CLI, over HTTP and
# SSH: the reference client, and the one the other clients are held to.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ssh_lib.sh"
. "$(dirname "$0")/interop_lib.sh"

CLIENT="git $(git --version | awk '{ print $3 }')"
CLIENT_CMD=(sh "$ROOT/tests/interop/git/driver.sh")
client_cant() { :; }

interop_main
