# shellcheck shell=bash
# Helpers for the release-engine tests (test_release.sh,
# test_release_durability.sh). Source after lib.sh:
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/release_lib.sh"
#
# Needs jq (the release API is JSON through and through).

FIXTURES=$ROOT/tests/integration/fixtures

command -v jq >/dev/null 2>&1 || die "jq is needed by the release tests"

# rl_sha WORD: a stable 40-hex commit id made from WORD.
rl_sha() { printf '%s' "$1" | sha1sum | cut -c1-40; }

# rl_artifact APP ENV SHA [BRANCH] [VALUES_JSON] [CHART_NAME]: an artifact
# (Gimlet's shape) with one manifest for APP in ENV. The manifest's deploy
# policy is branch main + push, so BRANCH (default "ci") decides whether
# POST /api/artifact deploys it at once ("main") or not (anything else).
# VALUES_JSON replaces the default values (image tag {{ .SHA }}, 2 replicas).
rl_artifact() {
	local app=$1 env=$2 sha=$3 branch=${4:-ci} values=${5:-} chart=${6:-onechart}
	[ -n "$values" ] || values='{"image":{"repository":"ghcr.io/acme/'"$app"'","tag":"{{ .SHA }}"},"replicas":2,"ingress":{"host":"'"$app"'.example.com","tlsEnabled":true},"vars":{"A":"1"}}'
	printf '{"version":{"repositoryName":"acme/%s","sha":"%s","branch":"%s","event":"push","authorName":"Auger Test","authorEmail":"test@auger.invalid","message":"commit %s","url":"https://example.invalid/acme/%s/commit/%s","created":1700000000},"vars":{"RUN":"1"},"environments":[{"app":"%s","env":"%s","namespace":"default","deploy":{"branch":"main","event":"push"},"chart":{"repository":"https://chart.onechart.dev","name":"%s","version":"0.70.0"},"values":%s}],"items":[],"context":{}}' \
		"$app" "$sha" "$branch" "${sha:0:7}" "$app" "$sha" "$app" "$env" "$chart" "$values"
}

# rl_push JSON [TOKEN]: POST /api/artifact; sets API_STATUS, API_BODY, ART_ID.
rl_push() {
	api POST /api/artifact "$1" "${2-$TOKEN}"
	ART_ID=$(printf '%s' "$API_BODY" | jq -r '.id // empty' 2>/dev/null)
}

# rl_push_ok JSON: rl_push, dies unless 201 with an id.
rl_push_ok() {
	rl_push "$1"
	[ "$API_STATUS" = 201 ] && [ -n "$ART_ID" ] ||
		die "POST /api/artifact -> $API_STATUS (want 201 with an id)" "$API_BODY"
}

# rl_deploy ENV ARTIFACT_ID [APP] [TOKEN]: POST /api/releases.
rl_deploy() {
	local body
	body=$(jq -cn --arg e "$1" --arg id "$2" --arg a "${3:-}" \
		'{env: $e, artifactId: $id} + (if $a == "" then {} else {app: $a} end)')
	api POST /api/releases "$body" "${4-$TOKEN}"
}

# rl_rel: the first release of the last POST /api/releases answer.
rl_rel() { printf '%s' "$API_BODY" | jq -c '.releases[0] // empty' 2>/dev/null; }

# jf FILTER < JSON: jq -r with the filter.
jf() { jq -r "$1" 2>/dev/null; }

# rl_history ENV [QUERY]: GET /api/releases?env=ENV&QUERY&all=true (auger's
# whole index, rollbacks and deletes too; 50 items unless QUERY says);
# prints the body (sets API_STATUS).
rl_history() {
	api GET "/api/releases?env=$1${2:+&$2}&all=true&limit=50"
	printf '%s' "$API_BODY"
}

# apps_main ENV: the apps repo's main on the server.
apps_main() { server_ref "gitops-$1-apps" refs/heads/main; }
apps_count() { server_git "gitops-$1-apps" rev-list --count refs/heads/main 2>/dev/null; }
apps_git() {
	local e=$1
	shift
	server_git "gitops-$e-apps" "$@"
}

