"""The Intake driver (v1 catalogs), the example catalogs and the Intake 2 reader."""

import ast
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import dask.array as da
import intake
import numpy as np
import pytest
import yaml
from tvips_factory import make_frames, reference_scan, tvips_bytes, write_parts

import intake_tvips
from intake_tvips import file_reader
from intake_tvips.integrations.intake_reader import TVIPSFile, TVIPSReader
from intake_tvips.integrations.intake_source import TVIPSSource, mask_storage_options

CATALOGS = intake_tvips.catalogs_dir()

SCAN1 = dict(scan_shape=(8, 8), scan_start_frame=3, winding_scan_axis="x", hysteresis=2)

ISSUE_YAML = """\
sources:
  scan1:
    driver: tvips
    args:
      urlpath: "{{ CATALOG_DIR }}/data/scan1_000.tvips"
      scan_shape: [8, 8]
      scan_start_frame: 3
      winding_scan_axis: x
      hysteresis: 2
"""


def _write(base, n, shape=(6, 5), parts=None):
    frames = make_frames(n, shape)
    first = write_parts(base, tvips_bytes(frames, records_per_part=parts))
    return frames, first


@pytest.fixture
def scan1(tmp_path):
    """The catalog from the issue, next to data/scan1_000.tvips (+ _001), 3 + 64 + 2 frames."""
    (tmp_path / "data").mkdir()
    frames, first = _write(tmp_path / "data" / "scan1", 69, parts=[30, 39])
    path = tmp_path / "cat.yaml"
    path.write_text(ISSUE_YAML)
    return path, frames, first


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    """data/scan_000.tvips as the demo writes it: 3 junk frames + a 64 x 64 scan (+ 5)."""
    root = tmp_path_factory.mktemp("demo")
    (root / "data").mkdir()
    frames, _ = _write(root / "data" / "scan", 3 + 64 * 64 + 5, (4, 5), [1500, 1500, 1104])
    for name in ("demo.yaml", "scan_parameters.yaml"):
        shutil.copy(CATALOGS / name, root / name)
    return root, frames


# --- the catalog from the issue ------------------------------------------------------------


def test_issue_catalog_to_dask(scan1):
    path, frames, first = scan1
    src = intake.open_catalog(str(path)).scan1
    assert isinstance(src, TVIPSSource)
    data = src.to_dask()
    assert isinstance(data, da.Array)
    ref = file_reader(first, lazy=True, **SCAN1)[0]["data"]
    assert data.shape == ref.shape == (8, 8, 6, 5)
    assert data.chunks == ref.chunks
    np.testing.assert_array_equal(data.compute(), ref.compute())
    np.testing.assert_array_equal(data.compute(), reference_scan(frames, (8, 8), 3, "x", 2))


def test_read_is_eager_and_equal(scan1):
    path, frames, _ = scan1
    src = intake.open_catalog(str(path)).scan1
    out = src.read()
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, reference_scan(frames, (8, 8), 3, "x", 2))


def test_discover_metadata(scan1):
    path, _, first = scan1
    src = intake.open_catalog(str(path)).scan1
    info = src.discover()
    ref = file_reader(first, lazy=True, **SCAN1)[0]
    assert info["shape"] == (8, 8, 6, 5)
    assert info["dtype"] == np.dtype("<u2")
    assert info["npartitions"] == ref["data"].npartitions
    md = info["metadata"]
    assert md["axes"] == ref["axes"]
    assert [a["name"] for a in md["axes"]] == ["y", "x", "dy", "dx"]
    assert md["original_metadata"]["tvips_header"] == ref["original_metadata"]["tvips_header"]
    assert md["original_metadata"]["tvips_header"]["dimx"] == 5
    assert md["signal_metadata"] == ref["metadata"]
    assert md["chunks"] == ref["data"].chunks
    assert md["catalog_dir"]  # the catalog's own metadata is kept
    assert src.container == "ndarray" and src.partition_access
    assert src.version == intake_tvips.__version__


