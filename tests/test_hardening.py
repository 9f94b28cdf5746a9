"""Half-copied folders, stale parts and other damaged input."""

import warnings
from pathlib import Path

import numpy as np
import pytest
from tvips_factory import make_frames, tvips_bytes, write_parts

from intake_tvips import TruncatedRecordingWarning, TVIPSFormatError, file_reader


def _three_parts(tmp_path, name="gap"):
    frames = make_frames(30, (4, 4))
    first = write_parts(tmp_path / name, tvips_bytes(frames, records_per_part=[10, 10, 10]))
    return frames, first


def test_gap_in_part_numbering_names_the_missing_part(tmp_path):
    _, first = _three_parts(tmp_path)
    Path(first.replace("_000", "_001")).unlink()
    with pytest.raises(TVIPSFormatError, match=r"gap_001\.tvips.*missing.*gap_002"):
        file_reader(first)


def test_gap_on_memory_filesystem(memfs):
    frames = make_frames(30, (4, 4))
    blobs = tvips_bytes(frames, records_per_part=[10, 10, 10])
    memfs.pipe_file("/tvips-test/g_000.tvips", blobs[0])
    memfs.pipe_file("/tvips-test/g_002.tvips", blobs[2])
    with pytest.raises(TVIPSFormatError, match="g_001.tvips"):
        file_reader("memory://tvips-test/g_000.tvips")


def test_gap_on_s3(s3):
    import fsspec

    frames = make_frames(30, (4, 4))
    blobs = tvips_bytes(frames, records_per_part=[10, 10, 10])
    fs = fsspec.filesystem("s3", **s3.storage_options)
    fs.pipe_file("tvips/g_000.tvips", blobs[0])
    fs.pipe_file("tvips/g_002.tvips", blobs[2])
    fs.invalidate_cache()
    with pytest.raises(TVIPSFormatError, match="s3://tvips/g_001.tvips"):
        file_reader("s3://tvips/g_000.tvips", storage_options=s3.storage_options)


def test_gap_on_http_is_found_by_probing(http):
    frames = make_frames(30, (4, 4))
    blobs = tvips_bytes(frames, records_per_part=[10, 10, 10])
    (Path(http.root) / "hg_000.tvips").write_bytes(blobs[0])
    (Path(http.root) / "hg_002.tvips").write_bytes(blobs[2])
    with pytest.raises(TVIPSFormatError, match="hg_001.tvips"):
        file_reader(f"{http.url}/hg_000.tvips")


def test_other_recordings_in_the_folder_are_not_a_gap(tmp_path):
    frames, first = _three_parts(tmp_path, "a")
    write_parts(tmp_path / "a_b", tvips_bytes(frames, records_per_part=[10, 20]))
    (tmp_path / "a_005.txt").write_bytes(b"notes")
    np.testing.assert_array_equal(file_reader(first)[0]["data"], frames)


# --- bad headers and parameters not covered in test_reader.py ------------------------------


def _write(tmp_path, name, **overrides):
    frames = make_frames(4)
    return write_parts(tmp_path / name, tvips_bytes(frames, header_overrides=overrides))


def test_empty_file_is_refused_naming_it(tmp_path):
    (tmp_path / "empty_000.tvips").write_bytes(b"")
    with pytest.raises(TVIPSFormatError, match=r"empty_000\.tvips: file is 0 bytes"):
        file_reader(tmp_path / "empty_000.tvips")


@pytest.mark.parametrize(
    "field,value",
    [("dimy", 0), ("dimx", 65537), ("dimy", 2**32 - 1), ("frameheaderbytes", 2**32 - 1)],
)
def test_absurd_header_values_are_refused_before_allocating(tmp_path, field, value):
    import tracemalloc

    first = _write(tmp_path, "absurd", **{field: value})
    tracemalloc.start()
    try:
        for lazy in (False, True):
            with pytest.raises(TVIPSFormatError, match=rf"absurd_000\.tvips.*'{field}'") as err:
                file_reader(first, lazy=lazy)
            assert err.value.field == field
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20


@pytest.mark.parametrize("lazy", [False, True])
def test_truncated_last_part_warns_once_with_the_bytes_dropped(tmp_path, lazy):
    frames = make_frames(20, (4, 4))
    first = write_parts(tmp_path / "cut", tvips_bytes(frames, records_per_part=[10, 10]))
    last = tmp_path / "cut_001.tvips"
    last.write_bytes(last.read_bytes()[:-100])
    rest = 60 + 4 * 4 * 2 - 100 % (60 + 32)  # the record cut 100 bytes short keeps this
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = np.asarray(file_reader(first, lazy=lazy, scan_shape=(3, 6))[0]["data"])
    assert [str(w.message) for w in caught if w.category is TruncatedRecordingWarning] == [
        f"{last}: the recording ends inside a frame; 8 whole frames are read from this part "
        f"and the last {rest} bytes are dropped"
    ]
    assert len(caught) == 1
    np.testing.assert_array_equal(data.reshape(18, 4, 4), frames[:18])


