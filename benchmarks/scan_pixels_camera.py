"""The pixel-based estimates on recordings of a second, independent make
(``tests/scan_camera.py``): Bragg spots by grain, descan, a drifting beam current,
gain, dark offset, read noise, hot pixels, detectors of 16-64 pixels.

    python benchmarks/scan_pixels_camera.py --seed 101 --cases 150
    python benchmarks/scan_pixels_camera.py --hysteresis --seed 201 --cases 120

Without ``--hysteresis``: ``detect_scan(path, pixels=True)`` per case, judged as in
``scan_pixels_accuracy.py`` (right / undecided / wrong; wrong answers printed with their
confidence). With it: ``estimate_hysteresis`` given the true shape, start and winding,
winding scans only. Each case draws its texture (the six of ``scan_textures`` or, one
case in five, a real image), winding, hysteresis 0-8, shape 24-96 per axis and the
camera: detector 16/32/64, dose noise-free/200/30/8, beam current lost 0/10/30 %, gain
1/3.5/10, offset 0/20/100, read noise 0/2/5, 0-3 hot pixels, descan 0/1.5/4 pixels,
time drift of the disc 0 (two cases in three) or 0.5 pixels; junk of ``JUNK``.
``--bits 8``: every case recorded as an 8-bit stream (``scan_camera.eight_bit``: the
ADU shifted right until the brightest 0.5 % of the pixels fit in 8 bits, clipped at
255), the cases drawn otherwise as for 16 bits.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import scan_camera as sp  # noqa: E402
import scan_pixels_accuracy as acc  # noqa: E402

import intake_tvips  # noqa: E402

st = acc.st


def draw(rng) -> dict:
    """One case's settings."""
    texture = st.TEXTURES[rng.integers(6)]
    if rng.random() >= 0.8:
        texture = "image/" + st.IMAGES[rng.integers(len(st.IMAGES))]
    winding = [None, "x", "y"][rng.integers(3)]
    camera = sp.Camera(
        detector=int(rng.choice([16, 32, 64])),
        dose=[None, 200.0, 30.0, 8.0][rng.integers(4)],
        drift=float(rng.choice([0, 0.1, 0.3])),
        gain=float(rng.choice([1, 3.5, 10])),
        offset=float(rng.choice([0, 20, 100])),
        read_noise=float(rng.choice([0, 2, 5])),
        hot_pixels=int(rng.integers(0, 4)),
        descan=float(rng.choice([0, 1.5, 4])),
        time_drift=float(rng.choice([0, 0, 0.5])),
    )
    junk = sp.JUNK[rng.integers(len(sp.JUNK))]
    before, after = (0, 0) if junk == "none" else (int(rng.integers(0, 8)), int(rng.integers(0, 5)))
    return dict(
        shape=tuple(int(v) for v in rng.choice([24, 32, 48, 64, 96], 2)),
        camera=camera,
        texture_name=texture,
        winding=winding,
        hysteresis=int(rng.integers(0, 9)) if winding else 0,
        junk=junk,
        junk_before=before,
        junk_after=after,
        seed=int(rng.integers(2**31)),
    )


def label(case: dict) -> str:
    c = case["camera"]
    return (
        f"{case['texture_name']} {case['shape']} winding {case['winding']} "
        f"h={case['hysteresis']} {case['junk']} {case['junk_before']}+{case['junk_after']}; "
        f"detector {c.detector}, dose {c.dose}, drift {c.drift}, gain {c.gain}, offset "
        f"{c.offset}, read {c.read_noise}, hot {c.hot_pixels}, descan {c.descan}, time "
        f"drift {c.time_drift}"
    )


def one(case: dict, work: Path, hysteresis: bool) -> tuple[str, str]:
    """``(verdict, why)`` of one case."""
    args = {k: v for k, v in case.items() if k not in ("shape", "camera")}
    frames = sp.recording(case["shape"], case["camera"], **args)
    if not hysteresis:
        found = acc._detect(work, "case", frames)
        truth = dict(
            shape=case["shape"], start=case["junk_before"], winding=case["winding"],
            h=case["hysteresis"],
        )  # fmt: skip
        verdict, _, why = acc.judge(found, truth)
        return verdict, f"{why} (confidence {found.confidence:.2f})"
    path = st.write(work / "case.tvips", frames)
    try:
        e = intake_tvips.estimate_hysteresis(
            path, case["shape"], case["junk_before"], case["winding"]
        )
    finally:
        for p in work.glob("case*"):
            p.unlink()
    if e.hysteresis is None:
        return "undecided", e.reason
    length = case["shape"][1] if case["winding"] == "x" else case["shape"][0]
    right = (e.hysteresis - case["hysteresis"]) % length == 0
    return ("right" if right else "wrong"), f"{e.hysteresis} (confidence {e.confidence:.2f})"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=101)
    ap.add_argument("--cases", type=int, default=150)
    ap.add_argument("--hysteresis", action="store_true")
    ap.add_argument(
        "--bits", type=int, choices=(8, 16), default=16, help="8: every case an 8-bit stream"
    )
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    done = 0
    with tempfile.TemporaryDirectory() as tmp:
        while done < args.cases:
            case = draw(rng)
            case["camera"] = replace(case["camera"], bits=args.bits)  # draws nothing
            if args.hysteresis and not case["winding"]:
                continue
            done += 1
            verdict, why = one(case, Path(tmp), args.hysteresis)
            counts[case["junk"]][verdict] += 1
            if verdict == "wrong":
                print(f"WRONG {label(case)}: {why}", file=sys.stderr, flush=True)
    print("| junk | right | undecided | wrong |\n|---|---|---|---|")
    for junk, c in sorted(counts.items()):
        print(f"| {junk} | {c['right']} | {c['undecided']} | {c['wrong']} |")
    total = sum(counts.values(), collections.Counter())
    print(f"| **all** | {total['right']} | {total['undecided']} | {total['wrong']} |")


if __name__ == "__main__":
    main()
