"""`--data FILE`: keep CRM records, schema, clients and refresh tokens in SQLite across restarts.

Records are written through the change hook as each API write happens; schema, OAuth clients,
refresh tokens and id counters are saved by `save_meta` (at shutdown and after each write).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from typing import Any

from .events import ChangeEvent
from .oauth import Client, RefreshToken
from .schema import Field, Module
from .state import EmulatorState
from .store import Deleted, ModuleStore

SCHEMA = """
create table if not exists records (org_id text, module text, id integer, data text,
                                    primary key (org_id, module, id));
create table if not exists deleted (org_id text, module text, id integer, data text,
                                    primary key (org_id, module, id));
create table if not exists meta (key text primary key, value text);
"""


class SqliteData:
    """Loads a state from a file, then mirrors every change into it."""

    def __init__(self, path: str, state: EmulatorState) -> None:
        self.state = state
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.save_meta()
        self.db.close()

    def attach(self) -> None:
        self.state.subscribe(self.on_change)
        self.state.reset_hooks.append(self.on_reset)

    def on_reset(self) -> None:
        with self.db:
            self.db.execute("delete from records")
            self.db.execute("delete from deleted")
        self.save_meta()

    def on_change(self, event: ChangeEvent) -> None:
        org = self.state.orgs[event.org_id]
        store = org.store(event.module)
        with self.db:
            for raw in event.ids:
                rid = int(raw)
                record = store.get(rid)
                if record is not None:
                    self.db.execute("insert or replace into records values (?,?,?,?)",
                                    (org.id, event.module, rid, json.dumps(record)))
                    continue
                self.db.execute("delete from records where org_id=? and module=? and id=?",
                                (org.id, event.module, rid))
                entry = store.deleted.get(rid)
                if entry is not None:
                    self.db.execute("insert or replace into deleted values (?,?,?,?)",
                                    (org.id, event.module, rid, json.dumps(asdict(entry))))
        self.save_meta()

    def save_all(self) -> None:
        """Write every record (after seeding at start-up, which bypasses the hook)."""
        with self.db:
            for org in self.state.orgs.values():
                for name, store in org.stores.items():
                    self.db.executemany(
                        "insert or replace into records values (?,?,?,?)",
                        ((org.id, name, rid, json.dumps(rec)) for rid, rec in
                         store.records.items()))
        self.save_meta()

    def save_meta(self) -> None:
        tokens = self.state.tokens
        meta: dict[str, Any] = {
            "orgs": {org.id: {"last_id": org.ids.last + org.ids._base,
                              "modules": [_module_dict(m) for m in org.modules.values()]}
                     for org in self.state.orgs.values()},
            "clients": [asdict(c) for c in tokens.clients.values()],
            "refresh_tokens": [{"token": r.token, "client_id": r.client_id, "org_id": r.org_id,
                                "user_id": r.user_id, "scopes": list(r.scopes)}
                               for r in tokens.refresh_tokens.values()],
        }
        with self.db:
            self.db.execute("insert or replace into meta values ('state', ?)", (json.dumps(meta),))

    def load(self) -> bool:
        """Restore a previous run; False when the file was empty."""
        row = self.db.execute("select value from meta where key='state'").fetchone()
        if row is None:
            return False
        meta = json.loads(row[0])
        tokens = self.state.tokens
        for c in meta["clients"]:
            tokens.clients[c["id"]] = Client(**c)
        for r in meta["refresh_tokens"]:
            tokens.refresh_tokens[r["token"]] = RefreshToken(
                r["token"], r["client_id"], r["org_id"], r["user_id"], tuple(r["scopes"]))
        for org_id, saved in meta["orgs"].items():
            org = self.state.orgs.get(org_id)
            if org is None:
                continue
            org.modules, org.stores = {}, {}
            for spec in saved["modules"]:
                org.add_module(_module_from(spec))
            org.ids.restart_after(saved["last_id"])
        for table in ("records", "deleted"):
            # In id order: a store's dict order is its id order (store.py), which unfiltered
            # listings by id rely on after a restart.
            for org_id, module, rid, data in self.db.execute(
                    f"select org_id, module, id, data from {table} order by org_id, module, id"):
                org = self.state.orgs.get(org_id)
                store: ModuleStore | None = org.stores.get(module) if org else None
                if store is None:
                    continue
                if table == "records":
                    store.put(rid, json.loads(data))
                else:
                    store.deleted[rid] = Deleted(**json.loads(data))
        return True


def _module_dict(module: Module) -> dict[str, Any]:
    body = asdict(module)
    body["fields"] = [asdict(f) for f in module.fields.values()]
    return body


def _module_from(spec: dict[str, Any]) -> Module:
    fields = spec.pop("fields")
    module = Module(**spec)
    for f in fields:
        f["picklist"] = tuple(f["picklist"])
        module.add(Field(**f))
    return module
