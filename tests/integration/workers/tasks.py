"""Tasks the worker tests queue: they take time in steps, like an import's pages."""

from __future__ import annotations

import time

from alix.jobs.queue import TaskContext, TaskRegistry

STEPS_TASK = "test.steps"


def steps(ctx: TaskContext) -> None:
    """`steps` pages of `seconds` each, each committed with its progress, as a pull does."""
    total = int(ctx.payload.get("steps", 1))
    for done in range(1, total + 1):
        time.sleep(float(ctx.payload.get("seconds", 0)))
        ctx.report_progress(done, total, f"step {done} of {total}")
        ctx.checkpoint()


def register_test_tasks(registry: TaskRegistry) -> None:
    registry.register(STEPS_TASK)(steps)
