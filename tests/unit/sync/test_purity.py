"""The sync core stays pure: no SQLAlchemy, no httpx, no clock, even through what it imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import alix.integrations.zoho_crm.sync as sync

CORE = sorted(p.stem for p in Path(sync.__file__).parent.glob("*.py") if p.stem != "__init__")

PROBE = """
import importlib, sys
for name in {modules!r}:
    importlib.import_module("alix.integrations.zoho_crm.sync." + name)
print(",".join(sorted(m for m in ("sqlalchemy", "httpx", "pycountry", "starlette")
                      if m in sys.modules)))
"""


def test_the_core_modules_are_the_expected_ones() -> None:
    assert CORE == ["kinds", "link", "main_address", "mapping", "merge", "normalize", "plan",
                    "push_plan", "sources", "watermark"]


def test_importing_the_core_loads_no_io_library() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(modules=CORE)],
        capture_output=True, text=True, check=True, timeout=30,
    )
    assert result.stdout.strip() == ""


def test_the_core_never_reads_the_clock() -> None:
    for name in CORE:
        text = (Path(sync.__file__).parent / f"{name}.py").read_text()
        for call in ("datetime.now(", "time.time(", "date.today(", "utcnow("):
            assert call not in text, f"{name}.py calls {call}"
