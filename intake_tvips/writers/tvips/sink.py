"""The part sink: records streamed into ``NAME_000, NAME_001, ...``, all or nothing.

How a write replaces a recording so that no reader ever sees old and new parts mixed,
even when the writer is killed (``kill -9``) at any point:

* Local: every part is written under a temporary name in the target directory; at the
  end the old ``_000`` is removed, then every higher-numbered part of that name beyond
  the new ones (found by listing) and temporary parts left by killed writers, then the
  new parts are renamed into place (``os.replace``, atomic), ``_000`` last.
* Elsewhere (S3, memory, ...): the old ``_000`` and the stale higher parts are removed
  first, the new parts ``_001 ...`` written in place, ``_000`` under a temporary name
  and moved into place last.

Until ``_000`` is back, a reader finds no recording (a clear error). fsspec transactions
are not used: the local one writes to the system temporary directory and moves across
filesystems (a copy, not atomic); remote ones commit part after part, so a kill during
the commit could leave a new ``_000`` beside old later parts.
"""

from __future__ import annotations

import os
import uuid
import warnings

import numpy as np
from fsspec.spec import AbstractBufferedFile

from intake_tvips.format.layout import SERIES_HEADER_SIZE
from intake_tvips.storage.parts import (
    FileSystemSpec,
    PartName,
    existing_parts,
    split_part_name,
)


