"""Scale: opening big recordings in O(chunks), and reading a 128 GiB one.

    python benchmarks/scale.py                  # everything, about 2 minutes; Markdown tables
    python benchmarks/scale.py --only open      # the open-scaling table (and tiny frames)
    python benchmarks/scale.py --only big       # the 128 GiB recording

Recordings are sparse files: the series header and frame headers are written, the pixels
are holes (they read as zeros, at the speed of the page cache). They go into a temporary
directory under ``--work`` (default: ``/work`` when it exists, else the system's temp
directory) and are removed afterwards; the 128 GiB one takes about 1 GiB on disk (one
page per frame header).

* **open scaling**: 40k, 400k and 4M frames of 16 x 16 uint8 in 20 parts, an explicit
  winding scan; the open (graph built, nothing read) as a ratio to the 40k open, the task
  count and the pickled graph size, for three chunkings. Then computing the 400k-frame
  recording (every chunk filled and dropped, one thread) against reading the same parts
  by hand: ``readinto`` of each whole part and one strided numpy copy of the pixels.
* **big**: a 512 x 512 scan of 512 x 512 uint16 frames (128 GiB in 4 GiB parts): open
  time, task count, pickled graph size; a virtual detector (a disc of the signal axes,
  summed) over a slice of several scan rows on a 2-process ``distributed.LocalCluster``,
  and the same chunks read without the sum, in GB/s of pixels against plain
  ``os.preadv`` of the same records into reused buffers (1 and 2 threads).

Every figure is the median of ``--repeat`` runs, with the spread (min-max). Only the
ratios within one run mean something on a shared machine.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import pickle
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from intake_tvips import file_reader
from intake_tvips.format.layout import SERIES_HEADER_SIZE, build_series_header, frame_header_dtype

FHB = 64  # frame header bytes
OPEN_SIDES = {"40k": 200, "400k": 632, "4M": 2000}  # square scans of about that many frames
OPEN_CHUNKINGS = {"auto": "auto", "False (per part)": False, "{0: 50}": {0: 50}}
SCAN_KW = dict(scan_start_frame=0, winding_scan_axis="x", hysteresis=2)
BIG_SIDE, BIG_FRAME = 512, 512
BIG_PART_BYTES = 4 * 2**30
VD_ROWS = 4  # scan rows the virtual detector covers (1 GiB of pixels)


# ------------------------------------------------------------------ sparse recordings


def write_sparse(base: str, n: int, frame: tuple[int, int], dtype: str, counts, all_headers):
    """``base_000.tvips, ...`` holding ``counts`` records; only headers written, rest holes."""
    dimy, dimx = frame
    dt = np.dtype(dtype)
    header = build_series_header(
        version=2, dimx=dimx, dimy=dimy, bitsperpixel=8 * dt.itemsize, frameheaderbytes=FHB
    )
    rb = FHB + dimy * dimx * dt.itemsize
    hdt = frame_header_dtype(2, FHB)
    first, names = 0, []
    for k, count in enumerate(counts):
        name = f"{base}_{k:03d}.tvips"
        names.append(name)
        head = SERIES_HEADER_SIZE if k == 0 else 0
        todo = count if all_headers else (min(count, 2) if k == 0 else 0)
        heads = np.zeros(todo, dtype=hdt)
        heads["num"] = np.arange(first, first + todo)
        heads["timestamp"] = 740_399_696
        heads["ms"] = heads["num"] * 2 % 1000
        heads["mode"] = 2
        heads["rotidx"] = heads["num"] + 1
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            if k == 0:
                os.pwrite(fd, header, 0)
            raw = heads.tobytes()
            for i in range(todo):
                os.pwrite(fd, raw[i * FHB : (i + 1) * FHB], head + i * rb)
            os.ftruncate(fd, head + count * rb)
        finally:
            os.close(fd)
        first += count
    assert first == n
    return names


def split(n: int, parts: int) -> list[int]:
    q, r = divmod(n, parts)
    return [q + (i < r) for i in range(parts)]


def disk_bytes(names) -> int:
    return sum(os.stat(p).st_blocks * 512 for p in names)


# ------------------------------------------------------------------ measuring


def timed(fn, repeat: int):
    """``(median, min, max, last result)`` of ``repeat`` timed calls of ``fn``."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), max(times), out


