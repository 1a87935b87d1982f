"""`ledgerdesk`: the window on the user's own workspace (connections in workspace.json, secrets in the OS
keyring), reaching the real services.

The most recent company opens at once from its cache. With no company yet (the first run, or every
connection signed out), the Connect dialog comes first; the window opens on the first company of the
connection it adds. Closing that dialog without connecting ends the run.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from app.auth.vault import Vault
from app.cli.logging_setup import setup_logging
from app.workspace import Workspace

log = logging.getLogger(__name__)


def run(args: argparse.Namespace) -> int:
    log_file = setup_logging(verbose=getattr(args, "verbose", False))
    try:
        return _run_qt()
    except Exception:
        log.exception("Ledgerdesk failed")
        print(f"Ledgerdesk failed; the details are in {log_file}", file=sys.stderr)
        return 1


def _run_qt() -> int:
    import qasync

    from ui.app import make_application

    app = make_application()
    app.setQuitOnLastWindowClosed(False)  # the session closes its companies before the loop ends
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    desktop = Desktop(Workspace(Vault()))
    try:
        return loop.run_until_complete(desktop.run())
    finally:
        loop.close()
        asyncio.set_event_loop(None)


class Desktop:
    def __init__(self, workspace: Workspace, directory=None):
        from ui.connect.services import ServiceDirectory
        from ui.workspace_session import WorkspaceSession

        self.workspace = workspace
        self.directory = directory or ServiceDirectory.production()
        self.session = WorkspaceSession(workspace)
        self.window = None
        self._done: asyncio.Future[int] | None = None

    async def run(self) -> int:
        self._done = asyncio.get_running_loop().create_future()
        key = self.session.first_key()
        if key is None:
            self.connect_first()
        else:
            await self.open_window(key)
        try:
            return await self._done
        finally:
            await self.session.aclose()

    def connect_first(self) -> None:
        from ui.connect.dialog import ConnectDialog
        from ui.workspace_session import company_key

        dialog = ConnectDialog(self.workspace, self.directory)
        added: list = []
        dialog.connected.connect(added.append)

        def finished(_result: int) -> None:
            dialog.deleteLater()
            connection = added[0] if added else None
            if connection is None or not connection.companies:
                self._finish(0)
                return
            task = asyncio.ensure_future(self.open_window(company_key(connection.id, connection.companies[0].id)))
            task.add_done_callback(self._surface)

        dialog.finished.connect(finished)
        dialog.open()
        self._dialog = dialog  # held: an open() dialog without a parent must not be collected

    async def open_window(self, key: str) -> None:
        from ui.app import create_window

        context = await self.session.open(key)
        window = create_window(context, self.session, connect_service=self.connect_more)
        window.closed.connect(lambda: self._finish(0))
        self.window = window
        window.show()

    def connect_more(self, parent) -> None:
        from ui.connect.dialog import ConnectDialog
        from ui.workspace_session import company_key

        dialog = ConnectDialog(self.workspace, self.directory, parent=parent)

        def connected(connection) -> None:
            if connection.companies and self.window is not None:
                self.window.switch_to(company_key(connection.id, connection.companies[0].id))

        dialog.connected.connect(connected)
        dialog.finished.connect(lambda _result: dialog.deleteLater())
        dialog.open()

    def _surface(self, task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("opening the window failed", exc_info=task.exception())
            self._finish(1)

    def _finish(self, code: int) -> None:
        if self._done is not None and not self._done.done():
            self._done.set_result(code)

