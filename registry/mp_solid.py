"""Solid Tumor Rules (2018 and later): the rule steps of each module, in the manual's order and numbering.

Source of the rule text and step numbers: SEER Solid Tumor Rules (https://seer.cancer.gov/tools/solidtumor/)
as implemented in imsweb/mph (``mpgroups/Mp2018*Group.java``, ``Mp2021CutaneousMelanomaGroup``,
``Mp2023OtherSitesGroup``). Steps that need information a tumor report does not carry (number of tumors,
surgery, recurrence) or a histology table not shipped here are left out; docs/multiple-primaries.md lists
them. The MP/H 2007 modules are in ``registry.mp_solid_2007``.
"""

from __future__ import annotations

from itertools import combinations

from registry.mp_rules import (
    MIDLINE,
    MULTIPLE,
    QUESTIONABLE,
    SIDES,
    SINGLE,
    UNKNOWN,
    UNKNOWN_DATE,
    UNKNOWN_SIDE,
    WITHIN,
    Check,
    Outcome,
    Step,
    Tumor,
    both_in,
    both_sides,
    codes,
    days_apart,
    default_single,
    final,
    fourth_character_differs,
    histology_tables,
    in_codes,
    insitu_after_invasive,
    invasive_after_insitu,
    later,
    more_than_years,
    one_each,
    potential,
    rows_differ,
    same_row,
    same_row_single,
    site_pairs,
    site_ranges,
    sites_differ,
    sites_differ_2_3,
    step,
    subtypes_differ,
    within_60_days_single,
)

ADENOCARCINOMA = codes(
    "8000-8005 8010-8011 8020-8022 8046 8140-8148 8154 8160-8162 8190 8200-8201 8210-8211 8214-8215 8220-8221 "
    "8230-8231 8244-8245 8250-8255 8260-8263 8270-8272 8280-8281 8290 8300 8310 8312-8320 8322-8323 8330-8333 "
    "8335 8337 8350 8370 8380-8384 8390 8400-8403 8407-8410 8413 8420 8440-8442 8450-8453 8460-8462 8470-8473 "
    "8480-8482 8490 8500-8504 8507-8508 8510 8512-8514 8520-8525 8530 8540-8543 8550-8551 8561-8562 8570-8576")
POLYP = "8210-8211 8213 8220-8221 8261-8263"
# Table 1 of Other Sites (paired organs with laterality), imsweb/mph Mp2023OtherSitesGroup rule M10
PAIRED_OTHER_2023 = "C384 C400-C403 C413-C414 C441-C447 C471-C472 C491-C492 C569 C570 C620-C629 C630-C631 " \
                    "C690-C699 C740-C749 C754"
# Head and neck paired sites (Table 10, as listed in imsweb/mph MphConstants.HEAD_AND_NECK_2018_PAIRED_SITES)
PAIRED_HEAD_NECK = "C079 C080-C081 C098-C099 C300-C301 C310 C312"
UROTHELIAL_2018 = "8120 8130 8131 8020 8031 8082 8122"
UROTHELIAL_NOT_MICROPAPILLARY = "8120 8130 8020 8031 8082 8122"
GLIAL_2018 = "9385 9391-9393 9396 9400-9401 9411 9424 9430 9440-9442 9445 9450-9451"
BRAIN = site_ranges("C710-C719")
_CNS_PARTS = {**{n: "brain" for n in BRAIN}, 721: "cauda equina", 700: "cerebral meninges",
              709: "meninges of cranial or peripheral nerves", 720: "spinal cord", 701: "spinal meninges",
              **{n: "cranial nerve" for n in (722, 723, 724, 725)}}


def _paired_groups(*groups: str) -> list[tuple[str, str]]:
    """Every pair of different sites within each listed group ('C050 C051 C052' -> 3 pairs)."""
    return [pair for group in groups for pair in combinations(group.split(), 2)]


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


# --- Head and neck ---------------------------------------------------------------------------------------

def _same_site_same_row(a: Tumor, b: Tumor) -> Outcome:
    return final(SINGLE) if a.site == b.site and same_row(None, a, b) else None


