# Shell tests of `llamaterm serve`: every endpoint over HTTP with curl, the
# greedy text equal to `llamaterm run`'s, Server-Sent Events read by curl
# and by Python's http.client, the error statuses, --api-key, a client that
# disconnects mid-stream, and SIGTERM. Every curl has a timeout.
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

LT=$LLAMATERM
STORIES=$MODELS/stories260K.gguf

expect_status "serve --help" 0 "$LT" serve --help
has "serve --help shows usage" '^usage: llamaterm serve' "$TMP/out"
expect_status "serve without -m exits 2" 2 "$LT" serve
expect_status "serve --host that is no address exits 2" 2 "$LT" serve -m "$TMP/x.gguf" --host nowhere
has "the bad --host is named" "--host 'nowhere'" "$TMP/err"
expect_status "serve --template that does not exist exits 1" 1 "$LT" serve -m "$STORIES" --template no-such-template --port 1
expect_status "serve --port 0 exits 2" 2 "$LT" serve -m "$TMP/x.gguf" --port 0

if ! command -v curl >/dev/null 2>&1 || ! command -v python3 >/dev/null 2>&1; then
	skip "serve over HTTP" "needs curl and python3"
	exit 0
fi
need_shared "serve over HTTP" || exit 0

PID=
stop_server() {
	[ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	PID=
}
trap 'stop_server; rm -rf "$TMP"' EXIT

# start_server LOG ARGS...: starts serve on a free loopback port (a few
# tries: another process may take the port first) and waits for /health.
start_server() {
	local log=$1 try i
	shift
	for try in 1 2 3 4 5; do
		PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
		"$LT" serve -m "$STORIES" --port "$PORT" "$@" 2>"$log" &
		PID=$!
		for i in $(seq 50); do
			kill -0 "$PID" 2>/dev/null || break
			if curl -s -m 2 -o /dev/null "http://127.0.0.1:$PORT/health" -H "Authorization: Bearer ${KEY:-}"; then
				URL=http://127.0.0.1:$PORT
				return 0
			fi
			sleep 0.2
		done
		stop_server
	done
	return 1
}

# req NAME STATUS METHOD PATH [BODY] [CURL ARGS...]: the response in $TMP/body.
req() {
	local name=$1 want=$2 method=$3 path=$4 body=${5:-} got
	shift 4
	[ $# -gt 0 ] && shift
	if [ -n "$body" ]; then
		got=$(curl -s -m 20 -o "$TMP/body" -w '%{http_code}' -X "$method" "$@" \
			-H 'Content-Type: application/json' --data-binary "$body" "$URL$path")
	else
		got=$(curl -s -m 20 -o "$TMP/body" -w '%{http_code}' -X "$method" "$@" "$URL$path")
	fi
	if [ "$got" = "$want" ]; then pass "$name"; else fail "$name" "status $got, wanted $want: $(head -c 200 "$TMP/body")"; fi
}

# jq_check NAME PYTHON-EXPR: the expression over j (the parsed $TMP/body) is true.
jq_check() {
	if python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' \
		"$TMP/body" "$2" "${3:-}" 2>/dev/null; then pass "$1"; else fail "$1" "$(head -c 300 "$TMP/body")"; fi
}

if ! start_server "$TMP/log" -c 4096; then
	fail "serve starts and answers /health" "$(head -c 300 "$TMP/log")"
	exit 0
fi
pass "serve starts and answers /health"

req "GET /health" 200 GET /health
jq_check "/health says ok" 'j == {"status": "ok"}'
req "GET /v1/models" 200 GET /v1/models
jq_check "/v1/models lists the model" 'j["object"] == "list" and j["data"][0]["id"] == "stories260K"'

want=$("$LT" run -m "$STORIES" --temp 0 -n 16 -p "Once upon a time" 2>/dev/null)
req "POST /v1/completions" 200 POST /v1/completions \
	'{"prompt":"Once upon a time","temperature":0,"max_tokens":16}'
got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["choices"][0]["text"])' "$TMP/body")
if [ -n "$want" ] && [ "$got" = "$want" ]; then
	pass "greedy /v1/completions equals llamaterm run"
else
	fail "greedy /v1/completions equals llamaterm run" "got '$got', run gave '$want'"
fi
jq_check "completion: length, usage, object" 'j["choices"][0]["finish_reason"] == "length" and j["usage"] == {"prompt_tokens": 5, "completion_tokens": 16, "total_tokens": 21, "prompt_tokens_details": {"cached_tokens": 0}} and j["object"] == "text_completion" and j["id"] and j["created"] > 0 and j["model"] == "stories260K"'
# The prompt cache: the same prompt again reuses all but its last token,
# a longer one what it shares; the greedy text is the same as without.
req "the same completion again" 200 POST /v1/completions \
	'{"prompt":"Once upon a time","temperature":0,"max_tokens":16}'
jq_check "a repeated prompt reuses the cache (cached_tokens 4 of 5), same text" \
	'j["usage"]["prompt_tokens_details"]["cached_tokens"] == 4 and j["choices"][0]["text"] == sys.argv[3]' "$want"
want2=$("$LT" run -m "$STORIES" --temp 0 -n 12 -p "Once upon a time, there was a little" 2>/dev/null)
req "a completion extending the last one" 200 POST /v1/completions \
	'{"prompt":"Once upon a time, there was a little","temperature":0,"max_tokens":12}'
jq_check "an extended prompt evaluates only its new tokens and gives run's text" \
	'j["usage"]["prompt_tokens_details"]["cached_tokens"] >= 5 and j["usage"]["prompt_tokens_details"]["cached_tokens"] < j["usage"]["prompt_tokens"] and j["choices"][0]["text"] == sys.argv[3]' "$want2"
if grep -qE '^POST /v1/completions 200 prompt=5 cached=4 gen=16 ' "$TMP/log"; then
	pass "the access log counts cached tokens"
else
	fail "the access log counts cached tokens" "$(tail -n 3 "$TMP/log")"
fi
req "completion with a stop string" 200 POST /v1/completions \
	'{"prompt":"Once upon a time","temperature":0,"max_tokens":16,"stop":"Lily"}'
jq_check "stop string: cut before it, finish_reason stop" 'j["choices"][0]["text"] == ", there was a little girl named " and j["choices"][0]["finish_reason"] == "stop"'
req "completion with a list of stops" 200 POST /v1/completions \
	'{"prompt":"Once upon a time","temperature":0,"max_tokens":16,"stop":["zzz","girl"]}'
jq_check "stop list: cut at the one that appears" 'j["choices"][0]["text"] == ", there was a little "'
req "seeded sampling" 200 POST /v1/completions \
	'{"prompt":"Once upon a time","temperature":1,"top_k":20,"top_p":0.9,"min_p":0.01,"seed":7,"max_tokens":12}'
cp "$TMP/body" "$TMP/seed1"
req "the same seed again" 200 POST /v1/completions \
	'{"prompt":"Once upon a time","temperature":1,"top_k":20,"top_p":0.9,"min_p":0.01,"seed":7,"max_tokens":12}'
check "the same seed gives the same text" python3 -c 'import json,sys; a,b=(json.load(open(f))["choices"][0]["text"] for f in sys.argv[1:]); sys.exit(a!=b)' "$TMP/seed1" "$TMP/body"

chat='{"messages":[{"role":"system","content":"You tell stories."},{"role":"user","content":"Hello"},{"role":"assistant","content":"Hi there"},{"role":"user","content":"Tell me a story"}],"temperature":0,"max_tokens":8}'
req "POST /v1/chat/completions" 200 POST /v1/chat/completions "$chat"
jq_check "chat: message, usage, object" 'j["object"] == "chat.completion" and j["choices"][0]["message"]["role"] == "assistant" and isinstance(j["choices"][0]["message"]["content"], str) and j["choices"][0]["finish_reason"] == "length" and j["usage"]["completion_tokens"] == 8 and j["usage"]["prompt_tokens"] > 10 and j["usage"]["total_tokens"] == j["usage"]["prompt_tokens"] + 8'
cp "$TMP/body" "$TMP/chat1"
req "the same chat again" 200 POST /v1/chat/completions "$chat"
check "a fresh conversation per request: greedy chat repeats" python3 -c 'import json,sys; a,b=(json.load(open(f))["choices"][0]["message"]["content"] for f in sys.argv[1:]); sys.exit(a!=b)' "$TMP/chat1" "$TMP/body"
jq_check "the repeated chat reuses its prompt from the cache" \
	'j["usage"]["prompt_tokens_details"]["cached_tokens"] == j["usage"]["prompt_tokens"] - 1'
# The conversation carried on: the earlier turns come from the cache.
reply1=$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["choices"][0]["message"]["content"]))' "$TMP/chat1")
chat2="{\"messages\":[{\"role\":\"system\",\"content\":\"You tell stories.\"},{\"role\":\"user\",\"content\":\"Hello\"},{\"role\":\"assistant\",\"content\":\"Hi there\"},{\"role\":\"user\",\"content\":\"Tell me a story\"},{\"role\":\"assistant\",\"content\":$reply1},{\"role\":\"user\",\"content\":\"More\"}],\"temperature\":0,\"max_tokens\":8}"
req "a chat that carries on" 200 POST /v1/chat/completions "$chat2"
cp "$TMP/body" "$TMP/chat2"
jq_check "a chat that carries on reuses the earlier turns" \
	'j["usage"]["prompt_tokens_details"]["cached_tokens"] > 20'

