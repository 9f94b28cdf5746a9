"""Events that repeat with a scan's row period, in a sequence of per-frame features.

Pure numpy, no I/O. ``features`` are a few numbers per frame in acquisition order (e.g.
detector-cell sums, weighted by their signal). A raster scan leaves three kinds of trace:

* **breaks** (:func:`step_distances`): consecutive frames of a plain raster are
  neighbours on the sample except across the fly-back from a row's end to the next row's
  start, once per row;
* **folds**: a snake (rows alternately backwards) turns at each row's end, so the frames
  ``T - 1 - j`` and ``T + j`` around a turn ``T`` sit on neighbouring rows at the same
  column: a mirror in time, once per row (fitted with the snake's roll in
  :mod:`intake_tvips.maths.pixel_raster`);
* **pair breaks** (``step_distances(lag=2)``): a scan winding along y (RosettaSciIO's
  rule: every second column reversed along y) alternates two rows of the sample, so
  frames two apart are neighbours except across a row's end.

:func:`periodic_events` finds the period and phase at which such events repeat, how
consistently (the share of periods whose strongest event sits at that phase) and how
unlikely that is by chance (a binomial tail, corrected for every period and phase tried).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: at least this many periods must be seen to call a period
MIN_PERIODS = 4


@dataclass(frozen=True)
class Periodicity:
    """Events repeating every ``period`` samples at ``phase`` (``0 <= phase < period``).

    ``share``: of the ``periods`` whole periods seen, the share whose strongest event
    sits at ``phase``; ``log10_p``: the chance of that many by luck (events placed at
    random), corrected for every period and phase tried; ``contrast``: the events' typical
    size over the other samples' (robust, > 1 means the events stand out)."""

    period: int
    phase: int
    share: float
    periods: int
    log10_p: float
    contrast: float


def step_distances(features: np.ndarray, lag: int = 1) -> np.ndarray:
    """``||f[k + lag] - f[k]||²`` for every ``k`` (``lag`` fewer than frames)."""
    diff = features[lag:] - features[:-lag]
    return np.einsum("ij,ij->i", diff, diff)


def random_pair_distance(features: np.ndarray) -> float:
    """The mean of ``||f[i] - f[j]||²`` over random pairs of frames: twice the summed
    variance of the features (the scale :func:`step_distances` are judged against)."""
    return 2 * float(features.var(axis=0).sum())


def periodic_events(
    values: np.ndarray, min_period: int, max_period: int, *, step: int = 1
) -> Periodicity | None:
    """The period (a multiple of ``step``, from ``min_period`` to ``max_period``) at
    which the largest ``values`` repeat most significantly; ``None`` when fewer than
    ``MIN_PERIODS`` periods fit even at ``min_period``. Non-finite values are never
    events.

    Within each whole period the values are ranked; at the right period and phase the
    events rank high in every period. The rank sums per phase are compared with what
    ranks placed at random give (a normal approximation of their sum), and the most
    significant period and phase win: a multiple of the period splits the events over
    two phases and a divisor mixes them with ordinary samples, both weaker."""
    v = np.where(np.isfinite(values), values, -np.inf)
    best, tried = None, 0
    for period in range(min_period, max_period + 1, step):
        periods = v.size // period
        if periods < MIN_PERIODS:
            break
        tried += period
        found = _at_period(v, period, periods)
        if best is None or found.log10_p < best.log10_p:
            best = found
    if best is None:
        return None
    log_p = min(0.0, best.log10_p + math.log10(max(tried, 1)))
    return Periodicity(best.period, best.phase, best.share, best.periods, log_p, best.contrast)


def _at_period(v: np.ndarray, period: int, periods: int) -> Periodicity:
    rows = v[: periods * period].reshape(periods, period)
    ranks = _ranks(rows) / (period - 1)
    sums = ranks.sum(axis=0)
    phase = int(np.argmax(sums))
    # a rank placed at random: uniform on [0, 1] (variance 1/12, nearly)
    z = (sums[phase] - periods / 2) / math.sqrt(periods * (period + 1) / (12 * (period - 1)))
    hits = int((rows.argmax(axis=1) == phase).sum())
    at, rest = rows[:, phase], np.delete(rows, phase, axis=1)
    finite = rest[np.isfinite(rest)]
    scale = float(np.mean(np.abs(finite))) if finite.size else 0.0
    typical = float(np.median(at[np.isfinite(at)])) if np.isfinite(at).any() else 0.0
    contrast = typical / scale if scale > 0 else 0.0
    log_p = _normal_log10_sf(z)
    return Periodicity(period, phase, hits / periods, periods, log_p, contrast)