def graph_bytes(data) -> int:
    return len(pickle.dumps(dict(data.__dask_graph__()), protocol=pickle.HIGHEST_PROTOCOL))


def spread(med: float, lo: float, hi: float, scale: float = 1.0, fmt: str = "{:.1f}") -> str:
    return f"{fmt.format(med * scale)} ({fmt.format(lo * scale)}-{fmt.format(hi * scale)})"


def reads_only(data):
    """Every chunk filled, then dropped: the reader's own cost."""
    return data.map_blocks(lambda b: np.zeros((1,) * b.ndim, b.dtype), chunks=(1,) * data.ndim)


# ------------------------------------------------------------------ open scaling


def open_scaling(work: str, repeat: int) -> str:
    rows, base_ms = [], {}
    firsts = {}
    for label, side in OPEN_SIDES.items():
        n = side * side
        names = write_sparse(f"{work}/open{label}", n, (16, 16), "<u1", split(n, 20), False)
        firsts[label] = names[0]
    for label, side in OPEN_SIDES.items():
        for chunking, rech in OPEN_CHUNKINGS.items():
            kw = dict(SCAN_KW, scan_shape=(side, side), rechunking=rech)

            def op(kw=kw, first=firsts[label]):
                return file_reader(first, lazy=True, **kw)[0]["data"]

            op()  # warm: imports, dask config
            med, lo, hi, data = timed(op, repeat)
            base_ms.setdefault(chunking, med)
            rows.append(
                f"| {label} ({side * side:,} frames) | {chunking} | "
                f"{spread(med, lo, hi, 1e3)} | {med / base_ms[chunking]:.2f} | "
                f"{len(data.__dask_graph__())} | {graph_bytes(data) / 1e3:.1f} |"
            )
    head = (
        "| recording | rechunking | open ms, median (min-max) | x 40k open | tasks "
        "| graph KB (pickled) |\n|---|---|---|---|---|---|"
    )
    return head + "\n" + "\n".join(rows) + "\n\n" + tiny_frames(firsts["400k"], repeat)


def tiny_frames(first: str, repeat: int) -> str:
    """Computing 400k frames of 16 x 16 uint8 against a read by hand (one thread each)."""
    import dask

    side = OPEN_SIDES["400k"]
    n = side * side
    names = sorted(p for p in os.listdir(os.path.dirname(first)) if p.startswith("open400k"))
    paths = [os.path.join(os.path.dirname(first), p) for p in names]
    rb, hb = FHB + 256, FHB

    def by_hand():
        out = np.empty((n, 16, 16), np.uint8)
        buf, k = None, 0
        for i, p in enumerate(paths):
            head = SERIES_HEADER_SIZE if i == 0 else 0
            size = os.path.getsize(p) - head
            if buf is None or buf.size < size:
                buf = np.empty(size, np.uint8)
            with open(p, "rb") as f:
                f.seek(head)
                f.readinto(memoryview(buf)[:size])
            c = size // rb
            c_take = min(c, n - k)
            out[k : k + c_take] = buf[: c * rb].reshape(c, rb)[:c_take, hb:].reshape(-1, 16, 16)
            k += c_take
        return out

    def ours(wind):
        kw = dict(scan_shape=(side, side), winding_scan_axis=wind, hysteresis=2)
        data = file_reader(first, lazy=True, **kw)[0]["data"]
        with dask.config.set(scheduler="sync"):
            reads_only(data).compute()

    cases = {
        "by hand: readinto per part + strided copy": by_hand,
        "intake-tvips open + compute, no winding (sync)": lambda: ours(None),
        "intake-tvips open + compute, winding x (sync)": lambda: ours("x"),
    }
    times = {k: [] for k in cases}
    for fn in cases.values():
        fn()  # warm: the page cache holds the parts (holes included)
    for _ in range(3 * repeat):  # interleaved, so that load from others hits all alike
        for k, fn in cases.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    hand = statistics.median(times[next(iter(cases))])
    rows = []
    for k, ts in times.items():
        med = statistics.median(ts)
        rows.append(f"| {k} | {spread(med, min(ts), max(ts), 1e3)} | {med / hand:.2f} |")
    head = (
        f"Tiny frames: {n:,} frames of 16 x 16 uint8 ({n * 256 / 2**20:.0f} MiB of pixels), "
        "one thread\n\n| read | ms, median (min-max) | x by hand |\n|---|---|---|"
    )
    return head + "\n" + "\n".join(rows)


