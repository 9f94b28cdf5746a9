"""Scan detection and header tables on S3 (moto server on 127.0.0.1), against ``fs.cat``.

    python benchmarks/detect_s3.py [--repeat 5] [--baseline /work/main] [--per-header]

The recording: 4096 frames of 128 x 128 uint16 (32 KiB + 76 header bytes), a 64 x 63
snake scan after 3 junk frames, in 9 parts of at most 16 MiB (134 MB). moto's server runs
in a process of its own (``tests/servers.py s3``); its request log gives the GET counts.
Cases, interleaved, each ``--repeat`` times (median and min-max):

* ``cat``: ``fs.cat`` of every part (the baseline: all bytes, one GET per part);
* ``sampled detect``: ``detect_scan(url)`` (a sample of the headers);
* ``exhaustive table``: ``frame_headers(url)`` (cost model: whole runs of records here);
* ``table, per header`` (``--per-header``): the same forced to one range per header
  (64 in flight);
* ``before``: ``detect_scan(url)`` of the code at ``--baseline`` (every header, one range
  each, s3fs's default pool of 10), in a child process, timed inside it.

The last two take ~40 s each here (4096 GETs, each of which moto answers by copying a
16 MiB object): they run ``--slow-repeat`` times (default once).

S3 storage options carry ``config_kwargs={"max_pool_connections": 64}``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from moto_s3 import s3_client, s3_options, start_s3  # noqa: E402

URL = "s3://tvips/big_000.tvips"


def requests_since(endpoint: str) -> dict:
    """The server's request counts since the last call (the call clears them)."""
    with urllib.request.urlopen(f"{endpoint}/__requests__", timeout=10) as r:
        return json.loads(r.read())


def upload(endpoint: str) -> int:
    from test_detect_sampled import big_scan_parts

    s3 = s3_client(endpoint)
    s3.create_bucket(Bucket="tvips")
    blobs = big_scan_parts()
    for k, blob in enumerate(blobs):
        s3.put_object(Bucket="tvips", Key=f"big_{k:03d}.tvips", Body=blob)
    return sum(len(b) for b in blobs)


BEFORE = """
import json, sys, time
from intake_tvips import detect_scan
opts = json.loads(sys.argv[1])
t = time.perf_counter()
d = detect_scan("{url}", opts)
print(json.dumps({{"s": time.perf_counter() - t, "shape": d.scan_shape}}))
"""


def run_before(baseline: str, endpoint: str) -> float:
    env = dict(os.environ, PYTHONPATH=baseline)
    out = subprocess.run(
        [sys.executable, "-c", BEFORE.format(url=URL), json.dumps(s3_options(endpoint))],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
    )
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert tuple(res["shape"]) == (64, 63), res
    return res["s"]


def cases(endpoint: str):
    import fsspec

    from intake_tvips.recording.core import open_recording
    from intake_tvips.recording.detect import sample_scan
    from intake_tvips.recording.headers import ReadCost, frame_headers

    opts = s3_options(endpoint, pool=64)
    fs = fsspec.filesystem("s3", **opts)
    parts = [f"tvips/big_{k:03d}.tvips" for k in range(9)]

    def cat():
        blobs = fs.cat(parts)
        return {"bytes": sum(len(b) for b in blobs.values())}

    def sampled():
        got = sample_scan(open_recording(URL, opts))
        d = got.detection
        assert d is not None and d.scan_shape == (64, 63), got.why
        return {"bytes": got.reader.bytes_read + 1280, "headers": int(got.reader.frames.size)}

    def table():
        assert frame_headers(URL, opts).size == 4096
        return {}

    def per_header():
        assert frame_headers(URL, opts, cost=ReadCost(bandwidth=1e6, in_flight=64)).size == 4096
        return {}

    return {"cat": cat, "sampled detect": sampled, "exhaustive table": table}, per_header


def measure(name, fn, endpoint):
    requests_since(endpoint)
    t = time.perf_counter()
    extra = fn()
    s = time.perf_counter() - t
    log = requests_since(endpoint)
    return {"case": name, "s": s, "gets": log["ranged_gets"] + log["other_gets"], **extra}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--slow-repeat", type=int, default=1)
    ap.add_argument("--baseline", default="/work/main", help="code of 'before' (PYTHONPATH)")
    ap.add_argument("--per-header", action="store_true", help="also the forced per-header table")
    args = ap.parse_args()
    proc, endpoint = start_s3()
    try:
        total = upload(endpoint)
        fns, per_header = cases(endpoint)
        for fn in fns.values():  # warm up clients and connections
            fn()
        rows = []
        for i in range(max(args.repeat, args.slow_repeat)):
            for name, fn in fns.items() if i < args.repeat else ():
                rows.append(measure(name, fn, endpoint))
            if i < args.slow_repeat and args.per_header:
                rows.append(measure("table, per header", per_header, endpoint))
            if i < args.slow_repeat and args.baseline:
                requests_since(endpoint)
                s = run_before(args.baseline, endpoint)
                log = requests_since(endpoint)
                rows.append({"case": "before", "s": s, "gets": log["ranged_gets"]})
        report(rows, total)
    finally:
        proc.terminate()
        proc.wait(10)


def report(rows, total: int) -> None:
    cat = statistics.median(r["s"] for r in rows if r["case"] == "cat")
    print(f"recording: 4096 frames, {total / 1e6:.1f} MB in 9 parts; cat median {cat:.3f} s")
    print("| case | median s | min-max s | x cat | GETs | bytes read |")
    print("|---|---|---|---|---|---|")
    for case in dict.fromkeys(r["case"] for r in rows):
        rs = [r for r in rows if r["case"] == case]
        ts = [r["s"] for r in rs]
        med = statistics.median(ts)
        gets = statistics.median(r["gets"] for r in rs)
        nbytes = rs[0].get("bytes")
        share = "-" if nbytes is None else f"{nbytes / 2**20:.1f} MiB ({nbytes / total:.1%})"
        print(
            f"| {case} | {med:.3f} | {min(ts):.3f}-{max(ts):.3f} | {med / cat:.2f} | "
            f"{gets:.0f} | {share} |"
        )


if __name__ == "__main__":
    main()
