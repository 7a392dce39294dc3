# Escapes and double quotes in -r, --in-suffix, /postfix and /stop add, with
# /show and /stop list writing them back escaped.
. tests/lib.sh
need_shared chat_escapes || exit 0
M=$MODELS/stories260K.gguf
export XDG_DATA_HOME=$TMP/data XDG_STATE_HOME=$TMP/state XDG_CONFIG_HOME=$TMP/config
chat() { "$LLAMATERM" chat -m "$M" --template raw -t 1 --temp 0 --plain --no-autosave "$@"; }

# Without a stop, this reply runs over several lines.
printf 'Once upon a time\n' | chat -n 200 >"$TMP/long" 2>/dev/null
if [ "$(wc -l <"$TMP/long")" -gt 1 ]; then
	printf 'Once upon a time\n' | chat -n 200 -r '\n' >"$TMP/out" 2>"$TMP/err"
	[ "$(wc -l <"$TMP/out")" -eq 1 ] && pass chat_escapes_r_newline ||
		fail chat_escapes_r_newline "$(head -c 300 "$TMP/out")"
	printf '/stop add "\\n"\nOnce upon a time\n' | chat -n 200 >"$TMP/out" 2>"$TMP/err"
	[ "$(wc -l <"$TMP/out")" -eq 1 ] && pass chat_escapes_stop_add_newline ||
		fail chat_escapes_stop_add_newline "$(head -c 300 "$TMP/out")"
else
	skip chat_escapes_r_newline "the reply has no newline"
fi

printf '/postfix " AI:"\n/stop add "\\nHuman:"\n/show\n/stop list\n' | chat >/dev/null 2>"$TMP/err"
has chat_escapes_postfix_shown '^in-prefix: "" +postfix: " AI:"$' "$TMP/err"
has chat_escapes_stop_shown '^  "\\nHuman:"$' "$TMP/err"
has chat_escapes_stop_added '^stop string added: "\\nHuman:"$' "$TMP/err"

chat --in-suffix '" AI:"' -r '\tEnd' >/dev/null 2>"$TMP/err" <<<'/show'
has chat_escapes_in_suffix '^in-prefix: "" +postfix: " AI:"$' "$TMP/err"
has chat_escapes_r_tab '^  "\\tEnd"$' "$TMP/err"

printf '/postfix \\q\n' | chat >/dev/null 2>"$TMP/err"
has chat_escapes_bad_slash "^/postfix: bad escape '\\\\q'" "$TMP/err"
expect_status chat_escapes_bad_option 2 "$LLAMATERM" chat -m "$M" -r 'x\'
has chat_escapes_bad_option_message "^llamaterm chat: --reverse-prompt: '\\\\' at the end" "$TMP/err"
