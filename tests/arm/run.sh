#!/usr/bin/env bash
# The ARM kernel variants under qemu-user (`make arm-test`, which builds
# what this runs): the kernel tests (test_simd, test_ops_simd) and a greedy
# decode of the stories model with an engine-only driver (greedy), each on
# two emulated CPUs:
#   -cpu max         has the dot product instructions: neon-dotprod and neon
#   -cpu cortex-a53  Armv8.0 without them: neon only, and a dot product
#                    instruction reached by mistake would trap (SIGILL)
# plus the scalar reference (LLAMATERM_FORCE_SCALAR=1) on each, and a look
# at the object code: SDOT only in the dotprod kernels. Speed under
# emulation means nothing; correctness is the point. Prints one PASS:, FAIL:
# or SKIP: line per check and ends with "N passed, N failed, N skipped".
set -u
: "${ARM_BUILD:?ARM_BUILD must name the cross build directory}"
SHARED=${LLAMATERM_SHARED:-../shared}
MODEL=$SHARED/models/stories260K.gguf
QEMU=${QEMU:-qemu-aarch64}
# The cross C library (libc6-dev-arm64-cross); cmocka and pcre2 come from
# the arm64 multiarch packages in /usr/lib/aarch64-linux-gnu.
SYSROOT=${ARM_SYSROOT:-/usr/aarch64-linux-gnu}
PROMPT="Once upon a time"
# The stories model's greedy continuation (as `llamaterm run --temp 0` gives
# it on x86); 27 tokens reach the end of the sentence.
WANT=", there was a little girl named Lily. She loved to play outside in the park."
N_GEN=27
# Each emulated CPU and the variant the engine must pick on it by itself.
CPUS=("max neon-dotprod" "cortex-a53 neon")

passed=0 failed=0 skipped=0
pass() { echo "PASS: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1${2:+: $2}"; failed=$((failed + 1)); }
skip() { echo "SKIP: $1: $2"; skipped=$((skipped + 1)); }
summary() {
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
}

if ! command -v "$QEMU" >/dev/null 2>&1; then
	fail "arm tests" "$QEMU not found (apt-get install qemu-user)"
	summary
	exit
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# emu CPU CMD...: runs an AArch64 program on the emulated CPU.
emu() {
	local cpu=$1
	shift
	"$QEMU" -cpu "$cpu" -L "$SYSROOT" "$@"
}

# Closes the cmocka group of variant $group: one PASS, FAIL or SKIP line.
group_end() {
	[ -n "$group" ] || return 0
	local what="$name, variant $group, qemu -cpu $cpu"
	if [ "$g_failed" -ne 0 ]; then
		fail "$what" "$g_failed of its tests failed"
	elif [ "$g_passed" -eq 0 ] && [ "$g_skipped" -gt 0 ]; then
		skip "$what" "its $g_skipped tests skipped (no kernels of this kind)"
	elif [ "$g_passed" -eq 0 ]; then
		fail "$what" "no test result (crashed?)"
	else
		local note=""
		[ "$g_skipped" -eq 0 ] || note=", $g_skipped skipped"
		pass "$what ($g_passed tests$note)"
	fi
	group=""
}

