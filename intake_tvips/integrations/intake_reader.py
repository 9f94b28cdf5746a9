"""Intake 2 (``intake.readers``) support: the ``TVIPSFile`` datatype, ``TVIPSReader`` (a
dask array) and ``TVIPSXarrayReader`` (an ``xarray.DataArray``).

Intake imports this module while ``import intake`` runs (entry point group
``intake.imports``), so at module level only intake and the standard library are used;
the reader itself (:func:`intake_tvips.file_reader`, dask, numpy) is imported when data
is read.

>>> import intake
>>> from intake_tvips.integrations.intake_reader import TVIPSFile, TVIPSReader
>>> data = TVIPSFile("s3://bucket/run7/scan_000.tvips", storage_options={"anon": True})
>>> arr = TVIPSReader(data, scan_shape=(256, 256), scan_start_frame=3).read()  # doctest: +SKIP
>>> intake.datatypes.recommend("scan_000.tvips", head=False)  # doctest: +SKIP
[<class 'intake_tvips.integrations.intake_reader.TVIPSFile'>]
"""

from __future__ import annotations

from intake.readers import datatypes
from intake.readers.readers import BaseReader


class TVIPSFile(datatypes.FileData):
    """A TVIPS camera recording: ``NAME_000.tvips`` (+ ``_001``, ...), any fsspec URL.

    ``url`` names the first part (``NAME_000.tvips`` or ``NAME.tvips``); the other parts
    are found next to it.
    """

    filepattern = "tvips$"
    mimetypes = "application/(x-)?tvips"  # no registered MIME type; never sent in practice
    structure = {"array"}


class TVIPSReader(BaseReader):
    """Lazy dask array of a TVIPS recording (see :func:`intake_tvips.file_reader`).

    Keyword arguments are the scan parameters of ``file_reader``: ``scan_shape``,
    ``scan_start_frame``, ``winding_scan_axis``, ``hysteresis``, ``rechunking``.
    ``.read().compute()`` gives numpy; for one eager allocation use
    ``intake_tvips.file_reader(url, lazy=False, ...)``.
    """

    implements = {TVIPSFile}
    imports = {"intake_tvips", "dask"}
    func = "intake_tvips:file_reader"
    output_instance = "dask.array:Array"

    def _read(self, data, **kw):
        return self._signal(data, **kw)["data"]

    @staticmethod
    def _signal(
        data,
        scan_shape=None,
        scan_start_frame=0,
        winding_scan_axis=None,
        hysteresis=0,
        rechunking="auto",
        **kw,
    ):
        from intake_tvips.maths.scan_parameters import ScanParameters
        from intake_tvips.reading.reader import file_reader

        params = ScanParameters.parse(  # YAML lists, templated text, "auto"
            scan_shape, scan_start_frame, winding_scan_axis, hysteresis, text=True
        )
        return file_reader(
            data.url,
            lazy=True,
            **params.reader_kwargs(),
            rechunking=rechunking,
            storage_options=data.storage_options,
            **kw,
        )[0]


class TVIPSXarrayReader(TVIPSReader):
    """Lazy ``xarray.DataArray`` of a TVIPS recording, with coordinates and attributes.

    Same keyword arguments as :class:`TVIPSReader`; see
    :meth:`intake_tvips.TVIPSSource.to_xarray` for dimensions and attributes.
    """

    imports = {"intake_tvips", "dask", "xarray"}
    output_instance = "xarray:DataArray"

    def _read(self, data, **kw):
        from intake_tvips.integrations.xarray_view import signal_to_xarray
        from intake_tvips.reading.opened import scan_attrs
        from intake_tvips.storage.secrets import mask_url

        signal = self._signal(data, **kw)
        scan = scan_attrs(kw, signal)
        return signal_to_xarray(
            signal, attrs={"source": mask_url(data.url), "scan_parameters": scan}
        )
