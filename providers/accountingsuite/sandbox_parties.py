"""/companies and /items of the AccountingSuite sandbox: customers and vendors with addresses, and items.

Both are stored in their wire shape, sorted as the service lists them (companies by name, items by code),
with a name (or code) index so that duplicates are refused without a scan. Names and codes compare
without regard to case, as the service's database does.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from providers.accountingsuite import sandbox_messages as msg
from providers.accountingsuite import sandbox_shapes as shapes
from providers.accountingsuite.sandbox_books import Books
from providers.accountingsuite.sandbox_fields import Body, address_fields
from providers.accountingsuite.sandbox_messages import ServiceError, refuse

# What every sandbox database has already been set up with: the service refuses names it does not know.
CATALOGUES = {
    "item_category": ("Food and drink", "Furniture", "Materials", "Services", "Supplies"),
    "unit_of_measure": ("box", "day", "each", "hour", "kg", "m", "m²"),
    "price_level": ("Retail", "Trade", "Wholesale"),
    "project": ("Spring catalog", "Store refit", "Website relaunch"),
    "class": ("East", "Online", "West"),
}
COMPANY_TYPES = ("customer", "vendor", "customer+vendor")


def api_code_of(text: str) -> str | None:
    """The canonical form of an api_code from a path or body, or None when it is not a UUID at all."""
    try:
        return str(uuid.UUID(str(text)))
    except ValueError:
        return None


def known(catalogue: str, value: str) -> str | None:
    for name in CATALOGUES[catalogue]:
        if name.casefold() == value.casefold():
            return name
    return None


class _Unique:
    """Documents kept in their wire shape, unique by one field (ignoring case) and listed in its order."""

    collection: str
    unique: str  # the field that names a document: company_name, item_code
    what: str  # as the service's "does not exist" message names it

    def __init__(self, books: Books):
        self.books = books

    def find(self, db: str, api_code: str | None) -> dict | None:
        code = api_code_of(api_code) if api_code is not None else None
        return None if code is None else self.books.get(db, self.collection, code)

    def load(self, db: str, api_code: str) -> dict:
        doc = self.find(db, api_code)
        if doc is None:
            raise refuse(msg.not_found(self.what))
        return doc

    def get(self, db: str, api_code: str) -> dict:
        return self.load(db, api_code)

    def named(self, db: str, value: str) -> str | None:
        """The api_code of the document whose unique field is ``value``, ignoring case."""
        index = self.books.get(db, f"index.{self.unique}", value.casefold())
        return None if index is None else index["api_code"]

    def list_text(self, db: str) -> str:
        return f'{{"{self.collection}":[' + ",".join(self.books.sorted_texts(db, self.collection)) + "]}"

    def save(self, db: str, doc: dict, old_value: str | None = None) -> None:
        if old_value is not None and old_value.casefold() != doc[self.unique].casefold():
            self.books.delete(db, f"index.{self.unique}", old_value.casefold())
        self.save_many(db, [doc])

    def save_many(self, db: str, docs: list[dict]) -> None:
        """Documents and their index entries, in two batches (seeding writes thousands at once)."""
        self.books.store.put_many(
            db, self.collection, ((d["api_code"], d, d[self.unique].casefold()) for d in docs)
        )
        self.books.store.put_many(
            db,
            f"index.{self.unique}",
            ((d[self.unique].casefold(), {"api_code": d["api_code"]}, "") for d in docs),
        )

    def remove(self, db: str, doc: dict) -> None:
        self.books.delete(db, self.collection, doc["api_code"])
        self.books.delete(db, f"index.{self.unique}", doc[self.unique].casefold())


class Companies(_Unique):
    collection, unique, what = "companies", "company_name", "company"

    def __init__(self, books: Books, on_change: Callable[[str, dict], None]):
        super().__init__(books)
        self._on_change = on_change  # re-renders the document lists that show a company's name or address

    def new_address(
        self, db: str, fields: dict[str, str], billing: bool = False, shipping: bool = False
    ) -> dict:
        return shapes.address(
            self.books.new_uuid(db), self.books.next_number(db, "address_code", 5), fields, billing, shipping
        )

    def new_company(
        self,
        db: str,
        name: str,
        kind: str,
        addresses: list[tuple[dict, bool, bool]],
        extras: dict | None = None,
    ) -> dict:
        """``addresses``: (fields, default billing, default shipping); none gives the service's "Primary"."""
        api_code = self.books.new_uuid(db)
        code = self.books.next_number(db, "company_code", 5)
        specs = addresses or [({"address_id": "Primary"}, True, True)]
        lines = [self.new_address(db, fields, billing, shipping) for fields, billing, shipping in specs]
        doc = shapes.company(api_code, code, name, kind, lines)
        doc.update(extras or {})
        self.save(db, doc)
        return doc

    def create(self, db: str, body: Body) -> dict:
        name = body.text("company_name").strip()
        if not name:
            raise refuse(msg.required("company_name"))
        existing = self.named(db, name)
        if existing is not None:
            raise refuse(msg.COMPANY_EXISTS, api_code=existing)
        if body.has("company_code"):
            raise refuse(msg.COMPANY_CODE_FIXED)
        kind = body.text("company_type", "customer")
        if kind not in COMPANY_TYPES:
            raise refuse(msg.COMPANY_TYPE_BAD)
        extras = self._extras(body)
        specs = []
        for raw, fields in self._given_addresses(body):
            if not fields.get("address_id"):
                fields["address_id"] = "Primary"
            specs.append((fields, raw.flag("default_billing") is True, raw.flag("default_shipping") is True))
        self._check_unique_ids([fields["address_id"] for fields, _, _ in specs])
        # The first address is the default until another one claims it: a company always has one of each.
        if specs and not any(billing for _, billing, _ in specs):
            specs[0] = (specs[0][0], True, specs[0][2])
        if specs and not any(shipping for _, _, shipping in specs):
            specs[0] = (specs[0][0], specs[0][1], True)
        return self.new_company(db, name, kind, specs, extras)

    def update(self, db: str, api_code: str, body: Body) -> dict:
        doc = self.load(db, api_code)
        old_name = doc["company_name"]
        if body.has("company_code"):
            raise refuse(msg.COMPANY_CODE_FIXED)
        if body.has("company_name"):
            name = body.text("company_name").strip()
            if not name:
                raise refuse(msg.required("company_name"))
            existing = self.named(db, name)
            if existing is not None:  # the service refuses a name already in use, the company's own included
                raise refuse(msg.COMPANY_EXISTS, api_code=existing)
            doc["company_name"] = name
        if body.has("company_type"):
            doc["company_type"] = self._added_type(doc["company_type"], body.text("company_type"))
        doc.update(self._extras(body))
        addresses = [dict(a) for a in doc["lines"]["addresses"]]
        plan = self._given_addresses(body)
        for raw, fields in plan:
            if not fields.get("address_id"):
                fields.pop("address_id", None)
                if not raw.has("api_code"):
                    raise ServiceError(
                        {
                            "status": "error",
                            "message1": msg.ADDRESS_ID_REQUIRED,
                            "message2": msg.ADDRESS_API_CODE_REQUIRED,
                        }
                    )
        self._check_unique_ids([fields["address_id"] for _, fields in plan if "address_id" in fields])
        for raw, fields in plan:
            self._apply_address(db, addresses, raw, fields)
        for which in ("billing", "shipping"):
            if sum(a[f"default_{which}"] == "true" for a in addresses) != 1:
                raise refuse(msg.no_default(which))
        doc["lines"]["addresses"] = shapes.sort_addresses(addresses)
        self.save(db, doc, old_name)
        self._on_change(db, doc)
        return doc

    def delete(self, db: str, api_code: str) -> dict:
        doc = self.load(db, api_code)
        if self.books.company_refs(db, doc["api_code"]):
            raise refuse(msg.COMPANY_LINKED, company_name=doc["company_name"])
        self.remove(db, doc)
        return msg.deleted(f"{doc['company_name']} has been deleted.")

    # --- helpers ---
    def _extras(self, body: Body) -> dict:
        extras: dict = {}
        for key in ("website", "notes", *shapes.CUSTOM_STRINGS):
            if body.has(key):
                extras[key] = body.text(key)
        for key in shapes.CUSTOM_NUMBERS:
            if body.has(key):
                extras[key] = shapes.number(body.number(key))
        if body.has("price_level"):
            given = body.text("price_level")
            level = known("price_level", given) if given else ""
            if level is None:
                raise refuse(msg.PRICE_LEVEL_UNKNOWN)
            extras["price_level"] = level
        return extras

    @staticmethod
    def _added_type(current: str, wanted: str) -> str:
        """A company's type can gain a role but never lose one, as the service has it."""
        if wanted not in COMPANY_TYPES:
            raise refuse(msg.COMPANY_TYPE_BAD)
        return current if wanted == current else "customer+vendor"

    @staticmethod
    def _given_addresses(body: Body) -> list[tuple[Body, dict[str, str]]]:
        raw = body.list_at("lines", "addresses") or []
        given = [(Body(entry), address_fields(Body(entry))) for entry in raw if isinstance(entry, dict)]
        for which in ("billing", "shipping"):
            claims = [n for n, (entry, _) in enumerate(given) if entry.flag(f"default_{which}") is True]
            if len(claims) > 1:
                raise refuse(msg.several_defaults(which, claims[1] + 1))
        return given

    @staticmethod
    def _check_unique_ids(labels: list[str]) -> None:
        seen: set[str] = set()
        for position, label in enumerate(labels):
            if label.casefold() in seen:
                raise refuse(msg.duplicate_address_id(position + 1))
            seen.add(label.casefold())

    def _apply_address(self, db: str, addresses: list[dict], raw: Body, fields: dict[str, str]) -> None:
        if raw.has("api_code"):
            code = api_code_of(raw.text("api_code"))
            target = next((a for a in addresses if a["api_code"] == code), None)
            if target is None:
                raise refuse(msg.ADDRESS_UNKNOWN)
        else:
            target = self.new_address(db, {})
            addresses.append(target)
        label = fields.get("address_id")
        if label is not None and any(
            a is not target and a["address_id"].casefold() == label.casefold() for a in addresses
        ):
            raise refuse(msg.ADDRESS_ID_TAKEN)
        target.update(fields)
        for which in ("default_billing", "default_shipping"):
            claim = raw.flag(which)
            if claim is True:
                for other in addresses:
                    other[which] = "false"
            if claim is not None:
                target[which] = shapes.flag(claim)


