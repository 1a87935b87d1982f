"""Where each service lives and how Ledgerdesk signs in to it, as data for the Connect dialog.

A ``ServiceDirectory`` lists the four services in a fixed order. Each ``Service`` says which sign-in kinds
it offers and what each needs: the ``OAuthApp`` for the browser flow (Clear Books, AccountingSuite), the API
base URL for a pasted key (AccountingSuite, AccBooks), the endpoint of each AccountsIQ region. A kind that
cannot be used from this build (no app registration yet) or this demo (its sandbox is not running) carries
the sentence that says so, and the dialog shows it instead of failing at the first request.

- ``ServiceDirectory.production()``: the documented real endpoints (shared/PROVIDERS.md). Ledgerdesk has
  no OAuth client registration with Clear Books or AccountingSuite yet: a build supplies one through the
  ``LEDGERDESK_<PROVIDER>_CLIENT_ID`` / ``_CLIENT_SECRET`` settings; without them that browser sign-in is
  marked unavailable (AccountingSuite still takes a pasted key).
- ``ServiceDirectory.for_sandboxes({provider: (sandbox, url)})``: the sandboxes on loopback
  (``ledgerdesk --demo``, tests), with their demo credentials as ``DemoChoice``s to prefill the forms.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from app.auth.browser_flow import OAuthApp
from app.auth.signin import ACCBOOKS_URL, ACCOUNTINGSUITE_URL
from app.workspace import SERVICE_NAMES
from providers.base import SignInKind
from providers.http import get_logger

if TYPE_CHECKING:
    from providers.sandbox.base import ProviderSandbox

log = get_logger(__name__)

BROWSER, API_KEY, CLIENT_CREDENTIALS = SignInKind.BROWSER, SignInKind.API_KEY, SignInKind.CLIENT_CREDENTIALS

# AccountsIQ's regions, as its endpoint host names them, with what a user recognises.
REGIONS: Mapping[str, str] = MappingProxyType({"uk1": "United Kingdom (uk1)", "eu1": "Europe (eu1)",
                                               "eu2": "Europe 2 (eu2)", "us1": "United States (us1)"})
ACCOUNTSIQ_PATH = "/system/dashboard/integration/integration_2_0.asmx"

CLEARBOOKS_AUTHORIZE = "https://secure.clearbooks.co.uk/account/action/oauth/"
CLEARBOOKS_TOKEN = "https://api.clearbooks.co.uk/oauth/token"
CLEARBOOKS_API = "https://api.clearbooks.co.uk/v1"
# Only what Ledgerdesk reads and writes: a user consents to less, and a leaked token reaches less.
CLEARBOOKS_SCOPES = ("businesses:read", "accounting.account_codes:read", "accounting.bank_accounts:read",
                     "accounting.bank_accounts:write", "accounting.customers:read", "accounting.customers:write",
                     "accounting.sales:read", "accounting.sales:write", "accounting.payments:read",
                     "accounting.allocations:read", "accounting.vat:read", "accounting.transactions:read")
ACCOUNTINGSUITE_AUTHORIZE = "https://oauth.accountingsuite.com/authorize"
ACCOUNTINGSUITE_TOKEN = "https://oauth.accountingsuite.com/oauth_token"

# The placeholder settings a build reads its OAuth registrations from, until Ledgerdesk has its own.
REGISTRATION_SETTINGS: Mapping[str, tuple[str, str]] = MappingProxyType({
    "clearbooks": ("LEDGERDESK_CLEARBOOKS_CLIENT_ID", "LEDGERDESK_CLEARBOOKS_CLIENT_SECRET"),
    "accountingsuite": ("LEDGERDESK_ACCOUNTINGSUITE_CLIENT_ID", "LEDGERDESK_ACCOUNTINGSUITE_CLIENT_SECRET"),
})

ORDER = ("accbooks", "accountingsuite", "accountsiq", "clearbooks")  # alphabetical: easy to find by eye
_KINDS = {"accbooks": (API_KEY,), "accountingsuite": (BROWSER, API_KEY), "accountsiq": (CLIENT_CREDENTIALS,),
          "clearbooks": (BROWSER,)}
_NEEDS = {"accbooks": "An API key from AccBooks: each key opens one company.",
          "accountingsuite": "Sign in with your browser, or paste an API secret key.",
          "accountsiq": "The client id and secret of an AccountsIQ integration, and its region.",
          "clearbooks": "Sign in with your browser."}


@dataclass(frozen=True)
class Registration:
    """Ledgerdesk's OAuth client registration with one service."""

    client_id: str
    client_secret: str = field(repr=False)


