"""intake-tvips: TVIPS camera streams (``.tvips``) in the PyData stack.

Read any fsspec URL lazily into dask or eagerly into numpy, reconstruct 4D-STEM
scans, write recordings back, and use them from Intake catalogs (driver ``tvips``).
"""

from .errors import TVIPSFormatError
from .frame_index import TruncatedRecordingWarning
from .reader import file_reader

__version__ = "0.1.0"

__all__ = ["TVIPSFormatError", "TruncatedRecordingWarning", "file_reader", "file_writer"]


def __getattr__(name):
    if name == "file_writer":
        from .writer import file_writer

        return file_writer
    raise AttributeError(f"module 'intake_tvips' has no attribute {name!r}")
