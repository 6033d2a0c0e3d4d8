"""The modules and fields a new org starts with, shaped like the seed data (issue 4)."""

from __future__ import annotations

from collections.abc import Callable

from .schema import Field, Module

ACCOUNT_TYPES = ("Analyst", "Competitor", "Customer", "Distributor", "Integrator", "Investor",
                 "Partner", "Press", "Prospect", "Reseller", "Supplier", "Vendor", "Other")
INDUSTRIES = ("ASP (Application Service Provider)", "Data/Telecom OEM", "ERP (Enterprise "
              "Resource Planning)", "Government/Military", "Large Enterprise", "Management ISV",
              "MSP (Management Service Provider)", "Network Equipment Enterprise",
              "Non-management ISV", "Optical Networking", "Service Provider",
              "Small/Medium Enterprise", "Storage Equipment", "Storage Service Provider",
              "Systems Integrator", "Wireless Industry", "Communications", "Consulting",
              "Education", "Financial Services", "Manufacturing", "Retail", "Technology")
LEAD_SOURCES = ("Advertisement", "Cold Call", "Employee Referral", "External Referral",
                "Online Store", "Partner", "Public Relations", "Sales Email Alias",
                "Seminar Partner", "Internal Seminar", "Trade Show", "Web Download",
                "Web Research", "Chat")
STAGES = ("Qualification", "Needs Analysis", "Value Proposition", "Id. Decision Makers",
          "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost")

IdSource = Callable[[], int]


def add_system_fields(module: Module, ids: IdSource) -> None:
    module.add(Field("Owner", f"{module.singular_label} Owner", "ownerlookup", ids()))
    module.add(Field("Created_By", "Created By", "ownerlookup", ids(), read_only=True))
    module.add(Field("Modified_By", "Modified By", "ownerlookup", ids(), read_only=True))
    module.add(Field("Created_Time", "Created Time", "datetime", ids(), read_only=True))
    module.add(Field("Modified_Time", "Modified Time", "datetime", ids(), read_only=True))


def _currency(module: Module, ids: IdSource, currencies: tuple[str, ...]) -> None:
    # Only orgs with multi-currency show Currency / Exchange_Rate (zoho-crm-api.md 5.6).
    if currencies:
        module.add(Field("Currency", "Currency", "picklist", ids(), picklist=currencies))
        module.add(Field("Exchange_Rate", "Exchange Rate", "decimal", ids(), length=16))


def _address(module: Module, ids: IdSource, prefix: str, code: str, label: str) -> None:
    module.add(Field(f"{prefix}_Street", f"{label} Street", "text", ids(), length=250))
    module.add(Field(f"{prefix}_City", f"{label} City", "text", ids(), length=100))
    module.add(Field(f"{prefix}_State", f"{label} State", "text", ids(), length=100))
    module.add(Field(f"{prefix}_{code}", f"{label} Code", "text", ids(), length=30))
    module.add(Field(f"{prefix}_Country", f"{label} Country", "text", ids(), length=100))


def accounts(ids: IdSource, currencies: tuple[str, ...]) -> Module:
    m = Module("Accounts", "Accounts", "Account", "Accounts", ids(), display_field="Account_Name",
               sequence_number=3)
    add_system_fields(m, ids)
    m.add(Field("Account_Name", "Client Name", "text", ids(), length=200, mandatory=True,
                unique=True))
    m.add(Field("Account_Number", "Account Number", "bigint", ids()))
    m.add(Field("Account_Site", "Account Site", "text", ids(), length=30))
    m.add(Field("Parent_Account", "Parent Account", "lookup", ids(), lookup="Accounts"))
    m.add(Field("Website", "Website", "website", ids()))
    m.add(Field("Phone", "Phone", "phone", ids()))
    m.add(Field("Fax", "Fax", "phone", ids()))
    m.add(Field("Account_Type", "Account Type", "picklist", ids(), picklist=ACCOUNT_TYPES))
    m.add(Field("Industry", "Industry", "picklist", ids(), picklist=INDUSTRIES))
    m.add(Field("Employees", "Employees", "integer", ids()))
    m.add(Field("Annual_Revenue", "Annual Revenue", "currency", ids()))
    m.add(Field("Ticker_Symbol", "Ticker Symbol", "text", ids(), length=30))
    _address(m, ids, "Billing", "Code", "Billing")
    _address(m, ids, "Shipping", "Code", "Shipping")
    m.add(Field("Description", "Description", "textarea", ids()))
    _currency(m, ids, currencies)
    m.add(Field("Active", "Active", "boolean", ids(), custom=True))
    return m


