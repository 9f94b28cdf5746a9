"""Plain rows or winding ``"y"``, from the image the scan would make.

Every recording wound along y is also a plain raster of another sample: one whose every
second column is upside down. The steps between frames tell the two apart only through
how they alternate (:mod:`intake_tvips.maths.raster_windings`), which a texture changing
fast along the rows (text, fine lamellae) imitates. Here the image decides: a few
triplets of neighbouring columns are read, placed as a plain raster and as winding
``"y"`` (at the roll that fits best), and the placement whose middle columns their
neighbours predict better wins, by the paired signed-rank test of
:mod:`intake_tvips.maths.alignment`. A sample that does not change along y (lamellae
along the columns) looks the same either way: undecided. The cost is one round of
:func:`~intake_tvips.recording.pixels.estimate_hysteresis` with the plain placement's
frames added.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from intake_tvips.maths.alignment import (
    SEGMENT,
    SignalBasis,
    align_projected,
    plan_triplets,
    score_gap,
    segment_means,
    signal_basis,
    triplet_scores,
    weakest_rival,
)
from intake_tvips.maths.scan import ScanMap
from intake_tvips.recording.core import Recording
from intake_tvips.recording.pixels import (
    GUARD,
    MAX_SHIFT,
    TRIPLETS_PER_ROUND,
    WINDOW,
    _read_features,
)

#: triplets of columns compared (twice the hysteresis estimate's first round)
TRIPLETS = 2 * TRIPLETS_PER_ROUND


@dataclass(frozen=True)
class WindingEvidence:
    """Which placement the image favours: ``favours`` ``None`` (plain rows) or ``"y"``,
    ``confidence`` (0..1, one minus the two-sided p-value of the paired test),
    ``gap`` (how much better the favoured placement's mean misfit is, relative),
    ``roll`` (the winding's best roll), ``why`` (when nothing could be compared) and
    what it cost."""

    favours: str | None
    confidence: float
    gap: float = 0.0
    roll: int | None = None
    why: str = ""
    frames_read: int = 0
    bytes_read: int = 0
    requests: int = 0


def winding_evidence(rec: Recording, shape: tuple[int, int], start: int) -> WindingEvidence:
    """How the image of the ``shape`` scan starting at frame ``start`` favours plain rows
    over winding ``"y"`` or the other way (see the module's text)."""
    plan = plan_triplets(
        shape, start, "y", rec.n_frames, max_shift=GUARD * MAX_SHIFT, window=WINDOW,
        triplets=TRIPLETS,
    )  # fmt: skip
    if isinstance(plan, str):
        return WindingEvidence(None, 0.0, why=plan)
    wound = plan.frames()  # (candidates, triplets, 3, window)
    plain = ScanMap(shape, start, None, 0).frames(plan.positions())
    if (plain < 0).any() or (plain >= rec.n_frames).any():
        return WindingEvidence(None, 0.0, why="the plain rows' columns lie outside the recording")
    have = np.unique(np.concatenate([wound.ravel(), plain.ravel()]))
    features, cost = _read_features(rec, have)
    spent = dict(frames_read=int(have.size), bytes_read=cost["bytes"], requests=cost["requests"])
    odd = np.stack([wound[0][t, k] for t, k in plan.odd_lines()])
    at = np.searchsorted  # the rows of ``features`` holding some frames
    basis = signal_basis(features[at(have, wound[0])], features[at(have, odd)])
    if not isinstance(basis, SignalBasis):
        return WindingEvidence(None, 0.0, why="no contrast in the columns read", **spent)
    projected = basis.project(features)
    lines = projected[at(have, wound)]
    valid = plan.valid()
    found = align_projected(lines, basis, plan.candidates, valid)
    if found.best is None:
        return WindingEvidence(None, 0.0, why="no roll of the wound columns fits", **spent)
    k = int(np.flatnonzero(plan.candidates == found.best)[0])
    pair = np.stack([projected[at(have, plain)], lines[k]])
    both = np.stack([valid[k], valid[k]])
    return _verdict(triplet_scores(pair, basis.weights), both, found.best, spent)


def _verdict(scores: np.ndarray, valid: np.ndarray, roll: int, spent: dict) -> WindingEvidence:
    """The paired test of the plain placement (candidate 0 of ``scores``) against the
    wound one (1), on the positions valid for both."""
    z, rival = weakest_rival(scores, valid, 0, SEGMENT)
    if rival is None:
        return WindingEvidence(None, 0.0, roll=roll, why="too few positions to compare", **spent)
    seg = segment_means(scores, valid, SEGMENT)
    totals = np.nanmean(seg, axis=1)
    favours = None if z >= 0 else "y"
    gap = score_gap(totals, 0 if favours is None else 1)
    confidence = max(0.0, 1.0 - math.erfc(abs(z) / math.sqrt(2)))
    return WindingEvidence(favours, confidence, gap, roll, **spent)
