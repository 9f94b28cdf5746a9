"""Building the dask graph: one :class:`BlockRead` task per chunk, at the final chunks.

No per-frame tasks, no ``concatenate``, no fancy indexing of a dask array and no
rechunk for the default chunking: each output chunk is one task that reads the
contiguous byte ranges holding its frames (one per part it touches for whole-row
blocks) and places each frame in its slot. Building the graph is O(chunks): a task
holds its block's closed form (:class:`BlockFrames`) and works out its frames and byte
ranges in numpy when it runs.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass

import dask.array as da
import numpy as np
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from intake_tvips.graph.blockread import BlockRead
from intake_tvips.graph.chunking import Chunks
from intake_tvips.maths.frame_index import FrameIndex, ReadPlan, plan_reads
from intake_tvips.maths.scan import IndexMap
from intake_tvips.storage.byteranges import REMOTE_PIECE_BYTES
from intake_tvips.storage.parts import PartSet

#: for remote reads, merge ranges whose gap is below this many bytes (fewer requests)
REMOTE_MERGE_GAP_BYTES = 2**20


def max_gap_records(
    parts: PartSet, index: FrameIndex, gap_bytes: int = REMOTE_MERGE_GAP_BYTES
) -> int:
    """How many unneeded records a range may skip over rather than split: remotely,
    those of ``gap_bytes`` (a record at least)."""
    if parts.fs_spec.is_local:
        return 1
    return max(1, min(gap_bytes, REMOTE_PIECE_BYTES) // index.layout.record_bytes)


def iter_blocks(nav_chunks: Chunks) -> Iterator[tuple[tuple[int, ...], tuple[slice, ...]]]:
    """``(block index, navigation slices)`` of every chunk, in C order."""
    bounds = [np.concatenate([[0], np.cumsum(c)]).astype(int) for c in nav_chunks]
    for idx in itertools.product(*[range(len(c)) for c in nav_chunks]):
        yield idx, tuple(slice(int(b[i]), int(b[i + 1])) for b, i in zip(bounds, idx))


@dataclass(frozen=True, eq=False)
class BlockFrames:
    """The closed form of one block: which frames it shows and how to read them.

    ``fmap`` is the scan (start frame, shape, winding, hysteresis: a few numbers) or,
    for ``scan_shape="auto"``, an :class:`IndexMap` of just this block; ``start`` and
    ``shape`` place the block in the navigation space; ``index`` holds the part
    boundaries and byte offsets. :meth:`plan` derives the block's frames, byte ranges
    and output slots in numpy when the task runs: nothing per frame is in the graph.
    """

    index: FrameIndex
    fmap: object
    start: tuple[int, ...]
    shape: tuple[int, ...]
    max_gap: int

    def frames(self) -> np.ndarray:
        """The global frame shown at each slot of the block (C order; ``-1``: none)."""
        return self.fmap.block(self.start, self.shape)

    def plan(self) -> ReadPlan:
        distinct = not isinstance(self.fmap, IndexMap)  # a scan shows each frame once
        return plan_reads(self.index, self.frames(), self.max_gap, distinct)

    def __dask_tokenize__(self):
        what = map_token(self.fmap)
        return ("tvips-block-frames", self.index, what, self.start, self.shape, self.max_gap)


def map_token(fmap) -> str:
    """A token for a frame map: its numbers, or the hash of an auto map's indices."""
    return tokenize(fmap.indices) if isinstance(fmap, IndexMap) else repr(fmap)


def block_task(
    parts: PartSet, index: FrameIndex, fmap, slices: tuple[slice, ...], max_gap: int
) -> BlockRead:
    """The read recipe for one block of the navigation space (O(1) in its frames)."""
    start = tuple(s.start for s in slices)
    shape = tuple(s.stop - s.start for s in slices)
    if isinstance(fmap, IndexMap):  # arbitrary frames: the task carries just its own
        fmap, start = IndexMap(fmap.block(start, shape).reshape(shape)), (0,) * len(shape)
    frames = BlockFrames(index, fmap, start, shape, max_gap)
    return BlockRead(
        parts.fs_spec, parts.paths, index.layout, frames, shape + index.layout.frame_shape
    )


def build_dask_array(
    parts: PartSet, index: FrameIndex, fmap, nav_chunks: Chunks, name_token=None
) -> da.Array:
    """A dask array over the recording, one task per chunk of ``nav_chunks``."""
    layout = index.layout
    token = tokenize(
        parts.fs_spec, parts.paths, parts.sizes, layout, map_token(fmap), nav_chunks, name_token
    )
    name = f"tvips-{token}"
    gap = max_gap_records(parts, index)
    dsk = {}
    for idx, slices in iter_blocks(nav_chunks):
        task = block_task(parts, index, fmap, slices, gap)
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
        jobs.append((block_task(parts, index, fmap, slices, gap), slices))

    def run(job):
        task, slices = job
        task(out[slices])
        return math.prod(task.block.shape)

    workers = 2 if parts.fs_spec.is_local else 8
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for n in pool.map(run, jobs):
            if progress is not None:
                progress.update(n)
    return out
