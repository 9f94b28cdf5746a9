"""``intake-tvips info``: what a recording holds, from its headers (``--pixels``: and a
bounded sample of its pixels).

The scan is detected from a sample of the frame headers (the first and last frames among
them, so the timing is exact but for the median frame interval, taken over the
consecutive frames read); ``--exhaustive`` reads every header.

:func:`intake_tvips.recording_info` gathers it as a JSON-safe dict; :func:`render_info`
lays it out as a readable table.
"""

from __future__ import annotations

import argparse
import os

from dask.utils import format_bytes

from intake_tvips.cli.common import OK, PROG, progress_arguments, storage_arguments, url_arguments


def _rows(title: str, rows: list[tuple[str, object]], width: int) -> list[str]:
    lines = [title]
    for key, value in rows:
        text = str(value)
        lines.append(f"  {key:<{width}}  {text}")
    return lines


def _wrap(text: str, indent: int, width: int = 100) -> str:
    import textwrap

    return textwrap.fill(
        text, width=width, initial_indent=" " * indent, subsequent_indent=" " * indent
    ).lstrip()


def _headers_read(info: dict) -> str:
    read, n = info["frame_headers_read"], info["frames"]
    if read >= n:
        return f"all {n}"
    return f"{read} of {n} (a sample; --exhaustive reads every one)"


def _hysteresis(scan: dict) -> str:
    """The hysteresis with where it comes from: assumed, or the pixels' estimate."""
    source = scan.get("hysteresis_source", "assumed")
    if source == "assumed":
        winds = scan["winding_scan_axis"] is not None
        return f"{scan['hysteresis']} (not in the headers" + (
            "; --pixels estimates it)" if winds else ")"
        )
    reason = scan["reason"].rpartition("; hysteresis ")[2]
    if source == "pixels":
        return reason
    return f"{scan['hysteresis']} ({reason})"


def _scan_title(scan: dict) -> str:
    if scan["method"] == "pixels":
        return "scan (detected from the pixels: the headers carry no positions)"
    if scan["method"] == "none":
        if scan.get("pixels_read"):
            return "scan (not found: the headers carry no positions, the pixels do not decide)"
        return "scan (not in the frame headers; --pixels looks for it in the pixels)"
    pixels = scan.get("hysteresis_source", "assumed") != "assumed"
    return "scan (detected from the frame headers" + (" and pixels)" if pixels else ")")


def _guess_row(guess: dict | None, indent: int) -> list[tuple[str, str]]:
    """The row of the scan the pixels lean to where they decide none (none without)."""
    if not guess:
        return []
    shape = " x ".join(map(str, guess["scan_shape"]))
    winding = {None: "plain rows", "x": "a snake (winding x)", "y": "winding y"}.get(
        guess["winding_scan_axis"], guess["winding_scan_axis"]
    )
    text = (
        f"{shape} from frame {guess['scan_start_frame']}, {winding}: the pixels lean to it "
        f"but do not decide; check and tune it by eye in `{PROG} view`"
    )
    return [("guess", _wrap(text, indent))]


def render_info(info: dict) -> str:
    """``info`` as a table for people."""
    w = 16
    indent = w + 4
    parts = info["parts"]
    part_lines = [
        f"{os.path.basename(p['url'])}  {format_bytes(p['bytes'])}, {p['frames']} frames"
        for p in parts
    ]
    part_text = ("\n" + " " * indent).join(part_lines)
    shape = " x ".join(map(str, info["frame_shape"]))
    rate = info["frame_rate_hz"]
    interval = info["median_frame_interval_s"]
    lines = [f"{info['url']}", ""]
    lines += _rows(
        "recording",
        [
            ("parts", f"{len(parts)} ({format_bytes(info['total_bytes'])})"),
            ("", part_text),
            ("frames", f"{info['frames']} of {shape} {info['dtype']}"),
            ("frame header", f"{info['frame_header_bytes']} bytes"),
            ("first frame", info["first_frame_time"] or "-"),
            ("last frame", info["last_frame_time"] or "-"),
            ("duration", "-" if info["duration_s"] is None else f"{info['duration_s']:.3f} s"),
            (
                "frame rate",
                "-"
                if rate is None
                else f"{rate:.6g} Hz (median interval {interval * 1000:.4g} ms)",
            ),
        ],
        w,
    )
    lines.append("")
    lines += _rows("series header", list(info["header"].items()), w)
    lines.append("")
    scan = info["scan"]
    shape = "-" if scan["scan_shape"] is None else " x ".join(map(str, scan["scan_shape"]))
    kwargs = ", ".join(f"{k}={v!r}" for k, v in scan["reader_kwargs"].items())
    lines += _rows(
        _scan_title(scan),
        [
            ("method", scan["method"]),
            (
                "shape",
                f"{shape} (the square assumed: the count cannot tell rows)"
                if scan.get("rows_assumed")
                else shape,
            ),
            ("start frame", scan["scan_start_frame"]),
            ("winding", _winding(scan)),
            ("hysteresis", _hysteresis(scan)),
            ("confidence", f"{scan['confidence']:.1%}"),
            ("headers read", _headers_read(info)),
            ("reason", _wrap(scan["reason"], indent)),
            ("file_reader", _wrap(kwargs, indent)),
            *_guess_row(scan.get("guess"), indent),
        ],
        w,
    )
    return "\n".join(line.rstrip() for line in lines)


# ---------------------------------------------------------------------------- the command

HELP = (
    "show a recording's header, parts, frame count, duration and frame rate, and the "
    "scan detected from its frame headers"
)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """``intake-tvips info URL [--json]``."""
    p = subparsers.add_parser("info", help=HELP, description=HELP)
    url_arguments(p)
    storage_arguments(p)
    p.add_argument("--json", action="store_true", help="print JSON (for machines)")
    p.add_argument(
        "--exhaustive",
        action="store_true",
        help="read every frame header (default: a sample of a few hundred decides the scan "
        "when it can)",
    )
    p.add_argument(
        "--pixels",
        action="store_true",
        help="estimate the hysteresis of a winding scan from a bounded sample of its pixels "
        "(and the whole scan, where the headers carry no positions)",
    )
    progress_arguments(p)
    p.set_defaults(function=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Print what the recording holds, as a table or JSON."""
    import json

    from intake_tvips import recording_info
    from intake_tvips.cli.options import parse_storage_options, show_progress

    info = recording_info(
        args.url,
        parse_storage_options(args.storage_option),
        progress=show_progress(args),
        exhaustive=args.exhaustive,
        pixels=args.pixels,
    )
    print(json.dumps(info, indent=2) if args.json else render_info(info))
    return OK


def _winding(scan: dict) -> str:
    """The winding, and whether the headers could tell it."""
    winding = scan["winding_scan_axis"] or "none"
    return (
        f"{winding} (assumed: the headers cannot tell)" if scan.get("winding_assumed") else winding
    )
