#!/usr/bin/env bash
# The web dashboard (augerd's /ui, daemon/ui*.c) against its contract
# (routes, cookies, stable selectors): a real browser walk, then curl.
#
# The browser part is tests/ui/dashboard.js: Debian's headless Chromium
# (/usr/bin/chromium) driven by playwright-core (the version pinned in
# tests/ui/package.json, installed from npm into build/ui/ by this file).
# It signs in, reads the overview, env, app, manifests and diff pages,
# filters artifacts and deploys one with its "Deploy" button, watches the
# env page update live (SSE) on an API deploy, Flux events and a rollback,
# rolls back from the app page, pages through a long history, sends forged
# posts, signs out; a read token sees its env only and no deploy or rollback
# controls. Each of its checks becomes a check here; full-page screenshots
# land in build/ui/*.png.
#
# curl then checks what a browser hides: the cookies' flags, the CSRF and
# Origin refusals, the pages and forms without JavaScript (deploy and
# rollback by plain form posts), sign-out, a deleted token's session,
# session expiry (a second start, --session-ttl 2) and Secure cookies (a
# third, over TLS).
#
#   bash tests/integration/test_ui.sh
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/release_lib.sh"

section() { echo "# $1 (${SECONDS}s)"; }

# ================================================================ tools
section "tools"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
UI_PREFIX=$ROOT/build/ui
SHOTS=$UI_PREFIX
export PLAYWRIGHT_MODULES=$UI_PREFIX/node_modules
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1 || [ ! -x "$CHROMIUM" ]; then
	# A fresh machine: deps.sh installs node, npm and chromium.
	out=$(timeout -k 5 180 sh "$ROOT/scripts/deps.sh" 2>&1) || echo "     scripts/deps.sh: $(printf '%s' "$out" | tail -n 3)"
fi
if [ ! -x "$CHROMIUM" ] && [ "$(id -u)" = 0 ]; then
	out=$(DEBIAN_FRONTEND=noninteractive timeout -k 5 180 apt-get install -y -qq --no-install-recommends chromium 2>&1) ||
		echo "     apt-get install chromium: $(printf '%s' "$out" | tail -n 3)"
fi
command -v node >/dev/null 2>&1 || die "node is not installed (sh scripts/deps.sh)"
[ -x "$CHROMIUM" ] || die "$CHROMIUM is not installed (sh scripts/deps.sh installs chromium)"
PW_VERSION=$(jq -r '.dependencies["playwright-core"] // empty' "$ROOT/tests/ui/package.json")
[ -n "$PW_VERSION" ] || die "tests/ui/package.json pins no playwright-core version"
have=$(node -p "require('$PLAYWRIGHT_MODULES/playwright-core/package.json').version" 2>/dev/null)
if [ "$have" != "$PW_VERSION" ]; then
	command -v npm >/dev/null 2>&1 || die "npm is not installed (sh scripts/deps.sh)"
	mkdir -p "$UI_PREFIX"
	out=$(timeout -k 5 150 npm install --no-audit --no-fund --prefix "$UI_PREFIX" "playwright-core@$PW_VERSION" 2>&1) ||
		die "npm install playwright-core@$PW_VERSION failed" "$(printf '%s' "$out" | tail -n 5)"
