"""GetInvoicesBy keeps a filtered query's ordered ids between pages (paging 100,000 invoices was
quadratic without it): a document saved or posted between two pages must still show, or leave, at once."""

from __future__ import annotations

import pytest

from tests.sandbox.test_accountsiq_sandbox import (
    ENTITY,
    LINES,
    Aiq,
    invoice_ids,
    new_document,
    open_sandbox,
    save,
)

DRAFTS = "<TypesFilter><string>Invoice</string></TypesFilter><Status>Processed</Status><OrderBy>InvoiceID</OrderBy>"


@pytest.fixture(scope="module")
def aiq():
    sandbox, server = open_sandbox(throttle=False, extra={"max_page_size": 50})
    yield Aiq(server.url, sandbox.credentials())
    server.stop()


def drafts(aiq: Aiq) -> list[int]:
    found: list[int] = []
    while page := invoice_ids(aiq, f"{DRAFTS}<Skip>{len(found)}</Skip><Limit>50</Limit>", ENTITY):
        found.extend(page)
    return found


def test_a_paged_query_sees_documents_saved_and_posted_since_it_was_last_asked(aiq):
    before = drafts(aiq)
    assert before == sorted(before)
    saved = int(save(aiq, new_document(aiq, "C0007", LINES[:1])).out["invoiceID"])
    after = drafts(aiq)
    assert after == [*before, saved]
    assert invoice_ids(aiq, f"{DRAFTS}<Skip>{len(before)}</Skip><Limit>50</Limit>", ENTITY) == [saved]
    aiq.ok("PostInvoiceGetBackTransactionID", f"<invoiceID>{saved}</invoiceID>")
    assert drafts(aiq) == before
