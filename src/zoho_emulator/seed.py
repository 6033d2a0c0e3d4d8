"""Deterministic demo data: accounts, contacts and custom-module addresses with realistic values.

Writes go straight into the stores (no API duplicate check), so an org can hold duplicate
Account_Names as real orgs imported before the check do; one ChangeEvent per module is published
with `via_api=False` and no field values.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .events import ChangeEvent
from .orgs import Org
from .store import Record

PREFIXES = ("Northern", "Maple", "Summit", "Harbour", "Prairie", "Granite", "Cedar", "Lakeside",
            "Atlantic", "Pacific", "Aurora", "Bluewater", "Silverline", "Redwood", "Ironbridge",
            "Evergreen", "Highland", "Riverside", "Golden", "Crescent", "Pinnacle", "Keystone",
            "Meridian", "Horizon", "Falcon", "Beacon", "Orchard", "Stonegate", "Willow", "Union")
CORES = ("Logistics", "Foods", "Software", "Dental", "Builders", "Analytics", "Energy",
         "Textiles", "Pharma", "Robotics", "Consulting", "Hardware", "Media", "Outfitters",
         "Motors", "Brewing", "Marine", "Labs", "Realty", "Furniture", "Paper", "Optics",
         "Insurance", "Travel", "Printing", "Security", "Farms", "Chemicals", "Telecom", "Steel")
SUFFIXES = ("Inc.", "Ltd", "Corp.", "LLC", "GmbH", "SARL", "Co.", "Group", "Holdings", "Partners")
STREETS = ("King St W", "Queen St E", "Main St", "Yonge St", "Bay St", "Rue Sainte-Catherine",
           "High Street", "Market Ave", "Elm Road", "Broadway", "Hauptstrasse", "Church Lane",
           "Victoria Rd", "Granville St", "Jasper Ave", "Portage Ave", "Oak Drive", "Pine St")
PLACES = (  # city, province/state, postal code pattern, country, currency
    ("Toronto", "ON", "M5V 2T6", "Canada", "CAD"), ("Montreal", "QC", "H3B 4W8", "Canada", "CAD"),
    ("Vancouver", "BC", "V6B 1A1", "Canada", "CAD"), ("Calgary", "AB", "T2P 1J9", "Canada", "CAD"),
    ("Halifax", "NS", "B3H 1A1", "Canada", "CAD"), ("Ottawa", "ON", "K1P 5G4", "Canada", "CAD"),
    ("New York", "NY", "10001", "United States", "USD"),
    ("Chicago", "IL", "60601", "United States", "USD"),
    ("Seattle", "WA", "98101", "United States", "USD"),
    ("London", "Greater London", "EC1A 1BB", "United Kingdom", "GBP"),
    ("Manchester", "Greater Manchester", "M1 1AE", "United Kingdom", "GBP"),
    ("Berlin", "Berlin", "10115", "Germany", "EUR"), ("Paris", "Ile-de-France", "75001",
                                                      "France", "EUR"),
    ("Dublin", "Leinster", "D02 X285", "Ireland", "EUR"))
FIRST = ("Olivia", "Liam", "Emma", "Noah", "Amelia", "William", "Sophia", "James", "Chloe",
         "Lucas", "Zoe", "Ethan", "Maya", "Benjamin", "Aisha", "Mateo", "Priya", "Hiroshi",
         "Fatima", "Pierre", "Ingrid", "Diego", "Mei", "Kwame", "Sofia", "Jonas")
LAST = ("Tremblay", "Smith", "Roy", "Gagnon", "Lee", "Wilson", "Martin", "Brown", "Singh",
        "Nguyen", "Muller", "Dubois", "O'Brien", "Kowalski", "Rossi", "Haddad", "Chen", "Patel",
        "Okafor", "Johansson", "Garcia", "Yamamoto", "MacDonald", "Campbell", "Fraser", "Khan")
TITLES = ("CEO", "CFO", "Purchasing Manager", "Accounts Payable", "Operations Lead",
          "Office Manager", "Sales Director", "IT Manager", None)
TYPES = ("Customer", "Prospect", "Partner", "Reseller", "Vendor")
INDUSTRIES = ("Manufacturing", "Retail", "Technology", "Consulting", "Financial Services",
              "Education", "Communications")


@dataclass(frozen=True)
class SeedSpec:
    accounts: int = 0
    contacts_per_account: int = 0
    addresses_per_account: int = 0
    seed: int = 1


def _name(i: int) -> str:
    p, rest = i % len(PREFIXES), i // len(PREFIXES)
    c, rest = rest % len(CORES), rest // len(CORES)
    s, rest = rest % len(SUFFIXES), rest // len(SUFFIXES)
    base = f"{PREFIXES[p]} {CORES[c]} {SUFFIXES[s]}"
    return base if rest == 0 else f"{base} ({PLACES[rest % len(PLACES)][0]} {rest})"


def seed_org(org: Org, spec: SeedSpec, now: int, publish: object = None) -> dict[str, int]:
    """Fill `org` with `spec`'s data; the same spec always yields the same values and order."""
    rng = random.Random(spec.seed)
    users = list(org.users)
    admin = users[0]
    codes = {c.iso_code for c in org.currencies} if org.mc_status else set()
    rates = {c.iso_code: float(c.exchange_rate) for c in org.currencies}
    accounts, contacts = org.store("Accounts"), org.store("Contacts")
    billing, shipping = org.store("Billing_Addresses"), org.store("Shipping_Addresses")
    made = {"Accounts": [], "Contacts": [], "Billing_Addresses": [],
            "Shipping_Addresses": []}  # type: dict[str, list[int]]
    offset = rng.randrange(900)
    for i in range(spec.accounts):
        # About one account in 40 repeats an earlier name, as orgs with old imports do.
        name = _name(offset + i) if i < 5 or rng.random() > 0.025 else _name(
            offset + rng.randrange(i))
        city, province, postal, country, currency = PLACES[rng.randrange(len(PLACES))]
        street = f"{rng.randrange(1, 9999)} {STREETS[rng.randrange(len(STREETS))]}"
        created = now - rng.randrange(86_400, 86_400 * 900)
        owner = admin if rng.random() < 0.8 else users[1]
        domain = name.split(" (")[0].lower().replace(" ", "").replace(".", "") + ".example"
        rec: Record = {
            "Account_Name": name, "Phone": f"+1 {rng.randrange(200, 999)} 555 {i % 10000:04d}",
            "Website": f"https://www.{domain}", "Account_Type": TYPES[rng.randrange(5)],
            "Industry": INDUSTRIES[rng.randrange(7)], "Employees": rng.randrange(1, 5000),
            "Annual_Revenue": float(rng.randrange(10, 50_000) * 1000),
            "Billing_Street": street, "Billing_City": city, "Billing_State": province,
            "Billing_Code": postal, "Billing_Country": country, "Active": rng.random() > 0.1,
            "Owner": owner, "Created_By": admin, "Modified_By": owner,
            "Created_Time": created, "Modified_Time": created + rng.randrange(0, 86_400)}
        if rng.random() < 0.7:
            rec.update(Shipping_Street=street, Shipping_City=city, Shipping_State=province,
                       Shipping_Code=postal, Shipping_Country=country)
        if codes:
            code = currency if currency in codes else org.home_currency.iso_code
            rec["Currency"], rec["Exchange_Rate"] = code, rates[code]
        aid = org.ids.next()
        accounts.put(aid, rec)
        made["Accounts"].append(aid)
        for j in range(spec.contacts_per_account):
            made["Contacts"].append(_contact(org, rng, contacts, aid, domain, rec, i, j))
        for label, store in (("Billing", billing), ("Shipping", shipping)):
            for k in range(spec.addresses_per_account):
                rid = org.ids.next()
                store.put(rid, {"Name": f"{label} {k + 1} - {name}"[:120], "Account": aid,
                                "Street": street if k == 0 else f"{k} {STREETS[k % 18]}",
                                "City": city, "Province": province, "Postal_Code": postal,
                                "Country": country, "Default": k == 0, "Owner": admin,
                                "Created_By": admin, "Modified_By": admin,
                                "Created_Time": created, "Modified_Time": created})
                made[store.module.api_name].append(rid)
        if spec.contacts_per_account and i % 10 == 9:
            # Some contacts belong to no account.
            made["Contacts"].append(_contact(org, rng, contacts, None, "mail.example", rec, i,
                                             spec.contacts_per_account))
    if callable(publish):
        for module, ids in made.items():
            if ids:
                publish(ChangeEvent(org.id, module, "insert", tuple(str(x) for x in ids),
                                    admin, False, [], {}))
    return {m: len(ids) for m, ids in made.items()}


def _contact(org: Org, rng: random.Random, store: object, aid: int | None, domain: str,
             account: Record, i: int, j: int) -> int:
    first, last = FIRST[rng.randrange(len(FIRST))], LAST[rng.randrange(len(LAST))]
    rec: Record = {"First_Name": first, "Last_Name": last, "Full_Name": f"{first} {last}",
                   "Phone": f"+1 416 555 {(i * 7 + j) % 10000:04d}",
                   "Mailing_City": account["Billing_City"],
                   "Mailing_Country": account["Billing_Country"],
                   "Owner": account["Owner"], "Created_By": account["Created_By"],
                   "Modified_By": account["Owner"], "Created_Time": account["Created_Time"],
                   "Modified_Time": account["Modified_Time"]}
    if rng.random() > 0.1:  # some contacts have no email
        local = f"{first}.{last}".lower().replace("'", "")
        rec["Email"] = f"{local}.{i}.{j}@{domain}"
    title = TITLES[rng.randrange(len(TITLES))]
    if title:
        rec["Title"] = title
    if aid is not None:
        rec["Account_Name"] = aid
    rid = org.ids.next()
    store.put(rid, rec)  # type: ignore[attr-defined]
    return rid
