"""Details says how often the reconciliation runs and what it costs, while Customers is on."""

from __future__ import annotations

from starlette.testclient import TestClient

from alix.bootstrap import Container
from alix.db.session import unit_of_work
from alix.identity.tables import Role
from alix.integrations.zoho_crm import repository
from alix.integrations.zoho_crm.mappers import ModuleKind
from alix.integrations.zoho_crm.rules import ModuleState
from alix.integrations.zoho_crm.sync.store.watermarks import put_watermark
from alix.integrations.zoho_crm.sync.watermark import Watermark
from alix.integrations.zoho_crm.tables import ZohoConnection
from tests.integration.sync_push.conftest import T0, Clock, connect
from tests.support import login, make_account

DETAILS = "/settings/integrations/zoho-crm"


def test_details_shows_the_reconciliation_period_and_its_credits(
    container: Container, client: TestClient
) -> None:
    scope, _actor = connect(container.session_factory, Clock())
    login(client, make_account(container, "Acme Ltd", "boss@acme.example", Role.ADMIN))
    # Accounts and Contacts: 2 calls each per run, 288 runs a day, on Enterprise's 50,000.
    assert ("After the initial synchronization: reconciliation every 5 minutes, about 1,152 "
            "API credits a day (at most 5 % of the 50,000 daily credits of your Zoho CRM "
            "edition).") in client.get(DETAILS).text
    with unit_of_work(container.session_factory) as session:
        put_watermark(session, scope, "Accounts", Watermark(T0), T0)  # synchronized once
        connection = session.get(ZohoConnection, scope.connection_id)
        assert connection is not None
        connection.edition = "free"
    page = client.get(DETAILS).text
    assert "Reconciliation every 24 minutes, about 250 API credits a day" in page
    with unit_of_work(container.session_factory) as session:
        connection = session.get(ZohoConnection, scope.connection_id)
        assert connection is not None
        repository.save_module(session, connection, ModuleState(ModuleKind.CUSTOMERS, False))
    assert "econciliation every" not in client.get(DETAILS).text