def part_record_counts(n_frames: int, record_bytes: int, max_file_size: int | None) -> list[int]:
    """How many records each part holds: as many as fit in ``max_file_size``.

    ``_000`` also holds the series header. Raises ``ValueError`` if ``max_file_size``
    cannot hold the series header and one record. Zero frames: one part, header only.
    """
    if max_file_size is None:
        return [n_frames]
    smallest = SERIES_HEADER_SIZE + record_bytes
    if max_file_size < smallest:
        raise ValueError(
            f"max_file_size={max_file_size} bytes is too small: a part must hold at least the "
            f"{SERIES_HEADER_SIZE}-byte series header and one {record_bytes}-byte record "
            f"({smallest} bytes)"
        )
    counts = [min(n_frames, (max_file_size - SERIES_HEADER_SIZE) // record_bytes)]
    per_part = max_file_size // record_bytes
    left = n_frames - counts[0]
    while left > 0:
        counts.append(min(per_part, left))
        left -= counts[-1]
    return counts


def usable_max_file_size(max_file_size: int | None, record_bytes: int) -> int | None:
    """``max_file_size``, or the smallest that works (with a warning) if it is smaller."""
    smallest = SERIES_HEADER_SIZE + record_bytes
    if max_file_size is None or max_file_size >= smallest:
        return max_file_size
    warnings.warn(
        f"max_file_size={max_file_size} bytes cannot hold the {SERIES_HEADER_SIZE}-byte "
        f"series header and one {record_bytes}-byte record: using {smallest} bytes, one "
        "record per part",
        UserWarning,
        stacklevel=3,
    )
    return smallest


def base_and_ext(path: str) -> tuple[str, str]:
    """``(base, ext)`` of the recording a writer is given (``NAME`` or ``NAME_000``)."""
    try:
        return split_part_name(path)
    except ValueError as err:
        raise ValueError(
            f"{path}: a recording is written from its first part: give NAME.tvips or NAME_000.tvips"
        ) from err


def shown(fs, path: str) -> str:
    """``path`` as a user sees it (a URL when not local)."""
    return path if FileSystemSpec.from_fs(fs).is_local else fs.unstrip_protocol(path)


def is_file(fs, path: str) -> bool:
    try:
        return fs.info(path).get("type") != "directory"
    except (FileNotFoundError, NotADirectoryError):
        return False


def remove_stale_parts(fs, name: PartName, first: int) -> None:
    """Remove every part ``k >= first`` of ``name``, gaps or not (one listing where the
    filesystem lists): a part left beyond a gap would make the recording unreadable."""
    for k in sorted(existing_parts(fs, name)):
        if k >= first:
            fs.rm_file(name.path(k))


def _remove_quietly(fs, path: str) -> None:
    try:
        if is_file(fs, path):
            fs.rm_file(path)
    except Exception:
        pass


class PartSink:
    """Streams records into consecutive parts; :meth:`commit` or :meth:`abort` ends it."""

    def __init__(self, fs, filename: str, counts: list[int], series_header: bytes, rb: int):
        self.fs, self.counts, self.series_header, self.record_bytes = fs, counts, series_header, rb
        self.name = PartName(*base_and_ext(filename))
        self.targets = [self.name.path(k) for k in range(len(counts))]
        self.local = FileSystemSpec.from_fs(fs).is_local
        token = uuid.uuid4().hex[:12]
        temporary = [self.name.temporary(k, token) for k in range(len(counts))]
        # local: every part under a temporary name; elsewhere only _000 (moved last)
        self.paths = temporary if self.local else temporary[:1] + self.targets[1:]
        self.opened: list[str] = []
        self._file = None
        self._left = 0

    def begin(self, overwrite: bool) -> None:
        """Check ``overwrite``; elsewhere than local, remove the old recording's parts."""
        if not overwrite and is_file(self.fs, self.targets[0]):
            raise FileExistsError(f"{shown(self.fs, self.targets[0])} exists (overwrite=False)")
        if not self.local:
            self._remove_old()

    def _remove_old(self) -> None:
        if is_file(self.fs, self.targets[0]):
            self.fs.rm_file(self.targets[0])
        remove_stale_parts(self.fs, self.name, len(self.targets))
        if self.local:
            self._remove_leftovers()

    def _remove_leftovers(self) -> None:
        """Temporary parts of this recording left by killed writers (not ours)."""
        ours = set(self.paths)
        folder = os.path.dirname(self.name.base) or "."
        for leaf in os.listdir(folder):
            path = os.path.join(folder, leaf)
            if path not in ours and self.name.is_temporary(path):
                _remove_quietly(self.fs, path)

    def _next_part(self) -> None:
        self._close_file()
        k = len(self.opened)
        self.opened.append(self.paths[k])
        self._file = self.fs.open(self.paths[k], "wb")
        if k == 0:
            self._file.write(self.series_header)
        self._left = self.counts[k]

    def _close_file(self) -> None:
        if self._file is not None:
            f, self._file = self._file, None
            f.close()

    def write(self, records: np.ndarray) -> None:
        """Append ``records``, starting the next part whenever one is full."""
        buf = records.view(np.uint8)
        n, rb, pos = len(records), self.record_bytes, 0
        while pos < n:
            if self._left == 0:
                self._next_part()
            take = min(self._left, n - pos)
            self._file.write(memoryview(buf[pos * rb : (pos + take) * rb]))
            pos += take
            self._left -= take

    def commit(self) -> None:
        """Finish the last part and put the new recording in place, ``_000`` last."""
        if not self.opened:  # the header-only _000 of an empty signal
            self._next_part()
        self._close_file()
        if len(self.opened) != len(self.targets) or self._left:
            raise RuntimeError(
                f"wrote {len(self.opened)} of {len(self.targets)} parts: the data yielded "
                "fewer frames than its shape promised"
            )
        if self.local:
            self._remove_old()
            for k in reversed(range(len(self.targets))):
                os.replace(self.paths[k], self.targets[k])
        else:
            self.fs.mv(self.paths[0], self.targets[0])
        self.opened = []

    def abort(self) -> None:
        """Discard what was written (temporary local parts, or remote parts)."""
        f, self._file = self._file, None
        if f is not None:
            try:
                if isinstance(f, AbstractBufferedFile):
                    # abort a pending (multipart) upload instead of committing it
                    f.discard()
                    f.closed = True
                else:
                    f.close()
            except Exception:
                pass
        for path in self.opened:
            _remove_quietly(self.fs, path)
        self.opened = []
