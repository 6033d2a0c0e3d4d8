"""REST API of the Zoho CRM integration settings, under /api/v1/integrations/zoho-crm/."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from alix.db.session import unit_of_work
from alix.web.auth import CurrentAdmin
from alix.web.dependencies import ContainerDep

from . import onboarding, repository, service
from .connection import DATA_CENTRE_NAMES
from .mappers import MapperKind, ModuleKind
from .sync.engine.runs import start_for_organisation
from .sync.store.runs import person
from .tables import ZohoConnection

router = APIRouter(prefix="/api/v1/integrations/zoho-crm", tags=["zoho-crm"])


class ConnectIn(BaseModel):
    location: str = "us"


class ModuleIn(BaseModel):
    active: bool | None = None
    crm_module: str | None = None
    account_lookup: str | None = None


class RowIn(BaseModel):
    alix_field: str | None = None
    crm_field: str | None = None


class SyncIn(BaseModel):
    initial: bool = True


class PoliciesIn(BaseModel):
    conflict: str
    delete_crm_to_alix: str
    delete_alix_to_crm: str


def connection_json(found: ZohoConnection | None) -> dict[str, Any]:
    """Who the connection is; never a token."""
    if found is None:
        return {"status": "not_connected"}
    return {
        "status": found.status,
        "data_centre": found.location,
        "data_centre_name": DATA_CENTRE_NAMES.get(found.location, found.location),
        "org": {"id": found.zoho_org_id, "name": found.zoho_org_name, "edition": found.edition},
        "user": {"id": found.zoho_user_id, "name": found.zoho_user_name,
                 "email": found.zoho_user_email, "time_zone": found.zoho_user_time_zone},
        "scopes": found.scopes.split(),
        "connected_at": found.connected_at,
        "schema_fetched_at": found.schema_fetched_at,
        "config_version": found.config_version,
    }


@router.get("")
def get_connection(admin: CurrentAdmin, container: ContainerDep) -> dict[str, Any]:
    """The organisation's connection status and Zoho identity."""
    with unit_of_work(container.session_factory) as session:
        return connection_json(repository.connection_of(session, admin.organisation_id))


@router.post("/connect")
async def connect(
    body: ConnectIn, request: Request, admin: CurrentAdmin, container: ContainerDep
) -> dict[str, str]:
    """Start OAuth for a browser session: the consent URL to open in that browser."""
    url = await onboarding.start(container, request.session, body.location)
    return {"authorization_url": url}


@router.post("/confirm")
async def confirm(admin: CurrentAdmin, container: ContainerDep) -> dict[str, Any]:
    """"Connect ALIX": make the authorized, pending connection live."""
    return connection_json(await onboarding.confirm(container, admin.organisation_id))


@router.post("/disconnect")
async def disconnect(admin: CurrentAdmin, container: ContainerDep) -> dict[str, Any]:
    """Revoke the token at Zoho and forget it; the configuration is kept for a reconnect."""
    warning = await onboarding.disconnect(container, admin.organisation_id)
    return {"status": "disconnected", "warning": warning}


@router.delete("")
async def remove(admin: CurrentAdmin, container: ContainerDep) -> dict[str, Any]:
    """Remove the integration: revoke the token, delete the configuration (and the sync's
    links); afterwards /connect may bind this organisation to any Zoho org."""
    warning = await onboarding.remove(container, admin.organisation_id)
    return {"status": "not_connected", "warning": warning}


@router.post("/metadata/refresh")
async def refresh_metadata(admin: CurrentAdmin, container: ContainerDep) -> dict[str, Any]:
    """Re-read the CRM modules and fields."""
    await onboarding.refresh_metadata(container, admin.organisation_id)
    return await run_in_threadpool(get_settings, admin, container)  # tests/loop_guard.py


@router.get("/settings")
def get_settings(admin: CurrentAdmin, container: ContainerDep) -> dict[str, Any]:
    """Modules, field mappers with their offered options, activation errors and warnings."""
    with unit_of_work(container.session_factory) as session:
        return service.describe(service.snapshot(session, admin.organisation_id))


@router.get("/configuration")
def get_configuration(admin: CurrentAdmin, container: ContainerDep) -> dict[str, Any]:
    """The frozen, versioned configuration the sync reads."""
    with unit_of_work(container.session_factory) as session:
        found = repository.connected(session, admin.organisation_id)
        return asdict(repository.load_configuration(session, found.id))


@router.patch("/modules/{kind}")
def update_module(
    kind: ModuleKind, body: ModuleIn, admin: CurrentAdmin, container: ContainerDep
) -> dict[str, Any]:
    """Choose the CRM module (custom-module modules) and/or switch the module on or off."""
    with unit_of_work(container.session_factory) as session:
        module = service.update_module(session, admin.organisation_id, kind,
                                       body.model_dump(exclude_unset=True))
    return asdict(module)


@router.post("/mappers/{mapper}/rows", status_code=201)
def add_row(mapper: MapperKind, admin: CurrentAdmin, container: ContainerDep) -> dict[str, Any]:
    """The + button: an empty row; 409 while the mapper has an incomplete row."""
    with unit_of_work(container.session_factory) as session:
        return asdict(service.add_row(session, admin.organisation_id, mapper))


@router.patch("/mappers/{mapper}/rows/{row_id}")
def edit_row(
    mapper: MapperKind, row_id: int, body: RowIn, admin: CurrentAdmin, container: ContainerDep
) -> dict[str, Any]:
    """Set either side; an empty side next to a chosen one is filled with the suggestion."""
    with unit_of_work(container.session_factory) as session:
        row = service.edit_row(session, admin.organisation_id, mapper, row_id,
                               body.model_dump(exclude_unset=True))
        return asdict(row)


@router.delete("/mappers/{mapper}/rows/{row_id}", status_code=204)
def delete_row(
    mapper: MapperKind, row_id: int, admin: CurrentAdmin, container: ContainerDep
) -> Response:
    """The X: refused for mandatory rows and for required rows of an active module."""
    with unit_of_work(container.session_factory) as session:
        service.delete_row(session, admin.organisation_id, mapper, row_id)
    return Response(status_code=204)


@router.put("/policies")
def set_policies(body: PoliciesIn, admin: CurrentAdmin, container: ContainerDep) -> dict[str, str]:
    """The conflict policy and the delete policy of each direction."""
    with unit_of_work(container.session_factory) as session:
        chosen = service.set_policies(session, admin.organisation_id, body.conflict,
                                      body.delete_crm_to_alix, body.delete_alix_to_crm)
    return {k: v.value for k, v in asdict(chosen).items()}


@router.post("/sync", status_code=202)
def start_sync(body: SyncIn, admin: CurrentAdmin, container: ContainerDep) -> dict[str, Any]:
    """Start a pull (the initial synchronization by default); 409 when Customers is off. A pull
    already queued or running is returned instead of a second one."""
    with unit_of_work(container.session_factory) as session:
        job = start_for_organisation(session, container.queue, admin.organisation_id,
                                     initial=body.initial,
                                     started_by=person(admin.name, admin.email))
        return {"job_id": job.id, "status": job.status}
