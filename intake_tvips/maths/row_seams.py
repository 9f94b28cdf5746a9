"""Rows that are a period of the sample, not the scan's: a seam every few rows.

Pure numpy, no I/O. A sample that repeats every ``nx`` positions along the scan's rows
(a diagonal wave whose period along them is ``nx``, a grating) makes frames ``nx`` apart
look alike within rows of ``m nx``, often more alike than the frames a true row apart
(the wave's phase moves less across ``nx`` positions than across one row). Rows of
``nx`` then fit best, and where the period hides the fly-back (``m nx`` positions are
whole periods) no break tells them from the truth. Their image has a seam: of the pairs
of frames ``nx`` apart, those crossing a true row's end join positions a row and
``(m - 1) nx`` columns apart, the others a period apart, so the distance between
neighbouring fitted rows is larger at every ``m``-th row, in every block of ``m`` rows
at the same place. A true raster's row distances follow the sample, with no such
rhythm.

:func:`seam_period` looks for it: the distances per row on a log scale, less a moving
average over ``m`` rows (which takes out the sample's own trend), and in each block of
``m`` rows the row that differs most from its neighbours; where one place within the
blocks holds that row far more often than chance allows (a binomial tail) and by a
clear factor, the rows may be ``1 / m`` of the scan's.
"""

from __future__ import annotations

import math

import numpy as np

#: the rhythms looked for: a seam every 2 .. ``MAX_SEASON`` rows
MAX_SEASON = 4
#: blocks of ``m`` rows needed at least
MIN_BLOCKS = 8
#: the log10 chance below which one place holding the seam is believed (corrected for
#: every rhythm and place tried)
SEAM_LOG10_P = -8.0
#: ... and the factor by which the seam's row distance exceeds the block's others
#: (median over the blocks): noise-free smooth samples make tiny, regular rhythms
SEAM_FACTOR = 1.25


def seam_period(z: np.ndarray, nx: int) -> int | None:
    """The least ``m`` (2 .. ``MAX_SEASON``) for which the features ``z`` of frames a
    row of ``nx`` apart differ far more at one place in every block of ``m`` rows
    than elsewhere (module doc); ``None`` where no rhythm stands out."""
    distances = row_distances(z, nx)
    for m in range(2, MAX_SEASON + 1):
        log10_p, factor = _seam(distances, m)
        if log10_p + math.log10(m * (MAX_SEASON - 1)) < SEAM_LOG10_P and factor >= SEAM_FACTOR:
            return m
    return None


def row_distances(z: np.ndarray, nx: int) -> np.ndarray:
    """The mean squared distance between the features of each frame and the frame
    ``nx`` later, per row of ``nx`` frames (as many rows as have their next row)."""
    diff = z[nx:] - z[:-nx]
    per_frame = np.einsum("ij,ij->i", diff, diff)
    rows = per_frame.size // nx
    return per_frame[: rows * nx].reshape(rows, nx).mean(axis=1)


def _seam(distances: np.ndarray, m: int) -> tuple[float, float]:
    """``(log10 chance, factor)`` of the place in blocks of ``m`` rows that most often
    holds the block's largest detrended log distance: the binomial tail of that many
    hits of ``m`` equally likely places, and the median factor by which that place's
    distance exceeds the mean of its block's others. ``(0, 1)`` with too few blocks."""
    resid = _detrended(distances, m)
    blocks = resid.size // m
    if blocks < MIN_BLOCKS:
        return 0.0, 1.0
    table = resid[: blocks * m].reshape(blocks, m)
    jitter = np.random.default_rng(0).random(table.shape) * 1e-9  # ties: no place favoured
    tops = np.bincount((table + jitter).argmax(axis=1), minlength=m)
    place = int(tops.argmax())
    others = (table.sum(axis=1) - table[:, place]) / (m - 1)
    factor = math.exp(float(np.median(table[:, place] - others)))
    return _binomial_log10_sf(int(tops[place]), blocks, 1.0 / m), factor


def _detrended(distances: np.ndarray, m: int) -> np.ndarray:
    """Log ``distances`` (floored at a thousandth of their mean: noise-free flat rows
    are 0) less their centred moving average over ``m`` rows (a 2 x ``m`` average for
    even ``m``), over the rows that have one; the trend starts at the first row, so
    the blocks do too."""
    floor = 1e-3 * max(float(distances.mean()), 1e-300)
    logs = np.log(np.maximum(distances, floor))
    weights = np.ones(m) if m % 2 else np.r_[0.5, np.ones(m - 1), 0.5]
    half = (weights.size - 1) // 2
    trend = np.convolve(logs, weights / m, mode="valid")
    resid = logs[half : logs.size - half] - trend
    return resid[(m - half % m) % m :]  # blocks aligned with rows 0, m, 2m, ...


def _binomial_log10_sf(hits: int, n: int, p: float) -> float:
    """``log10 P(X >= hits)`` for ``X ~ Binomial(n, p)``, summed in logs."""
    terms = [
        math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
        + k * math.log(p) + (n - k) * math.log1p(-p)
        for k in range(hits, n + 1)
    ]  # fmt: skip
    top = max(terms)
    return (top + math.log(sum(math.exp(t - top) for t in terms))) / math.log(10)
