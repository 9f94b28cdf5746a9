"""The house rules, read from the source: imports go down the layers, no cycles, the CLI on top.

Every ``import`` counts, including those inside functions (a lazy import is still a
dependency). The layers, bottom to top, are listed in ``LAYERS``; a module may import
from its own layer or any layer below it, never above.
"""

from __future__ import annotations

import ast
from pathlib import Path

import intake_tvips

PKG = Path(intake_tvips.__file__).parent

#: bottom to top; a folder is its layer; a top-level module (the package, the stable
#: paths kept for moved modules: ``reader``, ``writer``, ``intake_source``, ...) and the
#: viewer are "faces"
LAYERS = [
    "errors",
    "format",
    "storage",
    "maths",
    "graph",
    "recording",
    "process",
    "reading",
    "integrations",
    "writers",
    "faces",
    "cli",
]


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:  # the package itself: its __init__ re-exports the faces
        return "faces"
    if parts[1] in LAYERS:
        return parts[1]
    if parts[1] == "_optional":  # imports nothing of the package: usable by every layer
        return "errors"
    return "cli" if parts[1] == "__main__" else "faces"


def imports_of(path: Path) -> set[str]:
    """Package modules imported anywhere in ``path`` (absolute and relative)."""
    mod = module_name(path)
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("intake_tvips")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("intake_tvips"):
                continue
            if target == "intake_tvips" and {a.name for a in node.names} == {"__version__"}:
                continue  # a constant of the package, not one of its faces
            found.add(target)
            for alias in node.names:  # "from pkg import module"
                if (PKG.parent / Path(*f"{target}.{alias.name}".split("."))).with_suffix(
                    ".py"
                ).exists() or (PKG.parent / Path(*f"{target}.{alias.name}".split("."))).is_dir():
                    found.add(f"{target}.{alias.name}")
    found.discard(mod)
    return found


def import_graph() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in PKG.rglob("*.py")}


def test_the_graph_is_read():
    graph = import_graph()
    assert "intake_tvips.storage.byteranges" in graph
    assert "intake_tvips.storage.filesystem" in graph["intake_tvips.storage.byteranges"]
    assert len(graph) > 25


