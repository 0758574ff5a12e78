"""Exported Qwen3-MoE graphs (llm-jp-4-32b-a3b's architecture) against Hugging Face transformers:
per-head q/k norms, head_dim ≠ hidden / heads, dense and sparse layers, routing inside the graph."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from conftest import JAPANESE_PROMPT, PROMPTS, dequantized_copy, genai_greedy, quantized_parameters
from kotodama_export.convert import convert, precision_for
from kotodama_export.errors import ExportError
from kotodama_export.llama import role_parameters
from kotodama_export.random_checkpoint import preset_config, write_random_checkpoint
from kotodama_export.spec import read_spec
from kotodama_export.verify import OnnxDecoder, register_custom_ops, run_verification


def _checkpoint(tmp_path: Path, name: str, **overrides: object) -> Path:
    config = tmp_path / f"{name}-config.json"
    config.write_text(json.dumps(preset_config("tiny-qwen3-moe") | overrides), encoding="utf-8")
    return write_random_checkpoint(tmp_path / name, config=config, seed=5)


@pytest.fixture(scope="module")
def moe_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _checkpoint(tmp_path_factory.mktemp("moe"), "tiny-qwen3-moe")


def test_a_config_that_names_its_experts_num_local_experts_gets_them(tmp_path: Path):
    """transformers 5 saves a Qwen3-MoE's expert count as num_local_experts; `random --config` reads either."""
    values = preset_config("tiny-qwen3-moe")
    values["num_local_experts"] = values.pop("num_experts")
    config = tmp_path / "config.json"
    config.write_text(json.dumps(values), encoding="utf-8")
    checkpoint = write_random_checkpoint(tmp_path / "moe", config=config, seed=5)
    exported = convert(checkpoint, tmp_path / "fp32", "cpu", "fp32")

    graph = onnx.load(str(exported / "model.onnx"), load_external_data=False).graph

    assert "MoE" in [n.op_type for n in graph.node]
    assert run_verification(checkpoint, exported, PROMPTS[:1], new_tokens=8)["greedy_match"]


@pytest.mark.parametrize(("top_k", "norm_topk_prob"), [(2, True), (2, False), (8, True), (8, False)])
def test_fp32_export_equals_transformers_over_prefill_and_32_decode_steps(tmp_path: Path, top_k: int,
                                                                            norm_topk_prob: bool):
    checkpoint = _checkpoint(tmp_path, "moe", num_experts_per_tok=top_k, norm_topk_prob=norm_topk_prob)
    exported = convert(checkpoint, tmp_path / "fp32", "cpu", "fp32")

    result = run_verification(checkpoint, exported, PROMPTS, new_tokens=32)

    assert result["max_abs_logit_diff"] <= 1e-3
    assert result["greedy_match"], "32-token greedy continuations differ from transformers'"


@pytest.mark.parametrize(("precision", "moe_kernel"), [("fp32", None), ("int4", "fused")])
def test_onnxruntime_genai_runs_the_moe_export_to_the_same_greedy_tokens(moe_checkpoint: Path, tmp_path: Path,
                                                                         monkeypatch, precision: str,
                                                                         moe_kernel: str | None):
    """fused: genai loads the directory's kernel library from its genai_config, wherever it runs from."""
    from tokenizers import Tokenizer

    exported = convert(moe_checkpoint, tmp_path / "out", "cpu", precision, moe_kernel=moe_kernel)
    monkeypatch.chdir(tmp_path)
    ids = Tokenizer.from_file(str(exported / "tokenizer.json")).encode(JAPANESE_PROMPT).ids
    theirs = genai_greedy(exported, ids, 32)

    assert len(theirs) == 32
    assert OnnxDecoder(exported).greedy(ids, 32) == theirs


def test_dense_and_sparse_layers_follow_the_config(moe_checkpoint: Path, tmp_path: Path):
    """tiny-qwen3-moe: layer 1 is in mlp_only_layers (a dense MLP), layers 0 and 2 route 8 experts."""
    exported = convert(moe_checkpoint, tmp_path / "fp32", "cpu", "fp32")
    nodes = onnx.load(str(exported / "model.onnx"), load_external_data=False).graph.node
    moe_layers = sorted(int(n.name.split("/")[2].split(".")[1]) for n in nodes if n.op_type == "MoE")
    assert moe_layers == [0, 2]
    assert any(n.name.startswith("/model/layers.1/mlp/") for n in nodes)
    norms = [n for n in nodes if n.name.endswith("q_norm/SimplifiedLayerNormalization")]
    assert len(norms) == 3


