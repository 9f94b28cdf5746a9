"""Every snippet of README.md runs here, on the demo's recording in a temporary folder.

The only edits made to a snippet before it runs (the substitutions):

* Set-up block: the ``pip install`` halves are .ci/run's (it runs the test command
  verbatim); ``intake-tvips demo`` runs as written, in the temporary folder, once for the
  whole module.
* Command-line synopsis (``intake-tvips info URL [--json]`` ...): ``URL`` is the demo's
  ``tvips-demo/data/scan_000.tvips``, ``NAME`` is ``synopsis``, an ``[option]`` is given,
  in a folder of its own; its ``intake-tvips demo`` line is the set-up's run.
* Transcripts (``$ command`` followed by output; the demo's output block): each command
  runs (``$ cd DIR`` changes folder); every output line the README shows must appear in
  the real output, in order, with times in seconds and rates free (``1.16 s``,
  ``36.78 MiB/s``) and the temporary folder shown as ``.``.
* Python blocks run in ``tvips-demo/data`` after the transcript (which made ``exp.yaml``
  there). In the Python API block, ``s3://bucket/run7/`` is a bucket on the moto server
  holding the demo's recording, ``{"anon": True}`` gains that server's endpoint, and
  ``scan_shape=(256, 256)`` is the demo's ``(64, 64)``.
* The catalog YAML block is opened by Intake next to a 128 x 128 scan it describes.
* The xarray and HyperSpy blocks read that bucket too (same substitutions), in a
  temporary folder. The references block runs in ``tvips-demo/data`` (local parts); the
  block that reads them back gets ``"remote_protocol": "file"`` and no remote options
  (the local parts the references point to), and ``xr`` imported.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
from pathlib import Path

import intake
import numpy as np
import pytest
from tvips_factory import make_frames, reference_scan, tvips_bytes, write_parts

from intake_tvips.cli import main

README = Path(__file__).parents[1] / "README.md"
BLOCK_RE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)


def blocks(lang: str | None = None) -> list[str]:
    return [b for lg, b in BLOCK_RE.findall(README.read_text()) if lang is None or lg == lang]


def block_with(text: str, lang: str | None = None) -> str:
    (found,) = [b for b in blocks(lang) if text in b]
    return found


def free(line: str) -> str:
    """A line with its timings and rates made free."""
    line = re.sub(r"\([\d.]+ [KMGT]?i?B/s\)", "(<rate>)", line)
    return re.sub(r"\b\d+(\.\d+)? s\b", "<t> s", line).rstrip()


def assert_shown_in(shown: list[str], real: str) -> None:
    """Each line of ``shown`` is a line of ``real``, in this order (free timings)."""
    lines = iter(free(x) for x in real.splitlines())
    for want in shown:
        assert any(got == free(want) for got in lines), f"README line not in the output: {want}"


def run(argv: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    assert code == 0, (argv, out.getvalue())
    return out.getvalue()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """``intake-tvips demo`` (the set-up command) in a temporary folder: (folder, output)."""
    root = tmp_path_factory.mktemp("readme")
    old = os.getcwd()
    os.chdir(root)
    try:
        setup = blocks("bash")[0].splitlines()[0]
        command = setup.split("&&")[1].split("#")[0].strip()
        assert command == "intake-tvips demo"
        printed = run(shlex.split(command)[1:])
    finally:
        os.chdir(old)
    return root, printed


def test_the_setup_commands_come_first():
    first = README.read_text().split("\n\n")[1].splitlines()
    assert first[0] == "```bash" and first[-1] == "```" and len(first) == 4
    assert first[1].startswith('pip install ".[demo]" && intake-tvips demo')
    assert first[2].startswith('pip install -e ".[test]" && python -m pytest -q')


def test_the_demo_prints_what_the_readme_shows(demo):
    root, printed = demo
    shown = block_with("[1/5] synthesized", "").splitlines()
    assert_shown_in(shown, printed.replace(str(root), "."))


def test_the_command_line_transcript(demo, monkeypatch):
    root, _ = demo
    monkeypatch.chdir(root)
    transcript = block_with("$ intake-tvips info", "")
    commands = re.split(r"^\$ ", transcript, flags=re.M)[1:]
    assert len(commands) >= 4
    for chunk in commands:
        command, *shown = chunk.splitlines()
        argv = shlex.split(command)
        if argv[0] == "cd":
            monkeypatch.chdir(argv[1])
            continue
        assert argv[0] == "intake-tvips"
        assert_shown_in(shown, run(argv[1:]))
    assert (root / "tvips-demo" / "data" / "out.zarr").is_dir()


def test_the_blockfile_transcript(demo, monkeypatch):
    rsciio_blockfile = pytest.importorskip("rsciio.blockfile")
    root, _ = demo
    monkeypatch.chdir(root)
    transcript = block_with("$ intake-tvips convert scan_000.tvips scan.blo", "")
    (cd, command), shown = transcript.splitlines()[:2], transcript.splitlines()[2:]
    monkeypatch.chdir(shlex.split(cd[2:])[1])
    argv = shlex.split(command[2:])
    assert_shown_in(shown, run(argv[1:]))
    signal = rsciio_blockfile.file_reader("scan.blo")[0]
    assert signal["data"].shape == (64, 64, 32, 32)
    assert [float(a["scale"]) for a in signal["axes"]] == [10.0, 10.0, 0.02, 0.02]


def test_the_command_line_synopsis(demo, monkeypatch, tmp_path):
    root, _ = demo
    monkeypatch.chdir(tmp_path)
    url = str(root / "tvips-demo" / "data" / "scan_000.tvips")
    synopsis = block_with("intake-tvips info     URL", "bash")
    ran = []
    for line in synopsis.splitlines():
        command = line.split("#")[0].strip()
        if command == "intake-tvips demo":
            continue  # the set-up's run
        command = re.sub(r"\[([^\]]*)\]", r"\1", command)
        argv = [url if a == "URL" else "synopsis" if a == "NAME" else a for a in command.split()]
        run(argv[1:])
        ran.append(argv[1])
    assert ran == ["info", "catalog", "preview", "convert", "refs"]
    assert (tmp_path / "out.png").is_file() and (tmp_path / "out.zarr").is_dir()
    assert (tmp_path / "refs.json").is_file()
    assert "synopsis" in intake.open_catalog(str(tmp_path / "exp.yaml"))


def test_the_first_python_block(demo, monkeypatch):
    root, _ = demo
    monkeypatch.chdir(root / "tvips-demo" / "data")
    if not Path("exp.yaml").exists():  # the transcript makes it; alone, make it here
        run(["catalog", "scan_000.tvips", "--name", "scan1", "--hysteresis", "2", "-o", "exp.yaml"])
    code = block_with('intake.open_catalog("exp.yaml")', "python")
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["data"].shape == (64, 64, 64, 64)
    vbf = namespace["vbf"]
    assert vbf.shape == (64, 64) and np.corrcoef(vbf.ravel(), np.arange(64 * 64))[0, 1] < 0.9


@pytest.fixture
def bucket(demo, s3):
    """The demo's recording in ``s3://bucket/run7/`` on the moto server, readable
    anonymously; returns the code substitutions that point README blocks at it."""
    from servers import s3_client

    root, _ = demo
    client = s3_client(s3.endpoint)
    client.create_bucket(Bucket="bucket", ACL="public-read")  # the README reads it anonymously
    for part in sorted((root / "tvips-demo" / "data").glob("scan_*.tvips")):
        client.upload_file(
            str(part), "bucket", f"run7/{part.name}", ExtraArgs={"ACL": "public-read"}
        )
    endpoint = {"client_kwargs": {"endpoint_url": s3.endpoint}}
    return {
        '{"anon": True}': f'{{"anon": True, **{endpoint!r}}}',
        "scan_shape=(256, 256)": "scan_shape=(64, 64)",
    }


def run_block(marker: str, substitutions: dict, namespace: dict | None = None) -> dict:
    code = block_with(marker, "python")
    for old, new in substitutions.items():
        assert old in code, f"substitution {old!r} no longer applies"
        code = code.replace(old, new)
    namespace = {} if namespace is None else namespace
    exec(compile(code, "README.md", "exec"), namespace)
    return namespace


def test_the_python_api_block(bucket, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    signal = run_block("from intake_tvips import file_reader, file_writer", bucket)["signal"]
    assert signal["data"].shape == (64, 64, 64, 64)
    assert (tmp_path / "copy_000.tvips").stat().st_size > 32 * 2**20


def test_the_xarray_block(bucket, monkeypatch, tmp_path):
    import xarray as xr

    monkeypatch.chdir(tmp_path)
    ds = run_block('engine="tvips", chunks={}', bucket)["ds"]
    assert ds["data"].shape == (64, 64, 64, 64) and ds["data"].chunks is not None
    for copy in (xr.open_zarr("copy.zarr"), xr.open_dataset("copy.nc", engine="h5netcdf")):
        np.testing.assert_array_equal(copy["data"].values, ds["data"].values)


def test_the_references_blocks(demo, monkeypatch):
    import xarray as xr

    from intake_tvips import file_reader

    root, _ = demo
    monkeypatch.chdir(root / "tvips-demo" / "data")
    run_block("refs = intake_tvips.references(", {})
    local = {
        '"remote_protocol": "s3"': '"remote_protocol": "file"',
        '"remote_options": {"anon": True, "asynchronous": True}': '"remote_options": {}',
    }
    ds = run_block('open_dataset("reference://"', local, {"xr": xr})["ds"]
    kwargs = dict(scan_shape=(64, 64), scan_start_frame=3, winding_scan_axis="x", hysteresis=2)
    want = file_reader("scan_000.tvips", **kwargs)[0]["data"]
    np.testing.assert_array_equal(ds["data"].values, want)
    assert ds["data"].dtype == want.dtype


def test_the_hyperspy_block(bucket, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    found = run_block("intake_tvips.load_hyperspy(", bucket)
    s, vbf = found["s"], found["vbf"]
    assert s._lazy and s.data.shape == (64, 64, 64, 64)
    vbf.compute()  # in place: the signal holds numpy now
    assert not vbf._lazy and vbf.data.shape == (64, 64)
    np.testing.assert_array_equal(vbf.data, np.asarray(s.data.sum(axis=(-2, -1))))


def test_the_catalog_yaml_block(tmp_path):
    entry = block_with("scan1:", "yaml")
    frames = make_frames(3 + 128 * 128 + 2, (2, 2))
    (tmp_path / "data").mkdir()
    write_parts(str(tmp_path / "data" / "scan1"), tvips_bytes(frames))
    (tmp_path / "exp.yaml").write_text(entry)
    data = intake.open_catalog(str(tmp_path / "exp.yaml")).scan1.to_dask()
    np.testing.assert_array_equal(data.compute(), reference_scan(frames, (128, 128), 3, "x", 2))


def test_the_hysteresis_block(demo, monkeypatch, capsys):
    """The estimate on the demo's recording prints what the README's comment shows."""
    root, _ = demo
    monkeypatch.chdir(root)
    code = block_with("est = intake_tvips.estimate_hysteresis(", "python")
    exec(compile(code, "README.md", "exec"), {})
    shown = [ln.lstrip("# ") for ln in code.splitlines() if ln.startswith("# ")]
    assert capsys.readouterr().out.split() == shown[0].split()


def test_the_scan_from_pixels_block(demo, monkeypatch, capsys):
    """The demo's frames without positions: the whole scan found from the pixels, as the
    README's comment shows."""
    root, _ = demo
    monkeypatch.chdir(root)
    code = block_with('found = intake_tvips.detect_scan("stack_000.tvips", pixels=True)', "python")
    exec(compile(code, "README.md", "exec"), {})
    shown = [ln.lstrip("# ") for ln in code.splitlines() if ln.startswith("# ")]
    assert capsys.readouterr().out.split() == shown[-1].split()


