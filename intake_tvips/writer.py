"""Writing a signal dict (as :func:`intake_tvips.file_reader` returns) to TVIPS parts.

The records are built slab by slab and streamed through fsspec, so a dask array is
never materialised whole: one dask chunk (along the flattened frame axis) is computed
at a time. Header values follow RosettaSciIO's ``file_writer`` except where the project
reference (``tvips_format.md``) says it is wrong; see :func:`file_writer`.
"""

from __future__ import annotations

import math
import os
import uuid
import warnings
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone

import numpy as np
from fsspec.spec import AbstractBufferedFile

from intake_tvips.format.layout import (
    SERIES_HEADER_SIZE,
    V1_FRAME_HEADER_SIZE,
    V2_MIN_FRAME_HEADER_SIZE,
    RecordLayout,
    build_series_header,
    empty_records,
)
from intake_tvips.storage.parts import FileSystemSpec, part_path, resolve, split_part_name

#: records are built and written in slabs of about this many bytes
#: dask chunks computed together while writing, at most about this many bytes
WRITE_GROUP_BYTES = 64 * 2**20
WRITE_SLAB_BYTES = 32 * 2**20

_U4_MAX = 2**32 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

# unit spellings understood for the signal and navigation axes (as pint spells them);
# "px" and "A" are deliberately absent: pixels are no length, "A" is the ampere.
_NM_PER_LENGTH_UNIT = {
    "m": 1e9,
    "cm": 1e7,
    "mm": 1e6,
    "um": 1e3,
    "µm": 1e3,
    "μm": 1e3,
    "nm": 1.0,
    "pm": 1e-3,
    "Å": 0.1,
    "angstrom": 0.1,
    "meter": 1e9,
    "metre": 1e9,
    "millimeter": 1e6,
    "micrometer": 1e3,
    "micron": 1e3,
    "nanometer": 1.0,
    "nanometre": 1.0,
    "picometer": 1e-3,
}
_MS_PER_TIME_UNIT = {
    "h": 3.6e6,
    "hour": 3.6e6,
    "min": 6e4,
    "minute": 6e4,
    "s": 1e3,
    "second": 1e3,
    "ms": 1.0,
    "millisecond": 1.0,
    "us": 1e-3,
    "µs": 1e-3,
    "μs": 1e-3,
    "microsecond": 1e-3,
    "ns": 1e-6,
    "nanosecond": 1e-6,
}


