"""The TVIPS binary layout: series header, frame headers, records.

Pure functions and numpy dtypes, no I/O. Everything is little-endian.

A recording is ``NAME_000.tvips, NAME_001.tvips, ...``; only ``_000`` starts with
the 256-byte series header, then every part holds whole *records*: a frame header
followed by ``dimy x dimx`` pixels (uint8 or uint16; uint32/uint64 as RosettaSciIO writes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from intake_tvips.errors import TVIPSFormatError

SERIES_HEADER_SIZE = 256
#: frame header size of version 1 files
V1_FRAME_HEADER_SIZE = 12
#: smallest frame header a version 2 file may declare (the fields readers know)
V2_MIN_FRAME_HEADER_SIZE = 60
#: pixel types by ``bitsperpixel``; TVIPS's software writes 8 and 16 bits, RosettaSciIO
#: also writes (and reads) 32 and 64
PIXEL_DTYPES = {8: "<u1", 16: "<u2", 32: "<u4", 64: "<u8"}
#: sanity limits, checked before anything is allocated
MAX_DIM = 1 << 16
MAX_FRAME_HEADER_SIZE = 1 << 20

SERIES_HEADER_DTYPE = np.dtype(
    [
        ("size", "<u4"),
        ("version", "<u4"),
        ("dimx", "<u4"),
        ("dimy", "<u4"),
        ("bitsperpixel", "<u4"),
        ("offsetx", "<u4"),
        ("offsety", "<u4"),
        ("binx", "<u4"),
        ("biny", "<u4"),
        ("pixelsize", "<u4"),
        ("ht", "<u4"),
        ("magtotal", "<u4"),
        ("frameheaderbytes", "<u4"),
        ("dummy", "S204"),
    ]
)
assert SERIES_HEADER_DTYPE.itemsize == SERIES_HEADER_SIZE

#: the fields of a version 1 frame header
V1_FRAME_HEADER_DTYPE = np.dtype([("num", "<u4"), ("timestamp", "<u4"), ("ms", "<u4")])

#: the 60 bytes every version 2 frame header starts with (RosettaSciIO's names)
V2_FRAME_HEADER_DTYPE = np.dtype(
    [
        ("num", "<u4"),
        ("timestamp", "<u4"),
        ("ms", "<u4"),
        ("LUTidx", "<u4"),
        ("fcurrent", "<f4"),
        ("mag", "<u4"),
        ("mode", "<u4"),
        ("stagex", "<f4"),
        ("stagey", "<f4"),
        ("stagez", "<f4"),
        ("stagea", "<f4"),
        ("stageb", "<f4"),
        ("rotidx", "<u4"),
        ("temperature", "<f4"),
        ("objective", "<f4"),
    ]
)
assert V2_FRAME_HEADER_DTYPE.itemsize == V2_MIN_FRAME_HEADER_SIZE

#: fields past byte 60, present when the frame header is long enough (LiberTEM's names)
V2_EXTENDED_FIELDS = [
    ("DENS_Power", "<f4"),
    ("TEM_Obj_current", "<f4"),
    ("Scan_x", "<f4"),
    ("Scan_y", "<f4"),
    ("DENS_Bias_U_setpoint", "<f4"),
    ("DENS_Bias_U_value", "<f4"),
    ("DENS_Bias_I_setpoint", "<f4"),
    ("DENS_Bias_I_value", "<f4"),
    ("DENS_Bias_E_setpoint", "<f4"),
    ("DENS_Bias_R", "<f4"),
    ("DENS_Bias_limit_U", "<f4"),
    ("DENS_Bias_limit_I", "<f4"),
]


@dataclass(frozen=True)
class RecordLayout:
    """Where the bytes of one frame record are.

    ``header_bytes`` of frame header, then ``dimy * dimx`` pixels of ``dtype``.
    """

    header_bytes: int
    dimy: int
    dimx: int
    dtype: str  # "<u1", "<u2", "<u4" or "<u8" (see PIXEL_DTYPES)
    version: int = 2

    @property
    def frame_shape(self) -> tuple[int, int]:
        return (self.dimy, self.dimx)

    @property
    def pixel_bytes(self) -> int:
        return self.dimy * self.dimx * np.dtype(self.dtype).itemsize

    @property
    def record_bytes(self) -> int:
        return self.header_bytes + self.pixel_bytes

    def frame_header_dtype(self) -> np.dtype:
        """The dtype of one frame header: the known fields, padded to its full size."""
        return frame_header_dtype(self.version, self.header_bytes)


def frame_header_dtype(version: int, header_bytes: int) -> np.dtype:
    """Known fields of a frame header of ``header_bytes`` bytes, padded to that size."""
    if version == 1:
        base = V1_FRAME_HEADER_DTYPE
        fields = [(n, base.fields[n][0]) for n in base.names]
    else:
        base = V2_FRAME_HEADER_DTYPE
        fields = [(n, base.fields[n][0]) for n in base.names]
        offset = base.itemsize
        for name, typ in V2_EXTENDED_FIELDS:
            if offset + 4 > header_bytes:
                break
            fields.append((name, np.dtype(typ)))
            offset += 4
    names = [n for n, _ in fields]
    formats = [t for _, t in fields]
    offsets = list(np.cumsum([0] + [np.dtype(t).itemsize for t in formats[:-1]]))
    return np.dtype(
        {"names": names, "formats": formats, "offsets": offsets, "itemsize": header_bytes}
    )


def parse_series_header(buf: bytes, filename: str) -> dict:
    """Decode and validate the 256-byte series header of ``filename``.

    Returns ``{field: value}`` with Python ints (``dummy`` stays bytes).
    Raises :class:`TVIPSFormatError` naming the file and the field at fault.
    """
    if len(buf) < SERIES_HEADER_SIZE:
        raise TVIPSFormatError(
            filename,
            f"file is {len(buf)} bytes, shorter than the {SERIES_HEADER_SIZE}-byte series header",
        )
    rec = np.frombuffer(buf[:SERIES_HEADER_SIZE], dtype=SERIES_HEADER_DTYPE)[0]
    header = {
        name: (bytes(rec[name]) if name == "dummy" else int(rec[name]))
        for name in SERIES_HEADER_DTYPE.names
    }
    validate_series_header(header, filename)
    return header


def validate_series_header(header: dict, filename: str) -> None:
    """Refuse headers no TVIPS camera writes, before anything is allocated from them."""
    if header["size"] != SERIES_HEADER_SIZE:
        raise TVIPSFormatError(
            filename,
            f"series header field 'size' is {header['size']}, expected {SERIES_HEADER_SIZE}"
            " (not a TVIPS file, or a corrupt header)",
            field="size",
        )
    if header["version"] not in (1, 2):
        raise TVIPSFormatError(
            filename,
            f"unsupported version {header['version']} (field 'version'); "
            "TVIPS files are version 1 or 2",
            field="version",
        )
    if header["bitsperpixel"] not in PIXEL_DTYPES:
        raise TVIPSFormatError(
            filename,
            f"unsupported bits per pixel {header['bitsperpixel']} (field 'bitsperpixel');"
            " expected 8, 16, 32 or 64",
            field="bitsperpixel",
        )
    for name in ("dimx", "dimy"):
        if not 0 < header[name] <= MAX_DIM:
            raise TVIPSFormatError(
                filename,
                f"frame dimension '{name}' is {header[name]}, expected 1..{MAX_DIM}",
                field=name,
            )
    if header["version"] == 2:
        fhb = header["frameheaderbytes"]
        if not V2_MIN_FRAME_HEADER_SIZE <= fhb <= MAX_FRAME_HEADER_SIZE:
            raise TVIPSFormatError(
                filename,
                f"'frameheaderbytes' is {fhb}; a version 2 frame header is "
                f"{V2_MIN_FRAME_HEADER_SIZE}..{MAX_FRAME_HEADER_SIZE} bytes",
                field="frameheaderbytes",
            )


def record_layout(header: dict) -> RecordLayout:
    """The record layout a (validated) series header describes."""
    version = header["version"]
    header_bytes = V1_FRAME_HEADER_SIZE if version == 1 else header["frameheaderbytes"]
    dtype = PIXEL_DTYPES[header["bitsperpixel"]]
    return RecordLayout(header_bytes, header["dimy"], header["dimx"], dtype, version)


def parse_frame_headers(buf: bytes | np.ndarray, layout: RecordLayout) -> np.ndarray:
    """Decode consecutive frame headers packed back to back (``layout.header_bytes`` each)."""
    dt = layout.frame_header_dtype()
    n = len(buf) // dt.itemsize
    return np.frombuffer(buf, dtype=dt, count=n)


def build_series_header(
    *,
    version: int,
    dimx: int,
    dimy: int,
    bitsperpixel: int,
    frameheaderbytes: int,
    offsetx: int = 0,
    offsety: int = 0,
    binx: int = 1,
    biny: int = 1,
    pixelsize: int = 1,
    ht: int = 0,
    magtotal: int = 0,
    dummy: bytes = b"TVIPS " * 34,
) -> bytes:
    """Encode a series header (the inverse of :func:`parse_series_header`)."""
    rec = np.zeros((), dtype=SERIES_HEADER_DTYPE)
    values = dict(
        size=SERIES_HEADER_SIZE,
        version=version,
        dimx=dimx,
        dimy=dimy,
        bitsperpixel=bitsperpixel,
        offsetx=offsetx,
        offsety=offsety,
        binx=binx,
        biny=biny,
        pixelsize=pixelsize,
        ht=ht,
        magtotal=magtotal,
        frameheaderbytes=frameheaderbytes,
        dummy=dummy[:204],
    )
    for name, value in values.items():
        rec[name] = value
    return rec.tobytes()


def empty_records(n: int, layout: RecordLayout) -> np.ndarray:
    """A zeroed structured array of ``n`` records: ``header`` fields and ``data`` pixels."""
    dt = np.dtype(
        [
            ("header", layout.frame_header_dtype()),
            ("data", layout.dtype, layout.frame_shape),
        ]
    )
    assert dt.itemsize == layout.record_bytes
    return np.zeros(n, dtype=dt)


@dataclass(frozen=True)
class ByteRange:
    """``n_records`` whole records of part ``part``, starting at byte ``start``.

    They hold global frames ``first_frame .. first_frame + n_records - 1``.
    """

    part: int
    start: int
    n_records: int
    first_frame: int

    def stop(self, record_bytes: int) -> int:
        return self.start + self.n_records * record_bytes
