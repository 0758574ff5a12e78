"""A GGUF for llama.cpp from a Hugging Face LlamaForCausalLM or Qwen3MoeForCausalLM checkpoint: the peer's model file.

    export/kotodama-export --python export/bench/llamacpp_gguf.py --checkpoint DIR --out FILE.gguf
        [--outtype bf16|f32] [--no-quantize] [--tokenizer-json | --id-markers]

Two steps. First a float GGUF (--outtype: BF16, the default, or F32; 1-D norms and MoE routers F32
either way, as convert_hf_to_gguf.py keeps them) is written tensor by tensor in row slabs of 128 MB
(peak RSS about 1.2 GB, whatever the checkpoint's size), of llama.cpp's `llama` architecture for a
Llama (q/k rows permuted from Hugging Face's rotate-half order to llama.cpp's interleaved pairs, the
output matrix kept untied when the checkpoint has one) or its `qwen3moe` for a Qwen3-MoE (per-head
q/k norms attn_q_norm/attn_k_norm, router ffn_gate_inp, each layer's experts stacked into
ffn_gate_exps/ffn_up_exps [experts, moe_intermediate, hidden] and ffn_down_exps [experts, hidden,
moe_intermediate]; q/k rows NOT permuted, llama.cpp runs qwen3moe with NEOX rotary, the rotate-half
of Hugging Face), every hyperparameter from config.json. A bf16 checkpoint goes into BF16 exactly, a
float32 one into F32 exactly. Then llama.cpp's own `llama-quantize` (built by llamacpp.sh) makes the
Q4_0 file, so it is what llama.cpp's users would have: its default mix keeps output.weight at Q6_K,
and --pure makes every matrix Q4_0, as Kotodama's int4 export does. The float file lives beside --out
until then (--keep-f16 keeps it); with --no-quantize the float GGUF itself is --out. The result
appears under its final name only when complete.

The vocabulary is llama.cpp's `llama` (SPM) tokenizer: pieces, scores and types of a SentencePiece
Unigram model, the LLM-jp-4 one (--sp-model) or, with --tokenizer-json, the one in the checkpoint's
own tokenizer.json (the demo models' tokenizers: same layout, their own pieces); tokenizer_config's
added tokens renamed and marked control; special ids from the checkpoint's tokenizer and config files.
llama.cpp's SPM tokenizer merges pieces by score rather than finding SentencePiece's best Unigram
segmentation, so it can cut a word differently: compare ids before trusting a text's tokens.
--id-markers gives every token a private-use code point as its text instead (id_marker), so that a
text of those code points is read as exactly those ids: llama-perplexity on another tokenizer's ids
(llamacpp_quality.sh --hf-ids).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import gguf
import numpy as np
from google.protobuf.message import DecodeError
from sentencepiece import sentencepiece_model_pb2 as sp_pb2
from tokenizers import Tokenizer

from kotodama_export.checkpoint import Checkpoint, row_chunks
from kotodama_export.errors import ExportError
from kotodama_export.llama import LM_HEAD
from kotodama_export.random_checkpoint import llama_tensors, shared_dir
from kotodama_export.spec import ModelSpec, read_spec

HERE = Path(__file__).resolve().parent
SP_MODEL = shared_dir() / "llm-jp-4" / "llm-jp-tokenizer_ver4.0_alpha1.0.model"
ARCHITECTURES = {"LlamaForCausalLM": gguf.MODEL_ARCH.LLAMA, "Qwen3MoeForCausalLM": gguf.MODEL_ARCH.QWEN3MOE}
FLOAT_TYPES = {"bf16": (gguf.GGMLQuantizationType.BF16, gguf.LlamaFileType.MOSTLY_BF16),
               "f32": (gguf.GGMLQuantizationType.F32, gguf.LlamaFileType.ALL_F32)}
EXPERT = re.compile(r"model\.layers\.(?P<layer>\d+)\.mlp\.experts\.(?P<expert>\d+)\."
                    r"(?P<part>gate_proj|up_proj|down_proj)\.weight")
BYTE_PIECE = re.compile(r"<0x[0-9A-F]{2}>")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, required=True,
                        help="a Hugging Face LlamaForCausalLM or Qwen3MoeForCausalLM directory")
    parser.add_argument("--out", type=Path, required=True,
                        help="the Q4_0 .gguf to write (the float one with --no-quantize)")
    parser.add_argument("--outtype", choices=tuple(FLOAT_TYPES), default="bf16",
                        help="the float GGUF's matrices (default: %(default)s)")
    parser.add_argument("--no-quantize", action="store_true", help="stop after the float GGUF, written at --out")
    parser.add_argument("--sp-model", type=Path, default=SP_MODEL, help="SentencePiece model (default: %(default)s)")
    vocab = parser.add_mutually_exclusive_group()
    vocab.add_argument("--tokenizer-json", action="store_true",
                       help="the vocabulary of the checkpoint's tokenizer.json (a Unigram model), not --sp-model's")
    vocab.add_argument("--id-markers", action="store_true",
                       help="token texts are id markers (see id_marker), for feeding llama-perplexity given token ids")
    parser.add_argument("--pure", action="store_true", help="every matrix Q4_0 (llama-quantize --pure)")
    parser.add_argument("--keep-f16", action="store_true", help="keep the unquantized float GGUF beside --out")
    parser.add_argument("--quantize", type=Path, help="llama-quantize (default: the one llamacpp.sh built)")
    args = parser.parse_args()
    try:
        write(args)
    except ExportError as e:
        print(f"llamacpp_gguf: {e}", file=sys.stderr)
        sys.exit(e.exit_code)


def write(args: argparse.Namespace) -> None:
    spec = read_spec(args.checkpoint)
    arch = ARCHITECTURES.get(spec.architecture)
    if arch is None:
        raise ExportError(f"{args.checkpoint} is a {spec.architecture}; "
                          f"this writes {', '.join(ARCHITECTURES)} checkpoints only")
    check_llama_cpp_can_run(spec)
    quantize = None
    if not args.no_quantize:
        quantize = args.quantize or llama_tool("llama-quantize")
        if not quantize.is_file():
            raise ExportError(f"{quantize} does not exist: run export/bench/llamacpp.sh build first")
    if args.id_markers:
        vocab = id_marker_vocab(spec.vocab_size)
    else:
        if args.tokenizer_json:
            pieces = tokenizer_json_pieces(args.checkpoint / "tokenizer.json", spec.vocab_size)
        else:
            pieces = sp_model_pieces(args.sp_model, spec.vocab_size)
        vocab = with_added_tokens(pieces, args.checkpoint)
    partial = args.out.with_name(f".{args.out.name}.partial-{os.getpid()}")
    unquantized = partial if args.no_quantize else args.out.with_name(f"{args.out.stem}.{args.outtype}.gguf")
    try:
        started = time.monotonic()
        with Checkpoint(args.checkpoint) as checkpoint:
            write_float(checkpoint, spec, arch, vocab, unquantized, args.outtype)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        if quantize is None:
            partial.rename(args.out)
            progress(f"wrote {args.out} ({args.out.stat().st_size / 2**20:.1f} MiB, {args.outtype.upper()}) in "
                     f"{time.monotonic() - started:.0f} s (peak RSS {peak_mb} MB)")
            return
        progress(f"wrote {unquantized} in {time.monotonic() - started:.0f} s (peak RSS {peak_mb} MB); "
                 f"quantizing to Q4_0 with {quantize}")
        command = [str(quantize), *(["--pure"] if args.pure else []), str(unquantized), str(partial), "Q4_0"]
        if subprocess.run(command, stdout=sys.stderr).returncode:
            raise ExportError(f"llama-quantize failed on {unquantized}", exit_code=3)
        partial.rename(args.out)
        progress(f"wrote {args.out} ({args.out.stat().st_size / 2**30:.2f} GiB) in {time.monotonic() - started:.0f} s")
    finally:
        partial.unlink(missing_ok=True)
        if not args.keep_f16 and not args.no_quantize:
            unquantized.unlink(missing_ok=True)


def check_llama_cpp_can_run(spec: ModelSpec) -> None:
    """What llama.cpp's qwen3moe cannot represent: it makes every layer sparse, always renormalizes the
    top-k routing weights (build_moe_ffn's norm_w is true) and reads no rope_freqs tensor."""
    if spec.architecture != "Qwen3MoeForCausalLM":
        return
    dense = [layer for layer in range(spec.num_layers) if not spec.is_sparse(layer)]
    if dense:
        raise ExportError(f"layers {dense} have a dense MLP (mlp_only_layers / decoder_sparse_step): "
                          "llama.cpp's qwen3moe makes every layer a mixture of experts")
    if not spec.norm_topk_prob:
        raise ExportError("norm_topk_prob is false: llama.cpp's qwen3moe always renormalizes the top-k routing weights")
    if spec.rope_type == "llama3":
        raise ExportError("llama3 RoPE scaling: llama.cpp's qwen3moe reads no rope_freqs tensor")
    if getattr(spec.hf_config, "attention_bias", False):
        raise ExportError("attention_bias is true: this writer has no q/k/v/o biases")


def llama_tool(name: str) -> Path:
    """A binary from llamacpp.sh's cache."""
    result = subprocess.run(["bash", str(HERE / "llamacpp.sh"), "path"], capture_output=True, text=True, check=True)
    return Path(result.stdout.strip()) / name


Vocab = tuple[list[bytes], list[float], list[int]]  # pieces, scores, types (GGUF's token type numbers)


def sp_model_pieces(sp_model: Path, vocab_size: int) -> Vocab:
    """Pieces, scores and types of a SentencePiece model (its type numbers are GGUF's)."""
    try:
        pieces = sp_pb2.ModelProto.FromString(sp_model.read_bytes()).pieces
    except (OSError, DecodeError) as e:
        raise ExportError(f"cannot read the SentencePiece model {sp_model} ({e}); pass --sp-model") from e
    if len(pieces) != vocab_size:
        raise ExportError(f"{sp_model} has {len(pieces)} pieces, config.json's vocab_size is {vocab_size}")
    return [p.piece.encode() for p in pieces], [p.score for p in pieces], [int(p.type) for p in pieces]


def tokenizer_json_pieces(path: Path, vocab_size: int) -> Vocab:
    """The same from a Hugging Face tokenizer.json holding a SentencePiece Unigram model, as
    kotodama_export.sp_tokenizer builds them. tokenizer.json keeps no piece types, so they are told
    apart as SentencePiece scores them: byte pieces <0xXX> (BYTE), the unk id (UNKNOWN), and pieces
    scored exactly 0, which a Unigram model gives only to user-defined and control pieces (the control
    ones are added tokens, typed below), USER_DEFINED; the rest NORMAL (negative log-probabilities)."""
    try:
        model = json.loads(path.read_text(encoding="utf-8"))["model"]
    except (OSError, ValueError, KeyError) as e:
        raise ExportError(f"cannot read a tokenizer model from {path} ({e})") from e
    if model.get("type") != "Unigram" or not model.get("byte_fallback"):
        raise ExportError(f"{path} holds a {model.get('type')} model; --tokenizer-json reads SentencePiece Unigram "
                          "models with byte fallback (LLM-jp-4's kind) only")
    entries = model["vocab"]
    if len(entries) != vocab_size:
        raise ExportError(f"{path} has {len(entries)} pieces, config.json's vocab_size is {vocab_size}")
    tokens = [piece.encode() for piece, _ in entries]
    scores = [float(score) for _, score in entries]
    types = [gguf.TokenType.BYTE if BYTE_PIECE.fullmatch(piece)
             else gguf.TokenType.USER_DEFINED if score == 0.0 else gguf.TokenType.NORMAL for piece, score in entries]
    if model.get("unk_id") is not None:
        types[model["unk_id"]] = gguf.TokenType.UNKNOWN
    return tokens, scores, [int(t) for t in types]


def with_added_tokens(pieces: Vocab, checkpoint: Path) -> Vocab:
    """The checkpoint's added tokens (tokenizer_config.json) under their names, special ones control and
    the rest user-defined, as convert_hf_to_gguf.py does."""
    config = checkpoint / "tokenizer_config.json"
    if not config.is_file():
        raise ExportError(f"{config} is missing: the checkpoint's tokenizer files name its special tokens")
    tokens, scores, types = (list(p) for p in pieces)
    for i, entry in json.loads(config.read_text(encoding="utf-8")).get("added_tokens_decoder", {}).items():
        tokens[int(i)] = entry["content"].encode()
        scores[int(i)] = -1000.0
        types[int(i)] = int(gguf.TokenType.CONTROL if entry.get("special") else gguf.TokenType.USER_DEFINED)
    return tokens, scores, types


def perplexity_ids(tokenizer_json: Path, text: Path) -> list[int]:
    """The Hugging Face tokenizer's ids of a text as llama-perplexity -f reads it: the file's characters
    untranslated (no newline conversion), one trailing newline dropped, no special tokens added."""
    with open(text, encoding="utf-8", newline="") as f:
        body = f.read()
    body = body[:-1] if body.endswith("\n") else body
    return Tokenizer.from_file(str(tokenizer_json)).encode(body, add_special_tokens=False).ids


def id_marker(token: int) -> str:
    """Token ``token``'s text in an --id-markers GGUF: one private-use code point per id (planes 15 and 16)."""
    if not 0 <= token < 2 * 0xFFFE:
        raise ExportError(f"token id {token} has no id marker (at most {2 * 0xFFFE} ids)")
    return chr(0xF0000 + token) if token < 0xFFFE else chr(0x100000 + token - 0xFFFE)


def id_marker_vocab(vocab_size: int) -> Vocab:
    """Every token user-defined with its id marker as text: llama.cpp splits user-defined tokens out of
    any text before tokenizing the rest (special-token parsing on or off), so a text made of markers
    alone becomes exactly their ids. llama-perplexity reads only text: this is how it evaluates the ids
    of another tokenizer (Hugging Face's), weights unchanged. Not a model file to chat with."""
    tokens = [id_marker(i).encode() for i in range(vocab_size)]
    return tokens, [0.0] * vocab_size, [int(gguf.TokenType.USER_DEFINED)] * vocab_size


@dataclass
class Tensor:
    """One GGUF tensor: its name, its shape in numpy order, and the checkpoint tensors it is made of
    (several for experts stacked into one [experts, rows, cols] tensor)."""

    name: str
    shape: tuple[int, ...]
    sources: list[str] = field(default_factory=list)
    heads: int = 0  # heads whose q/k rows go from rotate-half to interleaved pairs (llama only), else 0
    f32: bool = False  # kept F32 whatever --outtype (norms, routers)


def gguf_tensors(checkpoint: Checkpoint, spec: ModelSpec, arch: gguf.MODEL_ARCH) -> list[Tensor]:
    """The GGUF's tensors, in checkpoint order, every checkpoint tensor in exactly one."""
    config = json.loads((checkpoint.directory / "config.json").read_text(encoding="utf-8"))
    if spec.tie_word_embeddings and LM_HEAD in checkpoint.names():
        raise ExportError("config.json ties the embeddings, but the checkpoint has its own lm_head.weight")
    names = gguf.get_tensor_name_map(arch, spec.num_layers)
    tensors: list[Tensor] = []
    stacked: dict[str, Tensor] = {}
    for hf_name, shape in llama_tensors(config):
        if checkpoint.shape(hf_name) != shape:
            raise ExportError(f"{hf_name} is {checkpoint.shape(hf_name)} in the checkpoint, config.json says {shape}")
        expert = EXPERT.fullmatch(hf_name)
        key = f"model.layers.{expert['layer']}.mlp.experts.{expert['part']}.weight" if expert else hf_name
        if key in stacked:
            stacked[key].sources.append(hf_name)
            continue
        name = names.get_name(key, try_suffixes=(".weight",))
        if name is None:
            raise ExportError(f"llama.cpp's {gguf.MODEL_ARCH_NAMES[arch]} has no tensor for {key}")
        heads = permuted_heads(hf_name, spec) if arch == gguf.MODEL_ARCH.LLAMA else 0
        is_router = name.endswith(".ffn_gate_inp.weight")  # F32, as convert_hf_to_gguf.py and llama-quantize keep it
        tensors.append(Tensor(name, shape, [hf_name], heads, f32=len(shape) == 1 or is_router))
        if expert:
            stacked[key] = tensors[-1]
    for key, tensor in stacked.items():
        if len(tensor.sources) != spec.num_experts:
            raise ExportError(f"{key}: {len(tensor.sources)} experts in the checkpoint, "
                              f"config.json says {spec.num_experts}")
        tensor.shape = (len(tensor.sources), *tensor.shape)
    unused = sorted(set(checkpoint.names()) - {s for t in tensors for s in t.sources})
    if unused:
        raise ExportError(f"the checkpoint holds tensors this writer does not place: {', '.join(unused[:5])}")
    return tensors


def write_float(checkpoint: Checkpoint, spec: ModelSpec, arch: gguf.MODEL_ARCH, vocab: Vocab, path: Path,
                outtype: str) -> None:
    matrix_type, file_type = FLOAT_TYPES[outtype]
    writer = gguf.GGUFWriter(path, gguf.MODEL_ARCH_NAMES[arch])
    writer.add_name(checkpoint.directory.name)
    writer.add_file_type(file_type)
    writer.add_vocab_size(spec.vocab_size)
    writer.add_context_length(spec.max_position_embeddings)
    writer.add_embedding_length(spec.hidden_size)
    writer.add_feed_forward_length(spec.intermediate_size)
    writer.add_block_count(spec.num_layers)
    writer.add_head_count(spec.num_heads)
    writer.add_head_count_kv(spec.num_kv_heads)
    writer.add_key_length(spec.head_dim)
    writer.add_value_length(spec.head_dim)
    writer.add_rope_dimension_count(spec.head_dim)
    writer.add_layer_norm_rms_eps(spec.rms_norm_eps)
    if spec.num_experts:  # the keys convert_hf_to_gguf.py's Qwen3MoeModel writes; qwen3moe hard-codes softmax routing
        writer.add_expert_count(spec.num_experts)
        writer.add_expert_used_count(spec.experts_per_token)
        writer.add_expert_feed_forward_length(spec.moe_intermediate_size)
    rope_freqs = add_rope(writer, spec)
    tokens, scores, types = vocab
    writer.add_tokenizer_model("llama")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    special = gguf.SpecialVocab(checkpoint.directory, special_token_types=("bos", "eos", "unk", "pad"),
                                n_vocab=spec.vocab_size)
    special.add_to_gguf(writer, quiet=True)

    tensors = gguf_tensors(checkpoint, spec, arch)
    sources = [Slabs(checkpoint, t, gguf.GGMLQuantizationType.F32 if t.f32 else matrix_type) for t in tensors]
    for tensor, source in zip(tensors, sources):
        writer.add_tensor_info(tensor.name, tensor.shape, np.dtype(np.float32), source.nbytes, raw_dtype=source.dtype)
    if rope_freqs is not None:
        writer.add_tensor_info("rope_freqs.weight", rope_freqs.shape, rope_freqs.dtype, rope_freqs.nbytes)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    total, done, shown = sum(int(np.prod(t.shape)) for t in tensors), 0, 0.0
    for tensor, source in zip(tensors, sources):
        writer.write_tensor_data(source)
        done += int(np.prod(tensor.shape))
        if time.monotonic() - shown > 5 or done == total:
            shown = time.monotonic()
            count = f"{total / 1e9:.2f} B" if total >= 1e9 else f"{total / 1e6:.2f} M"
            progress(f"{done / total:6.1%} of {count} parameters written ({tensor.name})")
    if rope_freqs is not None:
        writer.write_tensor_data(rope_freqs)
    writer.close()


def add_rope(writer: gguf.GGUFWriter, spec: ModelSpec) -> np.ndarray | None:
    """RoPE's base and scaling keys; for llama3 scaling, the per-frequency divisors llama.cpp reads from
    a rope_freqs tensor (transformers' default inverse frequencies over its llama3 ones)."""
    if spec.rope_type == "dynamic":
        raise ExportError("llama.cpp has no dynamic-NTK RoPE: this checkpoint's rope_scaling cannot be written")
    rope = spec.hf_config.rope_parameters
    writer.add_rope_freq_base(rope["rope_theta"])
    if spec.rope_type in ("linear", "yarn"):
        writer.add_rope_scaling_type(gguf.RopeScalingType[spec.rope_type.upper()])
        writer.add_rope_scaling_factor(rope["factor"])
    if spec.rope_type == "yarn":
        writer.add_rope_scaling_orig_ctx_len(rope["original_max_position_embeddings"])
        for key, add in (("attention_factor", writer.add_rope_scaling_yarn_attn_factor),
                         ("beta_fast", writer.add_rope_scaling_yarn_beta_fast),
                         ("beta_slow", writer.add_rope_scaling_yarn_beta_slow)):
            if rope.get(key) is not None:
                add(rope[key])
    if spec.rope_type != "llama3":
        return None
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    scaled, _ = ROPE_INIT_FUNCTIONS["llama3"](spec.hf_config, "cpu")
    default = 1.0 / (rope["rope_theta"] ** (np.arange(0, spec.head_dim, 2, dtype=np.float64) / spec.head_dim))
    return (default / scaled.double().numpy()).astype(np.float32)


def permuted_heads(hf_name: str, spec: ModelSpec) -> int:
    """Heads whose rows go from rotate-half to llama.cpp's interleaved pairs (q and k), else 0."""
    if hf_name.endswith("self_attn.q_proj.weight"):
        return spec.num_heads
    if hf_name.endswith("self_attn.k_proj.weight"):
        return spec.num_kv_heads
    return 0


class Slabs:
    """One GGUF tensor as GGUFWriter.write_tensor_data takes it (nbytes, tofile), its checkpoint
    tensors read and written one after the other in row slabs, so that a 1.6 GB embedding never sits
    in memory whole."""

    def __init__(self, checkpoint: Checkpoint, tensor: Tensor, dtype: gguf.GGMLQuantizationType) -> None:
        self.checkpoint, self.tensor, self.dtype = checkpoint, tensor, dtype
        size = 4 if dtype == gguf.GGMLQuantizationType.F32 else 2
        self.nbytes = int(np.prod(tensor.shape)) * size

    def tofile(self, file) -> None:
        for name in self.tensor.sources:
            shape = self.checkpoint.shape(name)
            if len(shape) == 1:
                self._write(self.checkpoint.tensor(name), file)
                continue
            rows, cols = shape
            heads = self.tensor.heads
            head_rows = rows // heads if heads else 1
            for start, stop in row_chunks(rows // head_rows, head_rows * cols * 4):
                slab = self.checkpoint.rows(name, start * head_rows, stop * head_rows)
                if heads:  # per head: [2, d/2, cols] -> [d/2, 2, cols]
                    slab = slab.reshape(stop - start, 2, head_rows // 2, cols).swapaxes(1, 2).reshape(-1, cols)
                self._write(slab, file)

    def _write(self, values: np.ndarray, file) -> None:
        if self.dtype == gguf.GGMLQuantizationType.F32:
            np.ascontiguousarray(values, dtype=np.float32).tofile(file)
        else:
            gguf.quants.quantize(values, self.dtype).tofile(file)


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
