"""What the subcommands share: the program name, exit codes, common options, opening a
recording from a URL or a catalog entry."""

from __future__ import annotations

import argparse
import sys

PROG = "intake-tvips"
#: exit codes
OK, FAILED, USAGE = 0, 1, 2


def url_arguments(p: argparse.ArgumentParser, optional: bool = False) -> None:
    p.add_argument(
        "url",
        nargs="?" if optional else None,
        metavar="URL",
        help="first part of the recording (NAME_000.tvips or NAME.tvips): a local path or "
        "any fsspec URL (s3://, https://, memory://, ...)",
    )


def storage_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--storage-option",
        "-s",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="fsspec storage option (repeatable); VALUE is parsed as JSON when it parses "
        "(true, 3, {...}), else taken as text; a dotted KEY sets a nested value, e.g. "
        "client_kwargs.endpoint_url=http://127.0.0.1:9000",
    )


def progress_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--progress",
        action="store_true",
        default=None,
        help="show progress bars on stderr (default: only when stderr is a terminal)",
    )
    g.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")


def scan_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "scan parameters",
        "default: detected from the frame headers (as `intake-tvips info` shows); "
        "--scan-start-frame, --winding and --hysteresis given with auto override what is "
        "detected (the headers never hold the hysteresis)",
    )
    g.add_argument(
        "--scan-shape",
        default="auto",
        metavar="auto|NYxNX|none",
        help="auto (default): detect; NYxNX (e.g. 128x128, or NZxNYxNX): this scan; "
        "none: a stack of frames (time, dy, dx)",
    )
    g.add_argument("--scan-start-frame", type=int, metavar="N", help="first frame of the scan")
    g.add_argument(
        "--winding", choices=("x", "y"), help="snake scan: rows (x) or columns (y) alternate"
    )
    g.add_argument(
        "--hysteresis",
        type=hysteresis_value,
        metavar="N|auto",
        help="reversed rows are rolled by N positions; auto: estimated from the pixels",
    )


def hysteresis_value(text: str):
    """``--hysteresis``: an integer, or ``auto``."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"an integer or auto, not {text!r}") from None


def chunk_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--chunk-size",
        metavar="SIZE",
        help="target chunk size (dask's array.chunk-size, e.g. 16MiB; default 128MiB): "
        "smaller chunks give more parallel tasks",
    )


def catalog_source_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("from a catalog (instead of URL and scan parameters)")
    g.add_argument("--catalog", metavar="YAML", help="an Intake catalog")
    g.add_argument("--entry", metavar="NAME", help="the catalog entry (driver tvips)")


def echo_notes(notes) -> None:
    for note in notes:
        print(f"{PROG}: note: {note}", file=sys.stderr)


def open_data(args: argparse.Namespace, progress: bool) -> dict:
    """The recording, from URL + scan options or from ``--catalog/--entry``, as
    ``{"xarray", "url", "storage_options", "kwargs", "scan", "origin"}`` (the lazy
    DataArray, where it is, the scan parameters, whether it is a scan, whence they came)."""
    import dask

    chunk_size = getattr(args, "chunk_size", None)
    if chunk_size is None:
        return _open_as_configured(args, progress)
    from dask.utils import parse_bytes

    try:
        nbytes = parse_bytes(chunk_size)
    except (ValueError, TypeError):
        raise ValueError(f"--chunk-size must be a size such as 16MiB, got {chunk_size!r}") from None
    if nbytes <= 0:
        raise ValueError(f"--chunk-size must be positive, got {chunk_size!r}")
    with dask.config.set({"array.chunk-size": nbytes}):
        return _open_as_configured(args, progress)


def _open_as_configured(args: argparse.Namespace, progress: bool) -> dict:
    from intake_tvips.cli.options import parse_storage_options

    storage_options = parse_storage_options(args.storage_option)
    if args.catalog or args.entry:
        return _open_entry(args)
    if not args.url:
        raise ValueError("give a URL, or --catalog and --entry")
    return _open_url(args, storage_options, progress)


def _opened(source, kwargs: dict, origin: str) -> dict:
    return {
        "xarray": source.to_xarray(),
        "url": str(source.urlpath),
        "storage_options": source.storage_options,
        "kwargs": kwargs,
        "scan": kwargs["scan_shape"] is not None,
        "origin": origin,
    }


def catalog_source(catalog: str, entry: str):
    """The ``tvips`` source ``entry`` of the Intake catalog file ``catalog``; a
    ``ValueError`` naming what is wrong otherwise."""
    import intake

    from intake_tvips import TVIPSSource

    cat = intake.open_catalog(catalog)
    if entry not in cat:
        raise ValueError(f"{catalog} has no entry {entry!r} (has: {', '.join(cat)})")
    source = cat[entry]
    if not isinstance(source, TVIPSSource):
        raise ValueError(f"entry {entry!r} is not a tvips source")
    return source


def _open_entry(args: argparse.Namespace) -> dict:
    """``--catalog YAML --entry NAME``: the entry's source and its scan parameters."""
    if not (args.catalog and args.entry):
        raise ValueError("--catalog and --entry go together")
    given = [o for o in ("scan_start_frame", "winding", "hysteresis") if getattr(args, o)]
    if args.url or args.scan_shape != "auto" or given:
        raise ValueError("with --catalog/--entry, the URL and scan parameters come from it")
    source = catalog_source(args.catalog, args.entry)
    keys = ("scan_shape", "scan_start_frame", "winding_scan_axis", "hysteresis")
    kwargs = {k: getattr(source, k) for k in keys}
    return _opened(source, kwargs, f"catalog entry {args.entry}")


def _open_url(args: argparse.Namespace, storage_options: dict, progress: bool) -> dict:
    """``URL`` and the scan options (detected from the frame headers by default)."""
    from intake_tvips import TVIPSSource, open_recording
    from intake_tvips.cli.options import choose_scan

    rec = open_recording(args.url, storage_options)
    choice = choose_scan(args, rec, progress)
    echo_notes(choice.notes)
    source = TVIPSSource(rec.name, storage_options=storage_options, **choice.kwargs)
    return _opened(source, choice.kwargs, choice.origin)


def scan_summary(opened: dict) -> str:
    from intake_tvips.cli.options import describe_kwargs

    return f"{describe_kwargs(opened['kwargs'])} ({opened['origin']})"
