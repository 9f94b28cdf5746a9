"""``intake-tvips demo``: a synthetic 4D-STEM scan, end to end, in five steps.

1. Synthesize a recording as a TVIPS camera would stream it (:mod:`.demo_data`): three
   junk frames, then a winding (snake) scan along x with a hysteresis of 2 positions,
   then two more frames; each frame header holds the scan position (``Scan_x/Scan_y``).
2. Write it with :func:`intake_tvips.file_writer`, split into several part files, and a
   catalog with the scan parameters the format does not store.
3. Open it through ``intake.open_catalog``.
4. Compute a virtual bright-field image on a ``distributed.LocalCluster`` (or the
   threaded scheduler) and compare it with the object: the reconstructed scan must match
   it, the raw frames in plain order must not.
5. Save a figure: the mean diffraction pattern and the virtual bright field.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from dask.utils import format_bytes

from intake_tvips import require, scan_frame_numbers
from intake_tvips.cli.common import FAILED, OK, PROG
from intake_tvips.cli.demo_data import (
    DETECTOR,
    FRAME_HEADER_EXTRA_BYTES,
    HYSTERESIS,
    JUNK_AFTER,
    JUNK_BEFORE,
    MIN_CORRELATION,
    N_PARTS,
    SCAN_RANGE,
    WINDING,
    pearson,
    scan_positions,
    signal_dict,
    synthesize,
    vbf_mask,
)

__all__ = ["JUNK_BEFORE", "MIN_CORRELATION", "DemoResult", "run_demo", "synthesize"]

DATA_NAME = "scan_000.tvips"
CATALOG_NAME = "catalog.yaml"
PNG_NAME = "virtual_bright_field.png"

CATALOG_TEMPLATE = """\
# Written by `intake-tvips demo` (intake_tvips/catalogs/demo.yaml documents it): a synthetic 4D-STEM
# recording, data/scan_000.tvips (+ _001, _002, ...: found by probing each next name).
#
#   import intake
#   cat = intake.open_catalog("catalog.yaml")
#   data = cat.scan.to_dask()        # ({scan}, {scan}, dy, dx), lazy; chunks of whole scan rows
#   frames = cat.stack.to_dask()     # (time, dy, dx): every frame, junk frames included
metadata:
  version: 1
  description: Synthetic 4D-STEM scan written by `intake-tvips demo`

sources:
  scan:
    description: >-
      {scan} x {scan} snake (winding) scan; {start} junk frames before the first scan
      position; every second row was scanned right to left and lags by {hysteresis}
      positions (hysteresis).
    driver: tvips
    args:
      urlpath: "{{{{ CATALOG_DIR }}}}/data/{data_name}"
      scan_shape: [{scan}, {scan}]
      scan_start_frame: {start}
      winding_scan_axis: {winding}
      hysteresis: {hysteresis}
    metadata:
      detector: synthetic TVIPS camera
      signal_type: diffraction

  stack:
    description: The same recording as a plain stack of frames (time, dy, dx).
    driver: tvips
    args:
      urlpath: "{{{{ CATALOG_DIR }}}}/data/{data_name}"
      scan_shape: null
"""


@dataclass
class DemoResult:
    """What :func:`run_demo` made and measured."""

    out_dir: Path
    catalog: Path
    parts: list[Path]
    figure: Path
    vbf: np.ndarray  # the virtual bright-field image (scan_y, scan_x)
    truth: np.ndarray  # the object's transmission (scan_y, scan_x)
    mean_pattern: np.ndarray  # the mean diffraction pattern (dy, dx)
    correlation: float  # Pearson r of vbf and truth
    naive_correlation: float  # raw frames in plain C order from the start frame
    no_hysteresis_correlation: float  # unwound, but hysteresis ignored
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.correlation > MIN_CORRELATION


# ---------------------------------------------------------------------- output directory


def is_demo_output(out: Path) -> bool:
    """A previous demo's output: ``catalog.yaml`` and ``data/`` side by side."""
    return (out / CATALOG_NAME).is_file() and (out / "data").is_dir()


