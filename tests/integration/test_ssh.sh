#!/usr/bin/env bash
# The SSH endpoint with OpenSSH's ssh and the git CLI (and go-git when its
# client is built): host keys (keyscan = API, kept across a restart), push,
# clone over protocol v0 and v2, shallow clone, incremental fetch, branch
# deletion, the exec command forms, refused commands, the shell refusal,
# unknown keys, and 20 SSH clones concurrent with 20 HTTP clones.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ssh_lib.sh"

# The 20 concurrent SSH clones below all come from 127.0.0.1: more than the
# default startup limits let log in at once (10 per address, random drops
# beyond 10, as OpenSSH). Lift them here; test_ssh_gate.sh tests the gate.
AUGERD_ARGS="$AUGERD_ARGS --ssh-max-startups 64:30:100 --ssh-max-startups-per-addr 64"

ssh_start_daemon

# ---------------------------------------------------------------- host keys
check_match "ssh.addr holds 127.0.0.1:PORT" '^127\.0\.0\.1:[0-9]+$' "$(cat "$DATA/ssh.addr")"
check_eq "host key ssh/host_ed25519 has mode 0600" 600 "$(stat -c %a "$DATA/ssh/host_ed25519" 2>&1)"
check_eq "host key ssh/host_ecdsa has mode 0600" 600 "$(stat -c %a "$DATA/ssh/host_ecdsa" 2>&1)"

api GET /api/ssh
check_eq "GET /api/ssh: 200" 200 "$API_STATUS"
check_eq "GET /api/ssh: address is ssh.addr" "$SSH_ADDR" "$(printf '%s' "$API_BODY" | json_str address)"
scan_keys=$(awk '{ print $2, $3 }' "$KNOWN_HOSTS" | sort)
api_keys=$(printf '%s' "$API_BODY" | jq -r '.hostKeys[] | "\(.type) \(.publicKey)"' 2>&1 | sort)
check_eq "GET /api/ssh: host keys equal what ssh-keyscan sees" "$scan_keys" "$api_keys"
scan_fps=$(ssh-keygen -l -E sha256 -f "$KNOWN_HOSTS" 2>&1 | awk '{ print $2 }' | sort)
api_fps=$(printf '%s' "$API_BODY" | jq -r '.hostKeys[].fingerprint' 2>&1 | sort)
check_eq "GET /api/ssh: fingerprints equal ssh-keyscan's" "$scan_fps" "$api_fps"
check_eq "two host keys (ed25519, ecdsa)" "ecdsa-sha2-nistp256 ssh-ed25519" "$(awk '{ print $2 }' "$KNOWN_HOSTS" | sort | tr '\n' ' ' | sed 's/ $//')"

# ---------------------------------------------------------------- keys
new_key ci ed25519
add_key ci admin '["*"]' "$T/keys/ci"
CI=$T/keys/ci
check_eq "POST /api/keys fingerprint equals ssh-keygen's" \
	"$(ssh-keygen -l -E sha256 -f "$CI.pub" | awk '{ print $2 }')" "$KEY_FP"
create_repo demo

# ---------------------------------------------------------------- push over SSH
W=$T/work
{ git init -q -b main "$W" && git -C "$W" remote add origin "$(ssh_url demo)"; } || die "git init"
commit_files "$W" "first" "README.md=hello" "src/main.c=int main(void){return 0;}" || die "commit"
printf '\0\1\2\3binary\377' >"$W/blob.bin"
commit_files "$W" "second" "docs/guide.md=guide v1" || die "commit"
commit_files "$W" "third" "README.md=hello again" || die "commit"
if out=$(git_ssh "$CI" -C "$W" push origin main 2>&1); then
	ok "push over SSH (git-receive-pack)"
else
	die "push over SSH (git-receive-pack)" "$out"
fi
TIP=$(git -C "$W" rev-parse HEAD)
check_eq "server main after SSH push" "$TIP" "$(server_ref demo refs/heads/main)"
check "server repository fsck clean after SSH push" server_git demo fsck --no-dangling
check_match "daemon log: the push by ci" 'ssh 127\.0\.0\.1 git-receive-pack demo by ci: ok' "$(cat "$DAEMON_LOG")"

