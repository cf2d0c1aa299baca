"""The date the registry received each report (NAACCR 2111 dateCaseReportReceived): typed on the source tumor,
the earliest of its reports on the registry tumor, and filled in when an older store is upgraded."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.load import ingest_file
from pipelines.registry_export import registry_records
from registry.naaccr import base_dictionary
from registry.store import read_connection
from registry.store_writes import ensure_store, write_connection
from tests.registry_reports import MARGARET, report, write_reports
from tests.store_versions import (
    back_before_item_layouts,
    back_before_report_versions,
    back_to_long_source_items,
)

# One breast cancer reported by two hospitals (received on different days) and a second woman whose report
# gives only the month it was received.
REPORTS = [
    report("1000000001", "00000101", **MARGARET, dateCaseReportReceived="20190601"),
    report("2000000002", "00007001", **MARGARET, dateCaseReportReceived="20190502"),
    report("1000000001", "00000102", nameLast="OKAFOR", nameFirst="JOAN", dateOfBirth="19700101",
           socialSecurityNumber="523448812", primarySite="C187", histologicTypeIcdO3="8140", laterality="0",
           dateCaseReportReceived="201907"),
]


@pytest.fixture()
def store(tmp_path: Path) -> Path:
    db = tmp_path / "registry.duckdb"
    ingest_file(write_reports(tmp_path / "reports.xml", REPORTS), db_path=db, user="tests")
    return db


def _received(db: Path) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Received dates of the source tumors (by patient number) and registry tumors (by site), and which
    report each registry tumor's date came from."""
    with read_connection(db) as con:
        source = dict(con.execute("""SELECT p.patient_id_number, t.date_case_report_received::VARCHAR
                                     FROM tumor t JOIN patient p USING (patient_id)""").fetchall())
        registry = dict(con.execute("SELECT primary_site, date_case_report_received::VARCHAR "
                                    "FROM registry_tumor").fetchall())
        rules = dict(con.execute("""
            SELECT r.primary_site, p.patient_id_number || ' ' || v.rule
            FROM consolidated_value v JOIN registry_tumor r ON r.tumor_id = v.entity_id
            JOIN tumor t ON t.tumor_id = v.source_id JOIN patient p ON p.patient_id = t.patient_id
            WHERE v.level = 2 AND v.item = 'date_case_report_received'""").fetchall())
    return source, registry, rules


def test_ingest_types_the_received_date_and_the_registry_tumor_takes_the_earliest(store: Path) -> None:
    source, registry, rules = _received(store)
    assert source == {"00000101": "2019-06-01", "00007001": "2019-05-02", "00000102": "2019-07-01"}
    assert registry == {"C504": "2019-05-02", "C187": "2019-07-01"}
    assert rules["C504"] == "00007001 earliest report received"


def test_the_registry_export_says_when_the_registry_first_received_each_tumor(store: Path) -> None:
    with read_connection(store) as con:
        records = list(registry_records(con, base_dictionary("250"), lambda _item: True))
    received = {tumor["primarySite"]: tumor["dateCaseReportReceived"] for _, tumors in records for tumor in tumors}
    assert received == {"C504": "20190502", "C187": "20190701"}


def test_upgrading_a_version_6_store_fills_the_received_dates(store: Path) -> None:
    """A store of schema version 6 (received dates not typed, every item one row of the source_item table)
    is upgraded in place: the received dates are filled and the items, packed per record, read back the same."""
    items = "SELECT batch_id, level, entity_seq, naaccr_id, value FROM source_item ORDER BY ALL"
    with read_connection(store) as con:
        before = con.execute(items).fetchall()
    with write_connection(store) as con:
        back_before_item_layouts(con)
        back_to_long_source_items(con)
        con.execute("DELETE FROM consolidated_value WHERE item = 'date_case_report_received'")
        con.execute("ALTER TABLE tumor DROP COLUMN date_case_report_received")
        con.execute("ALTER TABLE registry_tumor DROP COLUMN date_case_report_received")
        back_before_report_versions(con)
        con.execute("DELETE FROM schema_migration WHERE number >= 7")
    assert ensure_store(store) == ["0007_report_received.sql", "0008_report_versions.sql",
                                   "0009_packed_source_items.sql", "0010_item_layouts.sql"]
    with read_connection(store) as con:
        assert con.execute(items).fetchall() == before and len(before) > 20
    source, registry, rules = _received(store)
    assert source == {"00000101": "2019-06-01", "00007001": "2019-05-02", "00000102": "2019-07-01"}
    assert registry == {"C504": "2019-05-02", "C187": "2019-07-01"}
    assert rules["C504"] == "00007001 earliest report received"
    assert ensure_store(store) == []
