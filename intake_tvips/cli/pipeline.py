"""``convert``'s processing options and the pipeline they build (public functions only).

The steps run in this order: ``--crop-scan``, ``--crop``, ``--hot-pixels``, ``--bin``,
``--median``, ``--gaussian``, ``--center``, ``--rotate``/``--flip``, then the rescale to
8 bits (``--vmin``/``--vmax``, else percentiles of a bounded sample of frames put through
the same steps). Every step is a pure per-frame function, so the same pipeline serves the
lazy array and the numpy sample.
"""

from __future__ import annotations

import argparse
import warnings
from dataclasses import dataclass, field

PROCESS_OPTIONS = (
    "crop_scan",
    "crop",
    "hot_pixels",
    "bin",
    "median",
    "gaussian",
    "center",
    "rotate",
    "flip",
    "vmin",
    "vmax",
)


def add_process_arguments(p: argparse.ArgumentParser) -> None:
    """The processing and calibration options (for .blo and .tif outputs)."""
    g = p.add_argument_group("processing (.blo and .tif outputs), in this order")
    g.add_argument("--crop-scan", metavar="Y0:Y1,X0:X1", help="keep these scan rows and columns")
    g.add_argument("--crop", metavar="Y0:Y1,X0:X1", help="keep these detector rows and columns")
    g.add_argument(
        "--hot-pixels",
        metavar="auto|VALUE",
        help="replace hot/dead pixels by the median of their 8 neighbours: 'auto' finds "
        "them in a sample of frames; a number replaces every pixel above it in each frame",
    )
    g.add_argument("--bin", type=int, metavar="N", help="the mean over N x N detector pixels")
    g.add_argument("--median", type=int, metavar="SIZE", help="median filter of SIZE x SIZE")
    g.add_argument("--gaussian", type=float, metavar="SIGMA", help="Gaussian filter (pixels)")
    g.add_argument(
        "--center",
        action="store_true",
        help="shift every pattern so that its direct beam (centre of mass of the disc) "
        "sits at the detector's centre",
    )
    g.add_argument("--rotate", type=int, default=0, metavar="K", help="rotate by K x 90 degrees")
    g.add_argument("--flip", choices=("x", "y"), help="flip the patterns (after --rotate)")
    g.add_argument("--vmin", type=float, help="maps to 0 in 8 bits (default: a percentile)")
    g.add_argument("--vmax", type=float, help="maps to 255 in 8 bits (default: a percentile)")
    g.add_argument(
        "--percentiles",
        default="0.1,99.9",
        metavar="LO,HI",
        help="the percentiles of a sample of processed frames used for a missing --vmin / "
        "--vmax (default 0.1,99.9)",
    )
    g.add_argument("--sample", type=int, default=256, metavar="N", help="frames in the sample")
    c = p.add_argument_group("calibration (written into .blo and .tif)")
    c.add_argument("--scan-step", type=float, metavar="NM", help="scan step in nm")
    c.add_argument(
        "--pattern-scale",
        type=float,
        metavar="CM",
        help="detector pixel size in cm after binning (.blo stores SDP = 100 / scale)",
    )


def _span(text: str, option: str) -> tuple[tuple[int, int], tuple[int, int]]:
    try:
        parts = [tuple(int(v) for v in s.split(":")) for s in text.split(",")]
        if len(parts) != 2 or any(len(s) != 2 for s in parts):
            raise ValueError
    except ValueError:
        raise ValueError(f"{option} must be Y0:Y1,X0:X1 (e.g. 0:256,0:256), got {text!r}") from None
    return parts[0], parts[1]


def _percentiles(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"--percentiles must be LO,HI (e.g. 0.1,99.9), got {text!r}") from None
    return lo, hi


