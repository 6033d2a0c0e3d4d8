"""mapping: Zoho records to ALIX values per kind, ALIX values to Zoho payloads, rejections."""

from __future__ import annotations

from decimal import Decimal

import pytest

from alix.integrations.zoho_crm.schema import HOME_CURRENCY
from alix.integrations.zoho_crm.sync.kinds import LinkKind
from alix.integrations.zoho_crm.sync.mapping import (
    Mapped,
    Rejection,
    crm_fields,
    from_alix,
    from_crm,
    read_only_fields,
    to_crm,
)
from tests.unit.sync.configuration import T0, account, configuration, record

CONFIG = configuration()


def _mapped(result: Mapped | Rejection) -> Mapped:
    assert isinstance(result, Mapped), result
    return result


def test_an_account_maps_to_a_customer_with_canonical_values() -> None:
    result = _mapped(from_crm(
        account("100", name="  Acme  ", Website="", Phone="+1 514 555 0100",
                Description="VIP", Owner={"name": "X", "id": "9"}),
        LinkKind.CUSTOMER, CONFIG,
    ))
    assert result.values == {"name": "Acme", "currency": "CAD", "website": None,
                             "phone": "+1 514 555 0100", "notes": "VIP"}
    assert (result.zoho_id, result.account_id, result.name) == ("100", "100", "Acme")
    assert result.modified_time == T0
    assert result.fixed == {}


@pytest.mark.parametrize(
    ("kind", "data", "reason"),
    [
        (LinkKind.CUSTOMER, {"Account_Name": " ", "Currency": "CAD"}, "Customer name is required"),
        (LinkKind.CUSTOMER, {"Account_Name": "Acme"}, "Currency is required"),
        (LinkKind.CUSTOMER, {"Account_Name": "Acme", "Currency": "CAD", "Website": "not a url"},
         "is not a web address"),
        (LinkKind.CONTACT, {"Email": "jo@x.com"}, "Last name is required"),
        (LinkKind.CONTACT, {"Last_Name": "Roy", "Email": "jo@"}, "not a valid email"),
    ],
)
def test_records_alix_cannot_hold_are_rejected_with_a_reason(
    kind: LinkKind, data: dict[str, object], reason: str
) -> None:
    result = from_crm(record("77", data), kind, CONFIG)
    assert isinstance(result, Rejection)
    assert result.zoho_id == "77"
    assert "record 77 cannot be imported" in result.reason
    assert reason in result.reason


def test_the_fixed_home_currency_fills_currency() -> None:
    config = configuration(currency_field=HOME_CURRENCY)
    result = _mapped(from_crm(record("1", Account_Name="Acme"), LinkKind.CUSTOMER, config))
    assert result.values["currency"] == "CAD"
    assert "currency" in read_only_fields(config, LinkKind.CUSTOMER)
    assert "Currency" not in to_crm(LinkKind.CUSTOMER, result.values, config)
    assert HOME_CURRENCY not in crm_fields(config, LinkKind.CUSTOMER)


def test_a_contact_carries_its_account_lookup_id() -> None:
    result = _mapped(from_crm(
        record("5", Last_Name="Roy", Email=" Jo@X.com", Account_Name={"name": "Acme", "id": "100"}),
        LinkKind.CONTACT, CONFIG,
    ))
    assert result.account_id == "100"
    assert result.values["email"] == "Jo@X.com"  # kept as typed; compared without case
    orphan = _mapped(from_crm(record("6", Last_Name="Roy"), LinkKind.CONTACT, CONFIG))
    assert orphan.account_id is None


def test_main_addresses_come_from_the_account_fields() -> None:
    data = {"Billing_Street": "1 Main", "Billing_City": "Montréal", "Billing_State": "ca-qc",
            "Billing_Code": "H2X", "Billing_Country": "ca", "Shipping_City": "Laval"}
    billing = _mapped(from_crm(account("100", fields=data), LinkKind.MAIN_BILLING, CONFIG))
    assert billing.values == {"street": "1 Main", "city": "Montréal", "province": "CA-QC",
                              "postal_code": "H2X", "country": "CA"}
    assert billing.fixed == {"kind": "billing", "is_main": True}
    assert billing.account_id == "100"
    shipping = _mapped(from_crm(account("100", fields=data), LinkKind.MAIN_SHIPPING, CONFIG))
    assert shipping.values["city"] == "Laval"
    assert shipping.fixed == {"kind": "shipping", "is_main": True}


