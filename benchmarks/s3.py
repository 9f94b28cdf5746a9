"""S3 (moto server on 127.0.0.1): our reads against the clients' own, side by side.

    python benchmarks/s3.py                 # reads and convert, 1 GiB, 5 rounds (~4 min)
    python benchmarks/s3.py --only reads --repeat 7
    python benchmarks/s3.py --parts 4       # a quick look: 61 MiB, one chunk

One process, one moto server (``tests/servers.py s3``, a process of its own), one dataset
(``--parts`` objects of <= 16 MiB, default 64: 1 GiB in 9 chunks of dask's default size;
moto copies the whole object for every ranged GET). Every case runs once untimed, then the
cases run in turn, ``--repeat`` rounds, so that noise from the shared machine falls on all
of them alike; the table shows medians, min-max, and ratios against the baseline.

Reads, the same byte ranges (those our graph's tasks ask for, split in the same pieces):
obstore ``get_range_async`` all at once, at most 4 and at most 16 in flight, obstore
``get_ranges`` per object (the baseline of a round is the fastest of these four), s3fs
``cat_ranges`` (as fsspec creates it, and with a pool of 64 connections), a hand-written
fetch + copy into a new array (all at the end, or piece by piece as they arrive), and our
full pass: every chunk read into a new array and dropped (also with chunks of 32 MiB: the
same bytes in smaller ranges), and the sum. Convert: ``intake_tvips.to_zarr`` to a local
directory and to S3, against plain ``cat`` of the objects (and ``cat`` + write of the
bytes to the same destination).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from moto_s3 import s3_client, s3_options, start_s3  # noqa: E402

FRAME = (128, 128)
PART_BYTES = 16 * 2**20
BUCKET = "bench"


def start_server():
    proc, endpoint = start_s3()
    s3_client(endpoint).create_bucket(Bucket=BUCKET)
    return proc, s3_options(endpoint)


def write_data(opts: dict, parts: int = 4) -> tuple[str, int]:
    from run import scan_side, write_dataset

    side = scan_side(parts * PART_BYTES - 2**20, FRAME)
    first = f"s3://{BUCKET}/scan_000.tvips"
    write_dataset(first, side, FRAME, PART_BYTES, storage_options=opts)
    return first, side


def graph_ranges(data) -> tuple[list, list, list]:
    """The byte ranges the tasks of ``data`` read, in the pieces storage.byteranges asks for."""
    from intake_tvips.graph.blockread import BlockRead
    from intake_tvips.storage.byteranges import REMOTE_PIECE_BYTES

    paths, starts, ends = [], [], []
    for task in data.dask.to_dict().values():
        found = [task, getattr(task, "func", None), *(task if isinstance(task, tuple) else ())]
        for br in (x for x in found if isinstance(x, BlockRead)):
            rb = br.layout.record_bytes
            per = max(1, REMOTE_PIECE_BYTES // rb)
            for r in br.block.plan().ranges:  # worked out as the task would
                for k in range(0, r.n_records, per):
                    n = min(per, r.n_records - k)
                    paths.append(br.paths[r.part])
                    starts.append(r.start + k * rb)
                    ends.append(r.start + (k + n) * rb)
    if not paths:
        raise SystemExit("found no BlockRead in the graph: benchmarks/s3.py needs updating")
    return paths, starts, ends


def read_cases(first: str, side: int, opts: dict) -> dict:
    import dask
    import fsspec
    import fsspec.asyn
    import numpy as np
    import obstore
    from obstore.store import S3Store
    from run import SCAN_KW, expected_sum

    from intake_tvips import file_reader

    kw = dict(SCAN_KW, scan_shape=(side, side))

    def open_():
        return file_reader(first, lazy=True, storage_options=opts, **kw)[0]["data"]

    data = open_()
    with dask.config.set({"array.chunk-size": "32MiB"}):  # a quarter of dask's default
        small = open_()
    paths, starts, ends = graph_ranges(data)
    nbytes = sum(e - s for s, e in zip(starts, ends))
    ck = opts["client_kwargs"]
    store = S3Store(
        BUCKET,
        endpoint=ck["endpoint_url"],
        region="us-east-1",
        access_key_id=opts["key"],
        secret_access_key=opts["secret"],
        client_options={"allow_http": True},
    )
    keys = [p.split("/", 1)[1] for p in paths]
    loop = fsspec.asyn.get_loop()

    async def all_at_once(limit=None):
        sem = asyncio.Semaphore(limit or len(keys))

        async def one(k, s, e):
            async with sem:
                return await obstore.get_range_async(store, k, start=s, end=e)

        return await asyncio.gather(*[one(k, s, e) for k, s, e in zip(keys, starts, ends)])

    async def per_object():
        groups: dict = {}
        for k, s, e in zip(keys, starts, ends):
            groups.setdefault(k, ([], []))
            groups[k][0].append(s)
            groups[k][1].append(e)
        got = await asyncio.gather(
            *[obstore.get_ranges_async(store, k, starts=s, ends=e) for k, (s, e) in groups.items()]
        )
        return [b for bs in got for b in bs]

    s3fs_default = fsspec.filesystem("s3", skip_instance_cache=True, **opts)
    s3fs_64 = fsspec.filesystem(
        "s3", skip_instance_cache=True, config_kwargs={"max_pool_connections": 64}, **opts
    )

    def check(blobs):
        assert sum(len(b) for b in blobs) == nbytes
        return None

    def reads_only(d):
        d.map_blocks(lambda b: np.zeros((1,) * b.ndim, b.dtype), chunks=(1,) * d.ndim).compute()

    def ours_read():
        reads_only(open_())

    def ours_sum():
        return int(open_().sum().compute())

    def pixels(b):
        rb = 60 + 2 * math.prod(FRAME)
        return np.frombuffer(b, np.uint8).reshape(-1, rb)[:, 60:].view("<u2")

    def obstore_copy():  # hand-written reads-only pass: all pixels into one new array
        blobs = fsspec.asyn.sync(loop, all_at_once)
        out = np.empty((sum(len(pixels(b)) for b in blobs),) + FRAME, "<u2")
        i = 0
        for b in blobs:
            a = pixels(b)
            out[i : i + len(a)] = a.reshape((-1,) + FRAME)
            i += len(a)

    async def pieces_copied(limit=16):
        sem = asyncio.Semaphore(limit)
        run = asyncio.get_running_loop().run_in_executor

        async def one(k, s, e):
            async with sem:
                b = await obstore.get_range_async(store, k, start=s, end=e)
            a = pixels(b)
            await run(None, np.copyto, np.empty(a.shape, a.dtype), a)  # copy off the loop

        await asyncio.gather(*[one(k, s, e) for k, s, e in zip(keys, starts, ends)])

    def obstore_sum():  # what a hand-written pass costs: fetch, view pixels, sum
        blobs = fsspec.asyn.sync(loop, all_at_once)
        return sum(int(pixels(b).sum(dtype=np.uint64)) for b in blobs)

    want = expected_sum(side, FRAME)
    return {
        "obstore get_range_async, all ranges at once": lambda: check(
            fsspec.asyn.sync(loop, all_at_once)
        ),
        "obstore get_range_async, at most 4 in flight": lambda: check(
            fsspec.asyn.sync(loop, all_at_once, 4)
        ),
        "obstore get_range_async, at most 16 in flight": lambda: check(
            fsspec.asyn.sync(loop, all_at_once, 16)
        ),
        "obstore get_ranges_async, one call per object": lambda: check(
            fsspec.asyn.sync(loop, per_object)
        ),
        "s3fs cat_ranges (pool 10, fsspec default)": lambda: check(
            s3fs_default.cat_ranges(paths, starts, ends)
        ),
        "s3fs cat_ranges (pool 64)": lambda: check(s3fs_64.cat_ranges(paths, starts, ends)),
        "obstore get_range_async + copy into a new array": obstore_copy,
        "obstore get_range_async (16 in flight) + each piece copied on arrival": lambda: (
            fsspec.asyn.sync(loop, pieces_copied)
        ),
        "intake-tvips reads only, opened once (threads)": lambda: reads_only(data),
        "intake-tvips open + reads only (threads)": ours_read,
        "intake-tvips reads only, chunks of 32 MiB, opened once (threads)": lambda: reads_only(
            small
        ),
        "obstore get_range_async + hand-written sum": obstore_sum,
        "intake-tvips sum, opened once (threads)": lambda: int(data.sum().compute()),
        "intake-tvips open + sum (threads)": ours_sum,
        "_meta": {"bytes": nbytes, "ranges": len(paths), "want": want, "chunks": data.npartitions},
    }


def measure(cases: dict, rounds: int) -> dict:
    """Every case once untimed, then ``rounds`` rounds of all; seconds per case."""
    for f in cases.values():
        f()
    times: dict = {name: [] for name in cases}
    for _ in range(rounds):
        for name, f in cases.items():
            t0 = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - t0)
    return times


def table(title: str, times: dict, nbytes: int, baseline: str | list[str]) -> str:
    """Medians, spread, and speed against ``baseline``: the ratio of medians and the
    median (min - max) of the ratios within each round (robust to a noisy machine).

    ``baseline``: a case, or several: then each round's fastest of them (the best the
    client did in that round) is the baseline of that round."""
    names = [baseline] if isinstance(baseline, str) else baseline
    base = [min(r) for r in zip(*(times[n] for n in names))]
    lines = [
        f"**{title}**",
        "",
        "| case | median s | min - max s | MB/s | speed x baseline (medians) "
        "| per round: median (min - max) |",
        "|---|---|---|---|---|---|",
    ]
    for name, ts in times.items():
        med = statistics.median(ts)
        per_round = [b / t for b, t in zip(base, ts)]
        lines.append(
            f"| {name} | {med:.3f} | {min(ts):.3f} - {max(ts):.3f} | {nbytes / med / 1e6:.0f} "
            f"| {statistics.median(base) / med:.2f} | {statistics.median(per_round):.2f} "
            f"({min(per_round):.2f} - {max(per_round):.2f}) |"
        )
    return "\n".join(lines)


def reads(first: str, side: int, opts: dict, rounds: int) -> str:
    cases = read_cases(first, side, opts)
    meta = cases.pop("_meta")
    got = cases["intake-tvips open + sum (threads)"]()
    hand = cases["obstore get_range_async + hand-written sum"]()
    if got != meta["want"] or hand != meta["want"]:
        raise SystemExit(f"wrong sums: ours {got}, by hand {hand}, expected {meta['want']}")
    times = measure(cases, rounds)
    return table(
        f"S3 reads: {meta['bytes'] / 2**20:.0f} MiB in {meta['ranges']} ranges, "
        f"{meta['chunks']} chunks; {rounds} rounds; baseline: each round's fastest of the "
        "four obstore fetches",
        times,
        meta["bytes"],
        [n for n in times if n.startswith("obstore get_range") and "+" not in n],
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--only", choices=["reads", "convert"], action="append")
    ap.add_argument("--parts", type=int, default=64, help="objects of 16 MiB (default 64: 1 GiB)")
    args = ap.parse_args()
    only = set(args.only or ["reads", "convert"])
    proc, opts = start_server()
    try:
        first, side = write_data(opts, args.parts)
        if "reads" in only:
            print(reads(first, side, opts, args.repeat), "\n", flush=True)
        if "convert" in only:
            print(convert(first, side, opts, args.repeat), "\n", flush=True)
    finally:
        proc.terminate()
        proc.wait(10)


def convert(first: str, side: int, opts: dict, rounds: int) -> str:
    """to_zarr from S3 to a local directory and to S3, against cat (+ write) of the bytes."""
    import fsspec
    from run import SCAN_KW

    from intake_tvips import to_zarr

    kw = dict(SCAN_KW, scan_shape=(side, side))
    fs = fsspec.filesystem("s3", **opts)
    paths = sorted(fs.glob(first.replace("_000.tvips", "_*.tvips")))
    nbytes = sum(fs.info(p)["size"] for p in paths)
    tmp = Path(tempfile.mkdtemp(prefix="tvips-bench-"))
    shard = 16 * 2**20  # 4 shards of the 61 MiB: 4 parallel tasks

    def cat():
        assert sum(len(b) for b in fs.cat(paths).values()) == nbytes

    def cat_write_local():
        for p, b in fs.cat(paths).items():
            (tmp / p.rsplit("/", 1)[1]).write_bytes(b)

    def cat_put_s3():
        fs.pipe({f"{BUCKET}/copy/{p.rsplit('/', 1)[1]}": b for p, b in fs.cat(paths).items()})

    def zarr_local():
        to_zarr(first, str(tmp / "out.zarr"), overwrite=True, source_options=opts,
                shard_bytes=shard, **kw)  # fmt: skip

    def zarr_s3():
        to_zarr(first, f"s3://{BUCKET}/out.zarr", overwrite=True, storage_options=opts,
                source_options=opts, shard_bytes=shard, **kw)  # fmt: skip

    cases = {
        "s3fs cat of the objects": cat,
        "s3fs cat + write the bytes to local files": cat_write_local,
        "s3fs cat + put the bytes to S3": cat_put_s3,
        "to_zarr S3 -> local directory (threads)": zarr_local,
        "to_zarr S3 -> S3 (threads)": zarr_s3,
    }
    try:
        times = measure(cases, rounds)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return table(
        f"Convert: {nbytes / 2**20:.0f} MiB from S3, shards of 16 MiB, inner chunks <= 4 MiB, "
        f"zstd; {rounds} rounds",
        times,
        nbytes,
        "s3fs cat of the objects",
    )


if __name__ == "__main__":
    main()
