"""Building the dask graph: one :class:`BlockRead` task per chunk, at the final chunks.

No per-frame tasks, no ``concatenate``, no fancy indexing of a dask array and no
rechunk for the default chunking: each output chunk is one task that reads the
contiguous byte ranges holding its frames (one per part it touches for whole-row
blocks) and places each frame in its slot.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import dask.array as da
import numpy as np
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from intake_tvips.graph.chunking import Chunks
from intake_tvips.maths.frame_index import FrameIndex
from intake_tvips.maths.scan import block_positions
from intake_tvips.storage.blockio import REMOTE_PIECE_BYTES, BlockRead
from intake_tvips.storage.parts import PartSet

#: for remote reads, merge ranges whose gap is below this many bytes (fewer requests)
REMOTE_MERGE_GAP_BYTES = 2**20


def max_gap_records(parts: PartSet, index: FrameIndex) -> int:
    """How many unneeded records a range may skip over rather than split."""
    if parts.fs_spec.is_local:
        return 1
    return max(1, min(REMOTE_MERGE_GAP_BYTES, REMOTE_PIECE_BYTES) // index.layout.record_bytes)


def iter_blocks(nav_chunks: Chunks) -> Iterator[tuple[tuple[int, ...], tuple[slice, ...]]]:
    """``(block index, navigation slices)`` of every chunk, in C order."""
    bounds = [np.concatenate([[0], np.cumsum(c)]).astype(int) for c in nav_chunks]
    for idx in itertools.product(*[range(len(c)) for c in nav_chunks]):
        yield idx, tuple(slice(int(b[i]), int(b[i + 1])) for b, i in zip(bounds, idx))


def block_task(
    parts: PartSet, index: FrameIndex, fmap, nav_shape, slices, max_gap: int
) -> BlockRead:
    """The read recipe for one block of the navigation space."""
    slot_frames = fmap.frames(block_positions(nav_shape, slices))
    needed = np.unique(slot_frames[slot_frames >= 0])
    ranges = tuple(index.ranges(needed, max_gap=max_gap))
    shape = tuple(s.stop - s.start for s in slices) + index.layout.frame_shape
    return BlockRead(parts.fs_spec, parts.paths, index.layout, ranges, slot_frames, shape)


def build_dask_array(
    parts: PartSet, index: FrameIndex, fmap, nav_chunks: Chunks, name_token=None
) -> da.Array:
    """A dask array over the recording, one task per chunk of ``nav_chunks``."""
    nav_shape = tuple(int(sum(c)) for c in nav_chunks)
    layout = index.layout
    token = tokenize(
        parts.fs_spec, parts.paths, parts.sizes, layout, repr(fmap), nav_chunks, name_token
    )
    name = f"tvips-{token}"
    gap = max_gap_records(parts, index)
    dsk = {}
    for idx, slices in iter_blocks(nav_chunks):
        task = block_task(parts, index, fmap, nav_shape, slices, gap)
        dsk[(name, *idx, 0, 0)] = (task,)
    chunks = tuple(nav_chunks) + tuple((n,) for n in layout.frame_shape)
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=())
    return da.Array(graph, name, chunks, dtype=np.dtype(layout.dtype))


def read_eager(parts: PartSet, index: FrameIndex, fmap, nav_chunks: Chunks, progress=None):
    """Allocate the whole result once and read each row-block straight into it.

    ``nav_chunks`` must split only the first navigation axis (blocks that are
    C-contiguous slices of the result). Blocks run on a small thread pool.
    """
    from concurrent.futures import ThreadPoolExecutor

    nav_shape = tuple(int(sum(c)) for c in nav_chunks)
    out = np.empty(nav_shape + index.layout.frame_shape, dtype=index.layout.dtype)
    gap = max_gap_records(parts, index)
    jobs = []
    for _, slices in iter_blocks(nav_chunks):
        jobs.append((block_task(parts, index, fmap, nav_shape, slices, gap), slices))

    def run(job):
        task, slices = job
        task(out[slices])
        return task.slot_frames.size

    workers = 2 if parts.fs_spec.is_local else 8
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for n in pool.map(run, jobs):
            if progress is not None:
                progress.update(n)
    return out
