"""The honest broker's identified trial-candidate list: one row per candidate registry tumor with the person's
name, the reporting facility and the managing physicians its reports name; registrars only; every list and
CSV audited with the definition and the row count, a refusal too."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from registry.audit import events
from registry.cohort_definition import CohortDefinition
from registry.errors import AccessDenied
from registry.operational_store import open_operational_store
from registry.principal import Principal
from registry.trial_candidates import COLUMNS, CSV_ACTION, LIST_ACTION, candidate_list, candidate_list_csv
from tests.registry_reports import report, write_reports

REGISTRAR = Principal("broker", "registrar")
BREAST = CohortDefinition.from_json({"name": "Breast, alive", "groups": [
    {"name": "Breast", "criteria": [{"kind": "site", "codes": ["C500-C509"]}]},
    {"name": "Alive", "criteria": [{"kind": "vital_status", "codes": ["1"]}]}]})


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four persons: Ada's breast tumor reported by two hospitals naming two managing physicians (her later
    report has her married name), Bea's breast tumor without an NPI, Cy's lung tumor, Dee's breast tumor
    (dead)."""
    from pipelines.load import ingest_file

    root = tmp_path_factory.mktemp("candidates")
    ada = {"nameFirst": "ADA", "dateOfBirth": "19600304", "socialSecurityNumber": "111223333"}
    reports = [
        report("1000000001", "00000001", nameLast="LOVELACE", npiPhysicianManaging="1234567893", **ada),
        report("2000000002", "00000901", nameLast="KING", npiPhysicianManaging="1987654321", **ada),
        report("1000000001", "00000002", nameLast="BRONTE", nameFirst="BEA", dateOfBirth="19700101",
               socialSecurityNumber="222334444", primarySite="C509"),
        report("1000000001", "00000003", nameLast="YOUNG", nameFirst="CY", dateOfBirth="19500505", sex="1",
               socialSecurityNumber="333445555", primarySite="C341", histologicTypeIcdO3="8140", laterality="1",
               npiPhysicianManaging="1112223334"),
        report("2000000002", "00000004", nameLast="DEE", nameFirst="DORA", dateOfBirth="19400101",
               socialSecurityNumber="444556666", vitalStatus="0", dateOfLastContact="20220101"),
    ]
    store = root / "store" / "registry.duckdb"
    ingest_file(write_reports(root / "reports.xml", reports[:1] + reports[2:]), db_path=store, user="tests")
    ingest_file(write_reports(root / "later.xml", reports[1:2]), db_path=store, user="tests")
    return store


def test_the_registrar_sees_who_the_candidates_are_with_facility_and_physicians(db: Path) -> None:
    found = candidate_list(REGISTRAR, db, open_operational_store(db), BREAST)
    assert list(found.columns) == list(COLUMNS)
    assert sorted(found["name_first"]) == ["ADA", "BEA"]              # Cy has lung cancer, Dora died
    ada = found.set_index("name_first").loc["ADA"]
    assert ada["name_last"] == "KING"                                # the latest report's name
    assert ada["npi_physician_managing"] == "1234567893; 1987654321"   # both hospitals' physicians
    assert ada["reporting_facility"] in {"1000000001", "2000000002"}
    assert str(pd.Timestamp(ada["date_of_birth"]).date()) == "1960-03-04"
    assert ada["primary_site"] == "C504" and ada["vital_status"] == "1" and ada["stage_group"] == "localized"
    bea = found.set_index("name_first").loc["BEA"]
    assert pd.isna(bea["npi_physician_managing"]) and bea["reporting_facility"] == "1000000001"
    assert found["tumor_id"].is_unique and found["patient_id"].nunique() == 2


def test_every_list_and_download_is_audited_with_definition_and_rows(db: Path) -> None:
    ops = open_operational_store(db)
    candidate_list(REGISTRAR, db, ops, BREAST)
    [shown] = events(ops, action=LIST_ACTION, limit=1)
    assert shown.user == "broker" and shown.detail["rows"] == 2
    assert shown.detail["definition"] == BREAST.to_dict()
    text = candidate_list_csv(REGISTRAR, db, ops, BREAST)
    table = pd.read_csv(io.BytesIO(text), dtype=str)
    assert list(table.columns) == list(COLUMNS) and len(table) == 2
    assert "1960-03-04" in set(table["date_of_birth"])
    [downloaded] = events(ops, action=CSV_ACTION, limit=1)
    assert downloaded.detail == {"definition": BREAST.to_dict(), "rows": 2}


@pytest.mark.parametrize("role", ["researcher", "administrator"])
@pytest.mark.parametrize("function", [candidate_list, candidate_list_csv])
def test_anyone_else_is_refused_and_the_refusal_is_audited(db: Path, role: str, function: object) -> None:
    ops = open_operational_store(db)
    who = Principal(f"curious-{role}", role, frozenset({"lds"}))
    with pytest.raises(AccessDenied):
        function(who, db, ops, BREAST)   # type: ignore[operator]
    [refused] = events(ops, user=who.user, action="access-refused", limit=1)
    assert refused.detail["action"] == "trial-candidate-identities"
    assert refused.detail["definition"] == BREAST.to_dict()