def test_the_graph_routes_each_token_to_the_experts_that_transformers_chooses(moe_checkpoint: Path,
                                                                                tmp_path: Path):
    """The router logits that the graph feeds its MoE op, exported as extra outputs, select the same
    top-k experts per token as transformers' router (read with a forward hook)."""
    import onnxruntime as ort
    from tokenizers import Tokenizer
    from transformers import AutoModelForCausalLM

    exported = convert(moe_checkpoint, tmp_path / "fp32-router", "cpu", "fp32", router_logits=True)
    spec = preset_config("tiny-qwen3-moe")
    top_k = spec["num_experts_per_tok"]
    ids = Tokenizer.from_file(str(exported / "tokenizer.json")).encode(" ".join(PROMPTS), add_special_tokens=False).ids

    model = AutoModelForCausalLM.from_pretrained(moe_checkpoint, dtype=torch.float32).eval()
    chosen: dict[int, np.ndarray] = {}
    for layer in (0, 2):
        gate = model.model.layers[layer].mlp.gate
        gate.register_forward_hook(lambda module, args, output, layer=layer: chosen.__setitem__(
            layer, output[2].numpy() if isinstance(output, tuple) and len(output) > 2 else output))
    with torch.no_grad():
        model(torch.tensor([ids]))

    session = ort.InferenceSession(str(exported / "model.onnx"), providers=["CPUExecutionProvider"])
    kv = {i.name: np.zeros((1, spec["num_key_value_heads"], 0, spec["head_dim"]), np.float32)
          for i in session.get_inputs() if i.name.startswith("past_key_values")}
    outputs = session.run(["router_logits.0", "router_logits.2"], {
        "input_ids": np.array([ids], np.int64), "attention_mask": np.ones((1, len(ids)), np.int64), **kv})

    for layer, logits in zip((0, 2), outputs):
        ours = np.sort(np.argsort(-logits, axis=-1)[:, :top_k], axis=-1)
        theirs = np.sort(np.asarray(chosen[layer]).reshape(len(ids), -1)[:, :top_k], axis=-1)
        assert ours.shape == (len(ids), top_k)
        np.testing.assert_array_equal(ours, theirs, err_msg=f"layer {layer}")


@pytest.mark.parametrize(("top_k", "norm_topk_prob"), [(2, True), (3, False)])
def test_int4_graph_computes_exactly_its_dequantized_experts(tmp_path: Path, top_k: int, norm_topk_prob: bool):
    """The routed int4 experts against transformers running the same 4-bit weights dequantized (the router
    stays dense): the graph's own softmax, top-k and renormalization choose and weigh the experts as
    transformers does, and each sparse layer has one conditional branch per expert instead of QMoE."""
    checkpoint = _checkpoint(tmp_path, "moe", num_experts_per_tok=top_k, norm_topk_prob=norm_topk_prob)
    exported = convert(checkpoint, tmp_path / "int4-level0", "cpu", "int4", accuracy_level=0)
    quantization = json.loads((exported / "kotodama.json").read_text())["quantization"]
    dequantized = dequantized_copy(checkpoint, tmp_path / "dequantized", quantization,
                                   dense=lambda name: name.endswith("mlp.gate.weight"))
    graph = onnx.load(str(exported / "model.onnx"), load_external_data=False).graph
    nodes = graph.node
    assert not any(n.op_type in ("QMoE", "MoE") for n in nodes)
    branches = [n.name for n in nodes if n.op_type == "If"]
    experts = preset_config("tiny-qwen3-moe")["num_experts"]
    assert branches == [f"/model/layers.{layer}/moe/experts.{e}/If" for layer in (0, 2) for e in range(experts)]
    # scales: float16 in the file, but the experts' (read inside the branches) float32 (LlamaBuilder._quantized)
    scales = {t.name: t.data_type for t in graph.initializer if t.name.endswith("weight.scales")}
    assert {t for name, t in scales.items() if "/experts." in name} == {onnx.TensorProto.FLOAT}
    assert {t for name, t in scales.items() if "/experts." not in name} == {onnx.TensorProto.FLOAT16}

    result = run_verification(dequantized, exported, PROMPTS, new_tokens=32)

    assert result["max_abs_logit_diff"] <= 1e-3
    assert result["greedy_match"]


