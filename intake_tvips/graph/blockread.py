"""The task of one chunk: a block's frames read into an array, each in its slot.

A :class:`BlockRead` is a self-contained recipe: the filesystem spec (protocol + storage
options), the part paths, the record layout and the block's closed form, which says when
the task runs which byte ranges to read and which output slot each record goes to. It
holds no open handle, pickles small, and runs anywhere (a dask worker re-creates the
filesystem). Storage hands over bytes; placing records in their slots is done here:

* Local files, frames of :data:`SCATTER_MIN_PIXEL_BYTES` or more: ``os.preadv`` scatters
  each range straight into the output frames (frame headers go to a scratch buffer), so
  there is no intermediate copy.
* Otherwise (smaller local frames, any remote filesystem): the bytes of each range come
  in pieces (:func:`~intake_tvips.storage.byteranges.read_ranges`) and their pixels are
  placed with a few numpy copies (:func:`place`): scan rows forwards or mirrored go as
  slices, no Python object per frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from intake_tvips.format.layout import ByteRange, RecordLayout
from intake_tvips.storage import localio
from intake_tvips.storage.byteranges import read_ranges, touch_pages
from intake_tvips.storage.filesystem import FileSystemSpec

#: local frames of at least this many pixel bytes are scattered straight into the output
#: (``os.preadv``, two buffers a frame); smaller ones are read a range at a time into
#: scratch and copied out with one strided numpy copy (no Python object per frame).
#: Measured here (warm page cache, reused output): the copy wins up to ~18 KiB frames
#: (1.1-6x at 2-18 KiB), the scatter from ~32 KiB (1.2-1.4x at 32-80 KiB)
SCATTER_MIN_PIXEL_BYTES = 24 * 2**10


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
    if fs_spec.is_local and layout.pixel_bytes >= SCATTER_MIN_PIXEL_BYTES:
        _scatter_local(paths, layout, ranges, dests, frames)
        return
    rb = layout.record_bytes

    def deliver(i: int, offset: int, raw: np.ndarray) -> None:
        n, k = raw.size // rb, offset // rb
        place(frames, dests[i][k : k + n], pixels(raw, n, layout))

    spans = [(r.part, r.start, r.n_records * rb) for r in ranges]
    read_ranges(fs_spec, paths, spans, deliver, align=rb, while_waiting=lambda: touch_pages(frames))


def pixels(raw: np.ndarray, n: int, layout: RecordLayout) -> np.ndarray:
    """The pixels of the ``n`` records in ``raw`` (bytes), as ``(n, dimy, dimx)`` frames
    (a strided view: no copy)."""
    return (
        raw.reshape(n, layout.record_bytes)[:, layout.header_bytes :]
        .view(layout.dtype)
        .reshape((n,) + layout.frame_shape)
    )


def _scatter_local(paths, layout: RecordLayout, ranges, dests, frames: np.ndarray) -> None:
    """``os.preadv`` the records of each range straight into their output frames."""
    pb = layout.pixel_bytes
    out = memoryview(frames.reshape(-1).view(np.uint8))
    head = memoryview(bytearray(layout.header_bytes))
    dropped = None
    with localio.open_files() as files:
        for r, dest in zip(ranges, dests):
            bufs = []
            for d in dest.tolist():
                bufs.append(head)
                if d >= 0:
                    bufs.append(out[d * pb : (d + 1) * pb])
                else:
                    dropped = dropped or memoryview(bytearray(pb))
                    bufs.append(dropped)
            localio.preadv_into(files.fd(paths[r.part]), bufs, r.start, paths[r.part])


def place(frames: np.ndarray, d: np.ndarray, pix: np.ndarray) -> None:
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
