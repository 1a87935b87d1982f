"""Entry point: `ledgerdesk` (console script) and `python -m app`."""

from __future__ import annotations

import sys

from app.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
