"""Before the first sync: what Zoho holds that ALIX would reject, found cheaply, with its fix.

Today: Accounts in a currency the organisation does not trade in (rejected, and their Contacts
with them). One COQL call reads 2,000 Accounts' currency; the scan stops at READ_AT_MOST, an
early warning rather than an audit (the status page lists every record after the sync).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .causes import ORGANISATION_PAGE
from .client.port import ZohoCrm
from .mappers import MODULES, MapperKind, ModuleKind
from .schema import HOME_CURRENCY
from .tables import ZohoFieldMapping, ZohoModule

COQL_PAGE = 2000  # COQL's largest LIMIT
READ_AT_MOST = 20_000


@dataclass(frozen=True)
class Warning:
    message: str
    fix: str
    fix_link: str


def currency_source(session: Session, connection_id: int) -> tuple[str, str] | None:
    """(CRM module, CRM field) the customers' currency is read from, as configured on Details;
    None when it is not read from Zoho (unmapped, or the org's fixed home currency)."""
    module = session.scalar(select(ZohoModule.crm_module).where(
        ZohoModule.connection_id == connection_id,
        ZohoModule.kind == ModuleKind.CUSTOMERS.value)) or MODULES[ModuleKind.CUSTOMERS].crm_module
    field = session.scalar(select(ZohoFieldMapping.crm_field).where(
        ZohoFieldMapping.connection_id == connection_id,
        ZohoFieldMapping.mapper == MapperKind.CUSTOMER.value,
        ZohoFieldMapping.alix_field == "currency",
        ZohoFieldMapping.crm_field.is_not(None)).limit(1))
    if not module or not field or field == HOME_CURRENCY:
        return None
    return module, field


async def currencies_in_use(crm: ZohoCrm, module: str, field: str) -> Counter[str]:
    """How many records of `module` use each value of `field` (the first READ_AT_MOST)."""
    seen: Counter[str] = Counter()
    for offset in range(0, READ_AT_MOST, COQL_PAGE):
        page = await crm.coql(f"select {field} from {module} where id is not null "
                              f"limit {offset}, {COQL_PAGE}")
        seen.update(str(row[field]) for row in page.rows if row.get(field))
        if not page.more_records:
            break
    return seen


def _records(module: str, n: int) -> str:
    return f"1 Zoho {module} record uses" if n == 1 else f"{n} Zoho {module} use"


def currency_warnings(module: str, used: Counter[str], ours: Collection[str]) -> list[Warning]:
    """One warning per currency Zoho uses that the organisation lacks, the most used first."""
    return [
        Warning(f"{_records(module, n)} {code}, which is not one of your "
                f"currencies: the sync would reject {'it' if n == 1 else 'them'} and "
                f"{'its' if n == 1 else 'their'} Contacts.",
                f"Add {code} to your organisation", ORGANISATION_PAGE)
        for code, n in used.most_common() if code.upper() not in ours
    ]


async def warnings(crm: ZohoCrm, source: tuple[str, str],
                   currencies: Collection[str]) -> list[Warning]:
    module, field = source
    return currency_warnings(module, await currencies_in_use(crm, module, field), currencies)