# ---------------------------------------------------------------- clone v0 / v2
for v in 0 2; do
	C=$T/clone-v$v
	if out=$(GIT_TRACE_PACKET="$T/trace-clone-v$v" git_ssh "$CI" -c protocol.version=$v clone -q "$(ssh_url demo)" "$C" 2>&1); then
		ok "SSH clone with protocol.version=$v"
		check_eq "SSH clone v$v: HEAD equals pushed tip" "$TIP" "$(git -C "$C" rev-parse HEAD 2>&1)"
		check "SSH clone v$v: files equal the pushed tree" tree_diff "$W" "$C"
		check_eq "SSH clone v$v: full history" 3 "$(git -C "$C" rev-list --count HEAD 2>&1)"
		check "SSH clone v$v: fsck clean" git -C "$C" fsck --no-dangling
	else
		fail "SSH clone with protocol.version=$v" "$out"
	fi
done
if grep -q '< version 2' "$T/trace-clone-v2" 2>/dev/null; then
	ok "SSH clone v2 negotiated protocol v2"
else
	fail "SSH clone v2 negotiated protocol v2" "no '< version 2' in the packet trace" "$(head -n 5 "$T/trace-clone-v2" 2>&1)"
fi
if grep -q '> command=fetch' "$T/trace-clone-v2" 2>/dev/null; then ok "SSH clone v2 used command=fetch"; else fail "SSH clone v2 used command=fetch" "$(grep -c . "$T/trace-clone-v2" 2>&1) trace lines"; fi
if grep -q '< version 2' "$T/trace-clone-v0" 2>/dev/null; then fail "SSH clone v0 stayed on protocol v0" "server answered version 2"; else ok "SSH clone v0 stayed on protocol v0"; fi

# GIT_PROTOCOL through the raw SSH env request, without git.
printf '0000' >"$T/flush"
# shellcheck disable=SC2046
out=$(timeout 30 ssh -T $(ssh_opts "$CI") -o SetEnv=GIT_PROTOCOL=version=2 git@127.0.0.1 "git-upload-pack 'demo'" <"$T/flush" 2>&1 | head -c 14)
check_eq "exec with env GIT_PROTOCOL=version=2 answers '000eversion 2'" "000eversion 2" "$out"

# ---------------------------------------------------------------- shallow
for v in 0 2; do
	S=$T/shallow-v$v
	if out=$(git_ssh "$CI" -c protocol.version=$v clone -q --depth 1 "$(ssh_url demo)" "$S" 2>&1); then
		ok "SSH clone --depth 1 (v$v)"
		check_eq "SSH clone --depth 1 (v$v): .git/shallow names the tip" "$TIP" "$(cat "$S/.git/shallow" 2>&1)"
		check_eq "SSH clone --depth 1 (v$v): one commit" 1 "$(git -C "$S" rev-list --count HEAD 2>&1)"
		check "SSH clone --depth 1 (v$v): files equal the pushed tree" tree_diff "$W" "$S"
	else
		fail "SSH clone --depth 1 (v$v)" "$out"
	fi
done

# ---------------------------------------------------------------- incremental fetch
commit_files "$W" "fourth" "src/lib.c=int lib;" || die "commit"
commit_files "$W" "fifth" "docs/guide.md=guide v2" || die "commit"
out=$(git_ssh "$CI" -C "$W" push origin main 2>&1) || die "second SSH push" "$out"
TIP2=$(git -C "$W" rev-parse HEAD)
check_eq "server main after the fast-forward SSH push" "$TIP2" "$(server_ref demo refs/heads/main)"
for v in 0 2; do
	C=$T/clone-v$v
	[ -d "$C" ] || continue
	if out=$(GIT_TRACE_PACKET="$T/trace-fetch-v$v" git_ssh "$CI" -C "$C" -c protocol.version=$v fetch origin 2>&1); then
		ok "SSH incremental fetch (v$v)"
		check_eq "SSH incremental fetch (v$v): origin/main is the new tip" "$TIP2" "$(git -C "$C" rev-parse origin/main 2>&1)"
		if grep -q "< ACK $TIP" "$T/trace-fetch-v$v"; then
			ok "SSH incremental fetch (v$v): server acknowledged the common commit"
		else
			fail "SSH incremental fetch (v$v): server acknowledged the common commit" "$(grep -E 'have|ACK|NAK' "$T/trace-fetch-v$v" | head -n 10)"
		fi
		check "SSH incremental fetch (v$v): fsck clean" git -C "$C" fsck --no-dangling
	else
		fail "SSH incremental fetch (v$v)" "$out"
	fi