def test_a_custom_module_address_maps_default_to_is_main() -> None:
    result = _mapped(from_crm(
        record("9", Name="HQ", Street="1 Main", Default=True, Account={"name": "A", "id": "100"}),
        LinkKind.BILLING, CONFIG,
    ))
    assert result.values["is_main"] is True
    assert result.values["label"] == "HQ"
    assert result.fixed == {"kind": "billing"}
    assert result.account_id == "100"
    unchecked = _mapped(from_crm(record("10", Name="X"), LinkKind.BILLING, CONFIG))
    assert unchecked.values["is_main"] is False


def test_to_crm_sends_both_way_rows_only_and_the_lookup() -> None:
    values = {"name": "Acme", "currency": "CAD", "website": None, "phone": "1", "notes": "x"}
    assert to_crm(LinkKind.CUSTOMER, values, CONFIG) == {
        "Account_Name": "Acme", "Currency": "CAD", "Website": None, "Phone": "1",
    }  # Description is read-only: never written
    assert to_crm(LinkKind.CUSTOMER, values, CONFIG, only={"phone"}) == {"Phone": "1"}
    assert to_crm(LinkKind.CONTACT, {"last_name": "Roy"}, CONFIG, account_id="100") == {
        "Last_Name": "Roy", "Account_Name": {"id": "100"},
    }
    assert to_crm(LinkKind.BILLING, {"is_main": True}, CONFIG, account_id="100") == {
        "Default": True, "Account": {"id": "100"},
    }


def test_numbers_go_to_numeric_crm_fields_as_numbers() -> None:
    from dataclasses import replace

    from alix.integrations.zoho_crm.config import MappedField, MapperConfig
    from alix.integrations.zoho_crm.mappers import MapperKind, ModuleKind
    from alix.integrations.zoho_crm.rules import Direction

    customers = CONFIG.module(ModuleKind.CUSTOMERS)
    mapper = MapperConfig(MapperKind.CUSTOMER, "Accounts", (
        MappedField("name", "Account_Name", Direction.BOTH, "text", "text", None),
        MappedField("currency", "Currency", Direction.BOTH, "currency", "picklist", None),
        MappedField("phone", "Employees", Direction.BOTH, "text", "integer", None),
        MappedField("notes", "Revenue", Direction.BOTH, "text", "currency", None),
    ))
    config = replace(CONFIG, modules=(replace(customers, mappers=(mapper,)),))
    mapped = _mapped(from_crm(account("1", Employees=123, Revenue=1.5),
                              LinkKind.CUSTOMER, config))
    assert mapped.values["phone"] == Decimal(123)
    assert mapped.values["notes"] == Decimal("1.5")
    assert to_crm(LinkKind.CUSTOMER, {"phone": Decimal("123.0"), "notes": Decimal("1.50")},
                  config) == {"Employees": 123, "Revenue": 1.5}
    assert to_crm(LinkKind.CUSTOMER, {"phone": "abc"}, config) == {"Employees": "abc"}


def test_from_alix_keeps_the_mapped_fields_in_canonical_form() -> None:
    alix = {"name": " Acme ", "currency": "cad", "website": "", "phone": None, "notes": "n",
            "email": "unmapped@x.com", "is_active": True}
    assert from_alix(LinkKind.CUSTOMER, alix, CONFIG) == {
        "name": "Acme", "currency": "CAD", "website": None, "phone": None, "notes": "n",
    }


def test_crm_fields_list_what_to_ask_zoho_for() -> None:
    assert crm_fields(CONFIG, LinkKind.CONTACT) == (
        "Email", "Last_Name", "First_Name", "Phone", "Account_Name", "Modified_By",
    )
    assert crm_fields(CONFIG, LinkKind.BILLING)[-2:] == ("Account", "Modified_By")


def test_mapped_records_and_rejections_reach_a_writer_process_whole() -> None:
    """An initial import pickles its mapped pages to the writer process (page_writer)."""
    import pickle

    mapped = Mapped(LinkKind.CONTACT, "7", T0, {"last_name": "Lee", "email": None}, "100",
                    fixed={"active": True}, modified_by="Ann Seller")
    refused = Rejection(LinkKind.CUSTOMER, "8", None, "Account Name is empty.")
    assert pickle.loads(pickle.dumps([mapped, refused])) == [mapped, refused]
