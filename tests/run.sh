#!/usr/bin/env bash
# Runs every test and prints one closing line "N passed, N failed, N skipped".
#
# Unit tests are cmocka binaries in $BUILD/tests; their summary lines are
# added up. Shell tests (tests/cli/*.sh, tests/e2e/*.sh) print one line per
# check: "PASS: name", "FAIL: name" or "SKIP: name: why".
#
# TESTS_ONLY (optional) runs only the tests whose name matches one of its
# space-separated glob patterns; names are the unit test binaries
# (test_ring) and the scripts under tests/ (cli/chat.sh, e2e/tui.sh).
# SAN_LOG_DIR (optional) is where the sanitizer writes its reports (its
# log_path option, as `make tsan` sets it): any report a test leaves there
# counts as one more failure of that test, and its first lines are shown.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${BUILD:?BUILD must name the build directory}"
: "${LLAMATERM:?LLAMATERM must name the binary}"
export LLAMATERM BUILD LLAMATERM_SHARED="${LLAMATERM_SHARED:-$here/../../shared}"
log_dir="$BUILD/test-logs"
mkdir -p "$log_dir"

passed=0 failed=0 skipped=0

selected() { # name
	[ -n "${TESTS_ONLY:-}" ] || return 0
	local pat
	for pat in $TESTS_ONLY; do
		# shellcheck disable=SC2053 # the pattern is meant to glob
		[[ $1 == $pat ]] && return 0
	done
	return 1
}

# san_reset before a test empties SAN_LOG_DIR; san_check LOG after it
# appends the sanitizer's reports to LOG and prints how many there were.
san_reset() {
	[ -n "${SAN_LOG_DIR:-}" ] || return 0
	rm -rf "$SAN_LOG_DIR" && mkdir -p "$SAN_LOG_DIR"
}
san_check() {
	local n=0 f
	if [ -n "${SAN_LOG_DIR:-}" ]; then
		for f in "$SAN_LOG_DIR"/*; do
			[ -f "$f" ] || continue
			n=$((n + 1))
			cat "$f" >>"$1"
		done
	fi
	echo "$n"
}
# san_show LOG: the start of the sanitizer reports in LOG.
san_show() {
	grep -E -A 12 '^WARNING: [A-Za-z]*Sanitizer|^==[0-9]+==ERROR' "$1" | head -n 40
}

count_cmocka() { # binary log status reports
	local p f s
	# A kernel test runs its cmocka group once per kernel variant: the
	# summaries of all groups add up.
	p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test.*/\1/p' "$2" | awk '{ n += $1 } END { print n + 0 }')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test.*/\1/p' "$2" | awk '{ n += $1 } END { print n + 0 }')
	s=$(sed -n 's/^\[  SKIPPED \] \([0-9][0-9]*\) test.*/\1/p' "$2" | awk '{ n += $1 } END { print n + 0 }')
	if [ "$3" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # crashed or died before its summary
	fi
	f=$((f + $4))
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	printf '%-40s %3d passed, %d failed, %d skipped\n' "$(basename "$1")" "$p" "$f" "$s"
	if [ "$f" -ne 0 ]; then
		grep -E '^\[  (FAILED|  ERROR)|^\[  ERROR|Failure|error:|ERROR|Assertion|Sanitizer|runtime error' "$2" | head -n 20
	fi
	grep -E '^SKIP' "$2" || true
	[ "$4" -eq 0 ] || san_show "$2"
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	selected "$(basename "$t")" || continue
	log="$log_dir/$(basename "$t").log"
	san_reset
	(cd "$here/.." && "$t") >"$log" 2>&1
	count_cmocka "$t" "$log" $? "$(san_check "$log")"
done

count_shell() { # script log status reports
	local p f s
	p=$(grep -c '^PASS: ' "$2")
	f=$(grep -c '^FAIL: ' "$2")
	s=$(grep -c '^SKIP: ' "$2")
	if [ "$3" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "FAIL: $(basename "$1") exited with status $3" >>"$2"
	fi
	if [ "$4" -ne 0 ]; then
		f=$((f + $4))
		echo "FAIL: $(basename "$1"): $4 sanitizer report(s)" >>"$2"
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	printf '%-40s %3d passed, %d failed, %d skipped\n' "$(basename "$1")" "$p" "$f" "$s"
	grep -E '^(FAIL|SKIP): ' "$2" | head -n 30
	[ "$4" -eq 0 ] || san_show "$2"
}

for t in "$here"/cli/*.sh "$here"/e2e/*.sh; do
	[ -f "$t" ] || continue
	selected "$(basename "$(dirname "$t")")/$(basename "$t")" || continue
	log="$log_dir/$(basename "$t").log"
	san_reset
	(cd "$here/.." && bash "$t") >"$log" 2>&1
	count_shell "$t" "$log" $? "$(san_check "$log")"
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
