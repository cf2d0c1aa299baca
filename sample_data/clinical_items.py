"""Vocabulary of the clinical coder: sites, stage groups and the NAACCR items it emits with their valid codes.

Shared by the site model (``clinical_model``), the drawing steps and the checks of the coded frame, so the
item list, the years each item is reported in and the code lists live in one place.
"""

from __future__ import annotations

SITE_KEYS: tuple[str, ...] = (
    "breast", "prostate", "lung_bronchus", "colon_rectum", "melanoma_skin", "urinary_bladder", "nhl",
    "kidney_renal_pelvis", "corpus_uterus", "leukemia", "pancreas", "thyroid", "liver_ihbd",
    "oral_cavity_pharynx", "stomach", "ovary", "brain_ons", "myeloma", "esophagus", "cervix",
)
STAGE_GROUPS: tuple[str, ...] = ("in_situ", "localized", "regional", "distant", "unknown")
IS, LOC, REG, DIST, UNK = range(5)

# Output items in file order, and the diagnosis years in which each applies (NAACCR rules: CS 2004-2015,
# SEER Summary Stage 2000 for 2001-2017, Summary Stage 2018 / grade items / SSDIs / schema ID 2018+,
# EGFR/ALK and post-therapy clinical grade with the v21 dictionary (2021+), 2023 surgery codes 2023+).
ITEM_YEARS: dict[str, tuple[int, int]] = {
    "primarySite": (0, 9999), "histologicTypeIcdO3": (0, 9999), "behaviorCodeIcdO3": (0, 9999),
    "laterality": (0, 9999), "diagnosticConfirmation": (0, 9999), "typeOfReportingSource": (0, 9999),
    "primaryPayerAtDx": (0, 9999),
    "grade": (0, 2017), "gradeClinical": (2018, 9999), "gradePathological": (2018, 9999),
    "gradePostTherapy": (2018, 9999), "gradePostTherapyClin": (2021, 9999),
    "schemaId": (2018, 9999),
    "csTumorSize": (2004, 2015), "tumorSizeSummary": (2016, 9999),
    "regionalNodesPositive": (0, 9999), "regionalNodesExamined": (0, 9999),
    "seerSummaryStage2000": (2001, 2017), "derivedSs2000": (2004, 2015),
    "summaryStage2018": (2018, 9999), "derivedSummaryStage2018": (2018, 9999),
    "csSiteSpecificFactor1": (2004, 2017), "csSiteSpecificFactor2": (2004, 2017),
    "csSiteSpecificFactor15": (2010, 2017),
    "estrogenReceptorSummary": (2018, 9999), "progesteroneRecepSummary": (2018, 9999),
    "her2OverallSummary": (2018, 9999), "psaLabValue": (2018, 9999), "gleasonScoreClinical": (2018, 9999),
    "gleasonPatternsClinical": (2018, 9999), "gleasonScorePathological": (2018, 9999),
    "kras": (2018, 9999), "microsatelliteInstability": (2018, 9999),
    "ceaPretreatmentInterpretation": (2018, 9999), "egfrMutationalAnalysis": (2021, 9999),
    "alkRearrangement": (2021, 9999),
    "rxSummTreatmentStatus": (0, 9999),
    "rxSummSurgPrimSite": (0, 2022), "rxSummSurgPrimSite2023": (2023, 9999), "reasonForNoSurgery": (0, 9999),
    "rxSummRadiation": (0, 2017), "phase1RadiationTreatmentModality": (2018, 9999),
    "reasonForNoRadiation": (0, 9999), "rxSummSurgRadSeq": (0, 9999),
    "rxSummChemo": (0, 9999), "rxSummHormone": (0, 9999), "rxSummBrm": (0, 9999),
    "rxSummTransplntEndocr": (0, 9999), "rxSummOther": (0, 9999), "rxSummSystemicSurSeq": (0, 9999),
    "rxDateSurgery": (0, 9999), "rxDateMostDefinSurg": (0, 9999), "rxDateRadiation": (0, 9999),
    "rxDateChemo": (0, 9999), "rxDateHormone": (0, 9999), "rxDateBrm": (0, 9999),
    "rxDateSystemic": (0, 9999), "rxDateOther": (0, 9999), "dateInitialRxSeer": (0, 9999),
    "date1stCrsRxCoc": (0, 9999),
}
ITEMS: tuple[str, ...] = tuple(ITEM_YEARS)
HELPER_COLUMNS: tuple[str, ...] = ("_cancer_cod_icd10", "_recurrence_eligible", "_treated", "_first_rx_date")
DATE_ITEMS: tuple[str, ...] = tuple(i for i in ITEMS if i.startswith(("rxDate", "date")))

