"""One viewer session: the recording opened, its scan parameters detected (or given), the
first pass running, a hysteresis suggestion where the package offers one, single frames
read on demand, and the chosen parameters written to the one catalog given at start.

Everything the page may learn goes through :meth:`ViewSession.info` and the methods
below; none of them returns storage options or credentials.
"""

from __future__ import annotations

import dataclasses
import math
import os
import threading

import numpy as np

from intake_tvips.integrations.catalog_file import catalog_entry, check_name
from intake_tvips.recording.core import open_recording
from intake_tvips.recording.detect import detect_scan
from intake_tvips.recording.pixels import estimate_hysteresis
from intake_tvips.storage.secrets import strip_url_credentials
from intake_tvips.viewer.scan_pass import ScanPass, read_frames
from intake_tvips.viewer.state import (
    CellSums,
    Detector,
    ExactValues,
    ScanChoice,
    ViewError,
    binned,
    display_bin,
    find_disc,
    place,
)


def initial_scan(rec, scan_shape, start, winding, hysteresis) -> tuple[ScanChoice, str]:
    """The parameters the page opens with, and whence they came (words)."""
    return _opening(rec, scan_shape, start, winding, hysteresis)[:2]


def _opening(rec, scan_shape, start, winding, hysteresis):
    """:func:`initial_scan`'s ``(choice, origin)`` and the hysteresis estimate made on
    the way (a guessed winding scan's, where neither its start nor its winding was
    given otherwise), else ``None``: the session's suggestion, not made twice."""
    estimate = None
    if scan_shape == "auto":
        (shape, s0, w0, h0), origin, estimate = _detected(rec)
    elif scan_shape is None:
        shape, s0, w0, h0 = _square(rec.n_frames), 0, None, 0
        origin = "a stack; a square guess shown"
    else:
        shape, s0, w0, h0 = tuple(int(n) for n in scan_shape), 0, None, 0
        origin = "given"
    if len(shape) != 2:
        raise ViewError(f"the viewer shows scans of two axes (ny, nx), got scan_shape {shape}")
    choice = ScanChoice(
        shape,
        s0 if start is None else int(start),
        w0 if winding is None else winding,
        h0 if hysteresis is None else int(hysteresis),
    )
    choice.frames(rec.n_frames)  # checked now, named if bad
    return choice, origin, estimate if start is None and winding is None else None


def _detected(rec) -> tuple[tuple, str, object]:
    """``((shape, start, winding, hysteresis), whence, estimate)``: the scan the headers
    give; where they give none, the pixels' (the whole scan from a bounded sample,
    :func:`~intake_tvips.recording.scan_pixels.scan_from_pixels`), or the one they lean
    to where they decide none (``ScanDetection.guess``, its hysteresis ``estimate``d
    where it winds; else ``None``), or a square."""
    from intake_tvips.recording.scan_pixels import detect_with_pixels

    found = detect_scan(rec)
    if found.scan_shape is None:
        found = detect_with_pixels(found, rec)
    if found.scan_shape is not None:
        shape, start = tuple(found.scan_shape), found.scan_start_frame
        whence = f"detected ({found.method}, confidence {found.confidence:.1%}): {found.reason}"
        return (shape, start, found.winding_scan_axis, found.hysteresis), whence, None
    if found.guess is not None:
        g = found.guess
        shape, start = tuple(g["scan_shape"]), g["scan_start_frame"]
        winding = g["winding_scan_axis"]
        whence = f"guessed from the pixels (rows of {shape[1]} frames, not decided: tune it)"
        est = None if winding is None else estimate_hysteresis(rec, shape, start, winding)
        hysteresis, how = _guessed_hysteresis(est)
        return (shape, start, winding, hysteresis), f"{whence}{how}: {found.reason}", est
    scan = (_square(rec.n_frames), 0, None, 0)
    return scan, f"no scan detected ({found.reason}); a square guess shown", None


def _guessed_hysteresis(est) -> tuple[int, str]:
    """The hysteresis a guessed scan opens with, from its estimate ``est`` (``None``
    where the scan does not wind), as for a scan decided: ``(value, words)``, 0 where
    undecided or the scan does not wind."""
    if est is None:
        return 0, ""
    if not est.decided:
        return 0, "; hysteresis 0, undecided on it"
    return est.hysteresis, f"; hysteresis {est.reason}"


