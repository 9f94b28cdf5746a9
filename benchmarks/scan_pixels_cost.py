"""What ``scan_from_pixels`` (the whole scan from the pixels) costs on a 1 GiB recording:
bytes, requests and seconds, local, on S3 (moto on 127.0.0.1) and over HTTP (a Range
server on 127.0.0.1), against plain reads of the same byte ranges.

    python benchmarks/scan_pixels_cost.py                  # 1 GiB, 5 rounds
    python benchmarks/scan_pixels_cost.py --rows 64 --repeat 3 --keep
    python benchmarks/scan_pixels_cost.py --winding plain --budgets 0   # the image decides
    python benchmarks/scan_pixels_cost.py --known --repeat 3 --budgets 0  # a rotator index

The recording: a 128 x 256 winding-x scan (``--winding``: ``y`` or ``plain`` rows;
hysteresis 3 where it winds; particles, 50 counts per bright-field pixel) of 128 x 128
uint16 frames, as in ``hysteresis_cost.py``, but with 5 BLANK frames before and 3 after
it (beam blanked: Poisson(0.5) counts per pixel, so that the start can be found), in
parts of 64 MiB, written into ``--work`` (default /tmp/tvips-scanpix, deleted at the end
unless ``--keep``) from a dask array. Per round, interleaved:

* ``scan_from_pixels``: ``open_recording(url)`` and ``scan_from_pixels(rec, max_bytes)``
  (the head and tail reads; for plain rows and winding y the image's band of rows; then
  the hysteresis estimate where the scan winds), with each of ``--budgets``
  (0: its default, ``max(3 %, 64 MiB)``);
* ``baseline``: the byte ranges it read (recorded from its reads), read by plain means: local
  ``os.preadv`` of each range into one buffer; on S3 obstore's ``get_range_async``, over
  HTTP fsspec's ``cat_ranges``, a request per range, all in flight. The baseline is all at
  once; scan_from_pixels reads in stages, each depending on the last. moto's seconds
  count requests more than bytes (``moto_s3.py``).

Prints what it decided, the MiB read (% of the recording), requests, medians and min-max
of the seconds, the ratio scan_from_pixels / baseline, and the load average.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from hysteresis_cost import frames_array, plain_http, plain_local, plain_s3, runs_of  # noqa: E402
from moto_s3 import start_http, start_s3, uploaded  # noqa: E402

import intake_tvips  # noqa: E402
from intake_tvips.recording import pixel_winding, pixels, scan_pixels  # noqa: E402

START, AFTER, HYST, DETECTOR, WIDTH = 5, 3, 3, 128, 256


def write(work: Path, shape, winding: str | None = "x") -> str:
    """Write the recording into ``work`` (unless there); the first part's path."""
    first = work / "scan_000.tvips"
    if not first.exists():
        data = frames_array(shape, START, AFTER, blank=True, winding=winding)
        axes = [
            {"name": n, "size": s, "scale": 1, "offset": 0, "units": u, "navigate": n == "t"}
            for n, s, u in (("t", data.shape[0], "s"), ("y", DETECTOR, "nm"), ("x", DETECTOR, "nm"))
        ]
        intake_tvips.file_writer(
            str(work / "scan.tvips"),
            {"data": data, "axes": axes, "metadata": {}},
            max_file_size=64 * 2**20,
            show_progressbar=False,
        )
    return str(first)


class Recorder:
    """Wraps ``_read_features`` where scan_pixels, pixels and pixel_winding call it, and
    keeps the byte ranges each batch's read plans (what the baseline reads again)."""

    def __init__(self):
        self.runs: list[tuple[int, int, int]] = []
        self.original = pixels._read_features

    def __call__(self, rec, frames):
        self.runs += runs_of(rec, frames)
        return self.original(rec, frames)

    def __enter__(self):
        pixels._read_features = scan_pixels._read_features = self
        pixel_winding._read_features = self
        return self

    def __exit__(self, *exc):
        pixels._read_features = scan_pixels._read_features = self.original
        pixel_winding._read_features = self.original


#: ``--known``: the start and the positions, as a rotator index counting them tells
KNOWN: list = []


def run_once(url, opts, max_bytes):
    """``(seconds, detection, recording, runs)`` of one scan_from_pixels."""
    with Recorder() as rec_runs:
        t0 = time.perf_counter()
        rec = intake_tvips.open_recording(url, opts)
        known = tuple(KNOWN) if KNOWN else None
        found = scan_pixels.scan_from_pixels(rec, max_bytes, known=known)
        seconds = time.perf_counter() - t0
    return seconds, found, rec, rec_runs.runs


def _union_bytes(runs) -> int:
    """The bytes of ``runs`` counted once (ranges read twice overlap)."""
    total, end = 0, {}
    for part, lo, hi in sorted(runs):
        lo = max(lo, end.get(part, lo))
        total += max(0, hi - lo)
        end[part] = max(end.get(part, 0), hi)
    return total


