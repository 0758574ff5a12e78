"""Reading a Hugging Face checkpoint tensor by tensor (sharded safetensors, bf16 included).

Nothing here loads a whole model: a tensor is read as float32 rows on demand, so a 16 GB checkpoint
converts in bounded memory.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from .errors import ExportError

SOURCE_FILES = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json")


class Checkpoint:
    """The tensors of one checkpoint directory, by Hugging Face name."""

    def __init__(self, directory: Path) -> None:
        from safetensors import safe_open

        self.directory = directory
        self.files = sorted(directory.glob("*.safetensors"))
        if not self.files:
            raise ExportError(f"{directory} has no *.safetensors files: convert .bin checkpoints to safetensors first")
        self._stack = ExitStack()
        self._where: dict[str, object] = {}
        for file in self.files:
            _check_complete(file)
            try:
                handle = self._stack.enter_context(safe_open(str(file), framework="pt"))
            except Exception as e:  # the Rust reader raises its own error types
                raise ExportError(f"{file} is not a readable safetensors file ({e})") from e
            for name in handle.keys():
                self._where[name] = handle

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> Checkpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __contains__(self, name: str) -> bool:
        return name in self._where

    def shape(self, name: str) -> tuple[int, ...]:
        return tuple(self._slice(name).get_shape())

    def rows(self, name: str, start: int, stop: int) -> np.ndarray:
        """Rows [start, stop) of a tensor as float32 (any source dtype, bf16 included)."""
        return self._slice(name)[start:stop].float().numpy()

    def columns(self, name: str, start: int, stop: int) -> np.ndarray:
        """Columns [start, stop) of a 2-D tensor as float32, for writing a transposed copy in pieces."""
        return self._slice(name)[:, start:stop].float().numpy()

    def tensor(self, name: str) -> np.ndarray:
        return self._slice(name)[:].float().numpy()

    def _slice(self, name: str):  # noqa: ANN202 (safetensors' slice type is not public)
        handle = self._where.get(name)
        if handle is None:
            raise ExportError(f"tensor {name} is missing from the checkpoint in {self.directory}")
        return handle.get_slice(name)


def row_chunks(rows: int, row_bytes: int, budget: int = 256 << 20) -> Iterator[tuple[int, int]]:
    """Splits [0, rows) into ranges whose float32 copy stays under budget bytes."""
    step = max(1, budget // max(1, row_bytes))
    for start in range(0, rows, step):
        yield start, min(rows, start + step)


def source_digest(directory: Path) -> dict[str, str]:
    """sha256 of every file the export reads, so a model directory names exactly what it came from."""
    names = [n for n in SOURCE_FILES if (directory / n).is_file()]
    names += [p.name for p in sorted(directory.glob("*.safetensors"))]
    digests = {}
    for name in names:
        h = hashlib.sha256()
        with open(directory / name, "rb") as f:
            while block := f.read(16 << 20):
                h.update(block)
        digests[name] = h.hexdigest()
    return digests


def _check_complete(file: Path) -> None:
    """A truncated download is the commonest broken checkpoint: say so before reading any tensor."""
    size = file.stat().st_size
    try:
        with open(file, "rb") as f:
            (header_len,) = struct.unpack("<Q", f.read(8))
            if header_len > size - 8:
                raise ValueError("header longer than the file")
            header = json.loads(f.read(header_len))
    except (struct.error, ValueError) as e:
        raise ExportError(f"{file} is not a safetensors file or is truncated ({e}); download it again") from e
    end = max((v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"), default=0)
    if 8 + header_len + end > size:
        raise ExportError(
            f"{file} is truncated: it has {size} bytes but its header needs {8 + header_len + end}; download it again"
        )
