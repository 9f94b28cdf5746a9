"""Benchmarks: intake-tvips against RosettaSciIO and the I/O limit, side by side.

    python benchmarks/run.py                 # everything, prints a Markdown table
    python benchmarks/run.py --only local    # one group: local, open, s3, distributed
    python benchmarks/run.py --size-gib 2 --repeat 5

Every measured case runs in a fresh Python process (``run.py child CASE ...``) and is timed
after its imports, with the page cache warmed by an untimed read first. Each case runs
``--repeat`` times; the table shows the median. Figures are only meaningful as ratios
between rows of the same run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FRAME = (256, 256)  # uint16 detector frames: 128 KiB of pixels + 60 header bytes
S3_FRAME = (128, 128)
S3_PART_BYTES = 16 * 2**20  # moto reads a whole object per GET: keep objects <= 16 MiB
JUNK = 3  # frames before the scan starts
SCAN_KW = dict(scan_start_frame=JUNK, winding_scan_axis="x", hysteresis=2)


# ------------------------------------------------------------------ datasets


def scan_side(total_bytes: float, frame) -> int:
    record = 60 + 2 * math.prod(frame)
    return int(math.sqrt(total_bytes / record))


def write_dataset(url: str, side: int, frame, max_file_size, storage_options=None) -> None:
    """JUNK + side*side + 1 frames whose pixels all equal the frame number (mod 65536)."""
    import dask.array as da
    import numpy as np

    from intake_tvips import file_writer

    n = JUNK + side * side + 1
    per_chunk = max(1, (64 * 2**20) // (2 * math.prod(frame)))
    ramp = da.arange(n, chunks=per_chunk, dtype=np.uint16)[:, None, None]
    data = ramp * da.ones((1,) + frame, dtype=np.uint16, chunks=(1,) + frame)
    axes = [
        {"name": "time", "size": n, "scale": 1.0, "offset": 0.0, "units": "s", "navigate": True},
        {"name": "y", "size": frame[0], "scale": 1.0, "offset": 0.0, "units": "1/nm",
         "navigate": False},
        {"name": "x", "size": frame[1], "scale": 1.0, "offset": 0.0, "units": "1/nm",
         "navigate": False},
    ]  # fmt: skip
    file_writer(
        url,
        {"data": data, "axes": axes, "metadata": {}, "original_metadata": {}},
        max_file_size=max_file_size,
        show_progressbar=False,
        storage_options=storage_options,
    )


def expected_sum(side: int, frame=FRAME) -> int:
    frames = [(JUNK + i) % 65536 for i in range(side * side)]
    return sum(frames) * math.prod(frame)


def part_paths(first: str) -> list[str]:
    base = first[: -len("_000.tvips")]
    out, k = [], 0
    while os.path.exists(f"{base}_{k:03d}.tvips"):
        out.append(f"{base}_{k:03d}.tvips")
        k += 1
    return out


# ------------------------------------------------------------------ child cases


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _warm_dask() -> None:
    """dask imports parts of itself and starts its pools on the first compute: that
    belongs to "imports", for every reader alike."""
    import dask.array as da

    da.ones((4, 4), chunks=2).sum().compute()


def child(case: str, args: dict) -> dict:
    """One measurement in this (fresh) process; returns a JSON-able dict."""
    import numpy as np

    side = args["side"]
    first = args.get("first")
    if case == "plain":  # readinto of every byte of every part, one reused buffer
        paths = part_paths(first)
        buf = bytearray(64 * 2**20)
        base = _rss_bytes()
        t0 = time.perf_counter()
        total = 0
        for p in paths:
            with open(p, "rb", buffering=0) as f:
                while n := f.readinto(buf):
                    total += n
        t = time.perf_counter() - t0
        return {"open": 0.0, "compute": t, "bytes": total, "peak": _peak_bytes() - base}
    if case == "plain_fresh":  # readinto new arrays of dask's chunk size (what a reader returns)
        import dask

        paths = part_paths(first)
        step = dask.utils.parse_bytes(dask.config.get("array.chunk-size"))
        base = _rss_bytes()
        t0 = time.perf_counter()
        total = 0
        for p in paths:
            with open(p, "rb", buffering=0) as f:
                while n := f.readinto(np.empty(step, dtype=np.uint8)):
                    total += n
        t = time.perf_counter() - t0
        return {"open": 0.0, "compute": t, "bytes": total, "peak": _peak_bytes() - base}
    if case == "plain_sum":  # the same pass by hand: readinto + sum of the scan's pixels
        from intake_tvips.format.layout import parse_series_header, record_layout

        paths = part_paths(first)
        with open(paths[0], "rb") as f:
            layout = record_layout(parse_series_header(f.read(256), paths[0]))
        rb, hb = layout.record_bytes, layout.header_bytes
        per = (64 * 2**20) // rb
        buf = np.empty(per * rb, dtype=np.uint8)
        base = _rss_bytes()
        t0 = time.perf_counter()
        frame, total, lo, hi = 0, 0, JUNK, JUNK + side * side
        for k, p in enumerate(paths):
            with open(p, "rb", buffering=0) as f:
                if k == 0:
                    f.seek(256)
                while n := f.readinto(buf):
                    recs = buf[:n].reshape(-1, rb)
                    a, b = max(lo - frame, 0), min(hi - frame, len(recs))
                    if a < b:
                        total += int(recs[a:b, hb:].view("<u2").sum(dtype=np.uint64))
                    frame += len(recs)
        t = time.perf_counter() - t0
        return {"open": 0.0, "compute": t, "sum": total, "peak": _peak_bytes() - base}
    if case in ("ours", "ours_read", "rsciio", "ours_distributed"):
        if case == "rsciio":
            import logging

            logging.getLogger("rsciio").setLevel(logging.ERROR)
            from rsciio.tvips import file_reader
        else:
            from intake_tvips import file_reader
        client = None
        if case == "ours_distributed":
            from distributed import Client, LocalCluster

            cluster = LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0",
            )
            client = Client(cluster)
        _warm_dask()
        kw = dict(SCAN_KW, scan_shape=(side, side))
        base = _rss_bytes()
        t0 = time.perf_counter()
        data = file_reader(first, lazy=True, **kw)[0]["data"]
        t1 = time.perf_counter()
        if case == "ours_read":  # the reads alone: every chunk filled, then dropped
            total = None
            tiny = data.map_blocks(
                lambda b: np.zeros((1,) * b.ndim, b.dtype), chunks=(1,) * data.ndim
            )
            tiny.compute()
        else:
            total = int(data.sum().compute())
        t2 = time.perf_counter()
        out = {
            "open": t1 - t0,
            "compute": t2 - t1,
            "sum": total,
            "tasks": len(data.__dask_graph__()),
            "chunks": int(data.npartitions),
            "peak": _peak_bytes() - base,
        }
        if client is not None:
            client.close()
            cluster.close()
            out["peak"] = None  # lives in the workers
        return out
    if case == "open_many":  # 100k small frames in 20 parts, explicit scan, no compute
        from intake_tvips import file_reader

        rechunking = args["rechunking"]
        if isinstance(rechunking, dict):  # JSON made the axis numbers strings
            rechunking = {int(k): v for k, v in rechunking.items()}
        kw = dict(SCAN_KW, scan_shape=(side, side), rechunking=rechunking)
        t0 = time.perf_counter()
        data = file_reader(first, lazy=True, **kw)[0]["data"]
        t = time.perf_counter() - t0
        times = []
        for _ in range(5):
            t1 = time.perf_counter()
            file_reader(first, lazy=True, **kw)
            times.append(time.perf_counter() - t1)
        return {
            "open": t,
            "open_again": statistics.median(times),
            "tasks": len(data.__dask_graph__()),
            "chunks": int(data.npartitions),
            "frames": JUNK + side * side + 1,
        }
    if case in ("s3_ours", "s3_ours_read", "s3_cat"):
        import fsspec
        import requests

        from intake_tvips import file_reader

        opts = args["storage_options"]
        fs = fsspec.filesystem("s3", **opts)
        endpoint = opts["client_kwargs"]["endpoint_url"]
        _warm_dask()
        paths = sorted(fs.glob(args["first"].replace("_000.tvips", "_*.tvips")))  # S3 client up
        nbytes = sum(fs.info(p)["size"] for p in paths)

        def once():
            fs.invalidate_cache()  # nothing known about the objects
            if case == "s3_cat":
                t0 = time.perf_counter()
                blobs = fs.cat(paths)
                assert sum(len(b) for b in blobs.values()) == nbytes
                return 0.0, time.perf_counter() - t0, None, 1
            t0 = time.perf_counter()
            data = file_reader(
                args["first"],
                lazy=True,
                storage_options=opts,
                **dict(SCAN_KW, scan_shape=(side, side)),
            )[0]["data"]
            t1 = time.perf_counter()
            if case == "s3_ours_read":  # every chunk filled, then dropped
                total = None
                data.map_blocks(
                    lambda b: np.zeros((1,) * b.ndim, b.dtype), chunks=(1,) * data.ndim
                ).compute()
            else:
                total = int(data.sum().compute())
            return t1 - t0, time.perf_counter() - t1, total, data.npartitions

        requests.get(f"{endpoint}/__requests__", timeout=10)  # clear the server's log
        first_open, first_compute, total, chunks = once()
        server = requests.get(f"{endpoint}/__requests__", timeout=10).json()
        again = [sum(once()[:2]) for _ in range(3)]
        return {
            "open": first_open,
            "compute": first_compute,
            "again": statistics.median(again),
            "sum": total,
            "chunks": chunks,
            "bytes": nbytes,
            "server": server,
        }
    raise SystemExit(f"unknown case {case}")


def run_child(case: str, args: dict, timeout: float = 600) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "child", case, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode:
        raise RuntimeError(f"{case} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def repeat(case: str, args: dict, n: int) -> dict:
    runs = [run_child(case, args) for _ in range(n)]
    med = {}
    for key in runs[0]:
        vals = [r[key] for r in runs]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
            med[key] = statistics.median(vals)
        else:
            med[key] = vals[-1]
    med["total"] = statistics.median([r["open"] + r["compute"] for r in runs])
    return med


# ------------------------------------------------------------------ groups


def group_local(work: Path, size_gib: float, n: int, distributed: bool) -> list[list]:
    side = scan_side(size_gib * 2**30, FRAME)
    first = str(work / "local" / "scan_000.tvips")
    nbytes_target = JUNK + side * side + 1
    if not os.path.exists(first) or not _matches(first, nbytes_target):
        shutil.rmtree(work / "local", ignore_errors=True)
        (work / "local").mkdir(parents=True)
        total = 256 + nbytes_target * (60 + 2 * math.prod(FRAME))
        print(f"writing {total / 2**30:.2f} GiB, scan {side}x{side} in 4 parts ...", flush=True)
        record = 60 + 2 * math.prod(FRAME)
        write_dataset(first, side, FRAME, max_file_size=256 + math.ceil(nbytes_target / 4) * record)
    parts = part_paths(first)
    size = sum(os.path.getsize(p) for p in parts)
    args = {"side": side, "first": first}
    run_child("plain", args)  # warm the page cache
    plain = repeat("plain", args, n)
    plain_fresh = repeat("plain_fresh", args, n)
    plain_sum = repeat("plain_sum", args, n)
    ours_read = repeat("ours_read", args, n)
    ours = repeat("ours", args, n)
    rows = []
    want = expected_sum(side)
    rows.append(_row("plain readinto (1 thread)", plain, plain, size))
    rows.append(_row("plain readinto new 128 MiB arrays (1 thread)", plain_fresh, plain, size))
    rows.append(_row("intake-tvips lazy, reads only (threads)", ours_read, plain, size))
    rows.append(_row("plain readinto + sum (1 thread)", plain_sum, plain, size))
    rows.append(_row("intake-tvips lazy, sum (threads)", ours, plain, size))
    _check_sum("ours", ours, want)
    _check_sum("plain_sum", plain_sum, want)
    try:
        rsciio = repeat("rsciio", args, n)
        _check_sum("rsciio", rsciio, want)
        rows.append(_row("RosettaSciIO 0.15 lazy", rsciio, plain, size))
        rows.append(["ours vs RosettaSciIO", f"{rsciio['total'] / ours['total']:.2f}x faster",
                     "", "", "", ""])  # fmt: skip
    except RuntimeError as err:
        rows.append(["RosettaSciIO 0.15 lazy", f"failed: {str(err)[-200:]}", "", "", "", ""])
    if distributed:
        dist = repeat("ours_distributed", args, n)
        _check_sum("ours_distributed", dist, want)
        rows.append(_row("intake-tvips lazy, LocalCluster 2 procs", dist, plain, size))
    header = (
        f"Lazy full pass `data.sum().compute()`: {size / 2**30:.2f} GiB in {len(parts)} parts, "
        f"scan {side}x{side} (winding x, hysteresis 2), frames {FRAME[0]}x{FRAME[1]} uint16"
    )
    cols = ["reader", "open s", "compute s", "total s", "x plain readinto", "peak RSS / data"]
    return [header, cols] + rows


def _matches(first: str, n_frames: int) -> bool:
    size = sum(os.path.getsize(p) for p in part_paths(first))
    return size == 256 + n_frames * (60 + 2 * math.prod(FRAME))


def _row(name: str, r: dict, plain: dict, size: int) -> list:
    peak = r.get("peak")
    return [
        name,
        f"{r['open']:.3f}",
        f"{r['compute']:.3f}",
        f"{r['total']:.3f}",
        f"{r['total'] / plain['total']:.2f}",
        "-" if peak is None else f"{peak / size:.2f}",
    ]


def _check_sum(name: str, r: dict, want: int) -> None:
    if r["sum"] != want:
        raise SystemExit(f"{name}: sum {r['sum']} != expected {want}: wrong data")


def group_open(work: Path) -> list[list]:
    side = 316  # 99 856 scan positions + 4 frames = 99 860 frames
    first = str(work / "many" / "scan_000.tvips")
    frames = JUNK + side * side + 1
    record = 60 + 16 * 16
    if not os.path.exists(first):
        (work / "many").mkdir(parents=True, exist_ok=True)
        write_small(first, frames, record)
    rows = []
    for label, rechunking in [("auto", "auto"), ("False (per part)", False), ("{0: 4}", {0: 4})]:
        r = run_child("open_many", {"side": side, "first": first, "rechunking": rechunking})
        rows.append(
            [
                f"rechunking={label}",
                f"{1000 * r['open']:.1f}",
                f"{1000 * r['open_again']:.1f}",
                f"{r['chunks']} / {r['tasks']}",
            ]
        )
    return [
        f"Open (graph built, nothing computed): {r['frames']} frames of 16x16 uint8 in 20 parts, "
        f"scan {side}x{side}",
        ["chunking", "open ms, fresh process", "open ms, again (median of 5)", "chunks / tasks"],
        *rows,
    ]


def write_small(first: str, n_frames: int, record: int) -> None:
    import dask.array as da
    import numpy as np

    from intake_tvips import file_writer

    data = da.zeros((n_frames, 16, 16), dtype=np.uint8, chunks=(20000, 16, 16))
    per_part = math.ceil(n_frames / 20)
    file_writer(
        first,
        {"data": data, "axes": [], "metadata": {}, "original_metadata": {}},
        max_file_size=256 + per_part * record,
        show_progressbar=False,
    )


def group_s3(work: Path, n: int) -> list[list]:
    sys.path.insert(0, str(HERE))
    from moto_s3 import s3_client, s3_options, start_s3

    proc, endpoint = start_s3()
    try:
        opts = s3_options(endpoint)
        s3_client(endpoint).create_bucket(Bucket="bench")
        side = scan_side(4 * S3_PART_BYTES - 2**20, S3_FRAME)
        first = "s3://bench/scan_000.tvips"
        write_dataset(first, side, S3_FRAME, S3_PART_BYTES, storage_options=opts)
        args = {"side": side, "first": first, "storage_options": opts}
        cat = repeat("s3_cat", args, n)
        ours_read = repeat("s3_ours_read", args, n)
        ours = repeat("s3_ours", args, n)
        _check_sum("s3_ours", ours, expected_sum(side, S3_FRAME))
        size = cat["bytes"]

        def row(name, r):
            req = f"{r['server']['requests']} ({r['server']['ranged_gets']})"
            return [
                name,
                f"{r['total']:.3f}",
                f"{r['again']:.3f}",
                f"{size / r['total'] / 1e6:.0f} / {size / r['again'] / 1e6:.0f}",
                f"{cat['total'] / r['total']:.2f} / {cat['again'] / r['again']:.2f}",
                req,
            ]

        return [
            f"S3 (moto server on 127.0.0.1, own process): {size / 2**20:.0f} MiB in "
            f"{S3_PART_BYTES // 2**20} MiB objects, scan {side}x{side}, frames 128x128 uint16; "
            f"intake-tvips: open {ours['open']:.3f} s, {ours['chunks']} chunk(s)",
            [
                "reader",
                "first s",
                "again s",
                "MB/s first / again",
                "x s3fs cat",
                "requests (ranged)",
            ],
            row("s3fs cat_file of whole objects", cat),
            row("intake-tvips open + reads only", ours_read),
            row("intake-tvips open + sum", ours),
        ]
    finally:
        proc.terminate()
        proc.wait(10)


def markdown(table: list) -> str:
    title, head, *rows = table
    lines = [f"**{title}**", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def machine() -> str:
    import dask
    import numpy

    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.node()}: {os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, "
        f"Python {platform.python_version()}, numpy {numpy.__version__}, dask {dask.__version__}"
    )


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "child":
        print(json.dumps(child(argv[1], json.loads(argv[2]))))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default="/tmp/tvips-bench", help="where the datasets go")
    ap.add_argument("--size-gib", type=float, default=1.1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", choices=["local", "open", "s3", "distributed"], action="append")
    args = ap.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    only = set(args.only or ["local", "open", "s3", "distributed"])
    print(machine(), "\n", flush=True)
    if only & {"local", "distributed"}:
        table = group_local(work, args.size_gib, args.repeat, "distributed" in only)
        print(markdown(table), "\n", flush=True)
    if "open" in only:
        print(markdown(group_open(work)), "\n", flush=True)
    if "s3" in only:
        print(markdown(group_s3(work, args.repeat)), "\n", flush=True)


if __name__ == "__main__":
    main()
