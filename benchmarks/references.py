"""Building kerchunk references for a 512 x 512 scan (262 144 frames), against opening
the lazy array (``file_reader(lazy=True)``) of the same scan in the same process.

    python benchmarks/references.py [--scan 512] [--repeat 5] [--work /tmp/tvips-bench-refs]

Prints medians and spreads (min..max) of each step, as ratios to the lazy open, and the
bytes per frame of the JSON and Parquet outputs. Frames are 8 x 8 uint8: the pixels do
not matter here, only the number of frames.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))


def make_recording(work: Path, scan: int) -> str:
    from tvips_factory import tvips_bytes, write_parts

    first = work / f"refs{scan}_000.tvips"
    if not first.exists():
        n = scan * scan + 5
        frames = np.zeros((n, 8, 8), dtype="u1")
        frames[:, 0, 0] = np.arange(n) % 256
        per_part = [n // 2, n - n // 2]
        write_parts(work / f"refs{scan}", tvips_bytes(frames, records_per_part=per_part))
    return str(first)


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scan", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--work", default="/tmp/tvips-bench-refs")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    url = make_recording(work, args.scan)

    from intake_tvips import file_reader, references
    from intake_tvips.integrations.virtual_zarr import chunk_keys, chunk_ranges, write_parquet
    from intake_tvips.reading.opened import open_signal

    kw = dict(scan_shape=(args.scan, args.scan), scan_start_frame=3, winding_scan_axis="x")
    kw["hysteresis"] = 2
    rows: dict[str, list[float]] = {}
    sizes = {}
    for _ in range(args.repeat):
        steps = {
            "lazy open (file_reader lazy=True), baseline": lambda: file_reader(
                url, lazy=True, **kw
            ),
            "open_signal (headers, scan map)": lambda: open_signal(url, **kw),
        }
        for name, fn in steps.items():
            rows.setdefault(name, []).append(timed(fn)[0])
        opened = open_signal(url, **kw)
        t, (pos, *_rest) = timed(chunk_ranges, opened)
        rows.setdefault("  frame -> byte range of every position (numpy)", []).append(t)
        t, _ = timed(chunk_keys, pos, opened.nav_shape)
        rows.setdefault("  chunk keys (str.format over numpy indices)", []).append(t)
        t, refs = timed(partial(references, **kw), url)
        rows.setdefault("references() total", []).append(t)
        t, text = timed(partial(json.dumps, separators=(",", ":")), refs)
        rows.setdefault("json.dumps", []).append(t)
        out = work / "refs.parquet"
        import shutil

        shutil.rmtree(out, ignore_errors=True)
        t, _ = timed(write_parquet, refs, str(out))
        rows.setdefault("write Parquet (LazyReferenceMapper)", []).append(t)
        sizes["json"] = len(text.encode())
        sizes["parquet"] = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    base = statistics.median(rows["lazy open (file_reader lazy=True), baseline"])
    n = args.scan * args.scan
    print(f"{n} references ({args.scan} x {args.scan} scan), {args.repeat} runs; 2 cores, shared")
    print("| step | median s | min..max s | x lazy open |")
    print("|---|---|---|---|")
    for name, ts in rows.items():
        med = statistics.median(ts)
        print(f"| {name} | {med:.3f} | {min(ts):.3f}..{max(ts):.3f} | {med / base:.2f} |")
    for kind, size in sizes.items():
        print(f"{kind}: {size / 2**20:.1f} MiB, {size / n:.1f} bytes per frame")
    print(f"URL length: {len(refs['refs']['data/0.0.0.0'][0])} characters")


if __name__ == "__main__":
    main()
