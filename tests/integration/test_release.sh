#!/usr/bin/env bash
# The release engine end to end, over the API and the CLI: environments and
# their repositories, bootstrap Secrets, artifacts (Gimlet's shape, policy
# deploys), deploys, unchanged redeploys, rollbacks (one commit, the exact
# earlier tree), delete, history and status, bad requests that change
# nothing, token scopes, `auger manifest template`, a restart, and 240
# concurrent deploys into two envs.
#
#   bash tests/integration/test_release.sh
#   RELEASE_CONC_DEPLOYS=200 RELEASE_CONC_APPS=50 (defaults)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/release_lib.sh"

CONC_DEPLOYS=${RELEASE_CONC_DEPLOYS:-200}
CONC_APPS=${RELEASE_CONC_APPS:-50}

start_daemon
export AUGER_URL=$URL AUGER_TOKEN=$TOKEN

# cli ARGS...: the auger CLI, killed after CLI_TIMEOUT seconds (it must
# exit once it has its answer).
CLI_TIMEOUT=${CLI_TIMEOUT:-5}
cli() {
	local rc
	timeout -k 2 "$CLI_TIMEOUT" "$AUGER" "$@"
	rc=$?
	[ $rc -eq 124 ] && echo "auger $*: still running after ${CLI_TIMEOUT}s (killed)" >&2
	return $rc
}

# section NAME: a marker with the seconds since the start.
section() { echo "# $1 (${SECONDS}s)"; }

# no_change DESC ENV MAIN COUNT HISTLEN: the env's main, commit count and
# history length are what they were.
no_change() {
	local desc=$1 env=$2 m=$3 c=$4 hl=$5 nm nc nh
	nm=$(apps_main "$env")
	nc=$(apps_count "$env")
	nh=$(rl_history "$env" limit=1000 | jq 'length')
	if [ "$nm" = "$m" ] && [ "$nc" = "$c" ] && [ "$nh" = "$hl" ]; then
		ok "$desc"
	else
		fail "$desc" "main $m -> $nm" "commits $c -> $nc" "history length $hl -> $nh"
	fi
}

# expect_error DESC STATUS METHOD PATH BODY [MESSAGE_REGEX] [TOKEN]
expect_error() {
	local desc=$1 want=$2 method=$3 path=$4 body=${5-} re=${6:-.} tok=${7-$TOKEN} msg
	api "$method" "$path" "$body" "$tok"
	msg=$(printf '%s' "$API_BODY" | jq -r '.error // empty' 2>/dev/null)
	if [[ $API_STATUS =~ ^($want)$ ]] && [ -n "$msg" ] && printf '%s' "$msg" | grep -Eq -- "$re"; then
		ok "$desc: $want {\"error\": \"$(printf '%s' "$msg" | head -c 100)\"}"
	else
		fail "$desc" "request: $method $path $(printf '%s' "$body" | head -c 300)" \
			"expected: $want with an error message matching /$re/" "got: $API_STATUS $API_BODY"
	fi
}

# one_commit_on DESC ENV OLD_MAIN: main moved by exactly one commit whose
# parent is OLD_MAIN.
one_commit_on() {
	local desc=$1 env=$2 old=$3 new parent
	new=$(apps_main "$env")
	parent=$(apps_git "$env" rev-parse -q --verify "$new^1" 2>/dev/null)
	if [ "$new" != "$old" ] && [ "$parent" = "$old" ]; then
		ok "$desc"
	else
		fail "$desc" "old main $old, new main $new, parent of new ${parent:-none}"
	fi
}

# extract ENV REF DIR: the tree of REF, as files under DIR.
extract() {
	rm -rf "$3" && mkdir -p "$3" && apps_git "$1" archive "$2" | tar -x -C "$3"
}

# ================================================================ envs
section "envs"
api POST /api/envs '{"name":"staging"}'
check_eq "POST /api/envs staging: 201" 201 "$API_STATUS"
check_eq "env answer: name" staging "$(jf .name <<<"$API_BODY")"
check_eq "env answer: appsRepo" gitops-staging-apps "$(jf .appsRepo <<<"$API_BODY")"
check_eq "env answer: infraRepo" gitops-staging-infra "$(jf .infraRepo <<<"$API_BODY")"
check_eq "env answer: created is a number" number "$(jf '.created | type' <<<"$API_BODY")"
check_eq "env answer does not leak the events token" null "$(jf '.eventsToken' <<<"$API_BODY")"
expect_error "POST /api/envs staging again" 409 POST /api/envs '{"name":"staging"}'
expect_error "POST /api/envs bad name" 400 POST /api/envs '{"name":"Bad Name!"}'
expect_error "POST /api/envs no name" 400 POST /api/envs '{}'
expect_error "POST /api/envs malformed JSON" 400 POST /api/envs '{"name":'
api POST /api/envs '{"name":"production"}'
[ "$API_STATUS" = 201 ] || die "POST /api/envs production -> $API_STATUS" "$API_BODY"
if out=$(cli env create qa 2>&1); then
	check_match "auger env create qa names its repos" 'gitops-qa-apps' "$out"
else
	fail "auger env create qa" "$out"
fi
api GET /api/envs
check_eq "GET /api/envs lists staging, production, qa" "production qa staging" \
	"$(jf '[.envs[].name] | sort | join(" ")' <<<"$API_BODY")"
out=$(cli env list 2>&1)
check_match "auger env list shows staging with its repos" 'staging +gitops-staging-apps +gitops-staging-infra' "$out"

# The repositories and their first commit.
out=$(g clone -q "$URL/gitops-staging-apps.git" "$T/st0" 2>&1) || die "clone gitops-staging-apps" "$out"
check_eq "gitops-staging-apps starts with one commit" 1 "$(git -C "$T/st0" rev-list --count HEAD)"
for f in README.md flux/gitops-repo-staging-apps.yaml flux/notifications-staging.yaml; do
	check "gitops-staging-apps has $f" test -s "$T/st0/$f"
done
GR=$T/st0/flux/gitops-repo-staging-apps.yaml
check_match "flux/gitops-repo: a GitRepository" '(^|\n)kind: GitRepository' "$(cat "$GR" 2>/dev/null)"
check_match "flux/gitops-repo: a Kustomization" '(^|\n)kind: Kustomization' "$(cat "$GR" 2>/dev/null)"
check_match "flux/gitops-repo: url is the public URL of gitops-staging-apps.git" \
	"url: \"?$URL/gitops-staging-apps\\.git\"?" "$(grep 'url:' "$GR" 2>/dev/null)"
check_match "flux/gitops-repo: Kustomization path ./flux" 'path: "?\./flux"?' "$(cat "$GR" 2>/dev/null)"
NF=$T/st0/flux/notifications-staging.yaml
check_match "flux/notifications: a generic-hmac Provider" 'kind: Provider' "$(cat "$NF" 2>/dev/null)"
check_match "flux/notifications: type generic-hmac" 'type: "?generic-hmac"?' "$(cat "$NF" 2>/dev/null)"
check_match "flux/notifications: an Alert" 'kind: Alert' "$(cat "$NF" 2>/dev/null)"
check_match "flux/notifications: address is /api/flux-events" 'address: .*/api/flux-events' "$(cat "$NF" 2>/dev/null)"
for f in "$GR" "$NF"; do
	check "$(basename "$f") is well-formed YAML (structure)" yaml_lint "$f"
	check "$(basename "$f"): every document has apiVersion, kind, metadata.name, namespace" yaml_k8s "$f"
