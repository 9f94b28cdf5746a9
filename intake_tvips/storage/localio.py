"""Local byte ranges: file descriptors, ``os.preadv`` and exact reads.

Each call opens every file it needs once (:func:`open_files`) and closes them all when it
ends. Bytes go straight into buffers the caller gives (:func:`preadv_into`: a range
scattered over several buffers), into a reused scratch buffer handed to the caller piece
by piece (:func:`read_pieces`), or into new ``bytes`` (:func:`read_exact_ranges`). A file
that ends before a range does raises :class:`~intake_tvips.errors.ShortReadError`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np

from intake_tvips.errors import ShortReadError

#: most buffers one preadv call takes (Linux IOV_MAX)
IOV_MAX = 1024
#: scratch size for reading a range piece by piece
COPY_PIECE_BYTES = 4 * 2**20
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0)


class _Files:
    """Descriptors of the files opened so far, by path; opened on first use."""

    def __init__(self):
        self._fds: dict[str, int] = {}

    def fd(self, path: str) -> int:
        fd = self._fds.get(path)
        if fd is None:
            fd = self._fds[path] = os.open(path, _OPEN_FLAGS)
        return fd

    def close(self) -> None:
        fds, self._fds = self._fds, {}
        for fd in fds.values():
            os.close(fd)


@contextmanager
def open_files() -> Iterator[_Files]:
    """``files.fd(path)``: each file opened once, all closed at the end."""
    files = _Files()
    try:
        yield files
    finally:
        files.close()


def preadv_into(fd: int, bufs: list, offset: int, path: str) -> None:
    """Fill ``bufs`` in order from the bytes at ``offset``; a short read is an error."""
    if not hasattr(os, "preadv"):  # pragma: no cover - Windows and old macOS
        for b in bufs:
            pread_exact(fd, b, offset, path)
            offset += len(b)
        return
    for i in range(0, len(bufs), IOV_MAX):
        batch = bufs[i : i + IOV_MAX]
        want = sum(len(b) for b in batch)
        got = os.preadv(fd, batch, offset)
        if got != want:  # rare: finish buffer by buffer, failing at end of file
            for b in batch:
                if got >= len(b):
                    got -= len(b)
                else:
                    pread_exact(fd, b[got:], offset + got, path)
                    got = 0
                offset += len(b)
        else:
            offset += want


def pread_exact(fd: int, buf, offset: int, path: str) -> None:
    """Fill ``buf`` from the bytes at ``offset``; the end of the file first is an error."""
    view = memoryview(buf)
    while len(view):
        n = (
            os.preadv(fd, [view], offset)
            if hasattr(os, "preadv")
            else _pread_fallback(fd, view, offset)
        )
        if n == 0:
            raise ShortReadError(
                f"{path}: file ended at byte {offset}, before the frames its size and "
                "header promise (was it truncated while being read?)"
            )
        view = view[n:]
        offset += n


def _pread_fallback(fd: int, view, offset: int) -> int:  # pragma: no cover
    data = os.pread(fd, len(view), offset)
    view[: len(data)] = data
    return len(data)


def read_pieces(
    paths: Sequence[str],
    ranges: Sequence[tuple[int, int, int]],
    deliver: Callable[[int, int, np.ndarray], None],
    align: int = 1,
) -> None:
    """Read each range ``(path index, start, length)`` in pieces into one reused scratch
    buffer, handing each piece to ``deliver(range index, offset in range, bytes)``.

    Pieces are about :data:`COPY_PIECE_BYTES`, a multiple of ``align`` bytes (at least
    one ``align``); ``deliver`` must copy what it keeps before it returns.
    """
    per_piece = max(1, COPY_PIECE_BYTES // align) * align
    longest = max((length for _, _, length in ranges), default=0)
    scratch = np.empty(min(per_piece, longest), dtype=np.uint8)
    with open_files() as files:
        for i, (p, start, length) in enumerate(ranges):
            fd = files.fd(paths[p])
            for offset in range(0, length, per_piece):
                raw = scratch[: min(per_piece, length - offset)]
                preadv_into(fd, [memoryview(raw)], start + offset, paths[p])
                deliver(i, offset, raw)


def read_exact_ranges(paths, starts, ends) -> list[bytes]:
    """One exact read per range (``os.pread`` where there is one); may come back short
    at the end of a file: the caller checks."""
    out = []
    pread = getattr(os, "pread", None)
    with open_files() as files:
        for p, s, e in zip(paths, starts, ends):
            fd = files.fd(p)
            if pread is not None:
                out.append(pread(fd, e - s, s))
            else:  # pragma: no cover - Windows
                os.lseek(fd, s, os.SEEK_SET)
                out.append(os.read(fd, e - s))
    return out
