"""The breach report resolves every way a registrar reaches records (record view, worklist, link review,
patient search, trial-candidate list, cohort export) to registry patients with name and address at
diagnosis, and says so when an event does not identify its records."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from registry.audit import record_event
from registry.breach_report import breach_report
from registry.cohort import data_vintage
from registry.cohort_definition import CohortDefinition
from registry.edit_reports import edit_report
from registry.errors import InvalidRequest
from registry.link_review import review_queue
from registry.linkage.find import find_patient
from registry.operational_store import open_operational_store
from registry.principal import Principal
from registry.record_view import patient_record
from registry.source_records import review_pair
from registry.store import read_connection
from registry.trial_candidates import candidate_list
from registry.worklist import list_items, sync_worklist, work_item
from tests.registry_reports import two_hospitals_store

REGISTRAR = Principal("reg1", "registrar")
ADMIN = Principal("admin1", "administrator")
BREAST = CohortDefinition.from_json({"name": "Breast", "groups": [
    {"name": "Breast", "criteria": [{"kind": "site", "codes": ["C500-C509"]}]}]})


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return two_hospitals_store(tmp_path_factory.mktemp("breach-report"))


@pytest.fixture
def db(built: Path, tmp_path: Path) -> Path:
    shutil.copytree(built.parent, tmp_path / "store")
    return tmp_path / "store" / built.name


def registry_patients(db: Path) -> dict[str, int]:
    """Registry patient of each facility patient number."""
    with read_connection(db) as con:
        return {str(n): int(p) for n, p in con.execute(
            "SELECT p.patient_id_number, l.registry_patient_id FROM patient_link l JOIN patient p "
            "ON p.patient_id = l.source_patient_id").fetchall()}


def tumors_of(db: Path, patient: int) -> str:
    with read_connection(db) as con:
        return " ".join(str(r[0]) for r in con.execute("SELECT tumor_id FROM registry_tumor WHERE patient_id = ? "
                                                       "ORDER BY tumor_id", [patient]).fetchall())


def test_every_way_of_reaching_a_record_is_resolved(db: Path) -> None:
    ops = open_operational_store(db)
    ids = registry_patients(db)
    margaret, margret, thomas = ids["00000101"], ids["00007003"], ids["00000102"]
    start = datetime.now(UTC) - timedelta(seconds=1)
    patient_record(REGISTRAR, db, ops, patient_id=thomas)
    sync_worklist(db, ops)
    items = list_items(REGISTRAR, ops)
    work_item(REGISTRAR, ops, items[0].work_item_id)
    for review in review_queue(ops, REGISTRAR):
        review_pair(REGISTRAR, db, ops, review.review_id)
    found = find_patient(REGISTRAR, db, ops, last_name="OKAFOR", date_of_birth="19470102")
    candidate_list(REGISTRAR, db, ops, BREAST)
    record_event(ops, REGISTRAR, "cohort-export", definition=BREAST.to_dict(), rows=2, kind="safe_harbor",
                 format="csv", data_vintage=data_vintage(db))
    edit_report(REGISTRAR, db, ops, batch_id=1)
    report = breach_report(ADMIN, db, ops, REGISTRAR.user, start, datetime.now(UTC) + timedelta(seconds=1))
    rows = report.rows
    assert report.patients == {margaret, margret, thomas}

    def of(how: str) -> list[tuple[int, str]]:
        chosen = rows[rows["how"] == how]
        return sorted((int(p), t) for p, t in zip(chosen["patient_id"], chosen["tumor_ids"], strict=True))

    assert of("record-view (record)") == [(thomas, tumors_of(db, thomas))]
    shown = {i.registry_tumor_id for i in items}
    listed = rows[rows["how"] == "record-view (worklist)"]
    assert {int(t) for ids_ in listed["tumor_ids"] for t in ids_.split()} == shown
    linked = rows[rows["how"] == "record-view (link-review)"]
    assert set(linked["patient_id"]) == {margaret, margret}
    assert linked["note"].str.contains("in a link review").all()
    assert [(int(p), n) for p, n in zip(rows[rows["action"] == "find-patient"]["patient_id"],
                                        rows[rows["action"] == "find-patient"]["note"], strict=True)] == [
        (c.registry_patient_id, "shown in the search results") for c in found]
    for action, note in (("trial-candidate-list", "records no data vintage"),
                         ("cohort-export", "run again at the export's data vintage")):
        chosen = rows[rows["action"] == action]
        assert set(chosen["patient_id"]) == {margaret, margret} and chosen["note"].str.contains(note).all()
    assert rows[rows["action"] == "cohort-export"]["note"].str.contains("the event recorded 2 rows").all()
    [unknown] = rows[rows["action"] == "export"].to_dict("records")
    assert pd.isna(unknown["patient_id"]) and "does not identify the records" in unknown["note"]
    names = rows.drop_duplicates("patient_id").set_index("patient_id")
    assert names.loc[thomas, "name_last"] == "OKAFOR" and names.loc[margaret, "addr_at_dx_postal_code"] == "67202"


def test_a_changed_store_and_a_window_outside_the_events_are_said(db: Path) -> None:
    ops = open_operational_store(db)
    record_event(ops, REGISTRAR, "cohort-export", definition=BREAST.to_dict(), rows=3,
                 data_vintage="2001-01-01 00:00:00+00")
    record_event(ops, REGISTRAR, "cohort-export", definition={"groups": "not a definition"}, rows=3)
    now = datetime.now(UTC)
    rows = breach_report(ADMIN, db, ops, REGISTRAR.user, now - timedelta(minutes=1), now + timedelta(minutes=1)).rows
    assert rows["note"].str.contains("the store changed since the export").sum() == 2
    assert rows["note"].str.contains("cannot be run again").sum() == 1
    empty = breach_report(ADMIN, db, ops, REGISTRAR.user, now - timedelta(days=2), now - timedelta(days=1))
    assert empty.rows.empty and empty.events == 0
    with pytest.raises(InvalidRequest):
        breach_report(ADMIN, db, ops, REGISTRAR.user, now, now - timedelta(days=1))
