"""Filters of every frame on its own: median and Gaussian (``scipy.ndimage``)."""

from __future__ import annotations

import numpy as np

from intake_tvips._optional import require
from intake_tvips.process.frames import Frames, check_frames, map_frames


def median_filter(data: Frames, size: int = 3) -> Frames:
    """Every frame through ``scipy.ndimage.median_filter`` with a ``size`` x ``size``
    window (``mode="reflect"``, its default); the dtype is kept."""
    check_frames(data)
    size = int(size)
    if size < 1:
        raise ValueError(f"median filter size must be a positive integer, got {size}")
    ndimage = require("scipy.ndimage", "process", "the median filter")
    window = (1,) * (data.ndim - 2) + (size, size)
    return map_frames(lambda block: ndimage.median_filter(block, size=window), data)


def gaussian_filter(data: Frames, sigma: float, dtype=np.float32) -> Frames:
    """Every frame through ``scipy.ndimage.gaussian_filter`` with standard deviation
    ``sigma`` pixels (``mode="reflect"``, truncated at 4 sigma), computed on the frames
    cast to ``dtype`` (default ``float32``, which the result keeps)."""
    check_frames(data)
    sigma = float(sigma)
    if not sigma >= 0:
        raise ValueError(f"gaussian sigma must be >= 0, got {sigma}")
    ndimage = require("scipy.ndimage", "process", "the Gaussian filter")
    sigmas = (0,) * (data.ndim - 2) + (sigma, sigma)
    dtype = np.dtype(dtype)

    def filtered(block):
        return ndimage.gaussian_filter(block.astype(dtype, copy=False), sigma=sigmas)

    return map_frames(filtered, data, dtype=dtype)
