"""What the int4 experts of a decode step cost without the If-per-expert graph: a fused custom op beside it.

    export/kotodama-export --python export/bench/fused_moe.py MOE_DIR --work DIR [--dense DIR] [--rows 1]
        [--past 128] [--steps 16] [--rounds 6] [--threads 2]

MOE_DIR is a cpu int4 export of a Qwen3-MoE (`kotodama-export convert`: one If per expert and layer, each
running that expert's MatMulNBits on the rows routed to it). This builds fused_moe.c, a custom op that runs
a layer's chosen experts in one kernel on ONNX Runtime's intra-op threads, and writes DIR (replacing it):
MOE_DIR's files with its model.onnx rewritten, each layer's Ifs replaced by that op, reading the same weights
stacked per layer (so the Java engine's `Bench --model DIR --custom-ops LIBRARY` runs it too; the library's
path is printed). It checks
the two graphs' decode logits, then times decode steps (--rows rows after --past cached positions) of
MOE_DIR, the fused graph and --dense (a dense export to set beside them), in alternating rounds of --steps
runs, on the CPU provider of the exporter's ONNX Runtime, and prints the median step of each, last as
one JSON line. The op is a measurement, not part of the product: a Kotodama directory never holds it.

Building needs gcc, Go and a CPU with AVX-512 VNNI. ONNX Runtime ships no C headers through the
registries the build reaches; the Go module github.com/yalue/onnxruntime_go vendors its C API header
(API version 24, which ONNX Runtime 1.29 accepts), so `go mod download` fetches it into Go's module cache.
The library goes to the bench cache (KOTODAMA_BENCH_CACHE, default ~/.cache/kotodama-bench).
Memory: the rewrite holds the whole model.onnx.data once (about 5.8 GB for 8 layers of llm-jp-4-32b-a3b).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper
from op_profile import random_feeds  # this file's directory is on sys.path when run as a script

from kotodama_export.atomic import atomic_directory

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from apprun import cpu_name  # noqa: E402  the repository's bench helpers (bench/apprun.py)

HEADER_MODULE = "github.com/yalue/onnxruntime_go@v1.27.0"
SOURCE = Path(__file__).with_name("fused_moe.c")


def fail(message: str) -> None:
    print(f"fused_moe.py: {message}", file=sys.stderr)
    sys.exit(2)


def build() -> Path:
    """The op's library, built again when fused_moe.c is newer."""
    flags = open("/proc/cpuinfo").read().split("flags", 1)[-1].split("\n", 1)[0].split()
    if not {"avx512_vnni", "avx512vl"} <= set(flags):
        fail("the op's kernel needs AVX-512 VNNI (avx512_vnni and avx512vl in /proc/cpuinfo); this CPU has not")
    cache = Path(os.environ.get("KOTODAMA_BENCH_CACHE", Path.home() / ".cache" / "kotodama-bench")) / "fused-moe"
    library = cache / "libfused_moe.so"
    if library.exists() and library.stat().st_mtime >= SOURCE.stat().st_mtime:
        return library
    cache.mkdir(parents=True, exist_ok=True)
    try:
        module = json.loads(subprocess.run(["go", "mod", "download", "-json", HEADER_MODULE], check=True,
                                           capture_output=True, text=True, cwd=cache).stdout)
        staging = library.with_suffix(".tmp")
        subprocess.run(["gcc", "-O3", "-march=native", "-fPIC", "-shared", "-Wall", "-Wextra", "-I", module["Dir"],
                        "-o", str(staging), str(SOURCE), "-lm"], check=True)
    except FileNotFoundError as missing:
        fail(f"{missing.filename} is missing: install gcc and Go to build the op")
    except subprocess.CalledProcessError as error:
        fail(f"{' '.join(error.cmd[:3])} failed: {(error.stderr or '').strip() or 'see above'}")
    staging.rename(library)
    return library


