"""Scan geometry: which recorded frame sits at each navigation position.

Pure numpy index maths, no I/O. A *frame map* answers ``frames(positions)``: for flat
(C-order) navigation positions, the global frame index shown there, or ``-1`` where no
frame was recorded (a scan that started before the recording; those positions read as
zeros).

Winding and hysteresis follow RosettaSciIO's documented rule, applied to the C-order
index grid ``start + arange(prod(shape)).reshape(shape)``:

* ``"x"``: rows 0, 2, 4, ... are reversed along x, then those rows are rolled
  (circularly) by ``hysteresis`` along x;
* ``"y"``: columns 0, 2, 4, ... are reversed along y, then rolled by ``hysteresis``
  along y.

``hysteresis`` is any integer, taken modulo the row (column) length as ``np.roll``
does. A scan of one axis ``(n,)`` is frames ``start .. start + n - 1`` (no winding).

Here it is computed in closed form: ``ScanMap.block`` gives the frames of any block of
the scan from its corner and shape alone, and ``ScanMap.row_first_frames`` the first
frame of each row, so nothing is built per frame when a recording is opened.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

WINDING_AXES = (None, "x", "y")


@dataclass(frozen=True)
class StackMap:
    """No scan: position ``i`` is frame ``i``."""

    n_frames: int

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.n_frames,)

    def frames(self, positions: np.ndarray) -> np.ndarray:
        return np.asarray(positions, dtype=np.int64)

    def block(self, start: tuple[int, ...], shape: tuple[int, ...]) -> np.ndarray:
        """Frames of positions ``start[0] .. start[0] + shape[0] - 1``."""
        return np.arange(start[0], start[0] + shape[0], dtype=np.int64)


@dataclass(frozen=True)
class ScanMap:
    """A raster scan of ``shape`` starting at frame ``start``, optionally winding.

    ``shape`` is ``(n,)`` (a line of ``n`` positions, never winding) or ``(..., ny, nx)``.
    ``hysteresis`` is taken modulo the row (column) length, as ``np.roll`` does.
    """

    shape: tuple[int, ...]
    start: int = 0
    winding: str | None = None
    hysteresis: int = 0

    def frames(self, positions: np.ndarray) -> np.ndarray:
        p = np.asarray(positions, dtype=np.int64)
        if len(self.shape) < 2 or self.winding is None:
            f = self.start + p
        else:
            ny, nx = self.shape[-2], self.shape[-1]
            row, x = np.divmod(p, nx)  # row counts over leading axes too
            lead, y = np.divmod(row, ny)
            f = self.start + self._grid(lead, y, x)
        return np.where(f >= 0, f, -1)

    def _grid(self, lead: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Frame offsets from ``start`` at (flat leading index, y, x); broadcasts."""
        ny, nx = self.shape[-2], self.shape[-1]
        h = self.hysteresis
        if self.winding == "x":
            x = np.where(y % 2 == 0, nx - 1 - (x - h) % nx, x)
        elif self.winding == "y":
            y = np.where(x % 2 == 0, ny - 1 - (y - h) % ny, y)
        return (lead * ny + y) * nx + x

    def positions_of(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(y, x)`` of the position showing each of ``frames`` in a 2-D scan: the
        inverse of :meth:`frames` (a frame before ``start`` or past the scan gets the
        position its offset would have in a longer scan of the same row length)."""
        ny, nx = self.shape[-2], self.shape[-1]
        y, x = np.divmod(np.asarray(frames, dtype=np.int64) - self.start, nx)
        h = self.hysteresis
        if self.winding == "x":
            x = np.where(y % 2 == 0, (nx - 1 - x + h) % nx, x)
        elif self.winding == "y":
            y = np.where(x % 2 == 0, (ny - 1 - y + h) % ny, y)
        return y, x

    def block(self, start: tuple[int, ...], shape: tuple[int, ...]) -> np.ndarray:
        """Frames of the block ``[start, start + shape)`` of the scan, flat in C order.

        Computed from the block's coordinates (no flat positions, no ``divmod``): the
        same values as ``frames`` of the block's positions, ``-1`` before the recording.
        """
        if len(self.shape) < 2:
            f = np.arange(self.start + start[0], self.start + start[0] + shape[0])
        else:
            (y0, x0), (by, bx) = start[-2:], shape[-2:]
            y = np.arange(y0, y0 + by, dtype=np.int64)[:, None]
            x = np.arange(x0, x0 + bx, dtype=np.int64)[None, :]
            plane = self.start + self._grid(np.int64(0), y, x)
            lead = _lead_offsets(self.shape[:-2], start[:-2], shape[:-2])
            f = (lead * (self.shape[-2] * self.shape[-1]))[:, None, None] + plane
        f = f.reshape(-1)
        return np.maximum(f, -1) if self.start < 0 else f

    def row_first_frames(self) -> np.ndarray:
        """The first (lowest) frame of every flat scan row, ``-1`` where it is missing.

        Closed form, one number per row: a row of a scan without winding or winding
        along x holds one contiguous run of frames; winding along y, a row's even
        columns come from the mirrored row.
        """
        nx = self.shape[-1]
        rows = np.arange(math.prod(self.shape[:-1]), dtype=np.int64)
        if self.winding == "y":
            ny = self.shape[-2]
            lead, y = np.divmod(rows, ny)
            first = self.start + (lead * ny + ny - 1 - (y - self.hysteresis) % ny) * nx
            if nx > 1:
                first = np.minimum(first, self.start + rows * nx + 1)
        else:
            first = self.start + rows * nx
        return np.maximum(first, -1)


def _lead_offsets(shape: tuple[int, ...], start: tuple[int, ...], size: tuple[int, ...]):
    """Flat C-order indices over the leading scan axes of a block (length ``prod(size)``)."""
    flat = np.zeros(1, dtype=np.int64)
    for n, a, b in zip(shape, start, size):
        flat = (flat[:, None] * n + np.arange(a, a + b, dtype=np.int64)[None, :]).reshape(-1)
    return flat


@dataclass(frozen=True, eq=False)
class IndexMap:
    """An explicit frame for every position (from ``scan_shape="auto"``)."""

    indices: np.ndarray  # shape == navigation shape, int64

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.indices.shape)

    def frames(self, positions: np.ndarray) -> np.ndarray:
        return self.indices.reshape(-1)[np.asarray(positions, dtype=np.int64)]

    def block(self, start: tuple[int, ...], shape: tuple[int, ...]) -> np.ndarray:
        """Frames of the block ``[start, start + shape)``, flat in C order (a copy)."""
        sl = tuple(slice(a, a + n) for a, n in zip(start, shape))
        return np.ascontiguousarray(self.indices[sl]).reshape(-1)

    def row_first_frames(self) -> np.ndarray:
        """The first (lowest) frame of every flat scan row."""
        return self.indices.reshape(-1, self.indices.shape[-1]).min(axis=1)


def as_scan_map(fmap):
    """``fmap`` as the :class:`ScanMap` it is, where an :class:`IndexMap` of two axes
    holds exactly that raster's frames (a rotator index counting one frame per position
    in order, wound as a scan map winds, hysteresis 0); else ``fmap`` unchanged."""
    if not isinstance(fmap, IndexMap) or len(fmap.shape) != 2 or fmap.indices.size == 0:
        return fmap
    start = int(fmap.indices.min())
    for winding in (None, "x", "y"):
        candidate = ScanMap(tuple(fmap.shape), start, winding, 0)
        if np.array_equal(frame_grid(candidate), fmap.indices):
            return candidate
    return fmap


def frame_grid(fmap) -> np.ndarray:
    """The frame at every position of ``fmap``, shaped like it (int64; ``-1``: none).

    The whole map as one block (closed form for a :class:`ScanMap`)."""
    shape = tuple(fmap.shape)
    return np.asarray(fmap.block((0,) * len(shape), shape), dtype=np.int64).reshape(shape)


def block_positions(shape: tuple[int, ...], slices: tuple[slice, ...]) -> np.ndarray:
    """Flat C-order positions of the rectangular block ``slices`` of an array of ``shape``."""
    grids = np.meshgrid(*[np.arange(s.start, s.stop) for s in slices], indexing="ij")
    if not grids:
        return np.zeros(1, dtype=np.int64)
    return np.ravel_multi_index([g.ravel() for g in grids], shape).astype(np.int64)


def last_frame_needed(fmap: ScanMap) -> int:
    """The highest frame index a scan map shows."""
    return fmap.start + math.prod(fmap.shape) - 1


#: ``scan_shape="auto"``: most scan positions per frame of the recording (a rotator
#: index that skips positions repeats frames; more than this is a corrupt header)
AUTO_MAX_POSITIONS_PER_FRAME = 4


def rotator_strays(rotidx: np.ndarray) -> np.ndarray:
    """Frames whose rotator index is off the count around them (a corrupt header):
    a value no recording of this many frames reaches (more than
    ``AUTO_MAX_POSITIONS_PER_FRAME`` positions per frame), or a single value between
    two neighbours that continue one count (the next at most two above the one
    before) and that it does not lie between (``5, 4294836225, 7``; ``5, 0, 6``)."""
    r = np.asarray(rotidx, dtype=np.int64)
    stray = r > AUTO_MAX_POSITIONS_PER_FRAME * r.size
    if r.size >= 3:
        before, here, after = r[:-2], r[1:-1], r[2:]
        counting = (after >= before) & (after <= before + 2)
        stray[1:-1] |= counting & ((here < before) | (here > after))
    return stray


def auto_scan_indices(
    rotidx: np.ndarray, *, row_length: int | None = None, pass_strays: bool = False
) -> np.ndarray:
    """Reconstruct a square scan from the frames' rotator index, as RosettaSciIO documents.

    The scan runs from the first frame where ``rotidx`` increases (skipping a frame whose
    value is 0) to the last frame where it increases; its size is the ``rotidx`` there,
    which must be a perfect square. A run of frames sharing one value ``r`` ended by a
    value ``r'`` fills positions ``r-1 .. r'-2`` (repeating its last frame when short,
    dropping extra frames when long; later runs win); the last run fills the rest with
    its first frame.

    Unlike RosettaSciIO 0.15, differences are taken in signed integers, so a rotator
    that falls back to 0 after the scan ends the scan instead of wrapping around; and a
    scan of more than ``AUTO_MAX_POSITIONS_PER_FRAME`` positions per recorded frame is
    refused (a corrupt header), so memory stays bounded by the frame count.

    Beyond RosettaSciIO: ``pass_strays`` gives each frame of :func:`rotator_strays` the
    value of the frame before it (a stray in a run is then an extra frame of it, or
    fills the position it skipped), and ``row_length`` (``nx``, from another source)
    accepts any ``ny x nx`` scan of ``ny * nx`` positions instead of a square only.

    Returns the ``(n, n)`` (or ``(ny, nx)``) grid of global frame indices.
    """
    r = np.array(rotidx, dtype=np.int64)
    if pass_strays:
        for i in np.flatnonzero(rotator_strays(r)).tolist():
            r[i] = r[i - 1] if i > 0 else 0
    inc = np.flatnonzero(np.diff(r) > 0)
    if inc.size == 0:
        raise ValueError(
            "scan_shape='auto': the frames' rotator index (rotidx) never increases, so no "
            "scan can be found; give scan_shape and scan_start_frame explicitly"
        )
    start = int(inc[0]) + (1 if r[inc[0]] == 0 else 0)
    stop = int(inc[-1]) + 1
    total = int(r[stop])
    if total > AUTO_MAX_POSITIONS_PER_FRAME * r.size:
        raise ValueError(
            f"scan_shape='auto': the rotator index reaches {total} at frame {stop}, more "
            f"than {AUTO_MAX_POSITIONS_PER_FRAME} scan positions per recorded frame "
            f"({r.size} frames): a corrupt frame header; give scan_shape explicitly"
        )
    n = math.isqrt(total)
    if row_length is not None and row_length > 0 and total % row_length == 0:
        shape = (total // row_length, int(row_length))
    elif n * n == total:
        shape = (n, n)
    else:
        raise ValueError(
            f"scan_shape='auto': the rotator index reaches {total} at frame {stop}, which "
            "is not a square scan; give scan_shape and scan_start_frame explicitly"
        )
    return (_fill_positions(r[start : stop + 1], total) + start).reshape(shape)


def _fill_positions(seg: np.ndarray, total: int) -> np.ndarray:
    """Frame (offset in ``seg``) at each of ``total`` positions, by the run rule.

    Run ``j`` (value ``v_j``, frames ``a_j .. b_j - 1``) paints positions
    ``v_j - 1 .. v_{j+1} - 2``; painting in run order, the run that shows at position
    ``p < total - 1`` is the last one with ``v_j <= p + 1`` (every later run then stays
    above ``p + 1``, else the sequence would have to rise past it again), found for all
    positions at once by a search in the runs' suffix minima.
    """
    change = np.flatnonzero(np.diff(seg) != 0) + 1
    a = np.concatenate([[0], change])
    b = np.concatenate([change, [seg.size]])
    v = seg[a]
    suffix_min = np.minimum.accumulate(v[::-1])[::-1]
    p = np.arange(total, dtype=np.int64)
    j = np.searchsorted(suffix_min, p + 1, side="right") - 1
    out = np.zeros(total, dtype=np.int64)
    ok = j >= 0
    jj = j[ok]
    p0 = np.maximum(v[jj] - 1, 0)
    out[ok] = a[jj] + np.minimum(p[ok] - p0, b[jj] - a[jj] - 1)
    out[max(int(v[-1]) - 1, 0) :] = a[-1]
    return out


def make_scan_map(scan_shape, scan_start_frame, winding_scan_axis, hysteresis) -> ScanMap:
    """Check explicit scan parameters and build the map (no knowledge of the data).

    As RosettaSciIO: ``hysteresis`` is any integer, a roll of the reversed rows
    (columns) taken modulo their length (``-1`` rolls by ``length - 1``), and is
    ignored without winding. A one-axis ``scan_shape`` ``(n,)`` cannot wind.
    """
    shape = normalize_scan_shape(scan_shape)
    if isinstance(scan_start_frame, bool) or not isinstance(scan_start_frame, (int, np.integer)):
        raise ValueError(f"scan_start_frame must be an integer, got {scan_start_frame!r}")
    winding = normalize_winding(winding_scan_axis)
    if isinstance(hysteresis, bool) or not isinstance(hysteresis, (int, np.integer)):
        raise ValueError(f"hysteresis must be an integer, got {hysteresis!r}")
    if winding is not None and len(shape) < 2:
        raise ValueError(
            f"winding_scan_axis={winding!r} needs a scan_shape of at least two axes "
            f"(..., ny, nx), got {shape}; a winding line scan is (1, n)"
        )
    h = 0
    if winding is not None:
        h = int(hysteresis) % (shape[-1] if winding == "x" else shape[-2])
    return ScanMap(shape, int(scan_start_frame), winding, h)


def check_scan_fits(filename: str, fmap: ScanMap, n_frames: int) -> None:
    """A scan must not need frames past the end of the recording, and must show some."""
    if fmap.start + math.prod(fmap.shape) <= 0:
        raise ValueError(
            f"{filename}: scan_shape {fmap.shape} with scan_start_frame {fmap.start} ends "
            "before the recording starts: it would show no recorded frame"
        )
    last = last_frame_needed(fmap)
    if last >= n_frames:
        raise ValueError(
            f"{filename}: scan_shape {fmap.shape} starting at frame {fmap.start} needs "
            f"frame index {last}, but the recording's last frame index is {n_frames - 1}"
        )


def normalize_scan_shape(scan_shape) -> tuple[int, ...]:
    if isinstance(scan_shape, str) or not hasattr(scan_shape, "__len__"):
        raise ValueError(
            f"scan_shape must be None, 'auto' or a tuple of positive integers "
            f"(..., ny, nx), got {scan_shape!r}"
        )
    shape = tuple(scan_shape)
    ok = len(shape) >= 1 and all(
        isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0 for s in shape
    )
    if not ok:
        raise ValueError(
            "scan_shape must be a tuple of positive integers (..., ny, nx), or (n,) "
            f"for a line of n positions, got {scan_shape!r}"
        )
    return tuple(int(s) for s in shape)


def normalize_winding(winding_scan_axis) -> str | None:
    # RosettaSciIO also accepts 0 for "x" and 1 for "y"
    aliases = {None: None, "x": "x", "y": "y", 0: "x", 1: "y"}
    try:
        known = not isinstance(winding_scan_axis, bool) and winding_scan_axis in aliases
    except TypeError:  # unhashable
        known = False
    if not known:
        raise ValueError(f"winding_scan_axis must be None, 'x' or 'y', got {winding_scan_axis!r}")
    return aliases[winding_scan_axis]
