#!/bin/sh
# Renders every case of tests/render/cases/ with real helm and OneChart
# into tests/render/golden/, the reference the built-in renderer is
# compared with (tests/unit/test_render_golden.c, no helm needed there):
#
#   sh scripts/onechart-golden.sh HELM CHART_DIR
#
# HELM is a helm 3 binary, CHART_DIR the charts/onechart folder of
# gimlet-io/onechart (with its charts/common-*.tgz). A case is a deploy
# manifest (app, namespace, chart, values); for each, the values go to
# `helm template APP CHART_DIR --namespace NS -f values.json`, and
# golden/CASE.yaml gets the output, or golden/CASE.err helm's error when
# it refuses. golden/VERSION records what rendered them. Needs python3
# with PyYAML (to read the case's values; YAML 1.1 like helm's reader).
set -eu

if [ $# -ne 2 ] || [ ! -x "$1" ] || [ ! -f "$2/Chart.yaml" ]; then
	echo "usage: sh scripts/onechart-golden.sh HELM CHART_DIR" >&2
	exit 2
fi
HELM=$1
CHART=$2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CASES=$ROOT/tests/render/cases
GOLDEN=$ROOT/tests/render/golden
TMP=$(mktemp -d "${TMPDIR:-/tmp}/onechart-golden.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM

mkdir -p "$GOLDEN"
rm -f "$GOLDEN"/*.yaml "$GOLDEN"/*.err
n=0
refused=0
for c in "$CASES"/*.yaml; do
	name=$(basename "$c" .yaml)
	python3 - "$c" "$TMP" <<'PY'
import json, sys, yaml
m = yaml.safe_load(open(sys.argv[1]))
d = sys.argv[2]
open(d + '/values.json', 'w').write(json.dumps(m.get('values') or {}))
open(d + '/app', 'w').write(m['app'])
open(d + '/ns', 'w').write(m.get('namespace') or 'default')
PY
	if "$HELM" template "$(cat "$TMP/app")" "$CHART" \
	    --namespace "$(cat "$TMP/ns")" -f "$TMP/values.json" \
	    >"$TMP/out" 2>"$TMP/err"; then
		mv "$TMP/out" "$GOLDEN/$name.yaml"
	else
		# the message without the temporary file's name
		sed "s|$TMP/||g" "$TMP/err" >"$GOLDEN/$name.err"
		refused=$((refused + 1))
	fi
	n=$((n + 1))
done
{
	"$HELM" version --short
	printf 'chart %s ' "$(sed -n 's/^name: //p' "$CHART/Chart.yaml")"
	sed -n 's/^version: //p' "$CHART/Chart.yaml"
} >"$GOLDEN/VERSION"
echo "onechart-golden: $n cases, $refused refused by helm, into $GOLDEN"
