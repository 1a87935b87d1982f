"""What the AccountsIQ connection cannot do, in sentences the UI shows beside a greyed-out action.

The limits are the integration service's (version 2.0 has no method for them), except where a sentence
says Ledgerdesk does not do it yet.
"""

from __future__ import annotations

from providers.base import Capabilities, Entity, Operation, ProviderError


class Unsupported(ProviderError):
    """AccountsIQ (or this connection) has no way to do this; the capabilities say why. Nothing was sent."""


_DOCUMENT_ACTIONS = (Operation.POST, Operation.VOID, Operation.PDF)
_WRITES = (Operation.CREATE, Operation.UPDATE, Operation.DELETE)
_ONLY_DOCUMENTS = "Only invoices and credit notes can be posted, voided or printed."

_missing: dict[tuple[Entity, Operation], str] = {
    (Entity.INVOICES, Operation.DELETE): (
        "AccountsIQ's integration service cannot delete an invoice: a draft can be changed or posted, and a "
        "posted invoice can only be reversed with a credit note."),
    (Entity.CREDIT_NOTES, Operation.DELETE): (
        "AccountsIQ's integration service cannot delete a credit note: a draft can be changed or posted, and "
        "a posted one can only be reversed with an invoice."),
    (Entity.INVOICES, Operation.VOID): (
        "AccountsIQ has no void: raise a credit note against the invoice to cancel it."),
    (Entity.CREDIT_NOTES, Operation.VOID): (
        "AccountsIQ has no void: raise an invoice to reverse the credit note."),
    (Entity.BANK_ACCOUNTS, Operation.CHANGES): (
        "AccountsIQ has no change feed for bank accounts: Ledgerdesk reads the list, and each balance, again."),
    (Entity.ACCOUNTS, Operation.CHANGES): (
        "AccountsIQ has no change feed for the chart of accounts: Ledgerdesk reads it again."),
}
for _entity in Entity:
    if _entity not in (Entity.INVOICES, Entity.CREDIT_NOTES):
        for _operation in _DOCUMENT_ACTIONS:
            _missing[(_entity, _operation)] = _ONLY_DOCUMENTS
for _operation in _WRITES:
    _missing[(Entity.BANK_ACCOUNTS, _operation)] = (
        "Bank accounts are set up inside AccountsIQ: its integration service lists them and their balances but "
        "cannot create, change or delete one.")
    _missing[(Entity.BANK_TRANSACTIONS, _operation)] = (
        "AccountsIQ keeps bank entries as ledger transactions (receipts, payments, journals): Ledgerdesk reads "
        "them from the ledger but does not enter or change them in AccountsIQ.")
    _missing[(Entity.ACCOUNTS, _operation)] = (
        "AccountsIQ's integration service cannot create, change or delete GL accounts: the chart is set up "
        "inside AccountsIQ.")
    _missing[(Entity.LEDGER_LINES, _operation)] = (
        "AccountsIQ writes ledger lines when a document is posted; they cannot be entered or changed one by one.")
_missing[(Entity.PAYMENTS, Operation.CREATE)] = (
    "Ledgerdesk does not record receipts in AccountsIQ yet: enter the receipt in AccountsIQ and Ledgerdesk will "
    "read it from the ledger.")
for _operation in (Operation.UPDATE, Operation.DELETE):
    _missing[(Entity.PAYMENTS, _operation)] = (
        "A receipt or payment in AccountsIQ is a posted transaction: its integration service cannot change or "
        "delete one (reverse it inside AccountsIQ).")

CAPABILITIES = Capabilities(missing=_missing)
