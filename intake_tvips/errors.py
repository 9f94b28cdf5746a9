"""Exceptions raised for bad TVIPS input."""

from __future__ import annotations


class TVIPSFormatError(ValueError):
    """A file is not a readable TVIPS part: the message names the file and the problem.

    Attributes
    ----------
    filename:
        The file (URL or path) at fault.
    field:
        The header field at fault, where one is.
    """

    def __init__(self, filename: str, problem: str, field: str | None = None):
        self.filename = str(filename)
        self.problem = problem
        self.field = field
        super().__init__(f"{self.filename}: {problem}")
