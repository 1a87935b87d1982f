"""The shared HTTP layer: retries and backoff, the POST rule, the loopback rule, pacing (token bucket,
429 adaptation, X-RateLimit windows), safe parsing (Decimal JSON, defused XML, size cap, HTML pages),
timeouts and redaction. Pacing runs on a fake clock; the network cases on loopback starlette apps."""

from __future__ import annotations

import asyncio
import bisect
import heapq
import logging
from decimal import Decimal

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from providers import http as H
from providers.accbooks.gate import Plan, RateLimiter
from providers.base import BadResponse, ProviderError, RateLimited, Unavailable, UnknownOutcome
from providers.sandbox.server import SandboxStack, serve_in_thread

EPOCH = 1_790_000_000.0  # a wall-clock origin for the fake clock (a Tuesday in 2026)


def run(coro):
    return asyncio.run(coro)


class FakeClock:
    """Monotonic and wall time that only move when someone sleeps."""

    def __init__(self, start: float = 0.0):
        self.now = start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return EPOCH + self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


class VirtualClock(FakeClock):
    """For concurrent tasks: a sleeper wakes when every task is waiting and its time is the earliest."""

    def __init__(self, start: float = 0.0):
        super().__init__(start)
        self._waiters: list[tuple[float, int, asyncio.Future]] = []
        self._seq = 0

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        future = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._waiters, (self.now + max(0.0, seconds), self._seq, future))
        await future

    def run(self, coro):
        async def drive():
            main = asyncio.ensure_future(coro)
            while not main.done():
                for _ in range(50):  # let every runnable task run until it waits again
                    await asyncio.sleep(0)
                if self._waiters and not main.done():
                    when, _seq, future = heapq.heappop(self._waiters)
                    self.now = max(self.now, when)
                    future.set_result(None)
            return main.result()

        return asyncio.run(drive())


def session(handler, *, clock: FakeClock | None = None, limits: H.RateLimits | None = None,
            retry: H.RetryPolicy | None = None, base: str = "https://api.example.test/v1/", **kwargs) -> H.HttpSession:
    clock = clock or FakeClock()
    return H.HttpSession(base, service="Example", transport=httpx.MockTransport(handler), limits=limits,
                         retry=retry, clock=clock.monotonic, wall=clock.time, sleep=clock.sleep,
                         rand=lambda: 0.5, **kwargs)


