#!/usr/bin/env bash
# Run every integration test (tests/integration/test_*.sh), after building the
# interop clients (tests/interop/build.sh). Prints each file's results, then
# one final line "N passed, N failed". Exits non-zero when anything failed.
#   bash tests/integration/run.sh [test_name ...]
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
FILE_TIMEOUT=${FILE_TIMEOUT:-200}
total_pass=0
total_fail=0
failed_files=()
res=$(mktemp "${TMPDIR:-/tmp}/auger-it-results.XXXXXX") || exit 1
out=$(mktemp "${TMPDIR:-/tmp}/auger-it-out.XXXXXX") || exit 1
fails=$(mktemp "${TMPDIR:-/tmp}/auger-it-fails.XXXXXX") || exit 1
trap 'rm -f "$res" "$out" "$fails"' EXIT

echo "== interop build (tests/interop/build.sh)"
if bash "$ROOT/tests/interop/build.sh"; then
	echo "ok   interop clients built"
	total_pass=$((total_pass + 1))
else
	echo "FAIL interop clients built"
	total_fail=$((total_fail + 1))
	failed_files+=("interop build")
fi

if [ $# -gt 0 ]; then
	files=()
	for n in "$@"; do files+=("$HERE/${n%.sh}.sh"); done
else
	files=("$HERE"/test_*.sh)
fi

for f in "${files[@]}"; do
	name=$(basename "$f" .sh)
	echo "== $name"
	: >"$res"
	start=$SECONDS
	# To a file, not a pipe: a stray child holding the pipe open would
	# keep a reader waiting after the timeout.
	AUGER_RESULTS_FILE=$res timeout -k 10 "$FILE_TIMEOUT" bash "$f" >"$out" 2>&1
	rc=$?
	cat "$out"
	read -r p fl <"$res" 2>/dev/null || { p=0 fl=0; }
	p=${p:-0} fl=${fl:-0}
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		echo "FAIL $name timed out after ${FILE_TIMEOUT}s" | tee -a "$out"
		fl=$((fl + 1))
	elif [ $rc -ne 0 ] && [ "$fl" -eq 0 ]; then
		echo "FAIL $name exited with status $rc without reporting a failure" | tee -a "$out"
		fl=$((fl + 1))
	fi
	echo "-- $name: $p passed, $fl failed ($((SECONDS - start))s)"
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + fl))
	if [ "$fl" -ne 0 ]; then
		failed_files+=("$name")
		# Keep each failure with a few lines of its detail: the summary at
		# the end repeats them, so a log cut to its tail still shows why.
		grep -A6 '^FAIL' "$out" | head -40 | sed "s/^/  $name: /" >>"$fails"
	fi
done

echo
if [ ${#failed_files[@]} -ne 0 ]; then
	echo "failures:"
	cat "$fails"
	echo "failing: ${failed_files[*]}"
fi
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
