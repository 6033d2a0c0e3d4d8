"""The connect, confirm, cancel, disconnect, remove and metadata-refresh flows, for pages and API.

Zoho calls run on the event loop; the database steps around them run in worker threads, each in
its own unit of work, so no transaction stays open while Zoho answers.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, MutableMapping
from typing import Any, TypeVar

from anyio import to_thread
from sqlalchemy.orm import Session

from alix.bootstrap import Container
from alix.clock import Clock
from alix.db.session import unit_of_work
from alix.errors import AlixError, Conflict, Forbidden

from . import connection as conn
from . import repository
from .client import ZohoError
from .crypto import TokenUnreadable
from .tables import CONNECTED, DISCONNECTED, PENDING, ZohoConnection

log = logging.getLogger(__name__)

SESSION_KEY = "zoho_crm_oauth"
_T = TypeVar("_T")


class ZohoUnavailable(Conflict):
    """Zoho refused or could not be reached; the message says which and what to do."""


def connector(container: Container) -> conn.Connector:
    """The Connector of this app, over the transport of `container.zoho` (tests swap it)."""
    return conn.Connector(container.settings, container.engine, clock=container.clock,
                          transport=container.zoho.transport)


async def _db(container: Container, work: Callable[[Session], _T]) -> _T:
    def run() -> _T:
        with unit_of_work(container.session_factory) as session:
            return work(session)

    return await to_thread.run_sync(run)


async def start(
    container: Container, session_store: MutableMapping[str, Any], location: str
) -> str:
    """Remember a fresh `state` in the session; the URL of Zoho's consent page."""
    if not container.settings.zoho_client_id:
        raise Conflict(
            "Zoho CRM is not configured on this server: set ALIX_ZOHO_CLIENT_ID and "
            "ALIX_ZOHO_CLIENT_SECRET (see docs/zoho-crm.md)."
        )
    state = conn.new_state()
    url = await connector(container).authorization_url(location, state)
    session_store[SESSION_KEY] = {"state": state, "location": location}
    return url


async def callback(
    container: Container,
    session_store: MutableMapping[str, Any],
    *,
    organisation_id: int,
    user_id: int,
    params: dict[str, str],
) -> ZohoConnection:
    """Check `state` against the session, exchange the code, keep it pending confirmation."""
    expected = session_store.pop(SESSION_KEY, None)
    given = params.get("state", "")
    if (
        not isinstance(expected, dict)
        or not given
        or not hmac.compare_digest(str(expected.get("state", "")), given)
    ):
        raise Forbidden(
            "This Zoho authorization did not start from this ALIX session (the OAuth state "
            "does not match), so it was refused. Click Connect on Settings -> Integration."
        )
    if params.get("error"):
        raise Conflict(f"Zoho did not authorize ALIX ({params['error']}); nothing was connected.")
    code = params.get("code")
    if not code:
        raise Conflict("Zoho's answer carried no authorization code; click Connect again.")
    location = params.get("location") or str(expected.get("location") or "us")
    link = connector(container)
    try:
        grant, identity, schema = await link.exchange(code, location,
                                                      params.get("accounts-server"))
    except ZohoError as exc:
        raise ZohoUnavailable(f"Connecting Zoho CRM failed: {exc}") from exc

    def keep(session: Session) -> ZohoConnection:
        return conn.store_pending(
            session, link.cipher, organisation_id=organisation_id, user_id=user_id,
            location=location.lower(), grant=grant, identity=identity, schema=schema,
            clock=container.clock,
        )

    try:
        return await _db(container, keep)
    except AlixError:
        # Refused (another org, already connected): the token we just got must not live on.
        await _revoke_quietly(link, grant.refresh_token, grant.accounts_url,
                              f"{identity.org_name} ({identity.org_id})")
        raise


async def confirm(container: Container, organisation_id: int) -> ZohoConnection:
    return await _db(container, lambda s: conn.confirm(s, organisation_id, clock=container.clock))


