"""The small trained Qwen3-MoE of moe_int4_accuracy.py, kept as a Hugging Face checkpoint.

    export/kotodama-export --python export/bench/tiny_moe_checkpoint.py --out DIR [--steps 300] [--force]

Trains small_qwen3_moe exactly as moe_int4_accuracy.py does (the demo's train module: its seed, 8,000
samples of the demo corpus, the demo's batch size and learning rate, --steps) and writes what that
training writes: model.safetensors, config.json, generation_config.json and the demo tokenizer
(tokenizer.json, tokenizer_config.json, tokenizer.model). The directory is built under a hidden
sibling and renamed into place, so it appears whole or not at all. Prints the training's progress.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from moe_int4_accuracy import small_qwen3_moe  # this file's directory is on sys.path when run as a script

from kotodama_export.demo import train
from kotodama_export.errors import ExportError

SAMPLES = 8000  # as moe_int4_accuracy.py trains it


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="the checkpoint directory to write")
    parser.add_argument("--steps", type=int, default=300, help="training steps (default: %(default)s)")
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")
    args = parser.parse_args()
    try:
        train.train(args.out, steps=args.steps, samples=SAMPLES, tokens_per_batch=train.TOKENS_PER_BATCH,
                    lr=train.LR, force=args.force, make_model=small_qwen3_moe)
    except ExportError as e:
        print(f"tiny_moe_checkpoint: {e}", file=sys.stderr)
        sys.exit(e.exit_code)


if __name__ == "__main__":
    main()