fi
ok "playwright-core $PW_VERSION and $($CHROMIUM --version 2>/dev/null | head -n 1)"
mkdir -p "$SHOTS"
rm -f "$SHOTS"/*.png

# ================================================================ data
section "data"
start_daemon
for e in staging production; do
	api POST /api/envs "{\"name\":\"$e\"}"
	[ "$API_STATUS" = 201 ] || die "POST /api/envs $e -> $API_STATUS" "$API_BODY"
done
ET=$(events_token staging)
[ -n "$ET" ] || die "no events token from POST /api/bootstrap" "$API_BODY"

# web in staging: w1 deploys by policy (branch main), w2 by the API; w3 is
# for the browser's Deploy button, w4 for the live deploy, w5 for the
# no-JavaScript form post. Each has its own sha, so each release is a change.
declare -A ART_IDS ART_SHAS
art() { # art KEY APP ENV BRANCH
	local sha
	sha=$(rl_sha "ui-$1")
	rl_push_ok "$(rl_artifact "$2" "$3" "$sha" "$4")"
	ART_IDS[$1]=$ART_ID
	ART_SHAS[$1]=$sha
}
art w1 web staging main
check_eq "w1 deployed by policy" 1 "$(jf '.releases | length' <<<"$API_BODY")"
for k in w2 w3 w4 w5; do art $k web staging ci; done
rl_deploy staging "${ART_IDS[w2]}"
[ "$API_STATUS" = 201 ] || die "deploy w2 -> $API_STATUS" "$API_BODY"
art prod1 web production main
# bad: its render fails ({{ .NOPE_VAR }}), for the error result page.
sha=$(rl_sha ui-bad)
rl_push_ok "$(rl_artifact web staging "$sha" ci '{"image":{"repository":"ghcr.io/acme/web","tag":"{{ .NOPE_VAR }}"}}')"
ART_IDS[bad]=$ART_ID ART_SHAS[bad]=$sha
# api in staging: 21 releases, one more than a history page holds.
for i in $(seq 1 21); do art "api$i" api staging main; done
ART_IDS[api1]=${ART_IDS[api21]} ART_SHAS[api1]=${ART_SHAS[api21]}
check_eq "api has 21 releases in staging" 21 "$(rl_history staging limit=1000 | jq '[.[] | select(.app == "api")] | length')"
api POST /api/tokens '{"name":"viewer","role":"read","envs":["staging"]}'
READ_T=$(jf '.token // empty' <<<"$API_BODY")
[ -n "$READ_T" ] || die "POST /api/tokens viewer -> $API_STATUS" "$API_BODY"

# A preview (Gimlet's shape: preview: true, a feature branch), posted by the
# browser driver while it watches the env page: it deploys as
# shop-feature-login-page.
PREVIEW=$(rl_artifact shop-preview staging "$(rl_sha ui-shop-1)" feature/Login-Page |
	jq -c '.environments[0].preview = true | .environments[0].deploy = {branch: "nothing-matches", event: "tag"}')

arts_json=$(for k in "${!ART_IDS[@]}"; do
	jq -cn --arg k "$k" --arg id "${ART_IDS[$k]}" --arg sha "${ART_SHAS[$k]}" '{($k): {id: $id, sha: $sha}}'
done | jq -cs 'add')
jq -n --arg url "$URL" --arg admin "$TOKEN" --arg reader "$READ_T" --arg et "$ET" \
	--arg shots "$SHOTS" --argjson arts "$arts_json" --argjson preview "$PREVIEW" \
	'{url: $url, admin: $admin, reader: $reader, readerName: "viewer", eventsToken: $et,
	  shots: $shots, env: "staging", otherEnv: "production", app: "web", pagerApp: "api",
	  arts: $arts, preview: {artifact: $preview, app: "shop-feature-login-page"}}' >"$T/ui.json" || die "writing the browser's fixture"

# ================================================================ curl: no session
section "no session (curl)"
# ui_curl JAR METHOD PATH [CURL ARGS...]: sets UI_STATUS, UI_BODY, UI_HEAD
# (the response headers, CRs stripped). JAR "" sends no cookies.
ui_curl() {
	local jar=$1 method=$2 path=$3
	shift 3
	local args=(-s -o "$T/ui.body" -D "$T/ui.head" -w '%{http_code}' --max-time 30 -X "$method")
	[ -n "$jar" ] && args+=(-b "$jar" -c "$jar")
	[ -n "${TLS_CA:-}" ] && args+=(--cacert "$TLS_CA")
	UI_STATUS=$(curl "${args[@]}" "$@" "$URL$path")
	UI_BODY=$(cat "$T/ui.body" 2>/dev/null)
	UI_HEAD=$(tr -d '\r' <"$T/ui.head" 2>/dev/null)
}
ui_location() { printf '%s\n' "$UI_HEAD" | sed -n 's/^[Ll]ocation: *//p' | tail -n 1; }
# ui_set_cookie NAME: the Set-Cookie header of NAME in the last answer.
ui_set_cookie() { printf '%s\n' "$UI_HEAD" | grep -i "^set-cookie: *$1=" | tail -n 1; }
# ui_csrf: the csrf field's value in the last page's first form.
ui_csrf() {
	printf '%s' "$UI_BODY" | tr '\n' ' ' | grep -oiE '<input[^>]*name="?csrf"?[^>]*>' | head -n 1 |
		sed -nE 's/.*value="?([^" >]+).*/\1/p'
}
# ui_signin JAR TOKEN: the sign-in form as a browser posts it. Leaves the
# POST's answer in UI_*.
ui_signin() {
	local jar=$1 tok=$2 c
	rm -f "$jar"
	ui_curl "$jar" GET /ui/signin
	c=$(ui_csrf)
	ui_curl "$jar" POST /ui/signin --data-urlencode "token=$tok" --data-urlencode "csrf=$c"
}
# ui_page JAR PATH: GET a page; sets PAGE_CSRF from it too.
ui_page() { ui_curl "$1" GET "$2"; PAGE_CSRF=$(ui_csrf); }
rel_count() { rl_history staging limit=1000 | jq length; }
web_ref() { api GET /api/status?env=staging && jf '.web.gitopsRef // empty' <<<"$API_BODY"; }

