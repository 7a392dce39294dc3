#!/usr/bin/env bash
# make bench: speed of the synthetic 110m and 1b shapes as F32, Q8_0, Q4_0
# and Q4_K_M, quantized by llamaterm itself and cached outside the tree, with
# each decode figure shown as a percent of its memory-bandwidth limit
# (weight bytes per token / measured read bandwidth).
#
# Environment: LLAMATERM, SYNTH (lt-synth), BWPROBE (bandwidth probe),
# LLAMATERM_SHARED; optional BENCH_THREADS (2), BENCH_REPS (3), BENCH_SHAPES
# ("110m 1b"), BENCH_TYPES ("F32 Q8_0 Q4_0 Q4_K_M"), and LLAMA_BENCH, the
# path of llama.cpp's llama-bench, for side-by-side figures.
set -u
: "${LLAMATERM:?LLAMATERM must name the llamaterm binary}"
: "${SYNTH:?SYNTH must name lt-synth}"
SHARED=${LLAMATERM_SHARED:-../shared}
THREADS=${BENCH_THREADS:-2}
REPS=${BENCH_REPS:-3}
SHAPES=${BENCH_SHAPES:-110m 1b}
TYPES=${BENCH_TYPES:-F32 Q8_0 Q4_0 Q4_K_M}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/llamaterm/bench
LLAMA_BENCH=${LLAMA_BENCH:-}

mkdir -p "$CACHE" || { echo "bench: cannot create $CACHE" >&2; exit 1; }

# Approximate file sizes in MB, to check the disk before writing anything.
size_mb() {
	case "$1-$2" in
	110m-F32) echo 530 ;; 110m-Q8_0) echo 150 ;; 110m-Q4_0) echo 80 ;; 110m-Q4_K_M) echo 85 ;;
	1b-F32) echo 4400 ;; 1b-Q8_0) echo 1170 ;; 1b-Q4_0) echo 620 ;; 1b-Q4_K_M) echo 670 ;;
	*) echo 0 ;;
	esac
}

# A 32000-token SPM vocabulary makes the files loadable by llama.cpp too.
VOCAB=$SHARED/models/vocab/ggml-vocab-llama-spm.gguf
vocab_args=()
[ -f "$VOCAB" ] && vocab_args=(--vocab-from "$VOCAB")

need=0
for shape in $SHAPES; do
	for type in F32 $TYPES; do
		f=$CACHE/$shape-$type.gguf
		[ -f "$f" ] || need=$((need + $(size_mb "$shape" "$type")))
	done
done
avail=$(df -Pm "$CACHE" | awk 'NR == 2 { print $4 }')
if [ "$need" -gt 0 ]; then
	echo "bench: the models need about $need MB more in $CACHE; $avail MB free"
	if [ "$avail" -lt $((need + 1024)) ]; then
		echo "bench: not enough disk space: free $((need + 1024 - avail)) MB more, or set" \
			"XDG_CACHE_HOME to a bigger disk, or BENCH_SHAPES=110m" >&2
		exit 1
	fi
fi

for shape in $SHAPES; do
	base=$CACHE/$shape-F32.gguf
	if [ ! -f "$base" ]; then
		echo "bench: generating $base"
		"$SYNTH" --shape "$shape" "${vocab_args[@]}" -o "$base.tmp" >/dev/null &&
			mv "$base.tmp" "$base" || { echo "bench: lt-synth failed" >&2; exit 1; }
	fi
	for type in $TYPES; do
		f=$CACHE/$shape-$type.gguf
		[ "$type" = F32 ] || [ -f "$f" ] && continue
		echo "bench: quantizing $f"
		"$LLAMATERM" quantize "$base" "$f.tmp" "$type" >/dev/null &&
			mv "$f.tmp" "$f" || { echo "bench: quantize to $type failed" >&2; exit 1; }
	done
done

bw=0
if [ -n "${BWPROBE:-}" ] && [ -x "$BWPROBE" ]; then
	bw=$("$BWPROBE" -t "$THREADS" | sed -n 's/^bandwidth: \([0-9.]*\) GB\/s.*/\1/p')
	echo "bench: read bandwidth with $THREADS threads: $bw GB/s"
fi

# json_field JSON TEST: the mean of test TEST ("pp64") in llamaterm's JSON.
json_mean() {
	echo "$1" | sed -n "s/.*\"test\": \"$2\", \"mean\": \([0-9.]*\).*/\1/p"
}

# llama-bench's markdown rows end "| pp64 | 123.45 ± 6.78 |".
llama_mean() {
	echo "$1" | awk -F'|' -v t="$2" 'NF >= 4 && $(NF-2) ~ t { split($(NF-1), a, " "); print a[1] }'
}

printf '\n%-12s %10s %10s %12s %8s' model "pp64 t/s" "tg64 t/s" "limit t/s" "% limit"
[ -n "$LLAMA_BENCH" ] && printf ' %12s %12s %8s %8s' "llama pp64" "llama tg64" "pp ratio" "tg ratio"
printf '\n'
for shape in $SHAPES; do
	for type in $TYPES; do
		f=$CACHE/$shape-$type.gguf
		out=$("$LLAMATERM" bench -m "$f" -p 64 -n 64 -t "$THREADS" -r "$REPS" --json 2>/dev/null)
		pp=$(json_mean "$out" pp64)
		tg=$(json_mean "$out" tg64)
		bytes=$(echo "$out" | sed -n 's/.*"weight_bytes": \([0-9]*\).*/\1/p')
		limit=$(awk -v bw="$bw" -v b="${bytes:-0}" 'BEGIN { printf "%.1f", (b > 0 ? bw * 1e9 / b : 0) }')
		pct=$(awk -v l="$limit" -v t="${tg:-0}" 'BEGIN { printf "%.0f%%", (l > 0 ? 100 * t / l : 0) }')
		printf '%-12s %10s %10s %12s %8s' "$shape-$type" "${pp:-err}" "${tg:-err}" "$limit" "$pct"
		if [ -n "$LLAMA_BENCH" ]; then
			lb=$("$LLAMA_BENCH" -m "$f" -p 64 -n 64 -t "$THREADS" -r "$REPS" 2>/dev/null)
			lpp=$(llama_mean "$lb" pp64)
			ltg=$(llama_mean "$lb" tg64)
			printf ' %12s %12s %8s %8s' "${lpp:-err}" "${ltg:-err}" \
				"$(awk -v a="${pp:-0}" -v b="${lpp:-0}" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')" \
				"$(awk -v a="${tg:-0}" -v b="${ltg:-0}" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
		fi
		printf '\n'
	done
done
