"""Reading frames by byte ranges into a caller's buffer.

The thin I/O edge of the package. A :class:`BlockRead` is a self-contained recipe: the
filesystem spec (protocol + storage options), the part paths, the record layout, the
byte ranges to read and which output slot each recorded frame goes to. It holds no open
handle, pickles small, and runs anywhere (a dask worker re-creates the filesystem).

* Local files, frames of ``SCATTER_MIN_PIXEL_BYTES`` or more: ``os.preadv`` scatters
  each contiguous range straight into the output frames (frame headers go to a scratch
  buffer), so there is no intermediate copy. Smaller frames: each range is read whole
  (in pieces of ``COPY_PIECE_BYTES``) into a reused scratch buffer and its pixels are
  copied out with one strided numpy copy, so no Python object is made per frame.
* Any other filesystem: all ranges of a block are fetched concurrently, in pieces of at
  most ``REMOTE_PIECE_BYTES`` (S3 through obstore where it is installed, see
  :mod:`~intake_tvips.storage.obstore_io`; else fsspec's ``cat_ranges``, concurrent on
  async filesystems such as HTTP and S3); each piece is checked for length and copied
  once, strided, into the output as it arrives.

Remote ranges that fail with a transient error (a reset connection, a timeout, a body
cut short, HTTP 408/429/5xx) are asked again, only those ranges, up to
``REMOTE_ATTEMPTS`` times with a doubling pause starting at ``REMOTE_BACKOFF_SECONDS``,
and no retry starts later than ``REMOTE_RETRY_BUDGET_SECONDS`` after the first attempt.
A 404, 403 or any other error fails at once. Filesystems whose client retries by itself
(``SELF_RETRYING_PROTOCOLS``: s3fs through botocore, gcsfs, adlfs) are not retried on
top of that. A range that still fails raises an ``OSError`` naming the URL, the bytes and
the attempts made; a range that comes back short raises :class:`ShortReadError`.
"""

from __future__ import annotations

import logging
import mmap
import os
import time
from dataclasses import dataclass

import numpy as np

from intake_tvips.errors import is_transient
from intake_tvips.format.layout import ByteRange, RecordLayout
from intake_tvips.storage import filesystem
from intake_tvips.storage.filesystem import FileSystemSpec, backoff_delays, retry_attempts
from intake_tvips.storage.secrets import mask_url

#: split remote ranges into pieces of about this size (S3 recommends 8-16 MB ranges)
REMOTE_PIECE_BYTES = 16 * 2**20
#: output arrays at least this large are faulted in while remote bytes are on their way
PREFAULT_MIN_BYTES = 4 * 2**20
#: most buffers one preadv call takes (Linux IOV_MAX)
IOV_MAX = 1024
#: local frames of at least this many pixel bytes are scattered straight into the output
#: (``os.preadv``, two buffers a frame); smaller ones are read a range at a time into
#: scratch and copied out with one strided numpy copy (no Python object per frame).
#: Measured here (warm page cache, reused output): the copy wins up to ~18 KiB frames
#: (1.1-6x at 2-18 KiB), the scatter from ~32 KiB (1.2-1.4x at 32-80 KiB)
SCATTER_MIN_PIXEL_BYTES = 24 * 2**10
#: scratch size for the small-frame local read
COPY_PIECE_BYTES = 4 * 2**20
logger = logging.getLogger(__name__)


class ShortReadError(OSError):
    """A range came back shorter than asked: the file is shorter than its index says."""


