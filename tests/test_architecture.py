"""Imports point down only: each package may import the packages below it, never above or beside.

    flows  ->  reports  ->  linkage, ingest  ->  hashing
    flows  ->  sample_data  ->  ingest, hashing

``benchmarks`` sits beside ``flows`` at the top and may import anything; nothing imports it.
An import that must break this for a while goes into :data:`KNOWN_UPWARD` with its reason (none
does today); an entry that no longer occurs must be removed from the list."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("hashing", "ingest", "linkage", "reports", "sample_data", "flows", "benchmarks")
ALLOWED: dict[str, set[str]] = {
    "hashing": set(),
    "ingest": {"hashing"},
    "linkage": {"hashing"},
    "reports": {"hashing", "ingest", "linkage"},
    "sample_data": {"hashing", "ingest"},
    "flows": {"hashing", "ingest", "linkage", "reports", "sample_data"},
    "benchmarks": {"hashing", "ingest", "linkage", "reports", "sample_data", "flows"},
}
KNOWN_UPWARD: set[tuple[str, str]] = set()


def imported_packages(path: Path) -> set[str]:
    """Return the project packages that the module at ``path`` imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names} & set(PACKAGES)
    return found


def import_edges() -> set[tuple[str, str]]:
    """Return (module path, imported package) for every import of another project package."""
    edges = set()
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for imported in imported_packages(path) - {package}:
                edges.add((path.relative_to(ROOT).as_posix(), imported))
    return edges


def test_imports_point_down_only():
    edges = import_edges()
    upward = {(module, imported) for module, imported in edges if imported not in ALLOWED[module.split("/")[0]]}
    assert upward - KNOWN_UPWARD == set(), "a new upward or sideways import"
    assert KNOWN_UPWARD - upward == set(), "an upward import is gone: remove it from KNOWN_UPWARD"


def test_the_check_sees_an_upward_import(tmp_path: Path):
    module = tmp_path / "m.py"
    module.write_text("import json\nfrom reports.files import write_atomic\n\ndef f():\n    import flows.cli\n")
    assert imported_packages(module) == {"reports", "flows"}


MAX_MODULE_LINES = 350
MAX_FUNCTION_LINES = 60


def test_modules_and_functions_stay_small():
    """No module of the packages over 350 lines, no function over 60 (data tables are module
    constants, not functions)."""
    too_long = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            name = path.relative_to(ROOT).as_posix()
            if len(text.splitlines()) > MAX_MODULE_LINES:
                too_long.append(f"{name}: {len(text.splitlines())} lines")
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    lines = (node.end_lineno or node.lineno) - node.lineno + 1
                    if lines > MAX_FUNCTION_LINES:
                        too_long.append(f"{name}: {node.name} has {lines} lines")
    assert too_long == []
