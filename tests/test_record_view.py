"""The record view: a registry patient with its tumors, every value's report and rule or correction, every
report as received, treatment, follow-up, edit failures, links, reviews, corrections and work items; every
view audited, a refusal too."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from registry.audit import events
from registry.corrections import correct
from registry.errors import AccessDenied, InvalidRequest
from registry.operational_store import open_operational_store
from registry.principal import Principal
from registry.record_view import patient_record
from registry.store import read_connection
from registry.worklist import sync_worklist
from tests.registry_reports import two_hospitals_store

REGISTRAR = Principal("registrar1", "registrar")


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return two_hospitals_store(tmp_path_factory.mktemp("record"))


@pytest.fixture
def db(linked: Path, tmp_path: Path) -> Path:
    shutil.copytree(linked.parent, tmp_path / "store")
    return tmp_path / "store" / linked.name


def registry_ids(db: Path, patient_number: str) -> tuple[int, list[int]]:
    """(registry patient, its registry tumors) of a facility's patient number."""
    with read_connection(db) as con:
        patient = int(con.execute("""SELECT DISTINCT l.registry_patient_id FROM patient_link l JOIN patient p
                                     ON p.patient_id = l.source_patient_id WHERE p.patient_id_number = ?""",
                                  [patient_number]).fetchall()[0][0])
        tumors = [int(r[0]) for r in con.execute("SELECT tumor_id FROM registry_tumor WHERE patient_id = ? "
                                                 "ORDER BY tumor_id", [patient]).fetchall()]
    return patient, tumors


def test_a_tumor_opens_its_patients_whole_record(db: Path) -> None:
    ops = open_operational_store(db)
    patient, [tumor] = registry_ids(db, "00000102")
    correct(REGISTRAR, db, ops, tumor_id=tumor, item="histologicTypeIcdO3", new_value="8550", reason="slides")
    record = patient_record(REGISTRAR, db, ops, tumor_id=tumor)
    assert record.patient_id == patient and [t.tumor_id for t in record.tumors] == [tumor]
    assert record.values["sex"] == "1" and record.follow_up["vital_status"] == "1"
    [reports] = [[r for r in record.reports if r.registry_tumor_id == tumor]]
    assert len(reports) == 2 and {r.facility for r in reports} == {"1000000001", "2000000002"}
    assert {r.items["nameFirst"] for r in reports} == {"THOMAS", "TOM"}
    assert all(r.file_name.endswith(("h1.xml", "h2.xml")) and r.received_at for r in reports)
    assert reports[0].items["histologicTypeIcdO3"] == "8140"          # as received, never corrected
    assert {"nameFirst", "socialSecurityNumber", "patientIdNumber"} <= record.differing_items(tumor)
    assert "primarySite" not in record.differing_items(tumor)

    values = {v.column: v for v in record.tumor(tumor).provenance}
    assert values["histology"].value == "8550" and values["histology"].rule == "correction"
    assert values["histology"].source_id is None and values["histology"].naaccr_item == "histologicTypeIcdO3"
    [done] = record.corrections
    assert values["histology"].correction_id == done.correction_id and done.old_value == "8140"
    assert values["primary_site"].source_id in {r.source_tumor_id for r in reports}
    assert values["primary_site"].rule.startswith("specific site")
    assert {v.column for v in record.provenance} >= {"sex", "date_of_birth", "vital_status"}
    assert len(record.links) == 2 and {row["method"] for row in record.links} <= {
        "new", "deterministic", "probabilistic", "reviewer"}
    assert len(record.tumor(tumor).links) == 2

    [viewed] = events(ops, action="record-view")
    assert viewed.user == "registrar1" and viewed.detail["patient_id"] == patient
    assert viewed.detail["tumors"] == [tumor] and viewed.detail["purpose"] == "record"


def test_reviews_edit_failures_treatment_and_work_items_are_shown(db: Path) -> None:
    ops = open_operational_store(db)
    patient, tumors = registry_ids(db, "00000101")
    with duckdb.connect(str(db)) as con:   # the edits' own table, as a run of the edits leaves it
        con.execute("INSERT INTO edit_failure VALUES (3, ?, 'site-laterality', 'incoming', 'error', "
                    "'primarySite,laterality', 'primarySite=C509; laterality=9', 'laterality of a paired site', 1)",
                    [tumors[-1]])
    sync_worklist(db, ops)
    record = patient_record(REGISTRAR, db, ops, patient_id=patient)
    assert {r.kind for r in record.reviews} == {"patient", "tumor"}
    assert all(r.status == "pending" for r in record.reviews)
    [failure] = record.tumor(tumors[-1]).edit_failures
    assert failure["edit_id"] == "site-laterality" and failure["severity"] == "error"
    [work] = record.tumor(tumors[-1]).work_items
    assert work["status"] == "open" and work["registry_tumor_id"] == tumors[-1]
    assert "site-laterality" in {i.get("edit_id") for i in work["issues"]}
    assert all(w["registry_tumor_id"] == t.tumor_id for t in record.tumors for w in t.work_items)
    assert all(isinstance(row["modality"], str) for t in record.tumors for row in t.treatment)


def test_unknown_ids_and_ambiguous_requests_are_explained(db: Path) -> None:
    ops = open_operational_store(db)
    with pytest.raises(InvalidRequest, match="no registry tumor 424242"):
        patient_record(REGISTRAR, db, ops, tumor_id=424242)
    with pytest.raises(InvalidRequest, match="no registry patient 424242"):
        patient_record(REGISTRAR, db, ops, patient_id=424242)
    with pytest.raises(InvalidRequest, match="exactly one"):
        patient_record(REGISTRAR, db, ops)


@pytest.mark.parametrize("role", ["researcher", "administrator"])
def test_other_roles_are_refused_and_the_refusal_is_audited(db: Path, role: str) -> None:
    ops = open_operational_store(db)
    patient, _ = registry_ids(db, "00000102")
    with pytest.raises(AccessDenied):
        patient_record(Principal(f"{role}1", role), db, ops, patient_id=patient)
    [refused] = events(ops, action="access-refused")
    assert refused.user == f"{role}1" and refused.detail == {"action": "record-view", "patient_id": patient,
                                                             "tumor_id": None}
    assert not events(ops, action="record-view")
