"""The status page's causes filtered by direction, module and cause, a page of causes at a time,
on the page and through /api/v1/integrations/zoho-crm/sync/causes (organisation isolated); and
each run labelled by its kind and by who or what started it."""

from __future__ import annotations

import asyncio

from starlette.testclient import TestClient

from alix.integrations.zoho_crm.sync.engine.pull import run_pull
from alix.integrations.zoho_crm.sync.engine.runs import PULL_TASK, started_by
from alix.integrations.zoho_crm.sync.kinds import LinkKind
from alix.integrations.zoho_crm.sync.store.issues import Direction, Report, record_issue
from alix.integrations.zoho_crm.sync.store.runs import Starter
from tests.integration.sync_status.conftest import Synced, connect_org
from tests.support import Account, login

PAGE = "/settings/integrations/zoho-crm/sync"
API = "/api/v1/integrations/zoho-crm/sync"
GBP = "Currency GBP is not one of your currencies"


def _two_causes(synced: Synced) -> None:
    """A pull cause (2 GBP Accounts, 3 of their Contacts waiting) and a push cause (a
    customer Zoho refused)."""
    synced.zoho("Accounts", {"Account_Name": "Good Co", "Currency": "CAD"})
    for name, contacts in (("Pounds Ltd", 2), ("Sterling plc", 1)):
        [account] = synced.zoho("Accounts", {"Account_Name": name, "Currency": "GBP"})
        for n in range(contacts):
            synced.zoho("Contacts", {"Last_Name": f"{name} contact {n}",
                                     "Account_Name": {"id": account}})
    synced.pull(initial=True)
    with synced.container.session_factory.begin() as session:
        record_issue(session, synced.scope, Report(
            Direction.PUSH, LinkKind.CUSTOMER, "INVALID_DATA",
            "Zoho rejected customer 123456789: the phone number is too long", alix_id=7,
            field="Phone", details={"name": "Longphone Inc"}), synced.clock())


def _causes(http: TestClient, **params: object) -> dict[str, object]:
    answer = http.get(f"{API}/causes", params=params)  # type: ignore[arg-type]
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_the_api_filters_causes_by_direction_module_and_cause(synced: Synced) -> None:
    _two_causes(synced)
    both = _causes(synced.http)
    assert [(c["title"], c["total"]) for c in both["causes"]] == [  # type: ignore[union-attr]
        (GBP, 5), ("the phone number is too long", 1)]
    assert (both["total"], both["records"], both["next_offset"]) == (2, 6, None)
    pushed = _causes(synced.http, direction="push")["causes"]
    assert [c["title"] for c in pushed] == ["the phone number is too long"]  # type: ignore
    contacts = _causes(synced.http, module="contacts")["causes"]
    assert [(c["title"], c["sentence"]) for c in contacts] == [  # type: ignore
        (GBP, "3 Contacts waiting on them")]
    assert _causes(synced.http, module="customers", direction="pull")["records"] == 2
    slug = both["causes"][1]["cause"]  # type: ignore[index]
    assert [c["total"] for c in _causes(synced.http, cause=slug)["causes"]] == [1]  # type: ignore
    assert _causes(synced.http, module="addresses")["causes"] == []
    refused = synced.http.get(f"{API}/causes", params={"direction": "sideways"})
    assert refused.status_code == 422


def test_causes_come_a_page_at_a_time(synced: Synced) -> None:
    _two_causes(synced)
    first = _causes(synced.http, limit=1)
    assert (len(first["causes"]), first["total"], first["next_offset"]) == (1, 2, 1)  # type: ignore
    second = _causes(synced.http, limit=1, offset=first["next_offset"])
    assert second["next_offset"] is None
    titles = [c["title"] for c in (*first["causes"], *second["causes"])]  # type: ignore
    assert titles == [GBP, "the phone number is too long"]


def test_the_status_page_filters_causes(synced: Synced) -> None:
    _two_causes(synced)
    pushed = synced.http.get(PAGE, params={"direction": "push"}).text
    assert "the phone number is too long" in pushed and "Longphone Inc" in pushed
    assert "<strong data-cause-title" in pushed and GBP + "</strong>" not in pushed
    assert "1 record for 1 cause match" in pushed
    contacts = synced.http.get(PAGE, params={"module": "contacts"}).text
    assert "3 Contacts waiting on them" in contacts and "Longphone Inc" not in contacts
    none = synced.http.get(PAGE, params={"direction": "push", "module": "contacts"}).text
    assert "No record that needs attention matches these filters" in none


def test_another_organisation_sees_none_of_these_causes(
        synced: Synced, other_org_admin: Account) -> None:
    _two_causes(synced)
    with synced.container.session_factory.begin() as session:
        connect_org(session, other_org_admin.organisation_id)
    login(synced.http, other_org_admin)
    theirs = _causes(synced.http)
    assert (theirs["causes"], theirs["total"]) == ([], 0)
    assert "Longphone Inc" not in synced.http.get(PAGE, params={"direction": "push"}).text


def test_each_run_says_its_kind_and_who_or_what_started_it(synced: Synced) -> None:
    synced.zoho("Accounts", {"Account_Name": "Pounds Ltd", "Currency": "GBP"})
    synced.pull(initial=True)  # recorded before runs said who started them
    synced.post(f"{PAGE}/issues/retry")  # Retry all: the admin queues the pull
    [job] = synced.jobs(PULL_TASK)
    assert job.payload["started_by"] == "admin <admin@acme.example>"
    for payload in (job.payload, {"reconcile": True},
                    {"started_by": Starter.NOTIFICATION.value},
                    {"started_by": Starter.COMMAND_LINE.value}):
        synced.clock.advance(3)
        asyncio.run(run_pull(synced.ctx, reconcile=bool(payload.get("reconcile")),
                             started_by=started_by(payload)))
    runs = synced.http.get(f"{API}/runs").json()["runs"]
    assert [(r["kind"], r["started_by"], r["started_by_label"]) for r in runs] == [
        ("incremental", "command line", "Started from the command line"),
        ("realtime", "Zoho notification", "Started by a Zoho notification"),
        ("reconcile", "schedule", "Started by the schedule"),
        ("incremental", "admin <admin@acme.example>", "Started by admin <admin@acme.example>"),
        ("initial", None, ""),
    ]
    page = synced.http.get(PAGE).text.split('id="runs"')[1]
    for label in ("Initial synchronization", "Incremental (Zoho → ALIX)",
                  "Started by admin &lt;admin@acme.example&gt;", "Reconciliation",
                  "Started by the schedule",
                  "Real-time (Zoho → ALIX)", "Started by a Zoho notification",
                  "Started from the command line"):
        assert label in page
