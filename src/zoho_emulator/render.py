"""Stored records to API JSON, in the reading user's time zone, with live lookup names."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from .orgs import Org, User
from .schema import Module
from .store import Record

Renderer = Callable[[Record], Any]


def format_time(epoch: float, zone: ZoneInfo) -> str:
    """`yyyy-MM-ddTHH:mm:ss±HH:mm`: one-second resolution in the user's offset (section 3)."""
    return datetime.fromtimestamp(int(epoch), zone).isoformat()


def display_name(org: Org, module: Module, record: Record) -> str | None:
    value = record.get(module.display_field)
    return value if isinstance(value, str) else None


def _field_renderer(org: Org, module: Module, name: str, user: User) -> Renderer:
    f = module.fields[name]
    kind = f.data_type
    if kind == "datetime":
        zone = user.zone
        cache: dict[int, str] = {}

        def render_time(rec: Record) -> str | None:
            value = rec.get(name)
            if value is None:
                return None
            text = cache.get(value)
            if text is None:
                text = cache[value] = format_time(value, zone)
            return text
        return render_time
    if kind == "ownerlookup":
        refs = {uid: u.owner_ref() for uid, u in org.users.items()}
        return lambda rec: refs.get(rec.get(name))  # type: ignore[arg-type]
    if kind == "lookup":
        target_store = org.stores[f.lookup or ""]
        target_module = org.modules[f.lookup or ""]

        def render_lookup(rec: Record) -> dict[str, str | None] | None:
            rid = rec.get(name)
            if rid is None:
                return None
            target = target_store.records.get(rid)
            # Lookup names are live: the target's current display name (section 9.8).
            shown = display_name(org, target_module, target) if target is not None else None
            return {"name": shown, "id": str(rid)}
        return render_lookup
    return lambda rec: rec.get(name)


def record_renderer(org: Org, module: Module, user: User,
                    names: Iterable[str] | None) -> Callable[[int, Record], dict[str, Any]]:
    """A function rendering `id` plus `names` (all fields when None) for many records.

    Converters are built once per request so a 200-record page costs one dict per record.
    """
    chosen = list(module.fields) if names is None else [n for n in names if n in module.fields]
    plain = [n for n in chosen if module.fields[n].data_type not in
             ("datetime", "ownerlookup", "lookup")]
    special = [(n, _field_renderer(org, module, n, user)) for n in chosen if n not in plain]
    has_currency = "Currency" in module.fields
    symbols = {c.iso_code: c.symbol for c in org.currencies}
    home_symbol = org.home_currency.symbol
    full = names is None

    def render(rid: int, rec: Record) -> dict[str, Any]:
        out: dict[str, Any] = {"id": str(rid)}
        get = rec.get
        for n in plain:
            out[n] = get(n)
        for n, fn in special:
            out[n] = fn(rec)
        if full:
            # A small stable subset of the `$` system keys Zoho adds to record reads (section 3).
            out["$approval_state"] = "approved"
            out["$editable"] = True
            out["$state"] = "save"
            if has_currency or module.api_name in ("Accounts", "Deals", "Leads"):
                out["$currency_symbol"] = symbols.get(str(get("Currency")), home_symbol)
        return out

    return render
