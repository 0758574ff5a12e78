"""`convert`: a Hugging Face checkpoint -> a Kotodama model directory (docs/model-directory.md).

The directory is assembled under a temporary sibling name and renamed into place only when every file
is written, so an interrupted export never leaves a directory that looks complete.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from . import __version__, native
from .atomic import atomic_directory
from .checkpoint import Checkpoint, source_digest
from .errors import ExportError
from .graph import BFLOAT16, FLOAT16, FLOAT32, Graph
from .llama import LlamaBuilder, Precision, role_parameters
from .quant import BLOCK_SIZES, DEFAULT_RECIPE, RECIPES
from .qwen3_moe import Qwen3MoeBuilder
from .spec import ModelSpec, read_spec

TARGETS = ("cpu", "cuda")
PRECISIONS = ("fp32", "fp16", "bf16", "int4")
MANIFEST = "kotodama.json"
CHAT_FORMATS = ("harmony", "template")
MOE_KERNELS = ("graph", "fused")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja",
                   "generation_config.json")
HARMONY_STOP_TOKENS = ("<|return|>", "<|call|>")
# KV-cache length that genai_config's search.max_length offers by default (the full context is in
# model.context_length): a 65,536-token fp32 cache of an 8B model would need 17 GB per sequence.
DEFAULT_SEARCH_MAX_LENGTH = 4096


def precision_for(target: str, precision: str, accuracy_level: int | None, quant: str | None = None,
                  block_size: int | None = None, moe_kernel: str | None = None) -> Precision:
    if target not in TARGETS:
        raise ExportError(f"unknown target {target!r}: use one of {', '.join(TARGETS)}")
    if precision not in PRECISIONS:
        raise ExportError(f"unknown precision {precision!r}: use one of {', '.join(PRECISIONS)}")
    if target == "cpu" and precision in ("fp16", "bf16"):
        raise ExportError(f"target cpu runs float32 activations: use --precision fp32 or int4 (or --target cuda for {precision})")
    if target == "cuda" and precision == "fp32":
        raise ExportError("target cuda runs fp16 or bf16 activations: use --precision fp16, bf16 or int4")
    activations = {"fp32": FLOAT32, "fp16": FLOAT16, "bf16": BFLOAT16, "int4": FLOAT32 if target == "cpu" else FLOAT16}
    level = accuracy_level if accuracy_level is not None else (4 if target == "cpu" else 0)
    if quant is not None and precision != "int4":
        raise ExportError(f"--quant chooses how int4 weights are rounded; precision {precision} has none")
    if quant is not None and quant not in RECIPES:
        raise ExportError(f"unknown quantization recipe {quant!r}: use one of {', '.join(RECIPES)}")
    if block_size is not None and precision != "int4":
        raise ExportError(f"--block-size sets the int4 weights' block; precision {precision} has none")
    if block_size is not None and block_size not in BLOCK_SIZES:
        raise ExportError(f"--block-size {block_size} is not one of {', '.join(map(str, BLOCK_SIZES))} "
                          "(16 to 256: what ONNX Runtime's CPU kernels take)")
    recipe = RECIPES[quant or DEFAULT_RECIPE]
    if block_size is not None:
        recipe = recipe.with_block(block_size)
    if moe_kernel not in (None, *MOE_KERNELS):
        raise ExportError(f"unknown MoE kernel {moe_kernel!r}: use one of {', '.join(MOE_KERNELS)}")
    if moe_kernel == "fused" and (target, precision) != ("cpu", "int4"):
        raise ExportError(f"--moe-kernel fused runs int4 experts on the CPU; this export is {target} {precision}: "
                          "drop --moe-kernel or export --target cpu --precision int4")
    if moe_kernel == "fused" and (recipe.method.bits, recipe.method.block, level) != (4, 32, 4):
        raise ExportError("--moe-kernel fused takes 4-bit blocks of 32 and int8 activations (accuracy level 4): "
                          "drop --block-size and --accuracy-level, or use --moe-kernel graph")
    return Precision(precision, activations[precision], precision == "int4", level,
                     int4_embedding=precision == "int4" and target == "cpu",
                     quant=recipe if precision == "int4" else None, moe_kernel=moe_kernel or "graph")


def convert(checkpoint: Path, out: Path, target: str, precision_name: str, *, force: bool = False,
            accuracy_level: int | None = None, quant: str | None = None, block_size: int | None = None,
            chat_format: str | None = None, router_logits: bool = False, moe_kernel: str | None = None,
            progress: Callable[[str], None] = print) -> Path:
    """Export ``checkpoint`` into the model directory ``out``; ``chat_format`` (harmony | template)
    overrides what the checkpoint's chat_template.jinja says (for a checkpoint without one);
    ``router_logits`` adds a mixture of experts' router logits as outputs (for checking the routing);
    ``quant`` names how int4 weights are chosen (quant.RECIPES, default quant.DEFAULT_RECIPE) and
    ``block_size`` overrides its block (32): larger blocks prefill faster and lose more; ``moe_kernel``
    fused runs a cpu int4 mixture of experts through the kotodama.Int4MoE op, whose library (native.py) the
    directory then holds, instead of an If per expert (graph, the default)."""
    precision = precision_for(target, precision_name, accuracy_level, quant, block_size, moe_kernel)
    if chat_format not in (None, *CHAT_FORMATS):
        raise ExportError(f"unknown chat format {chat_format!r}; use one of {', '.join(CHAT_FORMATS)}")
    if not checkpoint.is_dir():
        raise ExportError(f"checkpoint {checkpoint} is not a directory")
    spec = read_spec(checkpoint)
    if spec.num_experts and target == "cuda" and precision.int4:
        raise ExportError("int4 mixture of experts for cuda is not supported: ONNX Runtime's CUDA QMoE wants its "
                          "weights pre-packed for the GPU's architecture; export --precision fp16 or bf16 for cuda, "
                          "or int4 for cpu")
    if precision.moe_kernel == "fused" and not spec.num_experts:
        raise ExportError(f"--moe-kernel fused is for a mixture of experts; {checkpoint} is a {spec.architecture}")
    if precision.moe_kernel == "fused" and (spec.hidden_size % 64 or spec.moe_intermediate_size % 64):
        raise ExportError(f"--moe-kernel fused needs hidden and expert widths that are multiples of 64 (here "
                          f"{spec.hidden_size} and {spec.moe_intermediate_size}): use --moe-kernel graph")
    library = native.build_library() if precision.moe_kernel == "fused" else None
    if router_logits and not spec.num_experts:
        raise ExportError(f"--router-logits needs a mixture-of-experts checkpoint; {checkpoint} is a {spec.architecture}")
    if precision.int4 and target == "cpu":  # ONNX Runtime's CUDA MatMulNBits with 8 bits is not checked here
        precision = dataclasses.replace(precision, wide=precision.quant.wide_roles(role_parameters(spec, precision)))
    started = time.monotonic()
    with atomic_directory(out, force) as staging:
        progress(f"exporting {spec.architecture} ({spec.num_layers} layers, hidden {spec.hidden_size}, "
                 f"vocab {spec.vocab_size}) for {target} {precision_name} into {out}")
        with Checkpoint(checkpoint) as ckpt:
            graph = Graph(staging / "model.onnx.data")
            try:
                if spec.num_experts:
                    Qwen3MoeBuilder(spec, ckpt, graph, precision, progress, router_logits=router_logits).build()
                else:
                    LlamaBuilder(spec, ckpt, graph, precision, progress).build()
            finally:
                graph.close()
            graph.save(staging / "model.onnx", f"{spec.architecture} exported by kotodama-export {__version__}")
        copied = _copy_side_files(checkpoint, staging)
        if library:
            shutil.copy2(library, staging / native.LIBRARY)
        progress("hashing the source files")
        digest = source_digest(checkpoint)
        stop_ids = _stop_token_ids(staging / "tokenizer.json", spec)
        _write_json(staging / "genai_config.json", genai_config(spec, precision, target, stop_ids))
        _write_json(staging / MANIFEST, manifest(spec, precision, target, stop_ids, checkpoint, digest, copied,
                                                 chat_format))
    size = sum(f.stat().st_size for f in out.iterdir())
    progress(f"wrote {out} ({size / 1e6:.1f} MB) in {time.monotonic() - started:.1f} s")
    return out


def genai_config(spec: ModelSpec, precision: Precision, target: str, stop_ids: list[int]) -> dict:
    """onnxruntime-genai's config: what its model loader and search read, and nothing it rejects."""
    provider_options = [{"cuda": {}}] if target == "cuda" else []
    session_options = {"log_id": "onnxruntime-genai", "provider_options": provider_options,
                       **({"custom_ops_library": native.LIBRARY} if precision.moe_kernel == "fused" else {})}
    return {
        "model": {
            "bos_token_id": spec.bos_token_id if spec.bos_token_id is not None else 1,
            "context_length": spec.context_length,
            "decoder": {
                "session_options": session_options,
                "filename": "model.onnx",
                "head_size": spec.head_dim,
                "hidden_size": spec.hidden_size,
                "inputs": {
                    "input_ids": "input_ids",
                    "attention_mask": "attention_mask",
                    "past_key_names": "past_key_values.%d.key",
                    "past_value_names": "past_key_values.%d.value",
                },
                "outputs": {
                    "logits": "logits",
                    "present_key_names": "present.%d.key",
                    "present_value_names": "present.%d.value",
                },
                "num_attention_heads": spec.num_heads,
                "num_hidden_layers": spec.num_layers,
                "num_key_value_heads": spec.num_kv_heads,
            },
            "eos_token_id": stop_ids if len(stop_ids) > 1 else stop_ids[0],
            "pad_token_id": spec.pad_token_id if spec.pad_token_id is not None else stop_ids[0],
            "type": "llama",
            "vocab_size": spec.vocab_size,
        },
        "search": {
            "diversity_penalty": 0.0,
            "do_sample": False,
            "early_stopping": True,
            "length_penalty": 1.0,
            "max_length": min(spec.context_length, DEFAULT_SEARCH_MAX_LENGTH),
            "min_length": 0,
            "no_repeat_ngram_size": 0,
            "num_beams": 1,
            "num_return_sequences": 1,
            "past_present_share_buffer": True,
            "repetition_penalty": 1.0,
            "temperature": 1.0,
            "top_k": 1,
            "top_p": 1.0,
        },
    }


