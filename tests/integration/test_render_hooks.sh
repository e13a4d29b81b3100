#!/usr/bin/env bash
# Render hooks (DATA/hooks/render.d) through a real daemon: a chart other
# than OneChart deploys when a hook claims it, with the deploy's vars, and
# its output is validated like the built-in renderer's; a hook that
# refuses, or prints an invalid object, refuses the deploy with its message
# and moves no ref; a chart no hook claims is refused; OneChart, declined
# by the hook, still renders built in; a hook past --render-hook-timeout
# refuses the deploy with the deadline named, in augerd and in
# auger manifest template alike. (Output bound: tests/unit/test_render.c.)
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

# ------------------------------------------------- --render-hook-timeout
# A hook has --render-hook-timeout seconds (default 60): past it the deploy
# is refused with the deadline in the message, and nothing moves.
stop_daemon
AUGERD_ARGS="--render-hook-timeout 2" start_daemon "$DATA"
cat >"$HOOKS/05-slow" <<'HOOK'
#!/bin/sh
# slow-chart takes 6 s, quick-chart 1 s; every other chart is declined
in=$(cat)
case $in in
*'"name":"slow-chart"'*) sleep 6 ;;
*'"name":"quick-chart"'*) sleep 1 ;;
*) exit 3 ;;
esac
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: slow\n'
HOOK
chmod +x "$HOOKS/05-slow"
M2=$(apps_main staging)
rl_push_ok "$(rl_artifact slow staging "$(rl_sha sl1)" ci '{}' slow-chart)"
rl_deploy staging "$ART_ID" slow
check_eq "a hook over --render-hook-timeout 2: 4xx" 1 "$([[ $API_STATUS =~ ^4 ]] && echo 1 || echo 0)" "$API_STATUS $API_BODY"
check_match "... saying it timed out after 2s" 'hook 05-slow timed out after 2s' "$API_BODY"
check_eq "no ref moved" "$M2" "$(apps_main staging)"
rl_push_ok "$(rl_artifact slow staging "$(rl_sha sl2)" ci '{}' quick-chart)"
rl_deploy staging "$ART_ID" slow
check_eq "a hook that takes 1 s, under the 2 s deadline: 201" 201 "$API_STATUS" "$API_BODY"
check_match "its ConfigMap is committed" "kind: ConfigMap" \
	"$(apps_git staging show "$(apps_main staging):slow/rendered.yaml" 2>&1)"
check_match "augerd --help names the flag" "render-hook-timeout" "$("$AUGERD" --help 2>&1)"
"$AUGERD" --data "$T/unused" --render-hook-timeout 0 >"$T/rht.out" 2>&1
check_eq "augerd --render-hook-timeout 0: exit 2" 2 "$?" "$(cat "$T/rht.out")"
check_match "... saying what it takes" "render-hook-timeout" "$(cat "$T/rht.out")"

# The CLI takes the same flag.
sed 's/name: cron-job/name: slow-chart/' "$T/nightly.yaml" >"$T/slow.yaml"
out=$("$ROOT/bin/auger" manifest template -f "$T/slow.yaml" --render-hooks "$HOOKS" --render-hook-timeout 1 2>&1)
check_match "auger manifest template --render-hook-timeout 1: the slow hook times out" 'hook 05-slow timed out after 1s' "$out"
sed 's/name: cron-job/name: quick-chart/' "$T/nightly.yaml" >"$T/quick.yaml"
out=$("$ROOT/bin/auger" manifest template -f "$T/quick.yaml" --render-hooks "$HOOKS" --render-hook-timeout 3 2>&1)
check_match "... and with 3 s the 1 s hook renders" "kind: ConfigMap" "$out"
"$ROOT/bin/auger" manifest template -f "$T/slow.yaml" --render-hooks "$HOOKS" --render-hook-timeout 0 >"$T/rht.out" 2>&1
check_eq "auger manifest template --render-hook-timeout 0: exit 2" 2 "$?" "$(cat "$T/rht.out")"

finish
