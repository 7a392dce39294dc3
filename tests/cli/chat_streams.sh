# Line mode: replies on stdout, one line per message; everything else
# (/help, /show, notices, a resumed transcript) on stderr.
. tests/lib.sh
need_shared chat_streams || exit 0
M=$MODELS/stories260K.gguf
export XDG_DATA_HOME=$TMP/data XDG_STATE_HOME=$TMP/state XDG_CONFIG_HOME=$TMP/config
chat() { "$LLAMATERM" chat -m "$M" --template raw -t 1 --temp 0 -n 6 --plain "$@"; }

printf '/help\n/show\n/set temp 0\n/info\nOnce upon a time\n' | chat --session st >"$TMP/out" 2>"$TMP/err"
if [ "$(wc -l <"$TMP/out")" -eq 1 ] && grep -q '[a-z]' "$TMP/out"; then
	pass chat_streams_stdout_reply_only
else
	fail chat_streams_stdout_reply_only "$(head -c 300 "$TMP/out")"
fi
grep -q '^ */quit' "$TMP/err" && pass chat_streams_help_stderr || fail chat_streams_help_stderr
grep -q '^template: raw' "$TMP/err" && pass chat_streams_show_stderr || fail chat_streams_show_stderr

# Resumed: the old transcript is a recap on stderr; stdout has the new reply.
printf 'The dog\n' | chat --session st >"$TMP/out2" 2>"$TMP/err2"
if [ "$(wc -l <"$TMP/out2")" -eq 1 ] && grep -q '^> Once upon a time$' "$TMP/err2"; then
	pass chat_streams_resume
else
	fail chat_streams_resume "$(head -c 300 "$TMP/out2")"
fi
