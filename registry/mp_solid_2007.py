"""MP/H 2007 multiple-primary rules (solid tumors diagnosed 2007-2017; melanoma to 2020, other sites to 2022).

Source of the rule text and step numbers: SEER Multiple Primary and Histology Coding Rules 2007
(https://seer.cancer.gov/tools/mphrules/) as implemented in imsweb/mph (``mpgroups/Mp2007*Group.java``).
Diagnoses before 2007 are judged with these rules too (the 2004 rules are not implemented), see
docs/multiple-primaries.md.
"""

from __future__ import annotations

from registry.mp_rules import (
    BOTH,
    MIDLINE,
    MULTIPLE,
    QUESTIONABLE,
    SIDES,
    SINGLE,
    UNKNOWN,
    UNKNOWN_DATE,
    UNKNOWN_SIDE,
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
    histology_3_digits_differ,
    histology_tables,
    in_codes,
    invasive_after_insitu,
    later,
    more_than_years,
    nos_vs_specific,
    one_each,
    one_in_each,
    potential,
    site_pairs,
    sites_differ,
    sites_differ_2_3,
    step,
    within_60_days_single,
)
from registry.mp_solid_sites import ADENOCARCINOMA, POLYP, frank_adenocarcinoma_and_polyp, polyps

# Table 1 of Other Sites (paired organs), imsweb/mph Mp2007OtherSitesGroup rule M8
PAIRED_OTHER_2007 = "C384 C400-C403 C413-C414 C441-C443 C445-C447 C471-C472 C491-C492 C569 C570 C620-C629 " \
                    "C630-C631 C690-C699 C740-C749 C754"
GLIAL_2007 = "9380-9382 9400-9401 9410-9411 9420-9421 9423-9424 9430 9440-9442"
UROTHELIAL_2007 = "8120 8130 8131 8082 8122 8031 8020"
_DUCT = codes("8201 8230 8401 8500-8501 8503-8504 8507 8022 8035 8500-8503 8508")

HEAD_AND_NECK = [
    step("M3", "Tumors on the right side and the left side of a paired site are multiple primaries",
         both_sides("C079 C080-C081 C090-C091 C098-C099 C300-C301 C310 C312")),
    step("M4", "Tumors on the upper lip and the lower lip are multiple primaries",
         site_pairs([("C000 C003", "C001 C004")])),
    step("M5", "Tumors on the upper gum and the lower gum are multiple primaries", site_pairs([("C030", "C031")])),
    step("M6", "Tumors in the nasal cavity and the middle ear are multiple primaries",
         site_pairs([("C300", "C301")])),
    step("M7", "Tumors in sites whose codes differ at the second or third character are multiple primaries",
         sites_differ_2_3),
    step("M8", "An invasive tumor more than 60 days after an in situ tumor is a new primary",
         invasive_after_insitu(more_than_60=True)),
    step("M9", "Tumors diagnosed more than five years apart are multiple primaries", more_than_years(5)),
    step("M10", "An NOS histology and a more specific type of it are a single primary",
         nos_vs_specific(("8000", "8010", "8140", "8070", "8720", "8800"))),
    step("M11", "Histology codes that differ at the first three digits are multiple primaries",
         histology_3_digits_differ),
    step("M12", "No earlier rule applies: single primary", default_single),
]

COLON = [
    step("M3", "Adenocarcinoma in familial polyposis with a malignant polyp is a single primary",
         lambda a, b: final(SINGLE) if "3" in (a.beh, b.beh) and a.hist != b.hist
         and one_each(a, b, codes("8220-8221"), codes(POLYP)) else None),
    step("M4", "Tumors in sites with different codes (different colon segments) are multiple primaries",
         sites_differ),
    step("M5", "Tumors diagnosed more than one year apart are multiple primaries", more_than_years(1)),
    step("M6", "An invasive tumor more than 60 days after an in situ tumor is a new primary",
         invasive_after_insitu(more_than_60=True)),
    step("M7", "A frank adenocarcinoma and a tumor in a polyp are a single primary",
         lambda a, b: final(SINGLE) if a.hist != b.hist and one_each(a, b, ADENOCARCINOMA, codes(POLYP))
         else None),
    step("M8", "An NOS histology and a more specific type of it are a single primary",
         nos_vs_specific(("8000", "8010", "8140", "8800"))),
    step("M9", "Several in situ or malignant polyps are a single primary", both_in(POLYP, SINGLE)),
    step("M10", "Histology codes that differ at the first three digits are multiple primaries",
         histology_3_digits_differ),
    step("M11", "No earlier rule applies: single primary", default_single),
]


