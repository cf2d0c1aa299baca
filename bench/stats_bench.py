"""Statistics benchmark: page-level statistics over a large store, timed as a page would call them.

Usage: ``.venv/bin/python bench/stats_bench.py [--tumors 5000000]``

Builds (once, cached under ``bench/.cache/``) a store with ``--tumors`` typed tumor rows spread over one
state's counties, 2014-2023, with the state's population loaded, by writing the typed tables directly
(ingest speed is measured by ``ingest_bench.py``; here only the query side matters). Then times, each the
best of three runs in this process: age-adjusted incidence by county (the map), the same for the state,
a Kaplan-Meier curve over all tumors and over one site, and Pohar-Perme net survival for one site.
Target: under 1 s each for county rates and a Kaplan-Meier curve on a 5M-tumor store.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

STATE_FIPS = "20"   # Kansas, as the sample registry


def build_store(db: Path, tumors: int) -> None:
    """Typed patient/tumor rows with plausible values, plus the state's population (scaled)."""
    import duckdb
    import numpy as np
    import pandas as pd

    from registry.store_writes import ensure_store
    from sample_data.reference import county_population

    ensure_store(db)
    pop = county_population()
    pop = pop[pop["fips"].str.startswith(STATE_FIPS) & pop["year"].between(2014, 2023)].copy()
    counties = sorted(pop["fips"].unique())
    scale = tumors / (pop["population"].sum() * 0.0048)
    pop["population"] = np.rint(pop["population"] * scale).astype(np.int64)
    con = duckdb.connect(str(db))
    con.execute("SET enable_progress_bar = false")
    con.register("pop_frame", pop.assign(sex=pop["sex"].astype(str)))
    con.execute("""INSERT INTO population BY NAME
                   SELECT year, '20' AS state_fips, fips, '99' AS registry, '9' AS race, '9' AS origin, sex,
                          age_group, population, 1 AS load_id FROM pop_frame""")
    con.register("county_list", pd.DataFrame({"k": range(len(counties)), "fips": counties}))
    sites = ["39", "49", "30", "20", "37", "55", "70", "52", "43", "28"]
    con.register("site_list", pd.DataFrame({"k": range(len(sites)), "code": sites}))
    con.execute(f"""
        CREATE TEMP TABLE gen AS
        SELECT i, 1 + (hash(i) % 2)::INT AS sex, 30 + (hash(i * 7) % 60)::INT AS age,
               2014 + (hash(i * 13) % 10)::INT AS year, (hash(i * 17) % 365)::INT AS doy,
               (hash(i * 19) % {len(counties)})::INT AS ck, (hash(i * 23) % {len(sites)})::INT AS sk,
               (hash(i * 29) % 4000)::INT AS follow, (hash(i * 31) % 100) < 45 AS dead
        FROM range({tumors}) t(i)""")
    con.execute("""
        INSERT INTO patient BY NAME
        SELECT i AS patient_id, 1 AS batch_id, i::INT AS patient_seq, CAST(sex AS VARCHAR) AS sex,
               make_date(year, 1, 1) + doy - CAST(age * 365.25 AS INT) AS date_of_birth,
               'D' AS date_of_birth_precision, CASE WHEN dead THEN '0' ELSE '1' END AS vital_status,
               least(make_date(year, 1, 1) + doy + follow, DATE '2024-12-31') AS date_of_last_contact,
               'D' AS date_of_last_contact_precision
        FROM gen""")
    con.execute("""
        INSERT INTO tumor BY NAME
        SELECT i AS tumor_id, i AS patient_id, 1 AS batch_id, i::INT AS tumor_seq,
               make_date(year, 1, 1) + doy AS date_of_diagnosis, 'D' AS date_of_diagnosis_precision,
               year::SMALLINT AS diagnosis_year, age::SMALLINT AS age_at_diagnosis, '3' AS behavior,
               c.fips AS county_fips, s.code AS site_recode, '1' AS type_of_reporting_source,
               CAST(1 + hash(i * 37) % 3 AS VARCHAR) AS summary_stage_2018
        FROM gen JOIN county_list c ON c.k = gen.ck JOIN site_list s ON s.k = gen.sk""")
    con.execute("""INSERT INTO ingest_batch (batch_id, file_name, sha256, status, finished_at)
                   VALUES (1, 'bench', 'bench', 'loaded', now())""")
    con.close()


def best_of(runs: int, work: Callable[[], object]) -> float:
    """Fastest wall time of ``runs`` calls."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tumors", type=int, default=5_000_000)
    parser.add_argument("--cache", type=Path, default=ROOT / "bench" / ".cache")
    args = parser.parse_args(argv)

    from rich.console import Console
    from rich.table import Table

    from registry.analysis import incidence_rates, survival
    from registry.cohort import TumorFilter
    from registry.principal import Principal
    from registry.stats import StatisticalWarning

    registrar = Principal("bench", "registrar", frozenset())

    warnings.simplefilter("ignore", StatisticalWarning)
    args.cache.mkdir(parents=True, exist_ok=True)
    db = args.cache / f"stats-store-{args.tumors}.duckdb"
    if not db.exists():
        start = time.perf_counter()
        build_store(db, args.tumors)
        Console().print(f"built {db} in {time.perf_counter() - start:.1f} s")
    everything = TumorFilter(sexes=("1", "2"), first_year=2014, last_year=2023)
    breast = TumorFilter(site_recodes=("39",))
    checks = [
        ("age-adjusted rates by county (map)", lambda: incidence_rates(registrar, db, everything, by=("county_fips",)), 1.0),
        ("age-adjusted rate, state", lambda: incidence_rates(registrar, db, everything), 1.0),
        ("Kaplan-Meier, all tumors", lambda: survival(registrar, db, TumorFilter()), 1.0),
        ("Kaplan-Meier, one site", lambda: survival(registrar, db, breast), 1.0),
        ("Pohar-Perme net survival, one site", lambda: survival(registrar, db, breast, method="pohar-perme"), None),
    ]
    table = Table(title=f"Statistics over a {args.tumors:,}-tumor store (best of 3)")
    for column in ("statistic", "seconds", "target", "verdict"):
        table.add_column(column)
    for name, work, target in checks:
        seconds = best_of(3, work)
        verdict = "" if target is None else ("PASS" if seconds < target else "MISS")
        table.add_row(name, f"{seconds:.2f}", "" if target is None else f"< {target:g} s", verdict)
    Console().print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
