"""Locating the parts of a TVIPS recording through fsspec.

``NAME.tvips`` and ``NAME_000.tvips`` both name the recording whose parts are
``NAME_000.tvips, NAME_001.tvips, ...``. Parts after ``_000`` are found by asking
the filesystem for the size of each next name until one is missing, which works on
filesystems that cannot list (HTTP).
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass

import fsspec
from fsspec.asyn import sync
from fsspec.implementations.local import LocalFileSystem

from intake_tvips.errors import TVIPSFormatError, is_transient
from intake_tvips.storage.filesystem import (
    FileSystemSpec,
    backoff_delays,
    protocol_of,
    resolve,
    retry_attempts,
)

_PART_RE = re.compile(r"^(?P<base>.*)_(?P<num>\d{3})(?P<ext>\.[^./]*)$")


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
        return _size_from_info(fs.info(path), path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def discover_parts(urlpath, storage_options: dict | None = None) -> PartSet:
    """Find every part of the recording ``urlpath`` names, and their sizes.

    Filesystems that can list (local, S3, GCS, memory, ...) are asked once for every
    ``NAME_NNN`` name; HTTP, which cannot list, is probed for the next names, several at
    a time. Raises ``FileNotFoundError`` naming ``_000`` when the first part does not
    exist, and :class:`TVIPSFormatError` when a part is missing before a later one.
    """
    fs, path = resolve(urlpath, storage_options)
    base, ext = split_part_name(path)
    first = part_path(base, ext, 0)
    found = None if _cannot_list(fs) else _listed_parts(fs, base, ext)
    if found is None:
        found = _probed_parts(fs, base, ext)
    if 0 not in found:
        raise FileNotFoundError(f"TVIPS recording not found: {_shown(fs, first)} does not exist")
    n = 0
    while n in found:
        n += 1
    later = sorted(k for k in found if k > n)
    if later:
        shown = ", ".join(_shown(fs, part_path(base, ext, k)) for k in later[:3])
        raise TVIPSFormatError(
            _shown(fs, part_path(base, ext, n)),
            f"is missing, but later parts exist ({shown}): the recording is incomplete "
            "(a half-copied folder?)",
        )
    paths = tuple(part_path(base, ext, k) for k in range(n))
    return PartSet(FileSystemSpec.from_fs(fs), paths, tuple(found[k] for k in range(n)))


def _shown(fs: fsspec.AbstractFileSystem, path: str) -> str:
    return path if isinstance(fs, LocalFileSystem) else fs.unstrip_protocol(path)


def _cannot_list(fs: fsspec.AbstractFileSystem) -> bool:
    return protocol_of(fs) in ("http", "https")


def _listed_parts(fs, base: str, ext: str) -> dict[int, int] | None:
    """``{part number: size}`` from one listing; ``None`` if the filesystem cannot list."""
    pattern = re.compile(re.escape(base) + r"_(\d{3})" + re.escape(ext) + "$")
    try:
        listing = fs.glob(f"{_glob_escape(base)}_[0-9][0-9][0-9]{_glob_escape(ext)}", detail=True)
    except NotImplementedError:  # pragma: no cover - a filesystem that cannot list
        return None
    found = {}
    for name, info in listing.items():
        m = pattern.match(fs._strip_protocol(name))
        if m and info.get("type", "file") != "directory":
            size = info.get("size")
            if size is None:  # pragma: no cover - listings without sizes: ask each part
                return None
            found[int(m[1])] = int(size)
    return found


#: HTTP: names probed at once (the parts, then two more to notice a gap)
PROBE_BATCH = 8


def _probed_parts(fs, base: str, ext: str) -> dict[int, int]:
    """``{part number: size}`` by asking for each next name, a batch at a time.

    Probing goes on past the first missing name for two more, so a single missing part
    in the middle is an error rather than the silent end of the recording.
    """
    found: dict[int, int] = {}
    k = 0
    while True:
        names = [part_path(base, ext, i) for i in range(k, k + PROBE_BATCH)]
        for i, size in enumerate(_sizes(fs, names)):
            if size is not None:
                found[k + i] = size
        first_missing = next((i for i in range(k, k + PROBE_BATCH) if i not in found), None)
        if first_missing is not None and first_missing + 2 < k + PROBE_BATCH:
            return found
        k += PROBE_BATCH


def _sizes(fs, paths: list[str]) -> list[int | None]:
    """The size of each path, or ``None`` where it does not exist (concurrently if async)."""
    if not getattr(fs, "async_impl", False):
        return [_size_or_none(fs, p) for p in paths]

    spec = FileSystemSpec.from_fs(fs)
    delays = list(backoff_delays(retry_attempts(spec)))

    async def one(p):
        # fsspec's HTTP reports *any* failure of its HEAD and GET as FileNotFoundError,
        # the real error as its cause: a 503 or a reset connection must not pass for a
        # missing part (that would silently end the recording early)
        for attempt in range(len(delays) + 1):
            try:
                return _size_from_info(await fs._info(p), p)
            except (FileNotFoundError, NotADirectoryError) as err:
                problem = err.__cause__
                if problem is None or not is_transient(problem):
                    return None  # 404, or 403 from stores that hide missing keys
            except Exception as err:
                if not is_transient(err):
                    raise
                problem = err
            if attempt == len(delays):
                raise OSError(
                    f"{fs.unstrip_protocol(p)}: could not tell whether this part exists "
                    f"(after {attempt + 1} attempt{'s' if attempt else ''}): {problem}"
                ) from problem
            await asyncio.sleep(delays[attempt])

    async def gather():
        return await asyncio.gather(*(one(p) for p in paths))

    return sync(fs.loop, gather)


def _size_from_info(info: dict, path: str) -> int | None:
    if info.get("type") == "directory":
        return None
    size = info.get("size")
    if size is None:  # e.g. an HTTP server that sends no Content-Length
        raise OSError(f"{path}: the filesystem does not report the size of this part")
    return int(size)


def _glob_escape(s: str) -> str:
    return re.sub(r"([*?\[\]])", r"[\1]", s)
