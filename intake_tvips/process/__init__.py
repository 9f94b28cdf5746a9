"""Processing: pure per-frame functions on arrays of shape ``(..., dy, dx)``.

Every function takes a dask array (any chunking) or a numpy array and returns the same
kind, lazily for dask: nothing is computed but the bounded samples that
:func:`~intake_tvips.process.sample.sample_frames` reads when a function is asked to
estimate something (hot pixels, intensity range).
"""
