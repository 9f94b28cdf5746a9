"""``intake-tvips view``: a local page showing the scan while it is read, to check and
tune its parameters and write them to a catalog (:func:`intake_tvips.view`)."""

from __future__ import annotations

import argparse

from intake_tvips.cli.common import (
    OK,
    PROG,
    progress_arguments,
    scan_arguments,
    storage_arguments,
    url_arguments,
)

HELP = (
    "show the scan in a local web page: the virtual image filling in as the recording is "
    "read, the pattern under the mouse, scan parameters re-rendered at once, and a button "
    "that writes them to a catalog"
)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """``intake-tvips view URL [--catalog YAML --entry NAME] [--port N] [--no-browser]``."""
    p = subparsers.add_parser("view", help=HELP, description=HELP)
    url_arguments(p, optional=True)
    scan_arguments(p)
    g = p.add_argument_group(
        "catalog",
        "with URL: the catalog file the page writes its entry to (created if missing, "
        "comments kept); without URL: the entry is also opened from it, and replaced",
    )
    g.add_argument("--catalog", metavar="YAML", help="the catalog file (the only file written)")
    g.add_argument("--entry", metavar="NAME", help="the entry's name (default: scan)")
    p.add_argument("--port", type=int, default=0, help="port to serve on (default: a free one)")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to serve on (default 127.0.0.1: this machine only; the token in the "
        "URL is all that guards the page elsewhere)",
    )
    p.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    storage_arguments(p)
    progress_arguments(p)
    p.set_defaults(function=run)
    return p


def _scan_kwargs(args: argparse.Namespace) -> dict:
    from intake_tvips.cli.options import parse_scan_shape

    if isinstance(args.hysteresis, int) and args.hysteresis < 0:
        raise ValueError(f"--hysteresis must be >= 0, got {args.hysteresis}")
    return {
        "scan_shape": parse_scan_shape(args.scan_shape),
        "scan_start_frame": args.scan_start_frame,
        "winding_scan_axis": args.winding,
        "hysteresis": args.hysteresis,
    }


def _source(args: argparse.Namespace):
    """``--catalog YAML --entry NAME`` without URL: the entry to open (and replace)."""
    if not (args.catalog and args.entry):
        raise ValueError("give a URL, or --catalog and --entry of the entry to view")
    from intake_tvips.cli.common import catalog_source

    return catalog_source(args.catalog, args.entry)


def _stop_on_signals() -> None:
    """Ctrl-C and SIGTERM stop the server, even when started where SIGINT is ignored
    (a background job of a shell, which Python would otherwise keep ignoring)."""
    import signal

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupt)


def run(args: argparse.Namespace) -> int:
    """Serve the page until Ctrl-C."""
    from intake_tvips import view
    from intake_tvips.cli.options import parse_storage_options

    storage_options = parse_storage_options(args.storage_option)
    kwargs = _scan_kwargs(args)
    if args.url:
        target = args.url
    else:
        if kwargs["scan_shape"] != "auto" or args.storage_option:
            raise ValueError("with --catalog/--entry and no URL, the entry says where and how")
        target, storage_options = _source(args), None
    viewer = view(
        target,
        storage_options=storage_options,
        catalog=args.catalog,
        entry=args.entry or "scan",
        port=args.port,
        host=args.host,
        open_browser=not args.no_browser,
        **kwargs,
    )
    info = viewer.session.info()
    print(f"{PROG} view: {info['name']}: {info['n_frames']} frames; scan {info['origin']}")
    print(f"{PROG} view: serving {viewer.url}  (Ctrl-C to stop)", flush=True)
    _stop_on_signals()
    try:
        viewer.wait()
    except KeyboardInterrupt:
        print(f"{PROG} view: stopped")
    return OK
