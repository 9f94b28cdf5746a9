"""``python -m intake_tvips``: the ``intake-tvips`` command line."""

import sys

from intake_tvips.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
