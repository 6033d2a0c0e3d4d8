"""How `alix sync` ends: the same counts as the web's last toast, as a sentence or as JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from alix.integrations.zoho_crm.status import COUNT_ORDER, counts_sentence

from .sync_progress import module_label

SUCCEEDED = "succeeded"
FAILED = "failed"
STOPPED = "stopped"  # SIGTERM or Ctrl-C: stopped after a committed page, resumes later
BUSY = "busy"  # another runner holds the connection's lane


@dataclass(frozen=True)
class SyncOutcome:
    organisation: str
    status: str
    kind: str | None = None
    counts: Mapping[str, int] = field(default_factory=dict)
    read: Mapping[str, int] = field(default_factory=dict)  # records read per Zoho module
    attention: int = 0  # open issues: records that need a person
    error: str | None = None
    details: str = ""  # the status page
    retried: bool = False  # a failed job that the background jobs try again

    @property
    def exit_code(self) -> int:
        return 0 if self.status == SUCCEEDED else 1

    def sentence(self) -> str:
        """ "Zoho CRM sync of Acme Ltd done: 30 created, 6 rejected · 6 records need attention
        (details: http://…/sync)"."""
        org = self.organisation
        if self.status == SUCCEEDED:
            text = f"Zoho CRM sync of {org} done: {counts_sentence(self.counts)}"
            if self.attention:
                need = "1 record needs" if self.attention == 1 else \
                    f"{self.attention} records need"
                text += f" · {need} attention (details: {self.details})"
            return text + "."
        if self.status == STOPPED:
            return (f"Zoho CRM sync of {org} stopped after its last committed page; it resumes "
                    "from there with the next `alix sync` or the web app's background jobs.")
        if self.status == BUSY:
            return self.error or f"Another sync of {org}'s Zoho CRM connection is running."
        retry = " It is tried again in the background jobs." if self.retried else ""
        reason = (self.error or "no error was recorded").rstrip(".")
        return f"The Zoho CRM sync of {org} failed: {reason}.{retry}"

    def json(self) -> dict[str, Any]:
        counts = {k: int(self.counts.get(k, 0)) for k in COUNT_ORDER}
        counts.update({k: int(n) for k, n in self.counts.items() if k not in counts})
        return {"organisation": self.organisation, "status": self.status, "kind": self.kind,
                "counts": counts,
                "read": {module_label(m): n for m, n in self.read.items()},
                "attention": self.attention, "error": self.error, "details": self.details,
                "retried": self.retried, "exit_code": self.exit_code}


def last_line(error: str | None) -> str:
    """A job's recorded traceback, as its last line's sentence ("Conflict: X" -> "X")."""
    last = ((error or "").strip().splitlines() or ["Error: no error was recorded"])[-1]
    return last.split(": ", 1)[-1]
