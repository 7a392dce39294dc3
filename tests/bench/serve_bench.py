#!/usr/bin/env python3
"""A benchmark of `llamaterm serve` (not a test): requests per second and
time to first token for 1, 2 and 4 concurrent clients.

Each client sends streamed /v1/completions requests one after another
(a different prompt each time, so the prompt cache does not help) for
--seconds; the time to first token is from sending the request to the
first chunk with text. Prints one line per client count with medians.

usage: tests/bench/serve_bench.py LLAMATERM MODEL [--parallel N] [--clients 1,2,4]
       [--seconds S] [--max-tokens N] [-- SERVER-ARGS...]
"""
import argparse
import http.client
import json
import socket
import statistics
import subprocess
import sys
import threading
import time

WORDS = ("the cat dog girl boy sun tree ball park little big happy sad red blue "
         "once upon time day went saw played found").split()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def one_request(port, prompt, max_tokens):
    """Returns (time to first token, total time, chunks with text)."""
    t0 = time.monotonic()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    c.request("POST", "/v1/completions", json.dumps({
        "prompt": prompt, "max_tokens": max_tokens, "temperature": 0.8, "seed": 1,
        "stream": True}), {"Content-Type": "application/json"})
    r = c.getresponse()
    if r.status != 200:
        raise RuntimeError("status %d: %s" % (r.status, r.read()[:200]))
    ttft, n = None, 0
    for line in r:
        line = line.strip()
        if not line.startswith(b"data: ") or line == b"data: [DONE]":
            continue
        if json.loads(line[6:])["choices"][0]["text"]:
            n += 1
            if ttft is None:
                ttft = time.monotonic() - t0
    c.close()
    return ttft if ttft is not None else time.monotonic() - t0, time.monotonic() - t0, n


def run(port, clients, seconds, max_tokens):
    results, lock = [], threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(k):
        i = 0
        while time.monotonic() < stop_at:
            words = [WORDS[(k * 7 + i * 3 + j) % len(WORDS)] for j in range(8)]
            prompt = "%d %s" % (k * 1000 + i, " ".join(words))
            res = one_request(port, prompt, max_tokens)
            with lock:
                results.append(res)
            i += 1

    t0 = time.monotonic()
    ts = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    wall = time.monotonic() - t0
    return {
        "clients": clients,
        "requests": len(results),
        "req_per_s": len(results) / wall,
        "tok_per_s": sum(r[2] for r in results) / wall,
        "ttft_ms": 1000 * statistics.median(r[0] for r in results),
        "latency_ms": 1000 * statistics.median(r[1] for r in results),
    }


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser()
    ap.add_argument("llamaterm")
    ap.add_argument("model")
    ap.add_argument("--parallel", type=int, default=4)
    ap.add_argument("--clients", default="1,2,4")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--max-tokens", type=int, default=32)
    a = ap.parse_args(argv)
    port = free_port()
    srv = subprocess.Popen([a.llamaterm, "serve", "-m", a.model, "--port", str(port),
                            "--parallel", str(a.parallel), "--slot-timeout", "300"] + extra,
                           stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/health")
                if c.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            sys.exit("the server did not start")
        one_request(port, "warm up", 4)
        print("model %s, --parallel %d %s, max_tokens %d, %gs per point" % (
            a.model.rsplit("/", 1)[-1], a.parallel, " ".join(extra), a.max_tokens, a.seconds))
        for n in (int(x) for x in a.clients.split(",")):
            r = run(port, n, a.seconds, a.max_tokens)
            print("clients %(clients)d: %(requests)4d requests, %(req_per_s)6.2f req/s, "
                  "%(tok_per_s)7.1f tok/s, median TTFT %(ttft_ms)7.1f ms, "
                  "median latency %(latency_ms)7.1f ms" % r, flush=True)
    finally:
        srv.terminate()
        srv.wait(timeout=120)


if __name__ == "__main__":
    main()