def _ranks(rows: np.ndarray) -> np.ndarray:
    """Ranks ``0 .. period - 1`` within each row, ties broken at random (a fixed seed):
    equal values (a flat region's frames, noise-free) then rank as chance would."""
    jitter = np.random.default_rng(0).random(rows.shape)
    order = np.lexsort((jitter, rows), axis=-1) if rows.ndim == 1 else None
    if order is None:
        keys = np.argsort(jitter, axis=1)
        shuffled = np.take_along_axis(rows, keys, axis=1)
        pos = np.argsort(shuffled, axis=1, kind="stable")
        ranks_shuffled = np.empty_like(pos)
        np.put_along_axis(ranks_shuffled, pos, np.arange(rows.shape[1])[None, :], axis=1)
        out = np.empty_like(ranks_shuffled)
        np.put_along_axis(out, keys, ranks_shuffled, axis=1)
        return out.astype(np.float64)
    return order.argsort().astype(np.float64)


def _normal_log10_sf(z: float) -> float:
    """``log10 P(Z >= z)`` for a standard normal ``Z`` (asymptotic far in the tail)."""
    if z < 5:
        return math.log10(max(0.5 * math.erfc(z / math.sqrt(2)), 1e-300))
    return (-0.5 * z * z - math.log(z * math.sqrt(2 * math.pi))) / math.log(10)


def leading_run(flags: np.ndarray) -> int:
    """How many of ``flags`` are true from the start."""
    return int(np.argmin(flags)) if not flags.all() else int(flags.size)


def lag_profile(features: np.ndarray, max_lag: int) -> np.ndarray:
    """Mean squared distance between frames ``lag`` apart, ``lag = 0 .. max_lag``
    (through FFT autocorrelation: O(n log n) for every lag at once)."""
    n = features.shape[0]
    x = features - features.mean(axis=0)
    size = 1 << int(np.ceil(np.log2(2 * n)))
    spec = np.fft.rfft(x, size, axis=0)
    acov = np.fft.irfft(spec * np.conj(spec), size, axis=0)[: max_lag + 1].sum(axis=1)
    lags = np.arange(max_lag + 1)
    sq = np.concatenate([[0.0], np.cumsum(np.einsum("ij,ij->i", x, x))])
    both = sq[n - lags] + (sq[n] - sq[lags])  # sum over k < n - lag of |x_k|² + |x_k+lag|²
    return np.maximum(both - 2 * acov, 0.0) / np.maximum(n - lags, 1)


def dips(profile: np.ndarray, min_lag: int, depth: float, most: int = 3) -> list[int]:
    """Up to ``most`` lags (from ``min_lag``) where ``profile`` dips below ``depth``
    times the median of the lags around it (half to one and a half times the lag,
    its own neighbourhood left out), deepest first."""
    found = []
    for lag in range(min_lag, profile.size - 1):
        ratio = dip_ratio(profile, lag)
        if ratio is not None and ratio < depth:
            found.append((ratio, lag))
    return [lag for _, lag in sorted(found)[:most]]


def period_within(profile: np.ndarray, lag: int, depth: float) -> int | None:
    """The shortest lag ``p``, at most a third of ``lag``, where ``profile`` dips below
    ``depth`` times the lags around it (:func:`dip_ratio`): frames ``p`` apart alike,
    as in a sample that repeats every ``p`` positions along rows of ``lag`` frames;
    ``None`` when no such lag dips."""
    for p in range(2, min(lag // 3, profile.size - 2) + 1):
        ratio = dip_ratio(profile, p)
        if ratio is not None and ratio < depth:
            return p
    return None


def dip_ratio(profile: np.ndarray, lag: int) -> float | None:
    """``profile[lag]`` over the median of the lags around it (half to one and a half
    times the lag, its own neighbourhood left out: :func:`dips`), or ``None`` where
    ``lag`` is no local minimum or has too few lags around it."""
    if not 1 <= lag < profile.size - 1 or profile[lag] > min(profile[lag - 1], profile[lag + 1]):
        return None
    lo, hi = max(1, lag // 2), min(profile.size, lag + lag // 2 + 1)
    around = np.concatenate([profile[lo : max(lo, lag - 2)], profile[lag + 3 : hi]])
    if around.size < 3:
        return None
    return float(profile[lag]) / max(float(np.median(around)), 1e-300)
