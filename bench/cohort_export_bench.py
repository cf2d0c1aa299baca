"""Cohort export benchmark: a Safe Harbor export of 100,000 registry tumors, timed per file format.

Usage: ``.venv/bin/python bench/cohort_export_bench.py [--tumors 100000]``

Builds (once, cached under ``bench/.cache/``) a store of ``--tumors`` registry tumors with plausible values
(sites, histologies, ages, sexes, races, Kansas ZIP codes, 2014-2023, first-course treatment) by writing the
registry tables directly (ingest and linkage are measured elsewhere; here only the export matters). Then
times ``registry.cohort_export.export_cohort`` for a researcher over every tumor with 16 variables
(policy, k-anonymity with k = 11, pseudonyms, data dictionary, manifest, ZIP, audit), best of two runs per
format. Target: under 10 s for 100,000 rows.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
TARGET_SECONDS = 10.0
VARIABLES = ["primarySite", "histologicTypeIcdO3", "behaviorCodeIcdO3", "dateOfDiagnosis", "ageAtDiagnosis",
             "sex", "race1", "addrAtDxPostalCode", "summaryStage2018", "vitalStatus", "dateOfLastContact",
             "rxSummSurgPrimSite", "rxDateSurgery", "rxSummChemo", "rxSummRadiation", "her2OverallSummary"]


def build_store(db: Path, tumors: int) -> None:
    """Registry patients, tumors and treatment rows with plausible values (one tumor per person in ten has a
    second)."""
    import duckdb

    from registry.store_writes import ensure_store

    ensure_store(db)
    con = duckdb.connect(str(db))
    con.execute("SET enable_progress_bar = false")
    con.execute(f"""
        CREATE TEMP TABLE gen AS
        SELECT i, CASE WHEN i % 10 = 9 THEN i - 1 ELSE i END AS person, 1 + (hash(i) % 2)::INT AS sex,
               25 + (hash(i * 7) % 70)::INT AS age, 2014 + (hash(i * 13) % 10)::INT AS year,
               (hash(i * 17) % 365)::INT AS doy, (hash(i * 19) % 10)::INT AS site,
               660 + (hash(i * 23) % 20)::INT AS zip3, (hash(i * 29) % 100)::INT AS race,
               (hash(i * 31) % 100) < 45 AS dead
        FROM range({tumors}) t(i)""")
    con.execute("""
        INSERT INTO registry_patient BY NAME
        SELECT person AS patient_id, 1 AS reports, CAST(any_value(sex) AS VARCHAR) AS sex,
               CASE WHEN any_value(race) < 85 THEN '01' WHEN any_value(race) < 94 THEN '02'
                    WHEN any_value(race) < 96 THEN '03' WHEN any_value(race) < 99 THEN '04' ELSE '99' END AS race1,
               CASE WHEN bool_or(dead) THEN '0' ELSE '1' END AS vital_status,
               DATE '2024-06-30' AS date_of_last_contact, 'D' AS date_of_last_contact_precision
        FROM gen GROUP BY person""")
    con.execute("""
        INSERT INTO registry_tumor BY NAME
        SELECT i AS tumor_id, person AS patient_id, 1 AS reports, make_date(year, 1, 1) + doy AS date_of_diagnosis,
               'D' AS date_of_diagnosis_precision, year::SMALLINT AS diagnosis_year, age::SMALLINT AS age_at_diagnosis,
               ['C509', 'C619', 'C341', 'C189', 'C187', 'C449', 'C679', 'C739', 'C649', 'C250'][site + 1] AS primary_site,
               ['8500', '8140', '8070', '8140', '8140', '8720', '8120', '8260', '8312', '8140'][site + 1] AS histology,
               '3' AS behavior, 'KS' AS addr_at_dx_state, CAST(zip3 AS VARCHAR) || lpad(CAST(i % 100 AS VARCHAR), 2, '0')
               AS addr_at_dx_postal_code, CAST(1 + hash(i * 37) % 3 AS VARCHAR) AS summary_stage_2018,
               CASE WHEN site = 0 THEN CAST(hash(i * 41) % 2 AS VARCHAR) END AS her2_overall_summary
        FROM gen""")
    con.execute("""
        INSERT INTO registry_treatment BY NAME
        SELECT i AS tumor_id, m.modality, m.code, m.code_item, true AS given,
               make_date(year, 1, 1) + doy + 20 AS start_date, 'D' AS start_date_precision, i AS source_tumor_id
        FROM gen, (VALUES ('surgery', '22', 'rxSummSurgPrimSite'), ('chemotherapy', '01', 'rxSummChemo'),
                          ('radiation', '1', 'rxSummRadiation')) m(modality, code, code_item)
        WHERE hash(i * 43 + length(m.modality)) % 3 > 0""")
    con.execute("""INSERT INTO ingest_batch (batch_id, file_name, sha256, status, finished_at)
                   VALUES (1, 'bench', 'bench', 'loaded', now())""")
    con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tumors", type=int, default=100_000)
    parser.add_argument("--cache", type=Path, default=ROOT / "bench" / ".cache")
    args = parser.parse_args(argv)
    from registry.cohort_export import export_cohort
    from registry.export_requests import set_export_settings
    from registry.operational_store import open_operational_store
    from registry.principal import Principal
    from registry.store import read_connection

    args.cache.mkdir(parents=True, exist_ok=True)
    db = args.cache / f"cohort-export-{args.tumors}.duckdb"
    if not db.exists():
        started = time.perf_counter()
        build_store(db, args.tumors)
        print(f"built {db} in {time.perf_counter() - started:.1f} s")
    with read_connection(db) as con:
        cohort = con.execute("SELECT tumor_id, patient_id FROM registry_tumor ORDER BY tumor_id").df()
    researcher = Principal("bench-researcher", "researcher")
    failed = False
    with tempfile.TemporaryDirectory() as folder:
        ops = open_operational_store(path=Path(folder) / "bench.ops.sqlite")
        set_export_settings(Principal("bench-administrator", "administrator"), ops, row_limit=len(cohort))
        for file_format in ("csv", "parquet", "xlsx"):
            best, result = float("inf"), None
            for run in range(2):
                started = time.perf_counter()
                result = export_cohort(researcher, db, ops, definition={"name": "bench"}, selection=cohort,
                                       variables=VARIABLES, file_format=file_format,
                                       destination=Path(folder) / f"cohort-{run}.{file_format}.zip")
                best = min(best, time.perf_counter() - started)
            assert result is not None and result.manifest is not None
            anonymity = result.manifest["k_anonymity"]
            verdict = "ok" if best < TARGET_SECONDS else "SLOW"
            failed |= best >= TARGET_SECONDS
            print(f"{file_format:8s} {len(cohort):,} tumors -> {result.rows:,} rows in {best:.2f} s "
                  f"({anonymity['rows_generalised']:,} generalised, {anonymity['rows_withheld']:,} withheld; "
                  f"target {TARGET_SECONDS:.0f} s: {verdict})")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
