"""What the data-quality certification reads from the analytic store: the tumors a diagnosis year certifies,
the counts of each criterion per year, the tumors behind each count, observed tumors by reference site and
the person-years behind the expected counts.

All of the certification's analytic SQL is here (`registry.certification` holds none). The helper tables a
query needs (the years asked for, the states of the loaded population, the incidence edits and the reference
sites) travel as Arrow tables registered on the connection for the statement, never as SQL text.

Which tumors a year certifies (NAACCR's "all sites" count): registry tumors diagnosed that year that are
malignant (behavior 3), or in situ of the urinary bladder (site recode 55, behavior 2); residents only, as
far as the data tell: a tumor whose state at diagnosis is known (not blank, not ZZ "unknown") and is not a
state whose population is loaded for that year is left out, so observed and expected cover the same area.
With no population loaded for the year, every tumor counts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from registry.geography import STATE_FIPS
from registry.store import read_connection

UNKNOWN_STATES = ("", "ZZ")   # state at diagnosis not known: the tumor is taken as a resident

# Conditions over the certified tumor c (one per criterion that counts tumors).
DCO_SQL = "c.type_of_reporting_source = '7'"
MISSING_SQL = {
    "missing_age": "c.age_at_diagnosis IS NULL",
    "missing_sex": "coalesce(c.sex, '') IN ('', '9')",
    "missing_county": "coalesce(c.county_at_dx, '') IN ('', '999')",
    "missing_race": "coalesce(c.race1, '') IN ('', '99')",
}
MICROSCOPIC_SQL = "c.diagnostic_confirmation IN ('1', '2', '3', '4')"
# Primary site unknown or ill-defined (IARC's "unspecified site"): C80.9, C76.0-C76.8, C26.9, C39.9.
UNKNOWN_SITE_SQL = "(c.primary_site IN ('C809', 'C269', 'C399') OR c.primary_site BETWEEN 'C760' AND 'C768')"
FAILING_EDITS_SQL = """EXISTS (SELECT 1 FROM edit_failure f WHERE f.level = 3 AND f.record_id = c.tumor_id
                               AND f.severity = 'error' AND f.edit_id IN (SELECT edit_id FROM incidence_edit))"""
# The deadlines of the timeliness criteria: the close of the diagnosis year plus 23 (12) months.
DEADLINE_SQL = {"completeness_23_months": "make_date(c.diagnosis_year + 2, 11, 30)",
                "completeness_12_months": "make_date(c.diagnosis_year + 1, 12, 31)"}
RECEIVED_SQL = {name: f"c.date_case_report_received <= {deadline}" for name, deadline in DEADLINE_SQL.items()}
CONDITIONS = {"dco": DCO_SQL, **MISSING_SQL, "microscopically_verified": MICROSCOPIC_SQL,
              "unknown_site": UNKNOWN_SITE_SQL, "failing_edits": FAILING_EDITS_SQL}

CERTIFIED = f"""
    WITH loaded AS (SELECT DISTINCT q.year, s.abbr FROM population q JOIN certification_state s ON s.fips = q.state_fips),
    covered AS (SELECT DISTINCT year FROM loaded)
    SELECT t.tumor_id, t.patient_id, t.diagnosis_year, t.date_of_diagnosis, t.site_recode, t.primary_site,
           t.histology, t.behavior, t.age_at_diagnosis, t.county_at_dx, t.addr_at_dx_state,
           t.type_of_reporting_source, t.diagnostic_confirmation, t.reporting_facility,
           t.date_case_report_received, p.sex, p.race1
    FROM registry_tumor t JOIN registry_patient p USING (patient_id)
    WHERE t.diagnosis_year IN (SELECT year FROM certification_year)
      AND (t.behavior = '3' OR (t.behavior = '2' AND t.site_recode = '55'))
      AND (upper(coalesce(t.addr_at_dx_state, '')) IN ({', '.join(repr(s) for s in UNKNOWN_STATES)})
           OR t.diagnosis_year NOT IN (SELECT year FROM covered)
           OR EXISTS (SELECT 1 FROM loaded l WHERE l.year = t.diagnosis_year
                                                AND l.abbr = upper(t.addr_at_dx_state)))"""

YEARLY = f"""
    WITH c AS ({CERTIFIED})
    SELECT c.diagnosis_year, count(*) AS tumors,
           {', '.join(f'count(*) FILTER (WHERE {sql}) AS {name}' for name, sql in CONDITIONS.items())}
    FROM c GROUP BY c.diagnosis_year ORDER BY c.diagnosis_year"""

# Certified tumors by reference site: a tumor belongs to a site when its site recode, histology (when the site
# lists histologies for that recode), primary site (when the site lists or excludes some), behavior and sex
# are the site's.
BY_SITE_ROWS = f"""
    WITH c AS ({CERTIFIED})
    SELECT DISTINCT c.*, r.site_key FROM c
    JOIN reference_site r ON r.site_recode = c.site_recode AND r.behavior = c.behavior AND r.sex = c.sex
         AND (r.histology_low IS NULL
              OR try_cast(c.histology AS INTEGER) BETWEEN r.histology_low AND r.histology_high)
         AND (r.sites IS NULL OR list_contains(r.sites, c.primary_site))
         AND NOT list_contains(r.excluded_sites, coalesce(c.primary_site, ''))"""

PERSON_YEARS = """
    SELECT year AS diagnosis_year, sex, age_group, CAST(sum(population) AS BIGINT) AS population
    FROM population WHERE year IN (SELECT year FROM certification_year)
    GROUP BY ALL ORDER BY ALL"""


@contextmanager
def _connection(db_path: Path, years: Sequence[int], incidence_edits: Sequence[str] = (),
                reference_sites: pd.DataFrame | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read connection with the helper tables registered (see the module doc)."""
    tables = {
        "certification_year": pa.table({"year": pa.array(sorted(set(years)), pa.int64())}),
        "certification_state": pa.table({"abbr": pa.array(list(STATE_FIPS), pa.string()),
                                         "fips": pa.array(list(STATE_FIPS.values()), pa.string())}),
        "incidence_edit": pa.table({"edit_id": pa.array(list(incidence_edits), pa.string())}),
    }
    if reference_sites is not None:
        tables["reference_site"] = pa.Table.from_pandas(reference_sites, preserve_index=False)
    with read_connection(db_path) as con:
        for name, table in tables.items():
            con.register(name, table)
        yield con


