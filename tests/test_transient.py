"""The one classifier of read failures worth a retry (errors.is_transient), on each kind.

Every client's failures go through it: aiohttp (fsspec's HTTP), fsspec, http.client,
built-in OSErrors, and obstore, which tells most faults only in the text of one class
(the texts below are obstore's own, from a server answering each status). And the one
retry loop (storage/fetch.py) that asks it: only the ranges worth it, only as often as
the policy says, never on top of a client that retries by itself.
"""

from __future__ import annotations

import http.client

import aiohttp
import fsspec
import multidict
import pytest
import yarl
from fsspec.exceptions import FSTimeoutError
from fsspec.implementations.memory import MemoryFileSystem
from obstore import exceptions as ox

from intake_tvips.errors import ShortReadError, http_status, is_transient, worth_asking_again
from intake_tvips.storage import filesystem
from intake_tvips.storage.byteranges import read_byte_ranges
from intake_tvips.storage.fetch import fetch_ranges
from intake_tvips.storage.filesystem import FileSystemSpec
from intake_tvips.storage.obstore_io import ObstoreTransientError, _python_error


def _response_error(status: int) -> aiohttp.ClientResponseError:
    url = yarl.URL("http://127.0.0.1/k")
    info = aiohttp.RequestInfo(url, "GET", multidict.CIMultiDictProxy(multidict.CIMultiDict()), url)
    return aiohttp.ClientResponseError(info, (), status=status, message="x")


def _obstore_text(status: int, reason: str) -> str:
    return (
        "Generic S3 error: Error performing GET http://127.0.0.1:9000/b/k in 5.4ms - Server "
        f"returned non-2xx status code: {status} {reason}: body\n\nDebug source:\nGeneric {{}}"
    )


TRANSIENT = {
    "aiohttp 503": _response_error(503),
    "aiohttp 500": _response_error(500),
    "aiohttp 429": _response_error(429),
    "aiohttp 408": _response_error(408),
    "aiohttp 599": _response_error(599),
    "aiohttp connection": aiohttp.ClientConnectionError("reset"),
    "aiohttp server disconnected": aiohttp.ServerDisconnectedError(),
    "aiohttp payload cut": aiohttp.ClientPayloadError("Response payload is not completed"),
    "aiohttp server timeout": aiohttp.ServerTimeoutError("read timeout"),
    "fsspec timeout": FSTimeoutError(),
    "http.client short body": http.client.IncompleteRead(b"abc", 10),
    "connection reset": ConnectionResetError(104, "Connection reset by peer"),
    "connection refused": ConnectionRefusedError(111, "Connection refused"),
    "timeout": TimeoutError("timed out"),
    "obstore 503": ox.GenericError(_obstore_text(503, "Service Unavailable")),
    "obstore 500": ox.GenericError(_obstore_text(500, "Internal Server Error")),
    "obstore 429": ox.GenericError(_obstore_text(429, "Too Many Requests")),
    "obstore no connection": ox.GenericError(
        "Generic S3 error: Error performing GET http://127.0.0.1:9/b/k in 3.7ms - HTTP "
        "error: error sending request\n\nDebug source: ConnectError"
    ),
    "obstore body cut": ox.GenericError("Generic S3 error: error decoding response body"),
    "obstore, mapped": ObstoreTransientError("Generic S3 error: ... 503"),
}
FINAL = {
    "missing": FileNotFoundError("gone"),
    "permission": PermissionError("no"),
    "a directory": IsADirectoryError("dir"),
    "short file": ShortReadError("ended early"),
    "aiohttp 404": _response_error(404),
    "aiohttp 403": _response_error(403),
    "aiohttp 416": _response_error(416),
    "aiohttp 400": _response_error(400),
    "other error": ValueError("bad"),
    "plain OSError": OSError("disk"),
    "obstore 416": ox.GenericError(_obstore_text(416, "Range Not Satisfiable")),
    "obstore 400": ox.GenericError(_obstore_text(400, "Bad Request")),
    "obstore 404": ox.NotFoundError("Object at location k not found: status code: 503"),
    "obstore 403": ox.PermissionDeniedError("lacked the necessary privileges: timeout"),
    "obstore unauthenticated": ox.UnauthenticatedError("no credentials"),
    "obstore, no word": ox.GenericError("Generic S3 error: invalid range 10-5"),
}


@pytest.mark.parametrize("kind", sorted(TRANSIENT))
def test_transient(kind):
    assert is_transient(TRANSIENT[kind])
    assert worth_asking_again(TRANSIENT[kind], 10)


