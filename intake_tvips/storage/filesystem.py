"""The filesystem edge: how any fsspec URL becomes a filesystem, here or on a worker.

* :class:`FileSystemSpec`: a filesystem as protocol + storage options, the picklable
  recipe dask tasks carry instead of an open client; async filesystems (S3, HTTP, ...)
  are shared by the threads of a process.
* :func:`resolve`: a URL or path to ``(filesystem, path)``.
* Retry policy for remote reads: how many attempts, and the pauses between them.

Everything above (part discovery, byte-range reads) imports from here; this module
imports nothing of the package but the errors.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import fsspec
import fsspec.config
from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem
from fsspec.utils import get_protocol

#: remote reads: attempts per range on transient errors (1: never retry)
REMOTE_ATTEMPTS = 3
#: remote reads: pause before the first retry, doubled before each next one
REMOTE_BACKOFF_SECONDS = 0.2
#: remote reads: no retry starts later than this after the first attempt
REMOTE_RETRY_BUDGET_SECONDS = 10.0
#: protocols whose client library retries transient errors itself
SELF_RETRYING_PROTOCOLS = frozenset({"s3", "s3a", "gs", "gcs", "abfs", "abfss", "az", "adl"})

#: S3 protocols: s3fs filesystems get a connection pool of at least this many connections
S3_PROTOCOLS = frozenset({"s3", "s3a"})
#: connections in the pool of an S3 filesystem we create, unless the options say otherwise
#: (botocore's default of 10 caps the ranged reads in flight)
S3_POOL_CONNECTIONS = 64

#: async filesystems shared by the threads of a process, by (pid, protocol + options)
_SHARED_FILESYSTEMS: dict = {}


@dataclass(frozen=True)
class FileSystemSpec:
    """How to re-create a filesystem anywhere: its protocol and storage options.

    This is what dask tasks carry instead of an open filesystem or file handle.
    """

    protocol: str
    storage_options: dict

    @classmethod
    def from_fs(cls, fs: fsspec.AbstractFileSystem) -> FileSystemSpec:
        spec = cls(protocol_of(fs), dict(fs.storage_options))
        if getattr(fs, "async_impl", False):  # reuse this instance in this process
            _SHARED_FILESYSTEMS.setdefault((os.getpid(), spec.__dask_tokenize__()), fs)
        return spec

    def filesystem(self) -> fsspec.AbstractFileSystem:
        """The filesystem, created once per process for async ones (S3, HTTP, ...).

        fsspec caches instances per thread, so every dask worker thread would set up its
        own S3 client (a few hundred ms each). Async filesystems run their requests on
        fsspec's own event loop and are safe to share between threads, so we keep one
        per process; others keep fsspec's per-thread instances.
        """
        key = (os.getpid(), self.__dask_tokenize__())
        fs = _SHARED_FILESYSTEMS.get(key)
        if fs is None:
            fs = fsspec.filesystem(self.protocol, **with_pool(self.protocol, self.storage_options))
            if getattr(fs, "async_impl", False):
                fs = _SHARED_FILESYSTEMS.setdefault(key, fs)
        return fs

    @property
    def is_local(self) -> bool:
        return self.protocol in ("file", "local")

    def __repr__(self) -> str:
        # never show option values: they may hold credentials
        return f"FileSystemSpec({self.protocol!r}, options={sorted(self.storage_options)})"

    def __dask_tokenize__(self):
        return (self.protocol, repr(sorted(self.storage_options.items())))


def resolve(urlpath, storage_options: dict | None = None) -> tuple[fsspec.AbstractFileSystem, str]:
    """The filesystem and in-filesystem path of a URL or local path (``pathlib`` too).

    A ``pathlib.Path``, or a string without ``://``, is a local path whatever characters
    it holds (fsspec would read ``::`` in ``/data/a::b/x.tvips`` as URL chaining).
    """
    text = os.fspath(urlpath)
    if not isinstance(urlpath, str) or "://" not in text:
        fs = fsspec.filesystem("file", **(storage_options or {}))
        return fs, fs._strip_protocol(os.path.normpath(text))
    options = with_pool(get_protocol(text), storage_options or {})
    fs, path = url_to_fs(text, **options)
    if isinstance(fs, LocalFileSystem):
        # "dir//scan_000.tvips" (Intake's CATALOG_DIR ends in "/"), "dir/./scan": one name
        path = fs._strip_protocol(os.path.normpath(path))
    return fs, path


def with_pool(protocol: str, storage_options: dict) -> dict:
    """``storage_options`` for an S3 filesystem with a pool of ``S3_POOL_CONNECTIONS``
    connections unless ``config_kwargs`` sets ``max_pool_connections``; other protocols
    unchanged. (botocore's default pool of 10 caps the concurrent ranged reads.)
    ``config_kwargs`` not given here come from fsspec's configuration, as s3fs would
    take them (so ``fsspec.config.conf["s3"]`` defaults are not overridden)."""
    if protocol not in S3_PROTOCOLS:
        return storage_options
    config = storage_options.get("config_kwargs")
    if config is None:
        config = fsspec.config.conf.get(protocol, {}).get("config_kwargs") or {}
    if "max_pool_connections" in config:
        return storage_options
    config = dict(config, max_pool_connections=S3_POOL_CONNECTIONS)
    return dict(storage_options, config_kwargs=config)


def retry_attempts(fs_spec: FileSystemSpec) -> int:
    """How many times a remote range is asked for (our retries, not the client's)."""
    if fs_spec.is_local or fs_spec.protocol in SELF_RETRYING_PROTOCOLS:
        return 1
    return max(1, int(REMOTE_ATTEMPTS))


def backoff_delays(attempts: int):
    """The pauses before each retry, cut short by ``REMOTE_RETRY_BUDGET_SECONDS``."""
    delay, spent = REMOTE_BACKOFF_SECONDS, 0.0
    for _ in range(attempts - 1):
        if spent + delay > REMOTE_RETRY_BUDGET_SECONDS:
            return
        yield delay
        spent += delay
        delay *= 2


def protocol_of(fs: fsspec.AbstractFileSystem) -> str:
    return fs.protocol[0] if isinstance(fs.protocol, (tuple, list)) else fs.protocol


def store_exists(url: str, storage_options: dict | None = None) -> bool:
    """Whether anything (a file, an object, a folder or a prefix) is at ``url`` already:
    what a writer asks before it would replace it."""
    fs, path = url_to_fs(url, **(storage_options or {}))
    return bool(fs.exists(path))
