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


#: HTTP statuses worth asking again: timeouts, rate limits and server errors
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


def is_transient(exc: BaseException) -> bool:
    """Whether a failed remote read may succeed when asked again.

    Yes: connection resets and refusals, timeouts, bodies cut short, and HTTP 408, 429 and
    5xx answers. No: a missing file, a refused permission, any other HTTP status (404,
    403, 416, ...) and everything else.
    """
    if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)):
        return False
    status = getattr(exc, "status", None)
    if isinstance(status, int):  # aiohttp.ClientResponseError and friends
        return status in TRANSIENT_STATUSES or status >= 500
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    name = type(exc).__name__
    # aiohttp's ClientConnectionError family and ClientPayloadError, fsspec's
    # FSTimeoutError, http.client's IncompleteRead; matched by name so that no optional
    # client library has to be imported here
    for cls in type(exc).__mro__:
        if cls.__name__ in (
            "ClientConnectionError",
            "ClientPayloadError",
            "FSTimeoutError",
            "IncompleteRead",
            "ServerTimeoutError",
        ):
            return True
    return name == "TimeoutError"
