"""The whole scan from the pixels on draws wider than ``scan_pixels_accuracy.py``'s: how
often an answer is wrong, and with what confidence.

    python benchmarks/scan_pixels_stress.py --kind wide --seed 11 --cases 200
    python benchmarks/scan_pixels_stress.py --kind whole --cases 60

Kinds (each case a recording of ``tests/scan_textures.py`` written and
``detect_scan(path, pixels=True)``):

* ``wide``: 4-128 positions per axis, doses down to 5 counts, hysteresis -3..12, junk
  runs of 0-40 frames, 12 or 16 pixel detectors, the blind textures too;
* ``short``: rows of 4-28 frames, 16-128 rows;
* ``rows``: 8-24 rows of 20-128 frames;
* ``whole``: a probe parked on the scan before and after it for a row's worth of frames
  together (the recording holds whole rows);
* ``long``: junk runs of 0-200 frames;
* ``unmarked``: no blanked frame at either end, the start left to a probe parked on the
  scan or to where the rows break: half the cases parked 0-7 + 0-4 frames, half with
  no junk and the scan cut short by 1 to ``nx - 1`` frames (its full rows are the
  truth), a third of them over the periodic samples of ``grating``;
* ``junk``: junk frames of other kinds, 1-7 before the scan and 0-4 after it: the beam
  beside the sample (``vacuum``: the full disc, which the samples' most transparent
  parts match) or moving over it (``wander``: patterns of random positions);
* ``grating``: periodic samples (a cross grating, lamellae, an oblique grating with
  periods of 4-16 positions): a known weakness (README).

Prints the counts and every wrong answer with its confidence.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scan_pixels_accuracy as acc  # noqa: E402

st = acc.st
KINDS = ("wide", "short", "rows", "whole", "long", "grating", "unmarked", "junk")


def draw(kind: str, rng) -> dict:
    """One case's settings."""
    case = dict(
        texture_name=st.TEXTURES[rng.integers(6)],
        dose=[None, 200.0, 20.0][rng.integers(3)],
        winding=[None, "x", "y"][rng.integers(3)],
        junk=["blank", "parked", "parked_off"][rng.integers(3)],
        junk_before=int(rng.integers(0, 8)),
        junk_after=int(rng.integers(0, 5)),
        seed=int(rng.integers(2**31)),
    )
    shape = tuple(int(v) for v in rng.choice([24, 32, 48, 64, 96], 2))
    if kind == "wide":
        sizes = [4, 5, 8, 12, 17, 24, 31, 50, 64, 100, 128]
        shape = tuple(int(v) for v in rng.choice(sizes, 2))
        shape = (shape[0], max(4, min(shape[1], 9000 // shape[0])))
        case.update(
            texture_name=(st.TEXTURES + st.BLIND_TEXTURES)[rng.integers(8)],
            dose=[None, 200.0, 20.0, 5.0][rng.integers(4)],
            junk_before=int(rng.integers(0, 41)),
            junk_after=int(rng.integers(0, 41)),
            detector=[12, 16][rng.integers(2)],
        )
    elif kind == "short":
        shape = (int(rng.choice([16, 32, 64, 128])), int(rng.integers(4, 29)))
    elif kind == "rows":
        shape = (int(rng.integers(8, 25)), int(rng.choice([20, 24, 32, 48, 64, 96, 128])))
    elif kind == "whole":
        shape = (int(rng.choice([24, 32, 48, 64])), int(rng.choice([12, 16, 24, 32, 48])))
        before = int(rng.integers(0, shape[1] + 1))
        case.update(junk="parked", junk_before=before, junk_after=shape[1] - before)
    elif kind == "long":
        case.update(junk_before=int(rng.integers(0, 200)), junk_after=int(rng.integers(0, 200)))
    elif kind == "junk":
        junk = ["vacuum", "wander"][rng.integers(2)]
        case.update(junk=junk, junk_before=int(rng.integers(1, 8)))
    elif kind == "unmarked":
        case.update(junk="parked")
        if rng.integers(2):
            case.update(junk_before=0, junk_after=0, cut=int(rng.integers(1, shape[1])))
    if case["winding"]:
        low = -3 if kind == "wide" else 0
        case["hysteresis"] = int(
            rng.integers(low, min(13, shape[1 if case["winding"] == "x" else 0]))
        )
    return {"shape": shape, **case}


def one(kind: str, rng, work: Path) -> tuple[str, str, float]:
    """``(verdict, line, confidence)`` of one case."""
    case = draw(kind, rng)
    shape, cut = case.pop("shape"), case.pop("cut", 0)
    if kind == "grating" or (kind == "unmarked" and rng.integers(3) == 0):
        name = st.GRATINGS[rng.integers(3)]
        p, q = (float(v) for v in rng.choice([4, 6, 8, 12, 16, 5.5, 9.3], 2))
        case["texture_name"] = f"{name}/{p:g}/{q:g}"
    label = case["texture_name"]
    frames, _ = st.recording(shape, **case)
    if cut:  # the scan cut short: its full rows are what is right
        frames = frames[:-cut]
    found = acc._detect(work, "case", frames)
    full = (shape[0] - (1 if cut else 0), shape[1])
    truth = {"shape": full, "start": case["junk_before"], "winding": case["winding"]}
    truth["h"] = case.get("hysteresis", 0)
    if label in st.BLIND_TEXTURES:
        verdict, why = ("undecided", "") if found.method == "none" else ("wrong", "blind")
    else:
        verdict, _, why = acc.judge(found, truth)
    line = (
        f"{label} dose {case['dose']} winding {case['winding']} h={truth['h']} {shape} "
        f"{case['junk']} {case['junk_before']}+{case['junk_after']} cut {cut}: {why} "
        f"(confidence {found.confidence:.2f})"
    )
    return verdict, line, found.confidence


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kind", choices=KINDS, default="wide")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--cases", type=int, default=100)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    counts, confident = collections.Counter(), 0
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.cases):
            verdict, line, confidence = one(args.kind, rng, Path(tmp))
            counts[verdict] += 1
            if verdict == "wrong":
                print(f"  wrong: {line}", flush=True)
                confident += confidence > 0.5
    print(f"{args.kind} seed {args.seed}: {dict(counts)}; wrong with confidence > 0.5: {confident}")


if __name__ == "__main__":
    main()