def _lung_each_side(a: Tumor, b: Tumor) -> Outcome:
    if a.lat not in SIDES | {BOTH} or b.lat not in SIDES | {BOTH}:
        return potential(MULTIPLE, UNKNOWN_SIDE)
    return final(MULTIPLE) if {a.lat, b.lat} == SIDES else None


def _lung_both_lungs_histology(a: Tumor, b: Tumor) -> Outcome:
    both_lungs = a.lat != b.lat or a.lat == BOTH
    return final(MULTIPLE) if both_lungs and a.hist[:3] != b.hist[:3] else None


LUNG = [
    step("M3", "Tumors in sites whose codes differ at the second or third character are multiple primaries",
         sites_differ_2_3),
    step("M4", "Non-small cell carcinoma and small cell carcinoma are multiple primaries",
         one_in_each("8046", "8041-8045", MULTIPLE)),
    step("M5", "Adenocarcinoma with mixed subtypes and bronchioloalveolar carcinoma are multiple primaries",
         one_in_each("8255", "8250-8254", MULTIPLE)),
    step("M6", "A single tumor in each lung is multiple primaries", _lung_each_side),
    step("M7", "Tumors in both lungs whose histology codes differ at the first three digits are multiple "
               "primaries", _lung_both_lungs_histology),
    step("M8", "Tumors diagnosed more than three years apart are multiple primaries", more_than_years(3)),
    step("M9", "An invasive tumor more than 60 days after an in situ tumor is a new primary",
         invasive_after_insitu(more_than_60=True)),
    step("M10", "Non-small cell carcinoma NOS and a more specific non-small cell type are a single primary",
         one_in_each("8046", "8012-8014 8022 8031-8033 8052 8070-8073 8082-8084 8123 8140 8200 8230 8250-8255 "
                             "8260 8310 8333 8430 8470 8480-8481 8490 8550 8560 8972 8980", SINGLE)),
    step("M11", "Histology codes that differ at the first three digits are multiple primaries",
         histology_3_digits_differ),
    step("M12", "No earlier rule applies: single primary", default_single),
]


def _melanoma_lateralities(a: Tumor, b: Tumor) -> Outcome:
    known = {"1", "2", MIDLINE}
    if a.lat not in known or b.lat not in known:
        return potential(MULTIPLE, UNKNOWN_SIDE)
    return final(MULTIPLE) if a.lat != b.lat else None


def _melanoma_60_days(a: Tumor, b: Tumor) -> Outcome:
    apart = days_apart(a, b, 60)
    if apart == UNKNOWN:
        return potential(MULTIPLE, UNKNOWN_DATE)
    return final(MULTIPLE) if apart == 1 else None


MELANOMA = [
    step("M3", "Melanomas in sites with different codes are multiple primaries", sites_differ),
    step("M4", "Melanomas with different lateralities are multiple primaries", _melanoma_lateralities),
    step("M5", "Melanoma histology codes that differ at the first three digits are multiple primaries",
         histology_3_digits_differ),
    step("M6", "An invasive melanoma more than 60 days after an in situ melanoma is a new primary",
         invasive_after_insitu(more_than_60=True)),
    step("M7", "Melanomas diagnosed more than 60 days apart are multiple primaries", _melanoma_60_days),
    step("M8", "No earlier rule applies: single primary", default_single),
]

BREAST = [
    step("M4", "Tumors in sites whose codes differ at the second or third character are multiple primaries",
         sites_differ_2_3),
    step("M5", "Tumors diagnosed more than five years apart are multiple primaries", more_than_years(5)),
    step("M6", "Inflammatory carcinoma in one or both breasts is a single primary", both_in("8530/3", SINGLE)),
    step("M7", "Tumors on both sides (right and left breast) are multiple primaries", both_sides(None)),
    step("M8", "An invasive tumor more than 60 days after an in situ tumor is a new primary",
         invasive_after_insitu(more_than_60=True)),
    step("M9", "Intraductal or duct carcinoma and Paget disease are a single primary",
         lambda a, b: final(SINGLE) if a.hist != b.hist and one_each(a, b, codes("8540-8543"), _DUCT) else None),
    step("M10", "Lobular carcinoma and intraductal or duct carcinoma are a single primary",
         lambda a, b: final(SINGLE) if one_each(a, b, frozenset({"8520"}), _DUCT) else None),
    step("M11", "Several intraductal or duct carcinomas are a single primary",
         lambda a, b: final(SINGLE) if in_codes(a, _DUCT) and in_codes(b, _DUCT) else None),
    step("M12", "Histology codes that differ at the first three digits are multiple primaries",
         histology_3_digits_differ),
    step("M13", "No earlier rule applies: single primary", default_single),
]

