# Helpers for shell tests: each check prints "PASS: name", "FAIL: name" or
# "SKIP: name: why", which tests/run.sh counts. Source it, do not run it.
: "${LLAMATERM:?}"
SHARED=${LLAMATERM_SHARED:-../shared}
MODELS=$SHARED/models
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1${2:+: $2}"; }
skip() { echo "SKIP: $1: $2"; }

# check NAME CMD...: passes when CMD exits 0.
check() {
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}

# need_shared NAME: true when ../shared/models is present, else prints SKIP.
need_shared() {
	if [ -f "$MODELS/stories260K.gguf" ]; then
		return 0
	fi
	skip "$1" "../shared/models not found (set LLAMATERM_SHARED)"
	return 1
}

# The synthetic model writer of the build, where BUILD names one.
SYNTH=${BUILD:+$BUILD/lt-synth}

# need_synth NAME: true when $SYNTH is built, else prints SKIP.
need_synth() {
	if [ -n "$SYNTH" ] && [ -x "$SYNTH" ]; then
		return 0
	fi
	if [ -z "${BUILD:-}" ]; then
		skip "$1" "lt-synth not built (BUILD unset)"
	else
		skip "$1" "$SYNTH not built"
	fi
	return 1
}

# expect_status NAME WANT CMD...: runs CMD (stdin empty, stdout in $TMP/out,
# stderr in $TMP/err) and passes when it exits with status WANT.
expect_status() {
	local name=$1 want=$2 got
	shift 2
	"$@" >"$TMP/out" 2>"$TMP/err" </dev/null
	got=$?
	if [ "$got" -eq "$want" ]; then
		pass "$name"
	else
		fail "$name" "exit $got, wanted $want: $(head -c 300 "$TMP/err")"
	fi
}

# has NAME REGEX FILE: FILE has a line matching the extended REGEX.
has() {
	if grep -qE -- "$2" "$3"; then pass "$1"; else fail "$1" "no line matches /$2/"; fi
}
