# llamaterm quantize never writes over its own input (same file by another
# path, symlink or hard link), and leaves no temporary file behind.
. tests/lib.sh
need_shared quantize_self || exit 0
export OMP_NUM_THREADS=1
cp "$MODELS/stories260K.gguf" "$TMP/m.gguf"
sum=$(cksum <"$TMP/m.gguf")
ln -s m.gguf "$TMP/link.gguf"
ln "$TMP/m.gguf" "$TMP/hard.gguf"
mkdir "$TMP/sub"

# refused NAME OUT: quantizing m.gguf to OUT fails with one line naming OUT.
refused() {
	expect_status "quantize_self_$1" 2 "$LLAMATERM" quantize -t 1 "$TMP/m.gguf" "$2" F16
	if [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -q "is the input file" "$TMP/err"; then
		pass "quantize_self_$1_message"
	else
		fail "quantize_self_$1_message" "$(head -c 300 "$TMP/err")"
	fi
}
refused same "$TMP/m.gguf"
refused symlink "$TMP/link.gguf"
refused hardlink "$TMP/hard.gguf"
refused other_path "$TMP/sub/../m.gguf"
[ "$(cksum <"$TMP/m.gguf")" = "$sum" ] && pass quantize_self_input_intact || fail quantize_self_input_intact

# A write that fails at the end (the output is a directory) leaves nothing behind.
mkdir "$TMP/sub/out.gguf"
expect_status quantize_fail_status 1 "$LLAMATERM" quantize -t 1 "$TMP/m.gguf" "$TMP/sub/out.gguf" F16
left=$(find "$TMP/sub" -name '*.tmp*')
[ -z "$left" ] && pass quantize_fail_no_temp || fail quantize_fail_no_temp "$left"

# A good write leaves only the output.
expect_status quantize_other_file 0 "$LLAMATERM" quantize -t 1 "$TMP/m.gguf" "$TMP/sub/f16.gguf" F16
left=$(find "$TMP/sub" -name '*.tmp*')
[ -z "$left" ] && [ -s "$TMP/sub/f16.gguf" ] && pass quantize_no_temp || fail quantize_no_temp "$left"
