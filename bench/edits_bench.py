"""Coding edits benchmark: every edit of every set over a million source tumor reports and their registry tumors.

Usage: ``.venv/bin/python bench/edits_bench.py [--tumors 1000000] [--base STORE]``

The store is a registry of at least ``--tumors`` reports made by replicating a linked base store under new
batch, report, registry patient and registry tumor ids (every copy keeps its items, links and consolidated
values). The base is ``--base`` (e.g. the ``make demo`` store), else the dashboard benchmark's store of
``--tumors`` reports (``bench/.cache/dashboard-<N>/``, built once by the project's own pipeline). Each
measurement runs in a fresh child process, so its peak RSS (VmHWM) is its own:

* **read floor**: DuckDB merely reading the items the edits read (count and total length of every value of
  those items in the lossless layer), the cheapest pass over the same data;
* **ours**: ``registry.edits.run_edits`` on the whole registry (both sets: the report edits over the
  lossless layer, the registry-tumor and inter-record edits, and the one write of every failure).

Target: ours <= 60 s on 2 cores. The ratio to the read floor is printed beside it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
TARGET_SECONDS = 60.0

CHILD = """
import json, sys, time
from pathlib import Path
import duckdb
db, mode = Path(sys.argv[1]), sys.argv[2]
start = time.perf_counter()
if mode == "ours":
    from registry.edits import run_edits
    s = run_edits(db, run_by="bench")
    extra = {"reports": s.reports, "tumors": s.tumors, "errors": s.errors, "warnings": s.warnings}
else:
    from registry.edits.definitions import edit_definitions
    items = sorted({i for e in edit_definitions() for i in e.items} | {e.override for e in edit_definitions()} - {""})
    con = duckdb.connect(str(db), read_only=True)
    con.execute("SET memory_limit = '1GB'")
    n, size = con.execute("SELECT count(*), sum(length(value)) FROM source_item WHERE naaccr_id IN "
                          "(SELECT unnest(?::VARCHAR[]))", [items]).fetchall()[0]
    extra = {"values": n, "characters": int(size)}
seconds = time.perf_counter() - start
peak = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"seconds": seconds, "peak_rss_mb": peak / 1e6, **extra}))
"""

SHIFT = 2 ** 32


def replicate(db: Path, tumors: int) -> int:
    """Copy the store's reports, links and registry entities under new ids until it holds `tumors` reports;
    returns the number of reports."""
    con = duckdb.connect(str(db))
    try:
        base = con.execute("SELECT count(*) FROM tumor").fetchall()[0][0]
        batches = con.execute("SELECT max(batch_id) + 1 FROM ingest_batch").fetchall()[0][0]
        reg_tumors = con.execute("SELECT coalesce(max(tumor_id), 0) + 1 FROM registry_tumor").fetchall()[0][0]
        reg_patients = con.execute("SELECT coalesce(max(patient_id), 0) + 1 FROM registry_patient").fetchall()[0][0]
        con.execute("DELETE FROM edit_failure")
        con.execute("DELETE FROM edit_run")
        copies = -(-tumors // base)
        for k in range(1, copies):
            b, t, p = k * batches, k * reg_tumors, k * reg_patients
            ids = b * SHIFT
            last = batches - 1
            con.execute("BEGIN")
            con.execute(f"INSERT INTO ingest_batch BY NAME SELECT * REPLACE (batch_id + {b} AS batch_id, "
                        f"sha256 || '-{k}' AS sha256) FROM ingest_batch WHERE batch_id <= {last}")
            for table in ("source_patient", "source_tumor", "source_item_layout"):   # the items, as packed
                con.execute(f"INSERT INTO {table} BY NAME SELECT * REPLACE (batch_id + {b} AS batch_id) "
                            f"FROM {table} WHERE batch_id <= {last}")
            con.execute(f"INSERT INTO patient BY NAME SELECT * REPLACE (patient_id + {ids} AS patient_id, "
                        f"batch_id + {b} AS batch_id) FROM patient WHERE batch_id <= {last}")
            con.execute(f"INSERT INTO tumor BY NAME SELECT * REPLACE (tumor_id + {ids} AS tumor_id, "
                        f"patient_id + {ids} AS patient_id, batch_id + {b} AS batch_id) FROM tumor "
                        f"WHERE batch_id <= {last}")
            con.execute(f"INSERT INTO registry_patient BY NAME SELECT * REPLACE (patient_id + {p} AS patient_id) "
                        f"FROM registry_patient WHERE patient_id < {reg_patients}")
            con.execute(f"INSERT INTO registry_tumor BY NAME SELECT * REPLACE (tumor_id + {t} AS tumor_id, "
                        f"patient_id + {p} AS patient_id) FROM registry_tumor WHERE tumor_id < {reg_tumors}")
            con.execute(f"INSERT INTO registry_treatment BY NAME SELECT * REPLACE (tumor_id + {t} AS tumor_id, "
                        f"source_tumor_id + {ids} AS source_tumor_id) FROM registry_treatment "
                        f"WHERE tumor_id < {reg_tumors}")
            con.execute(f"INSERT INTO patient_link BY NAME SELECT * REPLACE (source_patient_id + {ids} AS "
                        f"source_patient_id, registry_patient_id + {p} AS registry_patient_id) FROM patient_link "
                        f"WHERE registry_patient_id < {reg_patients}")
            con.execute(f"INSERT INTO tumor_link BY NAME SELECT * REPLACE (source_tumor_id + {ids} AS source_tumor_id, "
                        f"registry_tumor_id + {t} AS registry_tumor_id) FROM tumor_link "
                        f"WHERE registry_tumor_id < {reg_tumors}")
            con.execute("COMMIT")
        con.execute("CHECKPOINT")
        return int(con.execute("SELECT count(*) FROM tumor").fetchall()[0][0])
    finally:
        con.close()


def _child(db: Path, mode: str) -> dict[str, float]:
    result = subprocess.run([sys.executable, "-c", CHILD, str(db), mode], capture_output=True, text=True, cwd=ROOT,
                            check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tumors", type=int, default=1_000_000)
    parser.add_argument("--base", type=Path, help="A linked store to replicate (default: the dashboard "
                                                  "benchmark's store of --tumors reports).")
    parser.add_argument("--cache", type=Path, default=ROOT / "bench" / ".cache")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    if args.base is None:
        from bench.dashboard_bench import build_store

        base, _ = build_store(args.tumors, args.cache, jobs=2)
    else:
        base = args.base
    with tempfile.TemporaryDirectory(dir=args.cache) as tmp:
        db = Path(tmp) / "registry.duckdb"
        shutil.copy(base, db)
        reports = replicate(db, args.tumors)
        floor = _child(db, "floor")
        ours = _child(db, "ours")
    ratio = ours["seconds"] / floor["seconds"]
    verdict = "PASS" if ours["seconds"] <= TARGET_SECONDS else "MISS"
    print(json.dumps({"reports": reports, "read_floor": floor, "ours": ours, "ratio_to_read_floor": ratio,  # noqa: T201
                      "target_seconds": TARGET_SECONDS, "verdict": verdict}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
