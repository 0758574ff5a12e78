"""Rotary-embedding caches for GroupQueryAttention (do_rotary=1), made by transformers' own functions.

GroupQueryAttention reads `cos_cache`/`sin_cache` [positions, head_dim/2] and applies rotate-half RoPE;
transformers' rotary module computes cos/sin of `position * inv_freq` times an attention factor (yarn's
mscale). The caches are those values for every position, so each rope type (default, linear, llama3,
yarn) is exact. Dynamic NTK is the one that depends on the sequence length: transformers recomputes
inv_freq when a sequence grows past the trained length, so a key at position p was rotated with the
frequencies for length p + 1. The cache stores exactly that per position, which equals transformers
token by token (decode); a single prefill longer than the trained length is rotated slightly
differently by transformers, which uses the prefill's whole length for every position.
"""

from __future__ import annotations

import numpy as np

from .spec import ModelSpec


def rotary_caches(spec: ModelSpec) -> tuple[np.ndarray, np.ndarray]:
    """(cos, sin), each float32 [context_length, head_dim / 2]."""
    import torch
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    config = spec.hf_config
    positions = torch.arange(spec.context_length, dtype=torch.float32)
    if spec.rope_type == "default":
        theta = config.rope_parameters["rope_theta"]
        inv_freq = 1.0 / (theta ** (torch.arange(0, spec.head_dim, 2, dtype=torch.int64).float() / spec.head_dim))
        factor = 1.0
    else:
        inv_freq, factor = ROPE_INIT_FUNCTIONS[spec.rope_type](config, "cpu")
    # float32 throughout, as transformers computes it: position * inv_freq, then cos/sin, then the factor
    freqs = positions[:, None] * inv_freq.float()[None, :]
    if spec.rope_type == "dynamic":
        for p in range(spec.max_position_embeddings, spec.context_length):
            grown, _ = ROPE_INIT_FUNCTIONS["dynamic"](config, "cpu", seq_len=p + 1)
            freqs[p] = positions[p] * grown.float()
    return (freqs.cos() * factor).numpy(), (freqs.sin() * factor).numpy()
