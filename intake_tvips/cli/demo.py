"""``intake-tvips demo``: a synthetic 4D-STEM scan, end to end.

1. Synthesize a recording as a TVIPS camera would stream it: three junk frames, then a
   winding (snake) scan along x with a hysteresis of 2 positions, then two more frames.
   Each scan position shows a bright central disc (moving slightly across the scan)
   dimmed by a sample object, a smiley face plus a few particles, and Poisson noise.
2. Write it with :func:`intake_tvips.file_writer`, split into several part files, and a
   catalog with the scan parameters the format does not store.
3. Open it through ``intake.open_catalog``, compute a virtual bright-field image on a
   ``distributed.LocalCluster`` (or the threaded scheduler) and compare it with the
   object: the reconstructed scan must match it, the raw frames in plain order must not.
4. Save a figure: the mean diffraction pattern and the virtual bright field.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from intake_tvips import scan_frame_numbers
from intake_tvips.cli.common import FAILED, OK, PROG

#: detector frame size (pixels) of the synthetic recording
DETECTOR = 64
#: frames recorded before the scan starts (junk: beam blanked) and after it ends
JUNK_BEFORE = 3
JUNK_AFTER = 2
#: the scan: snake along x, reversed rows rolled by this many positions
WINDING = "x"
HYSTERESIS = 2
#: the recording is split into about this many part files
N_PARTS = 4
#: the bright-field disc: radius (pixels) and counts per pixel without a sample
DISC_RADIUS = 0.15 * DETECTOR
DISC_COUNTS = 120.0
#: the disc centre moves by up to this many pixels across the scan (descan error)
DISC_SHIFT = 1.5
#: virtual bright-field detector: a disc this much wider than the bright-field disc
MASK_MARGIN = DISC_SHIFT + 1.0
#: the demo succeeds when the virtual bright field correlates with the object above this
MIN_CORRELATION = 0.9
#: scan sizes the demo accepts (the upper bound keeps the data under 512 MiB)
SCAN_RANGE = (8, 256)
SEED = 20240517

DATA_NAME = "scan_000.tvips"
CATALOG_NAME = "catalog.yaml"
PNG_NAME = "virtual_bright_field.png"
_PART_RE = re.compile(r"scan_\d{3}\.tvips")

CATALOG_TEMPLATE = """\
# Written by `intake-tvips demo` (catalogs/demo.yaml documents it): a synthetic 4D-STEM
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


class DemoError(Exception):
    """The demo cannot run as asked (a missing optional dependency, ...)."""


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


# ---------------------------------------------------------------------------- synthesis


def _soft_disc(dist, radius, edge: float = 1.0):
    """1 inside ``radius``, 0 outside, a linear ramp ``edge`` wide (anti-aliased)."""
    return np.clip((radius - dist) / edge + 0.5, 0.0, 1.0)


def sample_object(scan: int) -> np.ndarray:
    """The sample's transmission over the scan, in ``(0, 1]``: a smiley and particles."""
    y, x = (np.mgrid[0:scan, 0:scan] + 0.5) / scan  # scan plane in 0..1
    edge = 1.0 / scan  # one scan step

    def disc(cy, cx, r):
        return _soft_disc(np.hypot(y - cy, x - cx), r, edge)

    def ring(cy, cx, r, width):
        return np.clip(
            _soft_disc(np.hypot(y - cy, x - cx), r + width / 2, edge)
            - _soft_disc(np.hypot(y - cy, x - cx), r - width / 2, edge),
            0,
            1,
        )

    # a smiley left of centre and a bar on the right: not mirror symmetric, so rows read
    # backwards (a scan not unwound) visibly break it up
    absorb = 0.55 * ring(0.5, 0.4, 0.3, 0.07)  # face
    absorb += 0.7 * disc(0.41, 0.29, 0.06) + 0.7 * disc(0.41, 0.51, 0.06)  # eyes
    absorb += 0.6 * ring(0.48, 0.4, 0.17, 0.06) * (y > 0.57)  # mouth: lower half ring
    absorb += 0.5 * _soft_disc(np.maximum(np.abs(x - 0.85) - 0.04, np.abs(y - 0.5) - 0.3), 0, edge)
    for cy, cx, r, a in [  # particles
        (0.08, 0.10, 0.05, 0.5),
        (0.10, 0.85, 0.06, 0.35),
        (0.91, 0.12, 0.055, 0.45),
        (0.91, 0.62, 0.04, 0.6),
    ]:
        absorb += a * disc(cy, cx, r)
    return 1.0 - np.clip(absorb, 0.0, 0.85)


