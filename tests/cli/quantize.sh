# lt-synth and `llamaterm quantize`: synthetic models quantized to every
# type, with the per-tensor types of each mix checked against llama.cpp's
# rules and every result loaded and run.
. tests/lib.sh
: "${BUILD:?}"
need_synth quantize || exit 0

# One thread: on a busy machine OpenMP barriers only add waiting, and these
# models are small.
export OMP_NUM_THREADS=1

# synth NAME ARGS...: runs lt-synth as a check, without its summary line.
quiet_synth() { "$SYNTH" "$@" >/dev/null; }
synth() {
	local name=$1
	shift
	check "$name" quiet_synth "$@"
}

# ttype FILE TENSOR: prints the tensor's type as `info --tensors` lists it.
ttype() {
	"$LLAMATERM" info --tensors "$1" | awk -v n="$2" '$2 == n { print $3; exit }'
}

# expect NAME FILE TENSOR=TYPE...: passes when every tensor has its type.
expect() {
	local name=$1 file=$2 pair got bad=""
	shift 2
	for pair in "$@"; do
		got=$(ttype "$file" "${pair%%=*}")
		[ "$got" = "${pair#*=}" ] || bad="$bad ${pair%%=*}=$got (want ${pair#*=})"
	done
	if [ -z "$bad" ]; then pass "$name"; else fail "$name" "$bad"; fi
}

# quant NAME IN TYPE: quantizes IN to $TMP/NAME.gguf, checks exit status and
# that info and a short greedy run accept the result.
quant() {
	local name=$1 in=$2 type=$3 out=$TMP/$1.gguf
	if ! "$LLAMATERM" quantize -t 1 "$in" "$out" "$type" >"$TMP/$name.log" 2>&1; then
		fail "quantize_$name" "$(tail -n 3 "$TMP/$name.log")"
		return 1
	fi
	if ! "$LLAMATERM" info "$out" >"$TMP/$name.info" 2>&1; then
		fail "quantize_$name" "info cannot read the output: $(head -n 2 "$TMP/$name.info")"
		return 1
	fi
	if ! "$LLAMATERM" run -t 1 -m "$out" -p "Once upon a time" -n 4 --temp 0 >"$TMP/$name.run" 2>&1; then
		fail "quantize_$name" "run failed: $(tail -n 2 "$TMP/$name.run")"
		return 1
	fi
	pass "quantize_$name"
}

# ---- lt-synth ----
synth synth_tiny -o "$TMP/tiny.gguf"
synth synth_qwen2_f16 --arch qwen2 --type f16 -o "$TMP/qwen2.gguf"
synth synth_bf16_tied --type bf16 --tied -o "$TMP/bf16.gguf"
# Row length 256 lets k-quants apply; 8 layers exercise the layer rules.
synth synth_k --dim 256 --ffn 512 --layers 8 --heads 4 --kv-heads 2 --seed 7 -o "$TMP/k.gguf"
synth synth_k_gqa4 --arch qwen2 --dim 256 --ffn 512 --layers 2 --heads 8 --kv-heads 2 -o "$TMP/kq.gguf"
"$SYNTH" -o "$TMP/tiny2.gguf" >/dev/null
check synth_deterministic cmp -s "$TMP/tiny.gguf" "$TMP/tiny2.gguf"
"$SYNTH" --seed 2 -o "$TMP/tiny3.gguf" >/dev/null
if cmp -s "$TMP/tiny.gguf" "$TMP/tiny3.gguf"; then fail synth_seed_changes_weights; else pass synth_seed_changes_weights; fi

expect synth_llama_tensors "$TMP/tiny.gguf" token_embd.weight=f32 blk.1.ffn_down.weight=f32 \
	output.weight=f32 output_norm.weight=f32
expect synth_qwen2_tensors "$TMP/qwen2.gguf" blk.0.attn_q.bias=f32 blk.1.attn_v.bias=f32 \
	blk.0.attn_q.weight=f16 blk.0.attn_norm.weight=f32 token_embd.weight=f16
if [ -z "$(ttype "$TMP/bf16.gguf" output.weight)" ] && [ "$(ttype "$TMP/bf16.gguf" token_embd.weight)" = bf16 ]; then
	pass synth_tied_has_no_output
else
	fail synth_tied_has_no_output