def scripted(*answers: httpx.Response | Exception):
    """A handler that plays the answers in turn (the last one repeats) and counts the calls."""
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        answer = answers[min(len(calls), len(answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    handler.calls = calls
    return handler


# --- retries ------------------------------------------------------------------------------------------

def test_get_retries_5xx_with_full_jitter_then_succeeds():
    clock = FakeClock()
    handler = scripted(httpx.Response(503), httpx.Response(500), httpx.Response(200, json={"ok": True}))
    reply = run(session(handler, clock=clock).get("things"))
    assert reply.status == 200 and reply.json() == {"ok": True}
    assert len(handler.calls) == 3
    # rand() = 0.5 of ceilings 0.2 and 0.4: full jitter below a doubling ceiling
    assert clock.sleeps == [pytest.approx(0.1), pytest.approx(0.2)]


def test_backoff_ceiling_doubles_and_caps():
    policy = H.RetryPolicy(base=0.5, cap=4.0)
    assert [policy.backoff(n, lambda: 1.0) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert policy.backoff(3, lambda: 0.0) == 0.0


def test_retry_after_is_honoured_for_429_and_503():
    clock = FakeClock()
    handler = scripted(httpx.Response(429, headers={"Retry-After": "3"}),
                       httpx.Response(503, headers={"Retry-After": "7"}), httpx.Response(200, json=[]))
    s = session(handler, clock=clock)
    run(s.get("things"))
    assert len(handler.calls) == 3
    assert clock.now == pytest.approx(10.0)  # waited exactly what the service asked, nothing more
    assert s.stats.throttled == 1 and s.pacer.throttled == 1


def test_retry_after_as_http_date():
    headers = httpx.Headers({"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"})
    import email.utils
    when = email.utils.parsedate_to_datetime("Wed, 21 Oct 2026 07:28:00 GMT").timestamp()
    assert H.retry_after(headers, when - 12) == pytest.approx(12)
    assert H.retry_after(httpx.Headers({"Retry-After": "soon"})) is None


def test_a_429_blocks_every_request_of_the_pacer_until_retry_after():
    clock = VirtualClock()
    answers = iter([httpx.Response(429, headers={"Retry-After": "5"})])
    seen: list[float] = []

    def handler(request):
        seen.append(clock.now)
        return next(answers, httpx.Response(200, json={}))

    s = session(handler, clock=clock)

    async def several():
        await s.get("first")  # answered 429: everything after it waits
        await asyncio.gather(*(s.get(f"p{n}") for n in range(3)))

    clock.run(several())
    assert seen[0] == 0.0 and all(t >= 5.0 for t in seen[1:]) and len(seen) == 5


def test_final_429_is_rate_limited_with_retry_after():
    handler = scripted(httpx.Response(429, headers={"Retry-After": "2"}, json={"message": "slow down"}))
    s = session(handler, retry=H.RetryPolicy(attempts=3), error_message=lambda r: r.json().get("message"))
    with pytest.raises(RateLimited) as caught:
        run(s.get("things"))
    assert caught.value.retry_after == 2 and caught.value.message == "slow down"
    assert len(handler.calls) == 3


def test_retry_after_longer_than_max_wait_goes_to_the_caller_at_once():
    handler = scripted(httpx.Response(429, headers={"Retry-After": "3600"}))
    with pytest.raises(RateLimited) as caught:
        run(session(handler).get("things"))
    assert caught.value.retry_after == 3600 and len(handler.calls) == 1


def test_post_is_retried_on_refusals_but_not_on_500():
    handler = scripted(httpx.Response(429), httpx.Response(502), httpx.Response(503), httpx.Response(504),
                       httpx.Response(201, json={"id": "x"}))
    assert run(session(handler).post("things", json={"a": Decimal("1.10")})).status == 201
    assert len(handler.calls) == 5
    assert handler.calls[0].content == b'{"a":1.10}'  # Decimal written exactly

    handler = scripted(httpx.Response(500, json={"message": "boom"}))
    with pytest.raises(UnknownOutcome):
        run(session(handler).post("things", json={}))
    assert len(handler.calls) == 1


def test_a_float_in_a_body_is_refused_before_sending():
    handler = scripted(httpx.Response(201))
    with pytest.raises(TypeError):
        run(session(handler).post("things", json={"lines": [{"amount": 1.1}]}))
    assert handler.calls == []


def test_post_dropped_after_send_is_unknown_outcome_and_not_retried():
    request_error = httpx.RemoteProtocolError("Server disconnected without sending a response.")
    handler = scripted(request_error, httpx.Response(201))
    with pytest.raises(UnknownOutcome) as caught:
        run(session(handler).post("things", json={}))
    assert len(handler.calls) == 1
    assert isinstance(caught.value, Unavailable)  # callers that only know Unavailable still stop

    handler = scripted(httpx.ReadTimeout("slow"), httpx.Response(201))
    with pytest.raises(UnknownOutcome):
        run(session(handler).post("things", json={}))
    assert len(handler.calls) == 1


def test_post_that_never_connected_is_retried():
    handler = scripted(httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), httpx.Response(201))
    assert run(session(handler).post("things", json={})).status == 201
    assert len(handler.calls) == 3


def test_idempotent_requests_retry_dropped_connections_then_give_up():
    handler = scripted(httpx.ReadError("reset"), httpx.RemoteProtocolError("closed"), httpx.Response(200))
    assert run(session(handler).put("things/1", json={})).status == 200
    handler = scripted(httpx.ReadTimeout("slow"))
    with pytest.raises(Unavailable) as caught:
        run(session(handler, retry=H.RetryPolicy(attempts=4)).get("things"))
    assert not isinstance(caught.value, UnknownOutcome)
    assert "did not answer in time" in caught.value.message and len(handler.calls) == 4


def test_post_explicitly_idempotent_is_retried():
    handler = scripted(httpx.ReadError("reset"), httpx.Response(200))
    assert run(session(handler).post("search", json={}, idempotent=True)).status == 200


def test_deadline_stops_retrying():
    handler = scripted(httpx.Response(503, headers={"Retry-After": "50"}))
    with pytest.raises(Unavailable):
        run(session(handler, retry=H.RetryPolicy(attempts=100, deadline=120)).get("x"))
    assert len(handler.calls) == 3  # 0, 50, 100: a fourth would pass the deadline


def test_4xx_is_handed_back_untouched():
    handler = scripted(httpx.Response(422, json={"message": "bad"}))
    reply = run(session(handler).post("things", json={}))
    assert reply.status == 422 and reply.json() == {"message": "bad"} and len(handler.calls) == 1


def test_pass_statuses_hands_back_a_soap_fault_but_not_a_proxy_page():
    fault = b"<soap:Envelope xmlns:soap='http://schemas.xmlsoap.org/soap/envelope/'><soap:Body><soap:Fault/>" \
            b"</soap:Body></soap:Envelope>"
    handler = scripted(httpx.Response(500, content=fault, headers={"content-type": "text/xml"}))
    reply = run(session(handler).post("soap", content=fault, pass_statuses={500}))
    assert reply.status == 500 and reply.xml().tag.endswith("Envelope")
    page = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    handler = scripted(httpx.Response(502, content=page, headers={"content-type": "text/html"}))
    with pytest.raises(Unavailable) as caught:
        run(session(handler, retry=H.RetryPolicy(attempts=2)).get("soap", pass_statuses={502}))
    assert "502 Bad Gateway" in caught.value.message and "<" not in caught.value.message


# --- errors read from the answer ---------------------------------------------------------------------

def test_html_proxy_page_becomes_a_readable_unavailable():
    page = (b"<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 "
            b"Service Temporarily Unavailable</h1></center><hr><center>nginx</center></body></html>")
    handler = scripted(httpx.Response(503, content=page, headers={"content-type": "text/html"}))
    with pytest.raises(Unavailable) as caught:
        run(session(handler, retry=H.RetryPolicy(attempts=2)).get("x"))
    message = caught.value.message
    assert message.startswith("Example is unavailable") and "503 Service Temporarily Unavailable" in message
    assert "<" not in message and caught.value.status == 503


def test_json_5xx_uses_the_service_message():
    handler = scripted(httpx.Response(500, json={"error": "internal_error", "message": "Try later"}))
    with pytest.raises(Unavailable) as caught:
        run(session(handler, retry=H.RetryPolicy(attempts=1),
                    error_message=lambda r: r.json()["message"]).get("x"))
    assert caught.value.message.startswith("Try later")


def test_decimal_json_and_unreadable_answers():
    reply = run(session(scripted(httpx.Response(200, content=b'{"amount": 2500.10, "n": 3}'))).get("x"))
    data = reply.json()
    assert data["amount"] == Decimal("2500.10") and isinstance(data["amount"], Decimal)
    for body in (b"", b"   ", b'{"amount": 1.', b"[1, 2", b"NaN", b'{"a": Infinity}', b"\xff\xfe\x00",
                 b"<html><title>Login</title></html>", b"[" * 100_000):
        with pytest.raises(BadResponse):
            H.parse_json(body, service="Example")
    with pytest.raises(BadResponse) as caught:
        H.parse_json(b"<!DOCTYPE html><html><head><title>Sign in</title></head></html>", service="Example")
    assert "Sign in" in caught.value.message


XML_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<lolz>&lol3;</lolz>"""
EXTERNAL = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>"""


def test_xml_is_parsed_safely():
    assert H.parse_xml(b"<a><b>1.10</b></a>").find("b").text == "1.10"
    for body in (XML_BOMB, EXTERNAL, b"<a><b></a>", b"", b"<a>" * 10 + b"truncated"):
        with pytest.raises(BadResponse):
            H.parse_xml(body)
    reply = run(session(scripted(httpx.Response(200, content=XML_BOMB))).get("x"))
    with pytest.raises(BadResponse) as caught:
        reply.xml()
    assert "refused" in caught.value.message


def test_answer_larger_than_the_cap_is_bad_response():
    big = b"[" + b"1," * 600_000 + b"1]"
    handler = scripted(httpx.Response(200, content=big))
    with pytest.raises(BadResponse):
        run(session(handler, max_body=1_000_000).get("x"))

    async def chunks():
        for _ in range(40):
            yield b"x" * 65_536

    handler = scripted(httpx.Response(200, content=chunks()))  # no length header: counted as it streams
    with pytest.raises(BadResponse):
        run(session(handler, max_body=1_000_000).get("x"))


def test_bad_gzip_is_bad_response():
    async def body():
        yield b"not gzip"

    handler = scripted(httpx.Response(200, content=body(), headers={"content-encoding": "gzip"}))
    with pytest.raises(BadResponse):
        run(session(handler).get("x"))


# --- the URL rule ------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/v1/", "http://127.9.8.7/", "http://localhost:1/",
                                 "http://[::1]:8000/", "https://api.accbooks.co.uk/v1/", "https://10.0.0.1/"])
def test_allowed_urls(url):
    H.check_url(url)


@pytest.mark.parametrize("url", ["http://api.accbooks.co.uk/v1/", "http://10.0.0.1/", "http://128.0.0.1/",
                                 "http://localhost.example.com/", "http://[::2]/", "ftp://127.0.0.1/",
                                 "http://0.0.0.0/"])
def test_refused_urls(url):
    with pytest.raises(H.InsecureURL) as caught:
        H.HttpSession(url)
    assert isinstance(caught.value, ProviderError) and "https" in caught.value.message


def test_redirect_to_plain_http_is_refused():
    handler = scripted(httpx.Response(302, headers={"Location": "http://evil.example.test/steal"}))
    s = session(handler, follow_redirects=True)
    with pytest.raises(H.InsecureURL):
        run(s.get("x"))
    assert len(handler.calls) == 1
    with pytest.raises(H.InsecureURL):
        run(s.get("http://api.example.test/v1/x"))


def test_tls_verification_and_http2_are_on():
    s = H.HttpSession("https://api.example.test/")
    pool = s.client._transport._pool
    assert pool._http2 is True and pool._ssl_context.verify_mode.name == "CERT_REQUIRED"
    run(s.aclose())


# --- pacing ------------------------------------------------------------------------------------------

def test_token_bucket_paces_to_the_rate_after_the_burst():
    clock = FakeClock()
    pacer = H.Pacer(H.RateLimits(rate=5.0, burst=5), clock=clock.monotonic, wall=clock.time)
    delays = [pacer.reserve() for _ in range(10)]
    assert delays[:5] == [0.0] * 5
    assert delays[5:] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])


