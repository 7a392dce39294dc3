# The chat commands ollama and llama-cli users type: /bye and /exit leave,
# /? is the help, /clear starts over, /set parameter NAME VALUE, /set
# parameter stop TEXT and /set system TEXT, /show info|parameters|system,
# and /read FILE, whose contents (under the file's name) go with the next
# message, as the saved transcript shows.
. tests/lib.sh
need_shared chat_ollama || exit 0
M=$MODELS/stories260K.gguf
export XDG_DATA_HOME=$TMP/data XDG_STATE_HOME=$TMP/state XDG_CONFIG_HOME=$TMP/config
chat() { "$LLAMATERM" chat -m "$M" --template raw -t 1 --temp 0 -n 4 --plain "$@"; }

printf 'Lily had a red ball.\n' >"$TMP/story.txt"
printf '/read %s\n/show\nWhat did Lily have?\n/bye\nnot sent\n' "$TMP/story.txt" |
	chat --session oll >"$TMP/out" 2>"$TMP/err"
check chat_ollama_bye_exit0 test $? -eq 0
grep -q "^attached $TMP/story.txt (21 bytes); it goes with your next message" "$TMP/err" &&
	pass chat_ollama_read_attached || fail chat_ollama_read_attached "$(cat "$TMP/err")"
grep -q '^attached files wait for your next message' "$TMP/err" &&
	pass chat_ollama_show_attachment || fail chat_ollama_show_attachment
"$LLAMATERM" sessions show oll >"$TMP/show" 2>&1
if grep -q '^> File story.txt:$' "$TMP/show" && grep -q '^Lily had a red ball\.$' "$TMP/show" &&
	grep -q '^What did Lily have?$' "$TMP/show"; then
	pass chat_ollama_read_in_message
else
	fail chat_ollama_read_in_message "$(head -c 400 "$TMP/show")"
fi
grep -q 'not sent' "$TMP/show" && fail chat_ollama_bye_stops "a line after /bye was sent" ||
	pass chat_ollama_bye_stops

printf '/?\n/set parameter temperature 0.5\n/set parameter stop "\\nUser:"\n/set system Be brief.\n/show parameters\n/show system\n/show info\n/clear\n/exit\n' |
	chat >"$TMP/out" 2>"$TMP/err"
grep -q '^ */quit .*(also /bye, /exit)' "$TMP/err" && pass chat_ollama_help_alias ||
	fail chat_ollama_help_alias
grep -q '^  temperature = 0.5$' "$TMP/err" && pass chat_ollama_set_parameter ||
	fail chat_ollama_set_parameter "$(cat "$TMP/err")"
grep -q '^stop string added: "\\nUser:"$' "$TMP/err" && pass chat_ollama_set_stop ||
	fail chat_ollama_set_stop "$(cat "$TMP/err")"
grep -q '^system: Be brief\.$' "$TMP/err" && pass chat_ollama_set_system ||
	fail chat_ollama_set_system
grep -q '^model: llama (llama, 0.29M parameters' "$TMP/err" && pass chat_ollama_show_info ||
	fail chat_ollama_show_info
grep -q '^new conversation$' "$TMP/err" && pass chat_ollama_clear || fail chat_ollama_clear

# /read of what is not a text file: one line naming it, and the chat goes on.
head -c 64 /dev/urandom | tr -d '\n' >"$TMP/bin"
printf '\0' >>"$TMP/bin"
printf '/read %s\n/read %s/none\n/show\n' "$TMP/bin" "$TMP" | chat >"$TMP/out" 2>"$TMP/err"
grep -q "$TMP/bin: not a text file" "$TMP/err" && pass chat_ollama_read_binary ||
	fail chat_ollama_read_binary "$(cat "$TMP/err")"
grep -q "$TMP/none: No such file or directory" "$TMP/err" && pass chat_ollama_read_missing ||
	fail chat_ollama_read_missing "$(cat "$TMP/err")"
grep -q '^attached files wait' "$TMP/err" && fail chat_ollama_read_nothing_kept ||
	pass chat_ollama_read_nothing_kept
exit 0
