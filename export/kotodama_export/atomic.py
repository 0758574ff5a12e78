"""Directories that appear whole or not at all: build under a hidden sibling, then rename."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import ExportError


def check_replaceable(out: Path, force: bool) -> None:
    """Fails, before any work, when ``out`` exists and may not be replaced."""
    if out.exists() and not force:
        raise ExportError(f"{out} already exists: choose another --out or pass --force to replace it")


@contextmanager
def atomic_directory(out: Path, force: bool) -> Iterator[Path]:
    """Yields an empty staging directory that becomes `out` when the block ends without an error.

    On any error or interruption the staging directory is removed and `out` is left as it was.
    """
    check_replaceable(out, force)
    parent = out.resolve().parent
    staging = parent / f".{out.name}.partial-{os.getpid()}"
    try:
        parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
    except OSError as e:
        raise ExportError(f"cannot write into {parent} ({e.strerror}): choose a writable --out", exit_code=3) from e
    try:
        yield staging
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            out.rename(old)
        staging.rename(out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
