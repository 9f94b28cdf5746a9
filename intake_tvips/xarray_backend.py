"""Stable path of xarray's ``engine="tvips"`` entry point as installs made before the move
name it (``intake_tvips.xarray_backend:TVIPSBackendEntrypoint``; ``pyproject.toml`` now
names the new home); the code lives in :mod:`intake_tvips.integrations.xarray_backend`.
"""

from intake_tvips.integrations.xarray_backend import TVIPSBackendEntrypoint

__all__ = ["TVIPSBackendEntrypoint"]
