"""Synthetic 4D-STEM recordings for the pixel-based estimates: sample textures, doses,
windings, hysteresis, junk frames, in the order a camera records a winding scan.

Each scan position's pattern is a bright-field disc whose counts follow the sample's
transmission ``t`` and a diffuse ring that brightens where ``t`` drops (what a thicker or
heavier region scatters out of the disc). The frames are laid out with
``reference_grid`` (the documented scan rule, written naively), so a test of an
estimate does not share its index maths with the code it tests.
"""

from __future__ import annotations

import numpy as np
from tvips_factory import reference_grid

#: textures with contrast along both axes (an estimate must decide on these)
TEXTURES = ("particles", "grains", "stripes", "diagonal", "gradient", "smiley")
#: textures that cannot tell a shift along the lines (an estimate must not decide)
BLIND_TEXTURES = ("flat", "noise_only")
#: counts per bright-field pixel: None is noise-free
DOSES = (None, 200.0, 20.0)
#: periodic samples, named ``"KIND/P/Q"`` (periods P along x, Q along y, in positions):
#: a cross grating, lamellae along y, an oblique grating (:func:`grating`)
GRATINGS = ("cross", "lamellae", "oblique")
#: real images (scikit-image's bundled data) as samples, named ``"image/NAME"``: a random
#: crop resized to the scan (:func:`image`); coarse textures (bricks, gravel, grass)
#: change faster across the lines than any texture above
IMAGES = ("brick", "gravel", "grass", "camera", "coins", "moon", "text", "page", "horse")


