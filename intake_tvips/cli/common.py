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
        "--hysteresis", type=int, metavar="N", help="reversed rows are rolled by N positions"
    )


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
    """The recording as ``{"xarray", "data", "axes", "scan", "kwargs", "url", ...}``,
    from URL + scan options or from ``--catalog/--entry``."""
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
    from intake_tvips.cli.options import choose_scan, parse_storage_options

    storage_options = parse_storage_options(args.storage_option)
    if args.catalog or args.entry:
        if not (args.catalog and args.entry):
            raise ValueError("--catalog and --entry go together")
        given = [o for o in ("scan_start_frame", "winding", "hysteresis") if getattr(args, o)]
        if args.url or args.scan_shape != "auto" or given:
            raise ValueError("with --catalog/--entry, the URL and scan parameters come from it")
        import intake

        from intake_tvips.intake_source import TVIPSSource

        cat = intake.open_catalog(args.catalog)
        if args.entry not in cat:
            raise ValueError(f"{args.catalog} has no entry {args.entry!r} (has: {', '.join(cat)})")
        source = cat[args.entry]
        if not isinstance(source, TVIPSSource):
            raise ValueError(f"entry {args.entry!r} is not a tvips source")
        xarr = source.to_xarray()
        kwargs = source._reader_kwargs()
        kwargs.pop("rechunking", None)
        kwargs.pop("storage_options", None)
        return {
            "xarray": xarr,
            "url": str(source.urlpath),
            "storage_options": source.storage_options,
            "kwargs": kwargs,
            "scan": kwargs["scan_shape"] is not None,
            "origin": f"catalog entry {args.entry}",
        }
    if not args.url:
        raise ValueError("give a URL, or --catalog and --entry")
    from intake_tvips.reader import file_reader
    from intake_tvips.recording.core import open_recording
    from intake_tvips.storage.secrets import mask_url
    from intake_tvips.xarray_view import signal_to_xarray

    rec = open_recording(args.url, storage_options)
    choice = choose_scan(args, rec, progress)
    echo_notes(choice.notes)
    signal = file_reader(args.url, lazy=True, storage_options=storage_options, **choice.kwargs)[0]
    attrs = {"source": mask_url(rec.name), "scan_parameters": choice.kwargs}
    return {
        "xarray": signal_to_xarray(signal, attrs=attrs),
        "url": rec.name,
        "storage_options": storage_options,
        "kwargs": choice.kwargs,
        "scan": choice.kwargs["scan_shape"] is not None,
        "origin": choice.origin,
    }


def scan_summary(opened: dict) -> str:
    from intake_tvips.cli.options import describe_kwargs

    return f"{describe_kwargs(opened['kwargs'])} ({opened['origin']})"
