"""What the exporter reads from a checkpoint's config.json: every dimension, never a constant."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .errors import ExportError

SUPPORTED_ARCHITECTURES = ("LlamaForCausalLM", "Qwen3MoeForCausalLM")
SUPPORTED_ROPE_TYPES = ("default", "linear", "dynamic", "llama3", "yarn")


@dataclass(frozen=True)
class ModelSpec:
    architecture: str
    hidden_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    intermediate_size: int
    vocab_size: int
    rms_norm_eps: float
    tie_word_embeddings: bool
    max_position_embeddings: int
    context_length: int  # positions the cos/sin caches cover
    rope_type: str
    bos_token_id: int | None
    eos_token_ids: tuple[int, ...]
    pad_token_id: int | None
    hf_config: object  # transformers PreTrainedConfig, for the rotary reference functions
    # Qwen3-MoE: per-head q/k RMSNorm, and sparse MLP layers; zero experts for a dense Llama
    qk_norm: bool = False
    num_experts: int = 0
    experts_per_token: int = 0
    moe_intermediate_size: int = 0
    norm_topk_prob: bool = False
    decoder_sparse_step: int = 1
    mlp_only_layers: tuple[int, ...] = ()

    def is_sparse(self, layer: int) -> bool:
        return is_sparse_layer(layer, self.num_experts, self.mlp_only_layers, self.decoder_sparse_step)


def is_sparse_layer(layer: int, num_experts: int, mlp_only_layers: tuple[int, ...] | list[int],
                    decoder_sparse_step: int) -> bool:
    """Whether the layer's MLP is the mixture of experts (transformers' rule), else a dense MLP."""
    return num_experts > 0 and layer not in mlp_only_layers and (layer + 1) % decoder_sparse_step == 0


def read_spec(checkpoint: Path) -> ModelSpec:
    """Reads and checks config.json; raises ExportError with one sentence on anything we cannot export."""
    config_path = checkpoint / "config.json"
    if not config_path.is_file():
        raise ExportError(f"{checkpoint} has no config.json: point --checkpoint at a Hugging Face model directory")
    try:
        raw = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ExportError(f"{config_path} is not readable JSON ({e})") from e
    architectures = raw.get("architectures") or []
    architecture = architectures[0] if architectures else raw.get("model_type", "unknown")
    if architecture not in SUPPORTED_ARCHITECTURES:
        raise ExportError(
            f"architecture {architecture!r} in {config_path} is not supported; "
            f"supported: {', '.join(SUPPORTED_ARCHITECTURES)}"
        )
    hf_config = _hf_config(checkpoint)
    rope = getattr(hf_config, "rope_parameters", None) or {}
    rope_type = rope.get("rope_type", "default")
    if rope_type not in SUPPORTED_ROPE_TYPES:
        raise ExportError(f"rope type {rope_type!r} is not supported; supported: {', '.join(SUPPORTED_ROPE_TYPES)}")
    num_heads = int(hf_config.num_attention_heads)
    hidden = int(hf_config.hidden_size)
    head_dim = int(getattr(hf_config, "head_dim", None) or hidden // num_heads)
    max_pos = int(hf_config.max_position_embeddings)
    context = int(max_pos * rope.get("factor", 1.0)) if rope_type == "dynamic" else max_pos
    eos = raw.get("eos_token_id")
    eos_ids = tuple(eos) if isinstance(eos, list) else ((eos,) if eos is not None else ())
    spec = ModelSpec(
        architecture=architecture,
        hidden_size=hidden,
        num_layers=int(hf_config.num_hidden_layers),
        num_heads=num_heads,
        num_kv_heads=int(getattr(hf_config, "num_key_value_heads", None) or num_heads),
        head_dim=head_dim,
        intermediate_size=int(hf_config.intermediate_size),
        vocab_size=int(hf_config.vocab_size),
        rms_norm_eps=float(hf_config.rms_norm_eps),
        tie_word_embeddings=bool(raw.get("tie_word_embeddings", False)),
        max_position_embeddings=max_pos,
        context_length=context,
        rope_type=rope_type,
        bos_token_id=raw.get("bos_token_id"),
        eos_token_ids=eos_ids,
        pad_token_id=raw.get("pad_token_id"),
        hf_config=hf_config,
        **_moe_fields(architecture, hf_config),
    )
    _check_shapes(spec, config_path)
    return spec


def _moe_fields(architecture: str, hf_config: object) -> dict:
    if architecture != "Qwen3MoeForCausalLM":
        return {}
    return {
        "qk_norm": True,
        "num_experts": int(hf_config.num_experts),
        "experts_per_token": int(hf_config.num_experts_per_tok),
        "moe_intermediate_size": int(hf_config.moe_intermediate_size),
        "norm_topk_prob": bool(hf_config.norm_topk_prob),
        "decoder_sparse_step": int(getattr(hf_config, "decoder_sparse_step", 1) or 1),
        "mlp_only_layers": tuple(int(i) for i in (getattr(hf_config, "mlp_only_layers", None) or ())),
    }


def _hf_config(checkpoint: Path) -> object:
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(checkpoint)
    except (OSError, ValueError, KeyError) as e:
        raise ExportError(f"transformers cannot read {checkpoint / 'config.json'}: {str(e).splitlines()[0]}") from e


def _check_shapes(spec: ModelSpec, config_path: Path) -> None:
    if spec.num_heads % spec.num_kv_heads:
        raise ExportError(
            f"{config_path}: num_attention_heads {spec.num_heads} is not a multiple of "
            f"num_key_value_heads {spec.num_kv_heads}"
        )
    if spec.head_dim % 2:
        raise ExportError(f"{config_path}: head_dim {spec.head_dim} must be even for rotary embeddings")
    if spec.num_experts and not 0 < spec.experts_per_token <= spec.num_experts:
        raise ExportError(f"{config_path}: num_experts_per_tok {spec.experts_per_token} must be between 1 and "
                          f"num_experts {spec.num_experts}")