# logprobs: one entry per sampled token with its bytes and top alternatives.
req "chat with logprobs" 200 POST /v1/chat/completions "${chat%\}},\"logprobs\":true,\"top_logprobs\":3}"
jq_check "logprobs: token, logprob, bytes, top_logprobs per token (greedy: the top one)" \
	'(lambda c: len(c) == j["usage"]["completion_tokens"] and all(set(e) == {"token", "logprob", "bytes", "top_logprobs"} and e["logprob"] <= 0 and len(e["top_logprobs"]) == 3 and abs(e["top_logprobs"][0]["logprob"] - e["logprob"]) < 1e-6 and bytes(e["bytes"]).decode("utf-8", "replace") == e["token"] for e in c))(j["choices"][0]["logprobs"]["content"])'
req "top_logprobs without logprobs is 400" 400 POST /v1/chat/completions "${chat%\}},\"top_logprobs\":3}"
req "top_logprobs over 20 is 400" 400 POST /v1/chat/completions "${chat%\}},\"logprobs\":true,\"top_logprobs\":21}"
curl -s -N -m 20 -o "$TMP/sse" -H 'Content-Type: application/json' --data-binary \
	"${chat%\}},\"stream\":true,\"logprobs\":true}" "$URL/v1/chat/completions"
if python3 - "$TMP/sse" <<'PY' 2>"$TMP/py"
import json, sys
frames = [f for f in open(sys.argv[1]).read().split("\n\n") if f and f != "data: [DONE]"]
chunks = [json.loads(f[6:]) for f in frames]
assert chunks[0]["choices"][0]["delta"] == {"role": "assistant"}, chunks[0]
lp = [e for c in chunks[1:] for e in (c["choices"][0]["logprobs"] or {}).get("content", [])]
assert len(lp) == 8, len(lp)
assert all(e["top_logprobs"] == [] for e in lp)
PY
then
	pass "a chat stream starts with a role-only chunk and carries logprobs"
