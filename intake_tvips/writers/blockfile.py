"""``write_blockfile``: a 4-D uint8 array as an ASTAR blockfile (``.blo``), in parallel.

One dask task per block of whole scan rows turns its patterns into records and writes
them at their offset (a local ``pwrite``, or one part of an S3 multipart upload; see
:mod:`intake_tvips.writers.targets`), and returns its frames' virtual bright-field
values: the header's image is computed in the same pass over the data, and written last
with the header.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from intake_tvips.process.frames import is_dask
from intake_tvips.writers.blockfile_layout import BlockfileLayout, head_bytes, records
from intake_tvips.writers.targets import S3_MAX_PARTS, target_for
from intake_tvips.writers.tasks import run_tasks

#: the default block of scan rows per task, in bytes of patterns (numpy input)
BLOCK_BYTES = 32 * 2**20


def _check_data(data):
    if not hasattr(data, "shape") or not hasattr(data, "dtype"):
        raise TypeError(f"data must be a numpy or dask array, got {type(data).__name__}")
    if data.ndim != 4:
        raise ValueError(
            f"a blockfile holds a 4-D scan (scan_y, scan_x, dy, dx), got shape {data.shape}"
        )
    if np.dtype(data.dtype) != np.uint8:
        raise ValueError(
            f"a blockfile holds uint8 patterns, got {data.dtype}: rescale first "
            "(intake_tvips.to_uint8)"
        )
    if data.shape[2] != data.shape[3]:
        raise ValueError(
            f"a blockfile's patterns are square, got {data.shape[2]} x {data.shape[3]}"
        )
    return BlockfileLayout(int(data.shape[0]), int(data.shape[1]), int(data.shape[2]))


def _scan_step(scan_step) -> tuple[float, float]:
    if scan_step is None:
        return (1.0, 1.0)
    steps = (scan_step, scan_step) if np.ndim(scan_step) == 0 else tuple(scan_step)
    if len(steps) != 2 or not all(np.isfinite(s) and s > 0 for s in steps):
        raise ValueError(f"scan_step must be a positive number of nm or (y, x), got {scan_step!r}")
    return float(steps[0]), float(steps[1])


def pattern_sdp(pattern_scale: float | None) -> int:
    """The header's ``SDP`` (``100 / scale``, an integer in 1..65535) for a pattern pixel
    of ``pattern_scale`` cm; 0 (read as a scale of 1) when ``None``. Warns when the
    integer changes the scale by more than 0.1 %."""
    if pattern_scale is None:
        return 0
    scale = float(pattern_scale)
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(
            f"pattern_scale must be a positive number (cm per pixel), got {pattern_scale!r}"
        )
    sdp = round(100.0 / scale)
    if not 1 <= sdp <= 2**16 - 1:
        raise ValueError(
            f"pattern_scale={scale} cm gives SDP={sdp} (100 / scale), outside the header's "
            "1..65535: it must be within 0.0016..100 cm"
        )
    stored = 100.0 / sdp
    if abs(stored - scale) > 1e-3 * scale:
        warnings.warn(
            f"pattern_scale {scale} cm is stored as {stored} cm (SDP = 100 / scale is an integer)",
            UserWarning,
            stacklevel=3,
        )
    return sdp


def _as_row_blocks(data, layout: BlockfileLayout, min_piece: int):
    """``data`` as a dask array chunked in blocks of whole scan rows and whole frames,
    each holding at least ``min_piece`` bytes of records (but the last)."""
    import dask.array as da

    row_bytes = layout.nx * layout.record_bytes
    if not is_dask(data):
        rows = max(1, BLOCK_BYTES // row_bytes)
        data = da.from_array(np.asarray(data), chunks=(rows, -1, -1, -1))
    rows = max(
        max(data.chunks[0]), math.ceil(min_piece / row_bytes), math.ceil(layout.ny / S3_MAX_PARTS)
    )
    if min_piece > 0 and any(n < rows for n in data.chunks[0][:-1]):
        return data.rechunk((rows, -1, -1, -1))
    return data.rechunk({1: -1, 2: -1, 3: -1})


def _vbf_mask(vbf, side: int):
    """A ``(side, side)`` weight mask for a disc radius, else ``None`` (the frame mean)."""
    if vbf is None or np.ndim(vbf) != 0:
        return None
    radius = float(vbf)
    yy, xx = np.ogrid[:side, :side]
    c = (side - 1) / 2
    return (((yy - c) ** 2 + (xx - c) ** 2) <= radius**2).astype(np.float64)


def write_block(block: np.ndarray, index: int, first: int, target, layout, mask) -> tuple:
    """One task: the block's records written at their offset; returns ``(index, values,
    receipt)`` with its frames' bright-field values (the mean, or the sum in ``mask``)."""
    side = layout.side
    flat = block.reshape(-1, side * side)
    if mask is None:
        values = flat.mean(axis=1, dtype=np.float64)
    else:
        values = flat @ mask.reshape(-1).astype(np.float64)
    receipt = target.put(index, layout.record_offset(first), records(block, first))
    return index, values.reshape(block.shape[:2]), receipt


