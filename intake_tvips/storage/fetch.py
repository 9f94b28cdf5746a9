"""Remote byte ranges fetched concurrently, with the failures worth it asked again.

:func:`fetch_ranges` is the one way into a remote fetch. It chooses the client: S3
through obstore where :func:`~intake_tvips.storage.obstore_io.usable` says so (results
handed over as they arrive), else fsspec's ``cat_ranges`` (concurrent on async
filesystems such as HTTP and S3; results at the end). Then it asks again for the ranges
:func:`~intake_tvips.errors.worth_asking_again` picks (a transient failure: a reset
connection, a timeout, a body cut short, HTTP 408/429/5xx), only those, up to
``REMOTE_ATTEMPTS`` times with a doubling pause starting at ``REMOTE_BACKOFF_SECONDS``,
and no retry starts later than ``REMOTE_RETRY_BUDGET_SECONDS`` after the first attempt.
A 404, 403 or any other error is final at once. Clients that retry failures themselves
(obstore; s3fs through botocore, gcsfs, adlfs: ``SELF_RETRYING_PROTOCOLS``) are not
retried on top of that; obstore takes a short body for an answer, so short answers are
still asked again there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import as_completed
from contextlib import closing

from intake_tvips.errors import worth_asking_again
from intake_tvips.storage import filesystem, obstore_io
from intake_tvips.storage.filesystem import FileSystemSpec, backoff_delays, retry_attempts
from intake_tvips.storage.secrets import mask_url

logger = logging.getLogger(__name__)


def fetch_ranges(
    fs_spec: FileSystemSpec,
    paths: list[str],
    starts: list[int],
    ends: list[int],
    while_waiting: Callable[[], None] | None = None,
    batch_size: int | None = None,
) -> Iterator[tuple[int, object, int]]:
    """Read remote byte ranges concurrently; yields ``(index, result, attempts)`` once per
    range, as they arrive where the client allows (obstore), else a round at a time.

    ``result`` is a buffer (``bytes`` or ``obstore.Bytes``) or the last exception; a
    buffer may still be short when the attempts ran out. ``while_waiting()`` runs once,
    while the first requests are under way (obstore only). ``batch_size``: most ranges in
    flight at once on fsspec's async filesystems (``None``: fsspec's default).
    """
    client = _client(fs_spec, batch_size)
    todo = list(range(len(paths)))
    tries = [0] * len(paths)
    delays = iter(backoff_delays(client.attempts))
    while todo:
        again = []
        rnd = client.fetch(
            [paths[i] for i in todo],
            [starts[i] for i in todo],
            [ends[i] for i in todo],
            while_waiting,
        )
        while_waiting = None  # the first round only
        with closing(rnd):
            for j, result in rnd:
                i = todo[j]
                tries[i] += 1
                if client.asks_again(result, ends[i] - starts[i]):
                    again.append((i, result))
                else:
                    yield i, result, tries[i]
        delay = next(delays, None) if again else None
        if delay is None:
            for i, result in again:
                yield i, result, tries[i]
            return
        _log_retry(fs_spec, paths[again[0][0]], again[0][1], len(again), len(paths), delay)
        time.sleep(delay)
        todo = [i for i, _ in again]


def _log_retry(fs_spec, path, bad, n_bad: int, n: int, delay: float) -> None:
    logger.info(
        "%s: %d of %d byte ranges failed (%s); retrying in %.2f s",
        remote_url(fs_spec, path),
        n_bad,
        n,
        type(bad).__name__ if isinstance(bad, BaseException) else "short read",
        delay,
    )


def remote_url(fs_spec: FileSystemSpec, path: str) -> str:
    """The URL of ``path`` for messages (credentials masked; local paths as they are)."""
    if fs_spec.is_local:
        return path
    return mask_url(path if "://" in path else f"{fs_spec.protocol}://{path}")


def _client(fs_spec: FileSystemSpec, batch_size: int | None):
    if obstore_io.usable(fs_spec):
        return _Obstore(fs_spec)
    return _Fsspec(fs_spec, batch_size)


class _Obstore:
    """obstore: every range submitted at once, results as they arrive. obstore retries
    failures itself, but takes a short body for an answer: only those are asked again."""

    def __init__(self, fs_spec: FileSystemSpec):
        self.fs_spec = fs_spec
        self.attempts = max(1, int(filesystem.REMOTE_ATTEMPTS))

    def fetch(self, paths, starts, ends, while_waiting=None) -> Iterator[tuple[int, object]]:
        futures = obstore_io.submit_ranges(self.fs_spec, paths, starts, ends)
        if while_waiting is not None:
            while_waiting()
        index = {f: i for i, f in enumerate(futures)}
        try:
            for f in as_completed(futures):
                yield index[f], f.exception() or f.result()
        finally:  # a caller that stops early: nothing more is fetched for it
            for f in futures:
                f.cancel()

    @staticmethod
    def asks_again(result, want: int) -> bool:
        return not isinstance(result, BaseException) and worth_asking_again(result, want)


class _Fsspec:
    """fsspec's ``cat_ranges`` (``on_error="return"``): a round's results at its end."""

    def __init__(self, fs_spec: FileSystemSpec, batch_size: int | None):
        self.fs = fs_spec.filesystem()
        self.attempts = retry_attempts(fs_spec)
        use = batch_size is not None and getattr(self.fs, "async_impl", False)
        self.extra = {"batch_size": int(batch_size)} if use else {}

    def fetch(self, paths, starts, ends, while_waiting=None) -> Iterator[tuple[int, object]]:
        """(``while_waiting`` is not called: ``cat_ranges`` blocks until every range is in.)"""
        got = self.fs.cat_ranges(paths, starts, ends, on_error="return", **self.extra)
        yield from enumerate(got)

    asks_again = staticmethod(worth_asking_again)
