"""Connect, driven as a user would against the four sandboxes on loopback: choose the service with the
keyboard, sign in with each kind (browser, pasted key, client id and secret), see a refused key's message
in the dialog with nothing saved, cancel a browser sign-in (its listener closes). Each test saves a
screenshot of the dialog, light and dark (LEDGERDESK_SCREENSHOTS keeps them)."""

from __future__ import annotations

import asyncio
import socket

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit

from app.auth.browser_flow import BrowserSignIn
from app.auth.headless import http_browser
from app.auth.model import TokenSet
from app.auth.vault import MemoryKeyring, Vault
from app.workspace import Workspace
from providers.accountsiq.client import endpoint as accountsiq_endpoint
from providers.sandbox.base import SandboxOptions
from providers.sandbox.registry import build_sandbox
from providers.sandbox.server import serve_in_thread
from tests.ui.helpers import screenshot
from ui import theme
from ui.app import apply_theme
from ui.connect import ConnectDialog, ServiceDirectory
from ui.connect.forms import BrowserForm, KeyForm
from ui.connect.services import API_KEY, BROWSER, ORDER, Registration, registrations_from

LIGHT_DARK = pytest.mark.parametrize("scheme", [theme.Scheme.LIGHT, theme.Scheme.DARK], ids=["light", "dark"])


@pytest.fixture(scope="module")
def sandboxes():
    """The four sandboxes, tiny, served once for the module (each test signs in to them afresh)."""
    running, servers = {}, []
    for provider in ORDER:
        sandbox = build_sandbox(provider, SandboxOptions(size="tiny", seed=5, throttle=False))
        server = serve_in_thread(sandbox.stack.asgi)
        servers.append(server)
        running[provider] = (sandbox, server.url)
    yield running
    for server in servers:
        server.stop()


@pytest.fixture
def directory(sandboxes) -> ServiceDirectory:
    return ServiceDirectory.for_sandboxes(sandboxes)


@pytest.fixture
def keyring_() -> MemoryKeyring:
    return MemoryKeyring()


@pytest.fixture
def workspace(keyring_, tmp_path) -> Workspace:
    return Workspace(Vault(keyring_), tmp_path / "config" / "workspace.json")


@pytest.fixture
def open_dialog(qtbot, loop):
    """``open_dialog(workspace, directory, scheme=..., opener=...)``: the dialog as the window opens it."""
    def make(workspace, directory, *, scheme=theme.Scheme.LIGHT, opener=None) -> ConnectDialog:
        apply_theme(QApplication.instance(), scheme=scheme)
        dialog = ConnectDialog(workspace, directory, opener=opener)
        qtbot.addWidget(dialog)
        dialog.open()
        qtbot.waitExposed(dialog)
        dialog.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog, timeout=2000)  # keys go to it
        return dialog

    yield make
    apply_theme(QApplication.instance(), scheme=theme.Scheme.LIGHT)