fi
kv=$("$LLAMATERM" info --kv "$TMP/qwen2.gguf" 2>&1)
if echo "$kv" | grep -q 'qwen2.attention.head_count_kv' && echo "$kv" | grep -q 'qwen2.rope.freq_base' &&
	echo "$kv" | grep -q 'general.file_type' && echo "$kv" | grep -q 'tokenizer.ggml.tokens'; then
	pass synth_metadata_keys
else
	fail synth_metadata_keys
fi
if "$SYNTH" --heads 3 -o "$TMP/bad.gguf" 2>/dev/null; then fail synth_rejects_bad_shape; else pass synth_rejects_bad_shape; fi
if "$SYNTH" --type q4_0 -o "$TMP/bad.gguf" 2>/dev/null; then fail synth_rejects_bad_type; else pass synth_rejects_bad_type; fi

if need_shared synth_vocab_from; then
	if "$SYNTH" --vocab-from "$MODELS/vocab/ggml-vocab-llama-spm.gguf" -o "$TMP/vf.gguf" >/dev/null &&
		"$LLAMATERM" info "$TMP/vf.gguf" | grep -Eq 'vocab size: +32,?000$'; then
		pass synth_vocab_from
	else
		fail synth_vocab_from
	fi
fi

# ---- every type on the tiny model (row 64: k-quants fall back) ----
for t in F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K Q4_K Q5_K Q6_K Q4_K_M Q5_K_M Q4_K_S Q5_K_S Q3_K_M; do
	quant "tiny_$t" "$TMP/tiny.gguf" "$t"
done
expect tiny_fallbacks_q2_k "$TMP/tiny_Q2_K.gguf" blk.0.ffn_gate.weight=q4_0 output.weight=q8_0 \
	blk.0.attn_norm.weight=f32
expect tiny_fallbacks_q4_k_s "$TMP/tiny_Q4_K_S.gguf" blk.0.ffn_gate.weight=q5_0 token_embd.weight=q5_0
expect tiny_fallbacks_q5_k_s "$TMP/tiny_Q5_K_S.gguf" blk.0.ffn_up.weight=q5_1
expect tiny_fallbacks_q6_k "$TMP/tiny_Q6_K.gguf" blk.0.attn_q.weight=q8_0 output.weight=q8_0
expect tiny_legacy_q4_0 "$TMP/tiny_Q4_0.gguf" blk.0.attn_q.weight=q4_0 output.weight=q8_0
expect tiny_float_types "$TMP/tiny_F16.gguf" blk.0.attn_q.weight=f16 output.weight=f16 \
	blk.0.ffn_norm.weight=f32
if grep -q 'fallback' "$TMP/tiny_Q4_K_M.log" && grep -q 'fell back' "$TMP/tiny_Q4_K_M.log"; then
	pass quantize_reports_fallback
else
	fail quantize_reports_fallback
fi

# Rows of 48 are not whole blocks of 32 either: a k-quant falls back to f16,
# but llama.cpp has no fallback for q4_0 or q8_0 (output.weight's type when
# its rows do not fit the mix) and refuses, and so does quantize.
"$SYNTH" --dim 48 --ffn 96 --heads 4 --kv-heads 2 -o "$TMP/odd.gguf" >/dev/null
for t in Q4_0 Q4_K_M; do
	"$LLAMATERM" quantize "$TMP/odd.gguf" "$TMP/odd_$t.gguf" "$t" >/dev/null 2>"$TMP/err"
	rc=$?
	if [ $rc -eq 1 ] && grep -q "odd.gguf: tensor '.*' has rows of 48, not whole blocks of q[48]_0" "$TMP/err" &&
		[ ! -e "$TMP/odd_$t.gguf" ]; then
		pass "odd_rows_refused_$t"
	else
		fail "odd_rows_refused_$t" "exit $rc: $(cat "$TMP/err")"
	fi
done
if "$LLAMATERM" quantize --pure "$TMP/odd.gguf" "$TMP/odd_pure.gguf" Q2_K >/dev/null 2>&1; then
	expect odd_rows_to_f16 "$TMP/odd_pure.gguf" blk.0.ffn_gate.weight=f16 blk.0.ffn_down.weight=q4_0 \
		output.weight=f16
else
	fail odd_rows_to_f16
fi

