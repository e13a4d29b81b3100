#!/usr/bin/env bash
# Gimlet's deploy manifests through the daemon: deploy policies
# (pkg/dashboard/worker/gitops.go deployTrigger, gobwas/glob), variables
# (pkg/dx/artifact.go CollectVariables, pkg/dx/manifest.go ResolveVars,
# sprig), and kustomize patches (pkg/dx/kustomize.go). Artifacts go in
# through POST /api/artifact (and one git push); every check is about what
# lands in the gitops repositories, or does not.
#   bash tests/integration/test_gimlet_manifest.sh
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/push_lib.sh"

start_daemon
pl_env staging
pl_env production
pl_env qa
export AUGER_URL=$URL AUGER_TOKEN=$TOKEN

# has ENV APP: the app's folder is in the env's apps repo.
has() { pl_has "$1" "$2/deployment.yaml"; }

# manifest APP DEPLOY_JSON [VALUES_JSON]: one OneChart manifest for qa.
manifest() {
	jq -cn --arg a "$1" --argjson d "$2" --argjson v "${3:-{\}}" \
		'{app: $a, env: "qa", namespace: "default", deploy: $d,
		  chart: {repository: "https://chart.onechart.dev", name: "onechart", version: "0.70.0"},
		  values: ({image: {repository: ("ghcr.io/acme/" + $a), tag: "{{ .SHA }}"}} + $v)}'
}

# artifact SHA BRANCH EVENT TAG MESSAGE MANIFESTS_JSON [EXTRA_JSON]
artifact() {
	jq -cn --arg s "$1" --arg b "$2" --arg e "$3" --arg t "$4" --arg m "$5" \
		--argjson envs "$6" --argjson x "${7:-{\}}" \
		'{version: ({repositoryName: "acme/pol", sha: $s, branch: $b, tag: $t, message: $m,
		   authorName: "T", created: 1700000000} + (if $e == "" then {} else {event: $e} end)),
		  environments: $envs} + $x'
}

post() {
	api POST /api/artifact "$1"
	case $API_STATUS in
	200 | 201) ;;
	*) fail "POST /api/artifact: $API_STATUS" "$API_BODY" ;;
	esac
}

# ================================================================ fixture
section "Gimlet's fixtures/artifact.json: context vars, tag policies"
# gimlet-io/gimlet fixtures/artifact.json: the version has no event (a
# push); staging's manifests want tag v* on event tag; production's has no
# policy. values.gitSha is "{{ .GITHUB_SHA }}", a context variable.
FIXSHA=071431009c8e9d6293d16f58b4d1a7176eac953b
fixture_env() {
	jq -cn --arg app "$1" --arg env "$2" --arg ns "$3" --argjson deploy "$4" --arg chart "$5" \
		--arg repo "$6" --arg ver "$7" --argjson n "$8" \
		'{app: $app, env: $env, namespace: $ns, chart: {repository: $repo, name: $chart, version: $ver},
		  values: {gitRepository: "laszlocph/gimletd-test-repo", gitSha: "{{ .GITHUB_SHA }}",
		           image: {repository: "ghcr.io/podtato-head/podtatoserver", tag: "v0.1.1"}, replicas: $n}}
		 + (if $deploy == null then {} else {deploy: $deploy} end)'
}
FIXTURE=$(jq -cn --arg sha "$FIXSHA" \
	--argjson p "$(fixture_env myapp production gimlet-demo null \
		'https://github.com/laszlocph/onechart.git?branch=master&path=/charts/onechart/' '' '' 3)" \
	--argjson v "$(fixture_env myapp-variation staging gimlet-demo-staging '{"tag":"v*","event":"tag"}' \
		onechart https://chart.onechart.dev 0.31.0 2)" \
	--argjson s "$(fixture_env myapp staging gimlet-demo-staging '{"tag":"v*","event":"tag"}' \
		onechart https://chart.onechart.dev 0.31.0 2)" \
	'{version: {repositoryName: "laszlocph/gimletd-test-repo", sha: $sha, created: 1634734120,
	   branch: "main", authorName: "Laszlo Fogas", authorEmail: "laszlo@laszlo.cloud",
	   committerName: "Laszlo Fogas", committerEmail: "laszlo@laszlo.cloud",
	   message: "Testing monorepos",
	   url: ("https://github.com/laszlocph/gimletd-test-repo/commit/" + $sha)},
	  context: {GITHUB_BRANCH: "main", GITHUB_SHA: $sha},
	  environments: [$p, $v, $s]}')
