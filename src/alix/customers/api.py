"""REST API /api/v1/customers: customers with nested contact persons and addresses.

Routes only translate: the request becomes one service command in one transaction. Rows of
another organisation answer 404, as if they did not exist.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from alix.customers import addresses, contacts, geography, list_columns, service
from alix.customers import repository as repo
from alix.customers.domain import Actor, Address, ContactPerson, Customer, NewCustomer, Origin
from alix.customers.fields import Entity
from alix.customers.schemas import (
    AddressIn,
    AddressOut,
    AddressPatch,
    ContactIn,
    ContactOut,
    ContactPatch,
    CustomerDetail,
    CustomerIn,
    CustomerList,
    CustomerOut,
    CustomerPatch,
    MoveContact,
)
from alix.db.session import unit_of_work
from alix.web.auth import CurrentPrincipal, Principal
from alix.web.dependencies import ContainerDep, SessionDep
from alix.web.ids import IdPath

router = APIRouter(prefix="/api/v1/customers", tags=["customers"])


def actor_of(principal: Principal) -> Actor:
    """API clients act with origin `api`; the pages' own fetch() calls count as the user."""
    origin = Origin.API if principal.via_token else Origin.USER
    return Actor(principal.organisation_id, principal.user_id, origin)


def customer_json(customer: Customer) -> dict[str, Any]:
    """The API's JSON of a customer, without its contacts and addresses."""
    return {"id": customer.id, **customer.values(), "version": customer.version,
            "created_at": customer.created_at, "updated_at": customer.updated_at}


def contact_json(contact: ContactPerson) -> dict[str, Any]:
    """The API's JSON of a contact person."""
    return {"id": contact.id, "customer_id": contact.customer_id, **contact.values(),
            "version": contact.version, "created_at": contact.created_at,
            "updated_at": contact.updated_at}


def address_json(address: Address) -> dict[str, Any]:
    """The API's JSON of an address, with country and province names for people."""
    return {"id": address.id, "customer_id": address.customer_id, **address.values(),
            "country_name": geography.country_name(address.country),
            "province_name": geography.province_name(address.province),
            "version": address.version, "created_at": address.created_at,
            "updated_at": address.updated_at}


def detail_json(session: Session, org_id: int, customer: Customer) -> dict[str, Any]:
    """A customer with its contact persons and addresses, as GET returns it."""
    return {
        **customer_json(customer),
        "contacts": [contact_json(c) for c in repo.contacts_of(session, org_id, customer.id)],
        "addresses": [address_json(a) for a in repo.addresses_of(session, org_id, customer.id)],
    }


def _patch(body: Any) -> tuple[dict[str, Any], int | None]:
    values = body.model_dump(exclude_unset=True)
    return values, values.pop("version", None)


@router.get("", response_model=CustomerList)
def list_customers(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    q: str = Query("", description="Part of the name or email, case-insensitive."),
    active: bool | None = Query(None, description="true: active only; false: inactive only."),
    cursor: str | None = Query(None, description="next_cursor of the previous page."),
    limit: int = Query(50, ge=1, le=200),
) -> dict[str, Any]:
    """Customers by name; pages are stable while rows change elsewhere in the list.

    Features add filters of their own, as query parameters: with Zoho CRM connected,
    `sync=not_synced` (every customer not in sync) or `sync=errors` (customers whose record,
    contact persons or addresses have an open sync issue or conflict)."""
    org = principal.organisation_id
    columns = list_columns.bind_columns(session, org, request.query_params)
    page = repo.list_customers(session, org, repo.CustomerQuery(
        q, active, cursor, limit, list_columns.conditions(columns)))
    return {"items": [customer_json(c) for c in page.items], "next_cursor": page.next_cursor}


@router.post("", response_model=CustomerDetail, status_code=201)
def create_customer(
    body: CustomerIn, principal: CurrentPrincipal, container: ContainerDep
) -> dict[str, Any]:
    """Create a customer, optionally with contact persons and addresses, in one transaction."""
    raw = body.model_dump(exclude_unset=True)
    new = NewCustomer(raw, raw.pop("contacts", []), raw.pop("addresses", []))
    with unit_of_work(container.session_factory) as session:
        customer = service.create_customer(session, actor_of(principal), new)
        return detail_json(session, principal.organisation_id, customer)


@router.get("/{customer_id}", response_model=CustomerDetail)
def get_customer(customer_id: IdPath, principal: CurrentPrincipal, session: SessionDep
                 ) -> dict[str, Any]:
    """One customer with its contact persons and addresses."""
    customer = repo.get_customer(session, principal.organisation_id, customer_id)
    return detail_json(session, principal.organisation_id, customer)


@router.patch("/{customer_id}", response_model=CustomerOut)
def update_customer(
    customer_id: IdPath, body: CustomerPatch, principal: CurrentPrincipal, container: ContainerDep
) -> dict[str, Any]:
    """Change the fields sent; send `version` to refuse (409) a change made meanwhile."""
    values, version = _patch(body)
    with unit_of_work(container.session_factory) as session:
        customer = service.update_customer(session, actor_of(principal), customer_id, values,
                                           expected_version=version)
        return customer_json(customer)


@router.delete("/{customer_id}", status_code=204)
def delete_customer(customer_id: IdPath, principal: CurrentPrincipal, container: ContainerDep
                    ) -> Response:
    """Delete the customer with its contact persons and addresses."""
    with unit_of_work(container.session_factory) as session:
        service.delete_customer(session, actor_of(principal), customer_id)
    return Response(status_code=204)