@dataclass
class Pipeline:
    """The steps chosen on the command line, applied to an array of frames."""

    args: argparse.Namespace
    bad_pixels: object = None
    notes: list[str] = field(default_factory=list)

    def before_hot_pixels(self, data):
        from intake_tvips import crop

        a = self.args
        if a.crop_scan:
            data = crop(data, scan=_span(a.crop_scan, "--crop-scan"))
        if a.crop:
            data = crop(data, detector=_span(a.crop, "--crop"))
        return data

    def after_hot_pixels(self, data):
        from intake_tvips import (
            CroppedEdgeWarning,
            bin_frames,
            gaussian_filter,
            median_filter,
            recentre,
            replace_pixels,
            rotate_flip,
        )

        a = self.args
        mask = None if self.bad_pixels is None else self.bad_pixels.mask
        threshold = None if a.hot_pixels in (None, "auto") else float(a.hot_pixels)
        if mask is not None or threshold is not None:
            data = replace_pixels(data, mask, threshold)
        if a.bin and a.bin > 1:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", CroppedEdgeWarning)
                data = bin_frames(data, a.bin, "mean")
            for w in caught:
                if str(w.message) not in self.notes:
                    self.notes.append(str(w.message))
        if a.median:
            data = median_filter(data, a.median)
        if a.gaussian:
            data = gaussian_filter(data, a.gaussian)
        if a.center:
            data = recentre(data)
        if a.rotate or a.flip:
            data = rotate_flip(data, a.rotate, a.flip)
        return data


def processed(args: argparse.Namespace, data, to_uint8: bool, scheduler=None):
    """``(lazy processed array, notes)``: the pipeline of ``args`` over ``data``, rescaled
    to uint8 when ``to_uint8`` (vmin/vmax given, or estimated from a bounded sample)."""
    from intake_tvips import find_bad_pixels, intensity_range, sample_frames
    from intake_tvips import to_uint8 as rescale

    if args.hot_pixels not in (None, "auto"):
        try:
            float(args.hot_pixels)
        except ValueError:
            raise ValueError(
                f"--hot-pixels must be auto or a number, got {args.hot_pixels!r}"
            ) from None
    pipe = Pipeline(args)
    data = pipe.before_hot_pixels(data)
    sample = None
    need_range = to_uint8 and (args.vmin is None or args.vmax is None)
    if args.hot_pixels == "auto" or need_range:
        sample = sample_frames(data, args.sample, scheduler)
    if args.hot_pixels == "auto":
        pipe.bad_pixels = find_bad_pixels(None, frames=sample)
        pipe.notes.append(f"hot pixels: {pipe.bad_pixels} replaced by their neighbours' median")
    data = pipe.after_hot_pixels(data)
    if not to_uint8:
        return data, pipe.notes
    vmin, vmax = args.vmin, args.vmax
    if need_range:
        lo, hi = _percentiles(args.percentiles)
        found = intensity_range(None, (lo, hi), frames=pipe.after_hot_pixels(sample))
        vmin = found[0] if vmin is None else vmin
        vmax = found[1] if vmax is None else vmax
        pipe.notes.append(
            f"8 bits: vmin={_num(vmin)}, vmax={_num(vmax)} (percentiles {lo:g} and {hi:g} of "
            f"{len(sample)} processed frames, where not given)"
        )
    else:
        pipe.notes.append(f"8 bits: vmin={_num(vmin)}, vmax={_num(vmax)} (given)")
    return rescale(data, vmin, vmax), pipe.notes


def _num(value: float) -> str:
    """Short when exact (``10``), else every digit (``15614.396555555555``): the printed
    value, given back as ``--vmin``/``--vmax``, rescales the same."""
    short = f"{value:g}"
    return short if float(short) == value else repr(float(value))


def uses_processing(args: argparse.Namespace) -> list[str]:
    """The processing options given (refused for .zarr outputs)."""
    given = [o for o in PROCESS_OPTIONS if getattr(args, o, None) not in (None, False, 0)]
    given += [o for o in ("scan_step", "pattern_scale") if getattr(args, o, None) is not None]
    return ["--" + o.replace("_", "-") for o in given]
