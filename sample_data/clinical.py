"""Per-site clinical coding of synthetic tumors: what a registrar abstracts about each tumor.

``draw_clinical(tumors, rng)`` takes one row per tumor (``site_key``, ``sex``, ``age``, ``diagnosis_date``,
``stage_group``) and returns, with the same index, one text column per NAACCR tumor item (values as they
appear in a NAACCR file, ``''`` when the item is not reported for that tumor) plus helper columns whose
names start with ``_``. Every draw comes from the ``numpy.random.Generator`` passed in and is vectorised
(loops run over sites, variants, profiles and code tables, never over tumors): a million tumors take about
five seconds, and the same generator state always gives the same frame.

API: ``SITE_KEYS`` (the 20 sites of ``epi_facts.csv``), ``STAGE_GROUPS``, ``ITEMS`` and ``ITEM_YEARS`` (the
items and the diagnosis years in which each is reported), ``CODES`` / ``CODE_PATTERNS`` (valid values),
``stage_codes_for(site_key)``, ``draw_clinical(tumors, rng)`` and ``death_certificate_only(coded,
diagnosis_date=None)``, which recodes tumors known only from a death certificate (source 7, NOS site and
histology, everything else unknown; pass the new diagnosis date so year-dependent items move with it).

What is drawn from what
-----------------------
1. **Variant** of the site (e.g. colon / rectosigmoid / rectum, exocrine pancreas / pancreatic NET,
   renal parenchyma / renal pelvis, the leukemia types), weighted by sex, by age (under 20 the pediatric
   mix: B-ALL, Wilms tumor, hepatoblastoma, medulloblastoma) and by stage (myeloma: a localized tumor is a
   solitary plasmacytoma, any other is plasma cell myeloma).
2. **Topography** (``primarySite``) and **histology** from the variant's tables (subsite shares: breast
   upper-outer quadrant ~38%, lung upper lobes ~50%, sigmoid ~24% of colon, melanoma of the trunk in men
   and of the legs in women...). In situ tumors take an in situ histology and behavior 2; sites where
   in situ disease is not reportable or does not exist (prostate, cervix, thyroid, ovary, liver, brain,
   salivary glands, lymphoma, leukemia, myeloma) are coded as localized invasive tumors instead.
   Year rules of ICD-O-3.2 are followed: HPV-positive/negative oropharyngeal carcinoma (8085/8086) from
   2021, thyroid medullary carcinoma 8345 from 2018 (8510 before), GIST (8936/3) mostly from 2021.
3. **Laterality** for paired organs (NAACCR paired-site list: breast, lung, kidney, renal pelvis, ovary,
   tonsils, parotid/submandibular glands, cerebral lobes, nasal cavity, skin of face/trunk/limbs): about
   half right and half left (lung 55% right; middle lobe always right), ~1-2% side unknown (9), ovary
   bilateral (4) in 5-25% by stage; 0 for unpaired sites.
4. **Reporting source**: hospital (1) ~87%, physician office (4) and lab only (3) more often for melanoma
   and prostate; lab-only and physician-office reports often lack treatment information (codes 99).
5. **Biomarkers** (site-specific data items, 2018+): breast ER+ ~82% of invasive tumors, PR+ ~70%
   (85% of ER+, 5% of ER-), HER2+ ~14% (10% of ER+, 30% of ER-), 2-4% unknown; prostate PSA (lognormal,
   median 6.5 ng/ml localized, ~40 distant) and Gleason patterns/score from a grade-group mix by stage;
   colorectal KRAS, MSI and CEA (testing mostly in advanced disease, ~40% KRAS mutated, MSI-high ~15%
   in localized/regional and ~4% in distant disease); lung EGFR and ALK (2021+; ~17% / ~5% of tested
   adenocarcinomas). Before 2018 the breast receptors and the PSA are in the Collaborative Stage site
   factors (SSF1 ER, SSF2 PR, SSF15 HER2; prostate SSF1 PSA in tenths of ng/ml).
6. **First-course treatment** by site (or variant) and stage: probabilities of surgery, of radiation
   after surgery and without surgery, of chemotherapy, hormone therapy, immunotherapy (BRM) and
   transplant/endocrine procedures, lowered at ages 70+ and 80+. Special rules: breast radiation follows
   breast-conserving surgery (~85%) more than mastectomy; hormone therapy for ER+/PR+ breast and for
   prostate (with radiation for higher grade groups, nearly always for distant disease); steroids in
   lymphoma/myeloma/ALL regimens are hormone therapy; active surveillance for low-grade prostate (rising
   from ~15% to ~55% of grade group 1, 2010 to 2024), CLL (watch and wait, ~55%), indolent lymphoma, small
   kidney and thyroid tumors. Immunotherapy follows the eras of checkpoint inhibitors (melanoma from 2011,
   lung from 2015, kidney from 2015, bladder from 2016, head and neck, liver, esophagus/stomach, cervix,
   endometrium, triple-negative breast later); BCG for non-invasive bladder tumors is BRM; anti-CD20 and
   anti-HER2 antibodies are BRM before 2013 and chemotherapy from 2013 (SEER*Rx rule change).
   Neoadjuvant therapy (breast, rectum with chemoradiation, esophagus, stomach, pancreas, bladder, lung,
   ovary) puts systemic therapy (and radiation) before surgery.
   Refusal/contraindication/death/"recommended, unknown" codes (82-88, reasons 2-8) are given to a share of
   patients who did not receive a treatment usual for their site and stage. Codes: surgery two-digit site
   codes to 2022 (98 for leukemia/myeloma), 2023+ ``rxSummSurgPrimSite2023`` = A + former code + 0 (breast
   B200 partial / B400 total / B500 modified radical mastectomy; A000 none, also for hematopoietic sites;
   A990 unknown); radiation ``rxSummRadiation`` to 2017 (1 beam, 2 implants, 3 isotopes such as I-131, 4
   beam + implants) and ``phase1RadiationTreatmentModality`` from 2018 (02 photons, 03 protons, 04
   electrons, 09-11 brachytherapy, 13 radioisotopes, 98 unknown modality); chemotherapy 01/02/03;
   transplant 11/12/20 (autologous/allogeneic marrow, stem cells) and 30 (endocrine surgery:
   orchiectomy, oophorectomy). All codes fall in the given / not-given patterns of
   ``pipelines.typed_core.TREATMENTS`` or are the unknown codes 9 / 99 / A990.
7. **Dates**: surgery 2-6 weeks after diagnosis (same day when the diagnosis is made at surgery),
   neoadjuvant chemotherapy 2-6 weeks after diagnosis and surgery 3-5 months later, adjuvant chemotherapy
   4-10 weeks after surgery, radiation 4-8 weeks after surgery or after adjuvant chemotherapy (breast),
   concurrent with chemotherapy otherwise, hormone therapy after local treatment (breast) or 3-6 weeks after
   diagnosis (prostate), transplant 4-6 months after induction. ``rxDateMostDefinSurg`` is a later
   re-excision for part of breast and melanoma cases. All dates fall on or after the diagnosis date.
8. **Diagnostic confirmation**: operated tumors are histologically confirmed (1); the others by histology,
   cytology (2), or without microscopy (5 lab marker, 7 imaging, 8 clinical, 9 unknown) with
   site-specific shares (imaging: liver ~15%, pancreas ~8%, lung ~5%, brain ~5%; more for distant and
   unknown stage). Leukemia, lymphoma and myeloma use 3 (histology plus immunophenotyping/genetics,
   rising from ~50% in 2010 to ~75%) or 1. Tumors without microscopic confirmation get histology 8000
   (or the site's usual type where imaging is diagnostic: HCC, glioma), unknown grade and biomarkers.
9. **Grade**: ``grade`` (item 440) before 2018 with the old conventions (prostate from the Gleason score,
   bladder low/high grade as 2/4, lymphoma B/T cell 6/5); 2018+ ``gradeClinical`` (biopsy),
   ``gradePathological`` (resection; 9 without resection), ``gradePostTherapy`` / ``gradePostTherapyClin``
   (2021+) only after neoadjuvant therapy, with the 2018 Grade Manual code sets (breast 1-3 and L/M/H for
   DCIS, prostate grade group 1-5, bladder L/H, hematopoietic 8, otherwise 1-4/9).
10. **Stage, size and nodes**: ``summaryStage2018``/``derivedSummaryStage2018`` (2018+) and
    ``seerSummaryStage2000`` (2001-2017) / ``derivedSs2000`` (Collaborative Stage years 2004-2015) follow
    ``stage_group``: in situ 0, localized 1, regional 2/3/4 (direct extension / nodes / both, site mix;
    lymphoma regional 2 in SS2018 and 5 in SS2000; brain 2), distant 7, unknown 9. Leukemia is a systemic
    disease: SEER summary stage 7 whatever the input stage group; plasma cell myeloma is 7 too.
    ``tumorSizeSummary`` (2016+) and ``csTumorSize`` (2004-2015) are lognormal around a site and stage
    median (999 unknown at site-specific rates, e.g. ~80% for prostate; 999 for lymphoma, leukemia and
    myeloma in tumorSizeSummary, 988 "not applicable" in csTumorSize). Regional nodes examined/positive
    come from the lymph node surgery of the resection (e.g. colon median 18 examined), 98/00 when no
    nodes were removed, 95 after a positive aspiration, 99 for hematopoietic and brain tumors; positive
    nodes are present exactly when the regional code involves nodes (3/4) or for ~40% of distant tumors.
11. **Schema ID** (2018+) from topography, histology and year (e.g. lung 00360 to 2024 and 09360 from
    2025, cervix 00520 to 2020 and 09520 from 2021, brain 00721 to 2022 and 09721 from 2023).
12. **Primary payer** by age (Medicare for 65+, private/Medicaid/uninsured under 65).

Helper columns: ``_cancer_cod_icd10`` (the ICD-10 underlying cause for a death from this cancer, 4
characters without the dot: the topography for most solid sites, C43x for skin melanoma, by histology for
lymphoma/leukemia/myeloma; three-character categories padded with 9, e.g. C619), ``_recurrence_eligible``
(in situ, localized or regional tumor treated with curative intent), ``_treated`` (any first-course
treatment given) and ``_first_rx_date`` (datetime64, NaT when untreated).

Sources of the facts: ICD-O-3/3.2 topography and morphology codes and the NAACCR code lists of each item
(NAACCR Data Standards Volume II as published in the IMS ``naaccr-lookups`` tables, copied in
``shared/reference/coding``); SEER Summary Stage 2000/2018 and Collaborative Stage conventions, the 2018
Grade Manual, the SSDI manual and the STORE/SEER treatment coding rules as recalled from their public
manuals; the stage mix of each site comes from the caller. Treatment and biomarker shares are approximate
figures recalled from SEER/NCDB reports and clinical practice: realistic targets for synthetic data, not
statistics to quote.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from sample_data.clinical_items import (
    DATE_ITEMS,
    DIST,
    IS,
    ITEM_YEARS,
    ITEMS,
    LOC,
    REG,
    SITE_KEYS,
    STAGE_GROUPS,
    UNK,
)
from sample_data.clinical_model import HEME_COD, IMMUNO_ERAS, PROFILES, SITES, Variant

NO_DATE = np.int64(-(10**9))  # sentinel day number for "no date"

# Steroids given with the chemotherapy regimen are hormone therapy (SEER*Rx): share of treated tumors.
STEROIDS: dict[str, float] = {"nhl": 0.75, "myeloma": 0.9, "all": 0.9, "plasmacytoma": 0.8, "cll": 0.1}
# Anti-CD20 (lymphoma, CLL) and anti-HER2 (breast) antibodies: BRM before 2013, chemotherapy from 2013.
ANTIBODY_AS_BRM_UNTIL = 2012
# Neoadjuvant interval (days from the start of neoadjuvant therapy to surgery), by profile.
NEO_INTERVAL: dict[str, float] = {"breast": 150, "rectum": 105, "esophagus": 85, "stomach": 100,
                                  "pancreas": 120, "urinary_bladder": 100, "lung": 90, "ovary": 95,
                                  "wilms": 45, "hepatoblastoma": 100}
ACUTE_PROFILES = ("aml", "all")       # treatment starts within days of diagnosis

# Reasons a usual treatment was not given: (chemo/hormone/BRM code, reason for no surgery/radiation), weight.
NOT_GIVEN: tuple[tuple[str, str, float], ...] = (("82", "2", 0.35), ("85", "5", 0.15), ("86", "6", 0.1),
                                                  ("87", "7", 0.3), ("88", "8", 0.1))
NOT_GIVEN_SHARE = 0.12     # share of untreated tumors with a documented reason, scaled by how usual it is
TREATMENT_UNKNOWN = 0.012  # tumors whose first-course treatment is unknown whatever the report source
SOURCE_UNKNOWN_TREATMENT = 0.6   # lab-only and physician-office reports without treatment information

HPV_TOPOGRAPHY = (19, 99, 102, 103, 108, 109)   # C019, C099, C102... : ICD-O-3.2 sites of 8085/8086
OROPHARYNX_P16_POSITIVE = 0.7
SQUAMOUS = (8070, 8071, 8072, 8083, 8051, 8052, 8074)
PAYER_65 = {"60": 25, "61": 22, "63": 10, "64": 8, "67": 2, "99": 3}   # + Medicare Advantage (62) by year
PAYER_UNDER_65 = {"20": 45, "21": 10, "10": 5, "31": 10, "35": 7, "02": 1, "60": 4, "64": 1, "65": 1, "66": 1,
                  "67": 1, "99": 5}                                    # + not insured (01) by year
PAYER_CHILD = {"20": 55, "31": 12, "35": 20, "10": 5, "99": 8}
LINEAGE_B = (9680, 9690, 9699, 9823, 9673, 9687, 9671, 9811, 9940)
LINEAGE_T = (9702, 9837)

_ALL_PAIRED: frozenset[str] = frozenset().union(*(s.paired for s in SITES.values()))
_VARIANTS: tuple[tuple[str, Variant], ...] = tuple((key, v) for key in SITE_KEYS for v in SITES[key].variants)
_PROFILE_KEYS: tuple[str, ...] = tuple(PROFILES)
_VARIANT_PROFILE = np.array([_PROFILE_KEYS.index(v.profile or key) for key, v in _VARIANTS], dtype=np.int64)
_VARIANT_HEME = np.array([v.heme for _, v in _VARIANTS], dtype=bool)
_VARIANT_GRADE = np.array([v.grade for _, v in _VARIANTS])
_VARIANT_NAME = np.array([v.name for _, v in _VARIANTS])
_TWO = np.array([f"{i:02d}" for i in range(100)], dtype=object)
_THREE = np.array([f"{i:03d}" for i in range(1000)], dtype=object)
_FOUR = np.array([f"{i:04d}" for i in range(10000)], dtype=object)
_SITE_TEXT = np.array([f"C{i:03d}" for i in range(1000)], dtype=object)
_PSA_TEXT = np.array([""] + [f"{i / 10:.1f}" for i in range(1, 10000)] + ["XXX.1", "XXX.9"], dtype=object)
_SCHEMAS = ("00822", "00821", "00795", "00790", "00830", "00480", "00580", "00360", "09360", "00200", "00470",
            "00620", "00600", "00610", "00541", "00542", "00530", "00340", "09340", "00280", "00740", "00730",
            "00220", "00230", "00071", "00100", "09100", "00111", "00072", "00073", "00074", "00075", "00076",
            "00077", "00080", "09081", "00090", "09090", "00112", "00118", "00430", "00170", "00551", "00721",
            "09724", "09721", "00161", "00169", "00520", "09520", "99999")
_SCHEMA_TEXT = np.array(_SCHEMAS, dtype=object)
_HEME_KEYS = np.array(sorted(int(k) for k in HEME_COD))
_HEME_VALUES = np.array([HEME_COD[f"{k}"] for k in _HEME_KEYS], dtype=object)


def _profile_values(attribute: str) -> np.ndarray:
    """One attribute of every treatment profile, in profile order."""
    return np.array([getattr(PROFILES[p], attribute) for p in _PROFILE_KEYS])


# ----------------------------------------------------------------------------------------------------
# Small vectorised helpers. Codes are fixed-width numpy unicode arrays while they are drawn (fast
# comparisons and selections); numbers and dates stay integers; everything becomes object (str) columns
# once, at the end.
# ----------------------------------------------------------------------------------------------------

def _choice(u: np.ndarray, table: Mapping[str, float] | Mapping[int, float]) -> np.ndarray:
    """Codes drawn from a weighted table, one per uniform number in ``u``."""
    codes = np.array(list(table))
    weights = np.array(list(table.values()), dtype=float)
    cum = np.cumsum(weights) / weights.sum()
    return codes[np.minimum(np.searchsorted(cum, u, side="right"), len(codes) - 1)]


def _index_rows(u: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Column index drawn with one weight vector per row (``weights`` is rows x columns)."""
    cum = np.cumsum(weights, axis=1)
    scaled = u * cum[:, -1]
    return np.count_nonzero(scaled[:, None] >= cum[:, :-1], axis=1)


