"""Exported Llama graphs against Hugging Face transformers, through prefill and decode with the KV cache."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from conftest import JAPANESE_PROMPT, PROMPTS, dequantized_copy, genai_greedy, quantized_parameters
from kotodama_export.convert import convert, precision_for
from kotodama_export.demo import checkpoint as demo_checkpoint, corpus as demo_corpus
from kotodama_export.llama import role_parameters
from kotodama_export.quant import DEFAULT_RECIPE, RECIPES
from kotodama_export.random_checkpoint import preset_config, write_random_checkpoint
from kotodama_export.rope import rotary_caches
from kotodama_export.spec import read_spec
from kotodama_export.verify import OnnxDecoder, run_verification


def test_fp32_export_equals_transformers_over_prefill_and_32_decode_steps(tiny_checkpoint: Path, tiny_fp32: Path):
    result = run_verification(tiny_checkpoint, tiny_fp32, PROMPTS, new_tokens=32)

    assert JAPANESE_PROMPT in PROMPTS and result["prompts"] == 3
    assert result["max_abs_logit_diff"] <= 1e-3
    assert result["greedy_match"], "32-token greedy continuations differ from transformers'"


@pytest.mark.parametrize("method, block", [(m, 32) for m in sorted(RECIPES)] + [(DEFAULT_RECIPE, 128),
                                                                               (DEFAULT_RECIPE, 256)])
def test_int4_graph_computes_exactly_its_dequantized_weights(tiny_checkpoint: Path, tmp_path: Path, method: str,
                                                             block: int):
    """Separates graph errors from quantization error: transformers running the int4 weights, dequantized,
    must give the int4 graph's logits (accuracy_level 0 keeps activations in float32). In blocks of 128 (convert
    --block-size) a row of the tiny model's hidden width is one block, the embedding's included; down_proj's three.
    Blocks of 256 are wider than the hidden rows (zero-padded), so the embedding stays a float table."""
    int4_table = block <= 128  # the tiny model's rows are 128 wide
    exported = convert(tiny_checkpoint, tmp_path / "int4-level0", "cpu", "int4", accuracy_level=0, quant=method,
                       block_size=None if block == 32 else block)
    manifest = json.loads((exported / "kotodama.json").read_text())
    dequantized = dequantized_copy(tiny_checkpoint, tmp_path / "dequantized", manifest["quantization"],
                                   dense=lambda name: not int4_table and name.endswith("embed_tokens.weight"))
    assert manifest["quantization"]["block_size"] == block
    # the embedding, half the tiny model's quantized weights (or float in blocks of 256), never fits
    assert manifest["quantization"]["eight_bit"] == (["attn.k", "attn.v"] if RECIPES[method].wide else [])
    ops = [n.op_type for n in onnx.load(str(exported / "model.onnx"), load_external_data=False).graph.node]
    assert ("GatherBlockQuantized" in ops) == int4_table
    assert manifest["quantization"]["embedding"] == ("GatherBlockQuantized" if int4_table else "float32")

    result = run_verification(dequantized, exported, PROMPTS, new_tokens=32)

    assert result["max_abs_logit_diff"] <= 1e-3
    assert result["greedy_match"]


def test_int4_export_stays_close_to_transformers(tiny_checkpoint: Path, tiny_int4: Path, record_property):
    result = run_verification(tiny_checkpoint, tiny_int4, PROMPTS, new_tokens=32)
    record_property("int4_random_weights", json.dumps(result))
    print("int4 on random weights:", json.dumps(result))

    # Random weights give nearly flat logits, so int4 noise reorders their top tokens: top-1 agreement is
    # measured on trained weights (the next test, and test_real_weights.py); the distributions must still agree.
    assert result["mean_kl"] <= 0.05


def test_int4_export_of_a_trained_tiny_llama_agrees_with_transformers(tmp_path: Path, record_property):
    """Top-1 agreement where it means something: the demo's trained Llama (llm-jp-4's layout: GQA 4:1,
    untied), its checkpoint read back from the embedded model, exported to cpu int4 by each method and
    compared with transformers over 12 held-out prompts, prefill and 32 decode steps each. The default
    method must lose no more than round-to-nearest. How much less depends on the weights: KL 0.00054 against
    0.0031 on the demo model of commit 9cdc63b, 0.00114 against 0.00126 on the one embedded since issue 20's
    find lesson (79ae5dd)."""
    checkpoint = demo_checkpoint.recover(demo_checkpoint.EMBEDDED, tmp_path / "trained")
    prompts = [demo_corpus.prompt(c) for c in demo_corpus.generate(12, seed=7, split="held_out")]
    results = {}
    for method in ("rtn", DEFAULT_RECIPE):
        exported = convert(checkpoint, tmp_path / f"int4-{method}", "cpu", "int4", chat_format="harmony", quant=method)
        results[method] = run_verification(checkpoint, exported, prompts, new_tokens=32)
    record_property("int4_trained_tiny_llama", json.dumps(results))
    print("int4 on a trained tiny Llama:", json.dumps(results))

    for result in results.values():
        assert result["top1_agreement"] >= 0.95
        assert result["mean_kl"] <= 0.05
    assert results[DEFAULT_RECIPE]["mean_kl"] <= results["rtn"]["mean_kl"]


def test_onnxruntime_genai_greedy_tokens_equal_ours(tiny_fp32: Path, tiny_int4: Path):
    from tokenizers import Tokenizer

    for model_dir in (tiny_fp32, tiny_int4):
        ids = Tokenizer.from_file(str(model_dir / "tokenizer.json")).encode(JAPANESE_PROMPT).ids
        theirs = genai_greedy(model_dir, ids, 32)

        assert len(theirs) == 32
        assert OnnxDecoder(model_dir).greedy(ids, 32) == theirs, model_dir.name


def test_model_directory_holds_the_contract(tiny_fp32: Path, tiny_int4: Path):
    for model_dir, precision in ((tiny_fp32, "fp32"), (tiny_int4, "int4")):
        manifest = json.loads((model_dir / "kotodama.json").read_text())
        genai = json.loads((model_dir / "genai_config.json").read_text())

        assert manifest["target"] == "cpu" and manifest["precision"] == precision
        assert manifest["quantization"] == (None if precision == "fp32" else {
            "op": "MatMulNBits", "method": DEFAULT_RECIPE, "bits": 4, "block_size": 32, "symmetric": False,
            # the tiny model's 196,608 x 128 embedding is half its quantized weights: too big to widen within 1/8
            "eight_bit": ["attn.k", "attn.v"], "accuracy_level": 4, "embedding": "GatherBlockQuantized"})
        assert manifest["stop_token_ids"] == [2, 13]  # <|return|> from config.json, <|call|> from the tokenizer
        assert manifest["chat_format"] == "harmony"
        assert set(manifest["files"]) <= {f.name for f in model_dir.iterdir()}
        assert len(manifest["source"]["sha256"]["config.json"]) == 64
        assert genai["model"]["decoder"]["num_key_value_heads"] == 1
        assert genai["search"]["past_present_share_buffer"] is True
        assert not list(model_dir.parent.glob(".*partial*")), "a staging directory was left behind"


def test_every_weight_is_external_and_the_graph_uses_the_fused_ops(tiny_int4: Path, tmp_path: Path):
    model = onnx.load(str(tiny_int4 / "model.onnx"), load_external_data=False)
    big = [t for t in model.graph.initializer if int(np.prod(t.dims)) > 16]
    ops = [n.op_type for n in model.graph.node]

    assert big and all(t.data_location == onnx.TensorProto.EXTERNAL for t in big)
    assert ops.count("GroupQueryAttention") == 4
    assert all(a.i == 1 for n in model.graph.node if n.op_type == "GroupQueryAttention"
               for a in n.attribute if a.name == "do_rotary")
    assert ops.count("MatMulNBits") == 4 * 7 + 1  # q, k, v (k and v in 8 bits), o, gate, up, down per layer; lm_head
    bits = {n.name: a.i for n in model.graph.node if n.op_type == "MatMulNBits" for a in n.attribute if a.name == "bits"}
    assert {name for name, b in bits.items() if b == 8} == {f"/model/layers.{i}/attn/{p}_proj/MatMulNBits"
                                                            for i in range(4) for p in "kv"}
    assert ops.count("GatherBlockQuantized") == 1
    assert ops.count("SkipSimplifiedLayerNormalization") == 2 * 4
    # the int4 scales are float16 in the file, each cast to the float32 activations' type by one Cast
    scales = {t.name: t.data_type for t in model.graph.initializer if t.name.endswith("weight.scales")}
    casts = {n.input[0] for n in model.graph.node if n.op_type == "Cast"
             and n.attribute[0].i == onnx.TensorProto.FLOAT}
    assert len(scales) == 4 * 7 + 2 and set(scales.values()) == {onnx.TensorProto.FLOAT16}
    assert set(scales) <= casts
    check_with_onnx_checker(tiny_int4, tmp_path)


def check_with_onnx_checker(model_dir: Path, scratch: Path) -> None:
    """onnx.checker on the graph. SimplifiedLayerNormalization is ONNX Runtime's op in the default domain
    (as onnxruntime-genai writes it), unknown to the checker's schemas, so the check sees it in a domain it
    skips; every other node, type and initializer reference is checked."""
    checked = onnx.load(str(model_dir / "model.onnx"), load_external_data=False)
    for node in checked.graph.node:
        if node.op_type == "SimplifiedLayerNormalization":
            node.domain = "com.microsoft"
    onnx.save_model(checked, str(scratch / "model.onnx"))
    shutil.copyfile(model_dir / "model.onnx.data", scratch / "model.onnx.data")  # it refuses links
    onnx.checker.check_model(str(scratch / "model.onnx"), full_check=True)


@pytest.mark.parametrize("rope_scaling", [
    None,
    {"rope_type": "linear", "factor": 2.0},
    {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
     "original_max_position_embeddings": 256},
    {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 256},
], ids=["default", "linear", "llama3", "yarn"])
def test_rotary_caches_equal_transformers(rope_scaling: dict | None, tmp_path: Path):
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

    spec = read_spec(_config_dir(tmp_path, rope_scaling=rope_scaling, max_position_embeddings=1024))
    cos, sin = rotary_caches(spec)
    positions = torch.arange(spec.context_length)[None]
    ref_cos, ref_sin = LlamaRotaryEmbedding(spec.hf_config)(torch.zeros(1, dtype=torch.float32), positions)

    half = spec.head_dim // 2
    np.testing.assert_allclose(cos, ref_cos[0, :, :half].numpy(), atol=1e-6)
    np.testing.assert_allclose(sin, ref_sin[0, :, :half].numpy(), atol=1e-6)


def test_dynamic_rope_cache_equals_transformers_token_by_token(tmp_path: Path):
    """Dynamic NTK grows with the sequence: each position must carry the frequencies transformers used
    when it decoded that position."""
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

    spec = read_spec(_config_dir(tmp_path, rope_scaling={"rope_type": "dynamic", "factor": 2.0},
                                 max_position_embeddings=128))
    cos, sin = rotary_caches(spec)
    rotary = LlamaRotaryEmbedding(spec.hf_config)
    half = spec.head_dim // 2

    assert spec.context_length == 256
    for p in range(0, spec.context_length, 7):
        ref_cos, ref_sin = rotary(torch.zeros(1), torch.tensor([[p]]))
        np.testing.assert_allclose(cos[p], ref_cos[0, 0, :half].numpy(), atol=1e-6, err_msg=f"position {p}")
        np.testing.assert_allclose(sin[p], ref_sin[0, 0, :half].numpy(), atol=1e-6, err_msg=f"position {p}")


def test_tied_embeddings_with_yarn_export_equals_transformers(tmp_path: Path):
    config = _config_dir(tmp_path, tie_word_embeddings=True, num_hidden_layers=2, max_position_embeddings=1024,
                         rope_scaling={"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 256})
    checkpoint = write_random_checkpoint(tmp_path / "tied", config=config / "config.json", seed=3)
    exported = convert(checkpoint, tmp_path / "tied-fp32", "cpu", "fp32")

    result = run_verification(checkpoint, exported, PROMPTS[:2], new_tokens=16)

    assert result["max_abs_logit_diff"] <= 1e-3 and result["greedy_match"]


def _config_dir(tmp_path: Path, **overrides: object) -> Path:
    values = preset_config("tiny-llama") | overrides
    directory = tmp_path / "config"
    directory.mkdir(exist_ok=True)
    (directory / "config.json").write_text(json.dumps(values))
    return directory


@pytest.fixture(scope="module")
def tied_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tiny-llama with tied embeddings and 2 layers."""
    root = tmp_path_factory.mktemp("tied")
    config = _config_dir(root, tie_word_embeddings=True, num_hidden_layers=2)
    return write_random_checkpoint(root / "tied", config=config / "config.json", seed=4)


