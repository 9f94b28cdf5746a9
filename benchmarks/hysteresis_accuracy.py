"""How often ``estimate_hysteresis`` is right, undecided or wrong, by texture and dose.

    python benchmarks/hysteresis_accuracy.py                 # 192 cases, about 3 min
    python benchmarks/hysteresis_accuracy.py --cases 480 --sizes 32,64,128
    python benchmarks/hysteresis_accuracy.py --hysteresis 14-20   # beyond the range tried
    python benchmarks/hysteresis_accuracy.py --gratings            # periodic samples
    python benchmarks/hysteresis_accuracy.py --images              # real images

Each case is a recording of ``tests/scan_textures.py``: a texture (particles, grains,
lamellae, diagonal waves, a smooth gradient, the demo's smiley; flat and noise-only ones
that cannot tell a shift), a dose (noise-free, 200 or 20 counts per bright-field pixel),
a winding (x or y), a hysteresis drawn from 0-8, a shape drawn from ``--sizes`` per axis,
junk frames before (0-5) and after (0-3). The estimate gets the true shape, start and
winding. Prints a Markdown table; "wrong" is a decided answer that is not the truth
(modulo the line length). With ``--gratings`` the textures are periodic samples instead
(``scan_textures.GRATINGS``: a cross grating, lamellae along y, an oblique grating, with
periods of 4-16 positions along x and y): a roll by a whole period along the lines
looks alike, so the estimate must say so, not guess. With ``--images`` the samples are
crops of scikit-image's bundled images (``scan_textures.IMAGES``: bricks, gravel, grass,
the cameraman, coins, the moon, text, a page, a horse), resized to the scan: textures
that change across the lines faster, or more coarsely, than the generator's.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import scan_textures as st  # noqa: E402

from intake_tvips import estimate_hysteresis  # noqa: E402


def one_case(
    i: int, rng, sizes, work: Path, hyst=(0, 8), samples: str = "textures"
) -> tuple[str, str, str]:
    textures = {"gratings": st.GRATINGS, "images": st.IMAGES}.get(
        samples, st.TEXTURES + st.BLIND_TEXTURES
    )
    tex = textures[i % len(textures)]
    dose = st.DOSES[(i // len(textures)) % len(st.DOSES)]
    winding = "xy"[(i // (len(textures) * len(st.DOSES))) % 2]
    h = int(rng.integers(hyst[0], hyst[1] + 1))
    shape = tuple(int(v) for v in rng.choice(sizes, 2))
    before, after = int(rng.integers(0, 6)), int(rng.integers(0, 4))
    if samples == "gratings":
        p, q = (float(v) for v in rng.choice([4, 6, 8, 12, 16, 5.5, 9.3], 2))
        tex = f"{tex}/{p:g}/{q:g}"
    elif samples == "images":
        tex = f"image/{tex}"
    frames, truth = st.recording(
        shape,
        texture_name=tex,
        winding=winding,
        hysteresis=h,
        junk_before=before,
        junk_after=after,
        dose=dose,
        seed=i,
    )
    path = st.write(work / f"case{i}.tvips", frames)
    found = estimate_hysteresis(path, shape, before, winding)
    for p in work.glob(f"case{i}_*"):
        p.unlink()
    length = shape[1] if winding == "x" else shape[0]
    if found.hysteresis is None:
        verdict = "undecided"
    elif (found.hysteresis - h) % length == 0:
        verdict = "right"
    else:
        verdict = "wrong"
        print(f"  wrong: {tex} dose {dose} {winding} h={h} {shape}: {found}", file=sys.stderr)
    tex = tex.split("/")[1 if samples == "images" else 0]
    ideal = st.ideal_separation(truth, winding, h, dose) if tex != "noise_only" else 0.0
    if verdict != "right" and ideal > 0:
        print(
            f"  {verdict}: {tex} dose {dose} {winding} h={h} {shape}, ideal {ideal:.1f}",
            file=sys.stderr,
        )
    return tex, "clean" if dose is None else f"dose {dose:g}", verdict, ideal


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=192)
    ap.add_argument("--sizes", default="32,48,64,96,128", help="scan sizes per axis")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--hysteresis",
        default="0-8",
        help="range of the true values; e.g. 14-20 lies beyond the range tried (-12..12): "
        "every answer must be undecided",
    )
    ap.add_argument("--gratings", action="store_true", help="periodic samples only")
    ap.add_argument("--images", action="store_true", help="real images as samples only")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    hyst = tuple(int(v) for v in args.hysteresis.split("-"))
    samples = "gratings" if args.gratings else "images" if args.images else "textures"
    rng = np.random.default_rng(args.seed)
    table = collections.defaultdict(collections.Counter)
    by_ideal = collections.defaultdict(collections.Counter)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.cases):
            tex, dose, verdict, ideal = one_case(i, rng, sizes, Path(tmp), hyst, samples)
            table[(tex, dose)][verdict] += 1
            by_ideal[_ideal_bin(ideal)][verdict] += 1
    print(f"{args.cases} cases, sizes {sizes}, {time.perf_counter() - t0:.0f} s\n")
    print("| texture | dose | right | undecided | wrong |\n|---|---|---|---|---|")
    totals = collections.defaultdict(collections.Counter)
    for (tex, dose), c in sorted(table.items()):
        print(f"| {tex} | {dose} | {c['right']} | {c['undecided']} | {c['wrong']} |")
        kind = "blind" if tex in st.BLIND_TEXTURES else "contrast"
        totals[kind].update(c)
    for kind, c in totals.items():
        n = sum(c.values())
        print(
            f"| **{kind}** | all | {c['right']} ({c['right'] / n:.0%}) | {c['undecided']} "
            f"| {c['wrong']} |"
        )

    print("\n| ideal test (sd) | right | undecided | wrong |\n|---|---|---|---|")
    for lo in IDEAL_BINS:
        c = by_ideal[lo]
        if c:
            print(f"| {_bin_name(lo)} | {c['right']} | {c['undecided']} | {c['wrong']} |")


#: lower edges of the bins of the ideal test's separation (standard deviations)
IDEAL_BINS = (0.0, 3.0, 5.0, 10.0, 30.0, np.inf)


def _ideal_bin(z: float) -> float:
    """The lower edge of ``z``'s bin in :data:`IDEAL_BINS`."""
    return max(lo for lo in IDEAL_BINS if z >= lo)


def _bin_name(lo: float) -> str:
    if lo == np.inf:
        return "noise-free"
    hi = IDEAL_BINS[IDEAL_BINS.index(lo) + 1]
    return f"{lo:g}-{hi:g}" if hi != np.inf else f">= {lo:g}"


if __name__ == "__main__":
    main()
