"""``intake-tvips view``: time from start to the first full virtual image, local and on S3.

    python benchmarks/view_first_image.py              # demo + 1 GiB, local + moto S3
    python benchmarks/view_first_image.py --only demo --repeat 5
    python benchmarks/view_first_image.py --no-browser # the API only (no Chromium)

"Start" is the call of :func:`intake_tvips.view` (what ``intake-tvips view URL`` does after
parsing its options): the recording opened, its scan detected from the frame headers, the
server up and the first pass started. Columns: ``ready`` (``view()`` returned: the URL can
be opened), ``pass`` (every frame read and reduced to cell sums), ``full image`` (the page
in headless Chromium has drawn the virtual image of every frame: ``body[data-full]``; with
``--no-browser``, the image fetched from the API once the pass ended). Medians of
``--repeat`` runs (the machine may be shared: noise falls on every case alike).

Datasets: the demo's recording (``intake-tvips demo``: a 64 x 64 scan of 64 x 64 frames,
33 MiB in 4 parts) and 1 GiB (``benchmarks/run.py``'s ramp: 128 x 128 frames, parts of
16 MiB, no scan positions in the headers); S3 is moto's server in a process of its own
(``tests/servers.py s3``), which copies a whole object for every ranged GET.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests"), str(HERE.parent)]

from moto_s3 import s3_client, s3_options, start_s3  # noqa: E402
from test_view_browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402  (the tests' browser)

BUCKET = "view"
PART_BYTES = 16 * 2**20
BIG_FRAME = (128, 128)


def write_demo(root: Path) -> str:
    from intake_tvips.cli.demo import _step_write
    from intake_tvips.cli.demo_data import synthesize

    (root / "demo" / "data").mkdir(parents=True)
    frames, _ = synthesize(64)
    _step_write(root / "demo", frames, 64, lambda *a: None, {})
    return str(root / "demo" / "data" / "scan_000.tvips")


def write_big(root: Path) -> str:
    from run import scan_side, write_dataset

    (root / "big").mkdir()
    side = scan_side(2**30, BIG_FRAME)
    url = str(root / "big" / "scan_000.tvips")
    write_dataset(url, side, BIG_FRAME, PART_BYTES)
    return url


def upload(url: str, opts: dict, prefix: str) -> str:
    import fsspec

    fs = fsspec.filesystem("s3", **opts)
    for part in sorted(Path(url).parent.glob("scan_*.tvips")):
        fs.put(str(part), f"{BUCKET}/{prefix}/{part.name}")
    fs.invalidate_cache()
    return f"s3://{BUCKET}/{prefix}/scan_000.tvips"


def one_run(url: str, opts: dict | None, page) -> dict:
    import json
    import urllib.request

    import intake_tvips

    t0 = time.perf_counter()
    viewer = intake_tvips.view(url, storage_options=opts)
    ready = time.perf_counter() - t0
    try:
        if page is not None:
            page.goto(viewer.url)
            page.wait_for_selector("body[data-full='1']", timeout=600_000)
            full = time.perf_counter() - t0
            viewer.session.scan_pass.join()
        else:
            viewer.session.scan_pass.join()
            st = viewer.session.status()
            scan = viewer.session.info()["scan"]
            det = st["detector"]
            q = "&".join(f"{k}={v}" for k, v in {**det, **scan}.items() if v is not None)
            req = urllib.request.Request(
                viewer.url.split("?")[0] + "api/image?" + q, headers={"X-Token": viewer.token}
            )
            with urllib.request.urlopen(req) as r:
                r.read()
            full = time.perf_counter() - t0
        progress = viewer.session.scan_pass.progress()
        assert progress["done"] == progress["total"], json.dumps(progress)
    finally:
        viewer.stop()
    return {"ready": ready, "pass": ready + progress["seconds"], "full image": full}


def measure(cases: list[tuple[str, str, dict | None]], repeat: int, browser: bool) -> list:
    from contextlib import nullcontext

    results = {name: [] for name, _, _ in cases}
    ctx = nullcontext(None)
    if browser:
        from playwright.sync_api import sync_playwright

        ctx = sync_playwright()
    with ctx as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS) if p else None
        for k in range(repeat + 1):  # a first round untimed (imports, caches)
            for name, url, opts in cases:
                page = b.new_page() if b else None
                got = one_run(url, opts, page)
                if k:
                    results[name].append(got)
                if page is not None:
                    page.close()
        if b:
            b.close()
    return [(name, runs) for name, runs in results.items()]


def table(rows, repeat: int, browser: bool) -> str:
    keys = ["ready", "pass", "full image"]
    out = [
        f"time from intake_tvips.view() to the first full virtual image, median of {repeat}"
        f" ({'headless Chromium' if browser else 'API, no browser'})",
        f"{'case':<22}" + "".join(f"{k:>14}" for k in keys),
    ]
    for name, runs in rows:
        cells = [statistics.median(r[k] for r in runs) for k in keys]
        out.append(f"{name:<22}" + "".join(f"{c:>12.2f} s" for c in cells))
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["demo", "big"], help="one dataset only")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-browser", action="store_true", help="time the API, not the page")
    ap.add_argument("--no-s3", action="store_true", help="local files only")
    args = ap.parse_args()
    browser = not args.no_browser and Path(CHROMIUM).exists()
    proc = None
    with tempfile.TemporaryDirectory(prefix="tvips-view-bench-") as tmp:
        root = Path(tmp)
        local = []
        if args.only in (None, "demo"):
            local.append(("demo", write_demo(root)))
        if args.only in (None, "big"):
            local.append(("1 GiB", write_big(root)))
        cases = [(f"{name}, local", url, None) for name, url in local]
        try:
            if not args.no_s3:
                proc, endpoint = start_s3()
                s3_client(endpoint).create_bucket(Bucket=BUCKET)
                opts = s3_options(endpoint)
                for name, url in local:
                    s3url = upload(url, opts, name.split()[0])
                    cases.append((f"{name}, moto S3", s3url, opts))
            print(table(measure(cases, args.repeat, browser), args.repeat, browser))
        finally:
            if proc is not None:
                proc.terminate()


if __name__ == "__main__":
    main()