@pytest.mark.parametrize("method", [*sorted(RECIPES), "all-wide"])
def test_tied_int4_export_stores_the_embedding_once_and_computes_exactly(tied_checkpoint: Path, tmp_path: Path,
                                                                         method: str, monkeypatch: pytest.MonkeyPatch):
    """A tied lm_head reads the embedding's int4 initializers (the file holds the table once) and the graph
    still equals transformers on the dequantized weights (accuracy_level 0). "all-wide" widens every role
    whatever its size: the embedding gathered from 8 bits and the lm_head's 8-bit matmul on the same table."""
    monkeypatch.setitem(RECIPES, "all-wide", dataclasses.replace(RECIPES["mixed"], name="all-wide", budget=100.0))
    checkpoint = tied_checkpoint
    exported = convert(checkpoint, tmp_path / "tied-int4", "cpu", "int4", accuracy_level=0, quant=method)
    graph = onnx.load(str(exported / "model.onnx"), load_external_data=False).graph
    readers = {name: [n.op_type for n in graph.node if name in n.input]
               for name in ("/model/embed_tokens/weight.qdata", "/model/embed_tokens/weight.scales",
                            "/model/embed_tokens/weight.scales/Cast/output_0")}  # float16 scales as float32

    assert readers["/model/embed_tokens/weight.qdata"] == ["GatherBlockQuantized", "MatMulNBits"]
    assert readers["/model/embed_tokens/weight.scales"] == ["Cast"]
    assert sorted(readers["/model/embed_tokens/weight.scales/Cast/output_0"]) == ["MatMulNBits", "Reshape"]
    assert not [t for t in graph.initializer if t.name.startswith("/lm_head/weight")]
    quantization = json.loads((exported / "kotodama.json").read_text())["quantization"]
    embedding_bits = {a.i for n in graph.node if n.op_type == "GatherBlockQuantized" or n.name == "/lm_head/MatMulNBits"
                      for a in n.attribute if a.name == "bits"}
    assert embedding_bits == {8 if method == "all-wide" else 4}
    assert quantization["eight_bit"] == {"all-wide": ["attn.k", "attn.v", "embedding"], "mixed": ["attn.k", "attn.v"]}.get(method, [])
    result = run_verification(dequantized_copy(checkpoint, tmp_path / "dequantized", quantization), exported,
                              PROMPTS[:2], new_tokens=16)
    assert result["max_abs_logit_diff"] <= 1e-3 and result["greedy_match"]


def test_the_recipe_budgets_the_weights_the_graph_quantizes(tiny_checkpoint: Path, tiny_int4: Path,
                                                            tied_checkpoint: Path, tmp_path: Path):
    """role_parameters, which the mixed recipe's 1/8 is a share of, counts what the export quantizes: untied
    (embedding and lm_head each) and tied (one table)."""
    tied = tied_checkpoint
    for checkpoint, exported in ((tiny_checkpoint, tiny_int4), (tied, convert(tied, tmp_path / "tied-int4", "cpu", "int4"))):
        counts = role_parameters(read_spec(checkpoint), precision_for("cpu", "int4", None))
        assert counts["all"] == quantized_parameters(exported)
        layers = 2 if checkpoint == tied else 4
        assert counts["attn.k"] == counts["attn.v"] == layers * 32 * 128  # one kv head of 32, hidden 128


def test_every_int4_initializer_is_read_by_a_node(tiny_int4: Path):
    graph = onnx.load(str(tiny_int4 / "model.onnx"), load_external_data=False).graph
    read = {name for node in graph.node for name in node.input}

    assert [t.name for t in graph.initializer if t.name not in read] == []
