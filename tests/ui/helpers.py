"""What the window's tests share: waiting for a list to be read, finding the question on screen, screenshots."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton, QWidget

from ui.models.paged import ROW_ROLE, PagedTableModel


def settle(qtbot, model: PagedTableModel, timeout: int = 5000) -> None:
    """Until the model has read what it was asked for (its count, first chunk and any chunk drawn)."""
    qtbot.waitUntil(lambda: not model.busy, timeout=timeout)


def rows(model: PagedTableModel, first: int = 0, count: int = 10) -> list:
    return [model.data(model.index(n, 0), ROW_ROLE) for n in range(first, min(first + count, model.total))]


def shown(model: PagedTableModel, row: int, key: str) -> str:
    column = next(n for n, c in enumerate(model.columns) if c.key == key)
    return model.data(model.index(row, column))


def message_box(qtbot, name: str | None = None, timeout: int = 3000) -> QMessageBox:
    """The question or message open on screen now."""
    found: list[QMessageBox] = []

    def open_box() -> bool:
        found[:] = [w for w in QApplication.topLevelWidgets()
                    if isinstance(w, QMessageBox) and w.isVisible() and (name is None or w.objectName() == name)]
        return bool(found)

    qtbot.waitUntil(open_box, timeout=timeout)
    return found[-1]


def press(box: QMessageBox, text: str) -> None:
    for button in box.buttons():
        if button.text().replace("&", "") == text:
            button.click()
            return
    raise AssertionError(f"no button {text!r} in {[b.text() for b in box.buttons()]}")


def button(parent: QWidget, text: str) -> QPushButton:
    for found in parent.findChildren(QPushButton):
        if found.text().replace("&", "") == text and found.isVisible():
            return found
    raise AssertionError(f"no visible button {text!r}")


def screenshot(widget: QWidget, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    QApplication.processEvents()
    assert widget.grab().save(str(path)), f"could not save {path}"
    return path


def window_of(cls):
    """The visible top-level widget of a class (a dialog the window opened)."""
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, cls) and widget.isVisible():
            return widget
    return None
