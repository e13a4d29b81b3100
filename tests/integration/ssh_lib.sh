# shellcheck shell=bash disable=SC2034 # SSH_*, KEY_FP, NEW_TOKEN are for the callers
# SSH helpers for the integration tests, on top of lib.sh. Source both:
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/ssh_lib.sh"
#   ssh_start_daemon            # start_daemon + wait for DATA/ssh.addr + keyscan
#   new_key alice ed25519       # -> $T/keys/alice (+ .pub)
#   add_key alice deploy '["staging"]' "$T/keys/alice"
#   git_ssh "$T/keys/alice" clone "$(ssh_url web)" "$T/w"
#   ssh_exec "$T/keys/alice" "git-upload-pack 'web'"   # SSH_RC SSH_OUT SSH_ERR
#
# Every connection goes to 127.0.0.1 only, with the test's own known_hosts
# and key (no agent, no user config, no password prompts).

KNOWN_HOSTS=${KNOWN_HOSTS:-}

command -v ssh >/dev/null 2>&1 || die "OpenSSH client (ssh) not installed (sh scripts/deps.sh)"
command -v ssh-keygen >/dev/null 2>&1 || die "ssh-keygen not installed"
command -v ssh-keyscan >/dev/null 2>&1 || die "ssh-keyscan not installed"

# An empty ssh config, so that no user or system config applies.
mkdir -p "$T/keys"
: >"$T/ssh_config"

# ssh_wait_addr: wait (~10 s) for DATA/ssh.addr, set SSH_ADDR and SSH_PORT.
ssh_wait_addr() {
	local i=0
	while [ $i -lt 100 ]; do
		if [ -s "$DATA/ssh.addr" ] && [ "$(tail -c 1 "$DATA/ssh.addr" | od -An -c | tr -d ' ')" = '\n' ]; then
			break
		fi
		daemon_alive || die "augerd exited before writing ssh.addr" "$(tail -n 30 "$DAEMON_LOG")"
		sleep 0.1
		i=$((i + 1))
	done
	[ $i -lt 100 ] || die "augerd did not write $DATA/ssh.addr within 10s" "$(tail -n 30 "$DAEMON_LOG")"
	SSH_ADDR=$(head -n 1 "$DATA/ssh.addr")
	case $SSH_ADDR in
	127.0.0.1:[0-9]*) ;;
	*) die "ssh.addr does not hold 127.0.0.1:PORT" "got: $SSH_ADDR" ;;
	esac
	SSH_PORT=${SSH_ADDR#*:}
}

# ssh_keyscan FILE: the daemon's host keys in known_hosts form into FILE.
ssh_keyscan() {
	local i=0
	while [ $i -lt 20 ]; do
		if ssh-keyscan -T 5 -p "$SSH_PORT" 127.0.0.1 >"$1" 2>"$T/keyscan.err" && [ -s "$1" ]; then
			return 0
		fi
		sleep 0.2
		i=$((i + 1))
	done
	return 1
}

# ssh_start_daemon [DATA_DIR]: start_daemon with SSH on a free loopback
# port; sets SSH_ADDR, SSH_PORT and KNOWN_HOSTS ($T/known_hosts).
ssh_start_daemon() {
	local d=${1:-$T/data}
	rm -f "$d/ssh.addr"	# a restart must not read the last run's port
	start_daemon "$d"
	ssh_wait_addr
	KNOWN_HOSTS=$T/known_hosts
	ssh_keyscan "$KNOWN_HOSTS" || die "ssh-keyscan -p $SSH_PORT 127.0.0.1 found no host keys" "$(cat "$T/keyscan.err")"
}

# new_key NAME [TYPE]: a fresh key pair without passphrase in $T/keys/NAME.
new_key() {
	local type=${2:-ed25519} args=()
	[ "$type" = rsa ] && args=(-b 3072)
	rm -f "$T/keys/$1" "$T/keys/$1.pub"
	ssh-keygen -q -t "$type" "${args[@]}" -N '' -C "$1@auger-test" -f "$T/keys/$1" </dev/null >/dev/null ||
		die "ssh-keygen -t $type failed"
}

# add_key NAME ROLE ENVS_JSON KEYFILE: register KEYFILE.pub via the API;
# dies unless 201. Sets KEY_FP to the fingerprint the API returned.
add_key() {
	local pub
	pub=$(cat "$4.pub") || die "no public key $4.pub"
	api POST /api/keys "{\"name\":\"$1\",\"role\":\"$2\",\"envs\":$3,\"publicKey\":\"$pub\"}"
	[ "$API_STATUS" = 201 ] || die "POST /api/keys $1 ($2) -> $API_STATUS" "$API_BODY"
	KEY_FP=$(printf '%s' "$API_BODY" | json_str fingerprint)
}

# add_token NAME ROLE ENVS_JSON: create a token via the API; sets NEW_TOKEN.
add_token() {
	api POST /api/tokens "{\"name\":\"$1\",\"role\":\"$2\",\"envs\":$3}"
	[ "$API_STATUS" = 201 ] || die "POST /api/tokens $1 ($2) -> $API_STATUS" "$API_BODY"
	NEW_TOKEN=$(printf '%s' "$API_BODY" | json_str token)
	[ -n "$NEW_TOKEN" ] || die "POST /api/tokens $1: no token in the answer" "$API_BODY"
}

# ssh_opts KEY: the OpenSSH options every test connection uses, as one line.
ssh_opts() {
	printf '%s' "-F $T/ssh_config -i $1 -o UserKnownHostsFile=$KNOWN_HOSTS -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes -o ConnectTimeout=10 -o LogLevel=ERROR -p $SSH_PORT"
}

# ssh_url NAME: the ssh:// URL of repository NAME.
ssh_url() { printf 'ssh://git@127.0.0.1:%s/%s.git' "$SSH_PORT" "$1"; }

# git_ssh KEY ARGS...: git over SSH authenticated with KEY.
git_ssh() {
	local key=$1
	shift
	GIT_SSH_COMMAND="ssh $(ssh_opts "$key")" GIT_SSH_VARIANT=ssh \
		timeout -k 5 "$CMD_TIMEOUT" git "$@"
}

# ssh_exec KEY CMD [STDIN_FILE]: run CMD as the exec request of one session
# (`ssh -T`); sets SSH_RC, SSH_OUT, SSH_ERR. CMD "" asks for a shell.
ssh_exec() {
	local key=$1 cmd=$2 in=${3:-/dev/null}
	# shellcheck disable=SC2046
	if [ -n "$cmd" ]; then
		timeout -k 5 30 ssh -T $(ssh_opts "$key") git@127.0.0.1 "$cmd" \
			<"$in" >"$T/ssh.out" 2>"$T/ssh.err"
	else
		timeout -k 5 30 ssh -T $(ssh_opts "$key") git@127.0.0.1 \
			<"$in" >"$T/ssh.out" 2>"$T/ssh.err"
	fi
	SSH_RC=$?
	SSH_OUT=$(tr -d '\0' <"$T/ssh.out")
	SSH_ERR=$(cat "$T/ssh.err")
}

# fp_of_known_hosts FILE: "TYPE FINGERPRINT" lines, sorted.
fp_of_known_hosts() {
	ssh-keygen -l -E sha256 -f "$1" 2>/dev/null | awk '{
		t = $NF; gsub(/[()]/, "", t); print t, $2 }' | sort
}

# log_has REGEX: whether the daemon log has a matching line.
log_has() { grep -Eq -- "$1" "$DAEMON_LOG"; }

# log_count REGEX: how many daemon log lines match.
log_count() { grep -Ec -- "$1" "$DAEMON_LOG"; }