def file_writer(
    filename,
    signal: dict,
    max_file_size: int | None = None,
    version: int = 2,
    frame_header_extra_bytes: int = 0,
    mode: int | None = None,
    show_progressbar: bool = True,
    storage_options: dict | None = None,
    overwrite: bool = True,
    frame_header_fields: Mapping | None = None,
) -> None:
    """Write a signal to a TVIPS recording (parts ``NAME_000.tvips, NAME_001.tvips, ...``).

    Parameters
    ----------
    filename : str or os.PathLike
        ``NAME.tvips`` or ``NAME_000.tvips``, a local path or any writable fsspec URL
        (``memory://``, ``s3://``, ...). Parts are numbered from ``_000``; only ``_000``
        holds the 256-byte series header.
    signal : dict
        ``{"data", "axes", "metadata", ...}`` as :func:`~intake_tvips.file_reader`
        returns. ``data`` (numpy or dask, ``uint8`` or ``uint16``) has shape
        ``(..., dy, dx)``: exactly the last two axes are signal axes
        (``navigate=False``); the navigation axes are flattened to frames in C order.
    max_file_size : int, optional
        Largest size of a part in bytes. Parts hold whole records, at least one each;
        ``ValueError`` if not even the series header plus one record fits. ``None``: a
        single part.
    version : {1, 2}
        Version 2: frame headers of ``60 + frame_header_extra_bytes`` bytes. Version 1:
        12-byte frame headers (counter, timestamp, milliseconds) that every reader
        accepts as version 1 (RosettaSciIO writes 60 bytes there, which no reader does).
    frame_header_extra_bytes : int
        Bytes appended to each version 2 frame header. When they cover the scan
        position fields (``frame_header_extra_bytes >= 16``) and the signal has at
        least two navigation axes, ``Scan_x``/``Scan_y`` hold the scan column and row.
    mode : {None, 1, 2}
        Frame header ``mode``: 1 imaging, 2 diffraction. ``None`` guesses from the signal
        axis units (length -> 1, otherwise 2).
    show_progressbar : bool
        Show a tqdm progress bar (counting frames).
    storage_options : dict, optional
        Passed to fsspec.
    overwrite : bool
        ``False``: raise ``FileExistsError`` if ``NAME_000`` exists.
    frame_header_fields : mapping, optional
        Per-frame values written instead of the computed ones: ``{field: values}`` with
        one value per frame (in file order) for fields of the frame header, e.g.
        ``{"Scan_x": ..., "Scan_y": ...}`` (with ``frame_header_extra_bytes >= 16``) for a
        scan recorded in an order other than C order, as a camera writes a snake scan.

    Notes
    -----
    Header values are RosettaSciIO's: ``pixelsize`` and the offsets are the signal axis
    scale and offsets converted to nm (length units) or 1/nm (inverse lengths) and
    rounded, ``ht`` is ``beam_energy``, frame times count from
    ``General.date/time/time_zone`` in steps of the last navigation axis' scale (1 ms
    when that is not a time), ``rotidx`` is the 1-based frame index. Where RosettaSciIO is
    wrong we differ: the pixel size comes from a signal axis (not the first navigation
    axis), stage tilts from ``TEM.Stage.tilt_alpha/beta`` (``TEM.tilt_alpha/beta`` as a
    fallback), ``num`` counts frames from 0, frame times are rounded to the nearest ms
    (not truncated), negative offsets are stored as 0 with a warning (not a crash),
    float and signed data are refused, a single image (no navigation axis) is one frame,
    ``magtotal`` falls back to the other of ``camera_length``/``magnification`` when the
    one the mode asks for is missing (so our reader's output round trips), and
    higher-numbered parts left by an earlier, longer recording are removed.

    On failure (e.g. an exception while computing a dask chunk) no readable recording
    is left: local parts are written under temporary names in the target directory and
    renamed into place only at the end (an earlier recording there stays intact); on
    other filesystems the parts written so far are removed. The exception is re-raised.
    """
    if version not in (1, 2) or isinstance(version, bool):
        raise ValueError(f"version must be 1 or 2, got {version!r}")
    extra = _check_int("frame_header_extra_bytes", frame_header_extra_bytes, minimum=0)
    if version == 1 and extra:
        raise ValueError(
            "frame_header_extra_bytes applies to version 2 only: version 1 frame headers "
            f"are always {V1_FRAME_HEADER_SIZE} bytes"
        )
    if mode is not None and (isinstance(mode, bool) or mode not in (1, 2)):
        raise ValueError(f"mode must be None, 1 (imaging) or 2 (diffraction), got {mode!r}")
    if max_file_size is not None:
        max_file_size = _check_int("max_file_size", max_file_size, minimum=1)

    data = signal["data"]
    axes = _ordered_axes(signal, data)
    nav_axes, (ay, ax) = axes[:-2], axes[-2:]
    dtype = np.dtype(data.dtype)
    if dtype.kind != "u" or dtype.itemsize not in (1, 2):
        raise ValueError(
            f"cannot write data of dtype {dtype} to TVIPS: the format stores uint8 or uint16 "
            "pixels (8 or 16 bits per pixel); convert the data explicitly (e.g. "
            "data.astype('uint16')) after checking its range"
        )
    dimy, dimx = int(data.shape[-2]), int(data.shape[-1])
    nav_shape = tuple(int(n) for n in data.shape[:-2])
    n_frames = math.prod(nav_shape)
    fhb = V1_FRAME_HEADER_SIZE if version == 1 else V2_MIN_FRAME_HEADER_SIZE + extra
    layout = RecordLayout(fhb, dimy, dimx, "<u1" if dtype.itemsize == 1 else "<u2", version)
    metadata = signal.get("metadata") or {}

    unit_mode = _mode_from_units(ay.get("units"))
    series_header = _series_header(layout, ay, ax, metadata, unit_mode)
    frame_fields = _FrameFields(
        layout,
        nav_shape,
        metadata,
        mode if mode is not None else (unit_mode or 2),
        _frame_step_ms(nav_axes[-1] if nav_axes else None),
    )
    frame_fields.check_times(n_frames)
    frame_fields.give(frame_header_fields or {}, n_frames)
    counts = part_record_counts(n_frames, layout.record_bytes, max_file_size)

    fs, path = resolve(filename, storage_options)
    base, ext = _base_and_ext(path)
    targets = [part_path(base, ext, k) for k in range(len(counts))]
    if not overwrite and _is_file(fs, targets[0]):
        raise FileExistsError(f"{_shown(fs, targets[0])} exists (overwrite=False)")
    local = FileSystemSpec.from_fs(fs).is_local
    if not local:
        _remove_stale_parts(fs, base, ext, len(counts))
    sink = _PartSink(fs, targets, counts, series_header, layout.record_bytes, local)
    try:
        from tqdm import tqdm

        with tqdm(
            total=n_frames, unit="frame", desc="Writing TVIPS", disable=not show_progressbar
        ) as bar:
            for start, frames in _frame_slabs(data, n_frames, layout):
                for lo in range(0, len(frames), _slab_frames(layout)):
                    part = frames[lo : lo + _slab_frames(layout)]
                    records = empty_records(len(part), layout)
                    frame_fields.fill(records["header"], start + lo)
                    records["data"] = part
                    sink.write(records)
                bar.update(len(frames))
        sink.close()
        if local:
            sink.commit(lambda: _remove_stale_parts(fs, base, ext, len(counts)))
    except BaseException:
        sink.abort()
        raise


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


