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

Here it is computed in closed form per position, so any block of the scan can be
mapped without building the whole grid.
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


@dataclass(frozen=True)
class ScanMap:
    """A raster scan of ``shape`` starting at frame ``start``, optionally winding."""

    shape: tuple[int, ...]
    start: int = 0
    winding: str | None = None
    hysteresis: int = 0

    def frames(self, positions: np.ndarray) -> np.ndarray:
        p = np.asarray(positions, dtype=np.int64)
        ny, nx = self.shape[-2], self.shape[-1]
        row, x = np.divmod(p, nx)  # row counts over leading axes too
        h = self.hysteresis
        if self.winding == "x":
            y = row % ny
            x = np.where(y % 2 == 0, nx - 1 - (x - h) % nx, x)
            f = self.start + row * nx + x
        elif self.winding == "y":
            lead, y = np.divmod(row, ny)
            y = np.where(x % 2 == 0, ny - 1 - (y - h) % ny, y)
            f = self.start + (lead * ny + y) * nx + x
        else:
            f = self.start + p
        return np.where(f >= 0, f, -1)


@dataclass(frozen=True, eq=False)
class IndexMap:
    """An explicit frame for every position (from ``scan_shape="auto"``)."""

    indices: np.ndarray  # shape == navigation shape, int64

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.indices.shape)

    def frames(self, positions: np.ndarray) -> np.ndarray:
        return self.indices.reshape(-1)[np.asarray(positions, dtype=np.int64)]


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


def auto_scan_indices(rotidx: np.ndarray) -> np.ndarray:
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

    Returns the ``(n, n)`` grid of global frame indices.
    """
    r = np.asarray(rotidx, dtype=np.int64)
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
    if n * n != total:
        raise ValueError(
            f"scan_shape='auto': the rotator index reaches {total} at frame {stop}, which "
            "is not a square scan; give scan_shape and scan_start_frame explicitly"
        )
    return (_fill_positions(r[start : stop + 1], total) + start).reshape(n, n)


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
    """Check explicit scan parameters and build the map (no knowledge of the data)."""
    shape = normalize_scan_shape(scan_shape)
    if isinstance(scan_start_frame, bool) or not isinstance(scan_start_frame, (int, np.integer)):
        raise ValueError(f"scan_start_frame must be an integer, got {scan_start_frame!r}")
    winding = normalize_winding(winding_scan_axis)
    if isinstance(hysteresis, bool) or not isinstance(hysteresis, (int, np.integer)):
        raise ValueError(f"hysteresis must be an integer, got {hysteresis!r}")
    if winding is not None:
        row = shape[-1] if winding == "x" else shape[-2]
        if not 0 <= hysteresis < row:
            raise ValueError(
                f"hysteresis must be in 0..{row - 1} for winding_scan_axis={winding!r} "
                f"and scan_shape={shape}, got {hysteresis}"
            )
    return ScanMap(shape, int(scan_start_frame), winding, int(hysteresis))


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
    ok = len(shape) >= 2 and all(
        isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0 for s in shape
    )
    if not ok:
        raise ValueError(
            "scan_shape must be a tuple of at least two positive integers (..., ny, nx) "
            f"(a line scan is (1, n)), got {scan_shape!r}"
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
