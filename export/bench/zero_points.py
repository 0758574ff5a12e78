"""What a float zero point would buy and what it costs: two ways for a 4-bit block to hold its minimum.

    export/kotodama-export --python export/bench/zero_points.py --checkpoint DIR --text FILE [--ctx 256]

Ours (`--quant mse`, kotodama_export.quant): w = (q - z) * s with an integer z in 0..15, which MatMulNBits
reads as packed uint8 zero points. llama.cpp's Q4_1 (and, with quantized mins, Q4_K's sub-blocks):
w = q * d + m with a float minimum m. MatMulNBits also takes float zero points (z = -m / d, one per block).

1. Quality: every matrix that the export runs as MatMulNBits rounded both ways in transformers (a tied
   table as the export rounds it, mse in 4 bits, in both; an untied embedding, a gather, stays float),
   scored as quant_quality.py scores (the same chunks and positions): mean KL and top-1 against float32.
   The float minimum and its step are float16, as the file would hold them.
2. Speed: one MatMulNBits of llm-jp-4-8b's [4096 -> 4096] shape on the CPU provider of the exporter's ONNX
   Runtime, 2 threads, uint8 against float zero points, accuracy_level 4 (the cpu default) and 0, for 1 and
   8 rows: mean time of a run.
Progress on stderr; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from onnx import TensorProto, helper, numpy_helper
from quant_quality import chunks, figures, log, log_probs, scored_targets  # this file's directory is on sys.path when run as a script
from transformers import AutoModelForCausalLM

from kotodama_export import quant

BLOCK = 32


def float_minimum(w: np.ndarray) -> np.ndarray:
    """Q4_1's rounding: per block of 32, d = (max - min) / 15 and m = min, both float16; w ~= q * d + m."""
    n, k = w.shape
    blocks = w.reshape(n, -1, BLOCK).astype(np.float64)
    lo, hi = blocks.min(-1, keepdims=True), blocks.max(-1, keepdims=True)
    step = ((hi - lo) / 15).astype(np.float16).astype(np.float64)
    lo = lo.astype(np.float16).astype(np.float64)
    q = np.clip(np.rint(np.divide(blocks - lo, step, out=np.zeros_like(blocks), where=step != 0)), 0, 15)
    return (q * step + lo).reshape(n, k).astype(np.float32)


def integer_zero_point(w: np.ndarray) -> np.ndarray:
    return quant.dequantize(quant.quantize(w, quant.MSE), w.shape[1])


def quality(checkpoint: Path, text: Path, ctx: int) -> dict:
    pieces = chunks(checkpoint, text, ctx)
    targets = scored_targets(pieces)
    model = AutoModelForCausalLM.from_pretrained(checkpoint, dtype=torch.float32).eval()
    log(f"{len(pieces)} chunks of {ctx} tokens, {len(targets)} scored positions; float32 ...")
    reference = log_probs(model, pieces)
    original = {name: p.detach().clone() for name, p in model.named_parameters()}
    tied = model.config.tie_word_embeddings
    matrices = [name for name, m in model.named_modules() if isinstance(m, torch.nn.Linear) and not (tied and name == "lm_head")]
    if tied:  # the same in both: rounded once
        with torch.no_grad():
            model.get_input_embeddings().weight.copy_(
                torch.from_numpy(integer_zero_point(original["model.embed_tokens.weight"].numpy())))
    out = {}
    for label, rounding in (("integer zero point (mse)", integer_zero_point), ("float minimum (Q4_1)", float_minimum)):
        with torch.no_grad():
            for name in matrices:
                model.get_submodule(name).weight.copy_(torch.from_numpy(rounding(original[f"{name}.weight"].numpy())))
        out[label] = figures(reference, log_probs(model, pieces), targets)
        log(f"{label}: {json.dumps(out[label])}")
    return {"matrices": len(matrices), "positions": len(targets), **out}


def matmul(k: int, n: int, level: int, zero_points: np.ndarray, packed: np.ndarray, scales: np.ndarray) -> ort.InferenceSession:
    node = helper.make_node("MatMulNBits", ["A", "B", "scales", "zero_points"], ["Y"], domain="com.microsoft", K=k, N=n,
                            bits=4, block_size=BLOCK, accuracy_level=level)
    graph = helper.make_graph([node], "matmul", [helper.make_tensor_value_info("A", TensorProto.FLOAT, ["M", k])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["M", n])],
                              [numpy_helper.from_array(packed, "B"), numpy_helper.from_array(scales, "scales"),
                               numpy_helper.from_array(zero_points, "zero_points")])
    model = helper.make_model(graph, ir_version=10, opset_imports=[helper.make_opsetid("", 17),
                                                                   helper.make_opsetid("com.microsoft", 1)])
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def speed(k: int = 4096, n: int = 4096, runs: int = 200) -> dict:
    rng = np.random.default_rng(0)
    q = rng.integers(0, 16, size=(n, k // BLOCK, BLOCK)).astype(np.uint8)
    packed = q[..., 0::2] | (q[..., 1::2] << 4)
    scales = (rng.random((n, k // BLOCK)) * 0.01 + 0.001).astype(np.float32)
    integer = rng.integers(0, 16, size=(n, k // BLOCK)).astype(np.uint8)
    zero_points = {"uint8": integer[:, 0::2] | (integer[:, 1::2] << 4),
                   "float": (integer + rng.random(integer.shape)).astype(np.float32)}
    out = {}
    for level in (4, 0):
        for kind, z in zero_points.items():
            session = matmul(k, n, level, z, packed, scales)
            for rows in (1, 8):
                a = rng.standard_normal((rows, k)).astype(np.float32)
                session.run(None, {"A": a})
                started = time.perf_counter()
                for _ in range(runs):
                    session.run(None, {"A": a})
                key = f"level {level}, {kind} zero points, M={rows}"
                out[key] = round((time.perf_counter() - started) / runs * 1e6)
                log(f"MatMulNBits [{rows}, {k}] x [{k} -> {n}], {key}: {out[key]} us")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--text", type=Path, required=True)
    parser.add_argument("--ctx", type=int, default=256)
    args = parser.parse_args()
    torch.set_num_threads(2)
    result = {"checkpoint": str(args.checkpoint), "text": str(args.text), "ctx": args.ctx, "onnxruntime": ort.__version__,
              "quality": quality(args.checkpoint, args.text, args.ctx), "microseconds": speed()}
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
