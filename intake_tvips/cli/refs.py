"""``intake-tvips refs``: kerchunk references (a virtual Zarr store) to a recording.

``intake-tvips refs URL -o refs.json`` (or ``-o refs.parquet``, fsspec's reference Parquet,
for large scans) writes what :func:`intake_tvips.references` returns; xarray reads it
through fsspec's ``reference://`` filesystem without this package. The scan parameters
are detected from the frame headers unless given, as for ``convert``.

Self-contained (``add_parser(subparsers)`` declares the subcommand and its options,
``run(args)`` runs it), so the dispatcher only has to list it.
"""

from __future__ import annotations

import argparse
import time

from intake_tvips.cli.common import (
    OK,
    echo_notes,
    scan_arguments,
    storage_arguments,
    url_arguments,
)

HELP = (
    "write kerchunk references to a recording (a virtual Zarr store: JSON, or Parquet "
    "for large scans) that xarray reads through fsspec without this package"
)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Declare ``refs`` and its options on ``subparsers``."""
    p = subparsers.add_parser("refs", help=HELP, description=HELP)
    url_arguments(p)
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help="where to write: *.json (kerchunk JSON) or *.parquet (fsspec reference "
        "Parquet, a directory; needs intake-tvips[parquet]); a path or fsspec URL",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing OUT")
    scan_arguments(p)
    storage_arguments(p)  # for URL only: never written into OUT
    p.set_defaults(function=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Write the references; print what was written and how to read it."""
    from fsspec.core import url_to_fs

    from intake_tvips import open_recording, references, write_references
    from intake_tvips.cli.options import choose_scan, describe_kwargs, parse_storage_options

    t0 = time.perf_counter()
    fs, path = url_to_fs(args.output)
    exists = fs.exists(path)
    if exists and not args.overwrite:
        raise FileExistsError(f"{args.output} exists; pass --overwrite to replace it")
    options = parse_storage_options(args.storage_option)
    rec = open_recording(args.url, options)
    choice = choose_scan(args, rec, progress=False)
    echo_notes(choice.notes)
    refs = references(rec.name, storage_options=options, **choice.kwargs)
    if exists:
        fs.rm(path, recursive=True)
    kind = write_references(refs, args.output)
    n = sum(isinstance(v, list) for v in refs["refs"].values())
    seconds = time.perf_counter() - t0
    print(f"{rec.name}: {describe_kwargs(choice.kwargs)} ({choice.origin})")
    print(f"wrote {args.output} ({kind}): {n} chunks (one byte range per frame) in {seconds:.2f} s")
    print(f"read it with {read_hint(args.output, rec.parts.fs_spec)}")
    return OK


def read_hint(out: str, fs_spec) -> str:
    """The ``xr.open_dataset`` call that reads the references at ``out``."""
    protocol = fs_spec.protocol
    protocol = protocol[0] if isinstance(protocol, (tuple, list)) else protocol
    options = ""
    if not fs_spec.is_local and fs_spec.filesystem().async_impl:
        # zarr 3 opens stores asynchronously: so must the remote filesystem be
        options = ', "remote_options": {"asynchronous": True, ...}'
    return (
        f'xr.open_dataset("reference://", engine="zarr", backend_kwargs='
        f'{{"consolidated": False, "storage_options": {{"fo": "{out}", '
        f'"remote_protocol": "{protocol}"{options}}}}})'
    )
