"""Locating the parts of a TVIPS recording through fsspec.

``NAME.tvips`` and ``NAME_000.tvips`` both name the recording whose parts are
``NAME_000.tvips, NAME_001.tvips, ...`` (an existing file ``NAME.tvips`` is read itself,
as the only part). Parts are found by one listing where the filesystem lists, else by
asking for the size of each next name until one is missing (HTTP). Every part must be
a regular file: a directory, a FIFO or device, or a broken symbolic link in the place of
a part is refused, naming it.
"""

from __future__ import annotations

import asyncio
import errno
import os
import re
import stat
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

# DOTALL: a folder or file name may hold a newline
_PART_RE = re.compile(r"^(?P<base>.*)_(?P<num>\d{3})(?P<ext>\.[^./]*)$", re.DOTALL)


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
    if isinstance(fs, LocalFileSystem):
        return _local_size(path)
    try:
        return _size_from_info(fs.info(path), path, _shown(fs, path))
    except (FileNotFoundError, NotADirectoryError):
        return None


#: the part is a broken symbolic link (dangling or looping): missing, and said so
BROKEN_LINK = -1


def _local_size(path: str) -> int | None:
    """Size of a local part (links followed); ``None`` if missing, ``BROKEN_LINK``.

    Raises :class:`TVIPSFormatError` naming the part if it is not a regular file.
    """
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return BROKEN_LINK if os.path.islink(path) else None
    except OSError as err:
        if err.errno == errno.ELOOP:
            return BROKEN_LINK
        raise OSError(err.errno, f"{path}: cannot read this part: {err.strerror}") from err
    if stat.S_ISREG(st.st_mode):
        return st.st_size
    what = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
    if not stat.S_ISDIR(st.st_mode):
        what += " (a FIFO, socket or device)"
    raise TVIPSFormatError(path, f"is {what}, not a TVIPS part")


def discover_parts(urlpath, storage_options: dict | None = None) -> PartSet:
    """Find every part of the recording ``urlpath`` names, and their sizes.

    Filesystems that can list (local, S3, GCS, memory, ...) are asked once for every
    ``NAME_NNN`` name; HTTP, which cannot list, is probed for the next names, several at
    a time. Raises ``FileNotFoundError`` naming ``_000`` when the first part does not
    exist, and :class:`TVIPSFormatError` when a part is missing before a later one.
    """
    fs, path = resolve(urlpath, storage_options)
    size = None if _PART_RE.match(path) else _named_file_size(fs, path)
    if size is not None:  # an existing file given by a name without _NNN: the only part
        return PartSet(FileSystemSpec.from_fs(fs), (path,), (size,))
    base, ext = split_part_name(path)
    found = existing_parts(fs, base, ext)
    n = 0
    while found.get(n, BROKEN_LINK) != BROKEN_LINK:
        n += 1
    _check_complete(fs, base, ext, found, n)
    paths = tuple(part_path(base, ext, k) for k in range(n))
    return PartSet(FileSystemSpec.from_fs(fs), paths, tuple(found[k] for k in range(n)))


def _named_file_size(fs: fsspec.AbstractFileSystem, path: str) -> int | None:
    """The size of ``path`` if it is an existing regular file, else ``None``."""
    if isinstance(fs, LocalFileSystem):
        return os.path.getsize(path) if os.path.isfile(path) else None
    try:
        info = fs.info(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    if info.get("type") == "directory" or info.get("size") is None:
        return None
    return int(info["size"])


def existing_parts(fs: fsspec.AbstractFileSystem, base: str, ext: str) -> dict[int, int]:
    """``{part number: size}`` of every ``base_NNN ext`` there is (``BROKEN_LINK`` for
    broken local links): one listing, or probing where the filesystem cannot list."""
    found = None if _cannot_list(fs) else _listed_parts(fs, base, ext)
    return _probed_parts(fs, base, ext) if found is None else found


def _check_complete(fs, base: str, ext: str, found: dict[int, int], n: int) -> None:
    """Refuse a recording without ``_000``, with a gap, or with a broken link at its end."""
    missing = _shown(fs, part_path(base, ext, n))
    if 0 not in found:
        raise FileNotFoundError(f"TVIPS recording not found: {missing} does not exist")
    broken = found.get(n) == BROKEN_LINK
    link = " (a broken symbolic link: dangling or looping)" if broken else ""
    later = sorted(k for k in found if k > n)
    if later:
        shown = ", ".join(_shown(fs, part_path(base, ext, k)) for k in later[:3])
        raise TVIPSFormatError(
            missing,
            f"is missing{link}, but later parts exist ({shown}): the recording is "
            "incomplete (a half-copied folder?)",
        )
    if broken:
        raise TVIPSFormatError(missing, "is a broken symbolic link (dangling or looping)")


def _shown(fs: fsspec.AbstractFileSystem, path: str) -> str:
    return path if isinstance(fs, LocalFileSystem) else fs.unstrip_protocol(path)


def _cannot_list(fs: fsspec.AbstractFileSystem) -> bool:
    return protocol_of(fs) in ("http", "https")


def _listed_parts(fs, base: str, ext: str) -> dict[int, int] | None:
    """``{part number: size}`` from one listing; ``None`` if the filesystem cannot list."""
    pattern = re.compile(re.escape(base) + r"_(\d{3})" + re.escape(ext) + r"\Z", re.DOTALL)
    try:
        listing = fs.glob(f"{_glob_escape(base)}_[0-9][0-9][0-9]{_glob_escape(ext)}", detail=True)
    except NotImplementedError:  # pragma: no cover - a filesystem that cannot list
        return None
    found = {}
    local = isinstance(fs, LocalFileSystem)
    for name, info in listing.items():
        path = fs._strip_protocol(name)
        m = pattern.match(path)
        if not m:
            continue
        if local and info.get("type") != "file":  # links, directories, FIFOs: look closer
            size = _local_size(path)
        elif info.get("size") is None and info.get("type") != "directory":
            return None  # pragma: no cover - a listing without sizes: ask each part
        else:
            size = _size_from_info(info, path, _shown(fs, path))
        if size is None:  # pragma: no cover - vanished since the listing
            continue
        found[int(m[1])] = size
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
                return _size_from_info(await fs._info(p), p, fs.unstrip_protocol(p))
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


def _size_from_info(info: dict, path: str, shown: str) -> int:
    if info.get("type") == "directory":
        raise TVIPSFormatError(shown, "is a directory, not a TVIPS part")
    size = info.get("size")
    if size is None:  # e.g. an HTTP server that sends no Content-Length
        raise OSError(f"{shown}: the filesystem does not report the size of this part")
    return int(size)


def _glob_escape(s: str) -> str:
    return re.sub(r"([*?\[\]])", r"[\1]", s)
