#!/usr/bin/env bash
# Runs every test and prints one closing line "N passed, N failed, N skipped".
#
# Unit tests are cmocka binaries in $BUILD/tests; their summary lines are
# added up. Shell tests (tests/cli/*.sh, tests/e2e/*.sh) print one line per
# check: "PASS: name", "FAIL: name" or "SKIP: name: why".
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${BUILD:?BUILD must name the build directory}"
: "${LLAMATERM:?LLAMATERM must name the binary}"
export LLAMATERM BUILD LLAMATERM_SHARED="${LLAMATERM_SHARED:-$here/../../shared}"
log_dir="$BUILD/test-logs"
mkdir -p "$log_dir"

passed=0 failed=0 skipped=0

count_cmocka() { # binary log status
	local p f s
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$2" | tail -n 1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$2" | tail -n 1)
	s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$2" | tail -n 1)
	p=${p:-0} f=${f:-0} s=${s:-0}
	if [ "$3" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # crashed or died before its summary
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	printf '%-40s %3d passed, %d failed, %d skipped\n' "$(basename "$1")" "$p" "$f" "$s"
	if [ "$f" -ne 0 ]; then
		grep -E '^\[  (FAILED|  ERROR)|^\[  ERROR|Failure|error:|ERROR|Assertion|Sanitizer|runtime error' "$2" | head -n 20
	fi
	grep -E '^SKIP' "$2" || true
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	log="$log_dir/$(basename "$t").log"
	(cd "$here/.." && "$t") >"$log" 2>&1
	count_cmocka "$t" "$log" $?
done

count_shell() { # script log status
	local p f s
	p=$(grep -c '^PASS: ' "$2")
	f=$(grep -c '^FAIL: ' "$2")
	s=$(grep -c '^SKIP: ' "$2")
	if [ "$3" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "FAIL: $(basename "$1") exited with status $3" >>"$2"
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	printf '%-40s %3d passed, %d failed, %d skipped\n' "$(basename "$1")" "$p" "$f" "$s"
	grep -E '^(FAIL|SKIP): ' "$2" | head -n 30
}

for t in "$here"/cli/*.sh "$here"/e2e/*.sh; do
	[ -f "$t" ] || continue
	log="$log_dir/$(basename "$t").log"
	(cd "$here/.." && bash "$t") >"$log" 2>&1
	count_shell "$t" "$log" $?
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
