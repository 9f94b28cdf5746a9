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


# ------------------------------------------------------------------ scan generators


#: how a scan generator may walk the rows: the reader's windings, and three it cannot
#: express (``"x_odd"``: rows 1, 3, ... reversed; ``"y_odd"``: columns 1, 3, ...
#: reversed; ``"columns"``: y is the fast axis)
WALKS = (None, "x", "y", "x_odd", "y_odd", "columns")
#: where the probe waits before and after the scan
PARKED = ("origin", "first", "last")


def walk_positions(shape, walk) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` of the scan's frames in the order a scan generator records them."""
    ny, nx = shape
    k = np.arange(ny * nx)
    if walk == "columns":
        x, y = np.divmod(k, ny)
        return x, y
    y, x = np.divmod(k, nx)
    if walk == "x":
        x = np.where(y % 2 == 0, nx - 1 - x, x)
    elif walk == "x_odd":
        x = np.where(y % 2 == 1, nx - 1 - x, x)
    elif walk == "y":
        y = np.where(x % 2 == 0, ny - 1 - y, y)
    elif walk == "y_odd":
        y = np.where(x % 2 == 1, ny - 1 - y, y)
    return x, y


def draw_scan(rng: np.random.Generator) -> tuple:
    """``(ny, nx, walk, before, after, park_before, park_after)`` drawn as scan
    generators vary them: few or many rows and columns, junk runs short or long."""
    pick = rng.integers
    ny = int(rng.choice([1, 2, 3, pick(4, 40)]))
    nx = int(rng.choice([1, 2, 3, pick(4, 40)]))
    if ny * nx < 2:
        nx = 2
    walk = WALKS[pick(len(WALKS))]
    before = int(rng.choice([0, 1, 2, pick(3, 30), pick(30, 300)]))
    after = int(rng.choice([0, 1, 2, pick(3, 30), pick(30, 300)]))
    return ny, nx, walk, before, after, PARKED[pick(3)], PARKED[pick(3)]


def parked_positions(x, y, before: int, after: int, parked: tuple[str, str], dtype):
    """Per frame Scan_x, Scan_y: ``before`` frames parked at ``parked[0]`` (``"origin"``,
    the scan's ``"first"`` or ``"last"`` position), the scan's ``x, y``, ``after`` frames
    parked at ``parked[1]``."""
    spot = {"origin": (0, 0), "first": (x[0], y[0]), "last": (x[-1], y[-1])}
    n = before + x.size + after
    sx, sy = np.zeros(n, dtype), np.zeros(n, dtype)
    sx[:before], sy[:before] = spot[parked[0]]
    sx[before : before + x.size], sy[before : before + x.size] = x, y
    sx[before + x.size :], sy[before + x.size :] = spot[parked[1]]
    return sx, sy


def expressible_truth(ny: int, nx: int, walk, before: int):
    """``(truth, walk)``: ``((ny, nx), before, winding)`` the reader reproduces the walk
    with, ``None`` when no winding expresses it (one row or column: frames in order)."""
    expressible = walk in (None, "x", "y")
    if walk in ("columns", "x_odd", "y_odd") and (nx == 1 or ny == 1):
        expressible, walk = True, None
    return (((ny, nx), before, walk) if expressible else None), walk


def generated_scan(rng: np.random.Generator) -> dict:
    """Scan_x/Scan_y of a recording as a scan generator writes it: junk frames with the
    probe parked (at (0, 0), at the scan's first or last position) before and after a
    scan of few or many rows and columns, walked per :data:`WALKS`.

    Returns ``scan_x``, ``scan_y`` (float32 per frame), ``truth`` (``(shape, start,
    winding)`` the reader reproduces it with, or ``None`` when no winding expresses the
    walk) and ``case`` (words)."""
    ny, nx, walk, before, after, park_before, park_after = draw_scan(rng)
    x, y = walk_positions((ny, nx), walk)
    sx, sy = parked_positions(x, y, before, after, (park_before, park_after), np.float32)
    truth, walk = expressible_truth(ny, nx, walk, before)
    case = (
        f"{ny} x {nx} walked {walk}, {before} frames parked at {park_before} before, "
        f"{after} at {park_after} after"
    )
    return {"scan_x": sx, "scan_y": sy, "truth": truth, "case": case}
