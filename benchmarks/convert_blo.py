"""Convert a >= 1 GiB recording to an ASTAR blockfile: ours against a hand-written pipeline.

    python benchmarks/convert_blo.py                 # 1 GiB, 3 rounds; a Markdown table
    python benchmarks/convert_blo.py --rounds 5 --work /tmp

The recording: a 32 x 64 scan of 512 x 512 uint16 frames (1 GiB of pixels, two parts),
synthetic diffraction patterns (a direct-beam disc, a ring of spots, noise), written once
with ``intake_tvips.file_writer`` into ``--work``. The work, every time: bin 2 x 2 (the
mean), rescale to 8 bits with fixed ``vmin``/``vmax`` (estimated once beforehand from a
sample, timed on its own), the virtual bright field, the blockfile written.

* **ours, threads**: ``file_reader(lazy) -> bin_frames -> to_uint8 -> write_blockfile``
  on dask's threads;
* **hand-written numpy, threads**: the same work written by hand: a thread pool (2
  threads, one per core) over blocks of 2 scan rows, each ``os.preadv`` of its records
  from the parts, a reshape-mean, the formula, records built and ``os.pwrite`` at their
  offset, the bright field from the same block (the header bytes are ours);
* **ours, LocalCluster**: 2 worker processes of 1 thread;
* **ours, S3 -> local**: the recording on moto's S3 server (a local process), threads.
* **HDF5 intermediate** (TVIPSconverter's method needs it before its blockfile step, see
  the README): writing the 1 GiB of frames to HDF5 with h5py and reading it back, timed
  alone; an estimate of the extra step, not their code.

Outputs are checked equal (records and bright field) to the hand-written pipeline's.
Every figure is the median of ``--rounds`` runs with the spread (min-max).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dask
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

SCAN = (32, 64)
FRAME = (512, 512)
BIN = 2
BLOCK_ROWS = 2  # scan rows per block (64 MiB of pixels)
READ = dict(scan_start_frame=0, winding_scan_axis=None, hysteresis=0)


def patterns(first: int, n: int) -> np.ndarray:
    """``n`` synthetic 512 x 512 uint16 patterns (frames ``first``...)."""
    yy, xx = np.ogrid[: FRAME[0], : FRAME[1]]
    r2 = (yy - 256.0) ** 2 + (xx - 256.0) ** 2
    base = 40 + 3000 * (r2 < 30**2) + 600 * (np.abs(np.sqrt(r2) - 150) < 4)
    rng = np.random.default_rng(first)
    scale = 0.6 + 0.4 * rng.random((n, 1, 1))
    noise = rng.integers(0, 64, (n,) + FRAME, dtype=np.uint16)
    return (base * scale).astype(np.uint16) + noise


def write_recording(folder: Path) -> str:
    """The recording's first part (written once)."""
    from intake_tvips import file_writer

    first = folder / "bench_000.tvips"
    if first.exists():
        return str(first)
    import dask.array as da

    n = SCAN[0] * SCAN[1]
    per = 128
    blocks = [
        da.from_delayed(dask.delayed(patterns)(k, per), (per,) + FRAME, np.uint16)
        for k in range(0, n, per)
    ]
    data = da.concatenate(blocks).reshape(SCAN + FRAME)
    axes = [
        {"name": nm, "size": s, "navigate": nav, "scale": 1.0, "offset": 0.0, "units": ""}
        for nm, s, nav in zip(("y", "x", "dy", "dx"), SCAN + FRAME, (True, True, False, False))
    ]
    signal = {"data": data, "axes": axes, "metadata": {}, "original_metadata": {}}
    file_writer(
        str(folder / "bench.tvips"), signal, max_file_size=600 * 2**20, show_progressbar=False
    )
    return str(first)


# --------------------------------------------------------------------- the two pipelines


def ours(url, out, vmin, vmax, scheduler="threads", storage_options=None):
    from intake_tvips import bin_frames, file_reader, to_uint8, write_blockfile

    data = file_reader(url, lazy=True, scan_shape=SCAN, storage_options=storage_options, **READ)[0][
        "data"
    ]
    u8 = to_uint8(bin_frames(data, BIN), vmin, vmax)
    return write_blockfile(out, u8, scan_step=10.0, pattern_scale=0.02, scheduler=scheduler)


