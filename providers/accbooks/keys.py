"""API keys: each belongs to one company and carries a set of permissions from the document's table.

A permission is written ``<resource>:<read|write>``; ``write`` does not imply ``read`` in storage, but the
read-write preset grants both, as the settings page does. Keys are stored by their SHA-256 only (the
service shows a key once), in the ``DocStore`` so that a sandbox restarted on its data file keeps them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from providers.accbooks.wire import utc_stamp
from providers.sandbox.docstore import DocStore

GLOBAL = "_accbooks"  # the DocStore "company" that holds what belongs to no single company
KEYS = "api_keys"

# The document's permission table: which resources have a write side at all.
RESOURCES: dict[str, tuple[str, ...]] = {
    "transactions": ("read", "write"),
    "invoices": ("read", "write"),
    "contacts": ("read", "write"),
    "reports": ("read",),
    "journals": ("read", "write"),
    "bank_accounts": ("read",),
    "company": ("read",),
}
READ_ONLY = tuple(f"{resource}:read" for resource in RESOURCES)
READ_WRITE = tuple(f"{resource}:{level}" for resource, levels in RESOURCES.items() for level in levels)
# The demo's custom key: what an invoicing add-on would ask for (no reports, journals, bank or company).
DEMO_CUSTOM = ("contacts:read", "contacts:write", "invoices:read", "transactions:read")


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str
    company_id: str
    permissions: frozenset[str]

    def allows(self, permission: str) -> bool:
        return permission in self.permissions


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def demo_key(seed: int, company_index: int, role: str) -> str:
    """Deterministic from the seed, shaped like a real secret (``acb_`` and 40 hex digits)."""
    return "acb_" + hashlib.blake2b(f"accbooks:{seed}:{company_index}:{role}".encode(), digest_size=20).hexdigest()


def check_permissions(permissions: tuple[str, ...] | list[str]) -> None:
    for permission in permissions:
        resource, _, level = permission.partition(":")
        if level not in RESOURCES.get(resource, ()):
            raise ValueError(f"{permission!r} is not an AccBooks permission")


class KeyRing:
    """Look-ups are cached: every request checks its key, and keys change rarely (create, revoke)."""

    def __init__(self, store: DocStore):
        self.store = store
        self._cache: dict[str, ApiKey] = {}  # hits only: random wrong keys must not grow it

    def add(self, key: str, name: str, company_id: str, permissions: tuple[str, ...] | list[str]) -> ApiKey:
        check_permissions(permissions)
        key_id = "key_" + digest(key)[:12]
        self.store.put(GLOBAL, KEYS, digest(key), {
            "id": key_id, "name": name, "company_id": company_id, "permissions": sorted(set(permissions)),
            "created_at": utc_stamp()})
        self._cache.pop(digest(key), None)
        return ApiKey(key_id, name, company_id, frozenset(permissions))

    def revoke(self, key: str) -> bool:
        self._cache.pop(digest(key), None)
        return self.store.delete(GLOBAL, KEYS, digest(key))

    def find(self, key: str) -> ApiKey | None:
        hashed = digest(key)
        found = self._cache.get(hashed)
        if found is None:
            doc = self.store.get(GLOBAL, KEYS, hashed)
            if doc is None:
                return None
            found = self._cache[hashed] = ApiKey(doc["id"], doc["name"], doc["company_id"],
                                                 frozenset(doc["permissions"]))
        return found
