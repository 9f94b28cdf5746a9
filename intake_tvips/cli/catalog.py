"""``intake-tvips catalog``: an Intake catalog entry for a recording, printed or added to a
catalog file, with its scan parameters detected once (or given)."""

from __future__ import annotations

import argparse
import sys

from intake_tvips.cli.common import (
    OK,
    PROG,
    echo_notes,
    progress_arguments,
    scan_arguments,
    storage_arguments,
    url_arguments,
)

HELP = (
    "print an Intake catalog entry for a recording, with its detected (or given) scan "
    "parameters, or add it to a catalog file"
)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """``intake-tvips catalog URL --name NAME [-o exp.yaml]``."""
    p = subparsers.add_parser("catalog", help=HELP, description=HELP)
    url_arguments(p)
    p.add_argument("--name", required=True, help="the entry's name (cat.NAME)")
    p.add_argument("--description", help="the entry's description (default: what was found)")
    scan_arguments(p)
    p.add_argument(
        "-o",
        "--output",
        metavar="YAML",
        help="add the entry to this catalog (created if missing; other entries and comments "
        "are kept); default: print the entry",
    )
    p.add_argument("--force", action="store_true", help="replace an entry of the same name")
    p.add_argument(
        "--scan-step",
        metavar="STEP",
        help="the scan step, which the file lacks: nm, or with units ('2.5 nm')",
    )
    p.add_argument(
        "--pattern-scale",
        metavar="SCALE",
        help="the detector's scale per pixel ('0.012 1/nm', '0.08 mrad', '0.0055 cm')",
    )
    p.add_argument(
        "--pixels",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="estimate the hysteresis of a detected winding scan from a bounded sample of "
        "its pixels, and the rows and winding of a scan the rotator index counts (default; "
        "--no-pixels: hysteresis 0 and no winding, as the headers cannot say)",
    )
    storage_arguments(p)
    progress_arguments(p)
    p.set_defaults(function=run)
    return p


def calibration_kwargs(args: argparse.Namespace) -> dict:
    """``--scan-step`` / ``--pattern-scale`` as reader keywords, checked (a bad value is
    named at once, not when the catalog is opened)."""
    from intake_tvips import ScanParameters

    given = {k: getattr(args, k) for k in ("scan_step", "pattern_scale")}
    given = {k: v for k, v in given.items() if v is not None}
    try:
        ScanParameters().calibrated(**given)
    except ValueError as err:
        raise ValueError(f"--{str(err).replace('_', '-', 1)}") from None
    return {k: _number_or_text(v) for k, v in given.items()}


def _number_or_text(value: str):
    try:
        return float(value)
    except ValueError:
        return value


def _description(args: argparse.Namespace, rec, choice) -> str:
    if args.description:
        return args.description
    if choice.detection is not None:
        d = choice.detection
        text = f"detected by intake-tvips ({d.method}, confidence {d.confidence:.1%}): {d.reason}"
        if d.hysteresis_source == "undecided":
            text += " (hysteresis 0 kept: check it, e.g. with intake-tvips view)"
        if d.guess is not None:
            g = d.guess
            text += (
                f"; the pixels lean to scan_shape {tuple(g['scan_shape'])}, scan_start_frame "
                f"{g['scan_start_frame']}, winding_scan_axis {g['winding_scan_axis']}, undecided "
                f"(written as a stack: check and tune it with {PROG} view, then write the entry "
                "from the page)"
            )
        return text
    return f"{rec.n_frames} frames" + (
        "" if choice.kwargs["scan_shape"] is None else ", scan parameters given by hand"
    )


def run(args: argparse.Namespace) -> int:
    """Print the entry, or add it to ``--output``."""
    from intake_tvips import catalog_entry, open_recording
    from intake_tvips.cli.options import (
        choose_scan,
        describe_kwargs,
        parse_storage_options,
        show_progress,
    )

    catalog_entry(args.name, args.url, {})  # a bad name is refused before any work
    storage_options = parse_storage_options(args.storage_option)
    rec = open_recording(args.url, storage_options)
    choice = choose_scan(args, rec, show_progress(args))
    calibrations = calibration_kwargs(args)
    if calibrations:
        choice.kwargs.update(calibrations)
    echo_notes(choice.notes)
    description = _description(args, rec, choice)
    entry = catalog_entry(
        args.name, args.url, choice.kwargs, storage_options, description, args.output
    )
    if entry.dropped:
        print(
            f"{PROG}: note: storage options not written to the catalog (they may be secrets): "
            f"{', '.join(entry.dropped)}; give credentials through the environment (e.g. "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE) or add "
            "\"{{ env('NAME') }}\" templates by hand",
            file=sys.stderr,
        )
    if args.output is None:
        print(entry.yaml(), end="")
        return OK
    what = entry.write(args.output, force=args.force)
    print(f"{what} entry {args.name!r} in {args.output}: {describe_kwargs(choice.kwargs)}")
    return OK
