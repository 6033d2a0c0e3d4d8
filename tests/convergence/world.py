"""One scenario's world: an ALIX database with a Zoho connection, the emulator, one clock for
both, the notification path, and the sync's engine functions driven step by step.

Time: ALIX and the emulator read one hand-moved clock (the emulator's frozen and set through its
own clock), so "the same second" is a fact the scenario controls, not an accident of timing.

Notifications: the emulator delivers each callback inline, before answering the write
(`before_response`), to a CallbackReceiver; the bus then hands them to ALIX's own receiving code
(`hints_inbox.receive`, what the endpoint runs). The emulator's fault counters drop and
duplicate callbacks; reordering and delaying are done here, by holding callbacks back and
shuffling them with the scenario's random generator, because the emulator's own reorder and
delay faults depend on wall-clock time and a seed could then not replay its scenario.
"""

from __future__ import annotations

import asyncio
import random
import traceback
from collections.abc import AsyncIterator, Coroutine, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from alix.bootstrap import register_tasks
from alix.customers.domain import Actor, Origin
from alix.customers.tables import addresses, contact_persons, customers
from alix.db.session import make_session_factory, unit_of_work
from alix.identity.service import create_organisation
from alix.identity.tables import Role, User
from alix.integrations.zoho_crm import repository
from alix.integrations.zoho_crm.client import (
    InMemoryTokenStore,
    RetryPolicy,
    ZohoCrm,
    ZohoCrmClient,
    ZohoError,
)
from alix.integrations.zoho_crm.connection import read_schema
from alix.integrations.zoho_crm.mappers import MapperKind, ModuleKind
from alix.integrations.zoho_crm.rules import ConflictPolicy, DeletePolicy, ModuleState, Row
from alix.integrations.zoho_crm.services import ZohoServices
from alix.integrations.zoho_crm.sync.engine.channels import ChannelKeeper, wanted_events
from alix.integrations.zoho_crm.sync.engine.context import SyncContext, open_context
from alix.integrations.zoho_crm.sync.engine.hints import process_hints
from alix.integrations.zoho_crm.sync.engine.hints_inbox import receive
from alix.integrations.zoho_crm.sync.engine.pull import run_pull
from alix.integrations.zoho_crm.sync.engine.push import push
from alix.integrations.zoho_crm.sync.store.scope import SyncScope
from alix.integrations.zoho_crm.sync.store.tables import zoho_sync_issues
from alix.integrations.zoho_crm.tables import ZohoConnection
from alix.jobs.queue import JobQueue, TaskRegistry
from zoho_emulator.receiver import CallbackReceiver
from zoho_emulator.testing import EmulatorServer

from .crm_user import CrmUser, tls_context

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
ADMIN = "5725767000000411001"  # Jo Admin: the Zoho user ALIX is connected as
T = TypeVar("T")

ROWS = [
    (MapperKind.CUSTOMER, "currency", "Currency"), (MapperKind.CUSTOMER, "website", "Website"),
    (MapperKind.CUSTOMER, "phone", "Phone"), (MapperKind.CUSTOMER, "is_active", "Active"),
    (MapperKind.CONTACT, "first_name", "First_Name"), (MapperKind.CONTACT, "phone", "Phone"),
    (MapperKind.MAIN_BILLING, "street", "Billing_Street"),
    (MapperKind.MAIN_BILLING, "city", "Billing_City"),
    (MapperKind.MAIN_BILLING, "province", "Billing_State"),
    (MapperKind.MAIN_BILLING, "postal_code", "Billing_Code"),
    (MapperKind.MAIN_BILLING, "country", "Billing_Country"),
]


@dataclass(frozen=True)
class Policies:
    conflict: ConflictPolicy
    delete_alix_to_crm: DeletePolicy
    delete_crm_to_alix: DeletePolicy


class SharedClock:
    """ALIX's clock and the emulator's, moved together by the scenario."""

    def __init__(self, emu: EmulatorServer, start: datetime) -> None:
        self._emu = emu
        self.now = start
        emu.state.clock.set(start, frozen=True)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self._emu.state.clock.set(self.now, frozen=True)


