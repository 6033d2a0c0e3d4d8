"""Why records wait: the cause of an open sync issue (code + field + value) and its fix.

Pure. Hundreds of rejected records usually share one cause (34 Accounts in a currency the
organisation lacks) and their Contacts follow it (their Account is not imported): people fix the
cause once, so the status page groups by it. Causes are read from the issue's code, field and
message, the sentences the sync writes (customers.domain and sync.engine.apply).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ORGANISATION_PAGE = "/settings/organisation"
CURRENCY = "Currency"

_CURRENCY = re.compile(r"\b(?P<code>[A-Z]{3}) is not one of your organisation's currencies")
# apply.py's follow-on: "... is not imported: its Account 5725767000004100001 is not imported"
_PARENT = re.compile(r"its Account (?P<zoho_id>\d+) is not imported")
# "Zoho Accounts record 123 cannot be imported: <what is wrong>": the part after the colon is
# the same for every record with the same problem.
_AFTER_ID = re.compile(r"^.*?\b\d{6,}\b[^:]*:\s*")


@dataclass(frozen=True)
class Cause:
    code: str
    field: str | None
    value: str | None
    title: str
    fix: str
    fix_link: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.code, self.field or "", self.value or "")


def parent_of(code: str, message: str) -> str | None:
    """The Zoho id of the Account a follow-on record waits on, or None."""
    if code != "parent_missing":
        return None
    found = _PARENT.search(message)
    return found.group("zoho_id") if found else None


def cause_of(code: str, field: str | None, message: str) -> Cause:
    """The cause of one issue; records with the same problem get equal causes."""
    currency = _CURRENCY.search(message)
    if currency is not None:
        value = currency.group("code")
        return Cause(code, CURRENCY, value, f"Currency {value} is not one of your currencies",
                     f"Add {value} to your organisation: the records waiting on it are "
                     "retried at once.", ORGANISATION_PAGE)
    if code == "conflict":
        return Cause(code, field, None, f"Both sides changed {field or 'a field'}",
                     "Keep ALIX's or Zoho's value on each record.")
    if code == "parent_missing":
        return Cause(code, None, None, "Their Account is not imported into ALIX",
                     "Fix the Account in Zoho CRM, then retry.")
    problem = _AFTER_ID.sub("", message).strip() or code.replace("_", " ")
    return Cause(code, field, problem, problem,
                 "Correct the record in Zoho CRM or ALIX, then retry it.")
