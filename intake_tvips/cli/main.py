"""The ``intake-tvips`` command line: a dispatcher over the subcommand modules.

Each module in :data:`COMMANDS` has ``add_parser(subparsers)`` (declares the subcommand and
its options, and sets ``function=run``) and ``run(args) -> exit code``. Our own errors
(bad values, unusable paths) print one line ``intake-tvips: error: ...`` and exit 2.
"""

from __future__ import annotations

import argparse
import contextlib
import sys

import intake_tvips.cli.catalog as catalog
import intake_tvips.cli.convert as convert
import intake_tvips.cli.demo as demo
import intake_tvips.cli.info as info
import intake_tvips.cli.preview as preview
import intake_tvips.cli.refs as refs
import intake_tvips.cli.view as view
from intake_tvips import MissingDependencyError
from intake_tvips.cli.common import PROG, USAGE

#: the subcommands, in the order ``--help`` lists them
COMMANDS = (info, catalog, preview, convert, refs, demo, view)


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``intake-tvips`` with every subcommand."""
    from intake_tvips import __version__

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="TVIPS camera streams (.tvips) through fsspec, dask and Intake.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def _one_line(error: BaseException | str) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return f"{PROG}: error: {text}"


def _parse(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    args, extra = parser.parse_known_args(argv)
    if extra:
        # argparse takes positionals only where they first appear: "URL --opt X OUT"
        # leaves OUT over; commands with a ``paths`` list take such leftovers
        if hasattr(args, "paths") and not any(e.startswith("-") for e in extra):
            args.paths += extra
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (never raises ``SystemExit``)."""
    parser = build_parser()
    try:
        args = _parse(parser, argv)
    except SystemExit as e:  # --help, --version, usage errors
        return e.code if isinstance(e.code, int) else USAGE
    if args.command is None:
        parser.print_help(sys.stderr)
        return USAGE
    from intake_tvips import progress_shown
    from intake_tvips.cli.options import show_progress

    try:
        with _fail_fast_remote(), progress_shown(show_progress(args)):
            return args.function(args)
    except (ValueError, OSError, MissingDependencyError) as e:
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
    {
        "botocore",
        "aiobotocore",
        "s3fs",
        "obstore",
        "gcsfs",
        "google",
        "adlfs",
        "azure",
        "aiohttp",
        "fsspec",
    }
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
