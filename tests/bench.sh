#!/usr/bin/env bash
# make bench: speed of synthetic 110m, 1b and 3b (Llama-3.2-3B) shapes,
# quantized by llamaterm itself and cached outside the tree: pp64, pp512 and
# tg64 at each depth (tokens already in the KV cache), each decode figure as
# a percent of its memory-bandwidth limit (weight bytes per token / measured
# read bandwidth), and the peak resident memory of each engine.
#
# Environment: LLAMATERM, SYNTH (lt-synth), BWPROBE (bandwidth probe),
# LLAMATERM_SHARED, and optionally:
#   BENCH_THREADS (2), BENCH_REPS (3), BENCH_ROUNDS (3)
#   BENCH_SHAPES ("110m 1b 3b"), BENCH_TYPES ("F32 Q8_0 Q4_0 Q4_K_M"),
#   BENCH_TYPES_3B ("Q4_0 Q4_K_M": the 3b shape is written as F16 and
#     quantized from it, never as a 13 GB F32 file)
#   BENCH_DEPTHS ("0 4096"), BENCH_TESTS ("pp64 pp512 tg64")
#   BENCH_KV (f16): the KV cache type, for every engine
#   BENCH_LOAD=1   run one competing CPU-bound process during every run, and
#     every model again on one thread (rows NAME/t1): under load the default
#     count must not lose to it
#   LLAMA_BENCH, IK_LLAMA_BENCH: paths of llama.cpp's and ik_llama.cpp's
#     llama-bench, for their figures side by side (ik_llama.cpp measures
#     decode after a depth with its -gp, and no prompt after one).
# A full run with both references takes hours on 2 cores; BENCH_SHAPES=110m
# BENCH_DEPTHS=0 takes minutes.
set -u
: "${LLAMATERM:?LLAMATERM must name the llamaterm binary}"
: "${SYNTH:?SYNTH must name lt-synth}"
SHARED=${LLAMATERM_SHARED:-../shared}
THREADS=${BENCH_THREADS:-2}
REPS=${BENCH_REPS:-3}
ROUNDS=${BENCH_ROUNDS:-3}
SHAPES=${BENCH_SHAPES:-110m 1b 3b}
TYPES=${BENCH_TYPES:-F32 Q8_0 Q4_0 Q4_K_M}
TYPES_3B=${BENCH_TYPES_3B:-Q4_0 Q4_K_M}
DEPTHS=${BENCH_DEPTHS:-0 4096}
TESTS=${BENCH_TESTS:-pp64 pp512 tg64}
KV=${BENCH_KV:-f16}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/llamaterm/bench
LLAMA_BENCH=${LLAMA_BENCH:-}
IK_LLAMA_BENCH=${IK_LLAMA_BENCH:-}
TIME=/usr/bin/time
[ -x "$TIME" ] || TIME=

mkdir -p "$CACHE" || { echo "bench: cannot create $CACHE" >&2; exit 1; }

# The file each shape is quantized from, and the types measured for it.
base_type() { [ "$1" = 3b ] && echo F16 || echo F32; }
shape_types() { [ "$1" = 3b ] && echo "$TYPES_3B" || echo "$TYPES"; }

# Approximate file sizes in MB, to check the disk before writing anything.
size_mb() {
	case "$1-$2" in
	110m-F32) echo 530 ;; 110m-Q8_0) echo 150 ;; 110m-Q4_0) echo 80 ;; 110m-Q4_K_M) echo 85 ;;
	1b-F32) echo 4400 ;; 1b-Q8_0) echo 1170 ;; 1b-Q4_0) echo 620 ;; 1b-Q4_K_M) echo 670 ;;
	3b-F16) echo 6450 ;; 3b-Q8_0) echo 3430 ;; 3b-Q4_0) echo 1820 ;; 3b-Q4_K_M) echo 1950 ;;
	*) echo 0 ;;
	esac
}

# A 32000-token SPM vocabulary makes the files loadable by llama.cpp too.
VOCAB=$SHARED/models/vocab/ggml-vocab-llama-spm.gguf
vocab_args=()
[ -f "$VOCAB" ] && vocab_args=(--vocab-from "$VOCAB")

