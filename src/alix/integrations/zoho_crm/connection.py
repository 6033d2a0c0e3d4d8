"""Connecting Zoho CRM: OAuth consent and code exchange, who we are there, tokens, metadata."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from alix.clock import Clock, utc_now
from alix.errors import Conflict, NotFound
from alix.settings import Settings

from . import repository
from .client import (
    DATA_CENTRES,
    Grant,
    InMemoryTokenStore,
    OAuthApp,
    ZohoCrm,
    ZohoCrmClient,
)
from .crypto import TokenCipher
from .schema import CrmField, CrmModule, CrmSchema
from .tables import CONNECTED, DISCONNECTED, PENDING, ZohoConnection, zoho_access_tokens
from .token_store import SqlTokenStore

if TYPE_CHECKING:  # the transport's type only: every HTTP call goes through the client
    import httpx

CALLBACK_PATH = "/integrations/zoho-crm/oauth/callback"

DATA_CENTRE_NAMES: dict[str, str] = {
    "us": "United States (zoho.com)",
    "eu": "Europe (zoho.eu)",
    "uk": "United Kingdom (zoho.uk)",
    "in": "India (zoho.in)",
    "au": "Australia (zoho.com.au)",
    "jp": "Japan (zoho.jp)",
    "ca": "Canada (zohocloud.ca)",
    "sa": "Saudi Arabia (zoho.sa)",
    "cn": "China (zoho.com.cn)",
}


@dataclass(frozen=True)
class Identity:
    """Who the connection is in Zoho: the org and the user who consented."""

    org_id: str
    org_name: str
    edition: str
    user_id: str
    user_name: str
    user_email: str
    user_time_zone: str


def new_state() -> str:
    """The OAuth `state`: unguessable, kept in the session and checked on the way back."""
    return secrets.token_urlsafe(32)


class Connector:
    """Talks to Zoho, through the client, on behalf of the settings pages; built from settings,
    one per request."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.settings = settings
        self._engine = engine
        self._transport = transport
        self._clock = clock
        self.cipher = TokenCipher(settings.secret_key.get_secret_value())
        self._oauth = OAuthApp(
            client_id=settings.zoho_client_id,
            client_secret=settings.zoho_client_secret.get_secret_value(),
            override_url=self.override, transport=transport, clock=clock,
        )

    @property
    def redirect_uri(self) -> str:
        return self.settings.public_base + CALLBACK_PATH

    @property
    def override(self) -> str | None:
        return self.settings.zoho_accounts_url or None

    async def authorization_url(self, location: str, state: str) -> str:
        """Zoho's consent page at the chosen data centre (or the development override)."""
        if location not in DATA_CENTRES:
            raise NotFound(f"Unknown Zoho data centre {location!r}.")
        return await self._oauth.authorization_url(location, redirect_uri=self.redirect_uri,
                                                   state=state)

    async def exchange(
        self, code: str, location: str | None, accounts_server: str | None
    ) -> tuple[Grant, Identity, CrmSchema]:
        """Exchange the code at the accounts server the redirect named, if it is a known one,
        then read who we are and the CRM metadata with the fresh access token."""
        grant = await self._oauth.exchange_code(code, location, redirect_uri=self.redirect_uri,
                                                accounts_server_named=accounts_server)
        store = InMemoryTokenStore()
        store.tokens["pending"] = grant.access
        async with self._client(grant.refresh_token, "pending", store, grant.accounts_url) as crm:
            identity = await read_identity(crm)
            schema = await read_schema(crm)
        return grant, identity, schema

    async def revoke(self, refresh_token: str, accounts_url: str) -> None:
        await self._oauth.revoke(refresh_token, accounts_url)

    def client_for(self, connection: ZohoConnection) -> ZohoCrmClient:
        """The client of a stored connection: refresh token decrypted, access token shared."""
        if not connection.refresh_token:
            raise Conflict(
                "Zoho CRM is not connected: connect it again on Settings -> Integration."
            )
        store = SqlTokenStore(self._engine, cipher=self.cipher, table=zoho_access_tokens)
        return self._client(self.cipher.decrypt(connection.refresh_token), str(connection.id),
                            store, connection.accounts_url)

    def _client(self, refresh: str, cid: str, store: Any, accounts_url: str) -> ZohoCrmClient:
        return ZohoCrmClient.connect(
            client_id=self.settings.zoho_client_id,
            client_secret=self.settings.zoho_client_secret.get_secret_value(),
            refresh_token=refresh, connection_id=cid, store=store, accounts_url=accounts_url,
            override_url=self.override, transport=self._transport, clock=self._clock,
        )


async def read_identity(crm: ZohoCrmClient) -> Identity:
    org = await crm.org()
    user = await crm.current_user()
    return Identity(org.id, org.company_name, await crm.org_edition(), user.id, user.name,
                    user.email, user.time_zone)


