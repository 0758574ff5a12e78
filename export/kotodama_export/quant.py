"""Block-wise quantization in the layouts of ONNX Runtime's MatMulNBits and GatherBlockQuantized.

Layout (checked in ../shared/design/ORT-OPS.md and again by the tests): a weight W [N, K] (Hugging
Face's [out, in]) is cut into blocks of `block` values along K; each value becomes an unsigned integer q
of `bits` bits, and W ~= (q - zero_point) * scale per block.
  data         uint8 [N, K/block, block*bits/8]  4 bits: two per byte, the even element in the low nibble
  scales       float [N, K/block], of float16 precision: float16 in the file, cast to float32 by a float32
               graph when it loads (an MoE's experts: float32 in the file; LlamaBuilder._quantized)
  zero_points  uint8 [N, ceil(K/block * bits/8)] packed the same way, or absent: then 2^(bits-1) (8 or 128)
An int4 embedding is stored the same way and gathered by GatherBlockQuantized as [N, K/block, block]
quantized along its last axis (zero points one per byte, [N, K/block, 1]), so that a tied lm_head's
MatMulNBits reads the same data and scales.

How the integers are chosen is a Method; which Method each matrix gets, a Recipe (`convert --quant`;
`convert --block-size` changes the block):
  rtn  symmetric round-to-nearest, 4 bits, block 32: the scale keeps the sign of the block's largest
       magnitude (as ONNX Runtime's own quantizer does), so that value is exact (up to the scale's float16
       rounding) and [-8, 7] is used in full.
  mse  asymmetric, 4 bits, block 32, with a zero point per block: five candidate scales from 0.88 to 1.12
       times (max - min) / 15 (the range taken to include 0, so that 0 stays exact) each get the zero point
       that puts the minimum on the grid, the least-squares scale for the integers they round to, and the
       squared error that leaves; the block keeps the best. Data-free, as llama.cpp's k-quants choose their
       scales without an importance matrix. On trained weights it leaves about 0.80 of rtn's squared error
       (the zero point and the refit about 0.84, the search the rest), for 1/32 byte more per value.
  mixed  mse, and 8 bits (the same search on 255 levels) for the matrices where 4 bits hurt most for their
       size, as llama.cpp's Q4_K_M spends 6 and 8 bits on chosen tensors: attention's key and value
       projections, then the embedding table (a gather reads one row a token, so its bits cost no speed;
       a tied one is the lm_head too, whose 8 bits every decode step reads), each only while the 8-bit
       matrices add at most 1/8 to the 4-bit weights' bytes. Measured (README): on the trained demo Llama the keys and values took the mean KL
       from mse's 0.111 to 0.097; on the trained tiny MoE the keys, values and embedding from 0.025 to
       0.011; on llm-jp-4-8b's shape both fit (a directory 11% larger than mse's, decode within 2%).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Method:
    name: str
    bits: int
    block: int
    symmetric: bool
    search_steps: int  # asymmetric: search_steps + 1 candidate scales per block (0: only the range's own)
    search_range: float  # the candidates span (1 ± search_range) times the range's own scale

    def bits_per_weight(self) -> float:
        """What a weight costs in the file: its bits, its block's float16 scale and zero point shared."""
        return self.bits + (16 + (0 if self.symmetric else self.bits)) / self.block


# The matrices a Recipe may store in 8 bits; a role's parameters count over every layer.
WIDENABLE = ("attn.k", "attn.v", "embedding")


@dataclass(frozen=True)
class Recipe:
    """Which Method each weight matrix gets: ``method`` (4 bits), or its 8-bit twin for the roles of
    ``wide``, taken in that order while the 8-bit matrices' extra bytes stay within ``budget`` times the
    bytes of all the quantized weights in 4 bits (a role that does not fit is skipped, the next tried).
    The bytes are estimated as most matrices store them (Method.bits_per_weight: float16 scales, packed zero
    points); experts' float32 scales and a gathered table's unpacked zero points cost a little more."""

    name: str
    method: Method
    wide: tuple[str, ...] = ()
    budget: float = 0.0

    def wide_roles(self, parameters: dict[str, int]) -> tuple[str, ...]:
        """``parameters``: each widenable role's parameter count (absent or 0: not quantized in this export)
        and "all", every quantized matrix's -> the roles stored in 8 bits."""
        narrow, wide = self.method.bits_per_weight(), self.eight_bit().bits_per_weight()
        allowed, extra, chosen = self.budget * parameters["all"] * narrow, 0.0, []
        for role in self.wide:
            cost = parameters.get(role, 0) * (wide - narrow)
            if cost and extra + cost <= allowed:
                chosen.append(role)
                extra += cost
        return tuple(chosen)

    def eight_bit(self) -> Method:
        return dataclasses.replace(self.method, bits=8)

    def with_block(self, block: int) -> Recipe:
        return dataclasses.replace(self, method=dataclasses.replace(self.method, block=block))

    def manifest(self, wide: tuple[str, ...]) -> dict:
        return {"method": self.name, "bits": self.method.bits, "block_size": self.method.block,
                "symmetric": self.method.symmetric, "eight_bit": list(wide)}


MSE = Method("mse", 4, 32, False, 4, 0.12)
RECIPES = {
    "rtn": Recipe("rtn", Method("rtn", 4, 32, True, 0, 0.0)),
    "mse": Recipe("mse", MSE),
    "mixed": Recipe("mixed", MSE, wide=WIDENABLE, budget=1 / 8),
}
DEFAULT_RECIPE = "mixed"
BLOCK_SIZES = (16, 32, 64, 128, 256)  # convert --block-size: what MatMulNBits and GatherBlockQuantized take


