"""The decoder graph of a LlamaForCausalLM, one small builder per block.

Graph inputs and outputs (the contract with the Java engine and onnxruntime-genai):
  input_ids                  int64 [batch, seq]
  attention_mask             int64 [batch, total_seq]        (1 for every token so far)
  past_key_values.N.key      act   [batch, kv_heads, past_seq, head_dim]   (BNSH)
  past_key_values.N.value    act   [batch, kv_heads, past_seq, head_dim]
  logits                     float [batch, 1, vocab]             (the last position only)
  present.N.key / .value     act   [batch, kv_heads, total_seq, head_dim]
When past_seq is the buffer's full length, GroupQueryAttention writes the new tokens into the same
buffer (past and present share one allocation when bound to one OrtValue).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
from onnx import TensorProto

from .checkpoint import Checkpoint, row_chunks
from .graph import FLOAT16, FLOAT32, DType, Graph, Nodes
from .quant import Method, Recipe, quantize
from .rope import rotary_caches
from .spec import ModelSpec

# Hugging Face tensor names, all in one place
EMBED = "model.embed_tokens.weight"
FINAL_NORM = "model.norm.weight"
LM_HEAD = "lm_head.weight"


def hf(layer: int, part: str) -> str:
    return f"model.layers.{layer}.{part}.weight"


@dataclass(frozen=True)
class Precision:
    """How weights are stored and in which type activations flow."""

    name: str  # fp32 | fp16 | bf16 | int4
    activations: DType
    int4: bool
    accuracy_level: int  # MatMulNBits: 0 keeps activations in their type; 4 quantizes them to int8 (faster on CPU)
    int4_embedding: bool  # GatherBlockQuantized embedding table (CPU); CUDA keeps it in the activation type
    quant: Recipe | None = None  # how int4 weights are chosen (quant.RECIPES)
    wide: tuple[str, ...] = ()  # the roles (quant.WIDENABLE) that the recipe stores in 8 bits in this export
    moe_kernel: str = "graph"  # int4 experts: an If per expert (graph) or the kotodama.Int4MoE op (fused)

    def method(self, role: str | None = None) -> Method:
        """How the matrix of ``role`` (quant.WIDENABLE; None: any other) is quantized."""
        assert self.quant is not None
        return self.quant.eight_bit() if role in self.wide else self.quant.method

    def gathers_int4(self, hidden: int) -> bool:
        """Whether the embedding is gathered from int4 blocks: on the CPU, when its rows are whole blocks
        (else it stays a table in the activations' type)."""
        return self.int4_embedding and self.quant is not None and hidden % self.quant.method.block == 0


def role_parameters(spec: ModelSpec, precision: Precision) -> dict[str, int]:
    """The parameters of each role that a Recipe may widen (0: not quantized in this export), and of every
    quantized matrix ("all"), for Recipe.wide_roles."""
    hidden, kv = spec.hidden_size, spec.num_kv_heads * spec.head_dim
    table = spec.vocab_size * hidden
    per_layer = hidden * (2 * spec.num_heads * spec.head_dim + 2 * kv)  # q, k, v, o
    mlp = 3 * hidden * spec.intermediate_size
    experts = 3 * hidden * spec.moe_intermediate_size * spec.num_experts
    layers = sum(per_layer + (experts if spec.is_sparse(layer) else mlp) for layer in range(spec.num_layers))
    gathered = precision.gathers_int4(hidden)
    roles = {"attn.k": spec.num_layers * kv * hidden, "attn.v": spec.num_layers * kv * hidden,
             "embedding": table if gathered else 0}
    untied_head = 0 if spec.tie_word_embeddings and gathered else table
    return {"all": layers + roles["embedding"] + untied_head, **roles}


class LlamaBuilder:
    def __init__(self, spec: ModelSpec, checkpoint: Checkpoint, graph: Graph, precision: Precision,
                 progress: Callable[[str], None]) -> None:
        self.spec = spec
        self.ckpt = checkpoint
        self.g = graph
        self.p = precision
        self.act = precision.activations
        self.progress = progress
        self.embedding: QuantizedWeights | None = None  # the int4 embedding's weights, shared by a tied lm_head

    def build(self) -> None:
        """
        input_ids ──► embedding ──► layer 0 … layer L-1 ──► final norm ──► lm_head ──► logits
                                      ▲ each layer:  norm ─► attention ─► skip-norm ─► mlp
        attention_mask ──► seqlens_k, total_seq_len (for every GroupQueryAttention)
        """
        start = time.monotonic()
        ids = self.g.add_input("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"])
        mask = self.g.add_input("attention_mask", TensorProto.INT64, ["batch_size", "total_sequence_length"])
        seqlens_k, total_len = self.make_mask_lengths(mask)
        cos, sin = self.make_rotary_caches()
        hidden = self.make_embedding(ids)
        residual, mlp_out = hidden, None
        for layer in range(self.spec.num_layers):
            residual, mlp_out = self.make_layer(layer, residual, mlp_out, seqlens_k, total_len, cos, sin)
            self.progress(f"layer {layer + 1}/{self.spec.num_layers} written ({time.monotonic() - start:.1f} s)")
        normed = self.make_skip_norm("/model/norm", mlp_out, residual, FINAL_NORM)[0]
        self.make_lm_head(normed)

    def make_mask_lengths(self, mask: str) -> tuple[str, str]:
        """
        attention_mask ─► ReduceSum ─► Sub 1 ─► Cast int32 ─► seqlens_k      [batch]
                       └► Shape ─► Gather 1 ─► Cast int32 ─► total_seq_len  scalar
        """
        base = "/model/attn_mask_reformat"
        one = self.g.constant(f"{base}/one", np.array([1], dtype=np.int64))
        summed = self.g.op("ReduceSum", [mask, one], f"{base}/ReduceSum", keepdims=0)
        less = self.g.op("Sub", [summed, one], f"{base}/Sub")
        seqlens_k = self.g.op("Cast", [less], f"{base}/Sub/Cast", to=TensorProto.INT32)
        shape = self.g.op("Shape", [mask], f"{base}/Shape")
        index = self.g.constant(f"{base}/index", np.array(1, dtype=np.int64))
        total = self.g.op("Gather", [shape, index], f"{base}/Gather", axis=0)
        total_len = self.g.op("Cast", [total], f"{base}/Gather/Cast", to=TensorProto.INT32)
        return seqlens_k, total_len

    def make_rotary_caches(self) -> tuple[str, str]:
        cos, sin = rotary_caches(self.spec)  # [context, head_dim / 2]
        return (self.g.weight("/model/rotary/cos_cache", cos, self.act),
                self.g.weight("/model/rotary/sin_cache", sin, self.act))

    def make_embedding(self, ids: str) -> str:
        name = "/model/embed_tokens"
        vocab, hidden = self.spec.vocab_size, self.spec.hidden_size
        if self.p.gathers_int4(hidden):
            method = self.p.method("embedding")
            # MatMulNBits's layout, so that a tied lm_head reads the same initializers (make_lm_head); the
            # gather sees it as [vocab, blocks, block] quantized along its last axis.
            blocks = hidden // method.block
            weights = self._quantized(name, [EMBED], [vocab, blocks, method.block * method.bits // 8], method,
                                      gather_rows=vocab, matmul=self.spec.tie_word_embeddings)
            self.embedding = weights if self.spec.tie_word_embeddings else None
            scales = self.g.op("Reshape", [weights.scales, self.g.constant(f"{name}/scales_shape",
                                                                           np.array([vocab, blocks, 1]))],
                               f"{name}/Reshape")
            rows = self.g.op("GatherBlockQuantized", [weights.data, ids, scales, *weights.gather_zero_points],
                             f"{name}/GatherBlockQuantized", domain="com.microsoft", bits=method.bits,
                             block_size=method.block, gather_axis=0, quantize_axis=2)
            return self.g.op("Reshape", [rows, self.g.constant(f"{name}/hidden_shape", np.array([0, 0, hidden]))],
                             f"{name}/Reshape_1")
        rows = (self.act.to_bytes(self.ckpt.rows(EMBED, a, b)) for a, b in row_chunks(vocab, hidden * 4))
        table = self.g.raw(f"{name}/weight", self.act.onnx_type, [vocab, hidden], rows)
        return self.g.op("Gather", [table, ids], f"{name}/Gather", axis=0)

    def make_layer(self, layer: int, residual: str, mlp_out: str | None, seqlens_k: str, total_len: str,
                   cos: str, sin: str) -> tuple[str, str]:
        """One decoder layer; returns (residual stream, mlp output) for the next skip-norm."""
        base = f"/model/layers.{layer}"
        if mlp_out is None:
            normed = self.make_norm(f"{base}/input_layernorm", residual, hf(layer, "input_layernorm"))
        else:
            normed, residual = self.make_skip_norm(f"{base}/input_layernorm", mlp_out, residual,
                                                   hf(layer, "input_layernorm"))
        attn = self.make_attention(layer, normed, seqlens_k, total_len, cos, sin)
        normed, residual = self.make_skip_norm(f"{base}/post_attention_layernorm", attn, residual,
                                               hf(layer, "post_attention_layernorm"))
        return residual, self.make_mlp(layer, normed)

    def make_attention(self, layer: int, x: str, seqlens_k: str, total_len: str, cos: str, sin: str) -> str:
        """
        x ─► make_qkv ─► GroupQueryAttention (rotary inside) ─► MatMul o_proj
                past_key_values.N.* ──┘   └──► present.N.*
        """
        base = f"/model/layers.{layer}/attn"
        spec = self.spec
        kv_shape = ["batch_size", spec.num_kv_heads, "past_sequence_length", spec.head_dim]
        present_shape = ["batch_size", spec.num_kv_heads, "total_sequence_length", spec.head_dim]
        past = [self.g.add_input(f"past_key_values.{layer}.{kv}", self.act.onnx_type, kv_shape) for kv in ("key", "value")]
        present = [f"present.{layer}.key", f"present.{layer}.value"]
        for name in present:
            self.g.add_output(name, self.act.onnx_type, present_shape)
        out = self.g.node(
            "GroupQueryAttention", [*self.make_qkv(layer, base, x), *past, seqlens_k, total_len, cos, sin],
            f"{base}/GroupQueryAttention", outputs=[f"{base}/GroupQueryAttention/output_0", *present],
            domain="com.microsoft", num_heads=spec.num_heads, kv_num_heads=spec.num_kv_heads,
            scale=float(spec.head_dim ** -0.5), do_rotary=1, rotary_interleaved=0, local_window_size=-1,
        )[0]
        return self.make_matmul(f"{base}/o_proj", out, [hf(layer, "self_attn.o_proj")])

    def make_qkv(self, layer: int, base: str, x: str) -> list[str]:
        """GroupQueryAttention's query, key and value inputs: q, k and v packed into one MatMul (key and
        value empty), or three when the recipe quantizes them differently (keys and values in 8 bits)."""
        sources = {p: hf(layer, f"self_attn.{p}_proj") for p in "qkv"}
        if self.p.int4 and {"attn.k", "attn.v"} & set(self.p.wide):
            return [self.make_matmul(f"{base}/{p}_proj", x, [sources[p]], None if p == "q" else f"attn.{p}")
                    for p in "qkv"]
        return [self.make_matmul(f"{base}/qkv_proj", x, list(sources.values())), "", ""]

    def make_mlp(self, layer: int, x: str) -> str:
        """
        x ─► MatMul gate ─► Sigmoid ─► Mul (SiLU) ─► Mul ─► MatMul down
          └► MatMul up ──────────────────────────────┘
        """
        base = f"/model/layers.{layer}/mlp"
        gate = self.make_matmul(f"{base}/gate_proj", x, [hf(layer, "mlp.gate_proj")])
        up = self.make_matmul(f"{base}/up_proj", x, [hf(layer, "mlp.up_proj")])
        return self.make_matmul(f"{base}/down_proj", self.make_swiglu(base, gate, up), [hf(layer, "mlp.down_proj")])

    def make_swiglu(self, base: str, gate: str, up: str, into: Nodes | None = None) -> str:
        """SiLU(gate) · up: gate ─► Sigmoid ─► Mul (SiLU) ─► Mul up; the nodes go into ``into`` or the graph."""
        nodes = into or self.g
        silu = nodes.op("Mul", [gate, nodes.op("Sigmoid", [gate], f"{base}/act_fn/Sigmoid")], f"{base}/act_fn/Mul")
        return nodes.op("Mul", [silu, up], f"{base}/Mul")

    def make_lm_head(self, x: str) -> None:
        """
        normed [batch, seq, hidden] ─► Slice (last position) ─► MatMul lm_head ─► (Cast float32) ─► logits
        Only the last position's logits are computed: a 512-token prefill would otherwise spend most of
        its time in a 196,608-wide matmul whose rows nobody samples.
        """
        starts = self.g.constant("/lm_head/last/starts", np.array([-1], dtype=np.int64))
        ends = self.g.constant("/lm_head/last/ends", np.array([np.iinfo(np.int64).max], dtype=np.int64))
        axes = self.g.constant("/lm_head/last/axes", np.array([1], dtype=np.int64))
        last = self.g.op("Slice", [x, starts, ends, axes], "/lm_head/last/Slice")
        if self.spec.tie_word_embeddings and self.embedding is not None:
            logits = self._make_matmul_nbits("/lm_head", last, [EMBED], self.p.method("embedding"),
                                             weights=self.embedding)
        else:
            logits = self.make_matmul("/lm_head", last, [EMBED if self.spec.tie_word_embeddings else LM_HEAD])
        if self.act is not FLOAT32:
            logits = self.g.op("Cast", [logits], "/lm_head/Cast", to=TensorProto.FLOAT)
        self.g.node("Identity", [logits], "/logits/Identity", outputs=["logits"])
        self.g.add_output("logits", TensorProto.FLOAT, ["batch_size", 1, self.spec.vocab_size])

    def make_norm(self, name: str, x: str, weight: str) -> str:
        w = self.g.weight(f"{name}/weight", self.ckpt.tensor(weight), self.act)
        return self.g.op("SimplifiedLayerNormalization", [x, w], f"{name}/SimplifiedLayerNormalization",
                         axis=-1, epsilon=self.spec.rms_norm_eps, stash_type=1)

    def make_skip_norm(self, name: str, x: str, skip: str, weight: str) -> tuple[str, str]:
        """(normalized x + skip, x + skip): the residual add fused with the next RMSNorm."""
        w = self.g.weight(f"{name}/weight", self.ckpt.tensor(weight), self.act)
        node = f"{name}/SkipSimplifiedLayerNormalization"
        out = self.g.node("SkipSimplifiedLayerNormalization", [x, skip, w], node,
                          outputs=[f"{node}/output_0", "", "", f"{node}/output_3"],
                          domain="com.microsoft", epsilon=self.spec.rms_norm_eps)
        return out[0], out[3]

    def make_matmul(self, name: str, x: str, sources: list[str], role: str | None = None) -> str:
        """x @ W.T for W = the sources stacked along the output dimension (HF [out, in] each); int4 weights
        are quantized as the recipe says for ``role`` (quant.WIDENABLE)."""
        if self.p.int4:
            return self._make_matmul_nbits(name, x, sources, self.p.method(role))
        k = self.ckpt.shape(sources[0])[1]
        n = sum(self.ckpt.shape(s)[0] for s in sources)

        def transposed() -> Iterator[bytes]:  # W.T [K, N] row by row, a slab of K at a time
            for a, b in row_chunks(k, n * 4):
                yield self.act.to_bytes(np.concatenate([self.ckpt.columns(s, a, b).T for s in sources], axis=1))

        weight = self.g.raw(f"{name}/weight", self.act.onnx_type, [k, n], transposed())
        return self.g.op("MatMul", [x, weight], f"{name}/MatMul")

    def _make_matmul_nbits(self, name: str, x: str, sources: list[str], method: Method, into: Nodes | None = None,
                           weights: QuantizedWeights | None = None) -> str:
        """The 4- or 8-bit matmul; its node goes into ``into`` (an If branch) or else the graph, its weights
        (made here unless given) into the graph."""
        k = self.ckpt.shape(sources[0])[1]
        n = sum(self.ckpt.shape(s)[0] for s in sources)
        blocks = -(-k // method.block)
        w = weights or self._quantized(name, sources, [n, blocks, method.block * method.bits // 8], method,
                                       float16_scales=into is None)
        return (into or self.g).op("MatMulNBits", [x, w.data, w.scales, *w.zero_points], f"{name}/MatMulNBits",
                                   domain="com.microsoft", K=k, N=n, bits=method.bits, block_size=method.block,
                                   accuracy_level=self.p.accuracy_level)

    def _quantized(self, name: str, sources: list[str], data_shape: list[int], method: Method,
                   gather_rows: int | None = None, matmul: bool = True, float16_scales: bool = True) -> QuantizedWeights:
        """The sources, stacked along their rows, quantized by ``method`` row slab by row slab, as
        initializers of the graph in MatMulNBits's layout; with ``gather_rows``, the zero points one per
        byte, [rows, blocks, 1], as GatherBlockQuantized reads them along its last axis (and, unless
        ``matmul``, only so). The scales are float16 in the file; float32 activations read them through a
        Cast, which ONNX Runtime folds into a float32 initializer when it loads the graph. Without
        ``float16_scales`` (the matmuls inside If branches, the experts) they are stored in the activations'
        type: with float16 expert scales a 2-layer llm-jp-4-32b-a3b shape peaked at 2,398 to 2,450 MB
        against 2,348 to 2,390 (Bench, Intel Xeon), about 50 MB more, within the runs' spread but as if
        ONNX Runtime 1.29 kept float16 originals of initializers folded for a subgraph (those scales are 118
        MB here, 1.9 GB on all 32 layers); not established, so not risked. The Cast is folded by graph
        optimization (basic_opt and up); under no_opt MatMulNBits cannot prepack and runs far slower."""
        scales: list[np.ndarray] = []
        zeros: list[np.ndarray] = []
        unpacked: list[np.ndarray] = []

        def data() -> Iterator[bytes]:
            for source in sources:
                rows, cols = self.ckpt.shape(source)
                for a, b in row_chunks(rows, cols * 4):
                    q = quantize(self.ckpt.rows(source, a, b), method)
                    scales.append(q.scales)
                    if q.zero_points is not None:
                        zeros.append(q.packed_zero_points())
                        unpacked.append(q.zero_points)
                    yield q.data.tobytes()

        packed_data = self.g.raw(f"{name}/weight.qdata", TensorProto.UINT8, data_shape, data())
        values = np.concatenate(scales).reshape(-1)  # of float16 precision: quantize rounds them
        if self.act is FLOAT32 and float16_scales:
            stored = self.g.op("Cast", [self.g.weight(f"{name}/weight.scales", values, FLOAT16)],
                               f"{name}/weight.scales/Cast", to=TensorProto.FLOAT)
        else:
            stored = self.g.weight(f"{name}/weight.scales", values, self.act)
        weights = QuantizedWeights(packed_data, stored)
        if zeros and matmul:
            packed = np.concatenate(zeros).reshape(-1)
            weights.zero_points.append(self.g.raw(f"{name}/weight.zero_points", TensorProto.UINT8, packed.shape,
                                                  [packed.tobytes()]))
        if zeros and gather_rows is not None:
            each = np.concatenate(unpacked).reshape(gather_rows, -1, 1)
            weights.gather_zero_points.append(self.g.raw(f"{name}/weight.zero_points_by_block", TensorProto.UINT8,
                                                         each.shape, [each.tobytes()]))
        return weights


@dataclass
class QuantizedWeights:
    """The initializers of one quantized matrix: data and scales, and the zero points of an asymmetric
    method (in MatMulNBits's layout, and in GatherBlockQuantized's when the matrix is an embedding)."""

    data: str
    scales: str
    zero_points: list[str] = field(default_factory=list)
    gather_zero_points: list[str] = field(default_factory=list)