class Bus:
    """Callbacks the emulator sent, on their way to ALIX's receiving code."""

    def __init__(self, receiver: CallbackReceiver) -> None:
        self.receiver = receiver
        self.taken = len(receiver.calls)
        self.pending: list[tuple[str, dict[str, Any]]] = []

    def collect(self) -> None:
        calls = self.receiver.calls[self.taken:]
        self.taken += len(calls)
        for call in calls:
            channel_id = call.path.rsplit("/", 1)[-1]
            if isinstance(call.body, dict):
                self.pending.append((channel_id, call.body))

    def take(self, rng: random.Random | None = None, hold: int = 0
             ) -> list[tuple[str, dict[str, Any]]]:
        """What reaches ALIX now: shuffled when `rng` is given, the last `hold` kept back."""
        self.collect()
        if rng is not None:
            rng.shuffle(self.pending)
        keep = min(hold, len(self.pending))
        cut = len(self.pending) - keep
        out, self.pending = self.pending[:cut], self.pending[cut:]
        return out


@dataclass
class StepLog:
    """What the sync steps did: expected Zoho errors (faults) and unexpected crashes."""

    zoho_errors: list[str] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)


class World:
    """The scenario's systems and the sync's steps over them."""

    def __init__(self, engine: Engine, emu: EmulatorServer, receiver: CallbackReceiver,
                 policies: Policies, rng: random.Random) -> None:
        self.engine = engine
        self.emu = emu
        self.policies = policies
        self.rng = rng
        self.loop = asyncio.Runner()
        self.crm_user = CrmUser(emu)
        self.control = self.crm_user.control
        self.control("reset")
        self.clock = SharedClock(emu, T0)
        self.control("notifications/faults", {"before_response": True})
        self.sessions: sessionmaker[Session] = make_session_factory(engine)
        registry = TaskRegistry()
        # The queue only needs the task names: the scenario runs each step itself.
        register_tasks(registry, self._no_services)
        self.queue = JobQueue(registry, clock=self.clock)
        self.bus = Bus(receiver)
        self.log = StepLog()
        self.crm = self._client()
        self.scope, self.actor = self._connect()
        self._channel(receiver)
        self.pull_wanted = False
        # One context for the scenario, as every job would open it alike: the configuration
        # does not change during a scenario.
        self._stack = AsyncExitStack()
        self.ctx = self.run(self._stack.enter_async_context(self.context()))

    @staticmethod
    def _no_services() -> ZohoServices:
        raise AssertionError("the scenario runs its steps itself, never through a task")

    def close(self) -> None:
        self.run(self._stack.aclose())
        self.run(self.crm.aclose())
        self.loop.close()
        self.crm_user.close()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run(coroutine)

    def _client(self) -> ZohoCrmClient:
        creds = self.control("self-client", {"user_id": ADMIN})

        async def no_sleep(_seconds: float) -> None:
            return None

        return ZohoCrmClient.connect(
            client_id=creds["client_id"], client_secret=creds["client_secret"],
            refresh_token=creds["refresh_token"], connection_id="convergence",
            store=InMemoryTokenStore(), override_url=self.emu.base_url,
            transport=httpx.AsyncHTTPTransport(verify=tls_context()),
            retry=RetryPolicy(max_attempts=3, base_delay=0.01, budget=5), clock=self.clock,
            sleep=no_sleep, random=random.Random(self.rng.random()).random,
        )

    def _connect(self) -> tuple[SyncScope, Actor]:
        schema = self.run(read_schema(self.crm))
        clock = self.clock
        with unit_of_work(self.sessions) as session:
            org = create_organisation(session, "Acme Ltd", ["CAD", "USD", "EUR"], clock=clock)
            # A person without a password (hashing one costs half a second a scenario).
            user = User(organisation_id=org.id, email="alex@acme.example", name="Alex",
                        password_hash=None, role=Role.ADMIN, is_active=True, is_system=False,
                        created_at=clock())
            session.add(user)
            session.flush()
            connection = ZohoConnection(
                organisation_id=org.id, status="connected", location="us",
                accounts_url=self.emu.base_url, api_domain=self.emu.base_url,
                zoho_org_id="60012345", zoho_org_name="Maple Leaf Trading Inc.",
                edition="enterprise", zoho_user_id=ADMIN, zoho_user_name="Jo Admin",
                zoho_user_email="jo@example.com", zoho_user_time_zone="America/Toronto",
                scopes="ZohoCRM.modules.ALL", config_version=1, conflict_policy="ask",
                delete_crm_to_alix="mark_inactive", delete_alix_to_crm="mark_inactive",
                crm_schema=schema.to_json(), created_at=clock(),
            )
            session.add(connection)
            session.flush()
            repository.create_configuration(session, connection)
            connection.conflict_policy = self.policies.conflict.value
            connection.delete_alix_to_crm = self.policies.delete_alix_to_crm.value
            connection.delete_crm_to_alix = self.policies.delete_crm_to_alix.value
            for mapper, alix, crm in ROWS:
                repository.insert_row(session, connection, Row(None, mapper, alix, crm))
            repository.save_module(session, connection, ModuleState(ModuleKind.CUSTOMERS, True))
            repository.save_module(session, connection,
                                   ModuleState(ModuleKind.MAIN_BILLING, True))
            return SyncScope(org.id, connection.id), Actor(org.id, user.id, Origin.USER)

    def _channel(self, receiver: CallbackReceiver) -> None:
        async def create() -> None:
            async with self.context() as ctx:
                keeper = ChannelKeeper(ctx.crm, self.clock, receiver.url(""))
                await keeper.reconcile(self.sessions, self.scope.connection_id,
                                       self.scope.organisation_id, wanted_events(ctx.config))

        self.run(create())

    @asynccontextmanager
    async def context(self) -> AsyncIterator[SyncContext]:
        @asynccontextmanager
        async def factory(_connection: ZohoConnection) -> AsyncIterator[ZohoCrm]:
            yield self.crm

        async with open_context(self.sessions, self.scope.connection_id, factory,
                                self.clock) as ctx:
            yield ctx

    # The sync's steps. A Zoho error (an injected fault outlasting the client's retries) fails
    # the step as it would fail the job, which the runner retries later; anything else is a
    # crash of the sync and is reported.

    def _step(self, name: str, coroutine: Coroutine[Any, Any, Any]) -> None:
        self.log.steps.append(f"{self.clock().isoformat()} {name}")
        try:
            self.run(coroutine)
        except ZohoError as exc:
            self.log.zoho_errors.append(f"{name}: {exc}")
        except Exception:
            self.log.crashes.append(f"{name} at {self.clock().isoformat()}: "
                                    f"{traceback.format_exc(limit=6)}")

    def push(self) -> None:
        async def go() -> None:
            await push(self.ctx)

        self._step("push", go())

    def pull(self, *, initial: bool = False) -> None:
        async def go() -> None:
            await run_pull(self.ctx, initial=initial)
            self.pull_wanted = False

        self._step("initial pull" if initial else "pull", go())

    def deliver(self, *, shuffle: bool = False, hold: int = 0) -> int:
        """Hand the callbacks received so far to ALIX's endpoint code; how many."""
        batch = self.bus.take(self.rng if shuffle else None, hold)
        for channel_id, body in batch:
            with unit_of_work(self.sessions) as session:
                receive(session, self.queue, channel_id, body, self.clock())
        return len(batch)

    def hints(self) -> None:
        def on_delete(_session: Session, _ctx: SyncContext, _module: str,
                      _ids: Sequence[str]) -> None:
            # What the task's default handler does: queue the incremental pull.
            self.pull_wanted = True

        async def go() -> None:
            await process_hints(self.ctx, on_delete=on_delete)

        self._step("hints", go())

    # Faults, through the emulator's test control.

    def api_faults(self, rates: dict[str, float]) -> None:
        self.control("faults", {"error_rates": rates, "seed": self.rng.randrange(10**6)})

    def expire_tokens(self) -> None:
        self.control("faults", {"expire_tokens": True})

    def notification_faults(self, **counters: int) -> None:
        self.control("notifications/faults", {"before_response": True, **counters})

    # Reading both sides.

    def alix_tables(self) -> tuple[list[Any], list[Any], list[Any]]:
        org = self.scope.organisation_id
        with Session(self.engine) as s:
            found = list(s.execute(select(customers).where(customers.c.organisation_id == org)
                                   .order_by(customers.c.id)))
            people = list(s.execute(select(contact_persons)
                                    .where(contact_persons.c.organisation_id == org)
                                    .order_by(contact_persons.c.id)))
            places = list(s.execute(select(addresses).where(addresses.c.organisation_id == org)
                                    .order_by(addresses.c.id)))
        return found, people, places

    def issues(self) -> list[Any]:
        with Session(self.engine) as s:
            return list(s.execute(select(zoho_sync_issues).where(
                zoho_sync_issues.c.connection_id == self.scope.connection_id)))

    def zoho_writes(self) -> int:
        """API write calls the emulator has answered (any user)."""
        calls = self.control("stats")["calls"]
        return sum(int(n) for k, n in calls.items()
                   if k.split(" ")[0] in ("POST", "PUT", "PATCH", "DELETE")
                   and "__emulator__" not in k and "oauth" not in k and "watch" not in k)
