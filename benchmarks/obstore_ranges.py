"""S3 byte ranges on moto: the obstore path of today against ``obstore.get_ranges_async``.

    python benchmarks/obstore_ranges.py --rounds 5

Issue 18 item 4 asks whether reads should go through ``obstore.get_ranges_async`` per
object (as zarr's ``ObjectStore`` does) instead of one ``get_range_async`` per range (what
``storage/fetch.py`` does today, each range handed over as it arrives). One 64 MiB object
of 128 records (a 12-byte header + a 512 KiB frame each) on moto's S3 server (a local
process), three read patterns:

* **pieces**: the whole object in 16 MiB pieces, what the reader asks for (it merges the
  records of a block across gaps up to 16 MiB, then splits the range into pieces of
  ``REMOTE_PIECE_BYTES``, fetched at once and placed as they arrive);
* **run**: the frames of all 128 records (the headers skipped: gaps of 12 bytes), what a
  block of whole scan rows reads;
* **sparse**: every 8th frame (gaps of 3.5 MiB), what a sample reads.

Cases alternate round by round; every result is checked byte for byte against the object.
Medians with the spread (min-max). moto is a Python server on the same cores: requests
cost it more than bytes, which favours fewer, larger requests more than real S3 would.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from moto_s3 import s3_client, s3_options, start_s3  # noqa: E402

HEADER, FRAME, RECORDS = 12, 512 * 1024, 128
PIECE = 16 * 2**20  # storage/byteranges.REMOTE_PIECE_BYTES
KEY = "bench/ranges.bin"


def patterns() -> dict[str, tuple[list[int], list[int]]]:
    rec = HEADER + FRAME
    run = [(k * rec + HEADER, (k + 1) * rec) for k in range(RECORDS)]
    sparse = run[::8]
    total = RECORDS * rec
    pieces = [(a, min(a + PIECE, total)) for a in range(0, total, PIECE)]
    named = {"pieces": pieces, "run": run, "sparse": sparse}
    return {name: ([a for a, _ in r], [b for _, b in r]) for name, r in named.items()}


def per_range(fs_spec, starts, ends) -> list:
    """Today's path: ``fetch_ranges`` (obstore, a request per range, as they arrive)."""
    from intake_tvips.storage.fetch import fetch_ranges

    out = [None] * len(starts)
    for i, result, _ in fetch_ranges(fs_spec, [f"tvips/{KEY}"] * len(starts), starts, ends):
        if isinstance(result, BaseException):
            raise result
        out[i] = result
    return out


def per_object(fs_spec, starts, ends) -> list:
    """``obstore.get_ranges_async`` for the object (coalesced by object_store), on the same
    store and event loop."""
    import fsspec.asyn
    import obstore

    from intake_tvips.storage import obstore_io

    store = obstore_io._clients().store(fs_spec, "tvips")

    async def get():
        return await obstore.get_ranges_async(store, KEY, starts=starts, ends=ends)

    return asyncio.run_coroutine_threadsafe(get(), fsspec.asyn.get_loop()).result()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    from intake_tvips.storage import obstore_io
    from intake_tvips.storage.filesystem import FileSystemSpec

    proc, endpoint = start_s3()
    try:
        client = s3_client(endpoint)
        client.create_bucket(Bucket="tvips")
        blob = np.random.default_rng(0).integers(0, 256, RECORDS * (HEADER + FRAME), np.uint8)
        blob = blob.tobytes()
        client.put_object(Bucket="tvips", Key=KEY, Body=blob)
        fs_spec = FileSystemSpec("s3", s3_options(endpoint))
        assert obstore_io.usable(fs_spec)
        cases = {"per range (today)": per_range, "get_ranges_async": per_object}
        times = {(c, pat): [] for c in cases for pat in patterns()}
        for _ in range(args.rounds):
            for pat, (starts, ends) in patterns().items():
                for name, read in cases.items():
                    t0 = time.perf_counter()
                    got = read(fs_spec, starts, ends)
                    times[name, pat].append(time.perf_counter() - t0)
                    for b, a, e in zip(got, starts, ends):
                        assert bytes(b) == blob[a:e]
        print(f"\n64 MiB object on moto, {args.rounds} rounds\n")
        print("| pattern | reader | median (min-max) |\n|---|---|---|")
        for (name, pat), ts in times.items():
            med = statistics.median(ts)
            print(f"| {pat} | {name} | {med:.3f} s ({min(ts):.3f}-{max(ts):.3f}) |")
    finally:
        proc.terminate()


if __name__ == "__main__":
    main()
