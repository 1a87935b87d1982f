"""`ledgerdesk` on a first run: nothing connected yet, so the Connect dialog comes first; connecting opens the
window on the new connection's first company, syncing with its service; closing the window ends the run."""

from __future__ import annotations

import asyncio

from PySide6.QtWidgets import QApplication

from app.auth.vault import MemoryKeyring, Vault
from app.cli.desktop import Desktop
from app.workspace import Workspace
from providers.sandbox.base import SandboxOptions
from providers.sandbox.registry import build_sandbox
from providers.sandbox.server import serve_in_thread
from tests.ui.helpers import screenshot, settle, window_of
from ui.connect.dialog import ConnectDialog
from ui.connect.services import ServiceDirectory
from ui.main_window import MainWindow


def test_first_run_connects_then_opens_the_window(qtbot, loop, home, shots):
    sandbox = build_sandbox("accbooks", SandboxOptions(size="tiny", seed=4))
    server = serve_in_thread(sandbox.stack.asgi)
    try:
        workspace = Workspace(Vault(MemoryKeyring()), home / "config" / "workspace.json")
        desktop = Desktop(workspace, ServiceDirectory.for_sandboxes({"accbooks": (sandbox, server.url)}))
        run = asyncio.ensure_future(desktop.run())
        qtbot.waitUntil(lambda: window_of(ConnectDialog) is not None, timeout=5000)
        dialog = window_of(ConnectDialog)
        screenshot(dialog, shots, "first-run-connect")
        dialog.choose("accbooks")
        assert dialog.page.form.editor("api_key").text()  # the sandbox's first key, offered as a demo value
        dialog.primary.click()

        qtbot.waitUntil(lambda: desktop.window is not None and desktop.window.isVisible(), timeout=15_000)
        window: MainWindow = desktop.window
        assert window.context.provider == "accbooks"
        assert [c.provider for c in desktop.session.companies()] == ["accbooks"]
        qtbot.waitUntil(lambda: window.status.state.last_sync is not None, timeout=30_000)
        settle(qtbot, window.current_view().model)
        assert window.current_view().model.total > 0
        screenshot(window, shots, "first-run-window")

        window._closing_confirmed = True
        window.close()
        qtbot.waitUntil(run.done, timeout=10_000)
        assert run.result() == 0
        assert desktop.session.companies() and not desktop.session._open  # every company closed at the end
    finally:
        server.stop()
    QApplication.processEvents()
