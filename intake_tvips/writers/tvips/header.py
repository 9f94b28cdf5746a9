"""Header building: the series header and the frame header fields, from the signal.

Values follow RosettaSciIO's writer except where the project reference
(``tvips_format.md``) says it is wrong; see :func:`intake_tvips.writers.tvips.file_writer`.
Every number taken from the signal is checked (finite, in the field's range), and a bad
one is refused naming its metadata field or axis.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

import numpy as np

from intake_tvips.format.layout import RecordLayout, build_series_header
from intake_tvips.writers.tvips.signal import axis_number, finite_number, float32_number

_U4_MAX = 2**32 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_TEM = "Acquisition_instrument.TEM."

# unit spellings understood for the signal and navigation axes (as pint spells them);
# "px" and "A" are deliberately absent: pixels are no length, "A" is the ampere.
_NM_PER_LENGTH_UNIT = {
    "m": 1e9,
    "cm": 1e7,
    "mm": 1e6,
    "um": 1e3,
    "µm": 1e3,
    "μm": 1e3,
    "nm": 1.0,
    "pm": 1e-3,
    "Å": 0.1,
    "angstrom": 0.1,
    "meter": 1e9,
    "metre": 1e9,
    "millimeter": 1e6,
    "micrometer": 1e3,
    "micron": 1e3,
    "nanometer": 1.0,
    "nanometre": 1.0,
    "picometer": 1e-3,
}
_MS_PER_TIME_UNIT = {
    "h": 3.6e6,
    "hour": 3.6e6,
    "min": 6e4,
    "minute": 6e4,
    "s": 1e3,
    "second": 1e3,
    "ms": 1.0,
    "millisecond": 1.0,
    "us": 1e-3,
    "µs": 1e-3,
    "μs": 1e-3,
    "microsecond": 1e-3,
    "ns": 1e-6,
    "nanosecond": 1e-6,
}


def get(tree: Mapping, dotted: str, default=None):
    """``tree["a"]["b"]`` for ``"a.b"``; ``default`` where missing or ``None``."""
    node = tree
    for key in dotted.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return default
        node = node[key]
    return default if node is None else node


def _units_key(units) -> str:
    return "" if units is None else str(units).replace(" ", "")


def length_factor(units) -> tuple[str | None, float]:
    """``("length", nm per unit)``, ``("inverse", 1/nm per unit)`` or ``(None, 1.0)``."""
    u = _units_key(units)
    if u in _NM_PER_LENGTH_UNIT:
        return "length", _NM_PER_LENGTH_UNIT[u]
    for prefix, suffix in (("1/", ""), ("", "^-1"), ("", "**-1"), ("", "-1"), ("", "⁻¹")):
        if u.startswith(prefix) and u.endswith(suffix) and len(u) > len(prefix + suffix):
            inner = u[len(prefix) : len(u) - len(suffix)]
            if inner in _NM_PER_LENGTH_UNIT:
                return "inverse", 1.0 / _NM_PER_LENGTH_UNIT[inner]
    return None, 1.0


def mode_from_units(units) -> int | None:
    """1 for a length unit, 2 for an inverse length, ``None`` otherwise."""
    kind, _ = length_factor(units)
    return {"length": 1, "inverse": 2}.get(kind)


def header_uint(field: str, source: str, value) -> int:
    """``value`` (from ``source``) rounded for the unsigned 32-bit header ``field``."""
    value = round(finite_number(source, value))
    if value < 0:
        warnings.warn(
            f"TVIPS stores '{field}' unsigned: the negative value {value} ({source}) is "
            "written as 0",
            UserWarning,
            stacklevel=5,
        )
        return 0
    if value > _U4_MAX:
        raise ValueError(
            f"'{field}' = {value} ({source}) does not fit the header's 32-bit unsigned field"
        )
    return value


def series_header(layout: RecordLayout, axes: list[dict], metadata: Mapping) -> bytes:
    """The series header: sizes, pixel size and offsets in nm or 1/nm, ht, magtotal."""
    iy, ix = len(axes) - 2, len(axes) - 1
    units = axes[iy].get("units")
    kind, factor = length_factor(units)
    if kind is None and units not in (None, ""):
        warnings.warn(
            f"signal axis units {units!r} are neither a length nor an inverse length: "
            "pixel size and offsets are written unconverted",
            UserWarning,
            stacklevel=4,
        )
    return build_series_header(
        version=layout.version,
        dimx=layout.dimx,
        dimy=layout.dimy,
        bitsperpixel=8 * np.dtype(layout.dtype).itemsize,
        frameheaderbytes=layout.header_bytes,
        offsetx=_axis_uint("offsetx", axes, ix, "offset", 0, factor),
        offsety=_axis_uint("offsety", axes, iy, "offset", 0, factor),
        pixelsize=_axis_uint("pixelsize", axes, iy, "scale", 1, factor),
        ht=header_uint("ht", _TEM + "beam_energy", get(metadata, _TEM + "beam_energy", 0)),
        magtotal=_magtotal(metadata, mode_from_units(units)),
    )


def _axis_uint(field: str, axes: list[dict], i: int, key: str, default, factor: float) -> int:
    name = axes[i].get("name") or ""
    source = f"axes[{i}] ({name!r}) {key}"
    return header_uint(field, source, axis_number(axes, i, key, default) * factor)


def _magtotal(metadata: Mapping, unit_mode: int | None) -> int:
    """``camera_length`` in diffraction, ``magnification`` otherwise; the other one when
    that is missing (both readers put ``magtotal`` into ``magnification``)."""
    mag = get(metadata, _TEM + "magnification", 0)
    cl = get(metadata, _TEM + "camera_length", 0)
    if unit_mode == 2:
        name, value = ("camera_length", cl) if cl else ("magnification", mag)
    else:
        name, value = ("magnification", mag) if mag else ("camera_length", cl)
    return header_uint("magtotal", _TEM + name, value)


def frame_step_ms(axes: list[dict]) -> float:
    """Milliseconds between frames: the last navigation axis' scale if it is a time."""
    if len(axes) < 3:
        return 1.0
    unit = _units_key(axes[-3].get("units"))
    if unit not in _MS_PER_TIME_UNIT and unit.endswith("s"):
        unit = unit[:-1]  # plurals: "seconds"
    factor = _MS_PER_TIME_UNIT.get(unit)
    if factor is None:
        return 1.0
    return axis_number(axes, len(axes) - 3, "scale", 1) * factor


