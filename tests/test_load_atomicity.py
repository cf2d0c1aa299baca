"""A load is atomic: killed at any moment it leaves the store as before, and a rerun completes it.

Readers and the loader share the store without failing: a reader holding the store delays the commit,
it never breaks it, and nobody sees half a batch.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.load import ingest_file
from registry.store import read_connection
from tests.conftest import naaccr_xml

PATIENT = {"patientIdNumber": "00000001", "sex": "1", "dateOfBirth": "19400101"}
TUMOR = {"primarySite": "C619", "histologicTypeIcdO3": "8140", "behaviorCodeIcdO3": "3",
         "dateOfDiagnosis": "20200101", "addrAtDxState": "NC", "countyAtDx": "001", "rxSummChemo": "00"}


def _big_file(tmp_path: Path, patients: int) -> Path:
    path = tmp_path / "big.xml"
    path.write_text(naaccr_xml([({**PATIENT, "patientIdNumber": f"{i:08d}"}, [TUMOR, TUMOR])
                                for i in range(patients)]))
    return path


def _ingest_command(path: Path, db: Path) -> list[str]:
    return [sys.executable, "-m", "registry_cli", "ingest", str(path), "--db", str(db)]


def _counts(db: Path) -> tuple[int, int, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        if not con.execute("SELECT count(*) FROM information_schema.tables "
                           "WHERE table_name = 'ingest_batch'").fetchall()[0][0]:
            return 0, 0, 0  # killed while the new store was being created: nothing is there yet
        row = con.execute("SELECT (SELECT count(*) FROM ingest_batch WHERE status = 'loaded'), "
                          "(SELECT count(*) FROM tumor), (SELECT count(*) FROM source_tumor)").fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


@pytest.mark.slow
def test_kill_during_ingest_then_rerun_gives_exactly_one_copy(tmp_path):
    patients = 2500   # a load of a few seconds, to be killed at spread-out moments
    path = _big_file(tmp_path, patients)
    tumors = 2 * patients
    db = tmp_path / "data" / "registry.duckdb"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    # Learn how long a load takes on this machine, then kill loads at spread-out moments of it.
    timing_db = tmp_path / "timing" / "registry.duckdb"
    start = time.monotonic()
    subprocess.run(_ingest_command(path, timing_db), env=env, check=True, capture_output=True)
    duration = time.monotonic() - start
    for fraction in (0.2, 0.5, 0.8, 0.9, 0.95):
        proc = subprocess.Popen(_ingest_command(path, db), env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(duration * fraction)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if db.exists():
            loaded, typed, source = _counts(db)
            assert (typed, source) == (loaded * tumors, loaded * tumors), "a half batch is visible"
    subprocess.run(_ingest_command(path, db), env=env, capture_output=True)
    assert _counts(db) == (1, tumors, tumors)
    subprocess.run(_ingest_command(path, db), env=env, capture_output=True)
    assert _counts(db) == (1, tumors, tumors)


def test_reader_holding_the_store_delays_but_does_not_break_a_load(tmp_path, write_xml):
    db = tmp_path / "data" / "registry.duckdb"
    first = write_xml("first.xml", [(PATIENT, [TUMOR])])
    second = write_xml("second.xml", [({**PATIENT, "patientIdNumber": "00000002"}, [TUMOR])])
    ingest_file(first, db_path=db)
    released = threading.Event()

    def hold_reader() -> None:
        with read_connection(db) as con:
            con.execute("SELECT count(*) FROM tumor").fetchall()
            time.sleep(1.0)
        released.set()

    reader = threading.Thread(target=hold_reader)
    reader.start()
    time.sleep(0.2)
    result = ingest_file(second, db_path=db)
    reader.join()
    assert released.is_set()
    assert result.status == "loaded"
    with read_connection(db) as con:
        assert con.execute("SELECT count(*) FROM tumor").fetchone() == (2,)


def test_reader_in_another_process_delays_but_does_not_break_a_load(tmp_path, write_xml):
    db = tmp_path / "data" / "registry.duckdb"
    ingest_file(write_xml("first.xml", [(PATIENT, [TUMOR])]), db_path=db)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import duckdb, sys, time\n"
        f"con = duckdb.connect({str(db)!r}, read_only=True)\n"
        "print('open', flush=True)\n"
        "time.sleep(1.5)\n"
        "con.close()\n")], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
    result = ingest_file(write_xml("second.xml", [({**PATIENT, "patientIdNumber": "2"}, [TUMOR])]), db_path=db)
    assert holder.wait() == 0
    assert result.status == "loaded"
    assert _counts(db) == (2, 2, 2)
