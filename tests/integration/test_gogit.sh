#!/usr/bin/env bash
# go-git (the library inside Flux's source-controller) against auger over
# HTTP, protocol v0: remote.List, then a depth-1 single-branch clone with
# NoTags and Basic auth, exactly as Flux does it.
. "$(dirname "$0")/lib.sh"

need_interop
start_daemon
create_repo gitops

W=$T/work
new_work "$W" gitops || die "git init"
commit_files "$W" "one" "clusters/prod/kustomization.yaml=resources: []" "README.md=gitops" || die "commit"
commit_files "$W" "two" "apps/web/deployment.yaml=kind: Deployment" || die "commit"
printf '\0\1binary\377\n' >"$W/apps/web/blob.bin"
commit_files "$W" "three" "apps/web/service.yaml=kind: Service" "apps/api/deployment.yaml=kind: Deployment" || die "commit"
git -C "$W" tag -a v1 -m "v1" HEAD~1 || die "tag"
git -C "$W" branch staging HEAD~1 || die "branch"
out=$(g -C "$W" push origin main staging v1 2>&1) || die "push" "$out"
TIP=$(git -C "$W" rev-parse main)

gg() { AUGER_USER=${GG_USER:-flux} AUGER_TOKEN=${GG_TOKEN-$TOKEN} timeout -k 5 "$CMD_TIMEOUT" "$GOGIT_CLIENT" "$@"; }

# ---------------------------------------------------------------- ls-refs
if out=$(gg ls-refs "$URL/gitops.git" 2>&1); then
	ok "go-git remote.List"
	want=$(server_git gitops for-each-ref --format='%(objectname) %(refname)' | sort -k2)
	got=$(printf '%s\n' "$out" | grep -v ' HEAD$' | sort -k2)
	check_eq "go-git remote.List: refs equal the server's" "$want" "$got"
	head_line=$(printf '%s\n' "$out" | grep ' HEAD$')
	if [ "$head_line" = "-> refs/heads/main HEAD" ] || [ "$head_line" = "$TIP HEAD" ]; then
		ok "go-git remote.List: HEAD is main ($head_line)"
	else
		fail "go-git remote.List: HEAD is main" "got: $head_line"
	fi
else
	fail "go-git remote.List" "$out"
fi
out=$(GG_TOKEN=wrong gg ls-refs "$URL/gitops.git" 2>&1)
check_match "go-git remote.List with a wrong token: authentication error" 'authentication required|authorization failed|401' "$out"

# ---------------------------------------------------------------- Flux's clone
C=$T/flux-clone
if out=$(gg clone "$URL/gitops.git" "$C" --depth 1 --branch main 2>&1); then
	ok "go-git clone, Flux pattern (depth 1, single branch, no tags)"
	check_eq "go-git clone: listed tip" "listed $TIP" "$(printf '%s\n' "$out" | grep '^listed ')"
	check_eq "go-git clone: HEAD" "HEAD $TIP" "$(printf '%s\n' "$out" | grep '^HEAD ')"
	check_eq "go-git clone: git rev-parse HEAD" "$TIP" "$(git -C "$C" rev-parse HEAD 2>&1)"
	check "go-git clone: checked-out files equal the pushed tree" tree_diff "$W" "$C"
	check "go-git clone: binary file intact" cmp -s "$W/apps/web/blob.bin" "$C/apps/web/blob.bin"
	check_eq "go-git clone: .git/shallow names the tip" "$TIP" "$(cat "$C/.git/shallow" 2>&1)"
	check_eq "go-git clone: one commit of history" 1 "$(git -C "$C" rev-list --count HEAD 2>&1)"
	check_eq "go-git clone: no tags fetched" "" "$(git -C "$C" tag -l 2>&1)"
	check "go-git clone: git fsck clean" git -C "$C" fsck --no-dangling
else
	fail "go-git clone, Flux pattern (depth 1, single branch, no tags)" "$out"
fi

