"""A recording opened with its scan map, axes and metadata, but no dask graph.

What the reader, the xarray backend and the references (virtual Zarr) share: the parts
and frame index (where each frame's bytes are), the scan map (which frame shows at each
position, :func:`intake_tvips.recording.scan_map.frame_map`) and the dictionaries
:func:`intake_tvips.file_reader` returns besides ``data``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np

from intake_tvips.maths.scan import (
    IndexMap,
    ScanMap,
    StackMap,
    as_scan_map,
    frame_grid,
    make_scan_map,
)
from intake_tvips.maths.scan_parameters import ScanParameters
from intake_tvips.reading.metadata import build_metadata, original_metadata, scan_axes, stack_axes
from intake_tvips.recording.core import Recording, open_recording, time_axis_headers
from intake_tvips.recording.pixels import estimate_hysteresis
from intake_tvips.recording.scan_map import frame_map
from intake_tvips.storage.secrets import mask_url


@dataclass(frozen=True, eq=False)
class OpenedSignal:
    """A recording, its frame map and the signal dictionary without its ``data``."""

    rec: Recording
    fmap: object  # a frame map of intake_tvips.maths.scan (frames(positions))
    axes: list[dict]
    metadata: dict
    original_metadata: dict
    #: the scan parameters as given (``scan_shape`` may be ``"auto"``), with
    #: ``hysteresis="auto"`` resolved
    params: ScanParameters

    @property
    def nav_shape(self) -> tuple[int, ...]:
        return tuple(self.fmap.shape)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.nav_shape + tuple(self.rec.layout.frame_shape)

    @property
    def is_scan(self) -> bool:
        return not isinstance(self.fmap, StackMap)

    def signal(self, data) -> dict:
        """The signal dictionary of :func:`intake_tvips.file_reader` around ``data``."""
        return {
            "data": data,
            "axes": self.axes,
            "metadata": self.metadata,
            "original_metadata": self.original_metadata,
            "mapping": {},
        }

    def source_attrs(self) -> dict:
        """The ``source`` (credentials masked) and ``scan_parameters`` attributes that
        every array of this recording carries (xarray, references, Zarr)."""
        return {"source": mask_url(self.rec.name), "scan_parameters": self.params.attrs()}


def open_signal(
    url, params: ScanParameters | None = None, storage_options: dict | None = None
) -> OpenedSignal:
    """Open ``url`` (or take an opened :class:`Recording`) and check the scan parameters
    against it, as :func:`intake_tvips.file_reader` does, without building the array
    (small header reads only; ``hysteresis="auto"`` reads a bounded sample of pixels
    and is resolved here: ``params`` of the result hold the value used)."""
    rec = url if isinstance(url, Recording) else open_recording(url, storage_options)
    params = ScanParameters() if params is None else params
    auto = params.auto_hysteresis
    fmap = frame_map(rec, replace(params, hysteresis=0) if auto else params)
    if auto:  # a rotator index's map in order is a raster whose hysteresis can be found
        fmap = as_scan_map(fmap)
        estimate = auto_hysteresis(rec, fmap)
        used = estimate.hysteresis if estimate is not None and estimate.decided else 0
        if isinstance(fmap, ScanMap):
            fmap = make_scan_map(fmap.shape, fmap.start, fmap.winding, used)
        params = params.with_estimate(used, _estimate_dict(estimate))
    if params.scan_shape == "auto":
        params = params.with_scan_found(scan_found(fmap))
    if isinstance(fmap, StackMap):
        axes = stack_axes(rec.n_frames, rec.header, time_axis_headers(rec))
    else:
        axes = scan_axes(tuple(fmap.shape), rec.header, rec.first_frame_headers)
    axes = params.calibrate_axes(axes)
    original = original_metadata(rec.header)
    if params.hysteresis_estimate is not None:
        original["hysteresis_estimate"] = dict(params.hysteresis_estimate)
    if params.scan_found is not None:
        original["scan_found"] = dict(params.scan_found)
    metadata = build_metadata(rec.name, rec.header, rec.first_frame_headers)
    return OpenedSignal(rec, fmap, axes, metadata, original, params)


def scan_attrs(reader_kwargs: dict, signal: dict) -> dict:
    """The ``scan_parameters`` attribute of an array that ``file_reader`` read with
    ``reader_kwargs``: :meth:`ScanParameters.attrs`, with ``hysteresis="auto"``
    replaced by the value used and its estimate, and the scan ``scan_shape="auto"``
    found (from the signal's metadata)."""
    params = ScanParameters.from_kwargs(reader_kwargs, text=True).calibrated(
        reader_kwargs.get("scan_step"), reader_kwargs.get("pattern_scale")
    )
    original = signal.get("original_metadata", {})
    estimate = original.get("hysteresis_estimate")
    if estimate is not None:
        params = params.with_estimate(estimate["hysteresis"] or 0, estimate)
    if original.get("scan_found") is not None:
        params = params.with_scan_found(original["scan_found"])
    return params.attrs()


def scan_found(fmap) -> dict:
    """What ``scan_shape="auto"`` resolved to, for the record: the reader keywords of
    the raster ``fmap`` (a shape as a list), or the shape where the rotator index places
    the frames out of raster order."""
    fmap = as_scan_map(fmap)
    found = {"scan_shape": [int(v) for v in fmap.shape]}
    if isinstance(fmap, ScanMap):
        found.update(
            scan_start_frame=int(fmap.start),
            winding_scan_axis=fmap.winding,
            hysteresis=int(fmap.hysteresis),
        )
    else:
        found["frames"] = "placed by the rotator index"
    return found


class HysteresisUndecidedWarning(UserWarning):
    """``hysteresis="auto"`` could not tell the hysteresis from the pixels: 0 is used."""


def auto_hysteresis(rec: Recording, fmap):
    """The estimate for ``hysteresis="auto"`` on the scan ``fmap`` (``None`` where the
    hysteresis does not apply: a stack, or a scan without winding). Undecided: a
    :class:`HysteresisUndecidedWarning`, and the estimate says ``hysteresis=None``."""
    if not isinstance(fmap, ScanMap) or fmap.winding is None or len(fmap.shape) != 2:
        if isinstance(fmap, IndexMap):
            warnings.warn(
                f"{rec.name}: hysteresis='auto' is estimated for a raster; the rotator "
                "index places these frames otherwise (positions skipped or repeated): 0 "
                "used (give hysteresis=N, or scan_shape, scan_start_frame and "
                "winding_scan_axis)",
                HysteresisUndecidedWarning,
                stacklevel=3,
            )
        return None
    found = estimate_hysteresis(rec, fmap.shape, fmap.start, fmap.winding)
    if not found.decided:
        warnings.warn(
            f"{rec.name}: hysteresis='auto': {found.reason}; 0 used (give hysteresis=N)",
            HysteresisUndecidedWarning,
            stacklevel=3,
        )
    return found


def _estimate_dict(estimate) -> dict:
    if estimate is None:
        return {"hysteresis": 0, "confidence": None, "source": "not applicable"}
    return estimate.as_dict()


def position_frames(opened: OpenedSignal) -> np.ndarray:
    """The global frame index shown at every navigation position (flat, C order), ``-1``
    where no frame was recorded (a scan that started before the recording).

    The whole map in closed form (:func:`~intake_tvips.maths.scan.frame_grid`).
    """
    return frame_grid(opened.fmap).reshape(-1)
