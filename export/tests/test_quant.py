"""The quantization methods against ONNX Runtime's own kernels: what MatMulNBits and GatherBlockQuantized
compute from the quantized tensors must be x @ W_hat.T and W_hat's rows, W_hat = quant.dequantize(...)."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from kotodama_export.quant import RECIPES, WIDENABLE, Method, Quantized, Recipe, dequantize, quantize

# every Method a recipe uses: its 4-bit one, and the 8-bit twin of the matrices it widens
METHODS = {**{name: r.method for name, r in RECIPES.items() if name != "mixed"},  # mixed's 4 bits are mse's
           **{f"{name} 8-bit": r.eight_bit() for name, r in RECIPES.items() if r.wide}}


def _session(node: helper.NodeProto, inputs: list, output_shape: list, initializers: list) -> ort.InferenceSession:
    graph = helper.make_graph([node], "g", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, output_shape)],
                              initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid("com.microsoft", 1)],
                              ir_version=10)
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def _initializers(q: Quantized, gather: bool = False) -> list:
    """As the exporter writes them: MatMulNBits's layout, or (gather) the embedding's for GatherBlockQuantized."""
    tensors = [numpy_helper.from_array(q.data, "data"),
               numpy_helper.from_array(q.scales.reshape((*q.scales.shape, 1) if gather else (-1,)), "scales")]
    if q.zero_points is not None:
        zero = q.zero_points[..., None] if gather else q.packed_zero_points().reshape(-1)
        tensors.append(numpy_helper.from_array(zero, "zero_points"))
    return tensors


def _weights(n: int, k: int) -> np.ndarray:
    """Rows of different scales and offsets, some blocks one-signed, one block constant: the cases where a
    zero point and a scale search differ from round-to-nearest."""
    rng = np.random.default_rng(3)
    w = rng.standard_normal((n, k)).astype(np.float32) * rng.uniform(0.01, 1.0, (n, 1)).astype(np.float32)
    w[::3] += 0.5
    w[1, :32] = 0.25
    return w


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("k", [64, 96, 80, 112], ids=["2 blocks", "3 blocks", "3 padded", "4 padded"])
@pytest.mark.parametrize("level", [0, 4])
def test_matmul_nbits_computes_the_dequantized_weights(method: str, k: int, level: int):
    """At accuracy_level 4 the kernel rounds the activations to int8 per block: about 1% (ORT-OPS.md)."""
    n = 24
    w = _weights(n, k)
    q = quantize(w, METHODS[method])
    names = ["x", "data", "scales"] + (["zero_points"] if q.zero_points is not None else [])
    node = helper.make_node("MatMulNBits", names, ["y"], domain="com.microsoft", K=k, N=n, bits=q.bits,
                            block_size=q.block, accuracy_level=level)
    session = _session(node, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, k])], [2, n],
                       _initializers(q))
    x = np.random.default_rng(4).standard_normal((2, k)).astype(np.float32)
    expected = x @ dequantize(q, k).T

    tolerance = 1e-5 if level == 0 else 0.02 * np.abs(expected).max()
    np.testing.assert_allclose(session.run(None, {"x": x})[0], expected, rtol=0, atol=tolerance)
    assert np.abs(dequantize(q, k) - w).max() <= np.abs(w).max() / 7  # a round trip, not noise


@pytest.mark.parametrize("method", sorted(METHODS))
def test_gather_block_quantized_returns_the_dequantized_rows(method: str):
    """The embedding as the exporter writes it: MatMulNBits's data [vocab, blocks, 16] (8 bits: 32) gathered
    along its last axis, scales [vocab, blocks, 1], zero points one a byte [vocab, blocks, 1]; 3 blocks a row."""
    vocab, hidden = 40, 96
    w = _weights(vocab, hidden)
    q = quantize(w, METHODS[method])
    names = ["data", "ids", "scales"] + (["zero_points"] if q.zero_points is not None else [])
    node = helper.make_node("GatherBlockQuantized", names, ["y"], domain="com.microsoft", bits=q.bits,
                            block_size=q.block, gather_axis=0, quantize_axis=2)
    session = _session(node, [helper.make_tensor_value_info("ids", TensorProto.INT64, [3])], [3, 3, 32],
                       _initializers(q, gather=True))
    ids = np.array([0, 1, 39])

    np.testing.assert_allclose(session.run(None, {"ids": ids})[0].reshape(3, hidden), dequantize(q, hidden)[ids],
                               rtol=1e-6, atol=1e-7)


def test_mse_loses_less_than_round_to_nearest_keeps_zeros_exact_and_constant_blocks_within_the_scales_rounding():
    w = _weights(64, 256)
    w[5, 7] = 0.0
    errors = {name: float(((dequantize(quantize(w, METHODS[name]), 256) - w) ** 2).sum())
              for name in ("rtn", "mse", "mixed 8-bit")}
    mse = dequantize(quantize(w, METHODS["mse"]), 256)

    assert errors["mse"] < 0.8 * errors["rtn"], errors
    assert errors["mixed 8-bit"] < errors["mse"] / 200, errors  # 255 levels against 15: (17)^2 less
    assert mse[5, 7] == 0.0
    np.testing.assert_allclose(mse[1, :32], 0.25, rtol=2**-11)  # a block of one value: its float16 scale's rounding


def test_a_recipe_widens_its_roles_in_order_while_they_fit_its_budget_and_skips_one_that_does_not():
    recipe = Recipe("r", Method("m", 4, 32, False, 4, 0.12), wide=WIDENABLE, budget=1 / 8)
    narrow, wide = recipe.method.bits_per_weight(), recipe.eight_bit().bits_per_weight()
    assert (narrow, wide) == (4 + 20 / 32, 8 + 24 / 32)  # float16 scales, packed zero points
    room = 1 / 8 * 1_000_000 * narrow / (wide - narrow)  # parameters that fit: 140,151
    keys_values = {"all": 1_000_000, "attn.k": 10_000, "attn.v": 10_000}

    assert recipe.wide_roles({**keys_values, "embedding": int(room) - 20_000}) == ("attn.k", "attn.v", "embedding")
    assert recipe.wide_roles({**keys_values, "embedding": int(room) - 19_000}) == ("attn.k", "attn.v")
    assert recipe.wide_roles({"all": 1_000_000, "attn.k": int(room) - 100, "attn.v": 200, "embedding": 100}) == (
        "attn.k", "embedding")
    assert recipe.wide_roles({"all": 1_000_000}) == ()  # no role quantized
    assert RECIPES["mse"].wide_roles({**keys_values, "embedding": 1}) == ()
