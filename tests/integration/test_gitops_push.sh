#!/usr/bin/env bash
# Direct pushes to a gitops apps repository go through the validating chain
# before any ref moves: validate-yaml, validate-k8s, policy (--config), then
# the external hooks in DATA/hooks/validate.d/. A refusal leaves the ref and
# the object store as they were; an accepted push that changes app folders
# is recorded as releases (triggeredBy = the credential's name).
#   bash tests/integration/test_gitops_push.sh
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/push_lib.sh"

cp "$PUSH_FIX/config.yaml" "$T/config.yaml"
# shellcheck disable=SC2034 # read by start_daemon (lib.sh)
AUGERD_ARGS="--config $T/config.yaml"
# Hooks get a clean environment: this must not reach them.
export AUGER_TEST_CANARY="canary-$$"
start_daemon
ok "augerd starts with --config (the documented shape)"
pl_env staging
pl_env production
OPS=$(pl_token ops-staging deploy staging)
OPSP=$(pl_token ops-production deploy production)

GS=$T/gs
pl_clone_gitops staging "$GS" "$OPS"

# refused DESC STAGE-REGEX MSG-REGEX [REPO]: the last push was refused by
# STAGE with MSG on the terminal; the ref and the object count are unchanged
# (compared with R0 / O0, taken before the push).
refused() {
	local desc=$1 stage=$2 msg=$3 repo=${4:-gitops-staging-apps}
	check_not "$desc: push exits non-zero" test "$PUSH_RC" = 0
	check_match "$desc: '! [remote rejected] main ($stage...'" \
		"\\[remote rejected\\] +main( -> main)? \\(($stage)" "$PUSH_OUT"
	check_match "$desc: remote: line with the message" "^remote: .*($msg)" "$PUSH_OUT"
	check_eq "$desc: ref unchanged" "$R0" "$(pl_ref "$repo")"
	check_eq "$desc: no new object in the bare repo" "$O0" "$(pl_objects "$repo")"
}

# bump FILE: replicas N -> N+1 (a valid change of a Deployment).
bump() {
	local n
	n=$(sed -n 's/^  replicas: \([0-9]*\)$/\1/p' "$1" | head -n 1)
	sed -i "s/^  replicas: $n\$/  replicas: $((n + 1))/" "$1"
}

# try DIR TOKEN MSG: commit DIR, remember the ref/objects of its repo, push.
try() {
	local dir=$1 tok=$2 msg=$3 repo
	repo=$(basename "$(git -C "$dir" remote get-url origin)" .git)
	commit_files "$dir" "$msg"
	R0=$(pl_ref "$repo")
	O0=$(pl_objects "$repo")
	pl_push_as "$tok" "$dir" origin main
}

# ================================================================ validate-yaml
section "validate-yaml"
pl_fixture gitops/broken-indent.yaml "$GS/web/x.yaml"
try "$GS" "$OPS" "web: broken indentation"
refused "bad indentation" "validate-yaml: " 'web/x\.yaml:[0-9]+:[0-9]+'
check_match "the position is web/x.yaml:7:4 (line:col of the bad key)" 'web/x\.yaml:7:4' "$PUSH_OUT"
pl_reset "$GS"

# ================================================================ validate-k8s
section "validate-k8s"
pl_fixture gitops/dup-a.yaml "$GS/api/a.yaml"
pl_fixture gitops/dup-b.yaml "$GS/api/b.yaml"
try "$GS" "$OPS" "api: two Deployments named api"
refused "duplicate Deployment api in one folder" "validate-k8s: " 'api'
check_match "duplicate: the message names the duplicate" 'remote: .*(duplicate|twice|already).*|remote: .*Deployment.*api' "$PUSH_OUT"
pl_reset "$GS"

pl_fixture gitops/namespace.yaml "$GS/web/ns.yaml"
try "$GS" "$OPS" "web: a Namespace"
refused "Namespace (cluster-scoped) in an apps repo" "validate-k8s: " 'Namespace'
pl_reset "$GS"

pl_fixture gitops/no-name.yaml "$GS/web/cm.yaml"
try "$GS" "$OPS" "web: no metadata.name"
refused "document without metadata.name" "validate-k8s: " 'metadata\.name|name'
pl_reset "$GS"

pl_fixture gitops/bad-name.yaml "$GS/web/cm.yaml"
try "$GS" "$OPS" "web: not a DNS-1123 name"
refused "name Web_Config (not DNS-1123)" "validate-k8s: " 'Web_Config'
pl_reset "$GS"