else
	fail "a chat stream starts with a role-only chunk and carries logprobs" "$(tail -c 300 "$TMP/py")"
fi

# rllama's API: JSONL, one {token: {"p": ...}} per token, or with
# no_token_sampling the next token's whole distribution.
req "rllama inference" 200 POST /rllama/v1/inference \
	'{"prompt":"Once upon a time","temperature":0,"max_new_tokens":6}'
if python3 - "$TMP/body" "$want" <<'PY' 2>"$TMP/py"
import json, sys
lines = open(sys.argv[1]).read().split("\n")
assert lines[-1] == "" and len(lines) == 7, lines
objs = [json.loads(l) for l in lines[:-1]]
assert all(len(o) == 1 and list(o.values())[0] == {"p": 1.0} for o in objs), objs
text = "".join(list(o)[0] for o in objs).replace("\u2581", " ")
assert sys.argv[2].startswith(text), (text, sys.argv[2])
PY
then
	pass "rllama: one JSON line per token, greedy p 1, run's text"
else
	fail "rllama: one JSON line per token" "$(tail -c 300 "$TMP/py")"
fi
req "rllama no_token_sampling" 200 POST /rllama/v1/inference \
	'{"prompt":"Once upon a time","max_new_tokens":2,"stop_at_end_token":false,"no_token_sampling":true}'
