"""Turn a current store back into an older schema version, to test that upgrading it in place works."""

from __future__ import annotations

import duckdb

from registry.store import migrations


def _statement_of(migration: int, start: str) -> str:
    """The statement of a migration that begins with ``start`` (up to its semicolon)."""
    sql = next(text for number, _name, text in migrations() if number == migration)
    begin = sql.index(start)
    return sql[begin:sql.index(";", begin)]


def back_before_item_layouts(con: duckdb.DuckDBPyConnection) -> None:
    """Undo migration 0010: each record's naaccrIds packed in its own row again, no layouts."""
    for table, level in (("source_patient", 1), ("source_tumor", 2)):
        con.execute(f"ALTER TABLE {table} ADD COLUMN naaccr_ids VARCHAR USING COMPRESSION zstd")
        con.execute(f"""UPDATE {table} SET naaccr_ids = l.naaccr_ids FROM source_item_layout l
                        WHERE l.batch_id = {table}.batch_id AND l.level = {level} AND l.layout_seq = {table}.layout_seq""")
    con.execute("DROP VIEW source_item")
    for table in ("source_patient", "source_tumor"):
        con.execute(f"ALTER TABLE {table} DROP COLUMN layout_seq")
    con.execute("DROP TABLE source_item_layout")
    con.execute(_statement_of(9, "CREATE VIEW source_item AS"))   # the view as migration 0009 made it

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
