# End-to-end tests of the full-screen chat, driven through tmux: a reply
# streams in with the speeds in the status bar, Esc stops a reply, the
# metadata browser shows the model summary and finds a key, resizing while generating reflows, a saved
# session comes back with --session, Ctrl-C at an empty prompt asks first.
#
# Waits poll capture-pane with a deadline instead of sleeping a fixed time.
. tests/lib.sh

E2E_NAME=tui_e2e
CHAT_ARGS=
. tests/tmux_lib.sh
# Seconds any single wait may take.
WAIT=${TUI_WAIT:-20}

# reply_text NAME: true when the last reply has text under its label.
reply_text() { screen "$1" | sed -n '/^Assistant/{n;p}' | tail -n 1 | grep -q '[A-Za-z]'; }

# wait_reply NAME: waits until the reply being streamed shows text.
wait_reply() { poll "$1" "reply text" "$WAIT" reply_text "$1"; }

# ---- a reply streams in; the status bar shows the speeds ----
start s1 -n 40 --session e2e-one
if wait_for s1 ' idle │'; then pass tui_starts; else fail tui_starts; fi
tm send-keys -t s1 'Once upon a time' Enter
if wait_for s1 '^  Once upon a time' && wait_for s1 '^Assistant' &&
	wait_for s1 'tg [0-9.]+ tok/s' && wait_for s1 ' idle │'; then
	if reply_text s1; then
		pass tui_reply_streams
	else
		fail tui_reply_streams "no reply text under the label"
	fi
else
	fail tui_reply_streams
fi

# ---- F2 shows the summary of `info`, finds llama.block_count with / ----
tm send-keys -t s1 F2
if wait_for s1 'Model metadata'; then
	# The derived figures come first, above the keys.
	if wait_for s1 'parameters: +292,800 \(292\.8K\)' && wait_for s1 'KV heads: +4( |$)'; then
		pass tui_meta_summary
	else
		fail tui_meta_summary
	fi
	tm send-keys -t s1 '/'
	tm send-keys -t s1 'block_count'
	tm send-keys -t s1 Enter
	if wait_for s1 "'block_count': n for the next match" && wait_for s1 'llama\.block_count = 5'; then
		pass tui_meta_search
	else
		fail tui_meta_search
	fi
	# The summary is searchable too: the KV-cache size sits below the
	# first screen, so finding it scrolls the list back up to it.
	tm send-keys -t s1 '/'
	tm send-keys -t s1 -l 'KV cache (f16)'
	tm send-keys -t s1 Enter
	if wait_for s1 "'KV cache \(f16\)': n for the next match" &&
		wait_for s1 'KV cache \(f16\): +640 B/token'; then
		pass tui_meta_summary_search
	else
		fail tui_meta_summary_search
	fi
	tm send-keys -t s1 Escape
	wait_gone s1 'Model metadata' >/dev/null
else
	fail tui_meta_search "F2 did not open the browser"
fi

# ---- save, quit with confirmation, restart with the session ----
tm send-keys -t s1 '/save e2e-one' Enter
if wait_for s1 'saved session e2e-one'; then pass tui_save; else fail tui_save; fi
tm send-keys -t s1 C-c
if wait_for s1 'Quit llamaterm\? \(y/n\)'; then
	# Any other key cancels.
	tm send-keys -t s1 n
	if wait_gone s1 'Quit llamaterm' && ! screen s1 | grep -q EXITED; then
		tm send-keys -t s1 C-c
		wait_for s1 'Quit llamaterm' >/dev/null
		tm send-keys -t s1 y
		if wait_for s1 'EXITED:0'; then
			pass tui_ctrl_c_confirms
		else
			fail tui_ctrl_c_confirms "did not exit after y"
		fi
	else
		fail tui_ctrl_c_confirms "n did not cancel"
	fi
else
	fail tui_ctrl_c_confirms "no question at an empty prompt"
fi
# The terminal is restored: the shell's output is on a normal screen.
if screen s1 | grep -q 'EXITED:0' && ! screen s1 | grep -q ' idle │'; then
	pass tui_terminal_restored
else
	fail tui_terminal_restored
