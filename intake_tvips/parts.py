"""Locating the parts of a TVIPS recording through fsspec.

``NAME.tvips`` and ``NAME_000.tvips`` both name the recording whose parts are
``NAME_000.tvips, NAME_001.tvips, ...``. Parts after ``_000`` are found by asking
the filesystem for the size of each next name until one is missing, which works on
filesystems that cannot list (HTTP).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import fsspec
from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem

from .errors import TVIPSFormatError

_PART_RE = re.compile(r"^(?P<base>.*)_(?P<num>\d{3})(?P<ext>\.[^./]*)$")


@dataclass(frozen=True)
class FileSystemSpec:
    """How to re-create a filesystem anywhere: its protocol and storage options.

    This is what dask tasks carry instead of an open filesystem or file handle.
    """

    protocol: str
    storage_options: dict

    @classmethod
    def from_fs(cls, fs: fsspec.AbstractFileSystem) -> FileSystemSpec:
        return cls(_protocol(fs), dict(fs.storage_options))

    def filesystem(self) -> fsspec.AbstractFileSystem:
        """The filesystem (fsspec caches instances, so this is cheap after the first call)."""
        return fsspec.filesystem(self.protocol, **self.storage_options)

    @property
    def is_local(self) -> bool:
        return self.protocol in ("file", "local")

    def __repr__(self) -> str:
        # never show option values: they may hold credentials
        return f"FileSystemSpec({self.protocol!r}, options={sorted(self.storage_options)})"

    def __dask_tokenize__(self):
        return (self.protocol, repr(sorted(self.storage_options.items())))


@dataclass(frozen=True)
class PartSet:
    """The parts of one recording, in order, with their sizes in bytes."""

    fs_spec: FileSystemSpec
    paths: tuple[str, ...]
    sizes: tuple[int, ...]

    @property
    def first(self) -> str:
        return self.paths[0]

    def url(self, i: int) -> str:
        """A user-facing URL for part ``i`` (used in messages)."""
        if self.fs_spec.is_local:
            return self.paths[i]
        return self.fs_spec.filesystem().unstrip_protocol(self.paths[i])


def split_part_name(path: str) -> tuple[str, str]:
    """``(base, ext)`` such that part ``i`` is ``f"{base}_{i:03d}{ext}"``.

    A name without the ``_NNN`` suffix means part 000. A suffix other than 000 is
    refused: a recording is opened at its first part.
    """
    m = _PART_RE.match(path)
    if m:
        if m["num"] != "000":
            raise TVIPSFormatError(
                path,
                f"names part {m['num']} of a recording; open it at its first part "
                f"({m['base']}_000{m['ext']})",
            )
        return m["base"], m["ext"]
    stem, ext = os.path.splitext(path) if "." in path.rsplit("/", 1)[-1] else (path, ".tvips")
    return stem, ext


def part_path(base: str, ext: str, i: int) -> str:
    return f"{base}_{i:03d}{ext}"


def _size_or_none(fs: fsspec.AbstractFileSystem, path: str) -> int | None:
    try:
        info = fs.info(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    if info.get("type") == "directory":
        return None
    size = info.get("size")
    if size is None:  # e.g. an HTTP server that sends no Content-Length
        raise OSError(f"{path}: the filesystem does not report the size of this part")
    return int(size)


def resolve(urlpath, storage_options: dict | None = None) -> tuple[fsspec.AbstractFileSystem, str]:
    """The filesystem and in-filesystem path of a URL or local path (``pathlib`` too)."""
    fs, path = url_to_fs(os.fspath(urlpath), **(storage_options or {}))
    return fs, path


def discover_parts(urlpath, storage_options: dict | None = None) -> PartSet:
    """Find every part of the recording ``urlpath`` names, and their sizes.

    Raises ``FileNotFoundError`` naming ``_000`` when the first part does not exist.
    """
    fs, path = resolve(urlpath, storage_options)
    base, ext = split_part_name(path)
    first = part_path(base, ext, 0)
    size0 = _size_or_none(fs, first)
    if size0 is None:
        shown = first if isinstance(fs, LocalFileSystem) else fs.unstrip_protocol(first)
        raise FileNotFoundError(f"TVIPS recording not found: {shown} does not exist")
    paths, sizes = [first], [size0]
    while True:
        nxt = part_path(base, ext, len(paths))
        size = _size_or_none(fs, nxt)
        if size is None:
            break
        paths.append(nxt)
        sizes.append(size)
    _refuse_gap(fs, base, ext, len(paths))
    return PartSet(FileSystemSpec.from_fs(fs), tuple(paths), tuple(sizes))


def _refuse_gap(fs: fsspec.AbstractFileSystem, base: str, ext: str, n: int) -> None:
    """Raise if a part after the first missing one exists (a half-copied folder).

    Filesystems that list (local, S3, memory, ...) are asked for every ``base_NNN`` name
    with one listing; HTTP cannot list, so there the next two names are probed.
    """
    missing = part_path(base, ext, n)
    shown = missing if isinstance(fs, LocalFileSystem) else fs.unstrip_protocol(missing)
    later: list[str] = []
    if _protocol(fs) in ("http", "https"):
        later = [p for p in (part_path(base, ext, n + k) for k in (1, 2)) if _size_or_none(fs, p)]
    else:
        pattern = re.compile(re.escape(base) + r"_(\d{3})" + re.escape(ext) + "$")
        try:
            names = fs.glob(f"{_glob_escape(base)}_[0-9][0-9][0-9]{_glob_escape(ext)}")
        except (OSError, NotImplementedError):  # pragma: no cover - cannot list: skip
            return
        for name in names:
            m = pattern.match(fs._strip_protocol(name))
            if m and int(m[1]) > n:
                later.append(name)
    if later:
        raise TVIPSFormatError(
            shown,
            f"is missing, but later parts exist ({', '.join(sorted(later)[:3])}): the "
            "recording is incomplete (a half-copied folder?)",
        )


def _glob_escape(s: str) -> str:
    return re.sub(r"([*?\[\]])", r"[\1]", s)


def _protocol(fs: fsspec.AbstractFileSystem) -> str:
    return fs.protocol[0] if isinstance(fs.protocol, (tuple, list)) else fs.protocol
