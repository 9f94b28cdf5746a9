"""The viewer's numbers, pure numpy: per-frame sums over a grid of detector cells, and
virtual images re-rendered from them for any detector and any scan parameters.

The first pass reduces every frame to the sums of its pixels over a coarse grid of
detector cells (as many cells as a memory budget allows, at most one per pixel). A
virtual detector (a disc or an annulus) is then a weight per cell, the fraction of the
cell's pixels it covers, and a virtual image is one matrix-vector product over the frames
followed by an index operation: the scan map puts each frame's value at its position.
Changing the detector or the scan parameters never reads the recording again; where a
cell is cut by the detector's edge, its intensity is taken as spread evenly over it.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

from intake_tvips.maths.scan import frame_grid, make_scan_map

#: memory for the cell sums of the whole recording (float32)
CELL_BUDGET_BYTES = 256 * 2**20
#: most cells along each detector axis (a cell of one pixel is exact)
MAX_CELLS_PER_AXIS = 128
#: frames whose cell sums are weighted at a time (bounded temporary copies)
ROWS_PER_PRODUCT = 4096
#: patterns are sent to the page binned to at most this many pixels along each axis
DISPLAY_PIXELS = 512
#: scan positions the viewer renders at most, per frame of the recording (bounded images)
MAX_POSITIONS_PER_FRAME = 4


class ViewError(ValueError):
    """A value the page (or the caller) sent cannot be used: the message says which."""


def choose_step(
    n_frames: int, frame_shape: tuple[int, int], budget: int = CELL_BUDGET_BYTES
) -> int:
    """The cell size ``b`` (cells of ``b x b`` pixels): the smallest whose float32 sums of
    ``n_frames`` frames fit in ``budget`` bytes, with at most ``MAX_CELLS_PER_AXIS``
    cells along each axis (``1``: a cell per pixel, exact)."""
    dy, dx = frame_shape
    cells = max(1, budget // (4 * max(n_frames, 1)))
    step = 1
    while (
        math.ceil(dy / step) * math.ceil(dx / step) > cells
        or max(math.ceil(dy / step), math.ceil(dx / step)) > MAX_CELLS_PER_AXIS
    ):
        step += 1
    return step


@dataclass(frozen=True)
class CellGrid:
    """Detector cells of ``step x step`` pixels from the corner (the last row and column
    of cells may be narrower)."""

    frame_shape: tuple[int, int]
    step: int

    @property
    def shape(self) -> tuple[int, int]:
        return math.ceil(self.frame_shape[0] / self.step), math.ceil(
            self.frame_shape[1] / self.step
        )

    @property
    def edges_y(self) -> np.ndarray:
        return np.minimum(np.arange(self.shape[0] + 1) * self.step, self.frame_shape[0])

    @property
    def edges_x(self) -> np.ndarray:
        return np.minimum(np.arange(self.shape[1] + 1) * self.step, self.frame_shape[1])

    @property
    def exact(self) -> bool:
        """One cell per pixel: the virtual images are exact."""
        return self.step == 1

    def sums(self, frames: np.ndarray) -> np.ndarray:
        """``(n, gy * gx)`` float32: each frame's pixel sums over the cells.

        Rows first (a sum over a middle axis: ``step`` adds of whole contiguous rows,
        straight from the frames' dtype), then columns on that ``step`` times smaller
        array (``step`` strided adds)."""
        n, b = frames.shape[0], self.step
        if b == 1:
            return np.asarray(frames, dtype=np.float32).reshape(n, -1)
        dx, (gy, gx), full = self.frame_shape[1], self.shape, self.frame_shape[0] // b
        rows = np.empty((n, gy, dx), dtype=np.float32)
        rows[:, :full] = frames[:, : full * b].reshape(n, full, b, dx).sum(axis=2, dtype=np.float32)
        if full < gy:
            rows[:, full] = frames[:, full * b :].sum(axis=1, dtype=np.float32)
        out = np.zeros((n, gy, gx), dtype=np.float32)
        for j in range(b):
            part = rows[:, :, j::b]
            out[:, :, : part.shape[2]] += part
        return out.reshape(n, -1)

    def weights(self, detector: Detector) -> np.ndarray:
        """``(gy * gx,)``: the fraction of each cell's pixels inside ``detector``."""
        mask = detector.mask(self.frame_shape).astype(np.float32)
        if self.exact:
            return mask.reshape(-1)
        inside = np.add.reduceat(np.add.reduceat(mask, self.edges_y[:-1], 0), self.edges_x[:-1], 1)
        area = np.outer(np.diff(self.edges_y), np.diff(self.edges_x))
        return (inside / area).reshape(-1)


@dataclass(frozen=True)
class Detector:
    """A virtual detector: pixels whose centres lie ``r_in <= distance <= r_out`` from
    ``(cy, cx)`` (pixel coordinates; ``r_in = 0``: a disc)."""

    cy: float
    cx: float
    r_out: float
    r_in: float = 0.0

    def __post_init__(self):
        values = (self.cy, self.cx, self.r_out, self.r_in)
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
            raise ViewError(f"detector: centre and radii must be finite numbers, got {values}")
        if self.r_out <= 0 or self.r_in < 0 or self.r_in >= self.r_out:
            raise ViewError(
                f"detector: radii must satisfy 0 <= inner < outer, got inner {self.r_in}, "
                f"outer {self.r_out}"
            )

    def mask(self, frame_shape: tuple[int, int]) -> np.ndarray:
        ky, kx = np.ogrid[: frame_shape[0], : frame_shape[1]]
        d = np.hypot(ky - self.cy, kx - self.cx)
        return (d <= self.r_out) & (d >= self.r_in)


@dataclass(frozen=True)
class ScanChoice:
    """The scan parameters the page shows: ``(ny, nx)``, start frame, winding, hysteresis."""

    shape: tuple[int, int]
    start: int = 0
    winding: str | None = None
    hysteresis: int = 0

    def reader_kwargs(self) -> dict:
        """As :func:`intake_tvips.file_reader` takes them."""
        return {
            "scan_shape": tuple(self.shape),
            "scan_start_frame": self.start,
            "winding_scan_axis": self.winding,
            "hysteresis": self.hysteresis,
        }

    def frames(self, n_frames: int) -> np.ndarray:
        """The frame at each position (``-1``: before or after the recording)."""
        limit = MAX_POSITIONS_PER_FRAME * max(n_frames, 1) + 4096
        if math.prod(self.shape) > limit:
            raise ViewError(
                f"scan shape {self.shape[0]} x {self.shape[1]} has more positions than "
                f"{MAX_POSITIONS_PER_FRAME} per frame of the recording ({n_frames} frames)"
            )
        try:
            fmap = make_scan_map(self.shape, self.start, self.winding, self.hysteresis)
        except ValueError as e:
            raise ViewError(str(e)) from None
        grid = frame_grid(fmap)
        return np.where(grid < n_frames, grid, -1)


def display_bin(frame_shape: tuple[int, int]) -> int:
    """The binning that brings a pattern to at most ``DISPLAY_PIXELS`` along each axis."""
    return max(1, -(-max(frame_shape) // DISPLAY_PIXELS))


def binned(a: np.ndarray, b: int) -> np.ndarray:
    """``a`` averaged over ``b x b`` blocks (the rows and columns left over dropped)."""
    if b == 1:
        return a
    ny, nx = a.shape[0] // b, a.shape[1] // b
    return a[: ny * b, : nx * b].reshape(ny, b, nx, b).mean(axis=(1, 3))


def find_disc(mean: np.ndarray) -> Detector:
    """A bright-field detector for the mean pattern: the disc of the pixels above halfway
    between its median and its maximum (their centre of mass, the radius of a disc of
    their area), widened by 10 % and a pixel."""
    m = np.nan_to_num(np.asarray(mean, dtype=np.float64))
    lo, hi = float(np.median(m)), float(m.max())
    if not hi > lo:
        return Detector((m.shape[0] - 1) / 2, (m.shape[1] - 1) / 2, min(m.shape) / 4)
    w = np.clip(m - (lo + hi) / 2, 0, None)
    ky, kx = np.indices(m.shape)
    total = w.sum()
    radius = math.sqrt(float((w > 0).sum()) / math.pi)
    return Detector(
        float((ky * w).sum() / total), float((kx * w).sum() / total), radius * 1.1 + 1.0
    )


class CellSums:
    """What the first pass keeps, filled as it runs (thread-safe): per frame, its cell
    sums; over the frames read, the sum of the patterns."""

    def __init__(self, n_frames: int, frame_shape: tuple[int, int], budget: int | None = None):
        budget = CELL_BUDGET_BYTES if budget is None else budget
        self.n_frames = n_frames
        self.frame_shape = tuple(frame_shape)
        self.grid = CellGrid(self.frame_shape, choose_step(n_frames, self.frame_shape, budget))
        self.cells = np.zeros((n_frames, math.prod(self.grid.shape)), dtype=np.float32)
        self.done = np.zeros(n_frames, dtype=bool)
        self.pattern_sum = np.zeros(self.frame_shape, dtype=np.float64)
        self._lock = threading.Lock()
        #: the last detector's values: ``(detector, values, computed)``, extended as
        #: frames arrive (while the pass runs, each redraw costs only the new frames)
        self._values: tuple | None = None
        self._values_lock = threading.Lock()

    def add(self, first: int, frames: np.ndarray) -> None:
        """Frames ``first .. first + len(frames) - 1``, read."""
        sums = self.grid.sums(frames)
        pattern = frames.sum(axis=0, dtype=np.float64)
        with self._lock:
            self.cells[first : first + len(frames)] = sums
            self.pattern_sum += pattern
            self.done[first : first + len(frames)] = True

    @property
    def frames_done(self) -> int:
        return int(np.count_nonzero(self.done))

    def mean_pattern(self) -> np.ndarray:
        with self._lock:
            return self.pattern_sum / max(self.frames_done, 1)

    def frame_values(self, detector: Detector) -> np.ndarray:
        """Each frame's virtual detector value (NaN for frames not read yet)."""
        with self._lock:
            done = self.done.copy()
        with self._values_lock:
            cache = self._values
            if cache is None or cache[0] != detector:
                values = np.full(self.n_frames, np.nan, dtype=np.float32)
                cache = (detector, values, np.zeros(self.n_frames, dtype=bool))
            _, values, computed = cache
            todo = np.flatnonzero(done & ~computed)
            w = self.grid.weights(detector).astype(np.float32)
            for k in range(0, todo.size, ROWS_PER_PRODUCT):
                rows = todo[k : k + ROWS_PER_PRODUCT]
                # einsum's own loop, not BLAS: BLAS threads spin against the pass's
                values[rows] = np.einsum("ij,j->i", self.cells[rows], w)
            computed[todo] = True
            self._values = cache
            return values.copy()

    def image(self, detector: Detector, scan: ScanChoice) -> np.ndarray:
        """The virtual image ``(ny, nx)`` float32 (NaN: no frame there, or not read yet)."""
        return place(self.frame_values(detector), scan)


def place(values: np.ndarray, scan: ScanChoice) -> np.ndarray:
    """Per-frame ``values`` at their scan positions: ``(ny, nx)`` float32, NaN where no
    frame is recorded."""
    frames = scan.frames(len(values))
    out = np.full(frames.shape, np.nan, dtype=np.float32)
    ok = frames >= 0
    out[ok] = values[frames[ok]]
    return out


class ExactValues:
    """A second pass's answer for one detector: each frame's exact value (its pixels
    inside the detector summed, no cells), filled as the pass runs."""

    def __init__(self, n_frames: int, frame_shape: tuple[int, int], detector: Detector):
        self.detector = detector
        self.pixels = np.flatnonzero(detector.mask(frame_shape))
        self.values = np.full(n_frames, np.nan, dtype=np.float32)
        self.done = np.zeros(n_frames, dtype=bool)

    def add(self, first: int, frames: np.ndarray) -> None:
        """Frames ``first .. first + len(frames) - 1``, read."""
        flat = frames.reshape(len(frames), -1)
        self.values[first : first + len(frames)] = flat[:, self.pixels].sum(axis=1, dtype=float)
        self.done[first : first + len(frames)] = True

    @property
    def frames_done(self) -> int:
        return int(np.count_nonzero(self.done))
