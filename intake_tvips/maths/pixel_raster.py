"""The raster of a scan from per-frame features alone: row length, winding, start frame.

Pure numpy, no I/O. The features are a few numbers per frame in acquisition order (the
principal components of detector-cell sums, :func:`features`). A scan leaves these traces
(:mod:`intake_tvips.maths.periodicity`):

* frames one row apart look alike: the frames ``nx`` apart (plain raster, or winding
  ``"y"``) or ``2 nx`` apart (a snake) are closer than frames at other lags (a dip of the
  lag profile); a texture running diagonally makes ``nx - 1`` or ``nx + 1`` dip as well;
* a plain raster breaks once per row (the fly-back): the break's phase is the start,
  and it tells ``nx`` from its diagonal rivals (they smear the breaks over every phase);
* a snake mirrors in time at each turn (:func:`~.periodicity.fold_distances`); the
  hysteresis roll breaks every second row (where the rolled row wraps);
* winding ``"y"`` alternates two rows of the sample: frames two apart are closer than
  frames one apart, and pairs break once per row.

Each rival (winding, row length) is scored by how alike the frames it calls vertical
neighbours are, against frames at random; the best must beat the others clearly, or the
answer is undecided (``RasterFit.why``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from intake_tvips.maths.periodicity import (
    dips,
    lag_profile,
    leading_run,
    periodic_events,
    step_distances,
)

#: a frame with fewer counts than this share of the median is beam blanked
BLANK_SHARE = 0.2
#: a row-period dip must fall below this share of the lags around it
DIP_DEPTH = 0.75
#: the winning rival's neighbour distance must be below this share of the next one's
MARGIN = 0.8
#: log10 of the chance below which a break or fold phase is believed
PHASE_LOG10_P = -6.0
#: the breaks' row length must be this many orders of magnitude likelier than the next
BREAK_MARGIN = 3.0
#: rows of a scan needed in the frames read
MIN_ROWS = 4
#: frames 2 apart must be this much closer than frames 1 apart for winding "y" (and
#: this much farther for a plain raster)
Y_RATIO = 1.25
#: principal components kept at most
MAX_COMPONENTS = 6


@dataclass(frozen=True)
class RasterFit:
    """A raster found in the features: ``nx`` frames a row, ``winding`` (``None``,
    ``"x"``, ``"y"``), ``start`` (the scan's first frame), ``hysteresis_hint`` (the roll a
    snake's folds and breaks suggest, ``None`` if not seen), ``confidence`` (0..1),
    ``notes`` (why, in words). ``nx`` is ``None`` when undecided (``why`` says so)."""

    nx: int | None
    winding: str | None = None
    start: int = 0
    hysteresis_hint: int | None = None
    confidence: float = 0.0
    notes: tuple[str, ...] = ()
    why: str = ""


def features(cell_sums: np.ndarray) -> np.ndarray | None:
    """The principal components of standardized cell sums that rise above the noise
    (eigenvalues above four times the median one); ``None`` when none do."""
    std = cell_sums.std(axis=0)
    z = (cell_sums - cell_sums.mean(axis=0)) / np.where(std > 0, std, 1.0)
    if z.shape[0] < 3:
        return None
    u, sv, _ = np.linalg.svd(z, full_matrices=False)
    lam = sv**2 / z.shape[0]
    keep = lam > 4 * max(float(np.median(lam)), 1e-12)
    keep[MAX_COMPONENTS:] = False
    return (u * sv)[:, keep] if keep.any() else None


def junk_ends(totals: np.ndarray) -> tuple[int, int]:
    """Blanked frames (few counts) at the start and at the end."""
    blank = totals < BLANK_SHARE * np.median(totals)
    return leading_run(blank), leading_run(blank[::-1])


def fit_raster(z: np.ndarray, offset: int = 0) -> RasterFit:
    """The raster of the frames whose features are ``z`` (the first of them is frame
    ``offset`` of the recording; junk frames before it already left out)."""
    n = z.shape[0]
    max_lag = n // MIN_ROWS
    if max_lag < 8:
        return RasterFit(None, why=f"only {n} frames with signal: too few for {MIN_ROWS} rows")
    profile = lag_profile(z, max_lag)
    random_pairs = 2 * float((z.var(axis=0)).sum())
    found = dips(profile, 4, DIP_DEPTH)
    if not found:
        return RasterFit(None, why="the frames do not repeat along rows (no row period)")
    rivals = _rivals(z, profile, found, random_pairs)
    rivals.sort(key=lambda r: r[0])
    best, second = rivals[0], _first_other(rivals)
    if second is not None and best[0] > MARGIN * second[0]:
        return RasterFit(None, why=_tie(best, second))
    return _phase(z, best, second, rivals, offset)


def _rivals(z, profile, found, random_pairs):
    """``(neighbour distance / random, winding, nx)`` for every rival the dips suggest."""
    near_one = profile[1] / max(profile[2], 1e-300)  # < 1: a plain raster; > 1: "y"
    families = [f for f, ok in ((None, near_one < 1 / Y_RATIO), ("y", near_one > Y_RATIO)) if ok]
    families = families or [None, "y"]  # frames 1 and 2 apart alike: both stay rivals
    out = []
    for lag in found:
        for nx in {lag - 1, lag, lag + 1}:
            out += [(profile[nx] / random_pairs, f, nx) for f in families if nx >= 4]
        for nx in {(lag - 1) // 2, lag // 2, (lag + 1) // 2}:
            if nx >= 4 and 2 * nx < z.shape[0] // 2:
                out.append((_snake_fit(z, nx)[0] / random_pairs, "x", nx))
    return out


def _first_other(rivals):
    """The best rival of another winding, or of a row length that is not a diagonal
    neighbour of the best's (those are told apart by the breaks)."""
    top = rivals[0]
    for r in rivals[1:]:
        if r[1] != top[1] or (abs(r[2] - top[2]) > 1 and r[2] % top[2] and top[2] % r[2]):
            return r
    return None


def _snake_fit(z: np.ndarray, nx: int) -> tuple[float, int]:
    """The distance of the frames a snake of ``nx`` a row puts on neighbouring rows,
    at the turns' phase chosen on every second turn and measured on the others (so
    that choosing the phase does not flatter the snake against the other rivals); and
    the phase chosen on all turns (``a + b`` of the frame pairs folded, mod ``2 nx``)."""
    period = 2 * nx
    n = z.shape[0]
    sums = np.zeros((2, period))  # (turn parity, a + b mod 2 nx)
    counts = np.zeros((2, period))
    for gap in range(1, period):
        d = step_distances(z, gap)
        a = np.arange(d.size)
        c2 = 2 * a + gap
        turn = (c2 // period) % 2
        np.add.at(sums, (turn, c2 % period), d)
        np.add.at(counts, (turn, c2 % period), 1)
    means = sums / np.maximum(counts, 1)
    if n < 2 * period:
        return float("inf"), 0
    chosen = int(np.argmin(means[0]))
    return float(means[1, chosen]), int(np.argmin(means.sum(axis=0)))


def _tie(a, b) -> str:
    name = {None: "rows", "x": "snake rows", "y": "rows winding along y"}
    return (
        f"{name[a[1]]} of {a[2]} and {name[b[1]]} of {b[2]} frames fit about as well "
        f"({a[0]:.2f} and {b[0]:.2f} of random pairs)"
    )


def _phase(z, best, second, rivals, offset: int) -> RasterFit:
    """The row length settled among diagonal rivals by the breaks of the rows, and the
    hysteresis a snake's turns suggest for each start (:func:`snake_roll`)."""
    _, winding, nx = best
    if winding == "x":
        notes = (f"mirrored rows of {nx} frames ({best[0]:.2f} of random pairs)",)
        c2 = _snake_fit(z, nx)[1]
        return RasterFit(nx, "x", offset, c2 + 2 * offset, _confidence(best, second), notes)
    breaks = step_distances(z, 2 if winding == "y" else 1)
    if winding == "y":
        breaks = breaks[:-1] + breaks[1:]
    lengths = sorted({r[2] for r in rivals if r[1] == winding} | {nx - 1, nx, nx + 1})
    found = [periodic_events(breaks, p, p) for p in lengths if p >= 4]
    found = sorted((r for r in found if r is not None), key=lambda r: r.log10_p)
    top = found[0]
    if top.log10_p > PHASE_LOG10_P:
        return RasterFit(None, why=f"rows of about {nx} frames, but no break repeats with them")
    if len(found) > 1 and found[1].log10_p < top.log10_p + BREAK_MARGIN:
        return RasterFit(None, why=f"rows of {top.period} or {found[1].period} frames break alike")
    nx = top.period
    what = "rows winding along y" if winding == "y" else "rows"
    notes = (f"{what} of {nx} frames ({best[0]:.2f} of random pairs)",)
    return RasterFit(nx, winding, offset, None, _confidence(best, second), notes)


def snake_roll(turns: int, start: int, nx: int) -> int:
    """The hysteresis of a snake whose turns fold the frame pairs ``a + b = turns``
    (mod ``2 nx``) when it starts at ``start``: ``turns = 2 start + h - 1``; in
    ``-nx/2 .. nx/2``."""
    h = (turns + 1 - 2 * start) % (2 * nx)
    return int((h + nx // 2) % nx - nx // 2)


def scan_start(n: int, nx: int, blank_before: int, blank_after: int) -> tuple[int | None, str]:
    """The scan's first frame: after the blanked frames at the start; or, with none
    there, before a whole number of rows ending where the blanked frames at the end
    begin (or at the recording's end: then the recording must hold whole rows, the
    remainder being frames before the scan)."""
    if blank_before:
        return blank_before, f"frames 0..{blank_before - 1} blanked"
    end = n - blank_after
    extra = end % nx
    if blank_after:
        return extra, f"{blank_after} blanked frames at the end, {extra} frames before whole rows"
    if extra == 0:
        return 0, "the recording holds whole rows"
    return None, f"{extra} frames beyond whole rows, before or after the scan (not told apart)"


def _confidence(best, second) -> float:
    """How much better the winner fits than the runner-up: 0 at the margin, 1 at twice."""
    margin = 1.0 if second is None else 1.0 - best[0] / max(second[0], 1e-300)
    return float(np.clip((margin - (1 - MARGIN)) / (1 - MARGIN), 0.0, 1.0))
