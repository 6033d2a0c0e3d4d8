"""Import boundaries: alix and the emulator never import each other; pure modules stay pure."""

from __future__ import annotations

import ast
import sys
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


def _module_file(name: str) -> Path | None:
    base = SRC.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.exists():
            return path
    return None


def _absolute_imports(path: Path) -> set[str]:
    """Imported module names, relative imports resolved against the file's package."""
    package = list(path.relative_to(SRC).with_suffix("").parts)[:-1]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module or ""
            else:
                parent = package[: len(package) - node.level + 1]
                base = ".".join([*parent, *([node.module] if node.module else [])])
            names.add(base)
            # `from pkg import sub` may name a submodule.
            names.update(f"{base}.{a.name}" for a in node.names if _module_file(f"{base}.{a.name}"))
    return names


def _impure_imports(path: Path, seen: set[Path] | None = None) -> set[str]:
    """Third-party modules reached from `path` through alix imports."""
    seen = set() if seen is None else seen
    if path in seen:
        return set()
    seen.add(path)
    found: set[str] = set()
    for name in _absolute_imports(path):
        top = name.split(".")[0]
        if top in sys.stdlib_module_names or top == "__future__":
            continue
        target = _module_file(name) if top == "alix" else None
        if target is None:
            found.add(f"{name} (from {path.relative_to(SRC)})")
        else:
            found |= _impure_imports(target, seen)
    return found


def _pure_modules() -> list[Path]:
    """Modules whose docstring's first line calls them pure."""
    pure = []
    for path in (SRC / "alix").rglob("*.py"):
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        if "(pure)" in doc.partition("\n")[0]:
            pure.append(path)
    return pure


def test_pure_modules_reach_only_the_standard_library() -> None:
    pure = _pure_modules()
    assert len(pure) >= 5
    offenders = {str(p.relative_to(SRC)): sorted(_impure_imports(p)) for p in pure}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_purity_check_follows_alix_imports_to_third_party_ones() -> None:
    assert any(n.startswith("sqlalchemy") for n in _impure_imports(SRC / "alix" / "bootstrap.py"))
