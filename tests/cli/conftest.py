"""Fixtures for the entry-point tests: child processes read without hanging, a qasync loop on the Qt
main thread, and a folder for screenshots a person can look at."""

from __future__ import annotations

import asyncio
import gc
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


class Child:
    """A `python -m app ...` child whose stdout and stderr are read by threads, so a test can wait for
    a line with a deadline on every platform (select() does not work on pipes on Windows)."""

    def __init__(self, args: list[str], env: dict[str, str]):
        flags = subprocess.CREATE_NEW_PROCESS_GROUP if os.name == "nt" else 0
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app", *args], cwd=REPO, env=env, text=True, encoding="utf-8",
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, creationflags=flags)
        self.stdout: queue.Queue[str | None] = queue.Queue()
        self.stderr_lines: list[str] = []
        self._stderr_closed = False
        self._stderr_seen = threading.Condition()
        threading.Thread(target=self._pump, args=(self.process.stdout, self.stdout.put), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.process.stderr, self._keep_stderr), daemon=True).start()

    @staticmethod
    def _pump(stream, put) -> None:
        for line in stream:
            put(line)
        put(None)  # end of stream

    def _keep_stderr(self, line: str | None) -> None:
        with self._stderr_seen:
            if line is None:
                self._stderr_closed = True
            else:
                self.stderr_lines.append(line)
            self._stderr_seen.notify_all()

    @property
    def stderr(self) -> str:
        return "".join(self.stderr_lines)

    def stdout_line(self, timeout: float = 60) -> str:
        try:
            line = self.stdout.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no output within {timeout} s; stderr so far:\n{self.stderr}") from None
        if line is None:
            raise AssertionError(f"stdout closed (exit code {self.process.poll()}); stderr:\n{self.stderr}")
        return line

    def wait_for_stderr(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        with self._stderr_seen:
            while text not in self.stderr:
                left = deadline - time.monotonic()
                if left <= 0 or self._stderr_closed:
                    raise AssertionError(f"{text!r} did not appear on stderr:\n{self.stderr}")
                self._stderr_seen.wait(min(left, 0.5))

    def interrupt(self) -> None:
        """What a person's Ctrl+C or a service manager's stop does."""
        if os.name == "nt":
            self.process.send_signal(signal.CTRL_BREAK_EVENT)
        else:
            self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = 30) -> int:
        """The exit code, once the child has ended and everything it wrote to stderr has been read."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"child did not exit within {timeout} s; stderr:\n{self.stderr}") from None
        with self._stderr_seen:
            self._stderr_seen.wait_for(lambda: self._stderr_closed, timeout=10)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def child_env(tmp_path):
    """The child's environment: its own LEDGERDESK_HOME, so a test never writes to the user's folders."""
    env = dict(os.environ)
    env["LEDGERDESK_HOME"] = str(tmp_path / "home")
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def spawn(child_env):
    children: list[Child] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Child:
        child = Child(list(args), env or child_env)
        children.append(child)
        return child

    yield start
    for child in children:
        child.kill()


@pytest.fixture
def qasync_loop(qapp):
    """Pattern A of QT-NOTES: the test drives the loop with run_until_complete."""
    import qasync

    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    loop.close()
    asyncio.set_event_loop(None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    yield
    # qasync leaves QObjects (its timer, its call_soon signaller) in reference cycles. Left to the cyclic
    # collector they are freed by whichever thread next triggers it, e.g. a later test's sandbox server
    # thread, while the main thread is inside processEvents: a segfault, seen once in a full run. So
    # collect them here, on the Qt thread, once pytest has let go of the test's fixtures (not in the
    # fixture's teardown: the loop is still referenced then).
    if "qasync_loop" in item.fixturenames:
        gc.collect()


@pytest.fixture
def screenshot_dir(tmp_path) -> Path:
    """LEDGERDESK_SCREENSHOTS keeps the pictures for a person to look at; otherwise pytest's tmp_path."""
    folder = Path(os.environ["LEDGERDESK_SCREENSHOTS"]) if os.environ.get("LEDGERDESK_SCREENSHOTS") else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder
