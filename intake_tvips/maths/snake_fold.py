"""How alike the frames are that a snake puts on neighbouring rows: its turns folded.

Pure numpy, no I/O. A snake of ``nx`` frames a row mirrors in time at each turn: the
frames ``a`` and ``b`` with ``a + b = 2 start + h - 1`` (modulo ``2 nx``) sit on
neighbouring rows at one column (``h`` the roll, its wrapped columns folding ``nx``
later). :func:`snake_fit` scores every turn phase and roll on the distances of frame pairs
summed by ``a + b`` and gap (:func:`_fold_table`); :func:`turn_kinds` tells a snake from a
plain raster of twice the rows over a mirror-symmetric sample (which folds at every
second turn only). Used by :mod:`intake_tvips.maths.pixel_raster`.
"""

from __future__ import annotations

import numpy as np

from intake_tvips.maths.periodicity import step_distances

#: snake rolls (hysteresis) tried, either way
MAX_ROLL = 12


def snake_fit(z: np.ndarray, nx: int) -> tuple[float, int, int]:
    """How alike the frames are that a snake of ``nx`` a row puts on neighbouring rows:
    ``(distance, turns, roll)`` at the best turn phase (``2 start + h - 1``, mod
    ``2 nx``) and roll ``h``; the distance of phase and roll chosen on every second
    turn and measured on the others, both ways (so that choosing does not flatter the
    snake against the other rivals)."""
    period = 2 * nx
    if z.shape[0] < 2 * period:
        return float("inf"), 0, 0
    sums, counts = _fold_table(z, nx)
    rolls = sorted({h % nx for h in range(-min(MAX_ROLL, nx // 2), min(MAX_ROLL, nx // 2) + 1)})
    means = np.stack([_fold_means(sums, counts, nx, h) for h in rolls])  # (roll, parity, turn)
    held_out = 0.0
    for half in (0, 1):  # chosen on one half of the turns, measured on the other
        roll, turns = np.unravel_index(np.argmin(means[:, half]), means[:, half].shape)
        held_out += 0.5 * float(means[roll, 1 - half, turns])
    both = means.mean(axis=1)
    roll, turns = np.unravel_index(np.argmin(both), both.shape)
    return held_out, int(turns), int(rolls[roll])


def _fold_table(z: np.ndarray, nx: int) -> tuple[np.ndarray, np.ndarray]:
    """Distances of frame pairs ``(a, b)`` summed by half, ``(a + b) mod 2 nx`` and gap
    ``b - a`` (< ``2 nx``). The halves alternate every two turns, so that each holds
    turns of both kinds (a backward row into a forward one, and back): a roll one off
    shears the two kinds opposite ways, which on a diagonal texture flatters one kind."""
    period = 2 * nx
    sums = np.zeros((2, period, period))
    counts = np.zeros((2, period, period))
    for gap in range(1, period):
        d = step_distances(z, gap)
        c2 = 2 * np.arange(d.size) + gap
        flat = ((c2 // (2 * period)) % 2) * period + c2 % period  # halves: pairs of turns
        sums[:, :, gap] += np.bincount(flat, d, 2 * period).reshape(2, period)
        counts[:, :, gap] += np.bincount(flat, None, 2 * period).reshape(2, period)
    return sums, counts


def _fold_means(sums, counts, nx: int, h: int) -> np.ndarray:
    """Mean distance of the vertical neighbours of a snake rolled by ``h``, per turn
    phase: its unwrapped columns fold at the phase with gaps ``h + 1 .. 2 nx - 1 - h``,
    its ``h`` wrapped ones at the phase ``+ nx`` with gaps ``nx - h + 1 .. nx + h - 1``."""
    period = 2 * nx
    gaps = np.arange(period)
    plain = (gaps >= h + 1) & (gaps <= period - 1 - h)
    wrapped = (gaps >= nx - h + 1) & (gaps <= nx + h - 1)
    s = sums[..., plain].sum(-1) + np.roll(sums[..., wrapped].sum(-1), -nx, axis=-1)
    c = counts[..., plain].sum(-1) + np.roll(counts[..., wrapped].sum(-1), -nx, axis=-1)
    # the turns fold at 2 start + h - 1: phases of the other parity belong to other rolls
    possible = (np.arange(period) - h + 1) % 2 == 0
    return np.where((c > 0) & possible, s / np.maximum(c, 1), np.inf)


def turn_kinds(z: np.ndarray, nx: int, roll: int, turns: int) -> float:
    """How alike a snake's two kinds of turn fold: the mean distance of the frames it
    calls vertical neighbours around every second turn over that around the others
    (the smaller over the larger). A plain raster of ``2 nx`` over a sample mirrored
    about the rows' middle folds perfectly at its rows' middles (the same row of the
    sample) and only as well as its rows repeat at their ends: near 0; a snake about 1.
    ``roll`` and ``turns``: the snake's, as :func:`snake_fit` found them."""
    period = 2 * nx
    sums, counts = np.zeros(2), np.zeros(2)
    for gap in range(roll + 1, period - roll):
        d = step_distances(z, gap)
        fold = 2 * np.arange(d.size) + gap - turns
        at = fold % period == 0
        kind = (fold[at] // period) % 2
        sums += np.bincount(kind, d[at], 2)
        counts += np.bincount(kind, None, 2)
    means = sums / np.maximum(counts, 1)
    return float(means.min() / max(means.max(), 1e-300))
