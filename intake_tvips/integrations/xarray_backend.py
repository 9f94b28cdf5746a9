"""The xarray backend ``tvips``: ``xr.open_dataset(url, engine="tvips", ...)``.

Registered under the entry point group ``xarray.backends``. The Dataset holds one
variable, ``data``: the recording with the dimensions, coordinates and (netCDF-safe)
attributes of :meth:`intake_tvips.TVIPSSource.to_xarray`. Opening reads
only headers. As with every xarray backend, ``chunks=None`` (xarray's default) gives a
lazily indexed array that reads just the frames a selection needs; ``chunks={}`` gives a
dask array in the reader's chunks (whole scan rows, ``array.chunk-size``), and any other
``chunks`` what xarray makes of it.
"""

from __future__ import annotations

import os

import numpy as np
from xarray.backends import BackendArray, BackendEntrypoint
from xarray.core import indexing

from intake_tvips.graph.build import block_task, max_gap_records
from intake_tvips.graph.chunking import auto_chunks
from intake_tvips.integrations.xarray_view import signal_coords, xarray_attrs
from intake_tvips.maths.scan_parameters import ScanParameters
from intake_tvips.reading.opened import OpenedSignal, open_signal
from intake_tvips.recording.core import open_recording


class TVIPSBackendArray(BackendArray):
    """The recording as an xarray backend array: a basic (slice) selection reads the
    frames of its navigation block with the reader's block reads.

    Holds the parts, frame index and scan map (no open file), so it pickles small and
    works on dask.distributed workers.
    """

    def __init__(self, opened: OpenedSignal):
        self.parts = opened.rec.parts
        self.index = opened.rec.index
        self.fmap = opened.fmap
        self.shape = opened.shape
        self.dtype = np.dtype(opened.rec.layout.dtype)

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.BASIC, self._getitem
        )

    def _getitem(self, key: tuple) -> np.ndarray:
        nav = len(self.fmap.shape)
        bounds, post = [], []
        for k, n in zip(key[:nav], self.shape[:nav]):
            if isinstance(k, slice):
                start, stop, step = k.indices(n)
                lo, hi = (start, max(stop, start)) if step > 0 else (stop + 1, start + 1)
                bounds.append(slice(lo, hi))
                post.append(slice(start - lo, stop - lo if stop - lo >= 0 else None, step))
            else:
                i = int(k) % n
                bounds.append(slice(i, i + 1))
                post.append(0)
        if any(b.stop <= b.start for b in bounds):
            block = np.zeros([b.stop - b.start for b in bounds] + list(self.shape[nav:]))
        else:
            gap = max_gap_records(self.parts, self.index)
            task = block_task(self.parts, self.index, self.fmap, tuple(bounds), gap)
            block = task()
        return block.astype(self.dtype, copy=False)[tuple(post) + tuple(key[nav:])]


class TVIPSBackendEntrypoint(BackendEntrypoint):
    """xarray backend for TVIPS recordings (``engine="tvips"``).

    ``xr.open_dataset(url, engine="tvips", scan_shape=..., scan_start_frame=...,
    winding_scan_axis=..., hysteresis=..., storage_options=..., chunks=...)``; the
    parameters are those of :func:`intake_tvips.file_reader`.
    """

    description = "TVIPS camera streams (.tvips, NAME_000.tvips + parts) from any fsspec URL"
    #: the project publishes no documentation URL yet; the README's "xarray" section
    url = ""
    open_dataset_parameters = (
        "filename_or_obj",
        "drop_variables",
        "scan_shape",
        "scan_start_frame",
        "winding_scan_axis",
        "hysteresis",
        "storage_options",
        "scan_step",
        "pattern_scale",
    )

    def open_dataset(
        self,
        filename_or_obj,
        *,
        drop_variables=None,
        scan_shape=None,
        scan_start_frame: int = 0,
        winding_scan_axis: str | None = None,
        hysteresis: int | str = 0,
        storage_options: dict | None = None,
        scan_step: float | str | None = None,
        pattern_scale: float | str | None = None,
    ):
        """The recording as a Dataset with the variable ``data`` (see the module doc)."""
        import xarray as xr

        rec = open_recording(_path_of(filename_or_obj), storage_options)
        params = ScanParameters.parse(
            scan_shape, scan_start_frame, winding_scan_axis, hysteresis
        ).calibrated(scan_step, pattern_scale)
        opened = open_signal(rec, params)
        signal = opened.signal(None)
        dims, coords = signal_coords(signal)
        attrs = xarray_attrs(signal, opened.source_attrs())
        data = indexing.LazilyIndexedArray(TVIPSBackendArray(opened))
        variable = xr.Variable(dims, data, attrs=attrs, encoding={})
        variable.encoding["preferred_chunks"] = dict(zip(dims, _preferred_chunks(opened)))
        drop = set([drop_variables] if isinstance(drop_variables, str) else drop_variables or ())
        coords = {k: v for k, v in coords.items() if k not in drop}
        variables = {} if "data" in drop else {"data": variable}
        ds = xr.Dataset(variables, coords=coords)
        ds.set_close(_noop)
        return ds

    def guess_can_open(self, filename_or_obj) -> bool:
        """``True`` for names ending in ``.tvips`` (any fsspec URL)."""
        try:
            name = os.fspath(filename_or_obj)
        except TypeError:
            return False
        return isinstance(name, str) and name.rstrip("/").lower().endswith(".tvips")


def _path_of(filename_or_obj):
    try:
        return os.fspath(filename_or_obj)
    except TypeError:
        raise ValueError(
            f"engine 'tvips' opens a path or fsspec URL, got {type(filename_or_obj).__name__}"
        ) from None


def _preferred_chunks(opened: OpenedSignal) -> tuple[tuple[int, ...], ...]:
    """The reader's ``"auto"`` chunks: whole scan rows within ``array.chunk-size``."""
    layout = opened.rec.layout
    nav = auto_chunks(opened.nav_shape, layout.frame_shape, layout.dtype, opened.is_scan)
    return tuple(nav) + tuple((n,) for n in layout.frame_shape)


def _noop() -> None:
    """Nothing to close: no file is kept open between reads."""
