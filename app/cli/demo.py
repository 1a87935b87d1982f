"""`ledgerdesk --demo`: the provider sandboxes on loopback, served as tasks on the Qt main thread's
qasync loop, beside a placeholder window until the real main window lands (issue 7)."""

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
from collections.abc import Callable, Iterable
from pathlib import Path

from app.cli.logging_setup import close_logging, route_uvicorn_to_root, setup_logging
from app.cli.sandboxes import SandboxUnavailable, build
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

    def __init__(self, window, providers: Iterable[str] = PROVIDERS, size: str | int = DEMO_SIZE):
        self.window = window
        self.providers = tuple(providers)
        self.size = size
        self.sandboxes: dict[str, ProviderSandbox] = {}
        self.servers: dict[str, RunningServer] = {}
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

    async def stop(self) -> None:
        servers, self.servers = self.servers, {}
        # Together: each uvicorn shutdown waits a little for its connections to close.
        await asyncio.gather(*(self._stop_one(provider, server) for provider, server in servers.items()))
        if servers:
            log.info("stopped %d sandboxes", len(servers))

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
            if quit_after is not None:
                asyncio.get_running_loop().call_later(quit_after, self.request_quit)
            await self._quit.wait()
        finally:
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
    session = DemoSession(DemoWindow(home))
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
