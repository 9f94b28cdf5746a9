"""A recording opened with its scan map, axes and metadata, but no dask graph.

What the reader, the xarray backend and the references (virtual Zarr) share: the parts
and frame index (where each frame's bytes are), the scan map (which frame shows at each
position, :func:`intake_tvips.recording.scan_map.frame_map`) and the dictionaries
:func:`intake_tvips.file_reader` returns besides ``data``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from intake_tvips.maths.scan import StackMap, frame_grid
from intake_tvips.metadata import build_metadata, original_metadata, scan_axes, stack_axes
from intake_tvips.recording.core import Recording, open_recording, time_axis_headers
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
    #: the scan parameters as given (``scan_shape`` may be ``"auto"``)
    scan_parameters: dict

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
        return {"source": mask_url(self.rec.name), "scan_parameters": dict(self.scan_parameters)}


def open_signal(
    url,
    scan_shape=None,
    scan_start_frame: int = 0,
    winding_scan_axis: str | None = None,
    hysteresis: int = 0,
    storage_options: dict | None = None,
) -> OpenedSignal:
    """Open ``url`` (or take an opened :class:`Recording`) and check the scan parameters,
    as :func:`intake_tvips.file_reader` does, without building the array (small header
    reads only)."""
    rec = url if isinstance(url, Recording) else open_recording(url, storage_options)
    fmap = frame_map(rec, scan_shape, scan_start_frame, winding_scan_axis, hysteresis)
    if isinstance(fmap, StackMap):
        axes = stack_axes(rec.n_frames, rec.header, time_axis_headers(rec))
    else:
        axes = scan_axes(tuple(fmap.shape), rec.header, rec.first_frame_headers)
    return OpenedSignal(
        rec,
        fmap,
        axes,
        build_metadata(rec.name, rec.header, rec.first_frame_headers),
        original_metadata(rec.header),
        {
            "scan_shape": scan_shape,
            "scan_start_frame": scan_start_frame,
            "winding_scan_axis": winding_scan_axis,
            "hysteresis": hysteresis,
        },
    )


def position_frames(opened: OpenedSignal) -> np.ndarray:
    """The global frame index shown at every navigation position (flat, C order), ``-1``
    where no frame was recorded (a scan that started before the recording).

    The whole map in closed form (:func:`~intake_tvips.maths.scan.frame_grid`).
    """
    return frame_grid(opened.fmap).reshape(-1)