C=$T/flux-staging
if out=$(gg clone "$URL/gitops.git" "$C" --depth 1 --branch staging 2>&1); then
	ok "go-git clone of branch staging"
	check_eq "go-git clone of staging: HEAD" "$(git -C "$W" rev-parse staging)" "$(git -C "$C" rev-parse HEAD 2>&1)"
	check_eq "go-git clone of staging: no service.yaml yet" "" "$(ls "$C/apps/web/service.yaml" 2>/dev/null)"
else
	fail "go-git clone of branch staging" "$out"
fi

C=$T/full-clone
if out=$(gg clone "$URL/gitops.git" "$C" --branch main --tags 2>&1); then
	ok "go-git full clone with tags"
	check_eq "go-git full clone: history" 3 "$(git -C "$C" rev-list --count HEAD 2>&1)"
	check_eq "go-git full clone: tag v1" "$(git -C "$W" rev-parse v1)" "$(git -C "$C" rev-parse -q --verify refs/tags/v1 2>&1)"
	check "go-git full clone: git fsck clean" git -C "$C" fsck --no-dangling
else
	fail "go-git full clone with tags" "$out"
fi

# New commit: the next Flux reconcile sees and fetches it.
commit_files "$W" "four" "apps/web/configmap.yaml=kind: ConfigMap" || die "commit"
out=$(g -C "$W" push origin main 2>&1) || die "push" "$out"
TIP2=$(git -C "$W" rev-parse main)
C=$T/flux-clone-2
if out=$(gg clone "$URL/gitops.git" "$C" --depth 1 --branch main 2>&1); then
	check_eq "go-git clone after a push: HEAD is the new tip" "$TIP2" "$(git -C "$C" rev-parse HEAD 2>&1)"
	check "go-git clone after a push: files" tree_diff "$W" "$C"
else
	fail "go-git clone after a push" "$out"
fi

# A read-only token (what Flux is given) can clone a gitops repository of
# its envs ("gitops-<env>-apps"), and cannot push.
api POST /api/tokens '{"name":"flux","role":"read","envs":["*"]}'
check_eq "POST /api/tokens read: 201" 201 "$API_STATUS"
RTOK=$(printf '%s' "$API_BODY" | json_str token)
create_repo gitops-prod-apps
R=$T/work-gitops
new_work "$R" gitops-prod-apps || die "git init"
commit_files "$R" "readme" "README.md=the prod apps" || die "commit"
if out=$(g -C "$R" push origin main 2>&1) && [ -n "$RTOK" ]; then
	RTIP=$(git -C "$R" rev-parse HEAD)
	C=$T/flux-read
	if out=$(GG_TOKEN=$RTOK gg clone "$URL/gitops-prod-apps.git" "$C" --depth 1 --branch main 2>&1); then
		check_eq "go-git clone of gitops-prod-apps with a read token" "$RTIP" "$(git -C "$C" rev-parse HEAD 2>&1)"
	else
		fail "go-git clone of gitops-prod-apps with a read token" "$out"
	fi
	commit_files "$R" "by reader" "x.txt=x" || die "commit"
	out=$(git_as "$RTOK" -C "$R" push origin main 2>&1)
	if [ $? -ne 0 ] && [ "$(server_ref gitops-prod-apps refs/heads/main)" = "$RTIP" ]; then ok "push with a read token refused"; else fail "push with a read token refused" "$out"; fi
else
	fail "read token section: setup (admin push of a README to gitops-prod-apps, read token)" "$out" "token: $RTOK"
fi

# Wrong credentials: clone fails, nothing checked out.
C=$T/flux-bad
out=$(GG_TOKEN=wrong gg clone "$URL/gitops.git" "$C" --depth 1 --branch main 2>&1)
check_match "go-git clone with a wrong token fails with an auth error" 'authentication required|authorization failed|401' "$out"

# go-git over SSH is exercised in test_ssh.sh (it uses this client too).

check "daemon alive" daemon_alive
stop_daemon
check_eq "SIGTERM: clean exit (status 0)" 0 "$?"
finish
