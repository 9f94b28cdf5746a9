"""``write_tiff``: one page per scan position in C order, calibration carried; read back
by tifffile, locally and from S3 (moto)."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

from intake_tvips import write_tiff

tifffile = pytest.importorskip("tifffile")


@pytest.mark.parametrize(
    ("shape", "dtype", "chunks"),
    [
        ((5, 7, 16, 12), np.uint16, (2, 3, 8, 12)),
        ((4, 3, 8, 8), np.uint8, None),
        ((6, 9, 10), np.float32, (4, 9, 5)),
        ((3, 2, 5, 5), np.uint8, (1, 1, 5, 5)),
    ],
)
def test_round_trip(tmp_path, shape, dtype, chunks):
    x = (np.random.default_rng(1).random(shape) * 200).astype(dtype)
    data = x if chunks is None else da.from_array(x, chunks=chunks)
    out = tmp_path / "stack.tif"
    write_tiff(out, data, scan_step=(2.0, 3.0), pattern_scale=0.05)
    np.testing.assert_array_equal(tifffile.imread(out), x)
    with tifffile.TiffFile(out) as tif:
        frames = x.reshape((-1,) + x.shape[-2:])
        assert len(tif.pages) == len(frames)
        for k in (0, len(frames) // 2, len(frames) - 1):  # pages in C order
            np.testing.assert_array_equal(tif.pages[k].asarray(), frames[k])
        meta = tif.shaped_metadata[0]
        assert meta["scan_step"] == [2.0, 3.0] and meta["scan_units"] == "nm"
        assert (meta["pattern_scale"], meta["pattern_units"]) == (0.05, "cm")
        tags = tif.pages[0].tags
        assert tags["XResolution"].value == (20, 1)  # 20 pixels per cm
        assert int(tags["ResolutionUnit"].value) == 3  # centimetre
    assert [p.name for p in tmp_path.iterdir()] == ["stack.tif"]


def test_to_s3(s3, tmp_path):
    import s3fs

    x = np.random.default_rng(2).integers(0, 255, (4, 5, 8, 8), dtype=np.uint8)
    write_tiff(
        "s3://tvips/t.tif",
        da.from_array(x, chunks=(1, 5, 8, 8)),
        storage_options=s3.storage_options,
    )
    s3fs.S3FileSystem(**s3.storage_options).get("tvips/t.tif", str(tmp_path / "t.tif"))
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "t.tif"), x)


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="needs frames"):
        write_tiff(tmp_path / "x.tif", np.zeros((4, 4)))
    with pytest.raises(ValueError, match="scan_step must be positive"):
        write_tiff(tmp_path / "x.tif", np.zeros((2, 4, 4)), scan_step=0)
    (tmp_path / "y.tif").write_bytes(b"keep")
    with pytest.raises(FileExistsError):
        write_tiff(tmp_path / "y.tif", np.zeros((2, 4, 4)), overwrite=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["y.tif"]
