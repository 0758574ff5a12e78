"""llama-server serving many streams at once: the llama.cpp peer of the Java ServeBench.

    export/kotodama-export --python export/bench/llamacpp_serve_bench.py --gguf FILE.gguf --concurrency 8 --threads 2

Starts llama-server (from llamacpp.sh's cache) on 127.0.0.1 with C slots of L tokens each (-c C*L),
continuous batching and the prompt cache on (its defaults), waits for /health, and streams greedy
completions from /completion (prompts as token ids: the same ids as ServeBench, see genai_bench.prompt_ids;
top_k 1 as the only sampler, ignore_eos, cache_prompt), timing each token on arrival:
- warm-up: a 16-token prompt, 8 tokens;
- one stream of --prompt-tokens, --new-tokens tokens: single_decode_tok_s = (tokens - 1) / (last - first);
- C streams of distinct prompts started together: aggregate_decode_tok_s = the tokens all streams receive
  from the moment the last stream got its first token to the moment the first stream got its last,
  over that window (the steady state where all C decode); per stream, its ratio to one stream, TTFT p50/p99;
- C - 1 streams decoding; once each has 5 tokens and they have made four gaps each more (their plain
  pace), a --long-prompt prompt arrives (1 token); 0.5 s after its first token all are cancelled: the
  running streams' token gaps before it (from that plain pace) and during its prefill (those ending from
  its arrival to one median gap after its first token: the step that ends a prefill may deliver the
  running streams' tokens after it), as ServeBench counts them;
- a conversation: a --conversation-token prompt, 16 tokens, then the second turn (those ids, the answer
  and 24 more) in the slot that holds the first (id_slot): its TTFT with the cache reused, and the same
  prompt with its first id changed (nothing shared), with the reused count from the server's timings.
Progress goes to stderr, the server's log to a file (its tail is printed on failure); the last line on
stdout is one JSON object. The server is stopped at the end, on errors and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from genai_bench import WARM_UP_NEW_TOKENS, WARM_UP_PROMPT_TOKENS, progress, prompt_ids
from llamacpp_gguf import llama_tool

HOST = "127.0.0.1"
RUNNING_TOKENS_BEFORE_LONG_PROMPT = 5
PAUSE_S = 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gguf", type=Path, required=True)
    parser.add_argument("--server", type=Path, help="llama-server (default: the one llamacpp.sh built)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--prompt-tokens", type=int, default=64)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--long-prompt", type=int, default=512)
    parser.add_argument("--conversation", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--slot-tokens", type=int, help="each slot's context L (default: --conversation + 100)")
    args = parser.parse_args()
    args.slot_tokens = args.slot_tokens or args.conversation + 100
    if args.concurrency < 2 or args.new_tokens < 2 or min(args.prompt_tokens, args.long_prompt, args.threads) < 1:
        parser.error("--concurrency and --new-tokens must be >= 2; --prompt-tokens, --long-prompt, --threads >= 1")
    if args.slot_tokens < max(args.conversation + 42, args.long_prompt + 1, args.prompt_tokens + args.new_tokens):
        parser.error(f"--slot-tokens {args.slot_tokens} cannot hold the conversation, the long prompt or a stream")
    if not args.gguf.is_file():
        parser.error(f"{args.gguf} does not exist")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that the server is stopped then too

    server = Server(args.server or llama_tool("llama-server"), args)
    try:
        server.start()
        result = measure(server, args)
    except Exception as e:
        server.print_log_tail()
        if not isinstance(e, RuntimeError):  # a bug here, not a failure of the server: keep its traceback
            raise
        sys.exit(f"llamacpp_serve_bench: {e}")
    finally:
        server.stop()
    print(json.dumps(result))


class Server:
    """llama-server on a free port of 127.0.0.1, its log in a file."""

    def __init__(self, binary: Path, args: argparse.Namespace) -> None:
        with socket.socket() as s:
            s.bind((HOST, 0))
            self.port = s.getsockname()[1]
        self.log = Path(tempfile.gettempdir()) / f"llama-server-{self.port}.log"
        self.command = [str(binary), "-m", str(args.gguf), "-t", str(args.threads), "--parallel",
                        str(args.concurrency), "-c", str(args.concurrency * args.slot_tokens),
                        "--host", HOST, "--port", str(self.port)]
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        progress(f"starting {' '.join(self.command)} (log: {self.log})")
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT)
        started = time.monotonic()
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama-server exited with code {self.process.returncode}")
            try:
                status, _ = self.get("/health")
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() - started > 600:
                raise RuntimeError("llama-server was not healthy within 600 s")
            time.sleep(0.2)
        progress(f"healthy after {time.monotonic() - started:.1f} s")

    def get(self, path: str) -> tuple[int, dict]:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=10)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, json.loads(response.read() or b"{}")
        finally:
            connection.close()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def print_log_tail(self) -> None:
        if self.log.is_file():
            tail = self.log.read_text(errors="replace").splitlines()[-30:]
            progress(f"--- the last lines of {self.log} ---\n" + "\n".join(tail))


class Stream(threading.Thread):
    """One streamed greedy /completion; arrivals are (time, tokens so far), one per event that brought
    tokens (llama-server holds back a token that ends inside a UTF-8 character and sends it with the next)."""

    def __init__(self, server: Server, prompt: list[int], new_tokens: int, slot: int = -1, wait_for: int = 0,
                 together: threading.Barrier | None = None) -> None:
        super().__init__(daemon=True)
        self.server, self.prompt, self.new_tokens, self.slot = server, prompt, new_tokens, slot
        self.together = together  # streams that send their requests at one moment, once all are connected
        self.arrivals: list[tuple[float, int]] = []
        self.final: dict = {}
        self.sent = 0.0
        self.flowing = threading.Event()  # set when wait_for tokens have arrived (or the stream ended)
        self.wait_for = wait_for
        self.connection: http.client.HTTPConnection | None = None
        self.cancelled = False
        self.error: BaseException | None = None

    def run(self) -> None:
        body = json.dumps({"prompt": self.prompt, "n_predict": self.new_tokens, "stream": True, "id_slot": self.slot,
                           "samplers": ["top_k"], "top_k": 1, "temperature": 0, "ignore_eos": True,
                           "cache_prompt": True})
        self.connection = http.client.HTTPConnection(HOST, self.server.port, timeout=3600)
        try:
            self.connection.connect()
            if self.together:
                self.together.wait()
            self.sent = time.perf_counter()
            self.connection.request("POST", "/completion", body, {"Content-Type": "application/json"})
            response = self.connection.getresponse()
            if response.status != 200:
                raise RuntimeError(f"/completion answered {response.status}: {response.read()[:300]!r}")
            while line := response.readline():
                now = time.perf_counter()
                if not line.startswith(b"data: "):
                    continue
                event = json.loads(line[6:])
                if event.get("tokens_predicted", 0) > (self.arrivals[-1][1] if self.arrivals else 0):
                    self.arrivals.append((now, event["tokens_predicted"]))
                    if event["tokens_predicted"] >= self.wait_for:
                        self.flowing.set()
                if event.get("stop"):
                    self.final = event
                    break
        except Exception as e:  # reported by finish(), in the thread that waits for this one
            if not (self.cancelled and isinstance(e, (OSError, http.client.HTTPException))):
                self.error = e
        finally:
            self.flowing.set()
            self.connection.close()

    def cancel(self) -> None:
        """Closes the connection, which llama-server takes as the client's cancel."""
        self.cancelled = True
        with contextlib.suppress(AttributeError, OSError):  # not connected yet, or closed already
            self.connection.sock.shutdown(socket.SHUT_RDWR)

    def finish(self) -> Stream:
        self.join()
        if self.error:
            raise RuntimeError(f"a stream failed: {self.error}") from self.error
        if not self.cancelled and self.tokens() != self.new_tokens:
            raise RuntimeError(f"a stream ended after {self.tokens()} of {self.new_tokens} tokens: {self.final}")
        return self

    def tokens(self) -> int:
        return self.arrivals[-1][1] if self.arrivals else 0

    def ttft(self) -> float:
        return self.arrivals[0][0] - self.sent

    def gaps(self) -> list[tuple[float, float]]:
        """(arrival, gap since the previous arrival) per arrival after the first."""
        return [(b[0], b[0] - a[0]) for a, b in zip(self.arrivals, self.arrivals[1:])]


