"""The demo's start-up panel, driven in-process on a qasync loop with the real sandboxes."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from PySide6.QtWidgets import QLabel

from app.cli.demo import DemoSession
from app.cli.demo_window import TITLE, DemoWindow
from app.cli.sandboxes import DISPLAY_NAMES
from providers.sandbox.registry import PROVIDERS


@pytest.fixture
def demo_app(qapp):
    """As in the demo: the session, not Qt, ends the loop, once the servers have stopped."""
    before = qapp.quitOnLastWindowClosed()
    qapp.setQuitOnLastWindowClosed(False)
    yield qapp
    qapp.setQuitOnLastWindowClosed(before)


def rows(window: DemoWindow) -> dict[str, tuple[str, str, list[str]]]:
    table = window.table
    found = {}
    for index in range(table.topLevelItemCount()):
        item = table.topLevelItem(index)
        companies = [item.child(n).text(0) for n in range(item.childCount())]
        found[item.text(0)] = (item.text(1), item.text(2), companies)
    return found


async def let_qt_paint() -> None:
    # qtbot.wait would spin a nested Qt loop inside the qasync one; short sleeps keep the loop running.
    for _ in range(5):
        await asyncio.sleep(0.02)


def test_start_up_panel_lists_the_running_sandboxes(qtbot, demo_app, qasync_loop, tmp_path, screenshot_dir):
    window = DemoWindow(tmp_path)
    qtbot.addWidget(window)
    session = DemoSession(window, size="tiny")

    async def scenario():
        window.show()
        await session.start()
        try:
            listed = rows(window)
            url = listed["AccountingSuite"][0]
            async with httpx.AsyncClient(timeout=10) as client:  # served by this same (Qt) loop
                answer = await client.get(f"{url}/_sandbox/faults")
            assert answer.status_code == 200
            await let_qt_paint()
            window.grab().save(str(screenshot_dir / "demo-window.png"))
            return listed
        finally:
            await session.stop()

    listed = qasync_loop.run_until_complete(scenario())

    assert window.windowTitle() == TITLE == "Ledgerdesk (demo)"
    texts = " ".join(label.text() for label in window.findChildren(QLabel))
    assert "Nothing here reaches the internet" in texts
    assert list(listed) == [DISPLAY_NAMES[p] for p in PROVIDERS]
    url, status, companies = listed["AccountingSuite"]
    assert url.startswith("http://127.0.0.1:") and status == "running"
    assert companies == ["Maria Delgado Design", "Cedar & Pine Landscaping LLC",
                         "Great Lakes Restaurant Supply Inc."]
    for url, status, companies in listed.values():
        # A sandbox still being written is shown honestly, never as running.
        assert (status, bool(url), bool(companies)) in {("running", True, True), ("not available yet", False, False)}
    assert "running on 127.0.0.1" in window.status_label.text()
    assert (screenshot_dir / "demo-window.png").stat().st_size > 5_000
    assert session.servers == {}


def test_closing_the_window_stops_the_servers_and_ends_the_session(qtbot, demo_app, qasync_loop, tmp_path):
    window = DemoWindow(tmp_path)
    qtbot.addWidget(window)
    session = DemoSession(window, providers=["accountingsuite"], size="tiny")
    seen: list[str] = []

    async def close_when_serving():
        while not session.servers:
            await asyncio.sleep(0.02)
        seen.append(session.servers["accountingsuite"].url)
        window.close()

    closer = qasync_loop.create_task(close_when_serving())
    qasync_loop.run_until_complete(asyncio.wait_for(session.run(), timeout=30))
    assert closer.done() and seen
    assert session.servers == {}
    assert not window.isVisible()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{seen[0]}/_sandbox/faults", timeout=2)


def test_the_demo_opens_the_main_window_once_signed_in(qtbot, demo_app, qasync_loop, tmp_path, screenshot_dir,
                                                       monkeypatch):
    """What `ledgerdesk --demo` shows once up: the real window on a signed-in company, synced with its sandbox,
    the start-up panel gone; closing the window ends the demo and stops the servers."""
    from app.cli.demo_main import open_main_window

    monkeypatch.setenv("LEDGERDESK_HOME", str(tmp_path / "home"))
    panel = DemoWindow(tmp_path)
    qtbot.addWidget(panel)
    session = DemoSession(panel, providers=["accountingsuite", "accountsiq"], size="tiny", home=tmp_path / "home",
                          main_window=open_main_window)
    seen = {}

    async def look_then_close():
        while session.main_window_shown is None or session.main_window_shown.status.state.last_sync is None:
            await asyncio.sleep(0.05)
        window = session.main_window_shown
        window.resize(1280, 800)
        while window.current_view().model.busy or window.current_view().model.total == 0:
            await asyncio.sleep(0.05)
        await let_qt_paint()
        seen.update(title=window.windowTitle(), rows=window.current_view().model.total, panel=panel.isVisible(),
                    companies=len(session.ui_session.companies()), online=window.status.connection.text())
        window.grab().save(str(screenshot_dir / "demo-main-window.png"))
        window.close()

    closer = qasync_loop.create_task(look_then_close())
    qasync_loop.run_until_complete(asyncio.wait_for(session.run(), timeout=60))
    assert closer.done() and closer.exception() is None
    assert seen["rows"] > 0 and not seen["panel"] and seen["online"].startswith("Online")
    assert seen["companies"] == 6  # three of each sandbox
    assert seen["title"].endswith("· Ledgerdesk")
    assert session.servers == {} and session.ui_session is None