def stretch_to_uint8(image: np.ndarray) -> np.ndarray:
    """``image`` linearly mapped from its [min, max] to [0, 255] (rounded); a flat image
    keeps its value (clipped to 0..255)."""
    image = np.asarray(image, np.float64)
    lo, hi = float(image.min()), float(image.max())
    if hi <= lo:
        return np.full(image.shape, np.clip(round(lo), 0, 255), np.uint8)
    return np.rint((image - lo) / (hi - lo) * 255).astype(np.uint8)


def write_blockfile(
    out,
    data,
    *,
    scan_step=None,
    pattern_scale: float | None = None,
    vbf=None,
    beam_energy: float | None = None,
    note: str = "written by intake-tvips",
    storage_options: dict | None = None,
    scheduler=None,
    progress: bool = False,
    overwrite: bool = True,
) -> dict:
    """Write ``data``, a 4-D uint8 array ``(scan_y, scan_x, dy, dx)`` with square
    patterns (numpy or dask), to ``out`` as an ASTAR blockfile (``.blo``).

    Parameters
    ----------
    out:
        A local path or any fsspec URL. Local files are preallocated and written by
        every task at its offset; ``s3://`` is one multipart upload with a part per task
        (blocks of at least 5 MiB); other URLs are written locally, then uploaded.
    data:
        The patterns; a dask array is written one task per block of whole scan rows.
    scan_step:
        The scan step in nm (one number, or ``(y, x)``): the navigation axes' scale
        (``SY``/``SX``); default 1.
    pattern_scale:
        The size of a pattern pixel in cm, stored as ``SDP = round(100 / scale)`` (the
        signal axes' scale when read is ``100 / SDP`` cm); default none (read as 1).
    vbf:
        The header's virtual bright-field image: ``None`` (each pattern's mean), a disc
        radius in pixels around the pattern centre (the sum inside it), or an array
        ``(scan_y, scan_x)``. Computed values are stretched linearly to 0..255; a given
        uint8 array is stored as is, another one stretched.
    beam_energy:
        kV, stored in volts (optional).
    note:
        The header's text note (latin-1, up to ~3.8 kB).
    storage_options:
        fsspec options for ``out``.
    scheduler:
        ``None`` (the default ``distributed`` client if any, else dask's threads),
        ``"threads"``/``"processes"``/``"synchronous"``, a scheduler address, or a
        ``distributed.Client``.
    progress:
        A tqdm bar on stderr.
    overwrite:
        Replace an existing file (else ``FileExistsError``).

    Returns a summary: ``url``, ``shape``, ``bytes``, ``tasks``, ``scan_step``, ``sdp``
    and the ``vbf`` image written.
    """
    import dask

    layout = _check_data(data)
    steps = _scan_step(scan_step)
    sdp = pattern_sdp(pattern_scale)
    given = None if vbf is None or np.ndim(vbf) == 0 else np.asarray(vbf)
    if given is not None and given.shape != (layout.ny, layout.nx):
        raise ValueError(
            f"vbf must have the scan's shape {(layout.ny, layout.nx)}, got {given.shape}"
        )
    mask = _vbf_mask(vbf, layout.side)
    target = target_for(out, storage_options)
    # begun before the tasks are built: they carry the target (its temporary name or
    # upload id) as it is now
    target.begin(layout.size, overwrite)
    try:
        blocks = _as_row_blocks(data, layout, target.min_piece)
        starts = np.cumsum((0,) + blocks.chunks[0]) * layout.nx
        tasks = [
            dask.delayed(write_block)(b, k, int(starts[k]), target, layout, mask)
            for k, b in enumerate(blocks.to_delayed().ravel())
        ]
        done = sorted(
            run_tasks(tasks, scheduler, progress, "writing blockfile"), key=lambda r: r[0]
        )
        values = np.concatenate([v for _, v, _ in done])
        if given is not None and given.dtype == np.uint8:
            image = given
        else:
            image = stretch_to_uint8(values if given is None else given)
        energy = 0 if beam_energy is None else round(float(beam_energy) * 1000)
        target.finish(head_bytes(layout, image, steps, sdp, energy, note), [r for _, _, r in done])
    except BaseException:
        target.abort()
        raise
    return {
        "url": str(out),
        "shape": tuple(int(n) for n in data.shape),
        "bytes": layout.size,
        "tasks": len(tasks),
        "scan_step": steps,
        "sdp": sdp,
        "vbf": image,
    }
