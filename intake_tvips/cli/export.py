"""``convert`` to ``.blo`` or ``.tif``: the pipeline over the lazy array, then the writer,
on threads or a cluster, and the report (what was done, with the values estimated)."""

from __future__ import annotations

import argparse
import time

from dask.utils import format_bytes

from intake_tvips.cli.common import OK, scan_summary
from intake_tvips.cli.pipeline import processed


def source_calibrations(args: argparse.Namespace, opened: dict) -> None:
    """Where ``--scan-step`` / ``--pattern-scale`` are not given, the recording's own
    calibrations (a catalog entry's ``scan_step`` in nm, ``pattern_scale`` in cm: the
    units a blockfile and a TIFF store)."""
    import json

    scan = opened["xarray"].attrs.get("scan_parameters", "{}")
    scan = json.loads(scan) if isinstance(scan, str) else dict(scan)
    if args.scan_step is None and scan.get("scan_step_units") == "nm":
        args.scan_step = scan.get("scan_step")
    if args.pattern_scale is None and scan.get("pattern_units") == "cm":
        args.pattern_scale = scan.get("pattern_scale")


def export(
    args: argparse.Namespace, fmt: str, opened: dict, out_options: dict, progress, t0, client
):
    """Process and write ``opened`` to ``args.out`` as ``fmt`` (``"blo"`` or ``"tiff"``) on
    ``client`` (a ``distributed.Client``, or ``None``: threads)."""
    from intake_tvips import write_blockfile, write_tiff

    data = opened["xarray"].data
    if fmt == "blo" and data.ndim != 4:
        raise ValueError(
            f"a blockfile needs a 4-D scan, but {opened['url']} reads as shape {data.shape} "
            "(give --scan-shape NYxNX)"
        )
    rescale = fmt == "blo" or args.uint8 or args.vmin is not None or args.vmax is not None
    out, notes = processed(args, data, rescale, client)
    source_calibrations(args, opened)
    common = dict(
        scan_step=args.scan_step,
        pattern_scale=args.pattern_scale,
        storage_options=out_options,
        scheduler=client or "threads",
        progress=progress,
        overwrite=args.overwrite,
    )
    if fmt == "blo":
        if out.shape[-1] != out.shape[-2]:
            raise ValueError(
                f"a blockfile's patterns are square; these are {out.shape[-2]} x "
                f"{out.shape[-1]} (use --crop)"
            )
        done = write_blockfile(args.out, out, **common)
    else:
        done = write_tiff(args.out, out, **common)
    seconds = time.perf_counter() - t0
    print(f"{opened['url']}: {scan_summary(opened)}")
    for note in notes:
        print(note)
    calib = f"scan step {args.scan_step or 1:g} nm" + (
        f", pattern scale {args.pattern_scale:g} cm" if args.pattern_scale else ""
    )
    print(
        f"wrote {args.out}: {' x '.join(map(str, done['shape']))} {out.dtype}, {calib}, "
        f"{done['tasks']} tasks, {format_bytes(done['bytes'])} in {seconds:.2f} s"
    )
    return OK
