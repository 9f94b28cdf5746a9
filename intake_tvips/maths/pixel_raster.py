"""The raster of a scan from per-frame features alone: row length, winding, start frame.

Pure numpy, no I/O. The features are a few numbers per frame in acquisition order (the
principal components of detector-cell sums: :func:`feature_basis`, :func:`project`). A
scan leaves these traces (:mod:`intake_tvips.maths.periodicity`):

* frames one row apart look alike: the frames ``nx`` apart (plain raster, or winding
  ``"y"``) or ``2 nx`` apart (a snake) are closer than frames at other lags (a dip of the
  lag profile); a texture running diagonally makes ``nx - 1`` or ``nx + 1`` dip as well;
* a plain raster breaks once per row (the fly-back), which tells ``nx`` from its
  diagonal rivals (they smear the breaks over every phase); a vertical edge of the
  sample breaks every row too, so the breaks' phase is not trusted for the start;
* slanted lamellae make frames ``k`` rows and a column apart look more alike than one
  row apart (rows of ``3 nx - 1`` fit best): the breaks tell, or, where the frames
  between blanked ones are counted, only the true rows fill them;
* a snake mirrors in time at each turn: the frames ``a`` and ``b`` with
  ``a + b = 2 start + h - 1`` (mod ``2 nx``) sit on neighbouring rows at one column
  (``h`` the roll, its wrapped columns folding ``nx`` later:
  :mod:`intake_tvips.maths.snake_fold`);
* winding ``"y"`` alternates two rows of the sample, far apart at the scan's start: the
  steps from frame to frame alternate in direction from column to column, and pairs
  of frames two apart break once per row.

Each rival (winding, row length) is scored by how alike the frames it calls vertical
neighbours are, against frames at random; the best must beat the others clearly, or the
answer is undecided (``RasterFit.why``). The start comes from the junk frames around the
scan (:mod:`intake_tvips.maths.scan_ends`), never from a guess.
Rows longer than ``MAX_ROW`` positions are not looked for, and at most ``MAX_FRAMES``
frames are used (the cost stays bounded whatever the budget read).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from intake_tvips.maths.periodicity import (
    dip_ratio,
    dips,
    lag_profile,
    periodic_events,
    step_distances,
)
from intake_tvips.maths.snake_fold import snake_fit, turn_kinds

#: a row-period dip must fall below this share of the lags around it
DIP_DEPTH = 0.75
#: the winning rival's neighbour distance must be below this share of the next one's
MARGIN = 0.8
#: log10 of the chance below which breaks repeating with a row length are believed
PHASE_LOG10_P = -4.0
#: rivals of one winding whose fit is within this factor of the best are told apart
#: by their breaks or by whole rows
CLOSE = 0.85
#: ... and a row length one longer or shorter than the best within this factor (a
#: texture running diagonally makes the wrong one fit better)
NEAR = 0.6
#: the breaks' row length must be this many orders of magnitude likelier than the next
BREAK_MARGIN = 3.0
#: ... and where rows of several lengths of one winding tie, the chance below which
#: breaks repeating with one of them tell (:func:`_tie_by_breaks`), and the confidence
#: such an answer gets at most
TIE_LOG10_P = 2 * PHASE_LOG10_P
TIE_CONFIDENCE = 0.5
#: a snake whose two kinds of turn fold less alike than this (``turn_kinds``) may be
#: a plain raster of twice its rows over a mirror-symmetric sample: undecided
MIRROR_KINDS = 0.2
#: rows that fill the frames between blanked ones are chosen among slanted multiples'
#: divisors only where their frames fit this much better than the next such rows'
FILLING_MARGIN = 0.5
#: rows of a scan needed in the frames read
MIN_ROWS = 8
#: the steps' alternation (:func:`alternation`) above which rows wind along y, and
#: below which they are plain (where the noise hides both: 1)
Y_ALTERNATION = 2.0
PLAIN_ALTERNATION = 1.25
#: ... and below which a plain raster is sure (between: its confidence at most a half)
SURE_PLAIN = 0.7
#: the longest rows looked for
MAX_ROW = 1024
#: frames used at most (16 rows of ``MAX_ROW``)
MAX_FRAMES = 16 * MAX_ROW
#: principal components kept at most
MAX_COMPONENTS = 6


@dataclass(frozen=True)
class RasterFit:
    """A raster found in the features: ``nx`` frames a row, ``winding`` (``None``,
    ``"x"``, ``"y"``), ``roll`` (a snake's roll its turns fit best, modulo ``nx``: a
    hint, the hysteresis estimate decides), ``confidence`` (0..1: how clearly the winner
    beats the runner-up), ``notes`` (why, in words). ``nx`` is ``None`` when undecided
    (``why`` says so)."""

    nx: int | None
    winding: str | None = None
    roll: int | None = None
    confidence: float = 0.0
    notes: tuple[str, ...] = ()
    why: str = ""


def feature_basis(cell_sums: np.ndarray) -> tuple | None:
    """``(mean, std, components)``: the principal components of standardized cell sums
    that rise above the noise (eigenvalues above four times the median one), to project
    frames of the recording on (:func:`project`); ``None`` when none do."""
    if cell_sums.shape[0] < 3:
        return None
    mean, std = cell_sums.mean(axis=0), cell_sums.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    _, sv, vt = np.linalg.svd((cell_sums - mean) / std, full_matrices=False)
    lam = sv**2 / cell_sums.shape[0]
    keep = lam > 4 * max(float(np.median(lam)), 1e-12)
    keep[MAX_COMPONENTS:] = False
    return (mean, std, vt[keep].T) if keep.any() else None


def project(cell_sums: np.ndarray, basis: tuple) -> np.ndarray:
    """Frames' cell sums in the components of ``basis`` (:func:`feature_basis`)."""
    mean, std, components = basis
    return ((cell_sums - mean) / std) @ components


