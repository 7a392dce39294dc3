# llama.cpp's habits: its flags are accepted (the GPU ones with one line
# saying llamaterm runs on the CPU), -sys and --chat-template name the
# system prompt and template, -p/-f in a chat are the first message,
# 'llamaterm -m M -p TEXT' off a terminal (or with -no-cnv) completes like
# run, and --verbose-prompt shows the exact prompt with its special tokens.
. tests/lib.sh
need_shared habits || exit 0
M=$MODELS/stories260K.gguf
export XDG_DATA_HOME=$TMP/data XDG_STATE_HOME=$TMP/state XDG_CONFIG_HOME=$TMP/config
GOLD=', there was a little girl named Lily. She'

"$LLAMATERM" run -m "$M" -p "Once upon a time" -n 12 --temp 0 -t 1 -ngl 99 -fa on --color \
	--gpu-layers 5 --prompt-cache "$TMP/cache.bin" >"$TMP/out" 2>"$TMP/err"
check habits_gpu_flags_accepted test $? -eq 0
grep -q '^llamaterm run: -ngl: llamaterm runs on the CPU' "$TMP/err" &&
	grep -q '^llamaterm run: -fa: ' "$TMP/err" && grep -q 'prompt cache file is ignored' "$TMP/err" &&
	pass habits_gpu_flags_say_why || fail habits_gpu_flags_say_why "$(cat "$TMP/err")"
grep -qF "$GOLD" "$TMP/out" && pass habits_gpu_flags_same_output ||
	fail habits_gpu_flags_same_output "$(cat "$TMP/out")"
# -fa alone, before another option, takes no argument.
expect_status habits_fa_alone 0 "$LLAMATERM" run -m "$M" -p "Once" -n 2 -fa --temp 0

# No command, not a terminal: a completion, as llama-cli -no-cnv gives.
"$LLAMATERM" -m "$M" -p "Once upon a time" -n 12 --temp 0 -t 1 >"$TMP/out" 2>/dev/null
grep -qF "$GOLD" "$TMP/out" && pass habits_no_command_completes ||
	fail habits_no_command_completes "$(cat "$TMP/out")"
"$LLAMATERM" -m "$M" -p "Once upon a time" -n 12 --temp 0 -t 1 -no-cnv >"$TMP/out" 2>/dev/null
grep -qF "$GOLD" "$TMP/out" && pass habits_no_cnv || fail habits_no_cnv "$(cat "$TMP/out")"

# In a chat: -p is the first message; -sys and --chat-template; -cnv, -i.
printf '/show system\n/show template\n/bye\n' |
	"$LLAMATERM" chat -m "$M" -p "Once upon a time" -sys "Be brief." --chat-template raw \
		-cnv -i --interactive-first --temp 0 -t 1 -n 8 --plain >"$TMP/out" 2>"$TMP/err"
check habits_chat_flags_exit0 test $? -eq 0
grep -q '[a-z]' "$TMP/out" && pass habits_chat_first_message || fail habits_chat_first_message
grep -q '^system: Be brief\.$' "$TMP/err" && pass habits_sys || fail habits_sys "$(cat "$TMP/err")"
grep -q '^template: raw$' "$TMP/err" && pass habits_chat_template || fail habits_chat_template
printf 'Lily went to the park.\n' >"$TMP/first.txt"
printf '' | "$LLAMATERM" chat -m "$M" -f "$TMP/first.txt" --session hf --template raw --temp 0 \
	-t 1 -n 4 --plain >/dev/null 2>&1
"$LLAMATERM" sessions show hf 2>&1 | grep -q '^> Lily went to the park\.$' &&
	pass habits_chat_f_first_message || fail habits_chat_f_first_message

# --verbose-prompt: run lists the ids, the chat shows the text with <s>.
"$LLAMATERM" run -m "$M" -p "Once upon" -n 1 --temp 0 --verbose-prompt >/dev/null 2>"$TMP/err"
grep -q '^prompt: 3 tokens$' "$TMP/err" && grep -q "^ *1 -> '<s>'$" "$TMP/err" &&
	grep -q "^ *403 -> ' Once'$" "$TMP/err" && pass habits_verbose_prompt_run ||
	fail habits_verbose_prompt_run "$(cat "$TMP/err")"
printf 'Once upon a time\n' | "$LLAMATERM" chat -m "$M" --template raw --temp 0 -n 2 --plain \
	--verbose-prompt >/dev/null 2>"$TMP/err"
grep -q '^prompt ([0-9]* tokens): <s> Once upon a time' "$TMP/err" &&
	pass habits_verbose_prompt_chat || fail habits_verbose_prompt_chat "$(cat "$TMP/err")"
exit 0
