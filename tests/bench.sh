#!/usr/bin/env bash
# make bench: speed of the synthetic 110m and 1b shapes as F32, Q8_0, Q4_0
# and Q4_K_M, quantized by llamaterm itself and cached outside the tree, with
# each decode figure shown as a percent of its memory-bandwidth limit
# (weight bytes per token / measured read bandwidth).
#
# Environment: LLAMATERM, SYNTH (lt-synth), BWPROBE (bandwidth probe),
# LLAMATERM_SHARED; optional BENCH_THREADS (2), BENCH_REPS (3), BENCH_ROUNDS
# (3), BENCH_SHAPES ("110m 1b"), BENCH_TYPES ("F32 Q8_0 Q4_0 Q4_K_M"),
# BENCH_DEPTH (0: tokens already in the cache, bench -d), BENCH_KV (the KV
# cache type, default f16), BENCH_LOAD (0; 1 runs one competing CPU-bound
# process during the runs, as on a busy machine, and adds rows on one
# thread so the two counts compare within the same run), and LLAMA_BENCH,
# the path of llama.cpp's llama-bench, for side-by-side figures.
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
DEPTH=${BENCH_DEPTH:-0}
KV=${BENCH_KV:-f16}
LOAD=${BENCH_LOAD:-0}

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

# json_mean JSON TEST: the mean of test TEST ("pp64") in llamaterm's JSON.
json_mean() {
	echo "$1" | sed -n "s/.*\"test\": \"$2\", \"depth\": [0-9]*, \"mean\": \([0-9.]*\).*/\1/p"
}

# The competing process of BENCH_LOAD=1: a shell loop that never sleeps.
spinner=
if [ "$LOAD" = 1 ]; then
	sh -c 'while :; do :; done' &
	spinner=$!
	trap 'kill "$spinner" 2>/dev/null' EXIT
	echo "bench: one CPU-bound process (pid $spinner) runs beside every measurement"
fi

# llama-bench's markdown rows end "| pp64 | 123.45 ± 6.78 |".
llama_mean() {
	echo "$1" | awk -F'|' -v t="$2" 'NF >= 4 && $(NF-2) ~ t { split($(NF-1), a, " "); print a[1] }'
}

# median X...: the middle value (mean of the two middle ones), "err" if none.
median() {
	printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g |
		awk '{ v[NR] = $1 } END { if (!NR) print "err"; else if (NR % 2) print v[(NR + 1) / 2];
			else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }'
}

# The machine may be shared: each round runs llamaterm, then llama-bench,
# and the table shows the median over the rounds of each tool's mean.
ROUNDS=${BENCH_ROUNDS:-3}
echo "bench: $ROUNDS rounds of $REPS repetitions, $THREADS threads, depth $DEPTH, KV $KV, medians shown"
printf '\n%-12s %10s %10s %10s %8s' model "pp64 t/s" "tg64 t/s" "limit t/s" "% limit"
[ -n "$LLAMA_BENCH" ] && printf ' %11s %11s %8s %8s' "llama pp64" "llama tg64" "pp ratio" "tg ratio"
printf '\n'
# The rows: stories260K from the shared models when present, then the cache.
rows=()
[ -f "$SHARED/models/stories260K.gguf" ] && rows+=("stories-F32=$SHARED/models/stories260K.gguf")
for shape in $SHAPES; do
	for type in $TYPES; do
		rows+=("$shape-$type=$CACHE/$shape-$type.gguf")
	done
done
# Under load, each model again on one thread: the default count must not
# lose to it.
if [ "$LOAD" = 1 ] && [ "$THREADS" != 1 ]; then
	for row in "${rows[@]}"; do
		rows+=("${row%%=*}/t1=${row#*=}")
	done
fi

for row in "${rows[@]}"; do
	name=${row%%=*} f=${row#*=} nt=$THREADS
	case $name in */t1) nt=1 ;; esac
	pps=() tgs=() lpps=() ltgs=() bytes=0
	for ((round = 0; round < ROUNDS; round++)); do
		out=$("$LLAMATERM" bench -m "$f" -p 64 -n 64 -d "$DEPTH" --kv-type "$KV" -t "$nt" \
			-r "$REPS" --json 2>/dev/null)
		pps+=("$(json_mean "$out" pp64)")
		tgs+=("$(json_mean "$out" tg64)")
		b=$(echo "$out" | sed -n 's/.*"decode_bytes": \([0-9]*\).*/\1/p')
		[ -n "$b" ] && bytes=$b
		if [ -n "$LLAMA_BENCH" ]; then
			lb=$("$LLAMA_BENCH" -m "$f" -p 64 -n 64 -d "$DEPTH" -ctk "$KV" -ctv "$KV" \
				-t "$nt" -r "$REPS" 2>/dev/null)
			lpps+=("$(llama_mean "$lb" pp64)")
			ltgs+=("$(llama_mean "$lb" tg64)")
		fi
	done
	pp=$(median "${pps[@]}")
	tg=$(median "${tgs[@]}")
	limit=$(awk -v bw="$bw" -v b="$bytes" 'BEGIN { printf "%.1f", (b > 0 ? bw * 1e9 / b : 0) }')
	pct=$(awk -v l="$limit" -v t="$tg" 'BEGIN { printf "%.0f%%", (l > 0 ? 100 * t / l : 0) }')
	printf '%-12s %10s %10s %10s %8s' "$name" "$pp" "$tg" "$limit" "$pct"
	if [ -n "$LLAMA_BENCH" ]; then
		lpp=$(median "${lpps[@]}")
		ltg=$(median "${ltgs[@]}")
		printf ' %11s %11s %8s %8s' "$lpp" "$ltg" "$(ratio "$pp" "$lpp")" "$(ratio "$tg" "$ltg")"
	fi
	printf '\n'
done