def _years(dates: np.ndarray) -> np.ndarray:
    return dates.astype("datetime64[Y]").astype(np.int64) + 1970


def _index_grouped(u: np.ndarray, group: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Column index drawn from one weight row of ``table`` per tumor (``table[group]``), without building
    a tumors x columns array."""
    cum = np.cumsum(np.asarray(table, dtype=float), axis=1)
    scaled = u * cum[group, -1]
    index = np.zeros(len(u), dtype=np.int64)
    for column in range(cum.shape[1] - 1):
        index += scaled >= cum[group, column]
    return index


def _any_of(values: np.ndarray, options: Sequence[object]) -> np.ndarray:
    """``np.isin`` for a few options (faster on string arrays)."""
    return np.logical_or.reduce([values == option for option in options])


def _ramp(year: np.ndarray, points: Sequence[tuple[int, float]]) -> np.ndarray:
    """Piecewise-linear value by diagnosis year (computed once per distinct year)."""
    xs, ys = zip(*points, strict=True)
    first = int(year.min()) if len(year) else 0
    per_year = np.interp(np.arange(first, int(year.max(initial=first)) + 1), xs, ys)
    return per_year[year - first]


def _date_text(days: np.ndarray) -> np.ndarray:
    """Day numbers (days since 1970-01-01) as YYYYMMDD str objects; NO_DATE gives ''."""
    valid = days != NO_DATE
    if not valid.any():
        return np.full(len(days), "", dtype=object)
    lo, hi = int(days[valid].min()), int(days[valid].max())
    span = np.arange(lo, hi + 1).astype("datetime64[D]")
    vocabulary = np.concatenate([[""], np.datetime_as_string(span).astype("<U10")])
    vocabulary = np.char.replace(vocabulary, "-", "").astype(object)
    return vocabulary[np.where(valid, days - lo + 1, 0)]


def _numbers_text(values: np.ndarray, digits: int) -> np.ndarray:
    """Non-negative integers as zero-padded str objects (``digits`` 2 or 3); negative gives ''."""
    vocabulary = np.concatenate([_TWO if digits == 2 else _THREE, np.array([""], dtype=object)])
    return vocabulary[np.where(values < 0, len(vocabulary) - 1, values)]


def _to_object(values: np.ndarray) -> np.ndarray:
    """A fixed-width unicode array of short ASCII codes as str objects (vocabulary lookup, much faster
    than ``astype(object)`` for two- and three-character codes)."""
    if values.dtype.kind != "U":
        return values.astype(object)
    width = values.dtype.itemsize // 4
    if width < 2 or width > 3 or not len(values):
        return values.astype(object)
    chars = values.view(np.uint32).reshape(-1, width).astype(np.int64)
    if chars.max() >= 128:
        return values.astype(object)
    key = chars[:, 0]
    for column in range(1, width):
        key = key * 128 + chars[:, column]
    present = np.flatnonzero(np.bincount(key, minlength=128**width))
    vocabulary = np.empty(128**width, dtype=object)
    for code in present:
        text = "".join(chr((int(code) // 128**(width - 1 - k)) % 128) for k in range(width))
        vocabulary[code] = text.replace("\x00", "")
    return vocabulary[key]


def _as_int(codes: np.ndarray) -> np.ndarray:
    """Numeric codes (histology, topography digits) as integers; non-numeric give 0."""
    codes = np.asarray(codes).astype(str)
    return np.where(np.char.isdigit(codes), codes, "0").astype(np.int64)


def _topography_number(topo: np.ndarray) -> np.ndarray:
    """C509 -> 509 (0 when not a topography code)."""
    return _as_int(np.char.lstrip(np.asarray(topo).astype(str), "C"))


# ----------------------------------------------------------------------------------------------------
# Code derivations shared by draw_clinical and death_certificate_only
# ----------------------------------------------------------------------------------------------------

def _schema(t: np.ndarray, h: np.ndarray, year: np.ndarray, hpv: np.ndarray | None = None) -> np.ndarray:
    """EOD/SSDI schema ID (2018+, str objects) from topography number (C509 -> 509), histology number and
    diagnosis year, following the SEER EOD schema selection rules."""
    p3 = t // 10
    hpv = np.zeros(len(t), dtype=bool) if hpv is None else hpv
    heme = (h >= 9590) & (h <= 9993)
    lymphoma = (h >= 9590) & (h <= 9729)
    oropharynx = np.isin(p3, [1, 9, 10]) | np.isin(t, [24, 51, 52])
    corpus = np.isin(p3, [54, 55])
    net = np.isin(h, [8240, 8249])
    conditions = [
        np.isin(h, [9731, 9734]), h == 9732, (h == 9823) & (p3 != 42), lymphoma, heme,
        p3 == 50, p3 == 61, (p3 == 34) & (year <= 2024), p3 == 34,
        np.isin(p3, [18, 19, 20]) & (t != 181), (p3 == 44) & (h >= 8720) & (h <= 8790), p3 == 67,
        t == 649, t == 659, corpus & np.isin(h, [8890, 8930]), corpus & (h == 8933), corpus,
        (p3 == 25) & net & (year <= 2023), (p3 == 25) & net, p3 == 25,
        (t == 739) & np.isin(h, [8345, 8510]), t == 739,
        (t == 220) & (((h >= 8170) & (h <= 8175)) | (h == 8970)), np.isin(t, [220, 221]),
        p3 == 0, oropharynx & hpv & (year <= 2025), oropharynx & hpv, oropharynx,
        p3 == 2, p3 == 3, p3 == 4, t == 50, np.isin(t, [60, 61]), np.isin(p3, [5, 6]),
        np.isin(p3, [7, 8]) & (year <= 2025), np.isin(p3, [7, 8]),
        (p3 == 11) & (year <= 2024), p3 == 11, np.isin(p3, [12, 13]), p3 == 14,
        (p3 == 16) & (h == 8936), p3 == 16, t == 569,
        (p3 == 71) & (year <= 2022), (p3 == 71) & (h == 9470), p3 == 71,
        (p3 == 15) & (h >= 8050) & (h <= 8089), p3 == 15,
        (p3 == 53) & (year <= 2020), p3 == 53,
    ]
    index = np.select(conditions, list(range(len(conditions))), default=len(_SCHEMAS) - 1)
    return _SCHEMA_TEXT[index]


def _cause_of_death(t: np.ndarray, h: np.ndarray) -> np.ndarray:
    """ICD-10 underlying cause (4 characters, no dot, str objects) for a death from this tumor, from the
    topography number (C509 -> 509) and histology number."""
    p3 = t // 10
    cod = _SITE_TEXT[t]
    melanoma = (p3 == 44) & (h >= 8720) & (h <= 8790)
    cod = np.where(melanoma, _SITE_TEXT[430 + t % 10], cod)
    cod = np.where((p3 == 22) & np.isin(h, [8160, 8180]), "C221", cod)
    cod = np.where(h == 8970, "C222", cod)
    cod = np.where((p3 == 25) & np.isin(h, [8240, 8249]), "C254", cod)
    position = np.minimum(np.searchsorted(_HEME_KEYS, h), len(_HEME_KEYS) - 1)
    return np.where(_HEME_KEYS[position] == h, _HEME_VALUES[position], cod)


# ----------------------------------------------------------------------------------------------------
# The drawing steps
# ----------------------------------------------------------------------------------------------------

class _Context:
    """Arrays describing the tumors while they are being coded (attributes are set step by step)."""

    def __init__(self, rng: np.random.Generator, site: np.ndarray, sex: np.ndarray, age: np.ndarray,
                 dx: np.ndarray, stage: np.ndarray) -> None:
        self.rng = rng
        self.n = len(site)
        self.site_index = pd.Categorical(site, categories=SITE_KEYS).codes.astype(np.int64)
        self.sex = sex
        self.age = age
        self.dx = dx.astype(np.int64)
        self.year = _years(dx)
        self.stage = stage
        self.out: dict[str, np.ndarray] = {}

    def is_site(self, *keys: str) -> np.ndarray:
        return np.logical_or.reduce([self.site_index == SITE_KEYS.index(k) for k in keys])

    def is_profile(self, *keys: str) -> np.ndarray:
        return np.logical_or.reduce([self.profile == _PROFILE_KEYS.index(k) for k in keys])

    # Arrays set by the drawing steps (one value per tumor).
    # tumor (step 1-3)
    variant: np.ndarray
    profile: np.ndarray
    heme: np.ndarray
    topo_i: np.ndarray
    hist_i: np.ndarray
    behavior: np.ndarray
    hpv: np.ndarray
    source: np.ndarray
    # markers
    er: np.ndarray
    pr: np.ndarray
    her2: np.ndarray
    patterns: np.ndarray
    pattern_index: np.ndarray
    grade_group: np.ndarray
    gleason_score: np.ndarray
    psa_tenths: np.ndarray
    kras: np.ndarray
    msi: np.ndarray
    cea: np.ndarray
    egfr: np.ndarray
    alk: np.ndarray
    # treatment
    surgery: np.ndarray
    surgery_code: np.ndarray
    radiation: np.ndarray
    chemo: np.ndarray
    neoadjuvant: np.ndarray
    no_info: np.ndarray
    treated: np.ndarray
    first_rx: np.ndarray
    # confirmation and pathology
    micro: np.ndarray
    path_grade_group: np.ndarray
    path_score: np.ndarray
    gleason_clinical: np.ndarray
    patterns_clinical: np.ndarray
    gleason_path: np.ndarray
    # stage, size, nodes
    schema: np.ndarray
    size_summary: np.ndarray
    size_cs: np.ndarray
    nodes_examined: np.ndarray
    nodes_positive: np.ndarray
    dates: dict[str, np.ndarray]
    rx: dict[str, np.ndarray]


def _draw_tumor(c: _Context) -> None:
    """Variant, topography, histology and behavior (module doc, steps 1-2)."""
    n, rng = c.n, c.rng
    u_variant, u_topo, u_hist, u_hpv = rng.random((4, n))
    c.variant = np.zeros(n, dtype=np.int64)
    topo = np.zeros(n, dtype=np.int64)        # topography number: C509 -> 509
    hist = np.zeros(n, dtype=np.int64)        # ICD-O-3 histology (4 digits)
    behavior = np.full(n, "3", dtype="<U1")
    child, male = c.age < 20, c.sex == 1
    offset = 0
    for number, key in enumerate(SITE_KEYS):
        variants = SITES[key].variants
        rows = np.flatnonzero(c.site_index == number)
        if rows.size:
            any_in_situ = any(v.in_situ is not None for v in variants)
            in_situ = c.stage[rows] == IS
            stage = np.where(in_situ & (not any_in_situ), LOC, c.stage[rows])
            weights = np.empty((rows.size, len(variants)))
            for j, v in enumerate(variants):
                w = np.full(rows.size, v.share)
                if v.male is not None:
                    w = np.where(male[rows], v.male, w)
                if v.before is not None:
                    w = np.where(c.year[rows] < v.before[0], v.before[1], w)
                if v.child is not None:
                    w = np.where(child[rows], v.child, w)
                if v.stages is not None:
                    w = np.where(np.isin(stage, v.stages), w, 0.0)
                if any_in_situ and v.in_situ is None:
                    w = np.where(in_situ, 0.0, w)
                weights[:, j] = w
            empty = weights.sum(axis=1) <= 0
            if empty.any():          # e.g. an in situ kidney tumor in a child: fall back to the adult mix
                fallback = np.array([max(v.share, v.child or 0.0, 1e-6) for v in variants])
                capable = np.array([v.in_situ is not None for v in variants])
                weights[empty] = np.where(in_situ[empty, None] & capable.any() & ~capable, 0.0, fallback)
            chosen = _index_rows(u_variant[rows], weights)
            c.variant[rows] = offset + chosen
            for j, v in enumerate(variants):
                vr = rows[chosen == j]
                if not vr.size:
                    continue
                topo[vr] = _choice(u_topo[vr], {int(k[1:]): w for k, w in v.topography.items()})
                drawn = _choice(u_hist[vr], {int(k): w for k, w in v.histology.items()})
                if v.in_situ is not None:
                    is_rows = c.stage[vr] == IS
                    if is_rows.any():
                        drawn[is_rows] = _choice(u_hist[vr][is_rows], {int(k): w for k, w in v.in_situ.items()})
                        behavior[vr[is_rows]] = "2"
                hist[vr] = drawn
        offset += len(variants)
    c.stage = np.where((c.stage == IS) & (behavior != "2"), LOC, c.stage)
    c.profile = _VARIANT_PROFILE[c.variant]
    c.heme = _VARIANT_HEME[c.variant]
    # ICD-O-3.2 and year rules: thyroid medullary 8345 from 2018; HPV-positive/negative SCC from 2021.
    hist = np.where((hist == 8345) & (c.year < 2018), 8510, hist)
    oropharynx = _VARIANT_NAME[c.variant] == "oropharynx"
    c.hpv = oropharynx & (u_hpv < OROPHARYNX_P16_POSITIVE)
    coded_hpv = (oropharynx & np.isin(topo, HPV_TOPOGRAPHY) & (c.year >= 2021) & (behavior == "3")
                 & np.isin(hist, SQUAMOUS))
    c.topo_i = topo
    c.hist_i = np.where(coded_hpv, np.where(c.hpv, 8085, 8086), hist)
    c.behavior = behavior


def _draw_laterality(c: _Context) -> None:
    """Laterality of paired organs (module doc, step 3)."""
    u = c.rng.random(c.n)
    laterality = np.full(c.n, "0", dtype="<U1")
    paired = np.zeros(c.n, dtype=bool)
    for number, key in enumerate(SITE_KEYS):
        if SITES[key].paired:
            paired |= (c.site_index == number) & np.isin(c.topo_i, [int(t[1:]) for t in SITES[key].paired])
    rows = np.flatnonzero(paired)
    codes = np.array(["1", "2", "3", "4", "9"])
    weights = np.tile([0.48, 0.48, 0.01, 0.0, 0.03], (rows.size, 1))
    site = c.site_index[rows]
    weights[site == SITE_KEYS.index("breast")] = [0.485, 0.5, 0.003, 0.004, 0.008]
    weights[site == SITE_KEYS.index("lung_bronchus")] = [0.55, 0.43, 0.002, 0.003, 0.015]
    ovary = site == SITE_KEYS.index("ovary")
    bilateral = np.array([0.05, 0.05, 0.15, 0.25, 0.15])[c.stage[rows][ovary]]
    count = int(ovary.sum())
    weights[ovary] = np.column_stack([np.full(count, 0.47), np.full(count, 0.47), np.zeros(count), bilateral,
                                      np.full(count, 0.02)])
    laterality[rows] = codes[_index_rows(u[rows], weights)]
    laterality[c.topo_i == 342] = "1"       # the middle lobe exists only in the right lung
    c.out["laterality"] = laterality


def _draw_source(c: _Context) -> None:
    """Type of reporting source (module doc, step 4)."""
    table = np.array([[1.0 - 0.047 - lab - office, 0.015, lab, office, 0.002, 0.03]
                      for lab, office in (SITES[k].source_extra for k in SITE_KEYS)] + [[1, 0, 0, 0, 0, 0]])
    group = np.where(c.age < 18, len(SITE_KEYS), c.site_index)        # children: hospital reports
    codes = np.array(["1", "2", "3", "4", "5", "8"])
    c.source = codes[_index_grouped(c.rng.random(c.n), group, table)]
    c.out["typeOfReportingSource"] = c.source


def _draw_markers(c: _Context) -> None:
    """Breast receptors, prostate Gleason/PSA, colorectal and lung markers (module doc, step 5)."""
    n, rng = c.n, c.rng
    u = rng.random((18, n))
    stage = c.stage
    # Breast: ER, then PR and HER2 conditional on ER.
    breast = c.is_site("breast")
    invasive = c.behavior == "3"
    er_share = np.where(c.sex == 1, 0.92, np.where(c.age < 40, 0.72, np.where(c.age >= 70, 0.88, 0.84)))
    er_share = np.where(invasive, er_share, 0.8)
    er_pos = u[0] < er_share
    pr_pos = u[1] < np.where(er_pos, 0.85, 0.05)
    her2_pos = u[2] < np.where(er_pos, 0.10, 0.30)
    unknown = np.where(invasive, 0.02 + 0.06 * (stage == UNK) + 0.02 * (stage == DIST), 0.25)
    er_unknown = u[3] < unknown
    ordered = u[4] < 0.005
    er = np.where(er_unknown, "9", np.where(ordered, "7", np.where(er_pos, "1", "0")))
    pr = np.where(er_unknown, "9", np.where(ordered, "7", np.where(pr_pos, "1", "0")))
    her2_unknown = er_unknown | (u[5] < np.where(invasive, 0.015, 0.9))
    her2 = np.where(her2_unknown, "9", np.where(her2_pos, "1", "0"))
    c.er, c.pr, c.her2 = (np.where(breast, value, "") for value in (er, pr, her2))
    # Prostate: biopsy Gleason patterns by stage group (grade group 1-5), PSA lognormal by stage group.
    prostate = c.is_site("prostate")
    patterns = np.array(["33", "34", "43", "44", "35", "53", "45", "54", "55"])
    by_stage = np.array([
        [35, 33, 14, 6, 1.5, 1.5, 5, 2, 2], [35, 33, 14, 6, 1.5, 1.5, 5, 2, 2],
        [5, 22, 25, 12, 1.5, 1.5, 20, 8, 5], [2, 5, 10, 18, 2, 3, 35, 15, 10], [25, 30, 15, 9, 1.5, 1.5, 12, 4, 3]])
    pattern_index = _index_grouped(u[6], stage, by_stage)
    c.patterns = np.where(prostate, patterns[pattern_index], "")
    c.grade_group = np.where(prostate, np.array([1, 2, 3, 4, 4, 4, 5, 5, 5])[pattern_index], 0)
    c.gleason_score = np.where(prostate, np.array([6, 7, 7, 8, 8, 8, 9, 9, 10])[pattern_index], 0)
    c.pattern_index = np.where(prostate, pattern_index, -1)
    median = np.array([6.0, 6.5, 9.0, 40.0, 8.0])[stage]
    sigma = np.array([0.6, 0.6, 0.8, 1.4, 1.0])[stage]
    tenths = np.maximum(np.rint(10 * median * np.exp(sigma * rng.standard_normal(n))), 1).astype(np.int64)
    psa_unknown = u[7] < np.where(stage == UNK, 0.15, 0.04)
    c.psa_tenths = np.where(prostate, np.where(psa_unknown, -9, np.where(tenths >= 10000, -1, tenths)), -2)
    # Colorectal: KRAS, MSI, CEA (tested more often in advanced disease and in later years).
    colon = c.is_site("colon_rectum") & invasive
    late = np.clip((c.year - 2018) / 6.0, 0.0, 1.0)
    kras_tested = u[8] < np.array([0.0, 0.12, 0.22, 0.7, 0.15])[stage] + 0.1 * late
    kras = np.where(kras_tested, np.where(u[9] < 0.42, "1", "0"), "9")
    msi_tested = u[10] < np.array([0.0, 0.6, 0.7, 0.65, 0.3])[stage] + 0.15 * late
    right = np.isin(c.topo_i, [180, 182, 183, 184])
    msi_high = u[11] < np.array([0.0, 0.18, 0.14, 0.04, 0.1])[stage] * np.where(right, 1.6, 0.6)
    msi = np.where(msi_tested, np.where(msi_high, "1", "0"), "9")
    cea_tested = u[12] < np.array([0.0, 0.55, 0.7, 0.75, 0.4])[stage]
    cea = np.where(cea_tested, np.where(u[13] < np.array([0.0, 0.2, 0.35, 0.75, 0.4])[stage], "1", "0"), "9")
    c.kras, c.msi, c.cea = (np.where(colon, value, "") for value in (kras, msi, cea))
    # Lung: EGFR and ALK, tested mainly in non-squamous non-small cell carcinoma.
    lung = c.is_site("lung_bronchus") & invasive
    adeno = np.isin(c.hist_i, [8140, 8250, 8480, 8046, 8560, 8010])
    small = np.isin(c.hist_i, [8041, 8013, 8240])
    tested_share = np.where(adeno, np.array([0.0, 0.35, 0.5, 0.8, 0.4])[stage],
                            np.where(small, 0.03, np.array([0.0, 0.15, 0.2, 0.35, 0.15])[stage]))
    tested = u[14] < tested_share
    egfr_share = np.where(adeno, 0.17, 0.03) * np.where(c.sex == 2, 1.3, 0.75)
    egfr = np.where(tested, np.where(u[15] < egfr_share, "1", "0"), "9")
    alk_share = np.where(adeno, 0.05, 0.01) * np.where(c.age < 60, 2.0, 0.8)
    alk = np.where(tested, np.where(u[16] < alk_share, "1", "0"), "9")
    c.egfr, c.alk = (np.where(lung, value, "") for value in (egfr, alk))


def _draw_treatment(c: _Context) -> None:
    """First-course treatment codes and dates (module doc, steps 6-7)."""
    n, rng = c.n, c.rng
    u = rng.random((24, n))
    st, prof, year, age = c.stage, c.profile, c.year, c.age
    p_surgery = _profile_values("surgery")[prof, st]
    p_rt_surgery = _profile_values("rt_surgery")[prof, st]
    p_rt_alone = _profile_values("rt_alone")[prof, st]
    p_chemo = _profile_values("chemo")[prof, st]
    p_hormone = _profile_values("hormone")[prof, st]
    p_brm = _profile_values("brm")[prof, st]
    p_transplant = _profile_values("transplant")[prof, st]
    old, older = age >= 70, age >= 80
    breast, prostate = c.is_profile("breast"), c.is_profile("prostate")
    steroid_profile = c.is_profile(*STEROIDS)
    lung_small = c.is_profile("lung") & np.isin(c.hist_i, [8041, 8013])
    p_surgery = np.where(lung_small, p_surgery * 0.15, p_surgery)
    p_chemo = np.where(lung_small & (st != IS), np.where(st == DIST, 0.75, 0.85), p_chemo)
    p_surgery = np.where(older & (st != IS), p_surgery * 0.75, p_surgery)
    # Treatment unknown (lab-only or physician-office reports, a few others); active surveillance.
    no_info = (_any_of(c.source, ["3", "4"]) & (u[0] < SOURCE_UNKNOWN_TREATMENT)) | (u[1] < TREATMENT_UNKNOWN)
    surgery_known = ~no_info | (c.is_site("melanoma_skin") & (c.source == "3"))
    surveillance_share = _profile_values("surveillance")[prof, st]
    early = (st == LOC) | (st == UNK)
    surveillance_share = np.where(
        prostate, np.where(early & (c.grade_group == 1), _ramp(year, ((2010, 0.15), (2024, 0.55))),
                           np.where(early & (c.grade_group == 2), _ramp(year, ((2010, 0.03), (2024, 0.12))), 0.0)),
        surveillance_share)
    surveillance_share = np.where(c.is_profile("kidney") & (st == LOC) & older, surveillance_share * 3,
                                  surveillance_share)
    surveillance = ~no_info & (u[2] < surveillance_share)
    active = ~no_info & ~surveillance

    # Surgery and its code.
    heme_surgery = _profile_values("heme_surgery").astype(bool)[prof]
    surgery = ~surveillance & surgery_known & ~heme_surgery & (u[3] < p_surgery)
    surgery_code = np.full(n, "00", dtype="<U2")
    for number, key in enumerate(_PROFILE_KEYS):
        rows = np.flatnonzero(surgery & (prof == number))
        if not rows.size:
            continue
        tables = PROFILES[key].surgery_codes
        if isinstance(tables, tuple):
            for stage in range(5):
                stage_rows = rows[st[rows] == stage]
                surgery_code[stage_rows] = _choice(u[4][stage_rows], tables[stage])
        else:
            surgery_code[rows] = _choice(u[4][rows], tables)
    conserving = breast & surgery & _any_of(surgery_code, ["22", "23", "24"])
    mastectomy = breast & surgery & ~conserving
    p_rt_surgery = np.where(conserving, np.where(old, 0.65, 0.87),
                            np.where(mastectomy, np.array([0.02, 0.12, 0.55, 0.4, 0.2])[st], p_rt_surgery))
    # Systemic therapy.
    chemo_factor = np.where(older, 0.45, np.where(old, 0.8, 1.0))
    her2_pos = c.her2 == "1"
    triple_negative = (c.er == "0") & (c.pr != "1") & (c.her2 == "0")
    breast_chemo = np.where(her2_pos | triple_negative, np.minimum(p_chemo + 0.35, 0.95),
                            np.where(c.er == "1", p_chemo * 0.6, p_chemo))
    p_chemo = np.where(breast & (c.behavior == "3"), breast_chemo, p_chemo)
    chemo = active & (u[5] < p_chemo * chemo_factor)
    neo_share = _profile_values("neoadjuvant")[prof, st] * np.where(
        c.is_profile("breast", "pancreas"), _ramp(year, ((2010, 0.8), (2024, 1.3))), 1.0)
    neoadjuvant = surgery & chemo & (u[6] < neo_share)
    p_radiation = np.where(surgery, p_rt_surgery, p_rt_alone)
    radiation = active & (u[7] < p_radiation * np.where(age >= 85, 0.8, 1.0))
    neo_radiation = neoadjuvant & radiation & _profile_values("neo_radiation").astype(bool)[prof]
    # Hormone therapy.
    hormone_receptor = (c.er == "1") | (c.pr == "1")
    p_breast_hormone = np.where(hormone_receptor, p_hormone, np.where(c.er == "9", p_hormone * 0.5, 0.02))
    p_prostate_hormone = np.select(
        [st == DIST, radiation & (st == REG), radiation, surgery & (st == REG), surgery],
        [p_hormone, np.full(n, 0.75), 0.1 + 0.12 * (c.grade_group - 1), np.full(n, 0.2), np.full(n, 0.03)],
        default=np.where(st == REG, 0.6, np.where(older, 0.4, 0.2)))
    p_hormone = np.where(breast, p_breast_hormone, np.where(prostate, p_prostate_hormone, p_hormone))
    steroid = np.array([STEROIDS.get(p, 0.0) for p in _PROFILE_KEYS])[prof]
    hormone = active & np.where(steroid_profile, chemo & (u[8] < steroid), u[8] < p_hormone)
    # Immunotherapy (BRM), with the eras of checkpoint inhibitors and the 2013 antibody rule.
    for key, eras in IMMUNO_ERAS.items():
        rows_of = prof == _PROFILE_KEYS.index(key)
        for stages, points in eras:
            match = rows_of & np.isin(st, stages)
            p_brm = np.where(match, np.maximum(p_brm, _ramp(year, points)), p_brm)
    antibody_era = year <= ANTIBODY_AS_BRM_UNTIL
    anti_cd20 = c.is_profile("nhl", "cll") & chemo & antibody_era & (c.hist_i != 9702)
    anti_her2 = breast & her2_pos & chemo & antibody_era
    p_brm = np.where(anti_cd20, 0.8, np.where(anti_her2, 0.85, p_brm))
    p_brm = np.where(breast & triple_negative & chemo & np.isin(st, [REG, DIST]),
                     _ramp(year, ((2020, 0.0), (2021, 0.2), (2024, 0.4))), p_brm)
    bladder = c.is_profile("urinary_bladder")
    p_brm = np.where(bladder & np.isin(st, [IS, LOC]) & ~surgery, 0.0, p_brm)   # BCG follows a resection
    brm = active & (u[9] < p_brm * np.where(older, 0.7, 1.0))
    # Transplant / endocrine procedures.
    transplant_code = _profile_values("transplant_code")[prof]
    max_age = _profile_values("transplant_max_age")[prof]
    endocrine = transplant_code == "30"
    eligible = np.where(endocrine, np.where(breast, (age < 50) & hormone_receptor, True), chemo & (age <= max_age))
    transplant = active & eligible & (u[10] < p_transplant)
    other = active & (u[11] < 0.012)
    other_code = np.where(u[12] < 0.8, "2", "1")

    # Dates (day numbers).
    dx = c.dx
    at_surgery = surgery & ~neoadjuvant & (u[13] < _profile_values("dx_at_surgery")[prof])
    acute = c.is_profile(*ACUTE_PROFILES)
    # Independent gamma(4) variates, one row per delay; branches of one np.select share a row.
    g = rng.standard_gamma(4.0, (9, n)) / 4.0

    def delay(row: int, mean: float | np.ndarray) -> np.ndarray:
        return np.rint(g[row] * mean).astype(np.int64)

    acute_start = np.rint(rng.standard_gamma(2.0, n) * 2.5).astype(np.int64)
    chemo_start = dx + np.where(acute, acute_start, 10 + delay(0, 20.0))
    neo_interval = np.array([NEO_INTERVAL.get(p, 100.0) for p in _PROFILE_KEYS])[prof]
    neo_surgery = chemo_start + np.rint(neo_interval * rng.standard_gamma(25.0, n) / 25.0).astype(np.int64)
    surgery_day = np.where(neoadjuvant, neo_surgery, np.where(at_surgery, dx, dx + 7 + delay(1, 21.0)))
    t_surgery = np.where(surgery, surgery_day, NO_DATE)
    adjuvant = chemo & surgery & ~neoadjuvant
    t_chemo = np.where(adjuvant, t_surgery + 25 + delay(2, 25.0), np.where(chemo, chemo_start, NO_DATE))
    concurrent = _profile_values("concurrent").astype(bool)[prof]
    prostate_adt = dx + 14 + delay(3, 14.0)
    soon = rng.integers(0, 4, n)
    rt_day = np.select(
        [neo_radiation, adjuvant & ~concurrent, adjuvant & concurrent, surgery,
         prostate & hormone, chemo & concurrent, chemo],
        [t_chemo + soon, t_chemo + 100 + delay(4, 30.0), t_chemo + soon, t_surgery + 25 + delay(4, 20.0),
         prostate_adt + 60 + delay(4, 20.0), t_chemo + soon, t_chemo + 90 + delay(4, 20.0)],
        default=dx + 14 + delay(4, 20.0))
    t_rt = np.where(radiation, rt_day, NO_DATE)
    # Hormone therapy: after local treatment (breast), at once (prostate), with chemotherapy (steroids).
    last_local = np.maximum.reduce([np.where(surgery, t_surgery, dx), np.where(radiation, t_rt + 35, dx),
                                    np.where(adjuvant, t_chemo + 110, dx)])
    hormone_day = np.select(
        [breast, prostate & surgery, prostate, steroid_profile, surgery],
        [last_local + 14 + delay(5, 14.0), t_surgery + 30 + delay(5, 20.0), prostate_adt, t_chemo,
         t_surgery + 20 + delay(5, 15.0)],
        default=dx + 20 + delay(5, 15.0))
    t_hormone = np.where(hormone, hormone_day, NO_DATE)
    brm_day = np.select(
        [chemo & (anti_cd20 | anti_her2), bladder & surgery,
         c.is_profile("melanoma_skin") & surgery & (st == REG), c.is_profile("lung") & (st == REG) & radiation,
         chemo],
        [t_chemo, t_surgery + 14 + delay(6, 14.0), t_surgery + 35 + delay(6, 20.0), t_rt + 60 + delay(6, 15.0),
         t_chemo],
        default=np.where(surgery, t_surgery + 30, dx + 20) + delay(6, 15.0))
    t_brm = np.where(brm, brm_day, NO_DATE)
    transplant_day = np.where(endocrine, dx + 20 + delay(7, 15.0), t_chemo + 100 + delay(7, 40.0))
    t_transplant = np.where(transplant, transplant_day, NO_DATE)
    t_other = np.where(other, dx + 20 + delay(8, 20.0), NO_DATE)
    re_excision_share = _profile_values("re_excision")[prof]
    re_excision = surgery & (u[14] < np.where(breast, np.where(conserving, re_excision_share, 0.03),
                                              re_excision_share))
    t_definitive = np.where(re_excision, t_surgery + 10 + delay(8, 15.0), t_surgery)
    days = [t_surgery, t_definitive, t_rt, t_chemo, t_hormone, t_brm, t_transplant, t_other]
    t_surgery, t_definitive, t_rt, t_chemo, t_hormone, t_brm, t_transplant, t_other = (
        np.where(d == NO_DATE, NO_DATE, np.maximum(d, dx)) for d in days)

    # Reasons for treatments not given (usual for the site and stage, but not received).
    reason_weights = np.tile([w for _, _, w in NOT_GIVEN], (2, 1))
    reason_weights[1, 1] *= 2.0                                        # distant: died before treatment
    reason_index = _index_grouped(u[17], (st == DIST).astype(np.int64), reason_weights)

    def reason(given: np.ndarray, usual: np.ndarray, uniform: np.ndarray) -> np.ndarray:
        has = active & ~given & (uniform < NOT_GIVEN_SHARE * usual * np.where(older, 1.5, 1.0))
        return np.where(has, reason_index, -1)

    chemo_given_code = np.array(["01", "02", "03"])[_index_grouped(u[15], prof, _profile_values("chemo_codes"))]
    not_given_codes = np.array([code for code, _, _ in NOT_GIVEN])
    not_given_reason = np.array([r for _, r, _ in NOT_GIVEN])

    def systemic_code(given: np.ndarray, given_code: np.ndarray | str, why: np.ndarray) -> np.ndarray:
        code = np.where(given, given_code, np.where(why >= 0, not_given_codes[np.maximum(why, 0)], "00"))
        return np.where(no_info, "99", code)

    rx: dict[str, np.ndarray] = {}
    rx["rxSummChemo"] = systemic_code(chemo, chemo_given_code, reason(chemo, p_chemo, u[16]))
    hormone_usual = np.where(steroid_profile, 0.0, p_hormone)
    rx["rxSummHormone"] = systemic_code(hormone, "01", reason(hormone, hormone_usual, u[18]))
    rx["rxSummBrm"] = systemic_code(brm, "01", reason(brm, p_brm, u[19]))
    rx["rxSummTransplntEndocr"] = systemic_code(transplant, transplant_code,
                                                reason(transplant, p_transplant * eligible, u[20]))
    rx["rxSummOther"] = np.where(no_info, "9", np.where(other, other_code, "0"))
    # Surgery of primary site (two-digit codes to 2022, 2023 codes) and reason for no surgery.
    surgery_reason = reason(surgery, np.where(heme_surgery, 0.0, p_surgery), u[21])
    why = not_given_reason[np.maximum(surgery_reason, 0)]
    surgery_unknown = ~surgery_known | ((surgery_reason >= 0) & (why == "8"))
    old_code = np.where(surgery, surgery_code, np.where(heme_surgery, "98", "00"))
    old_code = np.where(surgery_unknown, "99", old_code)
    rx["rxSummSurgPrimSite"] = old_code
    # 2023+: A + the former code + 0; breast uses the B table (B200 partial, B400 total, B500 modified
    # radical mastectomy); none A000 (also for hematopoietic sites), unknown A990.
    new_code = np.char.add(np.char.add("A", old_code), "0")
    breast_code = np.char.add(np.char.add("B", old_code.astype("<U1")), "00")
    new_code = np.where(breast & surgery & ~surgery_unknown, breast_code, new_code)
    new_code = np.where(_any_of(old_code, ["00", "98"]), "A000", np.where(surgery_unknown, "A990", new_code))
    rx["rxSummSurgPrimSite2023"] = new_code
    rx["reasonForNoSurgery"] = np.where(surgery, "0", np.where(surgery_unknown, np.where(no_info, "9", "8"),
                                                               np.where(surgery_reason >= 0, why, "1")))
    # Radiation: summary code (to 2017), phase I modality (2018+), reason for no radiation.
    rt_reason = reason(radiation, p_radiation, u[22])
    rt_why = not_given_reason[np.maximum(rt_reason, 0)]
    given_summary, given_modality = _radiation_codes(c, radiation, surgery)
    refused_or_unknown = (rt_reason >= 0) & _any_of(rt_why, ["7", "8"])
    rx["rxSummRadiation"] = np.where(no_info, "9", np.where(radiation, given_summary,
                                                              np.where(refused_or_unknown, rt_why, "0")))
    rx["phase1RadiationTreatmentModality"] = np.where(
        no_info, "99", np.where(radiation, given_modality, np.where((rt_reason >= 0) & (rt_why == "8"), "99", "00")))
    rx["reasonForNoRadiation"] = np.where(no_info, "9", np.where(radiation, "0",
                                                                   np.where(rt_reason >= 0, rt_why, "1")))
    # Sequences and status.
    rx["rxSummSurgRadSeq"] = np.where(surgery & radiation, np.where(t_rt < t_surgery, "2", "3"), "0")
    systemic_days = np.stack([t_chemo, t_hormone, t_brm, t_transplant])
    given_days = systemic_days != NO_DATE
    before = (given_days & (systemic_days < t_surgery)).any(axis=0)
    after = (given_days & (systemic_days >= t_surgery)).any(axis=0)
    rx["rxSummSystemicSurSeq"] = np.select([surgery & before & after, surgery & before, surgery & after],
                                           ["4", "2", "3"], default="0")
    any_given = surgery | radiation | chemo | hormone | brm | transplant | other
    rx["rxSummTreatmentStatus"] = np.where(any_given, "1", np.where(no_info, "9", np.where(surveillance, "2", "0")))
    # Dates: systemic therapy = earliest systemic start; first course = earliest treatment (or the
    # decision for active surveillance, CoC item only).
    never = np.iinfo(np.int64).max
    systemic = np.where(given_days, systemic_days, never).min(axis=0)
    all_days = np.stack([t_surgery, t_rt, t_chemo, t_hormone, t_brm, t_transplant, t_other])
    first = np.where(all_days != NO_DATE, all_days, never).min(axis=0)
    systemic = np.where(systemic == never, NO_DATE, systemic)
    first = np.where(first == never, NO_DATE, first)
    decision = np.where(surveillance, dx + 14 + delay(8, 14.0), NO_DATE)
    c.dates = {"rxDateSurgery": t_surgery, "rxDateMostDefinSurg": t_definitive, "rxDateRadiation": t_rt,
               "rxDateChemo": t_chemo, "rxDateHormone": t_hormone, "rxDateBrm": t_brm, "rxDateSystemic": systemic,
               "rxDateOther": t_other, "dateInitialRxSeer": first,
               "date1stCrsRxCoc": np.where(first != NO_DATE, first, decision)}
    c.rx = rx
    c.surgery, c.radiation, c.chemo, c.neoadjuvant = surgery, radiation, chemo, neoadjuvant
    c.surgery_code, c.no_info, c.treated, c.first_rx = old_code, no_info, any_given, first


def _radiation_codes(c: _Context, radiation: np.ndarray, surgery: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """rxSummRadiation (to 2017) and phase I modality (2018+) of given radiation, by radiation model."""
    u, v = c.rng.random((2, c.n))
    model = _profile_values("radiation")[c.profile]
    summary = np.where(u < 0.03, "5", "1")
    modality = np.where(u < 0.03, "98", np.where(u < 0.05, "03", "02"))
    brachy = (model == "prostate") & ~surgery & (v < 0.25)
    summary = np.where(brachy, "2", summary)
    modality = np.where(brachy, np.where(v < 0.2, "10", "11"), modality)
    isotope = _any_of(model, ["thyroid", "liver"]) & (v < np.where(model == "thyroid", 0.92, 0.5))
    summary = np.where(isotope, "3", summary)
    modality = np.where(isotope, "13", modality)
    vaginal = (model == "corpus") & surgery & (c.stage == LOC) & (v < 0.7)
    summary = np.where(vaginal, "2", summary)
    modality = np.where(vaginal, "09", modality)
    summary = np.where((model == "cervix") & ~surgery & (v < 0.8), "4", summary)   # beam + brachytherapy
    modality = np.where((model == "skin") & (v < 0.3), "04", modality)
    modality = np.where((model == "brain") & (c.age < 20) & (v < 0.4), "03", modality)
    return summary, modality


def _draw_confirmation(c: _Context) -> None:
    """Diagnostic confirmation; tumors not seen under the microscope lose histology detail (step 8)."""
    u, v = c.rng.random((2, c.n))
    late = ((c.stage == DIST) | (c.stage == UNK)) & ~c.heme
    table = np.array([SITES[k].confirmation for k in SITE_KEYS])
    late_table = table.copy()
    late_table[:, 3:] *= 2.5                       # more imaging / clinical / unknown in late stages
    codes = np.array(["1", "2", "5", "7", "8", "9"])
    group = c.site_index + len(SITE_KEYS) * late
    confirmation = codes[_index_grouped(u, group, np.vstack([table, late_table]))]
    confirmation = np.where(c.surgery | (c.behavior == "2"), np.where(v < 0.005, "4", "1"), confirmation)
    share3 = _ramp(c.year, ((2010, 0.5), (2024, 0.75)))
    confirmation = np.where(c.heme & (confirmation == "1") & (v < share3), "3", confirmation)
    confirmation = np.where(c.heme & (confirmation == "7"), "8", confirmation)
    c.micro = _any_of(confirmation, ["1", "2", "3", "4"])
    liver_hcc = c.is_site("liver_ihbd") & (c.hist_i == 8170)
    brain, melanoma = c.is_site("brain_ons"), c.is_site("melanoma_skin")
    keep = np.where(liver_hcc, 0.7, np.where(brain, 0.5, np.where(c.heme | melanoma, 1.0, 0.25)))
    clinical = ~c.micro & (v >= keep)
    unknown_heme = ~c.micro & c.heme & (confirmation == "9")
    hist = np.where(clinical, np.where(brain, 9380, 8000), c.hist_i)
    c.hist_i = np.where(unknown_heme & c.is_site("leukemia"), 9800,
                        np.where(unknown_heme & c.is_site("nhl"), 9591, hist))
    c.er, c.pr, c.her2 = (np.where(~c.micro & (value != ""), "9", value) for value in (c.er, c.pr, c.her2))
    c.out["diagnosticConfirmation"] = confirmation


def _draw_prostate_pathology(c: _Context) -> None:
    """Prostatectomy Gleason (upgraded ~30%, downgraded ~7%) and the Gleason items."""
    u = c.rng.random(c.n)
    patterns = np.array(["33", "34", "43", "44", "35", "53", "45", "54", "55"])
    upgrade = np.array([1, 2, 3, 6, 6, 6, 7, 8, 8])          # index of the next higher pattern pair
    downgrade = np.array([0, 0, 1, 2, 1, 2, 3, 6, 7])
    prostate = c.is_site("prostate")
    prostatectomy = prostate & c.surgery & (c.surgery_code == "50")
    index = np.maximum(c.pattern_index, 0)
    path_index = np.where(u < 0.3, upgrade[index], np.where(u > 0.93, downgrade[index], index))
    c.path_grade_group = np.where(prostatectomy, np.array([1, 2, 3, 4, 4, 4, 5, 5, 5])[path_index], 0)
    c.path_score = np.where(prostatectomy, np.array([6, 7, 7, 8, 8, 8, 9, 9, 10])[path_index], 0)
    biopsy = prostate & c.micro
    score_text = np.array(["06", "07", "07", "08", "08", "08", "09", "09", "10"])
    c.gleason_clinical = np.where(prostate, np.where(biopsy, score_text[index], "X7"), "")
    c.patterns_clinical = np.where(prostate, np.where(biopsy, patterns[index], "X7"), "")
    path = np.where(prostatectomy, score_text[path_index], np.where(c.no_info, "X9", "X7"))
    c.gleason_path = np.where(prostate, path, "")


def _draw_grade(c: _Context) -> None:
    """Grade items: old ``grade`` (to 2017) and the 2018 clinical/pathological/post-therapy grades (step 9)."""
    u = c.rng.random((6, c.n))
    kind = _VARIANT_GRADE[c.variant]
    table = np.array([SITES[k].grade_weights for k in SITE_KEYS for _ in STAGE_GROUPS])
    table[:, 2:] *= np.tile([1.0, 1.0, 1.5, 2.0, 1.2], len(SITE_KEYS))[:, None]   # higher grades when advanced
    group = c.site_index * len(STAGE_GROUPS) + c.stage
    true = _index_grouped(u[0], group, table) + 1                       # 1-4, 9 = not gradable
    implied = {8461: 3, 8460: 1, 8441: 3, 8980: 3, 8950: 3, 8310: 3, 8020: 4, 8041: 4, 8013: 4, 8240: 1,
               8249: 2, 9440: 4, 9401: 3, 9450: 2, 9451: 3, 9470: 4, 9508: 4, 9391: 2, 8345: 9, 8510: 9,
               9380: 9, 8000: 9}
    for code, value in implied.items():
        true = np.where(c.hist_i == code, value, true)
    true = np.where(np.isin(c.hist_i, [9400, 9382]), np.where(u[1] < 0.55, 2, 3), true)
    breast = kind == "breast"
    breast_group = np.where(c.behavior == "2", 2, np.where(c.er == "0", 1, 0))
    breast_table = np.array([[0.3, 0.5, 0.2], [0.03, 0.2, 0.77], [0.15, 0.45, 0.4]])   # ER+, ER-, DCIS
    true = np.where(breast, _index_grouped(u[2], breast_group, breast_table) + 1, true)
    bladder = kind == "bladder"            # urothelial low / high grade, kept as 1 / 3
    high = u[3] < np.where(c.hist_i == 8120, np.where(c.behavior == "2", 1.0, 0.85),
                           np.select([c.behavior == "2", c.stage == LOC], [0.35, 0.7], 0.97))
    true = np.where(bladder, np.where(high, 3, 1), true)
    unknown_share = np.array([SITES[k].grade_unknown for k in SITE_KEYS])[c.site_index]
    clinical_known = c.micro & (u[4] >= unknown_share + 0.15 * (c.stage == UNK))
    prostate, heme = kind == "prostate", kind == "heme"
    path_known = c.surgery & (u[5] >= 0.03) & np.where(prostate, c.surgery_code == "50", True)
    nine = (kind == "nine") | (true == 9)
    digits = np.array(["1", "2", "3", "4"])
    # 2018+ code sets: three-level tables have no grade 4 (2018 Grade Manual).
    top = np.array([4 if SITES[k].grade_weights[3] > 0 else 3 for k in SITE_KEYS])[c.site_index]
    top = np.where(kind == "brain", 4, top)
    new = digits[np.clip(np.minimum(true, top), 1, 4) - 1]
    new = np.where(breast & (c.behavior == "2"), np.array(["L", "M", "H", "H"])[np.clip(true, 1, 4) - 1], new)
    new = np.where(bladder, np.where(true == 3, "H", "L"), new)
    new = np.where(nine, "9", new)
    group_text = np.array(["9", "1", "2", "3", "4", "5"])
    clinical = np.where(prostate, group_text[c.grade_group], new)
    clinical = np.where(clinical_known, clinical, "9")
    pathological = np.where(prostate, group_text[c.path_grade_group], new)
    pathological = np.where(path_known, pathological, "9")
    clinical = np.where(heme, "8", clinical)
    pathological = np.where(heme, "8", pathological)
    post = c.neoadjuvant & c.surgery
    c.out["gradeClinical"] = clinical
    c.out["gradePathological"] = pathological
    c.out["gradePostTherapy"] = np.where(post, np.where(u[4] < 0.85, pathological, "9"), "")
    c.out["gradePostTherapyClin"] = np.where(post, np.where(u[5] < 0.15, clinical, "9"), "")
    # Old grade item (to 2017): prostate from the Gleason score (rules before/after 2014), bladder low/high
    # as 2/4, lymphoid lineage for hematopoietic tumors.
    old = np.where(bladder, np.where(true == 3, "4", "2"), digits[np.clip(true, 1, 4) - 1])
    score = np.where(path_known & prostate, c.path_score, c.gleason_score)
    prostate_old = np.where(c.year < 2014, np.select([score <= 4, score <= 6], ["1", "2"], "3"),
                            np.select([score <= 6, score == 7], ["1", "2"], "3"))
    old = np.where(prostate, prostate_old, old)
    old = np.where(nine | ~(clinical_known | path_known), "9", old)
    lineage = np.where(np.isin(c.hist_i, LINEAGE_T), "5", np.where(np.isin(c.hist_i, LINEAGE_B), "6", "9"))
    c.out["grade"] = np.where(heme, np.where(c.micro & (u[4] < 0.6), lineage, "9"), old)


def _draw_stage_size_nodes(c: _Context) -> None:
    """Summary stage, schema, tumor size and regional nodes (module doc, steps 10-11)."""
    n, rng = c.n, c.rng
    u = rng.random((8, n))
    st = c.stage
    regional = np.array([SITES[k].regional for k in SITE_KEYS])
    regional_code = np.array(["2", "3", "4"])[_index_grouped(u[0], c.site_index, regional)]
    code = np.where(st == REG, regional_code, np.array(["0", "1", "2", "7", "9"])[st])
    code = np.where((c.hist_i == 9732) & (st != UNK), "7", code)     # plasma cell myeloma is systemic
    code = np.where(c.is_site("leukemia"), "7", code)               # leukemia is systemic
    ss2000 = np.where(_any_of(code, ["2", "3", "4"]) & (u[1] < 0.03), "5", code)      # regional, NOS
    ss2000 = np.where(c.is_site("nhl") & (st == REG), "5", ss2000)
    c.out["summaryStage2018"] = code
    c.out["derivedSummaryStage2018"] = code
    c.out["seerSummaryStage2000"] = ss2000
    c.out["derivedSs2000"] = ss2000
    c.schema = _schema(c.topo_i, c.hist_i, c.year, c.hpv)
    # Tumor size (mm; 989 = 989+, 990 microscopic focus, 999 unknown; heme 999 / CS 988 not applicable).
    sized = np.array([SITES[k].size is not None for k in SITE_KEYS])[c.site_index] & ~c.heme
    median = np.array([SITES[k].size or (1, 1, 1, 1, 1) for k in SITE_KEYS], dtype=float)[c.site_index, st]
    unknown = np.array([SITES[k].size_unknown for k in SITE_KEYS])[c.site_index, st]
    mm = np.rint(median * np.exp(0.55 * rng.standard_normal(n))).astype(np.int64)
    size = np.where(mm > 988, 989, np.clip(mm, 1, 988))
    size = np.where(c.is_site("breast") & (c.behavior == "3") & (st == LOC) & (u[2] < 0.01), 990, size)
    size = np.where(u[3] < unknown, 999, size)
    c.size_summary = np.where(sized, size, 999)
    c.size_cs = np.where(sized, size, 988)
    # Regional lymph nodes: examined from the lymph node surgery of the resection, positive from the stage.
    p_nodes = np.zeros(n)
    node_median = np.zeros(n)
    for number, key in enumerate(_PROFILE_KEYS):
        rows = np.flatnonzero(c.surgery & (c.profile == number))
        if not rows.size:
            continue
        profile = PROFILES[key]
        p_nodes[rows], node_median[rows] = profile.nodes
        for surgery_code, (share, count_median) in profile.nodes_by_code.items():
            coded = rows[c.surgery_code[rows] == surgery_code]
            p_nodes[coded], node_median[coded] = share, count_median
    dissected = c.surgery & (u[4] < p_nodes) & (node_median > 0)
    count = np.clip(np.rint(np.maximum(node_median, 1) * np.exp(0.45 * rng.standard_normal(n))), 1, 90)
    count = count.astype(np.int64)
    nodal_disease = ((st == REG) & (regional_code != "2")) | ((st == DIST) & (u[5] < 0.4))
    nodal_disease &= ~c.is_site("nhl", "brain_ons")
    involved = np.minimum(count, 1 + rng.poisson(2.0, n))
    examined = np.where(dissected, count, 0)
    positive = np.where(dissected, np.where(nodal_disease, involved, 0), 98)
    aspirated = ~c.surgery & nodal_disease & (u[6] < _profile_values("node_aspiration")[c.profile])
    examined = np.where(aspirated, 95, examined)
    positive = np.where(aspirated, 95, positive)
    unknown_nodes = ((c.no_info & ~c.surgery) | ((st == UNK) & ~c.surgery & (u[7] < 0.5)) | c.heme
                     | c.is_site("brain_ons"))
    c.nodes_examined = np.where(unknown_nodes, 99, examined)
    c.nodes_positive = np.where(unknown_nodes, 99, positive)


def _draw_payer(c: _Context) -> None:
    """Primary payer at diagnosis by age (Medicare Advantage growing, uninsured shrinking) (step 12)."""
    u = c.rng.random(c.n)
    first = int(c.year.min()) if c.n else 0
    years = np.arange(first, int(c.year.max(initial=first)) + 1)
    table = np.column_stack([np.tile(list(PAYER_65.values()), (len(years), 1)),
                             np.interp(years, (2010, 2024), (22.0, 48.0))])
    payer = np.array([*PAYER_65, "62"])[_index_grouped(u, c.year - first, table)]
    table = np.column_stack([np.tile(list(PAYER_UNDER_65.values()), (len(years), 1)),
                             np.interp(years, (2010, 2014, 2024), (7.0, 5.0, 4.0))])
    young = np.array([*PAYER_UNDER_65, "01"])[_index_grouped(u, c.year - first, table)]
    payer = np.where(c.age < 65, young, payer)
    c.out["primaryPayerAtDx"] = np.where(c.age < 18, _choice(u, PAYER_CHILD), payer)


def _assemble(c: _Context, index: pd.Index) -> pd.DataFrame:
    """The output frame: items blanked outside their years and sites, then the helper columns."""
    out = c.out
    out["behaviorCodeIcdO3"] = c.behavior
    breast, prostate = c.is_site("breast"), c.is_site("prostate")
    out["estrogenReceptorSummary"], out["progesteroneRecepSummary"], out["her2OverallSummary"] = c.er, c.pr, c.her2
    # Collaborative Stage site-specific factors (to 2017): breast ER, PR (SSF1, SSF2) and HER2 summary
    # (SSF15): 010 positive, 020 negative, 997 ordered/not in chart, 998 not done, 999 unknown; prostate
    # PSA (SSF1) in tenths of ng/ml, 980 = 98.0 or more.
    untested = ~c.micro | (c.behavior == "2")

    def ssf(summary: np.ndarray) -> np.ndarray:
        code = np.select([summary == "1", summary == "0", summary == "7"], ["010", "020", "997"], "999")
        return np.where(breast & untested & (code == "999"), "998", code)

    psa = np.select([c.psa_tenths == -1, c.psa_tenths > 0],
                    [np.full(c.n, 980), np.clip(c.psa_tenths, 0, 980)], 999)
    out["csSiteSpecificFactor1"] = np.where(breast, ssf(c.er), "")
    out["csSiteSpecificFactor2"] = np.where(breast, ssf(c.pr), "")
    out["csSiteSpecificFactor15"] = np.where(breast, np.where(c.behavior == "2", "998", ssf(c.her2)), "")
    psa_index = np.select([~prostate, c.psa_tenths == -9, c.psa_tenths == -1], [0, 10001, 10000],
                          np.clip(c.psa_tenths, 0, 9999))
    out["gleasonScoreClinical"] = c.gleason_clinical
    out["gleasonPatternsClinical"] = c.patterns_clinical
    out["gleasonScorePathological"] = c.gleason_path
    out["kras"] = np.where(c.micro | (c.kras == ""), c.kras, "9")
    out["microsatelliteInstability"] = np.where(c.micro | (c.msi == ""), c.msi, "9")
    out["ceaPretreatmentInterpretation"] = c.cea
    out["egfrMutationalAnalysis"] = np.where(c.micro | (c.egfr == ""), c.egfr, "9")
    out["alkRearrangement"] = np.where(c.micro | (c.alk == ""), c.alk, "9")
    out.update(c.rx)
    numbers = {"tumorSizeSummary": (c.size_summary, 3), "csTumorSize": (c.size_cs, 3),
               "regionalNodesExamined": (c.nodes_examined, 2), "regionalNodesPositive": (c.nodes_positive, 2)}
    vocabulary = {"primarySite": (_SITE_TEXT, c.topo_i), "histologicTypeIcdO3": (_FOUR, c.hist_i),
                  "psaLabValue": (_PSA_TEXT, psa_index)}
    out["schemaId"] = c.schema
    frame: dict[str, np.ndarray] = {}
    for item in ITEMS:
        lo, hi = ITEM_YEARS[item]
        in_years = (c.year >= lo) & (c.year <= hi)
        if item in vocabulary:
            texts, values = vocabulary[item]
            frame[item] = np.where(in_years, texts[values], "") if lo > 0 or hi < 9999 else texts[values]
        elif item == "csSiteSpecificFactor1":
            prostate_ssf = _numbers_text(np.where(prostate & in_years, psa, -1), 3)
            frame[item] = np.where(breast & in_years, _to_object(out[item]), prostate_ssf)
        elif item in c.dates:
            frame[item] = _date_text(np.where(in_years, c.dates[item], NO_DATE))
        elif item in numbers:
            values, digits = numbers[item]
            frame[item] = _numbers_text(np.where(in_years, values, -1), digits)
        else:
            values = out[item]
            if lo > 0 or hi < 9999:
                values = np.where(in_years, values, "")
            frame[item] = _to_object(values)
    frame["_cancer_cod_icd10"] = _cause_of_death(c.topo_i, c.hist_i)
    result = pd.DataFrame(frame, index=index, copy=False)
    curative = c.surgery | c.radiation | (c.heme & c.chemo)
    result["_recurrence_eligible"] = (c.stage <= REG) & curative & ~c.is_site("leukemia")
    result["_treated"] = c.treated
    result["_first_rx_date"] = pd.to_datetime(np.where(c.first_rx == NO_DATE, np.datetime64("NaT"),
                                                       c.first_rx.astype("datetime64[D]")))
    return result


# ----------------------------------------------------------------------------------------------------
# Public entry points
# ----------------------------------------------------------------------------------------------------

def stage_codes_for(site_key: str) -> dict[str, tuple[str, ...]]:
    """Summary stage codes (SS2018 and SS2000) ``draw_clinical`` may emit for each stage group of a site."""
    if site_key not in SITES:
        raise ValueError(f"unknown site_key {site_key!r}")
    if site_key == "leukemia":
        return {group: ("7",) for group in STAGE_GROUPS}
    regional: tuple[str, ...] = ("2", "3", "4", "5")
    if site_key in ("nhl", "brain_ons"):
        regional = ("2", "5")
    elif site_key == "myeloma":
        regional = ("7",)
    codes = {"in_situ": ("0",), "localized": ("1",), "regional": regional, "distant": ("7",), "unknown": ("9",)}
    if not any(v.in_situ is not None for v in SITES[site_key].variants):
        codes["in_situ"] = codes["localized"]      # not reportable in situ: coded as a localized tumor
    return codes


def draw_clinical(tumors: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """NAACCR tumor items for each tumor (see the module doc); same index as ``tumors``.

    ``tumors`` needs ``site_key`` (one of ``SITE_KEYS``), ``sex`` (1 male, 2 female), ``age`` (years),
    ``diagnosis_date`` (datetime64) and ``stage_group`` (one of ``STAGE_GROUPS``). The result has one text
    column per item of ``ITEMS`` ('' = not reported) and the helper columns ``HELPER_COLUMNS``.
    """
    site = tumors["site_key"].to_numpy(dtype=object)
    unknown_sites = set(pd.unique(site)) - set(SITE_KEYS)
    if unknown_sites:
        raise ValueError(f"unknown site_key values: {sorted(map(str, unknown_sites))}")
    stage_names = tumors["stage_group"].to_numpy(dtype=object)
    unknown_stages = set(pd.unique(stage_names)) - set(STAGE_GROUPS)
    if unknown_stages:
        raise ValueError(f"unknown stage_group values: {sorted(map(str, unknown_stages))}")
    stage = pd.Categorical(stage_names, categories=STAGE_GROUPS).codes.astype(np.int64)
    dx = pd.to_datetime(tumors["diagnosis_date"]).to_numpy(dtype="datetime64[D]")
    if np.isnat(dx).any():
        raise ValueError("diagnosis_date must be known for every tumor")
    c = _Context(rng, site, tumors["sex"].to_numpy(dtype=np.int64), tumors["age"].to_numpy(dtype=np.int64),
                 dx, stage)
    _draw_tumor(c)
    _draw_laterality(c)
    _draw_source(c)
    _draw_markers(c)
    _draw_treatment(c)
    _draw_confirmation(c)
    _draw_prostate_pathology(c)
    _draw_grade(c)
    _draw_stage_size_nodes(c)
    _draw_payer(c)
    return _assemble(c, tumors.index)


# Death-certificate-only recoding: the site a death certificate names, and which site-specific items
# belong to which sites.
_DCO_SITE = {"C50": "C509", "C34": "C349", "C18": "C189", "C44": "C449", "C67": "C679", "C77": "C779",
             "C54": "C549", "C25": "C259", "C16": "C169", "C71": "C719", "C15": "C159", "C53": "C539",
             "C02": "C029", "C03": "C039", "C04": "C049", "C05": "C059", "C06": "C069", "C00": "C009",
             "C10": "C109", "C11": "C119", "C13": "C139", "C08": "C089", "C14": "C148", "C09": "C099"}
_DCO_UNKNOWN: dict[str, str] = {
    "grade": "9", "gradeClinical": "9", "gradePathological": "9", "gradePostTherapy": "",
    "gradePostTherapyClin": "", "csTumorSize": "999", "tumorSizeSummary": "999", "regionalNodesPositive": "99",
    "regionalNodesExamined": "99", "seerSummaryStage2000": "9", "derivedSs2000": "9", "summaryStage2018": "9",
    "derivedSummaryStage2018": "9", "rxSummTreatmentStatus": "9", "rxSummSurgPrimSite": "99",
    "rxSummSurgPrimSite2023": "A990", "reasonForNoSurgery": "9", "rxSummRadiation": "9",
    "phase1RadiationTreatmentModality": "99", "reasonForNoRadiation": "9", "rxSummSurgRadSeq": "0",
    "rxSummChemo": "99", "rxSummHormone": "99", "rxSummBrm": "99", "rxSummTransplntEndocr": "99",
    "rxSummOther": "9", "rxSummSystemicSurSeq": "0", "primaryPayerAtDx": "99",
}
_SITE_SPECIFIC: dict[str, tuple[tuple[str, ...], str]] = {
    "estrogenReceptorSummary": (("C50",), "9"), "progesteroneRecepSummary": (("C50",), "9"),
    "her2OverallSummary": (("C50",), "9"), "csSiteSpecificFactor2": (("C50",), "999"),
    "csSiteSpecificFactor15": (("C50",), "999"), "csSiteSpecificFactor1": (("C50", "C61"), "999"),
    "psaLabValue": (("C61",), "XXX.9"), "gleasonScoreClinical": (("C61",), "X9"),
    "gleasonPatternsClinical": (("C61",), "X9"), "gleasonScorePathological": (("C61",), "X9"),
    "kras": (("C18", "C19", "C20"), "9"), "microsatelliteInstability": (("C18", "C19", "C20"), "9"),
    "ceaPretreatmentInterpretation": (("C18", "C19", "C20"), "9"), "egfrMutationalAnalysis": (("C34",), "9"),
    "alkRearrangement": (("C34",), "9"),
}


def death_certificate_only(coded: pd.DataFrame, diagnosis_date: pd.Series | np.ndarray | None = None) -> pd.DataFrame:
    """Recode tumors known only from a death certificate (type of reporting source 7).

    The site becomes the NOS code a death certificate gives (C509, C349...), the histology 8000 (leukemia
    9800, lymphoma 9590, myeloma 9732, melanoma 8720), confirmation 9; stage, size, nodes, grade,
    biomarkers and treatment become unknown, treatment dates blank. ``diagnosis_date`` (the date of death;
    a Series aligned on ``coded``'s index, or an array in row order) decides which year-dependent items are
    filled; without it each item keeps the place it had in ``coded``. Columns are those of ``coded`` (helper columns included when present).
    """
    out = coded.copy()
    if out.empty:
        return out
    site = out["primarySite"].astype(str).to_numpy().astype("<U4")
    hist = _as_int(out["histologicTypeIcdO3"].astype(str).to_numpy())
    p3 = site.astype("<U3")
    heme = (hist >= 9590) & (hist <= 9993)
    solid_site = ~heme & ~np.isin(hist, [9731, 9732, 9734])
    plasma = np.isin(hist, [9731, 9732, 9734])
    lymphoma = heme & ((hist <= 9729) | ((hist == 9823) & (p3 != "C42")))
    new_site = np.array([_DCO_SITE.get(p, s) for p, s in zip(p3, site, strict=True)])
    new_site = np.where(plasma | (heme & ~lymphoma), "C421", new_site)
    new_hist = np.select([plasma, lymphoma, heme, (hist >= 8720) & (hist <= 8790)], ["9732", "9590", "9800", "8720"],
                         "8000")
    out["primarySite"] = new_site.astype(object)
    out["histologicTypeIcdO3"] = new_hist.astype(object)
    out["behaviorCodeIcdO3"] = "3"
    out["laterality"] = np.where(np.isin(new_site, sorted(_ALL_PAIRED)), "9", "0").astype(object)
    out["diagnosticConfirmation"] = "9"
    out["typeOfReportingSource"] = "7"
    year = None
    if diagnosis_date is not None:
        dates = diagnosis_date.reindex(out.index) if isinstance(diagnosis_date, pd.Series) else \
            pd.Series(np.asarray(diagnosis_date), index=out.index)
        year = _years(pd.to_datetime(dates).to_numpy(dtype="datetime64[D]"))
    for item in ITEMS:
        if item not in out.columns:
            continue
        present = out[item].astype(str).to_numpy() != ""
        if year is None:
            in_years = present
        else:
            lo, hi = ITEM_YEARS[item]
            in_years = (year >= lo) & (year <= hi)
        if item in _SITE_SPECIFIC:
            prefixes, value = _SITE_SPECIFIC[item]
            applies = in_years & np.isin(p3, prefixes) & solid_site
            out[item] = np.where(applies, value, "").astype(object)
        elif item in _DCO_UNKNOWN:
            out[item] = np.where(in_years, _DCO_UNKNOWN[item], "").astype(object)
        elif item in DATE_ITEMS:
            out[item] = ""
        elif item == "schemaId":
            schema_year = year if year is not None else np.full(len(out), 2018)
            out[item] = np.where(in_years, _schema(_topography_number(new_site), _as_int(new_hist), schema_year),
                                 "").astype(object)
    if "_cancer_cod_icd10" in out.columns:
        out["_cancer_cod_icd10"] = _cause_of_death(_topography_number(new_site), _as_int(new_hist))
    for column in ("_treated", "_recurrence_eligible"):
        if column in out.columns:
            out[column] = False
    if "_first_rx_date" in out.columns:
        out["_first_rx_date"] = pd.NaT
    return out