@dataclass(frozen=True)
class DemoChoice:
    """Demo credentials to prefill a form with (``values`` by field name): sandbox values, not secrets."""

    label: str
    values: Mapping[str, str] = field(repr=False)


@dataclass(frozen=True)
class Service:
    provider: str
    kinds: tuple[SignInKind, ...]  # offered, the preferred first
    oauth: OAuthApp | None = None
    api_url: str | None = None  # pasted-key sign-ins (AccBooks, AccountingSuite)
    regions: Mapping[str, str] = field(default_factory=dict)  # AccountsIQ: region -> endpoint
    unavailable: Mapping[SignInKind, str] = field(default_factory=dict)  # kind -> why not from this build
    demo: Mapping[SignInKind, tuple[DemoChoice, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.unavailable) - set(self.kinds)
        if unknown:
            raise ValueError(f"{self.provider} does not offer {sorted(unknown)}")
        for kind in self.kinds:
            if kind in self.unavailable:
                continue
            if kind is BROWSER and self.oauth is None:
                raise ValueError(f"{self.provider}: a browser sign-in needs an OAuthApp")
            if kind is API_KEY and not self.api_url:
                raise ValueError(f"{self.provider}: a key sign-in needs the API base URL")
            if kind is CLIENT_CREDENTIALS and not self.regions:
                raise ValueError(f"{self.provider}: a client id sign-in needs at least one region's endpoint")

    @property
    def name(self) -> str:
        return SERVICE_NAMES[self.provider]

    @property
    def needs(self) -> str:
        """One line on what signing in needs."""
        return _NEEDS[self.provider]

    def usable(self, kind: SignInKind) -> bool:
        return kind in self.kinds and kind not in self.unavailable

    @property
    def available(self) -> bool:
        return any(self.usable(kind) for kind in self.kinds)

    @property
    def why_unavailable(self) -> str:
        """Why nothing can be connected (empty when something can)."""
        return "" if self.available else " ".join(dict.fromkeys(self.unavailable.values()))


class ServiceDirectory:
    def __init__(self, services: Mapping[str, Service], *, demo: bool = False):
        missing = set(ORDER) - set(services)
        if missing:
            raise ValueError(f"the directory lacks {sorted(missing)}")
        self._services = {provider: services[provider] for provider in ORDER}
        self.demo = demo  # the services are sandboxes on this computer

    def __iter__(self) -> Iterator[Service]:
        return iter(self._services.values())

    def __getitem__(self, provider: str) -> Service:
        return self._services[provider]

    def __len__(self) -> int:
        return len(self._services)

    # --- the real services ---------------------------------------------------------------------------

    @classmethod
    def production(cls, registrations: Mapping[str, Registration] | None = None) -> ServiceDirectory:
        """The real services; OAuth registrations from ``registrations`` or else the build's settings."""
        found = registrations if registrations is not None else registrations_from(os.environ)
        for provider, names in REGISTRATION_SETTINGS.items():
            if provider not in found:  # for whoever builds Ledgerdesk: where the registration goes
                log.info("no %s OAuth registration in this build (settings %s): its browser sign-in is "
                         "unavailable", SERVICE_NAMES[provider], " and ".join(names))
        services: dict[str, Service] = {}
        for provider in ("clearbooks", "accountingsuite"):
            registration = found.get(provider)
            oauth = None if registration is None else _production_oauth(provider, registration)
            unavailable = {} if oauth is not None else {BROWSER: _not_registered(provider)}
            url = ACCOUNTINGSUITE_URL if provider == "accountingsuite" else None
            services[provider] = Service(provider, _KINDS[provider], oauth=oauth, api_url=url,
                                         unavailable=unavailable)
        services["accbooks"] = Service("accbooks", _KINDS["accbooks"], api_url=ACCBOOKS_URL)
        services["accountsiq"] = Service(
            "accountsiq", _KINDS["accountsiq"],
            regions={region: f"https://{region}.accountsiq.com{ACCOUNTSIQ_PATH}" for region in REGIONS})
        return cls(services)

    # --- the sandboxes -------------------------------------------------------------------------------

    @classmethod
    def for_sandboxes(cls, running: Mapping[str, tuple[ProviderSandbox, str]], *,
                      demo_values: bool = True) -> ServiceDirectory:
        """The sandboxes ``running`` on loopback (provider -> (sandbox, base URL)); a provider without
        one is listed as not running in this demo. ``demo_values`` prefill the forms."""
        services: dict[str, Service] = {}
        for provider in ORDER:
            if provider not in running:
                reason = f"No {SERVICE_NAMES[provider]} sandbox is running in this demo."
                services[provider] = Service(provider, _KINDS[provider],
                                             unavailable=dict.fromkeys(_KINDS[provider], reason))
                continue
            sandbox, url = running[provider]
            url = url.rstrip("/")
            credentials = sandbox.credentials()
            companies = sandbox.companies()
            oauth = None
            if BROWSER in _KINDS[provider]:
                oauth = OAuthApp(provider=provider, service=SERVICE_NAMES[provider],
                                 authorize_url=url + credentials["authorize_path"],
                                 token_url=url + credentials["token_path"],
                                 api_url=url + credentials["api_path"].rstrip("/"),
                                 client_id=credentials["client_id"], client_secret=credentials["client_secret"],
                                 scope=credentials.get("scope", ""), pkce=provider == "clearbooks")
            api_url = {"accbooks": f"{url}/v1/", "accountingsuite": url}.get(provider)
            # A sandbox plays one region; the others stay listed so the form looks as it will for real.
            regions = {credentials["region"]: url} if provider == "accountsiq" else {}
            demo = _demo_choices(provider, credentials, companies) if demo_values else {}
            services[provider] = Service(provider, _KINDS[provider], oauth=oauth, api_url=api_url,
                                         regions=regions, demo=demo)
        return cls(services, demo=True)


def registrations_from(settings: Mapping[str, str]) -> dict[str, Registration]:
    """The OAuth registrations a build was given (both id and secret set), by provider."""
    found = {}
    for provider, (id_name, secret_name) in REGISTRATION_SETTINGS.items():
        client_id, secret = settings.get(id_name, "").strip(), settings.get(secret_name, "").strip()
        if client_id and secret:
            found[provider] = Registration(client_id, secret)
    return found


def _production_oauth(provider: str, registration: Registration) -> OAuthApp:
    if provider == "clearbooks":
        return OAuthApp(provider=provider, service=SERVICE_NAMES[provider], authorize_url=CLEARBOOKS_AUTHORIZE,
                        token_url=CLEARBOOKS_TOKEN, api_url=CLEARBOOKS_API, client_id=registration.client_id,
                        client_secret=registration.client_secret, scope=" ".join(CLEARBOOKS_SCOPES), pkce=True)
    return OAuthApp(provider=provider, service=SERVICE_NAMES[provider], authorize_url=ACCOUNTINGSUITE_AUTHORIZE,
                    token_url=ACCOUNTINGSUITE_TOKEN, api_url=ACCOUNTINGSUITE_URL,
                    client_id=registration.client_id, client_secret=registration.client_secret)


def _not_registered(provider: str) -> str:
    name = SERVICE_NAMES[provider]
    if API_KEY in _KINDS[provider]:
        return (f"This build of Ledgerdesk cannot sign in to {name} with the browser: it has no {name} app "
                "registration yet. Paste an API secret key instead.")
    return (f"This build of Ledgerdesk cannot connect to {name}: the browser sign-in needs a {name} app "
            "registration, and this build has none yet.")


def _demo_choices(provider: str, credentials: Mapping[str, str],
                  companies: list[dict[str, str]]) -> dict[SignInKind, tuple[DemoChoice, ...]]:
    if provider == "accbooks":
        return {API_KEY: tuple(DemoChoice(c["name"], {"api_key": credentials[f"api_key:{c['id']}"]})
                               for c in companies if f"api_key:{c['id']}" in credentials)}
    if provider == "accountingsuite":
        return {API_KEY: tuple(DemoChoice(c["name"], {"api_key": credentials[f"apisecretkey.{c['id']}"],
                                                      "name": c["name"]})
                               for c in companies if f"apisecretkey.{c['id']}" in credentials)}
    if provider == "accountsiq":
        return {CLIENT_CREDENTIALS: (DemoChoice("Demo integration", {
            "client_id": credentials["client_id"], "client_secret": credentials["client_secret"],
            "region": credentials["region"]}),)}
    return {}