ui_curl "" GET /ui/signin
[ "$UI_STATUS" = 200 ] || die "GET /ui/signin -> $UI_STATUS: augerd serves no dashboard" "$UI_BODY"
ok "GET /ui/signin: 200"
check_match "sign-in page: a token field" '<input[^>]*name="?token"?' "$UI_BODY"
check_match "sign-in page: a csrf field with a value" '.' "$(ui_csrf)"
SC=$(ui_set_cookie auger_csrf)
check_match "sign-in sets auger_csrf" 'auger_csrf=[^;]+' "$SC"
check_match "auger_csrf: HttpOnly" '; *HttpOnly' "$SC"
check_match "auger_csrf: SameSite=Strict" '; *SameSite=Strict' "$SC"
for p in / /ui/env/staging /ui/env/staging/app/web /ui/artifacts; do
	ui_curl "" GET "$p"
	check_eq "GET $p without a cookie: 303" 303 "$UI_STATUS"
	check_match "GET $p without a cookie: Location /ui/signin" '/ui/signin$' "$(ui_location)"
done
ui_curl "" POST /ui/deploy --data-urlencode "artifact=${ART_IDS[w5]}" -d env=staging
check_eq "POST /ui/deploy without a session: 403" 403 "$UI_STATUS"
ui_curl "" GET /ui/assets/auger.css
check_eq "GET /ui/assets/auger.css without a session: 200" 200 "$UI_STATUS"
check_match "auger.css: Content-Type text/css" '^[Cc]ontent-[Tt]ype: *text/css' "$UI_HEAD"
ui_curl "" GET /ui/assets/auger.js
check_eq "GET /ui/assets/auger.js without a session: 200" 200 "$UI_STATUS"
check_match "auger.js: a JavaScript Content-Type" '^[Cc]ontent-[Tt]ype: *(text|application)/(x-)?javascript' "$UI_HEAD"

J0=$T/jar0
rm -f "$J0"
ui_curl "$J0" GET /ui/signin
C0=$(ui_csrf)
ui_curl "$J0" POST /ui/signin --data-urlencode "token=$TOKEN"
check_eq "sign-in without the csrf field: 403" 403 "$UI_STATUS"
check_eq "  and no session cookie" "" "$(ui_set_cookie auger_session | grep -v 'auger_session=;' )"
ui_curl "" POST /ui/signin --data-urlencode "token=$TOKEN" --data-urlencode "csrf=$C0"
check_eq "sign-in with the csrf field but no auger_csrf cookie (double submit): 403" 403 "$UI_STATUS"
ui_curl "$J0" POST /ui/signin --data-urlencode "token=$TOKEN" --data-urlencode "csrf=$C0" -H 'Origin: http://evil.invalid'
check_eq "sign-in from a foreign Origin: 403" 403 "$UI_STATUS"
ui_signin "$J0" not-a-token-0123456789
check_eq "sign-in with an unknown token: 401" 401 "$UI_STATUS"
check_match "  the page says \"unknown token\"" 'unknown token' "$UI_BODY"

# ================================================================ browser
section "browser (tests/ui/dashboard.js)"
DRV_OUT=$T/driver.out DRV_ERR=$T/driver.err
timeout -k 5 150 node "$ROOT/tests/ui/dashboard.js" "$T/ui.json" >"$DRV_OUT" 2>"$DRV_ERR"
drv_rc=$?
drv_done=
while IFS= read -r line; do
	case $line in
	ok$'\t'*) ok "browser: ${line#ok$'\t'}" ;;
	FAIL$'\t'*)
		rest=${line#FAIL$'\t'}
		detail=${rest#*$'\t'}
		fail "browser: ${rest%%$'\t'*}" "${detail//\\n/$'\n'}"
		;;
	done$'\t'*) drv_done=$line ;;
	*) printf '     %s\n' "$line" ;;
	esac
