#!/usr/bin/env bash
# The release engine against a deploy credential that tries to get more
# than its env's apps: app names that collide with the GitOps repository's
# own files (flux/, README.md, dot folders, root files) on every path;
# flux/ writable by admin only; validation that skips no file (large ones
# are refused from their header, subfolders are read); the items of Lists
# checked as documents; lists filtered by the credential's envs; token and
# key fields; rollback targets; Flux events (bounded, and a 401 that says
# nothing of which envs exist).
#
# Setting: a fresh daemon, the admin token, a deploy token scoped to
# staging, a read token scoped to production.
#   bash tests/integration/test_security_release.sh
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/push_lib.sh"

start_daemon
pl_env staging
pl_env production
DEP=$(pl_token dep-staging deploy staging)
RD=$(pl_token rd-production read production)
APPS=gitops-staging-apps

# expect_error DESC STATUS METHOD PATH BODY MESSAGE_REGEX [TOKEN]
expect_error() {
	local desc=$1 want=$2 method=$3 path=$4 body=$5 re=$6 tok=${7-$TOKEN} msg
	api "$method" "$path" "$body" "$tok"
	msg=$(jf '.error // empty' <<<"$API_BODY")
	if [[ $API_STATUS =~ ^($want)$ ]] && printf '%s' "$msg" | grep -Eq -- "$re"; then
		ok "$desc: $API_STATUS \"$(printf '%s' "$msg" | head -c 120)\""
	else
		fail "$desc" "request: $method $path $(printf '%s' "$body" | head -c 300)" \
			"expected: $want with an error matching /$re/" "got: $API_STATUS $(printf '%s' "$API_BODY" | head -c 600)"
	fi
}

# art APP ENV BRANCH [MANIFEST_EXTRA_JSON] [VARS_JSON]: an artifact with one
# manifest (deploy policy: branch main, event push).
_ART=0
art() {
	_ART=$((_ART + 1))
	jq -cn --arg app "$1" --arg env "$2" --arg br "$3" \
		--arg sha "$(printf 'sec-%s' "$_ART" | sha1sum | cut -c1-40)" \
		--argjson extra "${4:-"{}"}" --argjson vars "${5:-"{}"}" '{
		version: {repositoryName: "acme/sec", sha: $sha, branch: $br, event: "push",
			authorName: "t", authorEmail: "t@auger.invalid", message: "m", url: "", created: 1700000000},
		vars: $vars, items: [], context: {},
		environments: [({app: $app, env: $env, namespace: "default",
			deploy: {branch: "main", event: "push"},
			chart: {repository: "https://chart.onechart.dev", name: "onechart", version: "0.70.0"},
			values: {image: {repository: "ghcr.io/acme/sec", tag: "1.0.0"}}} + $extra)]}'
}

# release ENV ARTIFACT_ID [TOKEN]: POST /api/releases.
release() {
	api POST /api/releases "{\"env\":\"$1\",\"artifactId\":\"$2\"}" "${3-$TOKEN}"
}

# flux_tree: the tree id of flux/ on staging's main ("" if none).
flux_tree() { server_git "$APPS" rev-parse -q --verify "refs/heads/main:flux" 2>/dev/null; }

# flux_intact DESC F0: flux/ is still F0 and holds the env's own objects.
flux_intact() {
	local f
	f=$(flux_tree)
	if [ "$f" = "$2" ] && pl_has staging flux/gitops-repo-staging-apps.yaml &&
		pl_has staging flux/notifications-staging.yaml; then
		ok "$1"
	else
		fail "$1" "flux/ was $2, is now ${f:-gone}" "$(server_git "$APPS" ls-tree -r --name-only refs/heads/main 2>&1 | head -20)"
	fi
}

# no_cluster_admin DESC: no file of staging's main binds cluster-admin.
no_cluster_admin() {
	local hits
	hits=$(server_git "$APPS" grep -l 'name: cluster-admin' refs/heads/main -- 2>/dev/null)
	if [ -z "$hits" ]; then ok "$1"; else fail "$1" "found in: $hits"; fi
}

CRB='apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: pwn
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
- kind: ServiceAccount
  name: default
  namespace: default'
RESERVED='reserved: "flux", "readme" \(any case\) and names starting with "\." belong to the GitOps repository itself'

# ================================================================ 1 app names
section "1. an app named flux does not take over the env"
F0=$(flux_tree)
[ -n "$F0" ] || die "staging has no flux/ to begin with"
CRBX=$(jq -cn --arg m "$CRB" '{manifests: $m}')

# POST /api/artifact: a literal reserved name is refused as the artifact comes in.
api POST /api/artifact "$(art flux staging main "$CRBX")" "$DEP"
check_eq "POST /api/artifact with app flux (policy matches): 400" 400 "$API_STATUS"
check_match "... the error names the rule" "$RESERVED" "$(jf '.error // empty' <<<"$API_BODY")"
flux_intact "... flux/ unchanged" "$F0"
no_cluster_admin "... no cluster-admin binding committed"

# A literal flux artifact on a branch no policy matches, then POST /api/releases.
api POST /api/artifact "$(art flux staging ci "$CRBX")" "$DEP"
check_eq "POST /api/artifact with app flux (no policy match): 400" 400 "$API_STATUS"
LIT=$(jf '.id // empty' <<<"$API_BODY")
if [ -n "$LIT" ]; then
	release staging "$LIT" "$DEP"
	check_eq "POST /api/releases of that artifact: 400" 400 "$API_STATUS"
fi
flux_intact "... flux/ unchanged" "$F0"

