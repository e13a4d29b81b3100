#!/usr/bin/env bash
# Push to deploy: pushing an app repository whose commit carries .auger/*.yaml
# manifests renders them and commits the result to the env's gitops repo.
# Policies (branch/tag globs, events, commit message patterns, [DEPLOY: ALL]),
# `git push -o deploy=ENV`, previews (deploy per branch, removed when the
# branch is deleted), templating (.SHA, .auger/vars, ...), render errors shown
# on the pusher's terminal, credentials, artifacts. Go-git (Flux's client)
# must see the deployed commit.
#   bash tests/integration/test_push_deploy.sh
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/push_lib.sh"

start_daemon
pl_env staging
pl_env production
pl_env qa
DEPLOY_TOK=$(pl_token ci-staging deploy staging)
PROD_TOK=$(pl_token ci-prod deploy production)
READ_TOK=$(pl_token flux-read read staging)
create_repo web

# ================================================================ first push
section "push to main deploys to staging"
W=$T/web
pl_work web "$W"
pl_fixture web-staging.yaml "$W/.auger/staging.yaml"
commit_files "$W" "web: first version" "src/app.txt=v1"
SHA1=$(git -C "$W" rev-parse HEAD)
G0=$(pl_gref staging)
pl_push_as "$DEPLOY_TOK" "$W" origin main
check_eq "push to web (deploy token) exits 0" 0 "$PUSH_RC"
check_eq "web main moved on the server" "$SHA1" "$(pl_ref web)"
G1=$(pl_gref staging)
if [ -n "$G1" ] && [ "$G1" != "$G0" ]; then ok "a new gitops-staging-apps commit"; else
	fail "a new gitops-staging-apps commit" "before: $G0" "after: $G1" "$PUSH_OUT"; fi
check_match "terminal: 'remote: staging/web deployed: gitops-staging-apps@<sha7>'" \
	"^remote: staging/web deployed: gitops-staging-apps@${G1:0:7}" "$PUSH_OUT"
check_eq "the gitops commit's parent is the previous tip" "$G0" "$(pl_parent gitops-staging-apps "$G1")"
check_eq "web/deployment.yaml image = ghcr.io/acme/web:<pushed sha>" "ghcr.io/acme/web:$SHA1" "$(pl_image staging web)"
check "web/service.yaml rendered" pl_has staging web/service.yaml
HOSTS=$(pl_folder staging web | yq -r '.. | objects | select(has("host")) | .host | strings' 2>/dev/null | sort -u | tr '\n' ' ')
check_match "ingress host web.example.com rendered" 'web\.example\.com' "$HOSTS"
CM_BUILT=$(pl_folder staging web | yq -r 'select(.kind == "ConfigMap") | .data.BUILT_FROM // empty' 2>/dev/null | head -n 1)
check_eq "values.vars BUILT_FROM = {{ .BRANCH }} = main (ConfigMap)" main "$CM_BUILT"
REL=$(pl_latest staging web)
check_eq "release: version.sha" "$SHA1" "$(jf .version.sha <<<"$REL")"
check_eq "release: version.branch" main "$(jf .version.branch <<<"$REL")"
check_eq "release: version.event" push "$(jf .version.event <<<"$REL")"
check_eq "release: action" deploy "$(jf .action <<<"$REL")"
check_eq "release: gitopsRef = the new tip" "$G1" "$(jf .gitopsRef <<<"$REL")"
check_eq "release: appTree = tree of web/" "$(server_git gitops-staging-apps rev-parse "$G1:web")" "$(jf .appTree <<<"$REL")"
check_eq "status: apps.web.version.sha" "$SHA1" "$(pl_status staging | jf '.web.version.sha')"

need_interop
GG_OUT=$(AUGER_USER=flux AUGER_TOKEN=$READ_TOK timeout -k 5 "$CMD_TIMEOUT" "$GOGIT_CLIENT" clone "$URL/gitops-staging-apps.git" "$T/gg1" --depth 1 2>&1)
check_match "go-git (read token, depth 1) clones the deployed commit" "HEAD $G1" "$GG_OUT"
check_eq "go-git's web/deployment.yaml has the pushed sha" "ghcr.io/acme/web:$SHA1" \
	"$(pl_images <"$T/gg1/web/deployment.yaml" 2>/dev/null)"

