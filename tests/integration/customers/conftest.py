"""Fixtures of the customer-master integration tests: an actor and a ready customer."""

from __future__ import annotations

import pytest

from alix.bootstrap import Container
from alix.customers.domain import Actor, NewCustomer, Origin
from alix.customers.service import create_customer
from alix.db.session import unit_of_work
from tests.support import Account


@pytest.fixture
def actor(admin: Account) -> Actor:
    return Actor(admin.organisation_id, admin.user_id, Origin.USER)


def sample(name: str = "Acme Québec Inc.") -> NewCustomer:
    """A customer with two contacts and a main billing and a main shipping address."""
    return NewCustomer(
        {"name": f"  {name} ", "currency": "cad", "email": "info@acme.example"},
        contacts=[
            {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@acme.example",
             "is_primary": True},
            {"last_name": "Babbage"},
        ],
        addresses=[
            {"kind": "billing", "is_main": True, "street": "1 Rue Principale",
             "city": "Montréal", "province": "Québec", "country": "Canada"},
            {"kind": "shipping", "is_main": True, "city": "Springfield", "province": "Nowhere",
             "country": "Atlantis"},
        ],
    )


@pytest.fixture
def customer_id(container: Container, actor: Actor) -> int:
    with unit_of_work(container.session_factory) as session:
        return create_customer(session, actor, sample()).id