def manifest(spec: ModelSpec, precision: Precision, target: str, stop_ids: list[int], checkpoint: Path,
             digest: dict[str, str], copied: list[str], chat_format: str | None = None) -> dict:
    """Kotodama's own facts about the directory: what the Java runtime checks before it loads the model."""
    import onnxruntime

    fused = precision.moe_kernel == "fused"  # the directory holds the kernel's library

    quantization = None
    if precision.int4:
        quantization = {"op": "MatMulNBits", **precision.quant.manifest(precision.wide),
                        "accuracy_level": precision.accuracy_level,
                        "embedding": ("GatherBlockQuantized" if precision.gathers_int4(spec.hidden_size)
                                      else precision.activations.name),
                        **({"moe_kernel": precision.moe_kernel} if spec.num_experts else {})}
    return {
        "format": "kotodama-model/1",
        "architecture": spec.architecture,
        "target": target,
        "precision": precision.name,
        "activation_dtype": precision.activations.name,
        "kv_cache_dtype": precision.activations.name,
        "quantization": quantization,
        "context_length": spec.context_length,
        "vocab_size": spec.vocab_size,
        "stop_token_ids": stop_ids,
        "chat_format": chat_format or ("harmony" if "chat_template.jinja" in copied and _is_harmony(checkpoint)
                                       else "template"),
        **({"custom_ops": {"library": native.LIBRARY, "platform": native.platform_name(),
                           "ops": ["kotodama.Int4MoE"]}} if fused else {}),
        "files": sorted(["model.onnx", "model.onnx.data", "genai_config.json", "config.json", *copied,
                         *([native.LIBRARY] if fused else [])]),
        "source": {"checkpoint": checkpoint.resolve().name, "sha256": digest},
        "exporter": {"name": "kotodama-export", "version": __version__, "onnxruntime": onnxruntime.__version__},
    }


