"""Stable path of ``intake_tvips.writer.file_writer`` (RosettaSciIO's plugin API: plugin
specifications name this path); the code lives in :mod:`intake_tvips.writers.tvips`.
"""

from intake_tvips.writers.tvips import file_writer

__all__ = ["file_writer"]