@pytest.mark.parametrize("provider, per_second", [("accountsiq", 100), ("clearbooks", 10)])
def test_no_one_second_window_holds_more_than_the_documented_limit(provider, per_second):
    """Reservations as sent times: rate plus burst together must not exceed the limit in any window."""
    clock = FakeClock()
    pacer = H.Pacer(H.LIMITS[provider], clock=clock.monotonic, wall=clock.time)
    sent = sorted(pacer.reserve() for _ in range(1000))
    busiest = max(bisect.bisect_left(sent, start + 1.0) - i for i, start in enumerate(sent))
    assert busiest <= per_second


def test_no_documented_limit_means_no_waiting():
    pacer = H.Pacer(H.LIMITS["accountingsuite"])
    assert all(pacer.reserve() == 0.0 for _ in range(1000))


def test_a_429_halves_the_pace_and_it_recovers():
    clock = FakeClock()
    pacer = H.Pacer(H.RateLimits(rate=4.0, burst=1, recovery=0.25), clock=clock.monotonic, wall=clock.time)
    pacer.reserve()
    pacer.observe(429, {})
    assert pacer.rate == 2.0
    for _ in range(2):
        pacer.reserve()
        pacer.observe(200, {})
    assert pacer.rate == 4.0  # back at the ceiling, never above it
    pacer.reserve()
    pacer.observe(200, {})
    assert pacer.rate == 4.0


