"""The blockfile (``.blo``, NanoMegas ASTAR) layout, as RosettaSciIO 0.15 reads it.

Facts (little endian, no padding between fields):

* a 240-byte header at 0: ``IMGBLO``, magic ``0x0102``, the offsets of the virtual image
  (``Data_offset_1``, 0x1000 in every file seen) and of the patterns (``Data_offset_2``),
  the pattern side ``DP_SZ``, the scan ``NX`` x ``NY`` and its steps ``SX``/``SY`` in nm,
  ``SDP`` = 100 / (pattern pixel size in cm), the acquisition time as a serial date
  (days since 1899-12-30), then 8 centring and 14 distortion doubles;
* a text note, zero padded, up to ``Data_offset_1``;
* the virtual bright field, ``NY x NX`` uint8 in C order, at ``Data_offset_1``;
* zero padding up to ``Data_offset_2`` = ``n + n % 16`` with ``n = 0x1000 + NX * NY``;
* ``NY x NX`` records in C order, each ``0x55AA`` (uint16), the record's number (uint32)
  and the ``DP_SZ x DP_SZ`` uint8 pattern.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import numpy as np

HEADER_DTYPE = np.dtype(
    [
        ("ID", "S6"),
        ("MAGIC", "<u2"),
        ("Data_offset_1", "<u4"),
        ("Data_offset_2", "<u4"),
        ("UNKNOWN1", "<u4"),
        ("DP_SZ", "<u2"),
        ("DP_rotation", "<u2"),
        ("NX", "<u2"),
        ("NY", "<u2"),
        ("Scan_rotation", "<u2"),
        ("SX", "<f8"),
        ("SY", "<f8"),
        ("Beam_energy", "<u4"),
        ("SDP", "<u2"),
        ("Camera_length", "<u4"),
        ("Acquisition_time", "<f8"),
    ]
    + [(f"Centering_N{i}", "<f8") for i in range(8)]
    + [(f"Distortion_N{i:02d}", "<f8") for i in range(14)]
)
VBF_OFFSET = 0x1000
#: the value every observed file holds in this field (its meaning is unknown)
UNKNOWN1 = 131141
RECORD_MAGIC = 0x55AA
RECORD_HEAD = 6
_U2_MAX = 2**16 - 1


@dataclass(frozen=True)
class BlockfileLayout:
    """Where everything of a blockfile of ``ny x nx`` patterns of ``side x side`` goes."""

    ny: int
    nx: int
    side: int

    def __post_init__(self):
        for name in ("ny", "nx", "side"):
            value = getattr(self, name)
            if not 1 <= value <= _U2_MAX:
                raise ValueError(f"a blockfile's {name} must be in 1..{_U2_MAX}, got {value}")

    @property
    def data_offset(self) -> int:
        n = VBF_OFFSET + self.nx * self.ny
        return n + n % 16

    @property
    def record_bytes(self) -> int:
        return RECORD_HEAD + self.side * self.side

    @property
    def size(self) -> int:
        return self.data_offset + self.ny * self.nx * self.record_bytes

    def record_offset(self, index: int) -> int:
        """The byte offset of record ``index`` (C order over the scan)."""
        return self.data_offset + index * self.record_bytes


def serial_date(when: _dt.datetime) -> float:
    """Days (and fraction) since 1899-12-30 UTC, the header's acquisition time."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.timezone.utc)
    delta = when - _dt.datetime(1899, 12, 30, tzinfo=_dt.timezone.utc)
    return delta.days + delta.seconds / 86400.0


def head_bytes(
    layout: BlockfileLayout,
    vbf: np.ndarray,
    scan_step: tuple[float, float],
    sdp: int,
    beam_energy_v: int = 0,
    note: str = "",
    when: _dt.datetime | None = None,
) -> bytes:
    """Everything before the first record: header, note, virtual image, padding."""
    header = np.zeros(1, HEADER_DTYPE)
    values = {
        "ID": b"IMGBLO",
        "MAGIC": 0x0102,
        "Data_offset_1": VBF_OFFSET,
        "Data_offset_2": layout.data_offset,
        "UNKNOWN1": UNKNOWN1,
        "DP_SZ": layout.side,
        "NX": layout.nx,
        "NY": layout.ny,
        "SY": scan_step[0],
        "SX": scan_step[1],
        "Beam_energy": beam_energy_v,
        "SDP": sdp,
        "Acquisition_time": serial_date(when or _dt.datetime.now(_dt.timezone.utc)),
    }
    for key, value in values.items():
        header[key] = value
    out = bytearray(layout.data_offset)
    raw = header.tobytes()
    out[: len(raw)] = raw
    text = note.encode("latin-1", "replace")[: VBF_OFFSET - len(raw)]
    out[len(raw) : len(raw) + len(text)] = text
    vbf = np.asarray(vbf, np.uint8)
    if vbf.shape != (layout.ny, layout.nx):
        raise ValueError(
            f"vbf must have the scan's shape {(layout.ny, layout.nx)}, got {vbf.shape}"
        )
    out[VBF_OFFSET : VBF_OFFSET + vbf.size] = vbf.tobytes()
    return bytes(out)


def records(block: np.ndarray, first: int) -> np.ndarray:
    """The records of ``block`` (``(..., side, side)`` uint8, C order) numbered from
    ``first``: a ``(n, RECORD_HEAD + side * side)`` uint8 array, ready to write."""
    side = block.shape[-1]
    frames = np.ascontiguousarray(block, dtype=np.uint8).reshape(-1, side * side)
    out = np.empty((len(frames), RECORD_HEAD + side * side), np.uint8)
    out[:, :2] = np.frombuffer(np.uint16(RECORD_MAGIC).astype("<u2").tobytes(), np.uint8)
    ids = np.arange(first, first + len(frames), dtype="<u4")
    out[:, 2:RECORD_HEAD] = ids.view(np.uint8).reshape(-1, 4)
    out[:, RECORD_HEAD:] = frames
    return out
