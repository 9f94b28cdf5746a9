"""Virtual images (a detector mask applied to every frame) and mean / max patterns."""

from __future__ import annotations

import numpy as np

from intake_tvips.process.frames import Frames, check_frames, is_dask, map_reduce_frames


def _grid(shape, centre):
    dy, dx = (int(n) for n in shape)
    cy, cx = ((dy - 1) / 2, (dx - 1) / 2) if centre is None else (float(c) for c in centre)
    yy, xx = np.ogrid[:dy, :dx]
    return (yy - cy) ** 2 + (xx - cx) ** 2


def disc_mask(shape: tuple[int, int], radius: float, centre=None) -> np.ndarray:
    """A ``shape`` bool mask: the pixels within ``radius`` of ``centre`` ``(y, x)``
    (default: the detector's centre ``((dy - 1) / 2, (dx - 1) / 2)``), edges included."""
    return _grid(shape, centre) <= float(radius) ** 2


def annulus_mask(shape: tuple[int, int], inner: float, outer: float, centre=None) -> np.ndarray:
    """A ``shape`` bool mask: ``inner <= distance to centre <= outer`` (see :func:`disc_mask`)."""
    if not 0 <= float(inner) <= float(outer):
        raise ValueError(f"annulus radii must satisfy 0 <= inner <= outer, got {inner}, {outer}")
    r2 = _grid(shape, centre)
    return (r2 >= float(inner) ** 2) & (r2 <= float(outer) ** 2)


def virtual_image(data: Frames, mask) -> Frames:
    """The sum over each frame of its pixels weighted by ``mask`` (``(dy, dx)``: bool for
    a detector like a disc or an annulus, or any weights): shape ``data.shape[:-2]``,
    float64."""
    check_frames(data)
    mask = np.asarray(mask, dtype=np.float64)
    if mask.shape != tuple(data.shape[-2:]):
        raise ValueError(f"mask shape {mask.shape} is not the frames' {tuple(data.shape[-2:])}")

    def weighted(block):
        return np.tensordot(block.astype(np.float64, copy=False), mask, axes=2)

    return map_reduce_frames(weighted, data, np.float64)


def mean_pattern(data: Frames) -> Frames:
    """The mean frame over every scan position (float64, shape ``(dy, dx)``)."""
    check_frames(data)
    axes = tuple(range(data.ndim - 2))
    return data.mean(axis=axes, dtype=np.float64) if axes else data.astype(np.float64)


def max_pattern(data: Frames) -> Frames:
    """The maximum of every detector pixel over the scan (shape ``(dy, dx)``, dtype kept)."""
    check_frames(data)
    axes = tuple(range(data.ndim - 2))
    if not axes:
        return data
    return data.max(axis=axes) if is_dask(data) else np.asarray(data).max(axis=axes)
