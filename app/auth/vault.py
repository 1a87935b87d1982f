"""Every secret Ledgerdesk holds (client secrets, access and refresh tokens, API keys) lives in the OS
keyring, under the service name ``ledgerdesk``, one entry per connection and name (``<connection>/<name>``).

Long secrets. Windows Credential Manager keeps at most 2,560 bytes per credential, and keyring writes
UTF-16, so a value is split when its UTF-16 form would not fit (the same on every OS, so the code path
that Windows needs is the one every test runs). The entry then holds a small head naming the chunks;
the chunks are written first, in the slot ("a" or "b") the current head does not use, and the head is
switched last: a reader sees the old value or the new one, never half of each, even if the process dies
mid-write. A checksum in the head catches chunks changed under a reader.

Each connection also has an index entry listing its names, so that signing out can remove everything
the connection ever stored (keyring offers no listing).

No keyring: with no Secret Service (a Linux session without one, a container), keyring falls back to
its ``fail`` backend; the vault then raises ``VaultUnavailable`` with what to do, and never stores
anything anywhere else. The null backend, which accepts writes and forgets them, is refused the same
way. The demo passes ``MemoryKeyring`` explicitly: its sandbox credentials are not secrets (DESIGN.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import keyring
import keyring.errors
from jaraco.classes import properties
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null

from app.auth.errors import VaultUnavailable
from providers.http import get_logger, redact_text, register_secret

log = get_logger(__name__)

SERVICE = "ledgerdesk"
# Windows' CRED_MAX_CREDENTIAL_BLOB_SIZE is 2,560 bytes; stay clearly below it in case a backend
# counts a terminator or a byte-order mark.
MAX_ENTRY_BYTES = 2_400
_CHUNKED = "ledgerdesk-chunked:v1:"
_INDEX = ".index"
_SLOTS = ("a", "b")

NO_KEYRING = (
    "Ledgerdesk keeps passwords, keys and sign-in tokens only in the system keyring, and this computer has "
    "none available. On Linux, install and start a Secret Service keyring (GNOME Keyring or KWallet) in "
    "your desktop session, then try again. Nothing was saved.")


def utf16_size(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass"))


def split_utf16(text: str, limit: int = MAX_ENTRY_BYTES) -> list[str]:
    """Pieces of at most ``limit`` UTF-16 bytes, never splitting a character (or a surrogate pair)."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for char in text:
        width = 4 if ord(char) > 0xFFFF else 2
        if size + width > limit:
            chunks.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    if current:
        chunks.append("".join(current))
    return chunks


@dataclass(frozen=True)
class _Head:
    slot: str
    count: int
    digest: str

    def text(self) -> str:
        return f"{_CHUNKED}{self.slot}:{self.count}:{self.digest}"

    @classmethod
    def read(cls, value: str | None) -> _Head | None:
        if value is None or not value.startswith(_CHUNKED):
            return None
        slot, _, rest = value[len(_CHUNKED):].partition(":")
        count, _, digest = rest.partition(":")
        if slot not in _SLOTS or not count.isdigit() or not digest:
            return None
        return cls(slot, int(count), digest)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]


class MemoryKeyring(KeyringBackend):
    """A keyring that lives and dies with the process, for the demo (and only when passed explicitly).

    Never viable for keyring's own backend detection: every KeyringBackend subclass is a candidate
    there, and a machine without a keyring must get ``VaultUnavailable``, not secrets kept in memory."""

    label = "in memory only (demo credentials, forgotten when Ledgerdesk quits; not the OS keyring)"

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("MemoryKeyring is only used when passed explicitly (the demo)")

    def __init__(self) -> None:
        super().__init__()
        self._entries: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def __str__(self) -> str:
        return "MemoryKeyring (demo)"

    def get_password(self, service: str, username: str) -> str | None:
        with self._lock:
            return self._entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        with self._lock:
            self._entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        with self._lock:
            if self._entries.pop((service, username), None) is None:
                raise keyring.errors.PasswordDeleteError("no such entry")

    def usernames(self, service: str) -> list[str]:
        with self._lock:
            return sorted(user for svc, user in self._entries if svc == service)


