# End-to-end test of the full-screen chat on a remote engine (chat --remote,
# through tmux) against the scripted server tests/cli/fake_openai.py: the
# status bar names the model and the server, a reply streams, F2 shows what
# /v1/models and /props say instead of GGUF metadata, Esc stops a slow
# reply at once and the chat goes on, a refused connection is one line in
# the transcript, and /save keeps the session.
. tests/lib.sh

E2E_NAME=remote_e2e
CHAT_ARGS=
WAIT=${TUI_WAIT:-20}
. tests/tmux_lib.sh
if ! command -v python3 >/dev/null 2>&1; then
	skip "$E2E_NAME" "needs python3"
	exit 0
fi

python3 tests/cli/fake_openai.py "$TMP/port" &
FAKE=$!
trap 'tm kill-server >/dev/null 2>&1; kill $FAKE 2>/dev/null; wait $FAKE 2>/dev/null; rm -rf "$TMP"' EXIT
for i in $(seq 100); do
	[ -s "$TMP/port" ] && break
	sleep 0.1
done
PORT=$(cat "$TMP/port")
URL=http://127.0.0.1:$PORT

start_chat r1 --remote "$URL"
if wait_for r1 ' idle │' && wait_for r1 "stories-remote @ 127\\.0\\.0\\.1:$PORT"; then
	pass remote_tui_status_names_server
else
	fail remote_tui_status_names_server
	exit 0
fi

tm send-keys -t r1 'hello there' Enter
if wait_for r1 'You said: hello there\.' && wait_for r1 'tg [0-9.]+ tok/s'; then
	pass remote_tui_reply
else
	fail remote_tui_reply
fi

tm send-keys -t r1 F2
if wait_for r1 'Remote model' && wait_for r1 '"id": "stories-remote"' && wait_for r1 '"n_ctx": 4096'; then
	pass remote_tui_f2_shows_server_models
else
	fail remote_tui_f2_shows_server_models
fi
tm send-keys -t r1 Escape
wait_gone r1 'Remote model' >/dev/null

# The server would tick for a minute: Esc ends the request at once.
tm send-keys -t r1 'SLOW please' Enter
if wait_for r1 'tick tick' && tm send-keys -t r1 Escape && wait_for r1 ' idle │'; then
	pass remote_tui_esc_stops
else
	fail remote_tui_esc_stops
fi
tm send-keys -t r1 'after' Enter
if wait_for r1 'You said: after\.'; then pass remote_tui_goes_on; else fail remote_tui_goes_on; fi
tm send-keys -t r1 '/save remote-tui' Enter
if wait_for r1 'saved session remote-tui'; then pass remote_tui_save; else fail remote_tui_save; fi

# Nothing listens there: one line in the transcript, and the chat goes on.
dead=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
start_chat r2 --remote "http://127.0.0.1:$dead"
wait_for r2 ' idle │' >/dev/null
tm send-keys -t r2 'anyone' Enter
if wait_for r2 "remote: http://127\\.0\\.0\\.1:$dead/v1/chat/completions: connection refused" &&
	wait_for r2 ' idle │'; then
	pass remote_tui_refused_line
else
	fail remote_tui_refused_line
fi
