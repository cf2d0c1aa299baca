"""How well the registry record matches a synthetic sample's truth: each person once, each cancer once.

Usage: python -m bench.registry_truth_check --db STORE --sample SAMPLE_FOLDER

Reports, against the sample's truth folder (`truth/reports.csv`, `truth/tumors.csv`):
* pairwise patient linkage precision and recall (pairs of source patient records in one registry patient vs
  one true person; pending reviews count as not linked) and the review queue as a share of reports;
* the share of tumor reports assigned to the right true tumor (its registry tumor is the one that holds most
  of its true tumor's reports, and most of its registry tumor's reports belong to its true tumor), and the
  registry tumor count against the truth's;
* the statewide age-adjusted incidence rate (invasive, all years, US 2000 standard) from the store's
  registry tumors against the same rate from the truth's tumors.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from registry.analysis import incidence_rates, population_counts
from registry.cohort import TumorFilter
from registry.link_review import pending_counts
from registry.linkage.quality import pairwise_quality, sample_truth
from registry.operational_store import open_operational_store
from registry.principal import Principal
from registry.stats.rates import age_adjusted_rates
from registry.store import read_connection

CHECKER = Principal("truth-check", "registrar")


def _age_group(age: pd.Series) -> pd.Series:
    """SEER's 19 age groups (00, 01-04, 05-09, ..., 80-84, 85+), as the population file has them."""
    def label(years: int) -> str:
        if years < 1:
            return "00"
        if years < 5:
            return "01-04"
        if years >= 85:
            return "85+"
        low = years // 5 * 5
        return f"{low:02d}-{low + 4:02d}"
    return age.astype(int).map(label)


def _tumor_truth(db: Path, sample: Path) -> pd.DataFrame:
    """One row per loaded tumor report: its registry tumor and its true tumor."""
    reports = pd.read_csv(sample / "truth" / "reports.csv", dtype=str,
                          usecols=["file", "patientIdNumber", "tumorRecordNumber", "reportingFacility", "tumor_index"])
    with read_connection(db) as con:
        con.register("truth_reports", reports)
        frame = con.sql("""
            SELECT t.tumor_id, l.registry_tumor_id, CAST(r.tumor_index AS BIGINT) AS true_tumor
            FROM tumor t JOIN patient p ON p.patient_id = t.patient_id
            JOIN ingest_batch b ON b.batch_id = t.batch_id
            JOIN tumor_link l ON l.source_tumor_id = t.tumor_id
            JOIN truth_reports r ON ends_with(b.file_name, '/' || r.file) AND r.patientIdNumber = p.patient_id_number
             AND r.reportingFacility = t.reporting_facility AND r.tumorRecordNumber = t.tumor_record_number""").df()
        con.unregister("truth_reports")
    return frame


def _majority(frame: pd.DataFrame, by: str, of: str) -> pd.Series:
    counts = frame.groupby([by, of]).size().reset_index(name="n").sort_values(["n", of], ascending=[False, True])
    return counts.drop_duplicates(by).set_index(by)[of]


def tumor_assignment(db: Path, sample: Path) -> dict[str, float]:
    frame = _tumor_truth(db, sample)
    registry_of_truth = _majority(frame, "true_tumor", "registry_tumor_id")
    truth_of_registry = _majority(frame, "registry_tumor_id", "true_tumor")
    right = ((frame["true_tumor"].map(registry_of_truth) == frame["registry_tumor_id"])
             & (frame["registry_tumor_id"].map(truth_of_registry) == frame["true_tumor"]))
    true_tumors = int(pd.read_csv(sample / "truth" / "reports.csv", usecols=["tumor_index"])["tumor_index"].nunique())
    with read_connection(db) as con:
        registry_tumors = int(con.execute("SELECT count(*) FROM registry_tumor").fetchall()[0][0])
    return {"tumor_reports_matched": len(frame), "right_tumor_share": float(right.mean()),
            "registry_tumors": registry_tumors, "true_tumors": true_tumors,
            "tumor_count_difference": (registry_tumors - true_tumors) / true_tumors}


def incidence(db: Path, sample: Path) -> dict[str, float]:
    """Statewide age-adjusted incidence of invasive tumors from the store and from the truth."""
    everyone = TumorFilter()
    stored = float(incidence_rates(CHECKER, db, everyone).table["rate"].iloc[0])
    truth = pd.read_csv(sample / "truth" / "tumors.csv", usecols=["sex", "age", "diagnosis_date", "stage_group"])
    truth = truth[truth["stage_group"] != "in_situ"]   # invasive (behavior 3), as the store's rate counts
    years = pd.to_datetime(truth["diagnosis_date"]).dt.year
    population = population_counts(CHECKER, db, everyone).table
    truth = truth[years.between(everyone.first_year or years.min(), everyone.last_year or years.max())]
    cases = pd.DataFrame({"age_group": _age_group(truth["age"]), "count": 1}).groupby(
        "age_group", as_index=False)["count"].sum()
    pop = population.groupby("age_group", as_index=False)["population"].sum()
    expected = float(age_adjusted_rates(cases, pop)["rate"].iloc[0])
    return {"rate_store": stored, "rate_truth": expected, "rate_difference": (stored - expected) / expected}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--sample", type=Path, required=True)
    args = parser.parse_args()
    with read_connection(args.db) as con:
        person_of = sample_truth(con, args.sample)
        links = con.execute("SELECT source_patient_id, registry_patient_id FROM patient_link").fetchall()
    quality = pairwise_quality({int(a): int(b) for a, b in links}, person_of)
    pending = pending_counts(open_operational_store(args.db))
    figures = {"patient_reports": len(links), "precision": quality.precision, "recall": quality.recall,
               "review_share": pending["patient"] / max(len(links), 1), "pending_reviews": pending,
               **tumor_assignment(args.db, args.sample), **incidence(args.db, args.sample)}
    print(json.dumps(figures, indent=2, default=str))   # noqa: T201 - a command-line report


if __name__ == "__main__":
    main()