# A templated app name is judged once templated, on every deploy path.
TPL=$(art '{{ .APPNAME }}' staging ci "$CRBX" '{"APPNAME":"flux"}')
api POST /api/artifact "$TPL" "$DEP"
check_eq "POST /api/artifact, app {{ .APPNAME }} (= flux), no policy match: 201 (stored)" 201 "$API_STATUS"
TPLID=$(jf '.id // empty' <<<"$API_BODY")
expect_error "POST /api/releases, templated app = flux" 400 POST /api/releases \
	"{\"env\":\"staging\",\"artifactId\":\"$TPLID\"}" "$RESERVED" "$DEP"
flux_intact "... flux/ unchanged" "$F0"
no_cluster_admin "... no cluster-admin binding committed"

api POST /api/artifact "$(art '{{ .APPNAME }}' staging main "$CRBX" '{"APPNAME":"flux"}')" "$DEP"
check_eq "policy deploy, templated app = flux: 201 (the artifact)" 201 "$API_STATUS"
check_match "... its release is refused, naming the rule" "$RESERVED" "$(jf '.releases[0].error // empty' <<<"$API_BODY")"
flux_intact "... flux/ unchanged" "$F0"

api POST /api/artifact "$(art '{{ .APPNAME }}' staging ci '{}' '{"APPNAME":"Readme"}')" "$DEP"
expect_error "POST /api/releases, templated app = Readme" 400 POST /api/releases \
	"{\"env\":\"staging\",\"artifactId\":\"$(jf '.id // empty' <<<"$API_BODY")\"}" "$RESERVED" "$DEP"
expect_error "POST /api/artifact with app .git" 400 POST /api/artifact "$(art .git staging ci)" "$RESERVED" "$DEP"
expect_error "POST /api/artifact with app readme" 400 POST /api/artifact "$(art readme staging ci)" "$RESERVED" "$DEP"

# Rollback and delete name an app too.
expect_error "POST /api/delete app=flux" 400 POST /api/delete '{"env":"staging","app":"flux"}' "$RESERVED" "$DEP"
flux_intact "... flux/ unchanged" "$F0"
expect_error "POST /api/delete?env=staging&app=flux (query)" 400 POST "/api/delete?env=staging&app=flux" "" "$RESERVED" "$DEP"
flux_intact "... flux/ unchanged" "$F0"
expect_error "POST /api/rollback app=flux" 400 POST /api/rollback '{"env":"staging","app":"flux"}' "$RESERVED" "$DEP"
expect_error "POST /api/delete app=.auger" 400 POST /api/delete '{"env":"staging","app":".auger"}' "$RESERVED" "$DEP"
expect_error "POST /api/delete app=README.md" 400 POST /api/delete '{"env":"staging","app":"README.md"}' "$RESERVED" "$DEP"
check "README.md still at the top of staging" pl_has staging README.md

# A file at the top of the repository is no app folder either.
GA=$T/ga
pl_clone_gitops staging "$GA" "$TOKEN"
commit_files "$GA" "a root file" "notes=not an app"
pl_push "$GA" origin main
[ "$PUSH_RC" = 0 ] || die "admin push of a root file" "$PUSH_OUT"
NOTES0=$(server_git "$APPS" rev-parse -q --verify refs/heads/main:notes)
api POST /api/artifact "$(art notes staging ci)" "$DEP"
expect_error "POST /api/releases of app notes (a root file)" 400 POST /api/releases \
	"{\"env\":\"staging\",\"artifactId\":\"$(jf '.id // empty' <<<"$API_BODY")\"}" 'app name "notes" is taken: notes is a file at the top of gitops-staging-apps' "$DEP"
check_eq "... the root file notes is unchanged" "$NOTES0" "$(server_git "$APPS" rev-parse -q --verify refs/heads/main:notes)"

# Push to deploy and previews.
create_repo evil
W=$T/evil
pl_work evil "$W"
{
	printf 'app: flux\nenv: staging\nnamespace: default\ndeploy:\n  branch: main\n  event: push\n'
	printf 'chart:\n  repository: https://chart.onechart.dev\n  name: onechart\n  version: 0.70.0\n'
	printf 'values:\n  image:\n    repository: ghcr.io/acme/evil\n    tag: "1.0.0"\nmanifests: |\n'
	printf '%s\n' "$CRB" | sed 's/^/  /'
} >"$T/flux-manifest.yaml"
mkdir -p "$W/.auger"
cp "$T/flux-manifest.yaml" "$W/.auger/staging.yaml"
commit_files "$W" "evil: app flux"
pl_push_as "$DEP" "$W" origin main
check_match "push to deploy with app: flux: the remote line names the file and the rule" \
	"remote: \\.auger/staging\\.yaml: app name \"flux\" is $RESERVED" "$PUSH_OUT"
check_not "... nothing deployed" grep -q ' deployed: ' <<<"$PUSH_OUT"
flux_intact "... flux/ unchanged" "$F0"
no_cluster_admin "... no cluster-admin binding committed"

sed -i 's/^namespace: default$/namespace: default\npreview: true/' "$W/.auger/staging.yaml"
git -C "$W" checkout -q -b feature-x
commit_files "$W" "evil: a preview of app flux"
pl_push_as "$DEP" "$W" origin feature-x
check_match "preview of app flux (branch feature-x): the remote line names the rule" "remote: .*$RESERVED" "$PUSH_OUT"
check_not "... no preview deployed" pl_has staging flux-feature-x
flux_intact "... flux/ unchanged" "$F0"

