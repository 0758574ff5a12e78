"""`random`: a random-weight Hugging Face checkpoint, written tensor by tensor.

The tokenizer files are the real LLM-jp-4 tokenizer, built from the SentencePiece model in the shared
folder, so a random model has the same special tokens at the same ids as the real one. Weights follow
the config's `torch_dtype` (bf16 for the presets) and are streamed into safetensors shards: a 16 GB
checkpoint never sits in memory.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .atomic import atomic_directory
from .errors import ExportError
from .graph import BFLOAT16, FLOAT32, DType
from .llama import EMBED, FINAL_NORM, LM_HEAD, hf
from .sp_tokenizer import build_tokenizer_json
from .spec import is_sparse_layer

PRESETS_DIR = Path(__file__).parent / "presets"
SHARED_PRESETS = {"llm-jp-4-8b": "config-llm-jp-4-8b.json", "llm-jp-4-32b-a3b": "config-llm-jp-4-32b-a3b.json"}
ARCHITECTURES = ("LlamaForCausalLM", "Qwen3MoeForCausalLM")
DTYPES = {"bfloat16": (BFLOAT16, "BF16", 2), "float32": (FLOAT32, "F32", 4)}
SHARD_BYTES = 4 << 30


def shared_dir() -> Path:
    """../shared beside the repository (or $KOTODAMA_SHARED): the LLM-jp-4 tokenizer and configs."""
    configured = os.environ.get("KOTODAMA_SHARED")
    return Path(configured) if configured else Path(__file__).resolve().parents[3] / "shared"


def preset_config(preset: str) -> dict:
    own = PRESETS_DIR / f"{preset}.json"
    if own.is_file():
        return json.loads(own.read_text(encoding="utf-8"))
    if preset in SHARED_PRESETS:
        path = shared_dir() / "llm-jp-4" / SHARED_PRESETS[preset]
        if not path.is_file():
            raise ExportError(f"preset {preset} reads {path}, which is missing: set KOTODAMA_SHARED to the shared folder")
        return json.loads(path.read_text(encoding="utf-8"))
    raise ExportError(f"unknown preset {preset!r}: use one of {', '.join(preset_names())}")


def preset_names() -> list[str]:
    return sorted([p.stem for p in PRESETS_DIR.glob("*.json")] + list(SHARED_PRESETS))


def llama_tensors(config: dict) -> Iterator[tuple[str, tuple[int, ...]]]:
    """Every tensor of a LlamaForCausalLM or Qwen3MoeForCausalLM with its shape, in checkpoint order
    (experts one by one, as the published checkpoints store them)."""
    h, v, i = config["hidden_size"], config["vocab_size"], config["intermediate_size"]
    heads, kv_heads = config["num_attention_heads"], config.get("num_key_value_heads", config["num_attention_heads"])
    d = config.get("head_dim") or h // heads
    moe = config["architectures"][0] == "Qwen3MoeForCausalLM"
    experts = config.get("num_experts", config.get("num_local_experts", 0))  # transformers 5 saves the latter
    yield EMBED, (v, h)
    for layer in range(config["num_hidden_layers"]):
        yield hf(layer, "input_layernorm"), (h,)
        yield hf(layer, "self_attn.q_proj"), (heads * d, h)
        yield hf(layer, "self_attn.k_proj"), (kv_heads * d, h)
        yield hf(layer, "self_attn.v_proj"), (kv_heads * d, h)
        yield hf(layer, "self_attn.o_proj"), (h, heads * d)
        if moe:
            yield hf(layer, "self_attn.q_norm"), (d,)
            yield hf(layer, "self_attn.k_norm"), (d,)
        yield hf(layer, "post_attention_layernorm"), (h,)
        if moe and is_sparse_layer(layer, experts, config.get("mlp_only_layers") or [],
                                   config.get("decoder_sparse_step") or 1):
            mi = config["moe_intermediate_size"]
            yield hf(layer, "mlp.gate"), (experts, h)
            for e in range(experts):
                yield hf(layer, f"mlp.experts.{e}.gate_proj"), (mi, h)
                yield hf(layer, f"mlp.experts.{e}.up_proj"), (mi, h)
                yield hf(layer, f"mlp.experts.{e}.down_proj"), (h, mi)
        else:
            yield hf(layer, "mlp.gate_proj"), (i, h)
            yield hf(layer, "mlp.up_proj"), (i, h)
            yield hf(layer, "mlp.down_proj"), (h, i)
    yield FINAL_NORM, (h,)
    if not config.get("tie_word_embeddings", False):
        yield LM_HEAD, (v, h)


def write_random_checkpoint(out: Path, *, preset: str | None = None, config: Path | None = None,
                            layers: int | None = None, seed: int = 0, force: bool = False,
                            shard_bytes: int = SHARD_BYTES) -> Path:
    values = preset_config(preset) if preset else _read_config(config)
    if values.get("architectures", [None])[0] not in ARCHITECTURES:
        raise ExportError(f"random writes {' or '.join(ARCHITECTURES)} checkpoints; this config is "
                          f"{values.get('architectures')}")
    if layers is not None:
        if layers < 1:
            raise ExportError(f"--layers must be at least 1, not {layers}")
        values["num_hidden_layers"] = layers
    dtype_name = values.get("torch_dtype", "bfloat16")
    if dtype_name not in DTYPES:
        raise ExportError(f"torch_dtype {dtype_name!r} is not one of {', '.join(DTYPES)}")
    shared = shared_dir() / "llm-jp-4"
    started = time.monotonic()
    with atomic_directory(out, force) as staging:
        (staging / "config.json").write_text(json.dumps(values, indent=2) + "\n", encoding="utf-8")
        build_tokenizer_json(shared / "llm-jp-tokenizer_ver4.0_alpha1.0.model", shared / "tokenizer_config.json", staging)
        _write_shards(staging, list(llama_tensors(values)), values, DTYPES[dtype_name], seed, shard_bytes)
    print(f"wrote {out} in {time.monotonic() - started:.1f} s")
    return out


def _read_config(path: Path | None) -> dict:
    if path is None or not path.is_file():
        raise ExportError(f"config {path} does not exist")
    return json.loads(path.read_text(encoding="utf-8"))


def _write_shards(directory: Path, tensors: list[tuple[str, tuple[int, ...]]], config: dict,
                  dtype: tuple[DType, str, int], seed: int, shard_bytes: int) -> None:
    element = dtype[2]
    shards: list[list[tuple[str, tuple[int, ...]]]] = [[]]
    size = 0
    for name, shape in tensors:
        nbytes = int(np.prod(shape)) * element
        if shards[-1] and size + nbytes > shard_bytes:
            shards.append([])
            size = 0
        shards[-1].append((name, shape))
        size += nbytes
    names = [f"model-{k + 1:05d}-of-{len(shards):05d}.safetensors" for k in range(len(shards))]
    if len(shards) == 1:
        names = ["model.safetensors"]
    ordinal = {name: i for i, (name, _) in enumerate(tensors)}
    total = sum(int(np.prod(s)) for _, s in tensors)
    written, started, shown = 0, time.monotonic(), 0.0
    for file_name, shard in zip(names, shards):
        with SafetensorsWriter(directory / file_name, shard, dtype[1], element) as writer:
            for name, shape in shard:
                for chunk in _random_values(shape, config, np.random.default_rng([seed, ordinal[name]])):
                    writer.write(dtype[0].to_bytes(chunk))
                written += int(np.prod(shape))
                if time.monotonic() - shown > 5 or written == total:
                    shown = time.monotonic()
                    print(f"{written / total:6.1%} of {total / 1e9:.2f} B random parameters written "
                          f"({shown - started:.0f} s)", flush=True)
    if len(shards) > 1:
        weight_map = {name: names[k] for k, shard in enumerate(shards) for name, _ in shard}
        meta = {"metadata": {"total_size": total * element}, "weight_map": weight_map}
        (directory / "model.safetensors.index.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def _random_values(shape: tuple[int, ...], config: dict, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Normal(0, initializer_range) for matrices, 1 + Normal(0, 0.1) for norm weights; row slabs of 64 MB."""
    if len(shape) == 1:
        yield (1.0 + 0.1 * rng.standard_normal(shape, dtype=np.float32)).astype(np.float32)
        return
    std = float(config.get("initializer_range", 0.02))
    rows_per_slab = max(1, (64 << 20) // (shape[1] * 4))
    for start in range(0, shape[0], rows_per_slab):
        rows = min(rows_per_slab, shape[0] - start)
        yield std * rng.standard_normal((rows, shape[1]), dtype=np.float32)


class SafetensorsWriter:
    """Writes one safetensors file whose tensors are known up front and whose bytes arrive in order."""

    def __init__(self, path: Path, tensors: list[tuple[str, tuple[int, ...]]], dtype: str, element: int) -> None:
        header: dict[str, object] = {"__metadata__": {"format": "pt"}}
        offset = 0
        for name, shape in tensors:
            nbytes = int(np.prod(shape)) * element
            header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
            offset += nbytes
        encoded = json.dumps(header, separators=(",", ":")).encode()
        encoded += b" " * (-len(encoded) % 8)
        self.expected = offset
        self.written = 0
        self.file = open(path, "wb")
        self.file.write(len(encoded).to_bytes(8, "little") + encoded)

    def write(self, data: bytes) -> None:
        self.file.write(data)
        self.written += len(data)

    def __enter__(self) -> SafetensorsWriter:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.file.close()
        if exc_type is None and self.written != self.expected:
            raise AssertionError(f"{self.file.name}: wrote {self.written} bytes, header promised {self.expected}")
