"""Causes, not rows: open issues grouped by cause with its fix and counts, follow-on Contacts
under their Account's cause, on the page and in the REST API; Settings -> Organisation adds the
missing currency, which retries every record waiting on it; Details warns before the first sync."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from alix.customers.tables import contact_persons, customers
from alix.integrations.zoho_crm import repository
from alix.integrations.zoho_crm.causes import Cause, cause_of, parent_of
from alix.integrations.zoho_crm.client.port import ZohoCrm
from alix.integrations.zoho_crm.mappers import MapperKind, ModuleKind
from alix.integrations.zoho_crm.rules import ModuleState, Row
from alix.integrations.zoho_crm.sync.engine.runs import PULL_TASK
from alix.integrations.zoho_crm.tables import ZohoConnection
from alix.jobs.tables import QUEUED
from tests.integration.sync_status.conftest import Synced
from tests.support import Account, csrf_of, login

PAGE = "/settings/integrations/zoho-crm/sync"
API = "/api/v1/integrations/zoho-crm/sync"
ORGANISATION = "/settings/organisation"


def _pounds(synced: Synced, name: str, contacts: int) -> str:
    [account] = synced.zoho("Accounts", {"Account_Name": name, "Currency": "GBP"})
    for n in range(contacts):
        synced.zoho("Contacts", {"Last_Name": f"{name} contact {n}",
                                 "Account_Name": {"id": account}})
    return account


def _two_gbp_accounts(synced: Synced) -> list[str]:
    synced.zoho("Accounts", {"Account_Name": "Good Co", "Currency": "CAD"})
    ids = [_pounds(synced, "Pounds Ltd", 2), _pounds(synced, "Sterling plc", 1)]
    synced.pull(initial=True)
    assert len(synced.issues()) == 5
    return ids


def test_the_status_page_groups_issues_by_cause_with_its_fix_and_records_by_name(
        synced: Synced) -> None:
    ids = _two_gbp_accounts(synced)
    page = synced.http.get(PAGE).text
    assert page.count("Currency GBP is not one of your currencies") == 1
    assert "2 Accounts, 3 Contacts waiting on them" in page
    assert "Add GBP to your organisation" in page and f'href="{ORGANISATION}"' in page
    assert "Pounds Ltd" in page and "Sterling plc" in page and "Pounds Ltd contact 1" in page
    shown = re.sub(r"<[^>]+>", " ", page.split('id="issues"')[1].split('id="runs"')[0])
    assert all(zoho_id not in shown for zoho_id in ids)  # ids only in the links to Zoho
    assert f"https://crm.zoho.com/crm/org60012345/tab/Accounts/{ids[0]}" in page
    assert "waits on its Account Pounds Ltd" in shown or "its Account Pounds Ltd" in shown
    # The per-record actions still work on the rows inside the cause.
    assert f"{PAGE}/issues/{synced.issues()[0].id}/retry" in page


def test_the_rest_api_groups_by_cause_too(synced: Synced) -> None:
    _two_gbp_accounts(synced)
    answer = synced.http.get(f"{API}/causes", headers=synced.api())
    assert answer.status_code == 200, answer.text
    [cause] = answer.json()["causes"]
    assert (cause["code"], cause["field"], cause["value"]) == ("rejected", "Currency", "GBP")
    assert cause["counts"] == {"Accounts": 2, "Contacts": 3} and cause["total"] == 5
    assert sorted(r["name"] for r in cause["records"])[:2] == ["Pounds Ltd", "Pounds Ltd contact 0"]


def test_adding_the_currency_on_settings_organisation_imports_everything_waiting_on_it(
        synced: Synced) -> None:
    _two_gbp_accounts(synced)
    form = synced.http.get(ORGANISATION)
    assert form.status_code == 200 and "CAD" in form.text and 'name="code"' in form.text
    done = synced.http.post(f"{ORGANISATION}/currencies",
                            data={"csrf_token": csrf_of(form.text), "code": "gbp"},
                            follow_redirects=True)
    assert "GBP is one of your currencies now" in done.text
    assert "5 records waiting on it are retried now" in done.text
    assert all(i.next_retry_at == synced.clock() for i in synced.issues())
    [job] = synced.jobs(PULL_TASK)
    assert job.status == QUEUED
    assert synced.admin.email in job.payload["started_by"]  # the admin who added it
    synced.pull()  # what the queued job runs
    assert synced.issues() == []
    assert "0 records need attention" in synced.http.get(PAGE).text
    with Session(synced.container.engine) as s:
        org = synced.scope.organisation_id
        names = set(s.scalars(select(customers.c.name).where(customers.c.organisation_id == org)))
        contacts = s.scalar(select(func.count()).select_from(contact_persons).where(
            contact_persons.c.organisation_id == org))
    assert names == {"Good Co", "Pounds Ltd", "Sterling plc"} and contacts == 3


def test_a_bad_or_repeated_currency_is_refused_with_a_sentence(synced: Synced) -> None:
    form = synced.http.get(ORGANISATION)
    for code, message in (("CAD", "CAD is already one of your currencies."),
                          ("POUNDS", "A currency is a three-letter ISO 4217 code")):
        done = synced.http.post(f"{ORGANISATION}/currencies",
                                data={"csrf_token": csrf_of(form.text), "code": code},
                                follow_redirects=True)
        assert message in done.text


def test_members_cannot_change_the_organisation(synced: Synced, member: Account) -> None:
    synced.http.cookies.clear()
    login(synced.http, member)
    assert synced.http.get(ORGANISATION).status_code == 403


def test_details_warns_before_the_first_sync_about_missing_currencies(synced: Synced) -> None:
    crm = synced.crm

    @asynccontextmanager
    async def factory(_connection: ZohoConnection) -> AsyncIterator[ZohoCrm]:
        yield crm

    synced.container.use_zoho(crm_factory=factory)
    with synced.container.session_factory.begin() as session:  # Currency read from Zoho
        connection = session.get(ZohoConnection, synced.scope.connection_id)
        assert connection is not None
        repository.create_configuration(session, connection)
        repository.insert_row(session, connection,
                              Row(None, MapperKind.CUSTOMER, "currency", "Currency"))
        repository.save_module(session, connection, ModuleState(ModuleKind.CUSTOMERS, True))
    synced.zoho("Accounts", {"Account_Name": "Good Co", "Currency": "CAD"})
    _pounds(synced, "Pounds Ltd", 0)
    _pounds(synced, "Sterling plc", 0)
    text = synced.http.get("/settings/integrations/zoho-crm").text
    assert "2 Zoho Accounts use GBP, which is not one of your currencies" in text
    assert f'href="{ORGANISATION}"' in text
    synced.pull(initial=True)
    text = synced.http.get("/settings/integrations/zoho-crm").text
    assert "which is not one of your currencies" not in text  # after the sync: the status page


def test_records_with_the_same_problem_share_a_cause_and_others_do_not() -> None:
    def cause(zoho_id: str, problem: str) -> Cause:
        return cause_of("rejected", None, f"Zoho Accounts record {zoho_id} cannot be imported: "
                                          f"{problem}")

    assert cause("5725767000004100001", "Name is required.") == \
        cause("5725767000004100009", "Name is required.")
    assert cause("5725767000004100001", "Name is required.").title == "Name is required."
    assert cause("5725767000004100001", "Name is required.").key != \
        cause("5725767000004100001", "Website is too long.").key
    assert parent_of("parent_missing", "Zoho Contacts record 1 is not imported: its Account "
                     "5725767000004100001 is not imported into ALIX.") == "5725767000004100001"


def test_an_organisation_without_zoho_adds_a_currency_all_the_same(
        client: TestClient, admin: Account) -> None:
    login(client, admin)
    form = client.get(ORGANISATION)
    done = client.post(f"{ORGANISATION}/currencies",
                       data={"csrf_token": csrf_of(form.text), "code": " chf "},
                       follow_redirects=True)
    assert "CHF is one of your currencies now." in done.text
    assert "CHF" in done.text.split("data-currencies")[1].split("</ul>")[0]
