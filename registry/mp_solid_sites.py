"""Solid Tumor Rules: head and neck, central nervous system (2018+), cutaneous melanoma (2021+), other sites
(2023+); the rule steps in the manual's order and numbering.

Source: SEER Solid Tumor Rules (https://seer.cancer.gov/tools/solidtumor/) as implemented in imsweb/mph
(``Mp2018HeadAndNeckGroup``, ``Mp2018MalignantCNSAndPeripheralNervesGroup``, ``Mp2018NonMalignantCNSTumorsGroup``,
``Mp2021CutaneousMelanomaGroup``, ``Mp2023OtherSitesGroup``). The breast, colon, lung, kidney and urinary
modules are in ``registry.mp_solid``; what is left out is listed in docs/multiple-primaries.md.
"""

from __future__ import annotations

from itertools import combinations

from registry.mp_rules import (
    MIDLINE,
    MULTIPLE,
    QUESTIONABLE,
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
GLIAL_2018 = "9385 9391-9393 9396 9400-9401 9411 9424 9430 9440-9442 9445 9450-9451"
BRAIN = site_ranges("C710-C719")
_CNS_PARTS = {**{n: "brain" for n in BRAIN}, 721: "cauda equina", 700: "cerebral meninges",
              709: "meninges of cranial or peripheral nerves", 720: "spinal cord", 701: "spinal meninges",
              **{n: "cranial nerve" for n in (722, 723, 724, 725)}}


def _paired_groups(*groups: str) -> list[tuple[str, str]]:
    """Every pair of different sites within each listed group ('C050 C051 C052' -> 3 pairs)."""
    return [pair for group in groups for pair in combinations(group.split(), 2)]


# --- Head and neck ---------------------------------------------------------------------------------------

# Which histology table (Tables 1-9 of the head and neck rules) applies to which site, as in imsweb/mph
# (MphConstants.HEAD_AND_NECK_2018_TABLE*_SITES); lips and other sites have no table.
_HEAD_NECK_TABLE_SITES = {
    "hn_2018_t1": "C300 C310-C313 C318-C319", "hn_2018_t2": "C110 C112-C113 C118-C119",
    "hn_2018_t3": "C129-C132 C138-C139 C320-C323 C328-C329 C339",
    "hn_2018_t4": "C020-C023 C028-C031 C039-C041 C048-C052 C058-C062 C068-C069",
    "hn_2018_t5": "C019 C024 C090-C091 C098-C104 C108-C109", "hn_2018_t6": "C079-C081 C088-C089",
    "hn_2018_t7": "C410-C411", "hn_2018_t8": "C301", "hn_2018_t9": "C479 C754-C755", "hn_2018_c111": "C111",
}
_HEAD_NECK_TABLE_OF = {n: name for name, sites in _HEAD_NECK_TABLE_SITES.items() for n in site_ranges(sites)}
_HEAD_NECK_SUBTYPES = {name: subtypes_differ(name) for name in _HEAD_NECK_TABLE_SITES}


def _head_neck_tables(a: Tumor, b: Tumor) -> tuple[str | None, str | None]:
    return _HEAD_NECK_TABLE_OF.get(a.site_n), _HEAD_NECK_TABLE_OF.get(b.site_n)


def _head_neck_subtypes_differ(a: Tumor, b: Tumor) -> Outcome:
    ta, tb = _head_neck_tables(a, b)
    if ta is None or ta != tb:
        return None
    return _HEAD_NECK_SUBTYPES[ta](a, b)


def _head_neck_rows_differ(a: Tumor, b: Tumor) -> Outcome:
    ta, tb = _head_neck_tables(a, b)
    if ta is not None and tb is not None and ta != tb:
        return final(MULTIPLE, "The sites use different histology tables (different rows)")
    return None if same_row(histology_tables()[ta] if ta else None, a, b) else final(MULTIPLE)


def _same_site_same_row(a: Tumor, b: Tumor) -> Outcome:
    table = _head_neck_tables(a, b)[0]
    same = same_row(histology_tables()[table] if table else None, a, b)
    return final(SINGLE) if a.site == b.site and same else None


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
    step("M7", "Two different subtypes/variants of the site's table are multiple primaries",
         _head_neck_subtypes_differ),
    step("M8", "Histologies on different rows of the site's table are multiple primaries", _head_neck_rows_differ),
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

RULE_SETS_2018_SITES: dict[str, list[Step]] = {
    "str_head_neck": HEAD_AND_NECK, "str_cns_malignant": CNS_MALIGNANT, "str_cns_nonmalignant": CNS_NON_MALIGNANT,
    "str_melanoma": MELANOMA, "str_other": OTHER_SITES,
}
