# A "context full" notice during a reply comes after the reply, never inside
# it: in line mode the notice has its own line, in the full-screen chat the
# reply's text stays under the reply (a small context, -c 64).
. tests/lib.sh

E2E_NAME=ctx_notice_e2e
CHAT_ARGS="--template raw -t 1 -c 64 --temp 0 -n 30 --no-autosave"
. tests/tmux_lib.sh
WAIT=${TUI_WAIT:-20}

# ---- line mode, from a pipe ----
printf 'Once upon a time\nThe dog\nThe cat\n' |
	"$LLAMATERM" chat -m "$MODEL" $CHAT_ARGS >"$TMP/line" 2>&1
if ! grep -q 'context full' "$TMP/line"; then
	fail ctx_notice_line "no context shift happened: $(head -c 300 "$TMP/line")"
elif grep 'context full' "$TMP/line" | grep -qv '^\[context full.*\]$'; then
	fail ctx_notice_line "a notice shares a line with reply text: $(grep 'context full' "$TMP/line" | head -n 2)"
else
	pass ctx_notice_line
fi

# ---- the full-screen chat ----
wait_for() {
	local deadline=$((SECONDS + WAIT))
	while [ $SECONDS -lt $deadline ]; do
		tm capture-pane -p -J -S - -t "$1" | grep -Eq -- "$2" && return 0
		sleep 0.1
	done
	return 1
}
start c1
wait_for c1 ' idle │' || fail ctx_notice_tui_start
for msg in 'Once upon a time' 'The dog' 'The cat'; do
	tm send-keys -t c1 -l "$msg"
	tm send-keys -t c1 Enter
	sleep 0.3
	wait_for c1 ' idle │'
done
tm capture-pane -p -J -S - -t c1 >"$TMP/screen"
if ! grep -q 'context full' "$TMP/screen"; then
	fail ctx_notice_tui "no notice shown: $(tail -n 20 "$TMP/screen")"
else
	# What follows a notice is the next turn (or nothing), not the rest of the reply.
	bad=$(awk '/^context full/ { if ($0 !~ /\)$/) print; getline nxt; if (nxt != "" && nxt != "You") print nxt }' "$TMP/screen")
	if [ -z "$bad" ]; then pass ctx_notice_tui; else fail ctx_notice_tui "reply text after a notice: $bad"; fi
fi