async def cancel(container: Container, organisation_id: int) -> None:
    """Drop a pending authorization, revoking its token."""
    await _revoke_then(container, organisation_id, (PENDING,), conn.forget_tokens,
                       "There is no Zoho CRM authorization waiting for this organisation.")


async def disconnect(container: Container, organisation_id: int) -> str | None:
    """Revoke the refresh token and forget the tokens; the configuration stays.

    Returns a warning when Zoho could not revoke (the token is forgotten here anyway).
    """
    return await _revoke_then(container, organisation_id, (CONNECTED,), conn.forget_tokens,
                              "Zoho CRM is not connected for this organisation.")


async def remove(container: Container, organisation_id: int) -> str | None:
    """Revoke the refresh token if there is one, then delete the integration and its
    configuration; afterwards Connect may bind the organisation to any Zoho org.

    Works whether the integration is connected, disconnected or waiting for "Connect ALIX".
    Returns a warning when Zoho could not revoke (the integration is deleted anyway).
    """
    return await _revoke_then(
        container, organisation_id, (PENDING, CONNECTED, DISCONNECTED),
        lambda session, found, clock: conn.remove(session, found),
        "There is no Zoho CRM integration to remove for this organisation.",
    )


async def _revoke_then(
    container: Container,
    organisation_id: int,
    statuses: tuple[str, ...],
    then: Callable[[Session, ZohoConnection, Clock], None],
    missing: str,
) -> str | None:
    """Revoke the connection's refresh token at Zoho (outside any transaction), then `then`."""
    link = connector(container)

    def load(session: Session) -> tuple[int, str | None, str, str, str | None]:
        found = repository.connection_of(session, organisation_id)
        if found is None or found.status not in statuses:
            raise Conflict(missing)
        try:
            token = link.cipher.decrypt(found.refresh_token) if found.refresh_token else None
        except TokenUnreadable:
            return found.id, None, found.accounts_url, org_of(found), (
                "The stored Zoho token could not be decrypted (ALIX_SECRET_KEY changed), so "
                "ALIX could not revoke it. Remove ALIX from Connected Apps in your Zoho "
                "account settings to be sure."
            )
        return found.id, token, found.accounts_url, org_of(found), None

    connection_id, token, accounts_url, org, warning = await _db(container, load)
    if token:
        warning = await _revoke_quietly(link, token, accounts_url, org)

    def finish(session: Session) -> None:
        found = repository.connection_of(session, organisation_id)
        # Another request may have removed it (and connected again) while Zoho answered.
        if found is not None and found.id == connection_id:
            then(session, found, container.clock)

    await _db(container, finish)
    return warning


def org_of(found: ZohoConnection) -> str:
    return f"{found.zoho_org_name} ({found.zoho_org_id})"


async def _revoke_quietly(
    link: conn.Connector, token: str, accounts_url: str, org: str
) -> str | None:
    """Revoke at Zoho; a refusal or an outage becomes a warning, since forgetting the token
    here must not depend on Zoho answering."""
    try:
        await link.revoke(token, accounts_url)
    except ZohoError as exc:
        # Never log the token itself, only what Zoho said.
        log.warning("Revoking the refresh token of the Zoho CRM org %s at %s failed: %s",
                    org, accounts_url, exc.message)
        return (
            f"Zoho did not confirm the revocation of ALIX's access to {org} ({exc.message}). "
            "Remove ALIX from "
            "Connected Apps in your Zoho account settings to be sure."
        )
    return None


async def refresh_metadata(container: Container, organisation_id: int) -> None:
    """Re-read the CRM's modules and fields (after a field was added or renamed in Zoho)."""
    link = connector(container)
    found = await _db(container, lambda s: repository.connected(s, organisation_id))
    try:
        async with link.client_for(found) as crm:
            schema = await conn.read_schema(crm, refresh=True)
    except ZohoError as exc:
        raise ZohoUnavailable(
            f"Reading the metadata of the Zoho CRM org {org_of(found)} failed: {exc}"
        ) from exc

    def store(session: Session) -> None:
        current = repository.connected(session, organisation_id, for_update=True)
        conn.store_schema(current, schema, clock=container.clock)

    await _db(container, store)
