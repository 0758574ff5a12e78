"""The fused MoE kernel's library (native/int4_moe.c, the custom op kotodama.Int4MoE), built with gcc for the
machine that exports, into the model directory that `convert --moe-kernel fused` writes.

ONNX Runtime ships no C headers through the registries this project reaches; the Go module
github.com/yalue/onnxruntime_go vendors its C API header (API version 24, which ONNX Runtime 1.29 and newer
accept), so `go mod download` fetches it into Go's module cache. Building needs gcc and Go; the library
chooses its kernel when it is loaded (AVX-512 VNNI, AVX2, or plain C), so a directory exported on one x86-64
Linux machine runs on another. Builds are cached by the source's digest under KOTODAMA_CACHE (default
~/.cache/kotodama).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
from pathlib import Path

from .errors import ExportError

SOURCE = Path(__file__).parent / "native" / "int4_moe.c"
LIBRARY = "libkotodama_int4moe.so"
HEADER_MODULE = "github.com/yalue/onnxruntime_go@v1.27.0"


def platform_name() -> str:
    """The platform a library built here runs on, as the manifest records it (linux-x86_64)."""
    return f"{platform.system().lower()}-{platform.machine().lower()}"


def build_library() -> Path:
    """The library for this machine, built unless the cache holds it for this source."""
    if platform.system() != "Linux":
        raise ExportError(f"--moe-kernel fused builds a Linux library; this is {platform.system()}: "
                          "use --moe-kernel graph")
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
    cache = Path(os.environ.get("KOTODAMA_CACHE", Path.home() / ".cache" / "kotodama")) / "native" / digest
    library = cache / LIBRARY
    if library.is_file():
        return library
    missing = [tool for tool in ("gcc", "go") if shutil.which(tool) is None]
    if missing:
        raise ExportError(f"--moe-kernel fused builds its kernel with gcc and Go; {' and '.join(missing)} "
                          f"{'is' if len(missing) == 1 else 'are'} not on PATH: install them or use --moe-kernel graph")
    cache.mkdir(parents=True, exist_ok=True)
    print("building the fused MoE kernel (gcc; ONNX Runtime's C API header through `go mod download`)")
    try:
        module = json.loads(subprocess.run(["go", "mod", "download", "-json", HEADER_MODULE], check=True,
                                           capture_output=True, text=True, cwd=cache).stdout)
        staging = cache / f".{LIBRARY}.{os.getpid()}"
        subprocess.run(["gcc", "-O3", "-std=gnu11", "-fPIC", "-shared", "-Wall", "-Wextra", "-Werror",
                        "-I", module["Dir"], "-o", str(staging), str(SOURCE), "-lm"],
                       check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as e:
        lines = (e.stderr or "").strip().splitlines()
        detail = next((line for line in lines if "error" in line), lines[-1] if lines else "no output")
        raise ExportError(f"building the fused MoE kernel failed ({' '.join(e.cmd[:3])}): {detail}") from e
    staging.rename(library)
    return library
