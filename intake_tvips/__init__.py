"""intake-tvips: TVIPS camera streams (``.tvips``) in the PyData stack.

Read any fsspec URL lazily into dask or eagerly into numpy, reconstruct 4D-STEM
scans, write recordings back, and use them from Intake catalogs (driver ``tvips``).

The public names are imported on first use, so that ``import intake`` (which imports
this package's Intake plugin) stays cheap.
"""

from __future__ import annotations

import importlib
from pathlib import Path

__version__ = "0.1.0"

#: public name -> module that defines it
_PUBLIC = {
    "file_reader": ".reading.reader",
    "file_writer": ".writers.tvips",
    "TVIPSFormatError": ".errors",
    "TruncatedRecordingWarning": ".maths.frame_index",
    "frame_headers": ".recording.headers",
    "detect_scan": ".recording.detect",
    "ScanDetection": ".recording.detect",
    "ScanParameters": ".maths.scan_parameters",
    "estimate_hysteresis": ".recording.pixels",
    "HysteresisEstimate": ".recording.pixels",
    "HysteresisUndecidedWarning": ".reading.opened",
    "to_zarr": ".writers.zarr",
    "references": ".integrations.virtual_zarr",
    "write_references": ".integrations.virtual_zarr",
    "load_hyperspy": ".integrations.hyperspy",
    "open_recording": ".recording.core",
    "Recording": ".recording.core",
    "recording_info": ".reading.info",
    "scan_frame_numbers": ".reading.scan_frames",
    "TVIPSSource": ".integrations.intake_source",
    "strip_url_credentials": ".storage.secrets",
    "catalog_safe_options": ".storage.secrets",
    "MissingDependencyError": "._optional",
    "require": "._optional",
    "catalog_entry": ".integrations.catalog_file",
    "CatalogEntry": ".integrations.catalog_file",
    "view": ".viewer",
    "crop": ".process.geometry",
    "bin_frames": ".process.geometry",
    "rotate_flip": ".process.geometry",
    "CroppedEdgeWarning": ".process.geometry",
    "sample_frames": ".process.sample",
    "find_bad_pixels": ".process.pixels",
    "BadPixels": ".process.pixels",
    "replace_pixels": ".process.pixels",
    "median_filter": ".process.filters",
    "gaussian_filter": ".process.filters",
    "to_uint8": ".process.intensity",
    "intensity_range": ".process.intensity",
    "beam_centres": ".process.centre",
    "recentre": ".process.centre",
    "virtual_image": ".process.virtual",
    "disc_mask": ".process.virtual",
    "annulus_mask": ".process.virtual",
    "mean_pattern": ".process.virtual",
    "max_pattern": ".process.virtual",
    "write_blockfile": ".writers.blockfile",
    "write_tiff": ".writers.tiff",
    "store_exists": ".storage.filesystem",
    "progress_shown": ".recording.pixel_progress",
}

__all__ = sorted([*_PUBLIC, "catalogs_dir"])


def catalogs_dir() -> Path:
    """The folder of the example Intake catalogs shipped with the package.

    ``demo.yaml`` (what ``intake-tvips demo`` writes), ``scan_parameters.yaml`` (scan
    settings as user parameters), ``s3.yaml`` (an object store, endpoint and credentials
    from the environment), ``http.yaml`` (a server that honours Range requests) and a
    ``README.md``.
    """
    return Path(__file__).parent / "catalogs"


def __getattr__(name: str):
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'intake_tvips' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_PUBLIC))