# unit CPU BIN: runs a kernel test binary, which runs its cmocka group once
# per variant the CPU can run and names the others ("SKIP: kernel variant").
unit() {
	cpu=$1 name=$(basename "$2")
	emu "$cpu" "$2" >"$log" 2>&1
	local status=$? line n_groups=0 n_failed=$failed
	group="" g_passed=0 g_failed=0 g_skipped=0
	while IFS= read -r line; do
		case $line in
		"kernel variant "*)
			group_end
			group=${line#kernel variant }
			group=${group%% *}
			g_passed=0 g_failed=0 g_skipped=0
			n_groups=$((n_groups + 1))
			;;
		"[  PASSED  ] "*) g_passed=$(echo "$line" | sed 's/[^0-9]*\([0-9]*\).*/\1/') ;;
		"[  SKIPPED ] "*" test(s)"*) g_skipped=$(echo "$line" | sed 's/[^0-9]*\([0-9]*\).*/\1/') ;;
		"[  FAILED  ] "*" test(s)"*) g_failed=$(echo "$line" | sed 's/[^0-9]*\([0-9]*\).*/\1/') ;;
		"SKIP: kernel variant "*)
			local v=${line#SKIP: kernel variant }
			skip "$name, variant ${v%%:*}, qemu -cpu $cpu" "${v#*: }"
			;;
		esac
	done <"$log"
	group_end
	if [ "$n_groups" -eq 0 ] || { [ "$status" -ne 0 ] && [ "$failed" -eq "$n_failed" ]; }; then
		fail "$name, qemu -cpu $cpu" "exit status $status, $n_groups variant groups"
	fi
	if [ "$failed" -ne "$n_failed" ] || [ "$status" -ne 0 ]; then
		grep -E '^\[  ERROR|error:|Failure|Illegal|signal' "$log" | head -n 20 | sed 's/^/    /'
	fi
}

# greedy CPU WANT_VARIANT [VAR=VALUE...]: the driver must pick WANT_VARIANT
# (under the environment given) and produce the stories continuation.
greedy() {
	local cpu=$1 want_v=$2 got_v text
	shift 2
	local what="greedy stories260K, ${*:+$* }qemu -cpu $cpu"
	if [ ! -f "$MODEL" ]; then
		skip "$what" "$MODEL not found (set LLAMATERM_SHARED)"
		return
	fi
	# One thread: qemu-user 7.2 (Debian 12) never returns from pthread_create
	# on these machines, even in a program that does nothing else. The
	# engine's thread pool is tested natively (test_ops_threads, also
	# under TSan); here the ARM kernels are what is tested.
	env "$@" "$QEMU" -cpu "$cpu" -L "$SYSROOT" "$ARM_BUILD/greedy" "$MODEL" "$PROMPT" "$N_GEN" 1 \
		>"$log" 2>&1
	got_v=$(sed -n 's/^kernels: //p' "$log")
	text=$(sed -n '2p' "$log")
	if [ "$got_v" != "$want_v" ]; then
		fail "$what" "ran kernel variant '$got_v', wanted '$want_v': $(head -c 300 "$log")"
	elif [ "$text" != "$WANT" ]; then
		fail "$what ($got_v)" "got '$text'"
	else
		pass "$what ($got_v)"
	fi
}

# The dot product instructions only inside the dotprod variant's kernels:
# every other function must run on a plain Armv8.0 core.
OBJDUMP=${OBJDUMP:-aarch64-linux-gnu-objdump}
obj=$ARM_BUILD/engine/quant_arm.o
if ! command -v "$OBJDUMP" >/dev/null 2>&1 || [ ! -f "$obj" ]; then
	skip "SDOT only in the dotprod kernels" "$OBJDUMP or $obj not found"
else
	where=$("$OBJDUMP" -d "$obj" | awk '/^[0-9a-f]+ <.*>:$/ { fn = $2 } /\tsdot\t/ { print fn }' |
		sort -u)
	others=$(echo "$where" | grep -v '^<dotprod_' | tr '\n' ' ')
	if [ -z "$where" ]; then
		fail "SDOT only in the dotprod kernels" "no SDOT at all in $obj"
	elif [ -n "$others" ]; then
		fail "SDOT only in the dotprod kernels" "also in $others"
	else
		pass "SDOT only in the dotprod kernels ($(echo "$where" | wc -l) functions)"
	fi
fi

for c in "${CPUS[@]}"; do
	set -- $c
	unit "$1" "$ARM_BUILD/tests/test_simd"
	unit "$1" "$ARM_BUILD/tests/test_ops_simd"
	greedy "$1" "$2"
	greedy "$1" scalar LLAMATERM_FORCE_SCALAR=1
done
# Asked for by name where the CPU lacks it, the dot product variant is
# refused and the best runnable one serves.
greedy cortex-a53 neon LLAMATERM_KERNELS=neon-dotprod
greedy max neon LLAMATERM_KERNELS=neon

summary