async def read_schema(crm: ZohoCrm, *, refresh: bool = False) -> CrmSchema:
    """Accounts, Contacts and every API-enabled custom module with fields; currency set-up."""
    org = await crm.org()
    modules = []
    for module in await crm.modules():
        custom = module.generated_type == "custom"
        if not module.api_supported or not (custom or module.api_name in ("Accounts", "Contacts")):
            continue
        fields = await crm.fields(module.api_name, refresh=refresh)
        modules.append(CrmModule(
            module.api_name, module.plural_label or module.api_name, custom,
            tuple(CrmField(f.api_name, f.label, f.data_type, f.length, f.read_only,
                           f.system_mandatory, f.lookup_module, f.picklist) for f in fields),
        ))
    return CrmSchema(tuple(modules), org.multi_currency, org.currency)


def store_pending(
    session: Session,
    cipher: TokenCipher,
    *,
    organisation_id: int,
    user_id: int,
    location: str,
    grant: Grant,
    identity: Identity,
    schema: CrmSchema,
    clock: Clock = utc_now,
) -> ZohoConnection:
    """Keep the exchanged grant until "Connect ALIX"; refuse another Zoho org than before.

    The sync's links point at one org's record ids: reconnecting ALIX to another org would
    make them point at unrelated (or missing) records, so that is refused outright.
    """
    existing = repository.connection_of(session, organisation_id)
    if existing is not None and existing.status == CONNECTED:
        raise Conflict(
            f"Zoho CRM is already connected to {existing.zoho_org_name} "
            f"({existing.zoho_org_id}); disconnect it before connecting again."
        )
    if existing is not None and existing.connected_at and existing.zoho_org_id != identity.org_id:
        raise Conflict(
            f"ALIX was connected to the Zoho CRM org {existing.zoho_org_name} "
            f"({existing.zoho_org_id}), but you authorized {identity.org_name} "
            f"({identity.org_id}). Connecting another org is refused: the synchronised "
            f"customers are linked to the records of {existing.zoho_org_name}. Log in to Zoho "
            "as a user of that org and connect again, or click Remove integration on Settings "
            "-> Integration to delete this integration and its configuration, then connect "
            f"{identity.org_name}."
        )
    now = clock()
    connection = existing or ZohoConnection(
        organisation_id=organisation_id, created_at=now, config_version=1,
        conflict_policy="most_recent", delete_crm_to_alix="mark_inactive",
        delete_alix_to_crm="mark_inactive",
    )
    connection.status = PENDING
    connection.location = location
    connection.accounts_url = grant.accounts_url
    connection.api_domain = grant.access.api_domain
    connection.zoho_org_id = identity.org_id
    connection.zoho_org_name = identity.org_name
    connection.edition = identity.edition
    connection.zoho_user_id = identity.user_id
    connection.zoho_user_name = identity.user_name
    connection.zoho_user_email = identity.user_email
    connection.zoho_user_time_zone = identity.user_time_zone
    connection.scopes = " ".join(grant.scopes)
    connection.refresh_token = cipher.encrypt(grant.refresh_token)
    connection.crm_schema = schema.to_json()
    connection.schema_fetched_at = now
    connection.connected_by = user_id
    session.add(connection)
    session.flush()
    # A previous connection's access token was minted from a revoked refresh token.
    session.execute(delete(zoho_access_tokens).where(
        zoho_access_tokens.c.connection_id == str(connection.id)
    ))
    return connection


def confirm(session: Session, organisation_id: int, *, clock: Clock = utc_now) -> ZohoConnection:
    """"Connect ALIX": the pending connection goes live, with its first configuration."""
    connection = repository.connection_of(session, organisation_id)
    if connection is None or connection.status != PENDING:
        raise Conflict("There is no Zoho CRM authorization waiting; click Connect again.")
    connection.status = CONNECTED
    connection.connected_at = clock()
    connection.disconnected_at = None
    if not repository.has_configuration(session, connection):
        session.flush()
        repository.create_configuration(session, connection)
    repository.bump(connection)
    return connection


def forget_tokens(session: Session, connection: ZohoConnection, clock: Clock = utc_now) -> None:
    """After revocation: no refresh token, no access token, the configuration kept."""
    if connection.connected_at is None:
        session.delete(connection)
    else:
        connection.status = DISCONNECTED
        connection.refresh_token = None
        connection.disconnected_at = clock()
    session.execute(delete(zoho_access_tokens).where(
        zoho_access_tokens.c.connection_id == str(connection.id)
    ))


def remove(session: Session, connection: ZohoConnection) -> None:
    """Delete the integration: the connection, its configuration and every token.

    Afterwards Connect may bind the organisation to any Zoho org. The configuration rows are
    deleted explicitly rather than trusted to ON DELETE CASCADE, so that the outcome does not
    depend on the database enforcing foreign keys; the sync's tables (links, watermarks, inbox)
    reference zoho_connections with ON DELETE CASCADE and go with it.
    """
    session.execute(delete(zoho_access_tokens).where(
        zoho_access_tokens.c.connection_id == str(connection.id)
    ))
    repository.delete_configuration(session, connection)
    session.delete(connection)


def store_schema(connection: ZohoConnection, schema: CrmSchema, *, clock: Clock = utc_now) -> None:
    connection.crm_schema = schema.to_json()
    connection.schema_fetched_at = clock()
    repository.bump(connection)
