"""Memory read bandwidth, the bound of a decode step that reads every weight once.

    export/kotodama-export --python export/bench/bandwidth.py [--threads 2] [--gib 2]

Sums a float32 array of --gib GiB, split across --threads threads (numpy releases the GIL while it sums),
five times after a warm-up; prints each pass, then one JSON line with the best and median GB/s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--gib", type=float, default=2.0)
    args = parser.parse_args()
    data = np.ones(int(args.gib * 2**30) // 4, dtype=np.float32)
    parts = np.array_split(data, args.threads)
    rates = []
    with ThreadPoolExecutor(args.threads) as pool:
        for rep in range(6):
            start = time.perf_counter()
            list(pool.map(np.sum, parts))
            seconds = time.perf_counter() - start
            if rep:
                rates.append(data.nbytes / seconds / 1e9)
                print(f"pass {rep}: {rates[-1]:.1f} GB/s", file=sys.stderr, flush=True)
    print(json.dumps({"threads": args.threads, "gib": args.gib, "best_gb_s": round(max(rates), 1),
                      "median_gb_s": round(statistics.median(rates), 1)}))


if __name__ == "__main__":
    main()
