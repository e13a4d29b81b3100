#!/usr/bin/env bash
# Flux's request, byte for byte (tests/interop/fluxbytes): GET info/refs, then
# one POST git-upload-pack with want+caps, deepen 1, flush, done. The reply
# must be: shallow <tip>, flush, exactly one NAK, the pack on band 1, flush,
# nothing after. The pack must be accepted by `git index-pack --stdin` and
# hold the tip but not its parent.
. "$(dirname "$0")/lib.sh"

need_interop
start_daemon
create_repo fluxy

W=$T/work
new_work "$W" fluxy || die "git init"
commit_files "$W" "one" "apps/web/deployment.yaml=kind: Deployment" "README=one" || die "commit"
commit_files "$W" "two" "apps/web/service.yaml=kind: Service" || die "commit"
commit_files "$W" "three" "apps/web/deployment.yaml=kind: Deployment # v3" || die "commit"
out=$(g -C "$W" push origin main 2>&1) || die "push" "$out"
git -C "$W" branch other HEAD~1
out=$(g -C "$W" push origin other 2>&1) || die "push" "$out"
TIP=$(git -C "$W" rev-parse HEAD)
PARENT=$(git -C "$W" rev-parse HEAD~1)

# run_flux LABEL EXPECTED-TIP FLUXBYTES-ARGS...
run_flux() {
	local label=$1 want=$2 line out rc
	shift 2
	out=$(AUGER_USER=git AUGER_TOKEN=$TOKEN timeout -k 5 60 "$FLUXBYTES" "$@" 2>&1)
	rc=$?
	while IFS= read -r line; do
		case $line in
		PASS\ *) ok "$label: ${line#PASS }" ;;
		FAIL\ *) fail "$label: ${line#FAIL }" ;;
		NOTE\ *) echo "note $label: ${line#NOTE }" ;;
		esac
	done <<<"$out"
	check_eq "$label: fluxbytes exit status" 0 "$rc"
	if [ $rc -ne 0 ]; then
		printf '%s\n' "$out" | grep -q '^FAIL ' || printf '%s\n' "$out" | sed 's/^/       | /'
		return 1
	fi
	check_eq "$label: tip learned from info/refs" "TIP $want" "$(printf '%s\n' "$out" | grep '^TIP ')"
	return 0
}

# index_pack LABEL PACK TIP PARENT
index_pack() {
	local label=$1 pack=$2 tip=$3 parent=$4 s
	s=$(mktemp -d "$T/scratch.XXXXXX")
	git init -q "$s"
	if out=$(git -C "$s" index-pack --stdin <"$pack" 2>&1); then
		ok "$label: git index-pack --stdin accepts the pack"
		check_eq "$label: the pack holds the tip commit" commit "$(git -C "$s" cat-file -t "$tip" 2>&1)"
		check "$label: the pack holds the tip's whole tree" git -C "$s" ls-tree -r "$tip"
		check_not "$label: the pack does not hold the tip's parent (deepen 1)" git -C "$s" cat-file -e "$parent"
		# Make the scratch repo shallow at the tip; then it must be complete.
		echo "$tip" >"$s/.git/shallow"
		git -C "$s" update-ref refs/heads/main "$tip"
		check "$label: shallow repo at the tip passes fsck" git -C "$s" fsck --no-dangling
	else
		fail "$label: git index-pack --stdin accepts the pack" "$out"
	fi
}

if run_flux "flux request" "$TIP" "$URL/fluxy.git" "$T/flux.pack"; then
	index_pack "flux request" "$T/flux.pack" "$TIP" "$PARENT"
fi
if run_flux "flux request without multi_ack_detailed" "$TIP" --no-multi-ack "$URL/fluxy.git" "$T/flux2.pack"; then
	index_pack "flux request without multi_ack_detailed" "$T/flux2.pack" "$TIP" "$PARENT"
fi
OTHER=$(git -C "$W" rev-parse other)
if run_flux "flux request for branch other" "$OTHER" --ref refs/heads/other "$URL/fluxy.git" "$T/flux3.pack"; then
	index_pack "flux request for branch other" "$T/flux3.pack" "$OTHER" "$(git -C "$W" rev-parse other~1)"
fi

# The same request twice gives a pack with the same objects (the fetch
# cache must not corrupt or truncate it).
pack_objects() { # PACK: the sorted object ids in PACK
	local s; s=$(mktemp -d "$T/objs.XXXXXX")
	git init -q "$s" && git -C "$s" index-pack --stdin <"$1" >/dev/null 2>&1 &&
		git -C "$s" cat-file --batch-all-objects --batch-check='%(objectname) %(objecttype)'
}
if [ -s "$T/flux.pack" ]; then
	if run_flux "flux request, repeated" "$TIP" "$URL/fluxy.git" "$T/flux-again.pack"; then
		a=$(pack_objects "$T/flux.pack")
		b=$(pack_objects "$T/flux-again.pack")
		if [ -n "$a" ] && [ "$a" = "$b" ]; then ok "repeated flux request: same objects in the pack"; else fail "repeated flux request: same objects in the pack" "first: $a" "again: $b"; fi
	fi
fi

# After a push the request must see the new tip (no stale cache).
commit_files "$W" "four" "apps/web/configmap.yaml=kind: ConfigMap" || die "commit"
out=$(g -C "$W" push origin main 2>&1) || die "push" "$out"
TIP2=$(git -C "$W" rev-parse HEAD)
if run_flux "flux request after a push" "$TIP2" "$URL/fluxy.git" "$T/flux4.pack"; then
	index_pack "flux request after a push" "$T/flux4.pack" "$TIP2" "$TIP"
fi

# Wrong credentials: 401, no pack.
out=$(AUGER_USER=git AUGER_TOKEN=wrong timeout -k 5 60 "$FLUXBYTES" "$URL/fluxy.git" "$T/nope.pack" 2>&1)
check_match "flux request with a wrong token: 401" 'status 200: got 401' "$out"

check "daemon alive" daemon_alive
stop_daemon
check_eq "SIGTERM: clean exit (status 0)" 0 "$?"
finish