done <"$DRV_OUT"
if [ $drv_rc = 0 ] && [ -n "$drv_done" ]; then
	ok "the browser driver ran to its end (${drv_done#done$'\t'} passed/failed)"
else
	why="exit status $drv_rc"
	[ $drv_rc = 124 ] && why="killed after 150 s"
	fail "the browser driver ran to its end ($why)" "$(tail -n 30 "$DRV_ERR")"
fi
missing=()
for s in signin overview env app manifests diff artifacts deploy-result rollback-confirm read-env; do
	[ -s "$SHOTS/$s.png" ] || missing+=("$s.png")
done
check_eq "build/ui/ holds the screenshots" "" "${missing[*]}"

# ================================================================ curl: a session
section "a session (curl)"
J1=$T/jar1
ui_signin "$J1" "$TOKEN"
check_eq "sign-in: 303" 303 "$UI_STATUS"
check_match "sign-in: Location /" '^(https?://[^/]+)?/$' "$(ui_location)"
SC=$(ui_set_cookie auger_session)
check_match "sign-in sets auger_session" 'auger_session=[^;]+' "$SC"
check_match "auger_session: HttpOnly" '; *HttpOnly' "$SC"
check_match "auger_session: SameSite=Strict" '; *SameSite=Strict' "$SC"
check_match "auger_session: Path=/" '; *Path=/(;|$)' "$SC"

# The pages without JavaScript: the content is in the HTML.
ui_page "$J1" /
check_eq "GET / with the session: 200" 200 "$UI_STATUS"
check_match "overview HTML: staging and production" 'data-env="?staging"?.*data-env="?production"?|data-env="?production"?.*data-env="?staging"?' "$(tr '\n' ' ' <<<"$UI_BODY")"
check_match "overview HTML: #whoami admin (admin)" 'admin \(admin\)' "$UI_BODY"
W_CUR=$(api GET /api/status?env=staging && jf '.web.version.sha // empty' <<<"$API_BODY")
ui_page "$J1" /ui/env/staging
check_eq "GET /ui/env/staging: 200" 200 "$UI_STATUS"
check_match "env HTML: the web row" 'data-app="?web"?' "$UI_BODY"
check_match "env HTML: web's current short sha" ">${W_CUR:0:7}<" "$UI_BODY"
check_match "env HTML: the flux verdict span" 'class="?[^>]*flux' "$UI_BODY"
ui_page "$J1" /ui/env/staging/app/web
check_eq "GET the app page: 200" 200 "$UI_STATUS"
check_eq "app HTML: a row per release" "$(rl_history staging limit=1000 | jq '[.[] | select(.app == "web")] | length')" \
	"$(grep -oE 'data-seq="?[0-9]+' <<<"$UI_BODY" | sort -u | wc -l | tr -d ' ')"
ui_page "$J1" "/ui/artifacts?repository=acme/web&branch=ci"
check_match "artifacts HTML (filtered): w5" "data-id=\"?${ART_IDS[w5]}\"?" "$UI_BODY"
check_not "artifacts HTML (filtered): not w1 (branch main)" grep -q "data-id=\"\\?${ART_IDS[w1]}" <<<"$UI_BODY"
ev_ct=$(curl -s -o /dev/null -D - --max-time 2 -b "$J1" "$URL/ui/events" 2>/dev/null | tr -d '\r' | sed -n 's/^[Cc]ontent-[Tt]ype: *//p')
check_match "GET /ui/events: text/event-stream" '^text/event-stream' "$ev_ct"
CSRF1=$PAGE_CSRF
[ -n "$CSRF1" ] || fail "the signed-in pages carry a csrf field" "$UI_BODY"

