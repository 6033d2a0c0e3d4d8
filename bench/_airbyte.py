"""Airbyte's source-zoho-crm full read against the same emulator, for `initial_import.py --airbyte`.
Not a benchmark (scripts/run-benchmarks.sh skips `_` files).

The connector lives in a virtualenv of its own, var/bench-airbyte-venv, made with `python -m venv`
and `pip install airbyte-source-zoho-crm` on first use and reused after: its airbyte-cdk pins
would fight ALIX's. `_airbyte_source.py` runs it there, pointed at the emulator.

Each read is timed from process start to exit, as `source-zoho-crm read` runs: start-up, the
metadata of every module (settings/modules, settings/modules/{name}, settings/fields, org), then
Accounts, Contacts and Shipping_Addresses in full refresh, every field, records written to a file
and counted afterwards.

The connector pages with `page` alone (airbytehq/airbyte#30977), so at Zoho's 2,000-record page
window it stops at the first module past 2,000 records. It is run once so, to show where it
stops, then `repeat` times with the emulator's window lifted, which is what the ratio is taken on.
Whatever goes wrong here prints "Airbyte comparison skipped: <reason>" and the client's raw read
stands as the reference: the bench never fails because of Airbyte.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from _machine import machine

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "var" / "bench-airbyte-venv"
PACKAGE = "airbyte-source-zoho-crm"
SOURCE = Path(__file__).with_name("_airbyte_source.py")
MODULES = ("Accounts", "Contacts", "Shipping_Addresses")
ZOHO_PAGE_WINDOW = 2_000
GOAL = 0.50


class Skipped(Exception):
    """The comparison cannot run here; the message says why."""


@dataclass(frozen=True)
class Read:
    seconds: float
    records: dict[str, int]  # module -> records emitted
    error: str | None  # the connector's own error message when it exits non-zero


def airbyte_python() -> Path:
    """The Airbyte virtualenv's Python, made and installed on first use."""
    python = VENV / "bin" / "python"
    if python.exists() and _run([str(python), "-c", "import source_zoho_crm"], 60).returncode == 0:
        return python
    print(f"Airbyte comparison: installing {PACKAGE} into {VENV} (first use only)", flush=True)
    made = _run([sys.executable, "-m", "venv", "--clear", str(VENV)], 300)
    if made.returncode != 0:
        raise Skipped(f"python -m venv failed: {_last_line(made.stderr)}")
    installed = _run([str(python), "-m", "pip", "install", "-q", PACKAGE], 900)
    if installed.returncode != 0:
        raise Skipped(f"pip install {PACKAGE} failed: {_last_line(installed.stderr)}")
    return python


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(args, 1, "", str(exc))


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip() and "WARNING" not in line]
    return lines[-1].strip() if lines else "no message"