def test_no_import_cycles():
    graph = import_graph()
    # the package itself imports its faces lazily by name: not an edge for cycles
    graph = {m: {t for t in ts if t != "intake_tvips"} for m, ts in graph.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(m, stack):
        state[m] = 1
        for t in sorted(graph.get(m, ())):
            if state.get(t) == 1:
                cycles.append(stack[stack.index(t) :] + [t] if t in stack else [m, t])
            elif t in graph and not state.get(t):
                visit(t, stack + [t])
        state[m] = 2

    for m in sorted(graph):
        if not state.get(m):
            visit(m, [m])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_imports_go_down_the_layers():
    wrong = []
    for mod, targets in import_graph().items():
        if mod == "intake_tvips":
            continue
        for t in targets:
            if t == "intake_tvips":  # "from intake_tvips import <public name>"
                continue
            if LAYERS.index(layer_of(t)) > LAYERS.index(layer_of(mod)):
                wrong.append(f"{mod} ({layer_of(mod)}) imports {t} ({layer_of(t)})")
    assert not wrong, "\n".join(sorted(wrong))


def test_the_library_never_imports_the_cli():
    offenders = [
        m
        for m, targets in import_graph().items()
        if layer_of(m) != "cli" and any(layer_of(t) == "cli" for t in targets)
    ]
    assert not offenders


def test_layers_do_not_reach_for_the_package_root():
    """Below the faces, ``from intake_tvips import X`` would hide an upward import."""
    offenders = [
        m
        for m, targets in import_graph().items()
        if LAYERS.index(layer_of(m)) < LAYERS.index("faces") and "intake_tvips" in targets
    ]
    assert not offenders


def _cli_modules():
    return [p for p in PKG.rglob("*.py") if layer_of(module_name(p)) == "cli"]


def _library_imports(path: Path) -> list[tuple[str, list[str]]]:
    """``(module, names)`` of every import of the package outside ``intake_tvips.cli``
    (a relative import counts as outside: the CLI spells its imports out)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names if a.name.startswith("intake_tvips")]
        elif isinstance(node, ast.ImportFrom):
            target = "." * node.level + (node.module or "")
            if node.level or target.startswith("intake_tvips"):
                out.append((target, [a.name for a in node.names]))
    return [(m, n) for m, n in out if not m.startswith("intake_tvips.cli")]


def test_the_cli_uses_only_the_public_api():
    """The command line is built on what ``intake_tvips`` exports, like any user's code."""
    assert len(_cli_modules()) >= 8
    public = set(intake_tvips._PUBLIC) | {"__version__"}
    wrong = []
    for path in _cli_modules():
        for module, names in _library_imports(path):
            if module != "intake_tvips" or not set(names) <= public:
                wrong.append(f"{module_name(path)}: from {module} import {', '.join(names)}")
    assert not wrong, "\n".join(wrong)


def test_public_names_are_documented():
    missing = [n for n in intake_tvips.__all__ if not (getattr(intake_tvips, n).__doc__ or "")]
    assert not missing


#: the longest function allowed, in lines of code (its docstring not counted: the
#: reference documentation of a public function may take a screen of its own)
MAX_FUNCTION_LINES = 60


def function_lengths(path: Path) -> list[tuple[str, int]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines = node.end_lineno - node.lineno + 1
            first = node.body[0]
            doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            if doc and isinstance(first.value.value, str):
                lines -= first.end_lineno - first.lineno + 1
            out.append((node.name, lines))
    return out


def test_functions_fit_on_a_screen():
    long = [
        f"{module_name(p)}.{name}: {n} lines"
        for p in PKG.rglob("*.py")
        for name, n in function_lengths(p)
        if n > MAX_FUNCTION_LINES
    ]
    assert not long, "longer than a screen:\n" + "\n".join(sorted(long))


def test_function_lengths_are_measured(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(70))
    probe = tmp_path / "probe.py"
    probe.write_text(
        f'def long():\n    """Doc.\n\n    More.\n    """\n{body}\n\n\ndef short():\n    pass\n'
    )
    lengths = dict(function_lengths(probe))
    assert lengths == {"long": 71, "short": 2}  # the def line and the body; no docstring


def test_the_code_map_lists_every_module():
    code_map = (PKG.parent / "docs" / "architecture.md").read_text()
    missing = [
        str(p.relative_to(PKG))
        for p in PKG.rglob("*.py")
        if p.name != "__init__.py" or p.parent == PKG
        if f"`{p.relative_to(PKG)}`" not in code_map
    ]
    assert not missing, "add a line to docs/architecture.md for: " + ", ".join(sorted(missing))


#: the only modules lying flat in the package: its entry points and the stable paths of
#: moved modules (tiny re-exports; see tests/test_moved_paths.py). Code lives in folders.
TOP_LEVEL = {
    "__init__.py",
    "__main__.py",
    "_optional.py",
    "errors.py",
    "reader.py",
    "writer.py",
    "intake_source.py",
    "intake_reader.py",
    "xarray_view.py",
    "xarray_backend.py",
}
#: the re-exports among them: nothing but a docstring, imports and ``__all__``
STABLE_PATHS = TOP_LEVEL - {"__init__.py", "__main__.py", "_optional.py", "errors.py"}


def test_code_lives_in_folders():
    flat = {p.name for p in PKG.glob("*.py")}
    assert flat <= TOP_LEVEL, f"put {sorted(flat - TOP_LEVEL)} in a folder (a layer)"
    for name in STABLE_PATHS:
        body = ast.parse((PKG / name).read_text()).body
        kinds = {type(node).__name__ for node in body[1:]}
        assert isinstance(body[0], ast.Expr) and "stable path" in body[0].value.value.lower()
        assert kinds <= {"ImportFrom", "Assign"}, f"{name}: only re-exports, found {kinds}"
