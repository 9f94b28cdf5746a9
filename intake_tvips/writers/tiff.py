"""``write_tiff``: frames as a multi-page TIFF stack (tifffile), written in parallel.

Layout (our choice, documented): one page per frame, in C order over the leading axes
(``scan_y`` then ``scan_x``), uncompressed and contiguous, described by tifffile's JSON
``ImageDescription`` (``{"shape": [...], "scan_step": ..., ...}``), so that
``tifffile.imread`` returns the array in its shape. tifffile writes the header and the
page directories of an empty file; every dask task then writes its block's frames at
their offset (``os.pwrite``). The calibration is in the description (``scan_step`` with
``scan_units``, ``pattern_scale`` with ``pattern_units``) and, when the pattern scale is
a length, in the resolution tags too (pixels per centimetre).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid

import numpy as np

from intake_tvips._optional import require
from intake_tvips.process.frames import is_dask
from intake_tvips.storage.filesystem import FileSystemSpec, resolve
from intake_tvips.writers.targets import LocalTarget
from intake_tvips.writers.tasks import run_tasks

#: lengths a pattern scale may be given in, in centimetres
_CM = {"m": 100.0, "cm": 1.0, "mm": 0.1, "um": 1e-4, "µm": 1e-4, "nm": 1e-7}


def _metadata(shape, scan_step, pattern_scale, pattern_units) -> tuple[dict, dict]:
    """tifffile's ``metadata`` and resolution keywords."""
    meta: dict = {"axes": "".join("TZ"[i] for i in range(len(shape) - 2)) + "YX"}
    if len(shape) == 4:
        meta["axes"] = "QQYX"  # tifffile's code for an axis of no standard kind
    extra: dict = {}
    if scan_step is not None:
        steps = [float(scan_step)] * 2 if np.ndim(scan_step) == 0 else [float(s) for s in scan_step]
        if not all(s > 0 for s in steps):
            raise ValueError(f"scan_step must be positive (nm), got {scan_step!r}")
        meta.update(scan_step=steps, scan_units="nm")
    if pattern_scale is not None:
        scale = float(pattern_scale)
        if not scale > 0:
            raise ValueError(f"pattern_scale must be positive, got {pattern_scale!r}")
        meta.update(pattern_scale=scale, pattern_units=pattern_units)
        if pattern_units in _CM:
            per_cm = 1.0 / (scale * _CM[pattern_units])
            extra = {"resolution": (per_cm, per_cm), "resolutionunit": "CENTIMETER"}
    return meta, extra


def write_frames(block: np.ndarray, first: int, target: LocalTarget, offset: int, frame: int):
    """One task: the block's frames (C order) at ``offset + first * frame``."""
    target.put(0, offset + first * frame, np.ascontiguousarray(block))
    return first


def write_tiff(
    out,
    data,
    *,
    scan_step=None,
    pattern_scale: float | None = None,
    pattern_units: str = "cm",
    storage_options: dict | None = None,
    scheduler=None,
    progress: bool = False,
    overwrite: bool = True,
) -> dict:
    """Write ``data`` (``(..., dy, dx)``, e.g. a 4-D scan; numpy or dask; any numeric
    dtype) to ``out`` as a TIFF stack: one page per frame in C order, calibration in the
    JSON description and the resolution tags (see the module's docstring).

    ``scan_step``: nm (one number or ``(y, x)``); ``pattern_scale`` in ``pattern_units``
    per detector pixel. ``out``: a local path (written in place, under a temporary name
    then renamed) or any fsspec URL (written locally, then uploaded). ``scheduler``,
    ``progress``, ``overwrite``: as for :func:`write_blockfile`. Returns a summary
    (``url``, ``shape``, ``bytes``, ``tasks``, ``metadata``).
    """
    import dask

    tifffile = require("tifffile", "tiff", "writing TIFF")
    if data.ndim < 3:
        raise ValueError(f"a TIFF stack needs frames (..., dy, dx), got shape {data.shape}")
    shape, dtype = tuple(int(n) for n in data.shape), np.dtype(data.dtype)
    meta, extra = _metadata(shape, scan_step, pattern_scale, pattern_units)
    fs, path = resolve(out, storage_options)
    spec = FileSystemSpec.from_fs(fs)
    if not overwrite and fs.exists(path):
        raise FileExistsError(f"{out} exists; pass overwrite=True to replace it")
    folder = os.path.dirname(os.path.abspath(path)) if spec.is_local else tempfile.mkdtemp()
    temp = os.path.join(folder, f".{os.path.basename(path)}.{uuid.uuid4().hex[:8]}.writing")
    target = LocalTarget(path if spec.is_local else temp + ".done", temp=temp)
    try:
        nbytes = int(np.prod(shape)) * dtype.itemsize
        tifffile.imwrite(
            temp, shape=shape, dtype=dtype, photometric="minisblack", metadata=meta,
            bigtiff=nbytes > 2**31, **extra,
        )  # fmt: skip
        with tifffile.TiffFile(temp) as tif:
            offset = tif.series[0].dataoffset
        if offset is None:  # pragma: no cover - tifffile writes empty stacks contiguous
            raise OSError(f"tifffile did not lay {out} out contiguously")
        frame = shape[-2] * shape[-1] * dtype.itemsize
        tasks = _tasks(data, target, offset, frame, dask)
        run_tasks(tasks, scheduler, progress, "writing tiff")
        target.finish(b"", [])
        if not spec.is_local:
            fs.put_file(target.path, path)
    except BaseException:
        target.abort()
        raise
    finally:
        if not spec.is_local:
            shutil.rmtree(folder, ignore_errors=True)
    return {"url": str(out), "shape": shape, "bytes": nbytes, "tasks": len(tasks), "metadata": meta}


def _tasks(data, target, offset: int, frame: int, dask) -> list:
    """One task per block of whole frames, contiguous in C order over the leading axes."""
    import dask.array as da

    if not is_dask(data):
        rows = max(1, (32 * 2**20) // max(1, frame * int(np.prod(data.shape[1:-2]))))
        data = da.from_array(np.asarray(data), chunks=(rows,) + (-1,) * (data.ndim - 1))
    data = data.rechunk({a: -1 for a in range(1, data.ndim)})
    per_row = int(np.prod(data.shape[1:-2]))
    starts = np.cumsum((0,) + data.chunks[0]) * per_row
    blocks = data.to_delayed().ravel()
    return [
        dask.delayed(write_frames)(b, int(starts[k]), target, offset, frame)
        for k, b in enumerate(blocks)
    ]