# --- the signal ------------------------------------------------------------------------


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _ordered_axes(signal: dict, data) -> list[dict]:
    """The axes in array order; checks that exactly the last two are signal axes."""
    axes = list(signal.get("axes") or [])
    if not axes and data.ndim >= 2:  # no axes given: frames, unit scale, no units
        axes = [{"size": n, "navigate": True} for n in data.shape[:-2]]
        axes += [{"size": n, "navigate": False} for n in data.shape[-2:]]
    if all(isinstance(a, Mapping) and "index_in_array" in a for a in axes):
        axes.sort(key=lambda a: a["index_in_array"])
    if len(axes) != data.ndim:
        raise ValueError(
            f"the signal has {len(axes)} axes but its data has {data.ndim} dimensions "
            f"(shape {tuple(data.shape)})"
        )
    n_signal = sum(not a.get("navigate", False) for a in axes)
    if n_signal != 2 or any(a.get("navigate", False) for a in axes[-2:]):
        raise ValueError(
            "TVIPS stores 2D frames: the signal needs exactly two signal axes "
            f"(navigate=False), the last two of the array; it has {n_signal}"
        )
    for i, a in enumerate(axes):
        if "size" in a and int(a["size"]) != data.shape[i]:
            raise ValueError(
                f"axis {i} ({a.get('name', '')!r}) has size {a['size']} but the data has "
                f"{data.shape[i]} along it"
            )
    return axes


def _get(tree: Mapping, dotted: str, default=None):
    node = tree
    for key in dotted.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return default
        node = node[key]
    return default if node is None else node


def _units_key(units) -> str:
    return "" if units is None else str(units).replace(" ", "")