# ================================================================ 2 flux/ is the admin's
section "2. only admin changes flux/"
GS=$T/gs
pl_clone_gitops staging "$GS" "$DEP"

# try DIR TOKEN MSG: commit DIR, remember staging's main, push.
# peak_kb: the daemon's peak RSS (VmHWM) in kB.
peak_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$DAEMON_PID/status"; }
# peak_grew_under KB NAME: the peak RSS grew by less than KB since HWM0.
peak_grew_under() {
	local hwm1
	hwm1=$(peak_kb)
	if [ -n "$hwm1" ] && [ "$((hwm1 - ${HWM0:-0}))" -lt "$1" ]; then
		ok "$2 (peak RSS ${HWM0:-?} kB -> $hwm1 kB, under +$(($1 / 1024)) MB)"
	else
		fail "$2" "peak RSS ${HWM0:-?} kB -> ${hwm1:-?} kB (grew by $(($1 / 1024)) MB or more)"
	fi
}

try() {
	commit_files "$1" "$3"
	R0=$(pl_gref staging)
	O0=$(pl_objects "$APPS")
	pl_push_as "$2" "$1" origin main
}
# refused DESC MSG-REGEX: the last push was refused with MSG, nothing moved.
refused() {
	check_not "$1: push fails" test "$PUSH_RC" = 0
	check_match "$1: [remote rejected] main (...) names why" "\\[remote rejected\\] +main( -> main)? \\(.*($2)" "$PUSH_OUT"
	check_eq "$1: main unchanged" "$R0" "$(pl_gref staging)"
	check_eq "$1: no object left behind" "$O0" "$(pl_objects "$APPS")"
}
FLUXONLY='flux/ may be changed by an admin credential only: it holds the env.s own Flux objects \(dep-staging is a deploy credential\)'

printf '%s\n' "$CRB" >"$GS/flux/pwn.yaml"
try "$GS" "$DEP" "flux: a cluster-admin binding"
refused "deploy token adds flux/pwn.yaml (ClusterRoleBinding)" "$FLUXONLY"
check_match "... and says it on the terminal" "remote: $FLUXONLY" "$PUSH_OUT"
pl_reset "$GS"
printf '# edited\n' >>"$GS/flux/gitops-repo-staging-apps.yaml"
try "$GS" "$DEP" "flux: edit the root Kustomization"
refused "deploy token modifies flux/gitops-repo-staging-apps.yaml" "$FLUXONLY"
pl_reset "$GS"
git -C "$GS" rm -q flux/notifications-staging.yaml
try "$GS" "$DEP" "flux: drop the notifications"
refused "deploy token deletes flux/notifications-staging.yaml" "$FLUXONLY"
pl_reset "$GS"
git -C "$GS" checkout -q -b side
printf '%s\n' "$CRB" >"$GS/flux/pwn.yaml"
commit_files "$GS" "flux: on a new branch"
pl_push_as "$DEP" "$GS" origin side
check_match "deploy token: a new branch that changes flux/ is refused" "\\[remote rejected\\] +side.*flux/ may be changed" "$PUSH_OUT"
git -C "$GS" checkout -q main
git -C "$GS" branch -q -D side
pl_reset "$GS"
flux_intact "flux/ unchanged after the deploy token's pushes" "$F0"
mkdir -p "$GS/web"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  a: "1"\n' >"$GS/web/cm.yaml"
try "$GS" "$DEP" "web: a ConfigMap"
check_eq "deploy token: a push that leaves flux/ alone is accepted" 0 "$PUSH_RC"
GAD=$T/gad
pl_clone_gitops staging "$GAD" "$TOKEN"
printf '# reviewed\n' >>"$GAD/flux/gitops-repo-staging-apps.yaml"
try "$GAD" "$TOKEN" "flux: admin edits the root Kustomization"
check_eq "admin: a push that changes flux/ is accepted" 0 "$PUSH_RC"
F0=$(flux_tree)
g -C "$GS" pull -q --ff-only origin main >/dev/null 2>&1 || pl_reset "$GS"

# The infra repository holds cluster-scoped objects and Flux applies all of
# it: a deploy credential may read it, never push it (admin only).
INF=gitops-staging-infra
GI=$T/gi
out=$(git_as "$DEP" clone -q "$URL/$INF.git" "$GI" 2>&1)
check_eq "deploy token: clones $INF (fetch stays allowed)" 0 "$?"
[ -d "$GI/.git" ] || { g clone -q "$URL/$INF.git" "$GI" >/dev/null 2>&1 || die "clone $INF" "$out"; }
mkdir -p "$GI/pwn"
printf '%s\n' "$CRB" >"$GI/pwn/crb.yaml"
commit_files "$GI" "infra: a cluster-admin binding" >/dev/null
I0=$(pl_ref "$INF")
pl_push_as "$DEP" "$GI" origin main
check_not "deploy token pushes a cluster-admin binding to $INF: push fails" test "$PUSH_RC" = 0
check_match "... 403 from the headers" "403" "$PUSH_OUT"
check_eq "... $INF main unchanged" "$I0" "$(pl_ref "$INF")"
check_not "... no cluster-admin binding in $INF" server_git "$INF" cat-file -e "refs/heads/main:pwn/crb.yaml"
check_match "... the access log says denied" "access dep-staging deploy push $INF: denied" "$(cat "$DAEMON_LOG")"
sed -i 's/name: pwn$/name: reviewed/; s/cluster-admin/view/' "$GI/pwn/crb.yaml"
commit_files "$GI" "infra: a reviewed binding" >/dev/null
pl_push "$GI" origin main
check_eq "admin: a ClusterRoleBinding pushed to $INF is accepted" 0 "$PUSH_RC"
check "... and is on $INF main" server_git "$INF" cat-file -e "refs/heads/main:pwn/crb.yaml"
api GET "/api/gitopsManifests/staging" "" "$DEP"
check_eq "deploy token: GET /api/gitopsManifests/staging (reads infra): 200" 200 "$API_STATUS"

