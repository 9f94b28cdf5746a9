"""The shared plumbing of the per-frame functions: whole frames per chunk, one map per block.

A per-frame function sees whole detector frames: :func:`map_frames` rechunks a dask array
so that its last two axes are single chunks (a no-op for the reader's arrays) and maps a
numpy function over the blocks; a numpy array is passed to the function directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np

#: what the functions take and give: a numpy array, or a dask array (``dask.array.Array``)
Frames = TypeVar("Frames")


def is_dask(data) -> bool:
    """Whether ``data`` is a dask array (without importing dask for numpy input)."""
    return type(data).__module__.startswith("dask.")


def check_frames(data, name: str = "data", ndim_min: int = 2) -> None:
    """Refuse anything that is not an array of frames ``(..., dy, dx)``."""
    if not hasattr(data, "shape") or not hasattr(data, "dtype"):
        raise TypeError(f"{name} must be a numpy or dask array, got {type(data).__name__}")
    if data.ndim < ndim_min:
        raise ValueError(
            f"{name} must have at least {ndim_min} axes (..., dy, dx), got shape {data.shape}"
        )
    if any(n == 0 for n in data.shape[-2:]):
        raise ValueError(f"{name} has empty frames: shape {data.shape}")


def whole_frames(data):
    """``data`` with every chunk holding whole frames (the last two axes unsplit)."""
    if len(data.chunks[-1]) == 1 and len(data.chunks[-2]) == 1:
        return data
    return data.rechunk({data.ndim - 2: -1, data.ndim - 1: -1})


def map_frames(
    func: Callable[[np.ndarray], np.ndarray],
    data,
    frame_shape: tuple[int, int] | None = None,
    dtype=None,
):
    """``func`` (numpy, ``(..., dy, dx) -> (..., dy', dx')``) over the blocks of ``data``.

    ``frame_shape``: the frames' shape after ``func`` (default: unchanged); ``dtype``:
    the output dtype (default: ``data.dtype``).
    """
    dtype = np.dtype(data.dtype if dtype is None else dtype)
    if not is_dask(data):
        return func(np.asarray(data))
    data = whole_frames(data)
    if frame_shape is None:
        frame_shape = data.shape[-2:]
    chunks = data.chunks[:-2] + ((frame_shape[0],), (frame_shape[1],))
    return data.map_blocks(func, chunks=chunks, dtype=dtype, meta=np.empty((0,) * data.ndim, dtype))


def map_reduce_frames(func: Callable[[np.ndarray], np.ndarray], data, dtype, tail: int = 0):
    """``func`` (numpy, ``(..., dy, dx) -> (...)``, or ``(..., tail)`` when ``tail``) over
    the blocks of ``data``: a value, or a small vector of ``tail`` values, per frame."""
    if not is_dask(data):
        return func(np.asarray(data))
    data = whole_frames(data)
    if tail:
        chunks = data.chunks[:-2] + ((tail,),)
        meta = np.empty((0,) * (data.ndim - 1), dtype)
        return data.map_blocks(func, chunks=chunks, drop_axis=[data.ndim - 1], meta=meta)
    return data.map_blocks(
        func,
        chunks=data.chunks[:-2],
        drop_axis=[data.ndim - 2, data.ndim - 1],
        meta=np.empty((0,) * (data.ndim - 2), dtype),
    )
