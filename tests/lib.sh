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