def run(server: Server, prompts: list[list[int]], new_tokens: int, slot: int = -1) -> list[Stream]:
    """Streams started together, waited for."""
    together = threading.Barrier(len(prompts))
    streams = [Stream(server, prompt, new_tokens, slot, together=together) for prompt in prompts]
    for stream in streams:
        stream.start()
    return [stream.finish() for stream in streams]


def measure(server: Server, args: argparse.Namespace) -> dict:
    c, p = args.concurrency, args.prompt_tokens
    ids = prompt_ids(p * (2 * c + 4) + args.long_prompt + args.conversation + 64)  # as ServeBench slices them
    taken = 0

    def fresh(length: int) -> list[int]:
        nonlocal taken
        taken += length
        return ids[taken - length:taken]

    _, props = server.get("/props")
    result: dict = {"concurrency": c, "threads": args.threads, "llama_cpp_build": props.get("build_info"),
                    "model": args.gguf.name}
    progress(f"llama.cpp {result['llama_cpp_build']}, {args.gguf.name}; {c} slots of {args.slot_tokens} tokens")

    run(server, [fresh(WARM_UP_PROMPT_TOKENS)], WARM_UP_NEW_TOKENS)
    progress("one stream")
    (one,) = run(server, [fresh(p)], args.new_tokens)
    single = (one.tokens() - 1) / (one.arrivals[-1][0] - one.arrivals[0][0])
    progress(f"{c} streams")
    many = run(server, [fresh(p) for _ in range(c)], args.new_tokens)
    aggregate = steady_rate(many)
    ttfts = [s.ttft() for s in many]
    result.update({
        "single_decode_tok_s": round(single, 2),
        "aggregate_decode_tok_s": round(aggregate, 2),
        "per_stream_decode_tok_s": round(aggregate / c, 2),
        "speedup": round(aggregate / single, 2),
        "ttft_p50_ms": round(percentile(ttfts, 0.5) * 1e3, 1),
        "ttft_p99_ms": round(percentile(ttfts, 0.99) * 1e3, 1),
    })

    progress(f"{c - 1} streams while a {args.long_prompt}-token prompt arrives")
    result.update(long_prompt_arrives(server, [fresh(p) for _ in range(c - 1)], fresh(args.long_prompt),
                                      min(4000, args.slot_tokens - p - 1)))

    progress(f"a conversation of {args.conversation} tokens, second turn with and without reuse")
    history = fresh(args.conversation)
    answer, slot = complete(server, history, 16)
    second = history + answer + fresh(24)
    (reused,) = run(server, [second], 2, slot)
    unrelated = [1001 if second[0] == 1000 else 1000] + second[1:]  # the same length, no common prefix
    (full,) = run(server, [unrelated], 2, slot)
    if full.final["timings"]["cache_n"]:
        progress(f"warning: the run meant to reuse nothing reused {full.final['timings']['cache_n']} tokens")
    result.update({
        "second_turn_prompt_tokens": len(second),
        "second_turn_reused_tokens": reused.final["timings"]["cache_n"],
        "second_turn_ttft_reused_ms": round(reused.ttft() * 1e3, 1),
        "second_turn_ttft_full_ms": round(full.ttft() * 1e3, 1),
        "second_turn_ttft_ratio": round(reused.ttft() / full.ttft(), 3),
    })
    return result