done
# Deepen the shallow clone over SSH.
S=$T/shallow-v2
if [ -d "$S" ] && out=$(git_ssh "$CI" -C "$S" -c protocol.version=2 fetch -q --unshallow 2>&1); then
	ok "SSH fetch --unshallow"
	check_eq "SSH fetch --unshallow: full history" 5 "$(git -C "$S" rev-list --count origin/main 2>&1)"
else
	fail "SSH fetch --unshallow" "${out:-no shallow clone}"
fi

# ---------------------------------------------------------------- branches
git -C "$W" branch feature HEAD~2 || die "branch"
out=$(git_ssh "$CI" -C "$W" push origin feature 2>&1)
check_eq "SSH push of a new branch" "$(git -C "$W" rev-parse feature)" "$(server_ref demo refs/heads/feature)"
got=$(git_ssh "$CI" -c protocol.version=2 ls-remote "$(ssh_url demo)" 2>&1)
check_eq "SSH ls-remote (v2) equals the server's refs" "$(git ls-remote "$DATA/repos/demo.git" 2>&1)" "$got"
got=$(git_ssh "$CI" -c protocol.version=0 ls-remote "$(ssh_url demo)" 2>&1)
check_eq "SSH ls-remote (v0) equals the server's refs" "$(git ls-remote "$DATA/repos/demo.git" 2>&1)" "$got"
if out=$(git_ssh "$CI" -C "$W" push origin --delete feature 2>&1); then
	ok "SSH push --delete feature"
	check_eq "feature is gone on the server" "" "$(server_ref demo refs/heads/feature)"
	got=$(git_ssh "$CI" ls-remote "$(ssh_url demo)" refs/heads/feature 2>&1)
	check_eq "SSH ls-remote no longer lists feature" "" "$got"
else
	fail "SSH push --delete feature" "$out"
fi
check_eq "main untouched by the branch deletion" "$TIP2" "$(server_ref demo refs/heads/main)"

# ---------------------------------------------------------------- command forms
# The v0 advertisement's first line names main's tip; a flush ends the session.
for form in "git-upload-pack 'demo'" "git upload-pack 'demo'" "git-upload-pack '/demo.git'" \
	"git upload-pack /demo.git" "git-upload-pack demo"; do
	ssh_exec "$CI" "$form" "$T/flush"
	if [ "$SSH_RC" = 0 ] && printf '%s' "$SSH_OUT" | head -c 200 | grep -q "$TIP2"; then
		ok "exec \"$form\": advertisement, exit 0"
	else
		fail "exec \"$form\": advertisement, exit 0" "rc=$SSH_RC" "stdout: ${SSH_OUT:0:200}" "stderr: $SSH_ERR"
	fi
done
for form in "git-receive-pack 'demo'" "git receive-pack '/demo.git'"; do
	ssh_exec "$CI" "$form" "$T/flush"
	if [ "$SSH_RC" = 0 ] && printf '%s' "$SSH_OUT" | grep -q "$TIP2 refs/heads/main" &&
		printf '%s' "$SSH_OUT" | head -c 300 | grep -q 'report-status'; then
		ok "exec \"$form\": receive advertisement, exit 0"
	else
		fail "exec \"$form\": receive advertisement, exit 0" "rc=$SSH_RC" "stdout: ${SSH_OUT:0:400}" "stderr: $SSH_ERR"
	fi
