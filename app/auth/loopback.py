"""The RFC 8252 loopback listener: where the browser brings the authorisation answer back.

Built on asyncio streams rather than a starlette app under uvicorn, because what it must do is narrow
and uvicorn's defaults work against it: it serves ONE answer and then closes, in milliseconds, on the
app's own loop (qasync) with no server thread or lifespan; uvicorn's access log would write the callback
URL, authorisation code included, to the log; and every limit that matters here (request size, how long
an idle or slow connection may hold the listener, what happens to a second callback) is a few lines of
code instead of server configuration.

Rules it keeps:
- Bound to 127.0.0.1 on a port the OS picks; [::1] only when IPv4 loopback is unavailable. Never the
  wildcard address, so the machine's other interfaces cannot reach it.
- The first GET of the callback path is THE answer, whatever it says: its ``state`` is compared in
  constant time, then ``error`` (``access_denied`` is "you declined access") or ``code`` decides. Any
  later callback is refused (409); other paths get a 404 and the listener keeps waiting.
- The browser tab that brought the code is held open until the flow says how the code exchange went
  (``finish``), so the page tells the truth; after ``verdict_timeout`` it says "return to Ledgerdesk".
- ``wait()`` ends with the code, or with a ``SignInError``: declined, refused, wrong state, timeout
  (five minutes by default) or ``cancel()``. It never hangs.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from app.auth import pages
from app.auth.errors import (
    SignInCancelled,
    SignInDeclined,
    SignInError,
    SignInRefused,
    SignInTimedOut,
    StateMismatch,
)
from app.auth.pkce import same_state
from providers.http import get_logger, register_secret

log = get_logger(__name__)

CALLBACK_PATH = "/callback"
DEFAULT_TIMEOUT = 300.0
READ_TIMEOUT = 10.0  # a connection that has not sent its request by then is dropped (slow or idle)
VERDICT_TIMEOUT = 30.0
MAX_REQUEST = 16 * 1024  # a callback is a short GET; anything larger is not one
LOOPBACK_ADDRESSES = ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1"))
_SECURITY_HEADERS = (
    ("Cache-Control", "no-store"),
    ("Pragma", "no-cache"),
    # The callback URL carries the code: no page of ours may hand it on as a referrer.
    ("Referrer-Policy", "no-referrer"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
                                "form-action 'none'; frame-ancestors 'none'"),
    ("Connection", "close"),
)


class _Repeated(ValueError):
    pass


def _bind(family: socket.AddressFamily, host: str) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        if hasattr(socket, "SO_EXCLUSIVEADDRUSE"):  # Windows: no other process may bind over our port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
        sock.bind((host, 0))
        sock.listen(8)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def bind_loopback() -> socket.socket:
    problems = []
    for family, host in LOOPBACK_ADDRESSES:
        try:
            return _bind(family, host)
        except OSError as error:
            log.info("cannot listen on %s: %s", host, error)
            problems.append(f"{host}: {error.strerror or error}")
    raise SignInError("Ledgerdesk could not listen on this computer's loopback address for the browser's "
                      f"answer ({'; '.join(problems)}). Check the firewall or security software.")


class LoopbackListener:
    """``async with LoopbackListener(state, service="Clear Books") as listener``: ``redirect_uri`` is set
    once it listens; ``await listener.wait()`` gives the code; ``finish(page)`` answers the browser."""

    def __init__(self, state: str, *, service: str = "the service", timeout: float = DEFAULT_TIMEOUT,
                 path: str = CALLBACK_PATH, read_timeout: float = READ_TIMEOUT,
                 verdict_timeout: float = VERDICT_TIMEOUT):
        self._state = state
        self.service = service
        self.timeout = timeout
        self.path = path
        self.read_timeout = read_timeout
        self.verdict_timeout = verdict_timeout
        self.redirect_uri = ""
        self.host = ""
        self.port = 0
        self.requests = 0  # every request seen, a figure for tests
        self._server: asyncio.Server | None = None
        self._outcome: asyncio.Future[str] | None = None
        self._verdict: asyncio.Future[pages.Page] | None = None
        self._accepted = False
        self._handlers: set[asyncio.Task] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._hosts: set[str] = set()

    async def __aenter__(self) -> LoopbackListener:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def closed(self) -> bool:
        return self._server is not None and not self._server.is_serving()

    async def start(self) -> str:
        loop = asyncio.get_running_loop()
        self._outcome, self._verdict = loop.create_future(), loop.create_future()
        sock = bind_loopback()
        self.host, self.port = sock.getsockname()[:2]
        self._server = await asyncio.start_server(self._serve, sock=sock, limit=MAX_REQUEST)
        literal = f"[{self.host}]" if ":" in self.host else self.host
        self.redirect_uri = f"http://{literal}:{self.port}{self.path}"
        self._hosts = {f"{literal}:{self.port}".lower()}
        log.info("listening for the %s sign-in answer on %s", self.service, self.redirect_uri)
        return self.redirect_uri

    async def wait(self) -> str:
        if self._outcome is None:
            raise RuntimeError("start() the listener first")
        try:
            return await asyncio.wait_for(asyncio.shield(self._outcome), self.timeout)
        except TimeoutError:
            minutes = self.timeout / 60
            span = f"{minutes:g} minutes" if minutes >= 2 else f"{self.timeout:g} seconds"
            self._end(SignInTimedOut(f"No answer came from {self.service} within {span}, so the sign-in was "
                                     "stopped and nothing was connected. Start it again when you are ready."))
            return self._outcome.result()

    def cancel(self) -> None:
        self._end(SignInCancelled(f"The {self.service} sign-in was cancelled; nothing was connected."))

    def finish(self, page: pages.Page) -> None:
        """The page for the browser tab that brought the code (the exchange's outcome)."""
        if self._verdict is not None and not self._verdict.done():
            self._verdict.set_result(page)

    async def aclose(self) -> None:
        if self._server is None or self.closed:
            return
        self._server.close()
        self.finish(pages.finishing(self.service))
        if self._handlers:  # let a held tab get its page; idle connections are cut below
            await asyncio.wait(set(self._handlers), timeout=2)
        for writer in list(self._writers):
            writer.close()
        for task in list(self._handlers):
            task.cancel()
        if self._handlers:
            await asyncio.wait(set(self._handlers), timeout=2)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), timeout=2)
        self.cancel()  # nobody may wait on a closed listener
        if self._outcome is not None and self._outcome.done() and not self._outcome.cancelled():
            self._outcome.exception()  # retrieved: an unread failure is not an asyncio warning
        log.debug("%s sign-in listener on port %d closed after %d requests", self.service, self.port,
                  self.requests)

    # --- one connection ---------------------------------------------------------------------------
    def _end(self, error: SignInError) -> None:
        if self._outcome is not None and not self._outcome.done():
            self._outcome.set_exception(error)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        self._writers.add(writer)
        try:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.read_timeout)
            except (asyncio.LimitOverrunError, ValueError):
                await _respond(writer, pages.Page(431, "Request too large", "This is not a sign-in answer."))
                return
            except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                return
            self.requests += 1
            page = await self._answer(head)
            await _respond(writer, page)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            if task is not None:
                self._handlers.discard(task)

    async def _answer(self, head: bytes) -> pages.Page:
        try:
            method, target, headers = _parse(head)
        except ValueError:
            return pages.bad_request("This is not an HTTP request Ledgerdesk understands.")
        if method != "GET":
            return pages.Page(405, "Not allowed", "The sign-in answer comes as a GET request.")
        host = headers.get("host")
        if host is not None and host.lower() not in self._hosts:
            # DNS rebinding: a page on another name that resolves here. Not the browser's redirect.
            return pages.bad_request("This request was addressed to another host.")
        parts = urlsplit(target)
        if parts.path != self.path:
            log.debug("%s sign-in listener: %s %s answered 404", self.service, method, parts.path[:80])
            return pages.not_found()
        if self._accepted:
            log.info("%s sign-in listener refused a second callback", self.service)
            return pages.already_used()
        if self._outcome is None or self._outcome.done():
            return pages.expired(self.service)
        self._accepted = True
        try:
            return await self._callback(parts.query)
        except _Repeated:
            self._end(SignInRefused(f"The answer from {self.service} was malformed (a parameter given twice); "
                                    "nothing was connected. Start the sign-in again."))
            return pages.bad_request("The sign-in answer was malformed.")

    async def _callback(self, query: str) -> pages.Page:
        params = parse_qs(query, keep_blank_values=True)

        def one(name: str) -> str | None:
            values = params.get(name)
            if not values:
                return None
            if len(values) > 1:
                raise _Repeated(name)
            return values[0]

        if not same_state(self._state, one("state")):
            log.warning("%s sign-in: the answer's state does not match the request; refused", self.service)
            self._end(StateMismatch(f"The answer that reached Ledgerdesk does not belong to the {self.service} "
                                    "sign-in it started (the state does not match), so it was refused and "
                                    "nothing was connected. Start the sign-in again."))
            return pages.state_mismatch(self.service)
        error = one("error")
        if error is not None:
            description = one("error_description")
            if error == "access_denied":
                self._end(SignInDeclined(f"You declined access to {self.service}, so nothing was connected."))
                return pages.declined(self.service)
            said = f": {description}" if description else ""
            self._end(SignInRefused(f"{self.service} did not sign you in ({error}{said}). Nothing was connected.",
                                    detail={"error": error}))
            return pages.refused(self.service, error, description)
        code = one("code")
        if not code:
            self._end(SignInRefused(f"The answer from {self.service} carried no authorisation code; nothing was "
                                    "connected. Start the sign-in again."))
            return pages.incomplete(self.service)
        register_secret(code)
        assert self._outcome is not None and self._verdict is not None
        self._outcome.set_result(code)
        log.info("%s sign-in: the browser brought an authorisation code", self.service)
        try:
            return await asyncio.wait_for(asyncio.shield(self._verdict), self.verdict_timeout)
        except TimeoutError:
            return pages.finishing(self.service)


def _parse(head: bytes) -> tuple[str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1.") or not parts[1].startswith("/"):
        raise ValueError("not an origin-form HTTP/1.x request line")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise ValueError("malformed header")
        headers[name.strip().lower()] = value.strip()
    return parts[0], parts[1], headers


async def _respond(writer: asyncio.StreamWriter, page: pages.Page) -> None:
    body = page.render()
    try:
        reason = HTTPStatus(page.status).phrase
    except ValueError:
        reason = ""
    lines = [f"HTTP/1.1 {page.status} {reason}", "Content-Type: text/html; charset=utf-8",
             f"Content-Length: {len(body)}", *(f"{name}: {value}" for name, value in _SECURITY_HEADERS)]
    if page.status == 405:
        lines.append("Allow: GET")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
    with contextlib.suppress(ConnectionError, TimeoutError):
        await asyncio.wait_for(writer.drain(), timeout=5)