fi

start s2 -n 40 --session e2e-one
if wait_for s2 '^  Once upon a time' && wait_for s2 '^Assistant' && wait_for s2 'e2e-one'; then
	pass tui_session_restored
else
	fail tui_session_restored
fi
# ---- the sessions list asks the worker to rename and delete ----
# The open session is renamed by saving it under the new name, which the
# status bar then shows; deleting it says the next save writes it again.
tm send-keys -t s2 F3
if wait_for s2 'Sessions \(F3\)' && wait_for s2 'e2e-one .*turns'; then
	tm send-keys -t s2 r
	wait_for s2 'new name: e2e-one' >/dev/null
	tm send-keys -t s2 C-u
	tm send-keys -t s2 -l 'e2e-two'
	tm send-keys -t s2 Enter
	if wait_for s2 'renamed e2e-one to e2e-two' && wait_for s2 'e2e-two .*turns' &&
		! screen s2 | grep -q 'e2e-one .*turns'; then
		pass tui_session_rename
	else
		fail tui_session_rename
	fi
	tm send-keys -t s2 d
	wait_for s2 "Delete session 'e2e-two'\? \(y/n\)" >/dev/null
	tm send-keys -t s2 y
	if wait_for s2 'deleted session e2e-two \(it is open' && wait_for s2 'no saved sessions yet'; then
		pass tui_session_delete
	else
		fail tui_session_delete
	fi
else
	fail tui_session_rename "no sessions list"
	fail tui_session_delete "no sessions list"
fi
tm send-keys -t s2 F10
wait_for s2 'Quit llamaterm' >/dev/null && tm send-keys -t s2 y
wait_for s2 'EXITED:0' >/dev/null

# ---- Esc stops a long reply; the partial reply stays ----
start s3 -n 100000
wait_for s3 ' idle │' >/dev/null
tm send-keys -t s3 'Tell me a very long story' Enter
if wait_for s3 'generating │'; then
	# Let some text arrive first.
	wait_reply s3
	tm send-keys -t s3 Escape
	# A loaded machine may have streamed a screenful before the key was
	# read, so look for the reply's header from the top of the transcript.
	if wait_for s3 ' idle │' 5 && { wait_for s3 'Assistant  \(cut short\)' 2 ||
		{ tm send-keys -t s3 Home && wait_for s3 'Assistant  \(cut short\)' 5; }; }; then
		tm send-keys -t s3 End
		pass tui_esc_stops
	else
		fail tui_esc_stops
	fi
else
	fail tui_esc_stops "never generating"
fi

# ---- resizing while generating reflows everything ----
tm send-keys -t s3 'Another long story please' Enter
if wait_for s3 'generating │'; then
	tm resize-window -t s3 -x 70 -y 20
	ok=1
	wait_for s3 'generating │|idle │' >/dev/null || ok=0
	# Every line fits the new width and the status bar sits above the input.
	if [ "$(screen s3 | wc -L)" -gt 70 ]; then
		echo "--- a line is wider than 70 columns:"; screen s3
		ok=0
	fi
	screen s3 | tail -n 1 | grep -q '^>'  || { echo "--- no prompt on the last row"; screen s3; ok=0; }
	tm resize-window -t s3 -x 50 -y 12
	wait_for s3 'terminal too small' >/dev/null || ok=0
	tm resize-window -t s3 -x 100 -y 30
	wait_for s3 '(generating|idle) │' >/dev/null || ok=0
	if [ $ok = 1 ]; then pass tui_resize_while_generating; else fail tui_resize_while_generating; fi
	tm send-keys -t s3 Escape
else
	fail tui_resize_while_generating "never generating"
fi

# ---- SIGTERM restores the terminal and exits ----
# The pane's shell runs the program as its child.
shell=$(tm display-message -p -t s3 '#{pane_pid}')
pid=$(pgrep -P "$shell" -x llamaterm || true)
if [ -n "$pid" ]; then
	kill -TERM "$pid"
	if wait_for s3 'EXITED:' 10; then pass tui_sigterm; else fail tui_sigterm; fi
else
	skip tui_sigterm "could not find the process"
fi
exit 0