def fit_raster(z: np.ndarray, scan_frames: int | None = None) -> RasterFit:
    """The raster of the frames whose features are ``z`` (junk frames before the scan
    already left out).
    ``scan_frames``: how many frames lie between blanked ones at both ends, if known
    (a whole number of rows, unless the scan was cut short)."""
    z = z[:MAX_FRAMES]
    n = z.shape[0]
    max_lag = min(n // MIN_ROWS, 2 * MAX_ROW + 1)
    if max_lag < 8:
        return RasterFit(None, why=f"only {n} frames with signal: too few for {MIN_ROWS} rows")
    profile = lag_profile(z, max_lag)
    random_pairs = 2 * float((z.var(axis=0)).sum())
    found = dips(profile, 4, DIP_DEPTH)
    if not found:
        return RasterFit(None, why="the frames do not repeat along rows (no row period)")
    rivals = sorted(_rivals(z, profile, found, random_pairs), key=lambda r: r[0])
    if not rivals:
        return RasterFit(None, why=f"no row length from 4 to {MAX_ROW} frames repeats")
    best, second = rivals[0], _first_other(rivals)
    if second is not None and best[0] > MARGIN * second[0]:
        fit = _tie_by_breaks(z, best, second, rivals, scan_frames)
    else:
        fit = _winner(z, best, second, rivals, scan_frames)
    if fit.nx is not None:
        return fit
    fits = profile / random_pairs
    slanted = _slanted_lengths(rivals, fits, scan_frames)
    rescued = _rows_of_breaks(z, fits, rivals, slanted, scan_frames)
    if rescued is None:
        rescued = _rows_filling(z, fits, rivals, slanted, scan_frames)
    return fit if rescued is None else rescued


def _rivals(z, profile, found, random_pairs):
    """``(neighbour distance / random, winding, nx)`` for every rival the dips suggest;
    a snake's also with the roll its turns fit best."""
    out = []
    for lag in found:
        for nx in {lag - 1, lag, lag + 1}:
            if 4 <= nx <= MAX_ROW:
                out += [(profile[nx] / random_pairs, f, nx) for f in _families(z, nx)]
        for nx in {(lag - 1) // 2, lag // 2, (lag + 1) // 2}:
            if 4 <= nx <= MAX_ROW and 2 * nx < z.shape[0] // 2:
                distance, turns, roll = snake_fit(z, nx)
                out.append((distance / random_pairs, "x", nx, roll, turns))
    return out


def _families(z: np.ndarray, nx: int) -> list:
    """The windings that rows of ``nx`` frames, alike one row apart, may have: ``None``
    (a plain raster) or ``"y"`` (every second column reversed along y: consecutive
    frames alternate between two rows of the sample far apart at the scan's start, so
    the steps from frame to frame alternate in direction from column to column), by
    :func:`alternation`; both where it cannot tell."""
    q = alternation(z, nx)
    if q < PLAIN_ALTERNATION:
        return [None]
    return ["y"] if q > Y_ALTERNATION else [None, "y"]


def alternation(z: np.ndarray, nx: int) -> float:
    """How much the mean step from frame to frame alternates from one column to the
    next: ``|M_c - M'_c+1|²`` over ``|M_c + M'_c+1|²``, with ``M`` the mean steps per
    column over every second row of a block and ``M'`` over the others (disjoint frames:
    noise weighs alike above and below, about 1 where it hides all), the column with
    the largest step (a row's break) and the one before left out; at most over blocks
    of a quarter of the rows (winding ``"y"`` alternates most where its two rows of the
    sample lie far apart, which a hysteresis roll moves). Small for a plain raster's
    smooth rows, large for winding ``"y"``."""
    steps = z[1:] - z[:-1]
    rows = steps.shape[0] // nx
    if rows < 4:
        return 1.0
    block = max(4, rows // 4)
    return max(
        _alternation(steps[first * nx : (first + block) * nx].reshape(block, nx, -1))
        for first in range(0, rows - block + 1, block)
    )


def _alternation(grid: np.ndarray) -> float:
    """:func:`alternation` of one block: ``(rows, nx, features)`` steps."""
    even, odd = grid[0::2].mean(axis=0), grid[1::2].mean(axis=0)
    both = even + odd
    keep = np.ones(grid.shape[1], dtype=bool)
    top = int(np.argmax(np.einsum("ij,ij->i", both, both)))
    keep[[top, (top - 1) % keep.size]] = False
    apart = together = 0.0
    for first, second in ((even, odd), (odd, even)):
        after = np.roll(second, -1, axis=0)
        apart += float(((first - after) ** 2)[keep].sum())
        together += float(((first + after) ** 2)[keep].sum())
    return apart / max(together, 1e-300)


def _first_other(rivals):
    """The best rival of another winding, or of a row length that is not a diagonal
    neighbour of the best's (those are told apart by the breaks)."""
    top = rivals[0]
    for r in rivals[1:]:
        if r[1] != top[1] or (abs(r[2] - top[2]) > 1 and r[2] % top[2] and top[2] % r[2]):
            return r
    return None


def _tie(a, b) -> str:
    name = {None: "rows", "x": "snake rows", "y": "rows winding along y"}
    return (
        f"{name[a[1]]} of {a[2]} and {name[b[1]]} of {b[2]} frames fit about as well "
        f"({a[0]:.2f} and {b[0]:.2f} of random pairs)"
    )


def _winner(z, best, second, rivals, scan_frames: int | None, overall=None) -> RasterFit:
    """The row length settled among the rivals of its winding that fit nearly as well
    (:func:`_settle`); for a snake also the roll its turns fit best. ``overall``: the
    breaks' :func:`_break_period`, when the caller has it already."""
    winding = best[1]
    close = sorted(
        {
            r[2]
            for r in rivals
            if r[1] == winding
            and (r[0] * CLOSE <= best[0] or (abs(r[2] - best[2]) == 1 and r[0] * NEAR <= best[0]))
        }
    )
    nx, how = _settle(z, winding, close, scan_frames)
    if nx is None:
        return RasterFit(None, why=how)
    if scan_frames and scan_frames % nx:
        return RasterFit(
            None,
            why=f"rows of {nx} frames fit, but the {scan_frames} frames between the "
            "blanked ones are no whole number of them",
        )
    other = _other_breaks(z, winding, nx, overall, scan_frames)
    if other is not None:
        return RasterFit(None, why=f"rows of {nx} frames fit, but breaks repeat every {other}")
    what = {None: "rows", "x": "mirrored rows", "y": "rows winding along y"}[winding]
    notes = tuple(t for t in (f"{what} of {nx} frames ({best[0]:.2f} of random pairs)", how) if t)
    conf = _confidence(best, second)
    if winding is None and alternation(z, nx) > SURE_PLAIN:
        conf = min(conf, 0.5)
        notes += ("winding y not ruled out (the steps barely alternate either way)",)
    if winding != "x":
        return RasterFit(nx, winding, None, conf, notes)
    fitted = next(r for r in rivals if r[1] == "x" and r[2] == nx)  # with the rivals
    roll = fitted[3]
    if turn_kinds(z, nx, roll, fitted[4]) < MIRROR_KINDS:
        return RasterFit(
            None,
            why=f"mirrored rows of {nx} frames fit, but at every second turn only (rows "
            f"of {2 * nx} over a mirror-symmetric sample?)",
        )
    return RasterFit(nx, "x", roll, conf, notes)


def _settle(z, winding, lengths: list[int], scan_frames: int | None) -> tuple[int | None, str]:
    """One of ``lengths`` (row lengths whose frames fit nearly as well: a texture
    running diagonally, or a multiple): the one whose rows break where rows start
    (plain rasters and winding ``"y"``), else the only one the scan's frames fill with
    whole rows; ``(None, why)`` when neither tells."""
    if len(lengths) == 1:
        return lengths[0], ""
    if winding != "x":
        top = _by_breaks(_breaks(z, winding), lengths, PHASE_LOG10_P)
        if top is not None:
            return top.period, f"a break every {top.period} frames (chance 1e{top.log10_p:.0f})"
    whole = [p for p in lengths if scan_frames and scan_frames % p == 0]
    if len(whole) == 1:
        return whole[0], f"the {scan_frames} frames between the blanked ones fill whole rows"
    listed = ", ".join(str(p) for p in lengths)
    return None, f"rows of {listed} frames fit about as well (a texture running diagonally?)"


def _by_breaks(breaks: np.ndarray, lengths: list[int], needed: float):
    """The :class:`Periodicity` of the row length among ``lengths`` at which the
    frames break (:func:`_breaks`) with a chance below ``10**needed`` and
    ``BREAK_MARGIN`` orders of magnitude below every other length's; ``None`` when none
    does."""
    found = [periodic_events(breaks, p, p) for p in lengths]
    found = sorted((r for r in found if r is not None), key=lambda r: r.log10_p)
    if not found or found[0].log10_p > needed:
        return None
    top = found[0]
    return top if all(r.log10_p >= top.log10_p + BREAK_MARGIN for r in found[1:]) else None


def _breaks(z, winding) -> np.ndarray:
    """Where the frames break: steps between consecutive frames (plain rasters), or
    between frames two apart, summed over neighbouring pairs (winding ``"y"``)."""
    breaks = step_distances(z, 2 if winding == "y" else 1)
    return breaks[:-1] + breaks[1:] if winding == "y" else breaks


def _break_period(breaks: np.ndarray):
    """The :class:`Periodicity` at which the breaks repeat most significantly, over every
    row length from 4 to ``MAX_ROW`` (the costly search: once per fit)."""
    return periodic_events(breaks, 4, min(breaks.size // MIN_ROWS, MAX_ROW))


def _tie_by_breaks(z, best, second, rivals, scan_frames: int | None) -> RasterFit:
    """A tie between row lengths of one winding (plain or ``"y"``; every rival of
    another winding beaten by ``MARGIN``), broken where the frames break at one of
    the tied lengths far more regularly than at the others (chance below
    ``10**TIE_LOG10_P``: a plain raster's fly-back, winding ``"y"``'s pair breaks) and
    at no other length more regularly (a divisor: the true rows); undecided otherwise
    (``RasterFit.why`` names the tie)."""
    winding = best[1]
    undecided = RasterFit(None, why=_tie(best, second))
    if winding == "x" or any(r[1] != winding and best[0] > MARGIN * r[0] for r in rivals):
        return undecided
    tied = sorted({r[2] for r in rivals if r[1] == winding and best[0] > MARGIN * r[0]})
    breaks = _breaks(z, winding)
    top, overall = _by_breaks(breaks, tied, TIE_LOG10_P), _break_period(breaks)
    if top is None or overall is None or overall.period != top.period:
        return undecided  # ... and no other length breaks as regularly (a divisor)
    chosen = next(r for r in rivals if r[1] == winding and r[2] == top.period)
    how = (
        f"rows of {', '.join(map(str, tied))} frames fit about as well: a break every "
        f"{top.period} frames (chance 1e{top.log10_p:.0f}) tells"
    )
    return _chosen_by_breaks(z, chosen, rivals, scan_frames, how, overall)


def _chosen_by_breaks(z, chosen, rivals, scan_frames: int | None, how: str, overall=None):
    """``chosen`` (a rival the breaks picked among tied ones) through :func:`_winner`'s
    checks against the rivals of other windings, its confidence at most
    ``TIE_CONFIDENCE`` and ``how`` in its notes."""
    others = [r for r in rivals if r[1] != chosen[1]]
    fit = _winner(z, chosen, min(others, default=None), [chosen], scan_frames, overall)
    if fit.nx is None:
        return fit
    return replace(fit, confidence=min(fit.confidence, TIE_CONFIDENCE), notes=(*fit.notes, how))


def _other_breaks(z, winding, nx: int, overall=None, scan_frames: int | None = None) -> int | None:
    """A row length, not ``nx`` nor its multiple or divisor, at which the frames break
    far more regularly than at ``nx`` (slanted lamellae let frames many rows and a
    column apart look alike: their fly-back breaks still repeat with the rows); not one
    the ``scan_frames`` between blanked ones are no whole number of (a texture running
    diagonally repeats its steps every ``nx - 1`` frames: no rows)."""
    if winding == "x":
        return None
    breaks = _breaks(z, winding)
    top = overall if overall is not None else _break_period(breaks)
    if top is None or top.log10_p > 2 * PHASE_LOG10_P:
        return None
    if scan_frames and scan_frames % top.period:
        return None
    if top.period % nx == 0 or nx % top.period == 0:
        return None
    own = periodic_events(breaks, nx, nx)
    return top.period if own is None or own.log10_p > top.log10_p + BREAK_MARGIN else None


def _confidence(best, second) -> float:
    """How much better the winner fits than the runner-up: 0 at the margin, 1 at twice."""
    margin = 1.0 if second is None else 1.0 - best[0] / max(second[0], 1e-300)
    return float(np.clip((margin - (1 - MARGIN)) / (1 - MARGIN), 0.0, 1.0))


def _rows_of_breaks(
    z, fits: np.ndarray, rivals, slanted, scan_frames: int | None
) -> RasterFit | None:
    """Where the fit stays undecided between rows that are (within a frame a row)
    multiples of one length, that length when the frames break with it (chance below
    ``10**PHASE_LOG10_P`` over the lengths tried, ``BREAK_MARGIN`` orders of magnitude
    likelier than the others): a texture running diagonally (rows one frame short or
    long), or lamellae slanted so that frames several rows apart look alike, fit better
    than the true rows, but only the true rows' fly-back breaks repeat. The lengths
    tried: those that the best rows are such a multiple of, and (when known) the frames
    between the blanked ones fill (``slanted``: :func:`_slanted_lengths`). ``fits``: the
    lag profile over random pairs. ``None`` when this does not tell."""
    tied, lengths = slanted
    if not lengths:
        return None
    winding = rivals[0][1]
    breaks = _breaks(z, winding)
    top = _by_breaks(breaks, lengths, PHASE_LOG10_P - float(np.log10(len(lengths))))
    if top is None or winding not in _families(z, top.period):
        return None
    chosen = (float(fits[top.period]), winding, top.period)
    how = (
        f"rows of {', '.join(map(str, tied))} frames fit better, but the frames break "
        f"every {top.period} (chance 1e{top.log10_p:.0f}, {len(lengths)} lengths tried)"
    )
    fit = _chosen_by_breaks(z, chosen, rivals, scan_frames, how)
    return fit if fit.nx is not None else None


def _slanted_lengths(rivals, fits: np.ndarray, scan_frames: int | None) -> tuple[list, list]:
    """``(tied, lengths)``: the row lengths of the best rival's winding that fit nearly
    as well as it (plain or ``"y"``, no rival of another winding close), and the lengths
    they are all slanted multiples of (:func:`_slanted_multiple`) that the
    ``scan_frames`` between blanked ones (when known) fill with whole rows; ``lengths``
    empty when there is no such tie."""
    best, winding = rivals[0], rivals[0][1]
    if winding == "x" or any(r[1] != winding and best[0] > MARGIN * r[0] for r in rivals):
        return [], []
    tied = sorted({best[2]} | {r[2] for r in rivals if r[1] == winding and best[0] > MARGIN * r[0]})
    lengths = [
        p
        for p in range(4, min(fits.size - 1, MAX_ROW + 1))
        if not (scan_frames and scan_frames % p) and all(_slanted_multiple(nx, p) for nx in tied)
    ]
    return tied, lengths


def _rows_filling(
    z, fits: np.ndarray, rivals, slanted, scan_frames: int | None
) -> RasterFit | None:
    """Where the fit stays undecided between rows that are slanted multiples of one
    length (:func:`_rows_of_breaks`) and the breaks do not tell, the length whose whole
    rows fill the ``scan_frames`` between blanked ones, when the frames one such row
    apart look alike (a dip of the profile at that lag itself: beside a dip, it may be
    a scan cut short that rows a frame shorter fill) and far more alike than at any
    other such length (``FILLING_MARGIN``): slanted lamellae make frames
    several rows and a column apart look more alike than one row apart, but only the
    true rows fill the scan (``slanted``: :func:`_slanted_lengths`, the lengths among
    which). ``None`` when this does not tell (``scan_frames`` unknown)."""
    tied, lengths = slanted
    if not scan_frames or not lengths:
        return None
    ranked = sorted(lengths, key=lambda p: fits[p])
    top = ranked[0]
    if top in tied:  # a length the fit tied on already: a texture's period, not rows
        return None
    clear = len(ranked) == 1 or fits[top] < FILLING_MARGIN * fits[ranked[1]]
    ratio = dip_ratio(fits, top)
    if not clear or ratio is None or ratio >= DIP_DEPTH:
        return None
    winding = rivals[0][1]
    if winding not in _families(z, top):
        return None
    chosen = (float(fits[top]), winding, top)
    how = (
        f"rows of {', '.join(map(str, tied))} frames fit better, but only rows of {top} "
        f"fill the {scan_frames} frames between the blanked ones, and their frames a row "
        "apart look alike too"
    )
    fit = _chosen_by_breaks(z, chosen, rivals, scan_frames, how)
    return fit if fit.nx is not None else None


def _slanted_multiple(nx: int, period: int) -> bool:
    """Whether rows of ``nx`` frames are ``period`` itself or ``k`` rows of it but for
    at most a frame a row, not exactly (a texture repeating along the rows makes exact
    multiples fit: its breaks repeat within the rows, not with them)."""
    k = max(1, round(nx / period))
    return nx == period or 0 < abs(nx - k * period) <= k