post "$FIXTURE"
check_not "fixture as is (a push): staging/myapp not deployed (tag policy)" has staging myapp
check_not "fixture as is: production/myapp not deployed (no policy)" has production myapp
post "$(jq -c '.version.event = "tag" | .version.tag = "v1.0.0"' <<<"$FIXTURE")"
check "fixture as tag v1.0.0: staging/myapp deployed" has staging myapp
check "fixture as tag v1.0.0: staging/myapp-variation deployed" has staging myapp-variation
check_match "{{ .GITHUB_SHA }} (context) reached the git-sha annotation" \
	"gimlet.io/git-sha: \"?$FIXSHA" "$(pl_show staging myapp/deployment.yaml)"
check_eq "image from the fixture" ghcr.io/podtato-head/podtatoserver:v0.1.1 "$(pl_image staging myapp)"
check_not "fixture as tag: production/myapp still not deployed (no policy)" has production myapp

# ================================================================ policies
section "deploy policies as Gimlet's deployTrigger reads them"
M=$(jq -cn \
	--argjson a "$(manifest empty '{}')" \
	--argjson b "$(manifest noevent '{"branch":"main"}')" \
	--argjson c "$(manifest onmain '{"branch":"main","event":"push"}')" \
	--argjson d "$(manifest preview '{"branch":"!{main,master}","event":"push"}')" \
	--argjson e "$(manifest brackets '{"branch":"main","event":"push","commitMessagePatterns":["*[ci]*"]}')" \
	--argjson f "$(manifest rel '{"branch":"release-{1,2}.*","event":"push"}')" \
	--argjson g "$(manifest tagonly '{"tag":"v*"}')" \
	'[$a, $b, $c, $d, $e, $f, $g]')
post "$(artifact "$(printf 1%.0s {1..40})" main push "" "fix: icons" "$M")"
check_not "deploy: {} deploys nothing" has qa empty
check_not "branch without event: not deployed (branch needs event push or pr)" has qa noevent
check "branch main + event push on main: deployed" has qa onmain
check_not "branch '!{main,master}' on main: not deployed" has qa preview
check_not "commitMessagePatterns '*[ci]*' (brackets literal) vs 'fix: icons': not deployed" has qa brackets
check_not "tag without event: not deployed (tag needs event tag)" has qa tagonly
post "$(artifact "$(printf 2%.0s {1..40})" feature/login push "" "wip [ci]" "$M")"
check "branch '!{main,master}' on feature/login: deployed" has qa preview
check_not "branch main policy on feature/login: brackets app not deployed" has qa brackets
post "$(artifact "$(printf 3%.0s {1..40})" main "" "" "build [ci] now" "$M")"
check "no event in the version is a push; '*[ci]*' matches 'build [ci] now'" has qa brackets
post "$(artifact "$(printf 4%.0s {1..40})" release-2.1 push "" "r" "$M")"
check "branch 'release-{1,2}.*' on release-2.1: deployed" has qa rel
post "$(artifact "$(printf 5%.0s {1..40})" release-3.0 push "" "r" "$M")"
QA=$(pl_gref qa)
M2=$(jq -cn --argjson a "$(manifest hotfix '{"branch":"main","event":"push"}')" \
	--argjson b "$(manifest hotfixmsg '{"branch":"main","event":"push","commitMessagePatterns":["release: *"]}')" '[$a, $b]')
post "$(artifact "$(printf 6%.0s {1..40})" hotfix/y push "" "urgent [DEPLOY: ALL]" "$M2")"
check_not "[DEPLOY: ALL] does not override the branch" has qa hotfix
check_eq "[DEPLOY: ALL] on a non-matching branch: no gitops commit" "$QA" "$(pl_gref qa)"
post "$(artifact "$(printf 7%.0s {1..40})" main push "" "urgent [DEPLOY: ALL]" "$M2")"
check "[DEPLOY: ALL] passes the commitMessagePatterns check on main" has qa hotfixmsg

