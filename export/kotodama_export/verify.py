"""`verify`: the exported graph against Hugging Face transformers, through prefill and decode steps.

For each prompt, transformers (float32) generates greedily with its KV cache; ONNX Runtime runs the
exported model on the same tokens (teacher-forced, so every step compares the same context) through
one shared KV buffer per layer, as the Java engine and onnxruntime-genai run it, and then generates
greedily on its own. The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ExportError

DEFAULT_PROMPTS = (
    "日本の首都はどこですか？東京について三つの文で説明してください。",
    "The quick brown fox jumps over the lazy dog. Once upon a time,",
    "def fibonacci(n):\n    if n < 2:\n        return n\n",
)


@dataclass(frozen=True)
class Tolerances:
    max_abs_diff: float | None = None
    min_top1: float | None = None
    max_kl: float | None = None
    require_greedy_match: bool | None = None

    def for_precision(self, precision: str) -> Tolerances:
        """Unset bounds take the defaults: exact-ish for fp32, distributional for everything lower."""
        exact = precision == "fp32"
        return Tolerances(
            self.max_abs_diff if self.max_abs_diff is not None else (1e-3 if exact else None),
            self.min_top1 if self.min_top1 is not None else (None if exact else 0.95),
            self.max_kl if self.max_kl is not None else (None if exact else 0.05),
            self.require_greedy_match if self.require_greedy_match is not None else exact,
        )


def register_custom_ops(options: object, model_dir: Path) -> None:
    """Registers the directory's own custom operator library, if its manifest names one (convert
    --moe-kernel fused), with ``options`` (an onnxruntime.SessionOptions that must outlive the session)."""
    library = json.loads((model_dir / "kotodama.json").read_text(encoding="utf-8")).get("custom_ops")
    if library:
        options.register_custom_ops_library(str(model_dir / library["library"]))


class OnnxDecoder:
    """Runs an exported model directory step by step with one shared KV buffer per layer (IOBinding)."""

    def __init__(self, model_dir: Path, threads: int = 0) -> None:
        import onnxruntime as ort

        config = json.loads((model_dir / "genai_config.json").read_text(encoding="utf-8"))["model"]["decoder"]
        self.layers, self.kv_heads, self.head_dim = (config["num_hidden_layers"], config["num_key_value_heads"],
                                                     config["head_size"])
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        register_custom_ops(options, model_dir)
        self.session = ort.InferenceSession(str(model_dir / "model.onnx"), options, providers=["CPUExecutionProvider"])
        kv_type = next(i.type for i in self.session.get_inputs() if i.name.startswith("past_key_values"))
        self.kv_dtype = np.float16 if "float16" in kv_type else np.float32
        self.ort = ort

    def start(self, max_length: int) -> None:
        """Fresh zeroed KV buffers [1, kv_heads, max_length, head_dim] for one sequence."""
        shape = (1, self.kv_heads, max_length, self.head_dim)
        self.cache = [self.ort.OrtValue.ortvalue_from_numpy(np.zeros(shape, self.kv_dtype))
                      for _ in range(2 * self.layers)]
        self.length = 0

    def step(self, ids: list[int]) -> np.ndarray:
        """Feeds tokens after those fed so far; returns the last position's float32 logits [1, vocab]."""
        self.length += len(ids)
        binding = self.session.io_binding()
        binding.bind_cpu_input("input_ids", np.array([ids], dtype=np.int64))
        binding.bind_cpu_input("attention_mask", np.ones((1, self.length), dtype=np.int64))
        binding.bind_output("logits")
        for layer in range(self.layers):
            for k, kind in enumerate(("key", "value")):
                buffer = self.cache[2 * layer + k]
                binding.bind_ortvalue_input(f"past_key_values.{layer}.{kind}", buffer)
                binding.bind_ortvalue_output(f"present.{layer}.{kind}", buffer)
        self.session.run_with_iobinding(binding)
        return binding.get_outputs()[0].numpy()[0]

    def greedy(self, prompt: list[int], new_tokens: int) -> list[int]:
        self.start(len(prompt) + new_tokens)
        logits = self.step(prompt)
        tokens = [int(logits[-1].argmax())]
        while len(tokens) < new_tokens:
            tokens.append(int(self.step(tokens[-1:])[-1].argmax()))
        return tokens


def reference_run(model: object, prompt: list[int], new_tokens: int) -> tuple[list[int], np.ndarray]:
    """transformers' greedy continuation and its logits: the prompt's last position, then one row per decode step."""
    import torch

    with torch.no_grad():
        out = model(torch.tensor([prompt]), use_cache=True)
        rows = [out.logits[0, -1:].double()]
        tokens = [int(out.logits[0, -1].argmax())]
        for _ in range(new_tokens):
            out = model(torch.tensor([tokens[-1:]]), past_key_values=out.past_key_values, use_cache=True)
            rows.append(out.logits[0].double())
            tokens.append(int(out.logits[0, -1].argmax()))
    return tokens[:new_tokens], torch.cat(rows).numpy()


