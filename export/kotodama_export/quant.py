"""Block-wise 4-bit quantization in the layout of ONNX Runtime's MatMulNBits and GatherBlockQuantized.

Layout (checked in ../shared/design/ORT-OPS.md and again by the tests): for a weight W [N, K] (Hugging
Face's [out, in]) in blocks of 32 along K, each value becomes an unsigned nibble q with an implicit
zero point of 8, so W ~= (q - 8) * scale; two nibbles per byte, the even element in the low nibble.
  packed  uint8 [N, K/32, 16]    (MatMulNBits "B"; GatherBlockQuantized reads it as [N, K/2])
  scales  float [N, K/32]
The scale is symmetric and keeps the sign of the block's largest magnitude (as ONNX Runtime's own
quantizer does), so that value is exact and the range [-8, 7] is used in full.
"""

from __future__ import annotations

import numpy as np

BITS = 4
BLOCK = 32


def quantize_int4(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """w [N, K] float32 -> (packed uint8 [N, ceil(K/32), 16], scales float32 [N, ceil(K/32)]).

    A K that is not a multiple of 32 is padded with zeros, as MatMulNBits expects.
    """
    n, k = w.shape
    if k % BLOCK:
        w = np.pad(w, ((0, 0), (0, BLOCK - k % BLOCK)))
        k = w.shape[1]
    blocks = w.reshape(n, k // BLOCK, BLOCK)
    at = np.abs(blocks).argmax(axis=-1)[..., None]
    scales = np.take_along_axis(blocks, at, axis=-1)[..., 0] / -8.0  # [N, K/32]
    inverse = np.divide(1.0, scales, out=np.zeros_like(scales), where=scales != 0)
    q = np.clip(np.rint(blocks * inverse[..., None]) + 8, 0, 15).astype(np.uint8)  # [N, K/32, 32]
    packed = q[..., 0::2] | (q[..., 1::2] << 4)  # [N, K/32, 16]
    return packed, scales.astype(np.float32)


def dequantize_int4(packed: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """The inverse of quantize_int4, for tests and error reports: [N, K/32, 16] -> float32 [N, K]."""
    low = (packed & 0x0F).astype(np.float32)
    high = (packed >> 4).astype(np.float32)
    q = np.stack([low, high], axis=-1).reshape(*packed.shape[:2], BLOCK)
    return ((q - 8.0) * scales[..., None]).reshape(packed.shape[0], -1)