def contacts(ids: IdSource) -> Module:
    m = Module("Contacts", "Contacts", "Contact", "Contacts", ids(), display_field="Full_Name",
               sequence_number=4)
    add_system_fields(m, ids)
    m.add(Field("Salutation", "Salutation", "picklist", ids(),
                picklist=("Mr.", "Mrs.", "Ms.", "Dr.", "Prof.")))
    m.add(Field("First_Name", "First Name", "text", ids(), length=40))
    m.add(Field("Last_Name", "Last Name", "text", ids(), length=80, mandatory=True))
    m.add(Field("Full_Name", "Contact Name", "text", ids(), read_only=True))
    m.add(Field("Email", "Email", "email", ids(), unique=True))
    m.add(Field("Secondary_Email", "Secondary Email", "email", ids()))
    m.add(Field("Phone", "Phone", "phone", ids()))
    m.add(Field("Mobile", "Mobile", "phone", ids()))
    m.add(Field("Title", "Title", "text", ids(), length=100))
    m.add(Field("Department", "Department", "text", ids(), length=30))
    m.add(Field("Account_Name", "Account Name", "lookup", ids(), lookup="Accounts"))
    m.add(Field("Lead_Source", "Lead Source", "picklist", ids(), picklist=LEAD_SOURCES))
    m.add(Field("Date_of_Birth", "Date of Birth", "date", ids()))
    m.add(Field("Email_Opt_Out", "Email Opt Out", "boolean", ids()))
    _address(m, ids, "Mailing", "Zip", "Mailing")
    m.add(Field("Description", "Description", "textarea", ids()))
    return m


def leads(ids: IdSource, currencies: tuple[str, ...]) -> Module:
    m = Module("Leads", "Leads", "Lead", "Leads", ids(), display_field="Full_Name",
               sequence_number=2)
    add_system_fields(m, ids)
    m.add(Field("First_Name", "First Name", "text", ids(), length=40))
    m.add(Field("Last_Name", "Last Name", "text", ids(), length=80, mandatory=True))
    m.add(Field("Full_Name", "Lead Name", "text", ids(), read_only=True))
    m.add(Field("Company", "Company", "text", ids(), length=200))
    m.add(Field("Email", "Email", "email", ids(), unique=True))
    m.add(Field("Phone", "Phone", "phone", ids()))
    m.add(Field("Lead_Source", "Lead Source", "picklist", ids(), picklist=LEAD_SOURCES))
    m.add(Field("Annual_Revenue", "Annual Revenue", "currency", ids()))
    _currency(m, ids, currencies)
    return m


def deals(ids: IdSource, currencies: tuple[str, ...]) -> Module:
    m = Module("Deals", "Deals", "Deal", "Deals", ids(), display_field="Deal_Name",
               sequence_number=5)
    add_system_fields(m, ids)
    m.add(Field("Deal_Name", "Deal Name", "text", ids(), length=120, mandatory=True))
    m.add(Field("Stage", "Stage", "picklist", ids(), mandatory=True, picklist=STAGES))
    m.add(Field("Amount", "Amount", "currency", ids()))
    m.add(Field("Closing_Date", "Closing Date", "date", ids()))
    m.add(Field("Account_Name", "Account Name", "lookup", ids(), lookup="Accounts"))
    m.add(Field("Contact_Name", "Contact Name", "lookup", ids(), lookup="Contacts"))
    _currency(m, ids, currencies)
    return m


def address_module(ids: IdSource, api_name: str, number: int, label: str) -> Module:
    m = Module(api_name, f"CustomModule{number}", f"{label} Address", f"{label} Addresses",
               ids(), generated_type="custom", sequence_number=10 + number)
    add_system_fields(m, ids)
    m.add(Field("Name", f"{label} Address Name", "text", ids(), length=120, mandatory=True))
    m.add(Field("Account", "Account", "lookup", ids(), custom=True, lookup="Accounts"))
    m.add(Field("Street", "Street", "text", ids(), custom=True))
    m.add(Field("City", "City", "text", ids(), length=100, custom=True))
    m.add(Field("Province", "Province", "text", ids(), length=100, custom=True))
    m.add(Field("Postal_Code", "Postal Code", "text", ids(), length=30, custom=True))
    m.add(Field("Country", "Country", "text", ids(), length=100, custom=True))
    m.add(Field("Default", "Default", "boolean", ids(), custom=True))
    return m


def projects(ids: IdSource) -> Module:
    """A custom module with no lookup to Accounts, so module lists look like a real org's."""
    m = Module("Projects", "CustomModule3", "Project", "Projects", ids(), generated_type="custom",
               sequence_number=12)
    add_system_fields(m, ids)
    m.add(Field("Name", "Project Name", "text", ids(), length=120, mandatory=True))
    m.add(Field("Status", "Status", "picklist", ids(), custom=True,
                picklist=("Planned", "Running", "Done")))
    m.add(Field("Budget", "Budget", "double", ids(), custom=True))
    m.add(Field("Start_Date", "Start Date", "date", ids(), custom=True))
    return m


def default_modules(ids: IdSource, currencies: tuple[str, ...]) -> dict[str, Module]:
    """All modules of a fresh org; `currencies` is empty when multi-currency is off."""
    home = Module("Home", "Home", "Home", "Home", ids(), api_supported=False, sequence_number=1)
    mods = [home, leads(ids, currencies), accounts(ids, currencies), contacts(ids),
            deals(ids, currencies), projects(ids),
            address_module(ids, "Billing_Addresses", 4, "Billing"),
            address_module(ids, "Shipping_Addresses", 5, "Shipping")]
    return {m.api_name: m for m in mods}