# ------------------------------------------------------------------ the 128 GiB recording


def big(work: str, repeat: int) -> str:
    n = BIG_SIDE * BIG_SIDE
    rb = FHB + BIG_FRAME * BIG_FRAME * 2
    per_part = BIG_PART_BYTES // rb
    counts = [min(per_part, n - i) for i in range(0, n, per_part)]
    t0 = time.perf_counter()
    names = write_sparse(f"{work}/big", n, (BIG_FRAME, BIG_FRAME), "<u2", counts, True)
    built = time.perf_counter() - t0
    logical = sum(os.path.getsize(p) for p in names)
    kw = dict(SCAN_KW, scan_shape=(BIG_SIDE, BIG_SIDE))

    def op():
        return file_reader(names[0], lazy=True, **kw)[0]["data"]

    op()
    o_med, o_lo, o_hi, data = timed(op, repeat)
    lines = [
        f"Recording: {logical / 2**30:.0f} GiB in {len(names)} parts, "
        f"{disk_bytes(names) / 2**30:.2f} GiB on disk, built in {built:.1f} s; "
        f"scan {BIG_SIDE} x {BIG_SIDE} of {BIG_FRAME} x {BIG_FRAME} uint16\n",
        "| figure | median (min-max) |",
        "|---|---|",
        f"| open ms | {spread(o_med, o_lo, o_hi, 1e3)} |",
        f"| tasks | {len(data.__dask_graph__())} ({data.chunksize[:2]} scan positions a chunk) |",
        f"| graph KB (pickled) | {graph_bytes(data) / 1e3:.1f} |",
    ]
    return "\n".join(lines) + "\n\n" + virtual_detector(names, data, rb, repeat)


def disc_rows(shape: tuple[int, int], radius: float) -> list[tuple[int, int, int]]:
    """A centred disc as ``(row, first column, end column)`` segments."""
    y, x = np.indices(shape)
    mask = (y - shape[0] / 2) ** 2 + (x - shape[1] / 2) ** 2 <= radius**2
    return [
        (r, int(c[0]), int(c[-1]) + 1)
        for r in range(shape[0])
        if (c := np.flatnonzero(mask[r])).size
    ]


def disc_sum(block: np.ndarray, segments) -> np.ndarray:
    """The sum of each frame over the disc: one strided sum per row of the disc."""
    out = np.zeros(block.shape[:-2], dtype=np.uint64)
    for r, c0, c1 in segments:
        out += block[..., r, c0:c1].sum(-1, dtype=np.uint64)
    return out


