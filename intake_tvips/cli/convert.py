"""``intake-tvips convert``: the reconstructed array written to Zarr, a blockfile or TIFF.

The format follows OUT's extension. ``.zarr``: :func:`intake_tvips.to_zarr` (one shard
per read task, inner chunks of whole frames, any fsspec URL). ``.blo`` (ASTAR) and
``.tif``/``.tiff``: the processing pipeline of :mod:`intake_tvips.cli.pipeline`, then
:func:`intake_tvips.write_blockfile` / :func:`intake_tvips.write_tiff`. This module adds
what the command line needs around them: the scheduler (dask's threads, ``--scheduler
ADDRESS`` or ``--workers N``) and the summary.
"""

from __future__ import annotations

import argparse
import contextlib

from dask.utils import format_bytes

from intake_tvips.cli.common import (
    OK,
    catalog_source_arguments,
    chunk_arguments,
    open_data,
    progress_arguments,
    scan_arguments,
    scan_summary,
    storage_arguments,
)


@contextlib.contextmanager
def scheduler_client(address: str | None, workers: int | None):
    """A ``distributed.Client`` for ``--scheduler ADDRESS`` or ``--workers N`` (a
    LocalCluster on 127.0.0.1), or ``None``: dask's threads."""
    if address and workers:
        raise ValueError("give --scheduler or --workers, not both")
    if address:
        from intake_tvips import require

        distributed = require("distributed", "cluster", "--scheduler")
        with distributed.Client(address, timeout="10s") as client:
            yield client
        return
    from intake_tvips.cli.compute import local_cluster

    if workers is not None and workers < 1:
        raise ValueError(f"--workers must be a positive number of workers, got {workers}")
    with local_cluster(workers) as client:
        yield client


# ---------------------------------------------------------------------------- the command

HELP = (
    "write the reconstructed array to a Zarr v3 store (OUT.zarr: xarray layout, one shard "
    "per read task), an ASTAR blockfile (OUT.blo: processed, rescaled to 8 bits, virtual "
    "bright field) or a TIFF stack (OUT.tif), on dask's threads or a dask.distributed cluster"
)

#: OUT's extension -> format
FORMATS = {".zarr": "zarr", ".blo": "blo", ".tif": "tiff", ".tiff": "tiff"}


def out_format(out: str) -> str:
    """The format of ``out`` by its extension (a trailing ``/`` ignored)."""
    import posixpath

    ext = posixpath.splitext(out.rstrip("/"))[1].lower()
    if ext not in FORMATS:
        raise ValueError(f"OUT must end in .zarr, .blo, .tif or .tiff, got {out!r}")
    return FORMATS[ext]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """``intake-tvips convert URL out.zarr``."""
    p = subparsers.add_parser("convert", help=HELP, description=HELP)
    p.add_argument(
        "paths",
        nargs="*",
        metavar="URL OUT",
        help="the recording (omitted with --catalog/--entry) and what to write, by its "
        "extension: .zarr, .blo or .tif/.tiff (a path or any fsspec URL)",
    )
    scan_arguments(p)
    catalog_source_arguments(p)
    chunk_arguments(p)
    p.add_argument("--overwrite", action="store_true", help="replace an existing store")
    storage_arguments(p)
    p.add_argument(
        "--out-storage-option",
        action="append",
        default=None,
        metavar="KEY=VALUE",
        help="storage options for OUT (default: --storage-option when OUT has the same "
        "protocol as the recording, else none)",
    )
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="compute on this dask.distributed scheduler (e.g. tcp://10.0.0.5:8786); its "
        "workers read the recording and write the store themselves",
    )
    g.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="compute on a LocalCluster of N worker processes on 127.0.0.1 (default: threads)",
    )
    progress_arguments(p)
    from intake_tvips.cli.pipeline import add_process_arguments

    add_process_arguments(p)
    p.add_argument(
        "--uint8",
        action="store_true",
        help=".tif: rescale to 8 bits as for .blo (implied by --vmin/--vmax)",
    )
    p.set_defaults(function=run)
    return p


def _report(opened: dict, out: str, done: dict, seconds: float) -> None:
    print(f"{opened['url']}: {scan_summary(opened)}")
    print(
        f"wrote {out}: data {' x '.join(map(str, done['shape']))} {done['dtype']}, "
        f"{done['n_shards']} shards of {' x '.join(map(str, done['shards']))} "
        f"(chunks of {' x '.join(map(str, done['chunks']))})"
        f"{' (rechunked to regular chunks)' if done['rechunked'] else ''}, "
        f"{format_bytes(done['bytes'])} in {seconds:.2f} s "
        f"({format_bytes(done['bytes'] / max(seconds, 1e-9))}/s)"
    )
    print(f'read it with xarray.open_zarr("{out}")["data"]')


def run(args: argparse.Namespace) -> int:
    """Read the recording and write the store, blockfile or TIFF."""
    import time

    from fsspec.utils import get_protocol

    from intake_tvips import require, store_exists
    from intake_tvips.cli.options import parse_storage_options, show_progress

    if len(args.paths) == 2:
        args.url, args.out = args.paths
    elif len(args.paths) == 1 and args.catalog:
        args.url, args.out = None, args.paths[0]
    else:
        raise ValueError("convert takes URL OUT, or OUT with --catalog/--entry")
    fmt = out_format(args.out)
    if fmt == "zarr":
        require("zarr", "convert", "writing Zarr", min_version=3)  # before any header is read
        require("xarray", "convert", "convert")
        _refuse_processing(args)
    progress = show_progress(args)
    t0 = time.perf_counter()
    if args.out_storage_option is not None:
        out_options = parse_storage_options(args.out_storage_option)
    else:
        out_options = None
    # refuse before reading any header when the store exists
    if out_options is not None and not args.overwrite and store_exists(args.out, out_options):
        raise FileExistsError(f"{args.out} exists; pass --overwrite to replace it")
    opened = open_data(args, progress)
    if out_options is None:
        same = get_protocol(args.out) == get_protocol(opened["url"])
        out_options = opened["storage_options"] if same else {}
    with scheduler_client(args.scheduler, args.workers) as client:
        if fmt != "zarr":
            from intake_tvips.cli.export import export

            return export(args, fmt, opened, out_options, progress, t0, client)
        done = to_zarr_(opened, args, out_options, client, progress)
    _report(opened, args.out, done, time.perf_counter() - t0)
    return OK


def _refuse_processing(args: argparse.Namespace) -> None:
    from intake_tvips.cli.pipeline import uses_processing

    given = uses_processing(args) + (["--uint8"] if args.uint8 else [])
    if given:
        raise ValueError(f"{', '.join(given)}: for .blo and .tif outputs only (OUT is .zarr)")


def to_zarr_(opened: dict, args, out_options: dict, client, progress: bool) -> dict:
    """``to_zarr`` of the opened recording (the Zarr output, unchanged)."""
    from intake_tvips import to_zarr

    return to_zarr(
        opened["xarray"],
        args.out,
        storage_options=out_options,
        overwrite=args.overwrite,
        client=client,
        progress=progress,
    )