# Forged posts: no csrf, a wrong one, the right one from a foreign Origin.
N0=$(rel_count) M0=$(web_ref)
S2=$(rl_history staging limit=1000 | jq -r --arg a "${ART_IDS[w2]}" '[.[] | select(.artifactId == $a and .action == "deploy")][0].seq')
forged() { # forged DESC PATH CURL-ARGS...
	local desc=$1 path=$2
	shift 2
	ui_curl "$J1" POST "$path" "$@"
	check_eq "forged POST $desc: 403" 403 "$UI_STATUS"
}
forged "/ui/deploy, no csrf" /ui/deploy --data-urlencode "artifact=${ART_IDS[w5]}" -d env=staging
check_match "  the page's .error names the CSRF token" 'class="?error"?[^>]*>[^<]*CSRF token is missing or wrong' "$UI_BODY"
forged "/ui/deploy, a wrong csrf" /ui/deploy --data-urlencode "artifact=${ART_IDS[w5]}" -d env=staging -d csrf=0123456789abcdef
forged "/ui/deploy, the session's csrf from Origin http://evil.invalid" /ui/deploy \
	--data-urlencode "artifact=${ART_IDS[w5]}" -d env=staging --data-urlencode "csrf=$CSRF1" -H 'Origin: http://evil.invalid'
forged "rollback, no csrf" /ui/env/staging/app/web/rollback -d "to=$S2"
check_match "  the page's .error names the CSRF token" 'CSRF token is missing or wrong' "$UI_BODY"
forged "rollback, a wrong csrf" /ui/env/staging/app/web/rollback -d "to=$S2" -d csrf=0123456789abcdef
forged "rollback, the session's csrf from Origin http://evil.invalid" /ui/env/staging/app/web/rollback \
	-d "to=$S2" --data-urlencode "csrf=$CSRF1" -H 'Origin: http://evil.invalid'
check_eq "forged posts: release count unchanged" "$N0" "$(rel_count)"
check_eq "forged posts: web's current release unchanged" "$M0" "$(web_ref)"

# The same forms, right: a deploy and a rollback without JavaScript.
ui_curl "$J1" POST /ui/deploy --data-urlencode "artifact=${ART_IDS[w5]}" -d env=staging --data-urlencode "csrf=$CSRF1" \
	-H "Origin: $URL"
check_eq "no-JS deploy form post (same Origin): 200" 200 "$UI_STATUS"
check_match "  #result.ok" 'id="?result"?[^>]*class="?[^">]*ok|class="?[^">]*ok[^>]*id="?result' "$UI_BODY"
check_eq "  the API's newest web release is w5" "${ART_IDS[w5]}" \
	"$(rl_history staging limit=1000 | jq -r '[.[] | select(.app == "web")] | max_by(.seq) | .artifactId')"
check_eq "  one more release" $((N0 + 1)) "$(rel_count)"
ui_curl "$J1" POST /ui/env/staging/app/web/rollback -d "to=$S2" --data-urlencode "csrf=$CSRF1"
check_eq "no-JS rollback form post (no Origin header): 200" 200 "$UI_STATUS"
check_match "  #result.ok" 'id="?result"?[^>]*class="?[^">]*ok|class="?[^">]*ok[^>]*id="?result' "$UI_BODY"
check_eq "  the API's newest web release: a rollback to $S2" "rollback $S2" \
	"$(rl_history staging limit=1000 | jq -r '[.[] | select(.app == "web")] | max_by(.seq) | "\(.action) \(.rollbackTo)"')"
# A validation refusal is shown whole: a 3 KB message from a validate hook.
mkdir -p "$DATA/hooks/validate.d"
cat >"$DATA/hooks/validate.d/50-long" <<'HOOK'
#!/bin/sh
cat >/dev/null
{
	printf 'LONG-REFUSAL-START'
	i=0
	while [ $i -lt 60 ]; do
		printf ' line %02d of a long refusal, as a policy engine prints it;' $i
		i=$((i + 1))
	done
	echo ' LONG-REFUSAL-END'
} >&2
exit 1
HOOK
chmod 0755 "$DATA/hooks/validate.d/50-long"
N3=$(rel_count)
ui_curl "$J1" POST /ui/deploy --data-urlencode "artifact=${ART_IDS[w4]}" -d env=staging --data-urlencode "csrf=$CSRF1"
check_eq "a deploy a validate hook refuses (3 KB message): 400" 400 "$UI_STATUS"
check_match "  #result.error" 'id="?result"?[^>]*class="?[^">]*error|class="?[^">]*error[^>]*id="?result' "$UI_BODY"
check_match "  the page holds the refusal from its start ..." 'LONG-REFUSAL-START' "$UI_BODY"
check_match "  ... to its end (nothing cut)" 'line 59 of a long refusal, as a policy engine prints it; LONG-REFUSAL-END' "$UI_BODY"
rl_deploy staging "${ART_IDS[w4]}"
check_match "  the API's answer holds it whole too" 'LONG-REFUSAL-END' "$API_BODY"
check_eq "  nothing deployed" "$N3" "$(rel_count)"
rm -f "$DATA/hooks/validate.d/50-long"

