#!/usr/bin/env bash
# Render hooks (DATA/hooks/render.d) through a real daemon: a chart other
# than OneChart deploys when a hook claims it, with the deploy's vars, and
# its output is validated like the built-in renderer's; a hook that
# refuses, or prints an invalid object, refuses the deploy with its message
# and moves no ref; a chart no hook claims is refused; OneChart, declined
# by the hook, still renders built in. (Deadline and output bound:
# tests/unit/test_render.c.)
#
#   bash tests/integration/test_render_hooks.sh
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/release_lib.sh"

start_daemon
HOOKS=$DATA/hooks/render.d
check "augerd creates DATA/hooks/render.d" test -d "$HOOKS"

api POST /api/envs '{"name":"staging"}'
[ "$API_STATUS" = 201 ] || die "POST /api/envs staging -> $API_STATUS" "$API_BODY"

cat >"$HOOKS/10-cron-job" <<'HOOK'
#!/bin/sh
# renders chart cron-job: a CronJob named after the app, the image from values
in=$(cat)
case $in in *'"name":"cron-job"'*) ;; *) exit 3 ;; esac
case $in in *'"RUN":"1"'*) ;; *) echo "no vars in the intent" >&2; exit 1 ;; esac
case $in in *'"schedule":"bad"'*) echo "cron-job: schedule \"bad\" is not a cron expression" >&2; exit 1 ;; esac
case $in in *'"name":"Bad_Name"'*) printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n'; exit 0 ;; esac
app=$(printf '%s' "$in" | sed 's/.*"app":"\([^"]*\)".*/\1/')
printf 'apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: %s\nspec:\n  schedule: "0 1 * * *"\n' "$app"
HOOK
chmod +x "$HOOKS/10-cron-job"

# ------------------------------------------------------------ a hook renders
M0=$(apps_main staging)
rl_push_ok "$(rl_artifact nightly staging "$(rl_sha n1)" ci '{"schedule":"0 1 * * *"}' cron-job)"
rl_deploy staging "$ART_ID" nightly
check_eq "cron-job deploy via a render hook: 201" 201 "$API_STATUS" "$API_BODY"
REF=$(apps_main staging)
check_match "the hook's CronJob is in nightly/rendered.yaml" "kind: CronJob" \
	"$(apps_git staging show "$REF:nightly/rendered.yaml" 2>&1)"
check_match "it got the manifest's namespace" "namespace: default" \
	"$(apps_git staging show "$REF:nightly/rendered.yaml" 2>&1)"

# ------------------------------------------------------------ refusals move nothing
M1=$(apps_main staging)
rl_push_ok "$(rl_artifact nightly staging "$(rl_sha n2)" ci '{"schedule":"bad"}' cron-job)"
rl_deploy staging "$ART_ID" nightly
check_eq "a refusing hook: 4xx" 1 "$([[ $API_STATUS =~ ^4 ]] && echo 1 || echo 0)" "$API_STATUS $API_BODY"
check_match "its stderr is the message" 'hook 10-cron-job: cron-job: schedule \\"bad\\" is not a cron expression' "$API_BODY"
check_eq "no ref moved" "$M1" "$(apps_main staging)"

rl_push_ok "$(rl_artifact nightly staging "$(rl_sha n3)" ci '{"name":"Bad_Name"}' cron-job)"
rl_deploy staging "$ART_ID" nightly
check_eq "a hook's invalid object: 4xx" 1 "$([[ $API_STATUS =~ ^4 ]] && echo 1 || echo 0)" "$API_STATUS $API_BODY"
check_match "validate-k8s judged the hook's output" "Bad_Name" "$API_BODY"
check_eq "no ref moved" "$M1" "$(apps_main staging)"

# ------------------------------------------------------------ nobody claims it
rl_push_ok "$(rl_artifact site staging "$(rl_sha s1)" ci '{}' static-site)"
rl_deploy staging "$ART_ID" site
check_match "a chart no hook claims is refused" "no render hook in DATA/hooks/render.d claimed it" "$API_BODY"

# ------------------------------------------------------------ OneChart: built in
rl_push_ok "$(rl_artifact web staging "$(rl_sha w1)")"
rl_deploy staging "$ART_ID" web
check_eq "onechart, declined by the hook: 201" 201 "$API_STATUS" "$API_BODY"
check_match "rendered by the built-in renderer" "kind: Deployment" \
	"$(apps_git staging show "$(apps_main staging):web/deployment.yaml" 2>&1)"

# ------------------------------------------------- the CLI, offline
# auger manifest template renders as a deploy would, hooks included.
cat >"$T/nightly.yaml" <<'MAN'
app: nightly
env: staging
namespace: default
chart:
  name: cron-job
  repository: https://chart.onechart.dev
  version: 0.1.0
values:
  schedule: "0 1 * * *"
MAN
printf 'RUN=1\n' >"$T/vars.env"
out=$("$ROOT/bin/auger" manifest template -f "$T/nightly.yaml" --vars "$T/vars.env" --render-hooks "$HOOKS" 2>&1)
check_match "auger manifest template --render-hooks: the hook's CronJob" "kind: CronJob" "$out"
out=$("$ROOT/bin/auger" manifest template -f "$T/nightly.yaml" --vars "$T/vars.env" 2>&1)
check_not "without --render-hooks the chart is refused (no built-in cron-job)" grep -q "kind: CronJob" <<<"$out"

finish
