"""``write_blockfile``: round trips read back by RosettaSciIO's blockfile reader and by
HyperSpy, locally (numpy and dask input, any chunking), on moto's S3 (a multipart upload)
and on a LocalCluster of worker processes."""

from __future__ import annotations

from pathlib import Path

import dask.array as da
import numpy as np
import pytest
from clusters import local_client

from intake_tvips import write_blockfile
from intake_tvips.writers.blockfile_layout import HEADER_DTYPE, VBF_OFFSET, BlockfileLayout

rsciio_blockfile = pytest.importorskip("rsciio.blockfile")


def patterns(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def read_back(path):
    signal = rsciio_blockfile.file_reader(str(path))[0]
    return signal["data"], {a["name"]: (float(a["scale"]), a["units"]) for a in signal["axes"]}


def header_and_vbf(path):
    raw = Path(path).read_bytes()
    header = np.frombuffer(raw[: HEADER_DTYPE.itemsize], HEADER_DTYPE)[0]
    n = int(header["NX"]) * int(header["NY"])
    vbf = np.frombuffer(raw[VBF_OFFSET : VBF_OFFSET + n], np.uint8).reshape(
        int(header["NY"]), int(header["NX"])
    )
    return header, vbf, raw


def expected_vbf(x):
    means = x.reshape(x.shape[:2] + (-1,)).mean(axis=-1)
    return np.rint((means - means.min()) / (means.max() - means.min()) * 255).astype(np.uint8)


@pytest.mark.parametrize(
    "chunks", [None, (1, 7, 12, 12), (2, 3, 5, 12), (4, 7, 12, 12), (3, 2, 12, 7)]
)
def test_round_trip_rsciio(tmp_path, chunks):
    x = patterns((5, 7, 12, 12))
    data = x if chunks is None else da.from_array(x, chunks=chunks)
    out = tmp_path / "scan.blo"
    done = write_blockfile(out, data, scan_step=(2.5, 4.0), pattern_scale=0.02)
    back, axes = read_back(out)
    np.testing.assert_array_equal(back, x)
    assert axes == {"y": (2.5, "nm"), "x": (4.0, "nm"), "dy": (0.02, "cm"), "dx": (0.02, "cm")}
    header, vbf, raw = header_and_vbf(out)
    np.testing.assert_array_equal(vbf, expected_vbf(x))
    np.testing.assert_array_equal(done["vbf"], vbf)
    layout = BlockfileLayout(5, 7, 12)
    assert len(raw) == layout.size == done["bytes"]
    assert int(header["Data_offset_2"]) == layout.data_offset
    ids = np.frombuffer(raw[layout.data_offset :], np.uint8).reshape(35, -1)[:, :6]
    assert (ids[:, :2] == [0xAA, 0x55]).all()
    np.testing.assert_array_equal(ids[:, 2:].copy().view("<u4").ravel(), np.arange(35))
    assert not list(tmp_path.glob(".*writing"))  # the temporary file was renamed


def test_round_trip_hyperspy(tmp_path):
    hs = pytest.importorskip("hyperspy.api")
    x = patterns((4, 6, 16, 16), seed=3)
    out = tmp_path / "hs.blo"
    write_blockfile(out, da.from_array(x, chunks=(2, 6, 16, 16)), scan_step=7.5, pattern_scale=0.5)
    signal = hs.load(str(out))
    np.testing.assert_array_equal(signal.data, x)
    nav = signal.axes_manager.navigation_axes
    sig = signal.axes_manager.signal_axes
    assert [(a.scale, a.units) for a in nav] == [(7.5, "nm"), (7.5, "nm")]
    assert [(a.scale, a.units) for a in sig] == [(0.5, "cm"), (0.5, "cm")]


def test_a_disc_vbf_and_a_given_one(tmp_path):
    x = patterns((3, 4, 9, 9), seed=5)
    yy, xx = np.ogrid[:9, :9]
    disc = ((yy - 4) ** 2 + (xx - 4) ** 2) <= 4
    sums = (x.astype(float) * disc).sum(axis=(-2, -1))
    write_blockfile(tmp_path / "d.blo", x, vbf=2.0)
    _, vbf, _ = header_and_vbf(tmp_path / "d.blo")
    np.testing.assert_array_equal(
        vbf, np.rint((sums - sums.min()) / (sums.max() - sums.min()) * 255).astype(np.uint8)
    )
    mine = np.arange(12, dtype=np.uint8).reshape(3, 4)
    write_blockfile(tmp_path / "g.blo", x, vbf=mine)
    np.testing.assert_array_equal(header_and_vbf(tmp_path / "g.blo")[1], mine)


@pytest.mark.parametrize(
    ("data", "kwargs", "message"),
    [
        (np.zeros((2, 2, 4, 4), np.uint16), {}, "uint8 patterns, got uint16"),
        (np.zeros((2, 4, 4), np.uint8), {}, "4-D scan"),
        (np.zeros((2, 2, 4, 5), np.uint8), {}, "square, got 4 x 5"),
        (np.zeros((2, 2, 4, 4), np.uint8), {"scan_step": -1}, "scan_step must be"),
        (np.zeros((2, 2, 4, 4), np.uint8), {"pattern_scale": 1e-9}, "outside the header"),
        (np.zeros((2, 2, 4, 4), np.uint8), {"vbf": np.zeros((3, 2))}, "vbf must have"),
    ],
)
def test_bad_input_is_named(tmp_path, data, kwargs, message):
    with pytest.raises(ValueError, match=message):
        write_blockfile(tmp_path / "bad.blo", data, **kwargs)
    assert not list(tmp_path.iterdir())


def test_no_overwrite_unless_asked(tmp_path):
    out = tmp_path / "x.blo"
    out.write_bytes(b"keep")
    with pytest.raises(FileExistsError, match="x.blo exists"):
        write_blockfile(out, patterns((2, 2, 4, 4)), overwrite=False)
    assert out.read_bytes() == b"keep"


def test_s3_multipart_upload(s3, tmp_path):
    import s3fs

    x = patterns((24, 16, 128, 128), seed=7)  # 6.3 MB: parts of >= 5 MiB, then the rest
    done = write_blockfile(
        "s3://tvips/out/scan.blo",
        da.from_array(x, chunks=(3, 16, 128, 128)),
        scan_step=3.0,
        pattern_scale=0.25,
        storage_options=s3.storage_options,
    )
    assert done["tasks"] == 2
    fs = s3fs.S3FileSystem(**s3.storage_options)
    local = tmp_path / "down.blo"
    fs.get("tvips/out/scan.blo", str(local))
    back, axes = read_back(local)
    np.testing.assert_array_equal(back, x)
    assert axes["x"] == (3.0, "nm") and axes["dx"] == (0.25, "cm")
    assert fs.ls("tvips/out") == ["tvips/out/scan.blo"]


def test_s3_small_file_is_one_part(s3, tmp_path):
    import s3fs

    x = patterns((3, 5, 8, 8), seed=8)
    done = write_blockfile(
        "s3://tvips/small.blo",
        da.from_array(x, chunks=(1, 5, 8, 8)),
        storage_options=s3.storage_options,
    )
    assert done["tasks"] == 1
    fs = s3fs.S3FileSystem(**s3.storage_options)
    fs.get("tvips/small.blo", str(tmp_path / "s.blo"))
    np.testing.assert_array_equal(read_back(tmp_path / "s.blo")[0], x)


def test_other_fsspec_urls_are_staged(memfs, tmp_path):
    x = patterns((3, 4, 8, 8), seed=9)
    write_blockfile("memory://tvips-test/m.blo", da.from_array(x, chunks=(1, 4, 8, 8)), scan_step=2)
    (tmp_path / "m.blo").write_bytes(memfs.cat_file("/tvips-test/m.blo"))
    np.testing.assert_array_equal(read_back(tmp_path / "m.blo")[0], x)


@pytest.fixture(scope="module")
def client():

    with local_client() as client:
        yield client


def test_on_a_local_cluster(client, tmp_path, s3):
    x = patterns((6, 5, 16, 16), seed=11)
    data = da.from_array(x, chunks=(1, 5, 16, 16))
    done = write_blockfile(tmp_path / "c.blo", data, scan_step=1.5, scheduler=client)
    assert done["tasks"] == 6
    np.testing.assert_array_equal(read_back(tmp_path / "c.blo")[0], x)
    write_blockfile("s3://tvips/c.blo", data, storage_options=s3.storage_options, scheduler=client)
    import s3fs

    s3fs.S3FileSystem(**s3.storage_options).get("tvips/c.blo", str(tmp_path / "c3.blo"))
    np.testing.assert_array_equal(read_back(tmp_path / "c3.blo")[0], x)
