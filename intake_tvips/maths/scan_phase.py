"""The first frame of a scan from where its rows break, among the few starts left open.

Pure numpy, no I/O. Where no blanked frame marks either end of a scan (a probe parked
on the scan, or nothing at all), the ``extra`` frames beyond whole rows of ``nx`` lie
before or after it: the start is one of ``0 .. extra`` (every start of the row where
the recording holds whole rows: the caller passes ``nx - 1``). A plain raster breaks where a
row ends (the fly-back: the step from a row's last frame to the next row's first joins
the sample's two borders); winding ``"y"`` breaks there between frames two apart
(:func:`seam_steps`). The phase of those breaks is the start (:func:`start_by_breaks`).

A break is trusted only where it cannot be the sample's own:

* at the chosen start the frames break more than at every other open start in most
  rows (``CANDIDATE_WINS``) and in every quarter of them (``QUARTER_WINS``);
* it is the phase at which the breaks repeat with the rows, significantly, and it beats
  the next strongest phases of the whole row in most rows (``PHASE_WINS``): a texture
  repeating along the rows, or lamellae crossing the row's seam unbroken, break at
  several phases or at none;
* its steps point no common way (``COHERENCE``): a vertical edge of the sample breaks
  every row too, always from one side of the edge to the other, whereas the fly-back
  joins unrelated frames. A sample whose left and right borders differ the same way in
  every row (a gradient along the rows) is turned away too: its parked frames tell the
  start instead (:func:`~intake_tvips.maths.scan_ends.parked_on_scan`). Where that is
  the only objection and the breaks do not repeat with rows one frame longer or
  shorter as well (:func:`neighbour_rows_break`), ``one_way`` says so: the caller may
  take the start with a low confidence where other evidence agrees.

The breaks tell the start modulo ``nx`` only: a probe parked for a row or more would
pass for rows of the scan. So the first and the last row the start leaves must vary
along the row as the scan's rows do, or more than noise does (``ROW_SPREAD``,
``ROW_NOISE``; :func:`junk_rows`), not repeat
one pattern. With winding ``"y"``, frames after the scan that are as alike their frames a
row before as the scan's own (:func:`cut_row`) may be a row cut short: its row count,
which sets the mirrored columns' rows, is then one more than the full rows (undecided).

A sample whose two borders look alike (a uniform background around a feature) leaves
the start truly open: shifting it shifts the image along the rows, which the pixels
cannot tell from the sample. Then no break is trusted and the start stays undecided.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from intake_tvips.maths.periodicity import periodic_events, step_distances
from intake_tvips.maths.raster_breaks import PHASE_LOG10_P

#: the share of rows in which the chosen start's break must beat each other open start's
CANDIDATE_WINS = 0.7
#: ... and in each quarter of the rows
QUARTER_WINS = 0.5
#: the share of rows in which it must beat each of the next strongest phases of the row
PHASE_WINS = 0.6
#: how many of the next strongest phases it is compared with
PHASE_RIVALS = 3
#: the steps' mean over their typical size (squared, 0..1) above which they point one way
COHERENCE = 0.6
#: rows of breaks needed
MIN_SEAMS = 8
#: the first and last rows must spread (frames' mean squared distance from their row's
#: mean) at least this share of the scan's typical row ...
ROW_SPREAD = 0.25
#: ... or, where they do not, at least this many times the frames' noise: half the
#: median squared step between neighbouring frames on the sample, an upper bound (the
#: steps hold the sample's own too); a probe parked for a row spreads by its noise
#: alone, where a row across two grains spreads 6e-3 of the typical row, noise-free
ROW_NOISE = 3.0
#: ... and this share of the typical row (a noise-free recording's parked frames do not
#: spread at all; a uniform background barely: 6e-5 of the typical row measured)
ROW_FLOOR = 0.002
#: frames after a winding ``"y"`` scan nearer their frames a row before than this
#: quantile of the scan's own such distances may be a row cut short
CUT_QUANTILE = 0.9


def seam_steps(z: np.ndarray, winding: str | None) -> np.ndarray:
    """Per frame ``i``, how much the frames break between ``i`` and ``i + 1`` (plain
    rasters: the squared step) or, for winding ``"y"``, between ``i, i + 2`` and
    ``i + 1, i + 3`` both (the smaller of the two: at a row's end both pairs join the
    two borders, one frame off only one does). A start ``s`` puts the break at
    ``s - 1`` (plain) or ``s - 2`` (winding ``"y"``)."""
    if winding != "y":
        return step_distances(z, 1)
    two = step_distances(z, 2)
    return np.minimum(two[:-1], two[1:])


class BreakStart(NamedTuple):
    """What :func:`start_by_breaks` found: ``start`` (``None`` where the breaks do not
    tell), ``why`` (words), ``lean`` (the start that breaks clearly more than the other
    open ones: the start itself where trusted; where a later rule turns it away, a
    guess to look at), ``one_way``: the lean was turned away only because its breaks
    all point one way (:data:`COHERENCE`), as a fly-back between borders that differ
    does and a sample's edge along the columns would, and the breaks do not repeat with
    a neighbouring row length as well (:func:`neighbour_rows_break`)."""

    start: int | None
    why: str
    lean: int | None
    one_way: bool = False


def start_by_breaks(z: np.ndarray, nx: int, winding: str | None, extra: int) -> BreakStart:
    """Which of the starts ``0 .. extra`` the rows of ``nx`` frames (winding ``None`` or
    ``"y"``; ``z``: the features from the earliest start on) break at, by the module's
    rules (:class:`BreakStart`)."""
    steps = seam_steps(z, winding)
    off = 2 if winding == "y" else 1
    rows = np.arange(1, (steps.size + off) // nx)
    rows = rows[nx - 1 - off + rows * nx < steps.size]
    if not 0 < extra < nx:
        why = f"{extra} frames beyond whole rows of {nx}: no start to choose"
        return BreakStart(None, why, None)
    if rows.size < MIN_SEAMS:
        return BreakStart(None, f"only {rows.size} rows' ends among the frames read", None)
    seams = steps[np.arange(nx)[:, None] - off + rows[None, :] * nx]  # (start, row)
    open_ = seams[: extra + 1]
    top = int(np.argmax(_ranks(open_).sum(axis=1)))
    wins, quarter = _wins(open_, top)
    if wins < CANDIDATE_WINS or quarter < QUARTER_WINS:
        why = f"no start among 0..{extra} breaks clearly more than the others"
        return BreakStart(None, why, None)
    found = periodic_events(steps, nx, nx)
    rivals = [q for q in np.argsort(_ranks(seams).sum(axis=1))[::-1] if q != top]
    beats = min((seams[top] > seams[q]).mean() for q in rivals[:PHASE_RIVALS])
    if found is None or found.phase != (top - off) % nx or found.log10_p > PHASE_LOG10_P:
        return BreakStart(None, f"the breaks at start {top} do not repeat with the rows", top)
    if beats < PHASE_WINS:
        why = f"the frames break at other phases of the rows as much as at start {top}"
        return BreakStart(None, why, top)
    if _coherence(z, top - off + rows * nx, 2 if winding == "y" else 1) > COHERENCE:
        why = f"the breaks at start {top} all point one way (an edge of the sample?)"
        if neighbour_rows_break(steps, nx):
            return BreakStart(None, f"{why}, and they repeat with rows one frame off too", top)
        return BreakStart(None, why, top, one_way=True)
    why = (
        f"the rows break at start {top} in {wins:.0%} of {rows.size} rows, more than at "
        f"the other starts 0..{extra} (chance 1e{found.log10_p:.0f})"
    )
    return BreakStart(top, why, top)


def neighbour_rows_break(steps: np.ndarray, nx: int) -> bool:
    """Whether the largest ``steps`` repeat with rows of ``nx - 1`` or ``nx + 1`` too
    (at ``PHASE_LOG10_P``): the row length itself is then in doubt. Over a texture
    that does not change along a diagonal, rows one frame short fit as well as the
    true ones, and the texture's steepest slope breaks with them while the true rows'
    ends break with the others."""
    return any(
        (p := periodic_events(steps, period, period)) is not None and p.log10_p <= PHASE_LOG10_P
        for period in (nx - 1, nx + 1)
        if period > 1
    )


def junk_rows(
    z: np.ndarray, nx: int, start: int, last: np.ndarray, after: int, winding: str | None = None
) -> bool:
    """Whether the first row from ``start`` in the features ``z`` (from the earliest
    start on), or the last row before the ``after`` frames that end ``last`` (the
    features of the recording's last frames), spreads less than ``ROW_SPREAD`` times
    the median spread of the rows of ``z`` after the first and less than ``ROW_NOISE``
    times the frames' noise (or ``ROW_FLOOR`` times that median): one pattern repeated
    (a probe parked for whole rows), or a row too flat to tell from one. The noise is
    measured between neighbours on the sample: frames one apart, or two with
    ``winding`` ``"y"`` (consecutive ones alternate two rows)."""
    rows = (z.shape[0] - start) // nx
    end = last[max(last.shape[0] - after - nx, 0) : last.shape[0] - after]
    if rows < 2 or end.shape[0] < nx:
        return True
    scan = z[start : start + rows * nx]
    spreads = _spreads(scan.reshape(rows, nx, -1))
    typical = float(np.median(spreads[1:]))
    noise = float(np.median(step_distances(scan, 2 if winding == "y" else 1))) / 2
    least = min(ROW_SPREAD * typical, max(ROW_NOISE * noise, ROW_FLOOR * typical))
    return min(float(spreads[0]), float(_spreads(end[None])[0])) < least


def cut_row(z: np.ndarray, nx: int, last: np.ndarray, after: int) -> bool:
    """Whether the ``after`` frames that end ``last`` lie, by their median, no farther
    from the frames ``nx`` before them than ``CUT_QUANTILE`` of the distances between
    the frames of ``z`` a row apart: a row cut short, not junk."""
    if not after:
        return False
    tail = step_distances(last[last.shape[0] - after - nx :], nx)
    return float(np.median(tail)) <= float(np.quantile(step_distances(z, nx), CUT_QUANTILE))


def _spreads(rows: np.ndarray) -> np.ndarray:
    """Per row of ``(rows, nx, features)``: the frames' mean squared distance from the
    row's mean."""
    centred = rows - rows.mean(axis=1, keepdims=True)
    return np.einsum("rcf,rcf->r", centred, centred) / rows.shape[1]


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks down each column (0 the smallest)."""
    return values.argsort(axis=0).argsort(axis=0)


def _wins(seams: np.ndarray, top: int) -> tuple[float, float]:
    """The least share of rows, over the other starts, in which ``top`` breaks more;
    and the least such share in any quarter of the rows."""
    wins = [seams[top] > seams[q] for q in range(seams.shape[0]) if q != top]
    overall = min(w.mean() for w in wins)
    quarter = min(part.mean() for w in wins for part in np.array_split(w, 4))
    return float(overall), float(quarter)


def _coherence(z: np.ndarray, at: np.ndarray, lag: int) -> float:
    """``|mean step|² / mean |step|²`` of the steps from ``z[at]`` to ``z[at + lag]``:
    1 where they all point one way, about ``1 / len(at)`` where at random."""
    steps = z[at + lag] - z[at]
    size = float(np.einsum("ij,ij->", steps, steps))
    return float((steps.sum(axis=0) ** 2).sum() / (len(at) * size)) if size > 0 else 1.0
