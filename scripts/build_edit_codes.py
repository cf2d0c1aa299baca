"""Build ``registry/data/edit_codes.csv`` and ``registry/data/icdo3_morphology.csv`` from the NAACCR lookups.

Reads ``<reference>/coding/naaccr-lookups/<naaccrId>.csv`` (code,label; no header), the "simple" NAACCR
lookups published by the SEER program (https://seer.cancer.gov; one file per NAACCR item, named by its XML
id) and writes:

* ``edit_codes.csv``: ``item,code`` for every coded item the coding edits check (``CODED_ITEMS``);
* ``icdo3_morphology.csv``: ``histology,behavior`` for every ICD-O-3 morphology code with the behaviours
  ICD-O-3 (with the 2011+ updates and ICD-O-3.2 as far as the lookup reaches) gives it, from
  ``histologicTypeIcdO3_allTerms.csv`` (code,behavior,term,kind).

Items without a lookup of their own are written from the NAACCR item definitions (``EXTRA_CODES``):
grade clinical/pathological (2018+ grade tables: 1-5, A-E, L, H, M, S, 8, 9) and Summary Stage 2018.
Output is deterministic (sorted, LF line ends).

Usage: ``python scripts/build_edit_codes.py [--reference DIR]``
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "registry" / "data"
DEFAULT_REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"

CODED_ITEMS = ("primarySite", "behaviorCodeIcdO3", "grade", "laterality", "race1", "race2", "race3", "race4",
               "race5", "sex", "sexAssignedAtBirth", "primaryPayerAtDx", "diagnosticConfirmation",
               "typeOfReportingSource", "seerSummaryStage2000", "vitalStatus", "spanishHispanicOrigin")
# Behavior Code ICD-O-3 (item 523) takes 0-3: the lookup's 6 (metastatic) is ICD-O-3's, never a primary's.
BEHAVIORS = ("0", "1", "2", "3")
# NAACCR item definitions: grade tables of 2018+ (Grade Clinical/Pathological, items 3843/3844) and Summary
# Stage 2018 (item 764), which have no simple lookup.
_GRADES_2018 = ("1", "2", "3", "4", "5", "8", "9", "A", "B", "C", "D", "E", "H", "L", "M", "S")
EXTRA_CODES: dict[str, tuple[str, ...]] = {
    "gradeClinical": _GRADES_2018,
    "gradePathological": _GRADES_2018,
    "summaryStage2018": ("0", "1", "2", "3", "4", "7", "8", "9"),
}


def read_lookup(path: Path) -> list[str]:
    """The codes of one lookup file (first column)."""
    with path.open(newline="", encoding="utf-8") as handle:
        return [row[0].strip() for row in csv.reader(handle) if row and row[0].strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    args = parser.parse_args()
    lookups = args.reference / "coding" / "naaccr-lookups"
    rows = [(item, code) for item in CODED_ITEMS for code in read_lookup(lookups / f"{item}.csv")
            if not (item == "behaviorCodeIcdO3" and code not in BEHAVIORS)]
    rows += [(item, code) for item, codes in EXTRA_CODES.items() for code in codes]
    with (DATA / "edit_codes.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["item", "code"])
        writer.writerows(sorted(set(rows)))
    morphology: set[tuple[str, str]] = set()
    with (lookups / "histologicTypeIcdO3_allTerms.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.reader(handle):
            if len(row) >= 2 and row[0].isdigit() and len(row[0]) == 4 and row[1].strip().isdigit():
                morphology.add((row[0], row[1].strip()))
    with (DATA / "icdo3_morphology.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["histology", "behavior"])
        writer.writerows(sorted(morphology))


if __name__ == "__main__":
    main()
