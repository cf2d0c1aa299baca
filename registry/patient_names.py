"""Registry patients' family names as written on their reports (a read of the analytic store), for rules that
compare them with other names, such as breach detection's family-name rule."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import duckdb

from registry.errors import StoreError
from registry.store import read_connection


def family_key(text: str) -> str:
    """A name as compared: upper case, without accents, spaces or punctuation."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(c for c in plain.upper() if c.isalpha())


def family_names(db_path: Path, patient_ids: list[int], *, timeout: float = 5.0) -> dict[int, set[str]]:
    """Each registry patient's last names and birth surnames (`family_key`) on any of its reports; waits at most
    `timeout` seconds for a load's commit (the caller may hold another store's write lock)."""
    try:
        with read_connection(db_path, timeout=timeout) as con:
            rows = con.execute("""SELECT DISTINCT pl.registry_patient_id, i.value FROM patient_link pl
                                  JOIN patient p ON p.patient_id = pl.source_patient_id
                                  JOIN source_item i ON i.batch_id = p.batch_id AND i.level = 1
                                       AND i.entity_seq = p.patient_seq
                                       AND i.naaccr_id IN ('nameLast', 'nameBirthSurname')
                                  WHERE list_contains(?, pl.registry_patient_id)""", [patient_ids]).fetchall()
    except duckdb.Error as exc:
        raise StoreError(f"{db_path}: cannot read patients' names: {exc}") from exc
    found: dict[int, set[str]] = {}
    for patient, value in rows:
        if key := family_key(str(value)):
            found.setdefault(int(patient), set()).add(key)
    return found
