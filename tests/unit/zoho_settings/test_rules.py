"""Every rule of the modules and field mappers, on the pure rules module (no I/O)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from alix.errors import Conflict, ValidationFailed
from alix.integrations.zoho_crm import activation, rules
from alix.integrations.zoho_crm.config import build
from alix.integrations.zoho_crm.mappers import MapperKind, ModuleKind
from alix.integrations.zoho_crm.rules import Direction, IntegrationState, Row
from alix.integrations.zoho_crm.schema import HOME_CURRENCY, CrmField, CrmModule, CrmSchema

M = MapperKind
K = ModuleKind


def _address_module(name: str, *lookups: str) -> CrmModule:
    return CrmModule(name, name.replace("_", " "), True, (
        CrmField("Name", "Address Name", "text", 120, system_mandatory=True),
        *(CrmField(lk, lk, "lookup", lookup_module="Accounts") for lk in lookups),
        CrmField("Street", "Street", "text", 255), CrmField("City", "City", "text", 100),
        CrmField("Province", "Province", "text", 100),
        CrmField("Postal_Code", "Postal Code", "text", 30),
        CrmField("Country", "Country", "text", 100), CrmField("Default", "Default", "boolean"),
    ))


ACCOUNTS = CrmModule("Accounts", "Accounts", False, (
    CrmField("Account_Name", "Client Name", "text", 200, system_mandatory=True),
    CrmField("Website", "Website", "website", 255), CrmField("Phone", "Phone", "phone", 30),
    CrmField("Employees", "Employees", "integer"), CrmField("Active", "Active", "boolean"),
    CrmField("Account_Number", "Account Number", "text", 40, read_only=True),
    CrmField("Parent_Account", "Parent Account", "lookup", lookup_module="Accounts"),
    *(CrmField(f"{p}_{s}", f"{p} {s}", "text", 100) for p in ("Billing", "Shipping")
      for s in ("Street", "City", "State", "Code", "Country")),
))
CURRENCY = CrmField("Currency", "Currency", "picklist", picklist=("CAD", "USD"))
CONTACTS = CrmModule("Contacts", "Contacts", False, (
    CrmField("Last_Name", "Last Name", "text", 80, system_mandatory=True),
    CrmField("Email", "Email", "email", 100), CrmField("First_Name", "First Name", "text", 40),
))
MODULES = (
    replace(ACCOUNTS, fields=(*ACCOUNTS.fields, CURRENCY)), CONTACTS,
    _address_module("Billing_Addresses", "Account"),
    _address_module("Shipping_Addresses", "Account"),
    _address_module("Sites", "Account", "Billed_Account"),
    CrmModule("Projects", "Projects", True, (CrmField("Name", "Project Name", "text"),)),
)
MULTI = CrmSchema(MODULES, multi_currency=True, home_currency="CAD")
SINGLE = CrmSchema((ACCOUNTS, CONTACTS), multi_currency=False, home_currency="GBP")


class Config:
    """The state as the service keeps it: rules return values, this stores them."""

    def __init__(self, schema: CrmSchema = MULTI) -> None:
        self.schema = schema
        start = rules.initial_state()
        self.state = IntegrationState(
            start.modules, tuple(replace(r, id=i + 1) for i, r in enumerate(start.rows)))

    def _store_row(self, row: Row) -> Row:
        rows = [r for r in self.state.rows if r.id != row.id]
        if row.id is None:
            row = replace(row, id=max((r.id or 0) for r in self.state.rows) + 1)
        self.state = IntegrationState(self.state.modules, (*rows, row), self.state.policies)
        return row

    def _store_module(self, module: rules.ModuleState) -> None:
        modules = dict(self.state.modules)
        modules[module.kind] = module
        self.state = IntegrationState(modules, self.state.rows, self.state.policies)

    def add(self, mapper: M) -> Row:
        return self._store_row(rules.new_row(self.state, mapper))

    def edit(self, row: Row | int, alix: str | None, crm: str | None, suggest: bool = True) -> Row:
        row_id = row if isinstance(row, int) else row.id
        assert row_id is not None
        return self._store_row(rules.edit_row(self.state, self.schema, row_id, alix, crm,
                                              suggest=suggest))

    def map(self, mapper: M, alix: str | None, crm: str | None) -> Row:
        return self.edit(self.add(mapper), alix, crm, suggest=False)

    def delete(self, row: Row) -> None:
        assert row.id is not None
        rules.remove_row(self.state, row.id)
        self.state = IntegrationState(self.state.modules,
                                      tuple(r for r in self.state.rows if r.id != row.id),
                                      self.state.policies)

    def activate(self, kind: K) -> None:
        self._store_module(activation.activate(self.state, self.schema, kind))

    def deactivate(self, kind: K) -> None:
        self._store_module(activation.deactivate(self.state, kind))

    def choose(self, kind: K, module: str | None, lookup: str | None = None) -> None:
        self._store_module(rules.choose_crm_module(self.state, self.schema, kind, module, lookup))

    def row(self, mapper: M, alix: str) -> Row:
        return next(r for r in self.state.rows_of(mapper) if r.alix_field == alix)

    def customers_on(self) -> None:
        self.map(M.CUSTOMER, "currency", "Currency")
        self.activate(K.CUSTOMERS)

    def address_list(self, kind: K = K.BILLING, module: str = "Billing_Addresses") -> list[Row]:
        mapper = M(kind.value)
        self.choose(kind, module)
        made = [self.map(mapper, f, c) for f, c in (
            ("street", "Street"), ("city", "City"), ("country", "Country"),
            ("province", "Province"), ("postal_code", "Postal_Code"), ("is_main", "Default"),
            ("label", "Name"))]
        return made


@pytest.fixture
def cfg() -> Config:
    return Config()


# Preconfigured rows
def test_preconfigured_rows_are_in_place_and_locked(cfg: Config) -> None:
    pairs = {(r.mapper, r.alix_field, r.crm_field) for r in cfg.state.rows}
    assert pairs == {(M.CUSTOMER, "name", "Account_Name"), (M.CONTACT, "email", "Email"),
                     (M.CONTACT, "last_name", "Last_Name")}
    for row in cfg.state.rows:
        assert not rules.can_delete(cfg.state, row) and not rules.can_edit(cfg.state, row)
        with pytest.raises(Conflict, match="cannot be deleted"):
            cfg.delete(row)
        with pytest.raises(Conflict, match="cannot be modified"):
            cfg.edit(row, row.alix_field, "Website")


# Currency
def test_customers_need_currency_and_the_error_says_so(cfg: Config) -> None:
    with pytest.raises(ValidationFailed) as refused:
        cfg.activate(K.CUSTOMERS)
    assert "Map Currency before activating Customers" in str(refused.value)
    row = cfg.map(M.CUSTOMER, "currency", "Currency")
    cfg.activate(K.CUSTOMERS)
    assert cfg.state.module(K.CUSTOMERS).active
    assert not rules.can_delete(cfg.state, row)


def test_currency_is_modifiable_but_never_deletable(cfg: Config) -> None:
    row = cfg.map(M.CUSTOMER, "currency", "Currency")
    with pytest.raises(Conflict, match="cannot be deleted"):
        cfg.delete(row)
    cfg.map(M.CUSTOMER, "website", "Website")
    with pytest.raises(Conflict, match="must stay mapped"):
        cfg.edit(row, "phone", "Currency")
    other = CrmField("Currency_Code", "Currency code", "text", 3)
    cfg.schema = replace(MULTI, modules=(
        replace(MULTI.modules[0], fields=(*MULTI.modules[0].fields, other)), *MULTI.modules[1:]))
    assert cfg.edit(row, "currency", "Currency_Code").crm_field == "Currency_Code"
    cfg.edit(row, "currency", "Currency")
    cfg.activate(K.CUSTOMERS)
    with pytest.raises(Conflict, match="Deactivate Customers to change its required mappings"):
        cfg.edit(row, "currency", "Currency_Code")


def test_org_without_multi_currency_offers_home_currency_or_text(cfg: Config) -> None:
    single = Config(SINGLE)
    with pytest.raises(ValidationFailed) as refused:
        single.activate(K.CUSTOMERS)
    message = str(refused.value)
    assert "no multi-currency" in message and "home currency (GBP, fixed)" in message
    assert "text or picklist field of Accounts" in message and "Website" not in message
    row = single.add(M.CUSTOMER)
    row = single.edit(row, "currency", None)  # suggestion: the fixed home currency
    assert row.crm_field == HOME_CURRENCY and row.direction is Direction.CRM_TO_ALIX
    offered = {f.api_name for f in rules.offered_crm_fields(single.state, SINGLE, row)}
    assert HOME_CURRENCY in offered and "Billing_City" in offered and "Employees" not in offered
    single.activate(K.CUSTOMERS)
    assert activation.warnings(single.state, SINGLE, K.CUSTOMERS, ["GBP"]) == [
        w for w in activation.warnings(single.state, SINGLE, K.CUSTOMERS, ["GBP"])
        if "currency" not in w.lower()]
    assert any("CAD, EUR" in w for w in
               activation.warnings(single.state, SINGLE, K.CUSTOMERS, ["GBP", "CAD", "EUR"]))
    with pytest.raises(ValidationFailed):
        cfg.edit(cfg.add(M.CUSTOMER), "currency", HOME_CURRENCY)  # multi-currency org: no


def test_home_currency_only_for_currency() -> None:
    single = Config(SINGLE)
    with pytest.raises(ValidationFailed, match="can map"):
        single.edit(single.add(M.CUSTOMER), "website", HOME_CURRENCY)


# Rows: + / X / incomplete
def test_plus_while_a_row_is_incomplete_is_refused(cfg: Config) -> None:
    row = cfg.add(M.CUSTOMER)
    with pytest.raises(Conflict, match="Complete the field mapping in Customer field mapper"):
        cfg.add(M.CUSTOMER)
    cfg.add(M.CONTACT)  # another mapper is not affected
    cfg.edit(row, "website", None, suggest=False)
    with pytest.raises(Conflict):
        cfg.add(M.CUSTOMER)
    cfg.edit(row, "website", "Website")
    cfg.add(M.CUSTOMER)


def test_half_filled_rows_are_kept_but_block_activation(cfg: Config) -> None:
    cfg.map(M.CUSTOMER, "currency", "Currency")
    half = cfg.edit(cfg.add(M.CUSTOMER), None, "Phone", suggest=False)
    assert half.alix_field is None and not half.complete
    with pytest.raises(ValidationFailed, match="1 incomplete mapping"):
        cfg.activate(K.CUSTOMERS)
    cfg.delete(half)
    cfg.activate(K.CUSTOMERS)


def test_added_rows_can_be_deleted_any_time(cfg: Config) -> None:
    cfg.customers_on()
    extra = cfg.map(M.CUSTOMER, "website", "Website")
    assert rules.can_delete(cfg.state, extra)
    cfg.delete(extra)


# Types, duplicates, read-only
def test_dropdowns_offer_only_compatible_types(cfg: Config) -> None:
    row = cfg.edit(cfg.add(M.CUSTOMER), "is_active", None, suggest=False)
    assert {f.api_name for f in rules.offered_crm_fields(cfg.state, MULTI, row)} == {"Active"}
    row = cfg.edit(row, None, None)
    offered = {f.api_name for f in rules.offered_crm_fields(cfg.state, MULTI, row)}
    assert "Parent_Account" not in offered and "Account_Name" not in offered
    with pytest.raises(ValidationFailed, match="not compatible"):
        cfg.edit(row, "website", "Employees")
    with pytest.raises(ValidationFailed, match="not compatible"):
        cfg.edit(row, "is_active", "Phone")
    assert cfg.edit(row, "phone", "Website").complete  # text family maps to text family
    with pytest.raises(ValidationFailed, match="not compatible"):
        cfg.edit(row, "website", "Active")  # a boolean CRM field holds no text


def test_a_field_is_mapped_at_most_once_per_mapper(cfg: Config) -> None:
    cfg.map(M.CUSTOMER, "website", "Website")
    row = cfg.add(M.CUSTOMER)
    with pytest.raises(ValidationFailed, match="already mapped"):
        cfg.edit(row, "website", "Phone")
    with pytest.raises(ValidationFailed, match="already mapped"):
        cfg.edit(row, "phone", "Website")
    names = {f.name for f in rules.offered_alix_fields(cfg.state, row)}
    assert "website" not in names and "name" not in names and "phone" in names


def test_read_only_crm_fields_flow_crm_to_alix(cfg: Config) -> None:
    row = cfg.map(M.CUSTOMER, "notes", "Account_Number")
    assert row.direction is Direction.CRM_TO_ALIX
    assert cfg.edit(row, "notes", "Website").direction is Direction.BOTH


def test_unknown_fields_are_refused(cfg: Config) -> None:
    row = cfg.add(M.CUSTOMER)
    with pytest.raises(ValidationFailed, match="not an ALIX field"):
        cfg.edit(row, "shoe_size", None)
    with pytest.raises(ValidationFailed, match="not a field of Accounts"):
        cfg.edit(row, None, "Nope")


# Main addresses
def test_main_address_requires_five_fields_and_no_is_main(cfg: Config) -> None:
    cfg.customers_on()
    row = cfg.add(M.MAIN_BILLING)
    assert "is_main" not in {f.name for f in rules.offered_alix_fields(cfg.state, row)}
    with pytest.raises(ValidationFailed, match="can map"):
        cfg.edit(row, "is_main", None)
    assert cfg.edit(row, "street", None).crm_field == "Billing_Street"  # suggested
    with pytest.raises(ValidationFailed) as refused:
        cfg.activate(K.MAIN_BILLING)
    assert "City, Country, Province / state, Postal code" in str(refused.value)
    for field in ("city", "country", "province", "postal_code"):
        cfg.edit(cfg.add(M.MAIN_BILLING), field, None)
    cfg.activate(K.MAIN_BILLING)
    street = cfg.row(M.MAIN_BILLING, "street")
    with pytest.raises(Conflict, match="Deactivate Main billing address to change its required"):
        cfg.delete(street)
    with pytest.raises(Conflict, match="Deactivate Main billing address"):
        cfg.edit(street, "street", "Billing_City")
    cfg.deactivate(K.MAIN_BILLING)
    cfg.delete(street)


def test_main_shipping_suggests_shipping_fields(cfg: Config) -> None:
    assert cfg.edit(cfg.add(M.MAIN_SHIPPING), "postal_code", None).crm_field == "Shipping_Code"


def test_address_modules_need_customers_active(cfg: Config) -> None:
    for field in ("street", "city", "country", "province", "postal_code"):
        cfg.edit(cfg.add(M.MAIN_SHIPPING), field, None)
    with pytest.raises(Conflict, match="Activate Customers before Main shipping address"):
        cfg.activate(K.MAIN_SHIPPING)
    cfg.customers_on()
    cfg.activate(K.MAIN_SHIPPING)
    with pytest.raises(Conflict, match="Deactivate Main shipping address first"):
        cfg.deactivate(K.CUSTOMERS)
    cfg.deactivate(K.MAIN_SHIPPING)
    cfg.deactivate(K.CUSTOMERS)


# Custom address modules
def test_only_custom_modules_with_an_account_lookup_are_offered(cfg: Config) -> None:
    offered = [m.api_name for m in rules.offered_crm_modules(MULTI)]
    assert offered == ["Billing_Addresses", "Shipping_Addresses", "Sites"]
    with pytest.raises(ValidationFailed, match="lookup to Accounts"):
        cfg.choose(K.BILLING, "Projects")
    with pytest.raises(ValidationFailed):
        cfg.choose(K.BILLING, "Accounts")
    with pytest.raises(Conflict, match="always syncs with Accounts"):
        cfg.choose(K.MAIN_BILLING, "Billing_Addresses")


def test_one_crm_module_serves_one_address_module(cfg: Config) -> None:
    cfg.choose(K.SHIPPING, "Shipping_Addresses")
    with pytest.raises(Conflict, match="already holds the shipping addresses"):
        cfg.choose(K.BILLING, "Shipping_Addresses")
    cfg.choose(K.BILLING, "Billing_Addresses")


def test_several_lookups_need_a_second_choice(cfg: Config) -> None:
    cfg.customers_on()
    cfg.choose(K.SHIPPING, "Sites")
    assert cfg.state.module(K.SHIPPING).account_lookup is None
    with pytest.raises(ValidationFailed, match="several lookups to Accounts"):
        cfg.activate(K.SHIPPING)
    with pytest.raises(ValidationFailed, match=r"Billed_Account, Account|Account, Billed_Account"):
        cfg.choose(K.SHIPPING, "Sites", "Owner")
    cfg.choose(K.SHIPPING, "Sites", "Billed_Account")
    assert cfg.state.module(K.SHIPPING).account_lookup == "Billed_Account"
    for field, crm in (("street", "Street"), ("city", "City"), ("country", "Country"),
                       ("province", "Province"), ("postal_code", "Postal_Code"),
                       ("is_main", "Default"), ("label", "Name")):
        cfg.map(M.SHIPPING, field, crm)
    cfg.activate(K.SHIPPING)
    with pytest.raises(Conflict, match="Deactivate Shipping addresses to change its lookup"):
        cfg.choose(K.SHIPPING, "Sites", "Account")


def test_the_module_is_chosen_before_mapping(cfg: Config) -> None:
    with pytest.raises(Conflict, match="Choose the CRM module of Billing addresses"):
        cfg.add(M.BILLING)


def test_address_list_requires_fields_is_main_and_name(cfg: Config) -> None:
    cfg.customers_on()
    cfg.choose(K.BILLING, "Billing_Addresses")
    assert cfg.edit(cfg.add(M.BILLING), "is_main", None).crm_field == "Default"
    assert cfg.edit(cfg.add(M.BILLING), None, "Name").alix_field == "label"  # suggested source
    with pytest.raises(ValidationFailed) as refused:
        cfg.activate(K.BILLING)
    assert "Street, City, Country, Province / state, Postal code." in str(refused.value)
    for field in ("street", "city", "country", "province", "postal_code"):
        cfg.edit(cfg.add(M.BILLING), field, None)
    cfg.activate(K.BILLING)


def test_name_is_required_on_the_crm_side(cfg: Config) -> None:
    cfg.customers_on()
    rows = cfg.address_list()
    cfg.delete(rows[-1])
    with pytest.raises(ValidationFailed, match="Name"):
        cfg.activate(K.BILLING)


def test_deactivate_then_delete_mappings_then_change_module(cfg: Config) -> None:
    cfg.customers_on()
    rows = cfg.address_list()
    cfg.activate(K.BILLING)
    with pytest.raises(Conflict, match="Deactivate Billing addresses, then delete its field"):
        cfg.choose(K.BILLING, "Shipping_Addresses")
    with pytest.raises(Conflict, match="Deactivate Billing addresses to change"):
        cfg.delete(rows[0])
    cfg.deactivate(K.BILLING)
    with pytest.raises(Conflict, match="Delete the field mappings of Billing addresses"):
        cfg.choose(K.BILLING, "Shipping_Addresses")
    for row in rows:
        cfg.delete(row)
    cfg.choose(K.BILLING, "Shipping_Addresses")
    assert cfg.state.module(K.BILLING).crm_module == "Shipping_Addresses"
    cfg.choose(K.BILLING, "Shipping_Addresses")  # choosing the same one again is harmless


def test_a_mapped_field_gone_from_the_crm_blocks_activation(cfg: Config) -> None:
    cfg.map(M.CUSTOMER, "currency", "Currency")
    cfg.map(M.CUSTOMER, "website", "Website")
    accounts = MULTI.modules[0]
    cfg.schema = replace(MULTI, modules=(  # the metadata was refreshed after Website was deleted
        replace(accounts, fields=tuple(f for f in accounts.fields if f.api_name != "Website")),
        *MULTI.modules[1:]))
    with pytest.raises(ValidationFailed, match="The CRM field Website mapped to Website no "
                                               "longer exists in Accounts"):
        cfg.activate(K.CUSTOMERS)


# Warnings before activation
def test_missing_currencies_and_longer_values_are_flagged(cfg: Config) -> None:
    cfg.map(M.CUSTOMER, "currency", "Currency")
    found = activation.warnings(cfg.state, MULTI, K.CUSTOMERS, ["CAD", "USD", "EUR", "JPY"])
    assert any("lacks EUR, JPY" in w for w in found)
    assert any(w.startswith("Email allows 254 characters") and "only 100" in w for w in found)
    assert not any("Customer name" in w for w in found)  # 200 fits in 200


# Policies
def test_policies_default_and_choices() -> None:
    assert rules.Policies().delete_alix_to_crm is rules.DeletePolicy.MARK_INACTIVE
    chosen = rules.policies("ask", "delete", "ignore")
    assert chosen.conflict is rules.ConflictPolicy.ASK
    with pytest.raises(ValidationFailed, match=r"most_recent, crm_wins, alix_wins, ask"):
        rules.policies("coin_flip", "delete", "ignore")


# The configuration the sync reads
def test_configuration_is_frozen_and_leaves_incomplete_rows_out(cfg: Config) -> None:
    cfg.customers_on()
    cfg.map(M.CUSTOMER, "notes", "Account_Number")
    cfg.add(M.CONTACT)
    config = build(connection_id=1, organisation_id=2, version=7, zoho_org_id="600",
                   state=cfg.state, schema=MULTI)
    assert config.version == 7 and config.module(K.CUSTOMERS).active
    contact = config.mapper(M.CONTACT)
    assert [f.alix_field for f in contact.fields] == ["email", "last_name"]
    notes = config.mapper(M.CUSTOMER).field_for("notes")
    assert notes is not None and notes.direction is Direction.CRM_TO_ALIX
    assert config.module(K.BILLING).crm_module is None
    with pytest.raises(AttributeError):
        config.version = 8  # type: ignore[misc]