def fuse(source: Path, out: Path) -> int:
    """Writes the directory out (replacing it): source's files, its graph with each layer's Ifs replaced by one
    kotodama.Int4MoE node. Returns the layers fused."""
    model = onnx.load(str(source / "model.onnx"))
    graph = model.graph
    initializers = {t.name: t for t in graph.initializer}
    producers = {output: node for node in graph.node for output in node.output}
    ifs: dict[str, list] = {}
    for node in graph.node:
        if node.op_type == "If" and "/moe/experts." in node.name:
            ifs.setdefault(node.name.split("/experts.")[0], []).append(node)
    if not ifs:
        fail(f"{source} has no If per expert: give a cpu int4 export of a Qwen3-MoE")
    replaced, stacked = {}, set()
    for base, chain in ifs.items():
        then = next(a.g for a in chain[0].attribute if a.name == "then_branch")
        rows = next(n for n in then.node if n.name.endswith("/Gather_1")).input[0]
        routing = producers[next(n for n in then.node if n.name.endswith("/Gather")).input[0]]  # ScatterElements
        inputs = [rows, routing.input[2], routing.input[1]]
        for part in ("gate_up_proj", "down_proj"):
            for kind in ("qdata", "scales", "zero_points"):
                names = [f"{base}/experts.{e}/{part}/weight.{kind}" for e in range(len(chain))]
                graph.initializer.append(numpy_helper.from_array(
                    np.stack([numpy_helper.to_array(initializers[n]) for n in names]), f"{base}/fused/{part}.{kind}"))
                stacked.update(names)
                inputs.append(f"{base}/fused/{part}.{kind}")
        replaced[chain[0].name] = helper.make_node("Int4MoE", inputs, [chain[-1].output[0]], f"{base}/Int4MoE",
                                                   domain="kotodama")
        replaced.update({n.name: None for n in chain[1:]})
    nodes = [replaced.get(n.name, n) for n in graph.node if replaced.get(n.name, n) is not None]
    while True:  # the routing's plumbing that only the Ifs read
        read = {name for n in nodes for name in n.input} | {o.name for o in graph.output}
        alive = [n for n in nodes if any(o in read for o in n.output if o)]
        if len(alive) == len(nodes):
            break
        nodes = alive
    graph.ClearField("node")
    graph.node.extend(nodes)
    kept = [t for t in graph.initializer if t.name not in stacked]
    graph.ClearField("initializer")
    graph.initializer.extend(kept)
    model.opset_import.append(helper.make_opsetid("kotodama", 1))
    with atomic_directory(out, force=True) as staging:  # onnx appends to a data file that exists: start empty
        onnx.save(model, str(staging / "model.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                  location="model.onnx.data")
        listed = json.loads((source / "kotodama.json").read_text())["files"]
        for name in ["kotodama.json", *listed]:  # the manifest, tokenizer and configs, as they are
            if not name.startswith("model.onnx"):
                shutil.copy2(source / name, staging / name)
    return len(ifs)


def session(path: Path, threads: int, library: Path | None = None) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    if library:
        options.register_custom_ops_library(str(library))
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("moe", type=Path, help="a cpu int4 export of a Qwen3-MoE")
    parser.add_argument("--work", type=Path, required=True, help="where the fused graph is written")
    parser.add_argument("--dense", type=Path, help="a dense cpu int4 export to time beside them")
    parser.add_argument("--rows", type=int, default=1)
    parser.add_argument("--past", type=int, default=128)
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if not (args.moe / "model.onnx").is_file():
        fail(f"{args.moe / 'model.onnx'} does not exist: give a directory written by `kotodama-export convert`")

    library = build()
    print(f"the op's library: {library}", file=sys.stderr)
    started = time.perf_counter()
    layers = fuse(args.moe, args.work)
    print(f"fused {layers} layers into {args.work / 'model.onnx'} in {time.perf_counter() - started:.0f} s",
          file=sys.stderr)
    graphs = {"If per expert": session(args.moe / "model.onnx", args.threads),
              "fused op": session(args.work / "model.onnx", args.threads, library)}
    if args.dense:
        graphs = {"dense": session(args.dense / "model.onnx", args.threads), **graphs}

    rng = np.random.default_rng(0)
    check = random_feeds(graphs["fused op"], args.rows, 1, args.past, rng)
    ours, fused = (graphs[name].run(["logits"], check)[0] for name in ("If per expert", "fused op"))
    agreement = {"max_abs_logit_diff": float(np.abs(ours - fused).max()),
                 "argmax_equal": bool((ours.argmax(-1) == fused.argmax(-1)).all())}
    print(f"logits of one decode step, fused op against the If per expert: {agreement}", file=sys.stderr)

    feeds = {name: [random_feeds(s, args.rows, 1, args.past, rng) for _ in range(args.steps)]
             for name, s in graphs.items()}
    times = {name: [] for name in graphs}
    for _ in range(args.rounds):
        for name, s in graphs.items():
            s.run(["logits"], feeds[name][0])  # the round's warm-up
            for f in feeds[name]:
                t = time.perf_counter()
                s.run(["logits"], f)
                times[name].append(time.perf_counter() - t)
    medians = {name: statistics.median(ts) * 1000 for name, ts in times.items()}
    print(f"\n{layers} layers, {args.rows} row(s) after {args.past}, {args.threads} threads, {cpu_name()}, "
          f"ONNX Runtime {ort.__version__}, median of {args.rounds * args.steps} decode steps:")
    for name, ms in medians.items():
        print(f"  {name:14s} {ms:8.2f} ms  {1000 * args.rows / ms:7.2f} tok/s")
    print(json.dumps({"moe": str(args.moe), "dense": args.dense and str(args.dense), "layers": layers,
                      "rows": args.rows, "past": args.past, "threads": args.threads, "cpu": cpu_name(),
                      "onnxruntime": ort.__version__, **agreement,
                      "step_ms": {name: round(ms, 2) for name, ms in medians.items()}}))


if __name__ == "__main__":
    main()
