"""Hematopoietic and lymphoid neoplasms (ICD-O-3 9590-9993): the multiple-primary rules of 2010 and later.

Source: SEER Hematopoietic and Lymphoid Neoplasm Coding Manual, multiple-primary rules M1-M15
(https://seer.cancer.gov/tools/heme/), as implemented in imsweb/mph (``Mp2010HematopoieticGroup.java``),
with the Heme DB tables of same-primary pairs and chronic-to-acute transformations
(``registry/data/mp_hematopoietic_same_primary.csv``, ``mp_hematopoietic_transformations.csv``).
Rules M1, M8, M9, M11 need facts a tumor report does not carry (number of biopsies, how much is known),
M12 and M13 need the treatment of the acute neoplasm; they are not applied (see
docs/multiple-primaries.md). Diagnoses before 2010 are judged with these rules too.
"""

from __future__ import annotations

from functools import cache

from registry.mp_rules import (
    MULTIPLE,
    QUESTIONABLE,
    SINGLE,
    UNKNOWN,
    UNKNOWN_DATE,
    Outcome,
    Step,
    Tumor,
    codes,
    data_rows,
    days_apart,
    final,
    later,
    one_each,
    step,
)

MAST_CELL_SARCOMA, MAST_CELL_LEUKEMIA = codes("9740"), codes("9742")
MYELOID_SARCOMA = codes("9930")
MYELOID_LEUKEMIA = codes("9840 9861 9865-9867 9869-9874 9891 9895-9898 9910-9911 9931")
NHL_OR_LYMPHOMA_NOS = codes("9590-9591 9670-9729")
NHL = codes("9591 9670-9729")
HODGKIN = codes("9596 9650-9667")
NOS_HISTOLOGIES = codes("9591 9670 9702 9729 9760 9800 9808 9809 9811 9820 9832 9835 9860 9861 9863 9960 "
                        "9964 9987")
PTLD = codes("9971")
PTLD_PARTNERS = codes("9680 9684 9702 9705 9708 9709 9716-9719 9724 9726 9729 9827 9831 9834 9837 9596 9650-9667 "
                      "9731-9732 9734")


@cache
def _pairs(name: str, left: str, right: str) -> dict[tuple[str, str], int]:
    """(code, code) -> first diagnosis year the pair holds, from a Heme DB table (both columns may list codes)."""
    out: dict[tuple[str, str], int] = {}
    for row in data_rows(name):
        first = int(row["from_year"]) if row["from_year"] else 0
        for x in codes(row[left]):
            for y in codes(row[right]):
                out[(x, y)] = min(first, out.get((x, y), first))
    return out


def same_primary(h1: str, h2: str, year: int) -> bool:
    """Heme DB: are the two histologies the same primary for a diagnosis in ``year`` (either order)?"""
    pairs = _pairs("mp_hematopoietic_same_primary.csv", "morphology", "same_primary")
    for key in ((h1, h2), (h2, h1)):
        first = pairs.get(key)
        if first is not None and year >= first:
            return True
    return False


def transforms_to_acute(chronic: str, acute: str, year: int) -> bool:
    """Heme DB: does the chronic neoplasm ``chronic`` transform to the acute neoplasm ``acute``?"""
    first = _pairs("mp_hematopoietic_transformations.csv", "chronic", "acute").get((chronic, acute))
    return first is not None and year >= first


def _year(a: Tumor, b: Tumor) -> int:
    return max(a.year or 0, b.year or 0)


def _same_location(a: Tumor, b: Tumor) -> bool:
    """Same site, or same organ (three characters) other than lymph nodes (C77)."""
    return a.site == b.site or (a.site3 == b.site3 and a.site3 != "C77")


def _simultaneous(a: Tumor, b: Tumor) -> Outcome:
    """Single primary when diagnosed within 21 days; questionable when the dates cannot tell."""
    apart = days_apart(a, b, 21)
    if apart == UNKNOWN:
        return final(QUESTIONABLE, UNKNOWN_DATE)
    return final(SINGLE) if apart == 0 else None


def _single_histology(a: Tumor, b: Tumor) -> Outcome:
    return final(SINGLE) if a.hist == b.hist else None


