"""HyperSpy signals: load_hyperspy and TVIPSSource.to_hyperspy against hs.load + rsciio."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import dask.array as da
import fsspec
import hyperspy.api as hs
import numpy as np
import pytest
from test_cli import SCAN_KW, recording_parts
from tvips_factory import write_parts

from intake_tvips import file_reader, load_hyperspy
from intake_tvips.integrations.hyperspy import SignalTypeWarning
from intake_tvips.integrations.intake_source import TVIPSSource

#: RosettaSciIO's TVIPS test files, copied unchanged (as in shared/testdata/rsciio)
RSCIIO = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent

FILES = [
    ("test_tvips_2345_000.tvips", {}),
    ("test_tvips_2345_split_000.tvips", {"scan_shape": (2, 3)}),
    ("test_tvips_2233_000.tvips", {"scan_shape": (2, 2), "winding_scan_axis": "x"}),
]


def comparable_metadata(signal) -> dict:
    """The metadata without what differs on purpose or by the moment of loading."""
    md = signal.metadata.as_dictionary()
    for key in ("FileIO", "date", "time", "time_zone"):
        md["General"].pop(key, None)
    return md


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("name,kw", FILES)
def test_equals_hs_load_with_rosettasciio(name, kw, lazy):
    path = str(RSCIIO / name)
    theirs = hs.load(path, file_format="TVIPS", lazy=lazy, **kw)
    ours = load_hyperspy(path, lazy=lazy, **kw)
    assert type(ours) is type(theirs)
    assert type(ours).__name__ == ("LazySignal2D" if lazy else "Signal2D")
    assert ours.axes_manager.as_dictionary() == theirs.axes_manager.as_dictionary()
    assert comparable_metadata(ours) == comparable_metadata(theirs)
    assert ours.metadata.General.time_zone == "UTC"
    assert ours.original_metadata.as_dictionary() == theirs.original_metadata.as_dictionary()
    if lazy:
        assert isinstance(ours.data, da.Array)
        assert ours.data.chunks == file_reader(path, lazy=True, **kw)[0]["data"].chunks
    np.testing.assert_array_equal(np.asarray(ours.data), np.asarray(theirs.data))


def test_lazy_from_s3(s3):
    fs = fsspec.filesystem("s3", **s3.storage_options)
    url = "s3://" + write_parts("tvips/hs/scan", recording_parts()[1], fs=fs)
    fs.invalidate_cache()
    s = load_hyperspy(url, lazy=True, storage_options=s3.storage_options, **SCAN_KW)
    assert isinstance(s, hs.signals.LazySignal2D)
    assert s.axes_manager.navigation_shape == (8, 6)  # HyperSpy's order: x, y
    assert s.metadata.General.original_filename == "scan_000.tvips"
    s3.log.clear()
    vbf = s.sum(axis=(2, 3))  # still lazy: nothing read
    assert s3.log.count("GET") == 0
    expected = file_reader(url, storage_options=s3.storage_options, **SCAN_KW)[0]["data"]
    np.testing.assert_array_equal(vbf.data.compute(), expected.sum(axis=(2, 3)))


def test_unregistered_signal_type_warns_naming_pyxem(tmp_path):
    path = str(RSCIIO / "test_tvips_2345_000.tvips")
    with pytest.warns(SignalTypeWarning, match=r"install pyxem to get its ElectronDiffraction2D"):
        s = load_hyperspy(path, lazy=True, signal_type="electron_diffraction")
    assert s.metadata.Signal.signal_type == "electron_diffraction"
    assert isinstance(s, hs.signals.LazySignal2D)
    with pytest.warns(SignalTypeWarning, match="no installed HyperSpy extension"):
        load_hyperspy(path, signal_type="no_such_type")


EXTENSION = {
    "__init__.py": textwrap.dedent(
        """
        from hyperspy.signals import Signal2D
        from hyperspy._signals.lazy import LazySignal

        class ElectronDiffraction2D(Signal2D):
            _signal_type = "electron_diffraction"

        class LazyElectronDiffraction2D(LazySignal, ElectronDiffraction2D):
            pass
        """
    ),
    "hyperspy_extension.yaml": textwrap.dedent(
        """
        signals:
          ElectronDiffraction2D:
            signal_type: electron_diffraction
            signal_dimension: 2
            dtype: real
            lazy: False
            module: tvips_probe_ext
          LazyElectronDiffraction2D:
            signal_type: electron_diffraction
            signal_dimension: 2
            dtype: real
            lazy: True
            module: tvips_probe_ext
        """
    ),
}


def test_registered_signal_type_gives_the_extension_class(tmp_path):
    """What pyxem does: a HyperSpy extension registering 'electron_diffraction'."""
    site = tmp_path / "site"
    (site / "tvips_probe_ext").mkdir(parents=True)
    for name, text in EXTENSION.items():
        (site / "tvips_probe_ext" / name).write_text(text)
    info = site / "tvips_probe_ext-0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tvips-probe-ext\nVersion: 0\n")
    (info / "entry_points.txt").write_text(
        "[hyperspy.extensions]\ntvips_probe_ext = tvips_probe_ext\n"
    )
    code = textwrap.dedent(
        f"""
        import warnings
        warnings.simplefilter("error")
        from intake_tvips import load_hyperspy
        for lazy in (True, False):
            s = load_hyperspy({str(RSCIIO / "test_tvips_2345_000.tvips")!r}, lazy=lazy,
                              signal_type="electron_diffraction")
            print(type(s).__name__, type(s).__module__)
        """
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(site)]))
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=90
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == [
        "LazyElectronDiffraction2D",
        "tvips_probe_ext",
        "ElectronDiffraction2D",
        "tvips_probe_ext",
    ]


def test_source_to_hyperspy(tmp_path):
    url = write_parts(tmp_path / "scan", recording_parts()[1])
    src = TVIPSSource(url, **SCAN_KW)
    lazy = src.to_hyperspy()
    assert isinstance(lazy, hs.signals.LazySignal2D) and lazy.data is src.to_dask()
    eager = src.to_hyperspy(lazy=False)
    assert isinstance(eager, hs.signals.Signal2D) and not eager._lazy
    np.testing.assert_array_equal(eager.data, lazy.data.compute())
    lazy.metadata.General.title = "changed"
    assert "title" not in src.metadata["signal_metadata"]["General"]  # not shared


def test_missing_hyperspy_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "hyperspy", None)
    monkeypatch.setitem(sys.modules, "hyperspy.api", None)
    with pytest.raises(ImportError, match=r"pip install 'intake-tvips\[hyperspy\]'"):
        load_hyperspy(str(RSCIIO / "test_tvips_2345_000.tvips"))
