# Invalid UTF-8 typed or given (a pipe, slash arguments, options, -p, -f)
# becomes U+FFFD, with a one-line note, before it is tokenized or stored.
. tests/lib.sh
need_shared chat_utf8 || exit 0
M=$MODELS/stories260K.gguf
export XDG_DATA_HOME=$TMP/data XDG_STATE_HOME=$TMP/state XDG_CONFIG_HOME=$TMP/config
chat() { "$LLAMATERM" chat -m "$M" -t 1 --template raw --temp 0 -n 4 --plain "$@"; }
FFFD=$(printf '\357\277\275')

printf 'caf\351\n' | chat --session x >/dev/null 2>"$TMP/err"
if [ "$(grep -c 'not valid UTF-8: 1 invalid byte sequence replaced with U+FFFD' "$TMP/err")" -eq 1 ]; then
	pass utf8_pipe_note
else
	fail utf8_pipe_note "$(head -c 300 "$TMP/err")"
fi
"$LLAMATERM" sessions show x >"$TMP/show" 2>&1
if grep -qx "> caf$FFFD" "$TMP/show"; then pass utf8_pipe_stored; else fail utf8_pipe_stored "$(head -c 300 "$TMP/show")"; fi
printf 'more\n' | chat --session x >/dev/null 2>"$TMP/err"
if grep -q "cannot resume" "$TMP/err"; then fail utf8_session_resumes "$(head -c 300 "$TMP/err")"; else pass utf8_session_resumes; fi

# A truncated sequence and a stray continuation byte: one U+FFFD each.
printf '/system a\342\202b\200c\n/show\n' | chat --no-autosave >/dev/null 2>"$TMP/err"
has utf8_system_replaced "^system: a${FFFD}b${FFFD}c\$" "$TMP/err"
has utf8_system_note 'not valid UTF-8: 2 invalid byte sequences replaced' "$TMP/err"

printf '/postfix \377\n/stop add x\376\n/show\n' | chat --no-autosave >/dev/null 2>"$TMP/err"
has utf8_postfix_replaced "postfix: \"${FFFD}\"\$" "$TMP/err"
has utf8_stop_replaced "^  \"x${FFFD}\"\$" "$TMP/err"

printf '/show\n' | chat --no-autosave --system "$(printf 'S\351')" >/dev/null 2>"$TMP/err"
has utf8_option_replaced "^system: S${FFFD}\$" "$TMP/err"
has utf8_option_note 'options were not valid UTF-8: 1 invalid' "$TMP/err"

"$LLAMATERM" run -m "$M" -t 1 --temp 0 -n 2 -p "$(printf 'caf\351')" >/dev/null 2>"$TMP/err"
has utf8_run_p_note '^llamaterm run: -p: not valid UTF-8: 1 invalid byte sequence replaced with U\+FFFD$' "$TMP/err"
printf 'caf\351' >"$TMP/p.txt"
"$LLAMATERM" tokenize -m "$M" -f "$TMP/p.txt" >"$TMP/out" 2>"$TMP/err"
has utf8_tokenize_f_note "p.txt: not valid UTF-8: 1 invalid" "$TMP/err"
