"""ScanParameters: one value for the scan parameters, parsed once, carried to every face;
calibrations (scan step, detector scale) become the axes' scales everywhere."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as hs
from tvips_factory import make_frames, tvips_bytes, write_parts

import intake_tvips
from intake_tvips import ScanParameters, file_reader


@pytest.mark.parametrize(
    "text, shape",
    [
        ("64x64", (64, 64)),
        ("[64, 64]", (64, 64)),
        ("(2, 3, 4)", (2, 3, 4)),
        ("64, 32", (64, 32)),
        (["8", "8"], (8, 8)),
        ("auto", "auto"),
        ("none", None),
        ("stack", None),
        ("", None),
    ],
)
def test_text_spellings_of_a_shape(text, shape):
    assert ScanParameters.parse(scan_shape=text, text=True).scan_shape == shape


def test_what_a_shape_ignores_is_not_checked():
    """As RosettaSciIO: a stack ignores the scan options, "auto" the start frame."""
    assert ScanParameters.parse(None, 1.5, "z", "two") == ScanParameters(None)
    assert ScanParameters.parse("auto", "x3", "x", 2).scan_start_frame == 0


def test_text_spellings_of_the_rest():
    p = ScanParameters.parse("8x8", "3", "none", "AUTO", text=True)
    assert (p.scan_start_frame, p.winding_scan_axis, p.hysteresis) == (3, None, "auto")
    assert ScanParameters.parse("8x8", 0, "X", " 2 ", text=True).reader_kwargs() == {
        "scan_shape": (8, 8),
        "scan_start_frame": 0,
        "winding_scan_axis": "x",
        "hysteresis": 2,
    }


@pytest.mark.parametrize(
    "kw, words",
    [
        ({"scan_shape": "64x64"}, "scan_shape must be None, 'auto' or a tuple"),
        ({"scan_shape": (8, 0)}, "positive integers"),
        ({"scan_shape": (4, 4), "scan_start_frame": "3"}, "scan_start_frame must be an integer"),
        ({"scan_shape": (4, 4), "hysteresis": "two"}, "hysteresis must be an integer or 'auto'"),
        ({"scan_shape": "auto", "hysteresis": 1.5}, "hysteresis must be an integer"),
        ({"scan_shape": (4, 4), "winding_scan_axis": "z"}, "winding_scan_axis must be None"),
    ],
)
def test_python_callers_get_numbers_only(kw, words):
    with pytest.raises(ValueError, match=words):
        ScanParameters.parse(**kw)


@pytest.mark.parametrize(
    "value, units, words",
    [(-1, None, "positive"), (float("nan"), None, "finite"), ("fast", None, "a number")],
)
def test_bad_calibrations_are_named(value, units, words):
    with pytest.raises(ValueError, match=f"scan_step must be .*{words}"):
        ScanParameters().calibrated(scan_step=value)


@settings(max_examples=60, deadline=None)
@given(
    shape=hs.one_of(
        hs.none(), hs.just("auto"), hs.lists(hs.integers(1, 300), min_size=1, max_size=3)
    ),
    start=hs.integers(-50, 50),
    winding=hs.sampled_from([None, "x", "y"]),
    hysteresis=hs.one_of(hs.integers(-20, 20), hs.just("auto")),
)
def test_parse_round_trips(shape, start, winding, hysteresis):
    if winding is not None and (not isinstance(shape, list) or len(shape) < 2):
        winding = None
    p = ScanParameters.parse(shape, start, winding, hysteresis)
    assert ScanParameters.parse(**p.reader_kwargs()) == p
    # attributes are JSON, and read back as text (a catalog) give the same value
    again = ScanParameters.from_kwargs(json.loads(json.dumps(p.attrs())), text=True)
    assert again == p


def _recording(tmp_path):
    frames = make_frames(3 + 6 * 5, shape=(8, 10))
    return write_parts(tmp_path / "cal.tvips", tvips_bytes(frames)), frames


def test_calibrations_become_the_axes_everywhere(tmp_path):
    import xarray as xr

    url, _ = _recording(tmp_path)
    kw = dict(scan_shape=(6, 5), scan_start_frame=3, scan_step="2.5 nm", pattern_scale=0.04)
    axes = file_reader(url, lazy=True, **kw)[0]["axes"]
    assert [(a["scale"], a["units"]) for a in axes][:2] == [(2.5, "nm")] * 2
    assert [a["scale"] for a in axes][2:] == [0.04, 0.04]
    da = xr.open_dataset(url, engine="tvips", **kw)["data"]
    np.testing.assert_allclose(da["x"].values, 2.5 * np.arange(5))
    scan = json.loads(da.attrs["scan_parameters"])
    assert scan["scan_step"] == 2.5 and scan["pattern_scale"] == 0.04
    sig = intake_tvips.load_hyperspy(url, lazy=True, **kw)
    assert sig.axes_manager.navigation_axes[0].scale == 2.5
    assert sig.axes_manager.signal_axes[0].scale == pytest.approx(0.04)
    refs = intake_tvips.references(url, **kw)["refs"]
    attrs = json.loads(refs["data/.zattrs"])
    assert json.loads(attrs["scan_parameters"])["scan_step"] == 2.5


def test_a_catalog_carries_calibrations_with_units(tmp_path):
    import intake

    url, frames = _recording(tmp_path)
    entry = {
        "driver": "tvips",
        "args": {
            "urlpath": url,
            "scan_shape": "6x5",
            "scan_start_frame": "3",
            "scan_step": "12 nm",
            "pattern_scale": "0.5 mrad",
        },
    }
    cat = tmp_path / "cat.yaml"
    cat.write_text(yaml.safe_dump({"sources": {"s": entry}}))
    src = intake.open_catalog(str(cat)).s
    da = src.to_xarray()
    np.testing.assert_allclose(da["y"].values, 12.0 * np.arange(6))
    assert da["dx"].attrs["units"] == "mrad"
    np.testing.assert_array_equal(da.values.reshape(-1, 8, 10), frames[3:])