#: a marker of each README block and what runs it; blocks without a language that are
#: pictures, not commands, are named as such
COVERED = {
    'pip install ".[demo]" && intake-tvips demo': "the demo fixture, .ci/run",
    'intake.open_catalog("exp.yaml")': "test_the_first_python_block",
    "[1/5] synthesized": "test_the_demo_prints_what_the_readme_shows",
    "intake-tvips info     URL": "test_the_command_line_synopsis",
    "$ intake-tvips info": "test_the_command_line_transcript",
    "$ intake-tvips convert scan_000.tvips scan.blo": "test_the_blockfile_transcript",
    "scan1:\n    driver: tvips": "test_the_catalog_yaml_block",
    "from intake_tvips import file_reader, file_writer": "test_the_python_api_block",
    'engine="tvips", chunks={}': "test_the_xarray_block",
    "refs = intake_tvips.references(": "test_the_references_blocks",
    'open_dataset("reference://"': "test_the_references_blocks",
    "intake_tvips.load_hyperspy(": "test_the_hyperspy_block",
    "est = intake_tvips.estimate_hysteresis(": "test_the_hysteresis_block",
    'detect_scan("stack_000.tvips", pixels=True)': "test_the_scan_from_pixels_block",
    "ruff check intake_tvips tests benchmarks": ".ci/run (the development commands)",
    "intake-tvips view tvips-demo/data/scan_000.tvips": "test_view_browser.py (the commands)",
}
PICTURES = ("URL -> storage/parts.py",)


def test_every_block_is_run_somewhere():
    for lang, block in BLOCK_RE.findall(README.read_text()):
        covered = [m for m in COVERED if m in block]
        picture = not lang and any(p in block for p in PICTURES)
        assert covered or picture, f"a README block no test runs:\n{block}"
