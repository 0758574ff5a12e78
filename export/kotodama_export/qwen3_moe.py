"""The decoder graph of a Qwen3MoeForCausalLM (llm-jp-4-32b-a3b): the Llama graph with per-head q/k
RMSNorm before the rotary attention, and a mixture of experts, routed inside the graph by ONNX Runtime's
MoE op (QMoE for int4), in the layers that the config makes sparse."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from onnx import TensorProto

from .checkpoint import row_chunks
from .llama import LlamaBuilder, hf
from .quant import BLOCK, quantize_int4


class Qwen3MoeBuilder(LlamaBuilder):
    """``router_logits``: also output each sparse layer's router logits as ``router_logits.N``
    [rows, experts], to check the routing against transformers (a debugging export, not for serving)."""

    def __init__(self, *args: object, router_logits: bool = False) -> None:
        super().__init__(*args)
        self.router_logits = router_logits

    def make_qkv(self, layer: int, base: str, x: str) -> list[str]:
        """
        x ─► MatMul q ─► Reshape [.., heads, head_dim] ─► RMSNorm (q_norm) ─► Reshape ─► query
          ├► MatMul k ─► Reshape [.., kv_heads, head_dim] ─► RMSNorm (k_norm) ─► Reshape ─► key
          └► MatMul v ──────────────────────────────────────────────────────────────► value
        GroupQueryAttention applies the rotary after these norms.
        """
        spec = self.spec
        q = self.make_matmul(f"{base}/q_proj", x, [hf(layer, "self_attn.q_proj")])
        k = self.make_matmul(f"{base}/k_proj", x, [hf(layer, "self_attn.k_proj")])
        v = self.make_matmul(f"{base}/v_proj", x, [hf(layer, "self_attn.v_proj")])
        q = self._head_norm(f"{base}/q_norm", q, spec.num_heads, hf(layer, "self_attn.q_norm"))
        k = self._head_norm(f"{base}/k_norm", k, spec.num_kv_heads, hf(layer, "self_attn.k_norm"))
        return [q, k, v]

    def _head_norm(self, name: str, x: str, heads: int, weight: str) -> str:
        """RMSNorm over each head's head_dim values, as Qwen3 normalizes q and k before the rotary."""
        per_head = self.g.constant(f"{name}/heads_shape", np.array([0, 0, heads, self.spec.head_dim], dtype=np.int64))
        flat = self.g.constant(f"{name}/flat_shape", np.array([0, 0, heads * self.spec.head_dim], dtype=np.int64))
        split = self.g.op("Reshape", [x, per_head], f"{name}/Reshape")
        normed = self.make_norm(name, split, weight)
        return self.g.op("Reshape", [normed, flat], f"{name}/Reshape_1")

    def make_mlp(self, layer: int, x: str) -> str:
        if not self.spec.is_sparse(layer):
            return super().make_mlp(layer, x)
        return self.make_moe(layer, x)

    def make_moe(self, layer: int, x: str) -> str:
        """
        x [b, s, hidden] ─► Reshape [rows, hidden] ─► MatMul router ─► logits [rows, experts] ─┐
                                    └──────────────────────────────────────────────────────── MoE / QMoE
              (softmax over all experts, top-k, renormalized when norm_topk_prob; SwiGLU experts)
                                                                       ─► Reshape [b, s, hidden]
        """
        base = f"/model/layers.{layer}/moe"
        spec = self.spec
        shape = self.g.op("Shape", [x], f"{base}/Shape")
        rows_shape = self.g.constant(f"{base}/rows_shape", np.array([-1, spec.hidden_size], dtype=np.int64))
        rows = self.g.op("Reshape", [x, rows_shape], f"{base}/Reshape")
        router = self.make_dense_matmul(f"{base}/router", rows, hf(layer, "mlp.gate"))
        if self.router_logits:
            self.g.node("Identity", [router], f"{base}/router/Identity", outputs=[f"router_logits.{layer}"])
            self.g.add_output(f"router_logits.{layer}", self.act.onnx_type, ["rows", spec.num_experts])
        routing = {"k": spec.experts_per_token, "activation_type": "swiglu", "swiglu_fusion": 1,
                   "activation_alpha": 1.0, "activation_beta": 0.0,
                   "normalize_routing_weights": int(spec.norm_topk_prob)}
        if self.p.int4:
            fc1, fc1_scales = self._quantized_experts(f"{base}/fc1", layer, ("gate_proj", "up_proj"))
            fc2, fc2_scales = self._quantized_experts(f"{base}/fc2", layer, ("down_proj",))
            out = self.g.op("QMoE", [rows, router, fc1, fc1_scales, "", fc2, fc2_scales], f"{base}/QMoE",
                            domain="com.microsoft", expert_weight_bits=4, block_size=BLOCK, **routing)
        else:
            fc1 = self._experts(f"{base}/fc1", layer, ("gate_proj", "up_proj"))
            fc2 = self._experts(f"{base}/fc2", layer, ("down_proj",))
            out = self.g.op("MoE", [rows, router, fc1, "", fc2], f"{base}/MoE", domain="com.microsoft", **routing)
        return self.g.op("Reshape", [out, shape], f"{base}/Reshape_1")

    def make_dense_matmul(self, name: str, x: str, source: str) -> str:
        """A small matmul kept in the activation type even in int4 exports (the router decides the routes)."""
        weight = self.g.weight(f"{name}/weight", np.ascontiguousarray(self.ckpt.tensor(source).T), self.act)
        return self.g.op("MatMul", [x, weight], f"{name}/MatMul")

    def _expert_rows(self, layer: int, expert: int, parts: tuple[str, ...]) -> np.ndarray:
        """One expert's [out, in] matrix; gate and up rows interleaved (g0, u0, g1, u1, …) for fc1."""
        mats = [self.ckpt.tensor(hf(layer, f"mlp.experts.{expert}.{part}")) for part in parts]
        if len(mats) == 1:
            return mats[0]
        fused = np.empty((mats[0].shape[0] * 2, mats[0].shape[1]), dtype=np.float32)
        fused[0::2], fused[1::2] = mats
        return fused

    def _experts(self, name: str, layer: int, parts: tuple[str, ...]) -> str:
        """[experts, out, in] in the activation type, streamed expert by expert into the data file."""
        first = self._expert_rows(layer, 0, parts)

        def chunks() -> Iterator[bytes]:
            for expert in range(self.spec.num_experts):
                yield self.act.to_bytes(first if expert == 0 else self._expert_rows(layer, expert, parts))

        return self.g.raw(f"{name}/weight", self.act.onnx_type, [self.spec.num_experts, *first.shape], chunks())

    def _quantized_experts(self, name: str, layer: int, parts: tuple[str, ...]) -> tuple[str, str]:
        """4-bit [experts, out, in/2] (block 32 along in, zero point 8) and scales [experts, out, in/32]."""
        first = self._expert_rows(layer, 0, parts)
        out_rows, cols = first.shape
        collected: list[np.ndarray] = []

        def packed() -> Iterator[bytes]:
            for expert in range(self.spec.num_experts):
                matrix = first if expert == 0 else self._expert_rows(layer, expert, parts)
                for a, b in row_chunks(out_rows, cols * 4):
                    q, s = quantize_int4(matrix[a:b])
                    collected.append(s.reshape(b - a, -1))
                    yield q.tobytes()

        data = self.g.raw(f"{name}/weight.qdata", TensorProto.UINT8, [self.spec.num_experts, out_rows, cols // 2],
                          packed())
        scales = self.g.weight(f"{name}/weight.scales",
                               np.concatenate(collected).reshape(self.spec.num_experts, out_rows, -1), self.act)
        return data, scales
