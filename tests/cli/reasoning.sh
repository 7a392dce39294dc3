# Reasoning in line mode, with tests/data/think.tmpl (its prompt opens a
# block that stories260K's greedy story closes with the word "park"):
# --reasoning show sends the block to stderr and hide drops it, stdout
# keeps the answer alone; /think and --think; the saved session keeps the
# reasoning; 'run' splits a <think> block its prompt opened.
. tests/lib.sh
need_shared reasoning || exit 0
M=$MODELS/stories260K.gguf
export XDG_DATA_HOME=$TMP/data XDG_STATE_HOME=$TMP/state XDG_CONFIG_HOME=$TMP/config
THOUGHT=". Every day, she went to the"
ANSWER="with her mommy. They saw a big"
chat() { "$LLAMATERM" chat -m "$M" --template tests/data/think.tmpl -t 1 --temp 0 "$@"; }

printf 'Once upon a time\n' | chat -n 24 --plain --no-autosave >"$TMP/out" 2>"$TMP/err"
if grep -qF "$ANSWER" "$TMP/out" && ! grep -qF "Every day" "$TMP/out"; then
	pass reasoning_answer_on_stdout
else
	fail reasoning_answer_on_stdout "stdout: $(head -c 200 "$TMP/out")"
fi
if grep -qxF "$THOUGHT" "$TMP/err"; then pass reasoning_show_stderr; else fail reasoning_show_stderr "stderr: $(head -c 300 "$TMP/err")"; fi

printf 'Once upon a time\n' | chat -n 24 --plain --no-autosave --reasoning hide >"$TMP/out" 2>"$TMP/err"
if grep -qF "$ANSWER" "$TMP/out" && ! grep -qF "Every day" "$TMP/out" "$TMP/err"; then
	pass reasoning_hide
else
	fail reasoning_hide "stdout: $(head -c 200 "$TMP/out"); stderr: $(head -c 200 "$TMP/err")"
fi

expect_status "reasoning bad value" 2 "$LLAMATERM" chat -m "$M" --plain --reasoning maybe
has "reasoning bad value names it" "--reasoning: 'maybe' is neither show nor hide" "$TMP/err"
expect_status "think bad value" 2 "$LLAMATERM" chat -m "$M" --plain --think perhaps

# /think off writes the template's empty block: no reasoning, a different reply.
printf '/think off\nOnce upon a time\n/think\n' | chat -n 12 --plain --no-autosave >"$TMP/out" 2>"$TMP/err"
if grep -q '^thinking: off$' "$TMP/err" && ! grep -qF "Every day" "$TMP/err" && [ -s "$TMP/out" ]; then
	pass reasoning_think_off
else
	fail reasoning_think_off "stdout: $(head -c 200 "$TMP/out"); stderr: $(head -c 300 "$TMP/err")"
fi
printf 'Once upon a time\n' | chat -n 12 --plain --no-autosave --think off >"$TMP/out2" 2>"$TMP/err"
if cmp -s "$TMP/out" "$TMP/out2"; then pass reasoning_think_option; else fail reasoning_think_option "--think off differs from /think off"; fi
printf '/think off\n' | "$LLAMATERM" chat -m "$M" --template deepseek-r1 -t 1 --plain --no-autosave >"$TMP/out" 2>"$TMP/err"
has "think off refused where the model always reasons" "cannot switch thinking off \(the model always reasons\)" "$TMP/err"

# The session keeps each reply's reasoning; the export shows it folded.
printf 'Once upon a time\n' | chat -n 24 --plain --session thought >/dev/null 2>&1
expect_status "reasoning session export" 0 "$LLAMATERM" sessions show thought --export "$TMP/t.md"
if grep -qF "<details><summary>Reasoning (" "$TMP/t.md" && grep -qF "$THOUGHT" "$TMP/t.md"; then
	pass reasoning_session_kept
else
	fail reasoning_session_kept "$(head -c 400 "$TMP/t.md")"
fi
# Resumed, the next message drops the earlier reasoning from the prompt and
# still answers the same way as in one process.
printf 'Once upon a time\nThe dog\n' | chat -n 24 --plain --session once 2>/dev/null | sed -n 2p >"$TMP/one"
printf 'The dog\n' | chat -n 24 --plain --session thought 2>/dev/null | tail -n 1 >"$TMP/two"
if [ -s "$TMP/one" ] && cmp -s "$TMP/one" "$TMP/two"; then
	pass reasoning_session_resume
else
	fail reasoning_session_resume "one process '$(cat "$TMP/one")', resumed '$(cat "$TMP/two")'"
fi

# run: a prompt that opens the block; stdout has only what follows "park".
"$LLAMATERM" run -m "$M" -t 1 --temp 0 -n 20 -p "$(printf 'Once upon a time\n<think>')" >"$TMP/out" 2>"$TMP/err"
if ! grep -qF "Every day" "$TMP/out" && grep -qF "Every day" "$TMP/err"; then
	pass reasoning_run_stderr
else
	fail reasoning_run_stderr "stdout: $(head -c 200 "$TMP/out")"
fi
"$LLAMATERM" run -m "$M" -t 1 --temp 0 -n 20 --reasoning hide -p "$(printf 'Once upon a time\n<think>')" >"$TMP/out" 2>"$TMP/err"
if ! grep -qF "Every day" "$TMP/out" "$TMP/err"; then pass reasoning_run_hide; else fail reasoning_run_hide; fi