def _length_factor(units) -> tuple[str | None, float]:
    """``("length", nm per unit)``, ``("inverse", 1/nm per unit)`` or ``(None, 1.0)``."""
    u = _units_key(units)
    if u in _NM_PER_LENGTH_UNIT:
        return "length", _NM_PER_LENGTH_UNIT[u]
    for prefix, suffix in (("1/", ""), ("", "^-1"), ("", "**-1"), ("", "-1"), ("", "⁻¹")):
        if u.startswith(prefix) and u.endswith(suffix) and len(u) > len(prefix + suffix):
            inner = u[len(prefix) : len(u) - len(suffix)]
            if inner in _NM_PER_LENGTH_UNIT:
                return "inverse", 1.0 / _NM_PER_LENGTH_UNIT[inner]
    return None, 1.0


def _mode_from_units(units) -> int | None:
    """1 for a length unit, 2 for an inverse length, ``None`` otherwise."""
    kind, _ = _length_factor(units)
    return {"length": 1, "inverse": 2}.get(kind)


def _header_uint(name: str, value: float) -> int:
    value = round(float(value))
    if value < 0:
        warnings.warn(
            f"TVIPS stores '{name}' unsigned: the negative value {value} is written as 0",
            UserWarning,
            stacklevel=4,
        )
        return 0
    if value > _U4_MAX:
        raise ValueError(f"'{name}' = {value} does not fit the header's 32-bit unsigned field")
    return value


def _series_header(
    layout: RecordLayout, ay: dict, ax: dict, metadata: Mapping, unit_mode: int | None
) -> bytes:
    """The series header: sizes, pixel size and offsets in nm or 1/nm, ht, magtotal."""
    kind, factor = _length_factor(ay.get("units"))
    if kind is None and ay.get("units") not in (None, ""):
        warnings.warn(
            f"signal axis units {ay.get('units')!r} are neither a length nor an inverse "
            "length: pixel size and offsets are written unconverted",
            UserWarning,
            stacklevel=3,
        )
    mag = _get(metadata, "Acquisition_instrument.TEM.magnification", 0)
    cl = _get(metadata, "Acquisition_instrument.TEM.camera_length", 0)
    magtotal = (cl or mag) if unit_mode == 2 else (mag or cl)
    return build_series_header(
        version=layout.version,
        dimx=layout.dimx,
        dimy=layout.dimy,
        bitsperpixel=8 * np.dtype(layout.dtype).itemsize,
        frameheaderbytes=layout.header_bytes,
        offsetx=_header_uint("offsetx", ax.get("offset", 0) * factor),
        offsety=_header_uint("offsety", ay.get("offset", 0) * factor),
        pixelsize=_header_uint("pixelsize", ay.get("scale", 1) * factor),
        ht=_header_uint("ht", _get(metadata, "Acquisition_instrument.TEM.beam_energy", 0)),
        magtotal=_header_uint("magtotal", magtotal),
    )


def _frame_step_ms(nav_axis: dict | None) -> float:
    """Milliseconds between frames: the last navigation axis' scale if it is a time."""
    if nav_axis is None:
        return 1.0
    unit = _units_key(nav_axis.get("units"))
    if unit not in _MS_PER_TIME_UNIT and unit.endswith("s"):
        unit = unit[:-1]  # plurals: "seconds"
    factor = _MS_PER_TIME_UNIT.get(unit)
    if factor is None:
        return 1.0
    return float(nav_axis.get("scale", 1)) * factor


def _tzinfo(name) -> timezone:
    if name in (None, "") or str(name).upper() in ("UTC", "Z", "GMT"):
        return timezone.utc
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(str(name))
    except (ValueError, KeyError, OSError, ImportError):
        pass
    try:
        return datetime.strptime(str(name), "%z").tzinfo
    except ValueError:
        warnings.warn(f"unknown time zone {name!r}: taking the time as UTC", stacklevel=4)
        return timezone.utc


