"""Geometry of the frames and the scan: crop, detector binning, rotation by quarter turns, flips."""

from __future__ import annotations

import warnings

import numpy as np

from intake_tvips.process.frames import Frames, check_frames, is_dask, map_frames


class CroppedEdgeWarning(UserWarning):
    """Binning cropped detector rows or columns that the factor does not divide."""


def _span(value, size: int, name: str) -> slice:
    if value is None:
        return slice(0, size)
    try:
        start, stop = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be (start, stop), got {value!r}") from None
    if not 0 <= start < stop <= size:
        raise ValueError(f"{name}=({start}, {stop}) is outside 0..{size} (or empty)")
    return slice(start, stop)


def crop(data: Frames, scan=None, detector=None) -> Frames:
    """Crop the scan and/or the detector.

    ``scan``: ``((y0, y1), (x0, x1))`` over the two axes before the frames (the scan axes
    of a 4-D array; for a stack ``(n, dy, dx)`` give ``((i0, i1),)``); ``detector``:
    ``((y0, y1), (x0, x1))`` over the frames. Half-open ranges, as Python slices. A range
    outside the array raises ``ValueError`` naming it.
    """
    check_frames(data)
    index = [slice(None)] * data.ndim
    if scan is not None:
        nav = data.ndim - 2
        if len(scan) != nav:
            raise ValueError(f"scan must give {nav} (start, stop) ranges, got {scan!r}")
        for axis, value in enumerate(scan):
            index[axis] = _span(value, data.shape[axis], f"scan[{axis}]")
    if detector is not None:
        if len(detector) != 2:
            raise ValueError(f"detector must be ((y0, y1), (x0, x1)), got {detector!r}")
        for k, value in enumerate(detector):
            axis = data.ndim - 2 + k
            index[axis] = _span(value, data.shape[axis], f"detector[{k}]")
    return data[tuple(index)]


def bin_frames(data: Frames, factor: int, method: str = "mean", dtype=None) -> Frames:
    """Bin the detector by ``factor`` x ``factor`` pixels: their ``"mean"`` (default) or
    ``"sum"``.

    Rows and columns that ``factor`` does not divide are cropped at the far edges (a
    :class:`CroppedEdgeWarning` says how many). The result's dtype: ``float64`` for the
    mean (exact for any integer input), the input's for a sum of floats, ``int64`` /
    ``uint64`` for a sum of signed / unsigned integers, unless ``dtype`` is given.
    """
    check_frames(data)
    factor = int(factor)
    if factor < 1:
        raise ValueError(f"binning factor must be a positive integer, got {factor}")
    if method not in ("mean", "sum"):
        raise ValueError(f"binning method must be 'mean' or 'sum', got {method!r}")
    dy, dx = data.shape[-2:]
    ny, nx = dy // factor, dx // factor
    if ny == 0 or nx == 0:
        raise ValueError(f"binning factor {factor} is larger than the frames ({dy} x {dx})")
    if (ny * factor, nx * factor) != (dy, dx):
        warnings.warn(
            f"binning by {factor}: {dy - ny * factor} rows and {dx - nx * factor} columns "
            f"cropped (frames {dy} x {dx} -> {ny * factor} x {nx * factor})",
            CroppedEdgeWarning,
            stacklevel=2,
        )
        data = data[..., : ny * factor, : nx * factor]
    if dtype is None:
        dtype = _binned_dtype(np.dtype(data.dtype), method)
    dtype = np.dtype(dtype)

    def binned(block):
        shaped = block.reshape(block.shape[:-2] + (ny, factor, nx, factor))
        total = shaped.sum(axis=(-3, -1), dtype=dtype if method == "sum" else np.float64)
        if method == "mean":
            total /= factor * factor
        return total.astype(dtype, copy=False)

    if factor == 1:
        return data.astype(dtype) if data.dtype != dtype else data
    return map_frames(binned, data, (ny, nx), dtype)


def _binned_dtype(dtype: np.dtype, method: str) -> np.dtype:
    if method == "mean":
        return np.dtype(np.float64)
    if dtype.kind == "u" or dtype.kind == "b":
        return np.dtype(np.uint64)
    if dtype.kind == "i":
        return np.dtype(np.int64)
    return dtype


def rotate_flip(data: Frames, quarter_turns: int = 0, flip: str | None = None) -> Frames:
    """Rotate every frame by ``quarter_turns`` x 90 degrees (counter-clockwise, as
    ``numpy.rot90`` over the last two axes), then flip it: ``flip`` is ``None``, ``"x"``
    (left-right: the columns reversed) or ``"y"`` (up-down: the rows reversed)."""
    check_frames(data)
    if flip not in (None, "x", "y"):
        raise ValueError(f"flip must be None, 'x' or 'y', got {flip!r}")
    k = int(quarter_turns) % 4
    axes = (data.ndim - 2, data.ndim - 1)
    if is_dask(data):
        import dask.array as da

        out = da.rot90(data, k, axes=axes)
        return out if flip is None else da.flip(out, axes[0] if flip == "y" else axes[1])
    out = np.rot90(np.asarray(data), k, axes=axes)
    return out if flip is None else np.flip(out, axes[0] if flip == "y" else axes[1])
