"""The viewer's first pass: every frame of the recording read once, in chunks of
contiguous frames on a few threads (the reader's own byte-range tasks), each chunk reduced
to cell sums and added to the mean pattern as soon as it arrives, so the page fills in.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from intake_tvips.graph.build import block_task, max_gap_records
from intake_tvips.maths.scan import StackMap
from intake_tvips.recording.core import Recording
from intake_tvips.viewer.state import CellSums

#: bytes of frames per chunk read by one task (at most)
CHUNK_BYTES = 16 * 2**20
#: chunks at least (when the frames allow), so that the page fills in visibly
MIN_CHUNKS = 16


def read_frames(rec: Recording, first: int, stop: int) -> np.ndarray:
    """Frames ``first .. stop - 1`` of ``rec`` as one ``(n, dy, dx)`` array (byte ranges
    read as the lazy reader's tasks read them)."""
    task = block_task(
        rec.parts, rec.index, StackMap(rec.n_frames), (slice(first, stop),), _gap(rec)
    )
    return task()


def _gap(rec: Recording) -> int:
    return max_gap_records(rec.parts, rec.index)


class ScanPass:
    """The first pass over ``rec`` into ``sums``, on a background thread; ``progress()``
    says how far it is, ``error`` what stopped it (``None``: running or done)."""

    def __init__(self, rec: Recording, sums: CellSums, chunk_bytes: int = CHUNK_BYTES):
        self.rec, self.sums = rec, sums
        per_chunk = min(
            chunk_bytes // max(rec.layout.pixel_bytes, 1), -(-rec.n_frames // MIN_CHUNKS)
        )
        per_chunk = max(1, per_chunk)
        self.chunks = [
            (a, min(a + per_chunk, rec.n_frames)) for a in range(0, rec.n_frames, per_chunk)
        ]
        self.workers = 2 if rec.parts.fs_spec.is_local else 8
        self.started = time.perf_counter()
        self.finished: float | None = None
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tvips-view-pass", daemon=True)

    def start(self) -> ScanPass:
        self.started = time.perf_counter()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the pass; ``True`` when it has ended."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _one(self, chunk: tuple[int, int]) -> None:
        if self._stop.is_set():
            return
        a, b = chunk
        self.sums.add(a, read_frames(self.rec, a, b))

    def _run(self) -> None:
        try:
            with ThreadPoolExecutor(self.workers, thread_name_prefix="tvips-view-read") as pool:
                for _ in pool.map(self._one, self.chunks):
                    if self._stop.is_set():
                        break
        except Exception as e:  # shown on the page; the server stays up
            self.error = f"{type(e).__name__}: {e}"
        finally:
            self.finished = time.perf_counter()

    def progress(self) -> dict:
        """``{"done", "total", "seconds", "finished", "error"}`` (frames; seconds since start)."""
        end = self.finished if self.finished is not None else time.perf_counter()
        return {
            "done": self.sums.frames_done,
            "total": self.rec.n_frames,
            "seconds": round(end - self.started, 3),
            "finished": self.finished is not None,
            "error": self.error,
        }