# ================================================================ 3 no file skipped
section "3. validation skips no file"
LIMIT_RE='over the per-file limit of 1048576 bytes'
{
	printf '%s\n' "$CRB"
	printf '#'
	head -c 1153433 /dev/zero | tr '\0' 'x'
	printf '\n'
} >"$GS/web/crb.yaml"
try "$GS" "$DEP" "web: a padded ClusterRoleBinding"
refused "web/crb.yaml padded to 1.1 MB" "web/crb\\.yaml is [0-9]+ bytes, $LIMIT_RE"
check_match "... the message gives the file's size" 'web/crb\.yaml is 11[0-9]{5} bytes' "$PUSH_OUT"
pl_reset "$GS"

mkdir -p "$GS/web/deep/er"
printf '%s\n' "$CRB" >"$GS/web/deep/er/crb.yaml"
try "$GS" "$DEP" "web: a ClusterRoleBinding two folders down"
refused "web/deep/er/crb.yaml (a subfolder)" 'validate-k8s: web/deep/er/crb\.yaml: document 1: kind ClusterRoleBinding is cluster-scoped'
pl_reset "$GS"

# 300 MB of zeros (a sparse file; git streams it): refused from its header.
git -C "$GS" config core.bigFileThreshold 1m
truncate -s 300M "$GS/web/huge.yaml"
HWM0=$(peak_kb)
try "$GS" "$DEP" "web: 300 MB"
rm -f "$GS/web/huge.yaml"
# --max-blob (100 MiB by default) refuses it while the pack is read; the
# per-file limit would refuse it from the object header otherwise.
refused "web/huge.yaml of 300 MB" "web/huge\\.yaml is 314572800 bytes, $LIMIT_RE|unpacker error"
check_match "... the reason is on the terminal" "inflates to 314572800 bytes; the limit \\(--max-blob\\)|web/huge\\.yaml is 314572800 bytes" "$PUSH_OUT"
peak_grew_under 153600 "... refused without inflating it"
pl_reset "$GS"
check "daemon alive after the 300 MB push" daemon_alive

# Manifests and vars read from an app repo's .auger/.
create_repo bigm
WB=$T/bigm
pl_work bigm "$WB"
mkdir -p "$WB/.auger"
{
	cat "$PUSH_FIX/web-staging.yaml"
	printf '#'
	head -c 1153433 /dev/zero | tr '\0' 'x'
	printf '\n'
} >"$WB/.auger/staging.yaml"
{
	printf 'A=1\n#'
	head -c 1153433 /dev/zero | tr '\0' 'x'
	printf '\n'
} >"$WB/.auger/vars"
commit_files "$WB" "bigm: large manifest and vars"
pl_push_as "$DEP" "$WB" origin main
check_match ".auger/staging.yaml of 1.1 MB: named with its size and the limit" \
	"remote: \\.auger/staging\\.yaml is 11[0-9]{5} bytes, $LIMIT_RE" "$PUSH_OUT"
check_match ".auger/vars of 1.1 MB: named with its size and the limit" \
	"remote: \\.auger/vars is 11[0-9]{5} bytes, $LIMIT_RE" "$PUSH_OUT"

# ================================================================ 4 Lists
section "4. the items of a List are documents"
LIST_CRB="apiVersion: v1
kind: List
metadata:
  name: bundle
items:
$(printf '%s\n' "$CRB" | sed '1s/^/- /; 2,$s/^/  /')"
printf '%s\n' "$LIST_CRB" >"$GS/web/list.yaml"
try "$GS" "$DEP" "web: a List holding a ClusterRoleBinding"
refused "kind List with a ClusterRoleBinding item (push)" \
	'validate-k8s: web/list\.yaml: document 1 item 1: kind ClusterRoleBinding is cluster-scoped'
pl_reset "$GS"
{
	printf 'apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMapList\n  items:\n'
	printf '%s\n' "$CRB" | sed '1s/^/  - /; 2,$s/^/    /'
} >"$GS/web/list.yaml"
try "$GS" "$DEP" "web: a List in a List"
refused "ClusterRoleBinding in a ConfigMapList in a List (push)" \
	'web/list\.yaml: document 1 item 1 item 1: kind ClusterRoleBinding is cluster-scoped'
pl_reset "$GS"
{
	printf 'apiVersion: v1\nkind: List\nitems:\n'
	printf -- '- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: twin\n'
	printf -- '- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: twin\n'
	printf -- '- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: Bad_Name\n'
} >"$GS/web/list.yaml"
try "$GS" "$DEP" "web: a List with a duplicate and a bad name"
refused "List items: duplicates" 'document 1 item 2: ConfigMap "twin" is defined twice in folder web \(first in web/list\.yaml document 1 item 1\)'
check_match "List items: names" 'document 1 item 3: metadata\.name "Bad_Name" is not a valid name' "$PUSH_OUT"
pl_reset "$GS"
# JSON is YAML: ten Lists, each the only item of the one around it.
jq -n 'reduce range(9) as $i ({apiVersion: "v1", kind: "List", items: []};
	{apiVersion: "v1", kind: "List", items: [.]})' >"$GS/web/list.yaml"