def test_header_limit_sets_the_ceiling():
    pacer = H.Pacer(H.LIMITS["accbooks"])
    pacer.reserve()
    pacer.observe(200, {"x-ratelimit-limit": "300", "x-ratelimit-remaining": "299",
                        "x-ratelimit-reset": str(int(pacer._wall()) + 30)})
    assert pacer.ceiling == 5.0 and pacer.rate == 5.0


class WindowServer:
    """AccBooks' own fixed-window limiter (the sandbox's gate) on the fake clock: 429 past the window."""

    def __init__(self, clock: FakeClock, per_minute: int, per_day: int = 10_000):
        self.clock = clock
        self.limiter = RateLimiter(clock.time)
        self.plan = Plan("Starter", per_minute, per_day)
        self.statuses: list[int] = []
        self.times: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        allowed, headers = self.limiter.take("key", self.plan, True)
        self.statuses.append(200 if allowed else 429)
        self.times.append(self.clock.now)
        return httpx.Response(200 if allowed else 429, json={"data": []},
                              headers=[(k.decode(), v.decode()) for k, v in headers])


def test_pacing_from_x_ratelimit_headers_never_meets_a_429():
    clock = FakeClock(start=17.0)  # mid-minute: the first window is part-spent in time
    server = WindowServer(clock, per_minute=10)
    # a pace far above the window's (as if another app had used the key): only the headers keep it in
    limits = H.limits_for("accbooks", rate=50.0, burst=50, header_period=None)
    s = session(server, clock=clock, limits=limits)

    async def many():
        for _ in range(45):
            await s.get("invoices")

    run(many())
    assert server.statuses.count(429) == 0 and len(server.statuses) == 45
    per_window: dict[int, int] = {}
    for t in server.times:
        per_window[int((EPOCH + t) // 60)] = per_window.get(int((EPOCH + t) // 60), 0) + 1
    assert max(per_window.values()) <= 10
    assert clock.now < 17 + 5 * 60  # five windows at most for 45 requests of 10 a window


def test_pacing_spreads_the_last_requests_of_a_window_until_its_reset():
    clock = FakeClock()
    pacer = H.Pacer(H.RateLimits(rate=100.0, burst=100, headers=True), clock=clock.monotonic, wall=clock.time)
    pacer.reserve()
    pacer.observe(200, {"x-ratelimit-limit": "6000", "x-ratelimit-remaining": "4",
                        "x-ratelimit-reset": str(int(clock.time()) + 20)})
    slots = [pacer.reserve() for _ in range(5)]
    # four left for twenty seconds: one every five (each gap is what is left over what remains)
    assert slots[:4] == pytest.approx([5.0, 10.0, 15.0, 20.0], abs=0.01)
    assert slots[4] == pytest.approx(20.5)  # the window is spent: the next goes after the reset


def test_concurrent_requests_share_the_window():
    clock = VirtualClock(start=40.0)
    server = WindowServer(clock, per_minute=8)
    s = session(server, clock=clock, limits=H.limits_for("accbooks", rate=None))

    async def burst():
        await s.get("first")  # learn the window
        await asyncio.gather(*(s.get(f"p{n}") for n in range(30)))

    clock.run(burst())
    assert server.statuses.count(429) == 0 and len(server.statuses) == 31


def test_a_spent_daily_quota_is_rate_limited_not_a_hang():
    clock = FakeClock()
    server = WindowServer(clock, per_minute=60, per_day=3)
    s = session(server, clock=clock, limits=H.LIMITS["accbooks"])

    async def go():
        for _ in range(5):
            await s.get("x")

    with pytest.raises(RateLimited) as caught:
        run(go())
    assert caught.value.retry_after > 3600 and server.statuses.count(429) == 0


def test_max_in_flight():
    active = {"now": 0, "most": 0}

    async def app(scope, receive, send):
        active["now"] += 1
        active["most"] = max(active["most"], active["now"])
        await asyncio.sleep(0.01)
        active["now"] -= 1
        await Response(b"{}", media_type="application/json")(scope, receive, send)

    s = H.HttpSession("http://127.0.0.1/", transport=httpx.ASGITransport(app=app),
                      limits=H.RateLimits(max_in_flight=3))

    async def go():
        await asyncio.gather(*(s.get(f"/{n}") for n in range(12)))

    run(go())
    assert active["most"] == 3


# --- over loopback: real sockets, real drops and timeouts ------------------------------------------------

@pytest.fixture(scope="module")
def live():
    state = {"posts": 0, "gets": 0}

    async def create(request: Request) -> Response:
        state["posts"] += 1
        return JSONResponse({"id": state["posts"]}, status_code=201)

    async def read(request: Request) -> Response:
        state["gets"] += 1
        return Response(b'{"total": 12.50}', media_type="application/json")

    async def slow(request: Request) -> Response:
        await asyncio.sleep(1.0)
        return JSONResponse({})

    async def echo(request: Request) -> Response:
        return JSONResponse({"seen": dict(request.headers)})

    app = Starlette(routes=[Route("/things", create, methods=["POST"]), Route("/things", read, methods=["GET"]),
                            Route("/slow", slow, methods=["GET", "POST"]), Route("/echo", echo)])
    stack = SandboxStack(app)
    server = serve_in_thread(stack.asgi)
    yield server, stack, state
    server.stop()


@pytest.fixture
def faults(live):
    _server, stack, state = live
    state.update(posts=0, gets=0)
    yield stack.faults
    stack.faults.settings.update(drop_before_rate=0.0, drop_after_rate=0.0, error_rate=0.0, throttle_rate=0.0)


def test_loopback_post_dropped_after_commit_is_not_sent_twice(live, faults):
    server, _stack, state = live
    faults.settings.update(drop_after_rate=1.0)

    async def go():
        async with H.HttpSession(server.url, retry=H.RetryPolicy(base=0.01)) as s:
            await s.post("/things", json={"n": 1})

    with pytest.raises(UnknownOutcome):
        run(go())
    assert state["posts"] == 1


def test_loopback_get_survives_drops_and_proxy_errors(live, faults):
    server, _stack, state = live
    faults.reseed(5)
    faults.settings.update(drop_after_rate=0.25, drop_before_rate=0.1, error_rate=0.2)

    async def go():
        async with H.HttpSession(server.url, retry=H.RetryPolicy(base=0.001, attempts=20)) as s:
            return [(await s.get("/things")).json()["total"] for _ in range(30)]

    assert run(go()) == [Decimal("12.50")] * 30
    assert state["gets"] > 30  # some answers were lost after the work and fetched again


def test_loopback_timeouts_are_unavailable(live):
    server, _stack, _state = live

    async def go(method):
        async with H.HttpSession(server.url, timeout=httpx.Timeout(0.2, connect=1.0),
                                 retry=H.RetryPolicy(attempts=2, base=0.01)) as s:
            await s.request(method, "/slow")

    with pytest.raises(Unavailable) as caught:
        run(go("GET"))
    assert "did not answer in time" in caught.value.message
    with pytest.raises(UnknownOutcome):
        run(go("POST"))


def test_nothing_listening_is_unavailable_even_for_post():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def go():
        async with H.HttpSession(f"http://127.0.0.1:{port}", retry=H.RetryPolicy(attempts=3, base=0.001)) as s:
            await s.post("/things", json={})

    with pytest.raises(Unavailable) as caught:
        run(go())
    assert not isinstance(caught.value, UnknownOutcome) and "could not be reached" in caught.value.message


def test_nothing_listening_gives_up_after_a_few_tries_so_offline_shows_soon():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def go():
        async with H.HttpSession(f"http://127.0.0.1:{port}", retry=H.RetryPolicy(base=0.001)) as s:
            await s.get("/things")

    with pytest.raises(Unavailable) as caught:
        run(go())
    assert caught.value.message.endswith(f"({H.RetryPolicy().unreachable_attempts} tries)")


# --- redaction -------------------------------------------------------------------------------------------

SECRETS = ("acb_5f1e0c9d2b7a4e6f8c3d1b0a9e8f7d6c5b4a3e2f", "aiq-access-7Hq2Lx9Pz", "rt_0b5d7a9c1e3f",
           "cs-very-secret-1234", "apisecret-ZZ99-key", "code-verif-abcdefgh")


def test_no_secret_reaches_any_log_line(live, caplog):
    server, _stack, _state = live
    key, access, refresh, client_secret, apisecret, verifier = SECRETS
    caplog.set_level(logging.DEBUG)

    async def go():
        async with H.HttpSession(server.url, headers={"Authorization": f"Bearer {key}"}) as s:
            await s.get("/echo", params={"access_token": access})
            await s.post("/echo", data={"grant_type": "refresh_token", "refresh_token": refresh,
                                        "client_secret": client_secret, "code_verifier": verifier})
            s.set_header("apisecretkey", apisecret)
            await s.get("/echo")
            reply = await s.get("/echo", headers={"Authorization": f"Bearer {access}"})
            logging.getLogger("providers.http").debug("answer was %s", reply.text)
            H.get_logger("providers.someclient").info("token response: %s",
                                                      {"access_token": access, "refresh_token": refresh})
            H.get_logger("providers.someclient").info("<AccessToken>%s</AccessToken>", access)
            try:
                raise RuntimeError(f"failed with key {key}")
            except RuntimeError:
                H.get_logger("providers.someclient").exception("boom")

    run(go())
    text = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert any("GET" in r.getMessage() and "/echo" in r.getMessage() for r in caplog.records)
    assert any(r.name.startswith("httpcore") for r in caplog.records)  # third-party DEBUG lines were there too
    for secret in SECRETS:
        assert secret not in text, secret


def test_redact_text_patterns():
    line = ('Authorization: Bearer zzzzzzzzzzzzzzzz ?access_token=aaaa1111&page=2 {"client_secret": "cccc2222"} '
            "<ns:RefreshToken>rrrr3333</ns:RefreshToken> (b'apisecretkey', b'kkkk4444') nominal_code=4000")
    clean = H.redact_text(line)
    for secret in ("zzzzzzzzzzzzzzzz", "aaaa1111", "cccc2222", "rrrr3333", "kkkk4444"):
        assert secret not in clean
    assert "page=2" in clean and "nominal_code=4000" in clean
    assert H.redact_url("https://user:pw@h.test/x?token=abcdef&q=1") == "https://***@h.test/x?token=***&q=1"


def test_handler_filter_covers_any_logger(caplog):
    H.register_secret("handler-secret-42")
    handler = logging.StreamHandler()
    handler.addFilter(H.redaction_filter())
    record = logging.LogRecord("anything", logging.INFO, __file__, 1, "value %s", ("handler-secret-42",), None)
    handler.filter(record)
    assert record.getMessage() == "value ***"