KIDNEY = [
    step("M3", "Wilms tumors are a single primary", both_in("8960/3", SINGLE)),
    step("M4", "Tumors in sites whose codes differ at the second or third character are multiple primaries",
         sites_differ_2_3),
    step("M5", "Tumors in both the right and the left kidney are multiple primaries", both_sides(None)),
    step("M6", "Tumors diagnosed more than three years apart are multiple primaries", more_than_years(3)),
    step("M7", "An invasive tumor more than 60 days after an in situ tumor is a new primary",
         invasive_after_insitu(more_than_60=True)),
    step("M8", "Two different specific renal cell types are multiple primaries",
         lambda a, b: final(MULTIPLE) if a.hist != b.hist and {a.hist, b.hist} <= codes("8260 8310 8316-8320 "
                                                                                          "8510 8959") else None),
    step("M9", "An NOS histology and a more specific type of it are a single primary",
         nos_vs_specific(("8000", "8010", "8140", "8312"))),
    step("M10", "Histology codes that differ at the first three digits are multiple primaries",
         histology_3_digits_differ),
    step("M11", "No earlier rule applies: single primary", default_single),
]

_URINARY_ORGAN = frozenset({"C659", "C669", "C680"})


def _urothelial_urinary_organs(a: Tumor, b: Tumor) -> Outcome:
    uro = codes(UROTHELIAL_2007)
    in_organs = all(t.site in _URINARY_ORGAN or t.site3 == "C67" for t in (a, b))
    return final(SINGLE) if in_organs and a.hist in uro and b.hist in uro else None


URINARY = [
    step("M3", "Tumors in the right and the left renal pelvis are multiple primaries", both_sides("C659")),
    step("M4", "Tumors in the right and the left ureter are multiple primaries", both_sides("C669")),
    step("M5", "An invasive tumor more than 60 days after an in situ tumor is a new primary",
         invasive_after_insitu(more_than_60=True)),
    step("M6", "Bladder tumors of papillary or transitional cell carcinoma are a single primary",
         both_in("8050 8120-8124 8130-8131", SINGLE, sites="C670-C679")),
    step("M7", "Tumors diagnosed more than three years apart are multiple primaries", more_than_years(3)),
    step("M8", "Urothelial tumors in two or more urinary organs are a single primary", _urothelial_urinary_organs),
    step("M9", "Histology codes that differ at the first three digits are multiple primaries",
         histology_3_digits_differ),
    step("M10", "Tumors in sites whose codes differ at the second or third character are multiple primaries",
         sites_differ_2_3),
    step("M11", "No earlier rule applies: single primary", default_single),
]


def _chart_branch(table: str, t: Tumor) -> str | None:
    return histology_tables()[table].row(t)


def _glioblastoma_after_glial(a: Tumor, b: Tumor) -> Outcome:
    glial = codes(GLIAL_2007)
    if not (a.hist != b.hist and one_each(a, b, glial, frozenset({"9440"}))):
        return None
    order = later(a, b)
    if order == 2:
        return potential(SINGLE, UNKNOWN_DATE)
    gbm_later = (order == 1 and a.hist == "9440") or (order == -1 and b.hist == "9440")
    return final(SINGLE) if gbm_later else None


def _brain_branches(same: bool) -> Check:
    def check(a: Tumor, b: Tumor) -> Outcome:
        for chart in ("brain_2007_chart1", "brain_2007_chart2"):
            ra, rb = _chart_branch(chart, a), _chart_branch(chart, b)
            if ra is None or rb is None:
                continue
            one_branch = ra == rb or (chart == "brain_2007_chart1" and "Neuroepithelial" in (ra, rb))
            if one_branch == same:
                return final(SINGLE if same else MULTIPLE)
            return None
        return None
    return check


MALIGNANT_BRAIN = [
    step("M5", "Tumors in sites whose codes differ at the second or third character are multiple primaries",
         sites_differ_2_3),
    step("M6", "A glioblastoma after a glial tumor is a single primary", _glioblastoma_after_glial),
    step("M7", "Histologies on the same branch of Chart 1 or Chart 2 are a single primary",
         _brain_branches(same=True)),
    step("M8", "Histologies on different branches of Chart 1 or Chart 2 are multiple primaries",
         _brain_branches(same=False)),
    step("M9", "Histology codes that differ at the first three digits are multiple primaries",
         histology_3_digits_differ),
    step("M10", "No earlier rule applies: single primary", default_single),
]


def _progression(hist: str) -> Check:
    """/1 diagnosed after /0 of the same histology (benign brain M6, M7): single primary."""
    def check(a: Tumor, b: Tumor) -> Outcome:
        if not (a.hist == b.hist == hist and {a.beh, b.beh} == {"0", "1"}):
            return None
        order = later(a, b)
        if order == 2:
            return final(QUESTIONABLE, UNKNOWN_DATE)
        borderline_later = (order == 1 and a.beh == "1") or (order == -1 and b.beh == "1")
        return final(SINGLE) if borderline_later else None
    return check


