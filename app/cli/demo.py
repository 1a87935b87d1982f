"""`ledgerdesk --demo`: the provider sandboxes on loopback, served as tasks on the Qt main thread's
qasync loop. A small start-up panel shows them starting; once they run, the demo signs in to each through
the real sign-in code (app/auth), keeping the sandboxes' demo credentials in an in-memory vault, and
then the main window opens on the workspace those sign-ins made: the most recent company first, each
company syncing with its sandbox in the background, File > Connect reaching the same sandboxes."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from app.auth import demo_signin
from app.auth.vault import MemoryKeyring, Vault
from app.cli.logging_setup import close_logging, route_uvicorn_to_root, setup_logging
from app.cli.sandboxes import DISPLAY_NAMES, SandboxUnavailable, build
from app.workspace import SETTINGS_FILE, Workspace
from providers.base import ProviderError
from providers.sandbox.base import ProviderSandbox, SandboxOptions
from providers.sandbox.registry import PROVIDERS
from providers.sandbox.server import RunningServer, serve

log = logging.getLogger(__name__)

# Big enough to look like real books, small enough that the four start in well under a second.
DEMO_SIZE = "small"
DEMO_SEED = 1


def prepare_home() -> tuple[Path, bool]:
    """The demo must never touch a user's real data: LEDGERDESK_HOME if set, else a fresh temporary
    folder (set in the environment so that everything the process opens follows it)."""
    home = os.environ.get("LEDGERDESK_HOME")
    if home:
        return Path(home), False
    folder = Path(tempfile.mkdtemp(prefix="ledgerdesk-demo-"))
    os.environ["LEDGERDESK_HOME"] = str(folder)
    return folder, True


def run(args: argparse.Namespace) -> int:
    home, temporary = prepare_home()
    log_file = setup_logging(verbose=args.verbose)
    log.info("demo starting in %s", home)
    if temporary:
        print(f"Demo files are in {home} and are removed when the demo ends "
              "(set LEDGERDESK_HOME to keep them).", file=sys.stderr)
    code = 1
    try:
        code = _run_qt(home, args.quit_after)
    except Exception:
        log.exception("the demo failed")
        print(f"The demo failed; the details are in {log_file}", file=sys.stderr)
    finally:
        log.info("demo ended with exit code %d", code)
        if temporary and code == 0:  # after a failure the folder stays: its log is the evidence
            close_logging()
            shutil.rmtree(home, ignore_errors=True)
    return code


class DemoSession:
    """Starts the sandboxes, keeps the window informed, and stops every server before it ends."""

    def __init__(self, window, providers: Iterable[str] = PROVIDERS, size: str | int = DEMO_SIZE,
                 home: Path | None = None, main_window: Callable[[DemoSession], Awaitable[Any]] | None = None):
        self.window = window
        # Opens the real window once signed in (the Qt entry point passes it; headless tests do not).
        self._main_window = main_window
        self.ui_session: Any = None  # the window's WorkspaceSession, closed before the servers stop
        self.main_window_shown: Any = None
        self.providers = tuple(providers)
        self.size = size
        self.sandboxes: dict[str, ProviderSandbox] = {}
        self.servers: dict[str, RunningServer] = {}
        # Not the OS keyring: the demo runs where there is none, and its credentials are not secrets.
        self.vault = Vault(MemoryKeyring())
        # Without a home (a test driving the session) the settings go to a folder of their own, never
        # to the user's real configuration.
        self._scratch = tempfile.TemporaryDirectory(prefix="ledgerdesk-demo-settings-") if home is None else None
        folder = Path(self._scratch.name) if self._scratch is not None else home / "config"
        self.settings_file = folder / SETTINGS_FILE
        self.workspace: Workspace | None = None
        self._quit = asyncio.Event()
        window.closed.connect(self.request_quit)

    def request_quit(self) -> None:
        self._quit.set()

    async def start(self) -> None:
        for provider in self.providers:
            self.window.show_starting(provider)
            await asyncio.sleep(0)  # let the row paint before the (synchronous) data generation
            try:
                sandbox = build(provider, SandboxOptions(size=self.size, seed=DEMO_SEED))
                server = await serve(sandbox.stack.asgi)
            except SandboxUnavailable as unavailable:
                log.warning("sandbox %s not started: %s", provider, unavailable.reason, exc_info=True)
                self.window.show_unavailable(provider, unavailable.reason)
                continue
            except OSError as error:
                log.exception("sandbox %s could not listen", provider)
                self.window.show_unavailable(provider, f"could not listen on 127.0.0.1: {error}")
                continue
            self.sandboxes[provider], self.servers[provider] = sandbox, server
            self.window.show_running(provider, server.url, sandbox.companies())
            log.info("sandbox %s running at %s", provider, server.url)
        route_uvicorn_to_root()
        self.window.show_ready(len(self.servers))
        log.info("demo ready: %d of %d sandboxes running", len(self.servers), len(self.providers))

    async def sign_in(self) -> None:
        """Every running sandbox, through app/auth; one that fails is shown as such, the rest go on."""
        self.workspace = workspace = Workspace(self.vault, self.settings_file)
        log.info("demo sign-ins are kept %s", self.vault.describe())
        for provider, sandbox in self.sandboxes.items():
            try:
                connections = await demo_signin.sign_in(workspace, sandbox, self.servers[provider].url)
            except ProviderError as error:
                log.warning("demo sign-in to %s failed: %s", provider, error.message)
                self.window.show_sign_in_failed(DISPLAY_NAMES[provider], error.message)
                continue
            except Exception as error:
                log.exception("demo sign-in to %s failed", provider)
                self.window.show_sign_in_failed(DISPLAY_NAMES[provider], f"{type(error).__name__}: {error}")
                continue
            for connection in connections:
                self.window.show_signed_in(connection.title, [c.title for c in connection.companies])
        companies = sum(len(c.companies) for c in workspace.connections)
        self.window.show_vault(len(workspace.connections), companies, self.vault.describe())
        log.info("demo signed in: %d connections, %d companies", len(workspace.connections), companies)

    async def _until_quit(self, work) -> None:
        """Closing the window while signing in stops the sign-ins (their listeners close)."""
        task, quitting = asyncio.ensure_future(work), asyncio.ensure_future(self._quit.wait())
        try:
            await asyncio.wait({task, quitting}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pending in (task, quitting):
                pending.cancel()
            await asyncio.gather(task, quitting, return_exceptions=True)

    async def stop(self) -> None:
        if self.ui_session is not None:  # sync stops and company files close while the services still answer
            session, self.ui_session = self.ui_session, None
            try:
                await asyncio.wait_for(session.aclose(), timeout=10)
            except Exception:
                log.exception("closing the demo's companies failed")
        servers, self.servers = self.servers, {}
        # Together: each uvicorn shutdown waits a little for its connections to close.
        await asyncio.gather(*(self._stop_one(provider, server) for provider, server in servers.items()))
        if servers:
            log.info("stopped %d sandboxes", len(servers))
        if self.workspace is not None:
            await self.workspace.clients.forget_all()
        if self._scratch is not None:
            self._scratch.cleanup()

    @staticmethod
    async def _stop_one(provider: str, server: RunningServer) -> None:
        try:
            await asyncio.wait_for(server.aclose(), timeout=5)
        except TimeoutError:
            log.warning("sandbox %s did not stop within 5 s; cancelled", provider)

    async def run(self, quit_after: float | None = None) -> None:
        self.window.show()
        try:
            await self.start()
            await self._until_quit(self.sign_in())
            if self._main_window is not None and not self._quit.is_set():
                await self._until_quit(self._main_window(self))
            if quit_after is not None:  # counted once the demo is up, signed in included
                asyncio.get_running_loop().call_later(quit_after, self.request_quit)
            await self._quit.wait()
        finally:
            if self.main_window_shown is not None and self.main_window_shown.isVisible():
                self.main_window_shown._closing_confirmed = True  # quitting from outside: no questions
                self.main_window_shown.close()
            await self.stop()
            self.window.close()


def _run_qt(home: Path, quit_after: float | None) -> int:
    import qasync
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.cli.demo_window import DemoWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Ledgerdesk")
    # Closing the window must first stop the servers, on the loop, before Qt's loop ends.
    app.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    from app.cli.demo_main import open_main_window

    session = DemoSession(DemoWindow(home), home=home, main_window=open_main_window)
    _forward_signals(loop, session.request_quit)
    # Python runs signal handlers only between bytecodes; while Qt idles in C++ a Ctrl+C would wait
    # for the next event, so a timer gives the interpreter a regular turn.
    heartbeat = QTimer()
    heartbeat.timeout.connect(lambda: None)
    heartbeat.start(200)
    main_task = loop.create_task(session.run(quit_after))
    try:
        loop.run_until_complete(main_task)
    except RuntimeError:
        if main_task.done():
            raise
        # Qt quit on its own (e.g. Cmd+Q, logout): finish the session so the servers stop cleanly.
        log.info("Qt quit before the demo ended; stopping the sandboxes")
        main_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(main_task)
    finally:
        heartbeat.stop()
        loop.close()
        asyncio.set_event_loop(None)
    return 0


def _forward_signals(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
    def handler(signum, frame):
        loop.call_soon_threadsafe(callback)

    for name in ("SIGINT", "SIGTERM", "SIGBREAK"):  # SIGBREAK: Ctrl+Break in a Windows console
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), handler)