class NoBrowser:
    """An opener for a computer without a browser: it records the address and says it opened nothing."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def __call__(self, url: str) -> bool:
        self.urls.append(url)
        return False


def type_into(qtbot, widget: QLineEdit, text: str) -> None:
    widget.setFocus()
    widget.selectAll()
    if not text:
        qtbot.keyClick(widget, Qt.Key.Key_Delete)
        return
    qtbot.keyClicks(widget, text)


def click(qtbot, button) -> None:
    assert button.isVisible() and button.isEnabled(), f"{button.text()!r} is not there to click"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def pick(qtbot, dialog: ConnectDialog, name: str) -> None:
    """Down the list to ``name`` with the arrow keys, then Enter."""
    dialog.services.setFocus()
    names = [dialog.services.item(row).text() for row in range(dialog.services.count())]
    while dialog.services.currentItem().text() != name:
        before = dialog.services.currentRow()
        qtbot.keyClick(dialog.services, Qt.Key.Key_Down if names.index(name) > before else Qt.Key.Key_Up)
        assert dialog.services.currentRow() != before
    qtbot.keyClick(dialog.services, Qt.Key.Key_Return)
    assert dialog.page is not None and dialog.page.service.name == name


def key_form(dialog: ConnectDialog) -> KeyForm:
    form = dialog.page.form
    assert isinstance(form, KeyForm)
    return form


def browser_form(dialog: ConnectDialog) -> BrowserForm:
    form = dialog.page.form
    assert isinstance(form, BrowserForm)
    return form


def listener_closed(flow: BrowserSignIn) -> bool:
    listener = flow.listener
    assert listener is not None
    if not listener.closed:
        return False
    try:
        with socket.create_connection((listener.host, listener.port), timeout=2):
            return False
    except OSError:
        return True


def companies_of(sandboxes, provider: str) -> list[tuple[str, str]]:
    return [(c["id"], c["name"]) for c in sandboxes[provider][0].companies()]


# --- choosing the service ---------------------------------------------------------------------------


@LIGHT_DARK
def test_the_four_services_each_with_what_signing_in_needs(qtbot, open_dialog, workspace, directory, shots,
                                                           scheme):
    dialog = open_dialog(workspace, directory, scheme=scheme)
    rows = [dialog.services.item(row) for row in range(dialog.services.count())]
    assert [row.text() for row in rows] == ["AccBooks", "AccountingSuite", "AccountsIQ", "Clear Books"]
    assert all(row.toolTip() for row in rows)
    assert dialog.services.hasFocus()
    screenshot(dialog, shots, f"connect-services-{scheme}")

    pick(qtbot, dialog, "AccountsIQ")
    assert dialog.windowTitle() == "Connect a service (demo)"
    assert key_form(dialog).editor("client_id").hasFocus()
    click(qtbot, dialog.back)
    assert dialog.page is None and dialog.services.currentItem().text() == "AccountsIQ"
    pick(qtbot, dialog, "Clear Books")
    assert dialog.primary.text() == "Sign in with your browser"
    screenshot(dialog, shots, f"connect-clearbooks-{scheme}")


# --- the browser flow -------------------------------------------------------------------------------


@LIGHT_DARK
def test_clearbooks_in_the_browser_with_the_address_copied_by_hand(qtbot, open_dialog, workspace, directory,
                                                                   sandboxes, keyring_, shots, scheme):
    no_browser = NoBrowser()
    dialog = open_dialog(workspace, directory, scheme=scheme, opener=no_browser)
    pick(qtbot, dialog, "Clear Books")
    click(qtbot, dialog.primary)
    form = browser_form(dialog)
    qtbot.waitUntil(lambda: form.address.text() != "" and bool(no_browser.urls), timeout=5000)
    qtbot.waitUntil(lambda: "No browser could be opened" in form.address_note.text(), timeout=3000)
    # Waiting: the address to copy, a busy bar, the one Cancel; no second way out in the button row.
    assert form.waiting.isVisible() and form.busy.isVisible() and form.cancel.isVisible()
    assert form.address.isReadOnly() and form.address.text() == no_browser.urls[0]
    assert not dialog.button_row.isVisible()
    screenshot(dialog, shots, f"connect-browser-waiting-{scheme}")

    # The user pastes the address into a browser (here an HTTP client that follows the redirects).
    flow = dialog.flow
    assert flow is not None
    opening = asyncio.ensure_future(http_browser()(form.address.text()))
    with qtbot.waitSignal(dialog.connected, timeout=10000) as signal:
        pass
    qtbot.waitUntil(opening.done, timeout=5000)
    assert opening.result() is True
    (connection,) = signal.args
    assert connection.provider == "clearbooks" and workspace.connections == [connection]
    assert [(c.id, c.name) for c in connection.companies] == companies_of(sandboxes, "clearbooks")
    assert TokenSet.loads(workspace.vault.get(connection.id, "tokens")).refresh_token
    assert not dialog.isVisible() and dialog.result() == ConnectDialog.DialogCode.Accepted
    qtbot.waitUntil(lambda: listener_closed(flow), timeout=3000)


def test_accountingsuite_in_the_browser_then_a_pasted_key(qtbot, open_dialog, workspace, directory, sandboxes,
                                                          shots):
    dialog = open_dialog(workspace, directory, opener=http_browser())
    pick(qtbot, dialog, "AccountingSuite")
    assert dialog.page.radios[BROWSER].isChecked()
    with qtbot.waitSignal(dialog.connected, timeout=10000) as signal:
        click(qtbot, dialog.primary)
    (by_browser,) = signal.args
    assert [(c.id, c.name) for c in by_browser.companies] == companies_of(sandboxes, "accountingsuite")
    assert {name for name in workspace.vault.names(by_browser.id)} == {
        f"apisecretkey:{c.id}" for c in by_browser.companies}

    # A second connection: the key of one database, pasted.
    sandbox = sandboxes["accountingsuite"][0]
    key = sandbox.credentials()["apisecretkey.1002"]
    dialog = open_dialog(workspace, directory, scheme=theme.Scheme.DARK)
    pick(qtbot, dialog, "AccountingSuite")
    click(qtbot, dialog.page.radios[API_KEY])
    form = key_form(dialog)
    assert dialog.primary.text() == "Connect"
    type_into(qtbot, form.editor("api_key"), key)
    type_into(qtbot, form.editor("name"), "Cedar and Pine")
    screenshot(dialog, shots, "connect-accountingsuite-key-dark")
    with qtbot.waitSignal(dialog.connected, timeout=10000) as signal:
        qtbot.keyClick(form.editor("name"), Qt.Key.Key_Return)  # Enter in the form connects
    (by_key,) = signal.args
    assert [c.name for c in by_key.companies] == ["Cedar and Pine"]
    assert workspace.vault.get(by_key.id, f"apisecretkey:{by_key.companies[0].id}") == key
    assert [c.id for c in workspace.connections] == [by_browser.id, by_key.id]


# --- keys and logins --------------------------------------------------------------------------------


@LIGHT_DARK
def test_accbooks_wrong_key_then_the_right_one(qtbot, open_dialog, workspace, directory, sandboxes, keyring_,
                                               shots, scheme):
    dialog = open_dialog(workspace, directory, scheme=scheme)
    pick(qtbot, dialog, "AccBooks")
    form = key_form(dialog)
    field = form.editor("api_key")
    assert field.text()  # the demo's first key, labelled as a demo value
    wrong = "acb_" + "0" * 40
    type_into(qtbot, field, wrong)
    click(qtbot, dialog.primary)
    assert not dialog.primary.isEnabled() and dialog.primary.text() == "Connecting…"
    qtbot.waitUntil(lambda: not dialog.running, timeout=10000)

    banner = dialog.page.banner
    assert banner.isVisible()
    assert banner.text() == "AccBooks did not accept this API key: The API key is invalid or has been revoked"
    assert field.text() == wrong and field.hasFocus()
    assert form.demo.currentText() == "None: I will type them"  # the typed key is no demo company's
    assert workspace.connections == [] and keyring_._entries == {}
    assert dialog.isVisible() and dialog.primary.isEnabled()
    screenshot(dialog, shots, f"connect-accbooks-refused-{scheme}")

    # The second demo company, from the demo values list.
    sandbox = sandboxes["accbooks"][0]
    second_id, second_name = companies_of(sandboxes, "accbooks")[1]
    form.demo.setFocus()
    qtbot.keyClick(form.demo, Qt.Key.Key_Home)
    qtbot.keyClick(form.demo, Qt.Key.Key_Down)
    assert form.demo.currentText() == second_name
    assert field.text() == sandbox.credentials()[f"api_key:{second_id}"]
    with qtbot.waitSignal(dialog.connected, timeout=10000) as signal:
        click(qtbot, dialog.primary)
    (connection,) = signal.args
    assert [(c.id, c.name) for c in connection.companies] == [(second_id, second_name)]
    assert workspace.vault.get(connection.id, "api_key") == field.text()


@LIGHT_DARK
def test_accountsiq_client_id_secret_and_region(qtbot, open_dialog, workspace, sandboxes, shots, scheme):
    directory = ServiceDirectory.for_sandboxes(sandboxes, demo_values=False)
    dialog = open_dialog(workspace, directory, scheme=scheme)
    pick(qtbot, dialog, "AccountsIQ")
    form = key_form(dialog)
    assert form.demo is None and not dialog.primary.isEnabled()
    credentials = sandboxes["accountsiq"][0].credentials()
    type_into(qtbot, form.editor("client_id"), credentials["client_id"])
    type_into(qtbot, form.editor("client_secret"), "   ")
    assert not dialog.primary.isEnabled()  # blank is not a secret
    type_into(qtbot, form.editor("client_secret"), credentials["client_secret"])
    assert not dialog.primary.isEnabled()  # no region yet
    region = form.region
    assert region.currentIndex() == -1 and region.placeholderText() == "Choose the region"
    region.setFocus()
    qtbot.keyClicks(region, "United K")
    assert region.currentData() == "uk1"
    assert dialog.primary.isEnabled()
    form.editor("client_id").setFocus()  # leave the secret: it shows as dots, as the user sees it
    screenshot(dialog, shots, f"connect-accountsiq-{scheme}")
    with qtbot.waitSignal(dialog.connected, timeout=10000) as signal:
        click(qtbot, dialog.primary)
    (connection,) = signal.args
    assert connection.provider == "accountsiq" and connection.details["region"] == "uk1"
    assert [(c.id, c.name) for c in connection.companies] == companies_of(sandboxes, "accountsiq")
    assert workspace.connections == [connection]


# --- cancelling -------------------------------------------------------------------------------------


def test_cancel_and_close_stop_the_browser_sign_in(qtbot, open_dialog, workspace, directory, keyring_, shots):
    dialog = open_dialog(workspace, directory, opener=NoBrowser())
    pick(qtbot, dialog, "Clear Books")
    form = browser_form(dialog)
    click(qtbot, dialog.primary)
    qtbot.waitUntil(lambda: form.address.text() != "", timeout=5000)
    flow = dialog.flow
    click(qtbot, form.cancel)
    qtbot.waitUntil(lambda: not dialog.running, timeout=5000)
    assert listener_closed(flow)
    assert dialog.isVisible() and dialog.button_row.isVisible() and not form.waiting.isVisible()
    assert form.note.text() == "The Clear Books sign-in was cancelled; nothing was connected."
    assert not dialog.page.banner.isVisible()
    screenshot(dialog, shots, "connect-browser-cancelled-light")

    # Again, and this time the user closes the dialog while the browser is out.
    click(qtbot, dialog.primary)
    qtbot.waitUntil(lambda: form.address.text() != "", timeout=5000)
    flow, task = dialog.flow, dialog.task
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()
    qtbot.waitUntil(task.done, timeout=5000)
    assert listener_closed(flow)
    assert workspace.connections == [] and keyring_._entries == {}


# --- the real services ------------------------------------------------------------------------------


def test_production_directory_says_what_this_build_cannot_connect(qtbot, open_dialog, workspace, shots):
    directory = ServiceDirectory.production({})
    clearbooks, suite = directory["clearbooks"], directory["accountingsuite"]
    assert not clearbooks.available and clearbooks.oauth is None
    assert clearbooks.why_unavailable.startswith("This build of Ledgerdesk cannot connect to Clear Books")
    assert suite.available and not suite.usable(BROWSER) and suite.usable(API_KEY)
    assert suite.api_url == "https://api.accountingsuite.com"
    assert directory["accbooks"].api_url == "https://api.accbooks.co.uk/v1/"
    assert dict(directory["accountsiq"].regions) == {
        region: accountsiq_endpoint(region) for region in ("uk1", "eu1", "eu2", "us1")}

    dialog = open_dialog(workspace, directory)
    assert "cannot connect to it yet" in dialog.services.item(3).data(Qt.ItemDataRole.UserRole + 1)
    pick(qtbot, dialog, "Clear Books")
    assert dialog.page.banner.isVisible()
    assert dialog.page.banner.text() == clearbooks.why_unavailable
    assert not dialog.primary.isVisible()
    screenshot(dialog, shots, "connect-production-clearbooks-light")
    click(qtbot, dialog.back)
    pick(qtbot, dialog, "AccountingSuite")
    assert not dialog.page.radios[BROWSER].isEnabled() and dialog.page.radios[API_KEY].isChecked()
    assert not dialog.primary.isEnabled()  # nothing pasted yet
    screenshot(dialog, shots, "connect-production-accountingsuite-light")

    settings = {"LEDGERDESK_CLEARBOOKS_CLIENT_ID": "ledgerdesk-app", "LEDGERDESK_CLEARBOOKS_CLIENT_SECRET": "s3cret",
                "LEDGERDESK_ACCOUNTINGSUITE_CLIENT_ID": "only-an-id"}
    assert registrations_from(settings) == {"clearbooks": Registration("ledgerdesk-app", "s3cret")}
    registered = ServiceDirectory.production(registrations_from(settings))
    app = registered["clearbooks"].oauth
    assert registered["clearbooks"].available and app is not None and app.pkce
    assert (app.authorize_url, app.token_url, app.api_url) == (
        "https://secure.clearbooks.co.uk/account/action/oauth/", "https://api.clearbooks.co.uk/oauth/token",
        "https://api.clearbooks.co.uk/v1")
    assert "accounting.customers:write" in app.scope.split()
    assert not registered["accountingsuite"].usable(BROWSER)  # an id without its secret is no registration
