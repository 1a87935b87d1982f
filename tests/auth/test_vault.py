"""The vault over a keyring that really stores and refuses what Windows would: long secrets split and
joined, nothing left behind, and a clear message where the OS has no keyring."""

from __future__ import annotations

import secrets

import keyring
import keyring.backend
import keyring.backends.fail
import keyring.backends.null
import pytest

from app.auth.errors import VaultUnavailable
from app.auth.vault import MAX_ENTRY_BYTES, MemoryKeyring, Vault, split_utf16, utf16_size
from tests.auth.helpers import WINDOWS_LIMIT, run


def test_a_4_kb_token_round_trips_in_pieces_windows_would_accept(vault, backend):
    token = secrets.token_urlsafe(3072)  # 4,096 characters
    assert len(token) == 4096
    vault.set("c1", "tokens", token)
    assert vault.get("c1", "tokens") == token
    pieces = [user for user in backend.usernames() if user.startswith("c1/tokens#")]
    assert len(pieces) == 4  # 8,192 bytes of UTF-16 in pieces of at most 2,400
    assert all(utf16_size(value) < WINDOWS_LIMIT for value in backend.entries.values())
    assert not backend.entries[("ledgerdesk", "c1/tokens")].startswith(token[:20])  # the head, not the token


def test_characters_outside_the_bmp_are_never_split():
    text = "🔑" * 700 + "é" * 700  # surrogate pairs (4 bytes each) and 2-byte characters
    pieces = split_utf16(text)
    assert "".join(pieces) == text
    assert all(utf16_size(piece) <= MAX_ENTRY_BYTES for piece in pieces)
    assert all(not ("\ud800" <= piece[-1] <= "\udbff") for piece in pieces)


def test_long_short_long_overwrites_leave_no_stale_pieces(vault, backend):
    long_one, long_two = "a" * 5000, "b" * 3000
    vault.set("c1", "tokens", long_one)
    vault.set("c1", "tokens", "short")
    assert vault.get("c1", "tokens") == "short"
    assert [u for u in backend.usernames() if "#" in u] == []
    vault.set("c1", "tokens", long_one)
    vault.set("c1", "tokens", long_two)  # into the other slot, then the old slot is cleared
    assert vault.get("c1", "tokens") == long_two
    assert [u for u in backend.usernames() if "#" in u] == [f"c1/tokens#b{n}" for n in (1, 2, 3)]


def test_a_write_that_dies_half_way_leaves_the_old_value_readable(vault, backend):
    vault.set("c1", "tokens", "x" * 6000)
    backend.fail_on = lambda user: user == "c1/tokens#b2"  # the new value's second piece
    with pytest.raises(VaultUnavailable, match="could not save a secret"):
        vault.set("c1", "tokens", "y" * 6000)
    backend.fail_on = None
    assert vault.get("c1", "tokens") == "x" * 6000
    vault.set("c1", "tokens", "z" * 6000)
    assert vault.get("c1", "tokens") == "z" * 6000


def test_deleting_a_connection_removes_every_entry_of_it_and_nothing_else(vault, backend):
    vault.set("c1", "client_secret", "s3cr3t-value")
    vault.set("c1", "tokens", "t" * 9000)
    vault.set("c2", "api_key", "acb_other")
    vault.delete_connection("c1")
    assert [u for u in backend.usernames() if u.startswith("c1/")] == []
    assert vault.get("c1", "tokens") is None
    assert vault.get("c2", "api_key") == "acb_other"


def test_async_twins_work_off_the_loop(vault):
    async def scenario():
        await vault.aset("c1", "api_key", "k" * 3000)
        value = await vault.aget("c1", "api_key")
        await vault.adelete_connection("c1")
        return value, await vault.aget("c1", "api_key")

    assert run(scenario()) == ("k" * 3000, None)


def test_no_keyring_is_a_clear_message_and_nothing_is_stored():
    vault = Vault(keyring.backends.fail.Keyring())
    assert "none available" in vault.problem()
    with pytest.raises(VaultUnavailable) as raised:
        vault.set("c1", "api_key", "acb_123456")
    assert "Secret Service" in raised.value.message and "Nothing was saved" in raised.value.message
    with pytest.raises(VaultUnavailable):
        vault.get("c1", "api_key")


def test_the_null_keyring_is_refused_rather_than_silently_losing_secrets():
    with pytest.raises(VaultUnavailable, match="none available"):
        Vault(keyring.backends.null.Keyring()).set("c1", "api_key", "acb_123456")


def test_a_locked_keyring_says_so(backend):
    class Locked(type(backend)):
        def get_password(self, service, username):
            raise keyring.errors.KeyringLocked("locked")

    with pytest.raises(VaultUnavailable, match="locked"):
        Vault(Locked()).get("c1", "api_key")


def test_the_demo_keyring_says_where_it_keeps_things_and_is_never_picked_by_keyring_itself():
    vault = Vault(MemoryKeyring())
    vault.set("c1", "api_key", "acb_" + "1" * 40)
    assert vault.get("c1", "api_key") == "acb_" + "1" * 40
    assert vault.in_memory and "in memory only" in vault.describe() and "not the OS keyring" in vault.describe()
    viable = list(keyring.backend.KeyringBackend.get_viable_backends())
    assert MemoryKeyring not in viable


def test_describe_names_the_system_keyring(vault):
    assert vault.describe().startswith("the system keyring")
    assert vault.problem() is None
