"""Bank feeds and bank statements: how a bank sends its transactions to Clear Books.

A feed is found or made for a bank account (by ``accountId``, by ``accountNumber`` and ``sortCode``, or by
creating the account from ``name``, ``accountNumber`` and ``sortCode``). Posted statement lines are kept
in one statement per account and calendar month; a ``transactionId`` already used on the same feed is
ignored, which is the service's only duplicate guard. Statement lines are unexplained bank lines: they
do not reach the ledger until someone explains them, so no API answer shows them.
"""

from __future__ import annotations

import hashlib

from starlette.responses import Response
from starlette.routing import Route

from providers.clearbooks.sandbox_api import Call, api_route, crud
from providers.clearbooks.sandbox_http import ApiError, Fields, invalid, json_response
from providers.clearbooks.sandbox_resources import new_bank_account

FEEDS = "bankFeeds"
STATEMENTS = "bankStatements"


def _feed_id(biz: str, account_id: int) -> str:
    return hashlib.sha1(f"clearbooks-feed:{biz}:{account_id}".encode()).hexdigest()


def _feed_answer(feed: dict, account: dict) -> dict:
    return {"id": feed["id"], "name": account["name"], "accountNumber": account["accountNumber"],
            "sortCode": account["sortCode"], "iban": account["iban"], "swift": account["swift"],
            "currency": account["currency"], "accountToken": feed["accountToken"], "accountId": account["id"]}


def create_feeds(call: Call) -> Response:
    books, biz = call.books, call.biz
    f = Fields(call.json())
    items = f.objects("items", required=True) or []
    if f.present("items") and not items:
        f.fail("items", "must contain at least one feed")
    wanted = []
    for item in items:
        account_id = item.integer("accountId")
        number, sort_code = item.string("accountNumber", default=None), item.string("sortCode", default=None)
        name = item.string("name", default=None)
        extra = {key: item.string(key) for key in ("iban", "swift")}
        if account_id is None and not (number and sort_code):
            item.fail("accountId", "give accountId, or accountNumber and sortCode")
        wanted.append((account_id, number, sort_code, name, extra, item))
    f.check()
    answers = []
    for account_id, number, sort_code, name, extra, item in wanted:
        if account_id is not None:
            account = books.get(biz, "bankAccounts", account_id)
            if account is None:
                raise invalid(f"{item.prefix}accountId: there is no bank account {account_id}")
        else:
            account = next((a for a in books.all(biz, "bankAccounts")
                            if a["accountNumber"] == number and a["sortCode"] == sort_code), None)
            if account is None:
                if not name:
                    raise invalid(f"{item.prefix}name: no bank account has this account number and sort code, "
                                  "so a name is needed to create one")
                account = new_bank_account(books, biz, {"name": name, "accountNumber": number,
                                                        "sortCode": sort_code, **extra})
                books.put(biz, "bankAccounts", account)
        feed_id = _feed_id(biz, account["id"])
        feed = books.store.get(biz, FEEDS, feed_id)
        if feed is None:
            feed = {"id": feed_id, "accountId": account["id"],
                    "accountToken": hashlib.sha1(f"token:{feed_id}".encode()).hexdigest()[:24], "seen": []}
            books.store.put(biz, FEEDS, feed_id, feed)
        answers.append(_feed_answer(feed, account))
    return json_response({"items": answers}, 201)


def create_statements(call: Call) -> Response:
    books, biz = call.books, call.biz
    f = Fields(call.json())
    items = f.objects("items", required=True) or []
    batches = []
    for item in items:
        feed_id = item.string("feedId", required=True, default=None)
        feed = books.store.get(biz, FEEDS, feed_id) if feed_id else None
        if feed_id and feed is None:
            item.fail("feedId", f"there is no bank feed {feed_id}")
        lines = []
        for line in item.objects("statementLines", required=True) or []:
            lines.append({"transactionId": line.string("transactionId", required=True, default=None),
                          "transactionDate": line.date("transactionDate", required=True),
                          "description": line.string("description", max_length=1000),
                          "amount": line.number("amount", required=True, places=2)})
        batches.append((feed, lines))
    f.check()
    answers = []
    for feed, lines in batches:
        seen = set(feed["seen"])
        touched: list[str] = []
        for line in lines:
            month = line["transactionDate"][:7]
            key = f"{feed['id']}:{month}"
            statement = books.store.get(biz, STATEMENTS, key)
            if statement is None:
                statement = {"id": books.next_id("statement"), "accountId": feed["accountId"],
                             "feedId": feed["id"], "month": month, "lines": []}
            if line["transactionId"] not in seen:
                seen.add(line["transactionId"])
                statement["lines"].append(line)
            books.store.put(biz, STATEMENTS, key, statement)
            if key not in touched:
                touched.append(key)
        books.store.put(biz, FEEDS, feed["id"], {**feed, "seen": sorted(seen)})
        for key in touched:
            statement = books.store.get(biz, STATEMENTS, key)
            answers.append({"id": statement["id"], "accountId": statement["accountId"], "feedId": feed["id"]})
    if not answers and not items:
        raise ApiError(400, "validationError", "items: must contain at least one statement")
    return json_response({"items": answers}, 201)


def routes(sandbox) -> list[Route]:
    return [
        api_route(sandbox, "/accounting/bankFeeds", crud("", "accounting.bank_feeds:write", post=create_feeds)),
        api_route(sandbox, "/accounting/bankStatements",
                  crud("", "accounting.bank_statements:write", post=create_statements)),
    ]
