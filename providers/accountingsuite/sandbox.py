"""AccountingSuite sandbox: an emulator of api.accountingsuite.com and oauth.accountingsuite.com.

Layout. One HTTP server plays both hosts: the OAuth host under ``/oauth`` (``/oauth/register_app``,
``/oauth/authorize``, ``/oauth/oauth_token``) and the API at the root (``/companies``, ``/items``,
``/cashsales``, ``/invoices``, ``/salesorders``, ``/purchaseorders``, ``/cashreceipts``). A client
configured with ``oauth_base = <url>/oauth`` and ``api_base = <url>`` talks to it as to the real hosts.

Databases and sign-in. Each demo business is one AccountingSuite database, reached with its own
apisecretkey (header ``apisecretkey: KEY`` or ``Authorization: Bearer KEY``). Database ids are "1001",
"1002", "1003" (``companies()``); a fourth, empty database "1000" belongs to the developer account whose
apisecretkey is Ledgerdesk's ``client_secret``. Logins (password "demo" for all): ``apidemo@demo.com``
reaches the three businesses (the shared demo login the document names), ``owner@<name>.example`` one
each, ``developer@ledgerdesk.example`` the developer database. Keys and ids follow from the seed and are
kept in the data file, so a restart keeps them even under another seed.

Demo data: each business's customers (type "customer", one "Primary" address), four vendors, the
items its invoices use, and its invoices (the generator's voided ones left out). No sales orders,
purchase orders or cash sales are seeded; payments are not written (the API cannot read them).

Where the document is silent, the behaviour follows the service's published source
(github.com/EDV-Lotsen/1C-AccountingSuite), marked "as the service does" below; otherwise it is ours.
Choices where the documents are silent (the client relies on these):
- OAuth: ``redirect_uri`` may be sent to ``/authorize``; it must equal the registered one, except that a
  loopback registration (``http://127.0.0.1/``, Ledgerdesk's) accepts any port and path on 127.0.0.1,
  localhost or [::1] (RFC 8252 §7.3). An unknown client_id or a wrong redirect_uri gets an HTML error
  page (HTTP 400), never a redirect. ``response_type`` other than ``code`` redirects with
  ``error=unsupported_response_type``. PKCE parameters are accepted and ignored (the service has none).
  With ``auto_consent`` the page approves at once as ``apidemo@demo.com``; otherwise it asks for e-mail
  and password and has Allow / Deny buttons (Deny redirects with ``error=access_denied&state=...``).
- Codes are single use (spent even by a failed exchange) and live 10 minutes. A used, expired, unknown
  or other client's code answers HTTP 400 ``{"error": "invalid_grant", "error_description":
  "Authorization code does not exist: CODE"}``. Bad client credentials: 401 ``invalid_client``; another
  grant_type: 400 ``unsupported_grant_type``; no code: 400 ``invalid_request``. The token endpoint
  takes form data or JSON. There is no refresh: the key does not expire and signing in again gives
  the same key.
- A login with one database answers ``{"token_type": "bearer", "access_token": KEY}``; a login with
  several answers a JSON array of ``{"token_type", "access_token", "database_id", "database_name"}``.
- ``/oauth/register_app`` takes JSON ``{appname, redirect_uri, apisecretkey}`` (a real database key) and
  answers ``{"client_id"}``; errors as ``{"error", "error_description"}`` (400, or 401 for a bad key).
- Authentication failure: HTTP 401 ``{"message": "[apisecretkey] : ...", "status": "error"}``. Unknown
  path: 404, wrong method: 405 (with ``Allow``), unreadable JSON body: 400, all in the same shape.
  Every other refusal is HTTP 200 ``{"status": "error", "message": ...}`` (sometimes ``message1``,
  ``message2``, plus ``api_code``, ``item_code``, ``company_name`` ... as the service adds them); the
  wording is listed in ``sandbox_messages`` with its source. An api_code that is not a UUID is "does not
  exist", as for an unknown one (also for DELETE, where the service itself fails with a server error).
- Request bodies are read as JSON whatever their Content-Type (curl ``-d`` sends form type); ``null``
  counts as absent; unknown keys are ignored; strings are cut at their documented maximum length;
  booleans must be JSON booleans (the string "true" is ignored where a boolean is wanted); amounts
  must be JSON numbers. Dates are ``yyyy-mm-dd``.
- Responses: the example's keys plus the documented attributes the example leaves out (invoices and
  cash sales: ``line_subtotal``, ``discount``, ``discount_percent``, ``subtotal``, ``shipping``; sales
  orders: those, ``external_id``, ``ship_to_last_name``, ``bill_to_last_name``; purchase orders:
  ``purchase_last_name``). Numbers are written without trailing zeros (900, 76.5), money included;
  slashes in strings are escaped (``\\/``) as the service's JSON writer does.
- Lists come whole, sorted as the document says: companies by name, items by code (both ignoring
  case), cash sales, invoices, sales orders and purchase orders by date, then number. Paging
  parameters are ignored. Wrappers: ``companies``, ``items``, ``cash_sales`` (cash sales AND invoices,
  as the document shows), ``Sales_Orders`` (as documented), ``purchase_orders`` (undocumented).
- Invoice and cash sale list entries carry no lines and no ``customer_api_code`` (as documented):
  match them to companies by ``company_code``, or GET each for its lines.
- Companies: ``company_type`` defaults to "customer"; on update a type can gain a role ("vendor" on a
  customer makes "customer+vendor") but never lose one. ``company_code`` may not be sent. A
  ``company_name`` already in use is refused with the duplicate message and that company's api_code,
  on update too, including the company's own current name (the service compares with every
  company): send ``company_name`` only when it changes. The same goes for ``item_code`` on items.
- Addresses: a new company gets the sent addresses, the first being default billing and shipping
  unless another claims it (none sent: one "Primary" address, default for both; an address without
  ``address_id`` is "Primary"). Claiming a default moves it from the other addresses. An update that
  would leave no default is refused ("[default_billing] : A company has to have exactly one default
  billing address."). An address with ``api_code`` updates that address (it must be the company's),
  one without adds a new one (``address_id`` then required, the documented message1/message2 error).
  Address labels are unique within a company. Addresses are listed by label, ignoring case. A
  ``state`` that is not a US state code and a ``country`` that is not two letters are stored empty.
  Addresses cannot be deleted through the API. An update is all or nothing.
- Catalogues every database has (the service refuses unknown names): item categories, units of
  measure, price levels, projects, classes, as listed in ``sandbox_parties.CATALOGUES``. ``price_level``
  "" clears it.
- Items: ``item_type`` defaults to "service" (as documented) and may not be sent on update at all,
  even unchanged (the service refuses it whatever its value). ``item_price`` is not settable. A
  product has ``costing_method``, COGS 5000 and inventory account 1300; a service has no
  ``costing_method``, no COGS account and expense account 6000.
- Invoices and cash sales: created as drafts; PUT replaces the whole document (the same required
  fields as POST). ``ship_to_api_code`` must be an address of the customer (the documented "does not
  belong to the Company" refusal). Totals are stored as sent, as the service trusts them; those not
  sent are worked out: ``line_subtotal`` = sum of line totals, ``discount`` = line_subtotal x
  discount_percent / 100, ``subtotal`` = line_subtotal - discount, ``shipping`` and
  ``sales_tax_total`` 0. ``doc_total`` is required. Seeded invoices that are not drafts were posted
  inside AccountingSuite: DELETE refuses them ("Failed to delete. Invoice must be unposted ...");
  drafts delete with "Invoice # 000002 from 5/24/2013 12:00:00 AM has been deleted.". Nothing on the
  wire says whether an invoice is posted.
- Sales and purchase orders: each line's ``line_total`` must equal ``quantity * price`` exactly; on
  update (not on create) a sales order's ``doc_total`` must equal the sum of its line totals, as the
  service checks. An address is given by api_code (it must be the company's), or by ``ship_to_*`` /
  ``bill_to_*`` / ``purchase_*`` fields: the company's address with the same lines, else a new address
  labelled as sent (or ``ShipTo_xxxxx``, ``BillTo_xxxxx``, ``purchase_address_xxxxx``). No address at all:
  the company's default shipping (ship-to) or billing (bill-to, purchase) address. ``po_number`` may be
  sent; otherwise numbered. Delete: "Purchase Order # ... has been deleted." like the others.
- ``/cashreceipts`` (POST only): finds the customer by ``company_name`` (ignoring case) or creates it
  with a "Primary" default address; HTTP 200 with an EMPTY body on success, as the service answers.
  A company with receipts or documents cannot be deleted.
- No rate limit (none documented): ``options.throttle`` changes nothing. No bank accounts, no reports,
  no webhooks (set up in the service's settings, not through the API).
- Money: the service has no currency field; the demo data is the generator's (built with its default
  currency) read as US dollars, amounts unchanged.
"""

