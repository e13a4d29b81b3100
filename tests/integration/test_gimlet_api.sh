#!/usr/bin/env bash
# Gimlet's API as Gimlet's client and CI use it: each case replays a call of
# gimlet-io/gimlet pkg/client/client.go (tests/integration/gimlet_client.py
# decodes the answers into the client's Go types, or panics where the client
# does res["id"].(string)), or a curl call as gimlet-artifact-shipper-action's
# entrypoint.sh makes it, and cites the Gimlet source whose behaviour it
# checks. Inputs include Gimlet's own fixture artifacts
# (fixtures/gimlet/, copied from gimlet-io/gimlet fixtures/).
#
#   bash tests/integration/test_gimlet_api.sh
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/release_lib.sh"

command -v python3 >/dev/null 2>&1 || die "python3 is needed"
GC=$ROOT/tests/integration/gimlet_client.py
GFIX=$FIXTURES/gimlet

start_daemon
export AUGER_URL=$URL AUGER_TOKEN=$TOKEN

# gc CALL ARGS...: one call of Gimlet's client; sets GC_OUT and GC_RC.
gc() {
	GC_OUT=$(python3 "$GC" "$URL" "${GC_TOKEN:-$TOKEN}" "$@" 2>"$T/gc.err")
	GC_RC=$?
	GC_ERR=$(cat "$T/gc.err")
}
section() { echo "# $1 (${SECONDS}s)"; }

for e in staging production; do
	api POST /api/envs "{\"name\":\"$e\"}"
	[ "$API_STATUS" = 201 ] || die "env $e: $API_STATUS" "$API_BODY"
done

# ================================================================ health
section "health"
# pkg/dashboard/server/router.go: r.Get("/health", ...) answers 200.
check_eq "GET /health: 200 without a credential" 200 \
	"$(curl -s -o /dev/null -w '%{http_code}' "$URL/health")"
check_eq "GET /health answers like /healthz" "$(curl -s "$URL/healthz")" "$(curl -s "$URL/health")"

# ================================================================ access_token
section "?access_token="
# Gimlet's token.ParseRequest takes ?access_token= when there is no
# Authorization header (pkg/dashboard/server/router_test.go calls
# /api/artifacts?access_token=...).
check_eq "?access_token=<admin token>: 200" 200 \
	"$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/artifacts?access_token=$TOKEN")"
check_eq "?access_token=gibberish: 401" 401 \
	"$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/artifacts?access_token=gibberish")"
api POST /api/tokens '{"name":"reader","role":"read","envs":["staging"]}'
READ_T=$(jf .token <<<"$API_BODY")
check_eq "?access_token= of a read token: its scope (403 on production's history)" 403 \
	"$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/releases?env=production&access_token=$READ_T")"
check_eq "?access_token= of a read token: 200 on staging's" 200 \
	"$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/releases?env=staging&access_token=$READ_T")"
check_eq "?access_token= does not open git paths" 401 \
	"$(curl -s -o /dev/null -w '%{http_code}' "$URL/gitops-staging-apps.git/info/refs?service=git-upload-pack&access_token=$TOKEN")"
check_not "the token is never logged" grep -q "$TOKEN" "$DAEMON_LOG"
check_not "a bad access_token is never logged" grep -q gibberish "$DAEMON_LOG"

