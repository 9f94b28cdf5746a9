"""The per-frame processing functions against numpy/scipy references, on random data and
random chunkings (hypothesis), lazily (dask) and eagerly (numpy)."""

from __future__ import annotations

import warnings

import dask
import dask.array as da
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import ndimage

from intake_tvips.process import centre, filters, geometry, intensity, pixels, sample, virtual

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))


@st.composite
def frames(draw, dtype=np.uint16, min_side=2, max_side=9):
    """A random array (..., dy, dx) and a random chunking of it as a dask array."""
    nav = draw(st.lists(st.integers(1, 4), min_size=0, max_size=2))
    dy = draw(st.integers(min_side, max_side))
    dx = draw(st.integers(min_side, max_side))
    shape = tuple(nav) + (dy, dx)
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        x = rng.normal(100, 30, shape).astype(dtype)
    else:
        x = rng.integers(0, 1000, shape).astype(dtype)
    chunks = tuple(draw(st.integers(1, n)) for n in shape)
    return x, da.from_array(x, chunks=chunks)


def same(lazy, eager, reference, exact=True):
    computed = lazy.compute(scheduler="threads")
    assert computed.shape == reference.shape
    assert computed.dtype == eager.dtype
    check = np.testing.assert_array_equal if exact else np.testing.assert_allclose
    check(computed, reference)
    check(eager, reference)


