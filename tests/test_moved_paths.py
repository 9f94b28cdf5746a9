"""Paths people have written down keep working after the modules moved (issue 18 item 6).

Catalogs (Intake v1 driver classes, Intake 2 class paths), RosettaSciIO-style plugin
specifications and the README name these dotted paths; each must import and be the very
object its new home defines (not a copy, so ``isinstance`` and pickling agree).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import intake
import numpy as np
import pytest
from tvips_factory import make_frames, tvips_bytes, write_parts

import intake_tvips

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

INTEGRATIONS = "intake_tvips.integrations"

#: old path -> where the code lives now
MOVED = {
    "intake_tvips.intake_source.TVIPSSource": "intake_tvips.integrations.intake_source",
    "intake_tvips.intake_reader.TVIPSReader": "intake_tvips.integrations.intake_reader",
    "intake_tvips.intake_reader.TVIPSXarrayReader": "intake_tvips.integrations.intake_reader",
    "intake_tvips.intake_reader.TVIPSFile": "intake_tvips.integrations.intake_reader",
    "intake_tvips.xarray_view.decode_attrs": "intake_tvips.integrations.xarray_view",
    "intake_tvips.xarray_backend.TVIPSBackendEntrypoint": f"{INTEGRATIONS}.xarray_backend",
    "intake_tvips.reader.file_reader": "intake_tvips.reading.reader",
    "intake_tvips.writer.file_writer": "intake_tvips.writers.tvips",
}


def _resolve(dotted: str):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_path_is_the_new_object(old):
    name = old.rpartition(".")[2]
    new = getattr(importlib.import_module(MOVED[old]), name)
    assert _resolve(old) is new
    assert new.__module__ == MOVED[old]  # defined there, not merely passed through


@pytest.mark.parametrize("old", sorted({o.rpartition(".")[0] for o in MOVED}))
def test_an_old_module_is_a_documented_shim(old):
    module = importlib.import_module(old)
    assert "stable path" in module.__doc__.lower()
    assert set(module.__all__) == {o.rpartition(".")[2] for o in MOVED if o.startswith(old + ".")}


def test_public_names_are_those_of_the_new_homes():
    assert intake_tvips.file_reader is _resolve("intake_tvips.reader.file_reader")
    assert intake_tvips.file_writer is _resolve("intake_tvips.writer.file_writer")
    assert intake_tvips.TVIPSSource is _resolve("intake_tvips.intake_source.TVIPSSource")
    for name, module in intake_tvips._PUBLIC.items():
        assert importlib.import_module(module, "intake_tvips").__dict__[name] is getattr(
            intake_tvips, name
        )


def test_entry_points_name_the_new_homes():
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    groups = project["project"]["entry-points"]
    driver = groups["intake.drivers"]["tvips"]
    backend = groups["xarray.backends"]["tvips"]
    assert driver == "intake_tvips.integrations.intake_source:TVIPSSource"
    assert _resolve(driver.replace(":", ".")) is intake_tvips.TVIPSSource
    assert backend.startswith("intake_tvips.integrations.xarray_backend:")
    assert callable(_resolve(backend.replace(":", ".")))
    assert groups["intake.imports"]["tvips"] == "intake_tvips.integrations.intake_reader"
    importlib.import_module(groups["intake.imports"]["tvips"])


def test_an_old_intake_v1_catalog_still_opens(tmp_path):
    """A catalog naming the driver by its old class path reads the recording."""
    frames = make_frames(5, (6, 5))
    first = write_parts(tmp_path / "stack", tvips_bytes(frames))
    cat = tmp_path / "cat.yaml"
    cat.write_text(
        "sources:\n  stack:\n    driver: intake_tvips.intake_source.TVIPSSource\n"
        f"    args:\n      urlpath: '{first}'\n"
    )
    source = intake.open_catalog(str(cat))["stack"]
    assert isinstance(source, intake_tvips.TVIPSSource)
    np.testing.assert_array_equal(source.read(), frames)


def test_an_old_intake2_catalog_still_reads(tmp_path):
    """Intake 2 saved class paths; a catalog saved before the move names the old ones."""
    from intake_tvips.integrations.intake_reader import TVIPSFile, TVIPSReader

    frames = make_frames(4, (6, 5))
    first = write_parts(tmp_path / "stack", tvips_bytes(frames))
    cat = intake.entry.Catalog()
    cat["stack"] = TVIPSReader(TVIPSFile(str(first)))
    path = tmp_path / "cat2.yaml"
    cat.to_yaml_file(str(path))
    text = path.read_text()
    assert "intake_tvips.integrations.intake_reader:TVIPSReader" in text
    path.write_text(
        text.replace("intake_tvips.integrations.intake_reader", "intake_tvips.intake_reader")
    )
    assert "integrations" not in path.read_text()
    np.testing.assert_array_equal(
        intake.from_yaml_file(str(path))["stack"].read().compute(), frames
    )
