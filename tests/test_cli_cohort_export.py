"""`registry cohort export` and `registry cohort requests` from the command line: a researcher's export, a
limited-data-set request approved by an administrator, refusals for the wrong role."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from registry import accounts
from registry.audit import events
from registry.cohort_definition import CohortDefinition
from registry.operational_store import open_operational_store
from registry_cli.app import app
from tests.cohort_export_store import cohort_store
from tests.dashboard_session import CHEAP_HASHER

PASSWORD = "a long enough test password 1"
BREAST = {"version": 1, "name": "breast", "groups": [{"name": "Breast", "criteria": [
    {"kind": "site", "codes": ["C500-C509"]}]}]}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return cohort_store(tmp_path_factory.mktemp("cli-cohort-export"))


@pytest.fixture
def store(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(accounts, "PASSWORD_HASHER", CHEAP_HASHER)
    shutil.copytree(built.parent, tmp_path / "store", ignore=shutil.ignore_patterns("*.ops.*"))
    db = tmp_path / "store" / built.name
    ops = open_operational_store(db)
    for name, role, grants in (("rex", "researcher", ()), ("lena", "researcher", ("lds",)),
                               ("ada", "administrator", ())):
        accounts.create_user(ops, name, role, grants=grants, password=PASSWORD, must_change_password=False)
    (tmp_path / "breast.json").write_text(json.dumps(BREAST), encoding="utf-8")
    return db


def run(*args: str) -> Result:
    return CliRunner(env={"COLUMNS": "200", "REGISTRY_PASSWORD": PASSWORD}).invoke(app, list(args))


def export(db: Path, user: str, out: Path, *extra: str) -> Result:
    return run("cohort", "export", "--user", user, "--db", str(db), "--definition", str(db.parents[1] / "breast.json"),
               "--variables", "primarySite,dateOfDiagnosis,ageAtDiagnosis,sex,race1", "--out", str(out), *extra)


def test_a_researcher_exports_a_breast_cohort(store: Path, tmp_path: Path) -> None:
    done = export(store, "rex", tmp_path / "breast.zip", "--format", "parquet")
    assert done.exit_code == 0, done.output
    assert "31 rows of 31 persons written to" in done.output and "k = 11: 0 rows generalised, 2 withheld" in done.output
    with zipfile.ZipFile(tmp_path / "breast.zip") as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert set(archive.namelist()) == {"cohort.parquet", "data_dictionary.csv", "manifest.json"}
    assert manifest["definition"] == CohortDefinition.from_json(BREAST).to_dict() and manifest["rows"] == 31
    bad = export(store, "rex", tmp_path / "x.zip", "--format", "json")
    assert bad.exit_code == 2 and "format 'json'" in bad.output
    administrator = export(store, "ada", tmp_path / "y.zip")
    assert administrator.exit_code == 2 and "may not cohort export deidentified" in administrator.output
    assert not (tmp_path / "x.zip").exists() and not (tmp_path / "y.zip").exists()


def test_a_limited_data_set_is_requested_approved_and_exported(store: Path, tmp_path: Path) -> None:
    asked = export(store, "lena", tmp_path / "lds.zip", "--limited-data-set")
    assert asked.exit_code == 3 and "export request 1 (33 tumors) is waiting" in asked.output
    listed = run("cohort", "requests", "list", "--user", "lena", "--db", str(store))
    assert listed.exit_code == 0 and "pending" in listed.output and "limited_data_set" in listed.output
    refused = run("cohort", "requests", "approve", "1", "--user", "lena", "--db", str(store), "--dua", "D-1")
    assert refused.exit_code == 2 and "may not approve export" in refused.output
    approved = run("cohort", "requests", "approve", "1", "--user", "ada", "--db", str(store), "--dua", "DUA-2026-7")
    assert approved.exit_code == 0 and "approved under DUA-2026-7" in approved.output
    done = export(store, "lena", tmp_path / "lds.zip", "--limited-data-set", "--format", "xlsx")
    assert done.exit_code == 0, done.output
    assert "33 rows of 33 persons" in done.output
    everyone = run("cohort", "requests", "list", "--all", "--user", "ada", "--db", str(store))
    assert "exported" in everyone.output and "DUA-2026-7" in everyone.output
    limit = run("cohort", "requests", "limit", "--user", "ada", "--db", str(store), "--rows", "10", "--k", "12")
    assert limit.exit_code == 0 and "more than 10 tumors need approval; k-anonymity k >= 12" in limit.output
    large = export(store, "rex", tmp_path / "big.zip")
    assert large.exit_code == 3 and "export request 2" in large.output
    no = run("cohort", "requests", "refuse", "2", "--user", "ada", "--db", str(store), "--reason", "too broad")
    assert no.exit_code == 0 and "refused" in no.output
    ops = open_operational_store(store)
    assert [e.action for e in events(ops, action="export-refuse")] == ["export-refuse"]
    assert events(ops, action="access-refused")[0].detail["action"] == "approve-export"


def test_any_definition_selects_the_cohort_and_a_bad_one_is_named(store: Path, tmp_path: Path) -> None:
    """The command selects with the whole definition (an excluding treatment group here: the tumors without
    chemotherapy are left out), and a bad criterion is named with its file."""
    no_chemo = {**BREAST, "groups": [*BREAST["groups"], {"name": "No chemotherapy", "exclude": True, "criteria": [
        {"kind": "treatment", "modality": "chemotherapy", "received": False}]}]}
    (tmp_path / "no_chemo.json").write_text(json.dumps(no_chemo), encoding="utf-8")
    args = ("cohort", "export", "--user", "rex", "--db", str(store), "--variables", "primarySite,rxSummChemo")

    def rows_of(definition: Path, out: Path) -> list[str]:
        done = run(*args, "--definition", str(definition), "--out", str(out))
        assert done.exit_code == 0, done.output
        with zipfile.ZipFile(out) as archive:
            return archive.read("cohort.csv").decode().splitlines()[1:]

    narrowed = rows_of(tmp_path / "no_chemo.json", tmp_path / "no_chemo.zip")
    everyone = rows_of(store.parents[1] / "breast.json", tmp_path / "all.zip")
    assert len(narrowed) >= 16 and all(line.endswith(",01") for line in narrowed)
    assert not all(line.endswith(",01") for line in everyone) and len(everyone) > len(narrowed)
    broken = {**BREAST, "groups": [{"name": "Breast", "criteria": [{"kind": "site", "codes": ["C999"]}]}]}
    (tmp_path / "broken.json").write_text(json.dumps(broken), encoding="utf-8")
    bad = run(*args, "--definition", str(tmp_path / "broken.json"), "--out", str(tmp_path / "bad.zip"))
    assert bad.exit_code == 2 and "broken.json" in bad.output and "C999" in bad.output
    assert not (tmp_path / "bad.zip").exists()
