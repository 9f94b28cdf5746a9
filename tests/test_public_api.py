"""The public names the command line is built on, used as any caller would."""

from __future__ import annotations

import numpy as np
import pytest
from tvips_factory import make_frames, reference_scan, tvips_bytes, write_parts

import intake_tvips
from intake_tvips import (
    Recording,
    catalog_safe_options,
    file_reader,
    frame_headers,
    open_recording,
    recording_info,
    scan_frame_numbers,
    strip_url_credentials,
)


@pytest.mark.parametrize(
    "shape, start, winding, hysteresis",
    [((3, 4), 0, None, 0), ((3, 4), 2, "x", 1), ((4, 3), 1, "y", 2), ((2, 3, 4), 0, "x", 0)],
)
def test_scan_frame_numbers_match_the_reader(tmp_path, shape, start, winding, hysteresis):
    n = start + int(np.prod(shape)) + 1
    frames = make_frames(n)
    url = write_parts(str(tmp_path / "s"), tvips_bytes(frames))
    data = file_reader(
        url,
        scan_shape=shape,
        scan_start_frame=start,
        winding_scan_axis=winding,
        hysteresis=hysteresis,
    )[0]["data"]
    numbers = scan_frame_numbers(shape, start, winding, hysteresis)
    assert numbers.shape == shape and numbers.dtype == np.int64
    np.testing.assert_array_equal(frames[numbers], data)
    np.testing.assert_array_equal(
        reference_scan(frames, shape, start, winding, hysteresis), frames[numbers]
    )


def test_scan_frame_numbers_before_the_recording_are_minus_one():
    numbers = scan_frame_numbers((2, 3), -2)
    assert numbers.tolist() == [[-1, -1, 0], [1, 2, 3]]


def test_scan_frame_numbers_refuses_bad_parameters():
    with pytest.raises(ValueError, match="winding_scan_axis"):
        scan_frame_numbers((2, 3), 0, "z", 1)
    with pytest.raises(ValueError, match="hysteresis"):
        scan_frame_numbers((2, 3), 0, "x", 1.5)


def test_an_opened_recording_is_read_once(tmp_path):
    frames = make_frames(7, (3, 4))
    url = write_parts(str(tmp_path / "r"), tvips_bytes(frames, records_per_part=[3, 4]))
    rec = open_recording(url)
    assert isinstance(rec, Recording)
    assert (rec.n_frames, rec.layout.frame_shape) == (7, (3, 4))
    table = frame_headers(rec)
    np.testing.assert_array_equal(table["frame"], np.arange(7))
    info = recording_info(rec, headers=table)
    assert info == recording_info(url)
    assert [p["frames"] for p in info["parts"]] == [3, 4]
    assert info["frames"] == 7 and info["frame_shape"] == [3, 4]


def test_catalog_safe_options_keep_only_configuration():
    kept, dropped = catalog_safe_options(
        {
            "anon": False,
            "key": "AKIA",
            "client_kwargs": {"endpoint_url": "http://127.0.0.1:9000", "aws_secret": "x"},
            "headers": {"Authorization": "Bearer t"},
        }
    )
    assert kept == {"anon": False, "client_kwargs": {"endpoint_url": "http://127.0.0.1:9000"}}
    assert sorted(dropped) == ["client_kwargs.aws_secret", "headers.Authorization", "key"]


def test_strip_url_credentials():
    assert strip_url_credentials("https://u:p@host/a.tvips") == "https://host/a.tvips"
    assert strip_url_credentials("s3://bucket/a.tvips") == "s3://bucket/a.tvips"


def test_every_public_name_is_exported_and_typed():
    for name in intake_tvips.__all__:
        obj = getattr(intake_tvips, name)
        if callable(obj) and not isinstance(obj, type):
            assert obj.__annotations__.get("return") is not None, name
