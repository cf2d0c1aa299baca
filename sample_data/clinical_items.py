"""Vocabulary of the clinical coder: sites, stage groups and the NAACCR items it emits with their valid codes.

Shared by the site model (``clinical_model``), the drawing steps and the checks of the coded frame, so the
item list, the years each item is reported in and the code lists live in one place. The items come from
``sample_data/data/clinical_items.csv``: one row per item in output order, the first and last diagnosis year
it is reported for (empty: no limit; NAACCR rules: CS 2004-2015, SEER Summary Stage 2000 for 2001-2017,
Summary Stage 2018 / grade items / SSDIs / schema ID 2018+, EGFR/ALK and post-therapy clinical grade with the
v21 dictionary 2021+, 2023 surgery codes 2023+), its valid codes (space-separated; NAACCR Volume II item
definitions as in the ``naaccr-lookups`` tables) or, for items with free values (sizes, node counts, PSA,
dates, sites), the regular expression its values match.
"""

from __future__ import annotations

import csv
from importlib import resources

SITE_KEYS: tuple[str, ...] = (
    "breast", "prostate", "lung_bronchus", "colon_rectum", "melanoma_skin", "urinary_bladder", "nhl",
    "kidney_renal_pelvis", "corpus_uterus", "leukemia", "pancreas", "thyroid", "liver_ihbd",
    "oral_cavity_pharynx", "stomach", "ovary", "brain_ons", "myeloma", "esophagus", "cervix",
)
STAGE_GROUPS: tuple[str, ...] = ("in_situ", "localized", "regional", "distant", "unknown")
IS, LOC, REG, DIST, UNK = range(5)


def _load_items() -> list[dict[str, str]]:
    """The item table, one dict of text cells ('' when empty) per item, in output order."""
    with (resources.files("sample_data") / "data" / "clinical_items.csv").open("r", encoding="utf-8") as handle:
        items = list(csv.DictReader(handle))
    names = [row["item"] for row in items]
    if len(set(names)) != len(names):
        raise ValueError("clinical_items.csv: item names must be unique")
    return items


_ITEMS = _load_items()
# Output items in file order, and the diagnosis years in which each applies.
ITEM_YEARS: dict[str, tuple[int, int]] = {
    row["item"]: (int(row["first_year"] or 0), int(row["last_year"] or 9999)) for row in _ITEMS}
ITEMS: tuple[str, ...] = tuple(ITEM_YEARS)
HELPER_COLUMNS: tuple[str, ...] = ("_cancer_cod_icd10", "_recurrence_eligible", "_treated", "_first_rx_date")
DATE_ITEMS: tuple[str, ...] = tuple(i for i in ITEMS if i.startswith(("rxDate", "date")))

# Valid codes of the coded items; items with free values are checked by pattern in ``CODE_PATTERNS``.
CODES: dict[str, frozenset[str]] = {row["item"]: frozenset(row["codes"].split()) for row in _ITEMS if row["codes"]}
CODE_PATTERNS: dict[str, str] = {row["item"]: row["pattern"] for row in _ITEMS if row["pattern"]}
