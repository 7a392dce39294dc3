# Shell tests of `chat --remote` and `run --remote` in line mode against a
# scripted OpenAI-compatible server (tests/cli/fake_openai.py) in the stream
# shapes of llama-server, vLLM and ollama, and against `llamaterm serve`:
# replies, reasoning, stop strings, /undo, /regen, /system and /set as
# request fields, the API key, a stream cut off, an error event, 401, a
# refused connection, stopping with Ctrl-C, and greedy text equal to local
# `run --temp 0`. Loopback only; every wait is bounded.
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

LT=$LLAMATERM
export XDG_DATA_HOME=$TMP/data XDG_STATE_HOME=$TMP/state XDG_CONFIG_HOME=$TMP/config
unset LLAMATERM_API_KEY

if ! command -v python3 >/dev/null 2>&1; then
	skip "remote" "needs python3"
	exit 0
fi

PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

# fake NAME ARGS...: starts the scripted server; its URL in $URL, its
# request log in $LOG.
fake() {
	local name=$1 i
	shift
	python3 "$(dirname "$0")/fake_openai.py" "$TMP/$name.port" "$@" &
	PIDS+=($!)
	for i in $(seq 100); do
		[ -s "$TMP/$name.port" ] && break
		sleep 0.1
	done
	URL=http://127.0.0.1:$(cat "$TMP/$name.port")
	LOG=$TMP/$name.port.log
}

# chat NAME ARGS... <<< LINES: a chat through a pipe (20 s at most).
chat() {
	local name=$1
	shift
	timeout 20 "$LT" chat "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
	echo $? >"$TMP/$name.rc"
}

same() { # NAME FILE TEXT: FILE is exactly TEXT
	if [ "$(cat "$2")" = "$3" ]; then pass "$1"; else fail "$1" "got: $(head -c 300 "$2")"; fi
}

for shape in llama vllm ollama; do
	fake "$shape" --shape "$shape"
	printf 'hello\nTHINK twice\n' | chat "$shape" --remote "$URL"
	same "remote_${shape}_replies" "$TMP/$shape.out" "You said: hello.
You said: THINK twice."
	same "remote_${shape}_exit" "$TMP/$shape.rc" 0
done
has remote_reasoning_apart '^Let me think\.' "$TMP/llama.err"
has remote_model_from_v1_models '"model": "org/model-vllm"' "$TMP/vllm.port.log"

fake main --shape llama
printf 'TAGS one\n' | chat tags --remote "$URL"
same remote_think_tags_split "$TMP/tags.out" "You said: TAGS one."
has remote_think_tags_to_stderr 'hidden thought' "$TMP/tags.err"

printf 'one\ntwo\n/undo\nthree\n/regen\n' | chat turns --remote "$URL" -m my-model
same remote_undo_regen "$TMP/turns.out" "You said: one.
You said: two.
You said: three.
You said: three."
last=$(tail -n 1 "$LOG")
case $last in
*'"messages": [{"role": "user", "content": "one"}, {"role": "assistant", "content": "You said: one."}, {"role": "user", "content": "three"}]'*)
	pass remote_regen_resends_transcript ;;
*) fail remote_regen_resends_transcript "$last" ;;
esac
case $last in *'"model": "my-model"'*) pass remote_model_option ;; *) fail remote_model_option "$last" ;; esac

printf '/system Be brief.\n/set temp 0.5\n/set top_k 7\n/set n_predict 2\n/set seed 42\n/set presence_penalty 0.25\n/stop add said:\nhi\n' |
	chat params --remote "$URL" --in-suffix ' please'
last=$(tail -n 1 "$LOG")
for want in '"role": "system", "content": "Be brief."' '"content": "hi please"' '"temperature": 0.5' \
	'"top_k": 7' '"max_tokens": 2' '"seed": 42' '"presence_penalty": 0.25' '"stop": \["said:"\]' \
	'"stream": true'; do
	if printf '%s' "$last" | grep -qE -- "$want"; then pass "remote_request_field $want"; else
		fail "remote_request_field $want" "$last"; fi
done
# The fake ignores "stop": the stop string is cut here, as for a local reply.
same remote_stop_string "$TMP/params.out" "You "

printf 'CUT here\nagain\n' | chat cut --remote "$URL"
has remote_cut_off_told 'remote: http://127\.0\.0\.1:[0-9]+/v1/chat/completions: the stream was cut off' "$TMP/cut.err"
has remote_cut_off_keeps_text '^You said: ' "$TMP/cut.out"
has remote_chat_goes_on '^You said: again\.$' "$TMP/cut.out"
printf 'ERROR\n' | chat err --remote "$URL"
MAIN=$URL
has remote_error_event 'the server reported an error: the model crashed' "$TMP/err.err"

fake keyed --shape vllm --key sekrit
printf 'hello\n' | chat nokey --remote "$URL"
has remote_401 "remote: $URL/v1/chat/completions: HTTP 401: Invalid API Key" "$TMP/nokey.err"
same remote_401_exit "$TMP/nokey.rc" 1
printf 'hello\n' | chat key --remote "$URL" --api-key sekrit
same remote_api_key "$TMP/key.out" "You said: hello."
printf 'hello\n' | LLAMATERM_API_KEY=sekrit chat envkey --remote "$URL/v1/"
same remote_api_key_env "$TMP/envkey.out" "You said: hello."

