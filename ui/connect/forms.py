"""The sign-in forms of the Connect dialog: a pasted key or a client id and secret (``KeyForm``), and the
browser sign-in with its waiting state (``BrowserForm``). They hold what the user typed and show state;
the dialog runs the sign-in."""

from __future__ import annotations

from pydantic import BaseModel, Field
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from providers.base import SignInKind
from ui import theme
from ui.connect.services import API_KEY, CLIENT_CREDENTIALS, REGIONS, DemoChoice, Service
from ui.views.form import RecordForm


# The fields of each form, titled once here: RecordForm labels its rows from these titles.
class AccBooksKey(BaseModel):
    api_key: str = Field(title="API key")


class AccountingSuiteKey(BaseModel):
    api_key: str = Field(title="API secret key")
    name: str = Field("", title="Company name")


class AccountsIQLogin(BaseModel):
    client_id: str = Field(title="Client id")
    client_secret: str = Field(title="Client secret")
    region: str = Field(title="Region")


_HINTS = {
    ("accbooks", "api_key"): "In AccBooks: Settings › API › Create key. Each key opens one company: "
                             "connect once per company, with that company's key.",
    ("accountingsuite", "api_key"): "In AccountingSuite: Settings › Development. A key opens one database.",
    ("accountingsuite", "name"): "Optional: how Ledgerdesk lists this company (a key does not say).",
    ("accountsiq", "client_secret"): "Your AccountsIQ administrator creates the integration and gives you "
                                     "its client id and secret.",
    ("accountsiq", "region"): "The region in your AccountsIQ address, e.g. uk1 in uk1.accountsiq.com.",
}


