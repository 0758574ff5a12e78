"""Decode steps of several model directories, timed side by side: a MoE's two int4 kernels against a dense model.

    export/kotodama-export --python export/bench/decode_steps.py DIR [DIR ...] [--rows 1] [--past 128]
        [--steps 16] [--rounds 6] [--threads 2]

Each DIR is a cpu export (`kotodama-export convert`), for example a Qwen3-MoE with the default
`--moe-kernel graph`, the same with `--moe-kernel fused`, and a dense Llama of the size to compare with.
Runs decode steps (--rows rows of one new token after --past cached positions, random ids and cache: the
kernels' work does not depend on their values) on the CPU provider of the exporter's ONNX Runtime, the
directories in alternating rounds of --steps runs so that drift of the machine falls on all alike, each round
starting one directory later (a directory listed later gained a few percent when the order stayed fixed:
1.3% in a run of one directory twice, more in others), and prints the median step of each, the last line one
JSON object. Peak memory and load time: the Java engine's
Bench, one directory per process.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from op_profile import random_feeds  # this file's directory is on sys.path when run as a script

from kotodama_export.verify import register_custom_ops

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from apprun import cpu_name  # noqa: E402  the repository's bench helpers (bench/apprun.py)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", type=Path, nargs="+", help="model directories written by `kotodama-export convert`")
    parser.add_argument("--rows", type=int, default=1)
    parser.add_argument("--past", type=int, default=128)
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    for model in args.models:
        if not (model / "kotodama.json").is_file():
            print(f"decode_steps.py: {model} has no kotodama.json: give directories written by `kotodama-export "
                  "convert`", file=sys.stderr)
            sys.exit(2)

    sessions = {}
    for model in args.models:
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.log_severity_level = 3
        register_custom_ops(options, model)
        started = time.perf_counter()
        sessions[str(model)] = (ort.InferenceSession(str(model / "model.onnx"), options,
                                                     providers=["CPUExecutionProvider"]), options)
        print(f"loaded {model} in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    rng = np.random.default_rng(0)
    feeds = {name: [random_feeds(s, args.rows, 1, args.past, rng) for _ in range(args.steps)]
             for name, (s, _) in sessions.items()}
    times: dict[str, list[float]] = {name: [] for name in sessions}
    names = list(sessions)
    for round_ in range(args.rounds):
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            s = sessions[name][0]
            s.run(["logits"], feeds[name][0])  # the round's warm-up
            for f in feeds[name]:
                t = time.perf_counter()
                s.run(["logits"], f)
                times[name].append(time.perf_counter() - t)
    medians = {name: statistics.median(ts) * 1000 for name, ts in times.items()}
    print(f"\n{args.rows} row(s) after {args.past}, {args.threads} threads, {cpu_name()}, ONNX Runtime "
          f"{ort.__version__}, median of {args.rounds * args.steps} decode steps:")
    for name, ms in medians.items():
        print(f"  {ms:8.2f} ms  {1000 * args.rows / ms:7.2f} tok/s  {name}")
    print(json.dumps({"rows": args.rows, "past": args.past, "threads": args.threads, "cpu": cpu_name(),
                      "onnxruntime": ort.__version__, "step_ms": {name: round(ms, 2) for name, ms in medians.items()}}))


if __name__ == "__main__":
    main()
