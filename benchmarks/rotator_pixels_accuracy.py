"""How often the pixels complete a rotator-index scan right: its rows and winding.

    python benchmarks/rotator_pixels_accuracy.py --seed 1 --cases 162
    python benchmarks/rotator_pixels_accuracy.py --camera --seed 1 --cases 150

Each case is a recording of ``tests/scan_textures.py`` (the 6 contrast textures x 3
doses x windings None/"x"/"y" x junk "blank"/"parked"/"parked_off" in turn, as
``scan_pixels_accuracy.py``), of a shape whose positions make a square (``n x n`` for n
in 24..96, or 24 x 96 and 96 x 24), written with 60-byte frame headers (no
Scan_x/Scan_y) and a rotator index counting the scan's positions 1 .. ny nx from its
first frame (0 on the junk frames): RosettaSciIO's rule finds the start and the count
and assumes the square, with no winding. ``--camera``: the recordings of
``scan_pixels_camera.py`` (what a camera adds) of those shapes instead.
``--non-square``: shapes whose count is no square (the headers' rule finds no scan; the
count and its first frame are still told, ``ScanDetection.counted``). ``--scan-x``:
no rotator index but ``Scan_x`` (``Scan_y`` 0), which cannot tell winding y from none
(the image of the scan tells), shapes of both lists. Then
``detect_scan(path, pixels=True)``.
Verdicts: "completed right" (rows, winding and start the truth, the hysteresis right or
undecided), "left to the headers" (the pixels did not complete it: the square kept at
confidence 0.5 at most, winding assumed; with ``--scan-x`` the winding assumed), "no
index scan" (a count from frame 0 with no
frame after it is a frame counter to the headers: the whole scan from the pixels, right,
or undecided), "completed wrong" (anything else, printed to stderr). Prints a Markdown
table.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import scan_pixels_camera as cam  # noqa: E402
import scan_textures as st  # noqa: E402
from scan_pixels_accuracy import JUNK, WINDINGS, _hysteresis_verdict  # noqa: E402
from test_headers_with_pixels import write_counted, write_scan_x  # noqa: E402

import intake_tvips  # noqa: E402

SHAPES = [(24, 24), (32, 32), (48, 48), (64, 64), (96, 96), (24, 96), (96, 24)]
#: ``--non-square``: counts that are no square (no scan to the headers' rule)
NON_SQUARE = [(24, 32), (32, 48), (48, 96), (96, 64), (64, 24), (48, 32)]


def _textures_case(i: int, rng, shapes=SHAPES):
    """``(frames, label, shape, winding, h, before, junk)`` of case ``i`` of the cycle."""
    tex, dose = st.TEXTURES[i % 6], st.DOSES[(i // 6) % 3]
    winding, junk = WINDINGS[(i // 18) % 3], JUNK[(i // 54) % 3]
    h = int(rng.integers(0, 9)) if winding else 0
    shape = shapes[int(rng.integers(len(shapes)))]
    before, after = int(rng.integers(1, 8)), int(rng.integers(0, 5))
    frames = st.recording(
        shape, texture_name=tex, winding=winding, hysteresis=h, dose=dose,
        seed=int(rng.integers(2**31)), junk=junk, junk_before=before, junk_after=after,
    )[0]  # fmt: skip
    label = f"{tex} dose {dose} winding {winding} junk {junk} h={h} {shape} {before}+{after}"
    return frames, label, shape, winding, h, before, junk


def _camera_case(rng, shapes=SHAPES):
    """As :func:`_textures_case`, a case of ``scan_pixels_camera.draw`` of one of
    ``shapes``."""
    case = dict(cam.draw(rng), shape=shapes[int(rng.integers(len(shapes)))])
    args = {k: v for k, v in case.items() if k not in ("shape", "camera")}
    frames = cam.sp.recording(case["shape"], case["camera"], **args)
    winding, h, before = case["winding"], case["hysteresis"], case["junk_before"]
    return frames, cam.label(case), case["shape"], winding, h, before, case["junk"]


def one_case(i: int, rng, work: Path, camera: bool = False, shapes=SHAPES, scan_x=False):
    """``(junk, label, verdict)`` of case ``i``."""
    made = _camera_case(rng, shapes) if camera else _textures_case(i, rng, shapes)
    frames, label, shape, winding, h, before, junk = made
    if scan_x:
        path = write_scan_x(work / f"case{i}", frames, shape, before, winding)
    else:
        path = write_counted(work / f"case{i}", frames, before, shape[0] * shape[1])
    found = intake_tvips.detect_scan(path, pixels=True)
    for p in work.glob(f"case{i}_*"):
        p.unlink()
    if found.method in ("rotidx", "scan_xy") and found.winding_assumed:
        return junk, label, "left to the headers"
    if found.method == "none":
        return junk, label, "no index scan"
    got = (found.method, found.scan_shape, found.scan_start_frame, found.winding_scan_axis)
    hv = _hysteresis_verdict(found, shape, winding, h)
    if got[1:] == (shape, before, winding) and hv != "wrong":
        # a count from frame 0 with no frame after it is a frame counter to the headers:
        # the whole scan from the pixels then
        told = found.method in ("rotidx", "scan_xy")
        return junk, label, "completed right" if told else "no index scan"
    print(f"  wrong: {label}: got {got}, h={found.hysteresis} ({hv})", file=sys.stderr)
    return junk, label, "completed wrong"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=108)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--camera", action="store_true", help="scan_pixels_camera's recordings")
    ap.add_argument("--non-square", action="store_true", help="counts that are no square")
    ap.add_argument(
        "--scan-x", action="store_true", help="Scan_x alone (Scan_y 0), no rotator index"
    )
    args = ap.parse_args(argv)
    shapes = NON_SQUARE + SHAPES if args.scan_x else NON_SQUARE if args.non_square else SHAPES
    rng = np.random.default_rng(args.seed)
    rows: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.cases):
            junk, _, verdict = one_case(i, rng, Path(tmp), args.camera, shapes, args.scan_x)
            rows[junk][verdict] += 1
            rows["**all**"][verdict] += 1
    kinds = ("completed right", "left to the headers", "no index scan", "completed wrong")
    print("| junk | " + " | ".join(kinds) + " |\n|---|---|---|---|---|")
    for junk, c in sorted(rows.items()):
        print(f"| {junk} | " + " | ".join(str(c[k]) for k in kinds) + " |")


if __name__ == "__main__":
    main()
