"""``to_zarr`` of a 1 GiB recording: today's writer against the one it replaced (issue 18).

    python benchmarks/zarr_writer.py                  # 3 rounds; a Markdown table
    python benchmarks/zarr_writer.py --rounds 5 --work /tmp

The recording is ``convert_blo.py``'s (a 32 x 64 scan of 512 x 512 uint16 patterns, 1 GiB
of pixels in two parts, written once with ``intake_tvips.file_writer`` into ``--work``).
Each round writes it to a fresh local Zarr v3 store on dask's threads, the same call
``to_zarr(url, out, scan_shape=..., ...)`` (default shards: 128 MiB read tasks), by:

* **new**: ``intake_tvips.to_zarr`` as it is (``dask.array.store`` into the opened array);
* **old**: the writer before issue 18 (its own ``_ShardWriter`` task reopening the array
  through a process-global cache, its own progress callback), taken with ``git show`` from
  commit ``OLD_COMMIT`` into a temporary module (its imports mapped to the moved modules);
* **dask.array.to_zarr**: the new writer with its store step replaced by
  ``dask.array.to_zarr(data, opened_array)`` (which rechunks to dask's "auto" multiple of
  the shard), to show why the writer calls ``dask.array.store`` itself.

Cases alternate round by round (a drifting load on a shared machine hits each alike); the
page cache is warmed by an untimed read. Every output is checked: its sum and a few frames
against ``file_reader``'s. Medians with the spread (min-max).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from convert_blo import READ, SCAN, write_recording  # noqa: E402

#: the commit whose ``intake_tvips/zarr_export.py`` is the old writer
OLD_COMMIT = "845dd8c"
#: the old module's imports of modules that moved since
MOVED = {
    "intake_tvips.reader": "intake_tvips.reading.reader",
    "intake_tvips.opened": "intake_tvips.reading.opened",
    "intake_tvips.xarray_view": "intake_tvips.integrations.xarray_view",
}


def old_writer(work: Path):
    """The old ``zarr_export`` module, from git, as ``tvips_old_zarr_export``."""
    source = subprocess.run(
        ["git", "-C", str(HERE.parent), "show", f"{OLD_COMMIT}:intake_tvips/zarr_export.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for old, new in MOVED.items():
        source = source.replace(f"from {old} import", f"from {new} import")
    path = work / "tvips_old_zarr_export.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("tvips_old_zarr_export", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pickling of its task class finds it
    spec.loader.exec_module(module)
    return module


class _DaskToZarr:
    """Stands in for the new writer's flags: ``dask.array.to_zarr`` into the array."""

    def __init__(self, data, target):
        self.data, self.target, self.npartitions = data, target, data.npartitions

    def compute(self, scheduler):
        import dask.array as da

        da.to_zarr(self.data, self.target, compute=True)
        return np.ones(1, bool)


def cases(work: Path) -> dict:
    from intake_tvips.writers import zarr as new

    old = old_writer(work)

    def with_dask_to_zarr(url, out, **kw):
        saved = new.write_tasks
        new.write_tasks = _DaskToZarr
        try:
            return new.to_zarr(url, out, **kw)
        finally:
            new.write_tasks = saved

    return {"new": new.to_zarr, "old": old.to_zarr, "dask.array.to_zarr": with_dask_to_zarr}


def check(out: str, want_sum: int, want_frames: dict) -> None:
    import zarr

    data = zarr.open_group(out, mode="r")["data"]
    assert data.shape == SCAN + (512, 512), data.shape
    total = sum(int(data[i].sum(dtype=np.int64)) for i in range(SCAN[0]))
    assert total == want_sum, (out, total, want_sum)
    for (y, x), frame in want_frames.items():
        np.testing.assert_array_equal(data[y, x], frame)


def reference(url: str) -> tuple[int, dict]:
    """The recording's sum and a few frames, by ``file_reader`` (warms the page cache)."""
    from intake_tvips import file_reader

    data = file_reader(url, lazy=True, scan_shape=SCAN, **READ)[0]["data"]
    total = int(data.sum(dtype=np.int64).compute(scheduler="threads"))
    picks = [(0, 0), (7, 33), (SCAN[0] - 1, SCAN[1] - 1)]
    return total, {p: np.asarray(data[p].compute()) for p in picks}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--work", default=tempfile.gettempdir())
    p.add_argument("--keep", action="store_true", help="keep the recording for the next run")
    p.add_argument("--only", nargs="*", default=None, help="case names to run")
    args = p.parse_args()
    work = Path(args.work) / "tvips-bench-zarr"
    work.mkdir(parents=True, exist_ok=True)
    url = write_recording(work)
    want_sum, want_frames = reference(url)
    todo = cases(work)
    if args.only:
        todo = {k: v for k, v in todo.items() if k in args.only}
    times: dict[str, list[float]] = {name: [] for name in todo}
    load0 = os.getloadavg()[0]
    for r in range(args.rounds):
        for name, write in todo.items():
            out = str(work / f"out-{name.replace('.', '_')}.zarr")
            shutil.rmtree(out, ignore_errors=True)
            t0 = time.perf_counter()
            write(url, out, scan_shape=SCAN, **READ)
            times[name].append(time.perf_counter() - t0)
            check(out, want_sum, want_frames)
            shutil.rmtree(out, ignore_errors=True)
            print(f"round {r + 1} {name}: {times[name][-1]:.2f} s", file=sys.stderr)
    load1 = os.getloadavg()[0]
    base = statistics.median(times["new"]) if "new" in times else None
    load = f"load average {load0:.1f} -> {load1:.1f}"
    print(f"\n1 GiB -> Zarr v3, local, threads; {args.rounds} rounds; {load}\n")
    print("| writer | median (min-max) | vs new |\n|---|---|---|")
    for name, ts in times.items():
        med = statistics.median(ts)
        ratio = f"{med / base:.2f}x" if base else ""
        print(f"| {name} | {med:.2f} s ({min(ts):.2f}-{max(ts):.2f}) | {ratio} |")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
