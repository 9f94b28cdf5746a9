"""A bounded sample of frames, evenly spread over a recording, read in few whole chunks.

What the estimates (hot pixels, intensity range) look at. Reading a frame of a dask array
costs its whole chunk, so the sample is taken chunk by chunk: evenly spaced chunks until
``n`` frames are in hand, then ``n`` frames evenly spaced among them. The frames read are
at most ``n`` plus one chunk's worth.
"""

from __future__ import annotations

import numpy as np

from intake_tvips.process.frames import Frames, check_frames, is_dask

#: frames in a sample unless told otherwise
DEFAULT_SAMPLE = 256


def _evenly(count: int, n: int) -> np.ndarray:
    """``n`` indices evenly spread over ``range(count)`` (all of them when fewer)."""
    if count <= n:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, n).round().astype(np.int64))


def sample_frames(data: Frames, n: int = DEFAULT_SAMPLE, scheduler=None) -> np.ndarray:
    """About ``n`` frames of ``data`` (``(..., dy, dx)``) as a numpy array ``(m, dy, dx)``,
    ``m <= n``, evenly spread over the chunks (over the frames in C order for numpy).

    For a dask array only the chunks holding the sample are computed (on ``scheduler``:
    a dask scheduler name or a ``distributed.Client``; default: dask's).
    """
    check_frames(data)
    n = int(n)
    if n < 1:
        raise ValueError(f"the sample must hold at least one frame, got n={n}")
    frame = data.shape[-2:]
    if not is_dask(data):
        flat = np.asarray(data).reshape((-1,) + frame)
        return flat[_evenly(len(flat), n)]
    import dask

    blocks = list(np.ndindex(*data.numblocks[:-2])) if data.ndim > 2 else [()]
    sizes = [int(np.prod([data.chunks[a][i] for a, i in enumerate(b)])) for b in blocks]
    chosen, total = [], 0
    for k in _order_spread(len(blocks)):
        chosen.append(k)
        total += sizes[k]
        if total >= n:
            break
    chosen.sort()
    parts = [data.blocks[blocks[k] + (slice(None), slice(None))] for k in chosen]
    if scheduler is not None and not isinstance(scheduler, str):
        computed = scheduler.compute(parts, sync=True)
    else:
        computed = dask.compute(*parts, scheduler=scheduler)
    flat = np.concatenate([np.asarray(p).reshape((-1,) + frame) for p in computed])
    return flat[_evenly(len(flat), n)]


def _order_spread(count: int) -> list[int]:
    """``range(count)`` ordered so that every prefix is spread over the whole range:
    first, last, middle, quarters, ..."""
    order, seen = [], set()
    steps = 1
    while len(order) < count:
        for k in np.linspace(0, count - 1, steps + 1).round().astype(int):
            if int(k) not in seen:
                seen.add(int(k))
                order.append(int(k))
        steps *= 2
    return order
