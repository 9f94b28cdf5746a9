"""Integrations: the faces this package shows to other libraries.

Intake v1 (``intake_source.py``) and Intake 2 (``intake_reader.py``), xarray's
``engine="tvips"`` (``xarray_backend.py``) and the signal as a ``DataArray``
(``xarray_view.py``), HyperSpy (``hyperspy.py``), kerchunk references
(``virtual_zarr.py``) and Intake catalog files (``catalog_file.py``).
"""
