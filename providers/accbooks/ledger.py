"""The sandbox's own general ledger: every posting's lines, plus per-day account totals for reports.

Ledger lines are documents of the ``transactions`` collection in the shared ``DocStore``, so they persist
with everything else. The ``modified`` column of a line holds its sort key,
``"<date> <posting, 9 digits> <line, 3 digits> <account>"``: unique, in the order the API lists lines
(date, then posting, then line), with the account at a fixed offset so the same index answers an
``account_id`` filter (see ``sql.py``).

Reports read ``daybook``: one document per (date, account) holding that day's net movement (debit
positive), a few thousand documents even for the biggest company, kept in memory once read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal

from providers.accbooks import sql
from providers.accbooks.wire import posting_texts
from providers.decimal_json import dumps, loads
from providers.sandbox.docstore import DocStore

TRANSACTIONS = "transactions"
DAYBOOK = "daybook"
_ACCOUNT_AT = 26  # 1-based position of the account in a sort key ("YYYY-MM-DD 000000001 001 1200")
_KEY_END = "~"  # sorts after every character that follows a date or an id prefix


def sort_key(date: str, posting: int, line: int, account: str) -> str:
    return f"{date} {posting:09d} {line:03d} {account}"


Line = tuple[str, Decimal, str]  # (account, signed amount with debit positive, description)


class Ledger:
    def __init__(self, store: DocStore):
        self.store = store
        self._daybooks: dict[str, dict[tuple[str, str], Decimal]] = {}
        # Counting 300,000 index entries takes ~15 ms; a sync asks for the same count on every page.
        self._counts: dict[tuple, int] = {}
        # The last key of each page served, by the offset of the page after it: a listing that walks the
        # pages in order finds each next page by key instead of walking the index to its offset.
        self._ends: dict[tuple, str] = {}

    # --- writing ------------------------------------------------------------------------------------
    def post(self, company: str, source_type: str, source_id: str, date: str, reference: str | None,
             lines: list[Line], names: dict[str, str], replace: bool = False) -> None:
        """Post one balanced transaction. With ``replace``, the source's earlier lines go in the same
        SQLite transaction (an edited invoice)."""
        if sum(amount for _account, amount, _desc in lines) != 0:
            raise ValueError(f"{source_type} {source_id} does not balance")
        posting = self.store.next_id(f"{company}:posting")
        rows = [(line_id, sort_key(date, posting, n, account), text) for n, (line_id, account, text)
                in enumerate(posting_texts(source_type, source_id, date, reference, lines, names), start=1)]
        moves: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for account, amount, _description in lines:
            moves[(date, account)] += amount
        self._write(company, rows, moves, remove_source=source_id if replace else None)

    def unpost(self, company: str, source_id: str) -> int:
        """Remove a source's lines (an invoice deleted or put back to draft); returns how many there were."""
        return self._write(company, [], defaultdict(Decimal), remove_source=source_id)

    def _write(self, company: str, rows: list[tuple[str, str, str]], moves: dict[tuple[str, str], Decimal],
               remove_source: str | None) -> int:
        """Lines and day totals change in one SQLite transaction, so reports never disagree with lines."""
        daybook = self.daybook(company)
        span = (company, TRANSACTIONS, f"txn_{remove_source}_", f"txn_{remove_source}_{_KEY_END}")
        with sql.Transaction(self.store) as db:
            removed = 0
            if remove_source is not None:
                old = db.execute("SELECT modified, body FROM docs WHERE company=? AND collection=? AND id >= ? "
                                 "AND id < ?", span).fetchall()
                for modified, body in old:
                    line = loads(body)
                    moves[(modified[:10], modified[_ACCOUNT_AT - 1:])] -= line["debit"] - line["credit"]
                removed = len(old)
                db.execute("DELETE FROM docs WHERE company=? AND collection=? AND id >= ? AND id < ?", span)
            sql.upsert(db, company, TRANSACTIONS, rows)
            changed = {key: daybook.get(key, Decimal(0)) + amount for key, amount in moves.items() if amount}
            sql.upsert(db, company, DAYBOOK, [
                (f"{date}|{account}", date, dumps({"date": date, "account_id": account, "net": net}))
                for (date, account), net in changed.items()])
        daybook.update(changed)
        self._forget_counts(company)
        return removed

    def _forget_counts(self, company: str) -> None:
        self._counts = {key: total for key, total in self._counts.items() if key[0] != company}
        self._ends = {key: last for key, last in self._ends.items() if key[0] != company}

    # --- seeding ------------------------------------------------------------------------------------
    def seed(self, company: str, postings: Iterator[tuple[str, str, str, str | None, list[Line]]],
             names: dict[str, str], batch: int = 20_000) -> int:
        """Bulk-write postings ``(source_type, source_id, date, reference, lines)``; returns how many.
        Day totals are summed in memory and written once at the end."""
        daybook: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        rows: list[tuple[str, str, str]] = []
        posting = 0
        for source_type, source_id, date, reference, lines in postings:
            posting += 1
            prefix = f"{date} {posting:09d} "
            for n, (line_id, account, text) in enumerate(
                    posting_texts(source_type, source_id, date, reference, lines, names), start=1):
                rows.append((line_id, f"{prefix}{n:03d} {account}", text))
            for account, amount, _description in lines:
                daybook[(date, account)] += amount
            if len(rows) >= batch:
                sql.insert_texts(self.store, company, TRANSACTIONS, rows)
                rows = []
        sql.insert_texts(self.store, company, TRANSACTIONS, rows)
        self.store.put_many(company, DAYBOOK, (
            (f"{date}|{account}", {"date": date, "account_id": account, "net": net}, date)
            for (date, account), net in sorted(daybook.items()) if net))
        self.store.set_counter(f"{company}:posting", posting)
        self._daybooks.pop(company, None)
        self._forget_counts(company)
        return posting

    # --- reading ------------------------------------------------------------------------------------
    def daybook(self, company: str) -> dict[tuple[str, str], Decimal]:
        book = self._daybooks.get(company)
        if book is None:
            book = {(doc["date"], doc["account_id"]): Decimal(doc["net"])
                    for doc in self.store.all(company, DAYBOOK)}
            self._daybooks[company] = book
        return book

    def page(self, company: str, date_from: str | None, date_to: str | None, account: str | None,
             offset: int, limit: int) -> tuple[list[str], int]:
        """Ledger lines in date order (then posting, then line) as stored JSON text, and the total."""
        low, high = date_from or "", (date_to or "9999-12-31") + _KEY_END
        at = _ACCOUNT_AT if account is not None else None
        if len(self._counts) > 1000:  # many different ranges: start afresh rather than grow
            self._counts.clear()
        known = self._counts.get((company, low, high, account))
        if len(self._ends) > 10_000:
            self._ends.clear()
        after = self._ends.get((company, low, high, account, offset))
        texts, total, last = sql.page_by_key(self.store, company, TRANSACTIONS, low, high, at, account, offset,
                                             limit, known, after)
        self._counts[(company, low, high, account)] = total
        if last is not None:
            self._ends[(company, low, high, account, offset + len(texts))] = last
        return texts, total

    def get_text(self, company: str, line_id: str) -> str | None:
        return self.store.get_text(company, TRANSACTIONS, line_id)

    def balance(self, company: str, account: str) -> Decimal:
        return sum((net for (_date, code), net in self.daybook(company).items() if code == account), Decimal(0))
