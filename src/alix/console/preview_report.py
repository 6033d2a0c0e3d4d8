"""`alix sync --initial --dry-run`: the first sync's preview (alix.integrations.zoho_crm.preview)
as lines for people and as JSON for scripts. The preview keeps a few examples of each outcome;
every ambiguous name is listed, since each needs a person's choice. What the organisation's rules
would reject (a currency it lacks) is in the preview itself, each cause with its fix."""

from __future__ import annotations

from typing import Any

from alix.integrations.zoho_crm.causes import Cause, cause_of
from alix.integrations.zoho_crm.preview import Example, Preview

from .sync_progress import module_label

# What each planned action means for a record, in the order people read them.
ACTIONS = (
    ("create", "would create a customer", "would be created"),
    ("link", "would link by name to an existing customer", "would be linked by name"),
    ("ambiguous", "ambiguous: several customers share the name", "ambiguous"),
    ("skip", "would be skipped", "would be skipped"),
    ("reject", "would be rejected", "would be rejected"),
    ("update", "linked already, would be updated", "linked already"),
    ("conflict", "linked already, with conflicting edits", "with conflicts"),
    ("noop", "linked already, unchanged", "unchanged"),
    ("tombstoned", "their ALIX pair was deleted", "with a deleted pair"),
)
ACCOUNTS_OF = {"create", "link"}  # Accounts say what happens to customers


def _phrase(module: str, action: str) -> str:
    for key, account, other in ACTIONS:
        if key == action:
            return account if module.startswith("Accounts") and action in ACCOUNTS_OF \
                else other
    return action


def _example(module: str, action: str, e: Example) -> str:
    if action == "link":
        return f"“{e.name}” -> the ALIX customer “{e.name}”"
    # "Zoho Contacts record 5725… is not imported: it has no Account": the name says which.
    reason = e.reason.split(" is not imported: ", 1)
    why = f"not imported: {reason[1]}" if len(reason) == 2 else e.reason
    return f"“{e.name}”" + (f": {why}" if why else "")


def _fixes(shown: list[Example]) -> list[Cause]:
    """The distinct causes of the rejections shown that have a page to fix them on (the
    status page's causes: a currency the organisation lacks), in the order met."""
    found: dict[tuple[str, str, str], Cause] = {}
    for e in shown:
        cause = cause_of("rejected", None, e.reason)
        if cause.fix_link:
            found.setdefault(cause.key, cause)
    return list(found.values())


def lines(preview: Preview, organisation: str, base_url: str = "") -> list[str]:
    """The preview as text: per module its counts, then examples with their reasons, and for
    rejections the fix of their cause."""
    out = [f"Preview of the first Zoho CRM sync of {organisation} (nothing was written):"]
    for module in preview.modules:
        label = module_label(module)
        found = [(a, preview.count(module, a)) for a, _, _ in ACTIONS
                 if preview.count(module, a)]
        if not found:
            out.append(f"{label}: no records")
            continue
        out.append(f"{label}: " + ", ".join(f"{n} {_phrase(module, a)}" for a, n in found))
        for action, count in found:
            shown = preview.examples.get((module, action), [])
            if action in ("noop", "create", "update", "ambiguous") or not shown:
                continue  # listed below (ambiguous) or nothing to explain
            for e in shown:
                out.append(f"  {_example(module, action, e)}")
            if count > len(shown):
                out.append(f"  … and {count - len(shown)} more")
            if action == "reject":
                out.extend(f"  Fix: {c.fix} ({base_url}{c.fix_link})" for c in _fixes(shown))
    if preview.ambiguous:
        out.append("Ambiguous names: choose the customer on Settings -> Integration -> Zoho CRM "
                   "-> Preview before the first sync:")
        for a in preview.ambiguous:
            who = ", ".join(f"{name} ({cid})" for cid, name in a.candidates)
            out.append(f"  “{a.name}” (Zoho id {a.zoho_id}) matches the customers {who}")
    else:
        out.append("No ambiguous name.")
    return out


def as_json(preview: Preview, organisation: str, base_url: str = "") -> dict[str, Any]:
    return {
        "organisation": organisation,
        "dry_run": True,
        "fixes": [{"module": m, "title": c.title, "fix": c.fix,
                   "link": base_url + (c.fix_link or "")}
                  for (m, a), shown in preview.examples.items() if a == "reject"
                  for c in _fixes(shown)],
        "modules": [{"module": m, "label": module_label(m), "counts": {
            a: preview.count(m, a) for a, _, _ in ACTIONS if preview.count(m, a)}}
            for m in preview.modules],
        "examples": [{"module": m, "action": a, "zoho_id": e.zoho_id, "name": e.name,
                      "reason": e.reason}
                     for (m, a), shown in preview.examples.items() for e in shown],
        "ambiguous": [{"zoho_id": a.zoho_id, "name": a.name, "candidates": [
            {"id": cid, "name": name} for cid, name in a.candidates]}
            for a in preview.ambiguous],
    }