@dataclass(frozen=True, eq=False)
class BlockRead:
    """Read the frames of one block of the output into an array.

    ``block`` knows which frames the block shows and says how to read them:
    ``block.plan()`` returns a read plan with ``ranges`` (:class:`ByteRange`, each
    within one part), ``dests`` (per range, the output slot of each record, ``-1``:
    read and dropped), ``copy_dst``/``copy_src`` (slots copied from slots read) and
    ``empty`` (slots that read as zeros). It is worked out when the task runs, in numpy,
    so the graph holds only the block's closed form (see ``intake_tvips.graph.build``).
    """

    fs_spec: FileSystemSpec
    paths: tuple[str, ...]
    layout: RecordLayout
    block: object
    shape: tuple[int, ...]  # block shape including the frame axes

    def __dask_tokenize__(self):
        return (
            "tvips-block",
            self.fs_spec.__dask_tokenize__(),
            self.paths,
            self.layout,
            self.shape,
            self.block.__dask_tokenize__(),
        )

    def __call__(self, out: np.ndarray | None = None) -> np.ndarray:
        """Read the block; into ``out`` (C-contiguous, ``self.shape``) when given."""
        if out is None:
            out = np.empty(self.shape, dtype=self.layout.dtype)
        if not out.flags.c_contiguous:
            raise ValueError("BlockRead needs a C-contiguous output buffer")
        frames = out.reshape((-1,) + self.layout.frame_shape)
        plan = self.block.plan()
        read_frames(self.fs_spec, self.paths, self.layout, plan.ranges, plan.dests, frames)
        if plan.copy_dst.size:
            frames[plan.copy_dst] = frames[plan.copy_src]
        if plan.empty.size:
            frames[plan.empty] = 0
        return out


def read_frames(
    fs_spec: FileSystemSpec,
    paths: tuple[str, ...],
    layout: RecordLayout,
    ranges: tuple[ByteRange, ...],
    dests: tuple[np.ndarray, ...],
    frames: np.ndarray,
) -> None:
    """Read each range's records into ``frames[dests[i]]`` (records at ``-1`` dropped)."""
    if not ranges:
        return
    if fs_spec.is_local:
        _read_local(paths, layout, ranges, dests, frames)
    else:
        _read_remote(fs_spec, paths, layout, ranges, dests, frames)


def _read_local(paths, layout: RecordLayout, ranges, dests, frames: np.ndarray) -> None:
    """Small frames: whole ranges into scratch, one strided copy; large: a preadv scatter."""
    read = _scatter_range if layout.pixel_bytes >= SCATTER_MIN_PIXEL_BYTES else _copy_range
    fds: dict[int, int] = {}
    scratch: dict = {}
    try:
        for r, dest in zip(ranges, dests):
            fd = fds.get(r.part)
            if fd is None:
                fd = fds[r.part] = os.open(paths[r.part], os.O_RDONLY | getattr(os, "O_BINARY", 0))
            read(fd, paths[r.part], layout, r, dest, frames, scratch)
    finally:
        for fd in fds.values():
            os.close(fd)