@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(scan_shape=(-1, 8)), r"positive integers \(\.\.\., ny, nx\)"),
        (dict(scan_shape=(2, "8")), "positive integers"),
        (dict(scan_shape=()), r"positive integers \(\.\.\., ny, nx\), or \(n,\)"),
        (dict(scan_shape="AUTO"), "None, 'auto' or a tuple"),
        (dict(scan_shape=(2, 2), scan_start_frame=1.5), "scan_start_frame must be an integer"),
        (dict(scan_shape=(2, 2), winding_scan_axis="X"), "None, 'x' or 'y'"),
        (dict(scan_shape=(3,), winding_scan_axis="y"), "needs a scan_shape of at least two"),
        (dict(scan_shape=(2, 2), winding_scan_axis="x", hysteresis=0.5), "hysteresis must be an"),
        (dict(rechunking=[1, 2]), "'auto', False or a dict"),
        (dict(lazy=True, rechunking={"0": 2}), "axis numbers"),
    ],
)
def test_invalid_parameters_say_what_is_allowed(tmp_path, kw, match):
    first = write_parts(tmp_path / "p", tvips_bytes(make_frames(10)))
    with pytest.raises(ValueError, match=match):
        file_reader(first, **kw)


@pytest.mark.filterwarnings("ignore::intake_tvips.TruncatedRecordingWarning")
def test_scan_entirely_before_the_recording_is_refused(tmp_path):
    first = _write(tmp_path, "huge", dimx=65536, dimy=65536)  # 4 tiny frames: 0 records
    with pytest.raises(ValueError, match="scan_start_frame"):
        file_reader(first, lazy=True, scan_shape=(1, 2), scan_start_frame=-2)  # lazy: no alloc


# --- credentials --------------------------------------------------------------------------

SECRETS = {"secret": "s3cr3t-VALUE-9f2c", "token": "t0ken-VALUE-77aa"}


def _all_text(data) -> str:
    """Every repr a user or a log may see of a lazy array and its graph."""
    graph = data.dask.to_dict()
    parts = [repr(data), repr(data.dask), repr(dict(data.dask.layers))]
    parts += [repr(k) + repr(v) for k, v in graph.items()]
    parts += [repr(v[0].fs_spec) + repr(v[0]) for v in graph.values() if isinstance(v, tuple)]
    return "\n".join(parts)


def test_s3_secrets_stay_out_of_reprs_errors_and_logs(s3, caplog):
    import logging

    import fsspec

    frames = make_frames(30, (4, 4))
    fs = fsspec.filesystem("s3", **s3.storage_options)
    for k, blob in enumerate(tvips_bytes(frames, records_per_part=[10, 10, 10])):
        fs.pipe_file(f"tvips/cred_{k:03d}.tvips", blob)
    opts = dict(s3.storage_options, **SECRETS)
    url = "s3://tvips/cred_000.tvips"
    caplog.set_level(logging.DEBUG)
    seen = []
    data = file_reader(url, lazy=True, storage_options=opts, rechunking={0: 10})[0]["data"]
    seen.append(_all_text(data))
    np.testing.assert_array_equal(data.compute(), frames)
    fs.rm("tvips/cred_002.tvips")
    for bad in (
        lambda: data.compute(),  # a part gone after open
        lambda: file_reader(url, storage_options=opts, scan_shape=(9, 9)),
        lambda: file_reader("s3://tvips/none.tvips", storage_options=opts),
    ):
        with pytest.raises((OSError, ValueError)) as err:
            bad()
        seen += [str(err.value), repr(err.value)]
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("intake_tvips"))
    for value in SECRETS.values():
        assert value not in "\n".join(seen) + ours
    # botocore's own DEBUG log shows the session token (in the canonical request it
    # signs), never the secret key
    assert SECRETS["secret"] not in caplog.text


def test_http_credentials_stay_out_of_messages_and_logs(http, caplog):
    import logging

    frames = make_frames(10, (4, 4))
    for k, blob in enumerate(tvips_bytes(frames, records_per_part=[5, 5])):
        (Path(http.root) / f"hc_{k:03d}.tvips").write_bytes(blob)
    opts = {"headers": {"Authorization": "Bearer " + SECRETS["token"]}}
    caplog.set_level(logging.DEBUG)
    data = file_reader(f"{http.url}/hc_000.tvips", lazy=True, storage_options=opts)[0]["data"]
    text = _all_text(data)
    (Path(http.root) / "hc_001.tvips").unlink()
    with pytest.raises(FileNotFoundError) as err:
        data.compute()
    text += str(err.value) + repr(err.value) + caplog.text
    assert SECRETS["token"] not in text


def test_local_paths_are_normalised(tmp_path):
    # Intake renders "{{ CATALOG_DIR }}/x" with a doubled slash when the data sits next to
    # the catalog
    frames, first = _three_parts(tmp_path, "norm")
    for name in (f"{tmp_path}//norm_000.tvips", f"{tmp_path}/./norm_000.tvips"):
        np.testing.assert_array_equal(file_reader(name)[0]["data"], frames)
