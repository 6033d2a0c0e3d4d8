"""Import boundaries: alix and the emulator never import each other; pure modules stay pure."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[3] / "src"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _offenders(package: str, forbidden: str) -> list[str]:
    found = []
    for path in (SRC / package).rglob("*.py"):
        bad = {n for n in _imports(path) if n == forbidden or n.startswith(forbidden + ".")}
        if bad:
            found.append(f"{path.relative_to(SRC)} imports {sorted(bad)}")
    return found


def test_alix_never_imports_the_emulator() -> None:
    assert _offenders("alix", "zoho_emulator") == []


def test_the_emulator_never_imports_alix() -> None:
    assert _offenders("zoho_emulator", "alix") == []


def test_the_boundary_check_sees_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import zoho_emulator.app\nfrom alix.db import base\n")
    assert _imports(sample) == {"zoho_emulator.app", "alix.db"}
