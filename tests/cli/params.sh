# The generation parameter table seen from outside: --help lists each
# parameter once, range errors name the parameter and the range, and in a
# chat /set takes ollama's names and the old ones for the same setting.
. tests/lib.sh
LT=$LLAMATERM

# Each parameter's flags once in --help, on one line with its /set names.
"$LT" chat --help >"$TMP/help" 2>&1
bad=
for flag in -n -c -s --temp --top-k --top-p --min-p --typical --repeat-penalty \
	--repeat-last-n --presence-penalty --frequency-penalty; do
	[ "$(grep -cE -- "(^| )$flag[ ,]" "$TMP/help")" -eq 1 ] || bad="$bad $flag"
done
for name in n_predict seed temperature top_k top_p min_p typical_p repeat_penalty \
	repeat_last_n presence_penalty frequency_penalty; do
	[ "$(grep -c "/set $name\b" "$TMP/help")" -eq 1 ] || bad="$bad /set-$name"
done
if [ -z "$bad" ]; then pass "chat --help lists each parameter once"; else fail "chat --help lists each parameter once" "$bad"; fi
has "--help names ollama's aliases" '/set temperature, temp' "$TMP/help"
has "--help gives defaults and ranges" '--top-p P .*default 0.95, range 0 to 1' "$TMP/help"

expect_status "--top-p out of range" 2 "$LT" run -m none.gguf -p x --top-p 1.5
has "--top-p range error names the parameter and range" \
	'^llamaterm run: --top-p: top_p: 1.5 is out of range \(0 to 1\)$' "$TMP/err"
expect_status "--temp=-1 out of range" 2 "$LT" chat -m none.gguf --temp=-1
has "--temp range error names temperature" 'temperature: -1 is out of range \(0 or more\)' "$TMP/err"
expect_status "-n not a number" 2 "$LT" run -m none.gguf -p x -n many
has "-n error names n_predict" "n_predict: 'many' is not a whole number" "$TMP/err"
expect_status "--predict is llama.cpp's -n" 1 "$LT" run -m "$TMP/none.gguf" -p x --predict 3

need_shared params || exit 0
M=$MODELS/stories260K.gguf
export XDG_DATA_HOME=$TMP/data XDG_STATE_HOME=$TMP/state XDG_CONFIG_HOME=$TMP/config
chat() { "$LT" chat -m "$M" --template raw -t 1 --no-autosave "$@"; }
printf '/set temperature 0.5\n/show\n/set temp 0.25\n/show\n/set num_predict 7\n/set top_p 3\n/set num_ctx 64\n' |
	chat >"$TMP/chat" 2>&1
shows=$(grep -E '^ +temperature = ' "$TMP/chat" | tr -d ' ' | tr '\n' ' ')
if [ "$shows" = "temperature=0.5 temperature=0.25 " ]; then
	pass "/set temperature and /set temp set the same field"
else
	fail "/set temperature and /set temp set the same field" "$shows / $(head -c 300 "$TMP/chat")"
fi
has "/set num_predict sets n_predict" '^n_predict = 7$' "$TMP/chat"
has "/set range error names the parameter and range" '/set top_p: 3 is out of range \(0 to 1\)' "$TMP/chat"
has "/set num_ctx says it is chosen at start" '/set num_ctx: n_ctx is chosen when the chat starts \(-c N\)' "$TMP/chat"