# ================================================================ accepted
section "a valid hand edit is accepted and recorded"
pl_fixture gitops/deployment.yaml "$GS/web/deployment.yaml"
pl_fixture gitops/service.yaml "$GS/web/service.yaml"
try "$GS" "$OPS" "web: hand-written manifests"
HEAD1=$(git -C "$GS" rev-parse HEAD)
check_eq "valid push exits 0" 0 "$PUSH_RC"
check_eq "server main = the pushed commit" "$HEAD1" "$(pl_gref staging)"
REL=$(pl_latest staging web)
check_eq "release recorded: triggeredBy = token name" ops-staging "$(jf .triggeredBy <<<"$REL")"
check_eq "release recorded: gitopsRef = pushed commit" "$HEAD1" "$(jf .gitopsRef <<<"$REL")"
check_eq "release recorded: action deploy" deploy "$(jf .action <<<"$REL")"
check_eq "release recorded: appTree = tree of web/" \
	"$(server_git gitops-staging-apps rev-parse "$HEAD1:web")" "$(jf .appTree <<<"$REL")"
check_eq "status: web's gitopsRef" "$HEAD1" "$(pl_status staging | jf .web.gitopsRef)"

# ================================================================ external hooks
section "external hooks: input and environment"
pl_hook 10-capture capture
sed -i 's/replicas: 2/replicas: 3/' "$GS/web/deployment.yaml"
try "$GS" "$OPS" "web: three replicas"
check_eq "capture hook (exit 0): push accepted" 0 "$PUSH_RC"
check_eq "capture hook: ref moved" "$(git -C "$GS" rev-parse HEAD)" "$(pl_gref staging)"
IN=$(cat "$HOOK_OUT/capture.json" 2>/dev/null)
check "hook stdin is a JSON object" json_valid <<<"$IN"
check_match "hook input: stage" '.' "$(jf '.stage // empty' <<<"$IN")"
check_match "hook input: intent.source" '.' "$(jf '.intent.source // empty' <<<"$IN")"
check_eq "hook input: intent.env" staging "$(jf .intent.env <<<"$IN")"
check_eq "hook input: intent.repo" gitops-staging-apps "$(jf .intent.repo <<<"$IN")"
check_match "hook input: intent.ref" '^(refs/heads/)?main$' "$(jf .intent.ref <<<"$IN")"
check_eq "hook input: intent.actor" ops-staging "$(jf .intent.actor <<<"$IN")"
check_match "hook input: intent.message" 'three replicas' "$(jf .intent.message <<<"$IN")"
check_match "hook input: files[] holds web/deployment.yaml with the new content" 'replicas: 3' \
	"$(jf '.files[]? | select(.path == "web/deployment.yaml") | .content' <<<"$IN")"
check_match "hook input: documents[] holds the Deployment" 'Deployment' \
	"$(jq -c '.documents' <<<"$IN" 2>/dev/null)"
ENVS=$(cat "$HOOK_OUT/capture.env" 2>/dev/null)
check_match "hook ran (environment captured)" 'PATH=' "$ENVS"
check_not "hook environment is clean (no variable of the daemon's)" grep -q AUGER_TEST_CANARY <<<"$ENVS"

section "external hooks: refusal"
pl_hook 20-refuse refuse
bump "$GS/web/deployment.yaml"
try "$GS" "$OPS" "web: four replicas"
refused "hook exit 1" "hook|20-refuse|web needs" 'web needs a team label'
pl_reset "$GS"
pl_unhook

section "external hooks: name order"
rm -f "$HOOK_OUT/order.log"
pl_hook 30-c order-c
pl_hook 10-a order-a
pl_hook 20-b order-b
bump "$GS/web/deployment.yaml"
try "$GS" "$OPS" "web: five replicas"
refused "hook exit 3" "hook|20-b|order-b" 'order-b says no'
check_eq "hooks run in name order (10-a, then 20-b)" "a b" "$(head -n 2 "$HOOK_OUT/order.log" 2>/dev/null | tr '\n' ' ' | sed 's/ $//')"
pl_reset "$GS"
pl_unhook

section "external hooks: megabytes on stderr"
pl_hook 10-spew spew
bump "$GS/web/deployment.yaml"
START=$SECONDS
try "$GS" "$OPS" "web: six replicas"
check_match "spew hook: push returned within 30 s" '^([0-9]|[12][0-9]|30)$' "$((SECONDS - START))"
refused "hook writing 4 MB to stderr" "hook|10-spew|x" 'xxxx'
NX=$(pl_remote_lines | tr -cd x | wc -c | tr -d ' ')
if [ "$NX" -le 16384 ] && [ "$NX" -gt 0 ]; then ok "remote: lines carry at most 16 KiB of the hook's stderr ($NX)"; else
	fail "remote: lines carry at most 16 KiB of the hook's stderr" "got $NX bytes of it"; fi
