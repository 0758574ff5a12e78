"""Where a model directory's time goes, per operator, in prefill and in decode: ONNX Runtime's profiler.

    export/kotodama-export --python export/bench/op_profile.py MODEL_DIR [--prompt-tokens 128] [--past 128]
        [--steps 16] [--batch 1] [--threads 2] [--option KEY=VALUE ...]

Runs the directory's model.onnx on the CPU provider of the exporter's ONNX Runtime (the version the Java
engine loads from Maven), with the profiler on: prefill runs of --prompt-tokens tokens, then decode steps
of one token after --past cached ones (a fresh past per step, random keys and values: the kernels' work
does not depend on their values) for --batch rows at once, as the engine's batched step of that many
running streams. Each phase starts with a warm-up run that the figures leave out.
--option adds a session config entry (e.g. session.intra_op.allow_spinning=0) to see what it changes.

Prints, per phase, the mean wall time of a run, then each operator type's share, and the heaviest nodes
by name (the output layer, each layer's projections); the last line is one JSON object with the same.
The Java decoder binds a KV buffer shared between past and present (GroupQueryAttention's
past_present_share_buffer); here past and present are separate, which costs attention a copy of the
cache per step: small against the weights at these lengths, and included in GroupQueryAttention's row.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import onnxruntime as ort

from kotodama_export.verify import register_custom_ops

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from apprun import cpu_name  # noqa: E402  the repository's bench helpers (bench/apprun.py)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="a model directory (its model.onnx)")
    parser.add_argument("--prompt-tokens", type=int, default=128)
    parser.add_argument("--past", type=int, default=128, help="cached tokens before each decode step")
    parser.add_argument("--steps", type=int, default=16, help="profiled runs per phase (prefill: a quarter)")
    parser.add_argument("--batch", type=int, default=1, help="rows of each decode step (running streams)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help="a session config entry, repeatable")
    parser.add_argument("--top", type=int, default=12, help="nodes listed per phase")
    args = parser.parse_args()
    onnx_file = args.model / "model.onnx"
    if not onnx_file.is_file():
        print(f"op_profile.py: {onnx_file} does not exist: give a model directory written by `kotodama-export convert`",
              file=sys.stderr)
        sys.exit(2)

    with tempfile.TemporaryDirectory() as scratch:
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.enable_profiling = True
        options.profile_file_prefix = os.path.join(scratch, "profile")
        register_custom_ops(options, args.model)
        for option in args.option:
            key, _, value = option.partition("=")
            options.add_session_config_entry(key, value)
        started = time.perf_counter()
        session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        print(f"ONNX Runtime {ort.__version__}: loaded {args.model} in {time.perf_counter() - started:.1f} s",
              file=sys.stderr)
        rng = np.random.default_rng(0)

        def feeds(rows: int, tokens: int, past: int) -> dict:
            return random_feeds(session, rows, tokens, past, rng)

        # phase: (rows, tokens a row, past, runs)
        phases = {"prefill": (1, args.prompt_tokens, 0, max(1, args.steps // 4)),
                  "decode": (args.batch, 1, args.past, args.steps)}
        for phase, (rows, tokens, past, runs) in phases.items():
            session.run(["logits"], feeds(rows, tokens, past))  # the warm-up: profiled, and dropped by split_runs
            for _ in range(runs):
                session.run(["logits"], feeds(rows, tokens, past))
            print(f"{phase}: {runs} runs of {rows} x {tokens} token(s) after {past}", file=sys.stderr)
        events = json.loads(Path(session.end_profiling()).read_text())

    result = {"model": str(args.model), "cpu": cpu_name(), "onnxruntime": ort.__version__, "threads": args.threads,
              "batch": args.batch, "options": args.option}
    for phase, runs in split_runs(events, phases).items():
        rows, tokens, _, _ = phases[phase]
        result[phase] = summarize(phase, runs, rows * tokens, args.top)
    print(json.dumps(result))


def random_feeds(session: ort.InferenceSession, rows: int, tokens: int, past: int, rng: np.random.Generator) -> dict:
    """Inputs of one run of ``rows`` rows, ``tokens`` new ones each after ``past`` cached positions: random
    ordinary text ids and random keys and values (the kernels' work does not depend on their values)."""
    result = {"input_ids": rng.integers(1000, 100000, (rows, tokens), dtype=np.int64),
              "attention_mask": np.ones((rows, past + tokens), dtype=np.int64)}
    for spec in session.get_inputs():
        if spec.name.startswith("past_key_values"):
            dtype = np.float16 if "float16" in spec.type else np.float32
            result[spec.name] = rng.standard_normal((rows, spec.shape[1], past, spec.shape[3])).astype(dtype)
    return result


def split_runs(events: list, phases: dict) -> dict:
    """The profile's model_run events in order, each with the node events inside it, cut into the phases
    (each its warm-up run and then its profiled runs); the warm-ups are dropped."""
    runs = sorted((e for e in events if e.get("name") == "model_run"), key=lambda e: e["ts"])
    nodes = sorted((e for e in events if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")),
                   key=lambda e: e["ts"])
    per_run, i = [], 0
    for run in runs:
        inside = []
        while i < len(nodes) and nodes[i]["ts"] < run["ts"] + run["dur"]:
            if nodes[i]["ts"] >= run["ts"]:
                inside.append(nodes[i])
            i += 1
        per_run.append((run, inside))
    result, first = {}, 0
    for phase, (_, _, _, count) in phases.items():
        result[phase] = per_run[first + 1:first + 1 + count]
        first += 1 + count
    return result


def summarize(phase: str, runs: list, tokens: int, top: int) -> dict:
    n = len(runs)
    wall = sum(run["dur"] for run, _ in runs) / n / 1000  # ms
    by_op, by_node = defaultdict(float), defaultdict(float)
    for _, nodes in runs:
        for e in nodes:
            by_op[e["args"]["op_name"]] += e["dur"] / n / 1000
            by_node[e["name"].removesuffix("_kernel_time")] += e["dur"] / n / 1000
    kernels = sum(by_op.values())
    print(f"\n{phase}: {wall:.2f} ms a run ({tokens / wall * 1000:.1f} tok/s), kernels {kernels:.2f} ms, "
          f"between kernels {wall - kernels:.2f} ms")
    for op, ms in sorted(by_op.items(), key=lambda kv: -kv[1]):
        print(f"  {op:34s} {ms:9.3f} ms  {ms / wall:6.1%}")
    print("  heaviest nodes:")
    for node, ms in sorted(by_node.items(), key=lambda kv: -kv[1])[:top]:
        print(f"    {node:60s} {ms:9.3f} ms  {ms / wall:6.1%}")
    return {"run_ms": round(wall, 3), "tok_s": round(tokens / wall * 1000, 2), "kernels_ms": round(kernels, 3),
            "ops_ms": {op: round(ms, 3) for op, ms in sorted(by_op.items(), key=lambda kv: -kv[1])},
            "nodes_ms": {node: round(ms, 3) for node, ms in sorted(by_node.items(), key=lambda kv: -kv[1])[:top]}}


if __name__ == "__main__":
    main()