# ================================================================ second push
section "a new commit without manifest changes deploys again"
commit_files "$W" "web: second version" "src/app.txt=v2"
SHA2=$(git -C "$W" rev-parse HEAD)
pl_push_as "$DEPLOY_TOK" "$W" origin main
G2=$(pl_gref staging)
check_match "terminal: deployed again" "remote: staging/web deployed: gitops-staging-apps@${G2:0:7}" "$PUSH_OUT"
check_eq "one more gitops commit on top of the first" "$G1" "$(pl_parent gitops-staging-apps "$G2")"
check_eq "image tag = the new sha" "ghcr.io/acme/web:$SHA2" "$(pl_image staging web)"
check_eq "two web releases in staging" 2 "$(pl_nrel staging web)"
check_eq "newest release first" "$SHA2" "$(pl_releases staging | jf '[.[] | select(.app == "web")][0].version.sha')"

# ================================================================ tag policy
section "tag policy (deploy.tag v*, event tag)"
pl_fixture web-production.yaml "$W/.auger/production.yaml"
commit_files "$W" "web: production manifest"
SHA3=$(git -C "$W" rev-parse HEAD)
P0=$(pl_gref production)
pl_push "$W" origin main
check_match "branch push: staging deploys" "remote: staging/web deployed" "$PUSH_OUT"
check_not "branch push: production/web not deployed (terminal)" grep -q 'production/web deployed' <<<"$PUSH_OUT"
check_eq "branch push: gitops-production-apps unchanged" "$P0" "$(pl_gref production)"
check_not "branch push: no web/ in production" pl_has production web
git -C "$W" tag v1.0.0
G3=$(pl_gref staging)
pl_push "$W" origin v1.0.0
P1=$(pl_gref production)
check_eq "tag push exits 0" 0 "$PUSH_RC"
check_match "tag v1.0.0: 'remote: production/web deployed: gitops-production-apps@<sha7>'" \
	"remote: production/web deployed: gitops-production-apps@${P1:0:7}" "$PUSH_OUT"
check_eq "production image = the tagged commit" "ghcr.io/acme/web:$SHA3" "$(pl_image production web)"
check_eq "tag push: staging (branch policy) not redeployed" "$G3" "$(pl_gref staging)"
REL=$(pl_latest production web)
check_eq "production release: version.tag" v1.0.0 "$(jf .version.tag <<<"$REL")"
check_eq "production release: version.event" tag "$(jf .version.event <<<"$REL")"
git -C "$W" tag v1.0.1
pl_push_as "$DEPLOY_TOK" "$W" origin v1.0.1
check_eq "tag v1.0.1 by a staging-only token: production unchanged" "$P1" "$(pl_gref production)"
check_match "tag v1.0.1 by a staging-only token: the terminal says why" \
	'remote: production/web: not deployed: ci-staging may not deploy to production' "$PUSH_OUT"
git -C "$W" tag build-7
pl_push "$W" origin build-7
check_eq "tag build-7 (no match): production unchanged" "$P1" "$(pl_gref production)"
check_not "tag build-7: nothing deployed on the terminal" grep -q ' deployed: ' <<<"$PUSH_OUT"
git -C "$W" checkout -q -b feature/x
commit_files "$W" "feature x" "src/x.txt=x"
pl_push "$W" origin feature/x
check_eq "feature/x push (no policy matches): staging unchanged" "$G3" "$(pl_gref staging)"
check_eq "feature/x push: production unchanged" "$P1" "$(pl_gref production)"
check_not "feature/x push: nothing deployed on the terminal" grep -q ' deployed: ' <<<"$PUSH_OUT"

