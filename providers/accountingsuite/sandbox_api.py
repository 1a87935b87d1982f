"""The AccountingSuite sandbox's HTTP face: the API at the root paths, the OAuth host under ``/oauth``.

Every API call names its database by its key: ``apisecretkey: KEY`` or ``Authorization: Bearer KEY``.
Answers are JSON written the way the service's platform writes it (slashes escaped as ``\\/``).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from providers.accountingsuite import sandbox_messages as msg
from providers.accountingsuite.sandbox_books import Books, Database
from providers.accountingsuite.sandbox_documents import (
    CashReceipts,
    CashSales,
    Invoices,
    PurchaseOrders,
    SalesOrders,
    refresh_company_documents,
)
from providers.accountingsuite.sandbox_fields import Body
from providers.accountingsuite.sandbox_messages import ServiceError
from providers.accountingsuite.sandbox_oauth import OAuth
from providers.accountingsuite.sandbox_parties import Companies, Items
from providers.decimal_json import JSONDecodeError, dumps, loads

_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def wire(text: str, status: int = 200) -> Response:
    # The service's JSON writer escapes every "/" (its messages read "1\/24\/2014"); a "/" can only
    # occur inside a JSON string, so the replacement is safe on whole documents.
    return Response(text.replace("/", "\\/"), status_code=status, media_type="application/json")


class Api:
    def __init__(self, books: Books):
        self.books = books
        self.companies = Companies(books, on_change=self._company_changed)
        self.items = Items(books)
        documents = {
            "invoices": Invoices,
            "cashsales": CashSales,
            "salesorders": SalesOrders,
            "purchaseorders": PurchaseOrders,
        }
        self.documents = {name: kind(books, self.companies, self.items) for name, kind in documents.items()}
        self.resources = {"companies": self.companies, "items": self.items, **self.documents}
        self.receipts = CashReceipts(books, self.companies)

    def _company_changed(self, db: str, company_doc: dict) -> None:
        refresh_company_documents(self.books, self.documents, db, company_doc)

    def authenticate(self, request: Request) -> Database:
        key = request.headers.get("apisecretkey")
        if not key:
            scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
            key = credentials.strip() if scheme.lower() == "bearer" else ""
        if not key:
            raise msg.auth_error(msg.KEY_MISSING)
        database = self.books.database_for_key(key)
        if database is None:
            raise msg.auth_error(msg.KEY_INVALID)
        return database

    @staticmethod
    async def body(request: Request) -> Body:
        raw = await request.body()
        if not raw.strip():
            return Body({})
        try:
            data = loads(raw)
        except JSONDecodeError:
            data = None
        if not isinstance(data, dict):
            raise ServiceError({"message": msg.BODY_NOT_JSON, "status": "error"}, status=400)
        return Body(data)

    async def collection(self, request: Request) -> Response:
        name = request.path_params["resource"]
        try:
            if name == "cashreceipts":
                db = self.authenticate(request)
                if request.method != "POST":
                    raise _method_not_allowed("POST")
                body = await self.body(request)
                with self.books.lock:
                    self.receipts.create(db.id, body)
                # The service answers a receipt with an empty body.
                return Response(b"", media_type="application/json")
            resource = self._resource(name)
            db = self.authenticate(request)
            if request.method == "GET":
                with self.books.lock:
                    return wire(resource.list_text(db.id))
            if request.method == "POST":
                body = await self.body(request)
                with self.books.lock:
                    return wire(dumps(resource.create(db.id, body)))
            raise _method_not_allowed("GET, POST")
        except ServiceError as error:
            return _refusal(error)

    async def member(self, request: Request) -> Response:
        name, api_code = request.path_params["resource"], request.path_params["api_code"]
        try:
            if name == "cashreceipts":
                self.authenticate(request)
                raise _method_not_allowed("POST")
            resource = self._resource(name)
            db = self.authenticate(request)
            if request.method == "PUT":
                body = await self.body(request)
                with self.books.lock:
                    return wire(dumps(resource.update(db.id, api_code, body)))
            if request.method in ("GET", "DELETE"):
                with self.books.lock:
                    found = resource.get if request.method == "GET" else resource.delete
                    return wire(dumps(found(db.id, api_code)))
            raise _method_not_allowed("GET, PUT, DELETE")
        except ServiceError as error:
            return _refusal(error)

    def _resource(self, name: str):
        resource = self.resources.get(name)
        if resource is None:
            raise ServiceError({"message": msg.NO_SUCH_PATH, "status": "error"}, 404)
        return resource


def _method_not_allowed(allowed: str) -> ServiceError:
    return ServiceError({"message": msg.METHOD_NOT_ALLOWED, "status": "error"}, 405, {"allow": allowed})


def _refusal(error: ServiceError) -> Response:
    response = wire(dumps(error.payload), error.status)
    response.headers.update(error.headers)
    return response


async def _http_error(request: Request, exc: HTTPException) -> Response:
    message = msg.METHOD_NOT_ALLOWED if exc.status_code == 405 else msg.NO_SUCH_PATH
    return _refusal(ServiceError({"message": message, "status": "error"}, exc.status_code, exc.headers))


def build_app(books: Books, auto_consent: bool) -> Starlette:
    api, oauth = Api(books), OAuth(books, auto_consent)
    routes = [
        Route("/oauth/register_app", oauth.register_app, methods=["POST"]),
        Route("/oauth/authorize", oauth.authorize, methods=["GET", "POST"]),
        Route("/oauth/oauth_token", oauth.token, methods=["POST"]),
        Route("/{resource}", api.collection, methods=_ALL_METHODS),
        Route("/{resource}/{api_code}", api.member, methods=_ALL_METHODS),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    app.state.api = api
    return app
