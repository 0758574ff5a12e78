"""Reading a Hugging Face checkpoint tensor by tensor (sharded safetensors, bf16 included).

Nothing here loads a whole model, and nothing is memory-mapped: a tensor's rows are read with plain
file reads into a buffer of their own, so the process's resident memory stays at the slab being
converted even for a 16 GB checkpoint (a mapping would count every page read in the process's RSS).
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .errors import ExportError

SOURCE_FILES = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json")
# safetensors dtype -> (numpy type of the stored bits, bytes per element)
STORED = {"BF16": (np.uint16, 2), "F16": (np.float16, 2), "F32": (np.float32, 4)}


@dataclass(frozen=True)
class _Entry:
    file: Path
    dtype: str
    shape: tuple[int, ...]
    start: int  # absolute byte offset of the first element


class Checkpoint:
    """The tensors of one checkpoint directory, by Hugging Face name."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.files = sorted(directory.glob("*.safetensors"))
        if not self.files:
            raise ExportError(f"{directory} has no *.safetensors files: convert .bin checkpoints to safetensors first")
        self._entries: dict[str, _Entry] = {}
        for file in self.files:
            self._entries.update(_read_header(file))
        self._handles: dict[Path, BinaryIO] = {}

    def close(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()

    def __enter__(self) -> Checkpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def names(self) -> list[str]:
        return list(self._entries)

    def shape(self, name: str) -> tuple[int, ...]:
        return self._entry(name).shape

    def rows(self, name: str, start: int, stop: int) -> np.ndarray:
        """Rows [start, stop) of a tensor as float32 (any stored dtype, bf16 included)."""
        entry = self._entry(name)
        per_row = int(np.prod(entry.shape[1:], dtype=np.int64))
        stored, size = STORED[entry.dtype]
        handle = self._handles.get(entry.file)
        if handle is None:
            handle = self._handles[entry.file] = open(entry.file, "rb")
        handle.seek(entry.start + start * per_row * size)
        bits = np.fromfile(handle, dtype=stored, count=(stop - start) * per_row)
        return _to_float32(bits, entry.dtype).reshape((stop - start, *entry.shape[1:]))

    def columns(self, name: str, start: int, stop: int) -> np.ndarray:
        """Columns [start, stop) of a 2-D tensor as float32, read a row slab at a time."""
        rows, cols = self.shape(name)
        return np.concatenate([self.rows(name, a, b)[:, start:stop] for a, b in row_chunks(rows, cols * 4)])

    def tensor(self, name: str) -> np.ndarray:
        return self.rows(name, 0, self.shape(name)[0])

    def _entry(self, name: str) -> _Entry:
        entry = self._entries.get(name)
        if entry is None:
            raise ExportError(f"tensor {name} is missing from the checkpoint in {self.directory}")
        return entry


def _to_float32(bits: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "BF16":
        return (bits.astype(np.uint32) << 16).view(np.float32)
    return bits.astype(np.float32, copy=False)


def row_chunks(rows: int, row_bytes: int, budget: int = 128 << 20) -> Iterator[tuple[int, int]]:
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


def _read_header(file: Path) -> dict[str, _Entry]:
    """The tensor index of one safetensors file, checked against the file's size (a truncated download
    is the commonest broken checkpoint: say so before reading any tensor)."""
    size = file.stat().st_size
    try:
        with open(file, "rb") as f:
            (header_len,) = struct.unpack("<Q", f.read(8))
            if header_len > size - 8:
                raise ValueError("header longer than the file")
            header = json.loads(f.read(header_len))
    except (struct.error, ValueError) as e:
        raise ExportError(f"{file} is not a safetensors file or is truncated ({e}); download it again") from e
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    end = max((v["data_offsets"][1] for v in tensors.values()), default=0)
    if 8 + header_len + end > size:
        raise ExportError(
            f"{file} is truncated: it has {size} bytes but its header needs {8 + header_len + end}; download it again"
        )
    entries = {}
    for name, v in tensors.items():
        if v["dtype"] not in STORED:
            raise ExportError(f"{file}: tensor {name} is {v['dtype']}; the exporter reads {', '.join(STORED)}")
        entries[name] = _Entry(file, v["dtype"], tuple(v["shape"]), 8 + header_len + v["data_offsets"][0])
    return entries
