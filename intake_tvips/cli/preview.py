"""``intake-tvips preview``: a quick look at a recording, saved as a PNG.

A scan: a virtual bright-field image (the intensity inside a disc around the bright
central disc of the mean diffraction pattern) next to the mean pattern. A stack: the mean
frame next to the total intensity of each frame over time. Everything is computed lazily
and in parallel in one pass over the data (plus, for a scan, a pass over a few chunks to
find the disc first).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

import numpy as np

from intake_tvips import require
from intake_tvips.cli.common import (
    OK,
    catalog_source_arguments,
    chunk_arguments,
    open_data,
    progress_arguments,
    scan_arguments,
    scan_summary,
    storage_arguments,
    url_arguments,
)

#: figure size in inches at DPI: the PNG is FIGSIZE * DPI pixels
FIGSIZE = (10.0, 4.5)
DPI = 100
#: chunks (along the first axis) averaged to find the bright-field disc
SAMPLE_BLOCKS = 4


@dataclass
class Preview:
    kind: str  # "scan" or "stack"
    centre: tuple[float, float] | None
    radius: float | None
    image: np.ndarray  # the virtual bright field (scan) or frame intensities (stack)
    mean_frame: np.ndarray
    size_px: tuple[int, int]  # (width, height) of the PNG


def find_disc(mean: np.ndarray) -> tuple[tuple[float, float], float]:
    """Centre (row, column) and radius (pixels) of the brightest disc of ``mean``.

    Pixels above halfway between the median and the maximum are the disc: the centre is
    their intensity-weighted centre of mass, the radius that of a disc of their area.
    """
    m = np.asarray(mean, dtype=np.float64)
    lo, hi = float(np.median(m)), float(m.max())
    if not hi > lo:  # a flat pattern: the whole detector
        cy, cx = (m.shape[0] - 1) / 2, (m.shape[1] - 1) / 2
        return (cy, cx), float(min(m.shape)) / 2
    w = np.clip(m - (lo + hi) / 2, 0, None)
    ky, kx = np.indices(m.shape)
    total = w.sum()
    centre = (float((ky * w).sum() / total), float((kx * w).sum() / total))
    radius = math.sqrt(float((w > 0).sum()) / math.pi)
    return centre, radius


def disc_mask(shape, centre, radius) -> np.ndarray:
    ky, kx = np.indices(shape)
    return np.hypot(ky - centre[0], kx - centre[1]) <= radius


def _sample_mean(data):
    """Mean frame of a few chunks spread along the first axis (cheap: no full pass)."""
    n = data.numblocks[0]
    picks = sorted({round(i) for i in np.linspace(0, n - 1, min(n, SAMPLE_BLOCKS))})
    nav = data.ndim - 2
    parts = [data.blocks[i].mean(axis=tuple(range(nav))) for i in picks]
    return sum(parts) / len(parts)


def _compute_scan(data, radius, client, progress):
    """``(vbf, mean pattern, centre, r, mask)``: find the disc on a sample, then one pass."""
    from intake_tvips.cli.compute import compute

    nav = data.ndim - 2
    (sample,) = compute([_sample_mean(data)], progress, client, desc="finding the disc")
    centre, auto_radius = find_disc(sample)
    r = auto_radius * 1.1 + 1.0 if radius is None else float(radius)
    if r <= 0:
        raise ValueError(f"--radius must be positive, got {radius}")
    mask = disc_mask(data.shape[-2:], centre, r)
    vbf = (data * mask).sum(axis=(-2, -1), dtype=np.float64)
    if nav > 2:  # several scans: show the average over the leading axes
        vbf = vbf.mean(axis=tuple(range(nav - 2)))
    mean = data.mean(axis=tuple(range(nav)), dtype=np.float64)
    image, mean_frame = compute([vbf, mean], progress, client)
    return image, mean_frame, centre, r, mask


def _draw_scan(ax_left, ax_right, fig, image, mean_frame, r, mask):
    im = ax_left.imshow(image, cmap="gray")
    ax_left.set_title(f"virtual bright field (disc r = {r:.1f} px)")
    ax_left.set_xlabel("scan x")
    ax_left.set_ylabel("scan y")
    fig.colorbar(im, ax=ax_left, shrink=0.8)
    im = ax_right.imshow(np.log1p(np.clip(mean_frame, 0, None)), cmap="magma")
    ax_right.contour(mask, levels=[0.5], colors="cyan", linewidths=1)
    ax_right.set_title("mean diffraction pattern (log); cyan: detector")
    return im


def _draw_stack(ax_left, ax_right, axes, image, mean_frame):
    t = axes[0]["scale"] * np.arange(image.size)
    ax_left.plot(t, image, lw=1)
    ax_left.set_title("total intensity per frame")
    ax_left.set_xlabel(f"time ({axes[0].get('units') or 's'}) from the first frame")
    ax_left.set_ylabel("counts")
    im = ax_right.imshow(mean_frame, cmap="magma")
    ax_right.set_title("mean frame")
    return im


def make_preview(
    data,
    axes: list[dict] | str,
    out,
    *,
    scan: bool,
    title: str,
    radius: float | None = None,
    client=None,
    progress: bool = False,
) -> Preview:
    """Compute the preview of the dask array ``data`` and save it as a PNG at ``out``.

    ``axes``: the signal's axes, or the JSON text of an array's ``axes`` attribute."""
    import json

    from intake_tvips.cli.compute import compute

    if isinstance(axes, str):
        axes = json.loads(axes)
    Figure = _figure_class()
    if data.size == 0:
        raise ValueError("the recording holds no frames: nothing to preview")
    centre, r, mask = None, None, None
    if scan:
        image, mean_frame, centre, r, mask = _compute_scan(data, radius, client, progress)
    else:
        sums = data.sum(axis=(-2, -1), dtype=np.float64)
        mean = data.mean(axis=0, dtype=np.float64)
        image, mean_frame = compute([sums, mean], progress, client)
    fig = Figure(figsize=FIGSIZE, dpi=DPI)
    ax_left, ax_right = fig.subplots(1, 2)
    if scan:
        im = _draw_scan(ax_left, ax_right, fig, image, mean_frame, r, mask)
    else:
        im = _draw_stack(ax_left, ax_right, axes, image, mean_frame)
    ax_right.set_xlabel(f"dx (px; {axes[-1].get('units') or 'px'})")
    ax_right.set_ylabel("dy (px)")
    fig.colorbar(im, ax=ax_right, shrink=0.8)
    fig.suptitle(title, fontsize=10)
    fig.subplots_adjust(left=0.09, right=0.95, bottom=0.12, top=0.85, wspace=0.3)
    _save(fig, out)
    size = (round(FIGSIZE[0] * DPI), round(FIGSIZE[1] * DPI))
    return Preview("scan" if scan else "stack", centre, r, image, mean_frame, size)


def _save(fig, out) -> None:
    """Save as PNG to a local path or any fsspec URL."""
    import io

    import fsspec

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    with fsspec.open(str(out), "wb") as f:
        f.write(buf.getvalue())


def _figure_class():
    """matplotlib's ``Figure``, drawn with Agg (no pyplot: the caller's backend is untouched)."""
    return require("matplotlib.figure", "preview", "preview").Figure


# ---------------------------------------------------------------------------- the command

HELP = (
    "save a PNG: virtual bright field and mean pattern of a scan, or mean frame and "
    "intensity over time of a stack"
)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """``intake-tvips preview URL -o out.png``."""
    p = subparsers.add_parser("preview", help=HELP, description=HELP)
    url_arguments(p, optional=True)
    p.add_argument("-o", "--output", required=True, metavar="PNG", help="the PNG to write")
    scan_arguments(p)
    catalog_source_arguments(p)
    chunk_arguments(p)
    p.add_argument(
        "--radius",
        type=float,
        metavar="PX",
        help="virtual bright-field disc radius in pixels (default: 1.1 x the bright disc "
        "of the mean pattern + 1)",
    )
    p.add_argument(
        "--cluster",
        type=int,
        metavar="N",
        help="compute on a distributed.LocalCluster of N worker processes (default: threads)",
    )
    storage_arguments(p)
    progress_arguments(p)
    p.set_defaults(function=run)
    return p


def _what(result: Preview) -> str:
    if result.kind != "scan":
        return "mean frame and intensity per frame"
    cy, cx = result.centre
    return (
        f"virtual bright field (disc at dy={cy:.1f}, dx={cx:.1f}, r={result.radius:.1f} px) "
        "and mean pattern"
    )


def run(args: argparse.Namespace) -> int:
    """Compute the preview and write the PNG."""
    import time

    from intake_tvips.cli.compute import local_cluster
    from intake_tvips.cli.options import show_progress

    _figure_class()  # before any work
    require("xarray", "preview", "preview")
    progress = show_progress(args)
    t0 = time.perf_counter()
    opened = open_data(args, progress)
    xarr = opened["xarray"]
    title = f"{opened['url']}\n{scan_summary(opened)}"
    with local_cluster(args.cluster) as client:
        result = make_preview(
            xarr.data,
            xarr.attrs["axes"],
            args.output,
            scan=opened["scan"],
            title=title,
            radius=args.radius,
            client=client,
            progress=progress,
        )
    shape = " x ".join(map(str, xarr.shape))
    print(f"{opened['url']}: {shape} {xarr.dtype}; {scan_summary(opened)}")
    print(
        f"wrote {args.output} ({result.size_px[0]} x {result.size_px[1]} px): {_what(result)}, "
        f"in {time.perf_counter() - t0:.2f} s"
    )
    return OK
