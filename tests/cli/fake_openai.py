#!/usr/bin/env python3
"""A scripted OpenAI-compatible server for the tests of `--remote`: it plays
back streams in the shapes llama-server, vLLM and ollama send (a role-only
first chunk, empty deltas, finish_reason in a chunk of its own, usage last,
keep-alive comments, CRLF line ends, events split across writes), and can
cut a stream off, refuse a key or answer slowly.

usage: fake_openai.py PORTFILE [--shape llama|vllm|ollama] [--key KEY]
The port it listens on (127.0.0.1, chosen by the system) is written to
PORTFILE. The reply to a chat is "You said: <last user message>." split in
pieces; a user message containing:
  CUT       the stream stops in the middle of an event (the connection closes)
  THINK     llama-server/vLLM's reasoning_content pieces come first
  TAGS      the content opens with a <think>...</think> block
  SLOW      a piece every 0.2 s for 60 s (for stopping), keep-alives between
  ERROR     an error event in the stream
Every request is appended as one JSON line to PORTFILE.log.
"""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORTFILE = sys.argv[1]
SHAPE = "llama"
KEY = None
args = sys.argv[2:]
while args:
    if args[0] == "--shape":
        SHAPE = args[1]
        args = args[2:]
    elif args[0] == "--key":
        KEY = args[1]
        args = args[2:]
    else:
        sys.exit("unknown argument " + args[0])

MODEL = {"llama": "stories-remote", "vllm": "org/model-vllm", "ollama": "llama3.2:1b"}[SHAPE]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def send_json(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def authorized(self):
        if KEY is None or self.headers.get("Authorization") == "Bearer " + KEY:
            return True
        self.send_json(401, {"error": {"message": "Invalid API Key", "type": "authentication_error", "code": 401}})
        return False

    def do_GET(self):
        if not self.authorized():
            return
        if self.path == "/v1/models":
            self.send_json(200, {"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": SHAPE}]})
        elif self.path == "/props" and SHAPE == "llama":
            self.send_json(200, {"n_ctx": 4096, "model_path": "/models/stories.gguf", "total_slots": 1})
        else:
            self.send_json(404, {"error": {"message": "not found", "code": 404}})

    def write(self, data):
        self.wfile.write(data.encode() if isinstance(data, str) else data)
        self.wfile.flush()

    def event(self, obj, end="\n\n"):
        text = "data: " + json.dumps(obj) + end
        if SHAPE == "vllm":
            text = text.replace("\n", "\r\n")
        # Split each event in two writes, in the middle of its JSON.
        half = len(text) // 2
        self.write(text[:half])
        self.write(text[half:])

    def chunk(self, delta, finish=None):
        c = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": MODEL,
             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        if SHAPE == "ollama":
            c["system_fingerprint"] = "fp_ollama"
        self.event(c)

    def do_POST(self):
        try:
            self.post()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped the reply: what the tests want

    def post(self):
        n = int(self.headers.get("Content-Length", "0"))
        req = json.loads(self.rfile.read(n) or b"{}")
        with open(PORTFILE + ".log", "a") as f:
            f.write(json.dumps({"path": self.path, "auth": self.headers.get("Authorization"), "body": req}) + "\n")
        if not self.authorized():
            return
        if self.path == "/v1/completions":
            self.completion(req)
            return
        if self.path != "/v1/chat/completions":
            self.send_json(404, {"error": {"message": "not found", "code": 404}})
            return
        last = [m for m in req.get("messages", []) if m["role"] == "user"][-1]["content"]
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        if SHAPE != "ollama":
            self.chunk({"role": "assistant", "content": None if SHAPE == "vllm" else ""})
        self.write(": keep-alive\n\n")
        if "THINK" in last:
            for p in ["Let me ", "think."]:
                self.chunk({"reasoning_content": p})
        pieces = ["You ", "said: ", last, "."]
        if "TAGS" in last:
            pieces = ["<think>", "hidden ", "thought", "</think>"] + pieces
        if "SLOW" in last:
            for i in range(300):
                self.chunk({"content": "tick "})
                self.write(": ping\n\n")
                time.sleep(0.2)
        if "ERROR" in last:
            self.chunk({"content": "partial "})
            self.event({"error": {"message": "the model crashed", "code": 500}})
            return
        for i, p in enumerate(pieces):
            self.chunk({"content": p})
            if SHAPE == "llama" and i == 1:
                self.chunk({})
            if "CUT" in last and i == 1:
                self.write('data: {"choices":[{"delta":{"content":"lo')
                self.wfile.flush()
                self.close_connection = True
                return
        max_tokens = req.get("max_tokens", -1)
        self.chunk({}, "length" if max_tokens == 2 else "stop")
        if SHAPE != "ollama" or req.get("stream_options", {}).get("include_usage"):
            self.event({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": MODEL,
                        "choices": [], "usage": {"prompt_tokens": 11, "completion_tokens": len(pieces),
                                                 "total_tokens": 11 + len(pieces)}})
        self.write("data: [DONE]\n\n")


    def completion(self, req):
        """/v1/completions: the prompt continued by " and then"; SLOW ticks."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        pieces = [" and", " then"]
        if "SLOW" in req.get("prompt", ""):
            pieces = [" tick"] * 300
        for p in pieces:
            self.event({"choices": [{"index": 0, "text": p, "finish_reason": None}]})
            if "SLOW" in req.get("prompt", ""):
                time.sleep(0.2)
        self.event({"choices": [{"index": 0, "text": "", "finish_reason": "stop"}]})
        self.write("data: [DONE]\n\n")


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(PORTFILE + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(PORTFILE + ".tmp", PORTFILE)
    srv.serve_forever()


if __name__ == "__main__":
    main()
