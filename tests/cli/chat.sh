# Line-mode chat driven through a pipe: golden reply, stop strings that never
# leak, multi-line messages, undo/regen, context shift, session resume with
# token-identical replies, and damaged session files.
. tests/lib.sh
need_shared chat || exit 0
M=$MODELS/stories260K.gguf
export XDG_DATA_HOME=$TMP/data XDG_STATE_HOME=$TMP/state XDG_CONFIG_HOME=$TMP/config
GOLDEN=", there was a little girl named Lily. She loved to play outside in the park. One day, she saw"
chat() { "$LLAMATERM" chat -m "$M" --template raw -t 1 "$@"; }

out=$(printf 'Once upon a time\n' | chat --temp 0 -n 32 --no-autosave 2>/dev/null)
if [ "$out" = "$GOLDEN" ]; then pass chat_pipe_golden; else fail chat_pipe_golden "got '$out'"; fi

out=$(printf 'Once upon a time\n' | chat --temp 0 -n 64 -r Lily --no-autosave 2>/dev/null)
case $out in
*Lily*) fail chat_stop_lily "stop string leaked: '$out'" ;;
", there was a little girl named"*) pass chat_stop_lily ;;
*) fail chat_stop_lily "got '$out'" ;;
esac

out=$(printf 'Once upon a time\n' | chat --temp 0 -n 64 -r "girl named L" --no-autosave 2>/dev/null)
if [ "$out" = ", there was a little" ] || [ "$out" = ", there was a little " ]; then pass chat_stop_split; else fail chat_stop_split "got '$out'"; fi

out=$(printf '"""\nOnce upon\na time\n"""\n' | chat --temp 0 -n 4 --no-autosave 2>/dev/null)
if [ -n "$out" ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ]; then pass chat_multiline; else fail chat_multiline "got '$out'"; fi

out=$(printf 'Once upon a time\n/regen\n/undo\n/undo\nOnce upon a time\n' | chat --temp 0 -n 8 --no-autosave 2>/dev/null)
first=$(printf '%s\n' "$out" | sed -n 1p)
if [ "$(printf '%s\n' "$out" | grep -c .)" -eq 3 ] && [ "$(printf '%s\n' "$out" | sort -u | wc -l)" -eq 1 ] && [ -n "$first" ]; then
	pass chat_undo_regen
else
	fail chat_undo_regen "got '$out'"
fi

err=$(printf 'Once upon a time\nThe dog\nThe cat\nThe end\n' | chat -c 48 --temp 0.8 -s 1 -n 16 --no-autosave 2>&1 >/dev/null)
case $err in *"context full"*) pass chat_ctx_shift ;; *) fail chat_ctx_shift "no shift reported: $err" ;; esac

# Resume: one process for both messages versus two processes through a session file.
opts="--temp 0.8 -s 42 -n 24"
both=$(printf 'Once upon a time\nThe dog\n' | chat $opts --session whole 2>/dev/null | sed -n 2p)
printf 'Once upon a time\n' | chat $opts --session split >/dev/null 2>&1
resumed=$(printf 'The dog\n' | chat $opts --session split 2>/dev/null | tail -n 1)
if [ -n "$both" ] && [ "$both" = "$resumed" ]; then pass chat_resume_identical; else fail chat_resume_identical "'$both' vs '$resumed'"; fi

f=$XDG_DATA_HOME/llamaterm/sessions/split.lts
if [ -f "$f" ] && [ "$(stat -c %a "$f")" = 600 ]; then pass chat_session_mode; else fail chat_session_mode; fi

# A truncated transcript: clear error naming the file, file left alone.
head -c 60 "$f" >"$TMP/cut.lts"
cp "$TMP/cut.lts" "$XDG_DATA_HOME/llamaterm/sessions/cut.lts"
msg=$(printf 'hello\n' | chat --session cut 2>&1 >/dev/null)
case $msg in *cut.lts*)
	if cmp -s "$TMP/cut.lts" "$XDG_DATA_HOME/llamaterm/sessions/cut.lts"; then pass chat_truncated_session; else fail chat_truncated_session "file was overwritten"; fi ;;
*) fail chat_truncated_session "got '$msg'" ;;
esac

# A damaged KV record (the last one the journal appended): warning,
# transcript kept, the context rebuilt, the chat goes on.
kvsp=$(grep -obUa KVSP "$f" | tail -n 1 | cut -d: -f1)
cp "$f" "$TMP/kv.lts"
printf 'XXXX' | dd of="$TMP/kv.lts" bs=1 seek=$((kvsp + 40)) conv=notrunc 2>/dev/null
cp "$TMP/kv.lts" "$XDG_DATA_HOME/llamaterm/sessions/kv.lts"
out=$(printf 'The end\n' | chat $opts --session kv --no-autosave 2>"$TMP/kv.err")
if grep -q "kv.lts" "$TMP/kv.err" && grep -q '^> Once upon a time$' "$TMP/kv.err" && [ -n "$out" ] && ! printf '%s\n' "$out" | grep -q '^> '; then
	pass chat_damaged_kv
else
	fail chat_damaged_kv "$(cat "$TMP/kv.err") / $out"
fi

msg=$(printf 'x\n' | chat --session ../evil 2>&1)
rc=$?
case $msg in *"session name"*) [ $rc -eq 2 ] && pass chat_bad_session_name || fail chat_bad_session_name "rc $rc" ;; *) fail chat_bad_session_name "$msg" ;; esac

msg=$(printf 'x\n' | "$LLAMATERM" chat -m "$TMP/nope.gguf" 2>&1)
rc=$?
case $msg in *nope.gguf*) [ $rc -eq 1 ] && pass chat_bad_model || fail chat_bad_model "rc $rc" ;; *) fail chat_bad_model "$msg" ;; esac

out=$(printf '/stop add Lily\n/stop list\n/set temp 0\n/set n_predict 64\nOnce upon a time\n/bogus\n' | chat --no-autosave 2>&1)
case $out in *Lily.*) fail chat_slash_commands "$out" ;;
*'"Lily"'*"unknown command '/bogus'"*) pass chat_slash_commands ;;
*) fail chat_slash_commands "$out" ;; esac

# A pasted 100 KB system prompt arrives whole: refused with the token count
# it really needs (nothing cut), while one that fits is kept in full.
big=$(printf 'dog cat %.0s' $(seq 12800))END
fits=$(printf 'dog %.0s' $(seq 150))end
out=$(printf '/system %s\n/show\n/system %s\n/show\n' "$big" "$fits" | chat --no-autosave 2>&1)
need=$(printf '%s\n' "$out" | sed -n 's/.*system prompt needs \([0-9]*\) tokens.*/\1/p')
if [ -n "$need" ] && [ "$need" -gt 20000 ] && printf '%s\n' "$out" | grep -q '^system: (none)$' &&
	printf '%s\n' "$out" | grep -q "^system: dog dog .*\.\.\. (${#fits} bytes)$"; then
	pass chat_long_system
else
	fail chat_long_system "$(printf '%s\n' "$out" | cut -c 1-200)"
fi
