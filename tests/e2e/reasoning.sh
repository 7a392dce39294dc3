# End-to-end test of reasoning in the full-screen chat, through tmux, with
# tests/data/think.tmpl (stories260K's greedy story closes the block the
# prompt opens with the word "park"): the reasoning streams dimmed, folds
# to one line once the answer starts, F4 unfolds and folds it again, and a
# resumed session shows it folded.
. tests/lib.sh

E2E_NAME=reasoning_e2e
CHAT_ARGS="--template tests/data/think.tmpl -t 1 --temp 0 -n 24"
. tests/tmux_lib.sh
WAIT=${TUI_WAIT:-20}

THOUGHT='^  \. Every day, she went to the$'
FOLDED='^  ▸ thought for [0-9]+ tokens: \. Every day, she went to the'

start r1 --session e2e-think
if wait_for r1 ' idle │'; then pass reasoning_tui_starts; else fail reasoning_tui_starts; fi
tm send-keys -t r1 'Once upon a time' Enter
if wait_for r1 '^  with her mommy' && wait_for r1 ' idle │' && wait_for r1 "$FOLDED"; then
	if screen r1 | grep -Eq -- "$THOUGHT"; then
		fail reasoning_tui_folded "the reasoning is shown in full"
	else
		pass reasoning_tui_folded
	fi
else
	fail reasoning_tui_folded
fi

tm send-keys -t r1 F4
if wait_for r1 '^  ▾ thought for [0-9]+ tokens$' && wait_for r1 "$THOUGHT" &&
	screen r1 | grep -Eq '^  with her mommy'; then
	pass reasoning_tui_unfold
else
	fail reasoning_tui_unfold
fi
tm send-keys -t r1 F4
if wait_for r1 "$FOLDED" && ! screen r1 | grep -Eq -- "$THOUGHT"; then
	pass reasoning_tui_fold_again
else
	fail reasoning_tui_fold_again
fi

# /think off is answered in the transcript.
tm send-keys -t r1 '/think off' Enter
if wait_for r1 '^thinking: off$'; then pass reasoning_tui_think_off; else fail reasoning_tui_think_off; fi

# The help lists the key.
tm send-keys -t r1 F1
if wait_for r1 'F4 +unfold or fold the'; then pass reasoning_tui_help_key; else fail reasoning_tui_help_key; fi
tm send-keys -t r1 Escape
tm send-keys -t r1 F10
tm send-keys -t r1 y
wait_for r1 'EXITED:0' >/dev/null || fail reasoning_tui_quit

# Resumed: the reply comes back with its reasoning, folded.
start r2 --session e2e-think
if wait_for r2 ' idle │' && wait_for r2 "$FOLDED" && wait_for r2 '^  with her mommy'; then
	pass reasoning_tui_resumed
else
	fail reasoning_tui_resumed
fi
