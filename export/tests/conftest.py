"""Checkpoints and exports the tests share: made once per session from the tiny-llama preset."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kotodama_export.convert import convert
from kotodama_export.random_checkpoint import shared_dir, write_random_checkpoint

JAPANESE_PROMPT = "日本の首都はどこですか？東京について三つの文で説明してください。"
PROMPTS = [
    JAPANESE_PROMPT,
    "The quick brown fox jumps over the lazy dog. Once upon a time,",
    "def fibonacci(n):\n    if n < 2:\n        return n\n",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not (shared_dir() / "llm-jp-4" / "tokenizer_config.json").is_file():
        raise pytest.UsageError(f"the shared folder with the LLM-jp-4 tokenizer is missing: {shared_dir()} "
                                "(set KOTODAMA_SHARED)")


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tiny-llama in bf16, split into several safetensors shards with an index, as big checkpoints are."""
    out = tmp_path_factory.mktemp("ckpt") / "tiny-llama"
    return write_random_checkpoint(out, preset="tiny-llama", seed=1, shard_bytes=40 << 20)


@pytest.fixture(scope="session")
def tiny_fp32(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return convert(tiny_checkpoint, tmp_path_factory.mktemp("onnx") / "tiny-fp32", "cpu", "fp32")


@pytest.fixture(scope="session")
def tiny_int4(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return convert(tiny_checkpoint, tmp_path_factory.mktemp("onnx") / "tiny-int4", "cpu", "int4")


def genai_greedy(model_dir: Path, ids: list[int], new_tokens: int) -> list[int]:
    """onnxruntime-genai's greedy continuation of ``ids`` from the model directory: the peer runtime."""
    import onnxruntime_genai as og

    model = og.Model(str(model_dir))
    params = og.GeneratorParams(model)
    params.set_search_options(max_length=len(ids) + new_tokens, do_sample=False)
    generator = og.Generator(model, params)
    generator.append_tokens(ids)
    tokens = []
    while not generator.is_done():
        generator.generate_next_token()
        tokens.append(int(generator.get_next_tokens()[0]))
    return tokens


def dequantized_copy(checkpoint: Path, out: Path, quantization: dict, dense: Callable[[str], bool] = lambda name: False) -> Path:
    """``checkpoint`` with every matrix replaced by its round trip through the quantization that an int4
    export's manifest records (its recipe, block and 8-bit roles), except those that ``dense`` names; the
    side files copied. transformers on it gives that int4 graph's logits exactly, which separates graph
    errors from quantization error (and holds the manifest to what the graph stores)."""
    import numpy as np
    import torch
    from safetensors.torch import save_file

    from kotodama_export.checkpoint import Checkpoint
    from kotodama_export.quant import RECIPES, dequantize, quantize

    recipe = RECIPES[quantization["method"]].with_block(quantization["block_size"])
    roles = {"self_attn.k_proj.weight": "attn.k", "self_attn.v_proj.weight": "attn.v", "embed_tokens.weight": "embedding"}
    out.mkdir()
    with Checkpoint(checkpoint) as ckpt:
        tensors = {}
        for name in ckpt.names():
            w = ckpt.tensor(name)
            role = next((r for suffix, r in roles.items() if name.endswith(suffix)), None)
            method = recipe.eight_bit() if role in quantization["eight_bit"] else recipe.method
            keep = w.ndim != 2 or dense(name)
            tensors[name] = torch.from_numpy(w if keep else np.ascontiguousarray(dequantize(quantize(w, method),
                                                                                            w.shape[1])))
    save_file(tensors, out / "model.safetensors")
    for f in checkpoint.iterdir():
        if f.suffix != ".safetensors" and not f.name.endswith(".index.json"):
            (out / f.name).write_bytes(f.read_bytes())
    return out


def quantized_parameters(model_dir: Path) -> int:
    """The weights that an int4 export stores quantized, counted from its graph: each data initializer that a
    MatMulNBits or GatherBlockQuantized reads (in If branches too), once, at its node's bits per value."""
    import numpy as np
    import onnx

    graph = onnx.load(str(model_dir / "model.onnx"), load_external_data=False).graph
    shapes = {t.name: int(np.prod(t.dims)) for t in graph.initializer}
    counted: dict[str, int] = {}

    def visit(nodes) -> None:
        for node in nodes:
            if node.op_type in ("MatMulNBits", "GatherBlockQuantized"):
                bits = next(a.i for a in node.attribute if a.name == "bits")
                data = node.input[1 if node.op_type == "MatMulNBits" else 0]
                counted[data] = shapes[data] * 8 // bits
            for attribute in node.attribute:
                if attribute.type == onnx.AttributeProto.GRAPH:
                    visit(attribute.g.node)

    visit(graph.node)
    return sum(counted.values())
