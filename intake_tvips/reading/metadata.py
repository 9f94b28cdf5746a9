"""Axes and metadata dictionaries, as RosettaSciIO's TVIPS reader returns them.

Pure: headers in, plain dicts out (Python ints, floats and strings, so they serialise
to YAML/JSON). Values match RosettaSciIO's; where RosettaSciIO is wrong we are right:
date and time are the first frame's timestamp *in UTC* (RosettaSciIO uses local time
and labels it UTC), and a single-frame stack gets a time scale of 1.
"""

from __future__ import annotations

import math
import os
from datetime import datetime, timezone

import numpy as np


def _axis(i, name, size, scale, offset, units, navigate) -> dict:
    return {
        "size": int(size),
        "index_in_array": i,
        "name": name,
        "scale": scale,
        "offset": offset,
        "units": units,
        "navigate": navigate,
    }


def _num(v):
    v = v.item() if isinstance(v, np.generic) else v
    return v


def signal_units(first_headers: np.ndarray) -> str:
    """``1/nm`` in diffraction mode (frame header ``mode`` 2), else ``nm``."""
    if first_headers.size and "mode" in first_headers.dtype.names:
        return "1/nm" if int(first_headers["mode"][0]) == 2 else "nm"
    return "nm"


def frame_times(first_headers: np.ndarray) -> tuple[float, float]:
    """Offset (s, unix) and scale (s) of the time axis from the first two frames."""
    if first_headers.size == 0:
        return 0.0, 1.0
    t = first_headers["timestamp"].astype(np.float64) + first_headers["ms"] / 1000.0
    scale = float(t[1] - t[0]) if t.size > 1 else 1.0
    return float(t[0]), scale


def _signal_axes(k: int, header: dict, first_headers: np.ndarray) -> list[dict]:
    """The frame's axes ``dy, dx`` at array positions ``k, k + 1``."""
    units, scale = signal_units(first_headers), header["pixelsize"]
    return [
        _axis(k, "dy", header["dimy"], scale, header["offsety"], units, False),
        _axis(k + 1, "dx", header["dimx"], scale, header["offsetx"], units, False),
    ]


def stack_axes(n_frames: int, header: dict, first_headers: np.ndarray) -> list[dict]:
    offset, scale = frame_times(first_headers)
    time = _axis(0, "time", n_frames, scale, offset, "s", True)
    return [time] + _signal_axes(1, header, first_headers)


def scan_axes(scan_shape: tuple[int, ...], header: dict, first_headers: np.ndarray) -> list[dict]:
    lead = len(scan_shape) - 2
    names = ([""] * lead + ["y", "x"])[-len(scan_shape) :]  # a one-axis scan is "x"
    nav = [
        _axis(i, names[i], n, 1, 0, "nm" if i >= lead else "", True)
        for i, n in enumerate(scan_shape)
    ]
    return nav + _signal_axes(len(scan_shape), header, first_headers)


def build_metadata(filename: str, header: dict, first_headers: np.ndarray) -> dict:
    """``metadata`` (HyperSpy's tree) from the series header and the first frame header."""
    general = {"original_filename": os.path.basename(str(filename).rstrip("/"))}
    tem: dict = {"magnification": header["magtotal"], "beam_energy": header["ht"]}
    if first_headers.size:
        fh = first_headers[0]
        when = datetime.fromtimestamp(int(fh["timestamp"]), tz=timezone.utc)
        general.update(date=when.date().isoformat(), time=when.time().isoformat(), time_zone="UTC")
        names = fh.dtype.names
        if "fcurrent" in names:
            tem["beam_current"] = _num(fh["fcurrent"])
            tem["defocus"] = _num(fh["objective"])
            tem["Stage"] = {
                "tilt_alpha": _num(fh["stagea"]),
                "tilt_beta": _num(fh["stageb"]),
                "x": _num(fh["stagex"]),
                "y": _num(fh["stagey"]),
                "z": _num(fh["stagez"]),
            }
    metadata = {"General": general, "Acquisition_instrument": {"TEM": tem}}
    if signal_units(first_headers) == "1/nm":
        metadata["Signal"] = {"signal_type": "diffraction"}
    return metadata


def original_metadata(header: dict) -> dict:
    return {"tvips_header": dict(header)}


def json_safe(obj):
    """``obj`` with numpy scalars/arrays, tuples, bytes and datetimes made JSON-serialisable."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_safe(obj.tolist())
    if isinstance(obj, (np.datetime64, np.timedelta64)):
        return str(obj)
    if isinstance(obj, np.generic):
        return json_safe(obj.item())
    if isinstance(obj, bytes):
        return obj.rstrip(b"\0").decode("latin-1")
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is None or isinstance(obj, (str, bool, int, float)):
        return obj
    return str(obj)