done
out=$(g clone -q "$URL/gitops-staging-infra.git" "$T/inf0" 2>&1)
check "gitops-staging-infra exists and clones" test -s "$T/inf0/README.md"
check_eq "gitops-production-apps exists" 1 "$(apps_count production)"

# ================================================================ bootstrap
section "bootstrap"
api POST /api/bootstrap '{"env":"staging"}'
check_eq "POST /api/bootstrap: 201" 201 "$API_STATUS"
SECRETS=$(jf '.secrets // empty' <<<"$API_BODY")
check_eq "bootstrap: env" staging "$(jf .env <<<"$API_BODY")"
check_eq "bootstrap Secrets: two Secrets" 2 "$(printf '%s\n' "$SECRETS" | grep -c '^kind: Secret')"
check_match "bootstrap Secrets: auger-staging-git" 'name: auger-staging-git' "$SECRETS"
check_match "bootstrap Secrets: auger-staging-events" 'name: auger-staging-events' "$SECRETS"
printf '%s\n' "$SECRETS" >"$T/secrets.yaml"
check "bootstrap Secrets are well-formed YAML" yaml_lint "$T/secrets.yaml"
BOOT_USER=$(awk '/^  username:/ { print $2; exit }' "$T/secrets.yaml")
BOOT_PASS=$(awk '/^  password:/ { print $2; exit }' "$T/secrets.yaml")
EVENTS_TOKEN=$(awk '/name: auger-staging-events/ { e = 1 } e && /^  token:/ { print $2; exit }' "$T/secrets.yaml")
check_eq "bootstrap: username is the new token's name" "$(jf .tokenName <<<"$API_BODY")" "$BOOT_USER"
check_match "bootstrap: a password and an HMAC token" '^[^ ]{16,} [^ ]{16,}$' "$BOOT_PASS $EVENTS_TOKEN"
out=$(git_noauth -c "http.extraHeader=Authorization: Basic $(printf '%s:%s' "$BOOT_USER" "$BOOT_PASS" | base64 -w0)" \
	clone -q "$URL/gitops-staging-apps.git" "$T/boot-clone" 2>&1)
check "bootstrap's git credentials clone gitops-staging-apps (Basic auth)" test -s "$T/boot-clone/README.md"
out=$(git_noauth -c "http.extraHeader=Authorization: Basic $(printf '%s:%s' "$BOOT_USER" "$BOOT_PASS" | base64 -w0)" \
	clone -q "$URL/gitops-production-apps.git" "$T/boot-clone-prod" 2>&1)
check_not "bootstrap's git credentials do not clone production" test -d "$T/boot-clone-prod/.git"
expect_error "POST /api/bootstrap unknown env" 404 POST /api/bootstrap '{"env":"nope"}'
out=$(cli env bootstrap staging 2>&1)
check_eq "auger env bootstrap prints two Secrets" 2 "$(printf '%s\n' "$out" | grep -c '^kind: Secret')"

# ================================================================ artifact (policy deploy)
section "artifact (policy deploy)"
ST_C0=$(apps_count staging)
FIX_SHA=ea9ab7cc31b2599bf4afcfd639da516ca27a4780
api POST /api/artifact "$(cat "$FIXTURES/gimlet-artifact.json")"
check_eq "POST /api/artifact (Gimlet's docs example): 201" 201 "$API_STATUS"
ART1=$(jf '.id // empty' <<<"$API_BODY")
[ -n "$ART1" ] || die "artifact answer has no id" "$API_BODY"
check_eq "artifact answer keeps version.sha" "$FIX_SHA" "$(jf .version.sha <<<"$API_BODY")"
check_eq "artifact answer keeps items" CI "$(jf '.items[0].name' <<<"$API_BODY")"
check_eq "policy: only staging's manifest (branch main, push) deployed" "staging/web" \
	"$(jf '[.releases[] | "\(.env)/\(.app)"] | join(" ")' <<<"$API_BODY")"
R1=$(jf '.releases[0]' <<<"$API_BODY")
check_eq "policy release: action deploy" deploy "$(jf .action <<<"$R1")"
check_eq "policy release: triggeredBy policy" policy "$(jf .triggeredBy <<<"$R1")"
check_eq "policy release: artifactId" "$ART1" "$(jf .artifactId <<<"$R1")"
check_eq "policy release: version.sha" "$FIX_SHA" "$(jf .version.sha <<<"$R1")"
check_eq "policy release: gitopsRepo" gitops-staging-apps "$(jf .gitopsRepo <<<"$R1")"
check_eq "policy release: rolledBack false" false "$(jf .rolledBack <<<"$R1")"
check_eq "policy release: seq and created are numbers" "number number" "$(jf '"\(.seq|type) \(.created|type)"' <<<"$R1")"
REF1=$(jf .gitopsRef <<<"$R1")
SEQ1=$(jf .seq <<<"$R1")
check_eq "policy release: gitopsRef is the new main" "$(apps_main staging)" "$REF1"
check_eq "policy release: one new commit" $((ST_C0 + 1)) "$(apps_count staging)"
TREE1=$(apps_git staging rev-parse "$REF1:web" 2>/dev/null)
check_eq "policy release: appTree is the tree of web/ in gitopsRef" "$TREE1" "$(jf .appTree <<<"$R1")"
check_eq "production's manifest (tag policy) did not deploy" 1 "$(apps_count production)"

SUBJ=$(apps_git staging log -1 --format=%s "$REF1")
check_eq "commit subject" "[auger] staging/web deploy ${FIX_SHA:0:7}" "$SUBJ"
TRAILER=$(apps_git staging log -1 --format=%B "$REF1" | sed -n 's/^Auger-Release: //p' | tail -n 1)
check_eq "Auger-Release trailer: JSON with app and env" "web staging deploy" \
	"$(jf '"\(.app) \(.env) \(.action)"' <<<"$TRAILER")"
FILES=$(apps_git staging ls-tree -r --name-only "$REF1" | sort | tr '\n' ' ')
for f in web/deployment.yaml web/service.yaml web/ingress.yaml web/configmap.yaml web/pdb.yaml \
	web/manifests.yaml web/release.json flux/kustomization-web.yaml flux/gitops-repo-staging-apps.yaml \
	flux/notifications-staging.yaml README.md; do
	check_match "deploy commit holds $f" "(^| )$f( |$)" "$FILES"
done
extract staging "$REF1" "$T/r1"
check_eq "web/release.json: app, env, version.sha" "web staging $FIX_SHA" \
	"$(jq -r '"\(.app) \(.env) \(.version.sha)"' "$T/r1/web/release.json" 2>/dev/null)"
check_eq "web/release.json: artifactId" "$ART1" "$(jq -r .artifactId "$T/r1/web/release.json" 2>/dev/null)"

