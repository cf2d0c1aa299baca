"""Solid Tumor Rules (2018 and later): breast, colon, lung, kidney and urinary modules, in the manual's order and
numbering, and the table of all 2018+ modules (the other modules are in ``registry.mp_solid_sites``).

Source of the rule text and step numbers: SEER Solid Tumor Rules (https://seer.cancer.gov/tools/solidtumor/)
as implemented in imsweb/mph (``mpgroups/Mp2018{Breast,Colon,Lung,Kidney,UrinarySites}Group.java``). Steps
that need information a tumor report does not carry (number of tumors, surgery, recurrence) are left out;
docs/multiple-primaries.md lists them. The MP/H 2007 modules are in ``registry.mp_solid_2007``.
"""

from __future__ import annotations

from registry.mp_rules import (
    MULTIPLE,
    QUESTIONABLE,
    SIDES,
    SINGLE,
    UNKNOWN,
    UNKNOWN_DATE,
    UNKNOWN_SIDE,
    Outcome,
    Step,
    Tumor,
    both_in,
    both_sides,
    codes,
    days_apart,
    default_single,
    final,
    histology_tables,
    insitu_after_invasive,
    invasive_after_insitu,
    more_than_years,
    one_each,
    potential,
    rows_differ,
    same_row,
    same_row_single,
    site_ranges,
    sites_differ,
    sites_differ_2_3,
    step,
    subtypes_differ,
    within_60_days_single,
)
from registry.mp_solid_sites import ADENOCARCINOMA, RULE_SETS_2018_SITES

UROTHELIAL_2018 = "8120 8130 8131 8020 8031 8082 8122"
UROTHELIAL_NOT_MICROPAPILLARY = "8120 8130 8020 8031 8082 8122"


# --- Breast ----------------------------------------------------------------------------------------------

def _paget_with_duct_or_lobular(a: Tumor, b: Tumor) -> Outcome:
    if a.beh in "23" and b.beh in "23" and one_each(a, b, codes("8540-8543"), codes("8500 8520")):
        return final(SINGLE)
    return None


def _duct_and_lobular_synchronous(a: Tumor, b: Tumor) -> Outcome:
    if one_each(a, b, codes("8500/2 8500/3 8035/3 8201/3 8022/3"), codes("8520/2 8519/2 8520/3")):
        return within_60_days_single(a, b)
    return None


def _breast_rows_differ(a: Tumor, b: Tumor) -> Outcome:
    carcinoma_nos_and_adeno = one_each(a, b, frozenset({"8010"}), ADENOCARCINOMA - {"8010"})
    return None if carcinoma_nos_and_adeno else rows_differ("breast_2018")(a, b)


BREAST = [
    step("M4", "Inflammatory carcinoma in one or both breasts is a single primary", both_in("8530/3", SINGLE)),
    step("M5", "Tumors in sites whose codes differ at the second or third character are multiple primaries",
         sites_differ_2_3),
    step("M6", "Tumors on both sides (left and right breast) are multiple primaries", both_sides(None)),
    step("M7", "Paget disease with underlying duct or lobular carcinoma is a single primary",
         _paget_with_duct_or_lobular),
    step("M8", "A breast tumor more than five years after the earlier one is a new primary", more_than_years(5)),
    step("M9", "Synchronous carcinoma NST/duct and lobular carcinoma are a single primary",
         _duct_and_lobular_synchronous),
    step("M10", "Two different subtypes/variants of Table 3 are multiple primaries", subtypes_differ("breast_2018")),
    step("M11", "Histologies on different rows of Table 3 are multiple primaries", _breast_rows_differ),
    step("M12", "An in situ tumor after an invasive tumor in the same breast is the same primary",
         insitu_after_invasive(same_side=True)),
    step("M13", "An invasive tumor within 60 days after an in situ tumor in the same breast is a single primary",
         invasive_after_insitu(more_than_60=False, same_side=True)),
    step("M14", "An invasive tumor more than 60 days after an in situ tumor in the same breast is a new primary",
         invasive_after_insitu(more_than_60=True, same_side=True)),
    step("M15", "No earlier rule applies: single primary", default_single),
]


# --- Colon, rectosigmoid and rectum ----------------------------------------------------------------------

def _colon_segments_differ(a: Tumor, b: Tumor) -> Outcome:
    if a.site == b.site:
        return None
    if "C189" in (a.site, b.site):
        return potential(MULTIPLE, "One tumor is colon NOS (C189): the segments cannot be compared")
    return final(MULTIPLE)


