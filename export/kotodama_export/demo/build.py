"""Train the demo model and export it as the cpu fp32 model directory that the app embeds.

Run: ``kotodama-export demo --out DIR [--steps N] [--checkpoint DIR]``. The Hugging Face checkpoint
goes to ``--checkpoint`` (kept, for ``verify`` and ``demo.sample``) or to a temporary folder.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..atomic import check_replaceable
from ..convert import convert
from . import train


def build(out: Path, *, steps: int | None = None, samples: int | None = None, checkpoint: Path | None = None,
          force: bool = False) -> Path:
    check_replaceable(out, force)
    if checkpoint is not None:
        check_replaceable(checkpoint, force)
    with tempfile.TemporaryDirectory(prefix="kotodama-demo-") as tmp:
        ckpt = checkpoint or Path(tmp) / "checkpoint"
        train.train(ckpt, steps=steps or train.STEPS, samples=samples or train.SAMPLES,
                    tokens_per_batch=train.TOKENS_PER_BATCH, lr=train.LR, force=force)
        # no chat_template.jinja comes with the demo (nothing from ../shared is copied): say it speaks Harmony
        return convert(ckpt, out, "cpu", "fp32", force=force, chat_format="harmony")