def parts_of(first: str) -> tuple[list[tuple[str, int, int]], int]:
    """``[(path, first frame, frames)], record bytes`` of the recording, by hand."""
    head = np.fromfile(first, "<u4", count=13)
    fhb = int(head[12]) if int(head[1]) == 2 else 12
    rec = fhb + FRAME[0] * FRAME[1] * 2
    out, k, start = [], 0, 0
    while os.path.exists(p := first.replace("_000.", f"_{k:03d}.")):
        n = (os.path.getsize(p) - (256 if k == 0 else 0)) // rec
        out.append((p, start, n))
        start, k = start + n, k + 1
    return out, rec


def read_frames(parts, rec, a, b) -> np.ndarray:
    buf = np.empty((b - a, rec), np.uint8)
    for path, start, n in parts:
        lo, hi = max(a, start), min(b, start + n)
        if lo >= hi:
            continue
        fd = os.open(path, os.O_RDONLY)
        try:
            offset = (256 if start == 0 else 0) + (lo - start) * rec
            os.preadv(fd, [memoryview(buf[lo - a : hi - a]).cast("B")], offset)
        finally:
            os.close(fd)
    fhb = rec - FRAME[0] * FRAME[1] * 2
    return buf[:, fhb:].view("<u2").reshape((b - a,) + FRAME)


def hand(first, out, vmin, vmax, threads=2):
    from intake_tvips.writers.blockfile import stretch_to_uint8
    from intake_tvips.writers.blockfile_layout import BlockfileLayout, head_bytes

    parts, rec = parts_of(first)
    side = FRAME[0] // BIN
    layout = BlockfileLayout(SCAN[0], SCAN[1], side)
    with open(out, "wb") as f:
        f.truncate(layout.size)
    fd = os.open(out, os.O_WRONLY)

    def block(y0):
        a, b = y0 * SCAN[1], (y0 + BLOCK_ROWS) * SCAN[1]
        x = read_frames(parts, rec, a, b)
        binned = x.reshape(len(x), side, BIN, side, BIN).mean(axis=(2, 4))
        u8 = np.clip(np.rint((binned - vmin) / (vmax - vmin) * 255), 0, 255).astype(np.uint8)
        recs = np.empty((len(x), 6 + side * side), np.uint8)
        recs[:, 0], recs[:, 1] = 0xAA, 0x55
        recs[:, 2:6] = np.arange(a, b, dtype="<u4").view(np.uint8).reshape(-1, 4)
        recs[:, 6:] = u8.reshape(len(x), -1)
        os.pwrite(fd, recs, layout.record_offset(a))
        return y0, u8.reshape(len(x), -1).mean(axis=1)

    try:
        with ThreadPoolExecutor(threads) as pool:
            done = sorted(pool.map(block, range(0, SCAN[0], BLOCK_ROWS)))
        vbf = stretch_to_uint8(np.concatenate([v for _, v in done]).reshape(SCAN))
        os.pwrite(fd, head_bytes(layout, vbf, (10.0, 10.0), 5000), 0)
    finally:
        os.close(fd)


# ------------------------------------------------------------------------- measuring


def timed(fn, rounds):
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), max(times)


def interleaved(fns, rounds):
    """``timed`` of each of ``fns``, their rounds taken in turn."""
    times = [[] for _ in fns]
    for _ in range(rounds):
        for fn, out in zip(fns, times):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return [(statistics.median(t), min(t), max(t)) for t in times]


def same_output(a: str, b: str) -> bool:
    """Equal header fields (but the acquisition time), bright field and records."""
    from intake_tvips.writers.blockfile_layout import VBF_OFFSET

    ra, rb = Path(a).read_bytes(), Path(b).read_bytes()
    time_at = 56  # the header's Acquisition_time (f8)
    same_head = ra[:time_at] == rb[:time_at] and ra[time_at + 8 : 240] == rb[time_at + 8 : 240]
    return len(ra) == len(rb) and same_head and ra[VBF_OFFSET:] == rb[VBF_OFFSET:]


def hdf5_round_trip(url, folder: Path):
    import h5py

    from intake_tvips import file_reader

    data = file_reader(url, lazy=True, scan_shape=SCAN, **READ)[0]["data"]
    path = folder / "intermediate.h5"

    def run():
        with h5py.File(path, "w") as f:
            ds = f.create_dataset("data", shape=data.shape, dtype=data.dtype, chunks=(1, 1) + FRAME)
            for y in range(0, SCAN[0], BLOCK_ROWS):
                ds[y : y + BLOCK_ROWS] = data[y : y + BLOCK_ROWS].compute(scheduler="threads")
        with h5py.File(path, "r") as f:
            for y in range(0, SCAN[0], BLOCK_ROWS):
                f["data"][y : y + BLOCK_ROWS]
        path.unlink()

    return run


