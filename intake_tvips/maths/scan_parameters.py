"""The scan parameters a TVIPS file lacks, as one value: parsed and checked once.

:class:`ScanParameters` is what every face (the reader, the Intake source and readers,
the xarray backend, the references, HyperSpy, Zarr export, the command line) turns its
keyword arguments, YAML values, templated strings or command-line text into, and what
is carried down to the scan map and rendered back to attributes. Pure: no I/O.

Spellings accepted by :meth:`ScanParameters.parse` (as catalogs and templates give them):
``scan_shape`` ``None``/``"none"``/``"stack"`` (a stack of frames), ``"auto"``, a
sequence of positive integers, or text such as ``"64x64"``, ``"[64, 64]"`` or
``"64, 64"``; integers as text (``"3"``); ``winding_scan_axis`` ``None``/``""``/
``"none"``, ``"x"`` or ``"y"``; ``hysteresis`` an integer or ``"auto"`` (estimated from
the pixels when the recording is opened).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np

from intake_tvips.maths.scan import normalize_scan_shape, normalize_winding

#: spellings of "nothing" in YAML and rendered templates
NONE_STRINGS = ("", "none", "null", "~")
_SPLIT = re.compile(r"[\s,x()\[\]]+")


@dataclass(frozen=True)
class ScanParameters:
    """Shape, start frame, winding and hysteresis of a scan (``file_reader``'s meaning).

    ``scan_shape``: ``None`` (a stack), ``"auto"`` (from the frame headers) or a tuple of
    positive ints; ``hysteresis``: an int or ``"auto"``. ``hysteresis_estimate``: once
    ``"auto"`` was resolved, what the pixels said (a dict; see
    :meth:`intake_tvips.HysteresisEstimate.as_dict`). ``scan_found``: once
    ``scan_shape="auto"`` was resolved, the scan the headers gave (a dict: the reader
    keywords that read it, or for frames the rotator index places out of raster order
    its shape). Build with :meth:`parse`.
    """

    scan_shape: tuple[int, ...] | str | None = None
    scan_start_frame: int = 0
    winding_scan_axis: str | None = None
    hysteresis: int | str = 0
    hysteresis_estimate: dict | None = None
    scan_found: dict | None = None
    #: calibrations the file lacks: the scan step (navigation axes' scale) and the
    #: detector's (signal axes' scale), with units; ``None``: the file's own
    scan_step: float | None = None
    scan_step_units: str = "nm"
    pattern_scale: float | None = None
    pattern_units: str | None = None

    @classmethod
    def parse(
        cls,
        scan_shape=None,
        scan_start_frame=0,
        winding_scan_axis=None,
        hysteresis=0,
        *,
        text: bool = False,
    ) -> ScanParameters:
        """Check and normalize the four parameters; a bad one raises ``ValueError``
        naming it. ``text=True`` also takes the spellings of catalogs, templates and
        the command line (module doc); otherwise only ``"auto"`` may be text. As in
        RosettaSciIO, what a shape ignores is not checked: a stack (``None``) ignores
        the other three, ``"auto"`` the start frame."""
        if not text:
            _refuse_text(scan_shape, None, None)
        shape = parse_scan_shape(scan_shape, text=text)
        if shape is None:
            return cls(None)
        if not text:
            _refuse_text(shape, None if shape == "auto" else scan_start_frame, hysteresis)
        start = 0 if shape == "auto" else parse_int("scan_start_frame", scan_start_frame)
        winding = parse_winding(winding_scan_axis) if text else normalize_winding(winding_scan_axis)
        return cls(shape, start, winding, parse_hysteresis(hysteresis))

    def calibrated(
        self, scan_step=None, pattern_scale=None, scan_step_units=None, pattern_units=None
    ) -> ScanParameters:
        """With the calibrations: a positive number each, or text ``"2.5 nm"`` /
        ``"0.012 1/nm"`` (the value, then its units); ``None`` leaves one unset."""
        step, step_units = parse_quantity("scan_step", scan_step, scan_step_units or "nm")
        scale, units = parse_quantity("pattern_scale", pattern_scale, pattern_units)
        return replace(
            self,
            scan_step=step,
            scan_step_units=step_units or "nm",
            pattern_scale=scale,
            pattern_units=units,
        )

    def calibrate_axes(self, axes: list[dict]) -> list[dict]:
        """``axes`` (``file_reader``'s) with the calibrations: ``scan_step`` on the
        navigation axes of a scan (not a stack's time), ``pattern_scale`` on the two
        signal axes (their offsets scaled alike)."""
        out = [dict(a) for a in axes]
        for a in out:
            if a["navigate"] and self.scan_step is not None and a["name"] in ("x", "y", ""):
                a.update(scale=self.scan_step, units=self.scan_step_units)
            if not a["navigate"] and self.pattern_scale is not None:
                ratio = self.pattern_scale / a["scale"] if a["scale"] else 0.0
                a.update(scale=self.pattern_scale, offset=a["offset"] * ratio)
                if self.pattern_units is not None:
                    a["units"] = self.pattern_units
        return out

    @classmethod
    def from_kwargs(cls, kwargs: dict, *, text: bool = False) -> ScanParameters:
        """From a mapping of ``file_reader`` keywords (missing ones default)."""
        keys = ("scan_shape", "scan_start_frame", "winding_scan_axis", "hysteresis")
        return cls.parse(**{k: kwargs[k] for k in keys if k in kwargs}, text=text)

    @property
    def auto_hysteresis(self) -> bool:
        return self.hysteresis == "auto"

    def with_estimate(self, hysteresis: int, estimate: dict) -> ScanParameters:
        """``hysteresis="auto"`` resolved: the value used and what the pixels said."""
        return replace(self, hysteresis=int(hysteresis), hysteresis_estimate=dict(estimate))

    def with_scan_found(self, found: dict) -> ScanParameters:
        """``scan_shape="auto"`` resolved: the scan the headers gave (``scan_found``)."""
        return replace(self, scan_found=dict(found))

    def reader_kwargs(self) -> dict:
        """Keyword arguments of :func:`intake_tvips.file_reader` that read this scan."""
        return {
            "scan_shape": self.scan_shape,
            "scan_start_frame": self.scan_start_frame,
            "winding_scan_axis": self.winding_scan_axis,
            "hysteresis": self.hysteresis,
        }

    def attrs(self) -> dict:
        """JSON-ready: the reader keywords (a shape as a list) and, where ``"auto"`` was
        resolved, ``hysteresis_estimate`` and ``scan_found``."""
        out = self.reader_kwargs()
        if isinstance(self.scan_shape, tuple):
            out["scan_shape"] = list(self.scan_shape)
        if self.hysteresis_estimate is not None:
            out["hysteresis_estimate"] = dict(self.hysteresis_estimate)
        if self.scan_found is not None:
            out["scan_found"] = dict(self.scan_found)
        if self.scan_step is not None:
            out["scan_step"] = self.scan_step
            out["scan_step_units"] = self.scan_step_units
        if self.pattern_scale is not None:
            out["pattern_scale"] = self.pattern_scale
            out["pattern_units"] = self.pattern_units
        return out


def _refuse_text(scan_shape, scan_start_frame, hysteresis) -> None:
    """Python callers give numbers: text other than ``"auto"`` is a mistake."""
    if isinstance(scan_shape, str) and scan_shape != "auto":
        raise ValueError(
            f"scan_shape must be None, 'auto' or a tuple of integers, got {scan_shape!r}"
        )
    if scan_start_frame is not None and isinstance(scan_start_frame, str):
        raise ValueError(f"scan_start_frame must be an integer, got {scan_start_frame!r}")
    if isinstance(hysteresis, str) and hysteresis.strip().lower() != "auto":
        raise ValueError(f"hysteresis must be an integer or 'auto', got {hysteresis!r}")


def is_none(value) -> bool:
    """``None``, or a YAML/template spelling of it."""
    return value is None or (isinstance(value, str) and value.strip().lower() in NONE_STRINGS)


def parse_int(name: str, value) -> int:
    """An integer, or its text; ``ValueError`` naming ``name`` otherwise."""
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            raise ValueError(f"{name} must be an integer, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    return int(value)


def parse_scan_shape(value, text: bool = True):
    """``None``, ``"auto"`` or a tuple of positive ints (see the module doc); with
    ``text``, the sizes may be text too (a templated YAML list)."""
    if is_none(value) or (isinstance(value, str) and value.strip().lower() == "stack"):
        return None
    if isinstance(value, str):
        spelled = value.strip().lower()
        if spelled == "auto":
            return "auto"
        parts = [p for p in _SPLIT.split(spelled) if p]
        if not parts or not all(p.isdigit() for p in parts):
            raise ValueError(
                "scan_shape must be None, 'auto' or positive integers such as (64, 64) or "
                f"'64x64', got {value!r}"
            )
        value = [int(p) for p in parts]
    if isinstance(value, (list, tuple)):
        value = tuple(
            parse_int("scan_shape", v) if text and isinstance(v, str) else v for v in value
        )
    return normalize_scan_shape(value)


def parse_winding(value) -> str | None:
    """``None``, ``"x"`` or ``"y"``."""
    if is_none(value):
        return None
    return normalize_winding(value.strip().lower() if isinstance(value, str) else value)


def parse_quantity(name: str, value, units: str | None) -> tuple[float | None, str | None]:
    """``(value, units)`` from a positive finite number (``units`` as given) or text
    ``"2.5 nm"``; ``(None, units)`` for ``None``."""
    if is_none(value):
        return None, units
    if isinstance(value, str):
        number, _, text_units = value.strip().partition(" ")
        units = text_units.strip() or units
        try:
            value = float(number)
        except ValueError:
            raise ValueError(
                f"{name} must be a number, optionally with units, got {value!r}"
            ) from None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value), units


def parse_hysteresis(value) -> int | str:
    """An integer, or ``"auto"``."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    return parse_int("hysteresis", value)