def test_read_partition_flat_and_tuple(tmp_path):
    frames, first = _write(tmp_path / "p", 3 + 8 * 8, parts=[20, 47])
    src = TVIPSSource(first, rechunking={0: 3, 1: 4}, **SCAN1)
    arr = src.to_dask()
    assert arr.numblocks == (3, 2, 1, 1)
    assert src.npartitions == 6
    ref = reference_scan(frames, (8, 8), 3, "x", 2)
    for i, idx in enumerate(np.ndindex(*arr.numblocks)):
        sl = tuple(slice(sum(c[:j]), sum(c[: j + 1])) for c, j in zip(arr.chunks, idx))
        np.testing.assert_array_equal(src.read_partition(i), ref[sl])
        np.testing.assert_array_equal(src.read_partition(idx), ref[sl])
    parts = list(src.read_chunked())
    assert len(parts) == 6
    np.testing.assert_array_equal(parts[-1], ref[6:, 4:])
    for bad in (6, -1, (3, 0, 0, 0), (0, 0)):
        with pytest.raises(IndexError):
            src.read_partition(bad)


def test_discover_reads_no_pixels(countmem):
    frames = make_frames(3 + 16 * 16, (32, 32))
    first = write_parts(
        "countmem://intake/rec", tvips_bytes(frames, records_per_part=[100, 159]), fs=countmem
    )
    countmem.log.clear()
    src = TVIPSSource(first, scan_shape=[16, 16], scan_start_frame=3)
    assert countmem.log == []  # constructing opens nothing
    info = src.discover()
    assert info["shape"] == (16, 16, 32, 32)
    reads = list(countmem.log)
    assert all(start is not None for _, start, _, _ in reads)  # ranges, never whole files
    assert sum(n for *_, n in reads) < 2 * 1024 + 256  # headers only; one frame is 2 KiB
    src.to_dask()
    src.discover()
    assert countmem.log == reads  # the lazy array is cached, not reopened
    np.testing.assert_array_equal(src.read_partition(0)[0, 0], frames[3])


def test_close_drops_cached_array(scan1):
    path, frames, _ = scan1
    src = intake.open_catalog(str(path)).scan1
    first = src.to_dask()
    src.close()
    assert src._signal is None
    again = src.to_dask()
    assert again is not first
    np.testing.assert_array_equal(again.compute(), reference_scan(frames, (8, 8), 3, "x", 2))
    with TVIPSSource(str(path.parent / "data" / "scan1_000.tvips")) as stack:
        assert stack.shape == (69, 6, 5)
    assert stack._signal is None


def test_yaml_argument_spellings(tmp_path):
    _, first = _write(tmp_path / "s", 3 + 64)
    assert TVIPSSource(first, scan_shape=[8, 8]).scan_shape == (8, 8)
    assert TVIPSSource(first, scan_shape="[8, 8]").scan_shape == (8, 8)
    assert TVIPSSource(first, scan_shape=["8", "8"]).scan_shape == (8, 8)
    assert TVIPSSource(first, scan_shape="auto").scan_shape == "auto"
    assert TVIPSSource(first, scan_shape="None").scan_shape is None
    src = TVIPSSource(first, scan_shape=(8, 8), scan_start_frame="3", winding_scan_axis="none")
    assert (src.scan_start_frame, src.winding_scan_axis) == (3, None)
    assert src.to_dask().shape == (8, 8, 6, 5)


def test_opener_and_registry(tmp_path):
    _, first = _write(tmp_path / "o", 10)
    assert intake.registry["tvips"] is TVIPSSource
    src = intake.open_tvips(first)
    assert src.discover()["shape"] == (10, 6, 5)


# --- secrets ---------------------------------------------------------------------------------

SECRETS = ["AKIA-SECRET-KEY", "s3cr3t-value", "tok-en-value", "Bearer abc123", "hunter2"]
OPTIONS = {
    "key": SECRETS[0],
    "secret": SECRETS[1],
    "token": SECRETS[2],
    "anon": False,
    "client_kwargs": {
        "endpoint_url": "http://127.0.0.1:9000",
        "aws_session_token": SECRETS[2],
        "headers": {"Authorization": SECRETS[3]},
    },
}


def test_repr_masks_storage_options():
    src = TVIPSSource(
        "s3://user:hunter2@bucket/x_000.tvips", scan_shape=[8, 8], storage_options=OPTIONS
    )
    for text in (repr(src), str(src)):
        assert not any(s in text for s in SECRETS), text
        assert "***" in text
        assert "http://127.0.0.1:9000" in text  # harmless settings stay visible
        assert "anon: false" in text
        assert "scan_shape" in text
    assert mask_storage_options(OPTIONS)["client_kwargs"]["headers"] == {"Authorization": "***"}
    # yaml() keeps the values (documented): it must work as a catalog entry again
    assert SECRETS[1] in src.yaml()
    assert src.storage_options == OPTIONS