# ================================================================ -o deploy
section "git push -o deploy=staging"
commit_files "$W" "feature x, more" "src/x.txt=xx"
SHAX2=$(git -C "$W" rev-parse HEAD)
pl_push_as "$DEPLOY_TOK" "$W" -o deploy=staging origin feature/x
G4=$(pl_gref staging)
check_eq "-o deploy: push exits 0" 0 "$PUSH_RC"
check_match "-o deploy=staging: staging/web deployed from feature/x" \
	"remote: staging/web deployed: gitops-staging-apps@${G4:0:7}" "$PUSH_OUT"
check_eq "-o deploy: staging image = the branch's sha" "ghcr.io/acme/web:$SHAX2" "$(pl_image staging web)"
check_eq "-o deploy: release version.branch" feature/x "$(pl_latest staging web | jf .version.branch)"
check_eq "-o deploy=staging: production untouched" "$P1" "$(pl_gref production)"
commit_files "$W" "feature x, again" "src/x.txt=xxx"
pl_push_as "$PROD_TOK" "$W" -o deploy=staging origin feature/x
check_match "-o deploy=staging with a production-only token: refused message" \
	"remote: -o deploy=staging: ci-prod may not deploy to staging" "$PUSH_OUT"
check_eq "-o deploy=staging with a production-only token: staging unchanged" "$G4" "$(pl_gref staging)"

# ================================================================ [DEPLOY: ALL]
section "[DEPLOY: ALL] in the commit message"
git -C "$W" checkout -q -b hotfix/y main
commit_files "$W" "hotfix: urgent [DEPLOY: ALL]" "src/app.txt=hotfix"
SHAH=$(git -C "$W" rev-parse HEAD)
# Gimlet's deployTrigger: [DEPLOY: ALL] is one of the commitMessagePatterns
# checks; it overrides neither branch (staging: main) nor event (production:
# tag), so nothing deploys from hotfix/y.
GH0=$(pl_gref staging)
PH0=$(pl_gref production)
pl_push "$W" origin hotfix/y
check_not "[DEPLOY: ALL]: staging/web not deployed from hotfix/y (branch main)" grep -q "staging/web deployed" <<<"$PUSH_OUT"
check_not "[DEPLOY: ALL]: production/web not deployed (tag policy)" grep -q "production/web deployed" <<<"$PUSH_OUT"
check_eq "[DEPLOY: ALL]: staging unchanged" "$GH0" "$(pl_gref staging)"
check_eq "[DEPLOY: ALL]: production unchanged" "$PH0" "$(pl_gref production)"

# ================================================================ read token
section "a read-only credential cannot push to an app repo"
git -C "$W" checkout -q main
commit_files "$W" "web: read token tries" "src/app.txt=nope"
WREF=$(pl_ref web)
GR=$(pl_gref staging)
pl_push_as "$READ_TOK" "$W" origin main
check_not "read token push exits non-zero" test "$PUSH_RC" = 0
check_eq "read token push: web main unchanged" "$WREF" "$(pl_ref web)"
check_eq "read token push: nothing deployed" "$GR" "$(pl_gref staging)"
git -C "$W" reset -q --hard HEAD^

# ================================================================ artifacts
section "artifacts of pushes"
api GET "/api/artifacts?repository=web"
check_eq "GET /api/artifacts?repository=web -> 200" 200 "$API_STATUS"
ART0=$(jq -c --arg s "$SHAH" '[.[] | select(.version.sha == $s)][0] // empty' <<<"$API_BODY" 2>/dev/null)
check_match "the [DEPLOY: ALL] push has an artifact" . "$ART0"
check_eq "its releases: none (no policy matched)" '[]' \
	"$(jq -c '[.releases[]?.env] | sort' <<<"$ART0" 2>/dev/null)"
check_eq "artifacts hold every push of a manifest-carrying commit (>= 7)" yes \
	"$(jq 'if length >= 7 then "yes" else length end' -r <<<"$API_BODY" 2>/dev/null)"