def _patterns_for_row(row: int, truth: np.ndarray, rng, detector: int) -> np.ndarray:
    """The noisy diffraction patterns of scan row ``row``: ``(scan_x, dy, dx)`` uint16."""
    scan = truth.shape[1]
    t = truth[row][:, None, None]  # (x, 1, 1)
    sx = np.arange(scan)
    c = detector / 2 - 0.5
    # descan: the disc drifts across the scan (y) and wobbles along a row (x)
    cy = c + DISC_SHIFT * (2 * row / max(scan - 1, 1) - 1)
    cx = c + DISC_SHIFT * np.sin(2 * np.pi * sx / scan)
    ky, kx = np.mgrid[0:detector, 0:detector]
    dist = np.hypot(ky[None] - cy, kx[None] - cx[:, None, None])
    bright = _soft_disc(dist, DISC_RADIUS)
    # what the object absorbs from the disc partly reappears as diffuse scattering
    diffuse = 1.0 + 30.0 * (1.0 - t) * np.exp(-(((dist - DISC_RADIUS) / 8.0) ** 2))
    lam = DISC_COUNTS * t * bright + (1.0 - bright) * diffuse
    return rng.poisson(lam).astype(np.uint16)


def synthesize(scan: int, detector: int = DETECTOR, seed: int = SEED):
    """``(frames, truth)``: the recorded frames ``(n, dy, dx)`` and the object ``(scan, scan)``.

    Frame ``f`` of the recording holds the pattern of the scan position ``p`` with
    ``scan_frame_numbers(...)[p] == f``: the acquisition order of a winding scan.
    """
    rng = np.random.default_rng(seed)
    truth = sample_object(scan)
    n_frames = JUNK_BEFORE + scan * scan + JUNK_AFTER
    frames = np.empty((n_frames, detector, detector), dtype=np.uint16)
    # junk: blanked beam, dark counts only
    junk = [*range(JUNK_BEFORE), *range(n_frames - JUNK_AFTER, n_frames)]
    frames[junk] = rng.poisson(1.0, size=(len(junk), detector, detector))
    where = scan_frame_numbers((scan, scan), JUNK_BEFORE, WINDING, HYSTERESIS)
    for row in range(scan):
        frames[where[row]] = _patterns_for_row(row, truth, rng, detector)
    return frames, truth


def signal_dict(frames: np.ndarray) -> dict:
    """``frames`` as the signal dictionary ``file_writer`` takes: a stack of patterns."""
    n, dy, dx = frames.shape

    def axis(i, name, size, scale, units, navigate):
        return dict(
            size=size,
            index_in_array=i,
            name=name,
            scale=scale,
            offset=0,
            units=units,
            navigate=navigate,
        )

    return {
        "data": frames,
        "axes": [
            axis(0, "time", n, 0.001, "s", True),  # a 1 kHz camera
            axis(1, "dy", dy, 1, "1/nm", False),
            axis(2, "dx", dx, 1, "1/nm", False),
        ],
        "metadata": {
            "General": {
                "title": "intake-tvips demo",
                "date": "2024-05-17",
                "time": "12:00:00",
                "time_zone": "UTC",
            },
            "Acquisition_instrument": {"TEM": {"beam_energy": 200, "magnification": 8000}},
            "Signal": {"signal_type": "diffraction"},
        },
    }


