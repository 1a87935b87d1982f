"""Bank accounts where the service cannot list them, or their transactions: the pane says why, never stays empty."""

from __future__ import annotations

import pytest

from providers.base import Capabilities, Entity, Operation
from tests.ui.helpers import screenshot
from ui import theme
from ui.app import create_window

NO_STATEMENTS = "Clear Books only accepts bank statement lines; its API cannot list, change or remove them"
NO_ACCOUNTS = "AccountingSuite's API has no bank accounts"


def open_bank_view(qtbot, context, missing):
    context.capabilities = Capabilities(missing=missing)
    window = create_window(context, scheme=theme.Scheme.LIGHT)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    window.show_view("bank_accounts")
    view = window.views["bank_accounts"]
    qtbot.waitUntil(lambda: view.accounts.rowCount() == 2, timeout=3000)
    return window, view


@pytest.mark.parametrize("missing, shown", [
    ({(Entity.BANK_TRANSACTIONS, Operation.LIST): NO_STATEMENTS}, "transactions"),
    ({(Entity.BANK_ACCOUNTS, Operation.LIST): NO_ACCOUNTS, (Entity.BANK_TRANSACTIONS, Operation.LIST): NO_ACCOUNTS},
     "accounts"),
])
def test_what_the_service_cannot_list_is_said_in_place(qtbot, loop, context, shots, missing, shown):
    window, view = open_bank_view(qtbot, context, missing)
    if shown == "transactions":
        assert view.body.currentWidget() is not view.accounts_note
        assert view.transactions_area.currentWidget() is view.transactions_note
        assert view.transactions_note.text().startswith(NO_STATEMENTS + ".")
        assert not view.search.isVisible()
    else:
        assert view.body.currentWidget() is view.accounts_note
        assert view.accounts_note.text().startswith(NO_ACCOUNTS + ".")
    assert not view.new_button.isEnabled() or (Entity.BANK_ACCOUNTS, Operation.CREATE) not in missing
    screenshot(window, shots, f"bank-accounts-cannot-list-{shown}")
    window._closing_confirmed = True
    window.close()


def test_a_service_that_lists_everything_shows_the_tables(qtbot, loop, context):
    window, view = open_bank_view(qtbot, context, {})
    assert view.body.currentIndex() == 0 and view.transactions_area.currentWidget() is view.table
    assert view.search.isVisible()
    window._closing_confirmed = True
    window.close()