section "artifacts of rapid pushes are listed newest first"
create_repo rapid
RP=$T/rapid
pl_work rapid "$RP"
pl_fixture web-staging.yaml "$RP/.auger/staging.yaml"
sed -i 's/^app: web/app: rapid/; s/branch: main/branch: release/' "$RP/.auger/staging.yaml"
# Each commit's id sorts before the previous one (first hex digit f-e, d-c,
# ..., 1-0), so an order by id within one second is not the push order.
RSHAS=()
for n in 1 2 3 4 5 6 7 8; do
	commit_files "$RP" "rapid $n" "n.txt=$n"
	D1=$(printf '%x' $((16 - 2 * n)))
	D2=$(printf '%x' $((17 - 2 * n)))
	k=0
	while h=$(git -C "$RP" rev-parse HEAD) && [ "${h:0:1}" != "$D1" ] && [ "${h:0:1}" != "$D2" ] && [ $k -lt 500 ]; do
		k=$((k + 1))
		git -C "$RP" commit -q --amend --allow-empty -m "rapid $n #$k"
	done
	RSHAS=("$(git -C "$RP" rev-parse HEAD)" "${RSHAS[@]}")
	pl_push "$RP" origin main
done
api GET "/api/artifacts?repository=rapid"
check_eq "eight pushes in quick succession: artifacts newest first (push order)" \
	"$(printf '%s ' "${RSHAS[@]}")" "$(jq -r '.[].version.sha' <<<"$API_BODY" 2>/dev/null | tr '\n' ' ')"

# ================================================================ vars, patterns, negation
section "templating vars, .auger/vars, commitMessagePatterns, branch negation"
create_repo acme/api
A=$T/api
pl_work acme/api "$A"
pl_fixture api-staging.yaml "$A/.auger/staging.yaml"
pl_fixture api-qa.yaml "$A/.auger/qa.yaml"
pl_fixture api.vars "$A/.auger/vars"
commit_files "$A" "api: first"
SHAA=$(git -C "$A" rev-parse HEAD)
Q0=$(pl_gref qa)
pl_push "$A" origin main
check_match "acme/api main: staging/api deployed ('!feature/*' matches main)" "remote: staging/api deployed" "$PUSH_OUT"
check_eq ".auger/vars REGISTRY reaches the image" "registry.acme.test/team/api:$SHAA" "$(pl_image staging api)"
CM=$(pl_folder staging api | yq -c 'select(.kind == "ConfigMap") | .data' 2>/dev/null | head -n 1)
check_eq ".auger/vars REGION (quoted dotenv value)" eu-west-1 "$(jf .REGION <<<"$CM")"
check_eq "{{ .REPO }}" acme/api "$(jf .FROM_REPO <<<"$CM")"
check_eq "{{ .OWNER }}" acme "$(jf .FROM_OWNER <<<"$CM")"
check_eq "{{ .EVENT }}" push "$(jf .FROM_EVENT <<<"$CM")"
check_eq "{{ .APP }}" api "$(jf .FROM_APP <<<"$CM")"
check_eq "message 'api: first' does not match qa's patterns: qa unchanged" "$Q0" "$(pl_gref qa)"
check_not "qa/api not deployed on the terminal" grep -q 'qa/api deployed' <<<"$PUSH_OUT"
commit_files "$A" "release: 1.1" "CHANGES=1.1"
pl_push "$A" origin main
check_match "message 'release: 1.1' matches 'release: *': qa/api deployed" "remote: qa/api deployed" "$PUSH_OUT"
check_eq "qa image" "ghcr.io/acme/api:$(git -C "$A" rev-parse HEAD)" "$(pl_image qa api)"
Q1=$(pl_gref qa)
commit_files "$A" "small fix, ship-it now" "CHANGES=1.2"
pl_push "$A" origin main
check_match "message with 'ship-it' matches '*ship-it*': qa/api deployed" "remote: qa/api deployed" "$PUSH_OUT"
Q2=$(pl_gref qa)
check_not "qa moved" test "$Q1" = "$Q2"
commit_files "$A" "docs only" "CHANGES=1.3"
pl_push "$A" origin main
check_eq "message 'docs only': qa unchanged" "$Q2" "$(pl_gref qa)"
check_match "message 'docs only': staging still deploys" "remote: staging/api deployed" "$PUSH_OUT"
GA=$(pl_gref staging)
git -C "$A" checkout -q -b feature/z
commit_files "$A" "feature z" "z=1"
pl_push "$A" origin feature/z
check_eq "feature/z vs branch '!feature/*': staging unchanged" "$GA" "$(pl_gref staging)"
git -C "$A" checkout -q -b bugfix/q main
commit_files "$A" "bugfix q" "q=1"
pl_push "$A" origin bugfix/q
check_match "bugfix/q vs branch '!feature/*': staging/api deployed" "remote: staging/api deployed" "$PUSH_OUT"
check_eq "bugfix/q: release version.branch" bugfix/q "$(pl_latest staging api | jf .version.branch)"