HEAD_AND_NECK = [
    step("M3", "Tumors in two named subsites (e.g. upper and lower lip, hard and soft palate, two sinuses) are "
               "multiple primaries",
         site_pairs([("C000 C003", "C001 C004"), ("C030", "C031"), ("C080", "C081"), ("C300", "C301"),
                     ("C410", "C411"),
                     *_paired_groups("C050 C051 C052", "C310 C311 C312 C313", "C320 C321 C322 C323",
                                     "C130 C131 C132")])),
    step("M4", "Tumors in sites whose codes differ at the second or third character are multiple primaries",
         sites_differ_2_3),
    step("M5", "Tumors on both sides (left and right) of a paired site are multiple primaries",
         both_sides(PAIRED_HEAD_NECK)),
    step("M6", "A tumor more than five years after the earlier one is a new primary", more_than_years(5)),
    step("M8", "Histologies on different rows of the site's table are multiple primaries", rows_differ(None)),
    step("M9", "An in situ tumor after an invasive tumor is the same primary", insitu_after_invasive()),
    step("M10", "An invasive tumor within 60 days after an in situ tumor is a single primary",
         invasive_after_insitu(more_than_60=False)),
    step("M11", "An invasive tumor more than 60 days after an in situ tumor is a new primary",
         invasive_after_insitu(more_than_60=True)),
    step("M12", "Tumors in the same site on the same row of the site's table are a single primary",
         _same_site_same_row),
    step("M13", "No earlier rule applies: single primary", default_single),
]


# --- Central nervous system ------------------------------------------------------------------------------

def _glial_then_glioblastoma(a: Tumor, b: Tumor) -> Outcome:
    glial = codes(GLIAL_2018)
    if a.hist == b.hist or not one_each(a, b, glial, frozenset({"9440"})):
        return None
    order = later(a, b)
    if order == 2:
        return potential(MULTIPLE, UNKNOWN_DATE)
    gbm_later = (order == 1 and a.hist == "9440") or (order == -1 and b.hist == "9440")
    return final(MULTIPLE) if gbm_later else None


def _same_histology_in_brain(a: Tumor, b: Tumor) -> Outcome:
    return final(SINGLE) if a.hist == b.hist and a.site_n in BRAIN and b.site_n in BRAIN else None


def _cns_parts_differ(each_cranial_nerve: bool) -> Check:
    """Tumors in different parts of the CNS (brain, cauda equina, meninges, cranial nerves, spinal cord)."""
    def part(t: Tumor) -> str | None:
        name = _CNS_PARTS.get(t.site_n)
        return t.site if name == "cranial nerve" and each_cranial_nerve else name

    def check(a: Tumor, b: Tumor) -> Outcome:
        pa, pb = part(a), part(b)
        return final(MULTIPLE) if pa != pb and (pa is not None or pb is not None) else None
    return check


CNS_MALIGNANT = [
    step("M6", "A glioblastoma after a glial tumor is a new primary", _glial_then_glioblastoma),
    step("M7", "Tumors of the same histology in the brain are a single primary", _same_histology_in_brain),
    step("M8", "Tumors in different parts of the central nervous system are multiple primaries",
         _cns_parts_differ(each_cranial_nerve=True)),
    step("M9", "Two different subtypes/variants of Table 3 are multiple primaries",
         subtypes_differ("cns_malignant_2018")),
    step("M10", "Tumors on the same row of Table 3 are a single primary",
         same_row_single("cns_malignant_2018", False)),
    step("M11", "Histologies on different rows of Table 3 are multiple primaries", rows_differ("cns_malignant_2018")),
    step("M12", "No earlier rule applies: single primary", default_single),
]

CNS_NON_MALIGNANT = [
    step("M6", "Bilateral acoustic neuromas or optic gliomas are a single primary",
         lambda a, b: final(SINGLE) if a.code == b.code and a.code in ("9560/0", "9421/1") else None),
    step("M7", "Tumors in different parts of the central nervous system are multiple primaries",
         _cns_parts_differ(each_cranial_nerve=False)),
    step("M8", "Two different subtypes/variants of Table 6 are multiple primaries",
         subtypes_differ("cns_nonmalignant_2018")),
    step("M9", "Meningiomas of the cerebral meninges are a single primary",
         both_in("9530/0 9534/0 9539/1 9538/1 9532/0 9531/0 9537/0", SINGLE, sites="C700")),
    step("M10", "Tumors of the same histology in the brain are a single primary", _same_histology_in_brain),
    step("M11", "Tumors on the same row of Table 6 are a single primary",
         same_row_single("cns_nonmalignant_2018", False)),
    step("M12", "Histologies on different rows of Table 6 are multiple primaries",
         rows_differ("cns_nonmalignant_2018")),
    step("M13", "No earlier rule applies: single primary", default_single),
]