def _spread(v) -> str:
    return f"{statistics.median(v):.2f} ({min(v):.2f}-{max(v):.2f})"


def measure(label, url, opts, baseline, repeat, shape, max_bytes=None, winding="x"):
    """Interleaved rounds of scan_from_pixels and its baseline; one Markdown row."""
    label += f", budget {max_bytes // 2**20} MiB" if max_bytes else ", default budget"
    times, base, loads = [], [], []
    for _ in range(repeat):
        seconds, found, rec, runs = run_once(url, opts, max_bytes)
        times.append(seconds)
        base.append(baseline(rec, runs))
        loads.append(os.getloadavg()[0])
    total = rec.n_frames * rec.layout.record_bytes
    nbytes = sum(hi - lo for _, lo, hi in runs)
    unique = _union_bytes(runs)
    right = (found.scan_shape, found.scan_start_frame, found.winding_scan_axis, found.hysteresis)
    ok = right == (shape, START, winding, HYST if winding else 0) and found.method == "pixels"
    verdict = "right" if ok else "undecided" if found.method == "none" else "WRONG"
    print(
        f"\n{label}: {found.method} {right} confidence {found.confidence:.2f} hysteresis "
        f"{found.hysteresis_source} ({found.hysteresis_confidence}); {verdict}\n"
        f"  reason: {found.reason}",
        file=sys.stderr,
    )
    ratio = statistics.median(times) / statistics.median(base)
    return (
        f"| {label} | {verdict}: {right[0]}, start {right[1]}, "
        f"winding {right[2]}, hysteresis {right[3]} | {nbytes / 2**20:.1f} MiB "
        f"({100 * nbytes / total:.2f} %; {unique / 2**20:.1f} distinct) | {len(runs)} "
        f"| {_spread(times)} | {_spread(base)} "
        f"| {ratio:.1f} | {min(loads):.1f}-{max(loads):.1f} |"
    )


def on_moto(work: Path, shape, repeat, budgets, winding) -> list[str]:
    """Upload the parts to moto and measure there."""
    proc, endpoint = start_s3()
    try:
        opts, store = uploaded(endpoint, sorted(work.glob("scan_*.tvips")))
        url = "s3://tvips/scan_000.tvips"
        plain = lambda rec, runs: plain_s3(store, rec, runs)  # noqa: E731
        return [measure("S3 (moto)", url, opts, plain, repeat, shape, b, winding) for b in budgets]
    finally:
        proc.terminate()
        proc.wait()


def on_http(work: Path, shape, repeat, budgets, winding) -> list[str]:
    """Serve the parts over HTTP and measure there."""
    proc, base = start_http(work)
    try:
        url = f"{base}/scan_000.tvips"
        plain = lambda rec, runs: plain_http(base, rec, runs)  # noqa: E731
        return [measure("HTTP", url, None, plain, repeat, shape, b, winding) for b in budgets]
    finally:
        proc.terminate()
        proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default="/tmp/tvips-scanpix")
    ap.add_argument("--rows", type=int, default=128, help="scan rows (128: 1 GiB)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument(
        "--budgets", default="0,128,256", help="max_bytes in MiB to run with (0: the default)"
    )
    ap.add_argument("--winding", choices=("x", "y", "plain"), default="x")
    ap.add_argument("--keep", action="store_true", help="keep the recording in --work")
    ap.add_argument(
        "--known",
        action="store_true",
        help="the start and the positions given, as a rotator index counting them tells "
        "(detect_scan(pixels=True) on such a recording: rows and winding only)",
    )
    args = ap.parse_args()
    shape = (args.rows, WIDTH)
    if args.known:
        KNOWN[:] = [START, args.rows * WIDTH]
    winding = None if args.winding == "plain" else args.winding
    work = Path(args.work) / f"rows{args.rows}-{args.winding}"
    work.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        url = write(work, shape, winding)
        parts = sorted(work.glob("scan_*.tvips"))
        size = sum(p.stat().st_size for p in parts)
        print(
            f"recording: {size / 2**30:.2f} GiB in {len(parts)} parts "
            f"({time.perf_counter() - t0:.0f} s to write or find)\n"
        )
        budgets = [int(b) * 2**20 or None for b in args.budgets.split(",")]
        rows = [
            measure("local", url, None, plain_local, args.repeat, shape, b, winding)
            for b in budgets
        ]
        rows += on_moto(work, shape, args.repeat, budgets, winding)
        rows += on_http(work, shape, args.repeat, budgets, winding)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(
        "| where | decided | bytes (% of the recording) | requests | scan_from_pixels s "
        "| plain reads of the same ranges s | ratio | load average (1 min) |\n"
        "|---|---|---|---|---|---|---|---|"
    )
    print("\n".join(rows))


if __name__ == "__main__":
    main()