# A port nothing listens on: take one and close it.
dead=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
printf 'hello\nagain\n' | chat refused --remote "http://127.0.0.1:$dead"
n=$(grep -c "remote: http://127.0.0.1:$dead/v1/chat/completions: connection refused" "$TMP/refused.err")
if [ "$n" = 2 ]; then pass remote_refused_one_line_each; else fail remote_refused_one_line_each "$(cat "$TMP/refused.err")"; fi
expect_status "run --remote refused exits 1" 1 "$LT" run --remote "http://127.0.0.1:$dead" -p hi
has remote_run_refused "connection refused" "$TMP/err"
expect_status "--remote ftp:// exits 2" 2 "$LT" run --remote ftp://x -p hi

expect_status "run --remote" 0 "$LT" run --remote "$MAIN" -p "Once"
same remote_run_text "$TMP/out" " and then"

# Ctrl-C stops the request at once: the server would tick for a minute.
# (No timeout(1) around it: it would take the signal itself. A watchdog
# ends it if the stop does not.)
"$LT" run --remote "$MAIN" -p SLOW >"$TMP/slow.out" 2>"$TMP/slow.err" &
rp=$!
(sleep 30; kill -9 "$rp" 2>/dev/null) &
dog=$!
for i in $(seq 50); do
	grep -q tick "$TMP/slow.out" 2>/dev/null && break
	sleep 0.1
done
kill -INT "$rp"
wait "$rp"
st=$?
kill "$dog" 2>/dev/null
wait "$dog" 2>/dev/null
if [ "$st" = 0 ] && grep -q interrupted "$TMP/slow.err"; then pass remote_ctrl_c_stops; else
	fail remote_ctrl_c_stops "exit $st: $(cat "$TMP/slow.err")"; fi

# Against llamaterm serve: greedy text equal to the local run's.
if need_shared "remote against serve"; then
	PORT=
	for try in 1 2 3 4 5; do
		PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
		"$LT" serve -m "$MODELS/stories260K.gguf" --port "$PORT" 2>"$TMP/serve.log" &
		sp=$!
		up=
		for i in $(seq 50); do
			kill -0 "$sp" 2>/dev/null || break
			if "$LT" run --remote "http://127.0.0.1:$PORT" -p x -n 1 >/dev/null 2>&1; then up=1; break; fi
			sleep 0.2
		done
		if [ -n "$up" ]; then PIDS+=("$sp"); break; fi
		kill "$sp" 2>/dev/null; wait "$sp" 2>/dev/null
		PORT=
	done
	if [ -z "$PORT" ]; then
		fail remote_serve_started "$(cat "$TMP/serve.log")"
	else
		timeout 60 "$LT" run --remote "http://127.0.0.1:$PORT" -p "Once upon a time" --temp 0 -n 48 >"$TMP/rr.out" 2>"$TMP/rr.err"
		"$LT" run -m "$MODELS/stories260K.gguf" -p "Once upon a time" --temp 0 -n 48 >"$TMP/lr.out" 2>/dev/null
		if [ -s "$TMP/rr.out" ] && cmp -s "$TMP/rr.out" "$TMP/lr.out"; then pass remote_serve_greedy_equals_local; else
			fail remote_serve_greedy_equals_local "$(head -c 200 "$TMP/rr.out") vs $(head -c 200 "$TMP/lr.out")"; fi
		has remote_run_names_server "stories260K \\(127\\.0\\.0\\.1:$PORT\\)" "$TMP/rr.err"
		printf 'Hello\n/set temp 0\nOnce upon a time\n/undo\n' | chat served --remote "http://127.0.0.1:$PORT" -n 16
		same remote_serve_chat_exit "$TMP/served.rc" 0
		if [ "$(grep -c . "$TMP/served.out")" -ge 2 ]; then pass remote_serve_chat_replies; else
			fail remote_serve_chat_replies "$(cat "$TMP/served.out" "$TMP/served.err")"; fi
	fi
fi

# A remote chat's session keeps the server and the model name, never the
# key, and --session alone reopens it, sending the transcript again.
fake sess --shape vllm --key sekrit
printf 'first\n' | chat sess1 --remote "$URL" --api-key sekrit -m named-model --session remote-s
same remote_session_first "$TMP/sess1.out" "You said: first."
f=$XDG_DATA_HOME/llamaterm/sessions/remote-s.lts
if [ -f "$f" ] && grep -qa "$URL" "$f" && grep -qa named-model "$f" && ! grep -qa sekrit "$f"; then
	pass remote_session_keeps_endpoint_not_key; else fail remote_session_keeps_endpoint_not_key; fi
printf 'second\n' | LLAMATERM_API_KEY=sekrit chat sess2 --session remote-s
same remote_session_resumed "$TMP/sess2.out" "You said: second."
last=$(tail -n 1 "$LOG")
case $last in
*'"model": "named-model"'*'{"role": "user", "content": "first"}, {"role": "assistant", "content": "You said: first."}, {"role": "user", "content": "second"}'*)
	pass remote_session_resends_transcript ;;
*'{"role": "user", "content": "first"}, {"role": "assistant", "content": "You said: first."}, {"role": "user", "content": "second"}'*)
	fail remote_session_resends_transcript "model name lost: $last" ;;
*) fail remote_session_resends_transcript "$last" ;;
esac
"$LT" sessions >"$TMP/list.out" 2>&1
has remote_session_listed '^remote-s +named-model' "$TMP/list.out"
expect_status "chat without -m or --remote exits 2" 2 "$LT" chat
has remote_chat_needs_model 'a model is required' "$TMP/err"

# /load (and the sessions list) of a remote session in a local chat goes
# on against the session's server.
if need_shared "remote session from a local chat"; then
	printf '/load remote-s\nthird\n' | LLAMATERM_API_KEY=sekrit chat follow -m "$MODELS/stories260K.gguf"
	same remote_load_follows_server "$TMP/follow.out" "You said: third."
	has remote_load_says_so "session 'remote-s' goes on with named-model on $URL" "$TMP/follow.err"
fi
