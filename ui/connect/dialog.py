"""Connect: add a connection to a service from the window.

First the four services (arrows and Enter, or a double click), then that service's sign-in: the browser
flow (Clear Books, AccountingSuite), a pasted key (AccBooks, AccountingSuite) or an AccountsIQ client id,
secret and region. The sign-in runs as an asyncio task on the qasync loop, held by the dialog; what the
service says when it refuses appears in the dialog and what was typed stays. On success the connection is
in the workspace, ``connected`` carries it, and the dialog closes. Closing the dialog while a sign-in runs
cancels it (a browser sign-in's loopback listener closes).

    dialog = ConnectDialog(workspace, directory, parent=window)
    dialog.connected.connect(window.add_connection)
    dialog.open()                                 # never exec(): see ui/dialogs.py
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable
from typing import Any

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.auth.browser_flow import BrowserSignIn, Opener, complete_for
from app.auth.errors import SignInCancelled
from app.auth.signin import sign_in_accbooks, sign_in_accountingsuite_key, sign_in_accountsiq
from app.workspace import Connection, Workspace
from providers.base import ProviderError, SignInKind
from providers.http import get_logger
from ui.connect.forms import BrowserForm, KeyForm
from ui.connect.service_list import ServiceList
from ui.connect.services import API_KEY, BROWSER, CLIENT_CREDENTIALS, Service, ServiceDirectory
from ui.views.form import ErrorBanner

log = get_logger(__name__)

_KIND_CHOICES = {BROWSER: "Sign in with your browser", API_KEY: "Paste an API secret key",
                 CLIENT_CREDENTIALS: "Client id and secret"}


def desktop_browser(url: str) -> bool:
    """The system browser through Qt; False when there is none (the address stays shown for copying)."""
    return QDesktopServices.openUrl(QUrl.fromEncoded(url.encode("ascii")))


def _muted(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("muted")
    label.setWordWrap(True)
    return label


def _title(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("viewTitle")
    return label


class SignInPage(QWidget):
    """One service's sign-in: the way to sign in (where there is a choice) and its form."""

    kind_changed = Signal()

    def __init__(self, service: Service, parent: QWidget | None = None):
        super().__init__(parent)
        self.service = service
        self.setObjectName(f"signIn-{service.provider}")
        self.banner = ErrorBanner()
        self.progress = _muted("")
        self.progress.hide()
        self.forms: dict[SignInKind, QWidget] = {}
        self.stack = QStackedWidget()
        self.kinds = QButtonGroup(self)
        self.radios: dict[SignInKind, QRadioButton] = {}

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        layout.addWidget(_title(f"Connect to {service.name}"))
        layout.addWidget(_muted(service.needs))
        layout.addSpacing(4)
        layout.addWidget(self.banner)
        if not service.available:
            self.banner.show_problems([service.why_unavailable])
            layout.addStretch(1)
            return
        if len(service.kinds) > 1:
            layout.addLayout(self._kind_choice())
        for kind in service.kinds:
            form: QWidget = BrowserForm(service) if kind is BROWSER else KeyForm(service, kind)
            self.forms[kind] = form
            self.stack.addWidget(form)
        layout.addWidget(self.stack)
        layout.addWidget(self.progress)
        layout.addStretch(1)
        first = next(kind for kind in service.kinds if service.usable(kind))
        self.show_kind(first)

    def _kind_choice(self) -> QVBoxLayout:
        column = QVBoxLayout()
        column.setSpacing(4)
        row = QHBoxLayout()
        row.setSpacing(18)
        reasons = []
        for kind in self.service.kinds:
            radio = QRadioButton(_KIND_CHOICES[kind])
            radio.setObjectName(f"kind-{kind}")
            if not self.service.usable(kind):
                radio.setEnabled(False)
                radio.setToolTip(self.service.unavailable[kind])
                reasons.append(self.service.unavailable[kind])
            self.kinds.addButton(radio)
            self.radios[kind] = radio
            radio.toggled.connect(lambda on, kind=kind: on and self.show_kind(kind))
            row.addWidget(radio)
        row.addStretch(1)
        column.addLayout(row)
        for reason in reasons:
            column.addWidget(_muted(reason))
        if reasons:
            column.addSpacing(6)
        return column

    @property
    def kind(self) -> SignInKind | None:
        form = self.stack.currentWidget()
        return next((kind for kind, each in self.forms.items() if each is form), None)

    @property
    def form(self) -> QWidget | None:
        return self.stack.currentWidget() if self.forms else None

    def show_kind(self, kind: SignInKind) -> None:
        if not self.service.usable(kind):
            raise ValueError(f"{self.service.name} cannot sign in with {kind} from this build")
        if kind in self.radios and not self.radios[kind].isChecked():
            self.radios[kind].setChecked(True)  # toggled comes back here
            return
        self.stack.setCurrentWidget(self.forms[kind])
        self.banner.clear_problems()
        self.kind_changed.emit()

    def focus(self) -> None:
        form = self.form
        if isinstance(form, KeyForm):
            form.focus_first()

    def ready(self) -> bool:
        """Enough typed to try (the service checks the rest)."""
        form = self.form
        if isinstance(form, KeyForm):
            return form.complete()
        return isinstance(form, BrowserForm)

    def set_running(self, running: bool, text: str = "") -> None:
        for radio in self.radios.values():
            radio.setEnabled(not running and self.service.usable(self._kind_of(radio)))
        form = self.form
        if isinstance(form, KeyForm):
            form.set_enabled(not running)
        self.progress.setText(text)
        self.progress.setVisible(running and bool(text))

    def _kind_of(self, radio: QRadioButton) -> SignInKind:
        return next(kind for kind, each in self.radios.items() if each is radio)