try "$GS" "$DEP" "web: Lists ten deep"
refused "Lists nested ten deep" 'Lists nested deeper than 8 levels'
pl_reset "$GS"
printf 'apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: listed\n' >"$GS/web/list.yaml"
try "$GS" "$DEP" "web: a List of one ConfigMap"
check_eq "a List of a ConfigMap (no name of its own) is accepted" 0 "$PUSH_RC"
g -C "$GS" pull -q --ff-only origin main >/dev/null 2>&1 || pl_reset "$GS"

# The same rules for rendered manifests: via the API.
LISTX=$(jq -cn --arg m "$LIST_CRB" '{manifests: $m}')
api POST /api/artifact "$(art listy staging ci "$LISTX")" "$DEP"
expect_error "POST /api/releases, manifests: a List holding a ClusterRoleBinding" 400 POST /api/releases \
	"{\"env\":\"staging\",\"artifactId\":\"$(jf '.id // empty' <<<"$API_BODY")\"}" \
	'listy/manifests\.yaml: document 1 item 1: kind ClusterRoleBinding is cluster-scoped' "$DEP"
check_not "... no listy/ folder" pl_has staging listy
no_cluster_admin "... no cluster-admin binding committed"

# ================================================================ 6 lists by scope
section "6. lists show what the credential's envs hold"
api POST /api/artifact "$(art web staging ci '{}' '{"STAGING_ONLY":"s3cret-staging"}')"
ART_S=$(jf '.id // empty' <<<"$API_BODY")
api POST /api/artifact "$(art web production ci '{}' '{"PROD_ONLY":"s3cret-prod"}')"
ART_P=$(jf '.id // empty' <<<"$API_BODY")
[ -n "$ART_S" ] && [ -n "$ART_P" ] || die "storing two artifacts" "$API_BODY"
api GET /api/artifacts "" "$RD"
check_eq "read token (production): GET /api/artifacts: 200" 200 "$API_STATUS"
check_match "... lists production's artifact" "\"$ART_P\"" "$API_BODY"
check_not "... not staging's" grep -q -- "$ART_S" <<<"$API_BODY"
check_not "... nor staging's vars" grep -q s3cret-staging <<<"$API_BODY"
check_eq "... every artifact listed has a production manifest" 0 \
	"$(jq '[.[] | select([.environments[]?.env] | index("production") | not)] | length' <<<"$API_BODY")"
api GET "/api/artifacts?limit=1" "" "$RD"
check_eq "read token, limit=1: the filter applies before paging" "$ART_P" "$(jf '.[0].id' <<<"$API_BODY")"
api GET /api/artifacts "" "$DEP"
check_match "deploy token (staging): lists staging's artifact" "\"$ART_S\"" "$API_BODY"
check_not "... not production's vars" grep -q s3cret-prod <<<"$API_BODY"
api GET "/api/artifacts?limit=1000" ""
check_match "admin: sees both" "$ART_S.*$ART_P|$ART_P.*$ART_S" "$(jf '[.[].id] | join(" ")' <<<"$API_BODY")"
# One artifact for both envs: each credential sees its envs' manifests and
# deploy results, never the other env's values.
TWO=$(art two staging main '{"values":{"image":{"repository":"ghcr.io/acme/sec","tag":"1.0.0"},"vars":{"MARK":"values-of-staging"}}}' |
	jq -c '.environments += [.environments[0] | .env = "production" | .values.vars.MARK = "values-of-production"]')
api POST /api/artifact "$TWO"
ART_2=$(jf '.id // empty' <<<"$API_BODY")
check_eq "an artifact for staging and production, deployed to both: results for both" "production staging" \
	"$(jf '[.releases[]?.env] | unique | join(" ")' <<<"$API_BODY")"
api GET "/api/artifacts?limit=1000" "" "$RD"
ONE=$(jq -c --arg id "$ART_2" '.[] | select(.id == $id)' <<<"$API_BODY")
check_eq "read token (production): lists it with production's manifest only" production \
	"$(jf '[.environments[].env] | join(" ")' <<<"$ONE")"
check_not "... none of staging's values" grep -q values-of-staging <<<"$API_BODY"
check_eq "... and production's deploy results only" production "$(jf '[.releases[]?.env] | unique | join(" ")' <<<"$ONE")"
api GET "/api/eventArtifactTrack?artifactId=$ART_2" "" "$RD"
check_eq "read token: eventArtifactTrack of it: 200" 200 "$API_STATUS"
check_eq "... production's results only" production "$(jf '[.results[]?.env] | unique | join(" ")' <<<"$API_BODY")"
api GET "/api/artifacts?limit=1000" "" "$DEP"
ONE=$(jq -c --arg id "$ART_2" '.[] | select(.id == $id)' <<<"$API_BODY")
check_eq "deploy token (staging): lists it with staging's manifest only" staging \
	"$(jf '[.environments[].env] | join(" ")' <<<"$ONE")"
check_not "... none of production's values" grep -q values-of-production <<<"$API_BODY"
api GET "/api/eventArtifactTrack?artifactId=$ART_S" "" "$RD"
check_eq "read token (production): eventArtifactTrack of a staging-only artifact: 404" 404 "$API_STATUS"
api GET "/api/artifacts?limit=1000" ""
check_eq "admin: sees both manifests" "production staging" \
	"$(jq -r --arg id "$ART_2" '.[] | select(.id == $id) | [.environments[].env] | sort | join(" ")' <<<"$API_BODY")"