def _sarcoma_with_leukemia(a: Tumor, b: Tumor) -> Outcome:
    pairs = ((MAST_CELL_SARCOMA, MAST_CELL_LEUKEMIA), (MYELOID_SARCOMA, MYELOID_LEUKEMIA))
    if not (a.beh == b.beh == "3" and any(one_each(a, b, s, lk) for s, lk in pairs)):
        return None
    apart, order = days_apart(a, b, 21), later(a, b)
    if apart == 0:
        return final(SINGLE)
    if order == 2:
        return final(QUESTIONABLE, UNKNOWN_DATE)
    sarcoma = MAST_CELL_SARCOMA | MYELOID_SARCOMA
    sarcoma_later = (order == 1 and a.hist in sarcoma) or (order == -1 and b.hist in sarcoma)
    return final(SINGLE) if sarcoma_later else None


def _two_nhl_same_place(a: Tumor, b: Tumor) -> Outcome:
    if a.hist != b.hist and a.hist in NHL_OR_LYMPHOMA_NOS and b.hist in NHL_OR_LYMPHOMA_NOS \
            and _same_location(a, b):
        return _simultaneous(a, b)
    return None


def _hodgkin_and_nhl_same_place(a: Tumor, b: Tumor) -> Outcome:
    if one_each(a, b, HODGKIN, NHL_OR_LYMPHOMA_NOS) and _same_location(a, b):
        return _simultaneous(a, b)
    return None


def _hodgkin_and_nhl_elsewhere(a: Tumor, b: Tumor) -> Outcome:
    return final(MULTIPLE) if one_each(a, b, HODGKIN, NHL) and not _same_location(a, b) else None


def _specific_after_nos(a: Tumor, b: Tumor) -> Outcome:
    nos_a, nos_b = a.hist in NOS_HISTOLOGIES, b.hist in NOS_HISTOLOGIES
    if nos_a == nos_b or not same_primary(a.hist, b.hist, _year(a, b)):
        return None
    order = later(a, b)
    if order == 0:
        return None
    if order == 2:
        return final(QUESTIONABLE, UNKNOWN_DATE)
    specific_later = (order == 1 and nos_b) or (order == -1 and nos_a)
    return final(SINGLE) if specific_later else None


def _chronic_then_acute(a: Tumor, b: Tumor) -> Outcome:
    year = _year(a, b)
    if not (transforms_to_acute(a.hist, b.hist, year) or transforms_to_acute(b.hist, a.hist, year)):
        return None
    apart, order = days_apart(a, b, 21), later(a, b)
    if apart == UNKNOWN or order == 2:
        return final(QUESTIONABLE, UNKNOWN_DATE)
    earlier, latest = (b, a) if order == 1 else (a, b)
    return final(MULTIPLE) if apart == 1 and transforms_to_acute(earlier.hist, latest.hist, year) else None


def _ptld_with_lymphoma(a: Tumor, b: Tumor) -> Outcome:
    return _simultaneous(a, b) if one_each(a, b, PTLD, PTLD_PARTNERS) else None


def _heme_db(a: Tumor, b: Tumor) -> Outcome:
    if same_primary(a.hist, b.hist, _year(a, b)):
        return final(SINGLE, "The Heme DB lists the two histologies as the same primary")
    return final(MULTIPLE, "The Heme DB does not list the two histologies as the same primary")


HEMATOPOIETIC: list[Step] = [
    step("M2", "A single histology (including its recurrence) is a single primary", _single_histology),
    step("M3", "A sarcoma diagnosed with or after a leukemia of the same lineage is a single primary",
         _sarcoma_with_leukemia),
    step("M4", "Two non-Hodgkin lymphomas present together in the same location are a single primary",
         _two_nhl_same_place),
    step("M5", "Hodgkin and non-Hodgkin lymphoma present together in the same location are a single primary",
         _hodgkin_and_nhl_same_place),
    step("M6", "Hodgkin lymphoma in one location and non-Hodgkin lymphoma in another are multiple primaries",
         _hodgkin_and_nhl_elsewhere),
    step("M7", "A more specific histology after an NOS that the Heme DB calls the same primary is a single "
               "primary", _specific_after_nos),
    step("M10", "An acute neoplasm more than 21 days after the chronic neoplasm it transforms from is a new "
                "primary", _chronic_then_acute),
    step("M14", "Post-transplant lymphoproliferative disorder with a lymphoma or plasmacytoma at the same time "
                "is a single primary", _ptld_with_lymphoma),
    step("M15", "The Heme DB Multiple Primaries Calculator decides", _heme_db),
]
