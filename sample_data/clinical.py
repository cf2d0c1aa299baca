"""Per-site clinical coding of synthetic tumors: what a registrar abstracts about each tumor.

``draw_clinical(tumors, rng)`` takes one row per tumor (``site_key``, ``sex``, ``age``, ``diagnosis_date``,
``stage_group``) and returns, with the same index, one text column per NAACCR tumor item (values as they
appear in a NAACCR file, ``''`` when the item is not reported for that tumor) plus helper columns whose
names start with ``_``. Every draw comes from the ``numpy.random.Generator`` passed in and is vectorised
(loops run over sites, variants, profiles and code tables, never over tumors): a million tumors take about
five seconds, and the same generator state always gives the same frame.

API: ``stage_codes_for(site_key)``, ``draw_clinical(tumors, rng)`` and ``death_certificate_only(coded,
diagnosis_date=None)``, which recodes tumors known only from a death certificate (source 7, NOS site and
histology, everything else unknown; pass the new diagnosis date so year-dependent items move with it). The
vocabulary is in ``sample_data.clinical_items``: ``SITE_KEYS`` (the 20 sites of ``site_facts.csv``),
``STAGE_GROUPS``, ``ITEMS`` and ``ITEM_YEARS`` (the items and the diagnosis years in which each is reported),
``CODES`` / ``CODE_PATTERNS`` (valid values).

Layout: the site model and treatment profiles are data (``sample_data/data/clinical_*.csv``, read by
``clinical_model``); the drawing steps below live in ``clinical_tumor`` (steps 1-3, 5),
``clinical_reporting`` (4, 12), ``clinical_treatment`` (6-7) and ``clinical_staging`` (8-11), working on the
arrays of ``clinical_context`` with the helpers of ``clinical_arrays`` and the derived codes of
``clinical_codes``; this module runs them in order and assembles the frame.

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

import numpy as np
import pandas as pd

from sample_data.clinical_arrays import (
    FOUR_DIGITS,
    NO_DATE,
    PSA_TEXT,
    SITE_TEXT,
    as_int,
    date_text,
    numbers_text,
    to_object,
    topography_number,
    years_of,
)
from sample_data.clinical_codes import cause_of_death, schema_id
from sample_data.clinical_context import ALL_PAIRED, CodingContext
from sample_data.clinical_items import DATE_ITEMS, ITEM_YEARS, ITEMS, REG, SITE_KEYS, STAGE_GROUPS
from sample_data.clinical_model import SITES
from sample_data.clinical_reporting import draw_payer, draw_source
from sample_data.clinical_staging import (
    draw_confirmation,
    draw_grade,
    draw_prostate_pathology,
    draw_stage_size_nodes,
)
from sample_data.clinical_treatment import draw_treatment
from sample_data.clinical_tumor import draw_laterality, draw_markers, draw_tumor


def _assemble(c: CodingContext, index: pd.Index) -> pd.DataFrame:
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
    vocabulary = {"primarySite": (SITE_TEXT, c.topo_i), "histologicTypeIcdO3": (FOUR_DIGITS, c.hist_i),
                  "psaLabValue": (PSA_TEXT, psa_index)}
    out["schemaId"] = c.schema
    frame: dict[str, np.ndarray] = {}
    for item in ITEMS:
        lo, hi = ITEM_YEARS[item]
        in_years = (c.year >= lo) & (c.year <= hi)
        if item in vocabulary:
            texts, values = vocabulary[item]
            frame[item] = np.where(in_years, texts[values], "") if lo > 0 or hi < 9999 else texts[values]
        elif item == "csSiteSpecificFactor1":
            prostate_ssf = numbers_text(np.where(prostate & in_years, psa, -1), 3)
            frame[item] = np.where(breast & in_years, to_object(out[item]), prostate_ssf)
        elif item in c.dates:
            frame[item] = date_text(np.where(in_years, c.dates[item], NO_DATE))
        elif item in numbers:
            values, digits = numbers[item]
            frame[item] = numbers_text(np.where(in_years, values, -1), digits)
        else:
            values = out[item]
            if lo > 0 or hi < 9999:
                values = np.where(in_years, values, "")
            frame[item] = to_object(values)
    frame["_cancer_cod_icd10"] = cause_of_death(c.topo_i, c.hist_i)
    result = pd.DataFrame(frame, index=index, copy=False)
    curative = c.surgery | c.radiation | (c.heme & c.chemo)
    result["_recurrence_eligible"] = (c.stage <= REG) & curative & ~c.is_site("leukemia")
    result["_treated"] = c.treated
    result["_first_rx_date"] = pd.to_datetime(np.where(c.first_rx == NO_DATE, np.datetime64("NaT"),
                                                       c.first_rx.astype("datetime64[D]")))
    return result


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
    c = CodingContext(rng, site, tumors["sex"].to_numpy(dtype=np.int64), tumors["age"].to_numpy(dtype=np.int64),
                 dx, stage)
    draw_tumor(c)
    draw_laterality(c)
    draw_source(c)
    draw_markers(c)
    draw_treatment(c)
    draw_confirmation(c)
    draw_prostate_pathology(c)
    draw_grade(c)
    draw_stage_size_nodes(c)
    draw_payer(c)
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
    hist = as_int(out["histologicTypeIcdO3"].astype(str).to_numpy())
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
    out["laterality"] = np.where(np.isin(new_site, sorted(ALL_PAIRED)), "9", "0").astype(object)
    out["diagnosticConfirmation"] = "9"
    out["typeOfReportingSource"] = "7"
    year = None
    if diagnosis_date is not None:
        dates = diagnosis_date.reindex(out.index) if isinstance(diagnosis_date, pd.Series) else \
            pd.Series(np.asarray(diagnosis_date), index=out.index)
        year = years_of(pd.to_datetime(dates).to_numpy(dtype="datetime64[D]"))
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
            out[item] = np.where(in_years, schema_id(topography_number(new_site), as_int(new_hist), schema_year),
                                 "").astype(object)
    if "_cancer_cod_icd10" in out.columns:
        out["_cancer_cod_icd10"] = cause_of_death(topography_number(new_site), as_int(new_hist))
    for column in ("_treated", "_recurrence_eligible"):
        if column in out.columns:
            out[column] = False
    if "_first_rx_date" in out.columns:
        out["_first_rx_date"] = pd.NaT
    return out

