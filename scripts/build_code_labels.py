"""Build ``registry/data/code_labels.csv``: the code labels the cohort export's data dictionary shows.

Reads ``<reference>/coding/naaccr-lookups/<naaccrId>.csv`` (code,label; no header), the "simple" NAACCR
lookups published by the SEER program (https://seer.cancer.gov; one file per NAACCR item, named by its XML
id), for every coded item of the export catalogue that has one (``LOOKUP_ITEMS``). ICD-O-3 histology comes
from ``histologicTypeIcdO3_preferredTermsOnly.csv`` (code/behavior, term): one label per 4-digit code, the
term of its malignant behavior when there is one, else of the next behavior in the order 3, 2, 1, 0, 6, 9.
Items without a lookup are written from the NAACCR item definitions (``DEFINED_LABELS``: Summary Stage 2018
and Derived Summary Stage 2018, items 764 and 762; the ER, PR and HER2 summaries, items 3827, 3915 and
3855; Grade Clinical and Pathological, items 3843 and 3844, whose letters and numbers mean a site's grade
table; First Course Surgery codes, items 1290 and 1291, whose detail is site-specific).
Labels are kept on one line (runs of white space, line breaks included, become one space).
Output: ``item,code,label``, sorted, LF line ends.

Usage: ``python scripts/build_code_labels.py [--reference DIR]``
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "registry" / "data"
DEFAULT_REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"

LOOKUP_ITEMS = ("sex", "race1", "spanishHispanicOrigin", "vitalStatus", "primarySite", "behaviorCodeIcdO3",
                "laterality", "grade", "diagnosticConfirmation", "typeOfReportingSource", "primaryPayerAtDx",
                "seerSummaryStage2000", "derivedSs2000", "cancerStatus", "recurrenceType1st", "addrAtDxState",
                "tumorSizeSummary", "regionalNodesPositive", "regionalNodesExamined", "rxSummRadiation",
                "phase1RadiationTreatmentModality", "rxSummChemo", "rxSummHormone", "rxSummBrm",
                "rxSummTransplntEndocr", "rxSummOther")
HISTOLOGY = "histologicTypeIcdO3"
BEHAVIOR_ORDER = ("3", "2", "1", "0", "6", "9")
_STAGE_2018 = {"0": "In situ", "1": "Localized", "2": "Regional, direct extension only",
               "3": "Regional, regional lymph nodes only", "4": "Regional, direct extension and regional lymph nodes",
               "7": "Distant", "8": "Benign/borderline (brain and CNS only)", "9": "Unknown if extension or metastasis"}
_RECEPTOR = {"0": "Negative", "1": "Positive", "7": "Test ordered, results not in chart",
             "9": "Not documented in medical record; cannot be determined; unknown"}
_GRADE_2018 = {"1": "Grade 1 (see the schema's grade table)", "2": "Grade 2 (see the schema's grade table)",
               "3": "Grade 3 (see the schema's grade table)", "4": "Grade 4 (see the schema's grade table)",
               "5": "Grade 5 (see the schema's grade table)", "A": "Well differentiated",
               "B": "Moderately differentiated", "C": "Poorly differentiated", "D": "Undifferentiated, anaplastic",
               "E": "Poorly differentiated or undifferentiated (high grade NOS)", "H": "High grade",
               "L": "Low grade", "M": "Intermediate grade", "S": "Sarcomatoid",
               "8": "Not applicable (hematopoietic neoplasm)", "9": "Grade cannot be assessed; unknown"}
_SURGERY = {"00": "None; no surgery of primary site", "98": "Not applicable (site-specific)",
            "99": "Unknown if surgery performed", "A000": "None; no surgery of primary site",
            "A980": "Not applicable (site-specific)", "A990": "Unknown if surgery performed",
            "B000": "None; no surgery of primary site", "B980": "Not applicable (site-specific)",
            "B990": "Unknown if surgery performed"}
DEFINED_LABELS: dict[str, dict[str, str]] = {
    "summaryStage2018": _STAGE_2018, "derivedSummaryStage2018": _STAGE_2018,
    "estrogenReceptorSummary": _RECEPTOR, "progesteroneRecepSummary": _RECEPTOR, "her2OverallSummary": _RECEPTOR,
    "gradeClinical": _GRADE_2018, "gradePathological": _GRADE_2018,
    "rxSummSurgPrimSite": _SURGERY, "rxSummSurgPrimSite2023": _SURGERY,
}


def read_lookup(path: Path) -> list[tuple[str, str]]:
    """(code, label) pairs of one lookup file."""
    with path.open(newline="", encoding="utf-8") as handle:
        return [(row[0].strip(), " ".join(row[1].split())) for row in csv.reader(handle)
                if len(row) >= 2 and row[0].strip()]


def histology_labels(path: Path) -> list[tuple[str, str]]:
    """One label per 4-digit ICD-O-3 histology: its malignant term, else the next behavior's."""
    terms: dict[str, dict[str, str]] = {}
    for code, label in read_lookup(path):
        histology, _, behavior = code.partition("/")
        terms.setdefault(histology, {}).setdefault(behavior, label)
    return [(histology, next(by[b] for b in BEHAVIOR_ORDER if b in by)) for histology, by in terms.items()
            if any(b in by for b in BEHAVIOR_ORDER)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    args = parser.parse_args()
    lookups = args.reference / "coding" / "naaccr-lookups"
    rows = [(item, code, label) for item in LOOKUP_ITEMS for code, label in read_lookup(lookups / f"{item}.csv")]
    rows += [(HISTOLOGY, code, label)
             for code, label in histology_labels(lookups / "histologicTypeIcdO3_preferredTermsOnly.csv")]
    rows += [(item, code, label) for item, labels in DEFINED_LABELS.items() for code, label in labels.items()]
    with (DATA / "code_labels.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["item", "code", "label"])
        writer.writerows(sorted(set(rows)))


if __name__ == "__main__":
    main()
