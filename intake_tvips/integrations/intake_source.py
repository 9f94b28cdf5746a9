"""Intake (v1 API) driver ``tvips``: a thin wrapper around :func:`intake_tvips.file_reader`.

All format knowledge lives in :mod:`intake_tvips.reading.reader`; this module only normalises
catalog arguments (YAML lists, templated strings), caches the lazy array and exposes it
through Intake's ``DataSource`` interface.
"""

from __future__ import annotations

import copy
import os
from typing import TYPE_CHECKING

import numpy as np
from intake.source.base import DataSource, Schema
from yaml import safe_dump

from intake_tvips import __version__
from intake_tvips.maths.scan_parameters import ScanParameters
from intake_tvips.reading.reader import file_reader
from intake_tvips.storage.secrets import MASK, SAFE_OPTION_KEYS, mask_storage_options, mask_url  # noqa: F401

if TYPE_CHECKING:  # HyperSpy is optional
    from hyperspy.signal import BaseSignal


def _mask_args(args: dict) -> dict:
    args = dict(args)
    if "storage_options" in args:
        args["storage_options"] = mask_storage_options(args["storage_options"])
    if "urlpath" in args:
        args["urlpath"] = mask_url(args["urlpath"])
    return args


class TVIPSSource(DataSource):
    """A TVIPS recording (``NAME_000.tvips``, ``_001``, ...) as a dask or numpy array.

    Parameters are those of :func:`intake_tvips.file_reader`; ``scan_shape`` may be a
    list (as YAML writes it) and the integer parameters may be strings (as Jinja
    templates render them).

    Parameters
    ----------
    urlpath : str
        First part of the recording: a local path or any fsspec URL.
    scan_shape : None, "auto" or sequence of int
        ``None``: a stack ``(time, dy, dx)``; ``(..., ny, nx)``: a scan;
        ``"auto"``: the scan from the frame headers (see :func:`intake_tvips.file_reader`).
    scan_start_frame, winding_scan_axis, hysteresis, rechunking
        As for :func:`intake_tvips.file_reader` (``hysteresis: auto``: estimated from
        the pixels when the data are opened).
    scan_step, pattern_scale
        Calibrations, as for :func:`intake_tvips.file_reader`: numbers, or text with
        units (``"2.5 nm"``).
    storage_options : dict, optional
        Passed to fsspec.
    metadata : dict, optional
        Catalog metadata. After :meth:`discover` it also holds ``chunks``, ``axes``,
        ``original_metadata`` (``{"tvips_header": {...}}``, the series header) and
        ``signal_metadata`` (the HyperSpy-style ``metadata`` tree of ``file_reader``).

    Notes
    -----
    Secrets: ``repr(source)``, ``str(source)``, the notebook display and
    :meth:`describe` mask the values of ``storage_options`` (all but harmless keys
    such as ``anon`` or ``endpoint_url``) and any ``user:password@`` in the URL.
    :meth:`yaml` does **not** mask: it serialises the arguments exactly as passed, so
    that its output works as a catalog entry again (a source built from a catalog that
    reads credentials through ``{{ env(...) }}`` gets them expanded, so do not publish
    the output of ``yaml()`` of such a source). Pickles also keep the options, since
    the unpickled source must be able to read.
    """

    name = "tvips"
    container = "ndarray"
    version = __version__
    partition_access = True

    def __init__(
        self,
        urlpath,
        scan_shape=None,
        scan_start_frame=0,
        winding_scan_axis=None,
        hysteresis=0,
        rechunking="auto",
        storage_options=None,
        metadata=None,
        scan_step=None,
        pattern_scale=None,
    ):
        self.urlpath = _tidy_local(urlpath)
        #: the scan parameters, parsed once (YAML lists, templated text, "auto")
        self.params = ScanParameters.parse(
            scan_shape, scan_start_frame, winding_scan_axis, hysteresis, text=True
        ).calibrated(scan_step, pattern_scale)
        self.scan_step, self.pattern_scale = scan_step, pattern_scale
        self.scan_shape = self.params.scan_shape
        self.scan_start_frame = self.params.scan_start_frame
        self.winding_scan_axis = self.params.winding_scan_axis
        self.hysteresis = self.params.hysteresis
        self.rechunking = rechunking
        self._signal = None
        self._headers = None
        super().__init__(storage_options=storage_options, metadata=dict(metadata or {}))
        self.storage_options = dict(self.storage_options or {})

    # --- reading --------------------------------------------------------------------------

    def _reader_kwargs(self) -> dict:
        return dict(
            **self.params.reader_kwargs(),
            scan_step=self.scan_step,
            pattern_scale=self.pattern_scale,
            rechunking=self.rechunking,
            storage_options=self.storage_options,
        )

    def _get_schema(self) -> Schema:
        """Open lazily: reads the series header and first frame headers, no pixels."""
        if self._signal is None:
            self._signal = file_reader(self.urlpath, lazy=True, **self._reader_kwargs())[0]
        sig = self._signal
        arr = sig["data"]
        return Schema(
            dtype=arr.dtype,
            shape=arr.shape,
            npartitions=arr.npartitions,
            extra_metadata={
                "chunks": arr.chunks,
                "axes": sig["axes"],
                "original_metadata": sig["original_metadata"],
                "signal_metadata": sig["metadata"],
            },
        )

    def to_dask(self):
        """The lazy dask array (tasks read byte ranges when computed)."""
        self._load_metadata()
        return self._signal["data"]

    def read(self):
        """The whole recording as a numpy array, allocated once and read straight into."""
        return file_reader(self.urlpath, lazy=False, **self._reader_kwargs())[0]["data"]

    def _block_index(self, i) -> tuple[int, ...]:
        numblocks = self.to_dask().numblocks
        if isinstance(i, (tuple, list)):
            idx = tuple(int(j) for j in i)
            if len(idx) != len(numblocks) or not all(0 <= j < n for j, n in zip(idx, numblocks)):
                raise IndexError(f"block {idx} out of range for numblocks {numblocks}")
            return idx
        i = int(i)
        if not 0 <= i < self.npartitions:
            raise IndexError(f"partition {i} out of range (npartitions={self.npartitions})")
        return tuple(int(j) for j in np.unravel_index(i, numblocks))

    def to_xarray(self):
        """The lazy array as an ``xarray.DataArray`` (needs xarray).

        Dimensions ``y, x, dy, dx`` for a scan (leading axes of higher-dimensional scans
        ``scan_0, ...``) or ``time, dy, dx`` for a stack; a coordinate per dimension from
        the axis' offset and scale, with its ``units`` (a stack's ``time``: datetime64,
        UTC). Attributes (netCDF-safe): ``axes``, ``tvips_header``, ``metadata``
        (HyperSpy's tree), ``scan_parameters`` as JSON text
        (:func:`intake_tvips.xarray_view.decode_attrs` parses them) and ``source`` (the
        URL, any ``user:password@`` masked).
        """
        from intake_tvips.integrations.xarray_view import signal_to_xarray

        self._load_metadata()
        return signal_to_xarray(self._signal, attrs=self._xarray_attrs())

    def to_hyperspy(self, lazy: bool = True, signal_type: str | None = None) -> BaseSignal:
        """The recording as a HyperSpy signal (needs ``intake-tvips[hyperspy]``).

        ``lazy=True``: a ``LazySignal2D`` over :meth:`to_dask`; ``False``: a ``Signal2D``
        read into memory. ``signal_type`` as for :func:`intake_tvips.load_hyperspy`
        (e.g. ``"electron_diffraction"``: pyxem's class when pyxem is installed).
        """
        from intake_tvips.integrations.hyperspy import signal_from_dict

        if lazy:
            self._load_metadata()
            signal = self._signal
        else:
            signal = file_reader(self.urlpath, lazy=False, **self._reader_kwargs())[0]
        return signal_from_dict(signal, lazy, signal_type)

    def _xarray_attrs(self) -> dict:
        from intake_tvips.reading.opened import scan_attrs

        scan = scan_attrs(self._reader_kwargs(), self._signal or {})
        return {"source": mask_url(str(self.urlpath)), "scan_parameters": scan}

    def frame_headers(self, progress: bool = False):
        """Every frame header, as :func:`intake_tvips.frame_headers` returns them (a numpy
        structured array: ``frame``, ``part``, the header fields, ``time``); read once and
        cached until :meth:`close`."""
        if self._headers is None:
            from intake_tvips.recording.headers import frame_headers

            self._headers = frame_headers(self.urlpath, self.storage_options, progress=progress)
        return self._headers

    def detect_scan(self):
        """:func:`intake_tvips.detect_scan` of this recording (from :meth:`frame_headers`)."""
        from intake_tvips.recording.detect import detect_scan

        return detect_scan(headers=self.frame_headers())

    def _get_partition(self, i):
        return self.to_dask().blocks[self._block_index(i)].compute()

    def read_partition(self, i):
        """Block ``i`` as numpy: ``i`` indexes the C-ordered flattened blocks, or is a tuple
        of block indices (one per axis, as ``dask.array.Array.blocks`` takes)."""
        self._load_metadata()
        return self._get_partition(i)

    def _close(self):
        """Drop the cached lazy array (and schema); the next access opens the file again."""
        self._signal = None
        self._schema = None
        self._headers = None

    # --- display without secrets ----------------------------------------------------------

    def _masked_yaml(self) -> dict:
        data = self._yaml()
        for entry in data["sources"].values():
            entry["args"] = _mask_args(entry.get("args", {}))
        return data

    def __repr__(self):
        return safe_dump(_plain(self._masked_yaml()), default_flow_style=False)

    __str__ = __repr__

    def _ipython_display_(self):
        from intake.utils import pretty_describe
        from IPython.display import display

        data = _plain(self._masked_yaml()["sources"])
        contents = safe_dump(data, default_flow_style=False)
        display(
            {"application/yaml": contents, "text/plain": pretty_describe(contents)},
            metadata={"application/json": {"root": self.name}},
            raw=True,
        )

    def describe(self):
        """The catalog entry's description, with storage option values masked."""
        desc = copy.deepcopy(super().describe())
        if isinstance(desc.get("args"), dict):
            desc["args"] = _mask_args(desc["args"])
        return desc


def _plain(obj):
    """Tuples -> lists, so ``safe_dump`` can write what ``yaml()`` holds."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (str, int, float, bool, type(None), bytes)):
        return obj
    return str(obj)


def _tidy_local(urlpath):
    """A local path without the ``//`` Intake's ``{{ CATALOG_DIR }}/...`` leaves in it
    (shown in messages and attributes); URLs and anything else unchanged."""
    if isinstance(urlpath, str) and "://" not in urlpath and "//" in urlpath:
        return os.path.normpath(urlpath)
    return urlpath
