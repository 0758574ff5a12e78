"""A Q4_0 GGUF for llama.cpp from a Hugging Face LlamaForCausalLM checkpoint: the peer's model file.

    export/kotodama-export --python export/bench/llamacpp_gguf.py --checkpoint DIR --out FILE.gguf

Two steps. First a BF16 GGUF (1-D norms F32) of llama.cpp's `llama` architecture is written tensor
by tensor in row slabs of 128 MB (peak RSS about 1.2 GB, whatever the checkpoint's size): every
hyperparameter from config.json, q/k rows permuted from Hugging Face's rotate-half order to
llama.cpp's, the output matrix kept untied when the checkpoint has one, and the vocabulary of the
LLM-jp-4 SentencePiece model as llama.cpp's `llama` (SPM) tokenizer (pieces, scores, types;
tokenizer_config's added tokens renamed and marked control), special ids from the checkpoint's
tokenizer and config files. A bf16 checkpoint goes into it exactly. Then llama.cpp's own
`llama-quantize` (built by llamacpp.sh) makes the Q4_0 file, so it is what llama.cpp's users would
have: its default mix keeps output.weight at Q6_K, and --pure makes every matrix Q4_0, as Kotodama's
int4 export does. The BF16 file lives beside --out until then (--keep-f16 keeps it); the result
appears under its final name only when complete.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import gguf
import numpy as np
from google.protobuf.message import DecodeError
from sentencepiece import sentencepiece_model_pb2 as sp_pb2

from kotodama_export.checkpoint import Checkpoint, row_chunks
from kotodama_export.errors import ExportError
from kotodama_export.llama import LM_HEAD
from kotodama_export.random_checkpoint import llama_tensors, shared_dir
from kotodama_export.spec import ModelSpec, read_spec

HERE = Path(__file__).resolve().parent
SP_MODEL = shared_dir() / "llm-jp-4" / "llm-jp-tokenizer_ver4.0_alpha1.0.model"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, required=True, help="a Hugging Face LlamaForCausalLM directory")
    parser.add_argument("--out", type=Path, required=True, help="the Q4_0 .gguf to write")
    parser.add_argument("--sp-model", type=Path, default=SP_MODEL, help="SentencePiece model (default: %(default)s)")
    parser.add_argument("--pure", action="store_true", help="every matrix Q4_0 (llama-quantize --pure)")
    parser.add_argument("--keep-f16", action="store_true", help="keep the unquantized BF16 GGUF beside --out")
    parser.add_argument("--quantize", type=Path, help="llama-quantize (default: the one llamacpp.sh built)")
    args = parser.parse_args()
    try:
        write(args)
    except ExportError as e:
        print(f"llamacpp_gguf: {e}", file=sys.stderr)
        sys.exit(e.exit_code)


def write(args: argparse.Namespace) -> None:
    spec = read_spec(args.checkpoint)
    if spec.architecture != "LlamaForCausalLM":
        raise ExportError(f"{args.checkpoint} is a {spec.architecture}; this writes LlamaForCausalLM checkpoints only")
    quantize = args.quantize or llama_tool("llama-quantize")
    if not quantize.is_file():
        raise ExportError(f"{quantize} does not exist: run export/bench/llamacpp.sh build first")
    vocab = vocabulary(args.sp_model, args.checkpoint, spec.vocab_size)
    unquantized = args.out.with_name(f"{args.out.stem}.bf16.gguf")
    partial = args.out.with_name(f".{args.out.name}.partial-{os.getpid()}")
    try:
        started = time.monotonic()
        with Checkpoint(args.checkpoint) as checkpoint:
            write_bf16(checkpoint, spec, vocab, unquantized)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        progress(f"wrote {unquantized} in {time.monotonic() - started:.0f} s (peak RSS {peak_mb} MB); "
                 f"quantizing to Q4_0 with {quantize}")
        command = [str(quantize), *(["--pure"] if args.pure else []), str(unquantized), str(partial), "Q4_0"]
        if subprocess.run(command, stdout=sys.stderr).returncode:
            raise ExportError(f"llama-quantize failed on {unquantized}", exit_code=3)
        partial.rename(args.out)
        progress(f"wrote {args.out} ({args.out.stat().st_size / 2**30:.2f} GiB) in {time.monotonic() - started:.0f} s")
    finally:
        partial.unlink(missing_ok=True)
        if not args.keep_f16:
            unquantized.unlink(missing_ok=True)


def llama_tool(name: str) -> Path:
    """A binary from llamacpp.sh's cache."""
    result = subprocess.run(["bash", str(HERE / "llamacpp.sh"), "path"], capture_output=True, text=True, check=True)
    return Path(result.stdout.strip()) / name


