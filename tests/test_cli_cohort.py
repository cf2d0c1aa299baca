"""`registry cohort` from the command line: count (overall and by facility), attrition, save, list and show a
definition, as each role may; a bad definition file is refused naming the file and the criterion."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from registry import accounts
from registry.cohort_definition import CohortDefinition
from registry.cohort_query import attrition
from registry.operational_store import open_operational_store
from registry_cli.app import app
from tests.cohort_store import build_cohort_store
from tests.dashboard_session import CHEAP_HASHER

PASSWORD = "a long enough test password 1"
DEFINITION = {"name": "Invasive breast, women", "as_of": "2024-12-31", "groups": [
    {"name": "Invasive", "criteria": [{"kind": "behavior", "codes": ["3"]}]},
    {"name": "Breast", "criteria": [{"kind": "site", "codes": ["C500-C509"]}]},
    {"name": "Women", "criteria": [{"kind": "sex", "codes": ["2"]}]}]}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_cohort_store(tmp_path_factory.mktemp("cli-cohort"))


@pytest.fixture
def store(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(accounts, "PASSWORD_HASHER", CHEAP_HASHER)
    shutil.copytree(built.parent, tmp_path / "store", ignore=shutil.ignore_patterns("*.ops.sqlite*"))
    db = tmp_path / "store" / built.name
    ops = open_operational_store(db)
    for name, role in (("ana", "registrar"), ("rex", "researcher"), ("ada", "administrator")):
        accounts.create_user(ops, name, role, password=PASSWORD)
    return db


def run(*args: str) -> Result:
    return CliRunner(env={"COLUMNS": "200", "REGISTRY_PASSWORD": PASSWORD}).invoke(app, list(args))


def _file(tmp_path: Path, body: object, name: str = "cohort.json") -> Path:
    path = tmp_path / name
    path.write_text(body if isinstance(body, str) else json.dumps(body), encoding="utf-8")
    return path


def test_count_and_attrition(store: Path, tmp_path: Path) -> None:
    raw = attrition(store, CohortDefinition.from_json(DEFINITION))
    path = _file(tmp_path, DEFINITION)
    counted = run("cohort", "count", "--user", "ana", "--definition", str(path), "--db", str(store))
    assert counted.exit_code == 0, counted.output
    assert f"tumors: {raw['tumors'].iloc[-1]:,}" in counted.output
    assert f"persons: {raw['persons'].iloc[-1]:,}" in counted.output
    steps = run("cohort", "attrition", "--user", "ana", "--definition", str(path), "--db", str(store))
    assert steps.exit_code == 0, steps.output
    for label in raw["label"]:
        assert label in steps.output
    by = run("cohort", "count", "--user", "rex", "--definition", str(path), "--db", str(store), "--by",
             "reporting_facility")
    assert by.exit_code == 0 and "reporting_facility" in by.output
    researcher = run("cohort", "attrition", "--user", "rex", "--definition", str(path), "--db", str(store))
    assert researcher.exit_code == 0 and "withheld" in researcher.output
    administrator = run("cohort", "attrition", "--user", "ada", "--definition", str(path), "--db", str(store))
    assert administrator.exit_code == 0 and "withheld" in administrator.output


def test_save_list_and_show_a_shared_definition(store: Path, tmp_path: Path) -> None:
    path = _file(tmp_path, DEFINITION)
    saved = run("cohort", "save", "--user", "rex", "--definition", str(path), "--db", str(store))
    assert saved.exit_code == 0, saved.output
    definition_id = saved.output.split("saved cohort definition ")[1].split(":")[0]
    listed = run("cohort", "list", "--user", "rex", "--db", str(store))
    assert "Invasive breast, women" in listed.output
    shown = run("cohort", "show", definition_id, "--user", "ana", "--db", str(store), "--out", str(tmp_path / "x.json"))
    assert shown.exit_code == 0, shown.output
    assert CohortDefinition.from_json((tmp_path / "x.json").read_text()) == CohortDefinition.from_json(DEFINITION)
    printed = run("cohort", "show", definition_id, "--user", "rex", "--db", str(store))
    assert json.loads(printed.stdout)["name"] == "Invasive breast, women"
    missing = run("cohort", "show", "999", "--user", "rex", "--db", str(store))
    assert missing.exit_code == 2 and "no saved cohort definition 999" in missing.output


@pytest.mark.parametrize(("body", "says"), [
    ("{broken", "not JSON"),
    ({"groups": [{"name": "HER2 positive", "criteria": [{"kind": "item", "item": "her2OverallSummary",
                                                          "codes": ["7x"]}]}]},
     'group 1 "HER2 positive", criterion 1 (item her2OverallSummary): code "7x" is not in the code list'),
    ({"groups": [{"name": "Ages", "criteria": [{"kind": "age_at_diagnosis", "min": 80, "max": 20}]}]},
     "min 80 is greater than max 20"),
])
def test_a_bad_definition_file_is_refused_naming_file_and_criterion(store: Path, tmp_path: Path, body: object,
                                                                    says: str) -> None:
    path = _file(tmp_path, body, "bad.json")
    for command in ("count", "attrition", "save"):
        result = run("cohort", command, "--user", "rex", "--definition", str(path), "--db", str(store))
        assert result.exit_code == 2
        assert str(path) in result.output and says in " ".join(result.output.split())
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
    missing = run("cohort", "count", "--user", "rex", "--definition", str(tmp_path / "none.json"), "--db", str(store))
    assert missing.exit_code == 2 and "none.json: cannot read the definition" in " ".join(missing.output.split())