NT=$(printf '%s' "$PUSH_OUT" | wc -c | tr -d ' ')
if [ "$NT" -le 40000 ]; then ok "the whole push output stays small ($NT bytes)"; else
	fail "the whole push output stays small" "got $NT bytes"; fi
check "daemon alive after the spew hook" daemon_alive
pl_reset "$GS"
pl_unhook

section "external hooks: skipped files, stdin not read, slow hooks"
# Not executable, a dotfile, an editor leftover: none of them runs.
pl_hook 10-refuse refuse
chmod 0644 "$DATA/hooks/validate.d/10-refuse"
pl_hook .20-refuse refuse
pl_hook 30-refuse~ refuse
bump "$GS/web/deployment.yaml"
try "$GS" "$OPS" "web: seven replicas"
check_eq "non-executable / dot / backup hook files are not run: accepted" 0 "$PUSH_RC"
check_not "no hook message on the terminal" grep -q 'team label' <<<"$PUSH_OUT"
pl_unhook
# A hook that exits at once without reading a large input (EPIPE for the
# daemon) accepts; the daemon survives.
pl_hook 10-noread noread
mkdir -p "$GS/big"
{
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n'
	i=0
	while [ $i -lt 4000 ]; do printf '  k%d: "%0200d"\n' $i 0; i=$((i + 1)); done
} >"$GS/big/cm.yaml"
try "$GS" "$OPS" "big: 800 KB ConfigMap"
check_eq "hook that does not read its 800 KB stdin: push accepted" 0 "$PUSH_RC"
check "daemon alive after a hook closed its stdin early" daemon_alive
pl_unhook
# A slow hook (3 s, under the limit) must not stall other requests.
pl_hook 10-slow slow-ok
bump "$GS/web/deployment.yaml"
commit_files "$GS" "web: eight replicas"
( pl_push_as "$OPS" "$GS" origin main; printf '%s\n%s' "$PUSH_RC" "$PUSH_OUT" >"$T/slow.out" ) &
SLOWPID=$!
track "$SLOWPID"
sleep 1
S0=$(date +%s%N)
api GET /api/repos
LS=$(git_as "$TOKEN" ls-remote "$URL/gitops-production-apps.git" 2>&1)
S1=$(date +%s%N)
MS=$(((S1 - S0) / 1000000))
check_eq "API answers while a hook runs" 200 "$API_STATUS"
check_match "ls-remote of another repo while a hook runs" 'refs/heads/main' "$LS"
if [ "$MS" -lt 1500 ]; then ok "other requests are not stalled by a running hook (${MS} ms)"; else
	fail "other requests are not stalled by a running hook" "API + ls-remote took ${MS} ms while a 3 s hook ran"; fi
wait "$SLOWPID"
check_eq "slow hook (3 s < 10 s limit): push accepted" 0 "$(head -n 1 "$T/slow.out" 2>/dev/null)"
pl_reset "$GS"
pl_unhook

section "external hooks: the example 10-require-team-label"
if [ -x "$ROOT/hooks/examples/10-require-team-label" ]; then
	cp "$ROOT/hooks/examples/10-require-team-label" "$(pl_hooks_dir)/10-require-team-label"
	pl_fixture gitops/dup-a.yaml "$GS/api3/deployment.yaml"
	try "$GS" "$OPS" "api3: no team label"
	refused "example hook: Deployment without a team label" "hook|10-require-team-label" 'team'
	check_match "example hook: names the file" 'remote: .*api3/deployment\.yaml' "$PUSH_OUT"
	pl_reset "$GS"
	bump "$GS/web/deployment.yaml"
	try "$GS" "$OPS" "web: seven replicas, labelled"
	check_eq "example hook: a labelled Deployment is accepted" 0 "$PUSH_RC"
	pl_reset "$GS"
	pl_unhook
else
	fail "hooks/examples/10-require-team-label exists"
fi

