"""Dashboard pages render over a fixture store and show its numbers (Streamlit AppTest)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pipelines.load import ingest_file

PAGES = Path(__file__).resolve().parents[1] / "dashboard" / "pages"
PATIENT = {"patientIdNumber": "00000001", "sex": "2"}
TUMOR = {"primarySite": "C509", "dateOfDiagnosis": "20200101"}


@pytest.fixture
def store(write_xml, db_path, monkeypatch) -> Path:
    ingest_file(write_xml("a.xml", [(PATIENT, [TUMOR, TUMOR]), ({**PATIENT, "patientIdNumber": "2"}, [TUMOR])]),
                db_path=db_path)
    ingest_file(write_xml("b.xml", [(PATIENT, [{**TUMOR, "bogus": "1"}])]), db_path=db_path)
    monkeypatch.setenv("REGISTRY_DB", str(db_path))
    return db_path


def test_store_overview_shows_counts(store):
    at = AppTest.from_file(str(PAGES / "store.py")).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    # b.xml: its only tumor is rejected, its patient record (valid) is kept
    assert metrics == {"Tumors": "3", "Patients": "3", "Rejected records": "1"}


def test_batches_page_lists_every_batch_with_accounting(store):
    at = AppTest.from_file(str(PAGES / "batches.py")).run()
    assert not at.exception
    batches = at.dataframe[0].value
    assert list(batches["tumors_read"]) == [1, 3]
    assert list(batches["tumors_loaded"] + batches["tumors_rejected"]) == [1, 3]
    rejects = at.dataframe[1].value
    assert list(rejects["rule"]) == ["unknown-item"]


def test_pages_explain_an_empty_store(tmp_path, monkeypatch):
    monkeypatch.setenv("REGISTRY_DB", str(tmp_path / "none.duckdb"))
    at = AppTest.from_file(str(PAGES / "store.py")).run()
    assert not at.exception
    assert "registry ingest" in at.warning[0].value


def test_router_starts_on_the_store_overview(store):
    at = AppTest.from_file(str(PAGES.parent / "app.py")).run()
    assert not at.exception
    assert at.title[0].value == "Registry store"
