"""Stable path of ``intake_tvips.xarray_view.decode_attrs`` (the README's way to read the
JSON attributes back); the code lives in :mod:`intake_tvips.integrations.xarray_view`.
"""

from intake_tvips.integrations.xarray_view import decode_attrs

__all__ = ["decode_attrs"]
