"""How every ``/v1`` request of the Clear Books sandbox is handled before its resource sees it: the bearer
token (401), the service's rate limit (429), the business (``X-Business-ID``), the scope (403); then the
resource's handler runs under the books' lock, so a void-and-reissue or an allocation is atomic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from providers.clearbooks.sandbox_books import Books
from providers.clearbooks.sandbox_http import ApiError, json_object, page_request, paged_texts
from providers.clearbooks.sandbox_oauth import Token

if TYPE_CHECKING:
    from providers.clearbooks.sandbox import Sandbox

API = "/v1"


@dataclass
class Call:
    """One authorised request, as a resource handler sees it."""

    request: Request
    sandbox: Sandbox
    token: Token
    business_id: int | None
    body: bytes
    _json: dict | None = field(default=None, repr=False)

    @property
    def books(self) -> Books:
        return self.sandbox.books

    @property
    def biz(self) -> str:
        return str(self.business_id)

    @property
    def params(self):
        return self.request.query_params

    def arg(self, name: str):
        return self.request.path_params[name]

    def json(self) -> dict:
        if self._json is None:
            self._json = json_object(self.body)
        return self._json

    def absolute(self, path: str) -> str:
        return str(self.request.base_url).rstrip("/") + path


Handler = Callable[[Call], Response]


@dataclass(frozen=True)
class Op:
    scope: str
    handler: Handler


def api_route(sandbox: Sandbox, path: str, ops: dict[str, Op], business: bool = True) -> Route:
    async def endpoint(request: Request) -> Response:
        op = ops.get(request.method) or ops["GET"]  # HEAD is answered as GET
        try:
            token = sandbox.oauth.authenticate(request)
            sandbox.check_rate(token)
            body = await request.body()
            with sandbox.books.lock:
                business_id = resolve_business(request, token) if business else None
                if op.scope not in token.scopes:
                    raise ApiError(403, "insufficientScope", f"This request needs the {op.scope} scope")
                return op.handler(Call(request, sandbox, token, business_id, body))
        except ApiError as error:
            return error.response()

    return Route(API + path, endpoint, methods=list(ops))


def resolve_business(request: Request, token: Token) -> int:
    raw = request.headers.get("x-business-id", "").strip()
    if not raw:
        if len(token.businesses) == 1:
            return token.businesses[0]
        raise ApiError(400, "businessRequired", "The X-Business-ID header is required: this authorisation "
                       "covers more than one business")
    if not raw.isdigit():
        raise ApiError(400, "invalidBusinessId", "X-Business-ID must be the numeric ID of a business")
    if int(raw) not in token.businesses:
        raise ApiError(403, "businessNotAuthorised", f"This authorisation does not cover business {raw}")
    return int(raw)


def crud(read: str, write: str, **handlers: Handler) -> dict[str, Op]:
    """Ops for one path: ``get``/``head`` need the read scope, the rest the write scope."""
    return {method.upper(): Op(read if method == "get" else write, handler) for method, handler in handlers.items()}


def list_records(call: Call, collection: str, sortable: tuple[str, ...],
                 keep: Callable[[int], bool] | None = None) -> Response:
    """A page of stored records: ids in the requested order, then the stored texts joined."""
    request = page_request(call.params, sortable)
    books = call.books
    ordered = books.ids(call.biz, collection) if request.sort_by == "id" else \
        books.order(call.biz, collection, request.sort_by)
    if keep is not None:
        ordered = [ident for ident in ordered if keep(ident)]
    return paged_texts(books.texts(call.biz, collection, request.window(ordered)), len(ordered), request)