need=0
for shape in $SHAPES; do
	for type in $(base_type "$shape") $(shape_types "$shape"); do
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
	bt=$(base_type "$shape")
	base=$CACHE/$shape-$bt.gguf
	if [ ! -f "$base" ]; then
		echo "bench: generating $base"
		"$SYNTH" --shape "$shape" --type "$bt" "${vocab_args[@]}" -o "$base.tmp" >/dev/null &&
			mv "$base.tmp" "$base" || { echo "bench: lt-synth failed" >&2; exit 1; }
	fi
	for type in $(shape_types "$shape"); do
		f=$CACHE/$shape-$type.gguf
		[ "$type" = "$bt" ] || [ -f "$f" ] && continue
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

load_pid=
stop_load() { [ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null; load_pid=; }
trap stop_load EXIT
if [ "${BENCH_LOAD:-0}" = 1 ]; then
	# One busy loop, as a compile or a second program would be.
	bash -c 'while :; do :; done' &
	load_pid=$!
	echo "bench: BENCH_LOAD=1: one competing CPU-bound process (pid $load_pid)"
fi

# json_mean JSON TEST: the mean of test TEST ("pp64") in llamaterm's JSON.
json_mean() {
	echo "$1" | sed -n "s/.*\"test\": \"$2\", \"depth\": [0-9]*, \"mean\": \([0-9.]*\).*/\1/p"
}

# csv_avg CSV: avg_ts of the last result row of llama-bench -o csv (both
# forks name the column the same; their markdown differs). The header is
# bare, every value is quoted and may hold commas ("-1,0").
csv_avg() {
	echo "$1" | awk 'NR == 1 { n = split($0, h, ","); for (i = 1; i <= n; i++) if (h[i] == "avg_ts") c = i; next }
		c { s = $0; sub(/^"/, "", s); sub(/"$/, "", s); split(s, v, "\",\""); print v[c] }' | tail -1
}

# median X...: the middle value (mean of the two middle ones), "-" if none.
median() {
	printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g |
		awk '{ v[NR] = $1 } END { if (!NR) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
			else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }'
}

max_of() { printf '%s\n' "$@" | grep -E '^[0-9]+$' | sort -g | tail -1; }

# timed OUTVAR CMD...: runs CMD, its stdout into OUTVAR's file, and its peak
# RSS (KiB, from GNU time) into $rss_kib.
rss_kib=
run_measured() {
	local out=$1
	shift
	if [ -n "$TIME" ]; then
		"$TIME" -f '%M' -o "$out.rss" "$@" >"$out" 2>/dev/null
		rss_kib=$(tail -1 "$out.rss")
	else
		"$@" >"$out" 2>/dev/null
		rss_kib=
	fi
}

# One test of one engine: prints tokens/s; sets rss_kib.
tmp=$(mktemp -d) || exit 1
trap 'stop_load; rm -rf "$tmp"' EXIT
lt_run() { # FILE DEPTH TEST
	local p=0 n=0
	case "$3" in pp*) p=${3#pp} ;; tg*) n=${3#tg} ;; esac
	run_measured "$tmp/out" "$LLAMATERM" bench -m "$1" -p "$p" -n "$n" -d "$2" \
		-c $(($2 + p + n)) --kv-type "$KV" -t "$nt" -r "$REPS" --json
	json_mean "$(cat "$tmp/out")" "$3"
}
ref_run() { # BINARY FILE DEPTH TEST
	local p=0 n=0
	case "$4" in pp*) p=${4#pp} ;; tg*) n=${4#tg} ;; esac
	local depth=()
	[ "$3" -gt 0 ] && depth=(-d "$3")
	run_measured "$tmp/out" "$1" -m "$2" -p "$p" -n "$n" "${depth[@]}" -ctk "$KV" -ctv "$KV" \
		-t "$nt" -r "$REPS" -o csv
	csv_avg "$(cat "$tmp/out")"
}