done
check_eq "the empty pushes changed nothing" "$TIP2" "$(server_ref demo refs/heads/main)"

# ---------------------------------------------------------------- refused commands
# CMD | expected exit | stderr regex
refused() {
	local cmd=$1 want=$2 re=$3
	rm -f "$T/pwned"
	ssh_exec "$CI" "$cmd" "$T/flush"
	if [ "$SSH_RC" = "$want" ] && printf '%s' "$SSH_ERR" | grep -Eq -- "$re" && [ -z "$SSH_OUT" ] && [ ! -e "$T/pwned" ]; then
		ok "refused \"${cmd:0:50}\": exit $want, message on stderr, no output"
	else
		fail "refused \"${cmd:0:50}\": exit $want, message on stderr, no output" \
			"command: ssh -T ... git@127.0.0.1 \"$cmd\"" "expected: exit $want, stderr matching /$re/, empty stdout" \
			"got: exit $SSH_RC" "stdout: ${SSH_OUT:0:300}" "stderr: $SSH_ERR"
	fi
}
refused "ls" 128 '^auger: .*(not allowed|only)'
refused "ls -la /" 128 '^auger: '
refused "git-upload-pack '../x'" 128 '^auger: .*\.\.'
refused "git-upload-pack '--help'" 128 '^auger: '
refused "git-upload-pack '/abs/../../etc'" 128 '^auger: '
refused "git-upload-archive 'demo'" 128 '^auger: '
refused "git-upload-pack 'demo';touch $T/pwned" 128 '^auger: '
refused "git-upload-pack demo;touch $T/pwned" 128 '^auger: '
refused "touch $T/pwned" 128 '^auger: '
refused "git-upload-pack \$(touch $T/pwned)" 128 '^auger: '
refused "git-upload-pack 'nope'" 1 '^auger: .*nope.*not found'
refused "git-receive-pack 'nope'" 1 '^auger: .*nope.*not found'
check "no repository 'nope' was created by asking for it" test ! -e "$DATA/repos/nope.git"
check_match "daemon log: a refused command is logged" 'refused command' "$(cat "$DAEMON_LOG")"
if git_ssh "$CI" clone -q "$(ssh_url nope)" "$T/nope" >"$T/nope.out" 2>&1; then
	fail "git clone of an unknown repository over SSH fails"
else
	check_match "git clone of an unknown repository over SSH fails with the server's message" 'auger: .*not found' "$(cat "$T/nope.out")"
fi

# ---------------------------------------------------------------- shell, pty, subsystem
ssh_exec "$CI" ""
if [ "$SSH_RC" != 0 ] && [ "$SSH_RC" != 255 ] && printf '%s' "$SSH_ERR$SSH_OUT" | grep -q 'Hi ci!.*no shell'; then
	ok "shell request: friendly refusal ('Hi ci! ... no shell'), exit $SSH_RC"
else
	fail "shell request: friendly refusal" "command: ssh -T ... git@127.0.0.1" "rc=$SSH_RC" "stdout: $SSH_OUT" "stderr: $SSH_ERR"
fi
# shellcheck disable=SC2046
out=$(timeout 30 ssh -T $(ssh_opts "$CI") -s git@127.0.0.1 sftp </dev/null 2>&1)
rc=$?
if [ $rc != 0 ]; then ok "sftp subsystem refused (exit $rc)"; else fail "sftp subsystem refused" "$out"; fi
# shellcheck disable=SC2046
out=$(timeout 30 ssh -T $(ssh_opts "$CI") -o ExitOnForwardFailure=yes -N -L "127.0.0.1:0:127.0.0.1:${ADDR#*:}" git@127.0.0.1 </dev/null 2>&1)
rc=$?
if [ $rc != 0 ]; then ok "port forwarding refused (exit $rc)"; else fail "port forwarding refused" "$out"; fi
check "daemon alive after the refusals" daemon_alive

