import sys
from pathlib import Path

import fsspec
import pytest
from fsspec.implementations.memory import MemoryFileSystem

sys.path.insert(0, str(Path(__file__).parent))

DATA = Path(__file__).parent / "data"


class CountingMemoryFileSystem(MemoryFileSystem):
    """An in-memory filesystem that logs every byte range read from it."""

    protocol = "countmem"
    store: dict = {}  # its own store, not MemoryFileSystem's
    pseudo_dirs = [""]
    log: list = []

    @classmethod
    def _strip_protocol(cls, path):
        if isinstance(path, str) and path.startswith("countmem://"):
            path = "memory://" + path[len("countmem://") :]
        return super()._strip_protocol(path)

    def cat_file(self, path, start=None, end=None, **kwargs):
        data = super().cat_file(path, start=start, end=end, **kwargs)
        CountingMemoryFileSystem.log.append((self._strip_protocol(path), start, end, len(data)))
        return data

    def _open(self, path, mode="rb", **kwargs):
        if "r" in mode:
            CountingMemoryFileSystem.log.append((self._strip_protocol(path), "open", None, None))
        return super()._open(path, mode=mode, **kwargs)


fsspec.register_implementation("countmem", CountingMemoryFileSystem, clobber=True)


@pytest.fixture
def countmem():
    """A fresh counting in-memory filesystem; ``fs.log`` lists the reads made."""
    fs = CountingMemoryFileSystem()
    fs.store.clear()
    fs.pseudo_dirs.clear()
    fs.pseudo_dirs.append("")
    CountingMemoryFileSystem.log.clear()
    yield fs
    fs.store.clear()


@pytest.fixture
def memfs():
    fs = fsspec.filesystem("memory")
    yield fs
    for path in list(fs.store):
        if path.startswith("/tvips-test"):
            fs.store.pop(path, None)


@pytest.fixture
def rsciio_reader():
    pytest.importorskip("rsciio")
    from rsciio.tvips import file_reader

    return file_reader


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server on 127.0.0.1 for the whole session."""
    from servers import S3Server

    server = S3Server()
    yield server
    server.stop()


@pytest.fixture
def s3(s3_server):
    """An empty bucket ``tvips`` on the S3 server; ``s3.log`` counts the requests."""
    import s3fs
    from servers import create_bucket

    s3_server.reset()
    create_bucket(s3_server, "tvips")
    s3fs.S3FileSystem(**s3_server.storage_options).invalidate_cache()
    s3_server.log.clear()
    yield s3_server


@pytest.fixture(scope="session")
def http_server(tmp_path_factory):
    """An HTTP server with Range support on 127.0.0.1, serving ``http_server.root``."""
    from servers import HTTPServer

    server = HTTPServer(tmp_path_factory.mktemp("www"))
    yield server
    server.stop()


@pytest.fixture
def http(http_server):
    """The HTTP server with a cleared request log and fsspec's HTTP caches dropped."""
    import fsspec

    fsspec.filesystem("http").invalidate_cache()
    http_server.log.clear()
    yield http_server
