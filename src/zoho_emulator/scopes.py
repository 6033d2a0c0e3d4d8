"""OAuth scope matching: which granted scopes satisfy what an endpoint needs (README table).

Scopes look like `ZohoCRM.{area}[.{sub}].{OP}`; a granted scope covers a need when its prefix is
the need's prefix or an ancestor of it (`ZohoCRM.modules` covers `ZohoCRM.modules.accounts`)
and its operation is ALL, the same, or WRITE for CREATE/UPDATE (zoho-crm-api.md 2.7). Zoho
treats scope names case-insensitively (`ZohoCRM.bulk.read`).
"""

from __future__ import annotations

from collections.abc import Iterable

Need = tuple[str, str]  # (prefix, operation), e.g. ("ZohoCRM.modules.accounts", "READ")

ALL_SCOPES = (
    "ZohoCRM.modules.ALL", "ZohoCRM.settings.ALL", "ZohoCRM.users.ALL", "ZohoCRM.org.ALL",
    "ZohoCRM.notifications.ALL", "ZohoCRM.bulk.ALL", "ZohoCRM.coql.READ",
    "ZohoSearch.securesearch.READ",
)
CUSTOM_MODULES = "custom"


def _split(scope: str) -> tuple[str, str]:
    prefix, _, op = scope.rpartition(".")
    return prefix.lower(), op.upper()


def covers(granted: str, need: Need) -> bool:
    prefix, op = _split(granted)
    need_prefix, need_op = need[0].lower(), need[1].upper()
    if not (need_prefix == prefix or need_prefix.startswith(prefix + ".")):
        return False
    return op in ("ALL", need_op) or (op == "WRITE" and need_op in ("CREATE", "UPDATE"))


def allowed(granted: Iterable[str], needs: Iterable[Need]) -> bool:
    """True when every need is covered by at least one granted scope."""
    scopes = list(granted)
    return all(any(covers(g, need) for g in scopes) for need in needs)


def module_allowed(granted: Iterable[str], scope_name: str, custom: bool, op: str) -> bool:
    """Module record access; custom modules also accept `ZohoCRM.modules.custom.{OP}`."""
    scopes = list(granted)
    if allowed(scopes, [(f"ZohoCRM.modules.{scope_name}", op)]):
        return True
    return custom and allowed(scopes, [(f"ZohoCRM.modules.{CUSTOM_MODULES}", op)])