section "external hooks: a child left behind"
pl_hook 10-orphan orphan
bump "$GS/web/deployment.yaml"
START=$SECONDS
try "$GS" "$OPS" "web: ten replicas (hook leaves a child)"
EL=$((SECONDS - START))
check_eq "hook that exits 0 leaving a child holding stderr: accepted" 0 "$PUSH_RC"
if [ "$EL" -le 5 ]; then ok "... and the push does not wait for the child (${EL}s)"; else
	fail "the push does not wait for the hook's leftover child" "took ${EL}s" "$PUSH_OUT"; fi
sleep 0.5
check_eq "the hook's leftover child is killed" "" "$(pgrep -f 'sleep 31\.9' 2>/dev/null | tr '\n' ' ')"
pl_reset "$GS"
pl_unhook

section "external hooks: API deploys"
pl_hook 10-refuse refuse
ART=$(jq -cn --arg sha "$(printf 'hook-api' | sha1sum | cut -c1-40)" '{
	version: {repositoryName: "acme/hookapp", sha: $sha, branch: "ci", event: "push",
		authorName: "Auger Test", authorEmail: "test@auger.invalid", message: "m", url: "", created: 1700000000},
	vars: {}, items: [], context: {},
	environments: [{app: "hookapp", env: "staging", namespace: "default",
		deploy: {branch: "main", event: "push"},
		chart: {repository: "https://chart.onechart.dev", name: "onechart", version: "0.70.0"},
		values: {image: {repository: "ghcr.io/acme/hookapp", tag: "1.0.0"}}}]}')
api POST /api/artifact "$ART"
ARTID=$(jf '.id // empty' <<<"$API_BODY")
R0=$(pl_gref staging)
if [ "$API_STATUS" = 201 ] && [ -n "$ARTID" ]; then
	api POST /api/releases "{\"env\":\"staging\",\"artifactId\":\"$ARTID\"}"
	if [ "$API_STATUS" != 201 ] || jq -e '[.releases[]? | select(.error)] | length > 0' <<<"$API_BODY" >/dev/null 2>&1; then
		ok "API deploy refused by the hook ($API_STATUS)"
	else
		fail "API deploy refused by the hook" "POST /api/releases -> $API_STATUS" "$API_BODY"
	fi
	check_match "API deploy: the hook's message" 'web needs a team label' "$API_BODY"
	check_eq "API deploy: staging unchanged" "$R0" "$(pl_gref staging)"
else
	fail "POST /api/artifact -> 201" "got $API_STATUS" "$API_BODY"
fi
pl_unhook

# ================================================================ scope
section "credentials and multi-app pushes"
GX=$T/gx
pl_clone_gitops staging "$GX" "$TOKEN"
bump "$GX/web/deployment.yaml"
try "$GX" "$OPSP" "web: by a production-only token"
check_not "deploy token scoped to production cannot push gitops-staging-apps" test "$PUSH_RC" = 0
check_eq "production-only token: staging ref unchanged" "$R0" "$(pl_gref staging)"
git -C "$GS" pull -q --ff-only 2>/dev/null || pl_reset "$GS"
bump "$GS/web/deployment.yaml"
pl_fixture gitops/dup-a.yaml "$GS/api2/deployment.yaml"
try "$GS" "$OPS" "web and api2 in one push"
H2=$(git -C "$GS" rev-parse HEAD)
check_eq "two app folders in one push: accepted" 0 "$PUSH_RC"
check_eq "release for web at the pushed commit" "$H2" "$(pl_latest staging web | jf .gitopsRef)"
check_eq "release for api2 at the pushed commit" "$H2" "$(pl_latest staging api2 | jf .gitopsRef)"
check_eq "api2 release triggeredBy" ops-staging "$(pl_latest staging api2 | jf .triggeredBy)"

# ================================================================ policy
section "policy: denyLatestTag for production only"
GP=$T/gp
pl_clone_gitops production "$GP" "$OPSP"
pl_fixture gitops/latest.yaml "$GP/web/deployment.yaml"
try "$GP" "$OPSP" "web: latest in production"
refused "image :latest in production" "policy" 'latest' gitops-production-apps
pl_reset "$GP"
pl_fixture gitops/pinned.yaml "$GP/web/deployment.yaml"
try "$GP" "$OPSP" "web: pinned in production"
check_eq "pinned image in production: accepted" 0 "$PUSH_RC"
check_eq "pinned image in production: ref moved" "$(git -C "$GP" rev-parse HEAD)" "$(pl_gref production)"
check_eq "production release triggeredBy" ops-production "$(pl_latest production web | jf .triggeredBy)"
pl_fixture gitops/latest.yaml "$GS/web/deployment.yaml"
try "$GS" "$OPS" "web: latest in staging"
check_eq "image :latest in staging (policy off): accepted" 0 "$PUSH_RC"
check_eq "image :latest in staging: ref moved" "$(git -C "$GS" rev-parse HEAD)" "$(pl_gref staging)"