def _nav_scale_name(axes: list[dict]) -> str:
    if len(axes) < 3:
        return "the navigation scale"
    return f"axes[{len(axes) - 3}] ({axes[-3].get('name') or ''!r}) scale"


def _tzinfo(name) -> timezone:
    if name in (None, "") or str(name).upper() in ("UTC", "Z", "GMT"):
        return timezone.utc
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(str(name))
    except (ValueError, KeyError, OSError, ImportError):
        pass
    try:
        return datetime.strptime(str(name), "%z").tzinfo
    except ValueError:
        warnings.warn(f"unknown time zone {name!r}: taking the time as UTC", stacklevel=5)
        return timezone.utc


def start_ms(metadata: Mapping) -> float:
    """Unix time in ms of ``General.date/time/time_zone`` (default 1970-01-01 00:00 UTC)."""
    date = get(metadata, "General.date", "1970-01-01")
    time = get(metadata, "General.time", "00:00:00")
    try:
        when = datetime.fromisoformat(f"{date}T{time}")
    except ValueError as err:
        raise ValueError(
            f"cannot parse General.date={date!r} / General.time={time!r} as ISO date and time"
        ) from err
    if when.tzinfo is None:
        when = when.replace(tzinfo=_tzinfo(get(metadata, "General.time_zone")))
    return (when - _EPOCH) / timedelta(milliseconds=1)