def compare(reference: np.ndarray, ours: np.ndarray) -> dict:
    """max |Δ|, top-1 agreement and KL(reference || ours) over the rows (positions) of two logit arrays."""
    ours = ours.astype(np.float64)
    log_p = reference - _logsumexp(reference)
    log_q = ours - _logsumexp(ours)
    kl = (np.exp(log_p) * (log_p - log_q)).sum(axis=-1)
    return {
        "max_abs_logit_diff": float(np.abs(reference - ours).max()),
        "top1": float((reference.argmax(-1) == ours.argmax(-1)).mean()),
        "kl": float(kl.mean()),
        "positions": int(reference.shape[0]),
    }


def _logsumexp(x: np.ndarray) -> np.ndarray:
    m = x.max(axis=-1, keepdims=True)
    return m + np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def run_verification(checkpoint: Path, model_dir: Path, prompts: list[str], new_tokens: int = 32) -> dict:
    """Runs transformers and the export on the prompts; prints a table; returns the figures."""
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModelForCausalLM

    manifest_path = model_dir / "kotodama.json"
    if not manifest_path.is_file():
        raise ExportError(f"{model_dir} is not a Kotodama model directory (no kotodama.json)")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    print(f"loading {checkpoint} in transformers (float32) and {model_dir} in onnxruntime (CPU)")
    model = AutoModelForCausalLM.from_pretrained(checkpoint, dtype=torch.float32).eval()
    decoder = OnnxDecoder(model_dir)
    rows, reference_all, ours_all = [], [], []
    for prompt in prompts:
        ids = tokenizer.encode(prompt, add_special_tokens=False).ids
        started = time.monotonic()
        expected, reference = reference_run(model, ids, new_tokens)
        decoder.start(len(ids) + new_tokens + 1)
        ours = np.concatenate([decoder.step(ids)] + [decoder.step([t]) for t in expected])
        figures = compare(reference, ours)
        figures["greedy_match"] = decoder.greedy(ids, new_tokens) == expected
        figures["seconds"] = time.monotonic() - started
        rows.append((prompt, len(ids), figures))
        reference_all.append(reference)
        ours_all.append(ours)
    _print_table(rows)
    overall = compare(np.concatenate(reference_all), np.concatenate(ours_all))
    return {
        "precision": manifest["precision"],
        "target": manifest["target"],
        "prompts": len(prompts),
        "decode_steps": new_tokens,
        "max_abs_logit_diff": overall["max_abs_logit_diff"],
        "top1_agreement": overall["top1"],
        "mean_kl": overall["kl"],
        "greedy_match": all(f["greedy_match"] for _, _, f in rows),
    }


def verify(checkpoint: Path, model_dir: Path, *, prompts_file: Path | None = None, new_tokens: int = 32,
           tolerances: Tolerances = Tolerances()) -> int:
    """The CLI command: figures, a FAIL line per bound exceeded, the JSON line; exit 4 on a failure."""
    result = run_verification(checkpoint, model_dir, _prompts(prompts_file), new_tokens)
    failures = _failures(result, tolerances.for_precision(result["precision"]))
    for failure in failures:
        print(f"FAIL: {failure}")
    print(json.dumps(result))
    return 4 if failures else 0


def _prompts(prompts_file: Path | None) -> list[str]:
    if prompts_file is None:
        return list(DEFAULT_PROMPTS)
    if not prompts_file.is_file():
        raise ExportError(f"--prompts {prompts_file} does not exist")
    prompts = [line for line in prompts_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not prompts:
        raise ExportError(f"--prompts {prompts_file} has no non-empty line")
    return prompts


def _failures(result: dict, bounds: Tolerances) -> list[str]:
    failures = []
    if bounds.max_abs_diff is not None and result["max_abs_logit_diff"] > bounds.max_abs_diff:
        failures.append(f"max |Δlogit| {result['max_abs_logit_diff']:.3g} > {bounds.max_abs_diff:g}")
    if bounds.min_top1 is not None and result["top1_agreement"] < bounds.min_top1:
        failures.append(f"top-1 agreement {result['top1_agreement']:.4f} < {bounds.min_top1:g}")
    if bounds.max_kl is not None and result["mean_kl"] > bounds.max_kl:
        failures.append(f"mean KL {result['mean_kl']:.3g} > {bounds.max_kl:g}")
    if bounds.require_greedy_match and not result["greedy_match"]:
        failures.append("greedy continuations differ from transformers'")
    return failures


def _print_table(rows: list[tuple[str, int, dict]]) -> None:
    print(f"{'prompt':<34} {'tokens':>6} {'positions':>9} {'max|Δlogit|':>12} {'top-1':>7} {'mean KL':>10} "
          f"{'greedy':>7} {'s':>6}")
    for prompt, length, f in rows:
        shown = prompt.replace("\n", "⏎")[:32]
        print(f"{shown:<34} {length:>6} {f['positions']:>9} {f['max_abs_logit_diff']:>12.3g} {f['top1']:>7.3f} "
              f"{f['kl']:>10.3g} {'same' if f['greedy_match'] else 'DIFF':>7} {f['seconds']:>6.1f}")
