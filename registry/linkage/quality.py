"""How good a linkage is against known truth: pairwise precision and recall.

Pairs are pairs of source patient records; a pair is linked when both records are in one cluster and truly
matching when both belong to one true person. Counting is done on cluster x person cells, so it costs the
number of records, not the number of pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd


@dataclass(frozen=True)
class PairQuality:
    true_pairs: int
    linked_pairs: int
    correct_pairs: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.linked_pairs if self.linked_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0


def _pairs(counts: pd.Series) -> int:
    n = counts.to_numpy(np.int64)
    return int((n * (n - 1) // 2).sum())


def pairwise_quality(cluster_of: dict[int, int], person_of: dict[int, int]) -> PairQuality:
    """Pairwise precision and recall of ``cluster_of`` (id -> cluster) against ``person_of`` (id -> person),
    over the ids both know."""
    frame = pd.DataFrame({"id": list(person_of), "person": list(person_of.values())})
    frame["cluster"] = frame["id"].map(cluster_of)
    frame = frame.dropna(subset=["cluster"])
    return PairQuality(true_pairs=_pairs(frame.groupby("person").size()),
                       linked_pairs=_pairs(frame.groupby("cluster").size()),
                       correct_pairs=_pairs(frame.groupby(["cluster", "person"]).size()))


def sample_truth(con: duckdb.DuckDBPyConnection, sample_folder: Path) -> dict[int, int]:
    """Source patient id -> true person id, from a synthetic sample registry's ``truth/reports.csv``
    (reports are matched to loaded records by file, reporting facility and patient number)."""
    reports = pd.read_csv(Path(sample_folder) / "truth" / "reports.csv", dtype=str,
                          usecols=["file", "patientIdNumber", "reportingFacility", "person_id"])
    reports = reports.drop_duplicates(["file", "patientIdNumber", "reportingFacility"])
    con.register("linkage_truth_reports", reports)
    try:
        rows = con.sql("""
            SELECT DISTINCT p.patient_id, CAST(r.person_id AS BIGINT)
            FROM patient p
            JOIN ingest_batch b ON b.batch_id = p.batch_id
            JOIN tumor t ON t.patient_id = p.patient_id
            JOIN linkage_truth_reports r
              ON ends_with(b.file_name, '/' || r.file) AND r.patientIdNumber = p.patient_id_number
             AND r.reportingFacility = t.reporting_facility
        """).fetchall()
    finally:
        con.unregister("linkage_truth_reports")
    return {int(a): int(b) for a, b in rows}
