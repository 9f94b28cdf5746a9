"""Plain rows or winding ``"y"``, from the image the scan would make.

Every recording wound along y is also a plain raster of another sample: one whose every
second column is upside down. The steps between frames tell the two apart only through
how they alternate (:mod:`intake_tvips.maths.raster_windings`), which a texture changing
fast along the rows (text, fine lamellae) imitates. Here the image decides: each even
(wound) column of a band of ``BAND`` rows is compared with the mean of its two
neighbours (the triplets of :mod:`intake_tvips.maths.alignment`), placed as a plain
raster and as winding ``"y"`` (at the roll that fits best), and the placement whose
middle columns their neighbours predict better wins, by the paired signed-rank test. A
sample that does not change along y (lamellae along the columns) looks the same either
way: undecided; so is a scan too short to try the rolls of winding ``"y"`` up to
``MAX_SHIFT`` when plain rows fit better (a larger roll is not ruled out), and winding
``"y"`` whose best roll is the edge of those tried (bricks at a few counts, scanned
plain, fitted winding y at its last roll better than plain rows); where either
refuses, a second look over a band of fewer rows (``MIN_BAND`` at least) tries the
larger rolls a short column then leaves room for. Plain rows favoured must still win
with a straight line along each wound column's residuals taken out: counts that do not
scale with a drifting beam current (hot pixels, a dark offset) make the frames' shares
drift in time, which the plain reading, smooth in time, would fit better. The band lies
a quarter down the scan, where winding ``"y"`` places rows far apart, and its wound
columns come from rows three quarters down: windows of ``COLUMNS`` frames (whole rows
where the byte budget allows) of about ``2 BAND + 2 MAX_SHIFT`` rows, a request per row,
whatever the scan's size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from intake_tvips.maths.alignment import (
    MIN_SEGMENTS,
    SEGMENT,
    SignalBasis,
    TripletPlan,
    align_projected,
    mean_scores,
    score_gap,
    segment_means,
    signal_basis,
    triplet_residuals,
    triplet_scores,
    weakest_rival,
)
from intake_tvips.maths.scan import ScanMap
from intake_tvips.recording.core import Recording
from intake_tvips.recording.pixels import (
    MAX_SHIFT,
    _read_features,
    default_budget,
    frame_shares,
)

#: rows of the band compared (two segments of the paired test per wound column) ...
BAND = 16
#: ... and at least, in a second look, where the rolls the column's length left room
#: for beside ``BAND`` rows did not tell (one segment: a scan of 24 rows tried rolls up
#: to 7 only, and winding y rolled 7 or 8, in the hysteresis range, was never told)
MIN_BAND = SEGMENT
#: plain rows favoured must still win at this confidence with the straight line along
#: each placement's residuals taken out (:func:`_plain_without_trend`)
TREND_FREE_CONFIDENCE = 0.9
#: columns of the band compared at least (whole rows when shorter); more, up to whole
#: rows, as the byte budget of :func:`~.pixels.estimate_hysteresis` allows
COLUMNS = 48


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
    over winding ``"y"`` or the other way (see the module's text). Where the rolls tried
    do not tell (winding ``"y"`` fits best at their edge, or plain rows fit better than
    rolls below ``MAX_SHIFT``) and a shorter band (``MIN_BAND`` rows at least) lets a
    column try larger ones, those are looked at instead (the p-value doubled for the
    two looks)."""
    columns = _columns(rec, shape)
    plan = band_plan(shape, start, columns)
    if isinstance(plan, str):
        return WindingEvidence(None, 0.0, why=plan)
    ev, larger_may_tell = _look(rec, shape, start, plan)
    if not larger_may_tell:
        return ev
    longer = band_plan(shape, start, columns, MIN_BAND)
    if isinstance(longer, str) or longer.candidates[-1] <= plan.candidates[-1]:
        return ev
    again, _ = _look(rec, shape, start, longer)
    return replace(
        again,
        confidence=max(0.0, 1.0 - 2.0 * (1.0 - again.confidence)),
        frames_read=ev.frames_read + again.frames_read,
        bytes_read=ev.bytes_read + again.bytes_read,
        requests=ev.requests + again.requests,
    )