COLON = [
    step("M3", "Adenocarcinoma in familial adenomatous polyposis is a single primary", both_in("8220", SINGLE)),
    step("M4", "Tumors in sites whose codes differ at the second or third character (colon, rectosigmoid, "
               "rectum) are multiple primaries", sites_differ_2_3),
    step("M5", "Two different subtypes/variants of Table 1 are multiple primaries", subtypes_differ("colon_2018")),
    step("M6", "Histologies on different rows of Table 1 are multiple primaries", rows_differ("colon_2018")),
    step("M9", "Tumors in different segments of the colon (fourth character) are multiple primaries",
         _colon_segments_differ),
    step("M10", "A tumor more than one year after the earlier one is a new primary", more_than_years(1)),
    step("M11", "Synchronous tumors on the same row of Table 1 are a single primary",
         same_row_single("colon_2018", within_60_days=True)),
    step("M12", "An in situ tumor after an invasive tumor is the same primary", insitu_after_invasive()),
    step("M13", "An invasive tumor within 60 days after an in situ tumor is a single primary",
         invasive_after_insitu(more_than_60=False)),
    step("M14", "An invasive tumor more than 60 days after an in situ tumor is a new primary",
         invasive_after_insitu(more_than_60=True)),
    step("M15", "No earlier rule applies: single primary", default_single),
]


# --- Lung ------------------------------------------------------------------------------------------------

# Small cell carcinoma 8041 and its subtypes; non-small cell carcinoma 8046 and its subtypes (Lung M5)
_LUNG_SMALL_CELL = codes("8041 8249 8045 8013 8240")
_LUNG_NON_SMALL_CELL = codes("8012 8022 8023 8031 8032 8046 8070 8071 8072 8082 8083 8140 8144 8200 8230 8250 8253 "
                             "8254 8256 8257 8260 8265 8333 8430 8480 8551 8560 8562 8580 8714 8720 8800 8842 8982 "
                             "9040 9041 9042 9043 9133 9173")


def _small_cell_and_non_small_cell(a: Tumor, b: Tumor) -> Outcome:
    return final(MULTIPLE) if one_each(a, b, _LUNG_SMALL_CELL, _LUNG_NON_SMALL_CELL) else None


def _lung_same_row_same_lung(a: Tumor, b: Tumor) -> Outcome:
    if a.beh != b.beh or not same_row(histology_tables()["lung_2018"], a, b):
        return None
    if a.lat in SIDES and b.lat in SIDES:
        return within_60_days_single(a, b) if a.lat == b.lat else None
    return potential(SINGLE, UNKNOWN_SIDE) if days_apart(a, b, 60) != 1 else None


LUNG = [
    step("M3", "Tumors in sites whose codes differ at the second or third character are multiple primaries",
         sites_differ_2_3),
    step("M4", "A lung tumor more than three years after the earlier one is a new primary", more_than_years(3)),
    step("M5", "Small cell carcinoma and non-small cell carcinoma are multiple primaries",
         _small_cell_and_non_small_cell),
    step("M6", "Two different subtypes/variants of Table 3 are multiple primaries", subtypes_differ("lung_2018")),
    step("M7", "Synchronous tumors in the same lung on the same row of Table 3 are a single primary",
         _lung_same_row_same_lung),
    step("M8", "Histologies on different rows of Table 3 are multiple primaries", rows_differ("lung_2018")),
    step("M10", "An in situ tumor after an invasive tumor in the same lung is the same primary",
         insitu_after_invasive(same_side=True)),
    step("M11", "A tumor in each lung (left and right) are multiple primaries", both_sides(None)),
    step("M12", "An invasive tumor within 60 days after an in situ tumor in the same lung is a single primary",
         invasive_after_insitu(more_than_60=False, same_side=True)),
    step("M13", "An invasive tumor more than 60 days after an in situ tumor in the same lung is a new primary",
         invasive_after_insitu(more_than_60=True, same_side=True)),
    step("M14", "No earlier rule applies: single primary", default_single),
]


# --- Kidney ----------------------------------------------------------------------------------------------

def _kidney_same_row_same_kidney(a: Tumor, b: Tumor) -> Outcome:
    if not same_row(histology_tables()["kidney_2018"], a, b):
        return None
    apart = days_apart(a, b, 60)
    if apart == 1:
        return None
    if a.lat not in SIDES or b.lat not in SIDES:
        return potential(SINGLE, UNKNOWN_SIDE)
    if apart == UNKNOWN:
        return potential(SINGLE, UNKNOWN_DATE)
    if a.lat != b.lat:
        return None
    if a.hist == b.hist == "8311":
        return final(QUESTIONABLE, "Two 8311 renal cell carcinomas may be different hereditary types: review")
    return final(SINGLE)


KIDNEY = [
    step("M3", "Tumors in sites with different codes are multiple primaries", sites_differ),
    step("M4", "Bilateral nephroblastomas (Wilms tumors) are a single primary", both_in("8960/3", SINGLE)),
    step("M5", "Tumors in both the left and the right kidney are multiple primaries", both_sides(None)),
    step("M6", "A kidney tumor more than three years after the earlier one is a new primary", more_than_years(3)),
    step("M7", "Two different subtypes/variants of Table 1 are multiple primaries", subtypes_differ("kidney_2018")),
    step("M8", "Synchronous tumors in the same kidney on the same row of Table 1 are a single primary",
         _kidney_same_row_same_kidney),
    step("M9", "Histologies on different rows of Table 1 are multiple primaries", rows_differ("kidney_2018")),
    step("M10", "An in situ tumor after an invasive tumor in the same kidney is the same primary",
         insitu_after_invasive(same_side=True)),
    step("M11", "An invasive tumor within 60 days after an in situ tumor in the same kidney is a single primary",
         invasive_after_insitu(more_than_60=False, same_side=True)),
    step("M12", "An invasive tumor more than 60 days after an in situ tumor is a new primary",
         invasive_after_insitu(more_than_60=True)),
    step("M13", "No earlier rule applies: single primary", default_single),
]


