"""Stable path of ``intake_tvips.reader.file_reader`` (RosettaSciIO's plugin API: plugin
specifications name this path); the code lives in :mod:`intake_tvips.reading.reader`.
"""

from intake_tvips.reading.reader import file_reader

__all__ = ["file_reader"]
