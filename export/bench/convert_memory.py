"""Peak memory and wall time of `convert` on a full-size random checkpoint.

    export/kotodama-export --python export/bench/convert_memory.py --preset llm-jp-4-8b --work /tmp/kotodama-bench

Writes the random checkpoint once (kept in --work for later runs), then runs `convert` in a child
process, sampling its resident memory every 50 ms. Prints progress, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil

EXPORT_DIR = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="llm-jp-4-8b")
    parser.add_argument("--layers", type=int)
    parser.add_argument("--target", default="cpu")
    parser.add_argument("--precision", default="int4")
    parser.add_argument("--work", type=Path, required=True, help="where the checkpoint and the export go")
    args = parser.parse_args()

    name = f"{args.preset}-{args.layers or 'all'}L"
    checkpoint = args.work / f"{name}-random"
    out = args.work / f"{name}-{args.target}-{args.precision}"
    if not (checkpoint / "config.json").is_file():
        cli("random", "--preset", args.preset, *(["--layers", str(args.layers)] if args.layers else []),
            "--out", checkpoint, "--force")
    shutil.rmtree(out, ignore_errors=True)

    started = time.monotonic()
    child = subprocess.Popen(command("convert", "--checkpoint", checkpoint, "--out", out,
                                     "--target", args.target, "--precision", args.precision), cwd=EXPORT_DIR)
    process, peak = psutil.Process(child.pid), 0
    while child.poll() is None:
        try:
            peak = max(peak, process.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    wall = time.monotonic() - started
    if child.returncode != 0:
        sys.exit(f"convert failed with exit code {child.returncode}")
    max_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # Linux reports KiB
    source = sum(f.stat().st_size for f in checkpoint.glob("*.safetensors"))
    print(json.dumps({
        "preset": args.preset, "layers": args.layers or "all", "target": args.target, "precision": args.precision,
        "checkpoint_gb": round(source / 1e9, 2),
        "output_gb": round(sum(f.stat().st_size for f in out.iterdir()) / 1e9, 2),
        "wall_s": round(wall, 1),
        "peak_rss_mb": round(max(peak, max_rss) / 2**20),
    }))


def command(*args: object) -> list[str]:
    return [sys.executable, "-m", "kotodama_export", *map(str, args)]


def cli(*args: object) -> None:
    subprocess.run(command(*args), cwd=EXPORT_DIR, check=True)


if __name__ == "__main__":
    main()
