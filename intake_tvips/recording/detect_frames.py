"""The header values scan detection looks at, and the searches over them: pure, no reads.

:class:`HeaderValues` holds the values of the frames read so far (every frame, or a
sample). A search answers from them, or returns :class:`Wanted`: the frames whose
headers it needs next (a few probes between the last frame known to hold and the next
one known not to). The driver (:mod:`.detect`) reads them and asks again, so every
inference here is a function of the frames read, and the same frames give the same
answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: sampled: frames probed per search round (one concurrent read)
SEARCH_PROBES = 3
#: scan_shape="auto" takes the raster of Scan_x/Scan_y when this share of frames agrees ...
AUTO_SCAN_XY_CONFIDENCE = 0.99
#: ... or at least this share, when the others are strays (not ``shifted``)
AUTO_SCAN_XY_STRAYS = 0.9
#: sampled confidence: the share of the scan's frames that agree at least, at this level
SAMPLE_CONFIDENCE_LEVEL = 0.95


class Undecided(Exception):
    """The sample cannot tell what reading every header would."""


@dataclass(frozen=True)
class SamplingRules:
    """How much a sampled inference reads beyond its searches: ``opening_frames`` from
    where the positions first move, every frame of a scan of at most ``scan_all``
    positions, else ``scan_spread`` frames evenly over it."""

    opening_frames: int = 16
    scan_all: int = 256
    scan_spread: int = 21


@dataclass(frozen=True, eq=False)
class Wanted:
    """The frames whose headers an inference needs before it can answer."""

    frames: np.ndarray


def trusts_positions(method: str, sampled: bool, confidence: float, shifted: bool) -> bool:
    """Whether ``scan_shape="auto"`` takes a ``Scan_x``/``Scan_y`` raster: a unanimous
    sample, ``AUTO_SCAN_XY_CONFIDENCE`` of the frames agreeing, or
    ``AUTO_SCAN_XY_STRAYS`` of them with the others strays (not ``shifted``)."""
    if method != "scan_xy":
        return False
    if sampled or confidence >= AUTO_SCAN_XY_CONFIDENCE:
        return True
    return confidence >= AUTO_SCAN_XY_STRAYS and not shifted


def sample_confidence(agreeing: int, seen: int, positions: int) -> float:
    """All ``positions`` read: the agreeing share; else the share of agreeing frames
    that ``seen`` unanimous frames support at ``SAMPLE_CONFIDENCE_LEVEL``."""
    if seen >= positions:
        return agreeing / positions
    return float((1 - SAMPLE_CONFIDENCE_LEVEL) ** (1 / seen))


class HeaderValues:
    """The header values of the frames read (``frame``, sorted): ``scan_x``/``scan_y``
    as positions (``-1``: not a position), ``rotator`` (the rotator index). ``complete``:
    nothing more can be read (every header, or a table given as it is). ``x_only``:
    ``Scan_y`` is 0 (or no position) in every frame read while ``Scan_x`` moves (a
    generator that writes only x): rasters are judged by x alone."""

    def __init__(self, n_frames: int, table: np.ndarray, complete: bool):
        self.n_frames, self.complete = int(n_frames), bool(complete)
        self.names = table.dtype.names or ()
        self.frame = (
            np.asarray(table["frame"], dtype=np.int64)
            if "frame" in self.names
            else np.arange(len(table), dtype=np.int64)
        )
        self.has_positions = "Scan_x" in self.names and "Scan_y" in self.names
        if self.has_positions:
            self.scan_x = valid_positions(table["Scan_x"], self.n_frames)
            self.scan_y = valid_positions(table["Scan_y"], self.n_frames)
            self.positions_move = bool(np.any(table["Scan_x"] != 0) or np.any(table["Scan_y"] != 0))
        self.x_only = bool(
            self.has_positions and np.all(self.scan_y <= 0) and np.any(self.scan_x > 0)
        )
        self.has_rotator = "rotidx" in self.names
        if self.has_rotator:
            self.rotator = np.asarray(table["rotidx"], dtype=np.int64)
        #: what inferences computed from these values, by key (they never change)
        self.memo: dict = {}

    @property
    def count(self) -> int:
        """How many frames were read."""
        return int(self.frame.size)

    def since(self, first: int) -> np.ndarray:
        """Indices (into the values) of the frames read from frame ``first`` on."""
        return np.flatnonzero(self.frame >= first)

    def missing(self, frames) -> Wanted | None:
        """:class:`Wanted` for those of ``frames`` (in the recording) not read yet."""
        if self.complete:
            return None
        wanted = np.unique(np.asarray(frames, dtype=np.int64).reshape(-1))
        wanted = wanted[(wanted >= 0) & (wanted < self.n_frames)]
        wanted = wanted[~np.isin(wanted, self.frame, assume_unique=True)]
        return Wanted(wanted) if wanted.size else None


def valid_positions(values, n: int) -> np.ndarray:
    """Integer positions in ``[0, n)``; anything else (NaN, inf, 4.5, -1, 1e9) is -1."""
    v = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(v) & (v >= 0) & (v < n) & (v == np.floor(v))
    out = np.full(v.shape, -1, dtype=np.int64)
    out[ok] = v[ok].astype(np.int64)
    return out


def probes(lo: int, hi: int) -> np.ndarray:
    """Up to ``SEARCH_PROBES`` frames evenly inside ``(lo, hi)``."""
    inside = lo + ((hi - lo) * np.arange(1, SEARCH_PROBES + 1)) // (SEARCH_PROBES + 1)
    return np.unique(inside[(inside > lo) & (inside < hi)])


def first_change(values: HeaderValues, arrays) -> int | None | Wanted:
    """The last frame of the run of frames whose ``arrays`` (over the frames read) equal
    those of frame 0; ``None``: no frame read differs."""
    same = np.ones(values.count, dtype=bool)
    for values_of_field in arrays:
        same &= values_of_field == values_of_field[0]
    differ = np.flatnonzero(~same)
    if differ.size == 0:
        return None
    hi, lo = int(values.frame[differ[0]]), int(values.frame[differ[0] - 1])
    if hi - lo == 1 or values.complete:
        return lo
    return Wanted(probes(lo, hi))


def last_holding(values: HeaderValues, first: int, holds, search: bool = True):
    """The last frame ``>= first`` where ``holds(values, indices)`` is true: of the frames
    read, and with ``search``, searched for between that and the next frame read
    (``None``: none holds; :class:`Wanted`: probes to read)."""
    sel = values.since(first)
    ok = holds(values, sel)
    if not ok.any():
        return None
    last = int(np.flatnonzero(ok)[-1])
    lo = int(values.frame[sel[last]])
    hi = int(values.frame[sel[last + 1]]) if last + 1 < sel.size else values.n_frames
    if hi - lo == 1 or not search or values.complete:
        return lo
    return Wanted(probes(lo, hi))