def _benign_chart(rule: str) -> Check:
    """Chart 1 branches: M8 same branch (single), M9 different branches, M10 only one listed (multiple)."""
    def check(a: Tumor, b: Tumor) -> Outcome:
        ra, rb = _chart_branch("benign_brain_2007_chart1", a), _chart_branch("benign_brain_2007_chart1", b)
        if rule == "M8":
            return final(SINGLE) if ra is not None and ra == rb else None
        if rule == "M9":
            return final(MULTIPLE) if ra is not None and rb is not None and ra != rb else None
        return final(MULTIPLE) if (ra is None) != (rb is None) else None
    return check


BENIGN_BRAIN = [
    step("M4", "Tumors in sites with different codes are multiple primaries", sites_differ),
    step("M5", "Tumors on both sides (left and right) of a paired site are multiple primaries",
         both_sides("C700 C710-C714 C722-C725")),
    step("M6", "An atypical choroid plexus papilloma after a choroid plexus papilloma is a single primary",
         _progression("9390")),
    step("M7", "A neurofibromatosis after a neurofibroma is a single primary",
         _progression("9540")),
    step("M8", "Histologies on the same branch of Chart 1 are a single primary", _benign_chart("M8")),
    step("M9", "Histologies on different branches of Chart 1 are multiple primaries", _benign_chart("M9")),
    step("M10", "One histology in Chart 1 and another not in it are multiple primaries", _benign_chart("M10")),
    step("M11", "Histology codes that differ at the first three digits are multiple primaries",
         histology_3_digits_differ),
    step("M12", "No earlier rule applies: single primary", default_single),
]

OTHER_SITES = [
    step("M3", "Adenocarcinoma of the prostate is always a single primary", both_in("8140", SINGLE, sites="C619")),
    step("M4", "Retinoblastoma is always a single primary", both_in("9510-9513", SINGLE)),
    step("M5", "Kaposi sarcoma is always a single primary", both_in("9140", SINGLE)),
    step("M6", "Follicular and papillary thyroid tumors within 60 days are a single primary",
         lambda a, b: within_60_days_single(a, b) if a.site == b.site == "C739" and {a.hist, b.hist} <= codes(
             "8290 8330-8332 8335 8340 8346 8050 8052 8260 8340-8344 8347") else None),
    step("M7", "Bilateral epithelial tumors of the ovary within 60 days are a single primary",
         lambda a, b: within_60_days_single(a, b) if a.site == b.site == "C569" and a.hist_n <= 8799
         and b.hist_n <= 8799 else None),
    step("M8", "Tumors on both sides (left and right) of a paired site are multiple primaries",
         both_sides(PAIRED_OTHER_2007)),
    step("M9", "Adenocarcinoma in familial polyposis with malignant polyps is a single primary",
         lambda a, b: final(SINGLE) if {a.site3, b.site3} <= {"C18", "C19", "C20"} and "3" in (a.beh, b.beh)
         and a.hist != b.hist and one_each(a, b, frozenset({"8220"}), codes(POLYP)) else None),
    step("M10", "Tumors diagnosed more than one year apart are multiple primaries", more_than_years(1)),
    step("M11", "Tumors in sites whose codes differ at the second or third character are multiple primaries",
         sites_differ_2_3),
    step("M12", "Anus, bone, peripheral nerve, soft tissue or skin tumors whose codes differ at the fourth "
                "character are multiple primaries",
         fourth_character_differs(frozenset({"C21", "C40", "C41", "C47", "C49", "C44"}))),
    step("M13", "A frank adenocarcinoma and a tumor in a polyp are a single primary",
         frank_adenocarcinoma_and_polyp),
    step("M14", "Several in situ or malignant polyps are a single primary", polyps),
    step("M15", "An invasive tumor more than 60 days after an in situ tumor is a new primary",
         invasive_after_insitu(more_than_60=True)),
    step("M16", "An NOS histology and a more specific type of it are a single primary",
         nos_vs_specific(("8000", "8010", "8070", "8140", "8720", "8800"))),
    step("M17", "Histology codes that differ at the first three digits are multiple primaries",
         histology_3_digits_differ),
    step("M18", "No earlier rule applies: single primary", default_single),
]

RULE_SETS_2007: dict[str, list[Step]] = {
    "mph_head_neck": HEAD_AND_NECK, "mph_colon": COLON, "mph_lung": LUNG, "mph_melanoma": MELANOMA,
    "mph_breast": BREAST, "mph_kidney": KIDNEY, "mph_urinary": URINARY, "mph_benign_brain": BENIGN_BRAIN,
    "mph_malignant_brain": MALIGNANT_BRAIN, "mph_other": OTHER_SITES,
}
