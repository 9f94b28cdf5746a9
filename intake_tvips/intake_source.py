"""Stable path of the Intake v1 driver: ``intake_tvips.intake_source.TVIPSSource``.

Catalogs written down name this class path (``driver: intake_tvips.intake_source.TVIPSSource``);
the code lives in :mod:`intake_tvips.integrations.intake_source`.
"""

from intake_tvips.integrations.intake_source import TVIPSSource

__all__ = ["TVIPSSource"]
