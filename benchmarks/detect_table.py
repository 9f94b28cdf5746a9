"""Exhaustive scan detection from a header table held in memory: its cost at scale.

    python benchmarks/detect_table.py                # 1024 x 1024 scan (1M frames), 3 rounds
    python benchmarks/detect_table.py --side 2048    # 4M frames

``detect_scan(headers=table)`` on a winding-x raster of ``side`` x ``side`` positions after
100 junk frames at (0, 0): clean; with one stray position among the junk frames; with
3 % of all frames at a stray position (junk included). Prints the median and min - max
seconds, and checks every answer (the raster is found in each case).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_headers_detect import raster_positions  # noqa: E402

from intake_tvips import detect_scan  # noqa: E402

JUNK = 100


def table(side: int) -> np.ndarray:
    n = JUNK + side * side + 2
    sx, sy = raster_positions(n, (side, side), JUNK, "x")
    dt = np.dtype([("frame", "<i8"), ("rotidx", "<u4"), ("Scan_x", "<f4"), ("Scan_y", "<f4")])
    t = np.zeros(n, dt)
    t["frame"] = np.arange(n)
    t["rotidx"][JUNK : JUNK + side * side] = np.arange(1, side * side + 1)
    t["Scan_x"], t["Scan_y"] = sx, sy
    return t


def cases(side: int) -> dict:
    clean = table(side)
    junk = clean.copy()
    junk["Scan_x"][50] = 7
    strays = clean.copy()
    rng = np.random.default_rng(0)
    strays["Scan_x"][rng.choice(strays.size, strays.size // 33, replace=False)] = 5
    return {"clean": clean, "one stray among the junk frames": junk, "3 % strays": strays}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"| {args.side} x {args.side} scan, {args.side**2 + JUNK + 2} frames | median s "
          "| min - max s |\n|---|---|---|")  # fmt: skip
    for name, t in cases(args.side).items():
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            d = detect_scan(headers=t)
            times.append(time.perf_counter() - t0)
        want = ((args.side, args.side), JUNK, "x")
        if (d.scan_shape, d.scan_start_frame, d.winding_scan_axis) != want:
            raise SystemExit(f"{name}: wrong answer {d.reason}")
        print(f"| {name} | {statistics.median(times):.2f} | {min(times):.2f} - {max(times):.2f} |")


if __name__ == "__main__":
    main()
