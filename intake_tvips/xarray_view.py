"""A signal dictionary (what :func:`intake_tvips.file_reader` returns) as an xarray.DataArray.

Dimensions are named as the axes say (``y, x, dy, dx`` for a scan, ``time, dy, dx`` for a
stack; unnamed leading scan axes become ``scan_0``, ``scan_1``, ...), each with a
coordinate ``offset + scale * arange(size)`` whose ``units`` attribute is the axis' units.
The attributes are JSON-safe (so they survive a round trip through Zarr): ``axes``,
``tvips_header`` (the series header), ``metadata`` (HyperSpy's tree) and whatever the
caller adds (the source URL, the scan parameters).
"""

from __future__ import annotations

import math

import numpy as np

from intake_tvips._optional import require


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


def dimension_names(axes: list[dict]) -> list[str]:
    """The axes' names; unnamed (or repeated) ones become ``scan_0``, ``scan_1``, ..."""
    names: list[str] = []
    for i, ax in enumerate(axes):
        name = str(ax.get("name") or "")
        if not name or name in names:
            name = f"scan_{i}"
        names.append(name)
    return names


def signal_to_xarray(signal: dict, name: str = "data", attrs: dict | None = None):
    """The signal dictionary as a (lazy, if its data is dask) ``xarray.DataArray``."""
    xr = require("xarray", "xarray", "an xarray view")

    axes = sorted(signal["axes"], key=lambda a: a["index_in_array"])
    dims = dimension_names(axes)
    coords = {}
    for dim, ax in zip(dims, axes):
        values = ax["offset"] + ax["scale"] * np.arange(ax["size"], dtype=np.float64)
        coords[dim] = xr.Variable(dim, values, attrs={"units": ax["units"] or ""})
    all_attrs = {
        "axes": json_safe(axes),
        "tvips_header": json_safe(signal.get("original_metadata", {}).get("tvips_header", {})),
        "metadata": json_safe(signal.get("metadata", {})),
    }
    all_attrs.update(json_safe(attrs or {}))
    return xr.DataArray(signal["data"], dims=dims, coords=coords, name=name, attrs=all_attrs)