# ================================================================ vars
section "variables: context, items, vars in vars, sprig functions"
V=$(jq -cn '{
	image: {repository: "ghcr.io/acme/vars", tag: "{{ .IMAGE_TAG }}"},
	vars: {
		RUN: "{{ .GITHUB_RUN_NUMBER }}",
		DIGEST: "{{ .digest }}",
		UP: "{{ .APP | upper }}",
		SHORT: "{{ .SHA | trunc 7 }}",
		QUOTED: "{{ .BRANCH | replace \"/\" \"-\" | quote }}",
		DEF: "{{ .EMPTY | default \"fallback\" }}",
		B64: "{{ .APP | b64enc }}",
		SUM: "{{ sha256sum .APP | trunc 12 }}",
		IFX: "{{ if hasPrefix \"feature/\" .BRANCH }}feature{{ else }}other{{ end }}",
		ESC: "{{\"{{\"}} .NOT_A_VAR }}"
	}}')
VM=$(jq -cn --argjson m "$(manifest vars '{"branch":"feature/*","event":"push"}' "$V")" '[$m]')
VSHA=abcdef0123456789abcdef0123456789abcdef01
post "$(artifact "$VSHA" feature/x-1 push "" "vars" "$VM" \
	'{"context": {"GITHUB_RUN_NUMBER": "77"},
	  "items": [{"name": "image", "digest": "sha256:feed", "size": 12}],
	  "vars": {"IMAGE_TAG": "{{ .SHA | trunc 7 }}-{{ .BUILD }}", "BUILD": "b{{ .GITHUB_RUN_NUMBER }}", "EMPTY": ""}}')"
check "vars app deployed" has qa vars
check_eq "vars in vars: image tag {{ .IMAGE_TAG }} = sha7-b<context run>" \
	"ghcr.io/acme/vars:abcdef0-b77" "$(pl_image qa vars)"
CM=$(pl_folder qa vars | yq -c 'select(.kind == "ConfigMap") | .data' 2>/dev/null | head -n 1)
check_eq "context var GITHUB_RUN_NUMBER" 77 "$(jf .RUN <<<"$CM")"
check_eq "items' string value digest" sha256:feed "$(jf .DIGEST <<<"$CM")"
check_eq "upper" VARS "$(jf .UP <<<"$CM")"
check_eq "trunc" abcdef0 "$(jf .SHORT <<<"$CM")"
check_eq "replace | quote" '"feature-x-1"' "$(jf .QUOTED <<<"$CM")"
check_eq "default" fallback "$(jf .DEF <<<"$CM")"
check_eq "b64enc" dmFycw== "$(jf .B64 <<<"$CM")"
check_eq "sha256sum | trunc" "$(printf vars | sha256sum | cut -c1-12)" "$(jf .SUM <<<"$CM")"
check_eq "if hasPrefix / else / end" feature "$(jf .IFX <<<"$CM")"
check_eq '{{"{{"}} escape stays literal' '{{ .NOT_A_VAR }}' "$(jf .ESC <<<"$CM")"

# ================================================================ patches
section "kustomize patches on the rendered manifests"
# gimlet-io/gimlet examples/kustomize/strategicMergePatch.yaml and
# examples/kustomize/json6902Patch.yaml, for one app.
P=$(jq -cn --argjson m "$(manifest myapp '{"branch":"main","event":"push"}' \
	'{"replicas":1,"ingress":{"host":"myapp.staging.mycompany.com","tlsEnabled":true}}')" \
	'[$m + {
	strategicMergePatches: "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: myapp\n  namespace: default\nspec:\n  template:\n    spec:\n      containers:\n      - name: myapp\n        volumeMounts:\n          - name: azure-file\n            mountPath: /azure-bucket\n      volumes:\n        - name: azure-file\n          azureFile:\n            secretName: my-azure-secret\n            shareName: my-azure-share\n            readOnly: false\n",
	json6902Patches: [{target: {group: "networking.k8s.io", version: "v1", kind: "Ingress", name: "myapp"},
		patch: "---\n- op: replace\n  path: /spec/rules/0/host\n  value: myapp.com\n- op: replace\n  path: /spec/tls/0/hosts/0\n  value: myapp.com\n"}]}]')
PSHA=$(printf 8%.0s {1..40})
post "$(artifact "$PSHA" main push "" "patch" "$P")"
check "patched app deployed" has qa myapp
DEP=$(pl_show qa myapp/deployment.yaml)
check_eq "strategic merge: the volumeMount joined container myapp" /azure-bucket \
	"$(yq -r '.spec.template.spec.containers[] | select(.name == "myapp") | .volumeMounts[]? | select(.name == "azure-file") | .mountPath' <<<"$DEP" 2>/dev/null)"
check_eq "strategic merge: the container kept its image" "ghcr.io/acme/myapp:$PSHA" \
	"$(yq -r '.spec.template.spec.containers[] | select(.name == "myapp") | .image' <<<"$DEP" 2>/dev/null)"
check_eq "strategic merge: the volume was added" my-azure-share \
	"$(yq -r '.spec.template.spec.volumes[]? | select(.name == "azure-file") | .azureFile.shareName' <<<"$DEP" 2>/dev/null)"
ING=$(pl_show qa myapp/ingress.yaml)
check_eq "json6902: ingress rule host replaced" myapp.com "$(yq -r '.spec.rules[0].host' <<<"$ING" 2>/dev/null)"
check_eq "json6902: tls host replaced" myapp.com "$(yq -r '.spec.tls[0].hosts[0]' <<<"$ING" 2>/dev/null)"
# A patch that cannot apply refuses the deploy, and says why.
BAD=$(jq -c '.[0].json6902Patches[0].patch = "- {op: remove, path: /spec/nope}"' <<<"$P")
QB=$(pl_gref qa)
api POST /api/artifact "$(artifact "$(printf 9%.0s {1..40})" main push "" "bad patch" "$BAD")"
check_eq "a failing JSON patch: no gitops commit" "$QB" "$(pl_gref qa)"
check_match "a failing JSON patch: the answer says why" "json6902Patches\\[0\\].*does not exist" "$API_BODY"

# ================================================================ push + CLI
section "templates run on the parsed manifest (push and auger manifest template)"
create_repo acme/cmt
W=$T/cmt
pl_work acme/cmt "$W"
mkdir -p "$W/.gimlet"
cat >"$W/.gimlet/staging.yaml" <<'EOF'
app: cmt
env: staging
namespace: default
# a comment Go's template would choke on: {{ .NOPE }} {{ broken
deploy:
  branch: main
  event: push
chart:
  repository: https://chart.onechart.dev
  name: onechart
  version: 0.70.0
values:
  image:
    repository: ghcr.io/acme/cmt
    tag: "{{ .SHA | trunc 8 }}"
EOF
commit_files "$W" "cmt: first" "x=1"
CSHA=$(git -C "$W" rev-parse HEAD)
pl_push "$W" origin main
check_match "push: staging/cmt deployed despite braces in a YAML comment" "remote: staging/cmt deployed" "$PUSH_OUT"
check_eq "push: image tag {{ .SHA | trunc 8 }}" "ghcr.io/acme/cmt:${CSHA:0:8}" "$(pl_image staging cmt)"
printf 'SHA=0123456789\n' >"$T/cli.env"
OUT=$(timeout -k 2 10 "$AUGER" manifest template -f "$W/.gimlet/staging.yaml" --vars "$T/cli.env" 2>&1)
check_match "auger manifest template: comment ignored, image templated" "image: ghcr.io/acme/cmt:01234567" "$OUT"
cat >"$T/patched.yaml" <<'EOF'
app: myapp
env: staging
namespace: default
chart:
  name: onechart
values:
  ingress:
    host: myapp.staging.mycompany.com
json6902Patches:
- target: {group: networking.k8s.io, version: v1, kind: Ingress, name: myapp}
  patch: |
    - op: replace
      path: /spec/rules/0/host
      value: myapp.com
EOF
OUT=$(timeout -k 2 10 "$AUGER" manifest template -f "$T/patched.yaml" 2>&1)
check_match "auger manifest template applies json6902Patches" "host: myapp.com" "$OUT"

finish
