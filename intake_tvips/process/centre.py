"""The direct beam: its centre in every frame, and the frames shifted to put it at the
detector's centre."""

from __future__ import annotations

import numpy as np

from intake_tvips.process.frames import (
    Frames,
    check_frames,
    is_dask,
    map_frames,
    map_reduce_frames,
    whole_frames,
)

METHODS = ("com", "peak")


def frame_centres(block: np.ndarray, method: str = "com", threshold: float = 0.5) -> np.ndarray:
    """``(..., 2)`` float64: ``(y, x)`` of the direct beam in each frame of ``block``.

    ``"com"``: the centre of mass of the disc, the pixels at or above ``threshold`` x the
    frame's maximum (weighted by their values); ``"peak"``: the brightest pixel (the first
    in C order when tied). A frame with no positive pixel gives its geometric centre.
    """
    frames = block.reshape((-1,) + block.shape[-2:]).astype(np.float64)
    dy, dx = frames.shape[-2:]
    out = np.empty((len(frames), 2))
    if method == "peak":
        flat = frames.reshape(len(frames), -1).argmax(axis=1)
        out[:, 0], out[:, 1] = np.divmod(flat, dx)
    else:
        top = frames.max(axis=(-2, -1), keepdims=True)
        weights = np.where(frames >= threshold * top, frames, 0.0)
        total = weights.sum(axis=(-2, -1))
        safe = np.where(total > 0, total, 1.0)
        out[:, 0] = (weights.sum(axis=-1) * np.arange(dy)).sum(axis=-1) / safe
        out[:, 1] = (weights.sum(axis=-2) * np.arange(dx)).sum(axis=-1) / safe
    empty = frames.max(axis=(-2, -1)) <= 0
    out[empty] = ((dy - 1) / 2, (dx - 1) / 2)
    return out.reshape(block.shape[:-2] + (2,))


def _check(method: str, threshold: float) -> None:
    if method not in METHODS:
        raise ValueError(f"beam centre method must be one of {METHODS}, got {method!r}")
    if not 0 < float(threshold) <= 1:
        raise ValueError(f"beam centre threshold must be in (0, 1], got {threshold}")


def beam_centres(data: Frames, method: str = "com", threshold: float = 0.5) -> Frames:
    """The direct-beam centre ``(y, x)`` (pixels, float64) of every frame: shape
    ``data.shape[:-2] + (2,)``. See :func:`frame_centres` for the methods."""
    check_frames(data)
    _check(method, threshold)
    return map_reduce_frames(
        lambda b: frame_centres(b, method, threshold), data, np.float64, tail=2
    )


def shift_frames(block: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Every frame of ``block`` moved by its integer ``(sy, sx)`` in ``shifts``
    (``(..., 2)``), pixels moved out dropped, pixels moved in zero (as
    ``scipy.ndimage.shift(frame, (sy, sx), order=0, mode="constant")``)."""
    frames = block.reshape((-1,) + block.shape[-2:])
    moves = np.asarray(shifts).reshape(-1, 2).astype(np.int64)
    out = np.zeros_like(frames)
    dy, dx = frames.shape[-2:]
    for k, (sy, sx) in enumerate(moves):
        if abs(sy) >= dy or abs(sx) >= dx:
            continue
        out[k, max(sy, 0) : dy + min(sy, 0), max(sx, 0) : dx + min(sx, 0)] = frames[
            k, max(-sy, 0) : dy + min(-sy, 0), max(-sx, 0) : dx + min(-sx, 0)
        ]
    return out.reshape(block.shape)


def recentre(data: Frames, centres=None, method: str = "com", threshold: float = 0.5) -> Frames:
    """Shift every frame by whole pixels so that its direct beam sits at the detector's
    centre ``(dy // 2, dx // 2)``: the shift is ``round(centre_pixel - beam)`` (halves to
    even). ``centres`` (``data.shape[:-2] + (2,)``, e.g. from :func:`beam_centres`) or,
    when ``None``, found in the same pass by ``method`` / ``threshold``.
    """
    check_frames(data)
    _check(method, threshold)
    target = np.array([data.shape[-2] // 2, data.shape[-1] // 2], np.float64)

    def moved(block, found=None):
        found = frame_centres(block, method, threshold) if found is None else found
        return shift_frames(block, np.rint(target - found))

    if centres is None:
        return map_frames(moved, data)
    if tuple(centres.shape) != tuple(data.shape[:-2]) + (2,):
        raise ValueError(f"centres must have shape {data.shape[:-2] + (2,)}, got {centres.shape}")
    if not is_dask(data):
        return moved(np.asarray(data), np.asarray(centres))
    import dask.array as da

    data = whole_frames(data)
    centres = da.asarray(centres).rechunk(data.chunks[:-2] + ((2,),))
    return da.map_blocks(
        lambda b, c: moved(b, c[..., 0]),
        data,
        centres[..., None],
        dtype=data.dtype,
        chunks=data.chunks,
    )
