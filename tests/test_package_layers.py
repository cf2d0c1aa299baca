"""The dependency rule between packages (docs/architecture.md §1): each imports only the layers below it,
nothing imports the `registry` command, which sits on top of everything, no two modules import each other
in a circle, and modules stay short."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMMAND = "registry_cli"
# package -> the project packages it may import (besides itself)
ALLOWED = {
    "registry": set(),
    "pipelines": {"registry"},
    "dashboard": {"registry"},
    "sample_data": {"registry", "pipelines"},
    COMMAND: {"registry", "pipelines", "dashboard", "sample_data"},
}
PACKAGES = tuple(ALLOWED)


def project_imports(package: str) -> dict[str, set[str]]:
    """Project packages imported anywhere in package (also inside functions), with the files importing them."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in ALLOWED and top != package:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize("package", [p for p in ALLOWED if p != COMMAND])
def test_no_package_imports_the_command(package):
    assert COMMAND not in project_imports(package), project_imports(package).get(COMMAND)


@pytest.mark.parametrize("package", list(ALLOWED))
def test_each_package_imports_only_the_layers_below_it(package):
    wrong = {other: files for other, files in project_imports(package).items() if other not in ALLOWED[package]}
    assert not wrong, f"{package} imports {wrong}"


def test_the_scan_sees_imports_inside_functions():
    assert "registry_cli/sample.py" in project_imports(COMMAND)["sample_data"]   # imported in `sample` only
    assert "sample_data/output.py" in project_imports("sample_data")["pipelines"]


def _module_graph() -> dict[str, set[str]]:
    """Every project module and the project modules it imports (at module level or inside functions)."""
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            modules[name] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
            elif isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
        graph[name] = {target for target in found if target in modules and target != name}
    return graph


def test_no_import_circle_between_modules() -> None:
    try:
        TopologicalSorter(_module_graph()).prepare()
    except CycleError as error:
        pytest.fail(f"import circle: {' -> '.join(error.args[1])}")


def test_no_module_is_over_600_lines() -> None:
    lengths = {str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
               for package in PACKAGES for path in (ROOT / package).rglob("*.py")}
    assert {name: n for name, n in lengths.items() if n > 600} == {}


def test_the_dashboard_uses_only_the_public_api() -> None:
    """The dashboard imports `registry.api` and nothing else of `registry`, so the rest can move freely."""
    wrong = []
    for path in sorted((ROOT / "dashboard").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("registry"):
                if node.module == "registry.api" or (node.module == "registry" and
                                                     {a.name for a in node.names} == {"api"}):
                    continue
                wrong.append(f"{path.relative_to(ROOT)}: from {node.module} import ...")
            elif isinstance(node, ast.Import):
                wrong += [f"{path.relative_to(ROOT)}: import {a.name}" for a in node.names
                          if a.name.startswith("registry") and a.name != "registry.api"]
    assert not wrong, "\n".join(wrong)
