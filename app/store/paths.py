"""Where Ledgerdesk keeps its files: the platform's user folders, or LEDGERDESK_HOME when set
(tests, the demo, and anyone who wants a portable install)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import platformdirs

APP_NAME = "Ledgerdesk"


def data_dir() -> Path:
    home = os.environ.get("LEDGERDESK_HOME")
    return Path(home) / "data" if home else platformdirs.user_data_path(APP_NAME, appauthor=False)


def log_dir() -> Path:
    home = os.environ.get("LEDGERDESK_HOME")
    return Path(home) / "logs" if home else platformdirs.user_log_path(APP_NAME, appauthor=False)


def config_dir() -> Path:
    home = os.environ.get("LEDGERDESK_HOME")
    return Path(home) / "config" if home else platformdirs.user_config_path(APP_NAME, appauthor=False)


def company_file(provider: str, connection_id: str, company_id: str) -> Path:
    """One SQLite file per company; the name is derived, safe on every file system, and stable."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", f"{provider}-{connection_id}-{company_id}")[:120]
    return data_dir() / "companies" / f"{slug}.sqlite"