class ConnectDialog(QDialog):
    connected = Signal(object)  # the workspace Connection, saved

    def __init__(self, workspace: Workspace, directory: ServiceDirectory, parent: QWidget | None = None,
                 opener: Opener | None = None):
        super().__init__(parent)
        self.workspace = workspace
        self.directory = directory
        self.opener: Opener = opener or desktop_browser
        self.task: asyncio.Task[Any] | None = None  # the sign-in running now (asyncio holds tasks weakly)
        self.flow: BrowserSignIn | None = None
        self._closing = False
        self.setObjectName("connectDialog")
        self.setWindowTitle("Connect a service" + (" (demo)" if directory.demo else ""))

        self.services = ServiceList(directory)
        self.services.itemDoubleClicked.connect(lambda _item: self._continue())
        choose = QWidget()
        choose.setObjectName("connectChoose")
        column = QVBoxLayout(choose)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(10)
        column.addWidget(_title("Connect a service"))
        column.addWidget(_muted("Choose the service that keeps the books. You sign in once; every company "
                                "that sign-in reaches is added."))
        column.addSpacing(4)
        column.addWidget(self.services)
        column.addStretch(1)
        if directory.demo:
            column.addWidget(_muted("Demo: each service here is a sandbox running on this computer."))

        self.pages = QStackedWidget()
        self.pages.addWidget(choose)
        self.sign_ins: dict[str, SignInPage] = {}
        for service in directory:
            page = SignInPage(service)
            page.kind_changed.connect(self._update)
            for form in page.forms.values():
                if isinstance(form, KeyForm):
                    form.changed.connect(self._update)
                elif isinstance(form, BrowserForm):
                    form.cancel_requested.connect(self.cancel_sign_in)
            self.sign_ins[service.provider] = page
            self.pages.addWidget(page)

        self.back = QPushButton("‹ &Back")
        self.back.setObjectName("connectBack")
        self.back.setAutoDefault(False)
        self.back.clicked.connect(self.go_back)
        self.cancel = QPushButton("Cancel")
        self.cancel.setAutoDefault(False)
        self.cancel.clicked.connect(self.reject)
        self.primary = QPushButton("Continue")
        self.primary.setObjectName("connectPrimary")
        self.primary.clicked.connect(self._primary_clicked)
        self.button_row = QWidget()
        buttons = QHBoxLayout(self.button_row)
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.back)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel)
        buttons.addWidget(self.primary)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.setSpacing(14)
        layout.addWidget(self.pages, 1)
        layout.addWidget(self.button_row)
        # Enter anywhere in the dialog means the primary action (set once the button is in the dialog).
        self.primary.setDefault(True)
        # One size for every step (the tallest form, room for a two-line message): no jumping.
        self.setMinimumSize(520, 380)
        self.resize(600, max(380, self.sizeHint().height() + 40))
        self._update()
        self.services.setFocus()

    # --- where the user is --------------------------------------------------------------------------

    @property
    def page(self) -> SignInPage | None:
        current = self.pages.currentWidget()
        return current if isinstance(current, SignInPage) else None

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def choose(self, provider: str) -> SignInPage:
        """Open ``provider``'s sign-in (what Continue does for the selected service)."""
        self.services.select(provider)
        page = self.sign_ins[provider]
        self.pages.setCurrentWidget(page)
        self._update()
        page.focus()
        return page

    def go_back(self) -> None:
        if self.running:
            return
        self.pages.setCurrentIndex(0)
        self._update()
        self.services.setFocus()

    def _continue(self) -> None:
        provider = self.services.provider()
        if provider is not None:
            self.choose(provider)

    def _primary_clicked(self) -> None:
        if self.page is None:
            self._continue()
        else:
            self.connect_now()

    def _update(self) -> None:
        page = self.page
        running = self.running
        self.back.setVisible(page is not None)
        self.back.setEnabled(not running)
        if page is None:
            self.primary.setText("Continue")
            self.primary.setVisible(True)
            self.primary.setEnabled(self.services.currentItem() is not None)
            return
        kind = page.kind
        self.primary.setVisible(page.service.available)
        self.primary.setText(("Sign in with your browser" if kind is BROWSER else "Connect") if not running
                             else "Connecting…")
        self.primary.setEnabled(page.service.available and not running and page.ready())
        # While the browser is out, its own panel has the one Cancel; the row would offer a second.
        self.button_row.setVisible(not (running and kind is BROWSER))

    # --- signing in ---------------------------------------------------------------------------------

    def connect_now(self) -> None:
        """Start the sign-in of the open page with what the user typed (the primary button)."""
        page = self.page
        if page is None or self.running or not page.ready() or page.kind is None:
            return
        service, kind, form = page.service, page.kind, page.form
        page.banner.clear_problems()
        if isinstance(form, BrowserForm):
            assert service.oauth is not None
            app = service.oauth
            self.flow = BrowserSignIn(app, opener=self._open_browser, on_url=form.show_address)
            form.show_waiting()
            work = self.flow.run(complete_for(app, commit=self.workspace.add))
            self._start(page, work, "")
            return
        assert isinstance(form, KeyForm)
        values = form.values()
        self._start(page, self._key_sign_in(service, kind, values), f"Checking with {service.name}…")

    async def _key_sign_in(self, service: Service, kind: SignInKind, values: dict[str, str]) -> Connection:
        if service.provider == "accbooks":
            signed_in = await sign_in_accbooks(values["api_key"], base_url=service.api_url or "")
        elif service.provider == "accountingsuite":
            signed_in = await sign_in_accountingsuite_key(values["api_key"], base_url=service.api_url or "",
                                                          name=values.get("name") or None)
        elif kind is CLIENT_CREDENTIALS:
            region = values["region"]
            signed_in = await sign_in_accountsiq(values["client_id"], values["client_secret"], region,
                                                 base_url=service.regions[region])
        else:
            raise ValueError(f"{service.name} has no {kind} sign-in")
        return await self.workspace.add(signed_in)

    def _start(self, page: SignInPage, work: Awaitable[Connection], progress: str) -> None:
        page.set_running(True, progress)
        self.task = asyncio.ensure_future(self._run(page, work))
        self._update()

    async def _run(self, page: SignInPage, work: Awaitable[Connection]) -> None:
        form = page.form
        try:
            connection = await work
        except ProviderError as error:  # SignInError, CredentialsRefused, VaultUnavailable...: sentences
            log.info("%s sign-in did not complete: %s", page.service.name, error.message)
            self._finished(page, problem=error.message, cancelled=isinstance(error, SignInCancelled))
        except asyncio.CancelledError:
            self._finished(page)
            raise
        except Exception as error:
            log.exception("%s sign-in failed", page.service.name)
            self._finished(page, problem=f"The sign-in to {page.service.name} failed unexpectedly "
                                         f"({type(error).__name__}: {error}). Nothing was connected; "
                                         "try again, and if it happens again, the log has the details.")
        else:
            log.info("connected to %s: %s", page.service.name, connection.title)
            self._finished(page)
            self.connected.emit(connection)
            self.accept()
            return
        if isinstance(form, KeyForm) and not self._closing:
            form.focus_first()  # the user fixes the key: it is still there, ready to be pasted over

    def _finished(self, page: SignInPage, *, problem: str = "", cancelled: bool = False) -> None:
        self.task, self.flow = None, None
        if self._closing:
            return
        page.set_running(False)
        form = page.form
        if isinstance(form, BrowserForm):
            form.show_idle(problem if cancelled else "")
        if problem and not cancelled:
            page.banner.show_problems([problem])
        self._update()

    async def _open_browser(self, url: str) -> Any:
        opened = self.opener(url)
        if inspect.isawaitable(opened):
            opened = await opened
        page = self.page
        if opened is False and page is not None and isinstance(page.form, BrowserForm):
            page.form.show_no_browser()
        return opened

    def cancel_sign_in(self) -> None:
        """The waiting panel's Cancel: the flow ends, its listener closes, the dialog stays open."""
        if self.flow is not None:
            self.flow.cancel()
        elif self.task is not None:
            self.task.cancel()

    # --- leaving ------------------------------------------------------------------------------------

    def done(self, result: int) -> None:
        # Every way out (Cancel, Esc, the window's close button, success) passes here.
        if self.running:
            self._closing = True
            if self.flow is not None:
                self.flow.cancel()
            assert self.task is not None
            self.task.cancel()
        super().done(result)

    def showEvent(self, event: Any) -> None:
        self._closing = False
        super().showEvent(event)



__all__ = ["ConnectDialog", "SignInPage", "desktop_browser"]
