# Shell tests of the engine commands: run, tokenize, logits, perplexity.
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

LT=$LLAMATERM
STORIES=$MODELS/stories260K.gguf
GOLDEN_IDS="432 383 286 261 376 298 315 421 395 317 426 338 401 396 267 337 410 408 419 292 411 322 265 282 295 433 426 385 328 432 358 394"
GOLDEN_TEXT=", there was a little girl named Lily. She loved to play outside in the park. One day, she saw"

# same NAME WANT GOT: passes when the two strings are equal.
same() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "wanted '$2', got '$3'"; fi
}

# Usage errors need no model.
expect_status "run --help" 0 "$LT" run --help
expect_status "run without a model is a usage error" 2 "$LT" run -p hi
expect_status "run with an unknown option" 2 "$LT" run --bogus
grep -q "'--bogus'" "$TMP/err" && pass "unknown option is named" || fail "unknown option is named"
expect_status "run with a bad number" 2 "$LT" run -m x.gguf -p hi -n abc
expect_status "tokenize --help" 0 "$LT" tokenize --help
expect_status "logits --help" 0 "$LT" logits --help
expect_status "perplexity --help" 0 "$LT" perplexity --help
expect_status "bench --help" 0 "$LT" bench --help
expect_status "run on a missing model" 1 "$LT" run -m "$TMP/none.gguf" -p hi
[ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -q "none.gguf" "$TMP/err" &&
	pass "missing model: one line naming the file" || fail "missing model: one line naming the file"

need_shared "engine commands on stories260K" || exit 0

for kv in f16 f32; do
	expect_status "greedy ids ($kv KV cache)" 0 "$LT" run -m "$STORIES" -p "Once upon a time" -n 32 --temp 0 --ids --kv-type $kv
	same "greedy ids match the reference ($kv KV cache)" "$GOLDEN_IDS" "$(cat "$TMP/out")"
	expect_status "greedy text ($kv KV cache)" 0 "$LT" run -m "$STORIES" -p "Once upon a time" -n 32 --temp 0 --kv-type $kv
	same "greedy text matches the reference ($kv KV cache)" "$GOLDEN_TEXT" "$(cat "$TMP/out")"
done
grep -qE 'prompt: 5 tokens, [0-9.]+ tok/s \| generation: 32 tokens, [0-9.]+ tok/s' "$TMP/err" &&
	pass "timings on stderr" || fail "timings on stderr" "$(cat "$TMP/err")"
expect_status "greedy with one thread" 0 "$LT" run -m "$STORIES" -p "Once upon a time" -n 32 --temp 0 --ids -t 1
same "one thread gives the same ids" "$GOLDEN_IDS" "$(cat "$TMP/out")"
expect_status "greedy with a small batch" 0 "$LT" run -m "$STORIES" -p "Once upon a time" -n 32 --temp 0 --ids -b 2
same "batch size does not change the ids" "$GOLDEN_IDS" "$(cat "$TMP/out")"

expect_status "stop string" 0 "$LT" run -m "$STORIES" -p "Once upon a time" -n 64 --temp 0 -r Lily
same "the stop string and what follows are not printed" ", there was a little girl named " "$(cat "$TMP/out")"
expect_status "stop string split across tokens" 0 "$LT" run -m "$STORIES" -p "Once upon a time" -n 64 --temp 0 -r "e was a"
same "a stop string spanning tokens is not printed" ", ther" "$(cat "$TMP/out")"
expect_status "several stop strings" 0 "$LT" run -m "$STORIES" -p "Once upon a time" -n 64 --temp 0 -r zzz -r park
same "the first stop string to appear ends the text" ", there was a little girl named Lily. She loved to play outside in the " "$(cat "$TMP/out")"

expect_status "seeded sampling" 0 "$LT" run -m "$STORIES" -p "Once upon a time" -n 24 --temp 1 -s 42 --ids
first=$(cat "$TMP/out")
expect_status "seeded sampling again" 0 "$LT" run -m "$STORIES" -p "Once upon a time" -n 24 --temp 1 -s 42 --ids
same "the same seed gives the same tokens" "$first" "$(cat "$TMP/out")"
expect_status "another seed" 0 "$LT" run -m "$STORIES" -p "Once upon a time" -n 24 --temp 1 -s 43 --ids
[ "$first" != "$(cat "$TMP/out")" ] && pass "another seed gives other tokens" || fail "another seed gives other tokens"
expect_status "run -n 0" 0 "$LT" run -m "$STORIES" -p "Once upon a time" -n 0
same "run -n 0 prints nothing" "" "$(cat "$TMP/out")"

printf 'Once upon a time' >"$TMP/prompt.txt"
expect_status "run -f" 0 "$LT" run -m "$STORIES" -f "$TMP/prompt.txt" -n 32 --temp 0 --ids
same "run -f reads the prompt from the file" "$GOLDEN_IDS" "$(cat "$TMP/out")"
expect_status "run -p and -f together" 2 "$LT" run -m "$STORIES" -f "$TMP/prompt.txt" -p x
expect_status "run -f on a missing file" 1 "$LT" run -m "$STORIES" -f "$TMP/missing.txt"
expect_status "context too small for the prompt" 1 "$LT" run -m "$STORIES" -p "Once upon a time" -c 3
expect_status "context fills up" 0 "$LT" run -m "$STORIES" -p "Once upon a time" -c 16 --temp 0 --ids
[ "$(wc -w <"$TMP/out")" -eq 11 ] && pass "generation stops when the context is full" ||
	fail "generation stops when the context is full" "$(cat "$TMP/out")"

expect_status "tokenize" 0 "$LT" tokenize -m "$STORIES" -p "Once upon a time"
same "tokenize ids with BOS" "1 403 407 261 378" "$(cat "$TMP/out")"
expect_status "tokenize --no-bos" 0 "$LT" tokenize -m "$STORIES" -p "Once upon a time" --no-bos
same "tokenize ids without BOS" "403 407 261 378" "$(cat "$TMP/out")"
expect_status "tokenize --special" 0 "$LT" tokenize -m "$STORIES" -p "<s>Hi" --special --no-bos
[ "$(cut -d' ' -f1 "$TMP/out")" = 1 ] && pass "--special parses <s> as BOS" || fail "--special parses <s> as BOS" "$(cat "$TMP/out")"
expect_status "tokenize without --special" 0 "$LT" tokenize -m "$STORIES" -p "<s>Hi" --no-bos
[ "$(cut -d' ' -f1 "$TMP/out")" != 1 ] && pass "<s> is plain text by default" || fail "<s> is plain text by default"
expect_status "tokenize --pieces" 0 "$LT" tokenize -m "$STORIES" -p "Once upon" --pieces
same "tokenize --pieces lines" "1 '<s>'|403 ' Once'|407 ' upon'" "$(paste -sd'|' "$TMP/out")"

expect_status "logits" 0 "$LT" logits -m "$STORIES" --ids 1,403,407,261,378 --top 3 -o "$TMP/logits.f32"
[ "$(wc -l <"$TMP/out")" -eq 5 ] && pass "logits: one line per position" || fail "logits: one line per position"
grep -qE '^4 378 432:17\.79[0-9]{4} 383:14\.28[0-9]{4} 322:9\.7[0-9]{5}$' "$TMP/out" &&
	pass "logits at the last position match the reference (5 decimals)" ||
	fail "logits at the last position match the reference" "$(tail -n 1 "$TMP/out")"
[ "$(stat -c %s "$TMP/logits.f32")" -eq $((5 * 512 * 4)) ] && pass "logits -o writes n x vocab floats" ||
	fail "logits -o writes n x vocab floats"
expect_status "logits from text" 0 "$LT" logits -m "$STORIES" -p "Once upon a time" --top 1
same "logits from text tokenizes with BOS" "0 1 403" "$(head -n 1 "$TMP/out" | cut -d: -f1)"
expect_status "logits with a bad id" 2 "$LT" logits -m "$STORIES" --ids 1,99999
expect_status "logits with garbage ids" 2 "$LT" logits -m "$STORIES" --ids 1,x

# The model's own greedy story is text it predicts well.
"$LT" run -m "$STORIES" -p "Once upon a time" -n 400 --temp 0 >"$TMP/story.txt" 2>/dev/null
expect_status "perplexity" 0 "$LT" perplexity -m "$STORIES" -f "$TMP/story.txt" -c 64
ppl=$(sed -n 's/^perplexity: \([0-9.]*\)$/\1/p' "$TMP/out")
if [ -n "$ppl" ] && awk -v p="$ppl" 'BEGIN { exit !(p >= 1 && p < 3) }'; then
	pass "perplexity of the model's own story is low ($ppl)"
else
	fail "perplexity of the model's own story is low" "$(cat "$TMP/out")"
fi
grep -qE '^\[1\][0-9.]+,\[2\]' "$TMP/out" && pass "perplexity prints running values per chunk" ||
	fail "perplexity prints running values per chunk"
printf 'Once' >"$TMP/short.txt"
expect_status "perplexity on too short a text" 1 "$LT" perplexity -m "$STORIES" -f "$TMP/short.txt" -c 64

expect_status "bench" 0 "$LT" bench -m "$STORIES" -p 16 -n 8 -r 2
grep -qE '^pp16: [0-9.]+ ± [0-9.]+ tok/s$' "$TMP/out" && grep -qE '^tg8: [0-9.]+ ± [0-9.]+ tok/s$' "$TMP/out" &&
	pass "bench prints pp and tg lines" || fail "bench prints pp and tg lines" "$(cat "$TMP/out")"
if command -v python3 >/dev/null; then
	expect_status "bench --json" 0 "$LT" bench -m "$STORIES" -p 16 -n 8 -r 2 --json
	python3 -m json.tool "$TMP/out" >/dev/null && pass "bench --json is valid JSON" || fail "bench --json is valid JSON"
fi
# At a depth: the cache holds D tokens first; the lines and JSON say so.
expect_status "bench --depth" 0 "$LT" bench -m "$STORIES" -p 16 -n 8 -r 2 -d 300
grep -qE '^pp16 @ d300: [0-9.]+ ± [0-9.]+ tok/s$' "$TMP/out" &&
	grep -qE '^tg8 @ d300: [0-9.]+ ± [0-9.]+ tok/s$' "$TMP/out" &&
	pass "bench --depth names the depth" || fail "bench --depth names the depth" "$(cat "$TMP/out")"
expect_status "bench --depth --json" 0 "$LT" bench -m "$STORIES" -p 4 -n 2 -r 1 -d 8 --json
grep -q '"depth": 8' "$TMP/out" && pass "bench --json has the depth" ||
	fail "bench --json has the depth" "$(cat "$TMP/out")"
expect_status "bench --depth -1" 2 "$LT" bench -m "$STORIES" -d -1
# The kernel set is named, and the switch to the scalar kernels shows.
expect_status "bench, scalar kernels" 0 env LLAMATERM_FORCE_SCALAR=1 "$LT" bench -m "$STORIES" -p 4 -n 2 -r 1
grep -q '^threads: [0-9]*, kernels: scalar,' "$TMP/out" &&
	pass "bench names the scalar kernels" || fail "bench names the scalar kernels" "$(cat "$TMP/out")"
