"""Turn a current store back into an older schema version, to test that upgrading it in place works."""

from __future__ import annotations

import duckdb


def back_to_long_source_items(con: duckdb.DuckDBPyConnection) -> None:
    """Undo migration 0009: every item a row of the source_item table again, no packed columns (the caller
    also removes the schema_migration rows it takes the store back over)."""
    con.execute("CREATE TABLE source_item_long AS SELECT * FROM source_item")
    con.execute("DROP VIEW source_item")
    con.execute("ALTER TABLE source_item_long RENAME TO source_item")
    for table in ("source_patient", "source_tumor"):
        for column in ("naaccr_ids", "item_values"):
            con.execute(f"ALTER TABLE {table} DROP COLUMN {column}")


def back_before_report_versions(con: duckdb.DuckDBPyConnection) -> None:
    """Undo migration 0008: no versions of re-sent reports, no unchanged counts."""
    con.execute("DROP VIEW source_patient_superseded")
    con.execute("DROP TABLE source_tumor_superseded")
    con.execute("ALTER TABLE ingest_batch DROP COLUMN tumors_unchanged")
    con.execute("ALTER TABLE ingest_batch DROP COLUMN patients_unchanged")
