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
