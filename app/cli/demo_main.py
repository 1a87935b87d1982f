"""The demo's main window: the real window on the workspace the demo's sign-ins made.

The most recent company opens first (the first of the switcher otherwise); every company syncs with its
sandbox in the background, and File > Connect signs in to the same sandboxes as a user would.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:
    from app.cli.demo import DemoSession

log = logging.getLogger(__name__)


async def open_main_window(demo: DemoSession) -> None:
    from ui.app import create_window
    from ui.workspace_session import WorkspaceSession, company_key

    assert demo.workspace is not None, "the demo signs in before it opens the window"
    session = WorkspaceSession(demo.workspace)
    demo.ui_session = session
    key = session.first_key()
    if key is None:
        demo.window.show_no_companies()
        return
    context = await session.open(key)

    def connect_service(parent: QWidget) -> None:
        from ui.connect.dialog import ConnectDialog
        from ui.connect.services import ServiceDirectory

        directory = ServiceDirectory.for_sandboxes(
            {provider: (sandbox, demo.servers[provider].url) for provider, sandbox in demo.sandboxes.items()
             if provider in demo.servers})
        dialog = ConnectDialog(demo.workspace, directory, parent=parent)

        def connected(connection) -> None:
            if connection.companies:
                window.switch_to(company_key(connection.id, connection.companies[0].id))

        dialog.connected.connect(connected)
        dialog.finished.connect(lambda _result: dialog.deleteLater())
        dialog.open()

    window = create_window(context, session, connect_service=connect_service)
    window.closed.connect(demo.request_quit)
    demo.main_window_shown = window
    window.show()
    demo.window.hide()
    log.info("demo window open on %s (%s)", context.name, context.provider_name)
