"""Bad input ends in one readable line and a non-zero exit; nothing half-written is left looking complete."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

EXPORT_DIR = Path(__file__).resolve().parents[1]


def run_cli(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kotodama_export", *map(str, args)], cwd=EXPORT_DIR,
                          capture_output=True, text=True, timeout=600)


def assert_one_line_error(result: subprocess.CompletedProcess, *words: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("kotodama-export: error: ")
    for word in words:
        assert word in lines[0], lines[0]


def convert_args(checkpoint: Path, out: Path, target: str = "cpu", precision: str = "fp32") -> list:
    return ["convert", "--checkpoint", checkpoint, "--out", out, "--target", target, "--precision", precision]


def copy_of(checkpoint: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "checkpoint"
    shutil.copytree(checkpoint, copy)
    return copy


def test_missing_config_json_says_which_directory(tiny_checkpoint: Path, tmp_path: Path):
    broken = copy_of(tiny_checkpoint, tmp_path)
    (broken / "config.json").unlink()

    result = run_cli(*convert_args(broken, tmp_path / "out"))

    assert_one_line_error(result, "no config.json", str(broken))
    assert result.returncode == 2


def test_unsupported_architecture_names_it_and_the_supported_ones(tiny_checkpoint: Path, tmp_path: Path):
    broken = copy_of(tiny_checkpoint, tmp_path)
    config = json.loads((broken / "config.json").read_text())
    config["architectures"] = ["BertForMaskedLM"]
    (broken / "config.json").write_text(json.dumps(config))

    result = run_cli(*convert_args(broken, tmp_path / "out"))

    assert_one_line_error(result, "BertForMaskedLM", "LlamaForCausalLM")


def test_truncated_safetensors_exits_with_one_line(tiny_checkpoint: Path, tmp_path: Path):
    broken = copy_of(tiny_checkpoint, tmp_path)
    shard = sorted(broken.glob("*.safetensors"))[-1]
    with open(shard, "r+b") as f:
        f.truncate(shard.stat().st_size // 2)

    result = run_cli(*convert_args(broken, tmp_path / "out"))

    assert_one_line_error(result, "truncated", shard.name)
    assert not (tmp_path / "out").exists()


def test_unwritable_out_dir_exits_with_one_line(tiny_checkpoint: Path, tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")

    result = run_cli(*convert_args(tiny_checkpoint, blocker / "model"))

    assert_one_line_error(result, "cannot write into")
    assert result.returncode == 3


@pytest.mark.parametrize("target, precision, words", [
    ("tpu", "fp32", ("unknown target 'tpu'", "cpu, cuda")),
    ("cpu", "int3", ("unknown precision 'int3'", "fp32, fp16, bf16, int4")),
    ("cpu", "fp16", ("target cpu runs float32",)),
])
def test_unknown_target_or_precision_lists_the_valid_ones(tiny_checkpoint: Path, tmp_path: Path, target: str,
                                                         precision: str, words: tuple[str, ...]):
    result = run_cli(*convert_args(tiny_checkpoint, tmp_path / "out", target, precision))

    assert_one_line_error(result, *words)


def test_a_quantization_method_for_float_weights_says_it_needs_int4(tiny_checkpoint: Path, tmp_path: Path):
    result = run_cli(*convert_args(tiny_checkpoint, tmp_path / "out", "cpu", "fp32"), "--quant", "mse")

    assert_one_line_error(result, "--quant", "precision fp32")
    assert not (tmp_path / "out").exists()


def test_a_block_size_for_float_weights_says_it_needs_int4(tiny_checkpoint: Path, tmp_path: Path):
    result = run_cli(*convert_args(tiny_checkpoint, tmp_path / "out", "cpu", "fp32"), "--block-size", "64")

    assert_one_line_error(result, "--block-size", "precision fp32")
    assert not (tmp_path / "out").exists()


def test_existing_out_dir_is_not_replaced_without_force(tiny_checkpoint: Path, tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")

    result = run_cli(*convert_args(tiny_checkpoint, out))

    assert_one_line_error(result, "already exists", "--force")
    assert (out / "keep.txt").read_text() == "mine"


@pytest.fixture(scope="module")
def deep_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Llama with 24 layers: its export runs long enough after the first layers for a signal to arrive
    while it is still writing, even on a loaded machine."""
    checkpoint = tmp_path_factory.mktemp("deep") / "tiny-llama-24"
    assert run_cli("random", "--preset", "tiny-llama", "--layers", "24", "--out", checkpoint).returncode == 0
    return checkpoint


def test_killed_export_never_leaves_a_directory_that_looks_complete(deep_checkpoint: Path, tmp_path: Path):
    """SIGKILL in the middle of writing layers: no cleanup code runs, and still no --out appears."""
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "kotodama_export", *map(str, convert_args(deep_checkpoint, out))],
                               cwd=EXPORT_DIR, stdout=subprocess.PIPE, text=True)
    for line in process.stdout:
        if line.startswith("layer 2/24"):
            os.kill(process.pid, signal.SIGKILL)
            break
    process.wait(timeout=60)

    assert process.returncode == -signal.SIGKILL
    assert not out.exists()


def test_interrupted_export_removes_its_staging_directory(deep_checkpoint: Path, tmp_path: Path):
    out = tmp_path / "out"
    # Ctrl-C's default action, even when this runs under a shell that started it in the background (such a
    # shell makes its children ignore SIGINT, and Python keeps an ignored SIGINT ignored)
    process = subprocess.Popen([sys.executable, "-m", "kotodama_export", *map(str, convert_args(deep_checkpoint, out))],
                               cwd=EXPORT_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    for line in process.stdout:
        if line.startswith("layer 2/24"):
            process.send_signal(signal.SIGINT)
            break
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 130, stderr
    assert "interrupted" in stderr.strip().splitlines()[-1]
    assert list(tmp_path.iterdir()) == []


def test_verify_exits_4_past_its_tolerance_and_ends_with_json(tiny_checkpoint: Path, tiny_fp32: Path):
    result = run_cli("verify", "--checkpoint", tiny_checkpoint, "--model", tiny_fp32, "--new-tokens", "4",
                     "--max-abs-diff", "1e-12")

    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert result.returncode == 4
    assert set(figures) >= {"max_abs_logit_diff", "top1_agreement", "mean_kl", "greedy_match"}
    assert "FAIL: max |Δlogit|" in result.stdout


def test_verify_passes_within_the_fp32_tolerances(tiny_checkpoint: Path, tiny_fp32: Path):
    result = run_cli("verify", "--checkpoint", tiny_checkpoint, "--model", tiny_fp32, "--new-tokens", "4")

    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["greedy_match"] is True
