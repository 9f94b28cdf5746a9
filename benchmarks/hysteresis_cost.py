"""What ``estimate_hysteresis`` costs on a 1 GiB recording: bytes, requests and seconds,
local, on S3 (moto on 127.0.0.1) and over HTTP (a Range server on 127.0.0.1), against
plain reads of the same byte ranges.

    python benchmarks/hysteresis_cost.py                  # 1 GiB, 5 rounds
    python benchmarks/hysteresis_cost.py --rows 64 --repeat 3
    python benchmarks/hysteresis_cost.py --winding y      # lines are columns

The recording: a 128 x 256 scan winding along ``--winding`` (hysteresis 3, particles,
50 counts per bright-field pixel) of 128 x 128 uint16 frames after 3 junk frames, in
parts of 64 MiB, written once into ``--work`` (default /tmp/tvips-hyst) with
``intake_tvips.file_writer`` from a dask array (each block of frames synthesized when
written). Per round, interleaved:

* ``estimate``: ``estimate_hysteresis(url, (128, 256), 3, winding)`` (opens the recording);
* ``baseline``: the byte ranges it read (as its read plans merged them), read by plain
  means, no estimate: local ``os.preadv`` of each range into one buffer; on S3 obstore's
  ``get_range_async``, on HTTP fsspec's ``cat_ranges``, a request per range, all in
  flight. moto's seconds count requests more than bytes (``moto_s3.py``);

Prints medians and min-max of the seconds, and the ratio baseline / estimate (1.0: the
estimate costs what its reads cost).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent))

import scan_textures as st  # noqa: E402
from moto_s3 import start_http, start_s3, uploaded  # noqa: E402
from tvips_factory import reference_grid  # noqa: E402

import intake_tvips  # noqa: E402
from intake_tvips.recording import pixels  # noqa: E402
from intake_tvips.recording.pixels import _Estimator  # noqa: E402

SHAPE, START, HYST, DETECTOR = (128, 256), 3, 3, 128


def frames_array(
    shape, start: int = START, after: int = 2, blank: bool = False, winding: str | None = "x"
):
    """The recording as a dask array whose blocks are synthesized on demand: ``start``
    junk frames, the scan (``winding``, hysteresis ``HYST``), ``after`` junk frames; junk
    of the probe at a transmission of 0.05 (``blank``: the beam blanked, a few dark
    counts)."""
    import dask.array as da

    truth = st.texture("particles", shape, np.random.default_rng(7))
    n = start + shape[0] * shape[1] + after
    grid = reference_grid(shape, start, winding, HYST if winding else 0).reshape(-1)
    where = np.full(n, -1)
    where[grid] = np.arange(grid.size)

    def block(block_id=None, block_info=None):
        lo, hi = block_info[None]["array-location"][0]
        pos = where[lo:hi]
        rng = np.random.default_rng(lo)
        t = np.where(pos >= 0, truth.reshape(-1)[np.maximum(pos, 0)], 0.05)
        out = st.patterns(t, DETECTOR, 50.0, rng)
        if blank:
            out[pos < 0] = rng.poisson(0.5, size=(int((pos < 0).sum()), DETECTOR, DETECTOR))
        return out

    chunks = ((1024,) * (n // 1024) + ((n % 1024,) if n % 1024 else ()), (DETECTOR,), (DETECTOR,))
    return da.map_blocks(block, chunks=chunks, dtype=np.uint16, meta=np.empty((0, 0, 0), "u2"))


def write(work: Path, shape, winding: str = "x") -> str:
    path = work / "hyst.tvips"
    first = work / "hyst_000.tvips"
    if not first.exists():
        data = frames_array(shape, winding=winding)
        axes = [
            {
                "name": "t",
                "size": data.shape[0],
                "scale": 1,
                "offset": 0,
                "units": "s",
                "navigate": True,
            },
            {
                "name": "y",
                "size": DETECTOR,
                "scale": 1,
                "offset": 0,
                "units": "1/nm",
                "navigate": False,
            },
            {
                "name": "x",
                "size": DETECTOR,
                "scale": 1,
                "offset": 0,
                "units": "1/nm",
                "navigate": False,
            },
        ]
        intake_tvips.file_writer(
            str(path),
            {"data": data, "axes": axes, "metadata": {}},
            max_file_size=64 * 2**20,
            show_progressbar=False,
        )
    return str(first)


def estimate(url, shape, storage_options=None, winding: str = "x"):
    rec = intake_tvips.open_recording(url, storage_options)
    est = _Estimator(rec, shape, START, winding, 12, 48, None)
    return est, est.run(), rec


def runs_of(rec, frames: np.ndarray):
    """The byte ranges the estimate's reads of ``frames`` asked for: ``(part, start
    byte, stop byte)``."""
    rb = rec.layout.record_bytes
    return [
        (r.part, r.start, r.stop(rb))
        for batch in pixels._batches(np.sort(frames), rec)
        for r in pixels._read_task(rec, batch).block.plan().ranges
    ]


def plain_local(rec, runs) -> float:
    t0 = time.perf_counter()
    fds = {}
    for part, lo, hi in runs:
        fd = fds.get(part) or fds.setdefault(part, os.open(rec.parts.paths[part], os.O_RDONLY))
        buf = bytearray(hi - lo)
        os.preadv(fd, [buf], lo)
    for fd in fds.values():
        os.close(fd)
    return time.perf_counter() - t0


def plain_s3(store, rec, runs) -> float:
    """The ``runs`` read from S3 with obstore, a request each, all in flight (64 at a time,
    as the package's reads): obstore's ``get_ranges`` would merge ranges less than 1 MiB
    apart into fewer, longer requests than those measured against it."""
    import asyncio

    import obstore

    async def all_runs():
        gate = asyncio.Semaphore(64)

        async def one(part, lo, hi):
            async with gate:
                key = rec.parts.paths[part].split("/", 1)[1]
                await obstore.get_range_async(store, key, start=lo, end=hi)

        await asyncio.gather(*(one(*r) for r in runs))

    t0 = time.perf_counter()
    asyncio.run(all_runs())
    return time.perf_counter() - t0


def plain_http(base: str, rec, runs) -> float:
    """The ``runs`` read over HTTP with fsspec's ``cat_ranges`` (all in flight), a
    request each."""
    import fsspec

    fs = fsspec.filesystem("http", skip_instance_cache=True)
    names = [f"{base}/{p.rsplit('/', 1)[-1]}" for p in rec.parts.paths]
    t0 = time.perf_counter()
    fs.cat_ranges(
        [names[p] for p, _, _ in runs], [lo for _, lo, _ in runs], [hi for *_, hi in runs]
    )
    return time.perf_counter() - t0


def measure(label, url, opts, baseline, repeat, winding="x"):
    times, base = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        est, found, rec = estimate(url, SHAPE, opts, winding)
        times.append(time.perf_counter() - t0)
        base.append(baseline(rec, runs_of(rec, est.have)))
    total = rec.n_frames * rec.layout.record_bytes
    med, bmed = statistics.median(times), statistics.median(base)
    print(
        f"| {label} | {found.hysteresis} ({found.confidence:.2f}) | {found.frames_read} "
        f"| {found.bytes_read / 2**20:.1f} MiB ({100 * found.bytes_read / total:.2f} %) "
        f"| {found.requests} | {med:.2f} ({min(times):.2f}-{max(times):.2f}) "
        f"| {bmed:.3f} ({min(base):.3f}-{max(base):.3f}) |"
    )


def main() -> None:
    global SHAPE
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default="/tmp/tvips-hyst")
    ap.add_argument("--rows", type=int, default=128, help="scan rows (128: 1 GiB)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--winding", choices=("x", "y"), default="x")
    args = ap.parse_args()
    SHAPE = (args.rows, 256)
    work = Path(args.work) / f"rows{args.rows}-{args.winding}"
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    url = write(work, SHAPE, args.winding)
    parts = sorted(work.glob("hyst_*.tvips"))
    size = sum(p.stat().st_size for p in parts)
    print(
        f"recording: {size / 2**30:.2f} GiB in {len(parts)} parts, winding {args.winding} "
        f"({time.perf_counter() - t0:.0f} s to write or find)\n"
    )
    print(
        "| where | answer (confidence) | frames | bytes | requests | estimate s "
        "| plain reads of the same ranges s |\n|---|---|---|---|---|---|---|"
    )
    measure("local", url, None, plain_local, args.repeat, args.winding)
    proc, endpoint = start_s3()
    try:
        opts, store = uploaded(endpoint, parts)
        plain = lambda rec, runs: plain_s3(store, rec, runs)  # noqa: E731
        measure("S3 (moto)", "s3://tvips/hyst_000.tvips", opts, plain, args.repeat, args.winding)
    finally:
        proc.terminate()
    proc, base = start_http(work)
    try:
        plain = lambda rec, runs: plain_http(base, rec, runs)  # noqa: E731
        measure("HTTP", f"{base}/hyst_000.tvips", None, plain, args.repeat, args.winding)
    finally:
        proc.terminate()


if __name__ == "__main__":
    main()