@pytest.mark.parametrize("kind", sorted(FINAL))
def test_final(kind):
    assert not is_transient(FINAL[kind])
    assert not worth_asking_again(FINAL[kind], 10)


def test_status_from_attribute_or_obstore_text():
    assert http_status(_response_error(503)) == 503
    assert http_status(ox.GenericError(_obstore_text(416, "Range Not Satisfiable"))) == 416
    assert http_status(ValueError("status code: 503")) is None  # not a text-only client


def test_short_answers_are_worth_asking_again():
    assert worth_asking_again(b"abc", 10)
    assert not worth_asking_again(b"0123456789", 10)


@pytest.mark.parametrize(
    "error, mapped, transient",
    [
        (ox.GenericError(_obstore_text(503, "Service Unavailable")), ObstoreTransientError, True),
        (ox.GenericError(_obstore_text(416, "Range Not Satisfiable")), OSError, False),
        (ox.NotFoundError("Object at location k not found"), FileNotFoundError, False),
        (ox.PermissionDeniedError("lacked the necessary privileges"), PermissionError, False),
    ],
)
def test_obstore_errors_map_to_built_ins_the_classifier_agrees_with(error, mapped, transient):
    out = _python_error(error)
    assert type(out) is mapped
    assert is_transient(out) == transient == is_transient(error)


# ------------------------------------------------------------------- the retry loop


class FlakyFileSystem(MemoryFileSystem):
    """A memory filesystem whose ``cat_ranges`` answers from a script, once per range:
    each call pops the next answer per path (an exception, ``"short"``, or ``"ok"``)."""

    protocol = "flaky"
    store: dict = {}
    pseudo_dirs = [""]
    script: dict = {}
    calls: list = []

    def cat_ranges(self, paths, starts, ends, on_error="return", **kwargs):
        FlakyFileSystem.calls.append(list(paths))
        out = []
        for p, s, e in zip(paths, starts, ends):
            answer = self.script[p].pop(0) if self.script.get(p) else "ok"
            data = self.store[self._strip_protocol(p)].getvalue()[s:e]
            out.append(
                answer
                if isinstance(answer, Exception)
                else data[: 1 if answer == "short" else None]
            )
        return out


fsspec.register_implementation("flaky", FlakyFileSystem, clobber=True)


@pytest.fixture
def flaky(monkeypatch):
    monkeypatch.setattr(filesystem, "REMOTE_BACKOFF_SECONDS", 0.001)
    monkeypatch.setattr(filesystem, "REMOTE_ATTEMPTS", 3)
    FlakyFileSystem.store.clear()
    FlakyFileSystem.calls.clear()
    FlakyFileSystem.script = {}
    fs = FlakyFileSystem()
    for name in "abc":
        fs.pipe_file(f"/{name}", bytes(range(100)))
    yield FileSystemSpec("flaky", {})
    FlakyFileSystem.store.clear()


def _fetch(spec, paths):
    got = {i: (r, k) for i, r, k in fetch_ranges(spec, paths, [0] * len(paths), [10] * len(paths))}
    return [got[i] for i in range(len(paths))]


def test_only_ranges_worth_it_are_asked_again(flaky):
    FlakyFileSystem.script = {"/a": [ConnectionResetError("reset")], "/b": ["short"]}
    (a, ka), (b, kb), (c, kc) = _fetch(flaky, ["/a", "/b", "/c"])
    assert a == b == c == bytes(range(10))
    assert (ka, kb, kc) == (2, 2, 1)
    assert FlakyFileSystem.calls == [["/a", "/b", "/c"], ["/a", "/b"]]


def test_a_final_failure_is_not_asked_again(flaky):
    FlakyFileSystem.script = {"/a": [_response_error(404)], "/b": [_response_error(503)] * 5}
    (a, ka), (b, kb) = _fetch(flaky, ["/a", "/b"])
    assert isinstance(a, aiohttp.ClientResponseError) and ka == 1
    assert isinstance(b, aiohttp.ClientResponseError) and kb == 3  # REMOTE_ATTEMPTS
    FlakyFileSystem.script = {"/a": [_response_error(404)]}
    with pytest.raises(OSError, match=r"flaky://?/a: reading bytes 0-10 failed after 1 attempt"):
        read_byte_ranges(flaky, ["/a"], [0], [10])


def test_clients_that_retry_themselves_are_asked_once(flaky, monkeypatch):
    monkeypatch.setattr(filesystem, "SELF_RETRYING_PROTOCOLS", frozenset({"flaky"}))
    FlakyFileSystem.script = {"/a": [_response_error(503)]}
    [(a, ka)] = _fetch(flaky, ["/a"])
    assert isinstance(a, aiohttp.ClientResponseError) and ka == 1