def vbf_mask(detector: int = DETECTOR) -> np.ndarray:
    """The virtual bright-field detector: a disc around the detector centre."""
    ky, kx = np.mgrid[0:detector, 0:detector]
    c = detector / 2 - 0.5
    return np.hypot(ky - c, kx - c) <= DISC_RADIUS + MASK_MARGIN


def pearson(a, b) -> float:
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


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
    data.mkdir(exist_ok=True)
    for old in data.iterdir():
        if _PART_RE.fullmatch(old.name) and old.is_file():
            old.unlink()
    for name in (CATALOG_NAME, PNG_NAME):
        if (out / name).is_file():
            (out / name).unlink()
    return state


# ------------------------------------------------------------------------------ helpers


def _mib(n: float) -> str:
    return f"{n / 2**20:.1f} MiB"


def _check_args(scan, workers) -> None:
    lo, hi = SCAN_RANGE
    if isinstance(scan, bool) or not isinstance(scan, int) or not lo <= scan <= hi:
        raise ValueError(f"--scan must be an integer in {lo}..{hi}, got {scan!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"--workers must be a positive integer, got {workers!r}")


def _figure_class():
    """matplotlib's ``Figure``, drawn with Agg (no pyplot: the caller's backend is untouched)."""
    try:
        from matplotlib.figure import Figure
    except ImportError as e:
        raise DemoError(
            "the demo needs matplotlib for its figure: pip install 'intake-tvips[demo]'"
        ) from e
    return Figure


def _compute(arrays, client, progress):
    """Compute dask ``arrays`` on ``client`` (or threads) behind a tqdm progress bar."""
    import dask
    from tqdm.auto import tqdm

    disable = None if progress is None else not progress  # None: only on a terminal
    if client is None:
        from tqdm.dask import TqdmCallback

        with TqdmCallback(desc="computing", unit="task", leave=False, disable=disable):
            return dask.compute(*arrays, scheduler="threads")
    from distributed import as_completed, futures_of

    persisted = client.persist(list(arrays))
    futures = futures_of(persisted)
    with tqdm(
        total=len(futures), desc="computing", unit="chunk", leave=False, disable=disable
    ) as bar:
        for _ in as_completed(futures):
            bar.update()
    return tuple(client.compute(persisted, sync=True))


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


# ---------------------------------------------------------------------------- the demo


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
    import dask
    import intake

    from intake_tvips import file_writer

    timings: dict[str, float] = {}
    t_start = time.perf_counter()
    out = Path(out_dir).expanduser().absolute()
    state = prepare_out_dir(out, force)
    note = {
        "new": "created",
        "empty": "empty",
        "previous": "previous demo output, replaced",
        "forced": "not empty, writing into it (--force)",
    }[state]
    echo(f"intake-tvips demo -> {out} ({note})")

    # 1. synthesize
    t0 = time.perf_counter()
    frames, truth = synthesize(scan)
    timings["synthesize"] = time.perf_counter() - t0
    n_frames = frames.shape[0]
    echo(
        f"[1/5] synthesized {n_frames} frames of {DETECTOR} x {DETECTOR} uint16 "
        f"({_mib(frames.nbytes)}) in {timings['synthesize']:.2f} s:"
    )
    echo(
        f"      {JUNK_BEFORE} junk frames, a {scan} x {scan} scan (snake along {WINDING}, "
        f"hysteresis {HYSTERESIS}), {JUNK_AFTER} trailing frames"
    )
    echo("      sample: a smiley face, a bar and 4 particles; diffraction disc drifting")

    # 2. write the recording and the catalog
    t0 = time.perf_counter()
    record_bytes = 60 + DETECTOR * DETECTOR * 2
    max_file_size = 256 + math.ceil(n_frames / N_PARTS) * record_bytes
    data_dir = out / "data"
    file_writer(
        str(data_dir / DATA_NAME),
        signal_dict(frames),
        max_file_size=max_file_size,
        show_progressbar=False,  # a fraction of a second: a bar would only flicker
    )
    parts = sorted(p for p in data_dir.iterdir() if _PART_RE.fullmatch(p.name))
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
    timings["write"] = time.perf_counter() - t0
    sizes = ", ".join(_mib(p.stat().st_size) for p in parts)
    echo(
        f"[2/5] wrote {len(parts)} parts ({sizes}) with intake_tvips.file_writer "
        f"in {timings['write']:.2f} s:"
    )
    echo(f"      {parts[0]} .. {parts[-1].name}")
    echo(f"      {catalog}: entries 'scan' (4D) and 'stack' (raw frames)")
    del frames

    # 3. open through the catalog
    t0 = time.perf_counter()
    cat = intake.open_catalog(str(catalog))
    row_bytes = scan * DETECTOR * DETECTOR * 2
    rows_per_chunk = max(1, math.ceil(scan / 8))  # ~8 chunks, to have work to share
    with dask.config.set({"array.chunk-size": rows_per_chunk * row_bytes}):
        data = cat.scan.to_dask()
        stack = cat.stack.to_dask()
    timings["open"] = time.perf_counter() - t0
    rows = sorted(set(data.chunks[0]), reverse=True)
    echo(f"[3/5] opened intake.open_catalog(...).scan.to_dask() in {timings['open']:.2f} s:")
    echo(
        f"      {data.dtype} {tuple(data.shape)}, {data.npartitions} chunks of "
        f"{'/'.join(map(str, rows))} scan rows ({_mib(rows[0] * row_bytes)} each)"
    )

    mask = vbf_mask()
    vbf_lazy = (data * mask).sum(axis=(-2, -1), dtype=np.int64)
    mean_lazy = data.mean(axis=(0, 1))
    frame_vbf_lazy = (stack * mask).sum(axis=(-2, -1), dtype=np.int64)
    lazy = [vbf_lazy, mean_lazy, frame_vbf_lazy]
    n_tasks = len({k for a in lazy for k in dict(a.__dask_graph__())})
    echo(
        f"      to compute, {n_tasks} tasks: the virtual bright field (a {int(mask.sum())}-pixel "
        "disc), the mean pattern,"
    )
    echo("      and per-frame sums of the 'stack' entry (raw frames) for comparison")

    # 4. compute
    with ExitStack() as stack_ctx:
        client = None
        if use_cluster:
            from intake_tvips.cli.compute import local_cluster

            t0 = time.perf_counter()
            client = stack_ctx.enter_context(local_cluster(workers))
            timings["cluster"] = time.perf_counter() - t0
            where = (
                f"a distributed.LocalCluster of {workers} worker processes "
                f"(up in {timings['cluster']:.2f} s)"
            )
        else:
            where = "the threaded scheduler (--no-cluster)"
        t0 = time.perf_counter()
        vbf, mean_pattern, frame_vbf = _compute(lazy, client, progress)
        timings["compute"] = time.perf_counter() - t0
    echo(f"[4/5] computed in {timings['compute']:.2f} s on {where}")

    naive = frame_vbf[JUNK_BEFORE : JUNK_BEFORE + scan * scan].reshape(scan, scan)
    no_hyst = frame_vbf[scan_frame_numbers((scan, scan), JUNK_BEFORE, WINDING, 0)]
    r = pearson(vbf, truth)
    r_naive = pearson(naive, truth)
    r_no_hyst = pearson(no_hyst, truth)
    verdict = "ok" if r > MIN_CORRELATION else f"FAILED, expected > {MIN_CORRELATION}"
    echo(f"      virtual bright field vs. the sample (Pearson r): {r:.4f} ({verdict})")
    echo(f"      for contrast, frames in plain order from frame {JUNK_BEFORE}: r = {r_naive:.4f}")
    echo(f"                    unwound but hysteresis ignored: r = {r_no_hyst:.4f}")

    # 5. figure
    t0 = time.perf_counter()
    figure = out / PNG_NAME
    save_figure(figure, vbf, mean_pattern, mask, naive, r, r_naive)
    timings["figure"] = time.perf_counter() - t0
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
        correlation=r,
        naive_correlation=r_naive,
        no_hysteresis_correlation=r_no_hyst,
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