def frame_constants(metadata: Mapping, mode: int) -> dict:
    """Frame header fields that are the same in every frame, each checked."""
    # HyperSpy keeps tilts in TEM.Stage; RosettaSciIO's writer reads TEM.tilt_alpha/beta
    sources = {
        "fcurrent": ("beam_current",),
        "stagex": ("Stage.x",),
        "stagey": ("Stage.y",),
        "stagez": ("Stage.z",),
        "stagea": ("Stage.tilt_alpha", "tilt_alpha"),
        "stageb": ("Stage.tilt_beta", "tilt_beta"),
    }
    out: dict = {"mode": mode}
    for field, names in sources.items():
        name = next((n for n in names if get(metadata, _TEM + n) is not None), names[0])
        out[field] = float32_number(_TEM + name, get(metadata, _TEM + name, 0))
    return out


@dataclass(frozen=True)
class FrameFields:
    """Fills the frame headers of consecutive frames: counter, time, constants, scan."""

    version: int
    names: tuple[str, ...]
    nav_shape: tuple[int, ...]
    start_ms: float
    step_ms: float
    constants: dict
    #: where the time step comes from (for messages)
    step_source: str = "the navigation scale"
    #: per-frame values given by the caller (``file_writer(frame_header_fields=...)``)
    given: Mapping = dataclasses.field(default_factory=dict)

    def with_given(self, fields: Mapping, n_frames: int) -> FrameFields:
        """These fields, with per-frame values for some header fields (one per frame)."""
        given = {}
        for name, values in fields.items():
            if name not in self.names:
                raise ValueError(
                    f"frame_header_fields: {name!r} is not a field of these frame headers "
                    f"(fields: {', '.join(self.names)}); Scan_x/Scan_y need version 2 and "
                    "frame_header_extra_bytes >= 16"
                )
            values = np.asarray(values)
            if values.shape != (n_frames,) or values.dtype.kind not in "iuf":
                raise ValueError(
                    f"frame_header_fields[{name!r}] must hold {n_frames} numbers (one per "
                    f"frame), got {values.dtype} of shape {values.shape}"
                )
            given[name] = values
        return replace(self, given=given)

    def _times(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        total = np.rint(self.start_ms + frames * self.step_ms).astype(np.int64)
        return total // 1000, total % 1000

    def check_times(self, n_frames: int) -> None:
        """Refuse frame times outside the 32-bit unsigned seconds of the header."""
        last = self.start_ms + max(n_frames - 1, 0) * self.step_ms
        if min(self.start_ms, last) < 0 or max(self.start_ms, last) >= (_U4_MAX + 1) * 1000:
            raise ValueError(
                f"frame timestamps from General.date/time and {self.step_source} fall "
                "outside 1970-01-01 .. 2106-02-07 (32-bit unsigned seconds since 1970)"
            )

    def fill(self, headers: np.ndarray, start: int) -> None:
        """Fill ``headers`` of frames ``start, start + 1, ...``."""
        frames = np.arange(start, start + len(headers), dtype=np.int64)
        headers["num"] = frames % 2**32
        headers["timestamp"], headers["ms"] = self._times(frames)
        if self.version == 2:
            for name, value in self.constants.items():
                headers[name] = value
            headers["rotidx"] = (frames + 1) % 2**32
            if "Scan_y" in self.names and len(self.nav_shape) >= 2:
                pos = np.unravel_index(frames, self.nav_shape)
                headers["Scan_x"] = pos[-1]
                headers["Scan_y"] = pos[-2]
        for name, values in self.given.items():
            headers[name] = values[start : start + len(headers)]


def frame_fields(
    layout: RecordLayout,
    nav_shape: tuple[int, ...],
    axes: list[dict],
    metadata: Mapping,
    mode: int | None,
) -> FrameFields:
    """The frame header filler for a signal with these axes and metadata."""
    units = axes[-2].get("units")
    fields = FrameFields(
        version=layout.version,
        names=layout.frame_header_dtype().names,
        nav_shape=nav_shape,
        start_ms=start_ms(metadata),
        step_ms=frame_step_ms(axes),
        constants=frame_constants(metadata, mode or mode_from_units(units) or 2),
        step_source=_nav_scale_name(axes),
    )
    return fields
