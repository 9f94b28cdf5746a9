"""Stable path of the Intake 2 readers: ``intake_tvips.intake_reader.TVIPSReader``, ...

Intake 2 writes class paths into the catalogs it saves, so catalogs saved before the code
moved name this module; the code lives in :mod:`intake_tvips.integrations.intake_reader`.
"""

from intake_tvips.integrations.intake_reader import TVIPSFile, TVIPSReader, TVIPSXarrayReader

__all__ = ["TVIPSFile", "TVIPSReader", "TVIPSXarrayReader"]
