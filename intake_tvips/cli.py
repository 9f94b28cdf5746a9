"""The ``intake-tvips`` command line.

Subcommands live in :data:`SUBCOMMANDS` (name -> ``(function, help)``). A function takes
the parsed ``argparse.Namespace`` and returns the exit code; the options it takes are
added by its ``add_arguments(parser)`` attribute (see :func:`arguments`). Our own errors
(bad values, unusable paths) print one line ``intake-tvips: error: ...`` and exit 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

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
    from .demo import run_demo

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


SUBCOMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], str]] = {
    "demo": (
        cmd_demo,
        "write a synthetic 4D-STEM scan and its catalog, compute a virtual bright field "
        "on a local dask cluster, save a figure",
    ),
}


# ---------------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

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
    return parser


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return f"{PROG}: error: {text}"


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (never raises ``SystemExit``)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, usage errors
        return e.code if isinstance(e.code, int) else USAGE
    if args.command is None:
        parser.print_help(sys.stderr)
        return USAGE
    from .demo import DemoError

    try:
        return args.function(args)
    except (ValueError, OSError, DemoError) as e:
        print(_one_line(e), file=sys.stderr)
        return USAGE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
