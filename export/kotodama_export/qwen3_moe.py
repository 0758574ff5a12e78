"""The decoder graph of a Qwen3MoeForCausalLM (llm-jp-4-32b-a3b): the Llama graph with per-head q/k
RMSNorm before the rotary attention, and a mixture of experts routed inside the graph, in the layers
that the config makes sparse: by ONNX Runtime's MoE op in fp32, fp16 and bf16, and in int4 by
conditional branches that run only the chosen experts' MatMulNBits."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np
from onnx import TensorProto, numpy_helper

from .graph import FLOAT16, Branch
from .llama import LlamaBuilder, hf
from .quant import quantize


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
        k = self.make_matmul(f"{base}/k_proj", x, [hf(layer, "self_attn.k_proj")], "attn.k")
        v = self.make_matmul(f"{base}/v_proj", x, [hf(layer, "self_attn.v_proj")], "attn.v")
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
                                    └──────────────────────────────────────── MoE (fp32, fp16, bf16)
              (softmax over all experts, top-k, renormalized when norm_topk_prob; SwiGLU experts)
                                    └──────────────────────────────── routed int4 experts (int4)
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
        if self.p.int4:
            out = self._make_routed_experts(base, layer, rows, router)
        else:
            fc1 = self._experts(f"{base}/fc1", layer, ("gate_proj", "up_proj"))
            fc2 = self._experts(f"{base}/fc2", layer, ("down_proj",))
            out = self.g.op("MoE", [rows, router, fc1, "", fc2], f"{base}/MoE", domain="com.microsoft",
                            k=spec.experts_per_token, activation_type="swiglu", swiglu_fusion=1, activation_alpha=1.0,
                            activation_beta=0.0, normalize_routing_weights=int(spec.norm_topk_prob))
        return self.g.op("Reshape", [out, shape], f"{base}/Reshape_1")

    def _make_routed_experts(self, base: str, layer: int, rows: str, router: str) -> str:
        """The int4 experts, each run only on the rows routed to it, as transformers' Qwen3MoeSparseMoeBlock:

        logits [rows, E] ─► Softmax ─► TopK k ─► (÷ their sum: norm_topk_prob) ─► ScatterElements
            ─► weights [rows, E] (0 where a row does not use the expert) ─► ReduceMax over rows ─► > 0
            ─► Split ─► used.e, one per expert
        zeros [rows, hidden] ─► If used.0 ─► If used.1 ─► … ─► If used.E-1 ─► out
        then: weights[:, e] ─► NonZero ─► its rows of x ─► MatMulNBits gate|up ─► SiLU(gate)·up
              ─► MatMulNBits down ─► × the rows' weights ─► ScatterND (add) into the running sum
        else: the running sum as it is

        A token reads only its k experts' weights, through MatMulNBits's prepacked int4 kernels. ONNX
        Runtime 1.29's CPU QMoE, which this replaces, dequantized the chosen experts at every call: one
        llm-jp-4-32b-a3b layer took 107 ms for one token against 3.5 ms here (Intel Xeon, 2 threads).
        int4 experts exist only for the CPU (see convert), so the activations here are float32.
        """
        spec, g = self.spec, self.g
        probs = g.op("Softmax", [router], f"{base}/Softmax", axis=-1)
        k = g.constant(f"{base}/k", np.array([spec.experts_per_token], dtype=np.int64))
        top, chosen = g.node("TopK", [probs, k], f"{base}/TopK", outputs=2, axis=-1)
        if spec.norm_topk_prob:
            last = g.constant(f"{base}/last_axis", np.array([-1], dtype=np.int64))
            total = g.op("ReduceSum", [top, last], f"{base}/ReduceSum", keepdims=1)
            top = g.op("Div", [top, total], f"{base}/Div")
        if self.p.moe_kernel == "fused":
            return self._make_fused_experts(base, layer, rows, top, chosen)
        zero = g.constant(f"{base}/zero", np.zeros(1, dtype=np.float32))
        empty = g.op("ConstantOfShape", [g.op("Shape", [probs], f"{base}/weights/Shape")], f"{base}/weights/zeros",
                     value=numpy_helper.from_array(np.zeros(1, dtype=np.float32)))
        weights = g.op("ScatterElements", [empty, chosen, top], f"{base}/weights", axis=1)
        first = g.constant(f"{base}/first_axis", np.array([0], dtype=np.int64))
        used = g.op("Greater", [g.op("ReduceMax", [weights, first], f"{base}/ReduceMax", keepdims=0), zero],
                    f"{base}/used")
        ones = g.constant(f"{base}/ones", np.ones(spec.num_experts, dtype=np.int64))
        flags = g.node("Split", [used, ones], f"{base}/Split", outputs=spec.num_experts, axis=0)
        total = g.op("ConstantOfShape", [g.op("Shape", [rows], f"{base}/Shape_1")], f"{base}/zeros",
                     value=numpy_helper.from_array(np.zeros(1, dtype=np.float32)))
        flat = g.constant(f"{base}/flat", np.array([-1], dtype=np.int64))
        for expert in range(spec.num_experts):
            name = f"{base}/experts.{expert}"
            then = Branch(f"{name}/then")
            column = then.op("Gather", [weights, g.constant(f"{name}/index", np.array(expert, dtype=np.int64))],
                             f"{name}/Gather", axis=1)
            picked = then.op("Reshape", [then.op("NonZero", [column], f"{name}/NonZero"), flat], f"{name}/Reshape")
            x = then.op("Gather", [rows, picked], f"{name}/Gather_1", axis=0)
            source = f"mlp.experts.{expert}"
            fused = self._make_matmul_nbits(f"{name}/gate_up_proj", x, [hf(layer, f"{source}.gate_proj"),
                                                                        hf(layer, f"{source}.up_proj")], self.p.method(),
                                           into=then)
            gate, up = then.node("Split", [fused], f"{name}/Split", outputs=2, axis=-1, num_outputs=2)
            down = self._make_matmul_nbits(f"{name}/down_proj", self.make_swiglu(name, gate, up, into=then),
                                           [hf(layer, f"{source}.down_proj")], self.p.method(), into=then)
            scale = then.op("Unsqueeze", [then.op("Gather", [column, picked], f"{name}/Gather_2", axis=0), flat],
                            f"{name}/Unsqueeze")
            at = then.op("Unsqueeze", [picked, flat], f"{name}/Unsqueeze_1")
            added = then.op("ScatterND", [total, at, then.op("Mul", [down, scale], f"{name}/Mul_1")],
                            f"{name}/ScatterND", reduction="add")
            same = Branch(f"{name}/else")
            kept = same.op("Identity", [total], f"{name}/Identity")
            total = g.op("If", [flags[expert]], f"{name}/If", then_branch=then.proto(added, TensorProto.FLOAT),
                         else_branch=same.proto(kept, TensorProto.FLOAT))
        return total

    def _make_fused_experts(self, base: str, layer: int, rows: str, top: str, chosen: str) -> str:
        """The int4 experts as one kotodama.Int4MoE node (native/int4_moe.c, `convert --moe-kernel fused`):

        rows, top-k weights, top-k ids, every expert's gate|up and down in MatMulNBits's layout stacked
        [experts, ...] ─► Int4MoE ─► out

        It runs the same quantized weights and the same int8 activations as the If chain of
        _make_routed_experts, without the Ifs (about 8 us for each expert a token skips and 65 us for each it
        uses, AMD EPYC), and its weights stay memory-mapped instead of prepacked copies. Zero points are
        stored even for a symmetric method (8, MatMulNBits's default); scales in float16, which the kernel
        reads itself (quantize rounds them to float16 values: the same numbers as the If chain's float32)."""
        spec, method = self.spec, self.p.method()
        inputs = [rows, top, chosen]
        for part, sources, n, k in (("gate_up_proj", ("gate_proj", "up_proj"), 2 * spec.moe_intermediate_size,
                                     spec.hidden_size),
                                    ("down_proj", ("down_proj",), spec.hidden_size, spec.moe_intermediate_size)):
            scales: list[np.ndarray] = []
            zeros: list[np.ndarray] = []

            def data(sources: tuple[str, ...] = sources) -> Iterator[bytes]:
                for expert in range(spec.num_experts):
                    w = np.concatenate([self.ckpt.tensor(hf(layer, f"mlp.experts.{expert}.{s}")) for s in sources])
                    q = quantize(w, method)
                    if q.zero_points is None:  # a symmetric method: MatMulNBits's implicit zero point, made explicit
                        q = dataclasses.replace(q, zero_points=np.full(q.scales.shape, 1 << (q.bits - 1), np.uint8))
                    scales.append(q.scales)
                    zeros.append(q.packed_zero_points())
                    yield q.data.tobytes()

            name = f"{base}/experts/{part}"
            inputs.append(self.g.raw(f"{name}/weight.qdata", TensorProto.UINT8,
                                     [spec.num_experts, n, k // method.block, method.block // 2], data()))
            inputs.append(self.g.weight(f"{name}/weight.scales", np.stack(scales).reshape(spec.num_experts, -1),
                                        FLOAT16))
            stacked = np.stack(zeros).reshape(spec.num_experts, -1)
            inputs.append(self.g.raw(f"{name}/weight.zero_points", TensorProto.UINT8, stacked.shape,
                                     [stacked.tobytes()]))
        return self.g.op("Int4MoE", inputs, f"{base}/Int4MoE", domain="kotodama")

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