# The rendered YAML.
for f in "$T"/r1/web/*.yaml "$T/r1/flux/kustomization-web.yaml"; do
	n=${f#"$T/r1/"}
	check "$n: well-formed YAML (structure)" yaml_lint "$f"
	check "$n: every document has apiVersion, kind, metadata.name, metadata.namespace" yaml_k8s "$f"
	if out=$(yaml_parse_via_auger "$f" 2>&1); then ok "$n: parses (libyaml, through auger manifest template)"; else fail "$n: parses (libyaml, through auger manifest template)" "$out"; fi
done
D=$T/r1/web
dep=$(cat "$D/deployment.yaml" 2>/dev/null)
check_match "deployment.yaml: kind Deployment" '(^|\n)kind: Deployment' "$dep"
check_eq "deployment.yaml: metadata.name web" web "$(yaml_value "$D/deployment.yaml" name)"
check_eq "deployment.yaml: namespace default" default "$(yaml_value "$D/deployment.yaml" namespace)"
check_match "deployment.yaml: image ghcr.io/acme/web:<sha>" "image: \"?ghcr\\.io/acme/web:$FIX_SHA\"?( |$)" "$(grep 'image:' "$D/deployment.yaml")"
check_eq "deployment.yaml: replicas 2" 2 "$(yaml_value "$D/deployment.yaml" replicas)"
check_match "deployment.yaml: containerPort 8080" 'containerPort: "?8080' "$dep"
check_match "deployment.yaml: env from the configmap" 'configMapRef|configMapKeyRef' "$dep"
check_match "service.yaml: kind Service" '(^|\n)kind: Service' "$(cat "$D/service.yaml" 2>/dev/null)"
check_match "service.yaml: selects the app (OneChart labels)" 'app.kubernetes.io/instance: "?web' "$(awk '/^  selector:/ { s = 1; next } s && /^    / { print; next } { s = 0 }' "$D/service.yaml" 2>/dev/null)"
ing=$(cat "$D/ingress.yaml" 2>/dev/null)
check_match "ingress.yaml: kind Ingress" '(^|\n)kind: Ingress' "$ing"
check_match "ingress.yaml: host web.example.com" 'host: "?web\.example\.com"?' "$ing"
check_match "ingress.yaml: tls for the host" 'tls:' "$ing"
check_match "ingress.yaml: tls secretName" 'secretName: ' "$ing"
cm=$(cat "$D/configmap.yaml" 2>/dev/null)
check_match "configmap.yaml: kind ConfigMap" '(^|\n)kind: ConfigMap' "$cm"
check_match "configmap.yaml: A=\"1\"" 'A: "1"' "$cm"
check_match "configmap.yaml: BUILD from artifact vars" 'BUILD: "?build-42"?' "$cm"
check_match "configmap.yaml: SOURCE_REPO from version.repositoryName" 'SOURCE_REPO: "?acme/web"?' "$cm"
check_match "pdb.yaml: a PodDisruptionBudget (replicas > 1)" '(^|\n)kind: PodDisruptionBudget' "$(cat "$D/pdb.yaml" 2>/dev/null)"
raw=$(cat "$D/manifests.yaml" 2>/dev/null)
check_match "manifests.yaml: the raw ConfigMap web-extra" 'name: "?web-extra' "$raw"
check_match "manifests.yaml: templated {{ .GITHUB_RUN_NUMBER }}" 'run: "42"' "$raw"
check_match "manifests.yaml: templated {{ .APP }}" 'app: "?web"?' "$raw"
check_match "manifests.yaml: namespace added" 'namespace: "?default' "$raw"
kz=$(cat "$T/r1/flux/kustomization-web.yaml" 2>/dev/null)
check_match "flux/kustomization-web.yaml: a Kustomization" 'kind: Kustomization' "$kz"
check_match "flux/kustomization-web.yaml: path ./web" 'path: "?\./web"?' "$kz"

api GET "/api/artifacts?repository=acme/web"
check_eq "GET /api/artifacts?repository=acme/web finds it" "$ART1" "$(jf '[.[].id] | map(select(. == "'"$ART1"'")) | .[0] // empty' <<<"$API_BODY")"
api GET "/api/artifacts?sha=$FIX_SHA"
check_eq "GET /api/artifacts?sha= finds exactly it" "$ART1" "$(jf '[.[].id] | join(" ")' <<<"$API_BODY")"
api GET "/api/artifacts?repository=acme/web&branch=nope"
check_eq "GET /api/artifacts?branch=nope: none" 0 "$(jf 'length' <<<"$API_BODY")"

# ================================================================ deploy via the API
section "deploy via the API"
SHA2=$(rl_sha web-2)
rl_push_ok "$(rl_artifact web staging "$SHA2")"
ART2=$ART_ID
check_eq "artifact on branch ci: no policy deploy" 0 "$(jf '.releases | length' <<<"$API_BODY")"
M=$(apps_main staging)
rl_deploy staging "$ART2" web
check_eq "POST /api/releases: 201" 201 "$API_STATUS"
R2=$(rl_rel)
REF2=$(jf .gitopsRef <<<"$R2")
SEQ2=$(jf .seq <<<"$R2")
check_eq "deploy: gitopsRef is main" "$(apps_main staging)" "$REF2"
one_commit_on "deploy: one commit on top of the last" staging "$M"
check_eq "deploy: seq follows" $((SEQ1 + 1)) "$SEQ2"
check_eq "deploy: triggeredBy is the caller (not policy)" 1 "$(jf 'if (.triggeredBy | type) == "string" and .triggeredBy != "policy" and .triggeredBy != "" then 1 else 0 end' <<<"$R2")"
TREE2=$(apps_git staging rev-parse "$REF2:web")
check_eq "deploy: appTree" "$TREE2" "$(jf .appTree <<<"$R2")"
check_match "deploy: image tag is the new sha" "ghcr\\.io/acme/web:$SHA2" "$(apps_git staging show "$REF2:web/deployment.yaml")"
check_eq "deploy: flux/kustomization-web.yaml unchanged" "$(apps_git staging rev-parse "$REF1:flux/kustomization-web.yaml")" \
	"$(apps_git staging rev-parse "$REF2:flux/kustomization-web.yaml")"

HL=$(rl_history staging limit=1000 | jq length)
C=$(apps_count staging)
rl_deploy staging "$ART2" web
check_eq "unchanged redeploy: 201" 201 "$API_STATUS"
check_eq "unchanged redeploy: status unchanged" "web staging unchanged" "$(rl_rel | jf '"\(.app) \(.env) \(.status)"')"
no_change "unchanged redeploy: no commit, no release" staging "$REF2" "$C" "$HL"

# ================================================================ deploy via the CLI
section "deploy via the CLI"
sleep 1.1 # later releases get a later created second (since/until below)
SHA3=$(rl_sha web-3)
rl_artifact web staging "$SHA3" >"$T/art3.json"
if out=$(cli artifact push -f "$T/art3.json" 2>&1); then
	ART3=$(printf '%s\n' "$out" | head -n 1)
	ok "auger artifact push"
else
	ART3=""
	fail "auger artifact push" "$out"
fi
api GET "/api/artifacts?sha=$SHA3"
check_eq "auger artifact push prints the id first" "$(jf '.[0].id' <<<"$API_BODY")" "$ART3"
[ -n "$ART3" ] || ART3=$(jf '.[0].id' <<<"$API_BODY")
M=$(apps_main staging)
if out=$(cli release make --env staging --artifact "$ART3" --app web 2>&1); then ok "auger release make"; else fail "auger release make" "$out"; fi
one_commit_on "auger release make: one commit" staging "$M"
REF3=$(apps_main staging)
TREE3=$(apps_git staging rev-parse "$REF3:web")
check_match "auger release make: prints the release" "web +deploy +${REF3:0:12}" "$out"
check_match "auger release make: the image tag" "ghcr\\.io/acme/web:$SHA3" "$(apps_git staging show "$REF3:web/deployment.yaml")"
SEQ3=$(rl_history staging app=web\&limit=1 | jf '.[0].seq')

# ================================================================ go-git, Flux's clone
section "go-git, Flux's clone"
need_interop
rm -rf "$T/gg"
if out=$(AUGER_USER=$BOOT_USER AUGER_TOKEN=$BOOT_PASS timeout -k 5 "$CMD_TIMEOUT" "$GOGIT_CLIENT" clone "$URL/gitops-staging-apps.git" "$T/gg" --depth 1 2>&1); then
	ok "go-git depth-1 clone with the bootstrap read token"
else
	fail "go-git depth-1 clone with the bootstrap read token" "$out"
fi
for f in web/deployment.yaml web/service.yaml web/ingress.yaml web/configmap.yaml web/pdb.yaml web/release.json flux/kustomization-web.yaml; do
	check "go-git clone has $f" test -s "$T/gg/$f"
done
extract staging "$REF3" "$T/r3"
check "go-git clone equals main's tree" tree_diff "$T/r3" "$T/gg"

# ================================================================ a second app
section "a second app"
SHA_API=$(rl_sha api-1)
rl_push_ok "$(rl_artifact api staging "$SHA_API" main)"
check_eq "artifact on main deploys api by policy" "api" "$(jf '[.releases[].app] | join(" ")' <<<"$API_BODY")"
REF_API=$(jf '.releases[0].gitopsRef' <<<"$API_BODY")
TREE_API=$(apps_git staging rev-parse "$REF_API:api")
check_eq "api's deploy left web/ alone" "$TREE3" "$(apps_git staging rev-parse "$REF_API:web")"

# ================================================================ rollback
section "rollback"
# rollback_ok DESC EXPECTED_TREE EXPECTED_TO: the last answer is a rollback
# release whose appTree is EXPECTED_TREE, in one commit on top of M that
# changes web/ only and leaves api/ alone.
rollback_ok() {
	local desc=$1 tree=$2 to=$3 r new
	r=$API_BODY
	check_eq "$desc: 201" 201 "$API_STATUS"
	check_eq "$desc: action rollback, rollbackTo $to" "rollback $to" "$(jf '"\(.action) \(.rollbackTo)"' <<<"$r")"
	check_eq "$desc: appTree is the target's" "$tree" "$(jf .appTree <<<"$r")"
	new=$(apps_main staging)
	check_eq "$desc: gitopsRef is main" "$new" "$(jf .gitopsRef <<<"$r")"
	check_eq "$desc: web/ in the commit is exactly the target tree" "$tree" "$(apps_git staging rev-parse "$new:web" 2>/dev/null)"
	one_commit_on "$desc: exactly one commit" staging "$M"
	check_eq "$desc: one more commit (rev-list --count)" $((C + 1)) "$(apps_count staging)"
	check_eq "$desc: only web/ changed" "" "$(apps_git staging diff --name-only "$M" "$new" | grep -v '^web/')"
	check_eq "$desc: api/ untouched" "$(apps_git staging rev-parse "$M:api")" "$(apps_git staging rev-parse "$new:api" 2>/dev/null)"
	check_eq "$desc: rolledBack false on the new release" false "$(jf .rolledBack <<<"$r")"
}

M=$(apps_main staging) C=$(apps_count staging)
api POST /api/rollback '{"env":"staging","app":"web"}'
rollback_ok "rollback (no target: the release before the current)" "$TREE2" "$SEQ2"
check_eq "rollback target tree is the pre-deploy tree (REF2:web)" "$TREE2" "$(apps_git staging rev-parse "$REF2:web")"
check_match "rollback commit carries an Auger-Release trailer" '^Auger-Release: \{' "$(apps_git staging log -1 --format=%B | grep '^Auger-Release:')"
H=$(rl_history staging "app=web&limit=100")
check_eq "after rollback: release $SEQ3 rolledBack, $SEQ2 and $SEQ1 not" "true false false" \
	"$(jf '[(.[] | select(.seq == '"$SEQ3"') | .rolledBack), (.[] | select(.seq == '"$SEQ2"') | .rolledBack), (.[] | select(.seq == '"$SEQ1"') | .rolledBack)] | map(tostring) | join(" ")' <<<"$H")"
api GET /api/status?env=staging
check_eq "status after rollback: web's appTree is the target's" "$TREE2" "$(jf .web.appTree <<<"$API_BODY")"

SHA4=$(rl_sha web-4)
rl_push_ok "$(rl_artifact web staging "$SHA4")"
rl_deploy staging "$ART_ID" web
[ "$API_STATUS" = 201 ] || fail "deploy web $SHA4" "$API_BODY"
SEQ5=$(rl_rel | jf .seq)

M=$(apps_main staging) C=$(apps_count staging)
api POST "/api/rollback?env=staging&app=web&sha=$REF2"
rollback_ok "rollback, Gimlet's form (?sha=gitops sha)" "$TREE2" "$SEQ2"
SEQ6=$(jf .seq <<<"$API_BODY")
H=$(rl_history staging "app=web&limit=100")
check_eq "after rollback to $SEQ2: every newer release rolledBack, the new one not" "ok" \
	"$(jf 'if ([.[] | select(.seq > '"$SEQ2"' and .seq < '"$SEQ6"') | .rolledBack] | all) and ([.[] | select(.seq <= '"$SEQ2"' or .seq == '"$SEQ6"') | .rolledBack] | any | not) then "ok" else tostring end' <<<"$H")"

M=$(apps_main staging) C=$(apps_count staging)
api POST /api/rollback "{\"env\":\"staging\",\"app\":\"web\",\"to\":$SEQ1}"
rollback_ok "rollback {\"to\": $SEQ1} (integer)" "$TREE1" "$SEQ1"

M=$(apps_main staging) C=$(apps_count staging)
if out=$(cli release rollback --env staging --app web --to "$SEQ3" 2>&1); then ok "auger release rollback --to $SEQ3"; else fail "auger release rollback --to $SEQ3" "$out"; fi
API_STATUS=201 API_BODY=$(rl_history staging "app=web&limit=1" | jq '.[0]')
rollback_ok "auger release rollback --to $SEQ3 (a string, a rolled-back release)" "$TREE3" "$SEQ3"

M=$(apps_main staging) C=$(apps_count staging)
api POST /api/rollback "{\"env\":\"staging\",\"app\":\"web\",\"to\":\"$REF1\"}"
rollback_ok "rollback {\"to\": gitops sha}" "$TREE1" "$SEQ1"

M=$(apps_main staging) C=$(apps_count staging)
HL=$(rl_history staging limit=1000 | jq length)
expect_error "rollback web to api's gitops sha" 404 POST /api/rollback "{\"env\":\"staging\",\"app\":\"web\",\"to\":\"$REF_API\"}"
expect_error "rollback to release 999" 404 POST /api/rollback '{"env":"staging","app":"web","to":999}'
expect_error "rollback to an unknown sha" 404 POST "/api/rollback?env=staging&app=web&sha=$(rl_sha nothing)"
expect_error "rollback an unknown app" 404 POST /api/rollback '{"env":"staging","app":"nope"}'
expect_error "rollback in an unknown env" 404 POST /api/rollback '{"env":"nope","app":"web"}'
expect_error "rollback without app" 400 POST /api/rollback '{"env":"staging"}'
expect_error "rollback, malformed JSON" 400 POST /api/rollback '{"env":"staging",'
expect_error "rollback \"to\" garbage" '400|404' POST /api/rollback '{"env":"staging","app":"web","to":"x y"}'
no_change "failed rollbacks change nothing" staging "$M" "$C" "$HL"

# ================================================================ delete
section "delete"
M=$(apps_main staging) C=$(apps_count staging)
WEB_TREE=$(apps_git staging rev-parse "$M:web")
api POST "/api/delete?env=staging&app=api"
check_eq "POST /api/delete: 201" 201 "$API_STATUS"
check_eq "delete: action delete, app api" "delete api" "$(jf '"\(.action) \(.app)"' <<<"$API_BODY")"
one_commit_on "delete: one commit" staging "$M"
NEW=$(apps_main staging)
check_eq "delete: gitopsRef is main" "$NEW" "$(jf .gitopsRef <<<"$API_BODY")"
check_eq "delete: api/ gone" "" "$(apps_git staging ls-tree --name-only "$NEW" api)"
check_eq "delete: flux/kustomization-api.yaml gone" "" "$(apps_git staging ls-tree --name-only "$NEW" flux/kustomization-api.yaml)"
check_eq "delete: web/ untouched" "$WEB_TREE" "$(apps_git staging rev-parse "$NEW:web")"
check_eq "delete: the commit removes api's files only" "" "$(apps_git staging diff --name-only "$M" "$NEW" | grep -v -e '^api/' -e '^flux/kustomization-api.yaml$')"
api GET /api/status?env=staging
check_eq "status no longer lists api" "web" "$(jf 'keys | join(" ")' <<<"$API_BODY")"
# Gimlet answers 200 {} when there is nothing to delete (releases.go delete).
api POST "/api/delete?env=staging&app=api"
check_eq "delete api again: 200 {}" "200 {}" "$API_STATUS $(jq -c . <<<"$API_BODY")"
rl_push_ok "$(rl_artifact worker staging "$(rl_sha worker-1)" main)"
M=$(apps_main staging)
if out=$(cli release delete --env staging --app worker 2>&1); then ok "auger release delete"; else fail "auger release delete" "$out"; fi
one_commit_on "auger release delete: one commit" staging "$M"
check_eq "auger release delete: worker/ gone" "" "$(apps_git staging ls-tree --name-only refs/heads/main worker)"

# ================================================================ history
section "history"
rl_history staging limit=1000 >/dev/null
H=$API_BODY
check_eq "GET /api/releases: 200" 200 "$API_STATUS"
N=$(jq length <<<"$H")
HREFS=$(jf '.[].gitopsRef' <<<"$H" | tr '\n' ' ')
GREFS=$(apps_git staging rev-list --first-parent refs/heads/main | head -n "$N" | tr '\n' ' ')
check_eq "history: newest first, one release per commit, as git log" "$GREFS" "$HREFS"
check_eq "history: $N releases = commits after the first" $(($(apps_count staging) - 1)) "$N"
check_eq "history: created never increases" true "$(jf '[.[].created] as $c | [range(1; $c | length) | $c[. - 1] >= $c[.]] | all' <<<"$H")"
check_eq "history: (app, seq) unique" "$N" "$(jf '[.[] | "\(.app) \(.seq)"] | unique | length' <<<"$H")"
check_eq "history: each app's seqs count down" true "$(jf 'group_by(.app) | map([.[].seq]) | all(. as $s | [range(1; $s | length) | $s[. - 1] > $s[.]] | all)' <<<"$H")"
check_eq "history ?limit=2" "$(jf '.[0:2] | [.[].gitopsRef] | join(" ")' <<<"$H")" "$(rl_history staging limit=2 | jf '[.[].gitopsRef] | join(" ")')"
check_eq "history ?offset=2&limit=3" "$(jf '.[2:5] | [.[].gitopsRef] | join(" ")' <<<"$H")" "$(rl_history staging 'offset=2&limit=3' | jf '[.[].gitopsRef] | join(" ")')"
check_eq "history ?offset past the end: []" 0 "$(rl_history staging 'offset=1000' | jf length)"
check_eq "history ?app=web" "$(jf '[.[] | select(.app == "web") | .gitopsRef] | join(" ")' <<<"$H")" \
	"$(rl_history staging 'app=web&limit=1000' | jf '[.[].gitopsRef] | join(" ")')"
check_eq "history ?app=api (deploy + delete)" "delete deploy" "$(rl_history staging 'app=api' | jf '[.[].action] | join(" ")')"
MID=$(jf '.[(length / 2 | floor)].created' <<<"$H")
check_eq "history ?since=$MID" "$(jf '[.[] | select(.created >= '"$MID"') | .gitopsRef] | join(" ")' <<<"$H")" \
	"$(rl_history staging "since=$MID&limit=1000" | jf '[.[].gitopsRef] | join(" ")')"
check_eq "history ?until=$MID" "$(jf '[.[] | select(.created <= '"$MID"') | .gitopsRef] | join(" ")' <<<"$H")" \
	"$(rl_history staging "until=$MID&limit=1000" | jf '[.[].gitopsRef] | join(" ")')"
FIRST=$(jf '.[-1].created' <<<"$H")
LAST=$(jf '.[0].created' <<<"$H")
check_eq "created spans more than one second (sleep above)" true "$(jq -n "$LAST > $FIRST")"
check_eq "history ?since=$((FIRST + 1))&app=web&limit=2" "$(jf '[.[] | select(.app == "web" and .created >= '"$((FIRST + 1))"') | .gitopsRef][0:2] | join(" ")' <<<"$H")" \
	"$(rl_history staging "since=$((FIRST + 1))&app=web&limit=2" | jf '[.[].gitopsRef] | join(" ")')"
expect_error "history of an unknown env" 404 GET "/api/releases?env=nope" ""
out=$(cli release list --env staging --app web --limit 3 2>&1)
check_eq "auger release list --app web --limit 3: three lines" 3 "$(printf '%s\n' "$out" | grep -c ' web ')"
check_match "auger release list: newest first" "^$(jf '[.[] | select(.app == "web")][0].seq' <<<"$H") " "$out"

# ================================================================ status
section "status"
api GET /api/status?env=staging
S=$API_BODY
check_eq "GET /api/status: the env's env field on each release (Gimlet's map of app to Release)" staging "$(jf .web.env <<<"$S")"
check_eq "status: web is its newest release" "$(jf '[.[] | select(.app == "web")][0] | .gitopsRef' <<<"$H")" "$(jf .web.gitopsRef <<<"$S")"
check_eq "status: web's appTree is main:web" "$(apps_git staging rev-parse refs/heads/main:web)" "$(jf .web.appTree <<<"$S")"
out=$(cli release status --env staging 2>&1)
check_match "auger release status shows web" ' web ' "$out"

# ================================================================ bad requests
section "bad requests"
M=$(apps_main staging) C=$(apps_count staging) HL=$(rl_history staging limit=1000 | jq length)
PM=$(apps_main production)
expect_error "deploy to an unknown env" 404 POST /api/releases "{\"env\":\"nope\",\"artifactId\":\"$ART2\"}"
expect_error "deploy a missing artifact" 404 POST /api/releases '{"env":"staging","artifactId":"acme/web-0000000"}'
expect_error "deploy, malformed JSON" 400 POST /api/releases '{"env":"staging",'
expect_error "deploy, no artifactId" 400 POST /api/releases '{"env":"staging"}'
expect_error "deploy an app the artifact has no manifest for" 404 POST /api/releases "{\"env\":\"staging\",\"app\":\"nope\",\"artifactId\":\"$ART2\"}"
expect_error "deploy to an env the artifact has no manifest for" 404 POST /api/releases "{\"env\":\"production\",\"artifactId\":\"$ART2\"}"
expect_error "artifact, malformed JSON" 400 POST /api/artifact '{"version":'
expect_error "artifact without version.sha" 400 POST /api/artifact '{"version":{"repositoryName":"acme/web"},"environments":[]}'
expect_error "artifact that is not an object" 400 POST /api/artifact '[1,2]'

# Template error: stored (no policy match), then refused on deploy.
rl_push_ok "$(rl_artifact web staging "$(rl_sha bad-1)" ci '{"image":{"repository":"ghcr.io/acme/web","tag":"{{ .NOPE_VAR }}"}}')"
expect_error "deploy with an unknown template var" 400 POST /api/releases "{\"env\":\"staging\",\"artifactId\":\"$ART_ID\"}" 'NOPE_VAR'
# The same by policy: 201 (the artifact is stored), the release says why.
rl_push "$(rl_artifact web staging "$(rl_sha bad-2)" main '{"image":{"repository":"ghcr.io/acme/web","tag":"{{ .NOPE_VAR2 }}"}}')"
check_eq "policy deploy with an unknown var: artifact stored (201)" 201 "$API_STATUS"
check_match "policy deploy with an unknown var: the release carries an error naming it" 'NOPE_VAR2' "$(jf '.releases[0].error // empty' <<<"$API_BODY")"
rl_push_ok "$(rl_artifact web staging "$(rl_sha bad-3)" ci '' mychart)"
expect_error "deploy an unsupported chart" 400 POST /api/releases "{\"env\":\"staging\",\"artifactId\":\"$ART_ID\"}" 'chart'
rl_push_ok "$(rl_artifact web staging "$(rl_sha bad-4)" ci '{"image":{"repository":"ghcr.io/acme/web","tag":"x"},"replicas":"two"}')"
expect_error "deploy with invalid values (replicas: \"two\")" 400 POST /api/releases "{\"env\":\"staging\",\"artifactId\":\"$ART_ID\"}" 'replicas'
rl_push_ok "$(rl_artifact web staging "$(rl_sha bad-5)" ci '"not an object"')"
expect_error "deploy with values that are not an object" 400 POST /api/releases "{\"env\":\"staging\",\"artifactId\":\"$ART_ID\"}"
rl_push_ok "$(rl_artifact web staging "$(rl_sha bad-6)" ci '{"image":{"repository":"ghcr.io/acme/web","tag":"x"},"ingress":{"host":"not a host!","tlsEnabled":true}}')"
expect_error "deploy with an invalid ingress host" 400 POST /api/releases "{\"env\":\"staging\",\"artifactId\":\"$ART_ID\"}" 'host'
# An app name is checked as the artifact comes in (and again at deploy).
expect_error "an artifact for an app with an invalid name" 400 POST /api/artifact "$(rl_artifact Web_App staging "$(rl_sha bad-7)")" 'app name "Web_App" is not valid'
rl_push_ok "$(rl_artifact web staging "$(rl_sha bad-8)" | jq -c '.environments[0].manifests = "kind: [unclosed\n"')"
expect_error "deploy with raw manifests that are not YAML" 400 POST /api/releases "{\"env\":\"staging\",\"artifactId\":\"$ART_ID\"}"
rl_push_ok "$(rl_artifact web staging "$(rl_sha bad-9)" | jq -c '.environments[0].manifests = "apiVersion: v1\nmetadata:\n  name: x\n"')"
expect_error "deploy with a raw manifest without kind" 400 POST /api/releases "{\"env\":\"staging\",\"artifactId\":\"$ART_ID\"}" 'kind'
no_change "bad requests changed nothing in staging" staging "$M" "$C" "$HL"
check_eq "bad requests changed nothing in production" "$PM" "$(apps_main production)"

# ================================================================ tokens
section "tokens"
api POST /api/tokens '{"name":"rel-reader","role":"read","envs":["staging"]}'
READ_T=$(jf '.token // empty' <<<"$API_BODY")
api POST /api/tokens '{"name":"rel-deployer","role":"deploy","envs":["staging"]}'
DEPLOY_T=$(jf '.token // empty' <<<"$API_BODY")
[ -n "$READ_T" ] && [ -n "$DEPLOY_T" ] || die "POST /api/tokens gave no tokens" "$API_BODY"
rl_push_ok "$(rl_artifact web staging "$(rl_sha tok-1)")"
ART_T1=$ART_ID
rl_push_ok "$(rl_artifact web production "$(rl_sha tok-2)")"
ART_P=$ART_ID
M=$(apps_main staging) C=$(apps_count staging) HL=$(rl_history staging limit=1000 | jq length)
expect_error "read token: deploy" 403 POST /api/releases "{\"env\":\"staging\",\"artifactId\":\"$ART_T1\"}" . "$READ_T"
expect_error "read token: rollback" 403 POST /api/rollback '{"env":"staging","app":"web","to":1}' . "$READ_T"
expect_error "read token: rollback (Gimlet's form)" 403 POST "/api/rollback?env=staging&app=web&sha=$REF1" "" . "$READ_T"
expect_error "read token: delete" 403 POST "/api/delete?env=staging&app=web" "" . "$READ_T"
expect_error "read token: push an artifact" 403 POST /api/artifact "$(rl_artifact web staging "$(rl_sha tok-3)" main)" . "$READ_T"
expect_error "bootstrap read token: deploy" 403 POST /api/releases "{\"env\":\"staging\",\"artifactId\":\"$ART_T1\"}" . "$BOOT_PASS"
no_change "refused read-token writes changed nothing" staging "$M" "$C" "$HL"
api GET "/api/releases?env=staging" "" "$READ_T"
check_eq "read token: history of its env" 200 "$API_STATUS"
api GET "/api/status?env=staging" "" "$READ_T"
check_eq "read token: status of its env" 200 "$API_STATUS"
expect_error "read token: history of another env" 403 GET "/api/releases?env=production" "" . "$READ_T"
expect_error "deploy token: deploy to production" 403 POST /api/releases "{\"env\":\"production\",\"artifactId\":\"$ART_P\"}" . "$DEPLOY_T"
expect_error "deploy token: rollback in production" 403 POST /api/rollback '{"env":"production","app":"web"}' . "$DEPLOY_T"
expect_error "deploy token: create an env" 403 POST /api/envs '{"name":"rogue"}' . "$DEPLOY_T"
expect_error "deploy token: bootstrap" 403 POST /api/bootstrap '{"env":"staging"}' . "$DEPLOY_T"
check_eq "production untouched by refused deploys" "$PM" "$(apps_main production)"
rl_deploy staging "$ART_T1" "" "$DEPLOY_T"
check_eq "deploy token: deploy to staging: 201" 201 "$API_STATUS"
check_eq "deploy token: triggeredBy names it" rel-deployer "$(rl_rel | jf .triggeredBy)"
M=$(apps_main staging)
api POST /api/rollback '{"env":"staging","app":"web"}' "$DEPLOY_T"
check_eq "deploy token: rollback in staging: 201" 201 "$API_STATUS"
one_commit_on "deploy token: rollback is one commit" staging "$M"

# ================================================================ auger manifest template
section "auger manifest template"
TSHA=$(sed -n 's/^SHA=//p' "$FIXTURES/web.env")
if out=$(cli manifest template -f "$FIXTURES/web-manifest.yaml" --vars "$FIXTURES/web.env" 2>"$T/tmpl.err"); then
	ok "auger manifest template"
else
	fail "auger manifest template" "$out" "$(cat "$T/tmpl.err")"
fi
printf '%s\n' "$out" >"$T/tmpl.out"
check_match "template: web/deployment.yaml" '# Source: web/deployment.yaml' "$out"
check_match "template: the image with SHA from --vars" "image: \"?ghcr\\.io/acme/web:$TSHA" "$out"
check_match "template: replicas 2" 'replicas: 2' "$out"
check_match "template: the ingress host" 'host: "?web\.example\.com' "$out"
check_match "template: a PodDisruptionBudget" 'kind: PodDisruptionBudget' "$out"
check "template output: well-formed YAML" yaml_lint "$T/tmpl.out"
if out=$(cli manifest template -f "$FIXTURES/web-manifest.yaml" 2>&1); then
	fail "template without vars fails on {{ .SHA }}" "$out"
else
	check_match "template without vars: the error names SHA" 'SHA' "$out"
fi
# Same manifest, same bytes: the server's render of the same values.
rl_push_ok "$(rl_artifact web staging "$TSHA")"
rl_deploy staging "$ART_ID" web
[ "$API_STATUS" = 201 ] || fail "deploy web $TSHA" "$API_BODY"
TREF=$(rl_rel | jf .gitopsRef)
mkdir -p "$T/tmpl"
awk -v d="$T/tmpl" '
	/^# Source: web\// { f = d "/" substr($0, 15); printf "" > f; next }
	/^---$/ { next }
	f { print >> f }' "$T/tmpl.out"
for f in deployment.yaml service.yaml ingress.yaml configmap.yaml pdb.yaml; do
	if cmp -s "$T/tmpl/$f" <(apps_git staging show "$TREF:web/$f"; printf '\n'); then
		ok "template == server render: $f"
	elif cmp -s "$T/tmpl/$f" <(apps_git staging show "$TREF:web/$f"); then
		ok "template == server render: $f"
	else
		fail "template == server render: $f" "$(diff <(apps_git staging show "$TREF:web/$f") "$T/tmpl/$f" | head -n 20)"
	fi
done

# ================================================================ restart
section "restart"
H1=$(rl_history staging limit=1000 | jq -S .)
S1=$(api GET /api/status?env=staging && jq -S . <<<"$API_BODY")
A1=$(api GET "/api/artifacts?limit=1000" && jq -S . <<<"$API_BODY")
E1=$(api GET /api/envs && jq -S . <<<"$API_BODY")
stop_daemon
check_eq "augerd stops cleanly on SIGTERM" 0 "$?"
start_daemon "$DATA"
export AUGER_URL=$URL
check_eq "after restart: the same history" "$H1" "$(rl_history staging limit=1000 | jq -S .)"
check_eq "after restart: the same status" "$S1" "$(api GET /api/status?env=staging && jq -S . <<<"$API_BODY")"
check_eq "after restart: the same artifacts" "$A1" "$(api GET "/api/artifacts?limit=1000" && jq -S . <<<"$API_BODY")"
check_eq "after restart: the same envs" "$E1" "$(api GET /api/envs && jq -S . <<<"$API_BODY")"
LASTSEQ=$(jf '[.[] | select(.app == "web")][0].seq' <<<"$H1")
rl_push_ok "$(rl_artifact web staging "$(rl_sha after-restart)")"
rl_deploy staging "$ART_ID" web
check_eq "after restart: deploy 201, seq continues" "201 $((LASTSEQ + 1))" "$API_STATUS $(rl_rel | jf .seq)"

# ================================================================ concurrency
section "concurrency"
# CONC_DEPLOYS deploys of CONC_APPS apps into env load (each app gets
# deploys/apps rounds, each with its own artifact), and 40 deploys of 20 apps
# into load2, all issued at once.
api POST /api/envs '{"name":"load"}'
[ "$API_STATUS" = 201 ] || die "create env load" "$API_BODY"
api POST /api/envs '{"name":"load2"}'
[ "$API_STATUS" = 201 ] || die "create env load2" "$API_BODY"
CD=$T/conc
mkdir -p "$CD"
ROUNDS=$(((CONC_DEPLOYS + CONC_APPS - 1) / CONC_APPS))
jobs_list=()
n=0
# load2's 40 are spread evenly among load's 200, so both queues start at once.
n2=0
for r in $(seq 1 "$ROUNDS"); do
	for i in $(seq 1 "$CONC_APPS"); do
		[ "$n" -lt "$CONC_DEPLOYS" ] || break
		jobs_list+=("load app-$i $r")
		n=$((n + 1))
		if [ $((n % 5)) = 0 ] && [ "$n2" -lt 40 ]; then
			jobs_list+=("load2 svc-$((n2 % 20 + 1)) $((n2 / 20 + 1))")
			n2=$((n2 + 1))
		fi
	done
done
while [ "$n2" -lt 40 ]; do
	jobs_list+=("load2 svc-$((n2 % 20 + 1)) $((n2 / 20 + 1))")
	n2=$((n2 + 1))
done
# push the artifacts, 16 at a time
for j in "${jobs_list[@]}"; do
	set -- $j
	rl_artifact "$2" "$1" "$(rl_sha "$1-$2-$3")" >"$CD/$1-$2-$3.json"
done
: >"$CD/art.cfg"
for j in "${jobs_list[@]}"; do
	set -- $j
	batch_add "$CD/art.cfg" "$URL/api/artifact" "$CD/$1-$2-$3.json" "$CD/$1-$2-$3.art"
done
batch_run "$CD/art.cfg" "$CD/art.log" 16
bad_art=0
for j in "${jobs_list[@]}"; do
	set -- $j
	id=$(jq -r '.id // empty' "$CD/$1-$2-$3.art" 2>/dev/null)
	[ -n "$id" ] || bad_art=$((bad_art + 1))
	printf '{"env":"%s","app":"%s","artifactId":"%s"}' "$1" "$2" "$id" >"$CD/$1-$2-$3.req"
done
check_eq "${#jobs_list[@]} artifacts stored" 0 "$bad_art"

t0=$(now_ms)
: >"$CD/dep.cfg"
for j in "${jobs_list[@]}"; do
	set -- $j
	batch_add "$CD/dep.cfg" "$URL/api/releases" "$CD/$1-$2-$3.req" "$CD/$1-$2-$3.out"
done
batch_run "$CD/dep.cfg" "$CD/dep.log" "${#jobs_list[@]}"
while read -r code secs file; do echo "$code $secs" >"${file%.out}.code"; done <"$CD/dep.log"
t1=$(now_ms)
echo "     ${#jobs_list[@]} concurrent deploys took $((t1 - t0)) ms"

for e in load load2; do
	total=0 n201=0 nrel=0 nunch=0 bad=()
	: >"$CD/$e.resp"
	for j in "${jobs_list[@]}"; do
		set -- $j
		[ "$1" = "$e" ] || continue
		total=$((total + 1))
		f=$CD/$1-$2-$3
		read -r code secs <"$f.code" 2>/dev/null
		echo "${secs:-0}" >>"$CD/$e.times"
		if [ "$code" = 201 ]; then
			n201=$((n201 + 1))
			st=$(jq -r '.releases[0] | if .status == "unchanged" then "unchanged" elif .gitopsRef then "release" else "?" end' "$f.out" 2>/dev/null)
			case $st in
			release)
				nrel=$((nrel + 1))
				jq -r '.releases[0] | "\(.app) \(.seq) \(.gitopsRef) \(.version.sha)"' "$f.out" >>"$CD/$e.resp"
				;;
			unchanged) nunch=$((nunch + 1)) ;;
			*) bad+=("$2 round $3: $(head -c 300 "$f.out")") ;;
			esac
		else
			[ ${#bad[@]} -lt 5 ] && bad+=("$2 round $3: HTTP ${code:-none}: $(head -c 300 "$f.out" 2>/dev/null)")
		fi
	done
	check_eq "$e: all $total concurrent deploys answered 201" "$total" "$n201"
	[ ${#bad[@]} -eq 0 ] || fail "$e: bad answers" "${bad[@]}"
	check_eq "$e: releases + unchanged = $total" "$total" "$((nrel + nunch))"
	check_eq "$e: distinct artifacts, so no unchanged" 0 "$nunch"
	EH=$(rl_history "$e" limit=1000)
	check_eq "$e: history holds every release" "$nrel" "$(jq length <<<"$EH")"
	jf '.[] | "\(.app) \(.seq) \(.gitopsRef) \(.version.sha)"' <<<"$EH" | sort >"$CD/$e.hist"
	sort "$CD/$e.resp" >"$CD/$e.resp.sorted"
	if cmp -s "$CD/$e.resp.sorted" "$CD/$e.hist"; then
		ok "$e: history = the 201 answers (app, seq, gitopsRef, sha)"
	else
		fail "$e: history = the 201 answers (app, seq, gitopsRef, sha)" \
			"$(comm -23 "$CD/$e.resp.sorted" "$CD/$e.hist" | wc -l) answered releases missing from the history, $(comm -13 "$CD/$e.resp.sorted" "$CD/$e.hist" | wc -l) history entries not answered" \
			"first missing: $(comm -23 "$CD/$e.resp.sorted" "$CD/$e.hist" | head -n 3)" \
			"history (first 5): $(head -n 5 "$CD/$e.hist")"
	fi
	check_eq "$e: each app's seqs are 1..n" true \
		"$(jf 'group_by(.app) | map([.[].seq] | sort == [range(1; length + 1)]) | all' <<<"$EH")"
	MAIN=$(apps_main "$e")
	notanc=0
	for ref in $(cut -d' ' -f3 "$CD/$e.resp" | sort -u); do
		apps_git "$e" merge-base --is-ancestor "$ref" "$MAIN" 2>/dev/null || notanc=$((notanc + 1))
	done
	check_eq "$e: every release commit is in main's history" 0 "$notanc"
	wrong=()
	api GET "/api/status?env=$e"
	ST=$API_BODY
	while read -r app sha; do
		dep=$(apps_git "$e" show "$MAIN:$app/deployment.yaml" 2>/dev/null)
		printf '%s' "$dep" | grep -q "ghcr.io/acme/$app:$sha" || wrong+=("$app: main has $(printf '%s' "$dep" | grep 'image:' | head -n 1), latest release has $sha")
		[ "$(jf ".[\"$app\"].appTree" <<<"$ST")" = "$(apps_git "$e" rev-parse "$MAIN:$app" 2>/dev/null)" ] ||
			wrong+=("$app: status appTree $(jf ".[\"$app\"].appTree" <<<"$ST") != main:$app")
	done < <(jf 'group_by(.app) | .[] | max_by(.seq) | "\(.app) \(.version.sha)"' <<<"$EH")
	check_eq "$e: main holds each app's latest release (image tag, status appTree)" 0 "${#wrong[@]}"
	[ ${#wrong[@]} -eq 0 ] || fail "$e: apps not at their latest release" "${wrong[@]:0:10}"
	check_eq "$e: $(jf '[.[].app] | unique | length' <<<"$EH") apps in main" \
		"$(jf '[.[].app] | unique | join(" ")' <<<"$EH")" \
		"$(apps_git "$e" ls-tree --name-only -d "$MAIN" | grep -v '^flux$' | sort | tr '\n' ' ' | sed 's/ $//' |
			tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')"
	if out=$(apps_git "$e" fsck --strict --no-dangling 2>&1) && ! printf '%s' "$out" | grep -Eq 'error|missing|broken|corrupt'; then
		ok "$e: git fsck clean"
	else
		fail "$e: git fsck" "$out"
	fi
	GC=$(apps_count "$e")
	echo "     $e: $nrel releases in $((GC - 1)) commits; answer time p50 $(sort -n "$CD/$e.times" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }') s, max $(sort -n "$CD/$e.times" | tail -n 1) s"
done
# DESIGN: deploys to one env form a queue while other envs go on in parallel.
# load2 (40 deploys, interleaved) must not wait behind load's 200.
L1=$(sort -n "$CD/load.times" | tail -n 1)
L2=$(sort -n "$CD/load2.times" | tail -n 1)
check_eq "load2's deploys did not queue behind load's (last answer ${L2}s vs ${L1}s; want < 60%)" 1 \
	"$(awk -v a="$L2" -v b="$L1" 'BEGIN { print (a < 0.6 * b) ? 1 : 0 }')"
# ================================================================ Flux events, release track
section "Flux events and auger release track"
ET=$(events_token staging)
[ -n "$ET" ] || die "no events token from POST /api/bootstrap" "$API_BODY"
CUR=$(apps_main staging)
PARENT=$(apps_git staging rev-parse "$CUR^")
flux_event staging "wrong-token" "$CUR" ReconciliationSucceeded
check_eq "a flux event with a bad signature: 401" 401 "$API_STATUS"
flux_event staging "$ET" "$CUR" ReconciliationSucceeded
check_eq "a signed flux event: 200" 200 "$API_STATUS"
check "the event marked the commit and its unmarked ancestors" \
    [ "$(jf '.marked' <<<"$API_BODY")" -ge 2 ]
APP=$(api GET "/api/status?env=staging" && jf '[to_entries[] | select(.value.gitopsRef == "'"$CUR"'")][0].key // empty' <<<"$API_BODY")
if [ -n "$APP" ]; then
	out=$(cli release track --env staging --app "$APP" 2>&1)
	check_match "auger release track shows Flux's verdict" \
	    'flux: ReconciliationSucceeded' "$out"
fi
check_eq "the parent commit's release got the status too" "ReconciliationSucceeded" \
    "$(rl_history staging limit=1000 | jq -r '[.[] | select(.gitopsRef == "'"$PARENT"'")][0].gitopsCommitStatus // "none"')"
flux_event staging "$ET" "$PARENT" ReconciliationFailed
check_eq "a later event on an older commit: 200" 200 "$API_STATUS"
check_eq "... sets that commit only (newer ones keep theirs)" "ReconciliationSucceeded" \
    "$(rl_history staging limit=1000 | jq -r '[.[] | select(.gitopsRef == "'"$CUR"'")][0].gitopsCommitStatus // "none"')"

check "augerd still alive" daemon_alive
finish