def complete(server: Server, prompt: list[int], new_tokens: int) -> tuple[list[int], int]:
    """A greedy completion in one response (a stream may hold a token back): its ids and its slot."""
    body = json.dumps({"prompt": prompt, "n_predict": new_tokens, "return_tokens": True, "samplers": ["top_k"],
                       "top_k": 1, "temperature": 0, "ignore_eos": True, "cache_prompt": True})
    connection = http.client.HTTPConnection(HOST, server.port, timeout=3600)
    try:
        connection.request("POST", "/completion", body, {"Content-Type": "application/json"})
        response = json.loads(connection.getresponse().read())
    finally:
        connection.close()
    if len(response.get("tokens", [])) != new_tokens:
        raise RuntimeError(f"/completion returned {response.get('tokens')} for {new_tokens} tokens: {response}")
    return response["tokens"], response["id_slot"]


def steady_rate(streams: list[Stream]) -> float:
    """Tokens all streams received between the last first token and the first last token, per second."""
    start = max(s.arrivals[0][0] for s in streams)
    end = min(s.arrivals[-1][0] for s in streams)
    if end > start:
        received = sum(n - before for s in streams
                       for (_, before), (t, n) in zip(s.arrivals, s.arrivals[1:]) if start < t <= end)
        return received / (end - start)
    progress("warning: no moment had all streams decoding; the rate is all tokens after each stream's first"
             " over the time from the first first token to the last last token")
    return sum(s.tokens() - 1 for s in streams) / (max(s.arrivals[-1][0] for s in streams)
                                                   - min(s.arrivals[0][0] for s in streams))


