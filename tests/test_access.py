"""The one access decision: the table of actions x roles, its grants, and every role check going through it."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from registry import access
from registry.errors import AccessDenied
from registry.principal import ROLES, Principal

ROOT = Path(__file__).resolve().parents[1]
REGISTRAR, RESEARCHER, ADMINISTRATOR = (Principal(role, role) for role in ("registrar", "researcher", "administrator"))
LDS_RESEARCHER = Principal("lds", "researcher", frozenset({"lds"}))
# The actions the coming registry work needs, ready in the table before the pages exist.
COMING = {"find-patient", "link-review", "record-view", "worklist", "correction", "cohort-count",
          "cohort-export-deidentified", "cohort-export-limited-data-set", "trial-candidate-identities",
          "manage-users", "view-audit-trail"}


def test_the_table_has_a_rule_for_every_role_and_the_coming_actions() -> None:
    table = access.access_table()
    assert set(table) >= COMING
    assert all(set(rules) == set(ROLES) for rules in table.values())
    for name in dir(access):
        if name.isupper() and isinstance(getattr(access, name), str):
            assert getattr(access, name) in table, name


def test_allowed_follows_roles_and_grants() -> None:
    assert access.allowed(REGISTRAR, "read-identified-records")
    assert not access.allowed(RESEARCHER, "read-identified-records")
    assert not access.allowed(RESEARCHER, "read-limited-data-set") and access.allowed(LDS_RESEARCHER,
                                                                                        "read-limited-data-set")
    assert access.allowed(ADMINISTRATOR, "manage-users") and not access.allowed(REGISTRAR, "manage-users")
    assert not access.allowed(ADMINISTRATOR, "read-deidentified-records")
    assert not access.allowed(LDS_RESEARCHER, "trial-candidate-identities")
    with pytest.raises(AccessDenied, match="researcher.*may not read identified records"):
        access.require(RESEARCHER, "read-identified-records")
    with pytest.raises(ValueError, match="not an action"):
        access.allowed(REGISTRAR, "drop-tables")


def test_the_architecture_document_shows_the_table() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    rows = list(csv.DictReader((ROOT / "registry" / "data" / "access.csv").read_text(encoding="utf-8").splitlines()))
    for row in rows:
        line = f"| `{row['action']}` | {row['registrar']} | {row['researcher']} | {row['administrator']} |"
        assert line in doc, line


ROLE_CHECK = re.compile(r"""\.role\s*(==|!=|\bin\b|\bnot in\b)|\bis_(registrar|researcher|administrator)\b|"""
                        r"""role\s*(==|!=)\s*["'](registrar|researcher|administrator)["']""")


def test_no_role_is_compared_outside_the_access_module() -> None:
    offenders = []
    for folder in ("registry", "dashboard", "pipelines", "sample_data"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "access.py" and path.parent.name == "registry":
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("#")[0]
                if ROLE_CHECK.search(code) and "not in ROLES" not in code:   # validating a role is not a check
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_no_page_catches_value_error() -> None:
    for path in (ROOT / "dashboard").rglob("*.py"):
        assert "except ValueError" not in path.read_text(encoding="utf-8"), path


def test_pages_take_the_threshold_from_the_policy() -> None:
    """No page text spells the small-count threshold out: it comes from the policy (DEFAULT_THRESHOLD)."""
    import ast

    found = []
    for path in (ROOT / "dashboard").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef) and node.body
                      and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings \
                    and re.search(r"\b(16|1-15)\b", node.value):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    assert not found, "\n".join(found)
