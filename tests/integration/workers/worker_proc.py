"""A worker process for the tests: `alix worker` with the test tasks registered too.

Run as `python -m tests.integration.workers.worker_proc URL NAME STALLED_SECONDS`.
"""

from __future__ import annotations

import asyncio
import logging
import sys

from alix.bootstrap import build_container, worker_wiring
from alix.jobs.workers import WorkerOptions, run_worker
from tests.integration.workers.tasks import register_test_tasks
from tests.support import make_settings


def main(url: str, name: str, stalled: float) -> None:
    logging.basicConfig(level=logging.INFO, format=f"{name} %(asctime)s %(name)s %(message)s")
    settings = make_settings(url, jobs_engine="procrastinate", job_heartbeat_seconds=stalled)
    container = build_container(settings, with_runner=False)
    register_test_tasks(container.registry)
    options = WorkerOptions(concurrency=1, name=name, stalled_seconds=stalled, relay_seconds=1,
                            tick_seconds=1)
    try:
        asyncio.run(run_worker(worker_wiring(container), options))
    finally:
        container.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