def _start_ms(metadata: Mapping) -> float:
    """Unix time in ms of ``General.date/time/time_zone`` (default 1970-01-01 00:00 UTC)."""
    date = _get(metadata, "General.date", "1970-01-01")
    time = _get(metadata, "General.time", "00:00:00")
    try:
        when = datetime.fromisoformat(f"{date}T{time}")
    except ValueError as err:
        raise ValueError(
            f"cannot parse General.date={date!r} / General.time={time!r} as ISO date and time"
        ) from err
    if when.tzinfo is None:
        when = when.replace(tzinfo=_tzinfo(_get(metadata, "General.time_zone")))
    return (when - _EPOCH) / timedelta(milliseconds=1)


class _FrameFields:
    """Fills the frame headers of consecutive frames from the signal's metadata."""

    def __init__(
        self,
        layout: RecordLayout,
        nav_shape: tuple[int, ...],
        metadata: Mapping,
        mode: int,
        step_ms: float,
    ):
        self.version = layout.version
        self.names = layout.frame_header_dtype().names
        self.nav_shape = nav_shape
        self.start_ms = _start_ms(metadata)
        self.step_ms = step_ms
        self.given: dict[str, np.ndarray] = {}  # per-frame values from frame_header_fields
        tem = "Acquisition_instrument.TEM."
        # HyperSpy keeps tilts in TEM.Stage; RosettaSciIO's writer reads TEM.tilt_alpha/beta
        alpha = _get(metadata, tem + "Stage.tilt_alpha", _get(metadata, tem + "tilt_alpha", 0))
        beta = _get(metadata, tem + "Stage.tilt_beta", _get(metadata, tem + "tilt_beta", 0))
        self.constants = {
            "mode": mode,
            "fcurrent": _get(metadata, tem + "beam_current", 0),
            "stagex": _get(metadata, tem + "Stage.x", 0),
            "stagey": _get(metadata, tem + "Stage.y", 0),
            "stagez": _get(metadata, tem + "Stage.z", 0),
            "stagea": alpha,
            "stageb": beta,
        }

    def _times(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        total = np.rint(self.start_ms + frames * self.step_ms).astype(np.int64)
        return total // 1000, total % 1000

    def check_times(self, n_frames: int) -> None:
        ends = np.array([0, max(n_frames - 1, 0)])
        seconds, _ = self._times(ends)
        if seconds.min() < 0 or seconds.max() > _U4_MAX:
            raise ValueError(
                "frame timestamps from General.date/time and the navigation scale fall outside "
                "1970-01-01 .. 2106-02-07 (32-bit unsigned seconds since 1970)"
            )

    def give(self, fields: Mapping, n_frames: int) -> None:
        """Per-frame values for some fields (``file_writer(frame_header_fields=...)``)."""
        self.given = {}
        for name, values in fields.items():
            if name not in self.names:
                raise ValueError(
                    f"frame_header_fields: {name!r} is not a field of these frame headers "
                    f"(fields: {', '.join(self.names)}); Scan_x/Scan_y need version 2 and "
                    "frame_header_extra_bytes >= 16"
                )
            values = np.asarray(values)
            if values.shape != (n_frames,) or values.dtype.kind not in "iuf":
                raise ValueError(
                    f"frame_header_fields[{name!r}] must hold {n_frames} numbers (one per "
                    f"frame), got {values.dtype} of shape {values.shape}"
                )
            self.given[name] = values

    def fill(self, headers: np.ndarray, start: int) -> None:
        frames = np.arange(start, start + len(headers), dtype=np.int64)
        headers["num"] = frames % 2**32
        headers["timestamp"], headers["ms"] = self._times(frames)
        if self.version == 2:
            for name, value in self.constants.items():
                headers[name] = value
            headers["rotidx"] = (frames + 1) % 2**32
            if "Scan_y" in self.names and len(self.nav_shape) >= 2:
                pos = np.unravel_index(frames, self.nav_shape)
                headers["Scan_x"] = pos[-1]
                headers["Scan_y"] = pos[-2]
        for name, values in self.given.items():
            headers[name] = values[start : start + len(headers)]


# --- the data, slab by slab ---------------------------------------------------------------


def _slab_frames(layout: RecordLayout) -> int:
    return max(1, WRITE_SLAB_BYTES // layout.record_bytes)


def _frame_slabs(data, n_frames: int, layout: RecordLayout) -> Iterator[tuple[int, np.ndarray]]:
    """``(first frame, frames)`` in order: one dask chunk at a time, or numpy slabs."""
    shape = (n_frames, layout.dimy, layout.dimx)
    if n_frames == 0:
        return
    if hasattr(data, "dask") and hasattr(data, "blocks"):
        import dask

        flat = data.reshape(shape)
        # several small chunks are computed together (in parallel), up to about
        # WRITE_GROUP_BYTES at once; a big chunk is computed alone
        sizes = flat.chunks[0]
        frame_bytes = layout.pixel_bytes
        start, i = 0, 0
        while i < len(sizes):
            j, nbytes = i, 0
            while j < len(sizes) and (
                j == i or nbytes + sizes[j] * frame_bytes <= WRITE_GROUP_BYTES
            ):
                nbytes += sizes[j] * frame_bytes
                j += 1
            for block in dask.compute(*(flat.blocks[k] for k in range(i, j))):
                block = np.asarray(block)
                yield start, block
                start += len(block)
            i = j
        return
    flat = np.asarray(data).reshape(shape)
    step = _slab_frames(layout)
    for start in range(0, n_frames, step):
        yield start, flat[start : start + step]


# --- parts on the filesystem --------------------------------------------------------------


def _base_and_ext(path: str) -> tuple[str, str]:
    try:
        return split_part_name(path)
    except ValueError as err:
        raise ValueError(
            f"{path}: a recording is written from its first part: give NAME.tvips or NAME_000.tvips"
        ) from err


def _shown(fs, path: str) -> str:
    return path if FileSystemSpec.from_fs(fs).is_local else fs.unstrip_protocol(path)


def _is_file(fs, path: str) -> bool:
    try:
        return fs.info(path).get("type") != "directory"
    except (FileNotFoundError, NotADirectoryError):
        return False


def _remove_stale_parts(fs, base: str, ext: str, first: int) -> None:
    """Remove ``base_{k}ext`` for ``k >= first`` as long as they exist (as the reader probes)."""
    k = first
    while _is_file(fs, part_path(base, ext, k)):
        fs.rm_file(part_path(base, ext, k))
        k += 1


class _PartSink:
    """Streams records into consecutive parts; commit/abort make the result all or nothing."""

    def __init__(self, fs, targets, counts, series_header: bytes, record_bytes: int, local: bool):
        self.fs, self.targets, self.counts = fs, targets, counts
        self.series_header, self.record_bytes, self.local = series_header, record_bytes, local
        token = uuid.uuid4().hex[:12]
        self.paths = [f"{t}.{token}.tmp" for t in targets] if local else list(targets)
        self.opened: list[str] = []
        self._file = None
        self._left = 0

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
        buf = records.view(np.uint8)
        n, rb, pos = len(records), self.record_bytes, 0
        while pos < n:
            if self._left == 0:
                self._next_part()
            take = min(self._left, n - pos)
            self._file.write(memoryview(buf[pos * rb : (pos + take) * rb]))
            pos += take
            self._left -= take

    def close(self) -> None:
        """Finish the last part (and write the header-only ``_000`` of an empty signal)."""
        if not self.opened:
            self._next_part()
        self._close_file()
        if len(self.opened) != len(self.targets) or self._left:
            raise RuntimeError(
                f"wrote {len(self.opened)} of {len(self.targets)} parts: the data yielded "
                "fewer frames than its shape promised"
            )

    def commit(self, remove_stale) -> None:
        """Local: move the temporary parts into place, ``_000`` last."""
        if _is_file(self.fs, self.targets[0]):
            self.fs.rm_file(self.targets[0])
        remove_stale()
        for k in reversed(range(len(self.targets))):
            os.replace(self.paths[k], self.targets[k])
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
            try:
                if _is_file(self.fs, path):
                    self.fs.rm_file(path)
            except Exception:
                pass
        self.opened = []
