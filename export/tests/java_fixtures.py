"""Fixtures for the Java integration tests, made with the references the Java code is checked against.

    export/kotodama-export --python export/tests/java_fixtures.py OUT_DIR

Maven runs this before its integration tests (pre-integration-test), so `./mvnw verify` is whole. It
writes into OUT_DIR:
  tokenizer/                 the LLM-jp-4 tokenizer.json built from the shared SentencePiece model
  tokenizer-reference.json   per corpus line: the text, the ids of the `sentencepiece` library (the
                             reference for user text, which must never become special tokens) and of
                             the HF `tokenizers` library (`encode(add_special_tokens=False)`)
  tiny-llama/                a random tiny-llama checkpoint (bf16)
  tiny-fp32/, tiny-int4/     its cpu exports
  generation-reference.json  per prompt: prompt ids and transformers' 64 greedy tokens (float32)
  tiny-qwen3-moe/, moe-fp32/, moe-int4/  a random tiny-qwen3-moe checkpoint (8 experts, top-2) and its cpu
                             fp32 and int4 exports (int4: the experts routed by the graph's own branches)
  moe-int4-fused/            its int4 export with `--moe-kernel fused` (the kotodama.Int4MoE op and its library)
  generation-reference-moe.json  the same for tiny-qwen3-moe
  logits-reference.json      for the fp32 and int4 exports: input ids fed in steps, and the last-position
                             logits onnxruntime (Python) gives after each step, as float32 hex strings
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import sentencepiece as spm
import torch
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM

from kotodama_export.convert import convert
from kotodama_export.demo import corpus as demo_corpus
from kotodama_export.random_checkpoint import shared_dir, write_random_checkpoint
from kotodama_export.sp_tokenizer import build_tokenizer_json
from kotodama_export.verify import OnnxDecoder, reference_run

CORPUS = Path(__file__).parent / "data" / "tokenizer_corpus.txt"
PROMPTS = [
    "日本の首都はどこですか？東京について三つの文で説明してください。",
    "The quick brown fox jumps over the lazy dog. Once upon a time,",
    "def fibonacci(n):\n    if n < 2:\n        return n\n",
]
GREEDY_TOKENS = 64


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    shared = shared_dir() / "llm-jp-4"
    tokenizer_dir = out / "tokenizer"
    build_tokenizer_json(shared / "llm-jp-tokenizer_ver4.0_alpha1.0.model", shared / "tokenizer_config.json",
                         tokenizer_dir)
    write_tokenizer_reference(shared / "llm-jp-tokenizer_ver4.0_alpha1.0.model", tokenizer_dir / "tokenizer.json",
                              out / "tokenizer-reference.json")
    checkpoint = write_random_checkpoint(out / "tiny-llama", preset="tiny-llama", seed=1, force=True)
    exports = {p: convert(checkpoint, out / f"tiny-{p}", "cpu", p, force=True) for p in ("fp32", "int4")}
    tokenizer = Tokenizer.from_file(str(tokenizer_dir / "tokenizer.json"))
    prompt_ids = [tokenizer.encode(p, add_special_tokens=False).ids for p in PROMPTS]
    write_generation_reference(checkpoint, PROMPTS, prompt_ids, out / "generation-reference.json")
    moe = write_random_checkpoint(out / "tiny-qwen3-moe", preset="tiny-qwen3-moe", seed=1, force=True)
    for precision in ("fp32", "int4"):
        convert(moe, out / f"moe-{precision}", "cpu", precision, force=True)
    convert(moe, out / "moe-int4-fused", "cpu", "int4", force=True, moe_kernel="fused")
    write_generation_reference(moe, PROMPTS, prompt_ids, out / "generation-reference-moe.json")
    write_logits_reference(exports, prompt_ids[0], out / "logits-reference.json")
    write_demo_held_out(out / "demo-held-out.json")
    print(f"java fixtures ready in {out}")


def write_tokenizer_reference(sp_model: Path, tokenizer_json: Path, target: Path) -> None:
    sp = spm.SentencePieceProcessor(model_file=str(sp_model))
    hf = Tokenizer.from_file(str(tokenizer_json))
    lines = [line for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    entries = [{"text": line, "sentencepiece_ids": sp.encode(line),
                "tokenizers_ids": hf.encode(line, add_special_tokens=False).ids} for line in lines]
    target.write_text(json.dumps({"lines": entries}, ensure_ascii=False) + "\n", encoding="utf-8")


def write_generation_reference(checkpoint: Path, prompts: list[str], prompt_ids: list[list[int]], target: Path) -> None:
    model = AutoModelForCausalLM.from_pretrained(checkpoint, dtype=torch.float32).eval()
    cases = [{"prompt": p, "prompt_ids": ids, "greedy_tokens": reference_run(model, ids, GREEDY_TOKENS)[0]}
             for p, ids in zip(prompts, prompt_ids)]
    target.write_text(json.dumps({"source": "transformers float32", "cases": cases}, ensure_ascii=False) + "\n",
                      encoding="utf-8")


def write_logits_reference(exports: dict[str, Path], prompt: list[int], target: Path) -> None:
    """Steps: the prompt, then three single tokens; the last-position logits after each."""
    steps = [prompt, [100], [2000], [30000]]
    models = {}
    for precision, model_dir in exports.items():
        decoder = OnnxDecoder(model_dir)
        decoder.start(sum(map(len, steps)))
        logits = [decoder.step(ids)[-1].astype("<f4").tobytes().hex() for ids in steps]
        models[model_dir.name] = {"steps": steps, "last_logits_f32_hex": logits}
    target.write_text(json.dumps({"source": "onnxruntime (Python) CPU", "models": models}) + "\n", encoding="utf-8")


def write_demo_held_out(target: Path, arithmetic: int = 100, weather: int = 50) -> None:
    """Held-out prompts of the demo model's corpus (templates never trained on), for the Java evaluation of
    issues 5 and 20: arithmetic, weather questions on training cities, and on cities never seen."""
    chosen = demo_corpus.evaluation("arithmetic", arithmetic)
    chosen += demo_corpus.evaluation("weather", weather) + demo_corpus.evaluation("weather_new_city", weather)
    cases = [{"kind": c.kind, "language": c.language, "reasoning_effort": c.reasoning_effort,
              "question": c.messages[0]["content"], "tools": bool(c.tools), "answer": c.answer} for c in chosen]
    target.write_text(json.dumps({"weather_tool": demo_corpus.WEATHER_TOOL, "cases": cases}, ensure_ascii=False)
                      + "\n", encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: java_fixtures.py OUT_DIR")
    main(Path(sys.argv[1]))
