"""Starting the window: the QApplication, the theme, and the qasync loop the whole app runs on.

``run_window(context)`` is what an entry point calls (``ledgerdesk --demo`` will, once it hands over a
workspace); it returns when the window closes. ``create_window`` is for code that already runs a qasync
loop (the demo, the tests). ``python -m ui.app [company.sqlite]`` opens one company file on its own, or a
generated demo company when none is given: for a person to look, and for the benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QWidget

from ui import theme
from ui.context import CompanyContext, Session, SingleCompany
from ui.main_window import MainWindow
from ui.settings import window_settings
from ui.tasks import reads_finished


def make_application(argv: list[str] | None = None) -> QApplication:
    existing = QApplication.instance()
    if existing is not None:
        assert isinstance(existing, QApplication)
        return existing
    # Fractional scale factors (125 %, 150 %) as they are: crisp SVG icons and text, no rounding to 2x.
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("Ledgerdesk")
    app.setOrganizationName("Ledgerdesk")
    app.setApplicationDisplayName("Ledgerdesk")
    app.setWindowIcon(theme.app_icon())
    return app


def apply_theme(app: QApplication, settings: QSettings | None = None, scheme: theme.Scheme | None = None) -> theme.Theme:
    """The app's Theme, made once; ``scheme`` (else the saved choice, else the OS) decides light or dark."""
    if scheme is None:
        saved = (settings or window_settings()).value("theme", "system")
        scheme = theme.Scheme(saved) if saved in {s.value for s in theme.Scheme} else theme.Scheme.SYSTEM
    existing = app.findChild(theme.Theme)
    if existing is not None:
        existing.set_preference(scheme)
        return existing
    return theme.Theme(app, scheme)


def create_window(context: CompanyContext, session: Session | None = None, *,
                  scheme: theme.Scheme | None = None, settings: QSettings | None = None,
                  connect_service: Callable[[QWidget], None] | None = None) -> MainWindow:
    """The main window on ``context`` (needs a running QApplication and an asyncio loop set for it)."""
    app = make_application()
    settings = settings if settings is not None else window_settings()
    current = apply_theme(app, settings, scheme)
    return MainWindow(session or SingleCompany(context), context, theme_=current, settings=settings,
                      connect_service=connect_service)


def run_window(context: CompanyContext, session: Session | None = None, *, argv: list[str] | None = None,
               quit_after: float | None = None) -> int:
    """Open the window on a qasync loop and run until it is closed. Returns the exit code."""
    import qasync

    app = make_application(argv)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = create_window(context, session)
    closed = loop.create_future()
    app.lastWindowClosed.connect(lambda: closed.done() or closed.set_result(0))
    window.show()
    if quit_after is not None:
        QTimer.singleShot(int(quit_after * 1000), window.close)
    with loop:
        code = loop.run_until_complete(closed)
        reads_finished()  # the caller closes the stores next: not under a read still running
        return code


# --- python -m ui.app ------------------------------------------------------------------------------


def demo_context(path: Path | None, size: str = "small") -> CompanyContext:
    """A context on a company file; with no file, a demo company generated into a temporary folder."""
    from app.domain.generate import DemoCompany
    from app.store import CompanyStore, tables

    name = "Harbour Joinery Ltd"
    if path is None:
        path = Path(tempfile.mkdtemp(prefix="ledgerdesk-window-")) / "company.sqlite"
        company = DemoCompany(name, size, seed=3)
        with CompanyStore.create(path) as store:
            store.upsert_now(tables.ACCOUNTS, company.accounts())
            store.upsert_now(tables.CUSTOMERS, company.customers())
            store.upsert_now(tables.INVOICES, company.invoices())
            store.upsert_now(tables.BANK_ACCOUNTS, company.bank_accounts())
            store.upsert_now(tables.BANK_TRANSACTIONS, company.bank_transactions())
            store.end_bulk_load()
    else:
        name = path.stem.replace("-", " ").replace("_", " ").title()
    return CompanyContext(key=f"local/{path.stem}", name=name, provider="local", store=CompanyStore.open(path),
                          address=("12 Quay Street", "Bristol BS1 4DJ"), vat_number="GB 123 4567 89")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ui.app", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("company", nargs="?", type=Path, help="a company file (.sqlite); default: a demo company")
    parser.add_argument("--size", default="small", help="size of the generated demo company (tiny, small, medium)")
    parser.add_argument("--quit-after", type=float, help="close the window after this many seconds")
    args = parser.parse_args(argv)
    context = demo_context(args.company, args.size)
    try:
        return run_window(context, quit_after=args.quit_after)
    finally:
        context.store.close()
        if args.company is None:  # the generated company was only for this run
            shutil.rmtree(context.store.path.parent, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