# ================================================================ .gimlet
section ".gimlet/*.yaml manifests are read too"
create_repo legacy
L=$T/legacy
pl_work legacy "$L"
pl_fixture legacy-gimlet.yaml "$L/.gimlet/staging.yaml"
commit_files "$L" "legacy: gimlet manifest"
pl_push "$L" origin main
check_match ".gimlet/staging.yaml: staging/legacy deployed" "remote: staging/legacy deployed" "$PUSH_OUT"
check_eq ".gimlet: image" "ghcr.io/acme/legacy:$(git -C "$L" rev-parse HEAD)" "$(pl_image staging legacy)"

# ================================================================ previews
section "previews: a branch deploys <app>-<branch>, deleting it removes it"
create_repo shop
S=$T/shop
pl_work shop "$S"
pl_fixture shop-staging.yaml "$S/.auger/staging.yaml"
commit_files "$S" "shop: first"
SHAS=$(git -C "$S" rev-parse HEAD)
pl_push "$S" origin main
check_match "shop main: staging/shop deployed (not a preview)" "remote: staging/shop deployed" "$PUSH_OUT"
check_not "shop main: no preview deployed" grep -q 'staging/shop-' <<<"$PUSH_OUT"
SHOP_TREE=$(server_git gitops-staging-apps rev-parse "refs/heads/main:shop" 2>/dev/null)
git -C "$S" checkout -q -b feature/Login_Page
commit_files "$S" "login page" "login.html=<form>"
SHAP=$(git -C "$S" rev-parse HEAD)
pl_push "$S" origin feature/Login_Page
GP=$(pl_gref staging)
check_match "preview: 'remote: staging/shop-feature-login-page deployed: gitops-staging-apps@<sha7>'" \
	"remote: staging/shop-feature-login-page deployed: gitops-staging-apps@${GP:0:7}" "$PUSH_OUT"
check_not "preview push: main app not redeployed (terminal)" grep -q 'staging/shop deployed' <<<"$PUSH_OUT"
check_eq "preview image = the branch's sha" "ghcr.io/acme/shop:$SHAP" "$(pl_image staging shop-feature-login-page)"
HOSTS=$(pl_folder staging shop-feature-login-page | yq -r '.. | objects | select(has("host")) | .host | strings' 2>/dev/null | sort -u | tr '\n' ' ')
check_match "preview ingress host: first label replaced" '^shop-feature-login-page\.example\.com $' "$HOSTS"
check_eq "preview: shop/ unchanged" "$SHOP_TREE" "$(server_git gitops-staging-apps rev-parse "refs/heads/main:shop" 2>/dev/null)"
ST=$(pl_status staging)
check_eq "status: preview app present" "$SHAP" "$(jf '.["shop-feature-login-page"].version.sha' <<<"$ST")"
check_eq "status: shop (main) still at main's sha" "$SHAS" "$(jf '.shop.version.sha' <<<"$ST")"
check_eq "preview release: app name" shop-feature-login-page "$(pl_latest staging shop-feature-login-page | jf .app)"
HAD_KUST=0
pl_has staging flux/kustomization-shop-feature-login-page.yaml && HAD_KUST=1
commit_files "$S" "login page v2" "login.html=<form v2>"
SHAP2=$(git -C "$S" rev-parse HEAD)
pl_push "$S" origin feature/Login_Page
check_eq "second branch push updates the preview" "ghcr.io/acme/shop:$SHAP2" "$(pl_image staging shop-feature-login-page)"
GD0=$(pl_gref staging)
pl_push "$S" origin --delete feature/Login_Page
GD1=$(pl_gref staging)
check_eq "branch deletion push exits 0" 0 "$PUSH_RC"
check_match "branch deleted: 'remote: staging/shop-feature-login-page deleted: gitops-staging-apps@<sha7>'" \
	"remote: staging/shop-feature-login-page deleted: gitops-staging-apps@${GD1:0:7}" "$PUSH_OUT"