# --- Cutaneous melanoma (2021+) --------------------------------------------------------------------------

_NO_LATERALITY_SKIN = frozenset({"C440", "C448", "C449"})


def _melanoma_sites(a: Tumor, b: Tumor) -> Outcome:
    if a.site == b.site:
        return None
    if "C449" in (a.site, b.site):
        return potential(MULTIPLE, "One melanoma is skin NOS (C449): the sites cannot be compared")
    return final(MULTIPLE)


def _melanoma_lateralities(a: Tumor, b: Tumor) -> Outcome:
    if a.site in _NO_LATERALITY_SKIN or "9" in (a.lat, b.lat) or "" in (a.lat, b.lat):
        return None
    known = {"1", "2", MIDLINE}
    if a.lat not in known or b.lat not in known:
        return potential(MULTIPLE, UNKNOWN_SIDE)
    return final(MULTIPLE) if a.lat != b.lat else None


def _melanoma_same_row(a: Tumor, b: Tumor) -> Outcome:
    if not same_row(histology_tables()["melanoma_2021"], a, b):
        return None
    if a.site not in _NO_LATERALITY_SKIN and not {a.lat, b.lat} <= {"1", "2", MIDLINE}:
        return final(QUESTIONABLE, UNKNOWN_SIDE)
    if a.site in _NO_LATERALITY_SKIN or a.lat == b.lat:
        apart = days_apart(a, b, 60)
        if apart == UNKNOWN:
            return final(QUESTIONABLE, UNKNOWN_DATE)
        return final(SINGLE) if apart == WITHIN else None
    return None


def _melanoma_60_days(a: Tumor, b: Tumor) -> Outcome:
    apart = days_apart(a, b, 60)
    if apart == UNKNOWN:
        return final(QUESTIONABLE, UNKNOWN_DATE)
    return final(MULTIPLE) if apart == 1 else None


MELANOMA = [
    step("M3", "Melanomas in sites with different codes are multiple primaries", _melanoma_sites),
    step("M4", "Melanomas with different lateralities are multiple primaries", _melanoma_lateralities),
    step("M5", "Two different subtypes/variants of Table 2 are multiple primaries",
         subtypes_differ("melanoma_2021")),
    step("M6", "Synchronous melanomas of the same site, laterality and row of Table 2 are a single primary",
         _melanoma_same_row),
    step("M7", "Melanomas diagnosed more than 60 days apart are multiple primaries", _melanoma_60_days),
    step("M8", "No earlier rule applies: single primary", default_single),
]


# --- Other sites (2023+) ---------------------------------------------------------------------------------

_PROSTATE_ADENO = "8140 8201 8260 8230 8500 8572 8574 8480 8490"
_THYROID_FOLLICULAR_PAPILLARY = "8290 8330-8332 8335 8340 8346 8050 8052 8260 8340-8344 8347"


def _prostate_small_cell_after_adeno(a: Tumor, b: Tumor) -> Outcome:
    if not (a.site == b.site == "C619" and one_each(a, b, frozenset({"8041/3"}), codes(_PROSTATE_ADENO))):
        return None
    order = later(a, b)
    if order == 2:
        return potential(MULTIPLE, UNKNOWN_DATE)
    small_cell_later = (order == 1 and a.hist == "8041") or (order == -1 and b.hist == "8041")
    return final(MULTIPLE) if small_cell_later else None


def _thyroid_follicular_papillary(a: Tumor, b: Tumor) -> Outcome:
    group = codes(_THYROID_FOLLICULAR_PAPILLARY)
    if a.site == b.site == "C739" and a.hist in group and b.hist in group:
        return within_60_days_single(a, b)
    return None


def _thyroid_anaplastic(a: Tumor, b: Tumor) -> Outcome:
    anaplastic = frozenset({"8020", "8021"})
    ok = a.site == b.site == "C739" and (a.hist in anaplastic) != (b.hist in anaplastic)
    return final(MULTIPLE) if ok else None


