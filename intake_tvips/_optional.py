"""Optional dependencies: import one, or say in one line which extra installs it."""

from __future__ import annotations

import importlib
from types import ModuleType


class MissingDependencyError(ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


def require(module: str, extra: str, purpose: str | None = None) -> ModuleType:
    """Import ``module``, or raise :class:`MissingDependencyError` naming the extra.

    >>> require("numpy", "base").__name__
    'numpy'

    ``purpose`` says what needs it (default: ``"this"``), e.g. ``require("zarr",
    "convert", "writing Zarr")`` -> ``writing Zarr needs zarr, which is not installed:
    pip install 'intake-tvips[convert]'``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as e:
        top = module.partition(".")[0]
        raise MissingDependencyError(
            f"{purpose or 'this'} needs {top}, which is not installed: "
            f"pip install 'intake-tvips[{extra}]'"
        ) from e
