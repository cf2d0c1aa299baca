"""Patient linkage benchmark: quality against the sample registry's truth, time and peak memory.

Usage: ``.venv/bin/python bench/linkage_bench.py [--tumors 150000 1000000] [--new 1000] [--ssn both]``

For each size, a store built with the project's own pipeline (``registry sample --preset bench --tumors N``,
``registry ingest``, population load) is taken from ``bench/.cache/dashboard-<N>/`` (the dashboard
benchmark's cache, so a 1M store built there is reused; built once when missing, about 6 min for 1M).
Then, in a fresh child process per run (a new interpreter, so each run's peak RSS is its own):

* **full**: ``extract`` every identity row from the store, ``train`` the model, ``score`` all candidate
  pairs, ``partition`` them with the model's thresholds. Timed step by step; the total is the sum.
* **incremental**: the store's last files holding at least ``--new`` source patient records play the new
  file (a late diagnosis year: few of its patients are known), then ``--new`` records drawn at random
  (seed 1; most have a match among the others); the model of the full run is reused. Timed: ``extract`` of every record (the registry's identity
  rows are re-read from the store, as the orchestration does) and ``score`` with ``new_ids``.

Quality, outside the timings: pairwise precision and recall of the partition against the truth's person
ids (pairs of source patient records; pending reviews count as not linked), blocking recall (share of truly
matching pairs that at least one prediction blocking rule or the facility patient number generates), the
review queue as a share of records, and precision/recall over a small grid of thresholds.

``--ssn`` chooses how the sample's SSNs are read: the sample draws them in area 900-999, never issued
by the SSA, which extraction nulls by default (``default``: linkage without SSN evidence), or accepts with
``accept_ssn_area_9xx`` (``accept``); ``both`` runs the two. The DuckDB connection splink uses is limited
to ``--threads`` threads (default 2) and ``--memory`` (default 4GB).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script from any directory
    sys.path.insert(0, str(ROOT))

TARGETS = {"precision": 0.995, "recall": 0.99, "review_share": 0.01, "full_1m_seconds": 180.0,
           "peak_rss_gb": 6.0, "incremental_seconds": 15.0}
GRID = ((4.0, 2.0), (6.0, 2.0), (6.0, 4.0), (8.0, 2.0), (10.0, 4.0), (12.0, 4.0))
GB = 1e9


def _peak_rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# -- inside the child ---------------------------------------------------------------------------------

def _memory_db() -> Any:
    """An in-memory DuckDB database (splink's working tables, the blocking-recall join)."""
    import duckdb

    return duckdb.connect()


def _linkage_api(threads: int, memory: str) -> Any:
    from splink import DuckDBAPI

    con = _memory_db()
    con.execute(f"SET threads = {int(threads)}")
    con.execute("SET memory_limit = ?", [memory])
    return DuckDBAPI(con)


def _blocking_recall(identities: Any, truth: dict[int, int]) -> dict[str, float]:
    """Share of truly matching pairs each prediction blocking rule generates, and all of them together."""
    import pandas as pd

    from registry.linkage.model import PREDICTION_BLOCKS

    con = _memory_db()
    con.register("ident", identities.select(["source_patient_id", "reporting_facility", "patient_id_number",
                                             *sorted({c for rule in PREDICTION_BLOCKS for c in rule})]))
    con.register("truth", pd.DataFrame({"id": list(truth), "person": list(truth.values())}))
    rules = {"+".join(cols): " and ".join(f"l.{c} = r.{c}" for c in cols) for cols in PREDICTION_BLOCKS}
    rules["facility+patient_id_number"] = ("l.reporting_facility = r.reporting_facility"
                                           " and l.patient_id_number = r.patient_id_number")
    hits = ", ".join(f"avg(coalesce({cond}, false)::int) AS \"{name}\"" for name, cond in rules.items())
    any_rule = " or ".join(f"coalesce({cond}, false)" for cond in rules.values())
    row = con.sql(f"""
        WITH pairs AS (SELECT a.id AS l, b.id AS r FROM truth a JOIN truth b ON a.person = b.person AND a.id < b.id)
        SELECT count(*) AS true_pairs, avg(({any_rule})::int) AS all_rules, {hits}
        FROM pairs JOIN ident l ON l.source_patient_id = pairs.l JOIN ident r ON r.source_patient_id = pairs.r
    """).df().iloc[0]
    return {str(k): float(v) for k, v in row.items()}


def child_full(db: Path, sample: Path, accept_9xx: bool, threads: int, memory: str, new: int,
               model_out: Path) -> dict[str, Any]:
    import logging

    from registry.linkage import extract, partition, score, train
    from registry.linkage.identity import no_identity_ids
    from registry.linkage.quality import pairwise_quality, sample_truth
    from registry.store import read_connection

    logging.getLogger("splink").setLevel(logging.WARNING)
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    with read_connection(db) as con:
        identities = extract(con, accept_ssn_area_9xx=accept_9xx)
        seconds["extract"] = time.perf_counter() - start
        truth = sample_truth(con, sample)
    api = _linkage_api(threads, memory)
    t = time.perf_counter()
    model = train(api, identities)
    seconds["train"] = time.perf_counter() - t
    t = time.perf_counter()
    edges = score(api, identities, model, min_weight=min(lower for _, lower in GRID))
    seconds["score"] = time.perf_counter() - t
    ids = identities["source_patient_id"].to_pylist()
    anonymous = no_identity_ids(identities)
    t = time.perf_counter()
    result = partition(ids, edges, upper=model.thresholds["upper"], lower=model.thresholds["lower"],
                       no_identity=anonymous)
    seconds["partition"] = time.perf_counter() - t
    seconds["total"] = sum(seconds.values())
    peak = _peak_rss_bytes()
    quality = pairwise_quality(result.cluster_of, truth)
    grid = []
    for upper, lower in GRID:
        other = partition(ids, edges, upper=upper, lower=lower, no_identity=anonymous)
        q = pairwise_quality(other.cluster_of, truth)
        grid.append({"upper": upper, "lower": lower, "precision": q.precision, "recall": q.recall,
                     "review_share": len(other.review) / len(ids)})
    model_out.write_text(json.dumps(model.__dict__))
    return {"records": len(ids), "seconds": seconds, "peak_rss_gb": peak / GB, "edges": len(edges),
            "thresholds": model.thresholds, "precision": quality.precision, "recall": quality.recall,
            "true_pairs": quality.true_pairs, "review": len(result.review),
            "review_share": len(result.review) / len(ids), "blocking_recall": _blocking_recall(identities, truth),
            "grid": grid, "new_batches": _last_batches(db, new)}


def _last_batches(db: Path, new: int) -> list[int]:
    """The last batches that together hold about ``new`` source patient records."""
    from registry.store import read_connection

    with read_connection(db) as con:
        counts = con.sql("SELECT batch_id, count(*) FROM patient GROUP BY batch_id ORDER BY batch_id DESC").fetchall()
    chosen, total = [], 0
    for batch, count in counts:
        if total >= new:
            break
        chosen.append(int(batch))
        total += int(count)
    return chosen


def child_incremental(db: Path, accept_9xx: bool, threads: int, memory: str, batches: list[int],
                      model_in: Path, random_new: int = 0) -> dict[str, Any]:
    import logging

    import pyarrow as pa
    import pyarrow.compute as pc

    from registry.linkage import LinkageModel, extract, score
    from registry.store import read_connection

    logging.getLogger("splink").setLevel(logging.WARNING)
    model = LinkageModel(**json.loads(model_in.read_text()))
    api = _linkage_api(threads, memory)
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    with read_connection(db) as con:
        identities = extract(con, accept_ssn_area_9xx=accept_9xx)
    seconds["extract"] = time.perf_counter() - start
    if random_new:
        import random
        new_ids = set(random.Random(1).sample(identities["source_patient_id"].to_pylist(), random_new))
    else:
        is_new = pc.is_in(identities["batch_id"], value_set=pa.array(batches, pa.int32()))
        new_ids = set(identities.filter(is_new)["source_patient_id"].to_pylist())
    t = time.perf_counter()
    edges = score(api, identities, model, new_ids=new_ids)
    seconds["score"] = time.perf_counter() - t
    seconds["total"] = sum(seconds.values())
    return {"new_records": len(new_ids), "records": identities.num_rows, "seconds": seconds,
            "edges": len(edges), "peak_rss_gb": _peak_rss_bytes() / GB}


# -- the parent ---------------------------------------------------------------------------------------

def _child(args: list[str]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--child", *args], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"child {args[:2]} failed:\n{out.stderr[-4000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run_size(tumors: int, cache: Path, modes: list[str], new: int, threads: int, memory: str) -> list[dict[str, Any]]:
    from bench.dashboard_bench import build_store

    db, store = build_store(tumors, cache, jobs=2)
    sample = db.parent / "sample"
    rows = []
    for mode in modes:
        model_file = db.parent / f"linkage-model-{mode}.json"
        common = [str(db), mode, str(threads), memory]
        full = _child(["full", *common, str(sample), str(new), str(model_file)])
        inc = _child(["incremental", *common, json.dumps(full["new_batches"]), str(model_file), "0"])
        scattered = _child(["incremental", *common, "[]", str(model_file), str(new)])
        rows.append({"tumors": store.get("tumors", tumors), "ssn": mode, "full": full, "incremental": inc,
                     "incremental_random": scattered})
        _print_row(rows[-1])
    return rows


def _print_row(row: dict[str, Any]) -> None:
    full, inc = row["full"], row["incremental"]
    s = full["seconds"]
    print(f"\n{row['tumors']:,} tumors, {full['records']:,} source patient records, SSN {row['ssn']}")
    print(f"  thresholds upper {full['thresholds']['upper']} lower {full['thresholds']['lower']}: "
          f"precision {full['precision']:.5f}  recall {full['recall']:.5f}  "
          f"review {full['review']:,} ({100 * full['review_share']:.2f}% of records)")
    print(f"  blocking recall {full['blocking_recall']['all_rules']:.5f} over {int(full['blocking_recall']['true_pairs']):,}"
          " true pairs; per rule: " + ", ".join(f"{k} {v:.3f}" for k, v in full["blocking_recall"].items()
                                              if k not in ("all_rules", "true_pairs")))
    print(f"  full: {s['total']:.1f} s (extract {s['extract']:.1f}, train {s['train']:.1f}, score {s['score']:.1f}, "
          f"partition {s['partition']:.1f}), {full['edges']:,} edges, peak RSS {full['peak_rss_gb']:.2f} GB")
    for label, run in (("last files", inc), ("random records", row["incremental_random"])):
        print(f"  incremental ({label}): {run['new_records']:,} new records vs {run['records'] - run['new_records']:,}: "
              f"{run['seconds']['total']:.1f} s (extract {run['seconds']['extract']:.1f}, "
              f"score {run['seconds']['score']:.1f}), {run['edges']:,} edges, peak RSS {run['peak_rss_gb']:.2f} GB")
    for g in full["grid"]:
        print(f"    upper {g['upper']:>4} lower {g['lower']:>4}: precision {g['precision']:.5f} "
              f"recall {g['recall']:.5f} review {100 * g['review_share']:.2f}%")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        kind, db, mode, threads, memory = argv[1], Path(argv[2]), argv[3], int(argv[4]), argv[5]
        if kind == "full":
            result = child_full(db, Path(argv[6]), mode == "accept", threads, memory, int(argv[7]), Path(argv[8]))
        else:
            result = child_incremental(db, mode == "accept", threads, memory, json.loads(argv[6]), Path(argv[7]),
                                       int(argv[8]))
        print(json.dumps(result))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tumors", type=int, nargs="+", default=[150_000, 1_000_000])
    parser.add_argument("--new", type=int, default=1000, help="source patient records in the incremental run")
    parser.add_argument("--ssn", choices=("default", "accept", "both"), default="both")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory", default="4GB")
    parser.add_argument("--cache", type=Path, default=ROOT / "bench" / ".cache")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    modes = ["default", "accept"] if args.ssn == "both" else [args.ssn]
    print(f"linkage benchmark on {platform.node()} ({os.cpu_count()} cpus), targets {TARGETS}")
    rows = [row for tumors in args.tumors
            for row in run_size(tumors, args.cache, modes, args.new, args.threads, args.memory)]
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"linkage-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps({"targets": TARGETS, "runs": rows}, indent=2))
    print(f"\nresults: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