def _square(n: int) -> tuple[int, int]:
    side = max(1, math.isqrt(n))
    return side, side


class ViewSession:
    """The model behind the page: see the module's docstring."""

    def __init__(
        self,
        urlpath,
        storage_options: dict | None = None,
        scan_shape="auto",
        scan_start_frame: int | None = None,
        winding_scan_axis: str | None = None,
        hysteresis: int | str | None = None,
        catalog=None,
        entry: str = "scan",
    ):
        self.storage_options = dict(storage_options or {})
        self.rec = open_recording(urlpath, self.storage_options)
        if len(self.rec.layout.frame_shape) != 2 or self.rec.n_frames == 0:
            raise ViewError(f"{self.rec.name}: no frames to show")
        auto = isinstance(hysteresis, str) and hysteresis == "auto"
        self.scan, self.origin, estimate = _opening(
            self.rec, scan_shape, scan_start_frame, winding_scan_axis, None if auto else hysteresis
        )
        self.catalog = None if catalog is None else os.path.abspath(os.fspath(catalog))
        if self.catalog is not None:
            check_name(entry)
        self.entry = entry
        #: whether the page's "replace" box starts ticked (an entry opened from a catalog)
        self.replace_default = False
        self.sums = CellSums(self.rec.n_frames, self.rec.layout.frame_shape)
        self.scan_pass = ScanPass(self.rec, self.sums)
        #: the hysteresis estimate the page offers (made opening a guess already)
        self.suggestion: dict | None = None if estimate is None else _suggestion(estimate)
        self._default: Detector | None = None
        #: the exact pass asked for last (one at a time), and its values
        self.exact: ExactValues | None = None
        self.exact_pass: ScanPass | None = None
        if auto:  # hysteresis="auto": the estimate, before the page opens
            if self.suggestion is None:
                self._suggest()
            found = (self.suggestion or {}).get("hysteresis")
            if found is not None:
                self.scan = dataclasses.replace(self.scan, hysteresis=int(found))
                self.origin += f"; hysteresis {found} estimated from the pixels"

    def start(self) -> ViewSession:
        """Start the first pass and, where offered, the hysteresis estimate."""
        self.scan_pass.start()
        if self.suggestion is None:
            name = "tvips-view-hysteresis"
            threading.Thread(target=self._suggest, name=name, daemon=True).start()
        return self

    def stop(self) -> None:
        self.scan_pass.stop()
        if self.exact_pass is not None:
            self.exact_pass.stop()

    def start_exact(self, detector: Detector) -> None:
        """Read the recording again for the exact values of ``detector`` (the cells'
        values are exact only where a cell is wholly in or out); stops an earlier one."""
        if self.exact_pass is not None:
            self.exact_pass.stop()
        self.exact = ExactValues(self.rec.n_frames, self.rec.layout.frame_shape, detector)
        self.exact_pass = ScanPass(self.rec, self.exact).start()

    def _suggest(self) -> None:
        import intake_tvips

        estimate = getattr(intake_tvips, "estimate_hysteresis", None)
        if estimate is None or self.scan.winding is None:
            return
        try:
            got = estimate(
                self.rec,  # opened already (a URL, with storage options, also does)
                self.scan.shape,
                scan_start_frame=self.scan.start,
                winding_scan_axis=self.scan.winding,
                storage_options=self.storage_options,
            )
        except Exception as e:  # a suggestion is optional: say why there is none
            self.suggestion = {"hysteresis": None, "confidence": 0.0, "reason": str(e)}
            return
        self.suggestion = _suggestion(got)

    # ------------------------------------------------------------------ what the page reads

    def info(self) -> dict:
        """What the page shows once: the recording, the scan, the catalog target."""
        layout = self.rec.layout
        return {
            "name": strip_url_credentials(self.rec.name),
            "n_frames": self.rec.n_frames,
            "frame_shape": list(layout.frame_shape),
            "dtype": str(np.dtype(layout.dtype)),
            "grid": list(self.sums.grid.shape),
            "display_bin": display_bin(layout.frame_shape),
            "exact": self.sums.grid.exact,
            "scan": scan_json(self.scan),
            "origin": self.origin,
            "catalog": None
            if self.catalog is None
            else {"path": self.catalog, "entry": self.entry, "replace": self.replace_default},
        }

    def status(self) -> dict:
        """Progress of the pass, the hysteresis suggestion, the default detector."""
        out = self.scan_pass.progress()
        out["suggestion"] = self.suggestion
        det = self.default_detector()
        out["detector"] = None if det is None else detector_json(det)
        out["exact"] = None
        if self.exact_pass is not None:
            out["exact"] = {**self.exact_pass.progress(), **detector_json(self.exact.detector)}
        return out

    def default_detector(self) -> Detector | None:
        """The bright-field disc of the mean pattern, found once a chunk is read."""
        if self._default is None and self.sums.frames_done:
            self._default = find_disc(self.sums.mean_pattern())
        return self._default

    def image(self, detector: Detector, scan: ScanChoice) -> tuple[np.ndarray, bool]:
        """``(virtual image, exact)``: from the exact pass when it has ended for this
        detector (or the cells are pixels), else from the cells."""
        done = self.exact_pass is not None and self.exact_pass.finished is not None
        if done and self.exact_pass.error is None and self.exact.detector == detector:
            return place(self.exact.values, scan), True
        return self.sums.image(detector, scan), self.sums.grid.exact

    def mean_pattern(self) -> np.ndarray:
        """The mean of the frames read so far, binned for display."""
        mean = self.sums.mean_pattern()
        return binned(mean, display_bin(mean.shape)).astype(np.float32)

    def pattern(self, y: int, x: int, scan: ScanChoice) -> tuple[int, np.ndarray | None]:
        """``(frame, pattern)`` at scan position ``(y, x)`` (one frame read, binned for
        display; ``None`` where no frame is recorded there)."""
        ny, nx = scan.shape
        if not (0 <= y < ny and 0 <= x < nx):
            raise ViewError(f"position ({y}, {x}) is outside the {ny} x {nx} scan")
        frame = int(scan.frames(self.rec.n_frames)[y, x])
        if frame < 0:
            return frame, None
        pattern = read_frames(self.rec, frame, frame + 1)[0]
        return frame, binned(pattern, display_bin(pattern.shape))

    def write_catalog(self, scan: ScanChoice, replace: bool = False) -> dict:
        """Write ``scan`` as entry ``self.entry`` of the catalog given at start."""
        if self.catalog is None:
            raise ViewError("no catalog was given when the viewer started (--catalog YAML)")
        scan.frames(self.rec.n_frames)
        description = (
            f"scan parameters chosen in intake-tvips view: {scan.shape[0]} x {scan.shape[1]} "
            f"from frame {scan.start}, winding {scan.winding}, hysteresis {scan.hysteresis}"
        )
        e = catalog_entry(
            self.entry,
            self.rec.name,
            scan.reader_kwargs(),
            self.storage_options,
            description,
            self.catalog,
        )
        what = e.write(self.catalog, force=replace)
        return {"what": what, "path": self.catalog, "entry": self.entry, "yaml": _shown(e)}


def _shown(e) -> str:
    """The entry's YAML for the page: its storage options (no secrets, but still the
    storage's settings) named by their keys only."""
    args = dict(e.entry["args"])
    kept = args.pop("storage_options", None)
    text = type(e)(e.name, {**e.entry, "args": args}).yaml()
    if kept:
        text += f"# and storage_options ({', '.join(kept)}): written, not shown here\n"
    return text


def scan_json(scan: ScanChoice) -> dict:
    return {
        "ny": scan.shape[0],
        "nx": scan.shape[1],
        "start": scan.start,
        "winding": scan.winding,
        "hysteresis": scan.hysteresis,
    }


def detector_json(d: Detector) -> dict:
    return {"cy": d.cy, "cx": d.cx, "r_out": d.r_out, "r_in": d.r_in}


def _suggestion(estimate) -> dict:
    """What the page shows of a hysteresis estimate."""
    return {
        "hysteresis": estimate.hysteresis,
        "confidence": float(estimate.confidence),
        "reason": str(estimate.reason),
    }
