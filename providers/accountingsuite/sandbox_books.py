"""The AccountingSuite sandbox's data: databases, logins, ids and cross references, kept in the DocStore.

Each AccountingSuite database (one per business) is a DocStore "company" named by its database id.
Documents that other documents point at (customers, items) carry reference records, so a delete can
be refused the way the service refuses it ("There are linked objects ...") without scanning, and a
renamed customer can be re-rendered into the invoice lists that show its name.
"""

from __future__ import annotations

import hashlib
import random
import string
import threading
from dataclasses import asdict, dataclass
from typing import Any

from providers.decimal_json import dumps, loads
from providers.sandbox.docstore import DocStore

OAUTH = "_oauth"  # the DocStore "company" holding registered apps and pending authorization codes
_REGISTRY = "accountingsuite.registry"
DEMO_LOGIN, DEMO_PASSWORD = "apidemo@demo.com", "demo"  # the shared demo login the API document names
DEVELOPER_DATABASE = "1000"


@dataclass(frozen=True)
class Database:
    id: str
    name: str
    key: str  # the apisecretkey: whoever holds it reaches this database


@dataclass(frozen=True)
class Login:
    email: str
    password: str
    databases: tuple[str, ...]


@dataclass(frozen=True)
class Registry:
    databases: tuple[Database, ...]
    logins: tuple[Login, ...]
    client_id: str  # Ledgerdesk's own registered app; its secret is the developer database's key


def random_text(rng: random.Random, length: int, alphabet: str = string.ascii_letters) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def build_registry(seed: int, names: tuple[str, ...]) -> Registry:
    """Deterministic from the seed: the same seed always gives the same keys and ids."""

    def key(name: str) -> str:
        return random_text(random.Random(f"{seed}:{name}:apisecretkey"), 20)

    developer = Database(DEVELOPER_DATABASE, "Ledgerdesk Developer", key("developer"))
    databases = [Database(str(1001 + n), name, key(name)) for n, name in enumerate(names)]
    logins = [
        Login(DEMO_LOGIN, DEMO_PASSWORD, tuple(db.id for db in databases)),
        Login("developer@ledgerdesk.example", DEMO_PASSWORD, (developer.id,)),
    ]
    for db in databases:
        slug = "".join(ch for ch in db.name.lower() if ch.isalnum())[:20]
        logins.append(Login(f"owner@{slug}.example", DEMO_PASSWORD, (db.id,)))
    client_id = random_text(random.Random(f"{seed}:client_id"), 20, string.ascii_letters + string.digits)
    return Registry((developer, *databases), tuple(logins), client_id)


class Books:
    """Access to one sandbox's AccountingSuite data. A request handler holds ``lock`` while it reads
    and writes, so that a request is atomic even when a served sandbox is also driven in-process."""

    def __init__(self, store: DocStore, seed: int, names: tuple[str, ...]):
        self.store = store
        self.seed = seed
        self.lock = threading.RLock()
        text = store.setting(_REGISTRY)
        if text is None:
            self.registry = build_registry(seed, names)
            store.set_setting(_REGISTRY, dumps(asdict(self.registry)))
        else:  # a data file remembers the keys it was created with, whatever seed this run has
            raw = loads(text)
            self.registry = Registry(
                tuple(Database(**d) for d in raw["databases"]),
                tuple(
                    Login(entry["email"], entry["password"], tuple(entry["databases"]))
                    for entry in raw["logins"]
                ),
                raw["client_id"],
            )
        self._by_key = {db.key: db for db in self.registry.databases}
        self._node = int(hashlib.sha256(f"{seed}:node".encode()).hexdigest()[:12], 16) | 1 << 40

    # --- databases and logins ---
    def database(self, db_id: str) -> Database:
        return next(db for db in self.registry.databases if db.id == db_id)

    def database_for_key(self, key: str | None) -> Database | None:
        return self._by_key.get(key or "")

    def login(self, email: str, password: str) -> Login | None:
        for login in self.registry.logins:
            if login.email.lower() == email.strip().lower() and login.password == password:
                return login
        return None

    @property
    def developer(self) -> Database:
        return self.database(DEVELOPER_DATABASE)

    # --- ids and numbers ---
    def uuid_for(self, db_id: str, serial: int) -> str:
        """api_codes look like the service's time-based UUIDs (consecutive objects, consecutive codes)."""
        index = int(db_id) - 1000
        return f"{0x10000000 + serial:08x}-{0x7000 + index * 0x111:04x}-11e3-8058-{self._node:012x}"

    def new_uuid(self, db_id: str) -> str:
        return self.uuid_for(db_id, self.store.next_id(f"{db_id}:uuid"))

    def next_number(self, db_id: str, series: str, width: int) -> str:
        return f"{self.store.next_id(f'{db_id}:{series}'):0{width}d}"

    # --- documents ---
    def get(self, db_id: str, collection: str, doc_id: str) -> Any | None:
        return self.store.get(db_id, collection, doc_id)

    def put(self, db_id: str, collection: str, doc_id: str, doc: Any, sort_key: str = "") -> None:
        self.store.put(db_id, collection, doc_id, doc, sort_key)

    def delete(self, db_id: str, collection: str, doc_id: str) -> bool:
        return self.store.delete(db_id, collection, doc_id)

    def sorted_texts(self, db_id: str, collection: str) -> list[str]:
        """Every document of a collection as stored text, in the order of its sort key."""
        return self.store.page_texts(db_id, collection, 0, -1, modified_since="")

    # --- references: who points at a company or an item ---
    def company_refs(self, db_id: str, company: str) -> list[list[str]]:
        doc = self.store.get(db_id, "refs.company", company)
        return [] if doc is None else doc["refs"]

    def link_company(
        self, db_id: str, company: str, collection: str, doc_id: str, linked: bool = True
    ) -> None:
        refs = [ref for ref in self.company_refs(db_id, company) if ref != [collection, doc_id]]
        if linked:
            refs.append([collection, doc_id])
        if refs:
            self.store.put(db_id, "refs.company", company, {"refs": refs})
        else:
            self.store.delete(db_id, "refs.company", company)

    def item_refs(self, db_id: str, item: str) -> int:
        doc = self.store.get(db_id, "refs.item", item)
        return 0 if doc is None else doc["n"]

    def count_item(self, db_id: str, item: str, delta: int) -> None:
        n = self.item_refs(db_id, item) + delta
        if n > 0:
            self.store.put(db_id, "refs.item", item, {"n": n})
        else:
            self.store.delete(db_id, "refs.item", item)