ui_curl "$J1" POST /ui/env/staging/app/web/rollback -d "to=999" --data-urlencode "csrf=$CSRF1"
check_match "rollback to an unknown release: a 4xx error page" '^4[0-9][0-9]$' "$UI_STATUS"
check_match "  #result.error" 'id="?result"?[^>]*class="?[^">]*error|class="?[^">]*error[^>]*id="?result' "$UI_BODY"
check_match "  the error, in a pre" '<pre[^>]*>[^<]*999' "$UI_BODY"

# Sign-out ends the session on the server, not only in the browser.
cp "$J1" "$T/jar1.copy"
ui_curl "$J1" POST /ui/signout --data-urlencode "csrf=$CSRF1"
check_eq "POST /ui/signout: 303" 303 "$UI_STATUS"
check_match "  Location /ui/signin" '/ui/signin$' "$(ui_location)"
check_match "  clears auger_session" 'auger_session=(;|"";|[^;]*;.*(Max-Age=0|[Ee]xpires=[A-Za-z]{3}, 0?1 Jan 1970))' "$(ui_set_cookie auger_session)"
ui_curl "$T/jar1.copy" GET /
check_eq "the signed-out session's cookie: GET / 303" 303 "$UI_STATUS"
check_match "  to /ui/signin" '/ui/signin$' "$(ui_location)"

# dead_session_post JAR CSRF LABEL: a deploy form posted with a session
# that ended is a 403 and deploys nothing.
dead_session_post() {
	local n
	n=$(rel_count)
	ui_curl "$1" POST /ui/deploy --data-urlencode "artifact=${ART_IDS[w4]}" -d env=staging --data-urlencode "csrf=$2"
	check_eq "$3: POST /ui/deploy 403" 403 "$UI_STATUS"
	check_eq "  nothing deployed" "$n" "$(rel_count)"
}

# ================================================================ bounds
section "what one credential may hold"
JA=$T/jar-admin
ui_signin "$JA" "$TOKEN"
for i in $(seq 1 33); do ui_signin "$T/jar-r$i" "$READ_T"; done
ui_curl "$JA" GET /
check_eq "33 read sign-ins: the admin's session lives on" 200 "$UI_STATUS"
ui_curl "$T/jar-r1" GET /ui/env/staging
check_eq "  the read token's own oldest session (33 > 32 per token) ended" 303 "$UI_STATUS"
ui_curl "$T/jar-r33" GET /ui/env/staging
check_eq "  its newest lives" 200 "$UI_STATUS"
SSE_PIDS=()
for i in $(seq 1 16); do
	curl -s -N -o /dev/null --max-time 30 -b "$T/jar-r33" "$URL/ui/events" &
	SSE_PIDS+=($!)
done
sleep 1
check_eq "a 17th event stream of one credential: 503" 503 \
	"$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 -b "$T/jar-r33" "$URL/ui/events")"
check_eq "  the admin still gets one: 200" 200 \
	"$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -b "$JA" "$URL/ui/events")"
kill "${SSE_PIDS[@]}" 2>/dev/null
wait "${SSE_PIDS[@]}" 2>/dev/null
# Escaping can make text 6 times longer: 12 files of 200 KB of quotes make
# a release whose manifests page stays within 2 MiB of HTML.
GW=$T/gitops-big
git_as "$TOKEN" clone -q "$URL/gitops-staging-apps.git" "$GW" || fail "clone gitops-staging-apps"
for i in $(seq 1 12); do
	printf "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: q%d\n  namespace: default\ndata:\n  q: '%s'\n" "$i" \
		"$(head -c 200000 /dev/zero | tr '\0' '"')" >"$GW/web/q$i.yaml"
