"""The ``intake-tvips`` command-line application, built on the library's public API.

Nothing in the library imports this subpackage.
"""

from intake_tvips.cli.main import main

__all__ = ["main"]
