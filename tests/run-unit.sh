#!/bin/sh
# Runs the unit tests and the fuzz corpus replays of one build:
#
#   sh tests/run-unit.sh BUILD_DIR      (build/rel or build/san)
#
# Every BUILD_DIR/tests/test_* and BUILD_DIR/fuzz/*-replay runs from the
# repository root, one at a time, each under a time limit. Prints one line
# per binary (and the output of those that fail), then "N passed, N failed";
# exits non-zero if any failed or none was found.

BUILD=${1:-build/rel}
# Seconds one binary may take before it counts as failed.
UNIT_TIMEOUT=${UNIT_TIMEOUT:-120}

ROOT=$(cd "$(dirname "$0")/.." && pwd) || exit 2
cd "$ROOT" || exit 2

if [ ! -d "$BUILD" ]; then
	echo "run-unit: no build directory $BUILD" >&2
	exit 2
fi

# ASan: find leaks too; UBSan: stop and say where.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS UBSAN_OPTIONS

LOG=$(mktemp "${TMPDIR:-/tmp}/auger-unit.XXXXXX") || exit 2
trap 'rm -f "$LOG"' EXIT INT TERM

if command -v timeout >/dev/null 2>&1; then
	TIMEOUT="timeout $UNIT_TIMEOUT"
else
	TIMEOUT=
fi

# The lines of a failure worth showing: cmocka's, sanitizers', replay's.
WHY_RE='^\[  (ERROR|FAILED) +\]|^\[   LINE   \]|ERROR:|SUMMARY:|runtime error|^ +#[0-9]+ |^replay|^run-unit'

passed=0
failed=0
for bin in "$BUILD"/tests/test_* "$BUILD"/fuzz/*-replay; do
	[ -f "$bin" ] && [ -x "$bin" ] || continue
	case $bin in
	*.d | *.o) continue ;;
	esac
	name=${bin#"$BUILD"/}
	start=$(date +%s)
	$TIMEOUT "./$bin" >"$LOG" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		summary=$(grep -E '^replay .*inputs ok|^\[  PASSED  \]' "$LOG" |
		    tail -n 1)
		echo "PASS $name (${secs}s) $summary"
	else
		failed=$((failed + 1))
		[ "$rc" -eq 124 ] && why="timed out after ${UNIT_TIMEOUT}s" ||
		    why="exit $rc"
		echo "FAIL $name ($why)"
		# The failing assertions and sanitizer reports, kept short.
		if grep -qE "$WHY_RE" "$LOG"; then
			grep -E "$WHY_RE" "$LOG" | head -n 40
		else
			tail -n 30 "$LOG"
		fi | sed 's/^/    /'
	fi
done

if [ $((passed + failed)) -eq 0 ]; then
	echo "run-unit: no test binaries in $BUILD" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
