# Resuming a session: its saved settings are the defaults, flags given on the
# command line win, are listed on one line and are saved with the session.
. tests/lib.sh
need_shared chat_resume_flags || exit 0
M=$MODELS/stories260K.gguf
export XDG_DATA_HOME=$TMP/data XDG_STATE_HOME=$TMP/state XDG_CONFIG_HOME=$TMP/config
chat() { "$LLAMATERM" chat -m "$M" -t 1 --plain "$@"; }

printf 'Once upon a time\n' | chat --template raw --temp 0.8 -n 4 --session s1 >/dev/null 2>&1

# Nothing given: the saved settings, no override line.
printf '/show\n' | chat --session s1 >/dev/null 2>"$TMP/err0"
has resume_saved_template '^template: raw$' "$TMP/err0"
has resume_saved_temp '^  temperature = 0\.8$' "$TMP/err0"
if grep -q 'overriding saved\|using .dialogue' "$TMP/err0"; then
	fail resume_no_override_line "$(grep 'overriding\|dialogue' "$TMP/err0")"
else
	pass resume_no_override_line
fi

printf '/show\n' | chat --session s1 --template alpaca --system 'Be brief.' --temp 0.3 -n 7 -r X \
	>/dev/null 2>"$TMP/err1"
has resume_override_line '^overriding saved: template alpaca, system prompt, stop string "X", n_predict 7, temperature 0\.3$' "$TMP/err1"
if [ "$(grep -c 'overriding saved' "$TMP/err1")" -eq 1 ]; then pass resume_override_one_line; else fail resume_override_one_line; fi
has resume_template_used '^template: alpaca$' "$TMP/err1"
has resume_system_used '^system: Be brief\.$' "$TMP/err1"
has resume_temp_used '^  temperature = 0\.3$' "$TMP/err1"
has resume_n_used '^  n_predict = 7$' "$TMP/err1"
has resume_stop_used '^  "X"$' "$TMP/err1"

# The overrides were saved: the next resume has them without the flags.
printf '/show\n' | chat --session s1 >/dev/null 2>"$TMP/err2"
has resume_saved_template2 '^template: alpaca$' "$TMP/err2"
has resume_saved_system2 '^system: Be brief\.$' "$TMP/err2"
has resume_saved_temp2 '^  temperature = 0\.3$' "$TMP/err2"
has resume_saved_n2 '^  n_predict = 7$' "$TMP/err2"
has resume_saved_stop2 '^  "X"$' "$TMP/err2"