def _is_harmony(checkpoint: Path) -> bool:
    return "<|channel|>" in (checkpoint / "chat_template.jinja").read_text(encoding="utf-8")


def _stop_token_ids(tokenizer_json: Path, spec: ModelSpec) -> list[int]:
    """The config's eos ids, plus Harmony's <|return|> and <|call|> when the tokenizer has them."""
    ids = list(spec.eos_token_ids)
    if tokenizer_json.is_file():
        added = {t["content"]: t["id"] for t in json.loads(tokenizer_json.read_text(encoding="utf-8")).get("added_tokens", [])}
        ids += [added[t] for t in HARMONY_STOP_TOKENS if t in added and added[t] not in ids]
    if not ids:
        raise ExportError("the checkpoint's config.json has no eos_token_id and its tokenizer no <|return|>: "
                          "add eos_token_id to config.json")
    return ids


def _copy_side_files(checkpoint: Path, staging: Path) -> list[str]:
    if not (checkpoint / "tokenizer.json").is_file():
        raise ExportError(f"{checkpoint} has no tokenizer.json: build one with "
                          "`kotodama-export tokenizer --sentencepiece FILE --config tokenizer_config.json --out "
                          f"{checkpoint}`")
    shutil.copy2(checkpoint / "config.json", staging / "config.json")
    copied = [name for name in TOKENIZER_FILES if (checkpoint / name).is_file()]
    for name in copied:
        shutil.copy2(checkpoint / name, staging / name)
    return copied


def _write_json(path: Path, value: dict) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
