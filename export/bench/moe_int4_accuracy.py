"""The int4 mixture of experts against transformers on trained weights, where top-1 agreement means something.

    export/kotodama-export --python export/bench/moe_int4_accuracy.py --work /tmp/kotodama-moe [--steps 300]

Random weights give nearly flat logits whose top tokens any 4-bit noise reorders, so this trains a
small Qwen3-MoE (8 experts, top-2, per-head q/k norms; the demo model's corpus and tokenizer) for
--steps, exports it for the CPU in fp32 and int4 (accuracy_level 4, the CPU default: int8 activations
inside MatMulNBits; 0: float32 activations; and accuracy_level 4 with `--moe-kernel fused`), and compares
each with transformers on held-out demo prompts (prefill and 32 decode steps each). --checkpoint skips
the training and scores a checkpoint this script trained before. Prints progress, then one JSON line per
export.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from transformers import Qwen3MoeConfig, Qwen3MoeForCausalLM

from kotodama_export.convert import convert
from kotodama_export.demo import corpus, train
from kotodama_export.verify import run_verification


def small_qwen3_moe(vocab_size: int) -> Qwen3MoeForCausalLM:
    return Qwen3MoeForCausalLM(Qwen3MoeConfig(
        vocab_size=vocab_size, hidden_size=256, intermediate_size=704, moe_intermediate_size=256,
        num_experts=8, num_experts_per_tok=2, norm_topk_prob=True, decoder_sparse_step=1, mlp_only_layers=[],
        num_hidden_layers=4, num_attention_heads=8, num_key_value_heads=2, head_dim=32,
        max_position_embeddings=1024, rms_norm_eps=1e-6, rope_theta=10000.0, tie_word_embeddings=False,
        bos_token_id=1, eos_token_id=[2, 13], pad_token_id=train.PAD_ID))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--prompts", type=int, default=12)
    parser.add_argument("--checkpoint", type=Path, help="score this checkpoint instead of training one")
    args = parser.parse_args()

    checkpoint = args.checkpoint or args.work / "checkpoint"
    if not args.checkpoint:
        train.train(checkpoint, steps=args.steps, samples=8000, tokens_per_batch=train.TOKENS_PER_BATCH, lr=train.LR,
                    force=True, make_model=small_qwen3_moe)
    prompts = [corpus.prompt(c) for c in corpus.generate(args.prompts, seed=7, split="held_out")]
    for precision, level, kernel in (("fp32", None, None), ("int4", 4, None), ("int4", 0, None), ("int4", 4, "fused")):
        exported = convert(checkpoint, args.work / f"cpu-{precision}-{level}-{kernel or 'graph'}", "cpu", precision,
                           force=True, accuracy_level=level, chat_format="harmony", moe_kernel=kernel)
        result = run_verification(checkpoint, exported, prompts, new_tokens=32)
        print(json.dumps({"steps": args.steps if not args.checkpoint else None, "precision": precision,
                          "accuracy_level": level, "moe_kernel": kernel, **result}), flush=True)


if __name__ == "__main__":
    main()
