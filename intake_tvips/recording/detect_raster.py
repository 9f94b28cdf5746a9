"""A candidate raster of scan detection, and which frames read sit where it puts them.

The geometry is :class:`~intake_tvips.maths.scan.ScanMap`'s (hysteresis 0): the
position of the frame ``offset`` frames into the scan is ``ScanMap.positions_of``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from intake_tvips.maths.scan import ScanMap
from intake_tvips.recording.detect_frames import HeaderValues

#: a disagreeing frame "sits where a nearby frame belongs" up to this many frames away
SHIFT_WINDOW = 8
#: frames after a raster moving outside it that make it unexplained (when most moves)
UNEXPLAINED_MOVES = 8


@dataclass(frozen=True)
class Raster:
    """A raster from frame ``start`` and the frames read in it."""

    start: int
    winding: str | None
    shape: tuple[int, int]
    rows: int  # rows the frames reach (before keeping complete rows only)
    agreeing: int  # frames read in the scan that sit where the raster puts them
    seen: int  # frames read in the scan

    @property
    def size(self) -> int:
        """Positions of the raster."""
        return self.shape[0] * self.shape[1]

    def scan_map(self) -> ScanMap:
        """The reader's map of this raster (hysteresis 0)."""
        return ScanMap(self.shape, self.start, self.winding, 0)


def frames_in_raster(values: HeaderValues, start: int, winding, shape):
    """``(offsets, indices, agree)`` of the frames read inside the raster from frame
    ``start``: their offsets into the scan, their indices into ``values``, and whether
    each sits where the raster puts it."""
    indices = np.flatnonzero((values.frame >= start) & (values.frame < start + shape[0] * shape[1]))
    frames = values.frame[indices]
    y, x = ScanMap(shape, start, winding).positions_of(frames)
    agree = (values.scan_x[indices] == x) & ((values.scan_y[indices] == y) | values.x_only)
    return frames - start, indices, agree


def shifted(values: HeaderValues, raster: Raster) -> bool:
    """Every header read: whether most of the scan's frames that disagree with the raster
    sit where it puts a frame up to ``SHIFT_WINDOW`` frames away, up to the scan's end
    (within ``SHIFT_WINDOW`` frames: a frame skipped or repeated shifts all after it). A
    shift undone further on (a skip, later a repeat) leaves a block of strays, as a
    sample would judge it."""
    offsets, indices, agree = frames_in_raster(values, raster.start, raster.winding, raster.shape)
    off = offsets[~agree]
    if off.size == 0 or off[-1] < offsets[-1] - SHIFT_WINDOW:
        return False
    x, y = values.scan_x[indices[~agree]], values.scan_y[indices[~agree]]
    geometry = ScanMap(raster.shape, 0, raster.winding)
    hit = np.zeros(off.size, dtype=bool)
    for step in range(-SHIFT_WINDOW, SHIFT_WINDOW + 1):
        near = off + step
        ok = (step != 0) & (near >= 0) & (near < raster.size)
        qy, qx = geometry.positions_of(near[ok])
        hit[ok] |= (x[ok] == qx) & ((y[ok] == qy) | values.x_only)
    return bool(hit.mean() > 0.5 and off[hit].max(initial=-1) >= offsets[-1] - SHIFT_WINDOW)


def moves_after(values: HeaderValues, raster: Raster) -> tuple[int, int]:
    """``(moves, outside)``: of the frames read after the raster's last frame (each with
    the frame before it read), how many move (a position other than that frame's), and
    how many of those move to a position outside the raster's ``ny`` x ``nx`` (with x
    alone, every move: frames that go on moving along x after the scan are more rows)."""
    x, y, frame = values.scan_x, values.scan_y, values.frame
    ny, nx = raster.shape
    if raster.winding != "y":  # the row a recording ending inside the scan cuts short
        ny = max(ny, raster.rows)
    after = np.flatnonzero(frame[1:] >= raster.start + ny * nx) + 1
    after = after[frame[after] == frame[after - 1] + 1]
    xa, ya = x[after], y[after]
    xb, yb = x[after - 1], y[after - 1]  # a frame after one without a position: no move
    moved = (xa >= 0) & (ya >= 0) & (xb >= 0) & (yb >= 0) & ((xa != xb) | (ya != yb))
    outside = moved & ((xa >= nx) | (ya >= ny) | values.x_only)
    return int(moved.sum()), int(outside.sum())


def explains_the_moves(raster: Raster, moves: int, outside: int) -> bool:
    """A raster explains the recording unless most frames after it that move (and at
    least ``UNEXPLAINED_MOVES``, or as many as it has positions) go to positions it
    does not contain."""
    return not (outside >= min(UNEXPLAINED_MOVES, raster.size) and 2 * outside > moves)