from __future__ import annotations

from functools import cached_property

from app.domain.generate import DemoCompany
from providers.accountingsuite.sandbox_api import build_app
from providers.accountingsuite.sandbox_books import DEMO_LOGIN, DEMO_PASSWORD, DEVELOPER_DATABASE, Books
from providers.accountingsuite.sandbox_oauth import DEMO_REDIRECT
from providers.accountingsuite.sandbox_seed import seed_database
from providers.sandbox.base import ProviderSandbox


class Sandbox(ProviderSandbox):
    provider = "accountingsuite"
    company_names = (
        "Maria Delgado Design",
        "Cedar & Pine Landscaping LLC",
        "Great Lakes Restaurant Supply Inc.",
    )

    @cached_property
    def books(self) -> Books:
        return Books(self.store, self.options.seed, self.company_names)

    def seed_company(self, company: DemoCompany) -> None:
        database = next(db for db in self.books.registry.databases if db.name == company.name)
        seed_database(self.books, database.id, company)

    def app(self):
        return build_app(self.books, self.options.auto_consent)

    def credentials(self) -> dict[str, str]:
        registry = self.books.registry
        details = {
            "login": DEMO_LOGIN,
            "password": DEMO_PASSWORD,
            "client_id": registry.client_id,
            "client_secret": self.books.developer.key,
            "redirect_uri": DEMO_REDIRECT,
            "authorize_path": "/oauth/authorize",
            "token_path": "/oauth/oauth_token",
            "api_path": "/",
        }
        for db in registry.databases:
            details[f"apisecretkey.{db.id}"] = db.key
        return details

    def companies(self) -> list[dict[str, str]]:
        return [
            {"id": db.id, "name": db.name}
            for db in self.books.registry.databases
            if db.id != DEVELOPER_DATABASE
        ]
