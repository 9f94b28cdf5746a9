"""References (virtual Zarr): built in numpy, read back by xarray + fsspec alone."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import fsspec
import numpy as np
import pytest
import xarray as xr
from test_cli import FRAME, SCAN_KW, recording_parts
from tvips_factory import make_frames, tvips_bytes, write_parts

from intake_tvips import file_reader, references
from intake_tvips.integrations.virtual_zarr import write_references
from intake_tvips.integrations.xarray_backend import TVIPSBackendEntrypoint

#: winding x, winding y with hysteresis and a start before the recording, a stack
CASES = [
    SCAN_KW,
    dict(scan_shape=(3, 4), scan_start_frame=-5, winding_scan_axis="y", hysteresis=1),
    dict(scan_shape=(4, 6), scan_start_frame=2, winding_scan_axis="x", hysteresis=3),
    {},
]

#: run with intake_tvips unimportable; argv[1]: a JSON list of jobs {refs (a JSON file or
#: a Parquet directory), expected (.npy), protocol, options}
READ_BACK = textwrap.dedent(
    """
    import sys
    sys.modules["intake_tvips"] = None  # this package cannot be imported here
    try:
        import intake_tvips  # noqa: F401
    except ImportError:
        pass
    else:
        raise SystemExit("intake_tvips is importable")
    import json
    import numpy as np
    import xarray as xr

    for job in json.load(open(sys.argv[1])):
        refs = job["refs"]
        fo = json.load(open(refs)) if refs.endswith(".json") else refs
        options = {"fo": fo, "remote_protocol": job["protocol"], "remote_options": job["options"]}
        ds = xr.open_dataset(
            "reference://",
            engine="zarr",
            backend_kwargs={"consolidated": False, "storage_options": options},
        )
        want = np.load(job["expected"])
        got = ds["data"].values
        assert got.dtype == want.dtype, (got.dtype, want.dtype)
        np.testing.assert_array_equal(got, want)
    print("ok", len(json.load(open(sys.argv[1]))), sys.modules["intake_tvips"] is None)
    """
)


class ReadBack:
    """Saved references and the arrays they must give, read back in one subprocess
    where intake_tvips cannot be imported."""

    def __init__(self, tmp_path):
        self.dir = tmp_path / "read_back"
        self.dir.mkdir()
        self.jobs = []

    def add(self, refs, expected, protocol="file", options=None, parquet=False):
        k = len(self.jobs)
        out = self.dir / (f"refs{k}.parquet" if parquet else f"refs{k}.json")
        write_references(refs, str(out))
        np.save(self.dir / f"expected{k}.npy", expected)
        self.jobs.append(
            {
                "refs": str(out),
                "expected": str(self.dir / f"expected{k}.npy"),
                "protocol": protocol,
                "options": options or {},
            }
        )

    def check(self):
        (self.dir / "jobs.json").write_text(json.dumps(self.jobs))
        (self.dir / "read_back.py").write_text(READ_BACK)
        run = subprocess.run(
            [sys.executable, str(self.dir / "read_back.py"), str(self.dir / "jobs.json")],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=self.dir,  # not the worktree
        )
        assert run.returncode == 0, run.stderr[-3000:]
        assert run.stdout.split() == ["ok", str(len(self.jobs)), "True"]


@pytest.fixture
def local(tmp_path):
    (tmp_path / "data").mkdir()
    return write_parts(tmp_path / "data" / "scan", recording_parts()[1])


@pytest.mark.parametrize("kw", CASES)
def test_in_process_equals_reader_and_backend(local, kw):
    refs = references(local, **kw)
    assert refs["version"] == 1
    ds = xr.open_dataset(
        "reference://",
        engine="zarr",
        backend_kwargs={"consolidated": False, "storage_options": {"fo": refs}},
    )
    expected = file_reader(local, **kw)[0]["data"]
    assert ds["data"].dtype == expected.dtype  # integers: missing chunks are 0, not NaN
    np.testing.assert_array_equal(ds["data"].values, expected)
    ours = xr.open_dataset(local, engine=TVIPSBackendEntrypoint, **kw)
    xr.testing.assert_identical(ds.load(), ours.load())  # coordinates and attributes too


def test_one_byte_range_per_position(local):
    kw = CASES[1]  # 3 x 4 from frame -5: the first 5 positions are missing
    refs = references(local, **kw)["refs"]
    chunks = {k: v for k, v in refs.items() if k.startswith("data/") and "/." not in k}
    assert len(chunks) == 12 - 5
    frame_bytes = FRAME[0] * FRAME[1] * 2
    assert {v[2] for v in chunks.values()} == {frame_bytes}
    zarray = json.loads(refs["data/.zarray"])
    assert zarray["chunks"] == [1, 1, *FRAME] and zarray["fill_value"] is None
    assert zarray["compressor"] is None and zarray["dtype"] == "<u2"
    # each range holds exactly the pixels of the frame the reader puts there
    expected = file_reader(local, **kw)[0]["data"]
    for key, (url, offset, length) in chunks.items():
        y, x = (int(i) for i in key[len("data/") :].split(".")[:2])
        raw = fsspec.open(url, "rb").open().read()[offset : offset + length]
        np.testing.assert_array_equal(np.frombuffer(raw, "<u2").reshape(FRAME), expected[y, x])


def test_read_back_without_the_package_local_json_and_parquet(local, tmp_path):
    back = ReadBack(tmp_path)
    for kw in CASES:
        back.add(references(local, **kw), file_reader(local, **kw)[0]["data"])
    for kw in (CASES[1], CASES[3]):
        back.add(references(local, **kw), file_reader(local, **kw)[0]["data"], parquet=True)
    frames = make_frames(7, (3, 4), dtype="u1")
    url = write_parts(tmp_path / "u8", tvips_bytes(frames, records_per_part=[3, 2, 2]))
    kw = dict(scan_shape=(2, 3), scan_start_frame=1, winding_scan_axis="x")
    refs = references(url, **kw)
    assert json.loads(refs["refs"]["data/.zarray"])["dtype"] == "|u1"
    assert len({v[0] for v in refs["refs"].values() if isinstance(v, list)}) == 3  # parts
    back.add(refs, file_reader(url, **kw)[0]["data"])
    back.check()


def test_read_back_without_the_package_s3_and_http(s3, http, tmp_path):
    fs = fsspec.filesystem("s3", **s3.storage_options)
    url = "s3://" + write_parts("tvips/refs/scan", recording_parts()[1], fs=fs)
    fs.invalidate_cache()
    kw = CASES[2]
    refs = references(url, storage_options=s3.storage_options, **kw)
    assert "testing" not in json.dumps(refs)  # storage options never go into the refs
    back = ReadBack(tmp_path)
    # zarr 3 opens fsspec stores asynchronously: async remote filesystems must be too
    options = dict(s3.storage_options, asynchronous=True)
    back.add(
        refs, file_reader(url, storage_options=s3.storage_options, **kw)[0]["data"], "s3", options
    )
    write_parts(Path(http.root) / "refs", recording_parts()[1])
    url = f"{http.url}/refs_000.tvips"
    kw = CASES[1]
    back.add(
        references(url, **kw), file_reader(url, **kw)[0]["data"], "http", {"asynchronous": True}
    )
    http.log.clear()
    s3.log.clear()
    back.check()
    assert http.log.count("GET", ranged=True) >= 7  # one range per recorded position
    assert s3.log.count("GET", ranged=True) >= 24


@pytest.mark.filterwarnings("ignore:The 'fastparquet' engine is deprecated")
@pytest.mark.filterwarnings("ignore:The 'future.infer_string' option is deprecated")
def test_cli_refs_json_and_parquet(local, tmp_path, capsys):
    from intake_tvips.cli.main import main

    out = tmp_path / "r.json"
    argv = ["refs", local, "-o", str(out), "--scan-shape", "6x8", "--scan-start-frame", "3"]
    assert main(argv + ["--winding", "x"]) == 0
    printed = capsys.readouterr().out
    assert "48 chunks" in printed and "r.json" in printed
    refs = json.loads(out.read_text())
    assert refs == references(local, **SCAN_KW)
    assert main(["refs", local, "-o", str(out)]) == 2  # exists
    assert "exists" in capsys.readouterr().err
    pq = tmp_path / "r.parquet"
    assert main(["refs", local, "-o", str(pq), "--scan-shape", "auto"]) == 0  # detected
    assert "detected" in capsys.readouterr().out
    expected = file_reader(local, **SCAN_KW)[0]["data"]
    ds = xr.open_dataset(
        "reference://",
        engine="zarr",
        backend_kwargs={"consolidated": False, "storage_options": {"fo": str(pq)}},
    )
    np.testing.assert_array_equal(ds["data"].values, expected)


def test_missing_parquet_dependency_names_the_extra(local, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "fastparquet", None)
    with pytest.raises(ImportError, match=r"intake-tvips\[parquet\]"):
        write_references(references(local, **SCAN_KW), str(tmp_path / "r.parquet"))


def test_cli_refs_s3_with_storage_options(s3, tmp_path, capsys):
    from test_cli import s3_cli_options

    from intake_tvips.cli.main import main

    fs = fsspec.filesystem("s3", **s3.storage_options)
    url = "s3://" + write_parts("tvips/clirefs/scan", recording_parts()[1], fs=fs)
    fs.invalidate_cache()
    out = tmp_path / "r.json"
    assert main(["refs", url, "-o", str(out), *s3_cli_options(s3)]) == 0
    printed = capsys.readouterr().out
    assert '"remote_protocol": "s3", "remote_options": {"asynchronous": True' in printed
    assert "testing" not in out.read_text()  # no credentials in the references
    refs = json.loads(out.read_text())
    assert refs == references(url, storage_options=s3.storage_options, **SCAN_KW)  # detected


def test_only_headers_are_read_and_auto_rotidx(countmem):
    frames = make_frames(19, (32, 32))
    rot = np.concatenate([[0, 0], np.repeat(np.arange(1, 10), 2)[:-1]])  # 3 x 3, twice each
    first = write_parts("countmem://refs", tvips_bytes(frames, rotidx=rot), fs=countmem)
    countmem.log.clear()
    refs = references(first, scan_shape=(3, 4), scan_start_frame=2)
    assert sum(r[3] for r in countmem.log if r[1] != "open") < 2048  # headers, no pixels
    ds = xr.open_dataset(
        "reference://",
        engine="zarr",
        backend_kwargs={"consolidated": False, "storage_options": {"fo": refs}},
    )
    np.testing.assert_array_equal(ds["data"].values, frames[2:14].reshape(3, 4, 32, 32))
    # scan_shape="auto" (the rotator rule): positions may repeat a frame
    auto = references(first, scan_shape="auto")
    ds = xr.open_dataset(
        "reference://",
        engine="zarr",
        backend_kwargs={"consolidated": False, "storage_options": {"fo": auto}},
    )
    np.testing.assert_array_equal(
        ds["data"].values, file_reader(first, scan_shape="auto")[0]["data"]
    )


def test_empty_recording(tmp_path):
    url = write_parts(tmp_path / "empty", tvips_bytes(make_frames(0, (3, 4))))
    refs = references(url)
    ds = xr.open_dataset(
        "reference://",
        engine="zarr",
        backend_kwargs={"consolidated": False, "storage_options": {"fo": refs}},
    )
    assert ds["data"].shape == (0, 3, 4) and ds["data"].dtype == np.uint16
    assert xr.open_dataarray(url, engine=TVIPSBackendEntrypoint).shape == (0, 3, 4)
