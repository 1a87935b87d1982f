"""Forms built from the domain models: each label is the field's ``title`` (declared once, in app/domain), each
field has its own line for a problem, and a banner above says what to fix in sentences."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, ValidationError
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QLineEdit, QSizePolicy, QVBoxLayout, QWidget

from app.domain import readable_errors
from app.domain.record import field_title


class ErrorBanner(QLabel):
    """What is wrong, in sentences; hidden when nothing is."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("banner")
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hide()

    def show_problems(self, sentences: list[str], lead: str = "") -> None:
        if not sentences:
            self.clear_problems()
            return
        lines = ([lead] if lead else []) + [f"• {s}" if len(sentences) > 1 else s for s in sentences]
        self.setText("\n".join(lines))
        self.show()

    def clear_problems(self) -> None:
        self.clear()
        self.hide()


class FieldRow(QWidget):
    """An editor and, under it, the sentence saying what is wrong with what was typed."""

    def __init__(self, editor: QWidget, parent: QWidget | None = None):
        super().__init__(parent)
        self.editor = editor
        self.problem = QLabel()
        self.problem.setObjectName("fieldProblem")
        self.problem.setWordWrap(True)
        self.problem.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.problem.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(editor)
        layout.addWidget(self.problem)

    def set_problem(self, text: str) -> None:
        from ui import theme

        if text:
            self.problem.setText(text)
            self.problem.setStyleSheet(f"color: {theme.colour('bad').name()};")
            self.problem.show()
            self.editor.setProperty("invalid", True)
            self.editor.setToolTip(text)
        else:
            self.problem.hide()
            self.editor.setProperty("invalid", False)
            self.editor.setToolTip("")


class RecordForm(QWidget):
    """Rows for some fields of a pydantic model (dotted names reach into nested models: "address.town")."""

    def __init__(self, model: type[BaseModel], parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.layout_ = QFormLayout(self)
        self.layout_.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        self.layout_.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.layout_.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.layout_.setHorizontalSpacing(14)
        self.layout_.setVerticalSpacing(8)
        self.rows: dict[str, FieldRow] = {}
        self.editors: dict[str, QWidget] = {}

    def title(self, name: str) -> str:
        model: type[BaseModel] = self.model
        *outer, last = name.split(".")
        for part in outer:
            annotation = model.model_fields[part].annotation
            assert isinstance(annotation, type) and issubclass(annotation, BaseModel)
            model = annotation
        return field_title(model, last)

    def add(self, name: str, editor: QWidget | None = None, *, required: bool = False,
            placeholder: str = "") -> QWidget:
        editor = editor or QLineEdit()
        if isinstance(editor, QLineEdit) and placeholder:
            editor.setPlaceholderText(placeholder)
        editor.setObjectName(name)
        row = FieldRow(editor)
        label = QLabel(self.title(name) + (" *" if required else ""))
        label.setBuddy(editor)
        self.layout_.addRow(label, row)
        self.rows[name] = row
        self.editors[name] = editor
        return editor

    def add_heading(self, text: str) -> None:
        heading = QLabel(text)
        font = heading.font()
        font.setBold(True)
        heading.setFont(font)
        self.layout_.addRow(heading)

    def text(self, name: str) -> str:
        editor = self.editors[name]
        if isinstance(editor, QComboBox):
            return editor.currentText().strip()
        assert isinstance(editor, QLineEdit)
        return editor.text().strip()

    def set_text(self, name: str, value: str) -> None:
        editor = self.editors[name]
        if isinstance(editor, QComboBox):
            editor.setCurrentText(value)
        else:
            assert isinstance(editor, QLineEdit)
            editor.setText(value)

    def on_edited(self, callback: Callable[[str], None]) -> None:
        """``callback(name)`` whenever the user changes a field."""
        for name, editor in self.editors.items():
            if isinstance(editor, QComboBox):
                editor.currentTextChanged.connect(lambda _text, name=name: callback(name))
            elif isinstance(editor, QLineEdit):
                editor.textEdited.connect(lambda _text, name=name: callback(name))

    def on_left(self, callback: Callable[[str], None]) -> None:
        """``callback(name)`` when the user leaves a field they typed in (validate then, not per keystroke)."""
        for name, editor in self.editors.items():
            if isinstance(editor, QLineEdit):
                editor.editingFinished.connect(lambda name=name: callback(name))

    def show_errors(self, error: ValidationError | None, only: set[str] | None = None) -> list[str]:
        """Put each problem under its field; return every problem as a sentence (for the banner)."""
        by_field: dict[str, str] = {}
        sentences: list[str] = []
        if error is not None:
            for problem, sentence in zip(error.errors(), readable_errors(error, self.model), strict=True):
                name = ".".join(str(part) for part in problem["loc"][:2])
                if name not in self.rows:
                    name = str(problem["loc"][0]) if problem["loc"] else ""
                if name in self.rows:
                    label = self.title(name)
                    sentence = f"{label}: {sentence.split(': ', 1)[-1]}"
                    by_field.setdefault(name, sentence.split(": ", 1)[-1])
                sentences.append(sentence)
        for name, row in self.rows.items():
            if only is None or name in only:
                row.set_problem(by_field.get(name, ""))
        return sentences

    def first_invalid(self) -> QWidget | None:
        for row in self.rows.values():
            if not row.problem.isHidden():
                return row.editor
        return None