def _look(rec: Recording, shape, start: int, plan: TripletPlan) -> tuple[WindingEvidence, bool]:
    """:func:`winding_evidence` over the triplets of ``plan``, and whether larger rolls
    than the plan's may tell (:func:`_refused`)."""
    wound = plan.frames()  # (candidates, triplets, 3, window)
    plain = ScanMap(shape, start, None, 0).frames(plan.positions())
    if (plain < 0).any() or (plain >= rec.n_frames).any():
        why = "the plain rows' columns lie outside the recording"
        return WindingEvidence(None, 0.0, why=why), False
    have = np.unique(np.concatenate([wound.ravel(), plain.ravel()]))
    features, cost = _read_features(rec, have)
    features = frame_shares(features)  # the wound columns' frames lie far apart in time
    spent = dict(frames_read=int(have.size), bytes_read=cost["bytes"], requests=cost["requests"])
    odd = np.stack([wound[0][t, k] for t, k in plan.odd_lines()])
    at = np.searchsorted  # the rows of ``features`` holding some frames
    basis = signal_basis(features[at(have, wound[0])], features[at(have, odd)])
    if not isinstance(basis, SignalBasis):
        return WindingEvidence(None, 0.0, why="no contrast in the columns read", **spent), False
    projected = basis.project(features)
    lines = projected[at(have, wound)]
    valid = plan.valid()
    found = align_projected(lines, basis, plan.candidates, valid)
    if found.best is None:
        return WindingEvidence(None, 0.0, why="no roll of the wound columns fits", **spent), False
    k = int(np.flatnonzero(plan.candidates == found.best)[0])
    pair = np.stack([projected[at(have, plain)], lines[k]])
    scores = triplet_scores(pair, basis.weights)
    both = np.stack([valid[k], valid[k]])
    ev = _verdict(scores, both, found.best, plan.candidates.size, spent)
    ev = _plain_without_trend(ev, pair, basis.weights, both, plan.candidates.size)
    return _refused(ev, found.best, int(plan.candidates[-1]), shape[0])


def _plain_without_trend(ev: WindingEvidence, pair, weights, valid, rolls: int):
    """``ev``, or where it favours plain rows, ``ev`` refused (confidence 0) unless
    plain rows still win at ``TREND_FREE_CONFIDENCE`` with the straight line along each
    placement's residuals (per channel, over the valid positions) taken out
    (:func:`_less_trend`; a constant offset alone did not do): counts that do not
    scale with a drifting beam current (hot pixels, a dark offset) make a frame's
    shares drift in time, winding ``"y"``'s wound columns were recorded far from their
    neighbours, and a change with time alone looks smooth in the plain reading (a
    noise-free gradient wound along y, two hot pixels, the current losing 30 %: plain
    rows at 1.00)."""
    if ev.favours is not None or ev.confidence <= 0:
        return ev
    resid = triplet_residuals(pair)  # (2, groups, positions, channels)
    scores = (_less_trend(resid, valid) ** 2 * weights).sum(axis=-1)
    again = _verdict(scores, valid, ev.roll, rolls, {})
    if again.favours is None and again.confidence >= TREND_FREE_CONFIDENCE:
        return ev
    why = (
        "plain rows fit better, but not with a straight trend along the wound columns' "
        "residuals taken out (a drift in time?)"
    )
    return replace(ev, confidence=0.0, why=why)