def vocabulary(sp_model: Path, checkpoint: Path, vocab_size: int) -> tuple[list[bytes], list[float], list[int]]:
    """Pieces, scores and types of the SentencePiece model (its type numbers are GGUF's), with the
    checkpoint's added tokens (tokenizer_config.json) under their names, as convert_hf_to_gguf.py does."""
    try:
        pieces = sp_pb2.ModelProto.FromString(sp_model.read_bytes()).pieces
    except (OSError, DecodeError) as e:
        raise ExportError(f"cannot read the SentencePiece model {sp_model} ({e}); pass --sp-model") from e
    if len(pieces) != vocab_size:
        raise ExportError(f"{sp_model} has {len(pieces)} pieces, config.json's vocab_size is {vocab_size}")
    config = checkpoint / "tokenizer_config.json"
    if not config.is_file():
        raise ExportError(f"{config} is missing: the checkpoint's tokenizer files name its special tokens")
    tokens = [p.piece.encode() for p in pieces]
    scores = [p.score for p in pieces]
    types = [int(p.type) for p in pieces]
    for i, entry in json.loads(config.read_text(encoding="utf-8")).get("added_tokens_decoder", {}).items():
        tokens[int(i)] = entry["content"].encode()
        scores[int(i)] = -1000.0
        types[int(i)] = gguf.TokenType.CONTROL if entry.get("special") else gguf.TokenType.USER_DEFINED
    return tokens, scores, types


def write_bf16(checkpoint: Checkpoint, spec: ModelSpec, vocab: tuple[list, list, list], path: Path) -> None:
    writer = gguf.GGUFWriter(path, "llama")
    writer.add_name(checkpoint.directory.name)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_BF16)
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

    config = json.loads((checkpoint.directory / "config.json").read_text(encoding="utf-8"))
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, spec.num_layers)
    tensors = [(n, names.get_name(n, try_suffixes=(".weight",)), shape) for n, shape in llama_tensors(config)]
    if spec.tie_word_embeddings and LM_HEAD in checkpoint.names():
        raise ExportError("config.json ties the embeddings, but the checkpoint has its own lm_head.weight")
    sources = []
    for hf_name, name, shape in tensors:
        if checkpoint.shape(hf_name) != shape:
            raise ExportError(f"{hf_name} is {checkpoint.shape(hf_name)} in the checkpoint, config.json says {shape}")
        sources.append(Slabs(checkpoint, hf_name, permuted_heads(hf_name, spec)))
        writer.add_tensor_info(name, shape, np.dtype(np.float32), sources[-1].nbytes, raw_dtype=sources[-1].dtype)
    if rope_freqs is not None:
        writer.add_tensor_info("rope_freqs.weight", rope_freqs.shape, rope_freqs.dtype, rope_freqs.nbytes)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    total, done, shown = sum(int(np.prod(s)) for *_, s in tensors), 0, 0.0
    for (_, name, shape), source in zip(tensors, sources):
        writer.write_tensor_data(source)
        done += int(np.prod(shape))
        if time.monotonic() - shown > 5 or done == total:
            shown = time.monotonic()
            progress(f"{done / total:6.1%} of {total / 1e9:.2f} B parameters written ({name})")
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
    """One tensor as GGUFWriter.write_tensor_data takes it (nbytes, tofile), read and written in row
    slabs so that a 1.6 GB embedding never sits in memory whole."""

    def __init__(self, checkpoint: Checkpoint, name: str, heads: int) -> None:
        self.checkpoint, self.name, self.heads = checkpoint, name, heads
        self.shape = checkpoint.shape(name)
        vector = len(self.shape) == 1  # norms stay F32, as convert_hf_to_gguf.py keeps them
        self.dtype = gguf.GGMLQuantizationType.F32 if vector else gguf.GGMLQuantizationType.BF16
        self.nbytes = int(np.prod(self.shape)) * (4 if vector else 2)

    def tofile(self, file) -> None:
        if len(self.shape) == 1:
            self.checkpoint.tensor(self.name).astype(np.float32).tofile(file)
            return
        rows, cols = self.shape
        head_rows = rows // self.heads if self.heads else 1
        for start, stop in row_chunks(rows // head_rows, head_rows * cols * 4):
            slab = self.checkpoint.rows(self.name, start * head_rows, stop * head_rows)
            if self.heads:  # per head: [2, d/2, cols] -> [d/2, 2, cols]
                slab = slab.reshape(stop - start, 2, head_rows // 2, cols).swapaxes(1, 2).reshape(-1, cols)
            gguf.quants.quantize(slab, gguf.GGMLQuantizationType.BF16).tofile(file)


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
