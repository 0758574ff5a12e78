"""The quantization methods against ONNX Runtime's own kernels: what MatMulNBits and GatherBlockQuantized
compute from the quantized tensors must be x @ W_hat.T and W_hat's rows, W_hat = quant.dequantize(...)."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from kotodama_export.quant import METHODS, Quantized, dequantize, quantize


def _session(node: helper.NodeProto, inputs: list, output_shape: list, initializers: list) -> ort.InferenceSession:
    graph = helper.make_graph([node], "g", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, output_shape)],
                              initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid("com.microsoft", 1)],
                              ir_version=10)
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def _initializers(q: Quantized, data_shape: list[int], rows: int | None = None) -> list:
    shape = (-1,) if rows is None else (rows, -1)
    tensors = [numpy_helper.from_array(q.data.reshape(data_shape), "data"),
               numpy_helper.from_array(q.scales.reshape(shape), "scales")]
    if q.zero_points is not None:
        tensors.append(numpy_helper.from_array(q.packed_zero_points().reshape(shape), "zero_points"))
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
@pytest.mark.parametrize("k", [96, 80], ids=["3 blocks", "padded"])
def test_matmul_nbits_computes_the_dequantized_weights(method: str, k: int):
    n = 24
    w = _weights(n, k)
    q = quantize(w, METHODS[method])
    blocks = q.scales.shape[1]
    names = ["x", "data", "scales"] + (["zero_points"] if q.zero_points is not None else [])
    node = helper.make_node("MatMulNBits", names, ["y"], domain="com.microsoft", K=k, N=n, bits=q.bits,
                            block_size=q.block, accuracy_level=0)
    session = _session(node, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, k])], [2, n],
                       _initializers(q, [n, blocks, q.block * q.bits // 8]))
    x = np.random.default_rng(4).standard_normal((2, k)).astype(np.float32)

    np.testing.assert_allclose(session.run(None, {"x": x})[0], x @ dequantize(q, k).T, rtol=1e-5, atol=1e-5)
    assert np.abs(dequantize(q, k) - w).max() <= np.abs(w).max() / 7  # a round trip, not noise


@pytest.mark.parametrize("method", sorted(METHODS))
def test_gather_block_quantized_returns_the_dequantized_rows(method: str):
    vocab, hidden = 40, 96
    w = _weights(vocab, hidden)
    q = quantize(w, METHODS[method])
    names = ["data", "ids", "scales"] + (["zero_points"] if q.zero_points is not None else [])
    node = helper.make_node("GatherBlockQuantized", names, ["y"], domain="com.microsoft", bits=q.bits,
                            block_size=q.block, gather_axis=0, quantize_axis=1)
    session = _session(node, [helper.make_tensor_value_info("ids", TensorProto.INT64, [3])], [3, hidden],
                       _initializers(q, [vocab, hidden * q.bits // 8], rows=vocab))
    ids = np.array([0, 1, 39])

    np.testing.assert_allclose(session.run(None, {"ids": ids})[0], dequantize(q, hidden)[ids], rtol=1e-6, atol=1e-7)


def test_mse_loses_less_than_round_to_nearest_and_keeps_zeros_and_constant_blocks_exact():
    w = _weights(64, 256)
    w[5, 7] = 0.0
    errors = {name: float(((dequantize(quantize(w, METHODS[name]), 256) - w) ** 2).sum()) for name in ("rtn", "mse")}
    mse = dequantize(quantize(w, METHODS["mse"]), 256)

    assert errors["mse"] < 0.8 * errors["rtn"], errors
    assert mse[5, 7] == 0.0
    np.testing.assert_allclose(mse[1, :32], 0.25, rtol=1e-6)  # a block of one value
