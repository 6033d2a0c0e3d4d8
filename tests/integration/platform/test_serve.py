"""`alix serve --workers N`: several web processes behind one port, their logs and metrics."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from alix.db import migrate
from tests.live import free_port

TOKEN = "metrics-token-" + "z" * 30


@pytest.mark.slow
def test_serve_with_two_workers_logs_json_and_sums_metrics(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    migrate.upgrade(url)
    port = free_port()
    env = {**os.environ, "ALIX_DATABASE_URL": url, "ALIX_RUN_JOBS_IN_PROCESS": "false",
           "ALIX_LOG_FORMAT": "json", "ALIX_METRICS_TOKEN": TOKEN}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = (tmp_path / "serve.log").open("w+")
    server = subprocess.Popen(
        [sys.executable, "-m", "alix.cli", "serve", "--workers", "2", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        ready = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                ready = httpx.get(f"{base}/readyz", timeout=2)
                if ready.status_code == 200 and _started(tmp_path / "serve.log") >= 2:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        assert ready is not None and ready.status_code == 200, (tmp_path / "serve.log").read_text()
        assert _started(tmp_path / "serve.log") == 2
        metrics = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert metrics.status_code == 200
        assert "alix_jobs_queued 0.0" in metrics.text
        assert "alix_zoho_api_calls_total 0.0" in metrics.text
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()


def _started(path: Path) -> int:
    """Distinct web processes whose JSON log says they started serving."""
    pids = set()
    for line in path.read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if str(entry.get("event", "")).startswith("Started server process"):
            pids.add(entry["event"])
    return len(pids)