def test_describe_masks_storage_options(tmp_path):
    entry = {
        "driver": "tvips",
        "args": {"urlpath": "s3://b/x_000.tvips", "storage_options": OPTIONS},
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"sources": {"s": entry}}))
    src = intake.open_catalog(str(path)).s
    desc = src.describe()
    assert not any(s in repr(desc) for s in SECRETS)
    assert desc["args"]["storage_options"]["client_kwargs"]["endpoint_url"] == (
        "http://127.0.0.1:9000"
    )
    assert src.storage_options == OPTIONS  # what is used is untouched


# --- pickling ----------------------------------------------------------------------------------


def test_pickle_source_and_graph(scan1):
    path, frames, _ = scan1
    src = intake.open_catalog(str(path)).scan1
    src.discover()
    src2 = pickle.loads(pickle.dumps(src))
    assert src2._signal is None  # the cache is not pickled; reopened on demand
    assert (src2.scan_shape, src2.hysteresis) == ((8, 8), 2)
    ref = reference_scan(frames, (8, 8), 3, "x", 2)
    np.testing.assert_array_equal(src2.to_dask().compute(), ref)
    arr = pickle.loads(pickle.dumps(src.to_dask()))
    np.testing.assert_array_equal(arr.compute(scheduler="sync"), ref)


# --- the example catalogs ------------------------------------------------------------------------


def test_demo_catalog(demo_dir):
    root, frames = demo_dir
    cat = intake.open_catalog(str(root / "demo.yaml"))
    assert set(cat) == {"scan", "stack"}
    scan = cat.scan.to_dask()
    assert scan.shape == (64, 64, 4, 5)
    np.testing.assert_array_equal(scan.compute(), reference_scan(frames, (64, 64), 3, "x", 2))
    stack = cat.stack
    assert stack.discover()["shape"] == (len(frames), 4, 5)
    np.testing.assert_array_equal(stack.read(), frames)
    assert cat.scan.discover()["metadata"]["signal_metadata"]["Signal"] == {
        "signal_type": "diffraction"
    }


def test_scan_parameters_catalog(demo_dir):
    root, frames = demo_dir
    cat = intake.open_catalog(str(root / "scan_parameters.yaml"))
    names = {p["name"] for p in cat.scan.describe()["user_parameters"]}
    assert names == {"scan_shape", "scan_start_frame", "winding_scan_axis", "hysteresis"}
    default = cat.scan
    assert (default.scan_shape, default.scan_start_frame) == ((64, 64), 3)
    assert (default.winding_scan_axis, default.hysteresis) == ("x", 2)
    np.testing.assert_array_equal(default.read(), reference_scan(frames, (64, 64), 3, "x", 2))
    cases = [
        (dict(scan_start_frame=5, hysteresis=0), ((64, 64), 5, "x", 0)),
        (dict(scan_shape=[32, 128]), ((32, 128), 3, "x", 2)),
        (dict(winding_scan_axis="none", scan_start_frame=0), ((64, 64), 0, None, 0)),
        (dict(winding_scan_axis="y", hysteresis=1), ((64, 64), 3, "y", 1)),
    ]
    for kw, (shape, start, wind, hyst) in cases:
        src = cat.scan(**kw)
        assert src.scan_shape == shape
        np.testing.assert_array_equal(
            src.to_dask().compute(), reference_scan(frames, shape, start, wind, hyst)
        )
    src = cat.scan_yx(ny=32, nx=128, start=4)
    assert (src.scan_shape, src.scan_start_frame) == ((32, 128), 4)
    np.testing.assert_array_equal(src.read(), reference_scan(frames, (32, 128), 4, "x", 2))
    with pytest.raises(ValueError):
        cat.scan(hysteresis=-1)
    with pytest.raises(ValueError):
        cat.scan(winding_scan_axis="z")


def _raw_storage_options(path):
    spec = yaml.safe_load(path.read_text())
    return [e["args"].get("storage_options", {}) for e in spec["sources"].values()]


@pytest.mark.parametrize("name", ["s3.yaml", "http.yaml"])
def test_remote_catalogs_hold_no_secrets(name):
    def leaves(d, prefix=()):
        for k, v in d.items():
            yield from leaves(v, prefix + (k,)) if isinstance(v, dict) else [(prefix + (k,), v)]

    for so in _raw_storage_options(CATALOGS / name):
        for keys, value in leaves(so):
            assert not any(w in k.lower() for k in keys for w in ("key", "secret", "token")), keys
            assert not isinstance(value, str) or value.startswith("{{"), (keys, value)


