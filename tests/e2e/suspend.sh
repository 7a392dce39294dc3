# End-to-end test of the chat's manners with the terminal, through tmux:
# Ctrl-Z suspends to an interactive shell and fg brings the screen back
# working; below the minimum size typed text is not sent blind; quitting
# after a reply prints where the session is and the command that resumes it.
. tests/lib.sh

E2E_NAME=suspend_e2e
CHAT_ARGS="-t 1 --temp 0 -n 8"
WAIT=${TUI_WAIT:-20}
. tests/tmux_lib.sh

# A shell with job control, as a user has: the chat is started from it.
tm new-session -d -s j1 -x 100 -y 24 "env -i PATH=$PATH HOME=$TMP HISTFILE=/dev/null LANG=C.UTF-8 bash --norc --noprofile -i"
sleep 0.5
tm send-keys -t j1 "PS1='sh\$ '; export TERM=xterm-256color XDG_DATA_HOME=$XDG_DATA_HOME \
XDG_STATE_HOME=$XDG_STATE_HOME XDG_CONFIG_HOME=$XDG_CONFIG_HOME; clear" Enter
tm send-keys -t j1 "$LLAMATERM chat -m $MODEL $CHAT_ARGS --session e2e-suspend" Enter
if ! wait_for j1 ' idle │'; then
	fail suspend_start "the chat did not start"
	exit 0
fi

tm send-keys -t j1 C-z
if wait_for j1 'Stopped' && wait_for j1 '^sh\$ *$'; then
	pass suspend_ctrl_z
else
	fail suspend_ctrl_z "Ctrl-Z did not give the shell back"
fi
tm send-keys -t j1 'fg' Enter
if wait_for j1 ' idle │'; then
	pass suspend_fg_redraws
else
	fail suspend_fg_redraws "fg did not bring the chat back"
fi

# Too small: the text typed is not sent.
tm resize-window -t j1 -x 40 -y 24
if wait_for j1 'typing is paused'; then
	tm send-keys -t j1 'blind text' Enter
	sleep 0.5
	tm resize-window -t j1 -x 100 -y 24
	if wait_for j1 ' idle │' && ! screen j1 | grep -q 'blind text'; then
		pass suspend_too_small_not_sent
	else
		fail suspend_too_small_not_sent "text typed while too small was sent or shown"
	fi
else
	fail suspend_too_small_not_sent "no 'too small' screen at 40 columns"
fi

# A reply, then F10 y: the shell shows the session and the resume command.
tm send-keys -t j1 'Once upon a time' Enter
wait_for j1 'tg [0-9.]+ tok/s' >/dev/null
tm send-keys -t j1 F10
wait_for j1 'Quit' 5 >/dev/null
tm send-keys -t j1 y
if wait_for j1 '^session saved: e2e-suspend \(' &&
	wait_for j1 "^resume with: llamaterm chat -m [^ ]*stories260K.gguf --session e2e-suspend$"; then
	pass suspend_quit_says_resume
else
	fail suspend_quit_says_resume "no resume hint after quitting"
fi
exit 0