def long_prompt_arrives(server: Server, prompts: list[list[int]], long_prompt: list[int], new_tokens: int) -> dict:
    """Running streams' token gaps before a long prompt arrives and while it prefills (to its first token)."""
    together = threading.Barrier(len(prompts))
    running = [Stream(server, prompt, new_tokens, wait_for=RUNNING_TOKENS_BEFORE_LONG_PROMPT, together=together)
               for prompt in prompts]
    for stream in running:
        stream.start()
    try:
        for stream in running:
            stream.flowing.wait()
        steady = time.perf_counter()
        while sum(at > steady for stream in running for at, _ in stream.gaps()) < 4 * len(running):
            time.sleep(0.01)
        (long,) = run(server, [long_prompt], 1)
        arrived, prefilled = long.sent, long.arrivals[0][0]
        time.sleep(PAUSE_S)
    finally:
        for stream in running:
            stream.cancel()
    for stream in running:
        stream.finish()
        if stream.final:
            progress(f"warning: a running stream ended before the cancel, after {stream.tokens()} tokens")
    gaps = [gap for stream in running for gap in stream.gaps()]
    before = [gap for at, gap in gaps if steady < at < arrived]
    # the running streams' tokens of the step that ends the prefill may reach the client after its first
    # token: a gap ending within one plain gap after it still belongs to it
    ended = prefilled + percentile(before, 0.5)
    during = [gap for at, gap in gaps if arrived <= at <= ended]
    return {
        "long_prompt_ttft_ms": round(long.ttft() * 1e3, 1),
        "gap_p50_ms_before": round(percentile(before, 0.5) * 1e3, 1),
        "gap_p50_ms_during": round(percentile(during, 0.5) * 1e3, 1),
        "gap_p99_ms_during": round(percentile(during, 0.99) * 1e3, 1),
        "gap_max_ms_during": round(max(during, default=0) * 1e3, 1),
        "gap_max_over_median": round(max(during, default=0) / percentile(before, 0.5), 2),
    }


def percentile(values: list[float], fraction: float) -> float:
    """ServeBench's rule: the ceil(fraction * n)-th smallest value, 0 for none."""
    if not values:
        return 0.0
    return sorted(values)[min(len(values) - 1, math.ceil(fraction * len(values)) - 1)]


if __name__ == "__main__":
    main()
