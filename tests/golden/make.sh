#!/usr/bin/env bash
# Writes the golden files: for every model in archs.txt, llama.cpp's logits
# of IDS (every position) and its greedy continuation, for the F32 model that
# lt-synth writes and for our Q8_0 and Q4_K_M quantizations of it.
#
# The reference is llama.cpp built outside this repository (CPU, Release):
#   LLAMA_CPP=/path/to/llama.cpp (with build/ inside) bash tests/golden/make.sh
# which compiles dump_logits.cpp against it. Both engines use an F32 KV cache
# and no flash attention, so their attention sums the same way.
set -euo pipefail
cd "$(dirname "$0")"
: "${LLAMA_CPP:?set LLAMA_CPP to a built llama.cpp checkout}"
BUILD=${BUILD:-../../build/rel}
SYNTH=$BUILD/lt-synth
LT=$BUILD/llamaterm
. ./common.sh

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
B=$LLAMA_CPP/build
g++ -O2 -std=c++17 -I"$LLAMA_CPP/include" -I"$LLAMA_CPP/ggml/include" dump_logits.cpp \
	-o "$work/dump_logits" "$B/src/libllama.a" "$B/ggml/src/libggml.a" \
	"$B/ggml/src/libggml-cpu.a" "$B/ggml/src/libggml-base.a" -fopenmp -lpthread -ldl -lm

{
	echo "llama.cpp commit: $(git -C "$LLAMA_CPP" rev-parse HEAD 2>/dev/null || cat "$LLAMA_CPP.COMMIT")"
	echo "ids: $GOLDEN_IDS"
	echo "greedy: $GOLDEN_GREEDY"
	echo "shape: $GOLDEN_SHAPE"
} >SOURCE

while read -r name args; do
	case $name in '' | '#'* | -*) continue ;; esac
	# shellcheck disable=SC2086
	"$SYNTH" $GOLDEN_SHAPE $args -o "$work/$name.F32.gguf" >/dev/null
	for type in $GOLDEN_TYPES; do
		m=$work/$name.$type.gguf
		[ "$type" = F32 ] || "$LT" quantize "$work/$name.F32.gguf" "$m" "$type" >/dev/null
		"$work/dump_logits" "$m" "$GOLDEN_IDS" "$work/out.txt" --greedy "$GOLDEN_GREEDY" \
			--kv f32 --fa off 2>/dev/null
		python3 compare.py pack "$work/out.txt" "$name.$type"
		echo "$name $type: $(cat "$name.$type.greedy")"
	done
	case " $GOLDEN_KV_MODELS " in *" $name "*) ;; *) continue ;; esac
	for kv in $GOLDEN_KV_TYPES; do
		"$work/dump_logits" "$work/$name.F32.gguf" "$GOLDEN_IDS" "$work/out.txt" \
			--greedy "$GOLDEN_GREEDY" --kv "$kv" --fa on 2>/dev/null
		python3 compare.py pack "$work/out.txt" "$name.F32-kv$kv"
		echo "$name F32, $kv KV cache: $(head -n 1 "$name.F32-kv$kv.greedy")"
	done
done <archs.txt
