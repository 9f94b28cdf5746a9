"""Rows the fit ties on that are slanted multiples of the true rows, and the true rows.

Pure numpy, no I/O. A texture running diagonally makes rows a frame shorter or longer
fit better than the true ones; slanted lamellae make frames ``k`` rows and a column
apart look more alike than frames one row apart (rows of ``3 nx - 1`` fit best). Where
the fit (:mod:`intake_tvips.maths.pixel_raster`) ties between such rows, the lengths
they are all slanted multiples of (:func:`slanted_lengths`) are tried: the one the
frames break with (:func:`rows_of_breaks`), else the one whose whole rows fill the
frames between junk ones (:func:`rows_filling`). Each returns the rival it picks
with the words why; the fit puts it through its checks.
"""

from __future__ import annotations

import numpy as np

from intake_tvips.maths.periodicity import dip_ratio
from intake_tvips.maths.raster_breaks import PHASE_LOG10_P, breaks, by_breaks
from intake_tvips.maths.raster_windings import families

#: rows the breaks pick must have frames a row apart this alike at least (their mean
#: distance over that of random pairs): rows picked so that fitted had at most 0.22, and
#: a snake of 64 rolled 8 (its turns and wrapped columns break every 64 frames) was
#: read as plain rows of 64 whose frames a row apart were no more alike than any (1.01)
ALIKE_ROWS = 0.5
#: rows that fill the frames between junk ones are chosen among slanted multiples'
#: divisors only where their frames fit this much better than the next such rows'
FILLING_MARGIN = 0.5


def slanted_lengths(tied: list[int], fits: np.ndarray, scan_frames: int | None, longest: int):
    """The row lengths from 4 to ``longest`` (and below the lags of ``fits``) that the
    ``tied`` rows are all slanted multiples of (:func:`slanted_multiple`) and that the
    ``scan_frames`` between junk ones (when known) fill with whole rows."""
    if not tied:
        return []
    return [
        p
        for p in range(4, min(fits.size - 1, longest + 1))
        if not (scan_frames and scan_frames % p) and all(slanted_multiple(nx, p) for nx in tied)
    ]


def slanted_multiple(nx: int, period: int) -> bool:
    """Whether rows of ``nx`` frames are ``period`` itself or ``k`` rows of it but for
    at most a frame a row, not exactly (a texture repeating along the rows makes exact
    multiples fit: its breaks repeat within the rows, not with them)."""
    k = max(1, round(nx / period))
    return nx == period or 0 < abs(nx - k * period) <= k


def rows_of_breaks(z, fits: np.ndarray, winding, tied: list[int], lengths: list[int]):
    """``(rival, why)``: among ``lengths`` (:func:`slanted_lengths` of the ``tied``
    rows), the length the frames break with (chance below ``10**PHASE_LOG10_P`` over
    the lengths tried, ``BREAK_MARGIN`` orders of magnitude likelier than the others):
    a texture running diagonally, or slanted lamellae, fit better than the true rows,
    but only the true rows' fly-back breaks repeat; its frames a row apart must look
    alike (``ALIKE_ROWS``). ``fits``: the lag profile over random pairs. ``None`` when
    this does not tell."""
    if not lengths:
        return None
    needed = PHASE_LOG10_P - float(np.log10(len(lengths)))
    top = by_breaks(breaks(z, winding), lengths, needed)
    if top is None or winding not in families(z, top.period) or fits[top.period] > ALIKE_ROWS:
        return None
    how = (
        f"rows of {', '.join(map(str, tied))} frames fit better, but the frames break "
        f"every {top.period} (chance 1e{top.log10_p:.0f}, {len(lengths)} lengths tried)"
    )
    return (float(fits[top.period]), winding, top.period), how


def rows_filling(z, fits: np.ndarray, winding, tied, lengths, scan_frames: int | None, depth):
    """``(rival, why)``: where the breaks do not tell (:func:`rows_of_breaks`), the
    length among ``lengths`` whose whole rows fill the ``scan_frames`` between blanked
    ones, when the frames one such row apart look alike (a dip of ``fits`` below
    ``depth`` at that lag itself: beside a dip, it may be a scan cut short that rows a
    frame shorter fill) and far more alike than at any other such length
    (``FILLING_MARGIN``); never one of the ``tied`` rows themselves (a texture's
    period). ``None`` when this does not tell (``scan_frames`` unknown)."""
    if not scan_frames or not lengths:
        return None
    ranked = sorted(lengths, key=lambda p: fits[p])
    top = ranked[0]
    if top in tied:
        return None
    clear = len(ranked) == 1 or fits[top] < FILLING_MARGIN * fits[ranked[1]]
    ratio = dip_ratio(fits, top)
    if not clear or ratio is None or ratio >= depth or winding not in families(z, top):
        return None
    how = (
        f"rows of {', '.join(map(str, tied))} frames fit better, but only rows of {top} "
        f"fill the {scan_frames} frames between the junk ones (blanked or parked) at the "
        "ends, and their frames a row apart look alike too"
    )
    return (float(fits[top]), winding, top), how
