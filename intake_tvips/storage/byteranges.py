"""Byte ranges of any filesystem into a caller's buffers: the storage layer's way in.

Two calls, for everything above storage (which knows nothing of frames or scans):

* :func:`read_ranges`: large reads. Each range's bytes are handed to the caller's
  ``deliver(range index, offset, bytes)`` piece by piece, to copy where it wants them.
  Locally the pieces come one after another through a reused scratch buffer
  (:mod:`~intake_tvips.storage.localio`); remotely every piece (at most
  :data:`REMOTE_PIECE_BYTES`) is fetched at once (:mod:`~intake_tvips.storage.fetch`),
  checked for length, and delivered on a small pool of copy threads as it arrives
  (numpy copies run without the GIL), while the caller's ``while_waiting`` (e.g.
  :func:`touch_pages` of the output) runs as the bytes are on their way.
* :func:`read_byte_ranges`: small exact reads (headers) as ``bytes``.

A range that fails for good raises an ``OSError`` naming the URL, the bytes and the
attempts made; one that comes back short raises :class:`~intake_tvips.errors.ShortReadError`.
"""

from __future__ import annotations

import mmap
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from intake_tvips.errors import ShortReadError
from intake_tvips.storage import localio
from intake_tvips.storage.fetch import fetch_ranges, remote_url
from intake_tvips.storage.filesystem import FileSystemSpec

#: split remote ranges into pieces of about this size (S3 recommends 8-16 MB ranges)
REMOTE_PIECE_BYTES = 16 * 2**20
#: arrays at least this large are worth faulting in while remote bytes are on their way
PREFAULT_MIN_BYTES = 4 * 2**20
#: most threads copying remote pieces out, per process
COPY_THREADS = 4

Deliver = Callable[[int, int, np.ndarray], None]


def read_ranges(
    fs_spec: FileSystemSpec,
    paths: Sequence[str],
    ranges: Sequence[tuple[int, int, int]],
    deliver: Deliver,
    align: int = 1,
    while_waiting: Callable[[], None] | None = None,
) -> None:
    """Read each range ``(path index, start, length)``, handing its bytes to
    ``deliver(range index, offset in the range, uint8 array)`` piece by piece.

    Pieces are whole multiples of ``align`` bytes (e.g. a record). ``deliver`` may run on
    several threads at once (each piece once); it must copy what it keeps. Returns when
    every ``deliver`` has returned, and raises the first failure.
    """
    if not ranges:
        return
    if fs_spec.is_local:
        localio.read_pieces(paths, ranges, deliver, align)
    else:
        _read_remote(fs_spec, paths, ranges, deliver, align, while_waiting)


def _read_remote(fs_spec, paths, ranges, deliver: Deliver, align: int, while_waiting) -> None:
    per_piece = max(1, REMOTE_PIECE_BYTES // align) * align
    pieces = [  # (range index, path index, offset, length)
        (i, p, offset, min(per_piece, length - offset))
        for i, (p, _, length) in enumerate(ranges)
        for offset in range(0, length, per_piece)
    ]
    starts = [ranges[i][1] + offset for i, _, offset, _ in pieces]
    ends = [s + n for s, (*_, n) in zip(starts, pieces)]
    copies = []
    try:
        arriving = fetch_ranges(
            fs_spec, [paths[p] for _, p, _, _ in pieces], starts, ends, while_waiting
        )
        for j, blob, tries in arriving:
            i, p, offset, n = pieces[j]
            where = f"{remote_url(fs_spec, paths[p])} bytes {starts[j]}-{ends[j]}"
            _check_piece(blob, tries, n, where)
            view = np.frombuffer(blob, dtype=np.uint8)
            if len(pieces) == 1:
                deliver(i, offset, view)
            else:
                copies.append(copy_pool().submit(deliver, i, offset, view))
    finally:  # never return (or raise) while a copy still writes into the caller's buffer
        for c in copies:
            c.result()


def _check_piece(blob, tries: int, want: int, where: str) -> None:
    """Raise for a piece that failed (after ``tries`` attempts) or is not ``want`` bytes."""
    if isinstance(blob, FileNotFoundError):
        raise FileNotFoundError(f"{where}: part has disappeared") from blob
    if isinstance(blob, BaseException):
        raise OSError(f"{where}: read failed after {_attempts(tries)}: {blob}") from blob
    if len(blob) != want:
        raise ShortReadError(
            f"{where}: got {len(blob)} bytes, expected {want} (short read, or a "
            "server that ignored the Range request)"
        )


def read_byte_ranges(
    fs_spec: FileSystemSpec,
    paths: list[str],
    starts: list[int],
    ends: list[int],
    batch_size: int | None = None,
) -> list[bytes]:
    """Small exact reads (headers): concurrent on async filesystems, checked for length.

    ``batch_size``: most ranges in flight at once (fsspec's ``cat_ranges`` keyword;
    ``None``: fsspec's default).
    """
    if fs_spec.is_local:
        out = localio.read_exact_ranges(paths, starts, ends)
        tries = [1] * len(out)
    else:
        out, tries = [None] * len(paths), [1] * len(paths)
        arriving = fetch_ranges(fs_spec, list(paths), list(starts), list(ends), None, batch_size)
        for i, b, k in arriving:
            out[i] = b if isinstance(b, (bytes, BaseException)) else bytes(b)
            tries[i] = k
    for p, s, e, b, k in zip(paths, starts, ends, out, tries):
        if not isinstance(b, BaseException) and len(b) == e - s:
            continue
        url = remote_url(fs_spec, p)
        if isinstance(b, FileNotFoundError):
            raise FileNotFoundError(f"{url}: reading bytes {s}-{e}: file not found") from b
        if isinstance(b, BaseException):
            raise OSError(f"{url}: reading bytes {s}-{e} failed after {_attempts(k)}: {b}") from b
        why = (
            "the file ended early (was it truncated while being read?)"
            if fs_spec.is_local
            else "short read, or a server that ignored the Range request"
        )
        raise ShortReadError(f"{url}: got {len(b)} bytes reading {s}-{e}, expected {e - s} ({why})")
    return out


def _attempts(k: int) -> str:
    return "1 attempt" if k == 1 else f"{k} attempts"


_pool: tuple[int, ThreadPoolExecutor] | None = None  # (pid, pool): one per process
_pool_lock = threading.Lock()


def copy_pool() -> ThreadPoolExecutor:
    """The process's threads (one per core, at most :data:`COPY_THREADS`) that copy remote
    pieces out; a forked child makes its own (its parent's threads are not in it)."""
    global _pool
    pool = _pool
    if pool is None or pool[0] != os.getpid():
        with _pool_lock:
            if _pool is None or _pool[0] != os.getpid():
                n = max(1, min(COPY_THREADS, os.cpu_count() or 1))
                _pool = (os.getpid(), ThreadPoolExecutor(n, thread_name_prefix="tvips-copy"))
            pool = _pool
    return pool[1]


def touch_pages(a: np.ndarray) -> None:
    """Fault in the pages of a new array (one write per page) while bytes are on their
    way, rather than while copying them in; arrays under :data:`PREFAULT_MIN_BYTES` and
    non-contiguous ones are left alone."""
    if a.nbytes >= PREFAULT_MIN_BYTES and a.flags.c_contiguous:
        a.reshape(-1).view(np.uint8)[:: mmap.PAGESIZE] = 0
