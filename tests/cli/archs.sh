#!/usr/bin/env bash
# Every architecture of the table against llama.cpp: the golden models of
# tests/golden/archs.txt are written by lt-synth, quantized by our quantizer,
# and their logits at every position and 16 greedy ids compared with those
# llama.cpp computed for the same files (tests/golden/make.sh), directly and
# through a saved and reloaded context state. Lines of archs.txt that switch
# a feature off must not match, so each feature is shown to matter.
. "$(dirname "$0")/../lib.sh"
LT=$LLAMATERM
GOLDEN=$(cd "$(dirname "$0")/../golden" && pwd)
. "$GOLDEN/common.sh"

need_synth "architecture goldens" || exit 0
if ! command -v python3 >/dev/null; then
	skip "architecture goldens" "python3 not found"
	exit 0
fi

# Named tolerances, as fractions of the largest golden logit (F32) or of
# llama.cpp's own distance between a quantized model and its F32 original.
# TOL_F32: both engines sum in float in another order: 1e-6 in practice.
# TOL_F32_GELU: ggml computes GELU through a table of f16 inputs and
# outputs; a last-bit difference in an input can move the output by one f16
# step (5e-4 relative); measured up to 2.5e-4 of the largest logit on two
# layers and 5.2e-4 on the 46 layers of the gemma2-27b model.
# TOL_QUANT: llama.cpp rounds activations to 8 bits with its own rounding of
# halves; a flipped rounding moves a logit by about as much as quantizing
# the weights does.
# TOL_TIE: quantized greedy ids may part after a pick llama.cpp made by less
# than this fraction of its quantization spread (its decode kernels round
# activations in yet another order); F32 ones only within TOL_F32.
TOL_F32=1e-4
TOL_F32_GELU=1e-3
TOL_QUANT=1.0
TOL_TIE=0.25
RESUME_AT=7

gelu_arch() {
	case " $* " in *" --arch gemma"* | *" --arch gpt"* | *" --arch falcon "* | *" --arch mpt "* | \
		*" --arch bloom "* | *" --arch starcoder"*) return 0 ;; esac
	return 1
}

# compare NAME TYPE MODEL TOL [SPREAD] [FIRST] [KV]: our logits against the
# golden NAME.TYPE (KV: the cache type, default f32).
compare() {
	local name=$1 type=$2 model=$3 tol=$4 spread=${5:-} first=${6:-0} kv=${7:-f32}
	local resume=()
	[ "$first" -gt 0 ] && resume=(--resume-at "$first")
	"$LT" logits -m "$model" -c 512 --ids "$GOLDEN_IDS" --kv-type "$kv" --top 1 \
		--greedy "$GOLDEN_GREEDY" "${resume[@]}" -o "$TMP/ours.f32" >"$TMP/out" 2>"$TMP/err" || {
		echo "llamaterm logits failed: $(head -c 300 "$TMP/err")"
		return 1
	}
	python3 "$GOLDEN/compare.py" check "$GOLDEN/$name.$type" "$TMP/ours.f32" \
		"$(grep '^greedy:' "$TMP/out")" "$tol" "$first" ${spread:+"$GOLDEN/$spread" "$TOL_TIE"}
}

while read -r name args; do
	case $name in '' | '#'*) continue ;; esac
	file=$(echo "$name" | tr -c 'a-z0-9\n' '_')
	# shellcheck disable=SC2086
	if ! "$SYNTH" $GOLDEN_SHAPE $args -o "$TMP/$file.F32.gguf" >/dev/null 2>"$TMP/err"; then
		fail "$name: lt-synth $args" "$(head -c 300 "$TMP/err")"
		continue
	fi
	tol=$TOL_F32
	# shellcheck disable=SC2086
	gelu_arch $args && tol=$TOL_F32_GELU
	case $name in
	-*)
		base=${name#-}
		base=${base%%/*}
		feature=${name#*/}
		if r=$(compare "$base" F32 "$TMP/$file.F32.gguf" "$tol"); then
			fail "$base without $feature differs from the golden" "$r"
		else
			pass "$base without $feature differs from the golden: $r"
		fi
		rm -f "$TMP/$file.F32.gguf"
		continue
		;;
	esac
	for type in $GOLDEN_TYPES; do
		m=$TMP/$file.$type.gguf
		if [ "$type" != F32 ] && ! "$LT" quantize "$TMP/$file.F32.gguf" "$m" "$type" >/dev/null 2>&1; then
			fail "$name $type: quantize"
			continue
		fi
		spread=
		[ "$type" = F32 ] || { tol=$TOL_QUANT; spread=$name.F32; }
		if r=$(compare "$name" "$type" "$m" "$tol" "$spread"); then
			pass "$name $type matches llama.cpp: $r"
		else
			fail "$name $type matches llama.cpp" "$r"
		fi
		if r=$(compare "$name" "$type" "$m" "$tol" "$spread" "$RESUME_AT"); then
			pass "$name $type resumed at $RESUME_AT matches llama.cpp: $r"
		else
			fail "$name $type resumed at $RESUME_AT matches llama.cpp" "$r"
		fi
	done
	# A quantized KV cache, against llama.cpp's: within TOL_QUANT of its own
	# distance from the F32 cache.
	case " $GOLDEN_KV_MODELS " in *" $name "*) kv_types=$GOLDEN_KV_TYPES ;; *) kv_types= ;; esac
	for kv in $kv_types; do
		if r=$(compare "$name" "F32-kv$kv" "$TMP/$file.F32.gguf" "$TOL_QUANT" "$name.F32" 0 "$kv"); then
			pass "$name with a $kv KV cache matches llama.cpp: $r"
		else
			fail "$name with a $kv KV cache matches llama.cpp" "$r"
		fi
		if r=$(compare "$name" "F32-kv$kv" "$TMP/$file.F32.gguf" "$TOL_QUANT" "$name.F32" \
			"$RESUME_AT" "$kv"); then
			pass "$name with a $kv KV cache resumed at $RESUME_AT matches llama.cpp: $r"
		else
			fail "$name with a $kv KV cache resumed at $RESUME_AT matches llama.cpp" "$r"
		fi
	done
	rm -f "$TMP/$file".*.gguf
done <"$GOLDEN/archs.txt"

# A tensor the architecture does not use means a variant we do not compute:
# refused, naming it, as llama.cpp's loader refuses it.
if "$SYNTH" $GOLDEN_SHAPE --arch mpt --extra-tensor blk.0.attn_q_norm.weight \
	-o "$TMP/extra.gguf" >/dev/null 2>&1; then
	expect_status "an unused tensor is refused" 1 "$LT" logits -m "$TMP/extra.gguf" --ids 1,2
	has "the refusal names the tensor" "blk.0.attn_q_norm.weight.*not part of a mpt model" "$TMP/err"
else
	fail "lt-synth --extra-tensor"
fi
