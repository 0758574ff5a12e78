"""`kotodama-export demo`: train, then export a model directory the Java app can serve as its demo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kotodama_export.cli import main
from kotodama_export.demo import checkpoint as demo_checkpoint
from kotodama_export.errors import ExportError
from kotodama_export.verify import run_verification


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("demo")
    out, checkpoint = root / "model", root / "checkpoint"
    assert main(["demo", "--out", str(out), "--checkpoint", str(checkpoint), "--steps", "3", "--samples", "300"]) == 0
    return out, checkpoint


def test_the_directory_speaks_harmony_and_carries_nothing_from_the_shared_folder(demo):
    out, _ = demo
    manifest = json.loads((out / "kotodama.json").read_text(encoding="utf-8"))
    assert manifest["chat_format"] == "harmony" and manifest["target"] == "cpu" and manifest["precision"] == "fp32"
    assert sorted(p.name for p in out.iterdir()) == sorted(manifest["files"] + ["kotodama.json"])
    assert not (out / "chat_template.jinja").exists() and not (out / "special_tokens_map.json").exists()
    config = json.loads((out / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert "chat_template" not in config and "auto_map" not in config and config["add_bos_token"] is False
    assert len(config["added_tokens_decoder"]) == 352


def test_the_export_equals_the_trained_checkpoint_in_transformers(demo):
    out, checkpoint = demo
    result = run_verification(checkpoint, out, ["What is 12 + 34?", "東京の天気は？"], new_tokens=16)
    assert result["max_abs_logit_diff"] <= 1e-3 and result["greedy_match"]


def test_an_existing_output_is_kept_without_force(demo, capsys):
    out, _ = demo
    before = (out / "kotodama.json").read_bytes()
    assert main(["demo", "--out", str(out), "--steps", "1", "--samples", "50"]) != 0
    assert (out / "kotodama.json").read_bytes() == before
    assert "exists" in capsys.readouterr().err


def test_the_embedded_model_reads_back_into_the_checkpoint_it_was_exported_from(tmp_path):
    checkpoint = demo_checkpoint.recover(demo_checkpoint.EMBEDDED, tmp_path / "checkpoint")
    result = run_verification(checkpoint, demo_checkpoint.EMBEDDED, ["What is 23 + 45?"], new_tokens=16)
    assert result["max_abs_logit_diff"] <= 1e-3 and result["greedy_match"]


def test_an_int4_directory_is_refused_for_read_back(tiny_int4, tmp_path):
    with pytest.raises(ExportError, match="only a float32 Llama export"):
        demo_checkpoint.recover(tiny_int4, tmp_path / "checkpoint")
    assert not (tmp_path / "checkpoint").exists()
