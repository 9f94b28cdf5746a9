"""Hot and dead pixels: found (a fixed threshold, or outliers of a sample of frames) and
replaced by the median of their eight neighbours.

The median of eight values is taken as ``scipy.ndimage.median_filter`` ranks them (the
upper of the two middle values), so the dtype is kept; the frame's edges are extended
with their nearest pixels (``mode="nearest"``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from intake_tvips._optional import require
from intake_tvips.process.frames import Frames, check_frames, map_frames
from intake_tvips.process.sample import DEFAULT_SAMPLE, sample_frames

_NEIGHBOURS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]


@dataclass(frozen=True)
class BadPixels:
    """The detector pixels found hot or dead in a sample of frames."""

    #: ``(dy, dx)`` bool, True where a pixel is replaced
    mask: np.ndarray
    #: pixels whose sample mean is far above their neighbours'
    hot: int
    #: pixels whose sample mean is far below their neighbours' (or always zero)
    dead: int
    #: frames in the sample
    frames: int

    def __str__(self) -> str:
        return f"{self.hot} hot and {self.dead} dead pixels (from {self.frames} frames)"


def find_bad_pixels(
    data: Frames, n_sigma: float = 8.0, sample: int = DEFAULT_SAMPLE, scheduler=None, frames=None
) -> BadPixels:
    """Hot and dead pixels of ``data`` from the mean of a bounded sample of frames
    (``frames``, or ``sample`` frames read by :func:`sample_frames`).

    Bad pixels stand alone: a pixel is hot where its sample mean exceeds twice the
    largest of its 8 neighbours' plus ``n_sigma`` robust standard deviations (1.4826 x
    the median absolute deviation of the mean minus its 3 x 3 median, over the
    detector), dead where it falls below half the smallest of theirs minus as much, or
    is zero in every sampled frame while none of its neighbours is. Features a few
    pixels wide (a disc, a Bragg spot) are never flagged.
    """
    ndimage = require("scipy.ndimage", "process", "finding bad pixels")
    if frames is None:
        check_frames(data)
        frames = sample_frames(data, sample, scheduler)
    frames = np.asarray(frames)
    mean = frames.reshape((-1,) + frames.shape[-2:]).mean(axis=0, dtype=np.float64)
    ring = np.ones((3, 3), bool)
    ring[1, 1] = False
    diff = mean - ndimage.median_filter(mean, size=3, mode="nearest")
    spread = 1.4826 * float(np.median(np.abs(diff - np.median(diff))))
    margin = n_sigma * spread
    most = ndimage.maximum_filter(mean, footprint=ring, mode="nearest")
    least = ndimage.minimum_filter(mean, footprint=ring, mode="nearest")
    hot = mean > 2 * most + margin
    dead = (mean < 0.5 * least - margin) | ((mean == 0) & (least > 0))
    return BadPixels(hot | dead, int(hot.sum()), int(dead.sum()), int(len(frames)))


def neighbour_median(block: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``block`` (``(..., dy, dx)``) with the pixels where ``mask`` is True (a ``(dy, dx)``
    mask, or one of ``block``'s shape) replaced by the median of their 8 neighbours."""
    out = np.array(block, copy=True)
    full = np.broadcast_to(mask, block.shape)
    where = np.nonzero(full)
    if not where[0].size:
        return out
    dy, dx = block.shape[-2:]
    lead, ys, xs = where[:-2], where[-2], where[-1]
    values = np.stack(
        [
            block[lead + (np.clip(ys + oy, 0, dy - 1), np.clip(xs + ox, 0, dx - 1))]
            for oy, ox in _NEIGHBOURS
        ],
        axis=-1,
    )
    out[where] = np.partition(values, 4, axis=-1)[..., 4]
    return out


def replace_pixels(data: Frames, mask=None, threshold: float | None = None) -> Frames:
    """Replace bad pixels by the median of their 8 neighbours, frame by frame.

    ``mask``: a ``(dy, dx)`` bool array (e.g. :attr:`BadPixels.mask`), the same pixels in
    every frame; ``threshold``: also every pixel above it in a frame (hot pixels as a
    fixed threshold; the neighbours' median may itself exceed it). At least one of them.
    """
    check_frames(data)
    if mask is None and threshold is None:
        raise ValueError("replace_pixels needs a mask, a threshold, or both")
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != tuple(data.shape[-2:]):
            raise ValueError(f"mask shape {mask.shape} is not the frames' {data.shape[-2:]}")

    def replaced(block):
        where = np.zeros(block.shape[-2:], bool) if mask is None else mask
        if threshold is not None:
            where = where | (block > threshold)
        return neighbour_median(block, where)

    return map_frames(replaced, data)