# --- Renal pelvis, ureter, bladder and other urinary -----------------------------------------------------

_BLADDER = site_ranges("C670-C679")
_URINARY_ORGANS = frozenset({"C65", "C66", "C67", "C68"})


def _urothelial_in_situ_bladder_and_ureter(a: Tumor, b: Tumor) -> Outcome:
    if a.code == b.code == "8120/2" and \
            ((a.site_n in _BLADDER and b.site == "C669") or (b.site_n in _BLADDER and a.site == "C669")):
        return within_60_days_single(a, b)
    return None


def _both_bladder(a: Tumor, b: Tumor) -> bool:
    return a.site_n in _BLADDER and b.site_n in _BLADDER


def _bladder_in_situ_urothelial(a: Tumor, b: Tumor) -> Outcome:
    ok = a.beh == b.beh == "2" and _both_bladder(a, b) and {a.hist, b.hist} <= {"8120", "8130"}
    return final(SINGLE) if ok else None


def _bladder_micropapillary_and_urothelial(a: Tumor, b: Tumor) -> Outcome:
    ok = _both_bladder(a, b) and one_each(a, b, frozenset({"8131"}), codes(UROTHELIAL_NOT_MICROPAPILLARY))
    return final(MULTIPLE) if ok else None


def _bladder_invasive_urothelial(a: Tumor, b: Tumor) -> Outcome:
    uro = codes(UROTHELIAL_2018)
    ok = a.beh == b.beh == "3" and _both_bladder(a, b) and a.hist in uro and b.hist in uro
    return final(SINGLE) if ok else None


def _urinary_years(a: Tumor, b: Tumor) -> Outcome:
    uro = codes(UROTHELIAL_NOT_MICROPAPILLARY)
    return None if a.hist in uro and b.hist in uro else more_than_years(3)(a, b)


def _urothelial_in_several_organs(a: Tumor, b: Tumor) -> Outcome:
    uro = codes(UROTHELIAL_2018)
    ok = a.site3 != b.site3 and {a.site3, b.site3} <= _URINARY_ORGANS and a.hist in uro and b.hist in uro
    return final(SINGLE) if ok else None


URINARY = [
    step("M3", "Tumors in the left and the right renal pelvis are multiple primaries", both_sides("C659")),
    step("M4", "Tumors in the left and the right ureter are multiple primaries", both_sides("C669")),
    step("M5", "Synchronous in situ urothelial carcinoma of bladder and ureter is a single primary",
         _urothelial_in_situ_bladder_and_ureter),
    step("M6", "An invasive tumor more than 60 days after an in situ tumor is a new primary",
         invasive_after_insitu(more_than_60=True)),
    step("M7", "Repeated in situ urothelial carcinomas of the bladder are a single primary",
         _bladder_in_situ_urothelial),
    step("M8", "Micropapillary and other urothelial carcinoma of the bladder are multiple primaries",
         _bladder_micropapillary_and_urothelial),
    step("M9", "Repeated invasive urothelial carcinomas of the bladder are a single primary",
         _bladder_invasive_urothelial),
    step("M10", "A tumor more than three years after the earlier one is a new primary (not for urothelial "
                "carcinoma of the bladder)", _urinary_years),
    step("M11", "Urothelial carcinomas in several urinary organs are a single primary",
         _urothelial_in_several_organs),
    step("M12", "Two different subtypes/variants of Table 2 are multiple primaries",
         subtypes_differ("urinary_2018")),
    step("M13", "Histologies on different rows of Table 2 are multiple primaries", rows_differ("urinary_2018")),
    step("M14", "Tumors in sites whose codes differ at the second or third character are multiple primaries",
         sites_differ_2_3),
    step("M15", "Synchronous tumors on the same row of Table 2 are a single primary",
         same_row_single("urinary_2018", within_60_days=True)),
    step("M16", "An in situ tumor after an invasive tumor is the same primary", insitu_after_invasive()),
    step("M17", "An invasive tumor within 60 days after an in situ tumor is a single primary",
         invasive_after_insitu(more_than_60=False)),
    step("M18", "No earlier rule applies: single primary", default_single),
]


RULE_SETS_2018: dict[str, list[Step]] = {
    "str_breast": BREAST, "str_colon": COLON, "str_lung": LUNG, "str_kidney": KIDNEY, "str_urinary": URINARY,
    **RULE_SETS_2018_SITES,
}
