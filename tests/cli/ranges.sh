# Every numeric option is checked: a value out of range is refused with one
# line naming the option and its valid range (before any model is loaded).
. tests/lib.sh
need_shared ranges || exit 0
M=$MODELS/stories260K.gguf
export XDG_DATA_HOME=$TMP/data XDG_STATE_HOME=$TMP/state XDG_CONFIG_HOME=$TMP/config

# refused NAME REGEX ARGS...: 'llamaterm ARGS' exits 2 with one stderr line matching REGEX.
refused() {
	local name=$1 re=$2
	shift 2
	expect_status "range_$name" 2 "$LLAMATERM" "$@"
	if [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -qE -- "$re" "$TMP/err"; then
		pass "range_${name}_message"
	else
		fail "range_${name}_message" "$(head -c 300 "$TMP/err")"
	fi
}
refused n 'chat: -n: n_predict: -5 is out of range \(-1 or more\)$' chat -m "$M" -n -5
refused threads 'chat: --threads: -3 is out of range \(0 to 1024\)$' chat -m "$M" -t -3
refused temp 'chat: --temp: temperature: -2 is out of range \(0 or more\)$' chat -m "$M" --temp -2
refused top_p 'chat: --top-p: top_p: 7 is out of range \(0 to 1\)$' chat -m "$M" --top-p 7
refused ctx 'chat: -c: n_ctx: 99999999 is out of range \(0 to 16777216\)$' chat -m "$M" -c 99999999
refused batch 'chat: --batch-size: -4 is out of range \(0 to 16777216\)$' chat -m "$M" -b -4
refused run_threads 'run: --threads: 5000 is out of range \(0 to 1024\)$' run -m "$M" -p x -t 5000
refused bench_reps 'bench: --repetitions: 0 is out of range \(1 to 1000000\)$' bench -m "$M" -r 0
refused logits_top 'logits: --top: -1 is out of range \(1 or more\)$' logits -m "$M" --ids 1 --top -1
refused quantize_threads 'quantize: --threads: -1 is out of range' quantize -t -1 a.gguf b.gguf Q8_0

# -n -1 means "until the end of text or the context is full".
out=$(printf 'Once upon a time\n' | "$LLAMATERM" chat -m "$M" -t 1 --template raw --temp 0 -c 64 -n -1 --no-autosave 2>/dev/null)
[ -n "$out" ] && pass range_n_minus_one || fail range_n_minus_one

# /set checks the same ranges.
printf '/set temp -2\n/set top_p 7\n' | "$LLAMATERM" chat -m "$M" -t 1 --no-autosave >/dev/null 2>"$TMP/err"
has range_set_temp '^llamaterm chat: /set temperature: -2 is out of range \(0 or more\)$' "$TMP/err"
has range_set_top_p '^llamaterm chat: /set top_p: 7 is out of range \(0 to 1\)$' "$TMP/err"

# --help shows each range.
"$LLAMATERM" chat --help >"$TMP/help"
has range_help_threads '--threads N .*; range 0 to 1024$' "$TMP/help"
has range_help_ctx '--ctx-size N .*range 0 to 16777216' "$TMP/help"
