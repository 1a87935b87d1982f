"""The RFC 8252 loopback listener on its own: where it listens, what it accepts, how each ending looks,
and that it always ends (answer, wrong state, decline, timeout, cancel) and closes."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket

import httpx
import pytest

from app.auth import loopback, pages
from app.auth.errors import (
    SignInCancelled,
    SignInDeclined,
    SignInError,
    SignInRefused,
    SignInTimedOut,
    StateMismatch,
)
from app.auth.loopback import LoopbackListener
from app.auth.pkce import new_state
from tests.auth.helpers import run


async def _get(url: str, **params) -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
        return await http.get(url, params=params)


def _refused(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return False
    except OSError:
        return True


def _non_loopback_address() -> str | None:
    """This machine's address on its other interfaces (no packet is sent: UDP connect only routes)."""
    candidates = []
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed anywhere real
        candidates.append(probe.getsockname()[0])
    with contextlib.suppress(OSError):
        candidates += [info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)]
    return next((a for a in candidates if not a.startswith("127.") and a != "0.0.0.0"), None)


def test_listens_on_ipv4_loopback_with_a_free_port_and_a_256_bit_state():
    async def scenario():
        state = new_state()
        async with LoopbackListener(state) as listener:
            assert listener.host == "127.0.0.1" and listener.port > 0
            assert listener.redirect_uri == f"http://127.0.0.1:{listener.port}/callback"
            return state, listener.port

    state, port = run(scenario())
    assert len(state) == 43  # 32 bytes, URL-safe base64 without padding
    assert _refused("127.0.0.1", port)


def test_the_code_arrives_other_paths_get_404_and_the_listener_keeps_waiting():
    async def scenario():
        state = new_state()
        async with LoopbackListener(state, service="Clear Books") as listener:
            waiting = asyncio.ensure_future(listener.wait())
            favicon = await _get(f"http://127.0.0.1:{listener.port}/favicon.ico")
            elsewhere = await _get(f"http://127.0.0.1:{listener.port}/callback/../other", code="x", state=state)
            assert not waiting.done()
            answered = asyncio.ensure_future(_get(listener.redirect_uri, code="the-code", state=state))
            code = await waiting
            listener.finish(pages.signed_in("Clear Books"))
            page = await answered
        return favicon, elsewhere, code, page, listener

    favicon, elsewhere, code, page, listener = run(scenario())
    assert favicon.status_code == 404 and "Nothing here" in favicon.text
    assert elsewhere.status_code == 404
    assert code == "the-code"
    assert page.status_code == 200 and "Signed in to Clear Books" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert listener.closed and _refused("127.0.0.1", listener.port)


def test_a_wrong_state_ends_the_sign_in_with_a_clear_message():
    async def scenario():
        async with LoopbackListener(new_state(), service="Clear Books") as listener:
            waiting = asyncio.ensure_future(listener.wait())
            page = await _get(listener.redirect_uri, code="stolen", state=new_state())
            with pytest.raises(StateMismatch) as raised:
                await waiting
            missing = await _get(listener.redirect_uri, code="stolen")
        return page, raised.value, missing

    page, error, missing = run(scenario())
    assert page.status_code == 400 and "not expected" in page.text
    assert "does not belong to the Clear Books sign-in" in error.message
    assert missing.status_code == 409  # the one answer was that forged one; no other is taken


def test_a_state_with_non_ascii_characters_is_refused_not_a_crash():
    async def scenario():
        async with LoopbackListener(new_state()) as listener:
            waiting = asyncio.ensure_future(listener.wait())
            page = await _get(listener.redirect_uri, code="c", state="été")
            with pytest.raises(StateMismatch):
                await waiting
        return page

    assert run(scenario()).status_code == 400


def test_a_second_callback_is_refused_while_the_first_is_being_answered():
    async def scenario():
        state = new_state()
        async with LoopbackListener(state, service="AccountingSuite") as listener:
            waiting = asyncio.ensure_future(listener.wait())
            first = asyncio.ensure_future(_get(listener.redirect_uri, code="one", state=state))
            code = await waiting
            second = await _get(listener.redirect_uri, code="two", state=state)
        return code, await first, second

    code, first, second = run(scenario())
    assert code == "one"
    assert first.status_code == 200  # closed without a verdict: "return to Ledgerdesk"
    assert "Finishing the AccountingSuite sign-in" in first.text
    assert second.status_code == 409 and "already complete" in second.text


def test_declined_consent_is_you_declined_access():
    async def scenario():
        state = new_state()
        async with LoopbackListener(state, service="Clear Books") as listener:
            waiting = asyncio.ensure_future(listener.wait())
            page = await _get(listener.redirect_uri, error="access_denied", error_description="The user denied",
                              state=state)
            with pytest.raises(SignInDeclined) as raised:
                await waiting
        return page, raised.value

    page, error = run(scenario())
    assert error.message == "You declined access to Clear Books, so nothing was connected."
    assert page.status_code == 200 and "You declined access" in page.text


