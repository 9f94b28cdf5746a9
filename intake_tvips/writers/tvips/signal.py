"""The writer's input checked: options, axes, the data's shape and dtype, plain numbers.

Everything the reader would refuse is refused here, before a byte is written, with a
``ValueError`` naming the parameter or the metadata field at fault.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Mapping

import numpy as np

from intake_tvips.format.layout import (
    MAX_DIM,
    MAX_FRAME_HEADER_SIZE,
    PIXEL_DTYPES,
    V1_FRAME_HEADER_SIZE,
    V2_MIN_FRAME_HEADER_SIZE,
)

_F4_MAX = float(np.finfo(np.float32).max)


def check_int(name: str, value, minimum: int) -> int:
    """``value`` as an ``int >= minimum``; ``ValueError`` naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_options(version, frame_header_extra_bytes, mode, max_file_size) -> tuple[int, int]:
    """Validate the writer's options; returns ``(version, frame header bytes)``."""
    if version not in (1, 2) or isinstance(version, bool):
        raise ValueError(f"version must be 1 or 2, got {version!r}")
    extra = check_int("frame_header_extra_bytes", frame_header_extra_bytes, minimum=0)
    if version == 1 and extra:
        raise ValueError(
            "frame_header_extra_bytes applies to version 2 only: version 1 frame headers "
            f"are always {V1_FRAME_HEADER_SIZE} bytes"
        )
    if V2_MIN_FRAME_HEADER_SIZE + extra > MAX_FRAME_HEADER_SIZE:
        raise ValueError(
            f"frame_header_extra_bytes={extra} makes {V2_MIN_FRAME_HEADER_SIZE + extra}-byte "
            f"frame headers; readers accept at most {MAX_FRAME_HEADER_SIZE} bytes "
            f"(frame_header_extra_bytes <= {MAX_FRAME_HEADER_SIZE - V2_MIN_FRAME_HEADER_SIZE})"
        )
    if mode is not None and (isinstance(mode, bool) or mode not in (1, 2)):
        raise ValueError(f"mode must be None, 1 (imaging) or 2 (diffraction), got {mode!r}")
    if max_file_size is not None:
        check_int("max_file_size", max_file_size, minimum=1)
    fhb = V1_FRAME_HEADER_SIZE if version == 1 else V2_MIN_FRAME_HEADER_SIZE + extra
    return int(version), fhb


def check_data(data) -> tuple[np.dtype, tuple[int, ...]]:
    """The pixel dtype and the shape of ``signal["data"]``, if TVIPS can hold them."""
    shape = tuple(data.shape)
    if any(not isinstance(n, numbers.Integral) for n in shape):
        raise ValueError(
            f"signal data has unknown chunk sizes (shape {shape}): call "
            "data.compute_chunk_sizes() on the dask array first"
        )
    dtype = np.dtype(data.dtype)
    if dtype.kind != "u" or 8 * dtype.itemsize not in PIXEL_DTYPES:
        raise ValueError(
            f"cannot write data of dtype {dtype} to TVIPS: the format stores uint8 or uint16 "
            "pixels (uint32 and uint64 too, which TVIPS's own software does not read); "
            "convert the data explicitly (e.g. data.astype('uint16')) after checking its range"
        )
    if dtype.itemsize > 2:
        warnings.warn(
            f"writing {8 * dtype.itemsize}-bit pixels: TVIPS's own software reads only 8 and "
            "16 bits per pixel (RosettaSciIO and intake-tvips read these files)",
            UserWarning,
            stacklevel=4,
        )
    if data.ndim >= 2:
        dimy, dimx = shape[-2:]
        if not (0 < dimy <= MAX_DIM and 0 < dimx <= MAX_DIM):
            raise ValueError(
                f"signal data has frames of {dimy} x {dimx} pixels: TVIPS frames are "
                f"1..{MAX_DIM} pixels high and wide"
            )
    if data.ndim > 3 and 0 in shape[:-2]:
        raise ValueError(
            f"signal data has a scan of shape {shape[:-2]} with no position: a scan "
            "needs at least one position along every navigation axis"
        )
    return dtype, shape


def ordered_axes(signal: dict, data) -> list[dict]:
    """The axes in array order; checks that exactly the last two are signal axes."""
    axes = list(signal.get("axes") or [])
    if not axes and data.ndim >= 2:  # no axes given: frames, unit scale, no units
        axes = [{"size": n, "navigate": True} for n in data.shape[:-2]]
        axes += [{"size": n, "navigate": False} for n in data.shape[-2:]]
    if all(isinstance(a, Mapping) and "index_in_array" in a for a in axes):
        axes.sort(key=lambda a: a["index_in_array"])
    if len(axes) != data.ndim:
        raise ValueError(
            f"the signal has {len(axes)} axes but its data has {data.ndim} dimensions "
            f"(shape {tuple(data.shape)})"
        )
    n_signal = sum(not a.get("navigate", False) for a in axes)
    if n_signal != 2 or any(a.get("navigate", False) for a in axes[-2:]):
        raise ValueError(
            "TVIPS stores 2D frames: the signal needs exactly two signal axes "
            f"(navigate=False), the last two of the array; it has {n_signal}"
        )
    for i, a in enumerate(axes):
        if "size" in a and a["size"] != data.shape[i]:
            raise ValueError(
                f"axis {i} ({a.get('name', '')!r}) has size {a['size']} but the data has "
                f"{data.shape[i]} along it"
            )
    return axes


def axis_number(axes: list[dict], i: int, key: str, default: float) -> float:
    """``axes[i][key]`` as a finite number (``ValueError`` naming the axis and key)."""
    name = axes[i].get("name") or ""
    return finite_number(f"axes[{i}] ({name!r}) {key}", axes[i].get(key, default))


def finite_number(name: str, value) -> float:
    """``value`` as a finite float: ``ValueError`` naming ``name`` for NaN, inf, text."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} = {value!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} = {value!r} is not a finite number")
    return number


def float32_number(name: str, value) -> float:
    """``value`` as a finite number that a 32-bit float field holds."""
    number = finite_number(name, value)
    if abs(number) > _F4_MAX:
        raise ValueError(f"{name} = {value!r} does not fit a 32-bit float field")
    return number