def test_s3_catalog_expands_environment(monkeypatch):
    monkeypatch.setenv("TVIPS_S3_ENDPOINT", "http://127.0.0.1:9999")
    monkeypatch.setenv("TVIPS_S3_BUCKET", "my-bucket")
    cat = intake.open_catalog(str(CATALOGS / "s3.yaml"))
    src = cat.scan
    assert src.urlpath == "s3://my-bucket/run7/scan_000.tvips"
    assert src.storage_options == {"client_kwargs": {"endpoint_url": "http://127.0.0.1:9999"}}
    assert (src.scan_shape, src.scan_start_frame, src.winding_scan_axis) == ((256, 256), 3, "x")
    assert cat.scan(bucket="other", run="run8").urlpath == "s3://other/run8/scan_000.tvips"
    anon = cat.scan_anon
    assert anon.storage_options["anon"] is True
    assert anon.urlpath == "s3://my-bucket/run7/scan_000.tvips"
    # without the variables: AWS's endpoint (botocore refuses an empty one)
    monkeypatch.delenv("TVIPS_S3_ENDPOINT")
    fresh = intake.open_catalog(str(CATALOGS / "s3.yaml")).scan
    assert fresh.storage_options["client_kwargs"]["endpoint_url"] == "https://s3.amazonaws.com"
    # templates pass through unexpanded when env() is disabled
    off = intake.open_catalog(str(CATALOGS / "s3.yaml"), getenv=False).scan
    assert "env(" in off.storage_options["client_kwargs"]["endpoint_url"]


def test_http_catalog_expands_environment(monkeypatch):
    monkeypatch.setenv("TVIPS_HTTP_BASE", "http://127.0.0.1:8000/data")
    cat = intake.open_catalog(str(CATALOGS / "http.yaml"))
    assert cat.scan.urlpath == "http://127.0.0.1:8000/data/scan_000.tvips"
    assert cat.scan.scan_shape == (64, 64)
    assert cat.movie.urlpath == "http://127.0.0.1:8000/data/movie_000.tvips"
    assert cat.movie.scan_shape is None
    monkeypatch.delenv("TVIPS_HTTP_BASE")
    fresh = intake.open_catalog(str(CATALOGS / "http.yaml")).scan
    assert fresh.urlpath.startswith("https://")


# --- Intake 2 readers --------------------------------------------------------------------------


def test_intake2_reader(scan1):
    _, frames, first = scan1
    ref = reference_scan(frames, (8, 8), 3, "x", 2)
    data = TVIPSFile(first)
    arr = TVIPSReader(data, **SCAN1).read()
    assert isinstance(arr, da.Array)
    np.testing.assert_array_equal(arr.compute(), ref)
    # from YAML-ish arguments, by datatype lookup, and through an Intake 2 catalog
    arr2 = data.to_reader(
        outtype="dask", scan_shape=[8, 8], scan_start_frame=3, winding_scan_axis="x", hysteresis=2
    ).read()
    np.testing.assert_array_equal(arr2.compute(), ref)
    assert TVIPSFile in intake.readers.datatypes.recommend(first, head=False)
    assert TVIPSReader in data.possible_readers["importable"]
    stack = TVIPSReader(first).read()  # a URL: the datatype is inferred
    np.testing.assert_array_equal(stack.compute(), frames)


def test_intake2_catalog_round_trip(scan1, tmp_path):
    _, frames, first = scan1
    reader = TVIPSReader(
        TVIPSFile(first), scan_shape=[8, 8], scan_start_frame=3, winding_scan_axis="x", hysteresis=2
    )
    cat = intake.entry.Catalog()
    cat["scan1"] = reader
    path = str(tmp_path / "cat2.yaml")
    cat.to_yaml_file(path)
    arr = intake.from_yaml_file(path)["scan1"].read()
    np.testing.assert_array_equal(arr.compute(), reference_scan(frames, (8, 8), 3, "x", 2))


def test_intake_reader_module_is_cheap_to_import():
    src = (Path(intake_tvips.__file__).parent / "integrations" / "intake_reader.py").read_text()
    tops = set()
    for node in ast.parse(src).body:
        if isinstance(node, ast.Import):
            tops |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            tops.add((node.module or "").split(".")[0])
    assert tops <= {"__future__", "intake"}, tops
    # and intake imports it through the intake.imports entry point, without complaint
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, intake; print('intake_tvips.integrations.intake_reader' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "True"
    assert "failed" not in out.stderr