@SETTINGS
@given(frames(), st.integers(1, 4), st.sampled_from(["mean", "sum"]))
def test_binning(xd, factor, method):
    x, d = xd
    dy, dx = x.shape[-2:]
    if factor > min(dy, dx):
        with pytest.raises(ValueError, match="larger than the frames"):
            geometry.bin_frames(d, factor)
        return
    ny, nx = dy // factor, dx // factor
    cut = x[..., : ny * factor, : nx * factor].astype(np.float64)
    blocks = cut.reshape(x.shape[:-2] + (ny, factor, nx, factor))
    ref = blocks.mean(axis=(-3, -1)) if method == "mean" else blocks.sum(axis=(-3, -1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lazy = geometry.bin_frames(d, factor, method)
        eager = geometry.bin_frames(x, factor, method)
    cropped = (ny * factor, nx * factor) != (dy, dx)
    assert any(issubclass(w.category, geometry.CroppedEdgeWarning) for w in caught) == cropped
    same(lazy, eager, ref.astype(np.float64 if method == "mean" else np.uint64), exact=False)


@SETTINGS
@given(frames(min_side=3), st.data())
def test_crop(xd, data):
    x, d = xd
    nav = x.ndim - 2
    scan = [tuple(sorted(data.draw(st.sampled_from(_pairs(n))))) for n in x.shape[:nav]]
    det = [tuple(sorted(data.draw(st.sampled_from(_pairs(n))))) for n in x.shape[nav:]]
    ref = x[tuple(slice(*s) for s in scan + det)]
    same(geometry.crop(d, scan or None, det), geometry.crop(x, scan or None, det), ref)


def _pairs(n):
    return [(a, b) for a in range(n) for b in range(a + 1, n + 1)]


def test_crop_refuses_ranges_outside():
    with pytest.raises(ValueError, match=r"detector\[1\]=\(2, 9\) is outside 0..4"):
        geometry.crop(np.zeros((3, 4, 4)), detector=((0, 4), (2, 9)))


@SETTINGS
@given(frames(), st.integers(-5, 5), st.sampled_from([None, "x", "y"]))
def test_rotate_flip(xd, k, flip):
    x, d = xd
    ref = np.rot90(x, k, axes=(-2, -1))
    if flip:
        ref = ref[..., :, ::-1] if flip == "x" else ref[..., ::-1, :]
    same(geometry.rotate_flip(d, k, flip), geometry.rotate_flip(x, k, flip), ref)


def _neighbour_median_reference(x, mask_of):
    ring = np.ones((3, 3), bool)
    ring[1, 1] = False
    flat = x.reshape((-1,) + x.shape[-2:])
    out = np.empty_like(flat)
    for k, frame in enumerate(flat):
        med = ndimage.median_filter(frame, footprint=ring, mode="nearest")
        out[k] = np.where(mask_of(frame), med, frame)
    return out.reshape(x.shape)


@SETTINGS
@given(frames(), st.integers(0, 2**31), st.sampled_from([None, 500, 900]))
def test_replace_pixels(xd, seed, threshold):
    x, d = xd
    mask = np.random.default_rng(seed).random(x.shape[-2:]) < 0.2
    ref = _neighbour_median_reference(
        x, lambda f: mask | (f > threshold) if threshold is not None else mask
    )
    same(pixels.replace_pixels(d, mask, threshold), pixels.replace_pixels(x, mask, threshold), ref)


def test_bad_pixels_are_found_and_replaced():
    rng = np.random.default_rng(1)
    x = rng.poisson(50, (6, 5, 32, 32)).astype(np.uint16)
    x[..., 3, 7] = 4000  # hot
    x[..., 20, 11] = 0  # dead
    found = pixels.find_bad_pixels(da.from_array(x, chunks=(2, 5, 32, 32)), sample=12)
    assert found.mask[3, 7] and found.mask[20, 11]
    assert (found.hot, found.dead, found.frames) == (1, 1, 12)
    assert found.mask.sum() == 2
    fixed = pixels.replace_pixels(x, found.mask)
    assert fixed[..., 3, 7].max() < 200 and fixed[..., 20, 11].min() > 0


@SETTINGS
@given(frames(), st.integers(1, 4))
def test_median_filter(xd, size):
    x, d = xd
    window = (1,) * (x.ndim - 2) + (size, size)
    ref = ndimage.median_filter(x, size=window)
    same(filters.median_filter(d, size), filters.median_filter(x, size), ref)


@SETTINGS
@given(frames(), st.floats(0.0, 3.0))
def test_gaussian_filter(xd, sigma):
    x, d = xd
    ref = np.stack(
        [
            ndimage.gaussian_filter(f.astype(np.float32), sigma)
            for f in x.reshape((-1,) + x.shape[-2:])
        ]
    ).reshape(x.shape)
    same(filters.gaussian_filter(d, sigma), filters.gaussian_filter(x, sigma), ref, exact=False)


@SETTINGS
@given(frames(dtype=np.float64), st.floats(-50, 100), st.floats(1, 300))
def test_to_uint8_is_the_documented_formula(xd, vmin, width):
    x, d = xd
    vmax = vmin + width
    ref = np.clip(np.round((x - vmin) / (vmax - vmin) * 255), 0, 255).astype(np.uint8)
    same(intensity.to_uint8(d, vmin, vmax), intensity.to_uint8(x, vmin, vmax), ref)


def test_to_uint8_refuses_an_empty_range():
    with pytest.raises(ValueError, match="vmin must be below vmax"):
        intensity.to_uint8(np.zeros((2, 2)), 5, 5)


@SETTINGS
@given(frames(), st.integers(1, 40))
def test_intensity_range_from_a_bounded_sample(xd, n):
    x, d = xd
    flat = x.reshape((-1,) + x.shape[-2:])
    got = intensity.intensity_range(d, (1, 99), sample=n)
    sampled = sample.sample_frames(d, n)
    assert 1 <= len(sampled) <= min(n, len(flat))
    # every sampled frame is a frame of x, none twice (random frames may repeat: by content)
    keys = [f.tobytes() for f in sampled]
    assert set(keys) <= {f.tobytes() for f in flat}
    assert len(sampled) == min(n, len(flat)) or len(sampled) >= n // 2
    lo, hi = np.percentile(sampled.astype(np.float64), [1, 99])
    assert got == (lo, hi if hi > lo else lo + 1)


def test_the_sample_reads_only_some_chunks():
    x = np.arange(64 * 4 * 4, dtype=np.uint16).reshape(64, 4, 4)
    d = da.from_array(x, chunks=(4, 4, 4))
    read = []

    def spy(block):
        if block.shape == (4, 4, 4):  # dask also calls it on tiny arrays to learn its output
            read.append(int(block[0, 0, 0]))
        return block

    spied = d.map_blocks(spy)
    got = sample.sample_frames(spied, 8)
    assert len(got) == 8 and len(read) == 2  # 2 chunks of 4 frames hold 8 frames
    assert sorted(read) == [0, 15 * 64]  # the first and the last


def _com_reference(frame, threshold):
    f = frame.astype(np.float64)
    w = np.where(f >= threshold * f.max(), f, 0)
    yy, xx = np.indices(f.shape)
    return (w * yy).sum() / w.sum(), (w * xx).sum() / w.sum()


@SETTINGS
@given(frames(dtype=np.float32, min_side=5, max_side=12), st.sampled_from(["com", "peak"]))
def test_beam_centres(xd, method):
    x, d = xd
    x = np.abs(x) + 1
    d = da.from_array(x, chunks=d.chunks)
    flat = x.reshape((-1,) + x.shape[-2:])
    if method == "peak":
        ref = [np.unravel_index(np.argmax(f), f.shape) for f in flat]
    else:
        ref = [_com_reference(f, 0.5) for f in flat]
    ref = np.array(ref, np.float64).reshape(x.shape[:-2] + (2,))
    got = centre.beam_centres(d, method)
    same(got, centre.beam_centres(x, method), ref, exact=False)


@SETTINGS
@given(frames(dtype=np.float32, min_side=5, max_side=12), st.booleans())
def test_recentre(xd, given_centres):
    x, d = xd
    x = np.abs(x) + 1
    d = da.from_array(x, chunks=d.chunks)
    flat = x.reshape((-1,) + x.shape[-2:])
    target = np.array([x.shape[-2] // 2, x.shape[-1] // 2])
    ref = np.stack(
        [
            ndimage.shift(f, np.rint(target - _com_reference(f, 0.5)), order=0, mode="constant")
            for f in flat
        ]
    ).reshape(x.shape)
    if given_centres:
        lazy = centre.recentre(d, centre.beam_centres(d))
        eager = centre.recentre(x, centre.beam_centres(x))
    else:
        lazy, eager = centre.recentre(d), centre.recentre(x)
    same(lazy, eager, ref)


def test_recentring_moves_a_disc_to_the_centre():
    yy, xx = np.indices((33, 33))
    stack = np.stack(
        [((yy - cy) ** 2 + (xx - cx) ** 2 <= 9) * 100.0 for cy, cx in [(5, 7), (20, 25), (16, 16)]]
    )
    moved = centre.recentre(da.from_array(stack, chunks=(2, 20, 33))).compute()
    np.testing.assert_allclose(centre.beam_centres(moved), [[16, 16]] * 3)


@SETTINGS
@given(frames(), st.sampled_from(["disc", "annulus", "weights"]), st.integers(0, 2**31))
def test_virtual_images(xd, kind, seed):
    x, d = xd
    shape = x.shape[-2:]
    if kind == "disc":
        mask = virtual.disc_mask(shape, 2.0)
    elif kind == "annulus":
        mask = virtual.annulus_mask(shape, 1.0, 3.0, centre=(1, 2))
    else:
        mask = np.random.default_rng(seed).random(shape)
    ref = (x.astype(np.float64) * mask).sum(axis=(-2, -1))
    same(virtual.virtual_image(d, mask), virtual.virtual_image(x, mask), ref, exact=False)


def test_masks():
    yy, xx = np.indices((7, 8))
    r2 = (yy - 3) ** 2 + (xx - 3.5) ** 2
    np.testing.assert_array_equal(virtual.disc_mask((7, 8), 2), r2 <= 4)
    np.testing.assert_array_equal(virtual.annulus_mask((7, 8), 1, 2), (r2 >= 1) & (r2 <= 4))


@SETTINGS
@given(frames())
def test_mean_and_max_patterns(xd):
    x, d = xd
    axes = tuple(range(x.ndim - 2))
    same(virtual.mean_pattern(d), virtual.mean_pattern(x), x.mean(axis=axes), exact=False)
    same(virtual.max_pattern(d), virtual.max_pattern(x), x.max(axis=axes) if axes else x)


def test_lazy_until_computed():
    calls = []

    def spy(block):
        if block.shape == (2, 2, 8, 8):
            calls.append(1)
        return block

    d = da.ones((4, 4, 8, 8), chunks=(2, 2, 8, 8)).map_blocks(spy)
    out = intensity.to_uint8(filters.median_filter(geometry.bin_frames(d, 2), 3), 0, 2)
    assert calls == [] and out.dtype == np.uint8
    with dask.config.set(scheduler="threads"):
        assert int(out.sum().compute()) == 4 * 4 * 4 * 4 * 128
