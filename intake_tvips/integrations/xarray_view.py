"""A signal dictionary (what :func:`intake_tvips.file_reader` returns) as an xarray.DataArray.

Dimensions are named as the axes say (``y, x, dy, dx`` for a scan, ``time, dy, dx`` for a
stack; unnamed leading scan axes become ``scan_0``, ``scan_1``, ...), each with a
coordinate ``offset + scale * arange(size)`` whose ``units`` attribute is the axis' units;
a stack's ``time`` coordinate is ``datetime64[ns]`` (UTC, from the frame headers' unix
seconds and milliseconds).

The attributes are netCDF-safe, so ``to_netcdf`` and ``to_zarr`` both store them: flat
strings and numbers, with the nested ones as JSON text: ``axes``, ``tvips_header`` (the
series header), ``metadata`` (HyperSpy's tree), ``scan_parameters``. ``source`` is the
URL. :func:`decode_attrs` gives the nested values back as dicts and lists.
"""

from __future__ import annotations

import json

import numpy as np

from intake_tvips._optional import require
from intake_tvips.reading.metadata import json_safe

#: attributes stored as JSON text (nested values); :func:`decode_attrs` parses them
JSON_ATTRS = ("axes", "tvips_header", "metadata", "scan_parameters")


def dimension_names(axes: list[dict]) -> list[str]:
    """The axes' names; unnamed (or repeated) ones become ``scan_0``, ``scan_1``, ..."""
    names: list[str] = []
    for i, ax in enumerate(axes):
        name = str(ax.get("name") or "")
        if not name or name in names:
            name = f"scan_{i}"
        names.append(name)
    return names


def netcdf_attrs(attrs: dict) -> dict:
    """``attrs`` with every value a string or a number: anything else (dicts, lists,
    ``None``, booleans) as JSON text."""
    out = {}
    for key, value in json_safe(attrs).items():
        plain = isinstance(value, (str, int, float)) and not isinstance(value, bool)
        out[key] = value if plain else json.dumps(value)
    return out


def decode_attrs(attrs: dict) -> dict:
    """The attributes of our arrays with the JSON-text ones (:data:`JSON_ATTRS`) parsed."""
    out = dict(attrs)
    for key in JSON_ATTRS:
        if isinstance(out.get(key), str):
            out[key] = json.loads(out[key])
    return out


def is_time_axis(axis: dict) -> bool:
    """A stack's time axis (unix seconds): its coordinate is datetime64."""
    return axis.get("name") == "time" and axis.get("units") == "s"


def axis_coordinate(axis: dict):
    """``(values, attrs)`` of an axis' coordinate: ``offset + scale * arange(size)``;
    ``datetime64[ns]`` for a time axis (rounded to the microsecond: frame times are
    whole milliseconds)."""
    n = int(axis["size"])
    if is_time_axis(axis):
        t0 = np.int64(round(float(axis["offset"]) * 1e6))
        dt = np.int64(round(float(axis["scale"]) * 1e6))
        micros = t0 + dt * np.arange(n, dtype=np.int64)
        return (micros * 1000).astype("datetime64[ns]"), {}
    values = axis["offset"] + axis["scale"] * np.arange(n, dtype=np.float64)
    return values, {"units": axis["units"] or ""}


def xarray_attrs(signal: dict, attrs: dict | None = None) -> dict:
    """The (netCDF-safe) attributes of the array of ``signal``, plus ``attrs``."""
    all_attrs = {
        "axes": sorted(signal["axes"], key=lambda a: a["index_in_array"]),
        "tvips_header": signal.get("original_metadata", {}).get("tvips_header", {}),
        "metadata": signal.get("metadata", {}),
    }
    all_attrs.update(attrs or {})
    return netcdf_attrs(all_attrs)


def signal_coords(signal: dict) -> tuple[list[str], dict]:
    """``(dims, coords)`` of the signal's axes (coords: ``xarray.Variable`` by name)."""
    xr = require("xarray", "xarray", "an xarray view")

    axes = sorted(signal["axes"], key=lambda a: a["index_in_array"])
    dims = dimension_names(axes)
    coords = {}
    for dim, ax in zip(dims, axes):
        values, coord_attrs = axis_coordinate(ax)
        coords[dim] = xr.Variable(dim, values, attrs=coord_attrs)
    return dims, coords


def signal_to_xarray(signal: dict, name: str = "data", attrs: dict | None = None):
    """The signal dictionary as a (lazy, if its data is dask) ``xarray.DataArray``."""
    xr = require("xarray", "xarray", "an xarray view")

    dims, coords = signal_coords(signal)
    return xr.DataArray(
        signal["data"], dims=dims, coords=coords, name=name, attrs=xarray_attrs(signal, attrs)
    )