# The other lists: scoped, or admin only.
expect_error "read token: GET /api/releases without env=" 400 GET /api/releases "" '"env" is required' "$RD"
expect_error "read token: GET /api/releases?env=staging" 403 GET "/api/releases?env=staging" "" 'may not' "$RD"
expect_error "read token: GET /api/status without env=" 400 GET /api/status "" '"env" is required' "$RD"
expect_error "read token: GET /api/status?env=staging" 403 GET "/api/status?env=staging" "" 'may not' "$RD"
api GET /api/envs "" "$RD"
check_eq "read token: GET /api/envs lists production only" production "$(jf '[.envs[].name] | join(" ")' <<<"$API_BODY")"
api GET /api/repos "" "$RD"
check_eq "read token: GET /api/repos lists production's repos only" "gitops-production-apps gitops-production-infra" \
	"$(jf '[.repos[].name] | sort | join(" ")' <<<"$API_BODY")"
expect_error "read token: GET /api/tokens" 403 GET /api/tokens "" 'admin' "$RD"
expect_error "deploy token: GET /api/tokens" 403 GET /api/tokens "" 'admin' "$DEP"
expect_error "read token: GET /api/keys" 403 GET /api/keys "" 'admin' "$RD"

# ================================================================ 7 credentials
section "7. token and key fields, rollback targets"
tok() { printf '{"name":"%s","role":"deploy","envs":%s}' "$1" "$2"; }
# Each case has a name of its own, so a token one case stores on old code
# cannot turn the next case into a 409 that hides its verdict.
expect_error 'envs ["*","staging"]' 400 POST /api/tokens "$(tok t1a '["*","staging"]')" '"envs"\[0\] is "\*" among env names: "\*" stands alone'
expect_error 'envs ["staging","*"]' 400 POST /api/tokens "$(tok t1b '["staging","*"]')" '"envs"\[1\] is "\*" among env names'
expect_error 'envs [""]' 400 POST /api/tokens "$(tok t1c '[""]')" '"envs"\[0\] is empty'
expect_error 'envs [1]' 400 POST /api/tokens "$(tok t1d '[1]')" '"envs"\[0\] is not a string'
expect_error 'envs ["staging", null]' 400 POST /api/tokens "$(tok t1e '["staging",null]')" '"envs"\[1\] is not a string'
expect_error 'envs ["nope"]' 400 POST /api/tokens "$(tok t1f '["nope"]')" '"envs"\[0\]: no env "nope"'
expect_error 'envs []' 400 POST /api/tokens "$(tok t1g '[]')" '"envs" is empty'
expect_error 'envs "staging" (not an array)' 400 POST /api/tokens "$(tok t1h '"staging"')" '"envs" must be an array'
expect_error 'envs ["staging","staging"]' 400 POST /api/tokens "$(tok t1i '["staging","staging"]')" '"envs"\[1\]: "staging" is listed twice'
# A scope is never implied: read and deploy credentials name their envs.
ENVS_RULE='"envs" is required for a (read|deploy) credential: name existing envs, or \["\*"\] for all envs'
expect_error 'deploy token with envs left out' 400 POST /api/tokens '{"name":"t1j","role":"deploy"}' "$ENVS_RULE"
expect_error 'read token with envs left out' 400 POST /api/tokens '{"name":"t1k","role":"read"}' "$ENVS_RULE"
expect_error 'deploy token with "envs": null' 400 POST /api/tokens '{"name":"t1l","role":"deploy","envs":null}' '"envs"'
api GET /api/tokens
check_match "GET /api/tokens lists the tokens" 'rd-production' "$(jf '[.tokens[].name] | join(" ")' <<<"$API_BODY")"
check_eq "none of those tokens was stored" "" "$(jf '[.tokens[].name | select(test("^t1"))] | join(" ")' <<<"$API_BODY")"
api POST /api/tokens '{"name":"adm-noenv","role":"admin"}'
check_eq 'admin token with envs left out: 201 (admin spans all envs)' 201 "$API_STATUS"
check_eq '... stored as ["*"]' '["*"]' "$(jq -c '.envs' <<<"$API_BODY" 2>&1)"
for n in admin Admin flux-events auger-staging-git auger-production-events auger-x; do
	expect_error "token name $n" 400 POST /api/tokens "$(tok "$n" '["staging"]')" "\"name\" \"$n\" is reserved"
done
api POST /api/tokens "$(tok ok-t '["staging","production"]')"
check_eq 'envs ["staging","production"]: 201' 201 "$API_STATUS"
api POST /api/tokens "$(tok ok-all '["*"]')"
check_eq 'envs ["*"]: 201' 201 "$API_STATUS"
ssh-keygen -q -t ed25519 -N '' -C k@auger-test -f "$T/k1" </dev/null >/dev/null || die "ssh-keygen"
key() { jq -cn --arg n "$1" --argjson e "$2" --arg p "$(cat "$T/k1.pub")" '{name: $n, role: "deploy", envs: $e, publicKey: $p}'; }
expect_error 'key: envs ["nope"]' 400 POST /api/keys "$(key k1a '["nope"]')" '"envs"\[0\]: no env "nope"'
expect_error 'key: envs ["*","production"]' 400 POST /api/keys "$(key k1b '["*","production"]')" '"\*" stands alone'
expect_error 'key: name auger-staging-git' 400 POST /api/keys "$(key auger-staging-git '["staging"]')" 'is reserved'
expect_error 'key: name flux-events' 400 POST /api/keys "$(key flux-events '["staging"]')" 'is reserved'
# A key of its own: stored on old code, it must not make k1's a 409.
ssh-keygen -q -t ed25519 -N '' -C k2@auger-test -f "$T/k2" </dev/null >/dev/null || die "ssh-keygen"
expect_error 'key: deploy with envs left out' 400 POST /api/keys \
	"$(jq -cn --arg p "$(cat "$T/k2.pub")" '{name: "k1c", role: "deploy", publicKey: $p}')" "$ENVS_RULE"