check_eq "removal is one commit on top of the previous tip" "$GD0" "$(pl_parent gitops-staging-apps "$GD1")"
check_not "preview folder gone from the gitops tree" pl_has staging shop-feature-login-page
if [ $HAD_KUST = 1 ]; then
	check_not "preview Kustomization gone" pl_has staging flux/kustomization-shop-feature-login-page.yaml
fi
OTHER=$(server_git gitops-staging-apps diff --name-only "$GD0" "$GD1" 2>/dev/null | grep -v -e '^shop-feature-login-page/' -e 'kustomization-shop-feature-login-page')
check_eq "the removal commit touches nothing else" "" "$OTHER"
check "shop/ (main) still deployed" pl_has staging shop/deployment.yaml
check_eq "preview release: action delete" delete "$(pl_latest staging shop-feature-login-page | jf .action)"
check_eq "status: preview app gone" null "$(pl_status staging | jf '.["shop-feature-login-page"]')"

section "previews: a long branch name gives a valid DNS-1123 app name"
LONG="Feature/JIRA-1234_Make_The_Checkout_Page_Work_On_Every_Single_Browser_We_Support"
git -C "$S" checkout -q -b "$LONG" main
commit_files "$S" "long branch" "long.txt=1"
pl_push "$S" origin "$LONG"
PNAME=$(printf '%s\n' "$PUSH_OUT" | sed -n 's#^remote: staging/\(shop-[^ ]*\) deployed: .*#\1#p' | head -n 1)
check_match "long branch: a preview deployed" '^shop-feature-jira-1234' "$PNAME"
if [ ${#PNAME} -le 63 ] && printf '%s' "$PNAME" | grep -Eq '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'; then
	ok "long branch: preview name '$PNAME' is a DNS-1123 label (${#PNAME} chars)"
else
	fail "long branch: preview name is a DNS-1123 label (<= 63 chars)" "got '$PNAME' (${#PNAME} chars)" "$PUSH_OUT"
fi
if [ -n "$PNAME" ]; then
	LH=$(pl_folder staging "$PNAME" | yq -r '.. | objects | select(has("host")) | .host | strings' 2>/dev/null | sort -u | head -n 1)
	check_eq "long branch: ingress host = <preview name>.example.com" "$PNAME.example.com" "$LH"
	pl_push "$S" origin --delete "$LONG"
	check_not "long branch deleted: preview gone" pl_has staging "$PNAME"
fi

# ================================================================ render errors
section "manifests that fail to render deploy nothing"
create_repo broken
B=$T/broken
pl_work broken "$B"
pl_fixture bad-var.yaml "$B/.auger/staging.yaml"
commit_files "$B" "broken: unknown var"
GB=$(pl_gref staging)
OB=$(pl_objects gitops-staging-apps)
pl_push "$B" origin main
check_match "unknown var: the error names the file and the var" \
	'remote: \.auger/staging\.yaml: .*NOPE' "$PUSH_OUT"
check_not "unknown var: nothing deployed (terminal)" grep -q ' deployed: ' <<<"$PUSH_OUT"
check_eq "unknown var: staging unchanged" "$GB" "$(pl_gref staging)"
pl_fixture bad-chart.yaml "$B/.auger/staging.yaml"
commit_files "$B" "broken: unsupported chart"
pl_push "$B" origin main
check_match "unsupported chart: the error names the chart" 'remote: .*no-such-chart' "$PUSH_OUT"
check_not "unsupported chart: nothing deployed (terminal)" grep -q ' deployed: ' <<<"$PUSH_OUT"
check_eq "unsupported chart: staging unchanged" "$GB" "$(pl_gref staging)"
pl_fixture cluster-scoped.yaml "$B/.auger/staging.yaml"
commit_files "$B" "broken: a Namespace in raw manifests"
pl_push "$B" origin main
check_match "cluster-scoped kind: 'remote: staging/broken refused: validate-k8s: ...'" \
	'remote: staging/broken refused: validate-k8s: ' "$PUSH_OUT"
check_match "cluster-scoped kind: the refusal names Namespace" 'remote: .*Namespace' "$PUSH_OUT"
check_not "cluster-scoped kind: nothing deployed (terminal)" grep -q ' deployed: ' <<<"$PUSH_OUT"
check_eq "cluster-scoped kind: staging unchanged" "$GB" "$(pl_gref staging)"
check_eq "render failures: no new object in gitops-staging-apps" "$OB" "$(pl_objects gitops-staging-apps)"
check_not "render failures: no broken/ folder" pl_has staging broken
# One good manifest and one that fails to parse: the good one deploys, the
# artifact keeps the error.
pl_fixture good-broken.yaml "$B/.auger/staging.yaml"
pl_fixture bad-var.yaml "$B/.auger/zz-bad.yaml"
commit_files "$B" "broken: one good, one bad"
pl_push "$B" origin main
check_match "good + bad: the good manifest deploys" 'remote: staging/broken deployed' "$PUSH_OUT"
check_match "good + bad: the bad one's error names its file" 'remote: \.auger/zz-bad\.yaml: .*NOPE' "$PUSH_OUT"
api GET "/api/artifacts?repository=broken"
SHAGB=$(git -C "$B" rev-parse HEAD)
ARTGB=$(jq -c --arg s "$SHAGB" '[.[] | select(.version.sha == $s)][0] // empty' <<<"$API_BODY" 2>/dev/null)
check_match "artifact auger.errors names .auger/zz-bad.yaml" 'zz-bad\.yaml' \
	"$(jq -c '.auger.errors' <<<"$ARTGB" 2>/dev/null)"
check_eq "artifact releases: broken in staging" staging "$(jq -r '.releases[0].env // empty' <<<"$ARTGB" 2>/dev/null)"

# The same validation for an API deploy (POST /api/releases).
section "API deploys run the same validation"
ART=$(jq -cn --arg sha "$(printf 'api-ns' | sha1sum | cut -c1-40)" '{
	version: {repositoryName: "acme/nsapp", sha: $sha, branch: "ci", event: "push",
		authorName: "Auger Test", authorEmail: "test@auger.invalid", message: "ns", url: "", created: 1700000000},
	vars: {}, items: [], context: {},
	environments: [{app: "nsapp", env: "staging", namespace: "default",
		deploy: {branch: "main", event: "push"},
		chart: {repository: "https://chart.onechart.dev", name: "onechart", version: "0.70.0"},
		values: {image: {repository: "ghcr.io/acme/nsapp", tag: "1.0.0"}},
		manifests: "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: nsapp\n"}]}')
api POST /api/artifact "$ART"
ARTID=$(jf '.id // empty' <<<"$API_BODY")
if [ "$API_STATUS" = 201 ] && [ -n "$ARTID" ]; then
	GN=$(pl_gref staging)
	api POST /api/releases "{\"env\":\"staging\",\"artifactId\":\"$ARTID\"}"
	RB=$API_BODY
	if [ "$API_STATUS" != 201 ] || jq -e '[.releases[]? | select(.error)] | length > 0' <<<"$RB" >/dev/null 2>&1; then
		ok "API deploy of a Namespace: refused ($API_STATUS)"
	else
		fail "API deploy of a Namespace: refused" "POST /api/releases -> $API_STATUS" "$RB"
	fi
	check_match "API deploy refusal names validate-k8s" 'validate-k8s' "$RB"
	check_eq "API deploy refusal: staging unchanged" "$GN" "$(pl_gref staging)"
else
	fail "POST /api/artifact (Namespace manifest) -> 201" "got $API_STATUS" "$API_BODY"
fi

check "daemon still alive" daemon_alive
finish