if python3 - "$TMP/body" <<'PY' 2>"$TMP/py"
import json, sys
lines = open(sys.argv[1]).read().split("\n")
assert lines[-1] == "" and len(lines) == 3
for l in lines[:-1]:
    o = json.loads(l)
    assert len(o) > 400, len(o)
    assert abs(sum(v["p"] for v in o.values()) - 1) < 1e-3
    assert o["</s>"].get("is_end_token") is True
PY
then
	pass "rllama no_token_sampling: every token's probability, summing to 1"
else
	fail "rllama no_token_sampling" "$(tail -c 300 "$TMP/py")"
fi
req "rllama top_k 0 is 400" 400 POST /rllama/v1/inference '{"prompt":"x","top_k":0}'
req "rllama without a prompt is 400" 400 POST /rllama/v1/inference '{"max_new_tokens":1}'

# Limits.
python3 -c 'import json; print(json.dumps({"messages": [{"role": "user", "content": "hi"}] * 1025}))' >"$TMP/many"
req "more than 1024 messages is 400" 400 POST /v1/chat/completions "@$TMP/many"
python3 -c 'import json; print(json.dumps({"prompt": "the cat sat " * 2000, "max_tokens": 1}))' >"$TMP/long"
req "a prompt longer than the context is 400" 400 POST /v1/completions "@$TMP/long"
jq_check "... and says how long" '"tokens" in j["error"]["message"] and "4096" in j["error"]["message"]'
python3 -c 'import json; print(json.dumps({"messages": [{"role": "user", "content": "the cat sat " * 2000}], "max_tokens": 1}))' >"$TMP/long"
req "a chat message longer than the context is 400" 400 POST /v1/chat/completions "@$TMP/long"
jq_check "... and says so" '"context" in j["error"]["message"]' 

# Streams, read by curl: data: frames of JSON chunks, a last one with the
# finish_reason, then [DONE]; the pieces add up to the whole reply.
sse_check() { # NAME FILE KIND(text|chat) WANT-TEXT
	python3 - "$2" "$3" "$4" <<'PY'
import json, sys
raw = open(sys.argv[1]).read()
frames = raw.split("\n\n")
assert frames[-1] == "" and frames[-2] == "data: [DONE]", "no [DONE] at the end"
chunks = [json.loads(f[len("data: "):]) for f in frames[:-2]]
assert all(f.startswith("data: ") for f in frames[:-2])
if sys.argv[2] == "chat":
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
else:
    text = "".join(c["choices"][0]["text"] for c in chunks)
assert chunks[-1]["choices"][0]["finish_reason"] in ("stop", "length")
assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
assert len(chunks) > 2, "one chunk per piece"
if sys.argv[3]:
    assert text == sys.argv[3], repr(text)
PY
}
curl -s -N -m 20 -D "$TMP/sse_head" -o "$TMP/sse" -H 'Content-Type: application/json' --data-binary \
	'{"prompt":"Once upon a time","temperature":0,"max_tokens":16,"stream":true}' "$URL/v1/completions"
if grep -qi '^content-type: text/event-stream' "$TMP/sse_head" && sse_check x "$TMP/sse" text "$want" 2>"$TMP/py"; then
	pass "stream /v1/completions (curl): SSE chunks add up to run's text, then [DONE]"
else
	fail "stream /v1/completions (curl)" "$(head -c 300 "$TMP/py") $(head -c 300 "$TMP/sse")"
fi
curl -s -N -m 20 -o "$TMP/sse" -H 'Content-Type: application/json' --data-binary \
	"${chat%\}},\"stream\":true}" "$URL/v1/chat/completions"