def texture(name: str, shape: tuple[int, int], rng) -> np.ndarray:
    """The sample's transmission over the scan, in ``[0.2, 1]``."""
    ny, nx = shape
    y, x = np.mgrid[0:ny, 0:nx].astype(float)
    if name.startswith("image/"):
        return image(name.split("/", 1)[1], shape, rng)
    if "/" in name:
        kind, p, q = name.split("/")
        return grating(shape, (float(p), float(q)), kind)
    if name == "particles":
        t = np.ones(shape)
        for _ in range(max(3, ny * nx // 60)):
            cy, cx, r = rng.uniform(0, ny), rng.uniform(0, nx), rng.uniform(1.5, 5)
            t -= rng.uniform(0.2, 0.6) * (np.hypot(y - cy, x - cx) < r)
    elif name == "grains":
        seeds = rng.uniform((0, 0), (ny, nx), size=(max(4, ny * nx // 80), 2))
        d = np.hypot(y[..., None] - seeds[:, 0], x[..., None] - seeds[:, 1])
        t = rng.uniform(0.3, 1.0, size=len(seeds))[d.argmin(axis=-1)]
    elif name == "stripes":  # lamellae across the lines, irregular widths
        edges = np.cumsum(rng.integers(3, 12, size=nx + ny))
        t = np.where(np.searchsorted(edges, x + 0.3 * y) % 2 == 0, 1.0, 0.45)
    elif name == "diagonal":
        t = 0.6 + 0.4 * np.sin((x + y) / rng.uniform(2.5, 6))
    elif name == "gradient":
        t = 0.3 + 0.7 * (x / nx) ** 2 * (0.5 + 0.5 * y / ny)
    elif name == "smiley":
        from intake_tvips.cli.demo_data import sample_object

        full = sample_object(max(shape))
        t = full[:ny, :nx]
    elif name in ("flat", "noise_only"):
        t = np.ones(shape)
    else:
        raise ValueError(name)
    return np.clip(t, 0.2, 1.0)


def grating(shape, periods: tuple[float, float], kind: str) -> np.ndarray:
    """A periodic sample's transmission: ``cross``, ``lamellae`` (along y: it does not
    change along the columns) or ``oblique``, with ``periods`` along x and y."""
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    p, q = periods
    if kind == "cross":
        t = 0.6 + 0.4 * np.sin(2 * np.pi * x / p) * np.sin(2 * np.pi * y / q)
    elif kind == "lamellae":
        t = 0.6 + 0.4 * np.sign(np.sin(2 * np.pi * x / p))
    elif kind == "oblique":
        t = 0.6 + 0.4 * np.sin(2 * np.pi * (x / p + y / q))
    else:
        raise ValueError(kind)
    return np.clip(t, 0.2, 1.0)


def image(name: str, shape: tuple[int, int], rng) -> np.ndarray:
    """A random crop (a third to all of each side) of scikit-image's image ``name``,
    resized to ``shape`` and scaled to ``[0.25, 1]``."""
    import skimage.data
    from skimage.transform import resize

    img = np.asarray(getattr(skimage.data, name)(), dtype=float)
    if img.ndim == 3:
        img = img[..., :3].mean(axis=-1)
    (h, w), (ny, nx) = img.shape, shape
    ch, cw = int(rng.integers(h // 3, h + 1)), int(rng.integers(w // 3, w + 1))
    y0, x0 = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    t = resize(img[y0 : y0 + ch, x0 : x0 + cw], (ny, nx), anti_aliasing=True)
    return 0.25 + 0.75 * (t - t.min()) / (np.ptp(t) or 1.0)


def disc_and_ring(detector: int) -> tuple[np.ndarray, np.ndarray]:
    """The bright-field disc and the diffuse ring of :func:`patterns` on the detector."""
    k = np.arange(detector) - (detector - 1) / 2
    dist = np.hypot(*np.meshgrid(k, k, indexing="ij"))
    disc = (dist < detector * 0.2).astype(float)
    ring = np.exp(-(((dist - detector * 0.32) / (detector * 0.08)) ** 2))
    return disc, ring


def mean_counts(t: np.ndarray, disc: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """``(positions, detector, detector)``: the counts per unit dose :func:`patterns`
    expects for the transmissions ``t`` (flat); their slope in ``t`` is
    ``disc - 0.3 ring``."""
    t = np.asarray(t, dtype=float).reshape(-1, 1, 1)
    return t * disc + 0.3 * (1.2 - t) * ring + 0.02


def patterns(t: np.ndarray, detector: int, dose: float | None, rng) -> np.ndarray:
    """``(positions, detector, detector)`` patterns for the transmissions ``t`` (flat)."""
    level = 1.0 if dose is None else dose
    lam = level * mean_counts(t, *disc_and_ring(detector))
    if dose is None:
        return np.round(lam * 1000).astype(np.uint16)
    return rng.poisson(lam).astype(np.uint16)


def recording(
    shape=(24, 32),
    *,
    texture_name: str = "particles",
    winding: str = "x",
    hysteresis: int = 0,
    junk_before: int = 3,
    junk_after: int = 2,
    dose: float | None = 200.0,
    detector: int = 12,
    seed: int = 0,
    junk: str = "blank",
):
    """``(frames, truth)``: the recorded frames and the sample's transmission.

    ``junk``: the frames before and after the scan are ``"blank"`` (beam blanked: a
    few dark counts), ``"parked"`` (the probe waits on the first or last position:
    its pattern again, with fresh noise), ``"parked_off"`` (the probe waits off the
    scan: one pattern unlike the scan's, its disc shifted), ``"vacuum"`` (the beam beside
    the sample: the full disc, as bright as the sample's most transparent parts) or
    ``"wander"`` (the beam moving over the sample: patterns of random positions)."""
    rng = np.random.default_rng(seed)
    truth = texture(texture_name, shape, rng)
    n = junk_before + shape[0] * shape[1] + junk_after
    grid = reference_grid(shape, junk_before, winding, hysteresis)
    frames = np.zeros((n, detector, detector), dtype=np.uint16)
    frames[grid.reshape(-1)] = patterns(truth.reshape(-1), detector, dose, rng)
    if texture_name == "noise_only":
        frames[grid.reshape(-1)] = patterns(np.ones(grid.size), detector, dose or 50.0, rng)
    before, after = list(range(junk_before)), list(range(n - junk_after, n))
    if junk == "parked_off":  # the probe waits off the scan: a pattern of its own
        off = np.roll(patterns(np.full(len(before) + len(after), 0.6), detector, dose, rng), 2, -1)
        frames[before + after] = off
    elif junk == "parked":
        first, last = truth.reshape(-1)[0], truth.reshape(-1)[grid.reshape(-1).argmax()]
        frames[before] = patterns(np.full(len(before), first), detector, dose, rng)
        frames[after] = patterns(np.full(len(after), last), detector, dose, rng)
    elif junk == "vacuum":  # the beam through vacuum beside the sample: the full disc
        frames[before + after] = patterns(np.ones(len(before) + len(after)), detector, dose, rng)
    elif junk == "wander":  # the beam moving over the sample: frames of random positions
        spots = rng.integers(0, truth.size, len(before) + len(after))
        frames[before + after] = patterns(truth.reshape(-1)[spots], detector, dose, rng)
    else:
        junk_frames = before + after
        frames[junk_frames] = rng.poisson(0.5, size=(len(junk_frames), detector, detector))
    return frames, truth


def small_disc(
    shape=(32, 32),
    *,
    texture_name: str = "grains",
    winding: str | None = None,
    hysteresis: int = 0,
    dose: float | None = 200.0,
    seed: int = 0,
    junk_before: int = 2,
    junk_after: int = 1,
    junk: str = "blank",
    detector: int = 64,
    descan: float = 2.0,
) -> np.ndarray:
    """Frames of a bright-field disc of radius 0.12 ``detector``, its counts following
    the sample, moving up to ``descan`` pixels either way across the scan (the descan),
    nothing else on the detector but dark counts: the sample's signal sits in the few
    detector cells the disc covers. ``junk`` as for :func:`recording` (a probe parked off
    the scan: its disc a quarter of the detector aside)."""
    rng = np.random.default_rng(seed)
    t = texture(texture_name, shape, rng).reshape(-1)
    ny, nx = shape
    y, x = np.mgrid[0:ny, 0:nx].reshape(2, -1) + 0.5
    a, b = rng.uniform(-1.0, 1.0, 2) * descan
    cy, cx = a * (2 * y / ny - 1), b * (2 * x / nx - 1)
    n = junk_before + ny * nx + junk_after
    grid = reference_grid(shape, junk_before, winding, hysteresis).reshape(-1)
    frames = rng.poisson(0.5, size=(n, detector, detector)).astype(np.uint16)  # dark counts
    lit = {"blank": [], "parked": [(0, junk_before), (grid.argmax(), junk_after)]}.get(junk)
    where = [grid] + [np.arange(junk_before), np.arange(n - junk_after, n)]
    if lit is None:  # parked off the scan: one pattern of its own
        pos = np.concatenate([np.arange(ny * nx), np.full(junk_before + junk_after, -1)])
        t, cx = np.append(t, 0.6), np.append(cx, detector / 4)
        cy = np.append(cy, 0.0)
    else:
        pos = np.concatenate([np.arange(ny * nx)] + [np.full(k, p) for p, k in lit])
    frames[np.concatenate(where[: 1 + 2 * (junk != "blank")])] += _discs(
        t[pos], cy[pos], cx[pos], detector, dose, rng
    )
    return frames


def _discs(t, cy, cx, detector: int, dose: float | None, rng) -> np.ndarray:
    """Counts of discs of radius 0.12 ``detector`` at ``(cy, cx)`` (pixels from the
    middle) following the transmissions ``t``, on a faint background."""
    k = np.arange(detector) - (detector - 1) / 2
    inside = np.hypot(k[None, :, None] - cy[:, None, None], k[None, None, :] - cx[:, None, None])
    lam = 0.02 + t[:, None, None] * (inside < 0.12 * detector)
    return np.round(lam * 1000 if dose is None else rng.poisson(lam * dose)).astype(np.uint16)


def drifting(frames: np.ndarray, amplitude: float = 0.2, cycles: float = 1.0, phase: float = 0.0):
    """``frames`` under a drifting beam current: frame ``k`` of ``n`` scaled by
    ``1 + amplitude * sin(2 pi (cycles k / n + phase))``, rounded."""
    k = np.arange(frames.shape[0]) / frames.shape[0]
    scale = 1 + amplitude * np.sin(2 * np.pi * (cycles * k + phase))
    return np.clip(np.round(frames * scale[:, None, None]), 0, 65535).astype(np.uint16)


def detected(directory, shape, **kw):
    """``detect_scan(..., pixels=True)`` of ``recording(shape, **kw)`` written in
    ``directory`` (a generated scan found from its pixels alone)."""
    import intake_tvips

    frames, _ = recording(shape, **kw)
    return intake_tvips.detect_scan(write(directory / "scan.tvips", frames), pixels=True)


def scan_of(found) -> tuple:
    """``(scan_shape, scan_start_frame, winding_scan_axis)`` of a detection."""
    return found.scan_shape, found.scan_start_frame, found.winding_scan_axis


def write(path, frames: np.ndarray, parts: int = 1) -> str:
    """Write ``frames`` as a TVIPS recording with the package's writer; the first part's
    path."""
    import intake_tvips

    signal = {
        "data": frames,
        "axes": [
            {
                "name": "time",
                "size": frames.shape[0],
                "scale": 0.01,
                "offset": 0.0,
                "units": "s",
                "navigate": True,
            },
            {
                "name": "y",
                "size": frames.shape[1],
                "scale": 0.1,
                "offset": 0.0,
                "units": "1/nm",
                "navigate": False,
            },
            {
                "name": "x",
                "size": frames.shape[2],
                "scale": 0.1,
                "offset": 0.0,
                "units": "1/nm",
                "navigate": False,
            },
        ],
        "metadata": {},
    }
    per = None if parts == 1 else max(4096, -(-frames.nbytes // parts))
    intake_tvips.file_writer(str(path), signal, max_file_size=per, show_progressbar=False)
    return str(path).replace(".tvips", "_000.tvips")


def ideal_separation(
    truth: np.ndarray,
    winding: str,
    hysteresis: int,
    dose: float | None,
    rivals=range(-12, 13),
    detector: int = 12,
) -> float:
    """How many standard deviations an ideal test (every scan frame, every pixel, the
    sample and the noise model known) separates ``hysteresis`` from its nearest rival
    (the values of ``rivals`` that are not the truth modulo the line length): the
    square root of the least Poisson chi-square between the counts :func:`patterns`
    expects under the two. ``inf`` without noise, ``0`` where a rival looks the same
    (a flat sample, a period along the lines). An estimate from a sample of the lines
    reaches less; where this is small no estimate can decide."""
    length = truth.shape[1] if winding == "x" else truth.shape[0]
    disc, ring = disc_and_ring(detector)
    grid = reference_grid(truth.shape, 0, winding, 0)
    along = np.empty(truth.size, dtype=int)  # each frame's place along its line, unrolled
    along[grid.reshape(-1)] = np.indices(truth.shape)[1 if winding == "x" else 0].reshape(-1)

    def seen(h: int) -> np.ndarray:  # the transmission each scan frame sees under h
        out = np.empty(truth.size)
        out[reference_grid(truth.shape, 0, winding, h).reshape(-1)] = truth.reshape(-1)
        return out

    t = seen(hysteresis)
    level = 1.0 if dose is None else dose
    slope = disc - 0.3 * ring  # of mean_counts in t
    weight = level * ((slope**2)[None] / mean_counts(t, disc, ring)).sum(axis=(1, 2))
    best = np.inf
    for r in {int(r) % length for r in rivals} - {hysteresis % length}:
        r = r if abs(r) <= abs(r - length) else r - length
        # the frames a roll wraps to the line's other end under either value are left
        # out: a real scan's lag leaves no such jump (the estimates do not use it)
        inside = (np.minimum(along + hysteresis, along + r) >= 0) & (
            np.maximum(along + hysteresis, along + r) < length
        )
        chi2 = float((weight * (seen(r) - t) ** 2)[inside].sum())
        best = min(best, chi2 if dose is not None or chi2 == 0 else np.inf)
    return float(np.sqrt(best))