# ================================================================ Gimlet's fixtures
section "Gimlet's fixture artifacts"
# fixtures/artifact.json (no version.event: Go omitted the zero value, push).
gc artifact-post "$GFIX/artifact.json"
check_eq "ArtifactPost(fixtures/artifact.json) decodes as dx.Artifact" 0 "$GC_RC"
FIX_ID=$(jf .id <<<"$GC_OUT")
check_match "  and has an id" . "$FIX_ID"
# pkg/dashboard/store/events.go Artifacts: event filter on the stored
# GitEvent, which is 0 (push) for an artifact without event.
gc artifacts-get event=push
check_eq "ArtifactsGet(event=push) finds the artifact without event" "$FIX_ID" \
	"$(jf "[.[].id | select(. == \"$FIX_ID\")][0]" <<<"$GC_OUT")"
gc artifacts-get event=tag
check_eq "ArtifactsGet(event=tag) does not" "" "$(jf "[.[].id | select(. == \"$FIX_ID\")][0] // empty" <<<"$GC_OUT")"
api GET "/api/artifacts?event=bogus"
check_eq "?event=bogus: 400" 400 "$API_STATUS"
# fixtures/cue-artifact.json: cueEnvironments are not rendered here; the
# answer says so (pkg/dx/artifact.go CueEnvironmentsToManifests).
api POST /api/artifact "$(cat "$GFIX/cue-artifact.json")"
check_eq "cue artifact: 201" 201 "$API_STATUS"
check_match "cue artifact: a warning names cueEnvironments" 'cueEnvironments: 1 entry not deployed' \
	"$(jf '.warnings[]' <<<"$API_BODY")"
# dx.Artifact.Vars is map[string]string: a number sent by curl is kept as
# text, so the client still decodes every artifact of the list.
jq -c '.vars = {"RUN": 42, "DEBUG": true}' "$GFIX/artifact.json" >"$T/numvars.json"
api POST /api/artifact "$(cat "$T/numvars.json")"
check_eq "vars 42 and true are stored as strings \"42\" and \"true\"" "string:42 string:true" \
	"$(jf '"\(.vars.RUN | type):\(.vars.RUN) \(.vars.DEBUG | type):\(.vars.DEBUG)"' <<<"$API_BODY")"
gc artifacts-get limit=100
check_eq "ArtifactsGet of every artifact decodes as []*dx.Artifact" 0 "$GC_RC"
gc track-artifact "$FIX_ID"
check_eq "TrackArtifact(fixture) decodes as dx.ReleaseStatus" 0 "$GC_RC"
check_eq "  status processed (model.StatusProcessed: never \"new\" here)" processed "$(jf .status <<<"$GC_OUT")"

# ================================================================ shipper flow
section "the shipper's flow: push, track, release make, release track"
# gimlet-artifact-shipper-action entrypoint.sh: artifact push -o json | jq
# .id; artifact track ID; release make | jq .id; release track ID.
SHA1=$(rl_sha web-1)
A1=$(rl_artifact web staging "$SHA1" main)
printf '%s' "$A1" >"$T/a1.json"
gc artifact-post "$T/a1.json"
check_eq "ArtifactPost: decodes" 0 "$GC_RC"
ID1=$(jf .id <<<"$GC_OUT")
REF1=$(jf '.releases[0].gitopsRef' <<<"$GC_OUT")
check_match "  the policy deployed it" '^[0-9a-f]{40}$' "$REF1"
# releases.go getEventArtifactTrack: ReleaseStatus {status, statusDesc,
# results[{app, env, hash, status, gitopsCommitStatus}]}.
gc track-artifact "$ID1"
check_eq "TrackArtifact: decodes" 0 "$GC_RC"
check_eq "TrackArtifact: one result web/staging, success, hash = the gitops commit" \
	"web staging success $REF1" "$(jf '.results[0] | "\(.app) \(.env) \(.status) \(.hash)"' <<<"$GC_OUT")"
api GET "/api/eventArtifactTrack"
check_eq "eventArtifactTrack without artifactId: 400" 400 "$API_STATUS"
api GET "/api/eventArtifactTrack?artifactId=nope"
check_eq "eventArtifactTrack of an unknown artifact: 404" 404 "$API_STATUS"
# Flux reports; the tracked status follows at once.
FEV=$(jq -cn --arg r "main@sha1:$REF1" '{involvedObject:{kind:"Kustomization",name:"x"},severity:"info",reason:"ReconciliationSucceeded",message:"applied",metadata:{revision:$r}}')
KEY=$(api GET /api/envs && jf '.envs[] | select(.name == "staging") | .name')
SECRETS=$(api POST /api/bootstrap '{"env":"staging"}' && jf .secrets <<<"$API_BODY")
EVT=$(awk '/auger-staging-events/{f=1} f && /token:/{print $2; exit}' <<<"$SECRETS")
SIG=$(printf '%s' "$FEV" | openssl dgst -sha256 -hmac "$EVT" -hex | sed 's/^.* //')
curl -s -o /dev/null -H "X-Signature: sha256=$SIG" -H 'Content-Type: application/json' \
	--data-binary "$FEV" "$URL/api/flux-events?env=staging"
gc track-artifact "$ID1"
check_eq "TrackArtifact after Flux's event: gitopsCommitStatus ReconciliationSucceeded" \
	ReconciliationSucceeded "$(jf '.results[0].gitopsCommitStatus' <<<"$GC_OUT")"

# releases.go release: POST /api/releases answers {"id", "type"}; the
# client does res["id"].(string).
SHA2=$(rl_sha web-2)
rl_push_ok "$(rl_artifact web staging "$SHA2" ci)"
ID2=$ART_ID
gc releases-post staging web "$ID2"
check_eq "ReleasesPost: no panic, an id" 0 "$GC_RC"
RID=$GC_OUT
RID=${RID//\"/}
check_match "  the id is a UUID (Gimlet's event id)" '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' "$RID"
rl_deploy staging "$ID2" web
check_eq "POST /api/releases: type release" release "$(jf .type <<<"$API_BODY")"
check_eq "POST /api/releases: the synchronous result stays (releases[0].app)" web "$(jf '.releases[0].app' <<<"$API_BODY")"
gc track-release "$RID"
check_eq "TrackRelease: decodes" 0 "$GC_RC"
check_eq "TrackRelease: type release, status processed" "release processed" "$(jf '"\(.type) \(.status)"' <<<"$GC_OUT")"
check_eq "TrackRelease: web/staging success with the commit" "web staging success $(apps_main staging)" \
	"$(jf '.results[0] | "\(.app) \(.env) \(.status) \(.hash)"' <<<"$GC_OUT")"
gc track-release 00000000-0000-0000-0000-000000000000
check_eq "TrackRelease of an unknown id: a client error" 1 "$GC_RC"
check_match "  404" 'client error 404' "$GC_ERR"
GC_TOKEN=$READ_T gc track-release "$RID"
check_eq "a read token of staging may track staging's release" 0 "$GC_RC"
api POST /api/tokens '{"name":"prodreader","role":"read","envs":["production"]}'
GC_TOKEN=$(jf .token <<<"$API_BODY") gc track-release "$RID"
check_match "a token of another env may not (404)" 'client error 404' "$GC_ERR"

# ================================================================ rollback
section "rollback"
# releases.go performRollback: ?env=&app=&sha= (target gitops sha), answer
# {"id"}.
gc rollback-post staging web "$REF1"
check_eq "RollbackPost: no panic, an id" 0 "$GC_RC"
RBID=${GC_OUT//\"/}
gc track-release "$RBID"
check_eq "TrackRelease(rollback): type rollback, web success" "rollback web success" \
	"$(jf '"\(.type) \(.results[0].app) \(.results[0].status)"' <<<"$GC_OUT")"
# pkg/dashboard/gitops/helper.go Releases skips RollbackCommit and
# DeleteCommit: the rollback is no release of its own there.
gc releases-get env=staging app=web
check_eq "ReleasesGet: decodes" 0 "$GC_RC"
check_eq "ReleasesGet: the two deploys only, newest first, the newer rolled back" \
	"$SHA2:true $SHA1:false" "$(jf '[.[] | "\(.version.sha):\(.rolledBack // false)"] | join(" ")' <<<"$GC_OUT")"
api GET "/api/releases?env=staging&app=web&all=true"
check_eq "?all=true: auger's index keeps the rollback record" "rollback deploy deploy" \
	"$(jf '[.[].action] | join(" ")' <<<"$API_BODY")"

# ================================================================ status
section "status"
# releases.go getStatus: map[string]*dx.Release; ?app= filters.
gc status-get staging
check_eq "StatusGet: decodes as map[string]*dx.Release" 0 "$GC_RC"
check_eq "StatusGet: web's current release is the rollback's commit" "$(apps_main staging)" "$(jf .web.gitopsRef <<<"$GC_OUT")"
rl_push_ok "$(rl_artifact api staging "$(rl_sha api-1)" main)"
gc status-get staging api
check_eq "StatusGet(app=api): only api" api "$(jf 'keys | join(" ")' <<<"$GC_OUT")"
gc status-get staging
check_eq "StatusGet(): both apps" "api web" "$(jf 'keys | join(" ")' <<<"$GC_OUT")"

# ================================================================ lists
section "list semantics"
# store/events.go Artifacts: LIMIT 10 when none given.
for k in $(seq 1 11); do
	rl_push_ok "$(rl_artifact many staging "$(rl_sha many-$k)" ci)"
done
gc artifacts-get repository=acme/many
check_eq "artifacts: 10 by default" 10 "$(jf length <<<"$GC_OUT")"
gc artifacts-get repository=acme/many limit=20
check_eq "artifacts: limit=20 gives all 11" 11 "$(jf length <<<"$GC_OUT")"
api GET "/api/artifacts?limit=abc"
check_eq "artifacts: limit=abc is a 400 (strconv.Atoi fails)" 400 "$API_STATUS"
api GET "/api/releases?env=staging&limit=x"
check_eq "releases: limit=x is a 400" 400 "$API_STATUS"
# sha= several times: SQL "sha IN (...)".
gc artifacts-get "sha=$(rl_sha many-1)" "sha=$(rl_sha many-2)"
check_eq "artifacts: two sha= are OR-ed" 2 "$(jf length <<<"$GC_OUT")"
# since/until are RFC 3339 (client.go: since.Format(time.RFC3339)).
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
HOUR_AGO=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)
gc artifacts-get repository=acme/many "since=$(python3 -c 'import urllib.parse,sys;print(urllib.parse.quote(sys.argv[1]))' "$HOUR_AGO")" limit=100
check_eq "artifacts: since=<an hour ago, RFC 3339> keeps them" 11 "$(jf length <<<"$GC_OUT")"
gc artifacts-get repository=acme/many "until=$HOUR_AGO" limit=100
check_eq "artifacts: until=<an hour ago> keeps none (not read as the year)" 0 "$(jf length <<<"$GC_OUT")"
gc artifacts-get repository=acme/many "since=2026-01-01T00:00:00%2B02:00" "until=2100-01-01T00:00:00Z" limit=100
check_eq "artifacts: an offset zone parses" 0 "$GC_RC"
api GET "/api/artifacts?since=yesterday"
check_eq "artifacts: since=yesterday is a 400" 400 "$API_STATUS"
gc releases-get env=staging "since=$HOUR_AGO" limit=100
check_eq "releases: since= RFC 3339 keeps today's" 3 "$(jf length <<<"$GC_OUT")"
# releases.go getReleases: limit 10 by default, git-repo=, reverse=true.
for k in $(seq 1 11); do
	rl_push_ok "$(rl_artifact web2 staging "$(rl_sha web2-$k)" main)"
done
gc releases-get env=staging
check_eq "releases: 10 by default" 10 "$(jf length <<<"$GC_OUT")"
gc releases-get env=staging git-repo=acme/web limit=100
check_eq "releases: git-repo=acme/web: web's two deploys only" "web web" "$(jf '[.[].app] | join(" ")' <<<"$GC_OUT")"
gc releases-get env=staging app=web2 limit=3
NEWEST=$(jf '[.[].version.sha] | join(" ")' <<<"$GC_OUT")
api GET "/api/releases?env=staging&app=web2&limit=3&reverse=true"
check_eq "releases: reverse=true gives the same page oldest first" \
	"$(tr ' ' '\n' <<<"$NEWEST" | tac | tr '\n' ' ' | sed 's/ $//')" "$(jf '[.[].version.sha] | join(" ")' <<<"$API_BODY")"
api GET "/api/releases?env=staging&reverse=maybe"
check_eq "releases: reverse=maybe is a 400 (strconv.ParseBool)" 400 "$API_STATUS"

# ================================================================ previews
section "previews from API artifacts"
# pkg/dx/manifest.go PrepPreview: app "<app without -preview>-<branch
# slug>", ingress host likewise, policy event push + branch !{main,master}.
PV=$(rl_artifact shop-preview staging "$(rl_sha shop-1)" feature/Login-Page | jq -c '.environments[0].preview = true | .environments[0].deploy = {branch: "nothing-matches", event: "tag"}')
api POST /api/artifact "$PV"
check_eq "preview artifact on feature/Login-Page: deployed as shop-feature-login-page" \
	shop-feature-login-page "$(jf '.releases[0].app' <<<"$API_BODY")"
check_match "  its ingress host is renamed" 'shop-feature-login-page\.example\.com' \
	"$(apps_git staging show "refs/heads/main:shop-feature-login-page/ingress.yaml" 2>/dev/null)"
PVM=$(rl_artifact shop-preview staging "$(rl_sha shop-2)" main | jq -c '.environments[0].preview = true')
api POST /api/artifact "$PVM"
check_eq "preview manifest on main: nothing deployed" 0 "$(jf '.releases | length' <<<"$API_BODY")"
PVT=$(rl_artifact shop-preview staging "$(rl_sha shop-3)" feature-x | jq -c '.environments[0].preview = true | .version.event = "tag"')
api POST /api/artifact "$PVT"
check_eq "preview manifest on a tag event: nothing deployed" 0 "$(jf '.releases | length' <<<"$API_BODY")"

# ================================================================ delete
section "delete"
# releases.go delete: nothing to commit answers 200 {}.
gc delete-post staging api
check_eq "DeletePost: api deleted" 0 "$GC_RC"
api POST "/api/delete?env=staging&app=api"
check_eq "deleting it again: 200 {}" "200 {}" "$API_STATUS $(jq -c . <<<"$API_BODY")"
api POST "/api/delete?env=staging&app=never-there"
check_eq "deleting an app never deployed: 200 {}" "200 {}" "$API_STATUS $(jq -c . <<<"$API_BODY")"
gc releases-get env=staging app=api
check_eq "ReleasesGet: the delete is no release of its own" deploy \
	"$(api GET "/api/releases?env=staging&app=api" && jf '[.[] | .action // "deploy"] | join(" ")' <<<"$API_BODY")"

# ================================================================ gitops repo, manifests, users
section "gitopsRepo, gitopsManifests, user, users"
# client.go GitopsRepoGet: {"gitopsRepo": "..."}.
api GET "/api/gitopsRepo?env=staging"
check_eq "gitopsRepo?env=staging" gitops-staging-apps "$(jf .gitopsRepo <<<"$API_BODY")"
gc gitops-repo-get
check_match "GitopsRepoGet with two envs: a client error naming ?env=" 'client error 400.*env=' "$GC_ERR"
GC_TOKEN=$READ_T gc gitops-repo-get
check_eq "GitopsRepoGet by a token of one env: its repo" '"gitops-staging-apps"' "$GC_OUT"
# gitopsManifests.go: {"infra": {name: text}, "apps": {name: text}} of
# <env>/flux (flux/ here: one repository per env).
gc gitops-manifests-get staging
check_eq "GitopsManifestsGet: decodes as map[string]map[string]string" 0 "$GC_RC"
check_eq "  apps: the files of flux/ in gitops-staging-apps" \
	"$(apps_git staging ls-tree --name-only refs/heads/main:flux | tr '\n' ' ' | sed 's/ $//')" \
	"$(jf '.apps | keys | join(" ")' <<<"$GC_OUT")"
check_eq "  apps: a file's text" "$(apps_git staging show refs/heads/main:flux/kustomization-web.yaml)" \
	"$(jf '.apps["kustomization-web.yaml"]' <<<"$GC_OUT")"
check_eq "  infra: an object" object "$(jf '.infra | type' <<<"$GC_OUT")"
GC_TOKEN=$READ_T gc gitops-manifests-get production
check_match "GitopsManifestsGet of another env's: 403" 'client error 403' "$GC_ERR"
api GET /api/gitopsManifests/nope
check_eq "gitopsManifests of an unknown env: 404" 404 "$API_STATUS"
# api.go user: model.User {login, token, admin, name, ...}.
api GET /api/user "" "$READ_T"
check_eq "GET /api/user: login and admin of the credential" "reader false read" \
	"$(jf '"\(.login) \(.admin) \(.role)"' <<<"$API_BODY")"
gc users-get
check_eq "UsersGet: decodes as []*model.User" 0 "$GC_RC"
check_eq "UsersGet: the tokens an admin sees" "prodreader reader" \
	"$(jf '[.[].login | select(startswith("auger-") | not)] | sort | join(" ")' <<<"$GC_OUT")"
GC_TOKEN=$READ_T gc users-get
check_match "UsersGet by a read token: 403" 'client error 403' "$GC_ERR"

# ================================================================ CLI
section "CLI: headers, human times, --json"
out=$("$AUGER" release list --env staging --app web 2>&1)
check_match "release list: a header" '^SEQ +ENV +APP +ACTION' "$out"
check_match "release list: human times" '[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} UTC' "$out"
check_match "release list: the rollback is listed (auger's index)" ' rollback ' "$out"
check_eq "release list --json: the API's array" 3 "$("$AUGER" release list --env staging --app web --json | jq length)"
check_eq "release status --json: the map" "web" "$("$AUGER" release status --env staging --app web --json | jq -r 'keys | join(" ")')"
check_match "release status: a header" '^SEQ ' "$("$AUGER" release status --env staging)"
check_match "token list: a header and CREATED" '^NAME +ROLE +ENVS +CREATED' "$("$AUGER" token list)"
check_eq "token list --json" reader "$("$AUGER" token list --json | jq -r '[.[].name | select(. == "reader")][0]')"
check_match "env list: a header" '^NAME +APPS REPO' "$("$AUGER" env list)"
check_eq "env list --json" "production staging" "$("$AUGER" env list --json | jq -r '[.[].name] | sort | join(" ")')"
check_match "repo list: a header" '^NAME +CLONE URL' "$("$AUGER" repo list)"
check_eq "repo list --json: an array" array "$("$AUGER" repo list --json | jq -r type)"
check_match "key list: a header" '^NAME +ROLE' "$("$AUGER" key list)"

finish
