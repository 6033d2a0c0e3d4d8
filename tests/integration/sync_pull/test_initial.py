"""The initial synchronization against the fake: creates, links by name, skips, rejections."""

from __future__ import annotations

from tests.integration.sync_pull.conftest import World


def test_first_pull_creates_customers_contacts_and_links(world: World) -> None:
    [acme, _globex] = world.zoho("Accounts", {"Account_Name": "Acme", "Currency": "CAD",
                                             "Billing_City": "Toronto"},
                                {"Account_Name": "Globex", "Currency": "CAD"})
    world.zoho("Contacts", {"Last_Name": "Smith", "Email": "s@acme.example",
                            "Account_Name": {"id": acme}},
               {"Last_Name": "Orphan"})
    report = world.pull(initial=True)
    names = world.customers()
    assert set(names) == {"Acme", "Globex"}
    assert [c.last_name for c in world.contacts()] == ["Smith"]
    assert report.counts["created"] >= 3
    assert len([link for link in world.links() if link.kind == "customer"]) == 2
