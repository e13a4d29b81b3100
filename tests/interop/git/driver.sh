#!/bin/sh
# The interop suite's driver for the git CLI (tests/interop/README.md has
# the command line every driver takes):
#
#   driver.sh ls-remote URL [--v2]
#   driver.sh clone URL DIR [--branch B] [--single-branch] [--no-tags]
#                           [--depth N] [--since EPOCH] [--exclude REF]
#   driver.sh fetch DIR URL [--branch B] [--depth N] [--deepen N]
#                           [--since EPOCH] [--exclude REF]
#   driver.sh push DIR URL [SRC]:DST [--force]
#
# HTTP: Basic auth, user "git", password $AUGER_TOKEN. SSH: the key in
# $AUGER_SSH_KEY, host keys in $AUGER_KNOWN_HOSTS. file:// URLs need
# neither (the suite uses them for git's own answer to a case).
set -eu

die() { echo "git-driver: $*" >&2; exit 1; }
usage() { die "usage: see the top of $0"; }

[ $# -ge 2 ] || usage
op=$1
shift

# git with the credentials the URL needs.
rgit() {
	case $url in
	http://* | https://*)
		basic=$(printf 'git:%s' "${AUGER_TOKEN:-}" | base64 | tr -d '\n')
		git -c credential.helper= -c "http.extraHeader=Authorization: Basic $basic" "$@"
		;;
	ssh://*)
		[ -n "${AUGER_SSH_KEY:-}" ] && [ -n "${AUGER_KNOWN_HOSTS:-}" ] ||
			die "ssh URL needs AUGER_SSH_KEY and AUGER_KNOWN_HOSTS"
		GIT_SSH_VARIANT=ssh GIT_SSH_COMMAND="ssh -F /dev/null -i $AUGER_SSH_KEY \
-o UserKnownHostsFile=$AUGER_KNOWN_HOSTS -o GlobalKnownHostsFile=/dev/null \
-o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o IdentityAgent=none \
-o BatchMode=yes -o LogLevel=ERROR" git "$@"
		;;
	*) git "$@" ;;
	esac
}

case $op in
ls-remote)
	url=$1
	shift
	v=1
	[ "${1:-}" = --v2 ] && v=2
	trace=$(mktemp)
	trap 'rm -f "$trace"' EXIT
	out=$(GIT_TRACE_PACKET=$trace rgit -c protocol.version=$v ls-remote "$url") ||
		die "ls-remote $url failed"
	# Say which protocol the server really spoke.
	if grep -q '< version 2$' "$trace"; then echo "protocol 2"; else echo "protocol 1"; fi
	printf '%s\n' "$out" | grep -v '\^{}$' | awk '{ print $1, $2 }' | sort -k2
	;;
clone)
	url=$1 dir=$2
	shift 2
	args="" branch=main
	while [ $# -gt 0 ]; do
		case $1 in
		--branch) branch=$2; shift ;;
		--single-branch) args="$args --single-branch" ;;
		--no-tags) args="$args --no-tags" ;;
		--depth) args="$args --depth=$2"; shift ;;
		--since) args="$args --shallow-since=@$2"; shift ;;
		--exclude) args="$args --shallow-exclude=$2"; shift ;;
		*) usage ;;
		esac
		shift
	done
	# A shallow clone is single-branch unless told otherwise, as in git.
	case "$args" in
	*--single-branch*) ;;
	*--depth* | *--shallow*) args="$args --no-single-branch" ;;
	esac
	# shellcheck disable=SC2086 # $args is split on purpose
	rgit clone -q --branch "$branch" $args "$url" "$dir" || die "clone $url failed"
	;;
fetch)
	dir=$1 url=$2
	shift 2
	args="" spec='+refs/heads/*:refs/remotes/origin/*'
	while [ $# -gt 0 ]; do
		case $1 in
		--branch) spec="+refs/heads/$2:refs/remotes/origin/$2"; shift ;;
		--depth) args="$args --depth=$2"; shift ;;
		--deepen) args="$args --deepen=$2"; shift ;;
		--since) args="$args --shallow-since=@$2"; shift ;;
		--exclude) args="$args --shallow-exclude=$2"; shift ;;
		*) usage ;;
		esac
		shift
	done
	# shellcheck disable=SC2086
	rgit -C "$dir" fetch -q --no-tags $args "$url" "$spec" || die "fetch $url failed"
	;;
push)
	dir=$1 url=$2 spec=$3
	force=""
	[ "${4:-}" = --force ] && force=--force
	rgit -C "$dir" push -q $force "$url" "$spec" || die "push $spec to $url failed"
	;;
*) usage ;;
esac
