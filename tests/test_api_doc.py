"""docs/api.md is generated from the public names' signatures and docstrings; it must be
current (regenerate it with ``python docs/make_api.py``)."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

import intake_tvips

DOCS = Path(__file__).parents[1] / "docs"


def load_generator():
    spec = importlib.util.spec_from_file_location("make_api", DOCS / "make_api.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_api_md_is_up_to_date():
    text = (DOCS / "api.md").read_text()
    assert text == load_generator().render(), (
        "docs/api.md is out of date: run python docs/make_api.py"
    )


def test_every_public_function_and_parameter_is_listed():
    text = (DOCS / "api.md").read_text()
    for name in intake_tvips.__all__:
        obj = getattr(intake_tvips, name)
        assert f"## `{name}`" in text
        if inspect.isfunction(obj):
            for param in inspect.signature(obj).parameters:
                assert param in text.split(f"## `{name}`")[1].split("\n## ")[0], (name, param)


def test_a_changed_docstring_makes_it_stale(monkeypatch):
    generator = load_generator()
    before = generator.render()
    monkeypatch.setattr(intake_tvips.scan_frame_numbers, "__doc__", "Changed.")
    assert generator.render() != before