wantchat=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["choices"][0]["message"]["content"], end="")' "$TMP/chat1")
if sse_check x "$TMP/sse" chat "$wantchat" 2>"$TMP/py"; then
	pass "stream /v1/chat/completions (curl): deltas add up to the reply, then [DONE]"
else
	fail "stream /v1/chat/completions (curl)" "$(head -c 300 "$TMP/py") $(head -c 300 "$TMP/sse")"
fi

# The same read by Python's http.client line by line, as a client library would.
if python3 - "$PORT" "$want" <<'PY' 2>"$TMP/py"
import http.client, json, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=20)
c.request("POST", "/v1/completions", json.dumps({"prompt": "Once upon a time", "temperature": 0,
          "max_tokens": 16, "stream": True}), {"Content-Type": "application/json"})
r = c.getresponse()
assert r.status == 200 and r.getheader("Content-Type").startswith("text/event-stream")
text, done, last = "", False, None
for line in r:
    line = line.decode().rstrip("\n")
    if not line:
        continue
    assert line.startswith("data: "), line
    if line == "data: [DONE]":
        done = True
        break
    last = json.loads(line[6:])
    text += last["choices"][0]["text"]
assert done and last["choices"][0]["finish_reason"] == "length"
assert text == sys.argv[2], repr(text)
PY
then
	pass "stream read by http.client: JSON chunks, run's text, [DONE]"
else
	fail "stream read by http.client" "$(tail -c 300 "$TMP/py")"
fi

# A client that goes away after the first chunk stops the generation.
python3 - "$PORT" <<'PY' 2>/dev/null
import http.client, json, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=20)
c.request("POST", "/v1/completions", json.dumps({"prompt": "Once upon a time", "temperature": 1,
          "seed": 1, "max_tokens": 3000, "stream": True}))
r = c.getresponse()
r.fp.readline()
c.close()
PY
req "a request after a client left" 200 POST /v1/completions '{"prompt":"Once","max_tokens":2}'
if python3 -c 'import re,sys
for l in open(sys.argv[1]):
    m = re.match(r"POST /v1/completions 200 prompt=5 gen=(\d+) ", l)
    if m and int(m.group(1)) < 1000 and "3000" not in l: sys.exit(0)
sys.exit(1)' "$TMP/log"; then
	pass "a disconnected stream stops generating"
else
	fail "a disconnected stream stops generating" "$(tail -n 5 "$TMP/log")"
fi

# A client that goes away before a reply that is not streamed stops it too
# (seed 1 at temperature 1.5 runs to max_tokens 4000 otherwise).
python3 - "$PORT" <<'PY' 2>/dev/null
import json, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
body = json.dumps({"prompt": "Once upon a time", "temperature": 1.5, "seed": 1, "max_tokens": 4000})
s.sendall(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           "Content-Length: %d\r\n\r\n%s" % (len(body), body)).encode())
time.sleep(0.05)
s.close()
PY
req "a request after a client left a reply" 200 POST /v1/completions '{"prompt":"Once","max_tokens":2}'
if python3 -c 'import re,sys
lines = [l for l in open(sys.argv[1]) if l.startswith("POST /v1/completions 200 ")]
m = re.search(r" gen=(\d+) ", lines[-2])
sys.exit(0 if m and int(m.group(1)) < 4000 and " gen=2 " in lines[-1] else 1)' "$TMP/log"; then
	pass "a client that disconnects stops a reply that is not streamed"
else
	fail "a client that disconnects stops a reply that is not streamed" "$(tail -n 3 "$TMP/log")"
fi

req "bad JSON is 400" 400 POST /v1/completions '{"prompt":'
jq_check "errors are OpenAI-style" 'j["error"]["code"] == 400 and j["error"]["type"] == "invalid_request_error" and j["error"]["message"]'
req "a wrong field type is 400" 400 POST /v1/completions '{"prompt":"x","temperature":"hot"}'
req "a fractional max_tokens is 400" 400 POST /v1/completions '{"prompt":"x","max_tokens":1.5}'
req "stop of numbers is 400" 400 POST /v1/completions '{"prompt":"x","stop":[1]}'
req "missing messages is 400" 400 POST /v1/chat/completions '{"model":"x"}'
req "a message without content is 400" 400 POST /v1/chat/completions '{"messages":[{"role":"user"}]}'
req "messages ending with the assistant is 400" 400 POST /v1/chat/completions \
	'{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]}'
