"""Where the frames of a scan break, and the row lengths the breaks repeat with.

Pure numpy, no I/O. A plain raster breaks once per row (the fly-back: the step from a
row's last frame to the next row's first is a random pair's); winding ``"y"``'s frames
two apart break once per row (:func:`breaks`). Breaks repeating with one row length
tell it from rivals whose frames fit about as well (a texture running diagonally
smears its breaks over every phase; slanted lamellae make frames several rows and a
column apart alike, but the fly-back still repeats with the rows). A vertical edge of
the sample breaks every row too, so the breaks' phase is never trusted for the start.
"""

from __future__ import annotations

import numpy as np

from intake_tvips.maths.periodicity import (
    Periodicity,
    periodic_events,
    random_pair_distance,
    step_distances,
)

#: log10 of the chance below which breaks repeating with a row length are believed
PHASE_LOG10_P = -4.0
#: the breaks' row length must be this many orders of magnitude likelier than the next
BREAK_MARGIN = 3.0
#: frames some lag apart are alike (the sample repeats with it) below this share of the
#: distance between random frames; noise alone keeps such frames below 1
ALIKE_SHARE = 0.9
#: breaks repeating with a divisor of plain rows are taken for shorter rows' ends only
#: where they stand out: their typical step at least this many times the mean of the
#: others (a snake's turns over gratings: 3.7 and 4.1; a noise-free gradient's steps,
#: growing along the rows, rank highest at the end of every 32 frames: 0.13)
DIVISOR_CONTRAST = 2.0


def breaks(z: np.ndarray, winding: str | None) -> np.ndarray:
    """Where the frames break: steps between consecutive frames (plain rasters), or
    between frames two apart, summed over neighbouring pairs (winding ``"y"``)."""
    steps = step_distances(z, 2 if winding == "y" else 1)
    return steps[:-1] + steps[1:] if winding == "y" else steps


def break_period(steps: np.ndarray, longest: int) -> Periodicity | None:
    """The :class:`~intake_tvips.maths.periodicity.Periodicity` at which the breaks
    ``steps`` repeat most significantly, over every row length from 4 to ``longest``
    (the costly search: once per fit)."""
    return periodic_events(steps, 4, longest)


def by_breaks(steps: np.ndarray, lengths: list[int], needed: float) -> Periodicity | None:
    """The periodicity of the row length among ``lengths`` at which the breaks
    ``steps`` repeat with a chance below ``10**needed`` and ``BREAK_MARGIN`` orders of
    magnitude below every other length's; ``None`` when none does."""
    found = [periodic_events(steps, p, p) for p in lengths]
    found = sorted((r for r in found if r is not None), key=lambda r: r.log10_p)
    if not found or found[0].log10_p > needed:
        return None
    top = found[0]
    return top if all(r.log10_p >= top.log10_p + BREAK_MARGIN for r in found[1:]) else None


def other_breaks(
    steps: np.ndarray,
    nx: int,
    overall: Periodicity | None,
    scan_frames: int | None,
    z: np.ndarray | None = None,
) -> int | None:
    """A row length, not ``nx`` nor a divisor of it, at which the breaks ``steps``
    repeat far more regularly than at ``nx`` (``overall``: their
    :func:`break_period`); slanted lamellae let frames many rows and a column apart
    look alike, but their fly-back breaks still repeat with the rows; a texture whose
    period along the rows is ``nx`` makes frames ``nx`` apart alike within rows of a
    multiple of it, but the fly-back breaks with the multiple. Not one the
    ``scan_frames`` between junk ones are no whole number of (a texture running
    diagonally repeats its steps every ``nx - 1`` frames: no rows).

    A divisor ``d`` of plain rows (``z``, their features, given) is one too where its
    breaks stand out (``DIVISOR_CONTRAST``) and neither the frames ``d`` nor ``2 d``
    apart are alike (:func:`frames_alike`): sharp lamellae repeating every ``2 d``
    along the rows break every ``d`` within them (at both edges), but make frames
    ``2 d`` apart alike; the turns of a snake over a sample periodic across its rows
    break there, and frames that far apart are not alike. Measured: wound rows of 24
    read as plain rows of 144 at 1.0, over an oblique grating repeating every 6 rows
    (rolled 5: breaks every 48 frames, those frames 1.5 times as far apart as random
    pairs, 96 apart 1.5) and over a cross grating (rolled 10: breaks every 24, frames
    24 and 48 apart 1.3 and 1.5; 72 apart 0.33, so no multiple of ``d`` is asked)."""
    if overall is None or overall.log10_p > 2 * PHASE_LOG10_P:
        return None
    if scan_frames and scan_frames % overall.period:
        return None
    if nx % overall.period == 0 and (
        z is None or overall.contrast < DIVISOR_CONTRAST or _sample_period(z, overall.period)
    ):
        return None
    own = periodic_events(steps, nx, nx)
    if own is None or own.log10_p > overall.log10_p + BREAK_MARGIN:
        return overall.period
    return None


def _sample_period(z: np.ndarray, d: int) -> bool:
    """Whether frames ``d`` or ``2 d`` apart are alike: the sample repeats along the
    rows with one of them (breaks at both edges of lamellae repeat with half their
    period)."""
    return frames_alike(z, d) or frames_alike(z, 2 * d)


def frames_alike(z: np.ndarray, lag: int) -> bool:
    """Whether the frames ``lag`` apart (features ``z``) lie nearer each other than
    ``ALIKE_SHARE`` of the mean squared distance between random frames: a period of
    the sample along the rows."""
    return float(np.mean(step_distances(z, lag))) < ALIKE_SHARE * random_pair_distance(z)