def _messages(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def _module_of(stream: str) -> str | None:
    """The module a discovered stream reads: the connector names them
    incremental_{snake case of the api_name}_zoho_crm_stream."""
    squashed = stream.replace("_", "").lower()
    return next((m for m in MODULES
                 if squashed == f"incremental{m.replace('_', '').lower()}zohocrmstream"), None)


def configure(python: Path, emulator: str, work: Path) -> tuple[Path, Path, list[str]]:
    """The connector's config and a full-refresh catalog of the modules it discovered:
    (config, catalog, modules)."""
    creds = httpx.post(f"{emulator}/__emulator__/self-client", json={}, timeout=60).json()
    config = work / "airbyte-config.json"
    config.write_text(json.dumps({
        "client_id": creds["client_id"], "client_secret": creds["client_secret"],
        "refresh_token": creds["refresh_token"], "dc_region": "US",
        "environment": "Production"}))
    out = work / "airbyte-discover.jsonl"
    with out.open("w") as sink:
        done = subprocess.run([str(python), str(SOURCE), emulator, "discover", "--config",
                               str(config)], stdout=sink, stderr=subprocess.PIPE, text=True,
                              timeout=300, check=False)
    found = [m["catalog"]["streams"] for m in _messages(out) if m["type"] == "CATALOG"]
    if done.returncode != 0 or not found:
        raise Skipped(f"discover failed: {_last_line(done.stderr)}")
    streams = [s for s in found[0] if _module_of(s["name"])]
    catalog = work / "airbyte-catalog.json"
    catalog.write_text(json.dumps({"streams": [
        {"stream": s, "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}
        for s in streams]}))
    return config, catalog, [m for s in streams if (m := _module_of(s["name"]))]


def read_once(python: Path, emulator: str, config: Path, catalog: Path, work: Path) -> Read:
    out = work / "airbyte-read.jsonl"
    started = time.perf_counter()
    with out.open("w") as sink:
        done = subprocess.run([str(python), str(SOURCE), emulator, "read", "--config",
                               str(config), "--catalog", str(catalog)],
                              stdout=sink, stderr=subprocess.DEVNULL, timeout=1800, check=False)
    seconds = time.perf_counter() - started
    records: Counter[str] = Counter()
    errors = []
    for message in _messages(out):  # counted after the clock stopped
        if message["type"] == "RECORD":
            records[_module_of(message["record"]["stream"]) or "?"] += 1
        elif message["type"] == "TRACE" and message["trace"]["type"] == "ERROR":
            errors.append(message["trace"]["error"]["message"])
    error = (errors[0] if errors else f"exit status {done.returncode}") if done.returncode else None
    return Read(seconds, dict(records), error)


def page_window(emulator: str, records: int) -> None:
    httpx.post(f"{emulator}/__emulator__/config", json={"page_window": records}, timeout=60)


def compare(emulator: str, work: Path, backend: str, ours: float, raw_read: float,
            records: dict[str, int], repeat: int) -> list[str]:
    """The comparison's lines: ours against Airbyte's read, or against the client's raw read
    when Airbyte cannot run. `ours` and `raw_read` are seconds from process start."""
    before = machine()  # ours has just run: the load it ran under, near enough
    try:
        python = airbyte_python()
        config, catalog, modules = configure(python, emulator, work)
        page_window(emulator, ZOHO_PAGE_WINDOW)
        faithful = read_once(python, emulator, config, catalog, work)
        page_window(emulator, 10**9)
        try:
            reads = [read_once(python, emulator, config, catalog, work) for _ in range(repeat)]
        finally:
            page_window(emulator, ZOHO_PAGE_WINDOW)
        failed = next((r.error for r in reads if r.error), None)
        if failed:
            raise Skipped(f"its read failed with the page window lifted: {failed}")
    except (OSError, ValueError, KeyError, subprocess.SubprocessError, httpx.HTTPError,
            Skipped) as exc:  # whatever Airbyte does, the bench above stands
        return [f"Airbyte comparison skipped: {exc}",
                *_ours(backend, ours, raw_read, records),
                f"ours / client raw read time: {ours / raw_read:.2f}x; {before}"]
    theirs = statistics.median(r.seconds for r in reads)
    wanted = {m: records.get(m, 0) for m in modules}
    read = reads[0].records
    lines = [
        f"Airbyte {PACKAGE} read of {'+'.join(modules)} (full refresh, every field, its own "
        f"venv, process start to exit), median of {repeat}:",
        f"  at Zoho's {ZOHO_PAGE_WINDOW}-record page window: "
        + (f"failed after {faithful.records} in {faithful.seconds:.1f} s: {faithful.error!r}"
           if faithful.error else f"read {faithful.records} in {faithful.seconds:.1f} s"),
        f"  page window lifted: {sum(read.values())} records {read} in {theirs:.2f} s"
        + ("" if read == wanted else f" (WRONG COUNTS: expected {wanted})"),
        *_ours(backend, ours, raw_read, records),
        f"ours / Airbyte read time: {ours / theirs:.2f}x (goal {GOAL:.2f}x); "
        f"before Airbyte {before}; after {machine()}",
    ]
    if set(modules) != set(MODULES):
        lines.append(f"  Airbyte discovered only {modules}; ours also read "
                     f"{sorted(set(MODULES) - set(modules))}")
    return lines


def _ours(backend: str, ours: float, raw_read: float, records: dict[str, int]) -> list[str]:
    return [f"  ours ({backend}, process start to end of run_pull): {sum(records.values())} "
            f"records {records} in {ours:.2f} s; the client's raw read alone {raw_read:.2f} s"]