def _hint(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("muted")
    label.setWordWrap(True)
    return label


class KeyForm(QWidget):
    """A pasted key (AccBooks, AccountingSuite) or an AccountsIQ client id, secret and region."""

    changed = Signal()

    def __init__(self, service: Service, kind: SignInKind, parent: QWidget | None = None):
        super().__init__(parent)
        self.service = service
        self.kind = kind
        model = {"accbooks": AccBooksKey, "accountingsuite": AccountingSuiteKey,
                 "accountsiq": AccountsIQLogin}[service.provider]
        self.form = RecordForm(model)
        self.form.layout_.setContentsMargins(0, 0, 0, 0)
        self.required: tuple[str, ...] = ()
        self.region: QComboBox | None = None
        self.demo: QComboBox | None = None
        provider = service.provider
        if kind is CLIENT_CREDENTIALS:
            self._secret(self.form.add("client_id", placeholder="e.g. 6f0c3b2e-8d4a-…"), secret=False)
            self._secret(self.form.add("client_secret"))
            self.region = QComboBox()
            for code, label in REGIONS.items():
                self.region.addItem(label, code)
                if code not in service.regions:  # a sandbox plays one region
                    item = self.region.model().item(self.region.count() - 1)
                    item.setEnabled(False)
                    item.setToolTip("Not in this demo")
            self.region.setPlaceholderText("Choose the region")
            self.region.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            self.region.setCurrentIndex(-1)
            self.form.add("region", self.region)
            self.required = ("client_id", "client_secret", "region")
        else:
            assert kind is API_KEY
            self._secret(self.form.add("api_key", placeholder="Paste the key here"))
            self.required = ("api_key",)
            if provider == "accountingsuite":
                self.form.add("name", placeholder="e.g. Cedar & Pine Landscaping")
        for (hint_provider, name), text in _HINTS.items():
            if hint_provider == provider and name in self.form.rows:
                self._hint_under(name, text)
        choices = service.demo.get(kind, ())
        if choices:
            self._demo_row(choices)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.form)
        for editor in self.form.editors.values():
            if isinstance(editor, QLineEdit):
                editor.textChanged.connect(self.changed)
                editor.textEdited.connect(self._typed)
        if self.region is not None:
            self.region.currentIndexChanged.connect(self.changed)
            self.region.activated.connect(self._typed)

    @staticmethod
    def _secret(editor: QWidget, secret: bool = True) -> None:
        assert isinstance(editor, QLineEdit)
        editor.setClearButtonEnabled(True)
        if not secret:
            return
        editor.setEchoMode(QLineEdit.EchoMode.Password)
        # Dots by default (a key is the whole credential); the eye shows it to check a paste.
        reveal = editor.addAction(theme.icon("show", "muted"), QLineEdit.ActionPosition.TrailingPosition)
        theme.themed(reveal, "show", "muted")
        reveal.setToolTip("Show")
        reveal.setObjectName("reveal")

        def toggle() -> None:
            hidden = editor.echoMode() == QLineEdit.EchoMode.Password
            editor.setEchoMode(QLineEdit.EchoMode.Normal if hidden else QLineEdit.EchoMode.Password)
            theme.themed(reveal, "hide" if hidden else "show", "muted")
            reveal.setToolTip("Hide" if hidden else "Show")

        reveal.triggered.connect(toggle)
        # Leaving the field shows the start of the dots, not a scrolled tail.
        editor.editingFinished.connect(lambda: editor.setCursorPosition(0))

    def _hint_under(self, name: str, text: str) -> None:
        layout = self.form.rows[name].layout()
        assert layout is not None
        layout.addWidget(_hint(text))

    def _demo_row(self, choices: tuple[DemoChoice, ...]) -> None:
        self.demo = QComboBox()
        self.demo.setObjectName("demoValues")
        self.demo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        for choice in choices:
            self.demo.addItem(choice.label, choice)
        self.demo.addItem("None: I will type them", None)
        label = QLabel("Demo values")
        label.setBuddy(self.demo)
        column = QWidget()
        box = QVBoxLayout(column)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        box.addWidget(self.demo)
        box.addWidget(_hint("The demo sandbox's own credentials, not real ones: pick a company to fill them in."))
        self.form.layout_.addRow(label, column)
        self.demo.activated.connect(self._apply_demo)
        self._apply_demo(0)

    def _apply_demo(self, index: int) -> None:
        assert self.demo is not None
        choice = self.demo.itemData(index)
        values = choice.values if isinstance(choice, DemoChoice) else {}
        self.fill({name: values.get(name, "") for name in self.form.editors})

    def _typed(self, *_args: object) -> None:
        # Once the user types their own values, the list must not claim they are a demo company's.
        if self.demo is None:
            return
        choice = self.demo.currentData()
        if isinstance(choice, DemoChoice) and any(
                choice.values.get(name, "") != value for name, value in self.values().items()):
            self.demo.setCurrentIndex(self.demo.count() - 1)

    def fill(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            if name == "region" and self.region is not None:
                self.region.setCurrentIndex(self.region.findData(value) if value else -1)
            elif name in self.form.editors:
                self.form.set_text(name, value)

    def values(self) -> dict[str, str]:
        found = {}
        for name, editor in self.form.editors.items():
            if editor is self.region:
                found[name] = self.region.currentData() or ""
            else:
                assert isinstance(editor, QLineEdit)
                found[name] = editor.text().strip()
        return found

    def complete(self) -> bool:
        values = self.values()
        return all(values[name] for name in self.required)

    def editor(self, name: str) -> QWidget:
        return self.form.editors[name]

    def focus_first(self) -> None:
        self.form.editors[self.required[0]].setFocus()

    def set_enabled(self, enabled: bool) -> None:
        for editor in self.form.editors.values():
            editor.setEnabled(enabled)
        if self.demo is not None:
            self.demo.setEnabled(enabled)


class BrowserForm(QWidget):
    """What happens in the browser sign-in, and while it waits: a busy bar, the address to copy (the
    browser may not have opened), and Cancel."""

    cancel_requested = Signal()

    def __init__(self, service: Service, parent: QWidget | None = None):
        super().__init__(parent)
        name = service.name
        self.explain = QLabel(
            f"Ledgerdesk opens {name} in your web browser. Sign in there and allow Ledgerdesk access; "
            f"then come back here. Ledgerdesk never sees your {name} password.")
        self.explain.setWordWrap(True)

        self.waiting = QWidget()
        self.waiting.setObjectName("browserWaiting")
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # no end known: the bar runs while the browser is out
        self.busy.setTextVisible(False)
        self.busy.setFixedHeight(8)
        self.status = QLabel(f"Waiting for you to sign in to {name} in your browser…")
        font = self.status.font()
        font.setBold(True)
        self.status.setFont(font)
        self.cancel = QPushButton("Cancel")
        self.cancel.setObjectName("cancelSignIn")
        self.cancel.setAutoDefault(False)  # Enter stays with the dialog's primary button
        self.cancel.setToolTip("Stop waiting for the browser; nothing is connected.")
        self.cancel.clicked.connect(self.cancel_requested)
        self.address_note = _hint("If your browser did not open, copy this address into it:")
        self.address = QLineEdit()
        self.address.setObjectName("signInAddress")
        self.address.setReadOnly(True)
        self.copy = QPushButton("Copy")
        self.copy.setObjectName("copyAddress")
        self.copy.setAutoDefault(False)
        self.copy.setToolTip("Copy the address to the clipboard")
        self.copy.clicked.connect(self._copy)

        top = QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addWidget(self.cancel)
        row = QHBoxLayout()
        row.addWidget(self.address, 1)
        row.addWidget(self.copy)
        waiting = QVBoxLayout(self.waiting)
        waiting.setContentsMargins(0, 0, 0, 0)
        waiting.setSpacing(8)
        waiting.addLayout(top)
        waiting.addWidget(self.busy)
        waiting.addSpacing(6)
        waiting.addWidget(self.address_note)
        waiting.addLayout(row)
        self.waiting.hide()

        self.note = _hint("")
        self.note.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(12)
        layout.addWidget(self.explain)
        layout.addWidget(self.waiting)
        layout.addWidget(self.note)
        layout.addStretch(1)

    def show_waiting(self) -> None:
        self.note.hide()
        self.address.clear()
        self.address_note.setText("If your browser did not open, copy this address into it:")
        self.waiting.show()

    def show_address(self, url: str) -> None:
        self.address.setText(url)
        self.address.setCursorPosition(0)  # the start of an address says where it goes
        self.address.setToolTip(url)

    def show_no_browser(self) -> None:
        self.address_note.setText("No browser could be opened. Copy this address into your browser:")

    def show_idle(self, note: str = "") -> None:
        self.waiting.hide()
        self.note.setText(note)
        self.note.setVisible(bool(note))

    def _copy(self) -> None:
        QApplication.clipboard().setText(self.address.text())
        self.address.selectAll()
        self.copy.setText("Copied")

