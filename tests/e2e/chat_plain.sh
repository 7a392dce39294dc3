# End-to-end tests of the line-mode chat on a terminal (chat --plain under
# tmux): a reply streams, Ctrl-C stops a reply and returns to the prompt,
# Ctrl-C at an empty prompt asks before quitting (no keeps the chat, text
# typed is only cleared), /help lists the commands, /save NAME and /quit,
# a restart with --session NAME shows the transcript again, and the
# readline history is written under $XDG_STATE_HOME/llamaterm/history.
#
# Waits poll capture-pane with a deadline instead of sleeping a fixed time.
. tests/lib.sh

E2E_NAME=chat_plain_e2e
CHAT_ARGS="--plain -t 1"
. tests/tmux_lib.sh
# Seconds any single wait may take.
WAIT=${CHAT_WAIT:-20}

# The whole pane, scrollback included (wrapped lines joined), without
# trailing spaces or trailing blank lines.
screen() {
	tm capture-pane -p -J -S - -t "$1" | sed -e 's/[[:space:]]*$//' |
		sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'
}
last_line() { screen "$1" | tail -n 1; }
count() { screen "$1" | grep -Ec -- "$2"; }

prompt_shown() { [ "$(last_line "$1")" = ">" ] && [ "$(count "$1" '^> ?')" -ge "$2" ]; }
reply_shown() { screen "$1" | sed -n "/^> $2\$/{n;p;q}" | grep -q '[a-z]'; }

# wait_prompt NAME [N]: true once the last line is an empty prompt and at
# least N prompts have been shown.
wait_prompt() { poll "$1" "an empty prompt" "$WAIT" prompt_shown "$1" "${2:-1}"; }
# wait_reply NAME MESSAGE: true once the line after "> MESSAGE" has text.
wait_reply() { poll "$1" "a reply to '$2'" "$WAIT" reply_shown "$1" "$2"; }

# ---- a reply streams; the speeds follow on their own line ----
start p1 -n 200 -s 7
if wait_for p1 '^Type a message' && wait_prompt p1 1; then pass chat_plain_starts; else fail chat_plain_starts; fi
tm send-keys -t p1 'Once upon a time' Enter
if wait_reply p1 'Once upon a time' && wait_for p1 '^\[[0-9]+ prompt tokens, .* generated' &&
	wait_prompt p1 2; then
	pass chat_plain_reply
else
	fail chat_plain_reply
fi

# ---- Ctrl-C during a reply stops it; the prompt comes back ----
tm send-keys -t p1 '/set n_predict -1' Enter
wait_for p1 '^n_predict = -1' >/dev/null
wait_prompt p1 3 >/dev/null
tm send-keys -t p1 'Tell me a long story' Enter
if wait_reply p1 'Tell me a long story'; then
	tm send-keys -t p1 C-c
	if wait_for p1 '^\[stopped\]' && wait_prompt p1 4 && ! screen p1 | grep -q EXITED; then
		pass chat_plain_ctrl_c_stops
	else
		fail chat_plain_ctrl_c_stops
	fi
else
	fail chat_plain_ctrl_c_stops "no reply text"
fi
tm send-keys -t p1 '/set n_predict 200' Enter
wait_prompt p1 5 >/dev/null

# ---- Ctrl-C at an empty prompt asks; "n" keeps the chat ----
tm send-keys -t p1 C-c
if wait_for p1 '^Quit\? \[y/N\]'; then
	tm send-keys -t p1 n Enter
	if wait_prompt p1 6 && ! screen p1 | grep -q EXITED; then
		pass chat_plain_ctrl_c_asks
	else
		fail chat_plain_ctrl_c_asks "n did not keep the chat"
	fi
else
	fail chat_plain_ctrl_c_asks "no question at an empty prompt"
fi

# ---- Ctrl-C with text typed only clears the line ----
tm send-keys -t p1 'half a thought'
wait_for p1 '^> half a thought$' >/dev/null
tm send-keys -t p1 C-c
if wait_for p1 '^> half a thought\^C$' && wait_prompt p1 7 &&
	[ "$(count p1 '^Quit\?')" -eq 1 ]; then
	pass chat_plain_ctrl_c_clears_line
else
	fail chat_plain_ctrl_c_clears_line
fi

# ---- /help lists the commands ----
tm send-keys -t p1 '/help' Enter
if wait_for p1 '^  /stop add TEXT \| rm TEXT \| list ' && wait_for p1 '^  /quit ' &&
	wait_prompt p1 8; then
	pass chat_plain_help
else
	fail chat_plain_help
fi

# ---- /save NAME, then /quit ----
tm send-keys -t p1 '/save e2e-plain' Enter
if wait_for p1 "^saved session 'e2e-plain'"; then pass chat_plain_save; else fail chat_plain_save; fi
wait_prompt p1 9 >/dev/null
tm send-keys -t p1 '/quit' Enter
if wait_for p1 '^EXITED:0$'; then pass chat_plain_quit; else fail chat_plain_quit; fi

# ---- the history file ----
hist=$XDG_STATE_HOME/llamaterm/history
if [ -f "$hist" ] && grep -qx 'Once upon a time' "$hist" && grep -qx '/save e2e-plain' "$hist" &&
	! grep -q 'half a thought' "$hist"; then
	pass chat_plain_history_file
else
	fail chat_plain_history_file "$(cat "$hist" 2>&1)"
fi

# ---- a restart with --session shows the transcript; Up recalls history ----
start p2 -n 200 -s 7 --session e2e-plain
if wait_for p2 '^> Once upon a time$' && wait_for p2 '^> Tell me a long story$' &&
	wait_for p2 '^Type a message' && wait_prompt p2 3; then
	pass chat_plain_session_restored
else
	fail chat_plain_session_restored
fi
tm send-keys -t p2 Up
if wait_for p2 '^> /quit$' 5; then pass chat_plain_history_recall; else fail chat_plain_history_recall; fi
tm send-keys -t p2 C-u
# Ctrl-C, then "y", quits.
wait_prompt p2 3 >/dev/null
tm send-keys -t p2 C-c
wait_for p2 '^Quit\? \[y/N\]' >/dev/null
tm send-keys -t p2 y Enter
if wait_for p2 '^EXITED:0$'; then pass chat_plain_ctrl_c_quits; else fail chat_plain_ctrl_c_quits; fi
exit 0
