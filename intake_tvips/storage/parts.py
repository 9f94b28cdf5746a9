"""Locating the parts of a TVIPS recording through fsspec: one naming rule, written once.

Part ``i`` of a recording is ``f"{base}_{i:03d}{ext}"`` (:class:`PartName`): exactly three
ASCII digits after the last ``_`` of the name, then the extension, which may be empty or
hold several dots (``NAME_000.bin.tvips``). Nothing else next to the parts is one of them:
a writer's temporary file (``NAME_003.tvips.<hex>.tmp``), other digit counts
(``NAME_0001.tvips``, ``NAME_-01.tvips``, non-ASCII digits), other extensions, a folder
not named like a part.

What a name given by a user means (:func:`discover_parts`):

* ``NAME_000.tvips`` (any extension, or none): that recording. ``NAME_001.tvips`` is
  refused (open a recording at its first part).
* ``NAME_000`` (no extension): the parts ``NAME_000, NAME_001, ...`` where ``NAME_000``
  exists (RosettaSciIO's writer, given ``NAME``, writes those), else ``NAME_000.tvips, ...``.
* ``NAME.tvips``: an existing file of that name is read itself, as the only part; else it
  means ``NAME_000.tvips``. ``NAME`` (no extension) means ``NAME_000.tvips``, else
  ``NAME_000``. ``NAME.bin.tvips`` means ``NAME.bin_000.tvips`` (as RosettaSciIO's
  writer names the parts of ``NAME.bin.tvips``).

Parts are found by one listing where the filesystem lists, else by asking for the size of
each next name until one is missing (HTTP). They must be numbered from ``_000`` without a
gap: ``_000, _002`` without ``_001`` is an error naming ``_001`` (RosettaSciIO silently
stops at the gap: a half-copied folder would read as a shorter recording). Every part must
be a regular file: a directory, a FIFO or device, or a broken symbolic link in the place
of a part is refused, naming it.
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

#: the extension a name given without one stands for
DEFAULT_EXT = ".tvips"
#: ``BASE_NNN EXT``: three ASCII digits after the last ``_`` followed by an extension (empty,
#: or from a dot on, without ``/``); DOTALL: a folder or file name may hold a newline
_PART_RE = re.compile(r"^(?P<base>.*)_(?P<num>[0-9]{3})(?P<ext>(?:\.[^/]*)?)\Z", re.DOTALL)
#: what follows a part's name in a writer's temporary file: ``.<12 hex digits>.tmp``
_TEMPORARY_RE = re.compile(r"\.[0-9a-f]{12}\.tmp\Z")


@dataclass(frozen=True)
class PartName:
    """How the parts of one recording are named: part ``i`` is ``f"{base}_{i:03d}{ext}"``."""

    base: str
    ext: str

    def path(self, i: int) -> str:
        """The name of part ``i``."""
        return f"{self.base}_{i:03d}{self.ext}"

    def number(self, path: str) -> int | None:
        """The part number ``path`` names in this recording, or ``None`` if it names none."""
        head, tail = len(self.base), len(self.base) + 4
        if (
            len(path) != tail + len(self.ext)
            or not path.startswith(self.base)
            or not path.endswith(self.ext)
            or path[head] != "_"
            or not _is_ascii_digits(path[head + 1 : tail])
        ):
            return None
        return int(path[head + 1 : tail])

    def glob(self) -> str:
        """A glob pattern matching every part (and a few names :meth:`number` refuses)."""
        return f"{_glob_escape(self.base)}_[0-9][0-9][0-9]{_glob_escape(self.ext)}"

    def temporary(self, i: int, token: str) -> str:
        """The name a writer gives part ``i`` until it is complete (``token``: 12 hex)."""
        return f"{self.path(i)}.{token}.tmp"

    def is_temporary(self, path: str) -> bool:
        """Whether ``path`` is a writer's temporary file for a part of this recording."""
        m = _TEMPORARY_RE.search(path)
        return m is not None and self.number(path[: m.start()]) is not None


def _is_ascii_digits(s: str) -> bool:
    return len(s) == 3 and all("0" <= c <= "9" for c in s)


def parse_name(path: str) -> tuple[PartName, int | None]:
    """The naming a path implies, and the part number it names (``None``: no ``_NNN``).

    A name without ``_NNN`` is the stem of its recording: ``NAME.tvips`` ->
    ``NAME_NNN.tvips``; a name without an extension gets :data:`DEFAULT_EXT`.
    """
    m = _PART_RE.match(path)
    if m:
        return PartName(m["base"], m["ext"]), int(m["num"])
    if "." in path.rsplit("/", 1)[-1]:
        return PartName(*os.path.splitext(path)), None
    return PartName(path, DEFAULT_EXT), None


def _refuse_later_part(path: str, name: PartName, num: int | None) -> None:
    if num not in (None, 0):
        raise TVIPSFormatError(
            path,
            f"names part {num:03d} of a recording; open it at its first part ({name.path(0)})",
        )


