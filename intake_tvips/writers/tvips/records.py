"""Record packing: the signal's frames, a slab at a time, as TVIPS records.

A dask array is never materialised whole: a bounded group of its chunks (along the
flattened frame axis) is computed at a time; numpy data is cut into slabs. Each slab
becomes one structured array of records (frame header + pixels), ready to write.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from intake_tvips.format.layout import RecordLayout, empty_records
from intake_tvips.writers.tvips.header import FrameFields


def slab_frames(layout: RecordLayout, slab_bytes: int) -> int:
    """Frames per slab: about ``slab_bytes`` of records, at least one."""
    return max(1, slab_bytes // layout.record_bytes)


def chunk_groups(sizes: tuple[int, ...], frame_bytes: int, group_bytes: int) -> list[range]:
    """Consecutive chunk indices computed together: up to ``group_bytes``, at least one."""
    groups, i = [], 0
    while i < len(sizes):
        j, nbytes = i, 0
        while j < len(sizes) and (j == i or nbytes + sizes[j] * frame_bytes <= group_bytes):
            nbytes += sizes[j] * frame_bytes
            j += 1
        groups.append(range(i, j))
        i = j
    return groups


def frame_slabs(
    data, n_frames: int, layout: RecordLayout, group_bytes: int, slab_bytes: int
) -> Iterator[tuple[int, np.ndarray]]:
    """``(first frame, frames)`` in order: dask chunks a group at a time, or numpy slabs."""
    shape = (n_frames, layout.dimy, layout.dimx)
    if n_frames == 0:
        return
    if hasattr(data, "dask") and hasattr(data, "blocks"):
        import dask

        flat = data.reshape(shape)
        start = 0
        for group in chunk_groups(flat.chunks[0], layout.pixel_bytes, group_bytes):
            for block in dask.compute(*(flat.blocks[k] for k in group)):
                block = np.asarray(block)
                yield start, block
                start += len(block)
        return
    flat = np.asarray(data).reshape(shape)
    step = slab_frames(layout, slab_bytes)
    for start in range(0, n_frames, step):
        yield start, flat[start : start + step]


def pack_records(frames: np.ndarray, first: int, layout: RecordLayout, fields: FrameFields):
    """The records of ``frames`` (global indices from ``first``): headers filled, pixels."""
    records = empty_records(len(frames), layout)
    fields.fill(records["header"], first)
    records["data"] = frames
    return records


def record_slabs(
    data,
    n_frames: int,
    layout: RecordLayout,
    fields: FrameFields,
    group_bytes: int,
    slab_bytes: int,
) -> Iterator[np.ndarray]:
    """Every record of the signal, in order, in arrays of at most about ``slab_bytes``."""
    step = slab_frames(layout, slab_bytes)
    for start, frames in frame_slabs(data, n_frames, layout, group_bytes, slab_bytes):
        for lo in range(0, len(frames), step):
            yield pack_records(frames[lo : lo + step], start + lo, layout, fields)