def test_int4_export_stays_close_to_transformers(moe_checkpoint: Path, tmp_path: Path, record_property):
    exported = convert(moe_checkpoint, tmp_path / "int4", "cpu", "int4")
    result = run_verification(moe_checkpoint, exported, PROMPTS, new_tokens=32)
    record_property("moe_int4_random_weights", json.dumps(result))
    print("QMoE int4 on random weights:", json.dumps(result))

    # as for Llama: random weights give nearly flat logits, whose top tokens int4 noise reorders
    assert result["mean_kl"] <= 0.05


def test_cuda_fp16_export_on_the_cpu_provider_equals_transformers_greedily(moe_checkpoint: Path, tmp_path: Path):
    """The cuda directory's fp16 MoE, run by the CPU provider (which has fp16 MoE kernels): the numbers
    of the CUDA graph; only a GPU can confirm that the CUDA kernels read its layout the same way."""
    exported = convert(moe_checkpoint, tmp_path / "cuda-fp16", "cuda", "fp16")

    result = run_verification(moe_checkpoint, exported, PROMPTS, new_tokens=32)

    assert result["greedy_match"]
    assert result["mean_kl"] <= 1e-4


def test_the_recipe_budgets_the_weights_the_graph_quantizes(moe_checkpoint: Path, tmp_path: Path):
    """role_parameters counts what the export quantizes: every expert of the sparse layers (in If branches),
    the dense layers' MLPs, attention, the embedding and the lm_head; the router stays float."""
    exported = convert(moe_checkpoint, tmp_path / "int4", "cpu", "int4")
    counts = role_parameters(read_spec(moe_checkpoint), precision_for("cpu", "int4", None))

    assert counts["all"] == quantized_parameters(exported)


def test_int4_moe_for_cuda_is_refused_with_what_to_do_instead(moe_checkpoint: Path, tmp_path: Path):
    with pytest.raises(ExportError, match="export --precision fp16 or bf16 for cuda"):
        convert(moe_checkpoint, tmp_path / "cuda-int4", "cuda", "int4")
    assert not (tmp_path / "cuda-int4").exists()


def _kernels() -> list[str]:
    """The fused op's kernels this CPU can run (native/int4_moe.c chooses the fastest unless told)."""
    flags = set(open("/proc/cpuinfo").read().split("flags", 1)[-1].split("\n", 1)[0].split())
    return [k for k, needs in (("avx512vnni", {"avx512_vnni", "avx512vl"}), ("avx2", {"avx2", "fma"}), ("c", set()))
            if needs <= flags]


def _logits_of(decoder: OnnxDecoder, prompt: list[int], new_tokens: int) -> tuple[list[int], np.ndarray]:
    decoder.start(len(prompt) + new_tokens)
    rows = [decoder.step(prompt)[-1]]
    tokens = [int(rows[-1].argmax())]
    for _ in range(new_tokens - 1):
        rows.append(decoder.step(tokens[-1:])[-1])
        tokens.append(int(rows[-1].argmax()))
    return tokens, np.stack(rows)


def _first_moe_layer(model_dir: Path, output: str, prompt: list[int]) -> np.ndarray:
    """The output of the first sparse layer (0) on a prefill of ``prompt``: its input is the same in both
    graphs, so this compares the experts alone."""
    import onnxruntime as ort

    model = onnx.load(str(model_dir / "model.onnx"))
    model.graph.output.append(onnx.helper.make_empty_tensor_value_info(output))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    register_custom_ops(options, model_dir)
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    feeds = {"input_ids": np.array([prompt]), "attention_mask": np.ones((1, len(prompt)), dtype=np.int64)}
    feeds |= {i.name: np.zeros((1, i.shape[1], 0, i.shape[3]), np.float32) for i in session.get_inputs()
              if i.name.startswith("past")}
    return session.run([output], feeds)[0]


