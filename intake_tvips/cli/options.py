"""Command-line values shared by the subcommands: storage options, scan options, progress.

Bad values raise ``ValueError`` with a message naming the option, which the command line
prints as one line (exit code 2).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field


def parse_storage_options(items: list[str] | None) -> dict:
    """``["key=value", ...]`` -> dict; values JSON-parsed when they parse (``true``, ``2``,
    ``{"endpoint_url": ...}``), else kept as text. A dotted key (``client_kwargs.
    endpoint_url=...``) sets a nested value.

    Ours on purpose: fsspec and dask parse storage options from config files and
    environment variables, not from ``KEY=VALUE`` command-line items."""
    out: dict = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"--storage-option must be KEY=VALUE, got {item!r}")
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        *parents, last = key.split(".")
        node = out
        for p in parents:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ValueError(f"--storage-option {key}: {p} is already set to a non-dict")
        if isinstance(value, dict) and isinstance(node.get(last), dict):
            node[last] = {**node[last], **value}
        else:
            node[last] = value
    return out


def parse_scan_shape(text: str | None):
    """``auto`` -> ``"auto"``, ``none`` -> ``None``, ``NYxNX`` (or ``NZxNYxNX``) -> tuple."""
    from intake_tvips import ScanParameters

    if text is None:
        return "auto"
    try:
        return ScanParameters.parse(scan_shape=text, text=True).scan_shape
    except ValueError:
        raise ValueError(
            f"--scan-shape must be auto, none or NYxNX (e.g. 64x64), got {text!r}"
        ) from None


def show_progress(args) -> bool:
    """``--progress``/``--no-progress``, else only when stderr is a terminal."""
    choice = getattr(args, "progress", None)
    if choice is not None:
        return bool(choice)
    return sys.stderr.isatty()


@dataclass
class ScanChoice:
    """The reader's scan parameters and where they came from."""

    kwargs: dict
    origin: str  # "given", "detected" or "stack"
    detection: object = None  # the ScanDetection, when detected
    notes: list[str] = field(default_factory=list)


def choose_scan(args, rec, progress: bool, headers=None) -> ScanChoice:
    """The scan parameters of ``args`` (``--scan-shape`` and friends) for recording ``rec``.

    ``--scan-shape auto`` (the default) detects the scan from a sample of the frame
    headers (every header when the sample cannot decide);
    ``--scan-start-frame``, ``--winding`` and ``--hysteresis`` given on the command line
    override what was detected (the headers never hold the hysteresis).
    """
    shape = parse_scan_shape(getattr(args, "scan_shape", None))
    start, winding, hyst = args.scan_start_frame, args.winding, args.hysteresis
    if isinstance(hyst, int) and hyst < 0:
        raise ValueError(f"--hysteresis must be >= 0, got {hyst}")
    if shape is None:
        return ScanChoice({"scan_shape": None}, "stack")
    if shape != "auto":
        kwargs = {
            "scan_shape": shape,
            "scan_start_frame": 0 if start is None else start,
            "winding_scan_axis": winding,
            "hysteresis": 0 if hyst is None else hyst,
        }
        return ScanChoice(kwargs, "given")
    from intake_tvips import detect_scan

    # from a sample of the headers (every header when it cannot decide), or those given
    pixels = bool(getattr(args, "pixels", False)) and hyst is None
    found = detect_scan(rec, progress=progress, headers=headers, pixels=pixels)
    kwargs = found.reader_kwargs()
    choice = ScanChoice(kwargs, "detected", found)
    if kwargs["scan_shape"] is None:
        if any(v is not None for v in (start, winding, hyst)):
            choice.notes.append(
                "no scan detected: --scan-start-frame/--winding/--hysteresis unused"
            )
        return choice
    given = []
    for key, option, value in (
        ("scan_start_frame", "--scan-start-frame", start),
        ("winding_scan_axis", "--winding", winding),
        ("hysteresis", "--hysteresis", hyst),
    ):
        if value is not None:
            if kwargs["scan_shape"] == "auto" and key == "scan_start_frame":
                choice.notes.append("--scan-start-frame is unused with the rotator-index rule")
                continue
            kwargs[key] = value
            given.append(option)
    if given:
        choice.origin = f"detected, {', '.join(given)} given"
    return choice


def describe_kwargs(kwargs: dict) -> str:
    """``scan_shape=(16, 16), scan_start_frame=3, ...`` (``file_reader`` keywords)."""
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
