"""One randomized scenario from a seed: seed both sides, sync, random rounds of edits on both
sides interleaved with partial sync steps and faults, quiesce, then check the invariants.

Everything random comes from `random.Random(seed)`, and time from the shared clock, so a seed
replays its scenario exactly (`CONVERGENCE_SEED=1234`; `-k seed_1234` among the seeds run).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Engine

from alix.integrations.zoho_crm.rules import ConflictPolicy, DeletePolicy
from zoho_emulator.receiver import CallbackReceiver
from zoho_emulator.testing import EmulatorServer

from .checks import Failure, check, exercised
from .model import Ledger, Side
from .users import AlixUser, User, ZohoUser
from .views import alix_view, zoho_view
from .world import Policies, World

# Seconds between two quiescing cycles: short ones first, then long enough for the outbox's
# and the pull issues' retry back-off (1 min, doubling) to come due, then a short one for
# the echoes of those retries.
QUIESCE_WAITS = (3, 3, 3600, 3)
FAULTS = ("429", "500", "503")


@dataclass
class Outcome:
    seed: int
    policies: Policies
    failures: list[Failure] = field(default_factory=list)
    story: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    zoho_errors: list[str] = field(default_factory=list)
    exercised: Counter[str] = field(default_factory=Counter)

    def report(self, tail: int = 60) -> str:
        p = self.policies
        lines = [f"Convergence scenario seed {self.seed} (replay: CONVERGENCE_SEED={self.seed} "
                 "pytest tests/convergence); conflict policy "
                 f"{p.conflict.value}, delete ALIX->CRM "
                 f"{p.delete_alix_to_crm.value}, CRM->ALIX {p.delete_crm_to_alix.value}.",
                 f"{len(self.failures)} failure(s):"]
        lines += [f"  {f}" for f in self.failures]
        lines.append(f"Last {tail} user actions:")
        lines += [f"  {s}" for s in self.story[-tail:]]
        lines.append(f"Zoho errors that failed a step (injected faults): {len(self.zoho_errors)}")
        lines.append(f"Exercised: {dict(sorted(self.exercised.items()))}")
        return "\n".join(lines)


def choose_policies(rng: random.Random) -> Policies:
    deletes = (DeletePolicy.DELETE, DeletePolicy.MARK_INACTIVE)
    return Policies(rng.choice(list(ConflictPolicy)), rng.choice(deletes), rng.choice(deletes))


def run_scenario(seed: int, engine: Engine, emu: EmulatorServer,
                 receiver: CallbackReceiver) -> Outcome:
    rng = random.Random(seed)
    policies = choose_policies(rng)
    outcome = Outcome(seed, policies)
    world = World(engine, emu, receiver, policies, random.Random(rng.random()))
    try:
        ledger = Ledger()
        odd: list[str] = []
        hot: list[tuple[str, str, Side]] = []
        alix = AlixUser(world, ledger, rng, odd, outcome.story, hot)
        zoho = ZohoUser(world, ledger, rng, odd, outcome.story, hot)
        _seed_both(rng, alix, zoho)
        world.clock.advance(3)
        world.pull(initial=True)
        world.push()
        for _ in range(rng.randint(4, 7)):
            for _ in range(rng.randint(1, 4)):
                world.clock.advance(rng.choice((0, 0, 0.3, 0.7, 1.5, 3)))
                rng.choice((alix, zoho)).act()
            _sync_steps(world, rng, alix, zoho)
        _quiesce(world)
        outcome.failures += _idle(world)
        views = {Side.ALIX: alix_view(ledger, *world.alix_tables()),
                 Side.ZOHO: zoho_view(ledger, world.crm_user.records("Accounts"),
                                      world.crm_user.records("Contacts"))}
        outcome.failures += check(ledger, views, world.issues(), policies)
        outcome.exercised = exercised(ledger)
        outcome.failures += [Failure("unexplained_value", "-", o) for o in odd]
        outcome.failures += [Failure("crash", "-", c) for c in world.log.crashes]
    finally:
        outcome.steps = world.log.steps
        outcome.zoho_errors = world.log.zoho_errors
        world.close()
    return outcome


def _seed_both(rng: random.Random, alix: AlixUser, zoho: ZohoUser) -> None:
    for _ in range(rng.randint(2, 3)):
        alix.create_customer()
    for _ in range(rng.randint(2, 3)):
        zoho.create_customer()


def _sync_steps(world: World, rng: random.Random, alix: User, zoho: User) -> None:
    """One to three partial sync steps in random order, some under injected faults."""
    if rng.random() < 0.1:
        world.expire_tokens()
    if rng.random() < 0.15:
        world.notification_faults(drop_next=1)
    if rng.random() < 0.15:
        world.notification_faults(duplicate_next=1)
    for step in rng.sample(("push", "pull", "hints"), k=rng.randint(1, 3)):
        world.clock.advance(rng.choice((0, 0.5, 1, 3)))
        faulty = rng.random() < 0.25
        if faulty:
            world.api_faults({rng.choice(FAULTS): 0.35})
        if step == "push":
            world.push()
        elif step == "pull":
            world.pull()
        else:
            world.deliver(shuffle=rng.random() < 0.4, hold=rng.choice((0, 0, 1, 2)))
            world.hints()
            if world.pull_wanted and rng.random() < 0.7:
                world.pull()
        if faulty:
            world.api_faults({})
        if step == "push" and rng.random() < 0.4:
            # A CRM user saves a field the push just wrote, in the very second of the push;
            # then, often, ALIX edits it again and pushes before any pull or hint.
            zoho.edit_hot()
            if rng.random() < 0.5:
                world.clock.advance(rng.choice((0, 0.3, 1)))
                alix.edit_hot()
                world.push()


def _quiesce(world: World) -> None:
    """No more faults; run every step until the waits are spent (retries come due)."""
    world.api_faults({})
    world.notification_faults(drop_next=0, duplicate_next=0)
    for wait in QUIESCE_WAITS:
        world.clock.advance(wait)
        world.deliver()
        world.hints()
        world.push()
        world.deliver()
        world.hints()
        world.clock.advance(3)
        world.pull()


def _idle(world: World) -> list[Failure]:
    """Once quiet, a further cycle writes nothing on either side (no ping-pong)."""
    before = world.alix_tables()
    writes = world.zoho_writes()
    world.clock.advance(60)
    world.push()
    world.deliver()
    world.hints()
    world.clock.advance(3)
    world.pull()
    failures = []
    after = world.alix_tables()
    if [list(map(tuple, t)) for t in after] != [list(map(tuple, t)) for t in before]:
        failures.append(Failure("not_quiet", "-", "an idle cycle changed ALIX records"))
    if world.zoho_writes() != writes:
        failures.append(Failure("not_quiet", "-",
                                f"an idle cycle wrote to Zoho {world.zoho_writes() - writes} "
                                "time(s)"))
    return failures
