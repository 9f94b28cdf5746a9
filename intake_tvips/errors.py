"""Exceptions raised for bad TVIPS input, and which read failures are worth a retry."""

from __future__ import annotations

import re


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


class ShortReadError(OSError):
    """A range came back shorter than asked: the file is shorter than its index says."""


#: HTTP statuses worth asking again: timeouts, rate limits and server errors
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
#: exception classes (by name, so that no optional client library is imported here) of
#: transient faults: aiohttp's connection errors and cut bodies, fsspec's timeout,
#: http.client's short body
_TRANSIENT_CLASS_NAMES = frozenset(
    {
        "ClientConnectionError",
        "ClientPayloadError",
        "FSTimeoutError",
        "IncompleteRead",
        "ServerTimeoutError",
        "TimeoutError",
    }
)
#: clients whose exceptions tell the fault only in their text (obstore: one class for
#: most errors), by the module their classes come from
_TEXT_ONLY_MODULES = ("obstore",)
#: words of a transient fault in such a text: connection errors, timeouts, cut bodies
_TRANSIENT_WORDS = ("connect", "timed out", "timeout", "body", "reset", "closed", "retry")
#: obstore's classes of faults that asking again cannot mend
_TEXT_ONLY_FINAL = frozenset(
    {"NotFoundError", "PermissionDeniedError", "UnauthenticatedError", "InvalidPathError"}
)
_STATUS_IN_TEXT = re.compile(r"status(?: code)?:? (\d{3})\b")


def http_status(exc: BaseException) -> int | None:
    """The HTTP status an exception reports (its ``status``, or in its text for clients
    that only say it there), or ``None``."""
    status = getattr(exc, "status", None)
    if isinstance(status, int):  # aiohttp.ClientResponseError and friends
        return status
    if _text_only(exc):
        m = _STATUS_IN_TEXT.search(str(exc).lower())
        return int(m.group(1)) if m else None
    return None


def _text_only(exc: BaseException) -> bool:
    return type(exc).__module__.split(".")[0] in _TEXT_ONLY_MODULES


def is_transient(exc: BaseException) -> bool:
    """Whether a failed remote read may succeed when asked again.

    Yes: connection resets and refusals, timeouts, bodies cut short, and HTTP 408, 425,
    429 and 5xx answers (from aiohttp, fsspec, http.client, or obstore's text). No: a
    missing file, a refused permission, a short read of a file (:class:`ShortReadError`),
    any other HTTP status (404, 403, 416, ...) and everything else. The one classifier of
    the package: fsspec reads, obstore reads and part discovery all ask it.
    """
    if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError, ShortReadError)):
        return False
    if _text_only(exc) and type(exc).__name__ in _TEXT_ONLY_FINAL:
        return False
    status = http_status(exc)
    if status is not None:
        return status in TRANSIENT_STATUSES or status >= 500
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    if any(cls.__name__ in _TRANSIENT_CLASS_NAMES for cls in type(exc).__mro__):
        return True
    if _text_only(exc):
        text = str(exc).lower()
        return any(w in text for w in _TRANSIENT_WORDS)
    return False


def worth_asking_again(result, want: int) -> bool:
    """Whether a ranged read's ``result`` (its bytes, or the exception it raised) is worth
    asking for again: a transient failure, or fewer than the ``want`` bytes asked for (a
    body cut short by a proxy or a flaky connection)."""
    if isinstance(result, BaseException):
        return is_transient(result)
    return len(result) < want