# ---------------------------------------------------------------- unknown keys, users
new_key stranger ed25519
ssh_exec "$T/keys/stranger" "git-upload-pack 'demo'" "$T/flush"
if [ "$SSH_RC" = 255 ] && printf '%s' "$SSH_ERR" | grep -q 'Permission denied (publickey)' && [ -z "$SSH_OUT" ]; then
	ok "unknown key refused: Permission denied (publickey)"
else
	fail "unknown key refused" "rc=$SSH_RC" "stdout: ${SSH_OUT:0:200}" "stderr: $SSH_ERR"
fi
check_not "git clone with an unknown key fails" git_ssh "$T/keys/stranger" clone -q "$(ssh_url demo)" "$T/stranger"
check "git clone with an unknown key left no directory" test ! -e "$T/stranger/.git/objects/pack/"'*.pack'
# shellcheck disable=SC2046
out=$(timeout 30 ssh -T $(ssh_opts "$CI") root@127.0.0.1 "git-upload-pack 'demo'" </dev/null 2>&1)
rc=$?
if [ $rc = 255 ] && printf '%s' "$out" | grep -q 'Permission denied'; then ok "a known key as user root (not git) is refused"; else fail "a known key as user root (not git) is refused" "rc=$rc" "$out"; fi
# shellcheck disable=SC2046
out=$(timeout 30 ssh -T $(ssh_opts "$CI") -o PubkeyAuthentication=no -o PreferredAuthentications=password,keyboard-interactive git@127.0.0.1 true </dev/null 2>&1)
rc=$?
if [ $rc = 255 ] && printf '%s' "$out" | grep -q 'Permission denied (publickey)'; then ok "password auth not offered (publickey only)"; else fail "password auth not offered (publickey only)" "rc=$rc" "$out"; fi
# A host key the client does not know: strict checking refuses (the key is real).
: >"$T/empty_kh"
# shellcheck disable=SC2046
out=$(timeout 30 ssh -T $(ssh_opts "$CI" | sed "s#UserKnownHostsFile=[^ ]*#UserKnownHostsFile=$T/empty_kh#") git@127.0.0.1 "git-upload-pack 'demo'" </dev/null 2>&1)
check_match "an empty known_hosts fails host key verification" 'Host key verification failed' "$out"

# ---------------------------------------------------------------- concurrency
# 20 SSH clones and 20 HTTP clones at once.
pids=()
for i in $(seq 1 20); do
	(GIT_SSH_COMMAND="ssh $(ssh_opts "$CI")" timeout -k 5 60 git clone -q "$(ssh_url demo)" "$T/cc/ssh-$i" >"$T/cc-ssh-$i.log" 2>&1; echo $? >"$T/cc-ssh-$i.rc") &
	pids+=($!)
	(timeout -k 5 60 git -c "http.extraHeader=Authorization: Bearer $TOKEN" clone -q "$URL/demo.git" "$T/cc/http-$i" >"$T/cc-http-$i.log" 2>&1; echo $? >"$T/cc-http-$i.rc") &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
for kind in ssh http; do
	good=0 bad=""
	for i in $(seq 1 20); do
		if [ "$(cat "$T/cc-$kind-$i.rc" 2>/dev/null)" = 0 ] && [ "$(git -C "$T/cc/$kind-$i" rev-parse HEAD 2>/dev/null)" = "$TIP2" ]; then
			good=$((good + 1))
		else
			bad="$bad
$kind-$i: rc=$(cat "$T/cc-$kind-$i.rc" 2>/dev/null) $(head -c 300 "$T/cc-$kind-$i.log" 2>/dev/null)"
		fi
	done
	if [ $good = 20 ]; then ok "20 concurrent $kind clones (with 20 of the other kind) all succeeded"; else fail "20 concurrent $kind clones all succeeded: $good/20" "$bad"; fi
done
rm -rf "$T/cc"
check "daemon alive after the concurrent clones" daemon_alive

