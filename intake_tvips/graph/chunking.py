"""Choosing the chunks of the lazy array from the ``rechunking`` parameter.

Pure: shapes in, dask chunk tuples out. Signal axes (the frame) are never split here;
navigation chunks follow the data layout so each chunk reads few contiguous ranges:

* ``"auto"``: dask's ``array.chunk-size`` budget; with a scan, blocks of whole scan rows
  (x is never split), which are contiguous runs of frames;
* ``False``: per-file chunks: on a stack one chunk per part (as RosettaSciIO); with a
  scan, the whole rows that each part starts;
* a dict ``{axis: chunks}`` (as for ``dask.array.rechunk``): navigation entries are the
  chunking itself; entries that split the signal axes are left for a ``rechunk`` step.
"""

from __future__ import annotations

import numpy as np
from dask.array.core import normalize_chunks

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


def per_part_chunks(
    nav_shape: tuple[int, ...], part_starts: np.ndarray, row_first_frames: np.ndarray | None
) -> Chunks:
    """One chunk per part on a stack; with a scan, the rows each part starts.

    ``row_first_frames``: for a scan, the first C-order frame of every (flat) scan row.
    """
    starts = np.asarray(part_starts, dtype=np.int64)
    if row_first_frames is None:  # stack
        counts = tuple(int(c) for c in np.diff(starts) if c > 0)
        return (counts or (nav_shape[0],),)
    part_of_row = np.searchsorted(starts, row_first_frames, side="right") - 1
    new_part = np.flatnonzero(np.diff(part_of_row) != 0) + 1  # flat rows starting a part
    ny = nav_shape[-2]
    bounds = sorted({0, ny} | {int(r) % ny for r in new_part})
    y_chunks = tuple(b - a for a, b in zip(bounds[:-1], bounds[1:]))
    return tuple((1,) * n for n in nav_shape[:-2]) + (y_chunks, (nav_shape[-1],))


def dict_chunks(
    rechunking: dict,
    nav_shape: tuple[int, ...],
    frame_shape: tuple[int, int],
    dtype,
    base: Chunks,
) -> tuple[Chunks, dict | None]:
    """Navigation chunks from a rechunk dict, plus what is left for a ``rechunk`` step."""
    ndim = len(nav_shape) + 2
    nav, rest = {}, {}
    for key, value in rechunking.items():
        if (
            isinstance(key, bool)
            or not isinstance(key, (int, np.integer))
            or not (-ndim <= key < ndim)
        ):
            raise ValueError(
                f"rechunking dict keys must be axis numbers in {-ndim}..{ndim - 1} "
                f"for this {ndim}-D array, got {key!r}"
            )
        axis = int(key) % ndim
        if axis < len(nav_shape):
            nav[axis] = value
        elif value not in (None, -1, frame_shape[axis - len(nav_shape)]):
            rest[axis] = value
    spec = tuple(nav.get(i, base[i]) for i in range(len(nav_shape))) + tuple(frame_shape)
    try:
        chunks = normalize_chunks(
            spec, nav_shape + tuple(frame_shape), dtype=np.dtype(dtype), previous_chunks=None
        )
    except (ValueError, TypeError) as err:
        raise ValueError(f"rechunking {rechunking!r} does not fit this array: {err}") from None
    return chunks[: len(nav_shape)], (rest or None)


def plan_chunks(
    rechunking,
    nav_shape: tuple[int, ...],
    frame_shape: tuple[int, int],
    dtype,
    scan: bool,
    part_starts: np.ndarray,
    row_first_frames: np.ndarray | None,
) -> tuple[Chunks, dict | None]:
    """Navigation chunks for ``rechunking``, and any rechunk left for the signal axes."""
    if isinstance(rechunking, str) and rechunking == "auto":
        return auto_chunks(nav_shape, frame_shape, dtype, scan), None
    if rechunking is False or rechunking is None:
        return per_part_chunks(nav_shape, part_starts, row_first_frames), None
    if isinstance(rechunking, dict):
        base = auto_chunks(nav_shape, frame_shape, dtype, scan)
        return dict_chunks(rechunking, nav_shape, frame_shape, dtype, base)
    raise ValueError(
        f"rechunking must be 'auto', False or a dict {{axis: chunks}}, got {rechunking!r}"
    )