req "a stream refused before it starts is a JSON 400" 400 POST /v1/completions '{"prompt":7,"stream":true}'
req "an unknown path is 404" 404 GET /v2/nothing
req "GET on a completion endpoint is 405" 405 GET /v1/completions
req "POST on /health is 405" 405 POST /health '{}'
if curl -s -m 10 -o /dev/null -D - -X GET "$URL/v1/chat/completions" | grep -qi '^allow: POST'; then
	pass "a 405 says which method (Allow)"
else
	fail "a 405 says which method (Allow)"
fi
head -c 1100000 /dev/zero | tr '\0' x >"$TMP/big"
req "a body over 1 MiB is 413" 413 POST /v1/completions "@$TMP/big"
if grep -qE '^POST /v1/completions 413 ' "$TMP/log" && grep -qE '^GET /health 200 prompt=0 gen=0 [0-9]+ms$' "$TMP/log"; then
	pass "one access-log line per request"
else
	fail "one access-log line per request" "$(head -n 5 "$TMP/log")"
fi
if grep -q 'Tell me a story\|You tell stories\|Once upon' "$TMP/log"; then
	fail "the access log holds no message text"
else
	pass "the access log holds no message text"
fi

# Two requests at once: the second waits for the first, both are right.
pids=()
for k in 1 2; do
	curl -s -m 30 -o "$TMP/par$k" -H 'Content-Type: application/json' --data-binary \
		'{"prompt":"Once upon a time","temperature":0,"max_tokens":16}' "$URL/v1/completions" &
	pids+=($!)
done
wait "${pids[@]}"
if python3 -c 'import json,sys; sys.exit(not all(json.load(open(f))["choices"][0]["text"] == sys.argv[1] for f in sys.argv[2:]))' \
	"$want" "$TMP/par1" "$TMP/par2"; then
	pass "two concurrent requests both get run's text"
else
	fail "two concurrent requests both get run's text" "$(head -c 200 "$TMP/par1") / $(head -c 200 "$TMP/par2")"
fi

# SIGTERM while a reply streams: the reply is finished and sent (a drain),
# new requests get 503, then the server exits 0. The client holds the
# stream by not reading a reply far larger than the socket buffers (every
# token's distribution), so the generation is still running when the
# signal lands; the 503 is asked for once the server has logged that it
# is stopping, since a signal is taken asynchronously.
if python3 - "$PORT" "$PID" "$TMP/log" <<'PY' 2>"$TMP/py"
import http.client, json, os, signal, sys, time
port, pid, log = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
c.request("POST", "/rllama/v1/inference", json.dumps({"prompt": "Once upon a time",
          "max_new_tokens": 600, "stop_at_end_token": False, "no_token_sampling": True}))
r = c.getresponse()
assert r.status == 200
assert json.loads(r.readline())
os.kill(pid, signal.SIGTERM)
for _ in range(200):
    if "stopping (SIGTERM)" in open(log).read():
        break
    time.sleep(0.05)
else:
    raise SystemExit("the server never logged that it is stopping")
c2 = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
c2.request("POST", "/v1/completions", json.dumps({"prompt": "Once", "max_tokens": 2}))
st = c2.getresponse().status
assert st == 503, st
lines = r.read().decode().splitlines()
assert len(lines) == 599 and all(json.loads(l) for l in lines), (len(lines), lines[-1][-200:])
PY
then
	pass "SIGTERM drains: a running stream is finished, new requests get 503"
else
	fail "SIGTERM drains" "$(tail -c 300 "$TMP/py")"
fi
for i in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$PID" 2>/dev/null; then
	fail "SIGTERM stops the server"
	stop_server
