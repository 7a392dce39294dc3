#!/usr/bin/env bash
# Writes types.txt: for every model in cases.txt and every mix in MIXES, the
# type llama.cpp's llama-quantize gives each tensor, in the order the tensors
# are in lt-synth's file. tests/cli/quantize.sh checks ours against it.
#
#   LLAMA_CPP=/path/to/llama.cpp (with build/bin/llama-quantize) bash tests/quant/make.sh
# llama-quantize --dry-run prints one line per tensor, "[ i/ n] NAME - [shape],
# type = T, size = ..." ending in "(NEWTYPE)" when the type changes.
set -euo pipefail
cd "$(dirname "$0")"
: "${LLAMA_CPP:?set LLAMA_CPP to a built llama.cpp checkout}"
LLAMA_QUANTIZE=$LLAMA_CPP/build/bin/llama-quantize
BUILD=${BUILD:-../../build/rel}
SYNTH=$BUILD/lt-synth
LT=$BUILD/llamaterm
. ./mixes.sh

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
{
	echo "# Written by tests/quant/make.sh with llama.cpp commit $(git -C "$LLAMA_CPP" rev-parse HEAD 2>/dev/null || cat "$LLAMA_CPP.COMMIT")"
	echo "# model NAME, its tensors in file order, then one line per mix: MIX TYPE..."
	while read -r name args; do
		case $name in '' | '#'*) continue ;; esac
		# shellcheck disable=SC2086
		"$SYNTH" $args --name synth -o "$work/m.gguf" >/dev/null
		names=$("$LT" info --tensors "$work/m.gguf" | awk '/^ +[0-9]+ +[a-z]/ && NF >= 4 { print $2 }')
		echo "model $name"
		echo "tensors" $names
		for mix in $QUANT_MIXES; do
			"$LLAMA_QUANTIZE" --dry-run "$work/m.gguf" "$mix" 2>&1 | awk '
				/^\[ *[0-9]+\/ *[0-9]+\]/ {
					s = $0; sub(/^\[[^]]*\] */, "", s); split(s, a, " ")
					if (match($0, /\([a-zA-Z0-9_]+\)$/)) t = substr($0, RSTART + 1, RLENGTH - 2)
					else { match($0, /type = *[a-zA-Z0-9_]+/); t = substr($0, RSTART, RLENGTH); sub(/type = */, "", t) }
					print a[1], t
				}' >"$work/types"
			line=$mix
			for n in $names; do
				t=$(awk -v n="$n" '$1 == n { print $2 }' "$work/types")
				[ -n "$t" ] || { echo "make.sh: $name $mix: llama-quantize gave no type for $n" >&2; exit 1; }
				line="$line $t"
			done
			echo "$line"
		done
	done <cases.txt
} >types.txt.new
mv types.txt.new types.txt
