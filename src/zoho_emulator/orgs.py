"""Orgs and their users, currencies, edition and limits; the two built-in orgs."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from .catalog import default_modules
from .ids import IdFactory
from .schema import Module
from .store import ModuleStore

# Credits per rolling 24 h and concurrency by edition (zoho-crm-api.md 8.2, 8.3):
# (base, per user, maximum or None for unlimited, concurrency).
EDITIONS: dict[str, tuple[int, int, int | None, int]] = {
    "free": (5_000, 0, 5_000, 5),
    "standard": (50_000, 250, 100_000, 10),
    "professional": (50_000, 500, 3_000_000, 15),
    "enterprise": (50_000, 1_000, 5_000_000, 20),
    "ultimate": (50_000, 2_000, None, 25),
}


@dataclass
class User:
    id: str
    first_name: str
    last_name: str
    email: str
    time_zone: str
    role: str
    profile: str

    def __post_init__(self) -> None:
        self.zone = ZoneInfo(self.time_zone)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def ref(self) -> dict[str, str]:
        return {"name": self.full_name, "id": self.id}

    def owner_ref(self) -> dict[str, str]:
        return {"name": self.full_name, "id": self.id, "email": self.email}


@dataclass
class Currency:
    iso_code: str
    name: str
    symbol: str
    exchange_rate: str
    id: str
    is_base: bool = False


@dataclass
class Org:
    """One CRM org: users, data stores per module, edition and limits."""

    id: str
    company_name: str
    edition: str
    time_zone: str
    home_currency: Currency
    currencies: list[Currency]
    mc_status: bool
    users: dict[str, User]
    ids: IdFactory
    modules: dict[str, Module] = field(default_factory=dict)
    stores: dict[str, ModuleStore] = field(default_factory=dict)
    created_time: float = 0.0
    credits_override: int | None = None
    concurrency_override: int | None = None

    @property
    def admin(self) -> User:
        return next(iter(self.users.values()))

    def store(self, module: str) -> ModuleStore:
        return self.stores[module]

    def add_module(self, module: Module) -> None:
        self.modules[module.api_name] = module
        self.stores[module.api_name] = ModuleStore(module)

    def currency(self, iso_code: str) -> Currency | None:
        return next((c for c in self.currencies if c.iso_code == iso_code), None)

    def daily_credits(self) -> int | None:
        if self.credits_override is not None:
            return self.credits_override
        base, per_user, cap, _ = EDITIONS[self.edition]
        total = base + per_user * len(self.users)
        return total if cap is None else min(total, cap)

    def concurrency(self) -> int:
        if self.concurrency_override is not None:
            return self.concurrency_override
        return EDITIONS[self.edition][3]


def _org(org_id: str, name: str, edition: str, tz: str, prefix: int, users: list[User],
         currencies: list[Currency], mc: bool) -> Org:
    ids = IdFactory(prefix)
    home = next(c for c in currencies if c.is_base)
    org = Org(org_id, name, edition, tz, home, currencies, mc, {u.id: u for u in users}, ids)
    codes = tuple(c.iso_code for c in currencies) if mc else ()
    for module in default_modules(ids.next, codes).values():
        org.add_module(module)
    return org


def default_orgs(edition: str = "enterprise") -> dict[str, Org]:
    """The default org (multi-currency, CAD home) and a second org without multi-currency."""
    maple = _org(
        "60012345", "Maple Leaf Trading Inc.", edition, "America/Toronto", 5725767,
        [User("5725767000000411001", "Jo", "Admin", "jo.admin@mapleleaf.example",
              "America/Toronto", "CEO", "Administrator"),
         User("5725767000000411002", "Sam", "Seller", "sam.seller@mapleleaf.example",
              "Europe/London", "Manager", "Standard")],
        [Currency("CAD", "Canadian Dollar - CAD", "$", "1.000000000", "5725767000000370001",
                  is_base=True),
         Currency("USD", "US Dollar - USD", "US$", "0.730000000", "5725767000000370002"),
         Currency("EUR", "Euro - EUR", "€", "0.670000000", "5725767000000370003"),
         Currency("GBP", "Pound Sterling - GBP", "£", "0.580000000", "5725767000000370004")],
        mc=True)
    brook = _org(
        "60067890", "Brookside Widgets Ltd", "professional", "Europe/London", 4876876,
        [User("4876876000000311001", "Alex", "Owner", "alex.owner@brookside.example",
              "Europe/London", "CEO", "Administrator"),
         User("4876876000000311002", "Priya", "Rao", "priya.rao@brookside.example",
              "Asia/Kolkata", "Manager", "Standard")],
        [Currency("GBP", "Pound Sterling - GBP", "£", "1.000000000", "4876876000000370001",
                  is_base=True)],
        mc=False)
    return {maple.id: maple, brook.id: brook}