def prepare_out_dir(out: Path, force: bool) -> str:
    """Create or check ``out``; remove our own files from a previous run.

    Returns what was found: ``"new"``, ``"empty"``, ``"previous"`` or ``"forced"``.
    Only files the demo writes are ever removed.
    """
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out} exists and is not a directory")
    if not out.exists():
        out.mkdir(parents=True)
        state = "new"
    elif not any(out.iterdir()):
        state = "empty"
    elif is_demo_output(out):
        state = "previous"
    elif force:
        state = "forced"
    else:
        raise FileExistsError(
            f"--out {out} is not empty and does not hold a previous demo output "
            "(catalog.yaml and data/); choose another directory or pass --force"
        )
    data = out / "data"
    if data.exists() and not data.is_dir():
        raise NotADirectoryError(f"{data} exists and is not a directory")
    data.mkdir(exist_ok=True)  # old parts: file_writer replaces the recording, all of it
    for name in (CATALOG_NAME, PNG_NAME):
        if (out / name).is_file():
            (out / name).unlink()
    return state


# ------------------------------------------------------------------------------ helpers


def _check_args(scan, workers) -> None:
    lo, hi = SCAN_RANGE
    if isinstance(scan, bool) or not isinstance(scan, int) or not lo <= scan <= hi:
        raise ValueError(f"--scan must be an integer in {lo}..{hi}, got {scan!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"--workers must be a positive integer, got {workers!r}")


def _figure_class():
    """matplotlib's ``Figure``, drawn with Agg (no pyplot: the caller's backend is untouched)."""
    return require("matplotlib.figure", "demo", "the demo's figure").Figure


def save_figure(path: Path, result_vbf, mean_pattern, mask, naive, r, r_naive) -> None:
    fig = _figure_class()(figsize=(13, 4.6), layout="constrained")
    axes = fig.subplots(1, 3)
    panels = [
        (
            np.log1p(mean_pattern),
            "magma",
            "mean diffraction pattern (log)\ncyan: virtual bright-field detector",
            "dx (px)",
            "dy (px)",
        ),
        (
            result_vbf,
            "gray",
            f"virtual bright field\nwinding x, hysteresis {HYSTERESIS} (r = {r:.3f})",
            "scan x",
            "scan y",
        ),
        (
            naive,
            "gray",
            f"same frames in plain order\nno unwinding (r = {r_naive:.3f})",
            "scan x",
            "scan y",
        ),
    ]
    for ax, (image, cmap, title, xlabel, ylabel) in zip(axes, panels):
        im = ax.imshow(image, cmap=cmap)
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        fig.colorbar(im, ax=ax, shrink=0.8)
    axes[0].contour(mask, levels=[0.5], colors="cyan", linewidths=1)
    fig.suptitle("intake-tvips demo: synthetic 4D-STEM scan")
    fig.savefig(path, dpi=100)


# ---------------------------------------------------------------------------- the steps

_STATE_NOTES = {
    "new": "created",
    "empty": "empty",
    "previous": "previous demo output, replaced",
    "forced": "not empty, writing into it (--force)",
}


@contextmanager
def _timed(timings: dict[str, float], name: str):
    t0 = time.perf_counter()
    yield
    timings[name] = time.perf_counter() - t0


def _step_synthesize(scan: int, echo, timings: dict) -> tuple[np.ndarray, np.ndarray]:
    with _timed(timings, "synthesize"):
        frames, truth = synthesize(scan)
    echo(
        f"[1/5] synthesized {frames.shape[0]} frames of {DETECTOR} x {DETECTOR} uint16 "
        f"({format_bytes(frames.nbytes)}) in {timings['synthesize']:.2f} s:"
    )
    echo(
        f"      {JUNK_BEFORE} junk frames, a {scan} x {scan} scan (snake along {WINDING}, "
        f"hysteresis {HYSTERESIS}), {JUNK_AFTER} trailing frames"
    )
    echo("      sample: a smiley face, a bar and 4 particles; diffraction disc drifting")
    return frames, truth


def _step_write(out: Path, frames: np.ndarray, scan: int, echo, timings: dict):
    """The recording (``data/scan_NNN.tvips``) and ``catalog.yaml``: ``(catalog, parts)``."""
    from intake_tvips import file_writer, open_recording

    with _timed(timings, "write"):
        record_bytes = 60 + FRAME_HEADER_EXTRA_BYTES + DETECTOR * DETECTOR * 2
        data_dir = out / "data"
        file_writer(
            str(data_dir / DATA_NAME),
            signal_dict(frames),
            max_file_size=256 + math.ceil(frames.shape[0] / N_PARTS) * record_bytes,
            frame_header_extra_bytes=FRAME_HEADER_EXTRA_BYTES,
            frame_header_fields=scan_positions(scan),
            show_progressbar=False,  # a fraction of a second: a bar would only flicker
        )
        parts = [Path(p) for p in open_recording(str(data_dir / DATA_NAME)).parts.paths]
        catalog = out / CATALOG_NAME
        catalog.write_text(
            CATALOG_TEMPLATE.format(
                scan=scan,
                start=JUNK_BEFORE,
                winding=WINDING,
                hysteresis=HYSTERESIS,
                data_name=DATA_NAME,
            )
        )
    sizes = ", ".join(format_bytes(p.stat().st_size) for p in parts)
    echo(
        f"[2/5] wrote {len(parts)} parts ({sizes}) with intake_tvips.file_writer "
        f"in {timings['write']:.2f} s:"
    )
    echo(f"      {parts[0]} .. {parts[-1].name} (frame headers with Scan_x/Scan_y)")
    echo(f"      {catalog}: entries 'scan' (4D) and 'stack' (raw frames)")
    return catalog, parts


def _step_open(catalog: Path, scan: int, echo, timings: dict) -> list:
    """The lazy results: virtual bright field, mean pattern, per-frame sums of the stack."""
    import dask
    import intake

    row_bytes = scan * DETECTOR * DETECTOR * 2
    rows_per_chunk = max(1, math.ceil(scan / 8))  # ~8 chunks, to have work to share
    with _timed(timings, "open"), dask.config.set({"array.chunk-size": rows_per_chunk * row_bytes}):
        cat = intake.open_catalog(str(catalog))
        data = cat.scan.to_dask()
        stack = cat.stack.to_dask()
    rows = sorted(set(data.chunks[0]), reverse=True)
    echo(f"[3/5] opened intake.open_catalog(...).scan.to_dask() in {timings['open']:.2f} s:")
    echo(
        f"      {data.dtype} {tuple(data.shape)}, {data.npartitions} chunks of "
        f"{'/'.join(map(str, rows))} scan rows ({format_bytes(rows[0] * row_bytes)} each)"
    )
    mask = vbf_mask()
    lazy = [
        (data * mask).sum(axis=(-2, -1), dtype=np.int64),
        data.mean(axis=(0, 1)),
        (stack * mask).sum(axis=(-2, -1), dtype=np.int64),
    ]
    n_tasks = len({k for a in lazy for k in dict(a.__dask_graph__())})
    echo(
        f"      to compute, {n_tasks} tasks: the virtual bright field (a {int(mask.sum())}-pixel "
        "disc), the mean pattern,"
    )
    echo("      and per-frame sums of the 'stack' entry (raw frames) for comparison")
    return lazy


def _step_compute(lazy: list, workers: int | None, progress: bool, echo, timings: dict):
    """``(vbf, mean_pattern, frame_vbf)`` on a LocalCluster of ``workers`` (or threads)."""
    from intake_tvips.cli.compute import compute, local_cluster

    t0 = time.perf_counter()
    with local_cluster(workers) as client:
        up = time.perf_counter() - t0
        with _timed(timings, "compute"):
            results = compute(lazy, progress, client)
    if workers:
        timings["cluster"] = up
        where = f"a distributed.LocalCluster of {workers} worker processes (up in {up:.2f} s)"
    else:
        where = "the threaded scheduler (--no-cluster)"
    echo(f"[4/5] computed in {timings['compute']:.2f} s on {where}")
    return results


def _compare(vbf, frame_vbf, truth, scan: int, echo) -> dict:
    """Pearson r against the sample: the reconstruction, and two wrong readings of it."""
    naive = frame_vbf[JUNK_BEFORE : JUNK_BEFORE + scan * scan].reshape(scan, scan)
    no_hyst = frame_vbf[scan_frame_numbers((scan, scan), JUNK_BEFORE, WINDING, 0)]
    r = {"vbf": pearson(vbf, truth), "naive": pearson(naive, truth)}
    r["no_hysteresis"] = pearson(no_hyst, truth)
    verdict = "ok" if r["vbf"] > MIN_CORRELATION else f"FAILED, expected > {MIN_CORRELATION}"
    echo(f"      virtual bright field vs. the sample (Pearson r): {r['vbf']:.4f} ({verdict})")
    echo(
        f"      for contrast, frames in plain order from frame {JUNK_BEFORE}: r = {r['naive']:.4f}"
    )
    echo(f"                    unwound but hysteresis ignored: r = {r['no_hysteresis']:.4f}")
    return {"r": r, "naive": naive}


def run_demo(
    out_dir="tvips-demo",
    scan: int = 64,
    workers: int = 2,
    use_cluster: bool = True,
    force: bool = False,
    echo=print,
    progress: bool | None = None,
) -> DemoResult:
    """Run the demo into ``out_dir``; ``echo`` receives each line of the report.

    ``progress``: show tqdm progress bars (on stderr); ``None``: only on a terminal.
    Raises ``ValueError``/``OSError`` for bad arguments or an unusable ``out_dir``
    (a non-empty directory that is not a previous demo output needs ``force``).
    """
    _check_args(scan, workers)
    _figure_class()  # fail before any work when the figure cannot be made
    timings: dict[str, float] = {}
    t_start = time.perf_counter()
    out = Path(out_dir).expanduser().absolute()
    echo(f"intake-tvips demo -> {out} ({_STATE_NOTES[prepare_out_dir(out, force)]})")
    frames, truth = _step_synthesize(scan, echo, timings)
    catalog, parts = _step_write(out, frames, scan, echo, timings)
    del frames
    lazy = _step_open(catalog, scan, echo, timings)
    progress = sys.stderr.isatty() if progress is None else progress
    vbf, mean_pattern, frame_vbf = _step_compute(
        lazy, workers if use_cluster else None, progress, echo, timings
    )
    compared = _compare(vbf, frame_vbf, truth, scan, echo)
    r = compared["r"]
    figure = out / PNG_NAME
    with _timed(timings, "figure"):
        save_figure(figure, vbf, mean_pattern, vbf_mask(), compared["naive"], r["vbf"], r["naive"])
    timings["total"] = time.perf_counter() - t_start
    echo(f"[5/5] saved {figure} in {timings['figure']:.2f} s")
    echo(f"done in {timings['total']:.1f} s. In Python:")
    echo(f'      import intake; data = intake.open_catalog("{catalog}").scan.to_dask()')
    return DemoResult(
        out_dir=out,
        catalog=catalog,
        parts=parts,
        figure=figure,
        vbf=vbf,
        truth=truth,
        mean_pattern=mean_pattern,
        correlation=r["vbf"],
        naive_correlation=r["naive"],
        no_hysteresis_correlation=r["no_hysteresis"],
        timings=timings,
    )


# ---------------------------------------------------------------------------- the command

HELP = (
    "write a synthetic 4D-STEM scan and its catalog, compute a virtual bright field "
    "on a local dask cluster, save a figure"
)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """``intake-tvips demo [--out DIR] [--scan N] [--workers N] [--no-cluster] [--force]``."""
    p = subparsers.add_parser("demo", help=HELP, description=HELP)
    p.add_argument(
        "--out",
        default="tvips-demo",
        metavar="DIR",
        help="output directory (default: ./tvips-demo); a previous demo output there is "
        "replaced, any other non-empty directory needs --force",
    )
    p.add_argument(
        "--scan", type=int, default=64, metavar="N", help="scan size: an N x N scan (default: 64)"
    )
    p.add_argument(
        "--workers",
        type=int,
        default=2,
        metavar="N",
        help="worker processes of the distributed.LocalCluster (default: 2)",
    )
    p.add_argument(
        "--no-cluster",
        action="store_true",
        help="compute with dask's threaded scheduler instead of a LocalCluster",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="write into a non-empty directory that is not a previous demo output",
    )
    p.set_defaults(function=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run the demo; exit code 1 when the virtual bright field does not match the sample."""
    result = run_demo(
        args.out,
        scan=args.scan,
        workers=args.workers,
        use_cluster=not args.no_cluster,
        force=args.force,
    )
    if not result.ok:
        print(
            f"{PROG}: the virtual bright field does not match the sample "
            f"(r = {result.correlation:.3f})",
            file=sys.stderr,
        )
        return FAILED
    return OK
