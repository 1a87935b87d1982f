"""Fixtures for the window's tests: a demo company in a store, a qasync loop already running inside Qt's
(QT-NOTES pattern B: the test stays synchronous and waits with qtbot), the window, and screenshots."""

from __future__ import annotations

import asyncio
import gc
import os
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QLocale
from PySide6.QtWidgets import QApplication

from app.domain.generate import DemoCompany
from app.store import CompanyStore, tables
from providers.base import Capabilities, Entity, Operation
from ui.context import CompanyContext
from ui.tasks import reads_finished

COMPANY = "Harbour Joinery Ltd"


@pytest.fixture(scope="session", autouse=True)
def british_locale():
    """Money and dates as a British user sees them, whatever this machine's LANG says."""
    QLocale.setDefault(QLocale("en_GB"))


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch) -> Path:
    """Every test its own LEDGERDESK_HOME: the window's settings never touch a real profile."""
    folder = tmp_path / "home"
    monkeypatch.setenv("LEDGERDESK_HOME", str(folder))
    return folder


def fill(path: Path, name: str = COMPANY, size: str | int = "small", seed: int = 3) -> Path:
    company = DemoCompany(name, size, seed=seed)
    with CompanyStore.create(path) as store:
        store.upsert_now(tables.ACCOUNTS, company.accounts())
        store.upsert_now(tables.CUSTOMERS, company.customers())
        store.upsert_now(tables.INVOICES, company.invoices())
        store.upsert_now(tables.BANK_ACCOUNTS, company.bank_accounts())
        store.upsert_now(tables.BANK_TRANSACTIONS, company.bank_transactions())
        store.end_bulk_load()
    return path


@pytest.fixture(scope="session")
def demo_file(tmp_path_factory) -> Path:
    """One generated company (40 customers, 400 invoices), copied for each test that writes to it."""
    return fill(tmp_path_factory.mktemp("demo") / "demo.sqlite")


@pytest.fixture
def store(demo_file, tmp_path):
    path = tmp_path / "company.sqlite"
    shutil.copyfile(demo_file, path)
    opened = CompanyStore.open(path)
    yield opened
    if not reads_finished():
        import faulthandler
        import sys

        faulthandler.dump_traceback(sys.stderr)
        raise AssertionError("a read of the window outlasted the test")  # never close a store under a read
    opened.close()


@pytest.fixture
def context(store) -> CompanyContext:
    return CompanyContext(key="clearbooks-demo/harbour", name=COMPANY, provider="clearbooks", store=store,
                          connection="Harbour (demo)", address=("12 Quay Street", "Bristol BS1 4DJ"),
                          vat_number="GB 123 4567 89")


@pytest.fixture
def loop(qapp):
    """QT-NOTES pattern B: a qasync loop that is 'already running' inside Qt's own; tests start coroutines
    with ensure_future and wait with qtbot. Teardown never calls loop.stop() (it would quit the
    QApplication, after which every qtbot wait returns at once)."""
    import qasync

    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    yield loop
    for _ in range(50):
        # A result arriving while we wind down may start more work: cancel until nothing is left.
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        if not pending:
            break
        for task in pending:
            task.cancel()
        qapp.processEvents()
    qapp.aboutToQuit.disconnect(loop._after_run_forever)
    loop._after_run_forever()
    loop._QEventLoop__is_running = False  # what stop() sets, without quitting the QApplication
    asyncio.events._set_running_loop(None)
    loop.close()
    asyncio.set_event_loop(None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    yield
    # qasync's helper QObjects sit in reference cycles; free them here, on the Qt thread (see tests/cli).
    if "loop" in item.fixturenames:
        gc.collect()


@pytest.fixture
def window(qtbot, loop, context):
    """The main window at 1280x800 on the demo company, its first view read from the store."""
    from ui import theme
    from ui.app import create_window

    made = create_window(context, scheme=theme.Scheme.LIGHT)
    qtbot.addWidget(made)
    made.resize(1280, 800)
    made.show()
    qtbot.waitExposed(made)
    made.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is made, timeout=2000)  # shortcuts need it
    yield made
    for editor in made._open_editors():
        editor._dirty = False
    made._closing_confirmed = True
    made.close()


@pytest.fixture
def shots(tmp_path) -> Path:
    """LEDGERDESK_SCREENSHOTS keeps the pictures for a person to look at; otherwise pytest's tmp_path."""
    folder = Path(os.environ["LEDGERDESK_SCREENSHOTS"]) if os.environ.get("LEDGERDESK_SCREENSHOTS") else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def restricted() -> Capabilities:
    """A provider like AccountingSuite: no deleting customers, no voiding invoices."""
    return Capabilities(missing={
        (Entity.CUSTOMERS, Operation.DELETE): "This service's API cannot delete a customer: archive them instead.",
        (Entity.INVOICES, Operation.VOID): "This service's API cannot void an invoice.",
    })