def s3_copy(first: str):
    """The recording uploaded to a moto server: ``(process, URL, options)``."""
    import fsspec
    from moto_s3 import s3_client, s3_options, start_s3

    proc, endpoint = start_s3()
    s3_client(endpoint).create_bucket(Bucket="bench")
    opts = s3_options(endpoint)
    fs = fsspec.filesystem("s3", **opts)
    parts, _ = parts_of(first)
    for path, _, _ in parts:
        fs.put_file(path, f"bench/{os.path.basename(path)}")
    return proc, f"s3://bench/{os.path.basename(first)}", opts


def cluster_client():
    import logging

    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        silence_logs=logging.ERROR,
    )
    return cluster, Client(cluster, set_as_default=False)


def row(name, t, nbytes, base=None):
    median, lo, hi = t
    ratio = f"{base[0] / median:.2f}x" if base else ""
    rate = nbytes / median / 2**20
    return f"| {name} | {median:.2f} s ({lo:.2f}-{hi:.2f}) | {rate:.0f} MiB/s | {ratio} |"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--work", default="/work" if os.path.isdir("/work") else tempfile.gettempdir())
    p.add_argument("--keep", action="store_true", help="keep the recording for the next run")
    p.add_argument("--skip", nargs="*", default=[], choices=["cluster", "s3", "hdf5"])
    args = p.parse_args()
    folder = Path(args.work) / "bench-convert-blo"
    folder.mkdir(exist_ok=True)
    dask.config.set({"array.chunk-size": "64MiB"})
    t0 = time.perf_counter()
    first = write_recording(folder)
    nbytes = SCAN[0] * SCAN[1] * FRAME[0] * FRAME[1] * 2
    print(
        f"recording: {nbytes / 2**30:.2f} GiB of pixels "
        f"({time.perf_counter() - t0:.1f} s to write or find)"
    )
    from intake_tvips import bin_frames, file_reader, intensity_range

    data = file_reader(first, lazy=True, scan_shape=SCAN, **READ)[0]["data"]
    t0 = time.perf_counter()
    vmin, vmax = intensity_range(bin_frames(data, BIN))
    print(
        f"vmin, vmax = {vmin:g}, {vmax:g} (percentiles 0.1, 99.9 of 256 binned frames: "
        f"{time.perf_counter() - t0:.2f} s)"
    )
    out_hand, out_ours = str(folder / "hand.blo"), str(folder / "ours.blo")
    rows = []
    # interleaved (hand, ours, hand, ours, ...): a drifting load hits both alike
    t_hand, t_ours = interleaved(
        [lambda: hand(first, out_hand, vmin, vmax), lambda: ours(first, out_ours, vmin, vmax)],
        args.rounds,
    )
    assert same_output(out_hand, out_ours), "outputs differ"
    rows += [
        row("hand-written numpy, 2 threads", t_hand, nbytes),
        row("ours, threads", t_ours, nbytes, t_hand),
    ]
    if "cluster" not in args.skip:
        cluster, client = cluster_client()
        try:
            t = timed(lambda: ours(first, out_ours, vmin, vmax, scheduler=client), args.rounds)
            assert same_output(out_hand, out_ours)
            rows.append(row("ours, LocalCluster (2 processes)", t, nbytes, t_hand))
            print(rows[-1], flush=True)
        finally:
            client.close()
            cluster.close()
    if "s3" not in args.skip:
        proc, url, opts = s3_copy(first)
        try:
            t = timed(lambda: ours(url, out_ours, vmin, vmax, storage_options=opts), args.rounds)
            assert same_output(out_hand, out_ours)
            rows.append(row("ours, moto S3 -> local file, threads", t, nbytes, t_hand))
            print(rows[-1], flush=True)
        finally:
            proc.terminate()
    if "hdf5" not in args.skip:
        t = timed(hdf5_round_trip(first, folder), args.rounds)
        rows.append(row("HDF5 intermediate alone (h5py write + read back)", t, nbytes))
    print(
        "\n| 1 GiB -> .blo (bin 2, 8 bits, VBF) | time (median, min-max) | pixels/s "
        "| vs hand-written |"
    )
    print("|---|---|---|---|")
    print("\n".join(rows))
    for path in (out_hand, out_ours):
        Path(path).unlink(missing_ok=True)
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