class Vault:
    """``set``/``get``/``delete`` one secret of a connection; ``delete_connection`` removes them all.
    Blocking (a keyring may talk D-Bus or prompt); the ``a``-prefixed twins run on a worker thread."""

    def __init__(self, backend: KeyringBackend | None = None, *, service: str = SERVICE):
        self._backend = backend
        self.service = service
        self._lock = threading.RLock()

    @property
    def in_memory(self) -> bool:
        return isinstance(self._backend, MemoryKeyring)

    def describe(self) -> str:
        """Where secrets go, in words for the user (settings, the demo window)."""
        if self.in_memory:
            return MemoryKeyring.label
        try:
            backend = self._keyring()
        except VaultUnavailable as error:
            return error.message
        return f"the system keyring ({getattr(type(backend), 'name', type(backend).__name__)})"

    def problem(self) -> str | None:
        """None when secrets can be stored, else the sentence that says why not."""
        try:
            with self._errors("be opened"):
                self._keyring().get_password(self.service, _INDEX)
        except VaultUnavailable as error:
            return error.message
        return None

    def _keyring(self) -> KeyringBackend:
        try:
            backend = self._backend or keyring.get_keyring()
        except Exception as error:  # a broken backend plugin may fail any way at start-up
            raise VaultUnavailable(f"{NO_KEYRING} ({type(error).__name__})") from None
        if isinstance(backend, fail.Keyring | null.Keyring) or (
                isinstance(backend, chainer.ChainerBackend) and not backend.backends):
            raise VaultUnavailable(NO_KEYRING)
        return backend

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except VaultUnavailable:
            raise
        except keyring.errors.NoKeyringError:
            raise VaultUnavailable(NO_KEYRING) from None
        except keyring.errors.KeyringLocked:
            raise VaultUnavailable("The system keyring is locked. Unlock it (your login keyring or password "
                                   "manager) and try again.") from None
        except (keyring.errors.KeyringError, OSError, RuntimeError, ValueError) as error:
            said = redact_text(str(error))[:200]
            raise VaultUnavailable(f"The system keyring could not {what} ({type(error).__name__}"
                                   f"{': ' + said if said else ''}).") from None

    # --- one secret --------------------------------------------------------------------------------
    def set(self, connection_id: str, name: str, value: str) -> None:
        key = _key(connection_id, name)
        register_secret(value)
        with self._lock, self._errors("save a secret"):
            backend = self._keyring()
            self._index_add(backend, connection_id, name)  # first: an entry the index misses would outlive sign-out
            old = _Head.read(backend.get_password(self.service, key))
            if utf16_size(value) <= MAX_ENTRY_BYTES and not value.startswith(_CHUNKED):
                backend.set_password(self.service, key, value)
                for slot in _SLOTS:
                    self._drop_chunks(backend, key, slot, 1)
                return
            slot = "b" if old is not None and old.slot == "a" else "a"
            chunks = split_utf16(value)
            for number, chunk in enumerate(chunks, 1):
                backend.set_password(self.service, f"{key}#{slot}{number}", chunk)
            backend.set_password(self.service, key, _Head(slot, len(chunks), _digest(value)).text())
            self._drop_chunks(backend, key, slot, len(chunks) + 1)
            self._drop_chunks(backend, key, "b" if slot == "a" else "a", 1)
            log.debug("saved %s of connection %s in %d pieces", name, connection_id, len(chunks))

    def get(self, connection_id: str, name: str) -> str | None:
        key = _key(connection_id, name)
        with self._lock, self._errors("read a secret"):
            backend = self._keyring()
            for _attempt in range(3):  # another process may switch slots between our reads
                raw = backend.get_password(self.service, key)
                head = _Head.read(raw)
                if head is None:
                    register_secret(raw)
                    return raw
                parts = [backend.get_password(self.service, f"{key}#{head.slot}{n}")
                         for n in range(1, head.count + 1)]
                if None not in parts:
                    value = "".join(p for p in parts if p is not None)
                    if _digest(value) == head.digest:
                        register_secret(value)
                        return value
        raise VaultUnavailable(f"The saved {name} of this connection is incomplete in the system keyring. "
                               "Sign in to it again.")

    def delete(self, connection_id: str, name: str) -> None:
        key = _key(connection_id, name)
        with self._lock, self._errors("remove a secret"):
            backend = self._keyring()
            for slot in _SLOTS:
                self._drop_chunks(backend, key, slot, 1)
            self._delete_entry(backend, key)
            self._index_remove(backend, connection_id, name)

    def names(self, connection_id: str) -> list[str]:
        with self._lock, self._errors("read a secret"):
            return self._index(self._keyring(), connection_id)

    def delete_connection(self, connection_id: str, also: Iterable[str] = ()) -> None:
        """Every secret the connection stored (its index, plus ``also`` in case the index was lost)."""
        with self._lock:
            for name in sorted({*self.names(connection_id), *also}):
                self.delete(connection_id, name)
            with self._errors("remove a secret"):
                self._delete_entry(self._keyring(), _key(connection_id, _INDEX))
        log.info("removed the secrets of connection %s", connection_id)

    # --- the same, off the event loop ---------------------------------------------------------------
    async def aset(self, connection_id: str, name: str, value: str) -> None:
        # A closure, not arguments: an executor may log a call with its arguments (qasync's does, at
        # DEBUG), and a function's repr shows none of the values it closes over.
        await asyncio.to_thread(lambda: self.set(connection_id, name, value))

    async def aget(self, connection_id: str, name: str) -> str | None:
        # Sealed on the way back too: qasync's executor logs each result at DEBUG.
        sealed = await asyncio.to_thread(lambda: _Sealed(self.get(connection_id, name)))
        return sealed.value

    async def adelete(self, connection_id: str, name: str) -> None:
        await asyncio.to_thread(self.delete, connection_id, name)

    async def adelete_connection(self, connection_id: str, also: Iterable[str] = ()) -> None:
        await asyncio.to_thread(self.delete_connection, connection_id, tuple(also))

    # --- housekeeping ---------------------------------------------------------------------------------
    def _drop_chunks(self, backend: KeyringBackend, key: str, slot: str, first: int) -> None:
        number = first
        while backend.get_password(self.service, f"{key}#{slot}{number}") is not None:
            self._delete_entry(backend, f"{key}#{slot}{number}")
            number += 1

    def _delete_entry(self, backend: KeyringBackend, key: str) -> None:
        with contextlib.suppress(keyring.errors.PasswordDeleteError):
            backend.delete_password(self.service, key)

    def _index(self, backend: KeyringBackend, connection_id: str) -> list[str]:
        raw = backend.get_password(self.service, _key(connection_id, _INDEX))
        try:
            names = json.loads(raw) if raw else []
        except ValueError:
            names = []
        return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []

    def _index_add(self, backend: KeyringBackend, connection_id: str, name: str) -> None:
        names = self._index(backend, connection_id)
        if name not in names:
            backend.set_password(self.service, _key(connection_id, _INDEX), json.dumps([*names, name]))

    def _index_remove(self, backend: KeyringBackend, connection_id: str, name: str) -> None:
        names = self._index(backend, connection_id)
        if name in names:
            names.remove(name)
            backend.set_password(self.service, _key(connection_id, _INDEX), json.dumps(names))


class _Sealed:
    __slots__ = ("value",)

    def __init__(self, value: str | None):
        self.value = value

    def __repr__(self) -> str:
        return "<sealed secret>"


def _key(connection_id: str, name: str) -> str:
    if not connection_id or "/" in connection_id or not name or "/" in name or "#" in name:
        raise ValueError(f"not a vault key: {connection_id!r}, {name!r}")
    return f"{connection_id}/{name}"