def test_other_errors_are_shown_html_escaped():
    async def scenario():
        state = new_state()
        async with LoopbackListener(state, service="Clear Books") as listener:
            waiting = asyncio.ensure_future(listener.wait())
            page = await _get(listener.redirect_uri, error="invalid_scope",
                              error_description="<script>alert(1)</script>", state=state)
            with pytest.raises(SignInRefused) as raised:
                await waiting
        return page, raised.value

    page, error = run(scenario())
    assert "<script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "invalid_scope" in error.message


def test_an_answer_without_a_code_or_with_a_repeated_parameter_is_refused():
    async def scenario(query: str):
        state = new_state()
        async with LoopbackListener(state) as listener:
            waiting = asyncio.ensure_future(listener.wait())
            async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
                page = await http.get(f"{listener.redirect_uri}?state={state}&{query}")
            with pytest.raises(SignInRefused) as raised:
                await waiting
        return page, raised.value

    page, error = run(scenario("nothing=1"))
    assert page.status_code == 400 and "no authorisation code" in error.message
    page, error = run(scenario("code=a&code=b"))
    assert page.status_code == 400 and "malformed" in error.message


def test_timeout_ends_the_wait_and_says_so():
    async def scenario():
        async with LoopbackListener(new_state(), service="Clear Books", timeout=0.3) as listener:
            with pytest.raises(SignInTimedOut) as raised:
                await listener.wait()
        return raised.value, listener

    error, listener = run(scenario(), timeout=10)
    assert error.message.startswith("No answer came from Clear Books within 0.3 seconds")
    assert "nothing was connected" in error.message
    assert listener.closed


def test_cancel_ends_the_wait_at_once():
    async def scenario():
        async with LoopbackListener(new_state(), service="Clear Books") as listener:
            asyncio.get_running_loop().call_later(0.1, listener.cancel)
            with pytest.raises(SignInCancelled) as raised:
                await listener.wait()
        return raised.value

    assert "cancelled" in run(scenario(), timeout=10).message


def test_not_reachable_on_the_machines_other_addresses():
    address = _non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to try the listener from")

    async def scenario():
        async with LoopbackListener(new_state()) as listener:
            loop = asyncio.get_running_loop()
            return listener.port, await loop.run_in_executor(None, _refused, address, listener.port), \
                await loop.run_in_executor(None, _refused, "127.0.0.1", listener.port)

    port, refused_outside, refused_inside = run(scenario())
    assert refused_outside, f"the listener answered on {address}:{port}"
    assert not refused_inside


def test_a_request_for_another_host_is_refused_and_not_counted():
    """DNS rebinding: a page on another name that resolves to 127.0.0.1."""
    async def scenario():
        state = new_state()
        async with LoopbackListener(state) as listener:
            waiting = asyncio.ensure_future(listener.wait())
            async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
                rebound = await http.get(listener.redirect_uri, params={"code": "c", "state": state},
                                         headers={"Host": f"evil.example:{listener.port}"})
            assert not waiting.done()
            listener.cancel()
            with pytest.raises(SignInCancelled):
                await waiting
        return rebound

    assert run(scenario()).status_code == 400


def test_slow_and_oversized_requests_do_not_hold_the_listener():
    async def scenario():
        state = new_state()
        async with LoopbackListener(state) as listener:
            listener.read_timeout = 0.3
            idle_reader, idle_writer = await asyncio.open_connection("127.0.0.1", listener.port)
            big = await _get(listener.redirect_uri, code="c" * 20_000, state=state)
            await asyncio.sleep(0.5)
            dropped = await idle_reader.read()  # the idle connection was closed, unanswered
            idle_writer.close()
            waiting = asyncio.ensure_future(listener.wait())
            answer = asyncio.ensure_future(_get(listener.redirect_uri, code="fine", state=state))
            code = await waiting
        await answer
        return big, dropped, code

    big, dropped, code = run(scenario())
    assert big.status_code == 431
    assert dropped == b""
    assert code == "fine"


def test_falls_back_to_ipv6_loopback_only_when_ipv4_loopback_is_unavailable(monkeypatch):
    try:
        socket.socket(socket.AF_INET6, socket.SOCK_STREAM).close()
        probe = loopback._bind(socket.AF_INET6, "::1")
        probe.close()
    except OSError:
        pytest.skip("this machine cannot listen on [::1] either")
    real_bind = loopback._bind

    def no_ipv4(family, host):
        if family == socket.AF_INET:
            raise OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address")
        return real_bind(family, host)

    monkeypatch.setattr(loopback, "_bind", no_ipv4)

    async def scenario():
        state = new_state()
        async with LoopbackListener(state) as listener:
            waiting = asyncio.ensure_future(listener.wait())
            answer = asyncio.ensure_future(_get(listener.redirect_uri, code="v6", state=state))
            code = await waiting
            uri = listener.redirect_uri
        await answer
        return uri, code

    uri, code = run(scenario())
    assert uri.startswith("http://[::1]:") and code == "v6"


def test_no_loopback_at_all_is_a_clear_message(monkeypatch):
    def nothing(family, host):
        raise OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address")

    monkeypatch.setattr(loopback, "_bind", nothing)

    async def scenario():
        async with LoopbackListener(new_state()):
            pass

    with pytest.raises(SignInError, match="could not listen on this computer's loopback address"):
        run(scenario())