# ---- the mixes on 256-wide rows (8 layers; more-bits layers 0, 3, 6, 7) ----
for t in Q2_K Q3_K_S Q3_K_M Q3_K_L Q4_K_S Q4_K_M Q5_K_S Q5_K_M Q6_K Q8_0 Q4_0 BF16; do
	quant "k_$t" "$TMP/k.gguf" "$t"
done
# mixcheck MIX BASE OUTPUT V0 V1 V3 D0 D1 D3 ATTN_OUTPUT
mixcheck() {
	expect "mix_$1" "$TMP/k_$1.gguf" blk.2.ffn_gate.weight="$2" token_embd.weight="$2" output.weight="$3" \
		blk.0.attn_v.weight="$4" blk.1.attn_v.weight="$5" blk.3.attn_v.weight="$6" \
		blk.0.ffn_down.weight="$7" blk.1.ffn_down.weight="$8" blk.3.ffn_down.weight="$9" \
		blk.2.attn_output.weight="${10}" blk.2.attn_norm.weight=f32
}
mixcheck Q2_K q2_K q6_K q3_K q3_K q3_K q3_K q3_K q3_K q3_K
mixcheck Q3_K_S q3_K q6_K q3_K q3_K q3_K q3_K q3_K q3_K q3_K
mixcheck Q3_K_M q3_K q6_K q5_K q5_K q4_K q4_K q4_K q4_K q4_K
mixcheck Q3_K_L q3_K q6_K q5_K q5_K q5_K q5_K q5_K q5_K q5_K
mixcheck Q4_K_S q4_K q6_K q5_K q5_K q5_K q5_K q4_K q4_K q4_K
mixcheck Q4_K_M q4_K q6_K q6_K q4_K q6_K q6_K q4_K q6_K q4_K
mixcheck Q5_K_S q5_K q6_K q5_K q5_K q5_K q5_K q5_K q5_K q5_K
mixcheck Q5_K_M q5_K q6_K q6_K q5_K q6_K q6_K q5_K q6_K q5_K
mixcheck Q6_K q6_K q6_K q6_K q6_K q6_K q6_K q6_K q6_K q6_K
mixcheck Q8_0 q8_0 q8_0 q8_0 q8_0 q8_0 q8_0 q8_0 q8_0 q8_0
mixcheck Q4_0 q4_0 q6_K q4_0 q4_0 q4_0 q4_0 q4_0 q4_0 q4_0
mixcheck BF16 bf16 bf16 bf16 bf16 bf16 bf16 bf16 bf16 bf16
if grep -q 'file type: *15 ' "$TMP/k_Q4_K_M.info"; then pass mix_file_type; else fail mix_file_type "$(grep 'file type' "$TMP/k_Q4_K_M.info")"; fi

# GQA 4 gives Q2_K's attn_v q4_K; qwen2's biases stay f32.
quant kq_Q2_K "$TMP/kq.gguf" Q2_K &&
	expect mix_q2_k_gqa4 "$TMP/kq_Q2_K.gguf" blk.0.attn_v.weight=q4_K blk.0.attn_q.bias=f32 blk.1.ffn_up.weight=q2_K
# Tied embeddings: token_embd is treated like output.weight.
"$SYNTH" --dim 256 --ffn 512 --tied -o "$TMP/tied.gguf" >/dev/null
quant tied_Q4_K_M "$TMP/tied.gguf" Q4_K_M &&
	expect mix_tied_embd "$TMP/tied_Q4_K_M.gguf" token_embd.weight=q6_K blk.0.ffn_up.weight=q4_K
# Requantizing a quantized model, and --pure.
quant requant "$TMP/k_Q8_0.gguf" Q4_K_S &&
	expect requant_types "$TMP/requant.gguf" blk.2.ffn_gate.weight=q4_K output.weight=q6_K
if "$LLAMATERM" quantize --pure "$TMP/k.gguf" "$TMP/pure.gguf" Q4_K_M >/dev/null 2>&1; then
	expect quantize_pure "$TMP/pure.gguf" output.weight=q4_K blk.0.attn_v.weight=q4_K blk.0.ffn_down.weight=q4_K
else
	fail quantize_pure
fi

