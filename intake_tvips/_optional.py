"""Optional dependencies: import one, or say in one line which extra installs it."""

from __future__ import annotations

import importlib
from types import ModuleType


class MissingDependencyError(ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


def require(
    module: str, extra: str, purpose: str | None = None, min_version: int | None = None
) -> ModuleType:
    """Import ``module``, or raise :class:`MissingDependencyError` naming the extra.

    >>> require("numpy", "base").__name__
    'numpy'

    ``purpose`` says what needs it (default: ``"this"``), e.g. ``require("zarr",
    "convert", "writing Zarr")`` -> ``writing Zarr needs zarr, which is not installed:
    pip install 'intake-tvips[convert]'``. ``min_version``: the lowest major version that
    will do (an older one is refused the same way, naming the version found).
    """
    top = module.partition(".")[0]
    hint = f"pip install 'intake-tvips[{extra}]'"
    wanted = top if min_version is None else f"{top}>={min_version}"
    try:
        found = importlib.import_module(module)
    except ImportError as e:
        raise MissingDependencyError(
            f"{purpose or 'this'} needs {wanted}, which is not installed: {hint}"
        ) from e
    if min_version is not None and _major(found) < min_version:
        raise MissingDependencyError(
            f"{purpose or 'this'} needs {wanted}, found {top} {found.__version__}: {hint}"
        )
    return found


def _major(module: ModuleType) -> int:
    try:
        return int(str(getattr(module, "__version__", "0")).split(".")[0])
    except ValueError:
        return 0