def virtual_detector(names, data, rb: int, repeat: int) -> str:
    """The disc sum over ``VD_ROWS`` scan rows on a LocalCluster, against plain preadv."""
    from intake_tvips.cli.compute import local_cluster

    y0 = BIG_SIDE // 2
    part = data[y0 : y0 + VD_ROWS]
    segments = disc_rows((BIG_FRAME, BIG_FRAME), BIG_FRAME / 5)
    # a partial, not an extra map_blocks argument: dask walks list arguments per task
    vd = part.map_blocks(
        functools.partial(disc_sum, segments=segments), drop_axis=[2, 3], dtype=np.uint64
    )
    pixels = VD_ROWS * BIG_SIDE * BIG_FRAME * BIG_FRAME * 2
    first, last = y0 * BIG_SIDE, (y0 + VD_ROWS) * BIG_SIDE  # whole rows: contiguous frames
    with local_cluster(2) as client:
        cases = {
            "plain os.preadv, reused buffers, 1 thread": lambda: plain_preadv(
                names, rb, first, last, 1, False
            ),
            "plain os.preadv, reused buffers, 2 threads": lambda: plain_preadv(
                names, rb, first, last, 2, False
            ),
            "plain os.preadv, a new 64 MiB array each, 2 threads": lambda: plain_preadv(
                names, rb, first, last, 2, True
            ),
            "intake-tvips reads only, LocalCluster 2 procs": lambda: client.compute(
                reads_only(part)
            ).result(),
            "intake-tvips virtual detector (disc sum), LocalCluster 2 procs": lambda: (
                client.compute(vd).result()
            ),
        }
        times = {k: [] for k in cases}
        for fn in cases.values():
            fn()  # warm: page cache (holes too), workers, imports
        for _ in range(repeat):  # interleaved, so that load from others hits all alike
            for k, fn in cases.items():
                t0 = time.perf_counter()
                fn()
                times[k].append(time.perf_counter() - t0)
    base = statistics.median(times[next(iter(cases))])
    out = [
        f"Virtual detector over {VD_ROWS} scan rows ({pixels / 2**30:.1f} GiB of pixels)\n",
        "| read | s, median (min-max) | GB/s of pixels | x plain (1 thread) time |",
        "|---|---|---|---|",
    ]
    for label, ts in times.items():
        med = statistics.median(ts)
        out.append(
            f"| {label} | {spread(med, min(ts), max(ts), 1, '{:.3f}')} | "
            f"{pixels / med / 1e9:.2f} | {med / base:.2f} |"
        )
    return "\n".join(out)


def plain_preadv(names, rb: int, first: int, last: int, threads: int, fresh: bool) -> None:
    """The records of frames ``first .. last - 1`` into reused (or new) 64 MiB buffers."""
    counts = [
        (os.path.getsize(p) - (SERIES_HEADER_SIZE if i == 0 else 0)) // rb
        for i, p in enumerate(names)
    ]
    jobs, start = [], 0
    for i, (p, c) in enumerate(zip(names, counts)):
        a, b = max(first, start), min(last, start + c)
        if a < b:
            off = (SERIES_HEADER_SIZE if i == 0 else 0) + (a - start) * rb
            jobs.append((p, off, (b - a) * rb))
        start += c
    step = (64 * 2**20 // rb) * rb
    pieces = [(p, o + k, min(step, n - k)) for p, o, n in jobs for k in range(0, n, step)]
    bufs = [bytearray(step) for _ in range(threads)]

    def run(w):
        for p, off, n in pieces[w::threads]:
            buf = np.empty(step, np.uint8) if fresh else bufs[w]
            fd = os.open(p, os.O_RDONLY)
            try:
                assert os.preadv(fd, [memoryview(buf)[:n]], off) == n
            finally:
                os.close(fd)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(run, range(threads)))


# ------------------------------------------------------------------ main


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = "/work" if os.path.isdir("/work") else tempfile.gettempdir()
    ap.add_argument("--work", default=default, help="a temporary directory is made here")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", choices=["open", "big"], action="append")
    args = ap.parse_args(argv)
    only = set(args.only or ["open", "big"])
    free = shutil.disk_usage(args.work).free
    if "big" in only and free < 8 * 2**30:
        print(f"{args.work}: {free / 2**30:.1f} GiB free, the 128 GiB sparse recording needs 2")
        return 1
    work = tempfile.mkdtemp(prefix="tvips-scale-", dir=args.work)
    t0 = time.perf_counter()
    try:
        if "open" in only:
            print("**Open scaling: 16 x 16 uint8 frames in 20 parts, winding x scan**\n")
            print(open_scaling(work, args.repeat), "\n", flush=True)
        if "big" in only:
            print("**128 GiB: 512 x 512 scan of 512 x 512 uint16 in 4 GiB parts**\n")
            print(big(work, args.repeat), "\n", flush=True)
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(work)
    print(f"({time.perf_counter() - t0:.0f} s, {os.cpu_count()} cores, repeat {args.repeat})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