def split_part_name(path: str) -> tuple[str, str]:
    """``(base, ext)`` of the recording a writer is given: ``NAME.tvips``, ``NAME_000.tvips``
    (part ``i`` is ``f"{base}_{i:03d}{ext}"``); a name without an extension gets
    :data:`DEFAULT_EXT`. A suffix other than 000 is refused."""
    name, num = parse_name(path)
    _refuse_later_part(path, name, num)
    return name.base, name.ext or DEFAULT_EXT


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
    name, num = parse_name(path)
    size = None if num is not None else _named_file_size(fs, path)
    if size is not None:  # an existing file given by a name without _NNN: the only part
        return PartSet(FileSystemSpec.from_fs(fs), (path,), (size,))
    _refuse_later_part(path, name, num)
    name, found = _naming(fs, path, name, num)
    n = 0
    while found.get(n, BROKEN_LINK) != BROKEN_LINK:
        n += 1
    _check_complete(fs, name, found, n, path)
    paths = tuple(name.path(k) for k in range(n))
    return PartSet(FileSystemSpec.from_fs(fs), paths, tuple(found[k] for k in range(n)))


def _naming(fs, path: str, name: PartName, num: int | None) -> tuple[PartName, dict]:
    """The naming a user's name means, and its parts found (see the module's docstring).

    ``NAME_000`` is itself where it is a file, else ``NAME_000.tvips``. A name without
    ``_NNN`` whose parts are not found may name them otherwise (``NAME`` for
    ``NAME_000``, ``NAME.bin.tvips`` for ``NAME_000.bin.tvips``): that naming is taken
    where its ``_000`` is a file.
    """
    if num == 0 and not name.ext and _named_file_size(fs, path) is None:
        name = PartName(name.base, DEFAULT_EXT)
    found = existing_parts(fs, name)
    if 0 in found or num is not None:
        return name, found
    other = _other_naming(path)
    if other is not None and _named_file_size(fs, other.path(0)) is not None:
        return other, existing_parts(fs, other)
    return name, found


def _other_naming(path: str) -> PartName | None:
    """The second reading of a name without ``_NNN``: ``NAME`` -> ``NAME_000``,
    ``NAME.bin.tvips`` -> ``NAME_000.bin.tvips``; ``None`` for ``NAME.tvips``."""
    leaf = path.rsplit("/", 1)[-1]
    stem, dot, ext = leaf.partition(".")
    if dot and "." not in ext or not stem:
        return None
    return PartName(path[: len(path) - len(leaf)] + stem, dot + ext)


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


def existing_parts(fs: fsspec.AbstractFileSystem, name: PartName) -> dict[int, int]:
    """``{part number: size}`` of every part of ``name`` there is (``BROKEN_LINK`` for
    broken local links): one listing, or probing where the filesystem cannot list."""
    found = None if _cannot_list(fs) else _listed_parts(fs, name)
    return _probed_parts(fs, name) if found is None else found


def _check_complete(fs, name: PartName, found: dict[int, int], n: int, given: str) -> None:
    """Refuse a recording without ``_000``, with a gap, or with a broken link at its end."""
    missing = _shown(fs, name.path(n))
    if 0 not in found:
        raise FileNotFoundError(
            f"TVIPS recording not found: {missing} does not exist{_folder_hint(fs, given)}"
        )
    broken = found.get(n) == BROKEN_LINK
    link = " (a broken symbolic link: dangling or looping)" if broken else ""
    later = sorted(k for k in found if k > n)
    if later:
        shown = ", ".join(_shown(fs, name.path(k)) for k in later[:3])
        raise TVIPSFormatError(
            missing,
            f"is missing{link}, but later parts exist ({shown}): the recording is "
            "incomplete (a half-copied folder?)",
        )
    if broken:
        raise TVIPSFormatError(missing, "is a broken symbolic link (dangling or looping)")


def _folder_hint(fs, given: str) -> str:
    """A hint when the name given is a folder (``x.tvips/``) rather than a part."""
    try:
        folder = fs.isdir(given)
    except Exception:  # pragma: no cover - a filesystem that cannot tell: no hint
        folder = False
    if not folder:
        return ""
    return f" ({_shown(fs, given)} is a folder: give the first part of a recording in it)"


def _shown(fs: fsspec.AbstractFileSystem, path: str) -> str:
    return path if isinstance(fs, LocalFileSystem) else fs.unstrip_protocol(path)


def _cannot_list(fs: fsspec.AbstractFileSystem) -> bool:
    return protocol_of(fs) in ("http", "https")


def _listed_parts(fs, name: PartName) -> dict[int, int] | None:
    """``{part number: size}`` from one listing; ``None`` if the filesystem cannot list."""
    try:
        listing = fs.glob(name.glob(), detail=True)
    except NotImplementedError:  # pragma: no cover - a filesystem that cannot list
        return None
    found = {}
    local = isinstance(fs, LocalFileSystem)
    for listed, info in listing.items():
        path = fs._strip_protocol(listed)
        k = name.number(path)
        if k is None:
            continue
        if local and info.get("type") != "file":  # links, directories, FIFOs: look closer
            size = _local_size(path)
        elif info.get("size") is None and info.get("type") != "directory":
            return None  # pragma: no cover - a listing without sizes: ask each part
        else:
            size = _size_from_info(info, path, _shown(fs, path))
        if size is None:  # pragma: no cover - vanished since the listing
            continue
        found[k] = size
    return found


#: HTTP: names probed at once (the parts, then two more to notice a gap)
PROBE_BATCH = 8


def _probed_parts(fs, name: PartName) -> dict[int, int]:
    """``{part number: size}`` by asking for each next name, a batch at a time.

    Probing goes on past the first missing name for two more, so a single missing part
    in the middle is an error rather than the silent end of the recording.
    """
    found: dict[int, int] = {}
    k = 0
    while True:
        names = [name.path(i) for i in range(k, k + PROBE_BATCH)]
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