# NAACCR code lists of the coded items this module emits (NAACCR Volume II item definitions; the
# ``naaccr-lookups`` tables). Items with free values (sizes, node counts, PSA, dates, sites) are checked by
# pattern in ``CODE_PATTERNS``.
CODES: dict[str, frozenset[str]] = {
    "behaviorCodeIcdO3": frozenset("0123"),
    "laterality": frozenset("0123459"),
    "diagnosticConfirmation": frozenset("123456789"),
    "typeOfReportingSource": frozenset("12345678"),
    "primaryPayerAtDx": frozenset({"01", "02", "10", "20", "21", "31", "35", "60", "61", "62", "63", "64",
                                   "65", "66", "67", "68", "99"}),
    "grade": frozenset("123456789"),
    "gradeClinical": frozenset("12345789LMHABCDE"),
    "gradePathological": frozenset("12345789LMHABCDE"),
    "gradePostTherapy": frozenset("12345789LMHABCDE"),
    "gradePostTherapyClin": frozenset("12345789LMHABCDE"),
    "seerSummaryStage2000": frozenset("01234579"), "derivedSs2000": frozenset("01234579"),
    "summaryStage2018": frozenset("0123479"), "derivedSummaryStage2018": frozenset("0123479"),
    "estrogenReceptorSummary": frozenset("0179"), "progesteroneRecepSummary": frozenset("0179"),
    "her2OverallSummary": frozenset("0179"),
    "gleasonScoreClinical": frozenset({"06", "07", "08", "09", "10", "X7", "X9"}),
    "gleasonScorePathological": frozenset({"06", "07", "08", "09", "10", "X7", "X9"}),
    "gleasonPatternsClinical": frozenset({"33", "34", "43", "44", "35", "53", "45", "54", "55", "X7", "X9"}),
    "kras": frozenset("019"), "microsatelliteInstability": frozenset("019"),
    "ceaPretreatmentInterpretation": frozenset("019"), "egfrMutationalAnalysis": frozenset("019"),
    "alkRearrangement": frozenset("019"),
    "rxSummTreatmentStatus": frozenset("0129"),
    "reasonForNoSurgery": frozenset("01256789"),
    "rxSummRadiation": frozenset("012345789"),
    "phase1RadiationTreatmentModality": frozenset({"00", "02", "03", "04", "09", "10", "11", "13", "98", "99"}),
    "reasonForNoRadiation": frozenset("01256789"),
    "rxSummSurgRadSeq": frozenset("0234579"),
    "rxSummChemo": frozenset({"00", "01", "02", "03", "82", "85", "86", "87", "88", "99"}),
    "rxSummHormone": frozenset({"00", "01", "82", "85", "86", "87", "88", "99"}),
    "rxSummBrm": frozenset({"00", "01", "82", "85", "86", "87", "88", "99"}),
    "rxSummTransplntEndocr": frozenset({"00", "10", "11", "12", "20", "30", "40", "82", "85", "86", "87",
                                        "88", "99"}),
    "rxSummOther": frozenset("01236789"),
    "rxSummSystemicSurSeq": frozenset("0234579"),
    "csSiteSpecificFactor15": frozenset({"010", "020", "030", "997", "998", "999"}),
}
CODE_PATTERNS: dict[str, str] = {
    "primarySite": r"^C[0-9]{3}$",
    "histologicTypeIcdO3": r"^[89][0-9]{3}$",
    "schemaId": r"^[0-9]{5}$",
    "tumorSizeSummary": r"^[0-9]{3}$",
    "csTumorSize": r"^[0-9]{3}$",
    "regionalNodesPositive": r"^([0-8][0-9]|90|95|97|98|99)$",
    "regionalNodesExamined": r"^([0-8][0-9]|9[0-9])$",
    "psaLabValue": r"^([0-9]{1,3}\.[0-9]|XXX\.[179])$",
    "gleasonPatternsClinical": r"^([345][345]|X[79])$",
    "csSiteSpecificFactor1": r"^([0-9]{3})$",
    "csSiteSpecificFactor2": r"^([0-9]{3})$",
    "rxSummSurgPrimSite": r"^([0-9]{2})$",
    "rxSummSurgPrimSite2023": r"^([AB][0-9]{3})$",
}

