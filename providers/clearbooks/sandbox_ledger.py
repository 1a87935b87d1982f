"""A business's ledger, derived from what was posted: approved sales and purchase documents, payments,
journals and other entries (the opening balance, money spent straight from the bank).

A posting's transaction id is the id of the record that posted it (documents, payments, journals and
other entries draw their ids from one sequence), so the ledger is never stored twice and can never
disagree with the documents. Amounts are kept in pence: every posted amount is whole pennies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from providers.clearbooks.sandbox_chart import CREDITORS, DEBTORS, VAT_CONTROL, line_net, line_vat, to_pence

# Collections whose records post to the ledger, with the sign of a document of that kind.
DOCUMENT_SIGNS = {"sales:invoices": 1, "sales:creditNotes": -1,
                  "purchases:bills": -1, "purchases:creditNotes": 1, "purchases:expenses": -1}
SOURCES = (*DOCUMENT_SIGNS, "payments", "journals", "ledgerEntries")
POSTED_STATUSES = ("approved", "paid")

Lines = tuple[tuple[int, int], ...]
Entry = tuple[str, Lines]  # (accounting date, ((account code id, pence), ...))


def document_entry(collection: str, doc: dict) -> Entry | None:
    """Sales: debtors against income and VAT; purchases: costs and VAT against creditors."""
    if doc["status"] not in POSTED_STATUSES:
        return None
    sign = DOCUMENT_SIGNS[collection]
    nets: dict[int, int] = {}
    vat = 0
    for item in doc["lineItems"]:
        net = line_net(item["unitPrice"], item["quantity"])
        nets[item["accountCode"]] = nets.get(item["accountCode"], 0) + to_pence(net)
        vat += to_pence(line_vat(net, item["vatRateKey"], item.get("vatAmount")))
    gross = sum(nets.values()) + vat
    control = DEBTORS if collection.startswith("sales:") else CREDITORS
    lines = [(control, sign * gross)] + [(account, -sign * net) for account, net in nets.items()]
    if vat:
        lines.append((VAT_CONTROL, -sign * vat))
    return doc.get("dateAccrual") or doc["date"], tuple(lines)


def payment_entry(doc: dict, bank_code: int, from_customer: bool) -> Entry:
    pence = to_pence(doc["amount"])
    control = DEBTORS if from_customer else CREDITORS
    return doc["accountingDate"], ((bank_code, pence), (control, -pence))


def journal_entry(doc: dict) -> Entry:
    return doc["accountingDate"], tuple((line["accountCodeId"], to_pence(line["amount"])) for line in doc["lines"])


class Ledger:
    """Entries by transaction id, with a flat list of lines (sorted by transaction) made on demand."""

    def __init__(self) -> None:
        self.entries: dict[int, Entry] = {}
        self._flat: list[tuple[int, str, int, int, int]] | None = None
        self._txn_ids: list[int] | None = None
        self._orders: dict[str, list[tuple[int, str, int, int, int]]] = {}

    def set(self, txn_id: int, entry: Entry | None) -> None:
        if entry is None:
            if self.entries.pop(txn_id, None) is None:
                return
        else:
            self.entries[txn_id] = entry
        self._flat = self._txn_ids = None
        self._orders.clear()

    def transaction_ids(self) -> list[int]:
        if self._txn_ids is None:
            self._txn_ids = sorted(self.entries)
        return self._txn_ids

    def lines(self) -> list[tuple[int, str, int, int, int]]:
        """(transaction id, accounting date, account code id, pence, line index), by transaction."""
        if self._flat is None:
            self._flat = [(txn, date, account, pence, index)
                          for txn in self.transaction_ids()
                          for date, lines in (self.entries[txn],)
                          for index, (account, pence) in enumerate(lines)]
        return self._flat

    def lines_sorted(self, key_name: str, key: Callable[[tuple], Any]) -> list[tuple[int, str, int, int, int]]:
        if key_name not in self._orders:
            self._orders[key_name] = sorted(self.lines(), key=key)
        return self._orders[key_name]

    def balances(self, date_from: str, date_to: str) -> dict[int, int]:
        totals: dict[int, int] = {}
        for date, lines in self.entries.values():
            if date_from <= date <= date_to:
                for account, pence in lines:
                    totals[account] = totals.get(account, 0) + pence
        return totals

    def uses_account(self, account: int) -> bool:
        return any(account == line_account for _d, lines in self.entries.values() for line_account, _p in lines)

