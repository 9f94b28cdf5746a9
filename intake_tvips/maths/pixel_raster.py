"""The raster of a scan from per-frame features alone: row length and winding.

Pure numpy, no I/O. The features are a few numbers per frame in acquisition order (the
principal components of detector-cell sums, or where none rises above the noise the
directions neighbouring frames correlate along: :mod:`intake_tvips.maths.frame_features`). A
scan leaves these traces (:mod:`intake_tvips.maths.periodicity`):

* frames one row apart look alike: the frames ``nx`` apart (plain raster, or winding
  ``"y"``) or ``2 nx`` apart (a snake) are closer than frames at other lags (a dip of the
  lag profile); a texture running diagonally makes ``nx - 1`` or ``nx + 1`` dip as well;
* a plain raster breaks once per row (the fly-back), which tells ``nx`` from its
  diagonal rivals (they smear the breaks over every phase;
  :mod:`intake_tvips.maths.raster_breaks`); a vertical edge of the sample breaks every
  row too, so the breaks' phase is not trusted for the start;
* slanted lamellae make frames ``k`` rows and a column apart look more alike than one
  row apart (rows of ``3 nx - 1`` fit best): the breaks tell, or, where the frames
  between junk ones are counted, only the true rows fill them
  (:mod:`intake_tvips.maths.raster_slants`);
* a snake mirrors in time at each turn: the frames ``a`` and ``b`` with
  ``a + b = 2 start + h - 1`` (mod ``2 nx``) sit on neighbouring rows at one column
  (``h`` the roll, its wrapped columns folding ``nx`` later:
  :mod:`intake_tvips.maths.snake_fold`);
* winding ``"y"`` alternates two rows of the sample, far apart at the scan's start: the
  steps from frame to frame alternate in direction from column to column
  (:mod:`intake_tvips.maths.raster_windings`), and pairs of frames two apart break once
  per row;
* a sample periodic along the rows (a grating) can hide them: a grating that repeats
  along y too makes rows of several true rows fit best, and where its period divides
  the rows the fly-back continues it; a period of ``nx`` along rows of ``m nx`` makes
  rows of ``nx`` fit best, with a seam every ``m`` of them
  (:mod:`intake_tvips.maths.row_seams`). Plain rows and winding ``"y"`` over such a
  sample are trusted only where the breaks repeat with the rows
  (:func:`_unless_periodic`).

Each rival (winding, row length) is scored by how alike the frames it calls vertical
neighbours are, against frames at random; the best must beat the others clearly, or the
answer is undecided (``RasterFit.why``). The start is not found here: it comes from the
junk frames around the scan (:mod:`intake_tvips.maths.scan_ends`) or from where the rows
break among the starts those leave open (:mod:`intake_tvips.maths.scan_phase`).
Rows longer than ``MAX_ROW`` positions are not looked for, and at most ``MAX_FRAMES``
frames are used (the cost stays bounded whatever the budget read).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from intake_tvips.maths.frame_features import feature_basis, project
from intake_tvips.maths.periodicity import (
    dips,
    lag_profile,
    period_within,
    random_pair_distance,
)
from intake_tvips.maths.raster_breaks import (
    PHASE_LOG10_P,
    break_period,
    breaks,
    by_breaks,
    other_breaks,
)
from intake_tvips.maths.raster_slants import rows_filling, rows_of_breaks, slanted_lengths
from intake_tvips.maths.raster_windings import (
    PLAIN_ALTERNATION,
    SURE_PLAIN,
    Y_ALTERNATION,
    alternation,
    families,
)
from intake_tvips.maths.row_seams import seam_period
from intake_tvips.maths.snake_fold import snake_fit, turn_kinds

__all__ = [
    "PLAIN_ALTERNATION",
    "Y_ALTERNATION",
    "RasterFit",
    "alternation",
    "feature_basis",
    "fit_raster",
    "project",
]

#: a row-period dip must fall below this share of the lags around it
DIP_DEPTH = 0.75
#: the winning rival's neighbour distance must be below this share of the next one's
#: (two that fit perfectly, both 0, as noise-free gratings can, tie)
MARGIN = 0.8
#: rivals of one winding whose fit is within this factor of the best are told apart
#: by their breaks or by whole rows
CLOSE = 0.85
#: ... and a row length one longer or shorter than the best within this factor (a
#: texture running diagonally makes the wrong one fit better)
NEAR = 0.6
#: where rows of several lengths of one winding tie, the chance below which breaks
#: repeating with one of them tell (:func:`_tie_by_breaks`), and the confidence
#: such an answer gets at most
TIE_LOG10_P = 2 * PHASE_LOG10_P
TIE_CONFIDENCE = 0.5
#: a snake whose two kinds of turn fold less alike than this (``turn_kinds``) may be
#: a plain raster of twice its rows over a mirror-symmetric sample: undecided
MIRROR_KINDS = 0.2
#: ... and one whose turns fold less alike than this, the confidence at most
#: ``MIRROR_CONFIDENCE``: plain rows of 86 (and winding y of 68) over crops of a
#: checkerboard mirror-symmetric about the rows' middle, constant along the columns
#: within its squares, were read as snakes of 43 (34) with turns folding 0.26-0.42
#: alike, at confidence up to 1.0; snakes over such crops fold 0.2-0.5 alike too
MIRROR_SURE = 0.5
MIRROR_CONFIDENCE = 0.5
#: a dip this deep (of the lags around it) within a third of the rows marks a sample
#: periodic along them (:func:`_unless_periodic`)
PERIODIC_DEPTH = 0.3
#: the confidence at most of a snake over a sample periodic along its rows: a snake of
#: other rows can fold the frames as well or better (a checkerboard mirror-symmetric
#: about the rows' middle, under a snake of rows of 80, fitted rows of 40 better than
#: the truth: read at 1.0)
PERIODIC_SNAKE_CONFIDENCE = 0.5
#: a snake's (or a plain raster's) consecutive frames are neighbours on the sample,
#: frames two apart a step further: the mean distance at lag 1 stayed below 1.07 times
#: that at lag 2 over snakes of every texture, real image and grating generated; winding
#: ``"y"`` alternates between two rows of the sample (its median 2.0). Above this, no
#: snake is a rival (winding y of 32 over a diagonal texture tied with a snake of 16)
SNAKE_STEPS = 1.5
#: frames ``m`` rows apart fitting below this share of ``m - 1`` rows apart mark rows
#: that may be a period of the sample (:func:`_dip_at_multiple`); a sample varying
#: along y makes the profile rise from row to row
MULTIPLE_DIP = 0.9
#: rows of a scan needed in the frames read
MIN_ROWS = 8
#: the longest rows looked for
MAX_ROW = 1024
#: frames used at most (16 rows of ``MAX_ROW``)
MAX_FRAMES = 16 * MAX_ROW


@dataclass(frozen=True)
class RasterFit:
    """A raster found in the features: ``nx`` frames a row, ``winding`` (``None``,
    ``"x"``, ``"y"``), ``roll`` (a snake's roll its turns fit best, modulo ``nx``: a
    hint, the hysteresis estimate decides), ``confidence`` (0..1: how clearly the winner
    beats the runner-up), ``notes`` (why, in words). ``nx`` is ``None`` when undecided
    (``why`` says so). ``winding_sure`` is false for plain rows whose steps barely
    alternate either way (winding ``"y"`` not ruled out by them); the image decides
    (:mod:`intake_tvips.recording.pixel_winding`), which is also asked of rows found
    winding along y (a texture changing fast along the rows imitates their
    alternation). ``winding_open``: winding ``"y"`` of these rows fits exactly as well
    (the steps alternate neither way clearly): only an image that clearly tells decides,
    undecided otherwise. ``lean``: where undecided between a snake of ``nx`` frames and
    plain rows of about twice that (:func:`snake_lean`), ``(nx, "x")``: a first view to
    tune by eye, never an answer."""

    nx: int | None
    winding: str | None = None
    roll: int | None = None
    confidence: float = 0.0
    notes: tuple[str, ...] = ()
    why: str = ""
    winding_sure: bool = True
    winding_open: bool = False
    lean: tuple[int, str] | None = None


def fit_raster(z: np.ndarray, scan_frames: int | None = None) -> RasterFit:
    """The raster of the frames whose features are ``z`` (junk frames before the scan
    already left out).
    ``scan_frames``: how many frames lie between junk ones at both ends, if known
    (a whole number of rows, unless the scan was cut short)."""
    z = z[:MAX_FRAMES]
    n = z.shape[0]
    max_lag = min(n // MIN_ROWS, 2 * MAX_ROW + 1)
    if max_lag < 8:
        return RasterFit(None, why=f"only {n} frames with signal: too few for {MIN_ROWS} rows")
    profile = lag_profile(z, max_lag)
    random_pairs = random_pair_distance(z)
    found = dips(profile, 4, DIP_DEPTH)
    if not found:
        return RasterFit(None, why="the frames do not repeat along rows (no row period)")
    rivals = sorted(_rivals(z, profile, found, random_pairs), key=lambda r: r[0])
    if not rivals:
        return RasterFit(None, why=f"no row length from 4 to {MAX_ROW} frames repeats")
    open_winding = _twin(rivals)
    if open_winding:  # plain rows and winding y of one length, alike by the steps
        rivals = [r for r in rivals if r[1:3] != ("y", rivals[0][2])]
    best, second = rivals[0], _first_other(rivals)
    if second is not None and best[0] >= MARGIN * second[0]:
        fit = _tie_by_breaks(z, best, second, rivals, scan_frames)
    else:
        fit = _winner(z, best, second, rivals, scan_frames)
    if fit.nx is None:
        rescued = _rescued(z, profile / random_pairs, rivals, scan_frames)
        fit = fit if rescued is None else rescued
    if open_winding and fit.nx == best[2] and fit.winding is None:
        fit = replace(fit, winding_sure=False, winding_open=True)
    return _unless_periodic(fit, z, profile)


def _twin(rivals) -> bool:
    """Whether the best rival is plain rows or winding ``"y"`` whose twin of the other
    winding and the same length fits exactly as well (:func:`families` named both: the
    steps alternate neither way clearly); the image is to tell them apart."""
    best = rivals[0]
    if best[1] not in (None, "y"):
        return False
    twin = (None if best[1] == "y" else "y", best[2])
    return any(r[1:3] == twin and r[0] == best[0] for r in rivals[1:])


def _unless_periodic(fit: RasterFit, z: np.ndarray, profile: np.ndarray) -> RasterFit:
    """``fit`` (plain rows or winding ``"y"``), unless the frames ``z`` repeat along
    its rows every ``p`` frames (a deep dip of the lag ``profile``,
    :func:`~intake_tvips.maths.periodicity.period_within`: a grating) and the breaks
    do not repeat with the rows far more than with any divisor of them (chance below
    ``10**TIE_LOG10_P``, ``BREAK_MARGIN`` orders below every divisor's). A grating that
    repeats along y too makes rows of several true rows fit best; where ``p`` divides
    the rows, the fly-back continues the period and rows of its other multiples fit
    as well. Likewise where frames some ``m`` rows apart look more alike than ``m - 1``
    rows apart (:func:`_dip_at_multiple`): the rows may be a period of the sample and
    ``m`` of them the scan's (a diagonal wave repeating every 24 positions along rows
    of 96, wound along y, was read as rows of 24 at 0.999), or where every ``m``-th row
    differs from the next far more than the others (:func:`_multiple`), unless the
    breaks repeat with the rows and no multiple of them. A snake has no breaks to tell: its
    confidence is capped at ``PERIODIC_SNAKE_CONFIDENCE``."""
    if fit.nx is None:
        return fit
    span = 2 * fit.nx if fit.winding == "x" else fit.nx  # a snake folds frames 2 nx apart
    p = period_within(profile, span, PERIODIC_DEPTH)
    if p is not None and fit.winding == "x":
        note = f"the frames repeat every {p} along the rows (a periodic sample?)"
        conf = min(fit.confidence, PERIODIC_SNAKE_CONFIDENCE)
        return replace(fit, confidence=conf, notes=(*fit.notes, note))
    if p is not None:
        lengths = [d for d in range(4, fit.nx + 1) if fit.nx % d == 0]
        why = (
            f"the frames repeat every {p} along them (a sample periodic along the scan, "
            "e.g. a grating)"
        )
    else:
        found = _multiple(z, profile, fit.nx) if fit.winding != "x" else None
        if found is None:
            return fit
        m, why = found
        lengths = [k * fit.nx for k in range(1, m + 1)]
    top = by_breaks(breaks(z, fit.winding), lengths, TIE_LOG10_P)
    if top is not None and top.period == fit.nx:
        return fit
    return RasterFit(None, why=f"{fit.notes[0]}, but {why}, and no break repeats with the rows")


def _multiple(z: np.ndarray, profile: np.ndarray, nx: int) -> tuple[int, str] | None:
    """``(m, why)`` where rows of ``nx`` may be a period of the sample along rows of
    ``m nx``: frames ``m`` rows apart more alike than ``m - 1`` rows apart
    (:func:`_dip_at_multiple`), or a seam every ``m`` rows
    (:func:`~intake_tvips.maths.row_seams.seam_period`: noise-free diagonal waves
    repeating every 32 positions along rows of 64, read as rows of 32 at 1.0 wound
    along y, at 0.0 plain); ``None`` where neither."""
    m = _dip_at_multiple(profile, nx)
    if m is not None:
        return m, (
            f"frames {m} rows apart look more alike than {m - 1} rows apart (rows of a "
            "period of a sample periodic along them?)"
        )
    m = seam_period(z, nx)
    if m is not None:
        return m, (
            f"every {_ORDINAL.get(m, f'{m}th')} row differs from the next far more than "
            f"the others (a seam: rows of {m} x {nx} over a sample repeating every {nx} "
            "along them?)"
        )
    return None


_ORDINAL = {2: "second", 3: "third", 4: "fourth"}


def _dip_at_multiple(profile: np.ndarray, nx: int) -> int | None:
    """The least ``m`` from 2 at which the lag ``profile`` at ``m nx`` lies below
    ``MULTIPLE_DIP`` times its value at ``(m - 1) nx``: frames ``m`` rows apart more
    alike than ``m - 1`` rows apart, where a sample varying along y makes them less
    alike row after row; ``None`` where none does among the lags profiled."""
    for m in range(2, (profile.size - 1) // nx + 1):
        if profile[m * nx] < MULTIPLE_DIP * profile[(m - 1) * nx]:
            return m
    return None


def _rescued(z, fits: np.ndarray, rivals, scan_frames: int | None) -> RasterFit | None:
    """Where the fit stays undecided between rows of one winding that are slanted
    multiples of one length (:mod:`intake_tvips.maths.raster_slants`), that length when
    the frames break with it, else when only its whole rows fill the ``scan_frames``
    between junk ones; through :func:`_winner`'s checks. ``fits``: the lag profile
    over random pairs. ``None`` when this does not tell."""
    tied = _tied(rivals)
    lengths = slanted_lengths(tied, fits, scan_frames, MAX_ROW)
    winding = rivals[0][1]
    for picked in (
        rows_of_breaks(z, fits, winding, tied, lengths),
        rows_filling(z, fits, winding, tied, lengths, scan_frames, DIP_DEPTH),
    ):
        if picked is not None:
            fit = _chosen_by_breaks(z, *picked, rivals, scan_frames)
            if fit.nx is not None:
                return fit
    return None


def _tied(rivals) -> list[int]:
    """The row lengths of the best rival's winding, plain or ``"y"``, that fit nearly
    as well as it (within ``MARGIN``), when no rival of another winding does; empty
    otherwise (a snake, or windings tied)."""
    best, winding = rivals[0], rivals[0][1]
    if winding == "x" or any(r[1] != winding and best[0] >= MARGIN * r[0] for r in rivals):
        return []
    near = {r[2] for r in rivals if r[1] == winding and best[0] >= MARGIN * r[0]}
    return sorted({best[2]} | near)


def _rivals(z, profile, found, random_pairs):
    """``(neighbour distance / random, winding, nx)`` for every rival the dips suggest;
    a snake's also with the roll its turns fit best. No snake where consecutive frames
    differ far more than frames two apart (:data:`SNAKE_STEPS`: winding ``"y"``)."""
    snakes = profile[1] <= SNAKE_STEPS * profile[2]
    out = []
    for lag in found:
        for nx in {lag - 1, lag, lag + 1}:
            if 4 <= nx <= MAX_ROW:
                out += [(profile[nx] / random_pairs, f, nx) for f in families(z, nx)]
        for nx in {(lag - 1) // 2, lag // 2, (lag + 1) // 2} if snakes else ():
            if 4 <= nx <= MAX_ROW and 2 * nx < z.shape[0] // 2:
                distance, turns, roll = snake_fit(z, nx)
                out.append((distance / random_pairs, "x", nx, roll, turns))
    return out


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


def snake_lean(a, b) -> tuple[int, str] | None:
    """``(nx, "x")`` where the tied rivals ``a`` and ``b`` are a snake of ``nx`` frames
    and plain rows of ``2 nx`` (one frame either way): the snake, which a smooth sample
    makes fit as well as rows of its row pairs, where plain rows of ``2 nx`` fit a
    snake only over a sample mirrored about their middle; ``None`` otherwise."""
    for snake, rows in ((a, b), (b, a)):
        if snake[1] == "x" and rows[1] is None and abs(rows[2] - 2 * snake[2]) <= 1:
            return snake[2], "x"
    return None


def _winner(z, best, second, rivals, scan_frames: int | None, overall=None) -> RasterFit:
    """The row length settled among the rivals of its winding that fit nearly as well
    (:func:`_settle`); for a snake also the roll its turns fit best. ``overall``: the
    breaks' :func:`~intake_tvips.maths.raster_breaks.break_period`, when the caller
    has it already."""
    winding = best[1]
    close = sorted(
        {
            r[2]
            for r in rivals
            if r[1] == winding
            and (r[0] * CLOSE <= best[0] or (abs(r[2] - best[2]) == 1 and r[0] * NEAR <= best[0]))
        }
    )
    nx, how, counted = _settle(z, winding, close, scan_frames)
    if nx is None:
        return RasterFit(None, why=how)
    conf = _confidence(best, second)
    if counted and winding != "x":
        # told by the frame count alone: it holds whole rows of other lengths too, the
        # truth's where it is not among those compared (a snake of 20 x 80 over a
        # checkerboard whose period along the rows is 32: rows of 30-32 fitted alike,
        # and the 1600 frames are 50 rows of 32: read at 1.0); a snake's turns tell
        # its rows
        conf = min(conf, TIE_CONFIDENCE)
    if scan_frames and scan_frames % nx:
        return RasterFit(
            None,
            why=f"rows of {nx} frames fit, but the {scan_frames} frames between the junk "
            "ones (blanked or parked) at the ends are no whole number of them",
        )
    other = None
    if winding != "x":  # a snake's turns, not breaks, tell its rows
        steps = breaks(z, winding)
        overall = overall if overall is not None else break_period(steps, _longest(steps))
        other = other_breaks(steps, nx, overall, scan_frames, z if winding is None else None)
    if other is not None:
        return RasterFit(None, why=f"rows of {nx} frames fit, but breaks repeat every {other}")
    what = {None: "rows", "x": "mirrored rows", "y": "rows winding along y"}[winding]
    notes = tuple(t for t in (f"{what} of {nx} frames ({best[0]:.2f} of random pairs)", how) if t)
    if winding is None and alternation(z, nx) > SURE_PLAIN:
        notes += ("the steps barely alternate either way",)
        return RasterFit(nx, winding, None, conf, notes, winding_sure=False)
    if winding != "x":
        return RasterFit(nx, winding, None, conf, notes)
    fitted = next(r for r in rivals if r[1] == "x" and r[2] == nx)  # with the rivals
    roll = fitted[3]
    kinds = turn_kinds(z, nx, roll, fitted[4])
    if kinds < MIRROR_KINDS:
        return RasterFit(
            None,
            why=f"mirrored rows of {nx} frames fit, but at every second turn only (rows "
            f"of {2 * nx} over a mirror-symmetric sample?)",
        )
    if kinds < MIRROR_SURE:
        conf = min(conf, MIRROR_CONFIDENCE)
        notes += (
            f"every second turn folds {kinds:.2f} as alike as the others (rows of "
            f"{2 * nx} over a mirror-symmetric sample not ruled out)",
        )
    return RasterFit(nx, "x", roll, conf, notes)


def _settle(
    z, winding, lengths: list[int], scan_frames: int | None
) -> tuple[int | None, str, bool]:
    """One of ``lengths`` (row lengths whose frames fit nearly as well: a texture
    running diagonally, or a multiple): the one whose rows break where rows start
    (plain rasters and winding ``"y"``), else the only one the scan's frames fill with
    whole rows; ``(None, why, False)`` when neither tells. The flag: told by the frame
    count alone."""
    if len(lengths) == 1:
        return lengths[0], "", False
    if winding != "x":
        top = by_breaks(breaks(z, winding), lengths, PHASE_LOG10_P)
        if top is not None:
            how = f"a break every {top.period} frames (chance 1e{top.log10_p:.0f})"
            return top.period, how, False
    whole = [p for p in lengths if scan_frames and scan_frames % p == 0]
    if len(whole) == 1:
        how = f"the {scan_frames} frames between the junk ones at the ends fill whole rows"
        return whole[0], how, True
    listed = ", ".join(str(p) for p in lengths)
    why = f"rows of {listed} frames fit about as well (a texture running diagonally?)"
    return None, why, False


def _tie_by_breaks(z, best, second, rivals, scan_frames: int | None) -> RasterFit:
    """A tie between row lengths of one winding (plain or ``"y"``; every rival of
    another winding beaten by ``MARGIN``), broken where the frames break at one of
    the tied lengths far more regularly than at the others (chance below
    ``10**TIE_LOG10_P``: a plain raster's fly-back, winding ``"y"``'s pair breaks) and
    at no other length more regularly (a divisor: the true rows); undecided otherwise
    (``RasterFit.why`` names the tie)."""
    winding, tied = best[1], _tied(rivals)
    undecided = RasterFit(None, why=_tie(best, second), lean=snake_lean(best, second))
    if not tied:
        return undecided
    steps = breaks(z, winding)
    top, overall = by_breaks(steps, tied, TIE_LOG10_P), break_period(steps, _longest(steps))
    if top is None or overall is None or overall.period != top.period:
        return undecided  # ... and no other length breaks as regularly (a divisor)
    chosen = next(r for r in rivals if r[1] == winding and r[2] == top.period)
    how = (
        f"rows of {', '.join(map(str, tied))} frames fit about as well: a break every "
        f"{top.period} frames (chance 1e{top.log10_p:.0f}) tells"
    )
    return _chosen_by_breaks(z, chosen, how, rivals, scan_frames, overall)


def _chosen_by_breaks(z, chosen, how: str, rivals, scan_frames: int | None, overall=None):
    """``chosen`` (a rival the breaks picked among tied ones) through :func:`_winner`'s
    checks against the rivals of other windings, its confidence at most
    ``TIE_CONFIDENCE`` and ``how`` in its notes."""
    others = [r for r in rivals if r[1] != chosen[1]]
    fit = _winner(z, chosen, min(others, default=None), [chosen], scan_frames, overall)
    if fit.nx is None:
        return fit
    return replace(fit, confidence=min(fit.confidence, TIE_CONFIDENCE), notes=(*fit.notes, how))


def _longest(steps: np.ndarray) -> int:
    """The longest rows the breaks ``steps`` are searched for: ``MIN_ROWS`` of them
    among the steps, and no longer than ``MAX_ROW``."""
    return min(steps.size // MIN_ROWS, MAX_ROW)


def _confidence(best, second) -> float:
    """How much better the winner fits than the runner-up: 0 at the margin, 1 at twice."""
    margin = 1.0 if second is None else 1.0 - best[0] / max(second[0], 1e-300)
    return float(np.clip((margin - (1 - MARGIN)) / (1 - MARGIN), 0.0, 1.0))
