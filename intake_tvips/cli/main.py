"""The ``intake-tvips`` command line.

Subcommands live in :data:`SUBCOMMANDS` (name -> ``(function, help)``). A function takes
the parsed ``argparse.Namespace`` and returns the exit code; the options it takes are
added by its ``add_arguments(parser)`` attribute (see :func:`arguments`). Our own errors
(bad values, unusable paths) print one line ``intake-tvips: error: ...`` and exit 2.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable

import intake_tvips.cli.refs as refs

PROG = "intake-tvips"
#: exit codes
OK, FAILED, USAGE = 0, 1, 2


def arguments(add: Callable[[argparse.ArgumentParser], None]):
    """Decorator: ``add(parser)`` declares the options of a subcommand function."""

    def mark(function):
        function.add_arguments = add
        return function

    return mark


# ---------------------------------------------------------------------------- demo


def _demo_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--out",
        default="tvips-demo",
        metavar="DIR",
        help="output directory (default: ./tvips-demo); a previous demo output there is "
        "replaced, any other non-empty directory needs --force",
    )
    p.add_argument(
        "--scan",
        type=int,
        default=64,
        metavar="N",
        help="scan size: an N x N scan (default: 64)",
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


@arguments(_demo_arguments)
def cmd_demo(args: argparse.Namespace) -> int:
    from intake_tvips.cli.demo import run_demo

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


# -------------------------------------------------------------- shared options


def _url_arguments(p: argparse.ArgumentParser, optional: bool = False) -> None:
    p.add_argument(
        "url",
        nargs="?" if optional else None,
        metavar="URL",
        help="first part of the recording (NAME_000.tvips or NAME.tvips): a local path or "
        "any fsspec URL (s3://, https://, memory://, ...)",
    )


def _storage_arguments(p: argparse.ArgumentParser) -> None:
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


def _progress_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--progress",
        action="store_true",
        default=None,
        help="show progress bars on stderr (default: only when stderr is a terminal)",
    )
    g.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")


def _scan_arguments(p: argparse.ArgumentParser) -> None:
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


def _chunk_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--chunk-size",
        metavar="SIZE",
        help="target chunk size (dask's array.chunk-size, e.g. 16MiB; default 128MiB): "
        "smaller chunks give more parallel tasks",
    )


def _catalog_source_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("from a catalog (instead of URL and scan parameters)")
    g.add_argument("--catalog", metavar="YAML", help="an Intake catalog")
    g.add_argument("--entry", metavar="NAME", help="the catalog entry (driver tvips)")


def _echo_notes(notes) -> None:
    for note in notes:
        print(f"{PROG}: note: {note}", file=sys.stderr)


def _open_data(args: argparse.Namespace, progress: bool) -> dict:
    """The recording as ``{"xarray", "data", "axes", "scan", "kwargs", "url", ...}``,
    from URL + scan options or from ``--catalog/--entry``."""
    import dask

    chunk_size = getattr(args, "chunk_size", None)
    if chunk_size is None:
        return _open_data_as_configured(args, progress)
    from dask.utils import parse_bytes

    try:
        nbytes = parse_bytes(chunk_size)
    except (ValueError, TypeError):
        raise ValueError(f"--chunk-size must be a size such as 16MiB, got {chunk_size!r}") from None
    if nbytes <= 0:
        raise ValueError(f"--chunk-size must be positive, got {chunk_size!r}")
    with dask.config.set({"array.chunk-size": nbytes}):
        return _open_data_as_configured(args, progress)


def _open_data_as_configured(args: argparse.Namespace, progress: bool) -> dict:
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
    _echo_notes(choice.notes)
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


def _scan_summary(opened: dict) -> str:
    from intake_tvips.cli.options import describe_kwargs

    return f"{describe_kwargs(opened['kwargs'])} ({opened['origin']})"


# ---------------------------------------------------------------------------- info


def _info_arguments(p: argparse.ArgumentParser) -> None:
    _url_arguments(p)
    _storage_arguments(p)
    p.add_argument("--json", action="store_true", help="print JSON (for machines)")
    p.add_argument(
        "--exhaustive",
        action="store_true",
        help="read every frame header (default: a sample of a few hundred decides the scan "
        "when it can)",
    )
    _progress_arguments(p)


@arguments(_info_arguments)
def cmd_info(args: argparse.Namespace) -> int:
    import json

    from intake_tvips.cli.info import recording_info, render_info
    from intake_tvips.cli.options import parse_storage_options, show_progress

    info = recording_info(
        args.url,
        parse_storage_options(args.storage_option),
        progress=show_progress(args),
        exhaustive=args.exhaustive,
    )
    print(json.dumps(info, indent=2) if args.json else render_info(info))
    return OK


# ---------------------------------------------------------------------------- catalog


def _catalog_arguments(p: argparse.ArgumentParser) -> None:
    _url_arguments(p)
    p.add_argument("--name", required=True, help="the entry's name (cat.NAME)")
    p.add_argument("--description", help="the entry's description (default: what was found)")
    _scan_arguments(p)
    p.add_argument(
        "-o",
        "--output",
        metavar="YAML",
        help="add the entry to this catalog (created if missing; other entries and comments "
        "are kept); default: print the entry",
    )
    p.add_argument("--force", action="store_true", help="replace an entry of the same name")
    _storage_arguments(p)
    _progress_arguments(p)


@arguments(_catalog_arguments)
def cmd_catalog(args: argparse.Namespace) -> int:
    from intake_tvips.cli.catalog_entry import build_entry, check_name, entry_yaml, write_entry
    from intake_tvips.cli.options import (
        choose_scan,
        describe_kwargs,
        parse_storage_options,
        show_progress,
    )
    from intake_tvips.recording.core import open_recording

    check_name(args.name)
    storage_options = parse_storage_options(args.storage_option)
    rec = open_recording(args.url, storage_options)
    choice = choose_scan(args, rec, show_progress(args))
    _echo_notes(choice.notes)
    if args.description:
        description = args.description
    elif choice.detection is not None:
        d = choice.detection
        description = (
            f"detected by intake-tvips ({d.method}, confidence {d.confidence:.1%}): {d.reason}"
        )
    else:
        description = f"{rec.n_frames} frames" + (
            "" if choice.kwargs["scan_shape"] is None else ", scan parameters given by hand"
        )
    entry, dropped = build_entry(args.url, choice.kwargs, storage_options, description, args.output)
    if dropped:
        print(
            f"{PROG}: note: storage options not written to the catalog (they may be secrets): "
            f"{', '.join(dropped)}; give credentials through the environment (e.g. "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE) or add "
            "\"{{ env('NAME') }}\" templates by hand",
            file=sys.stderr,
        )
    if args.output is None:
        print(entry_yaml(args.name, entry, indent=0), end="")
        return OK
    what = write_entry(args.output, args.name, entry, force=args.force)
    print(f"{what} entry {args.name!r} in {args.output}: {describe_kwargs(choice.kwargs)}")
    return OK


# ---------------------------------------------------------------------------- preview


def _preview_arguments(p: argparse.ArgumentParser) -> None:
    _url_arguments(p, optional=True)
    p.add_argument("-o", "--output", required=True, metavar="PNG", help="the PNG to write")
    _scan_arguments(p)
    _catalog_source_arguments(p)
    _chunk_arguments(p)
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
    _storage_arguments(p)
    _progress_arguments(p)


@arguments(_preview_arguments)
def cmd_preview(args: argparse.Namespace) -> int:
    import time

    from intake_tvips.cli.compute import local_cluster
    from intake_tvips.cli.options import show_progress
    from intake_tvips.cli.preview import make_preview

    progress = show_progress(args)
    t0 = time.perf_counter()
    opened = _open_data(args, progress)
    xarr = opened["xarray"]
    title = f"{opened['url']}\n{_scan_summary(opened)}"
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
    if result.kind == "scan":
        cy, cx = result.centre
        what = (
            f"virtual bright field (disc at dy={cy:.1f}, dx={cx:.1f}, r={result.radius:.1f} px) "
            "and mean pattern"
        )
    else:
        what = "mean frame and intensity per frame"
    print(f"{opened['url']}: {shape} {xarr.dtype}; {_scan_summary(opened)}")
    print(
        f"wrote {args.output} ({result.size_px[0]} x {result.size_px[1]} px): {what}, "
        f"in {time.perf_counter() - t0:.2f} s"
    )
    return OK


# ---------------------------------------------------------------------------- convert


def _convert_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "paths",
        nargs="*",
        metavar="URL OUT",
        help="the recording (omitted with --catalog/--entry) and the Zarr store to write "
        "(a path or any fsspec URL)",
    )
    _scan_arguments(p)
    _catalog_source_arguments(p)
    _chunk_arguments(p)
    p.add_argument("--overwrite", action="store_true", help="replace an existing store")
    _storage_arguments(p)
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
    _progress_arguments(p)


@arguments(_convert_arguments)
def cmd_convert(args: argparse.Namespace) -> int:
    import time

    from fsspec.utils import get_protocol

    from intake_tvips.cli.convert import require_zarr3, scheduler_client, store_exists, write_zarr
    from intake_tvips.cli.options import parse_storage_options, show_progress

    require_zarr3()  # before any header is read

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
    opened = _open_data(args, progress)
    if out_options is None:
        same = get_protocol(args.out) == get_protocol(opened["url"])
        out_options = opened["storage_options"] if same else {}
    with scheduler_client(args.scheduler, args.workers) as client:
        done = write_zarr(
            opened["xarray"],
            args.out,
            out_options,
            overwrite=args.overwrite,
            progress=progress,
            client=client,
        )
    seconds = time.perf_counter() - t0
    print(f"{opened['url']}: {_scan_summary(opened)}")
    print(
        f"wrote {args.out}: data {' x '.join(map(str, done['shape']))} {done['dtype']}, "
        f"{done['n_shards']} shards of {' x '.join(map(str, done['shards']))} "
        f"(chunks of {' x '.join(map(str, done['chunks']))})"
        f"{' (rechunked to regular chunks)' if done['rechunked'] else ''}, "
        f"{done['bytes'] / 2**20:.1f} MiB in {seconds:.2f} s "
        f"({done['bytes'] / 2**20 / max(seconds, 1e-9):.0f} MiB/s)"
    )
    print(f'read it with xarray.open_zarr("{args.out}")["data"]')
    return OK


SUBCOMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], str]] = {
    "info": (
        cmd_info,
        "show a recording's header, parts, frame count, duration and frame rate, and the "
        "scan detected from its frame headers",
    ),
    "catalog": (
        cmd_catalog,
        "print an Intake catalog entry for a recording, with its detected (or given) scan "
        "parameters, or add it to a catalog file",
    ),
    "preview": (
        cmd_preview,
        "save a PNG: virtual bright field and mean pattern of a scan, or mean frame and "
        "intensity over time of a stack",
    ),
    "convert": (
        cmd_convert,
        "write the reconstructed array to a Zarr store (xarray layout, with coordinates "
        "and attributes)",
    ),
    "demo": (
        cmd_demo,
        "write a synthetic 4D-STEM scan and its catalog, compute a virtual bright field "
        "on a local dask cluster, save a figure",
    ),
}


# ---------------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    from intake_tvips import __version__

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="TVIPS camera streams (.tvips) through fsspec, dask and Intake.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (function, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        add = getattr(function, "add_arguments", None)
        if add is not None:
            add(p)
        p.set_defaults(function=function)
    refs.add_parser(sub)
    return parser


def _one_line(error: BaseException | str) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return f"{PROG}: error: {text}"


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (never raises ``SystemExit``)."""
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:
            # argparse takes positionals only where they first appear: "URL --opt X OUT"
            # leaves OUT over; commands with a ``paths`` list take such leftovers
            if hasattr(args, "paths") and not any(e.startswith("-") for e in extra):
                args.paths += extra
            else:
                parser.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as e:  # --help, --version, usage errors
        return e.code if isinstance(e.code, int) else USAGE
    if args.command is None:
        parser.print_help(sys.stderr)
        return USAGE
    from intake_tvips.cli.demo import DemoError

    try:
        with _fail_fast_remote():
            return args.function(args)
    except (ValueError, OSError, DemoError) as e:
        print(_one_line(e), file=sys.stderr)
        return USAGE
    except ImportError as e:  # e.g. gs:// without gcsfs: fsspec says what to install
        print(_one_line(e), file=sys.stderr)
        return USAGE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        # storage clients' own errors (missing credentials, unreachable endpoints, ...)
        if type(e).__module__.split(".")[0] not in STORAGE_CLIENT_MODULES:
            raise
        print(_one_line(f"{type(e).__name__}: {e}"), file=sys.stderr)
        return USAGE


#: packages whose exceptions are the storage's answer, not a bug: one line, exit 2
STORAGE_CLIENT_MODULES = frozenset(
    {"botocore", "aiobotocore", "s3fs", "gcsfs", "google", "adlfs", "azure", "aiohttp", "fsspec"}
)
#: S3 from the command line: give up on an unreachable endpoint in seconds, not tens
CLI_S3_CONFIG = {"connect_timeout": 3, "retries": {"max_attempts": 1, "mode": "standard"}}


@contextlib.contextmanager
def _fail_fast_remote():
    """S3 defaults for one command: bounded connect timeout, no botocore retries (fsspec
    config, so ``-s config_kwargs...`` given by the user wins)."""
    import fsspec.config

    conf = fsspec.config.conf
    before = conf.get("s3")
    s3 = dict(before or {})
    s3.setdefault("config_kwargs", CLI_S3_CONFIG)
    conf["s3"] = s3
    try:
        yield
    finally:
        if before is None:
            conf.pop("s3", None)
        else:
            conf["s3"] = before