@pytest.mark.parametrize("kernel", _kernels())
@pytest.mark.parametrize(("quant", "top_k", "norm_topk_prob"), [("mixed", 2, True), ("rtn", 3, False)])
def test_the_fused_moe_kernel_gives_the_logits_of_the_if_per_expert_graph(tmp_path: Path, monkeypatch, kernel: str,
                                                                          quant: str, top_k: int, norm_topk_prob: bool):
    """`--moe-kernel fused` against the default graph on the same quantized weights, with each of the CPU's
    kernels (AVX-512 VNNI, AVX2, plain C) in turn. The first sparse layer's output on a 60-token prefill
    (the op's tiles of 8 tokens per expert) is the same within float rounding: the same int8 activations and
    int4 products, summed in another order. Downstream, such a last-bit difference can move a later
    MatMulNBits's int8 rounding of an activation by one step (measured: 1e-9 after the experts, 6e-5 after
    a dense layer's down projection, 6e-3 in the logits), so the whole model is held to the same greedy
    tokens over 24 steps and logits within 2e-2, where a wrong expert, weight or zero point moves them by
    tenths."""
    import ctypes

    from kotodama_export import native

    checkpoint = _checkpoint(tmp_path, "moe", num_experts_per_tok=top_k, norm_topk_prob=norm_topk_prob)
    graph = convert(checkpoint, tmp_path / "graph", "cpu", "int4", quant=quant)
    fused = convert(checkpoint, tmp_path / "fused", "cpu", "int4", quant=quant, moe_kernel="fused")
    model = onnx.load(str(fused / "model.onnx"), load_external_data=False)
    assert [n.op_type for n in model.graph.node].count("Int4MoE") == 2  # layers 0 and 2; layer 1 is dense
    assert not any(n.op_type == "If" for n in model.graph.node)
    manifest = json.loads((fused / "kotodama.json").read_text())
    assert manifest["custom_ops"] == {"library": native.LIBRARY, "platform": native.platform_name(),
                                      "ops": ["kotodama.Int4MoE"]}
    assert native.LIBRARY in manifest["files"] and (fused / native.LIBRARY).is_file()
    assert manifest["quantization"]["moe_kernel"] == "fused"

    monkeypatch.setenv("KOTODAMA_INT4MOE_KERNEL", kernel)
    prompt = list(range(100, 160))
    experts = preset_config("tiny-qwen3-moe")["num_experts"]
    np.testing.assert_allclose(_first_moe_layer(fused, "/model/layers.0/moe/Int4MoE/output_0", prompt),
                               _first_moe_layer(graph, f"/model/layers.0/moe/experts.{experts - 1}/If/output_0", prompt),
                               atol=1e-7, rtol=1e-5)
    decoder = OnnxDecoder(fused, threads=2)
    ours, theirs = _logits_of(decoder, prompt, 24), _logits_of(OnnxDecoder(graph, threads=2), prompt, 24)
    chosen = ctypes.CDLL(str(fused / native.LIBRARY)).kotodama_int4moe_kernel  # the copy the session loaded
    chosen.restype = ctypes.c_char_p
    assert chosen().decode() == kernel

    assert ours[0] == theirs[0]
    np.testing.assert_allclose(ours[1], theirs[1], atol=2e-2, rtol=0)


@pytest.mark.parametrize(("target", "precision", "options", "message"), [
    ("cuda", "fp16", {}, "runs int4 experts on the CPU"),
    ("cpu", "fp32", {}, "runs int4 experts on the CPU"),
    ("cpu", "int4", {"block_size": 64}, "4-bit blocks of 32"),
    ("cpu", "int4", {"moe_kernel": "nope"}, "unknown MoE kernel"),
])
def test_a_fused_moe_export_it_cannot_make_is_refused_before_any_work(moe_checkpoint: Path, tmp_path: Path,
                                                                      target: str, precision: str, options: dict,
                                                                      message: str):
    with pytest.raises(ExportError, match=message):
        convert(moe_checkpoint, tmp_path / "out", target, precision, **{"moe_kernel": "fused", **options})
    assert not (tmp_path / "out").exists()
