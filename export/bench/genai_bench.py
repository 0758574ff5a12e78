"""onnxruntime-genai on a model directory: the peer of the Java benchmark (dev.kotodama.bench.Bench).

    export/kotodama-export --python export/bench/genai_bench.py --model DIR --prompt-tokens 512 --new-tokens 64 --threads 2

compare.sh runs it in a venv of genai-requirements.txt (the newest onnxruntime-genai and its ONNX Runtime);
the exporter's venv has the genai that runs on the Java runtime's ONNX Runtime 1.29.0.

Same prompt ids as Bench (the same splitmix64 rule, see prompt_ids), greedy, a KV cache of exactly
prompt + new tokens, the CPU provider, one short warm-up. Progress goes to stderr; the last line on
stdout is one JSON object with Bench's keys (all but java_overhead_frac).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import onnxruntime_genai as og

PROMPT_SEED = 20_261_126
FIRST_PROMPT_ID, PROMPT_ID_RANGE = 1_000, 99_000  # ordinary text ids: past the special tokens
WARM_UP_PROMPT_TOKENS, WARM_UP_NEW_TOKENS = 16, 8
MASK64 = (1 << 64) - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--prompt-tokens", type=int, required=True)
    parser.add_argument("--new-tokens", type=int, required=True)
    parser.add_argument("--threads", type=int, default=0, help="intra-op threads; 0 = ONNX Runtime's default")
    args = parser.parse_args()
    if args.prompt_tokens < 1 or args.new_tokens < 2 or args.threads < 0:
        parser.error("--prompt-tokens must be >= 1, --new-tokens >= 2 and --threads >= 0")

    started = time.perf_counter()
    model = load(args.model, args.threads)
    load_s = time.perf_counter() - started
    progress(f"loaded {args.model} in {load_s:.1f} s (intra-op threads: {args.threads or 'default'})")
    prompt = prompt_ids(args.prompt_tokens)
    progress(f"prompt: {len(prompt)} ids, starting {prompt[:5]}")
    generate(model, prompt[:WARM_UP_PROMPT_TOKENS], WARM_UP_NEW_TOKENS, report=False)
    progress("warmed up; measuring")
    tokens, prefill_s, ttft_s, decode_s = generate(model, prompt, args.new_tokens, report=True)
    print(json.dumps({
        "load_s": round(load_s, 2),
        "ttft_ms": round(ttft_s * 1e3, 1),
        "prefill_tok_s": round(len(prompt) / prefill_s, 1),
        "decode_tok_s": round((len(tokens) - 1) / decode_s, 3),
        "peak_rss_mb": peak_rss_mb(),
        "tokens": tokens,
    }))


def load(model_dir: Path, threads: int) -> og.Model:
    """The model on the CPU provider, with genai_config.json's session options overlaid by the thread count."""
    config = og.Config(str(model_dir))
    config.clear_providers()
    if threads:
        config.overlay(json.dumps({"model": {"decoder": {"session_options": {"intra_op_num_threads": threads}}}}))
    return og.Model(config)


def generate(model: og.Model, prompt: list[int], new_tokens: int, report: bool) -> tuple[list[int], float, float, float]:
    """Greedy tokens, prefill seconds, seconds to the first token, and seconds of the decode steps after it."""
    params = og.GeneratorParams(model)
    params.set_search_options(do_sample=False, max_length=len(prompt) + new_tokens)
    generator = og.Generator(model, params)
    started = time.perf_counter()
    generator.append_tokens(prompt)  # runs the prefill
    prefilled = time.perf_counter()
    generator.generate_next_token()  # samples from the prefill's logits
    first_token = time.perf_counter()
    tokens = [int(generator.get_next_tokens()[0])]
    if report:
        progress(f"prefill: {len(prompt)} tokens in {(prefilled - started) * 1e3:.0f} ms")
    while len(tokens) < new_tokens and not generator.is_done():
        generator.generate_next_token()
        tokens.append(int(generator.get_next_tokens()[0]))
        if report and (len(tokens) % 10 == 1 or len(tokens) == new_tokens):
            rate = (len(tokens) - 1) / (time.perf_counter() - first_token)
            progress(f"decode: {len(tokens)}/{new_tokens} tokens, {rate:.2f} tok/s")
    return tokens, prefilled - started, first_token - started, time.perf_counter() - first_token


def prompt_ids(count: int) -> list[int]:
    """Bench.promptIds: splitmix64 from PROMPT_SEED, each output taken modulo the id range."""
    ids, state = [], PROMPT_SEED
    for _ in range(count):
        state = (state + 0x9E3779B97F4A7C15) & MASK64
        z = ((state ^ (state >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        ids.append(FIRST_PROMPT_ID + (z ^ (z >> 31)) % PROMPT_ID_RANGE)
    return ids


def peak_rss_mb() -> int:
    """The process's peak resident set (VmHWM), mapped weight pages included, as Bench reports it."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    raise RuntimeError("/proc/self/status has no VmHWM line")


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