def _ovary_bilateral_epithelial(a: Tumor, b: Tumor) -> Outcome:
    if a.site == b.site == "C569" and a.hist_n <= 8799 and b.hist_n <= 8799 and same_row(None, a, b):
        return within_60_days_single(a, b)
    return None


def _polyposis_small_bowel(a: Tumor, b: Tumor) -> Outcome:
    ok = a.site3 == b.site3 == "C17" and "3" in (a.beh, b.beh) and a.hist != b.hist \
        and one_each(a, b, frozenset({"8220"}), codes(POLYP))
    return final(SINGLE) if ok else None


def frank_adenocarcinoma_and_polyp(a: Tumor, b: Tumor) -> Outcome:
    """A de novo adenocarcinoma and a tumor in a polyp (both in situ or malignant): single primary."""
    polyp = codes(POLYP)
    if not (a.beh in "23" and b.beh in "23") or (a.hist in polyp and b.hist in polyp):
        return None
    return final(SINGLE) if one_each(a, b, ADENOCARCINOMA, polyp) else None


def polyps(a: Tumor, b: Tumor) -> Outcome:
    """Several in situ or malignant polyps: single primary."""
    polyp = codes(POLYP)
    return final(SINGLE) if a.beh in "23" and b.beh in "23" and in_codes(a, polyp) and in_codes(b, polyp) \
        else None


OTHER_SITES = [
    step("M3", "Acinar adenocarcinoma of the prostate is always a single primary",
         both_in(_PROSTATE_ADENO, SINGLE, sites="C619")),
    step("M4", "Small cell carcinoma of the prostate after an adenocarcinoma is a new primary",
         _prostate_small_cell_after_adeno),
    step("M5", "Retinoblastoma is always a single primary", both_in("9510-9513", SINGLE)),
    step("M6", "Kaposi sarcoma is always a single primary", both_in("9140", SINGLE)),
    step("M7", "Follicular and papillary thyroid tumors within 60 days are a single primary",
         _thyroid_follicular_papillary),
    step("M8", "Anaplastic carcinoma and another histology of the thyroid are multiple primaries",
         _thyroid_anaplastic),
    step("M9", "Bilateral epithelial tumors of the ovary within 60 days are a single primary",
         _ovary_bilateral_epithelial),
    step("M10", "Tumors on both sides (left and right) of a paired site are multiple primaries",
         both_sides(PAIRED_OTHER_2023)),
    step("M11", "Adenocarcinoma in familial polyposis with malignant polyps is a single primary",
         _polyposis_small_bowel),
    step("M12", "A tumor more than one year after the earlier one is a new primary", more_than_years(1)),
    step("M13", "Tumors in sites whose codes differ at the second or third character are multiple primaries",
         sites_differ_2_3),
    step("M14", "Anus, bone, soft tissue or skin tumors whose codes differ at the fourth character are "
                "multiple primaries", fourth_character_differs(frozenset({"C21", "C40", "C41", "C49", "C44"}))),
    step("M15", "A de novo adenocarcinoma and a tumor in a polyp are a single primary",
         frank_adenocarcinoma_and_polyp),
    step("M16", "Several in situ or malignant polyps are a single primary", polyps),
    step("M18", "Synchronous tumors on the same row of the site's table are a single primary",
         same_row_single(None, within_60_days=True)),
    step("M19", "Histologies on different rows of the site's table are multiple primaries", rows_differ(None)),
    step("M20", "An invasive tumor more than 60 days after an in situ tumor is a new primary",
         invasive_after_insitu(more_than_60=True)),
    step("M21", "No earlier rule applies: single primary", default_single),
]

RULE_SETS_2018: dict[str, list[Step]] = {
    "str_breast": BREAST, "str_colon": COLON, "str_lung": LUNG, "str_kidney": KIDNEY, "str_urinary": URINARY,
    "str_head_neck": HEAD_AND_NECK, "str_cns_malignant": CNS_MALIGNANT,
    "str_cns_nonmalignant": CNS_NON_MALIGNANT, "str_melanoma": MELANOMA, "str_other": OTHER_SITES,
}