api POST /api/keys "$(key k1 '["staging"]')"
check_eq 'key with envs ["staging"]: 201 (the key was not stored by a refused case)' 201 "$API_STATUS"
if [ -x "$AUGER" ]; then
	out=$(AUGER_URL=$URL AUGER_TOKEN=$TOKEN timeout 10 "$AUGER" token create cli-noenv --role deploy 2>&1)
	rc=$?
	check_eq "auger token create --role deploy without --env: exit 2" 2 "$rc"
	check_match "... says --env or --all-envs is needed" 'needs its envs: --env ENV .* or --all-envs' "$out"
	out=$(AUGER_URL=$URL AUGER_TOKEN=$TOKEN timeout 10 "$AUGER" token create cli-all --role read --all-envs 2>/dev/null)
	api GET /api/tokens
	check_eq 'auger token create --all-envs: envs ["*"]' '["*"]' \
		"$(jq -c '[.tokens[] | select(.name == "cli-all") | .envs][0]' <<<"$API_BODY" 2>&1)"
fi
api POST /api/bootstrap '{"env":"staging"}'
check_eq "bootstrap's read token is auger-staging-git (the Secret's name)" auger-staging-git "$(jf .tokenName <<<"$API_BODY")"
EVT=$(jf '.secrets // empty' <<<"$API_BODY" | awk '/name: auger-.*-events/ { e = 1 } e && /^  token:/ { print $2; exit }')
api POST /api/bootstrap '{"env":"staging"}'
check_eq "... the next one auger-staging-git-2" auger-staging-git-2 "$(jf .tokenName <<<"$API_BODY")"

# Rollback targets: two releases of app roll, then malformed "to"s.
api POST /api/artifact "$(art roll staging ci)"
release staging "$(jf .id <<<"$API_BODY")"
[ "$API_STATUS" = 201 ] || die "deploy roll #1" "$API_BODY"
api POST /api/artifact "$(art roll staging ci '{"values":{"image":{"repository":"ghcr.io/acme/sec","tag":"2.0.0"}}}')"
release staging "$(jf .id <<<"$API_BODY")"
[ "$API_STATUS" = 201 ] || die "deploy roll #2" "$API_BODY"
M0=$(pl_gref staging)
TO_RULE='"to" must be a release number \(1, 2, \.\.\.\) or a 40-hex gitops commit sha; leave it out for the release before the current one'
for to in 1.5 '{}' -1 '""' '"abc"' '"0"' '"01"' '"+1"' '" 1"' true '[]' '"abcdef1"'; do
	expect_error "rollback \"to\": $to" 400 POST /api/rollback "{\"env\":\"staging\",\"app\":\"roll\",\"to\":$to}" "$TO_RULE" "$DEP"
done
expect_error "rollback ?sha= (empty)" 400 POST "/api/rollback?env=staging&app=roll&sha=" "" "$TO_RULE" "$DEP"
check_eq "no malformed target rolled anything back" "$M0" "$(pl_gref staging)"
api POST /api/rollback '{"env":"staging","app":"roll","to":1}' "$DEP"
check_eq 'rollback "to": 1 still works: 201' 201 "$API_STATUS"
api POST /api/rollback '{"env":"staging","app":"roll","to":"2"}' "$DEP"
check_eq 'rollback "to": "2" still works: 201' 201 "$API_STATUS"
api POST /api/rollback '{"env":"staging","app":"roll","to":null}' "$DEP"
check_eq 'rollback "to": null = the release before the current one: 201' 201 "$API_STATUS"

# ================================================================ 15 Flux events
section "15. Flux events"
[ -n "$EVT" ] || die "no events token from bootstrap"
SIG401='bad or missing X-Signature'
expect_error "unsigned event, env staging" 401 POST "/api/flux-events?env=staging" '{"reason":"x"}' "$SIG401" ""
expect_error "unsigned event, env nope (does not exist)" 401 POST "/api/flux-events?env=nope" '{"reason":"x"}' "$SIG401" ""
B1=$API_BODY
api POST "/api/flux-events?env=staging" '{"reason":"x"}' ""
check_eq "... the same answer whether the env exists or not" "$API_BODY" "$B1"
expect_error "unsigned event, env Bad_Name" 401 POST "/api/flux-events?env=Bad_Name" '{"reason":"x"}' "$SIG401" ""
expect_error "unsigned event, no ?env= at all" 401 POST "/api/flux-events" '{"reason":"x"}' "$SIG401" ""
check_eq "... the same answer as for an env that exists" "$B1" "$API_BODY"

