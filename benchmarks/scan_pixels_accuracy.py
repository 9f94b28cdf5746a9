"""How often the whole scan found from the pixels is right, undecided or wrong, end to end.

    python benchmarks/scan_pixels_accuracy.py                    # 162 cases + 18 blind
    python benchmarks/scan_pixels_accuracy.py --seed 2 --cases 54 --blind 6
    python benchmarks/scan_pixels_accuracy.py --small-disc --seed 41  # a disc on few cells

Each case is a recording of ``tests/scan_textures.py`` written to a file with its
``write`` (no positions in the headers: the writer's rotator index is a frame counter),
then ``intake_tvips.detect_scan(path, pixels=True)``. The cases cycle through the 6
contrast textures x 3 doses x windings None/"x"/"y" x junk "blank"/"parked"/"parked_off"
(162 cases: each combination once); the hysteresis is drawn from 0-8 for winding scans,
the shape per axis from ``--sizes``, the junk frames before from 0-7 and after from 0-4.
``--small-disc``: the frames of ``small_disc`` instead (a bright-field disc of radius 0.12
of a 64-pixel detector, nothing else on it, moving up to 2 pixels with the descan).

Verdicts: "right" is ``method="pixels"`` with shape, start and winding the truth and,
for a winding scan, the hysteresis right or undecided (the hysteresis is also counted on
its own: decided-right / undecided / decided-wrong); "undecided" is ``method="none"``;
"headers" is a header method (``rotidx``/``scan_xy``: not a pixels answer); "wrong" is
anything else (printed to stderr with the reason and confidence). The blind set: the
textures that cannot tell (flat, noise-only) and movies (frames whose transmission
drifts as a random walk, no rows) must be undecided. Prints Markdown tables.
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

import intake_tvips  # noqa: E402

WINDINGS = (None, "x", "y")
JUNK = ("blank", "parked", "parked_off")


def _detect(work: Path, name: str, frames: np.ndarray):
    path = st.write(work / f"{name}.tvips", frames)
    try:
        return intake_tvips.detect_scan(path, pixels=True)
    finally:
        for p in work.glob(f"{name}_*"):
            p.unlink()


def _hysteresis_verdict(found, shape, winding, h) -> str:
    if winding is None:
        return "n/a"
    if found.hysteresis_source != "pixels":
        return "undecided"
    length = shape[1] if winding == "x" else shape[0]
    return "right" if (found.hysteresis - h) % length == 0 else "wrong"


def judge(found, truth: dict) -> tuple[str, str, str]:
    """``(verdict, hysteresis verdict, why)`` of one answer against the truth."""
    if found.method in ("rotidx", "scan_xy"):
        return "headers", "n/a", f"header method {found.method}"
    if found.method == "none":
        return "undecided", "n/a", ""
    if found.method != "pixels":
        return "wrong", "n/a", f"method {found.method}"
    got = (found.scan_shape, found.scan_start_frame, found.winding_scan_axis)
    want = (truth["shape"], truth["start"], truth["winding"])
    hv = _hysteresis_verdict(found, truth["shape"], truth["winding"], truth["h"])
    if got != want:
        return "wrong", hv, f"got {got}, truth {want}"
    if hv == "wrong":
        return "wrong", hv, f"hysteresis {found.hysteresis}, truth {truth['h']}"
    return "right", hv, ""


def _frames(small_disc: bool, shape, **kw) -> np.ndarray:
    """A recording of ``tests/scan_textures.py``: ``recording``'s disc and ring on 12
    pixels, or (``small_disc``) ``small_disc``'s disc on a few cells of 64 pixels,
    moving with the descan."""
    if small_disc:
        return st.small_disc(shape, **kw)
    return st.recording(shape, **kw)[0]


def one_case(i: int, rng, sizes, work: Path, small_disc: bool = False) -> dict:
    """Case ``i`` of the cycle: its labels, verdicts and seconds."""
    tex = st.TEXTURES[i % 6]
    dose = st.DOSES[(i // 6) % 3]
    winding = WINDINGS[(i // 18) % 3]
    junk = JUNK[(i // 54) % 3]
    h = int(rng.integers(0, 9)) if winding else 0
    shape = tuple(int(v) for v in rng.choice(sizes, 2))
    before, after = int(rng.integers(0, 8)), int(rng.integers(0, 5))
    seed = int(rng.integers(2**31))
    junk_frames = {"junk_before": before, "junk_after": after, "junk": junk}
    frames = _frames(
        small_disc, shape, texture_name=tex, winding=winding, hysteresis=h, dose=dose,
        seed=seed, **junk_frames,
    )  # fmt: skip
    t0 = time.perf_counter()
    found = _detect(work, f"case{i}", frames)
    seconds = time.perf_counter() - t0
    truth = {"shape": shape, "start": before, "winding": winding, "h": h}
    verdict, hv, why = judge(found, truth)
    label = f"{tex} dose {dose} winding {winding} junk {junk} h={h} {shape} {before}+{after}"
    if verdict == "wrong":
        print(f"  wrong: {label}: {why} (confidence {found.confidence:.2f})", file=sys.stderr)
        print(f"         reason: {found.reason}", file=sys.stderr)
    dose_s = "clean" if dose is None else f"dose {dose:g}"
    return dict(tex=tex, dose=dose_s, winding=str(winding), junk=junk, verdict=verdict, hv=hv,
                seconds=seconds, confidence=found.confidence)  # fmt: skip


def movie(rng) -> np.ndarray:
    """Frames of a movie: a disc whose transmission drifts as a random walk, no rows."""
    n, det = int(rng.integers(600, 4000)), 12
    walk = np.cumsum(rng.normal(0, rng.uniform(0.01, 0.08), n))
    t = 0.6 + 0.4 * np.tanh(walk)
    k = np.arange(det) - (det - 1) / 2
    disc = (np.hypot(*np.meshgrid(k, k)) < 3).astype(float)
    lam = 100 * t[:, None, None] * disc + 2
    return rng.poisson(lam).astype(np.uint16)


def blind_case(j: int, rng, sizes, work: Path, small_disc: bool = False) -> tuple[str, str]:
    """Blind case ``j``: a flat or noise-only scan, or (every third) a movie."""
    if j % 3 == 2:
        found = _detect(work, f"movie{j}", movie(rng))
        kind = "movie"
    else:
        tex = st.BLIND_TEXTURES[j % 3]
        shape = tuple(int(v) for v in rng.choice(sizes, 2))
        still = {"descan": 0.0} if small_disc else {}  # a disc moving would tell the scan
        frames = _frames(
            small_disc,
            shape,
            **still,
            texture_name=tex,
            winding=WINDINGS[(j // 3) % 3],
            junk_before=int(rng.integers(0, 8)),
            junk_after=int(rng.integers(0, 5)),
            dose=st.DOSES[(j // 9) % 3],
            seed=int(rng.integers(2**31)),
            junk=JUNK[(j // 3) % 3],
        )
        found = _detect(work, f"blind{j}", frames)
        kind = tex
    verdict = {"none": "undecided", "pixels": "wrong"}.get(found.method, "headers")
    if verdict == "wrong":
        print(f"  wrong (blind {kind}): {found.scan_shape} {found.reason}", file=sys.stderr)
    return kind, verdict


def _table(title: str, rows: dict) -> None:
    cols = ("right", "undecided", "headers", "wrong")
    print(f"\n| {title} | " + " | ".join(cols) + " |\n|---|" + "---|" * len(cols))
    for key, c in sorted(rows.items()):
        print(f"| {key} | " + " | ".join(str(c[k]) for k in cols) + " |")


def _confidence_bands(results: list[dict]) -> None:
    """How sure the decided answers were: right and wrong per band of confidence."""
    bands = (("at most 0.5", 0.0, 0.5), ("0.5-0.9", 0.5, 0.9), ("above 0.9", 0.9, 1.0))
    print("\n| confidence | right | wrong |\n|---|---|---|")
    for name, lo, hi in bands:
        c = collections.Counter(
            r["verdict"]
            for r in results
            if (lo < r["confidence"] or lo == 0) and r["confidence"] <= hi
        )
        print(f"| {name} | {c['right']} | {c['wrong']} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=162)
    ap.add_argument("--blind", type=int, default=18, help="flat, noise-only and movie cases")
    ap.add_argument("--sizes", default="24,32,48,64,96", help="scan sizes per axis")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--small-disc",
        action="store_true",
        help="a small disc on a few cells of a 64-pixel detector, moving with the descan",
    )
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rng = np.random.default_rng(args.seed)
    results, blind = [], collections.defaultdict(collections.Counter)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.cases):
            results.append(one_case(i, rng, sizes, Path(tmp), args.small_disc))
        for j in range(args.blind):
            kind, verdict = blind_case(j, rng, sizes, Path(tmp), args.small_disc)
            blind[kind][verdict] += 1
    secs = [r["seconds"] for r in results]
    print(
        f"seed {args.seed}: {args.cases} cases + {args.blind} blind, sizes {sizes}, "
        f"{time.perf_counter() - t0:.0f} s; detect_scan per case: median "
        f"{np.median(secs):.2f} s ({min(secs):.2f}-{max(secs):.2f})"
    )
    for title, keys in (("texture, dose", ("tex", "dose")), ("junk, winding", ("junk", "winding"))):
        rows = collections.defaultdict(collections.Counter)
        for r in results:
            rows[", ".join(r[k] for k in keys)][r["verdict"]] += 1
            rows["**all**"][r["verdict"]] += 1
        _table(title, rows)
    _table("blind", blind)
    _confidence_bands(results)
    hyst = collections.Counter(r["hv"] for r in results if r["hv"] != "n/a")
    print(
        f"\nhysteresis of the winding scans found from the pixels: decided-right "
        f"{hyst['right']}, undecided {hyst['undecided']}, decided-wrong {hyst['wrong']}"
    )


if __name__ == "__main__":
    main()
