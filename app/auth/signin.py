"""Sign-ins without a browser, each checked at once with a cheap call through the real client:

- AccBooks: a pasted API key -> ``GET /company`` (the key's one company).
- AccountingSuite: a pasted ``apisecretkey`` -> ``GET /companies/<nil id>``: the service checks the key
  before anything, so "does not exist" proves the key and costs one tiny answer (its lists come whole).
- AccountsIQ: client id + secret + region -> ``TokenGet``, then ``GetEntitiesByToken`` (the entities).

A refusal is ``CredentialsRefused`` carrying the service's own sentence; nothing is saved. The result is a
``SignedIn`` for the workspace to commit. Each client is imported by its own sign-in, so one provider
that does not import leaves the others working.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from app.auth.errors import CredentialsRefused
from app.auth.model import TOKENS, SignedIn, TokenSet, label_for
from providers.base import AuthError, Company, Entity, NotFound, PermissionDenied, SignInKind, ValidationError
from providers.http import register_secret

ACCBOOKS_URL = "https://api.accbooks.co.uk/v1/"
ACCOUNTINGSUITE_URL = "https://api.accountingsuite.com"
_NIL_ID = "00000000-0000-0000-0000-000000000000"


def _pasted(value: str | None, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationError(f"Paste the {what} first.")
    if any(ch.isspace() for ch in text):
        raise ValidationError(f"The {what} has spaces or line breaks inside it: paste it again, in one piece.")
    register_secret(text)
    return text


def _fingerprint(secret: str) -> str:
    """Tells keys apart in the settings without revealing anything of them."""
    return hashlib.blake2b(secret.encode(), digest_size=6).hexdigest()


async def sign_in_accbooks(api_key: str, *, base_url: str = ACCBOOKS_URL) -> SignedIn:
    from providers.accbooks.client import Client as AccBooksClient

    key = _pasted(api_key, "AccBooks API key")
    note = ""
    async with AccBooksClient(base_url, key) as client:
        try:
            companies = await client.companies()
        except AuthError as error:
            raise CredentialsRefused(f"AccBooks did not accept this API key: {error.message}",
                                     status=error.status, detail=error.detail) from None
        except PermissionDenied as error:
            # Refused for a permission, not for the key: the key is good, it just cannot name its company.
            note = error.message
            companies = [Company(id=f"key-{_fingerprint(key)}", name="AccBooks company")]
    company = companies[0]
    return SignedIn(
        provider="accbooks", kind=SignInKind.API_KEY, account=company.id, label=f"AccBooks: {company.name}",
        companies=tuple(companies), secrets={"api_key": key}, endpoints={"api": base_url},
        details={"key": _fingerprint(key), **({"note": note} if note else {})})


async def sign_in_accountingsuite_key(apisecretkey: str, *, base_url: str = ACCOUNTINGSUITE_URL,
                                      name: str | None = None) -> SignedIn:
    from providers.accountingsuite.client import Client as AccountingSuiteClient
    from providers.accountingsuite.signin import DEFAULT_NAME, single_database_id

    key = _pasted(apisecretkey, "AccountingSuite API secret key")
    company_id = single_database_id(key)
    title = (name or "").strip()
    async with AccountingSuiteClient(base_url, key, company_id, company_name=title or DEFAULT_NAME) as client:
        try:
            await client.get(Entity.CUSTOMERS, _NIL_ID)
        except NotFound:
            pass  # the key opened the database; the record was never expected to exist
        except AuthError as error:
            raise CredentialsRefused(f"AccountingSuite did not accept this API secret key: {error.message}",
                                     status=error.status, detail=error.detail) from None
        companies = await client.companies()
    return SignedIn(
        provider="accountingsuite", kind=SignInKind.API_KEY, account=company_id, label=f"AccountingSuite: {title or 'pasted key'}",
        companies=tuple(companies), secrets={f"apisecretkey:{company_id}": key}, endpoints={"api": base_url},
        details={"key": _fingerprint(key)})


@dataclass
class _Captured:
    access: str | None = field(default=None, repr=False)
    refresh: str | None = field(default=None, repr=False)

    def __call__(self, access: str, refresh: str) -> None:
        self.access, self.refresh = access, refresh or None


async def sign_in_accountsiq(client_id: str, client_secret: str, region: str, *,
                             base_url: str | None = None) -> SignedIn:
    from providers.accountsiq.client import Client as AccountsIQClient
    from providers.accountsiq.client import endpoint as accountsiq_endpoint

    ident = (client_id or "").strip()
    if not ident:
        raise ValidationError("Enter the AccountsIQ client id of the integration.")
    secret = _pasted(client_secret, "AccountsIQ client secret")
    url = base_url or accountsiq_endpoint(region)
    captured = _Captured()
    # No entity yet: GetEntitiesByToken needs only the token, and lists what this sign-in reaches.
    async with AccountsIQClient(url, ident, secret, "", on_tokens=captured) as client:
        try:
            companies = await client.companies()
        except AuthError as error:
            raise CredentialsRefused(f"AccountsIQ did not accept this client id and secret: {error.message}",
                                     status=error.status, detail=error.detail) from None
    if not companies:
        raise ValidationError("AccountsIQ lists no company (entity) for this client id: ask the administrator "
                              "to give the integration access to one.")
    if captured.access is None:
        raise CredentialsRefused("AccountsIQ answered without a sign-in token.")
    return SignedIn(
        provider="accountsiq", kind=SignInKind.CLIENT_CREDENTIALS, account=f"{region}:{ident.lower()}",
        label=label_for(f"AccountsIQ ({region})", companies),
        companies=tuple(companies),
        secrets={"client_secret": secret, TOKENS: TokenSet(captured.access, captured.refresh).dumps()},
        endpoints={"api": url}, details={"client_id": ident, "region": region})