# ---------------------------------------------------------------- go-git over SSH
if [ -x "$GOGIT_CLIENT" ] && grep -aq AUGER_SSH_KEY "$GOGIT_CLIENT" 2>/dev/null; then
	new_key gogit-ed ed25519
	add_key gogit-ed read '["*"]' "$T/keys/gogit-ed"
	new_key gogit-rsa rsa
	add_key gogit-rsa admin '["*"]' "$T/keys/gogit-rsa"
	for k in gogit-ed gogit-rsa; do
		# gogit-ed is a read key: it may fetch gitops repos only.
		repo=demo
		if [ $k = gogit-ed ]; then
			create_repo gitops-staging-apps
			out=$(git_ssh "$CI" -C "$W" push -q "$(ssh_url gitops-staging-apps)" main 2>&1) || die "push gitops-staging-apps" "$out"
			repo=gitops-staging-apps
		fi
		if out=$(AUGER_SSH_KEY="$T/keys/$k" AUGER_KNOWN_HOSTS="$KNOWN_HOSTS" timeout -k 5 60 "$GOGIT_CLIENT" clone "$(ssh_url $repo)" "$T/gogit-$k" --depth 1 2>&1); then
			check_match "go-git SSH clone with $k ($([ $k = gogit-rsa ] && echo RSA || echo ed25519) key)" "HEAD $TIP2" "$out"
		else
			fail "go-git SSH clone with $k ($([ $k = gogit-rsa ] && echo RSA || echo ed25519) key)" "$out"
		fi
	done
	out=$(AUGER_SSH_KEY="$T/keys/gogit-rsa" AUGER_KNOWN_HOSTS="$KNOWN_HOSTS" timeout -k 5 60 "$GOGIT_CLIENT" ls-refs "$(ssh_url demo)" 2>&1)
	check_match "go-git SSH ls-refs lists main" "^$TIP2 refs/heads/main$" "$out"
	out=$(AUGER_SSH_KEY="$T/keys/stranger" AUGER_KNOWN_HOSTS="$KNOWN_HOSTS" timeout -k 5 60 "$GOGIT_CLIENT" ls-refs "$(ssh_url demo)" 2>&1)
	rc=$?
	if [ $rc != 0 ]; then ok "go-git with an unknown key fails"; else fail "go-git with an unknown key fails" "$out"; fi
else
	echo "SKIP go-git SSH clone: $GOGIT_CLIENT missing or without ssh support (bash tests/interop/build.sh)"
fi

# ---------------------------------------------------------------- restart
cp "$KNOWN_HOSTS" "$T/known_hosts.before"
fps_before=$(fp_of_known_hosts "$T/known_hosts.before")
ed_before=$(sha256sum <"$DATA/ssh/host_ed25519")
ec_before=$(sha256sum <"$DATA/ssh/host_ecdsa")
stop_daemon
rc=$?
check_eq "augerd exits 0 on SIGTERM" 0 "$rc"
ssh_start_daemon "$DATA"
check_eq "host key files unchanged by a restart" "$ed_before $ec_before" "$(sha256sum <"$DATA/ssh/host_ed25519") $(sha256sum <"$DATA/ssh/host_ecdsa")"
check_eq "host key fingerprints identical after a restart" "$fps_before" "$(fp_of_known_hosts "$KNOWN_HOSTS")"
api GET /api/ssh
check_eq "GET /api/ssh after restart: same fingerprints" "$(printf '%s\n' "$fps_before" | awk '{ print $2 }' | sort)" \
	"$(printf '%s' "$API_BODY" | jq -r '.hostKeys[].fingerprint' 2>&1 | sort)"
# The old known_hosts, moved to the new port, still verifies the daemon.
sed "s/^\[127\.0\.0\.1\]:[0-9]*/[127.0.0.1]:$SSH_PORT/" "$T/known_hosts.before" >"$T/known_hosts.moved"
KNOWN_HOSTS=$T/known_hosts.moved
if out=$(git_ssh "$CI" clone -q "$(ssh_url demo)" "$T/after-restart" 2>&1); then
	ok "SSH clone after restart with the pre-restart known_hosts (key still registered)"
	check_eq "clone after restart: HEAD" "$TIP2" "$(git -C "$T/after-restart" rev-parse HEAD 2>&1)"
else
	fail "SSH clone after restart with the pre-restart known_hosts" "$out"
fi

finish
