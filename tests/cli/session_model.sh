# Resuming a session with another quantization of its model says what
# differs (the file, its size, the weights' type) and that the KV cache
# cannot be reused, instead of "made with another model (llama)"; an empty
# conversation saved and loaded again warns of nothing.
. tests/lib.sh
need_shared session_model || exit 0
M=$MODELS/stories260K.gguf
export XDG_DATA_HOME=$TMP/data XDG_STATE_HOME=$TMP/state XDG_CONFIG_HOME=$TMP/config
chat() { "$LLAMATERM" chat --plain --template raw --temp 0 -t 1 -n 4 "$@"; }

"$LLAMATERM" quantize "$M" "$TMP/st-f16.gguf" F16 >/dev/null 2>&1
printf 'Once upon a time\n' | chat -m "$M" --session sm >/dev/null 2>&1
printf 'The dog\n' | chat -m "$TMP/st-f16.gguf" --session sm >/dev/null 2>"$TMP/err"
if grep -q "made with another model file: stories260K.gguf (1.13 MiB, f32); this is st-f16.gguf ([0-9.]* KiB, f16) (another quantization); its KV cache does not fit" "$TMP/err"; then
	pass session_model_says_what_differs
else
	fail session_model_says_what_differs "$(cat "$TMP/err")"
fi
"$LLAMATERM" sessions show sm 2>&1 | grep -q '^> The dog$' && pass session_model_goes_on ||
	fail session_model_goes_on

# Issue 15, bug 8: /save then /load of an empty conversation.
printf '/save s3\n/load s3\n/info\n' | chat -m "$M" >/dev/null 2>"$TMP/err"
grep -q 'did not fit' "$TMP/err" && fail session_model_empty_load_quiet "$(cat "$TMP/err")" ||
	pass session_model_empty_load_quiet
grep -q '^session: s3$' "$TMP/err" && pass session_model_empty_load_saved ||
	fail session_model_empty_load_saved "$(grep '^session' "$TMP/err")"
exit 0