done
commit_files "$GW" "web: twelve configmaps of quotes"
git_as "$TOKEN" -C "$GW" push -q origin main 2>"$T/big.err"
check_eq "an admin push of 2.4 MB of quotes into web/: accepted" 0 "$?"
BIG_SEQ=$(rl_history staging limit=1000 | jq -r '[.[] | select(.app == "web")] | max_by(.seq) | .seq')
ui_curl "$J1" GET "/ui/env/staging/app/web/release/$BIG_SEQ"
[ "$UI_STATUS" = 303 ] && ui_signin "$J1" "$TOKEN" && ui_curl "$J1" GET "/ui/env/staging/app/web/release/$BIG_SEQ"
check_eq "its manifests page: 200" 200 "$UI_STATUS"
check "  at most 2 MiB of HTML (not 6 x 2.4 MB)" test "$(printf '%s' "$UI_BODY" | wc -c)" -le $((2 * 1024 * 1024 + 65536))
check_match "  the files past the limit are named, not shown" 'bytes, not shown' "$UI_BODY"

# ================================================================ token deleted
section "a deleted token's session"
api POST /api/tokens '{"name":"ui-tmp","role":"deploy","envs":["staging"]}'
TMP_T=$(jf '.token // empty' <<<"$API_BODY")
[ -n "$TMP_T" ] || die "POST /api/tokens ui-tmp -> $API_STATUS" "$API_BODY"
J2=$T/jar2
ui_signin "$J2" "$TMP_T"
check_eq "ui-tmp signs in: 303" 303 "$UI_STATUS"
ui_page "$J2" /
check_eq "ui-tmp's session: GET / 200" 200 "$UI_STATUS"
check_match "  #whoami ui-tmp (deploy)" 'ui-tmp \(deploy\)' "$UI_BODY"
CSRF2=$PAGE_CSRF
api DELETE /api/tokens/ui-tmp
check_eq "DELETE /api/tokens/ui-tmp: 200" 200 "$API_STATUS"
ui_curl "$J2" GET /
check_eq "the deleted token's session: GET / 303 at once" 303 "$UI_STATUS"
check_match "  to /ui/signin" '/ui/signin$' "$(ui_location)"
dead_session_post "$J2" "$CSRF2" "the deleted token's session"
ui_signin "$J2" "$TMP_T"
check_eq "the deleted token cannot sign in again: 401" 401 "$UI_STATUS"

# ================================================================ session expiry
section "session expiry (--session-ttl 2)"
stop_daemon
check_eq "augerd stops cleanly" 0 "$?"
AUGERD_ARGS="$AUGERD_ARGS --session-ttl 2"
start_daemon "$DATA"
J3=$T/jar3
ui_signin "$J3" "$TOKEN"
check_eq "sign-in (ttl 2 s): 303" 303 "$UI_STATUS"
ui_page "$J3" /
check_eq "a fresh session: GET / 200" 200 "$UI_STATUS"
CSRF3=$PAGE_CSRF
sleep 3
ui_curl "$J3" GET /ui/env/staging
check_eq "after 3 s: GET /ui/env/staging 303" 303 "$UI_STATUS"
check_match "  to /ui/signin" '/ui/signin$' "$(ui_location)"
dead_session_post "$J3" "$CSRF3" "after 3 s"

check "augerd still alive" daemon_alive

# ================================================================ TLS: Secure cookies
section "Secure cookies under TLS"
stop_daemon
check_eq "augerd stops cleanly" 0 "$?"
P=$T/pki
mkdir -p "$P"
if out=$(openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$P/key.pem" -out "$P/cert.pem" \
	-days 2 -subj "/CN=auger ui test" -addext "subjectAltName=IP:127.0.0.1" 2>&1); then
	TLS_CA=$P/cert.pem
	AUGERD_ARGS="$AUGERD_ARGS --tls-cert $P/cert.pem --tls-key $P/key.pem"
	start_daemon "$DATA"
	ui_curl "$T/jar4" GET /ui/signin
	check_match "https: auger_csrf is Secure" '; *Secure(;|$)' "$(ui_set_cookie auger_csrf)"
	ui_signin "$T/jar4" "$TOKEN"
	check_eq "https: sign-in 303" 303 "$UI_STATUS"
	check_match "https: auger_session is Secure" '; *Secure(;|$)' "$(ui_set_cookie auger_session)"
	ui_page "$T/jar4" /
	check_eq "https: GET / with the session 200" 200 "$UI_STATUS"
	check "augerd still alive" daemon_alive
else
	fail "openssl makes a certificate for 127.0.0.1" "$out"
fi
finish