# yaml_lint FILE: a structural YAML check in awk (no parser is assumed to be
# installed): no tabs; every line is a comment, a document marker, a
# "key: value" / "key:" line or a "- " item; indentation only deepens
# after a line that opens a block; block scalars (| >) are skipped; quoted
# scalars are closed. Prints the offending lines, exits 1 on any.
yaml_lint() {
	awk '
	function fail(m) { printf "%s:%d: %s: %s\n", FILENAME, FNR, m, $0; bad = 1 }
	function reset() { n = 0; st[0] = 0; open = 0; blk = -1 }
	BEGIN { reset() }
	{
		line = $0
		if (blk >= 0) {
			match(line, /^ */)
			if (line ~ /^ *$/ || RLENGTH > blk) next
			blk = -1
		}
		if (line ~ /\t/) { fail("tab"); next }
		if (line ~ /^ *$/ || line ~ /^ *#/) next
		if (line ~ /^---( .*)?$/ || line == "...") { reset(); next }
		if (line ~ / +$/) fail("trailing space")
		match(line, /^ */); L = RLENGTH; rest = substr(line, L + 1)
		isseq = (rest ~ /^-( |$)/)
		C = L
		while (rest ~ /^- /) { rest = substr(rest, 3); C += 2; sub(/^ +/, "", rest) }
		if (open) {
			if (!(L > st[n] || (L == st[n] && isseq))) fail("bad indentation after a block opener")
		} else {
			while (n > 0 && st[n] > L) n--
			if (st[n] != L) fail("indentation matches no enclosing level")
		}
		if (st[n] != L) st[++n] = L
		if (C != L) st[++n] = C
		open = 0
		if (rest == "-" ) { open = 1; next }
		val = ""
		if (match(rest, /^("[^"]*"|\047[^\047]*\047|[^ "\047#:{}\[\]-][^:#]*|-[^ :#][^:#]*):( |$)/)) {
			val = substr(rest, RLENGTH + 1)
			sub(/^ +/, "", val)
			sub(/ +#.*$/, "", val)
			if (val == "") { open = 1; next }
			if (val ~ /^[|>][-+0-9]*$/) { blk = C; next }
		} else if (isseq || rest ~ /^[^ ]/) {
			# a scalar sequence item, or a plain continuation
			if (!isseq) fail("not a key: value line")
			val = rest
		} else fail("unparsable line")
		if (val ~ /^"/ && val !~ /^"([^"\\]|\\.)*"$/) fail("unterminated double-quoted scalar")
		if (val ~ /^\047/ && val !~ /^\047([^\047]|\047\047)*\047$/) fail("unterminated single-quoted scalar")
		if (val ~ /^\[/ && val !~ /\]$/) fail("unterminated flow sequence")
		if (val ~ /^\{/ && val !~ /\}$/) fail("unterminated flow mapping")
		if (val ~ /^[&*!%@`]/ && val !~ /^![a-z]/) fail("suspicious scalar start")
	}
	END { exit bad }' "$@"
}

# yaml_k8s FILE: every document has apiVersion, kind, metadata.name and
# metadata.namespace (top level, two-space metadata children). Prints a line
# per bad document; exits 1 on any. Prints "docs=N" on success.
yaml_k8s() {
	awk '
	function check() {
		if (!seen) return
		docs++
		if (!av || !kd || !nm || !ns) {
			printf "%s: document %d lacks%s%s%s%s\n", FILENAME, docs,
			    av ? "" : " apiVersion", kd ? "" : " kind",
			    nm ? "" : " metadata.name", ns ? "" : " metadata.namespace"
			bad = 1
		}
	}
	function reset() { seen = av = kd = nm = ns = inmeta = 0 }
	BEGIN { reset() }
	/^---/ { check(); reset(); next }
	/^ *#/ || /^ *$/ { next }
	{ seen = 1 }
	/^apiVersion: *[^ ]/ { av = 1 }
	/^kind: *[^ ]/ { kd = 1 }
	/^[^ ]/ { inmeta = ($0 ~ /^metadata:/) }
	inmeta && /^  name: *[^ ]/ { nm = 1 }
	inmeta && /^  namespace: *[^ ]/ { ns = 1 }
	END { check(); if (!bad) print "docs=" docs; exit bad }' "$1"
}

# yaml_parse_via_auger FILE: feeds FILE as the raw "manifests:" of a manifest
# to `auger manifest template` (libyaml behind it): exits 0 when it parses.
yaml_parse_via_auger() {
	local f=$1 m
	m=$(mktemp "$T/roundtrip.XXXXXX")
	{
		printf 'app: roundtrip\nenv: staging\nnamespace: default\nmanifests: |\n'
		sed 's/^/  /' "$f"
	} >"$m"
	"$AUGER" manifest template -f "$m"
}

# yaml_value FILE KEY: the first value of "KEY:" (any indentation, quotes
# stripped).
yaml_value() {
	awk -v k="$2" '{
		line = $0; sub(/^ *(- )*/, "", line)
		if (index(line, k ":") == 1) {
			v = substr(line, length(k) + 2); sub(/^ +/, "", v); sub(/ +$/, "", v)
			gsub(/^["\047]|["\047]$/, "", v); print v; exit
		}
	}' "$1"
}

# now_ms: wall clock in milliseconds.
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((10#$t / 1000)); }

# flux_event ENV EVENTS_TOKEN SHA REASON: a signed notification-controller
# event (generic-hmac) for gitops commit SHA. Sets API_STATUS, API_BODY.
flux_event() {
	local env=$1 tok=$2 sha=$3 reason=$4 body sig
	body=$(printf '{"involvedObject":{"kind":"Kustomization","namespace":"flux-system","name":"gitops-repo-%s-apps"},"severity":"info","timestamp":"2024-01-01T00:00:00Z","message":"Applied revision: main@sha1:%s","reason":"%s","reportingController":"kustomize-controller","metadata":{"revision":"main@sha1:%s"}}' "$env" "$sha" "$reason" "$sha")
	sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$tok" | awk '{ print $NF }')
	API_STATUS=$(curl -s -o "$T/flux.body" -w '%{http_code}' --max-time 30 -X POST \
		-H 'Content-Type: application/json' -H "X-Signature: sha256=$sig" \
		--data-binary "$body" "$URL/api/flux-events?env=$env")
	API_BODY=$(cat "$T/flux.body" 2>/dev/null)
}

# events_token ENV: the HMAC token from POST /api/bootstrap's Secrets.
events_token() {
	api POST /api/bootstrap "{\"env\":\"$1\"}"
	printf '%s' "$API_BODY" | jq -r '.secrets // empty' |
		awk '/name: auger-.*-events/ { e = 1 } e && /^  token:/ { print $2; exit }'
}

# Many requests at once from one curl process (curl --parallel): forking
# one curl per request is slow enough here to serialize a "burst".
#   batch_add CFG URL REQ_FILE OUT_FILE [TOKEN]   one POST of REQ_FILE's JSON
#   batch_run CFG LOG [MAX]                        runs them, MAX (100) at once;
#     LOG gets one line per finished transfer: "<http code> <time_total> <out file>"
batch_add() {
	local cfg=$1 url=$2 req=$3 out=$4 tok=${5-$TOKEN}
	cat >>"$cfg" <<EOC
url = "$url"
header = "Authorization: Bearer $tok"
header = "Content-Type: application/json"
data-binary = "@$req"
output = "$out"
write-out = "%{http_code} %{time_total} %{filename_effective}\\n"
max-time = 120
next
EOC
}
batch_run() {
	# the last "next" would start an empty transfer: curl refuses the lot
	sed '$d' "$1" | curl -s --no-progress-meter --parallel --parallel-immediate --parallel-max "${3:-100}" -K - >>"$2" 2>>"$2.err"
}
