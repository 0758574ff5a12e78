"""The trained demo checkpoint, read back from the fp32 model directory that the app embeds.

Run: ``kotodama-export --python -m kotodama_export.demo.checkpoint --out DIR [--model DIR]``. The
export stores every weight of the trained Llama in float32, so inverting its layout (the q, k and v
projections packed into one matrix, every matrix transposed) gives the trained weights bit for bit:
the written ``model.safetensors`` has the SHA-256 that the manifest recorded for the checkpoint it was
exported from, and ``recover`` checks that. Tests that need trained weights use this instead of
training for minutes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from safetensors.torch import save_file

from ..atomic import atomic_directory
from ..errors import ExportError
from ..llama import EMBED, FINAL_NORM, LM_HEAD, hf

EMBEDDED = Path(__file__).resolve().parents[3] / "src/main/resources/dev/kotodama/demo/kotodama-demo"
SIDE_FILES = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json")


def recover(model_dir: Path, out: Path, *, force: bool = False) -> Path:
    """Writes the Hugging Face checkpoint that ``model_dir`` (a cpu fp32 Llama export) was made from."""
    manifest = json.loads((model_dir / "kotodama.json").read_text(encoding="utf-8"))
    if manifest["precision"] != "fp32" or manifest["architecture"] != "LlamaForCausalLM":
        raise ExportError(f"{model_dir}: only a float32 Llama export holds its checkpoint's weights exactly"
                          f" (this one is {manifest['architecture']} in {manifest['precision']})")
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    graph = onnx.load(str(model_dir / "model.onnx"), load_external_data=True)
    weights = {t.name: numpy_helper.to_array(t) for t in graph.graph.initializer}

    def matrix(name: str) -> torch.Tensor:  # the graph's [in, out] back to Hugging Face's [out, in]
        return torch.from_numpy(np.ascontiguousarray(weights[f"{name}/weight"].T))

    def vector(name: str) -> torch.Tensor:
        return torch.from_numpy(weights[f"{name}/weight"].copy())

    head_dim = config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]
    q_rows = config["num_attention_heads"] * head_dim
    kv_rows = config["num_key_value_heads"] * head_dim
    tensors = {EMBED: torch.from_numpy(weights["/model/embed_tokens/weight"].copy()),
               FINAL_NORM: vector("/model/norm"), LM_HEAD: matrix("/lm_head")}
    for layer in range(config["num_hidden_layers"]):
        base = f"/model/layers.{layer}"
        q, k, v = matrix(f"{base}/attn/qkv_proj").split([q_rows, kv_rows, kv_rows])
        tensors |= {
            hf(layer, "self_attn.q_proj"): q.contiguous(), hf(layer, "self_attn.k_proj"): k.contiguous(),
            hf(layer, "self_attn.v_proj"): v.contiguous(), hf(layer, "self_attn.o_proj"): matrix(f"{base}/attn/o_proj"),
            hf(layer, "mlp.gate_proj"): matrix(f"{base}/mlp/gate_proj"), hf(layer, "mlp.up_proj"): matrix(f"{base}/mlp/up_proj"),
            hf(layer, "mlp.down_proj"): matrix(f"{base}/mlp/down_proj"),
            hf(layer, "input_layernorm"): vector(f"{base}/input_layernorm"),
            hf(layer, "post_attention_layernorm"): vector(f"{base}/post_attention_layernorm"),
        }
    with atomic_directory(out, force) as staging:
        save_file(tensors, staging / "model.safetensors", metadata={"format": "pt"})
        for name in SIDE_FILES:
            shutil.copyfile(model_dir / name, staging / name)
        want = manifest["source"]["sha256"]["model.safetensors"]
        got = hashlib.sha256((staging / "model.safetensors").read_bytes()).hexdigest()
        if got != want:
            raise ExportError(f"{model_dir}: the weights read back hash to {got}, not to the exported"
                              f" checkpoint's {want}; the graph's layout is not the one this reader inverts")
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--model", type=Path, default=EMBEDDED, help="a cpu fp32 Llama model directory (default: the embedded demo)")
    p.add_argument("--force", action="store_true")
    a = p.parse_args(argv)
    print(f"wrote {recover(a.model, a.out, force=a.force)}")


if __name__ == "__main__":
    main()
