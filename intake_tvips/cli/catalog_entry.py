"""``intake-tvips catalog``: an Intake catalog entry for a recording, printed or added to
a catalog file.

The entry carries the scan parameters (given or detected once from the frame headers), so
opening the catalog never detects again. Storage options are filtered: only keys known to
configure rather than authenticate (``anon``, ``endpoint_url``, ... see
:mod:`intake_tvips.storage.secrets`) are written; credentials belong in the environment.

An existing catalog is edited as text, so its comments and layout stay: the new entry is
inserted at the end of its ``sources:`` block (or replaces an entry of the same name, with
``force``).
"""

from __future__ import annotations

import os
import re

import yaml

from intake_tvips import catalog_safe_options, strip_url_credentials

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class CatalogError(ValueError):
    """The catalog cannot be written as asked (duplicate name, unreadable YAML, ...)."""


def check_name(name: str) -> None:
    if not _NAME_RE.match(name or ""):
        raise CatalogError(
            f"--name must be a Python identifier (letters, digits, _), got {name!r}: "
            "catalog entries are attributes (cat.NAME)"
        )


def catalog_url(urlpath: str, catalog_path: str | None) -> str:
    """The URL to write: a local path as absolute, or relative to ``{{ CATALOG_DIR }}``
    when the recording is under the catalog's folder."""
    from fsspec.utils import get_protocol

    text = os.fspath(urlpath)
    if get_protocol(text) not in ("file", "local"):
        return strip_url_credentials(text)
    local = os.path.abspath(text[7:] if text.startswith("file://") else text)
    if catalog_path is not None:
        cat_dir = os.path.dirname(os.path.abspath(catalog_path))
        rel = os.path.relpath(local, cat_dir)
        if not rel.startswith(os.pardir):
            return "{{ CATALOG_DIR }}/" + rel.replace(os.sep, "/")
    return local


def build_entry(
    urlpath: str,
    reader_kwargs: dict,
    storage_options: dict | None,
    description: str,
    catalog_path: str | None = None,
) -> tuple[dict, list[str]]:
    """``(entry, dropped)``: the catalog entry and the storage option keys left out."""
    args: dict = {"urlpath": catalog_url(urlpath, catalog_path)}
    shape = reader_kwargs.get("scan_shape")
    args["scan_shape"] = list(shape) if isinstance(shape, (tuple, list)) else shape
    for key in ("scan_start_frame", "winding_scan_axis", "hysteresis"):
        if key in reader_kwargs:
            args[key] = reader_kwargs[key]
    kept, dropped = catalog_safe_options(storage_options or {})
    if kept:
        args["storage_options"] = kept
    entry = {"description": description, "driver": "tvips", "args": args}
    return entry, dropped


def entry_yaml(name: str, entry: dict, indent: int = 2) -> str:
    """``name: {entry}`` as block YAML, every line indented by ``indent`` spaces."""
    text = yaml.safe_dump({name: entry}, default_flow_style=False, sort_keys=False, width=88)
    pad = " " * indent
    return "".join(pad + line if line.strip() else line for line in text.splitlines(True))


def new_catalog(name: str, entry: dict) -> str:
    return (
        "# Written by `intake-tvips catalog`.\n"
        "metadata:\n  version: 1\n\nsources:\n" + entry_yaml(name, entry)
    )


def _end_line(lines: list[str], mark) -> int:
    """Index of the first line after a node that ends at ``mark`` (PyYAML ends a block
    node where the next token starts, possibly indented on a later line)."""
    if mark.line >= len(lines) or not lines[mark.line][: mark.column].strip():
        return mark.line
    return mark.line + 1


def _last_content_line(lines: list[str], before: int) -> int:
    """The last line before index ``before`` that is not blank or a comment."""
    i = min(before, len(lines)) - 1
    while i >= 0 and (not lines[i].strip() or lines[i].lstrip().startswith("#")):
        i -= 1
    return i


def add_entry(text: str, name: str, entry: dict, force: bool = False) -> tuple[str, str]:
    """``(new text, what happened)``: ``text`` (a catalog) with entry ``name`` added.

    Raises :class:`CatalogError` for a duplicate ``name`` (unless ``force``: it is
    replaced) or a file that is not a catalog.
    """
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as e:
        raise CatalogError(f"the catalog is not valid YAML: {e}") from e
    if root is None:
        return new_catalog(name, entry), "created"
    if not isinstance(root, yaml.MappingNode):
        raise CatalogError("the catalog's top level is not a mapping")
    lines = text.splitlines(True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    sources = next(((k, v) for k, v in root.value if k.value == "sources"), None)
    if sources is None:
        lines += ["\nsources:\n", entry_yaml(name, entry)]
        return "".join(lines), "added"
    key_node, node = sources
    if isinstance(node, yaml.ScalarNode) and node.value in ("", "~", "null"):
        # "sources:" with nothing under it
        at = key_node.start_mark.line
        lines[at] = " " * key_node.start_mark.column + "sources:\n"
        lines.insert(at + 1, entry_yaml(name, entry, key_node.start_mark.column + 2))
        return "".join(lines), "added"
    if not isinstance(node, yaml.MappingNode) or node.flow_style:
        raise CatalogError(
            "the catalog's sources: is not a block mapping; add the entry by hand (print it "
            "without -o)"
        )
    names = [k.value for k, _ in node.value]
    if name in names and not force:
        raise CatalogError(
            f"the catalog already has an entry {name!r}; choose another --name or pass "
            "--force to replace it"
        )
    indent = node.value[0][0].start_mark.column if node.value else key_node.start_mark.column + 2
    new = entry_yaml(name, entry, indent)
    if name in names:
        i = names.index(name)
        k, v = node.value[i]
        first = k.start_mark.line
        last = _last_content_line(lines, _end_line(lines, v.end_mark))
        lines[first : last + 1] = [new]
        return "".join(lines), "replaced"
    last = _last_content_line(lines, _end_line(lines, node.end_mark))
    lines.insert(last + 1, new)
    return "".join(lines), "added"


def write_entry(path: str, name: str, entry: dict, force: bool = False) -> str:
    """Add the entry to the catalog file ``path`` (created if missing); returns what
    happened. The file is replaced atomically, and only once the result parses and
    holds the entry."""
    text = ""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            text = f.read()
    new_text, what = add_entry(text, name, entry, force)
    check = yaml.safe_load(new_text)
    got = (check or {}).get("sources", {}) if isinstance(check, dict) else {}
    if not isinstance(got, dict) or got.get(name) != entry:
        raise CatalogError(f"{path}: could not add the entry {name!r} cleanly; add it by hand")
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(new_text)
    os.replace(tmp, path)
    return what
