"""Questions and messages, always opened with ``open()`` and answered through ``finished``.

``QDialog.exec()`` runs a nested event loop; inside a qasync app that re-enters the asyncio loop from a
callback and can resume a coroutine in the middle of another (and inside a coroutine it deadlocks). So
no dialog here blocks: each takes what to do next as a callback.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMessageBox, QWidget


def confirm(parent: QWidget, title: str, text: str, action: str, then: Callable[[], None], *,
            detail: str = "", destructive: bool = True) -> QMessageBox:
    """Ask before doing ``action``; ``then`` runs only if the user confirms. Cancel is the default, so a
    stray Enter never destroys anything."""
    box = QMessageBox(QMessageBox.Icon.Warning if destructive else QMessageBox.Icon.Question, title, text,
                      QMessageBox.StandardButton.NoButton, parent)
    if detail:
        box.setInformativeText(detail)
    yes = box.addButton(action, QMessageBox.ButtonRole.DestructiveRole if destructive
                        else QMessageBox.ButtonRole.AcceptRole)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(cancel)
    box.setEscapeButton(cancel)
    box.setObjectName("confirm")

    def answered(_result: int) -> None:
        if box.clickedButton() is yes:
            then()
        box.deleteLater()

    box.finished.connect(answered)
    box.open()
    return box


def choose(parent: QWidget, title: str, text: str, buttons: list[tuple[str, QMessageBox.ButtonRole]],
           then: Callable[[int | None], None], *, detail: str = "") -> QMessageBox:
    """Ask with several answers; ``then`` gets the index of the one chosen (None for Escape/Cancel)."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.NoButton, parent)
    if detail:
        box.setInformativeText(detail)
    made = [box.addButton(label, role) for label, role in buttons]
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(cancel)
    box.setEscapeButton(cancel)
    box.setObjectName("choose")

    def answered(_result: int) -> None:
        clicked = box.clickedButton()
        then(made.index(clicked) if clicked in made else None)
        box.deleteLater()

    box.finished.connect(answered)
    box.open()
    return box


def tell(parent: QWidget, title: str, text: str, *, detail: str = "", error: bool = True) -> QMessageBox:
    """A message that says what happened and what to do next."""
    box = QMessageBox(QMessageBox.Icon.Critical if error else QMessageBox.Icon.Information, title, text,
                      QMessageBox.StandardButton.Ok, parent)
    if detail:
        box.setInformativeText(detail)
    box.setObjectName("message")
    box.finished.connect(lambda _result: box.deleteLater())
    box.open()
    return box


def explain(error: BaseException) -> str:
    """An exception as a sentence for the user (store and domain errors already are sentences)."""
    text = str(error).strip()
    if isinstance(error, OSError) and not isinstance(error, FileNotFoundError):
        return f"The company file could not be written ({error.strerror or text}). Check the disk has space."
    if not text:
        return f"Something went wrong ({type(error).__name__})."
    return text if text.endswith((".", "!", "?")) else text + "."