def _own_contact(session: Session, org_id: int, customer_id: int, contact_id: int) -> None:
    repo.child_of(session, Entity.CONTACT, org_id, customer_id, contact_id)


def _own_address(session: Session, org_id: int, customer_id: int, address_id: int) -> None:
    repo.child_of(session, Entity.ADDRESS, org_id, customer_id, address_id)


@router.get("/{customer_id}/contacts", response_model=list[ContactOut])
def list_contacts(customer_id: IdPath, principal: CurrentPrincipal, session: SessionDep
                  ) -> list[dict[str, Any]]:
    """The customer's contact persons, primary first."""
    customer = repo.get_customer(session, principal.organisation_id, customer_id)
    return [contact_json(c) for c in repo.contacts_of(session, customer.organisation_id,
                                                      customer.id)]


@router.post("/{customer_id}/contacts", response_model=ContactOut, status_code=201)
def add_contact(customer_id: IdPath, body: ContactIn, principal: CurrentPrincipal,
                container: ContainerDep) -> dict[str, Any]:
    """Add a contact person; a new primary contact demotes the previous one."""
    with unit_of_work(container.session_factory) as session:
        contact = contacts.add_contact(session, actor_of(principal), customer_id,
                                       body.model_dump(exclude_unset=True))
        return contact_json(contact)


@router.patch("/{customer_id}/contacts/{contact_id}", response_model=ContactOut)
def update_contact(customer_id: IdPath, contact_id: IdPath, body: ContactPatch,
                   principal: CurrentPrincipal, container: ContainerDep) -> dict[str, Any]:
    """Change the fields sent; send `version` to refuse (409) a change made meanwhile."""
    values, version = _patch(body)
    with unit_of_work(container.session_factory) as session:
        _own_contact(session, principal.organisation_id, customer_id, contact_id)
        contact = contacts.update_contact(session, actor_of(principal), contact_id, values,
                                          expected_version=version)
        return contact_json(contact)


@router.post("/{customer_id}/contacts/{contact_id}/move", response_model=ContactOut)
def move_contact(customer_id: IdPath, contact_id: IdPath, body: MoveContact,
                 principal: CurrentPrincipal, container: ContainerDep) -> dict[str, Any]:
    """Move the contact person to another customer of the organisation."""
    with unit_of_work(container.session_factory) as session:
        _own_contact(session, principal.organisation_id, customer_id, contact_id)
        contact = contacts.move_contact(session, actor_of(principal), contact_id,
                                        body.customer_id)
        return contact_json(contact)


@router.delete("/{customer_id}/contacts/{contact_id}", status_code=204)
def remove_contact(customer_id: IdPath, contact_id: IdPath, principal: CurrentPrincipal,
                   container: ContainerDep) -> Response:
    """Delete the contact person."""
    with unit_of_work(container.session_factory) as session:
        _own_contact(session, principal.organisation_id, customer_id, contact_id)
        contacts.remove_contact(session, actor_of(principal), contact_id)
    return Response(status_code=204)


@router.get("/{customer_id}/addresses", response_model=list[AddressOut])
def list_addresses(customer_id: IdPath, principal: CurrentPrincipal, session: SessionDep
                   ) -> list[dict[str, Any]]:
    """The customer's addresses: billing then shipping, the main one of each first."""
    customer = repo.get_customer(session, principal.organisation_id, customer_id)
    return [address_json(a) for a in repo.addresses_of(session, customer.organisation_id,
                                                       customer.id)]


@router.post("/{customer_id}/addresses", response_model=AddressOut, status_code=201)
def add_address(customer_id: IdPath, body: AddressIn, principal: CurrentPrincipal,
                container: ContainerDep) -> dict[str, Any]:
    """Add an address; a second main address of a kind is refused (use .../main instead)."""
    with unit_of_work(container.session_factory) as session:
        address = addresses.add_address(session, actor_of(principal), customer_id,
                                        body.model_dump(exclude_unset=True))
        return address_json(address)


@router.patch("/{customer_id}/addresses/{address_id}", response_model=AddressOut)
def update_address(customer_id: IdPath, address_id: IdPath, body: AddressPatch,
                   principal: CurrentPrincipal, container: ContainerDep) -> dict[str, Any]:
    """Change the fields sent; a second main address of a kind is refused (422)."""
    values, version = _patch(body)
    with unit_of_work(container.session_factory) as session:
        _own_address(session, principal.organisation_id, customer_id, address_id)
        address = addresses.update_address(session, actor_of(principal), address_id, values,
                                           expected_version=version)
        return address_json(address)


@router.post("/{customer_id}/addresses/{address_id}/main", response_model=AddressOut)
def make_main_address(customer_id: IdPath, address_id: IdPath, principal: CurrentPrincipal,
                      container: ContainerDep) -> dict[str, Any]:
    """Make this the main address of its kind; the previous main one loses the flag."""
    with unit_of_work(container.session_factory) as session:
        _own_address(session, principal.organisation_id, customer_id, address_id)
        return address_json(addresses.set_main_address(session, actor_of(principal),
                                                       address_id))


@router.delete("/{customer_id}/addresses/{address_id}", status_code=204)
def remove_address(customer_id: IdPath, address_id: IdPath, principal: CurrentPrincipal,
                   container: ContainerDep) -> Response:
    """Delete the address."""
    with unit_of_work(container.session_factory) as session:
        _own_address(session, principal.organisation_id, customer_id, address_id)
        addresses.remove_address(session, actor_of(principal), address_id)
    return Response(status_code=204)
