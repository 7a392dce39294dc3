# End-to-end test that no pane cuts text off, through tmux: F1's help
# and F2's values wrap within the pane at 60 and 160 columns (continuation
# rows under the value), a long number shows whole, a narrow pane's title
# drops its hints rather than a word, and at 80 columns the status bar
# keeps the template name after a reply (the speeds and names shorten
# first).
. tests/lib.sh

E2E_NAME=panes_e2e
CHAT_ARGS="-t 1 --temp 0 -n 16"
WAIT=${TUI_WAIT:-20}
. tests/tmux_lib.sh

# size NAME COLS ROWS: resizes the window and waits for the redraw.
size() {
	tm resize-window -t "$1" -x "$2" -y "$3"
	sleep 0.3
}

start p1
if ! wait_for p1 ' idle │'; then
	fail panes_start "the chat did not start"
	exit 0
fi

# F1 at 60 columns: the pane takes the width; F4's line wraps under its text.
size p1 60 24
tm send-keys -t p1 F1
if wait_for p1 'Help \(F1\)' && wait_for p1 '^ +\(reasoning models\)|^ +replies \(reasoning models\)'; then
	if screen p1 | grep -Eq '^ {6,}[a-z(]'; then
		pass panes_help_wraps_60
	else
		fail panes_help_wraps_60 "no continuation row indented under the text"
	fi
else
	fail panes_help_wraps_60 "F4's help line was cut off"
fi

# F1 at 160 columns: the pane is wider, so F2's line, which wraps at 60,
# is one row.
size p1 160 30
if wait_for p1 'F2 +show or hide the model metadata browser *$'; then
	pass panes_help_fits_160
else
	fail panes_help_fits_160 "F2's help line is not one row at 160 columns"
fi
tm send-keys -t p1 F1

# F2 at 60 columns: the architecture's long description wraps, and the
# search finds PAD's u32 with all ten digits.
size p1 60 24
tm send-keys -t p1 F2
if wait_for p1 'Model metadata \(F2\)' && wait_for p1 'DeepSeek-R1' && wait_for p1 'distills \(Llama\)\)'; then
	pass panes_meta_long_value_wraps
else
	fail panes_meta_long_value_wraps "the architecture line was cut off"
fi
tm send-keys -t p1 / && tm send-keys -t p1 'PAD token' Enter
if wait_for p1 'PAD token: +4294967295'; then
	pass panes_meta_number_whole
else
	fail panes_meta_number_whole "4294967295 was not shown whole"
fi

# At 100 columns the side pane is about 40 wide: its title keeps its name
# and drops the hints that do not fit, whole.
size p1 100 30
if wait_for p1 'Model metadata \(F2\)  / search *$'; then
	pass panes_title_drops_hints
else
	fail panes_title_drops_hints "the title was cut inside a hint"
fi
tm send-keys -t p1 F2

# At 80 columns after a reply the status bar still names the template.
size p1 80 24
tm send-keys -t p1 'Once upon a time' Enter
if wait_for p1 'tg [0-9.]+ tok/s' && wait_for p1 ' idle │.*│ dialogue │'; then
	pass panes_status_template_80
else
	fail panes_status_template_80 "the template name fell off the status bar"
fi
exit 0