else
	wait "$PID"
	rc=$?
	PID=
	if [ "$rc" -eq 0 ]; then pass "SIGTERM stops the server after the drain (exit 0)"; else fail "SIGTERM stops the server" "exit $rc"; fi
fi

# --parallel: slots. A client holds a slot by not reading a huge rllama
# stream (every token's distribution); with both slots held a third
# request gets 429 after --slot-timeout; a holder that disconnects frees
# its slot; two concurrent greedy requests on two slots both get run's text.
if start_server "$TMP/log3" -c 1024 --parallel 2 --slot-timeout 0.3; then
	if python3 - "$PORT" "$want" <<'PY' 2>"$TMP/py"
import http.client, json, sys, threading
port = int(sys.argv[1])
def hold():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    c.request("POST", "/rllama/v1/inference", json.dumps({"prompt": "Once upon a time",
              "max_new_tokens": 1000, "stop_at_end_token": False, "no_token_sampling": True}))
    r = c.getresponse()
    assert r.status == 200 and r.getheader("Content-Type") == "application/jsonl"
    assert json.loads(r.readline())
    return c
def post(body, path="/v1/completions"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    c.request("POST", path, json.dumps(body))
    r = c.getresponse()
    return r.status, json.loads(r.read())
a, b = hold(), hold()
st, j = post({"prompt": "Once", "max_tokens": 2})
assert st == 429 and j["error"]["code"] == 429 and j["error"]["type"] == "rate_limit_error", (st, j)
a.close()
st, j = post({"prompt": "Once", "max_tokens": 2})
assert st == 200, (st, j)
b.close()
out = [None, None]
def greedy(k):
    out[k] = post({"prompt": "Once upon a time", "temperature": 0, "max_tokens": 16})
ts = [threading.Thread(target=greedy, args=(k,)) for k in (0, 1)]
[t.start() for t in ts]
[t.join() for t in ts]
assert all(st == 200 and j["choices"][0]["text"] == sys.argv[2] for st, j in out), out
PY
	then
		pass "--parallel 2: 429 past the slots, a disconnect frees a slot, both slots give run's text"
	else
		fail "--parallel 2 slots" "$(tail -c 400 "$TMP/py")"
	fi
	if grep -q "429" "$TMP/log3"; then pass "a 429 is logged"; else fail "a 429 is logged"; fi
	stop_server
else
	fail "serve --parallel 2 starts" "$(head -c 300 "$TMP/log3")"
fi
expect_status "serve --slot-timeout that is no number exits 2" 2 "$LT" serve -m "$STORIES" --slot-timeout soon

KEY=s3cret
if start_server "$TMP/log2" --api-key "$KEY"; then
	req "--api-key: no key is 401" 401 GET /v1/models
	jq_check "401 is OpenAI-style" 'j["error"]["code"] == 401'
	req "--api-key: a wrong key is 401" 401 GET /v1/models "" -H "Authorization: Bearer nope"
	req "--api-key: the key is accepted" 200 POST /v1/completions '{"prompt":"Once","max_tokens":2}' \
		-H "Authorization: Bearer $KEY"
	kill -INT "$PID"
	for i in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$PID" 2>/dev/null; then fail "SIGINT stops the server"; stop_server; else pass "SIGINT stops the server"; PID=; fi
else
	fail "serve --api-key starts" "$(head -c 300 "$TMP/log2")"
fi

printf '  %s \n' "$KEY" >"$TMP/keyfile"
if start_server "$TMP/log4" --api-key-file "$TMP/keyfile"; then
	req "--api-key-file: no key is 401" 401 GET /v1/models
	req "--api-key-file: the file's key is accepted" 200 GET /v1/models "" \
		-H "Authorization: Bearer $KEY"
	stop_server
else
	fail "serve --api-key-file starts" "$(head -c 300 "$TMP/log4")"
fi
: >"$TMP/emptykey"
expect_status "serve --api-key-file with no key exits 2" 2 "$LT" serve -m "$STORIES" \
	--api-key-file "$TMP/emptykey"
expect_status "serve --api-key-file that is missing exits 2" 2 "$LT" serve -m "$STORIES" \
	--api-key-file "$TMP/nokeyfile"
