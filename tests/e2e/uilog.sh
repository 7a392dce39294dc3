# The full-screen chat's log file: created 0600 (an older, wider one is
# narrowed), holding no message text unless --verbose.
. tests/lib.sh

E2E_NAME=uilog_e2e
CHAT_ARGS="-n 8 -t 1 --no-autosave"
. tests/tmux_lib.sh
WAIT=${TUI_WAIT:-20}
LOG=$XDG_STATE_HOME/llamaterm/llamaterm.log

# wait_for NAME REGEX: true once the screen matches.
wait_for() {
	local deadline=$((SECONDS + WAIT))
	while [ $SECONDS -lt $deadline ]; do
		tm capture-pane -p -t "$1" | grep -Eq -- "$2" && return 0
		sleep 0.1
	done
	return 1
}

# chat NAME ARGS...: one message and /quit in a full-screen chat.
chat() {
	local name=$1
	shift
	start "$name" "$@"
	wait_for "$name" ' idle │' || { fail "uilog_$name" "no idle status"; return 1; }
	tm send-keys -t "$name" -l "Once upon a secret$name"
	tm send-keys -t "$name" Enter
	wait_for "$name" '^Assistant' && wait_for "$name" ' idle │'
	tm send-keys -t "$name" -l "/system hidden$name"
	tm send-keys -t "$name" Enter
	tm send-keys -t "$name" -l /quit
	tm send-keys -t "$name" Enter
	wait_for "$name" 'EXITED:0' || fail "uilog_$name" "did not quit"
}

chat quiet
mode=$(stat -c %a "$LOG" 2>/dev/null)
[ "$mode" = 600 ] && pass uilog_created_0600 || fail uilog_created_0600 "mode $mode"
if [ -s "$LOG" ] && ! grep -q 'secretquiet\|hiddenquiet' "$LOG"; then
	pass uilog_no_text
else
	fail uilog_no_text "$(grep 'input' "$LOG" | head -n 3)"
fi
grep -q 'input: /system' "$LOG" && pass uilog_names_commands || fail uilog_names_commands

chmod 644 "$LOG"
chat loud --verbose
mode=$(stat -c %a "$LOG")
[ "$mode" = 600 ] && pass uilog_narrowed_0600 || fail uilog_narrowed_0600 "mode $mode"
grep -q 'secretloud' "$LOG" && pass uilog_verbose_text || fail uilog_verbose_text