def _less_trend(resid: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``resid`` ``(placements, groups, positions, channels)`` less, per placement and
    channel, the straight line along the positions that fits its valid values best
    (least squares over all groups): a wound column's frames lie the farther in time
    from its neighbours' the farther from the column's middle."""
    along = np.broadcast_to(np.arange(resid.shape[2], dtype=float), resid.shape[1:3])
    out = np.empty_like(resid)
    for i in range(resid.shape[0]):
        ok = valid[i]
        design = np.stack([np.ones(ok.sum()), along[ok]], axis=1)
        coef, *_ = np.linalg.lstsq(design, resid[i][ok], rcond=None)  # (2, channels)
        out[i] = resid[i] - coef[0] - along[..., None] * coef[1]
    return out


def _refused(ev: WindingEvidence, best: int, shift: int, ny: int) -> tuple[WindingEvidence, bool]:
    """``ev`` refused (confidence 0), and the flag set, where winding ``"y"`` fits best
    at the edge of the rolls ``-shift..shift``, or plain rows fit better than rolls up
    to ``shift`` below ``MAX_SHIFT`` (a larger roll is not ruled out)."""
    if ev.favours == "y" and ev.confidence > 0 and abs(best) == shift:
        why = (
            f"winding y fits better than plain rows, but at the roll {best}, the edge "
            "of those tried: no roll of it fits within them"
        )
        return replace(ev, confidence=0.0, why=why), True
    if ev.favours is None and ev.confidence > 0 and shift < MAX_SHIFT:
        why = (
            f"plain rows fit better than winding y rolled -{shift}..{shift}, the rolls a "
            f"scan of {ny} rows allows; a larger roll is not ruled out"
        )
        return replace(ev, confidence=0.0, why=why), True
    return ev, False


def _columns(rec: Recording, shape: tuple[int, int]) -> int:
    """The columns the byte budget affords (at least ``COLUMNS``)."""
    rows = 2 * BAND + 2 * MAX_SHIFT
    return max(COLUMNS, int(default_budget(rec) // (rows * rec.layout.record_bytes)))


def band_plan(
    shape: tuple[int, int], start: int, columns: int = COLUMNS, least: int = BAND
) -> TripletPlan | str:
    """The triplets of columns compared: every even column of a window of ``columns``
    (with both its neighbours), over ``BAND`` rows a quarter down the scan (from the
    largest roll tried at least, so that no roll wraps them), at least ``least`` where
    the column is too short for that and the rolls up to ``MAX_SHIFT`` (fewer rows let
    a short column try larger rolls); or why there are none (a string)."""
    ny, nx = shape
    shift = min(MAX_SHIFT, (ny - 1) // 2, ny - least - 1)
    if shift < 1 or nx < 3:
        return f"a scan of {ny} x {nx}: too small to compare the windings"
    width = min(columns, nx)
    first = (nx - width) // 2
    inner = np.arange(first + 1, first + width - 1)  # both neighbours in the window
    middles = inner[inner % 2 == 0]  # the wound columns
    if middles.size < MIN_SEGMENTS:
        return f"rows of {nx}: too few columns to compare the windings"
    band = min(BAND, ny - shift)
    offsets = np.full(middles.size, min(max(shift, ny // 4), ny - band))
    return TripletPlan(shape, start, "y", np.arange(-shift, shift + 1), middles, offsets, band)


def _verdict(
    scores: np.ndarray, valid: np.ndarray, roll: int, rolls: int, spent: dict
) -> WindingEvidence:
    """The paired test of the plain placement (candidate 0 of ``scores``) against the
    wound one (1, the best of ``rolls``), on the positions valid for both. The wound
    placement is the best fitting of its rolls: its p-value is multiplied by their
    number (a sample that looks the same either way would otherwise favour it by
    chance); the plain one, beating the best roll, beats all."""
    z, rival = weakest_rival(scores, valid, 0, SEGMENT)
    if rival is None:
        return WindingEvidence(None, 0.0, roll=roll, why="too few positions to compare", **spent)
    totals = mean_scores(segment_means(scores, valid, SEGMENT))
    favours = None if z >= 0 else "y"
    gap = score_gap(totals, 0 if favours is None else 1)
    looks = 1 if favours is None else rolls
    confidence = max(0.0, 1.0 - looks * math.erfc(abs(z) / math.sqrt(2)))
    return WindingEvidence(favours, confidence, gap, roll, **spent)