def _copy_range(fd, path, layout: RecordLayout, r, dest, frames, scratch) -> None:
    """Read ``r`` in pieces into a reused scratch buffer; copy the pixels out, strided."""
    rb, hb = layout.record_bytes, layout.header_bytes
    per_piece = max(1, COPY_PIECE_BYTES // rb)
    buf = scratch.get("copy")
    if buf is None or buf.size < min(per_piece, r.n_records) * rb:
        buf = scratch["copy"] = np.empty(min(per_piece, r.n_records) * rb, dtype=np.uint8)
    for k in range(0, r.n_records, per_piece):
        n = min(per_piece, r.n_records - k)
        raw = buf[: n * rb]
        _pread_into(fd, [memoryview(raw)], r.start + k * rb, path)
        pix = raw.reshape(n, rb)[:, hb:].view(layout.dtype).reshape((n,) + layout.frame_shape)
        _place(frames, dest[k : k + n], pix)


def _place(frames: np.ndarray, d: np.ndarray, pix: np.ndarray) -> None:
    """``frames[d] = pix`` for the records whose slot is not -1.

    Runs of slots that step by +1 or -1 (scan rows, forwards or mirrored) are copied as
    slices, one numpy copy a run, and runs of dropped records are skipped, so no pixel is
    copied twice; many short runs go by fancy indexing.
    """
    n = d.size
    d0 = int(d[0])
    if d0 >= 0 and int(d[-1]) == d0 + n - 1 and (n < 3 or bool((np.diff(d) == 1).all())):
        frames[d0 : d0 + n] = pix
        return
    starts, ends = _runs(d)
    if starts.size > max(1, n // 8):
        keep = d >= 0
        if keep.all():
            frames[d] = pix
        else:
            frames[d[keep]] = pix[keep]
        return
    for a, b in zip(starts.tolist(), ends.tolist()):
        lo, hi = int(d[a]), int(d[b - 1])
        if lo < 0:
            continue
        if hi >= lo:
            frames[lo : hi + 1] = pix[a:b]
        else:
            frames[hi : lo + 1] = pix[a:b][::-1]


def _runs(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and (exclusive) ends of the runs of ``d``: slots stepping by +1, slots
    stepping by -1, or dropped records (-1); a record alone is a run of one."""
    kept = d >= 0
    step = np.diff(d)
    both = kept[:-1] & kept[1:]
    fwd, bwd = both & (step == 1), both & (step == -1)
    brk = ~(fwd | bwd | (~kept[:-1] & ~kept[1:]))
    brk[1:] |= (fwd[:-1] & bwd[1:]) | (bwd[:-1] & fwd[1:])
    starts = np.concatenate([[0], np.flatnonzero(brk) + 1])
    return starts, np.concatenate([starts[1:], [d.size]])


def _scatter_range(fd, path, layout: RecordLayout, r, dest, frames, scratch) -> None:
    """``os.preadv`` the records of ``r`` straight into their output frames."""
    pb, hb = layout.pixel_bytes, layout.header_bytes
    if "out" not in scratch:
        scratch["out"] = memoryview(frames.reshape(-1).view(np.uint8))
        scratch["head"] = memoryview(bytearray(hb))
    out, head = scratch["out"], scratch["head"]
    bufs = []
    for d in dest.tolist():
        bufs.append(head)
        if d >= 0:
            bufs.append(out[d * pb : (d + 1) * pb])
        else:
            if "pix" not in scratch:
                scratch["pix"] = memoryview(bytearray(pb))
            bufs.append(scratch["pix"])
    _pread_into(fd, bufs, r.start, path)


def _pread_into(fd: int, bufs: list, offset: int, path: str) -> None:
    """Fill ``bufs`` in order from the bytes at ``offset``; a short read is an error."""
    if not hasattr(os, "preadv"):  # pragma: no cover - Windows and old macOS
        for b in bufs:
            _pread_exact(fd, b, offset, path)
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
                    _pread_exact(fd, b[got:], offset + got, path)
                    got = 0
                offset += len(b)
        else:
            offset += want


def _pread_exact(fd: int, buf, offset: int, path: str) -> None:
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


def _read_remote(fs_spec, paths, layout: RecordLayout, ranges, dests, frames: np.ndarray):
    """Fetch ``ranges`` in pieces of at most ``REMOTE_PIECE_BYTES``, all at once, and copy
    the pixels of each piece into ``frames`` (by ``dests``) as soon as it arrives, on a
    small pool of copy threads (numpy copies without the GIL)."""
    rb = layout.record_bytes
    per_piece = max(1, REMOTE_PIECE_BYTES // rb)
    pieces = []  # (path index, start, n_records, dest slots)
    for r, dest in zip(ranges, dests):
        for k in range(0, r.n_records, per_piece):
            n = min(per_piece, r.n_records - k)
            pieces.append((r.part, r.start + k * rb, n, dest[k : k + n]))
    p_paths = [paths[p] for p, *_ in pieces]
    p_starts = [s for _, s, _, _ in pieces]
    p_ends = [s + n * rb for _, s, n, _ in pieces]
    copies = []
    try:
        arriving = fetch_ranges(fs_spec, p_paths, p_starts, p_ends, lambda: _touch(frames))
        for i, blob, k in arriving:
            part, start, n, dest = pieces[i]
            where = f"{remote_url(fs_spec, paths[part])} bytes {start}-{start + n * rb}"
            _check_piece(blob, k, n * rb, where)
            if len(pieces) == 1:
                _copy_pixels(blob, n, layout, dest, frames)
            else:
                copies.append(_copy_pool().submit(_copy_pixels, blob, n, layout, dest, frames))
    finally:  # never return (or raise) while a copy still writes into frames
        for c in copies:
            c.result()


def _check_piece(blob, k: int, want: int, where: str) -> None:
    """Raise for a piece that failed (after ``k`` attempts) or is not ``want`` bytes."""
    if isinstance(blob, FileNotFoundError):
        raise FileNotFoundError(f"{where}: part has disappeared") from blob
    if isinstance(blob, BaseException):
        raise OSError(f"{where}: read failed after {_attempts(k)}: {blob}") from blob
    if len(blob) != want:
        raise ShortReadError(
            f"{where}: got {len(blob)} bytes, expected {want} (short read, or a "
            "server that ignored the Range request)"
        )


_copy_pools: dict = {}


def _copy_pool():
    """Threads (one per core, at most 4) that copy remote pieces into outputs."""
    from concurrent.futures import ThreadPoolExecutor

    pool = _copy_pools.get(os.getpid())
    if pool is None:
        n = max(1, min(4, os.cpu_count() or 1))
        new = ThreadPoolExecutor(n, thread_name_prefix="tvips-copy")
        pool = _copy_pools.setdefault(os.getpid(), new)
        if pool is not new:
            new.shutdown(wait=False)
    return pool


def _touch(a: np.ndarray) -> None:
    """Fault in the pages of a new output array (one write per page) while the bytes are
    on their way, instead of while copying them in."""
    if a.nbytes >= PREFAULT_MIN_BYTES and a.flags.c_contiguous:
        a.reshape(-1).view(np.uint8)[:: mmap.PAGESIZE] = 0


def _copy_pixels(blob, n: int, layout: RecordLayout, dest: np.ndarray, frames: np.ndarray):
    """The pixels of ``n`` records in ``blob`` into ``frames[dest]`` (-1: dropped)."""
    pix = (
        np.frombuffer(blob, dtype=np.uint8)
        .reshape(n, layout.record_bytes)[:, layout.header_bytes :]
        .view(layout.dtype)
        .reshape((n,) + layout.frame_shape)
    )
    _place(frames, dest, pix)


def fetch_ranges(fs_spec: FileSystemSpec, paths, starts, ends, while_waiting=None, batch_size=None):
    """Read remote byte ranges concurrently; yields ``(index, result, attempts)`` per range,
    as they arrive where the client allows (obstore), else all at the end (fsspec).

    ``result`` is a buffer (``bytes`` or ``obstore.Bytes``) or the last exception. Transient
    failures and short answers are asked again as :func:`cat_ranges_retrying` says.
    ``while_waiting()`` runs once the requests are under way (obstore only).
    """
    from intake_tvips.storage import obstore_io

    if obstore_io.usable(fs_spec):
        yield from _fetch_obstore(fs_spec, paths, starts, ends, while_waiting)
        return
    out, tries = cat_ranges_retrying(
        fs_spec, fs_spec.filesystem(), paths, starts, ends, batch_size=batch_size
    )
    yield from zip(range(len(out)), out, tries)


def _fetch_obstore(fs_spec: FileSystemSpec, paths, starts, ends, while_waiting=None):
    from concurrent.futures import as_completed

    from intake_tvips.storage import obstore_io

    futures = obstore_io.submit_ranges(fs_spec, paths, starts, ends)
    if while_waiting is not None:
        while_waiting()
    index = {f: i for i, f in enumerate(futures)}
    short = []  # obstore retries errors itself, but takes a short body for an answer
    try:
        for f in as_completed(futures):
            i = index[f]
            b = f.exception() or f.result()
            if not isinstance(b, BaseException) and len(b) < ends[i] - starts[i]:
                short.append((i, b))
            else:
                yield i, b, 1
    finally:
        for f in futures:
            f.cancel()
    if short:
        idx = [i for i, _ in short]
        out, tries = _retrying(
            fs_spec,
            ([paths[i] for i in idx], [starts[i] for i in idx], [ends[i] for i in idx]),
            _obstore_batch(fs_spec),
            first=[b for _, b in short],
            attempts=max(1, int(filesystem.REMOTE_ATTEMPTS)),
            worthy=_is_short,
        )
        yield from zip(idx, out, tries)


def _is_short(b, want: int) -> bool:
    return not isinstance(b, BaseException) and len(b) < want


def _obstore_batch(fs_spec):
    from intake_tvips.storage import obstore_io

    def fetch(paths, starts, ends):
        futures = obstore_io.submit_ranges(fs_spec, paths, starts, ends)
        return [f.exception() or f.result() for f in futures]

    return fetch


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
        out = _read_local_ranges(paths, starts, ends)
        tries = [1] * len(out)
    else:
        out, tries = [None] * len(paths), [1] * len(paths)
        for i, b, k in fetch_ranges(
            fs_spec, list(paths), list(starts), list(ends), batch_size=batch_size
        ):
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
        if len(b) != e - s:
            why = (
                "the file ended early (was it truncated while being read?)"
                if fs_spec.is_local
                else "short read, or a server that ignored the Range request"
            )
            raise ShortReadError(
                f"{url}: got {len(b)} bytes reading {s}-{e}, expected {e - s} ({why})"
            )
    return out


def _read_local_ranges(paths, starts, ends) -> list[bytes]:
    """One exact read per range, one open file per path (``os.pread`` where there is one)."""
    out = []
    fds: dict[str, int] = {}
    pread = getattr(os, "pread", None)
    try:
        for p, s, e in zip(paths, starts, ends):
            fd = fds.get(p)
            if fd is None:
                fd = fds[p] = os.open(p, os.O_RDONLY | getattr(os, "O_BINARY", 0))
            if pread is not None:
                out.append(pread(fd, e - s, s))
            else:  # pragma: no cover - Windows
                os.lseek(fd, s, os.SEEK_SET)
                out.append(os.read(fd, e - s))
    finally:
        for fd in fds.values():
            os.close(fd)
    return out


def remote_url(fs_spec: FileSystemSpec, path: str) -> str:
    """The URL of ``path`` for messages (local paths as they are)."""
    if fs_spec.is_local:
        return path
    return mask_url(path if "://" in path else f"{fs_spec.protocol}://{path}")


def _url(fs, fs_spec: FileSystemSpec, path: str) -> str:  # the former name; fs unused
    return remote_url(fs_spec, path)


def _attempts(k: int) -> str:
    return "1 attempt" if k == 1 else f"{k} attempts"


def cat_ranges_retrying(fs_spec: FileSystemSpec, fs, paths, starts, ends, batch_size=None):
    """``fs.cat_ranges`` with ranges that failed transiently (or came short) asked again.

    Returns ``(results, attempts)``: per range its bytes or the last exception, and how
    many times it was asked for. ``batch_size`` (most ranges in flight) goes to an async
    filesystem's ``cat_ranges`` when given.
    """
    use = batch_size is not None and getattr(fs, "async_impl", False)
    extra = {"batch_size": int(batch_size)} if use else {}

    def fetch(p, s, e):
        return fs.cat_ranges(p, s, e, on_error="return", **extra)

    return _retrying(fs_spec, (list(paths), list(starts), list(ends)), fetch, first=None)


def _retry_worthy(b, want: int) -> bool:
    if isinstance(b, BaseException):
        return is_transient(b)
    return len(b) < want  # cut short: a proxy or a flaky connection


def _retrying(fs_spec: FileSystemSpec, ranges, fetch, first=None, attempts=None, worthy=None):
    """``fetch(paths, starts, ends)`` (-> a result or exception per range), with the
    transient failures asked again after the pauses of :func:`backoff_delays`."""
    paths, starts, ends = ranges
    out = list(first) if first is not None else fetch(paths, starts, ends)
    tries = [1] * len(out)
    attempts = retry_attempts(fs_spec) if attempts is None else attempts
    worthy = worthy or _retry_worthy
    for delay in backoff_delays(attempts):
        todo = [i for i in range(len(out)) if worthy(out[i], ends[i] - starts[i])]
        if not todo:
            break
        bad = out[todo[0]]
        logger.info(
            "%s: %d of %d byte ranges failed (%s); retrying in %.2f s",
            remote_url(fs_spec, paths[todo[0]]),
            len(todo),
            len(out),
            type(bad).__name__ if isinstance(bad, BaseException) else "short read",
            delay,
        )
        time.sleep(delay)
        again = fetch([paths[i] for i in todo], [starts[i] for i in todo], [ends[i] for i in todo])
        for i, b in zip(todo, again):
            out[i] = b
            tries[i] += 1
    return out, tries