# sig_event ENV KEY BODY: POST a body signed with KEY.
sig_event() {
	local sig
	sig=$(printf '%s' "$3" | openssl dgst -sha256 -hmac "$2" | awk '{ print $NF }')
	API_STATUS=$(curl -s -o "$T/ev.body" -w '%{http_code}' --max-time 30 -X POST \
		-H 'Content-Type: application/json' -H "X-Signature: sha256=$sig" \
		--data-binary "$3" "$URL/api/flux-events?env=$1")
	API_BODY=$(cat "$T/ev.body" 2>/dev/null)
}
HEAD_S=$(pl_gref staging)
sig_event nope "$EVT" '{"reason":"x","metadata":{"revision":"main@sha1:'"$HEAD_S"'"}}'
check_eq "event for env nope signed with staging's key: 401" 401 "$API_STATUS"
# (Vacuous on the base, where both were a 404: the 401 checks carry it.)
check_eq "... the same answer as unsigned" "$B1" "$API_BODY"
sig_event nope 0000000000000000000000000000000000000000000000000000000000000000 '{"reason":"x"}'
check_eq "event for env nope signed with a guessable key: 401" 401 "$API_STATUS"
sig_event staging wrong-key '{"reason":"x"}'
check_eq "event for staging, bad signature: 401" 401 "$API_STATUS"
check_eq "... the same answer" "$B1" "$API_BODY"

# A 6 KB reason of two-byte characters and a 10 KB message.
REASON="x$(printf 'é%.0s' $(seq 3000))"
LONGMSG=$(head -c 10240 /dev/zero | tr '\0' 'm')
EVB=$(jq -cn --arg r "$REASON" --arg m "$LONGMSG" --arg rev "main@sha1:$HEAD_S" \
	'{involvedObject: {kind: "Kustomization", name: "gitops-staging-apps"}, reason: $r, message: $m, metadata: {revision: $rev}}')
sig_event staging "$EVT" "$EVB"
check_eq "signed event with a 6 KB reason: 200" 200 "$API_STATUS"
api GET "/api/releases?env=staging&limit=1"
ST=$(jf '.[0].gitopsCommitStatus // empty' <<<"$API_BODY")
SD=$(jf '.[0].gitopsCommitStatusDesc // empty' <<<"$API_BODY")
STB=$(printf '%s' "$ST" | wc -c | tr -d ' ')
SDB=$(printf '%s' "$SD" | wc -c | tr -d ' ')
if [ "$STB" -le 4096 ] && [ "$STB" -ge 4090 ]; then ok "stored reason cut to at most 4 KiB ($STB bytes)"; else
	fail "stored reason cut to at most 4 KiB" "got $STB bytes"; fi
check "... on a UTF-8 boundary (valid UTF-8)" iconv -f UTF-8 -t UTF-8 <<<"$ST"
check_match "... the head of the reason" '^xéé' "$ST"
if [ "$SDB" -le 4096 ] && [ "$SDB" -ge 4000 ]; then ok "stored message cut to at most 4 KiB ($SDB bytes)"; else
	fail "stored message cut to at most 4 KiB" "got $SDB bytes"; fi
ANSB=$(sig_event staging "$EVT" "$EVB"; jf '.status' <<<"$API_BODY" | wc -c | tr -d ' ')
if [ "$ANSB" -le 4097 ]; then ok "the answer's status is bounded too ($ANSB bytes)"; else
	fail "the answer's status is bounded too" "got $ANSB bytes"; fi
# log.c cuts every line at 2 KiB, before and after the fix alike, so the
# length alone proves little; what the fix adds is that the reason is
# logged as text of one line: a newline in it cannot forge a log line.
LONGEST=$(grep 'flux event' "$DAEMON_LOG" | awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }')
if [ "$LONGEST" -le 4400 ]; then ok "flux event log lines stay under 4 KiB and a line ($LONGEST bytes)"; else
	fail "flux event log lines stay under 4 KiB" "longest: $LONGEST bytes"; fi
EVB=$(jq -cn --arg rev "main@sha1:$HEAD_S" --arg r $'ok\n2026-01-01T00:00:00.000Z info FORGED access admin admin push x: allowed' \
	'{involvedObject: {kind: "Kustomization", name: "gitops-staging-apps"}, reason: $r, message: "m", metadata: {revision: $rev}}')
sig_event staging "$EVT" "$EVB"
check_eq "signed event whose reason holds a newline: 200" 200 "$API_STATUS"
check_not "... the newline forged no log line" grep -q '^2026-01-01T00:00:00.000Z info FORGED' "$DAEMON_LOG"
check_match "... the reason is logged on its own line, the newline shown as ?" 'flux event staging: .*ok\?2026-01-01.*FORGED' "$(cat "$DAEMON_LOG")"

check "daemon still alive" daemon_alive

# ================================================================ 3 again: the header path
# With the default --max-blob the 300 MB file of §3 is refused by the pack
# scanner. With --max-blob raised above it, the per-file limit is what
# refuses it, from the object header, before the blob is inflated.
section "3b. the per-file limit from the object header (--max-blob 400 MiB)"
stop_daemon
AUGERD_ARGS="--max-blob 419430400 ${AUGERD_ARGS:-}"
start_daemon "$T/data-blob"
pl_env staging
DEP=$(pl_token dep-staging deploy staging)
GH=$T/gh
pl_clone_gitops staging "$GH" "$DEP"
git -C "$GH" config core.bigFileThreshold 1m
mkdir -p "$GH/web"
truncate -s 300M "$GH/web/huge.yaml"
HWM0=$(peak_kb)
try "$GH" "$DEP" "web: 300 MB, under --max-blob"
rm -f "$GH/web/huge.yaml"
refused "web/huge.yaml of 300 MB under --max-blob 400 MiB" "web/huge\\.yaml is 314572800 bytes, $LIMIT_RE"
check_match "... refused by the per-file limit, not the pack scanner" "remote: web/huge\\.yaml is 314572800 bytes, $LIMIT_RE" "$PUSH_OUT"
peak_grew_under 51200 "... without inflating it"
check "daemon alive after it" daemon_alive
finish
