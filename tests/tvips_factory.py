"""Build TVIPS recordings byte by byte for tests, independently of our writer.

Frames get distinct content: pixel ``[0, 0]`` holds the frame index (mod 2**bits), the
rest a pattern seeded by it, so any mix-up of frames, parts or offsets shows.
"""

from __future__ import annotations

import numpy as np

from intake_tvips.format.layout import build_series_header, frame_header_dtype

DEFAULT_TIMESTAMP = 740_399_696  # 1993-06-18T10:34:56Z


def make_frames(n: int, shape=(4, 5), dtype="<u2", seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    info = np.iinfo(np.dtype(dtype))
    frames = rng.integers(0, info.max, size=(n, *shape), dtype=np.dtype(dtype))
    frames[:, 0, 0] = np.arange(n).astype(frames.dtype)  # wraps around
    return frames


def tvips_bytes(
    frames: np.ndarray,
    *,
    version: int = 2,
    frameheaderbytes: int = 60,
    records_per_part: list[int] | None = None,
    rotidx: np.ndarray | None = None,
    mode: int = 2,
    timestamps: np.ndarray | None = None,
    ms: np.ndarray | None = None,
    header_overrides: dict | None = None,
    pixelsize: int = 3,
    offsetx: int = 5,
    offsety: int = 7,
) -> list[bytes]:
    """The bytes of each part of a recording of ``frames`` ``(n, dimy, dimx)``."""
    n, dimy, dimx = frames.shape
    bits = 8 * frames.dtype.itemsize
    fhb = 12 if version == 1 else frameheaderbytes
    fields = dict(
        version=version,
        dimx=dimx,
        dimy=dimy,
        bitsperpixel=bits,
        frameheaderbytes=fhb,
        offsetx=offsetx,
        offsety=offsety,
        pixelsize=pixelsize,
        ht=200,
        magtotal=80,
    )
    fields.update({k: v for k, v in (header_overrides or {}).items() if k != "size"})
    header = build_series_header(**fields)
    if header_overrides and "size" in header_overrides:
        header = np.uint32(header_overrides["size"]).tobytes() + header[4:]
    hdt = frame_header_dtype(version, fhb)
    rec_dt = np.dtype([("h", hdt), ("data", frames.dtype.newbyteorder("<"), (dimy, dimx))])
    recs = np.zeros(n, dtype=rec_dt)
    recs["h"]["num"] = np.arange(n)
    recs["h"]["timestamp"] = DEFAULT_TIMESTAMP if timestamps is None else timestamps
    recs["h"]["ms"] = (np.arange(n) * 10) % 1000 if ms is None else ms
    if version == 2:
        recs["h"]["mode"] = mode
        recs["h"]["fcurrent"] = 23.0
        recs["h"]["stagea"] = 1.5
        recs["h"]["stagex"] = -2.25
        recs["h"]["rotidx"] = np.arange(1, n + 1) if rotidx is None else rotidx
    recs["data"] = frames
    if records_per_part is None:
        records_per_part = [n]
    assert sum(records_per_part) == n
    out, i = [], 0
    for k, count in enumerate(records_per_part):
        body = recs[i : i + count].tobytes()
        out.append((header if k == 0 else b"") + body)
        i += count
    return out


def write_parts(base, parts: list[bytes], fs=None) -> str:
    """Write ``base_000.tvips, base_001.tvips, ...``; return the first part's name."""
    names = [f"{base}_{k:03d}.tvips" for k in range(len(parts))]
    for name, data in zip(names, parts):
        if fs is None:
            with open(name, "wb") as f:
                f.write(data)
        else:
            fs.pipe_file(name, data)
    return names[0]


def reference_grid(shape, start=0, winding=None, hysteresis=0) -> np.ndarray:
    """The documented scan semantics, written naively on the full index grid: the frame at
    each scan position (negative before the recording)."""
    idx = np.arange(start, start + int(np.prod(shape))).reshape(shape)
    if winding == "x":
        idx[..., ::2, :] = idx[..., ::2, ::-1]
        idx[..., ::2, :] = np.roll(idx[..., ::2, :], hysteresis, axis=-1)
    elif winding == "y":
        idx[..., :, ::2] = idx[..., ::-1, ::2]
        idx[..., :, ::2] = np.roll(idx[..., :, ::2], hysteresis, axis=-2)
    return idx


def reference_scan(frames: np.ndarray, shape, start=0, winding=None, hysteresis=0):
    """The documented scan semantics applied to ``frames`` (zeros before the recording)."""
    idx = reference_grid(shape, start, winding, hysteresis)
    out = np.zeros(tuple(shape) + frames.shape[1:], dtype=frames.dtype)
    ok = idx >= 0
    out[ok] = frames[idx[ok]]
    return out
