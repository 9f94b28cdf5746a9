"""``intake-tvips convert``: the reconstructed array written to a Zarr store.

The store is what ``xarray.DataArray.to_dataset(name="data").to_zarr`` writes: a group
holding the array ``data`` (chunked as the reader chunks it, made regular where Zarr needs
it) with its coordinates (``y, x, dy, dx`` or ``time, dy, dx``) and attributes (axes, the
TVIPS header, metadata, scan parameters, source URL). Read it back with
``xarray.open_zarr(url)["data"]`` or ``zarr.open_group(url)["data"]``.
"""

from __future__ import annotations

import argparse
import warnings

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


def regular_chunks(chunks: tuple[tuple[int, ...], ...]) -> dict[int, int] | None:
    """``{axis: chunk size}`` for the axes whose chunks Zarr cannot store (all equal but a
    smaller last one), or ``None`` when every axis is fine."""
    fix = {}
    for axis, c in enumerate(chunks):
        if len(c) > 1 and (len(set(c[:-1])) > 1 or c[-1] > c[0]):
            fix[axis] = max(c)
    return fix or None


def store_exists(url: str, storage_options: dict | None) -> bool:
    from fsspec.core import url_to_fs

    fs, path = url_to_fs(url, **(storage_options or {}))
    return bool(fs.exists(path))


def write_zarr(
    array,
    url: str,
    storage_options: dict | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> dict:
    """Write the ``xarray.DataArray`` ``array`` (dask-backed) to the Zarr store ``url``.

    Refuses an existing store unless ``overwrite`` (which replaces it). Returns what was
    written: ``shape``, ``chunks``, ``dtype``, ``bytes``, ``rechunked``.
    """
    from intake_tvips.cli.compute import compute

    if store_exists(url, storage_options) and not overwrite:
        raise FileExistsError(f"{url} exists; pass --overwrite to replace it")
    data = array.data
    fix = regular_chunks(data.chunks)
    if fix:
        array = array.chunk({array.dims[a]: n for a, n in fix.items()})
    ds = array.to_dataset(name="data")
    with warnings.catch_warnings():
        # zarr 3: "Consolidated metadata is currently not part in the Zarr format 3
        # specification": consolidated metadata only speeds up opening; the store is
        # complete without it
        warnings.filterwarnings("ignore", message=".*[Cc]onsolidated metadata.*")
        delayed = ds.to_zarr(
            url,
            mode="w" if overwrite else "w-",
            compute=False,
            storage_options=storage_options or None,
        )
        compute([delayed], progress, desc="writing zarr")
    chunks = array.data.chunks
    return {
        "shape": tuple(array.shape),
        "chunks": tuple(c[0] for c in chunks),
        "n_chunks": int(array.data.npartitions),
        "dtype": str(array.dtype),
        "bytes": int(array.nbytes),
        "rechunked": bool(fix),
    }


# ---------------------------------------------------------------------------- the command

HELP = (
    "write the reconstructed array to a Zarr store (xarray layout, with coordinates and attributes)"
)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """``intake-tvips convert URL out.zarr``."""
    p = subparsers.add_parser("convert", help=HELP, description=HELP)
    p.add_argument(
        "paths",
        nargs="*",
        metavar="URL OUT",
        help="the recording (omitted with --catalog/--entry) and the Zarr store to write "
        "(a path or any fsspec URL)",
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
    progress_arguments(p)
    p.set_defaults(function=run)
    return p


def _report(opened: dict, out: str, done: dict, seconds: float) -> None:
    print(f"{opened['url']}: {scan_summary(opened)}")
    print(
        f"wrote {out}: data {' x '.join(map(str, done['shape']))} {done['dtype']}, "
        f"{done['n_chunks']} chunks of {' x '.join(map(str, done['chunks']))}"
        f"{' (rechunked to regular chunks)' if done['rechunked'] else ''}, "
        f"{format_bytes(done['bytes'])} in {seconds:.2f} s "
        f"({format_bytes(done['bytes'] / max(seconds, 1e-9))}/s)"
    )
    print(f'read it with xarray.open_zarr("{out}")["data"]')


def run(args: argparse.Namespace) -> int:
    """Read the recording and write the store."""
    import time

    from fsspec.utils import get_protocol

    from intake_tvips import require
    from intake_tvips.cli.options import parse_storage_options, show_progress

    require("zarr", "convert", "convert")
    require("xarray", "convert", "convert")
    if len(args.paths) == 2:
        args.url, args.out = args.paths
    elif len(args.paths) == 1 and args.catalog:
        args.url, args.out = None, args.paths[0]
    else:
        raise ValueError("convert takes URL OUT, or OUT with --catalog/--entry")
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
    done = write_zarr(
        opened["xarray"], args.out, out_options, overwrite=args.overwrite, progress=progress
    )
    _report(opened, args.out, done, time.perf_counter() - t0)
    return OK