# ik_llama.cpp's llama-bench has no -d: a decode after a depth is its -gp
# (the prompt of DEPTH tokens, then N generated ones timed alone); a prompt
# after a depth it cannot measure ("-").
ik_run() { # FILE DEPTH TEST
	if [ "$2" -gt 0 ]; then
		case "$3" in
		tg*)
			run_measured "$tmp/out" "$IK_LLAMA_BENCH" -m "$1" -p 0 -n 0 -gp "$2,${3#tg}" \
				-ctk "$KV" -ctv "$KV" -t "$nt" -r "$REPS" -o csv
			csv_avg "$(cat "$tmp/out")" ;;
		*) echo - ;;
		esac
		return
	fi
	ref_run "$IK_LLAMA_BENCH" "$@"
}

engines=(lt)
[ -n "$LLAMA_BENCH" ] && engines+=(lc)
[ -n "$IK_LLAMA_BENCH" ] && engines+=(ik)

echo "bench: $ROUNDS rounds of $REPS repetitions, $THREADS threads, KV $KV, engines alternate" \
	"within a round, medians shown; RSS is the peak of the process in MiB"
printf '\n%-13s %5s %-6s %10s' model depth test llamaterm
[ -n "$LLAMA_BENCH" ] && printf ' %10s %6s' llama.cpp "x lc"
[ -n "$IK_LLAMA_BENCH" ] && printf ' %10s %6s' ik_llama "x ik"
printf ' %8s\n' "% limit"

rows=()
[ -f "$SHARED/models/stories260K.gguf" ] && rows+=("stories-F32=$SHARED/models/stories260K.gguf")
for shape in $SHAPES; do
	for type in $(shape_types "$shape"); do
		rows+=("$shape-$type=$CACHE/$shape-$type.gguf")
	done
done

if [ "${BENCH_LOAD:-0}" = 1 ] && [ "$THREADS" != 1 ]; then
	for row in "${rows[@]}"; do
		rows+=("${row%%=*}/t1=${row#*=}")
	done
fi

for row in "${rows[@]}"; do
	name=${row%%=*} f=${row#*=} nt=$THREADS
	case $name in */t1) nt=1 ;; esac
	bytes=$("$LLAMATERM" bench -m "$f" -p 0 -n 1 -r 1 -c 64 --json 2>/dev/null |
		sed -n 's/.*"decode_bytes": \([0-9]*\).*/\1/p')
	limit=$(awk -v bw="$bw" -v b="${bytes:-0}" 'BEGIN { printf "%.1f", (b > 0 ? bw * 1e9 / b : 0) }')
	for depth in $DEPTHS; do
		# stories260K's context is 512 tokens.
		case $name in stories-F32*) [ "$depth" -gt 0 ] && continue ;; esac
		declare -A rss=()
		for test in $TESTS; do
			declare -A vals=()
			for ((round = 0; round < ROUNDS; round++)); do
				for e in "${engines[@]}"; do
					case $e in
					lt) v=$(lt_run "$f" "$depth" "$test") ;;
					lc) v=$(ref_run "$LLAMA_BENCH" "$f" "$depth" "$test") ;;
					ik) v=$(ik_run "$f" "$depth" "$test") ;;
					esac
					vals[$e]="${vals[$e]:-} $v"
					rss[$e]="${rss[$e]:-} $(tail -1 "$tmp/out.rss" 2>/dev/null)"
				done
			done
			lt=$(median ${vals[lt]})
			printf '%-13s %5s %-6s %10s' "$name" "$depth" "$test" "$lt"
			for e in lc ik; do
				[ -n "${vals[$e]:-}" ] || continue
				m=$(median ${vals[$e]})
				printf ' %10s %6s' "$m" "$(ratio "$lt" "$m")"
			done
			pct=
			case $test in tg*) pct=$(awk -v l="$limit" -v t="$lt" \
				'BEGIN { if (l > 0 && t + 0 > 0) printf "%.0f%%", 100 * t / l }') ;;
			esac
			printf ' %8s\n' "$pct"
		done
		if [ -n "$TIME" ]; then
			printf '%-13s %5s %-6s %10s' "$name" "$depth" "RSS" \
				"$(($(max_of ${rss[lt]}) / 1024))"
			for e in lc ik; do
				[ -n "${rss[$e]:-}" ] || continue
				printf ' %10s %6s' "$(($(max_of ${rss[$e]}) / 1024))" ""
			done
			printf '\n'
		fi
		unset rss
	done
done
