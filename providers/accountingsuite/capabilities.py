"""What AccountingSuite's API cannot do, in sentences the UI shows beside a greyed-out action."""

from __future__ import annotations

from providers.base import Capabilities, Entity, Operation, Unsupported

__all__ = ["CAPABILITIES", "Unsupported"]

NO_CHANGE_FEED = "AccountingSuite's API has no change feed: Ledgerdesk reads the whole list again."
NO_REPORTS = "AccountingSuite's API has no reports: Ledgerdesk works them out from the invoices it holds."
_NOTHING = {
    Entity.CREDIT_NOTES: "AccountingSuite's API has no credit notes.",
    Entity.BANK_ACCOUNTS: "AccountingSuite's API has no bank accounts.",
    Entity.BANK_TRANSACTIONS: "AccountingSuite's API has no bank accounts, so no bank transactions.",
    Entity.ACCOUNTS: "AccountingSuite's API has no chart of accounts.",
    Entity.LEDGER_LINES: "AccountingSuite's API has no ledger: reports are worked out from the invoices.",
}
_RECEIPTS_ONLY = "AccountingSuite's API can record a cash receipt but cannot read, change or delete one."
_DOCUMENT_ONLY = "Customers have no such action."

_missing: dict[tuple[Entity, Operation], str] = {}
for _entity, _reason in _NOTHING.items():
    for _operation in Operation:
        _missing[(_entity, _operation)] = _reason
for _operation in (Operation.LIST, Operation.GET, Operation.UPDATE, Operation.DELETE, Operation.POST,
                   Operation.VOID, Operation.PDF, Operation.CHANGES):
    _missing[(Entity.PAYMENTS, _operation)] = _RECEIPTS_ONLY
for _operation in (Operation.POST, Operation.VOID, Operation.PDF):
    _missing[(Entity.CUSTOMERS, _operation)] = _DOCUMENT_ONLY
_missing.update({
    (Entity.CUSTOMERS, Operation.CHANGES): NO_CHANGE_FEED,
    (Entity.INVOICES, Operation.CHANGES): NO_CHANGE_FEED,
    (Entity.INVOICES, Operation.POST): (
        "AccountingSuite's API creates invoices as drafts; they are approved (posted) inside "
        "AccountingSuite, and the API does not say which ones have been."
    ),
    (Entity.INVOICES, Operation.VOID): (
        "AccountingSuite's API cannot void an invoice: delete a draft, or void it inside AccountingSuite."
    ),
    (Entity.INVOICES, Operation.PDF): "AccountingSuite's API has no invoice PDFs.",
})
for _entity in Entity:
    _missing[(_entity, Operation.REPORTS)] = NO_REPORTS

CAPABILITIES = Capabilities(missing=_missing)