# ---- every architecture and mix against llama.cpp's choices ----
# tests/quant/types.txt holds the type llama-quantize gives each tensor of
# the models in tests/quant/cases.txt (tests/quant/make.sh writes it).
. tests/quant/mixes.sh
# quant_types NAME ARGS: quantizes the model to every mix and passes when
# each tensor has llama.cpp's type.
quant_types() {
	local name=$1 args=$2 m=$TMP/qt.gguf out=$TMP/qt_out.gguf want got names mix bad=""
	# shellcheck disable=SC2086
	"$SYNTH" $args --name synth -o "$m" >/dev/null || { fail "quant_types_$name" "lt-synth failed"; return; }
	want=$(awk -v m="$name" '$1 == "model" { on = $2 == m; next } on && $1 == "tensors"' tests/quant/types.txt)
	got="tensors $("$LLAMATERM" info --tensors "$m" | awk '/^ +[0-9]+ +[a-z]/ && NF >= 4 { printf " %s", $2 }')"
	if [ "$(echo $want)" != "$(echo $got)" ]; then
		fail "quant_types_$name" "lt-synth writes other tensors than types.txt lists"
		return
	fi
	names=${want#tensors }
	for mix in $QUANT_MIXES; do
		if ! "$LLAMATERM" quantize -t 1 "$m" "$out" "$mix" >"$TMP/qt.log" 2>&1; then
			bad="$bad $mix: $(tail -n 1 "$TMP/qt.log");"
			continue
		fi
		want=$(awk -v m="$name" -v x="$mix" '$1 == "model" { on = $2 == m; next } on && $1 == x' tests/quant/types.txt)
		got="$mix$("$LLAMATERM" info --tensors "$out" | awk '/^ +[0-9]+ +[a-z]/ && NF >= 4 { printf " %s", $3 }')"
		if [ "$(echo $want)" != "$(echo $got)" ]; then
			# Names the first tensors whose types differ.
			bad="$bad $mix:$(awk -v w="$want" -v g="$got" -v t="$names" 'BEGIN {
				nw = split(w, a, " "); split(g, b, " "); split(t, n, " "); k = 0
				for (i = 2; i <= nw && k < 3; i++) if (a[i] != b[i]) { printf " %s=%s (want %s)", n[i - 1], b[i], a[i]; k++ }
			}');"
		fi
	done
	if [ -z "$bad" ]; then pass "quant_types_$name"; else fail "quant_types_$name" "$bad"; fi
}
while read -r name args; do
	case $name in '' | '#'*) continue ;; esac
	quant_types "$name" "$args"
done <tests/quant/cases.txt

# ---- errors ----
"$LLAMATERM" quantize "$TMP/tiny.gguf" "$TMP/x.gguf" Q9_9 >/dev/null 2>"$TMP/err"
rc=$?
if [ $rc -eq 2 ] && grep -q "unknown type 'Q9_9'" "$TMP/err" && [ ! -e "$TMP/x.gguf" ]; then
	pass quantize_unknown_type_exit_2
else
	fail quantize_unknown_type_exit_2 "exit $rc: $(cat "$TMP/err")"
fi
"$LLAMATERM" quantize "$TMP/tiny.gguf" "$TMP/x.gguf" >/dev/null 2>&1
check quantize_missing_arg_exit_2 test $? -eq 2
"$LLAMATERM" quantize "$TMP/nonexistent.gguf" "$TMP/x.gguf" Q4_0 >/dev/null 2>"$TMP/err"
rc=$?
if [ $rc -eq 1 ] && grep -q nonexistent.gguf "$TMP/err"; then pass quantize_missing_input_exit_1; else fail quantize_missing_input_exit_1 "exit $rc"; fi
head -c 1000 "$TMP/tiny.gguf" >"$TMP/trunc.gguf"
"$LLAMATERM" quantize "$TMP/trunc.gguf" "$TMP/x.gguf" Q4_0 >/dev/null 2>"$TMP/err"
rc=$?
if [ $rc -eq 1 ] && grep -q trunc.gguf "$TMP/err" && [ ! -e "$TMP/x.gguf" ]; then
	pass quantize_truncated_input_exit_1
else
	fail quantize_truncated_input_exit_1 "exit $rc: $(cat "$TMP/err")"
fi
"$LLAMATERM" quantize "$TMP/tiny.gguf" "$TMP/no/such/dir/x.gguf" Q4_0 >/dev/null 2>"$TMP/err"
rc=$?
if [ $rc -eq 1 ] && grep -q 'no/such/dir/x.gguf' "$TMP/err"; then pass quantize_unwritable_exit_1; else fail quantize_unwritable_exit_1 "exit $rc"; fi