@dataclass(frozen=True)
class Quantized:
    bits: int
    block: int
    data: np.ndarray  # uint8 [N, K/block, block*bits/8]
    scales: np.ndarray  # float32 [N, K/block], each a float16 value
    zero_points: np.ndarray | None  # uint8 [N, K/block], one per block (unpacked); None: 2^(bits-1)

    def packed_zero_points(self) -> np.ndarray:
        """The zero points as MatMulNBits reads them: [N, ceil(blocks/2)] for 4 bits (the embedding's gather
        reads them unpacked)."""
        assert self.zero_points is not None
        zp = self.zero_points
        if self.bits == 4:
            if zp.shape[1] % 2:
                zp = np.pad(zp, ((0, 0), (0, 1)))
            return (zp[:, 0::2] | (zp[:, 1::2] << 4)).astype(np.uint8)
        return zp


def quantize(w: np.ndarray, method: Method) -> Quantized:
    """w [N, K] float -> the method's blocks. A K that is not a multiple of the block is padded with zeros,
    as MatMulNBits expects."""
    n, k = w.shape
    block, qmax = method.block, (1 << method.bits) - 1
    if k % block:
        w = np.pad(w, ((0, 0), (0, block - k % block)))
    blocks = w.reshape(n, -1, block).astype(np.float32)
    if method.symmetric:
        q, scales = _symmetric(blocks, method.bits)
        zero_points = None
    else:
        q, scales, zero_points = _asymmetric(blocks, qmax, method.search_steps, method.search_range)
    q = q.astype(np.uint8)
    data = q[..., 0::2] | (q[..., 1::2] << 4) if method.bits == 4 else q
    # the file stores scales as float16 (half a bit a weight less than float32, as llama.cpp's Q4_0 does):
    # round them here so that dequantize gives what the graph computes
    return Quantized(method.bits, block, data, scales.astype(np.float16).astype(np.float32), zero_points)


def dequantize(q: Quantized, k: int | None = None) -> np.ndarray:
    """The inverse of quantize, for tests and error reports: float32 [N, K] (K: the unpadded width)."""
    values = (np.stack([q.data & 0x0F, q.data >> 4], axis=-1).reshape(*q.scales.shape, q.block) if q.bits == 4
              else q.data)
    zero = (q.zero_points.astype(np.float32) if q.zero_points is not None
            else np.full(q.scales.shape, 1 << (q.bits - 1), dtype=np.float32))
    w = ((values.astype(np.float32) - zero[..., None]) * q.scales[..., None]).reshape(q.scales.shape[0], -1)
    return w if k is None else w[:, :k]


def _symmetric(blocks: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    half = 1 << (bits - 1)
    at = np.abs(blocks).argmax(axis=-1)[..., None]
    scales = np.take_along_axis(blocks, at, axis=-1)[..., 0] / -half  # [N, K/block]
    inverse = np.divide(1.0, scales, out=np.zeros_like(scales), where=scales != 0)
    q = np.clip(np.rint(blocks * inverse[..., None]) + half, 0, 2 * half - 1)
    return q, scales


def _asymmetric(blocks: np.ndarray, qmax: int, steps: int, spread: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per block: the (scale, integer zero point) among the candidates whose least-squares refit leaves the
    smallest squared error, then every value rounded to nearest on that grid."""
    lo, hi = np.minimum(blocks.min(axis=-1), 0), np.maximum(blocks.max(axis=-1), 0)  # 0 stays exact
    base = (hi - lo) / qmax
    sum_b2 = np.einsum("nbk,nbk->nb", blocks, blocks)
    best_err = np.full(base.shape, np.inf, dtype=np.float32)
    best_scale, best_zero = base.copy(), np.zeros(base.shape, dtype=np.float32)
    levels = np.empty_like(blocks)
    for i in range(steps + 1):
        scale = base * np.float32(1 + spread * (2 * i / steps - 1)) if steps else base
        inverse = np.divide(1.0, scale, out=np.zeros_like(scale), where=scale != 0)
        zero = np.clip(np.rint(-lo * inverse), 0, qmax)
        _round(blocks, inverse, zero, qmax, out=levels)
        levels -= zero[..., None]
        sum_bl = np.einsum("nbk,nbk->nb", blocks, levels)
        sum_l2 = np.einsum("nbk,nbk->nb", levels, levels)
        fitted = np.divide(sum_bl, sum_l2, out=scale.copy(), where=sum_l2 > 0)
        err = sum_b2 - 2 * fitted * sum_bl + fitted * fitted * sum_l2  # Σ (b - fitted·l)², in closed form
        better = err < best_err
        best_err = np.where(better, err, best_err)
        best_scale = np.where(better, fitted, best_scale)
        best_zero = np.where(better, zero, best_zero)
    inverse = np.divide(1.0, best_scale, out=np.zeros_like(best_scale), where=best_scale != 0)
    return _round(blocks, inverse, best_zero, qmax, out=levels), best_scale, best_zero.astype(np.uint8)


def _round(blocks: np.ndarray, inverse: np.ndarray, zero: np.ndarray, qmax: int, out: np.ndarray) -> np.ndarray:
    """clip(rint(blocks / scale) + zero, 0, qmax), in place in ``out``."""
    np.multiply(blocks, inverse[..., None], out=out)
    np.rint(out, out=out)
    out += zero[..., None]
    return np.clip(out, 0, qmax, out=out)