section "Flux's client sees hand-pushed commits"
need_interop
GG_OUT=$(AUGER_USER=flux AUGER_TOKEN=$OPS timeout -k 5 "$CMD_TIMEOUT" "$GOGIT_CLIENT" clone "$URL/gitops-staging-apps.git" "$T/gg" --depth 1 2>&1)
check_match "go-git clone --depth 1 of gitops-staging-apps gets the tip" "HEAD $(pl_gref staging)" "$GG_OUT"

# ================================================================ delete
section "deleting an app folder"
git -C "$GS" rm -q -r web
try "$GS" "$OPS" "web: removed"
check_eq "folder deletion: accepted" 0 "$PUSH_RC"
HEADD=$(git -C "$GS" rev-parse HEAD)
check_eq "folder deletion: ref moved" "$HEADD" "$(pl_gref staging)"
REL=$(pl_latest staging web)
check_eq "deletion recorded: action delete" delete "$(jf .action <<<"$REL")"
check_eq "deletion recorded: triggeredBy" ops-staging "$(jf .triggeredBy <<<"$REL")"
check_eq "deletion recorded: gitopsRef" "$HEADD" "$(jf .gitopsRef <<<"$REL")"
check_eq "status: web gone" null "$(pl_status staging | jf .web)"

# ================================================================ hook time limit
section "hook time limit (config hookTimeout: 1s)"
stop_daemon
cp "$PUSH_FIX/config-fast.yaml" "$T/config-fast.yaml"
# shellcheck disable=SC2034 # read by start_daemon (lib.sh)
AUGERD_ARGS="--config $T/config-fast.yaml"
start_daemon "$DATA"
ok "augerd restarts with hookTimeout: 1s and a per-env allowClusterScoped"
git -C "$GS" remote set-url origin "$URL/gitops-staging-apps.git"
git -C "$GP" remote set-url origin "$URL/gitops-production-apps.git"
pl_hook 10-sleep sleep
pl_fixture gitops/deployment.yaml "$GS/web2/deployment.yaml"
sed -i 's/name: web$/name: web2/; s/app: web$/app: web2/' "$GS/web2/deployment.yaml"
START=$SECONDS
try "$GS" "$OPS" "web2: added (a hook sleeps)"
EL=$((SECONDS - START))
refused "hook sleeping 30 s" "hook|10-sleep|timed out" 'timed out'
if [ "$EL" -le 6 ]; then ok "refused within a few seconds (${EL}s)"; else
	fail "refused within a few seconds" "took ${EL}s (hookTimeout is 1s)"; fi
sleep 1
# Read-only look for the hook's child: its argument is unique to this test.
LEFT=$(pgrep -f 'sleep 31\.7' 2>/dev/null | tr '\n' ' ')
check_eq "the timed-out hook's process group is gone" "" "$LEFT"
pl_reset "$GS"
pl_unhook

section "allowClusterScoped per env"
pl_fixture gitops/namespace.yaml "$GP/web/ns.yaml"
try "$GP" "$OPSP" "web: a Namespace in production (allowed)"
check_eq "Namespace in production with allowClusterScoped: accepted" 0 "$PUSH_RC"
check_eq "Namespace in production: ref moved" "$(git -C "$GP" rev-parse HEAD)" "$(pl_gref production)"
pl_fixture gitops/namespace.yaml "$GS/web3/ns.yaml"
try "$GS" "$OPS" "web3: a Namespace in staging (not allowed)"
refused "Namespace in staging (defaults)" "validate-k8s: " 'Namespace'
pl_reset "$GS"

section "an invalid config stops the daemon at start"
mkdir -p "$T/badcfg"
BAD=$(timeout -k 2 10 "$AUGERD" --data "$T/badcfg" --http 127.0.0.1:0 --ssh off --config "$PUSH_FIX/config-bad.yaml" 2>&1 </dev/null)
BRC=$?
if [ $BRC -ne 0 ] && [ $BRC -ne 124 ] && [ $BRC -ne 137 ]; then ok "hookTimeout: banana: augerd exits ($BRC)"; else
	fail "hookTimeout: banana: augerd exits non-zero at once" "status $BRC" "$BAD"; fi
check_match "the error names FILE:LINE:COL" 'config-bad\.yaml:2:[0-9]+' "$BAD"

check "daemon still alive" daemon_alive
finish
