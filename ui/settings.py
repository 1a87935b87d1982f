"""The window's own settings (geometry, last view, last company, theme) in an INI file beside the workspace's
settings, under ``config_dir()``: LEDGERDESK_HOME moves it with everything else, so tests and the demo never
touch a user's real settings, and it is a file a person can read or delete."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from app.store.paths import config_dir

FILE_NAME = "window.ini"


def window_settings() -> QSettings:
    folder = config_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return QSettings(str(folder / FILE_NAME), QSettings.Format.IniFormat)