def diagnosis_years(db_path: Path) -> list[int]:
    """Every diagnosis year of the registry's tumors, in order."""
    with read_connection(db_path) as con:
        rows = con.execute("SELECT DISTINCT diagnosis_year FROM registry_tumor WHERE diagnosis_year IS NOT NULL "
                           "ORDER BY diagnosis_year").fetchall()
    return [int(row[0]) for row in rows]


def yearly_counts(db_path: Path, years: Sequence[int], incidence_edits: Sequence[str]) -> pd.DataFrame:
    """Per diagnosis year: certified tumors and how many of them meet each condition of ``CONDITIONS``."""
    with _connection(db_path, years, incidence_edits) as con:
        return con.execute(YEARLY).df()


def certified_tumors(db_path: Path, years: Sequence[int], condition: str | None,
                     incidence_edits: Sequence[str] = ()) -> pd.DataFrame:
    """The certified tumors of the years (meeting one condition of ``CONDITIONS`` when given), one row each."""
    where = CONDITIONS[condition] if condition else "TRUE"
    with _connection(db_path, years, incidence_edits) as con:
        return con.execute(f"WITH c AS ({CERTIFIED}) SELECT * FROM c WHERE {where} "
                           "ORDER BY c.diagnosis_year, c.tumor_id").df()


def tumors_by_site(db_path: Path, years: Sequence[int], reference_sites: pd.DataFrame) -> pd.DataFrame:
    """Certified tumors by year and reference site (columns diagnosis_year, site_key, count), with how many of
    them have a received date (``dated``) and how many had arrived by each deadline (``DEADLINE_SQL``)."""
    received = ", ".join(f"count(*) FILTER (WHERE {sql}) AS {name}" for name, sql in RECEIVED_SQL.items())
    with _connection(db_path, years, reference_sites=reference_sites) as con:
        return con.execute(f"SELECT diagnosis_year, site_key, count(*) AS count, "
                           f"count(c.date_case_report_received) AS dated, {received} FROM ({BY_SITE_ROWS}) c "
                           "GROUP BY ALL ORDER BY ALL").df()


def late_tumors(db_path: Path, years: Sequence[int], reference_sites: pd.DataFrame, criterion: str) -> pd.DataFrame:
    """Certified tumors of the reference sites that had not arrived by a timeliness criterion's deadline
    (received later, or no received date), with the deadline."""
    with _connection(db_path, years, reference_sites=reference_sites) as con:
        return con.execute(f"SELECT c.*, {DEADLINE_SQL[criterion]} AS deadline FROM ({BY_SITE_ROWS}) c "
                           f"WHERE NOT coalesce({RECEIVED_SQL[criterion]}, false) "
                           "ORDER BY c.diagnosis_year, c.tumor_id").df()


def person_years(db_path: Path, years: Sequence[int]) -> pd.DataFrame:
    """The loaded population by year, sex and SEER age group (all counties, races and origins together)."""
    with _connection(db_path, years) as con:
        return con.execute(PERSON_YEARS).df()


def failing_edits(db_path: Path, tumor_ids: Sequence[int], incidence_edits: Sequence[str]) -> pd.DataFrame:
    """The error-level incidence edit failures of registry tumors (level 3): tumor_id, edit_id, message."""
    table = pa.table({"tumor_id": pa.array(list(tumor_ids), pa.int64())})
    with _connection(db_path, (), incidence_edits) as con:
        con.register("certification_tumor", table)
        return con.execute("""SELECT f.record_id AS tumor_id, f.edit_id, f.item_values, f.message FROM edit_failure f
                              WHERE f.level = 3 AND f.severity = 'error'
                                AND f.edit_id IN (SELECT edit_id FROM incidence_edit)
                                AND f.record_id IN (SELECT tumor_id FROM certification_tumor)
                              ORDER BY f.record_id, f.edit_id""").df()


def publication_edits_ran(db_path: Path) -> bool:
    """Whether the publication edits (the registry tumors' own values) have run at least once."""
    with read_connection(db_path) as con:
        return bool(con.execute("SELECT count(*) FROM edit_run WHERE edit_set = 'publication'").fetchall()[0][0])


def certified_among(db_path: Path, years: Sequence[int], tumor_ids: Sequence[int]) -> pd.DataFrame:
    """Which of the registry tumors ``tumor_ids`` a year certifies (columns tumor_id, diagnosis_year)."""
    table = pa.table({"tumor_id": pa.array(sorted(set(tumor_ids)), pa.int64())})
    with _connection(db_path, years) as con:
        con.register("certification_tumor", table)
        return con.execute(f"WITH c AS ({CERTIFIED}) SELECT c.tumor_id, c.diagnosis_year FROM c "
                           "WHERE c.tumor_id IN (SELECT tumor_id FROM certification_tumor) ORDER BY ALL").df()
