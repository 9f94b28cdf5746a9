"""Choosing the chunks of the lazy array from the ``rechunking`` parameter.

Pure: shapes in, dask chunk tuples out. Signal axes (the frame) are never split here;
navigation chunks follow the data layout so each chunk reads few contiguous ranges:

* ``"auto"``: dask's ``array.chunk-size`` budget; with a scan, blocks of whole scan rows
  (x is never split), which are contiguous runs of frames;
* ``False``: per-file chunks: on a stack (or a one-axis scan) one chunk per part (as
  RosettaSciIO); with a scan, the whole rows that each part starts;
* a dict ``{axis: chunks}`` (as for ``dask.array.rechunk``): navigation entries are the
  chunking itself; entries that split the signal axes are left for a ``rechunk`` step.
  Every entry is checked at open (:func:`check_axis_chunks`).
"""

from __future__ import annotations

import numpy as np
from dask.array.core import normalize_chunks
from dask.utils import parse_bytes

Chunks = tuple[tuple[int, ...], ...]


def auto_chunks(
    nav_shape: tuple[int, ...], frame_shape: tuple[int, int], dtype, scan: bool
) -> Chunks:
    """Chunks by dask's ``array.chunk-size``; whole rows when ``scan``."""
    if scan:
        spec = ("auto",) * (len(nav_shape) - 1) + (nav_shape[-1],) + tuple(frame_shape)
    else:
        spec = ("auto",) * len(nav_shape) + tuple(frame_shape)
    chunks = normalize_chunks(spec, nav_shape + tuple(frame_shape), dtype=np.dtype(dtype))
    return chunks[: len(nav_shape)]


def per_part_chunks(nav_shape: tuple[int, ...], part_starts: np.ndarray, fmap) -> Chunks:
    """One chunk per part on a stack or a one-axis scan; with a scan, the rows each part starts.

    On a scan of two or more axes, a y-chunk starts at every row whose first frame
    (``fmap.row_first_frames()``, one number a row) lies in another part than the
    previous row's.
    """
    starts = np.asarray(part_starts, dtype=np.int64)
    if len(nav_shape) == 1:
        first = int(getattr(fmap, "start", 0))  # the frame at position 0 (maybe < 0)
        cuts = starts[(starts > first) & (starts < first + nav_shape[0])] - first
        bounds = np.unique(np.concatenate([[0], cuts, [nav_shape[0]]]))
        return (tuple(int(c) for c in np.diff(bounds)) or (nav_shape[0],),)
    part_of_row = np.searchsorted(starts, fmap.row_first_frames(), side="right") - 1
    new_part = np.flatnonzero(np.diff(part_of_row) != 0) + 1  # flat rows starting a part
    ny = nav_shape[-2]
    bounds = sorted({0, ny} | {int(r) % ny for r in new_part})
    y_chunks = tuple(b - a for a, b in zip(bounds[:-1], bounds[1:]))
    return tuple((1,) * n for n in nav_shape[:-2]) + (y_chunks, (nav_shape[-1],))


_ALLOWED = (
    "a positive integer, -1 or None (the whole axis), 'auto' or a byte size such as "
    "'64MiB', or a tuple of positive integers summing to the axis length"
)


def check_axis_chunks(value, length: int, where: str) -> None:
    """Refuse a chunk spec for one axis that dask would choke on (or divide by zero)."""
    if value is None or (isinstance(value, str) and _is_size(value)):
        return
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        if value > 0 or value == -1:
            return
        raise ValueError(f"rechunking: {where} has chunk size {value}; allowed: {_ALLOWED}")
    if isinstance(value, (tuple, list)):
        ok = all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0 for v in value
        )
        if ok and sum(int(v) for v in value) == length:
            return
        raise ValueError(
            f"rechunking: {where} has chunks {tuple(value)!r}, which are not positive "
            f"integers summing to the axis length {length}; allowed: {_ALLOWED}"
        )
    raise ValueError(f"rechunking: {where} has chunks {value!r}; allowed: {_ALLOWED}")


def _is_size(text: str) -> bool:
    if text == "auto":
        return True
    try:
        return parse_bytes(text) > 0
    except (ValueError, TypeError):
        return False


def dict_chunks(
    rechunking: dict,
    nav_shape: tuple[int, ...],
    frame_shape: tuple[int, int],
    dtype,
    base: Chunks,
) -> tuple[Chunks, dict | None]:
    """Navigation chunks from a rechunk dict, plus what is left for a ``rechunk`` step.

    Every entry is checked against its axis first: a ``ValueError`` naming
    ``rechunking``, the axis and what is allowed, never dask's own error (or a
    ``ZeroDivisionError``) at open or at compute.
    """
    shape = tuple(nav_shape) + tuple(frame_shape)
    ndim = len(shape)
    nav, rest, seen = {}, {}, {}
    for key, value in rechunking.items():
        if (
            isinstance(key, bool)
            or not isinstance(key, (int, np.integer))
            or not (-ndim <= key < ndim)
        ):
            raise ValueError(
                f"rechunking dict keys must be axis numbers in {-ndim}..{ndim - 1} "
                f"for this {ndim}-D array of shape {shape}, got axis {key!r}"
            )
        axis = int(key) % ndim
        if axis in seen:
            raise ValueError(
                f"rechunking: axis {axis} is given twice (as {seen[axis]!r} and {key!r})"
            )
        seen[axis] = key
        check_axis_chunks(value, shape[axis], f"axis {key} (length {shape[axis]})")
        if axis < len(nav_shape):
            nav[axis] = value
        elif value not in (None, -1, frame_shape[axis - len(nav_shape)]):
            rest[axis] = value
    spec = tuple(nav.get(i, base[i]) for i in range(len(nav_shape))) + tuple(frame_shape)
    try:
        chunks = normalize_chunks(spec, shape, dtype=np.dtype(dtype), previous_chunks=None)
    except (ValueError, TypeError) as err:
        raise ValueError(f"rechunking {rechunking!r} does not fit this array: {err}") from None
    return chunks[: len(nav_shape)], (rest or None)


def plan_chunks(
    rechunking, fmap, frame_shape: tuple[int, int], dtype, part_starts: np.ndarray
) -> tuple[Chunks, dict | None]:
    """Navigation chunks for ``rechunking``, and any rechunk left for the signal axes.

    ``fmap`` is the frame map (its ``shape`` is the navigation shape); a scan of two or
    more axes is chunked in whole rows. Only ``rechunking=False`` looks at where the
    rows' frames are, one number per row.
    """
    nav_shape = tuple(fmap.shape)
    rows = len(nav_shape) >= 2
    if isinstance(rechunking, str) and rechunking == "auto":
        return auto_chunks(nav_shape, frame_shape, dtype, rows), None
    if rechunking is False or rechunking is None:
        return per_part_chunks(nav_shape, part_starts, fmap), None
    if isinstance(rechunking, dict):
        base = auto_chunks(nav_shape, frame_shape, dtype, rows)
        return dict_chunks(rechunking, nav_shape, frame_shape, dtype, base)
    raise ValueError(
        f"rechunking must be 'auto', False or a dict {{axis: chunks}}, got {rechunking!r}"
    )