class Items(_Unique):
    collection, unique, what = "items", "item_code", "item"

    def create(self, db: str, body: Body) -> dict:
        code = body.text("item_code").strip()
        if not code:
            raise refuse(msg.required("item_code"))
        existing = self.named(db, code)
        if existing is not None:
            raise refuse(msg.ITEM_EXISTS, api_code=existing)
        if not body.has("item_description"):
            raise refuse(msg.required("item_description"))
        description = body.text("item_description")
        kind = body.text("item_type", "service")
        if kind not in ("product", "service"):
            raise refuse(msg.ITEM_TYPE_BAD)
        category, unit = self._catalogued(body)
        doc = shapes.item(self.books.new_uuid(db), code, description, kind, category or "", unit or "")
        self._custom(doc, body)
        self.save(db, doc)
        return doc

    def update(self, db: str, api_code: str, body: Body) -> dict:
        doc = self.load(db, api_code)
        old_code = doc["item_code"]
        if body.has("item_code"):
            code = body.text("item_code").strip()
            if not code:
                raise refuse(msg.required("item_code"))
            existing = self.named(db, code)
            if existing is not None:  # the service refuses a code already in use, the item's own included
                raise refuse(msg.ITEM_EXISTS, api_code=existing)
            doc["item_code"] = code
        if body.has("item_description"):
            doc["item_description"] = body.text("item_description")
        category, unit = self._catalogued(body)
        if category is not None:
            doc["category"] = category
        if unit is not None:
            doc["unit_of_measure"] = unit
        if body.has("item_type"):  # refused whatever the value, as the service does
            raise refuse(msg.ITEM_TYPE_FIXED)
        self._custom(doc, body)
        self.save(db, doc, old_code)
        return doc

    def delete(self, db: str, api_code: str) -> dict:
        doc = self.load(db, api_code)
        if self.books.item_refs(db, doc["api_code"]):
            raise refuse(msg.ITEM_LINKED, item_code=doc["item_code"])
        self.remove(db, doc)
        return msg.deleted(f"{doc['item_code']} has been deleted.")

    @staticmethod
    def _catalogued(body: Body) -> tuple[str | None, str | None]:
        category = unit = None
        if body.has("item_category"):
            category = known("item_category", body.text("item_category"))
            if category is None:
                raise refuse(msg.CATEGORY_UNKNOWN)
        if body.has("unit_of_measure"):
            unit = known("unit_of_measure", body.text("unit_of_measure"))
            if unit is None:
                raise refuse(msg.UNIT_UNKNOWN)
        return category, unit

    @staticmethod
    def _custom(doc: dict, body: Body) -> None:
        for key in shapes.CUSTOM_STRINGS:
            if body.has(key):
                doc[key] = body.text(key)
        for key in shapes.CUSTOM_NUMBERS:
            if body.has(key):
                doc[key] = shapes.number(body.number(key))
