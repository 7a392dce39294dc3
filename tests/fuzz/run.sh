#!/usr/bin/env bash
# Runs libFuzzer binaries (built by `make fuzz`) for $FUZZ_SECONDS each and
# prints "PASS: NAME" when no crash was found, "FAIL: NAME: ..." with the
# crashing input's path otherwise, or "SKIP: NAME: why".
#
# usage: tests/fuzz/run.sh [build/fuzz/fuzz_X ...]   (default: all built)
#
# Each fuzzer keeps a writable corpus in build/fuzz/corpus/NAME, seeded on
# every run from tests/fuzz/seeds/NAME/ and tests/fuzz/seeds/X/ for fuzz_X
# (if present: session journals written by the tests, the shipped prompt
# templates) and, for GGUF fuzzers, from the heads of the shared model files
# and a few tiny valid images. The session seeds are written again by
#   LT_SEED_DIR=tests/fuzz/seeds/session BUILD=build/rel build/rel/tests/test_session_journal
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$root/build/fuzz
seconds=${FUZZ_SECONDS:-60}
shared=${LLAMATERM_SHARED:-$root/../shared}
# Seeds are the first SEED_BYTES of each model: the whole header, metadata
# and tensor table of small files, a prefix of the rest.
SEED_BYTES=16384
MAX_LEN=65536

# le32 N / le64 N: N as little-endian bytes.
le32() { printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) \
	$(($1 >> 16 & 255)) $(($1 >> 24 & 255)))"; }
le64() { le32 "$1"; le32 0; }
# gstr S: a GGUF v2/v3 string.
gstr() { le64 ${#1}; printf '%s' "$1"; }

# Writes tiny valid GGUF images into directory $1.
tiny_images() {
	local d=$1
	{ printf GGUF; le32 3; le64 0; le64 0; } >"$d/tiny-empty.gguf"
	{ printf GGUF; le32 1; le32 0; le32 1; le32 5; printf 'a.key'; le32 4; le32 7; } >"$d/tiny-v1.gguf"
	# One key of several types, a nested array and one f32 tensor of 4 elements.
	{
		printf GGUF; le32 3; le64 1; le64 4
		gstr general.architecture; le32 8; gstr llama
		gstr general.alignment; le32 4; le32 32
		gstr llama.block_count; le32 4; le32 1
		gstr t.nested; le32 9; le32 9; le64 2
		le32 5; le64 2; le32 1; le32 2
		le32 8; le64 1; gstr hi
		gstr w; le32 2; le64 2; le64 2; le32 0; le64 0
	} >"$d/tiny-tensor.gguf"
	local n
	n=$(wc -c <"$d/tiny-tensor.gguf")
	head -c $(((32 - n % 32) % 32 + 16)) /dev/zero >>"$d/tiny-tensor.gguf"
}

# seed NAME DIR: fills the corpus directory DIR of fuzzer NAME.
seed() {
	local name=$1 dir=$2 f
	local sd
	for sd in "$here/seeds/$name" "$here/seeds/${name#fuzz_}"; do
		if [ -d "$sd" ]; then
			cp -f "$sd"/* "$dir"/ 2>/dev/null
		fi
	done
	case $name in
	*gguf*)
		tiny_images "$dir"
		for f in "$shared"/models/*.gguf "$shared"/models/vocab/*.gguf "$shared"/models/legacy/*; do
			[ -f "$f" ] && head -c "$SEED_BYTES" "$f" >"$dir/head-$(basename "$f")"
		done
		;;
	esac
}

if ! command -v clang >/dev/null 2>&1; then
	echo "SKIP: fuzz: clang not found"
	exit 0
fi
if [ $# -eq 0 ]; then
	for f in "$out"/fuzz_*; do
		case $f in *.*) continue ;; esac
		[ -x "$f" ] && set -- "$@" "$f"
	done
	if [ $# -eq 0 ]; then
		echo "SKIP: fuzz: no fuzzers built in $out (make fuzz)"
		exit 0
	fi
fi

status=0 passed=0 failed=0 skipped=0
for bin in "$@"; do
	name=$(basename "$bin")
	if [ ! -x "$bin" ]; then
		echo "SKIP: $name: not built (clang with libFuzzer needed: make fuzz)"
		skipped=$((skipped + 1))
		continue
	fi
	corpus=$out/corpus/$name
	artifacts=$out/artifacts/$name
	log=$out/$name.log
	mkdir -p "$corpus" "$artifacts"
	seed "$name" "$corpus"
	"$bin" "$corpus" -max_total_time="$seconds" -max_len="$MAX_LEN" -timeout=10 \
		-rss_limit_mb=2048 -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	if [ "$rc" -eq 0 ]; then
		echo "PASS: $name (${runs:-?} runs in ${seconds}s, corpus $(ls "$corpus" | wc -l) files)"
		passed=$((passed + 1))
	else
		crash=$(ls -t "$artifacts" 2>/dev/null | head -n 1)
		echo "FAIL: $name: exit $rc${crash:+, input $artifacts/$crash} (log $log)"
		grep -E 'ERROR|runtime error|SUMMARY|#[0-9]+ 0x' "$log" | head -n 15
		status=1
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
