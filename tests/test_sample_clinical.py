"""The per-site clinical coding model of the synthetic registry (``sample_data.clinical``).

One synthetic input of 20,000 tumors covers every site, stage group and diagnosis year 2010-2024; the
coded items are checked against the NAACCR dictionaries, the module's code lists, the typed core's
treatment patterns and a few epidemiological expectations written here independently of the model.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from pipelines.typed_core import TREATMENTS
from registry.naaccr import base_dictionary
from sample_data import clinical, clinical_items, clinical_model

N_TUMORS = 20_000
SEED = 20240611
FEMALE_SITES = {"breast", "corpus_uterus", "ovary", "cervix"}
# Sites where an in situ tumor is reportable, so stage group in_situ gives behavior 2.
IN_SITU_SITES = {"breast", "lung_bronchus", "colon_rectum", "melanoma_skin", "urinary_bladder",
                 "kidney_renal_pelvis", "corpus_uterus", "pancreas", "oral_cavity_pharynx", "stomach",
                 "esophagus"}
PAIRED_ORGANS = ("C50", "C34", "C64", "C65", "C56")
NOT_PAIRED = ("C18", "C19", "C20", "C61", "C67", "C25", "C73", "C16", "C15", "C53", "C54", "C55", "C42")


def _tumors(n: int, seed: int) -> pd.DataFrame:
    """Tumors of every site with plausible sex and age, every stage group and years 2010-2024."""
    rng = np.random.default_rng(seed)
    site = rng.choice(np.array(clinical_items.SITE_KEYS), n)
    sex = np.where(site == "prostate", 1, np.where(np.isin(site, list(FEMALE_SITES)), 2, rng.integers(1, 3, n)))
    sex = np.where((site == "breast") & (rng.random(n) < 0.02), 1, sex)
    age = np.clip(rng.normal(66, 13, n).round(), 20, 99).astype(int)
    young = np.isin(site, ["leukemia", "brain_ons", "kidney_renal_pelvis", "liver_ihbd"]) & (rng.random(n) < 0.15)
    age = np.where(young, rng.integers(0, 20, n), age)
    year = rng.integers(2010, 2025, n)
    diagnosis = pd.to_datetime(pd.DataFrame({"year": year, "month": rng.integers(1, 13, n),
                                             "day": rng.integers(1, 29, n)})).to_numpy()
    stage = rng.choice(np.array(clinical_items.STAGE_GROUPS), n, p=[0.08, 0.45, 0.25, 0.15, 0.07])
    stage = np.where(site == "leukemia", "unknown", stage)
    return pd.DataFrame({"site_key": site, "sex": sex, "age": age, "diagnosis_date": diagnosis, "stage_group": stage},
                        index=pd.RangeIndex(1000, 1000 + n))


@pytest.fixture(scope="module")
def tumors() -> pd.DataFrame:
    return _tumors(N_TUMORS, seed=7)


@pytest.fixture(scope="module")
def coded(tumors: pd.DataFrame) -> pd.DataFrame:
    return clinical.draw_clinical(tumors, np.random.default_rng(SEED))


@pytest.fixture(scope="module")
def both(tumors: pd.DataFrame, coded: pd.DataFrame) -> pd.DataFrame:
    frame = pd.concat([tumors, coded], axis=1)
    frame["year"] = frame["diagnosis_date"].dt.year
    frame["dx"] = frame["diagnosis_date"].dt.strftime("%Y%m%d")
    return frame


def _items(coded: pd.DataFrame) -> list[str]:
    return [column for column in coded.columns if not column.startswith("_")]


def test_shape_index_and_columns(tumors: pd.DataFrame, coded: pd.DataFrame) -> None:
    assert coded.index.equals(tumors.index)
    assert list(coded.columns) == [*clinical_items.ITEMS, *clinical_items.HELPER_COLUMNS]
    assert 40 <= len(_items(coded)) <= 70
    for item in _items(coded):
        assert all(isinstance(value, str) for value in coded[item]), item
    assert coded["_recurrence_eligible"].dtype == bool and coded["_treated"].dtype == bool
    assert pd.api.types.is_datetime64_any_dtype(coded["_first_rx_date"])


@pytest.mark.parametrize("version", ["250", "260"])
def test_items_exist_at_tumor_level_and_fit(coded: pd.DataFrame, version: str) -> None:
    dictionary = base_dictionary(version)
    patterns = {"digits": r"[0-9]+", "mixed": r"[A-Z0-9]+", "numeric": r"[0-9]+(\.[0-9]+)?",
                "date": r"(19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])"}
    for item in _items(coded):
        definition = dictionary.items.get(item)
        assert definition is not None, f"{item} not in the v{version} dictionary"
        assert definition.level == "Tumor", item
        values = coded[item][coded[item] != ""]
        assert values.str.len().max() <= definition.length, item
        pattern = patterns.get(definition.data_type)
        if pattern:
            assert values.str.fullmatch(pattern).all(), (item, sorted(set(values))[:10])
        if definition.data_type in ("digits", "mixed"):
            assert (values.str.len() == definition.length).all(), item


def test_codes_are_valid(coded: pd.DataFrame) -> None:
    for item, codes in clinical_items.CODES.items():
        seen = set(coded[item]) - {""}
        assert seen <= codes, (item, sorted(seen - codes))
        assert seen, f"{item} never filled"
    for item, pattern in clinical_items.CODE_PATTERNS.items():
        values = coded[item][coded[item] != ""]
        assert values.str.match(pattern).all(), (item, sorted(set(values[~values.str.match(pattern)]))[:10])


# Topography prefixes and histology ranges each site may carry (ICD-O-3); 8000 (neoplasm, malignant, NOS)
# is allowed everywhere except the hematopoietic sites, for tumors never seen under the microscope.
SITE_TOPOGRAPHY = {
    "breast": ("C50",), "prostate": ("C619",), "lung_bronchus": ("C34",), "colon_rectum": ("C18", "C199", "C209"),
    "melanoma_skin": ("C44",), "urinary_bladder": ("C67",), "kidney_renal_pelvis": ("C649", "C659"),
    "corpus_uterus": ("C54", "C559"), "leukemia": ("C421",), "pancreas": ("C25",), "thyroid": ("C739",),
    "liver_ihbd": ("C220", "C221"), "oral_cavity_pharynx": tuple(f"C{i:02d}" for i in range(15)),
    "stomach": ("C16",), "ovary": ("C569",), "brain_ons": ("C71",), "myeloma": ("C421", "C41", "C30", "C31", "C32", "C11"),
    "esophagus": ("C15",), "cervix": ("C53",),
}
SITE_HISTOLOGY = {
    "breast": [(8500, 8543), (8480, 8480), (8200, 8211), (8140, 8140), (8575, 8575)],
    "prostate": [(8140, 8140), (8500, 8500), (8041, 8041)],
    "lung_bronchus": [(8010, 8084), (8140, 8140), (8240, 8250), (8480, 8480), (8560, 8560)],
    "colon_rectum": [(8010, 8010), (8140, 8140), (8210, 8263), (8480, 8490)],
    "melanoma_skin": [(8720, 8790)],
    "urinary_bladder": [(8041, 8041), (8070, 8070), (8120, 8131), (8140, 8140)],
    "kidney_renal_pelvis": [(8010, 8010), (8070, 8070), (8120, 8130), (8260, 8260), (8310, 8319), (8960, 8960)],
    "corpus_uterus": [(8020, 8020), (8140, 8140), (8310, 8323), (8380, 8380), (8441, 8441), (8890, 8980)],
    "leukemia": [(9800, 9948)], "myeloma": [(9731, 9734)], "nhl": [(9590, 9729), (9823, 9823)],
    "pancreas": [(8010, 8020), (8140, 8148), (8240, 8249), (8453, 8500), (8560, 8560)],
    "thyroid": [(8020, 8020), (8260, 8345), (8510, 8510)],
    "liver_ihbd": [(8160, 8180), (8970, 8970)],
    "oral_cavity_pharynx": [(8051, 8086), (8140, 8140), (8200, 8200), (8430, 8430), (8550, 8550), (8941, 8941)],
    "stomach": [(8010, 8010), (8140, 8145), (8211, 8211), (8480, 8490), (8936, 8936)],
    "ovary": [(8010, 8010), (8140, 8140), (8310, 8323), (8380, 8380), (8441, 8480), (8980, 8980)],
    "brain_ons": [(9380, 9508)],
    "esophagus": [(8010, 8010), (8070, 8083), (8140, 8140), (8480, 8490)],
    "cervix": [(8010, 8010), (8041, 8041), (8070, 8072), (8140, 8140), (8310, 8310), (8380, 8380), (8560, 8560)],
}
HEME_SITES = {"leukemia", "myeloma", "nhl"}


def test_site_and_histology_are_plausible(both: pd.DataFrame) -> None:
    for key, frame in both.groupby("site_key"):
        site = str(key)
        if site in SITE_TOPOGRAPHY:
            assert frame["primarySite"].str.startswith(SITE_TOPOGRAPHY[site]).all(), site
        histology = frame["histologicTypeIcdO3"].astype(int)
        allowed = np.zeros(len(frame), dtype=bool)
        for low, high in SITE_HISTOLOGY[site]:
            allowed |= (histology >= low) & (histology <= high)
        if site not in HEME_SITES:
            allowed |= histology == 8000
        assert allowed.all(), (site, sorted(set(histology[~allowed])))
    assert not both.loc[both["site_key"] == "breast", "histologicTypeIcdO3"].isin(["9732", "8720"]).any()
    assert (both.loc[both["site_key"] == "prostate", "sex"] == 1).all()
    # the usual type dominates
    assert (both.loc[both["site_key"] == "prostate", "histologicTypeIcdO3"] == "8140").mean() > 0.9
    assert (both.loc[both["site_key"] == "breast", "primarySite"] == "C504").mean() > 0.25


def test_behavior_is_2_exactly_for_reportable_in_situ(both: pd.DataFrame) -> None:
    in_situ = both["stage_group"] == "in_situ"
    reportable = both["site_key"].isin(IN_SITU_SITES)
    assert ((both["behaviorCodeIcdO3"] == "2") == (in_situ & reportable)).all()
    assert set(both["behaviorCodeIcdO3"]) == {"2", "3"}
    other = both[in_situ & ~reportable & both["site_key"].ne("leukemia")]
    assert len(other) > 0
    code = other["summaryStage2018"].where(other["year"] >= 2018, other["seerSummaryStage2000"])
    assert code.isin(["1"]).all()


def test_year_dependent_items_only_in_their_years(both: pd.DataFrame) -> None:
    for item, (first, last) in clinical_items.ITEM_YEARS.items():
        outside = (both["year"] < first) | (both["year"] > last)
        assert (both.loc[outside, item] == "").all(), item
    rules = {  # items every tumor carries within their years
        "grade": (2010, 2017), "gradeClinical": (2018, 2024), "gradePathological": (2018, 2024),
        "summaryStage2018": (2018, 2024), "derivedSummaryStage2018": (2018, 2024),
        "seerSummaryStage2000": (2010, 2017), "derivedSs2000": (2010, 2015), "schemaId": (2018, 2024),
        "csTumorSize": (2010, 2015), "tumorSizeSummary": (2016, 2024), "rxSummSurgPrimSite": (2010, 2022),
        "rxSummSurgPrimSite2023": (2023, 2024), "rxSummRadiation": (2010, 2017),
        "phase1RadiationTreatmentModality": (2018, 2024),
    }
    for item, (first, last) in rules.items():
        inside = both["year"].between(first, last)
        assert (both.loc[inside, item] != "").all(), item
    assert (both.loc[both["year"] >= 2018, "schemaId"] != "99999").all()
    assert (both.loc[both["year"] < 2021, "egfrMutationalAnalysis"] == "").all()


def test_stage_codes_agree_with_stage_group(both: pd.DataFrame) -> None:
    for site, frame in both.groupby("site_key"):
        allowed = clinical.stage_codes_for(str(site))
        for group, rows in frame.groupby("stage_group"):
            recent = rows[rows["year"] >= 2018]
            older = rows[rows["year"] < 2018]
            assert recent["summaryStage2018"].isin(allowed[str(group)]).all(), (site, group)
            assert older["seerSummaryStage2000"].isin(allowed[str(group)]).all(), (site, group)
    assert (both["summaryStage2018"] == both["derivedSummaryStage2018"]).all()
    cs_years = both["year"] <= 2015
    assert (both.loc[cs_years, "derivedSs2000"] == both.loc[cs_years, "seerSummaryStage2000"]).all()
    groups = {"0": "in_situ", "1": "localized", "2": "regional", "3": "regional", "4": "regional", "5": "regional",
              "7": "distant", "9": "unknown"}
    solid = ~both["site_key"].isin(["leukemia", "myeloma"]) & ~(
        (both["stage_group"] == "in_situ") & ~both["site_key"].isin(IN_SITU_SITES))
    code = both["summaryStage2018"].where(both["year"] >= 2018, both["seerSummaryStage2000"])
    assert (code[solid].map(groups) == both.loc[solid, "stage_group"]).all()
    assert (code[both["site_key"] == "leukemia"] == "7").all()      # leukemia: systemic disease


def test_breast_receptors(both: pd.DataFrame) -> None:
    breast = both[(both["site_key"] == "breast") & (both["behaviorCodeIcdO3"] == "3") & (both["year"] >= 2018)]
    assert len(breast) > 300
    er = breast["estrogenReceptorSummary"]
    assert 0.70 <= (er == "1").mean() <= 0.88
    assert 0.58 <= (breast["progesteroneRecepSummary"] == "1").mean() <= 0.80
    assert 0.08 <= (breast["her2OverallSummary"] == "1").mean() <= 0.20
    assert (er == "9").mean() < 0.10
    negative = breast[er == "0"]
    assert (negative["progesteroneRecepSummary"] == "1").mean() < 0.15
    assert (negative["her2OverallSummary"] == "1").mean() > (breast.loc[er == "1", "her2OverallSummary"] == "1").mean()
    other = both[both["site_key"] != "breast"]
    for item in ("estrogenReceptorSummary", "progesteroneRecepSummary", "her2OverallSummary", "csSiteSpecificFactor2",
                 "csSiteSpecificFactor15"):
        assert (other[item] == "").all(), item
    older = both[(both["site_key"] == "breast") & (both["behaviorCodeIcdO3"] == "3") & both["year"].between(2010, 2017)]
    assert 0.65 <= (older["csSiteSpecificFactor1"] == "010").mean() <= 0.88


def test_prostate_items(both: pd.DataFrame) -> None:
    prostate = both[(both["site_key"] == "prostate") & (both["year"] >= 2018)]
    psa = prostate["psaLabValue"]
    assert psa.str.fullmatch(r"[0-9]{1,3}\.[0-9]|XXX\.[19]").all()
    values = psa[~psa.str.startswith("X")].astype(float)
    assert 4.0 <= values.median() <= 15.0
    biopsy = prostate[~prostate["gleasonPatternsClinical"].str.startswith("X")]
    patterns = biopsy["gleasonPatternsClinical"]
    score = patterns.str[0].astype(int) + patterns.str[1].astype(int)
    assert (biopsy["gleasonScoreClinical"].astype(int) == score).all()
    group = np.select([score <= 6, patterns == "34", patterns == "43", score == 8], ["1", "2", "3", "4"], "5")
    known = biopsy["gradeClinical"] != "9"
    assert (biopsy.loc[known, "gradeClinical"] == pd.Series(group, index=biopsy.index)[known]).all()
    no_prostatectomy = prostate["rxSummSurgPrimSite"].ne("50") & prostate["rxSummSurgPrimSite2023"].ne("A500")
    assert prostate.loc[no_prostatectomy, "gleasonScorePathological"].isin(["X7", "X9"]).all()
    others = both[both["site_key"] != "prostate"]
    for item in ("psaLabValue", "gleasonScoreClinical", "gleasonPatternsClinical", "gleasonScorePathological"):
        assert (others[item] == "").all(), item


def test_other_site_specific_items(both: pd.DataFrame) -> None:
    colorectal = both[(both["site_key"] == "colon_rectum") & (both["behaviorCodeIcdO3"] == "3") & (both["year"] >= 2018)]
    assert colorectal["kras"].isin(["0", "1", "9"]).all() and colorectal["microsatelliteInstability"].isin(["0", "2", "9"]).all()
    tested = colorectal["microsatelliteInstability"] != "9"
    assert 0.03 <= (colorectal.loc[tested, "microsatelliteInstability"] == "2").mean() <= 0.25
    lung = both[(both["site_key"] == "lung_bronchus") & (both["behaviorCodeIcdO3"] == "3") & (both["year"] >= 2021)]
    assert lung["egfrMutationalAnalysis"].isin(["0", "1", "9"]).all()
    for item, site in (("kras", "colon_rectum"), ("egfrMutationalAnalysis", "lung_bronchus"),
                       ("alkRearrangement", "lung_bronchus")):
        assert (both.loc[both["site_key"] != site, item] == "").all(), item


def _code(frame: pd.DataFrame, items: tuple[str, ...]) -> pd.Series:
    code = frame[items[0]]
    for item in items[1:]:
        code = code.where(code != "", frame[item])
    return code


UNKNOWN_CODES = {"99", "9", "A990"}


def test_treatment_codes_follow_typed_core(both: pd.DataFrame) -> None:
    for modality, items, date_item, given_pattern, not_given_pattern in TREATMENTS:
        code = _code(both, items)
        assert (code != "").all(), modality
        given = code.str.fullmatch(given_pattern)
        not_given = code.str.fullmatch(not_given_pattern)
        unknown = code.isin(UNKNOWN_CODES)
        assert (given | not_given | unknown).all(), (modality, sorted(set(code[~(given | not_given | unknown)])))
        assert given.mean() > 0 and not_given.mean() > 0, modality
        dates = both[date_item]
        assert (dates[given] != "").all(), modality
        if date_item != "rxDateSystemic":           # systemic date also belongs to chemo/hormone/BRM
            assert (dates[~given] == "").all(), modality


def test_treatment_dates_after_diagnosis_and_ordered(both: pd.DataFrame) -> None:
    for item in clinical_items.DATE_ITEMS:
        filled = both[item] != ""
        assert (both.loc[filled, item] >= both.loc[filled, "dx"]).all(), item
    surgery = both["rxDateSurgery"] != ""
    assert (both.loc[surgery, "rxDateMostDefinSurg"] >= both.loc[surgery, "rxDateSurgery"]).all()
    delay = (pd.to_datetime(both.loc[surgery, "rxDateSurgery"]) - both.loc[surgery, "diagnosis_date"]).dt.days
    assert 10 <= delay.median() <= 45 and delay.max() < 400
    systemic = both[["rxDateChemo", "rxDateHormone", "rxDateBrm"]].replace("", "99999999").min(axis=1)
    has_systemic = systemic != "99999999"
    assert (both.loc[has_systemic, "rxDateSystemic"] <= systemic[has_systemic]).all()
    first = both[["rxDateSurgery", "rxDateRadiation", "rxDateChemo", "rxDateHormone", "rxDateBrm", "rxDateSystemic",
                  "rxDateOther"]].replace("", "99999999").min(axis=1)
    treated = first != "99999999"
    assert (both.loc[treated, "dateInitialRxSeer"] == first[treated]).all()
    assert (both.loc[~treated, "dateInitialRxSeer"] == "").all()
    assert (both["_treated"] == treated).all()
    both_given = surgery & (both["rxDateRadiation"] != "")
    sequence = both.loc[both_given, "rxSummSurgRadSeq"]
    before = both.loc[both_given, "rxDateRadiation"] < both.loc[both_given, "rxDateSurgery"]
    assert (sequence[before] == "2").all() and (sequence[~before] == "3").all()
    assert (both.loc[~both_given, "rxSummSurgRadSeq"] == "0").all()


def test_treatment_is_realistic_by_site_and_stage(both: pd.DataFrame) -> None:
    def share(site: str, stage: str, modality: str, years: tuple[int, int] = (2010, 2024)) -> float:
        entry = next(t for t in TREATMENTS if t[0] == modality)
        rows = both[(both["site_key"] == site) & (both["stage_group"] == stage) & both["year"].between(*years)]
        return float(_code(rows, entry[1]).str.fullmatch(entry[3]).mean())

    assert share("breast", "localized", "surgery") > 0.8
    assert share("breast", "localized", "hormone") > 0.5
    assert share("pancreas", "distant", "surgery") < 0.1
    assert share("pancreas", "distant", "chemotherapy") > 0.3
    assert share("colon_rectum", "regional", "chemotherapy") > share("colon_rectum", "localized", "chemotherapy") + 0.3
    assert share("lung_bronchus", "distant", "immunotherapy", (2019, 2024)) > \
        share("lung_bronchus", "distant", "immunotherapy", (2010, 2014)) + 0.15
    assert share("prostate", "distant", "hormone") > 0.6
    leukemia = both[both["site_key"] == "leukemia"]
    assert _code(leukemia, ("rxSummSurgPrimSite2023", "rxSummSurgPrimSite")).isin(["98", "A000", "99", "A990"]).all()
    prostate = both[(both["site_key"] == "prostate") & (both["stage_group"] == "localized")]
    assert (prostate["rxSummTreatmentStatus"] == "2").mean() > 0.05      # active surveillance
    myeloma = both[(both["site_key"] == "myeloma") & (both["stage_group"] == "distant")]
    assert (myeloma["rxSummTransplntEndocr"].isin(["10", "11", "12", "20"])).mean() > 0.05


def test_hematopoietic_and_unpaired_conventions(both: pd.DataFrame) -> None:
    heme = both[both["site_key"].isin(HEME_SITES)]
    assert (heme["regionalNodesExamined"] == "99").all() and (heme["regionalNodesPositive"] == "99").all()
    assert (heme.loc[heme["year"] >= 2016, "tumorSizeSummary"] == "999").all()
    assert (heme.loc[heme["year"] <= 2015, "csTumorSize"] == "988").all()
    assert (heme.loc[heme["year"] >= 2018, "gradeClinical"] == "8").all()
    assert heme["diagnosticConfirmation"].isin(["1", "2", "3", "4", "5", "8", "9"]).all()
    assert (heme["diagnosticConfirmation"] == "3").mean() > 0.4
    paired = both["primarySite"].str.startswith(PAIRED_ORGANS)
    assert both.loc[paired, "laterality"].isin(["1", "2", "3", "4", "9"]).all()
    assert both.loc[paired, "laterality"].isin(["1", "2"]).mean() > 0.9
    assert (both.loc[both["primarySite"].str.startswith(NOT_PAIRED), "laterality"] == "0").all()
    assert (both.loc[both["primarySite"] == "C342", "laterality"] == "1").all()


def test_nodes_and_size(both: pd.DataFrame) -> None:
    examined = both["regionalNodesExamined"]
    positive = both["regionalNodesPositive"]
    counted = examined.str.fullmatch(r"[0-8][0-9]|90") & positive.str.fullmatch(r"[0-8][0-9]|90")
    assert (positive[counted].astype(int) <= examined[counted].astype(int)).all()
    assert ((examined == "00") == (positive == "98")).all()
    localized = both["stage_group"].eq("localized") & counted
    assert (positive[localized] == "00").all()
    colon = both[(both["site_key"] == "colon_rectum") & counted & (examined != "00")]
    assert 10 <= colon["regionalNodesExamined"].astype(int).median() <= 25
    size = both.loc[(both["site_key"] == "breast") & (both["year"] >= 2016), "tumorSizeSummary"]
    measured = size[size.str.fullmatch(r"[0-9]{3}") & ~size.isin(["989", "990", "999"])].astype(int)
    assert 10 <= measured.median() <= 30


def test_cause_of_death_helper(both: pd.DataFrame) -> None:
    cod = both["_cancer_cod_icd10"]
    assert cod.str.fullmatch(r"C[0-9]{3}").all()
    breast = both["site_key"] == "breast"
    assert (cod[breast] == both.loc[breast, "primarySite"]).all()
    melanoma = both["site_key"] == "melanoma_skin"
    assert cod[melanoma].str.startswith("C43").all()
    assert cod[both["site_key"] == "leukemia"].str[:3].isin(["C91", "C92", "C93", "C95"]).all()
    assert (cod[both["site_key"] == "prostate"] == "C619").all()
    eligible = both["_recurrence_eligible"]
    assert both.loc[eligible, "stage_group"].isin(["in_situ", "localized", "regional"]).all()
    assert eligible.mean() > 0.3


def test_same_seed_same_frame(tumors: pd.DataFrame, coded: pd.DataFrame) -> None:
    again = clinical.draw_clinical(tumors, np.random.default_rng(SEED))
    pd.testing.assert_frame_equal(coded, again)
    other = clinical.draw_clinical(tumors, np.random.default_rng(SEED + 1))
    assert not other["primarySite"].equals(coded["primarySite"])


def test_schema_follows_year_rules() -> None:
    dates = pd.to_datetime(["2020-06-01", "2021-06-01", "2024-06-01", "2025-06-01"])
    frame = pd.DataFrame({"site_key": ["cervix", "cervix", "lung_bronchus", "lung_bronchus"], "sex": [2, 2, 1, 1],
                          "age": [50, 50, 70, 70], "diagnosis_date": dates, "stage_group": ["regional"] * 4})
    schema = clinical.draw_clinical(frame, np.random.default_rng(1))["schemaId"].tolist()
    assert schema == ["00520", "09520", "00360", "09360"]


def test_death_certificate_only(both: pd.DataFrame, coded: pd.DataFrame) -> None:
    chosen = coded.sample(400, random_state=3)
    death = both.loc[chosen.index, "diagnosis_date"] + pd.to_timedelta(900, unit="D")
    dco = clinical.death_certificate_only(chosen, death)
    assert list(dco.columns) == list(coded.columns) and dco.index.equals(chosen.index)
    assert (dco["typeOfReportingSource"] == "7").all() and (dco["diagnosticConfirmation"] == "9").all()
    for item in clinical_items.DATE_ITEMS:
        assert (dco[item] == "").all(), item
    year = death.dt.year
    for item, (first, last) in clinical_items.ITEM_YEARS.items():
        assert (dco.loc[(year < first) | (year > last), item] == "").all(), item
    recent = year >= 2018
    assert (dco.loc[recent, "summaryStage2018"] == "9").all()
    assert (dco.loc[~recent, "seerSummaryStage2000"] == "9").all()
    assert _code(dco, ("rxSummSurgPrimSite2023", "rxSummSurgPrimSite")).isin(UNKNOWN_CODES).all()
    assert (dco["rxSummChemo"] == "99").all()
    assert not dco["_treated"].any() and not dco["_recurrence_eligible"].any()
    pd.testing.assert_frame_equal(dco, clinical.death_certificate_only(chosen, death.to_numpy()))
    without_date = clinical.death_certificate_only(chosen)
    for item in clinical_items.ITEMS:
        assert ((without_date[item] == "") == (chosen[item] == "")).all() or item in clinical_items.DATE_ITEMS or \
            item.startswith("gradePost"), item


def test_rejects_unknown_inputs(tumors: pd.DataFrame) -> None:
    bad = tumors.head(3).assign(site_key=["breast", "appendix", "lung_bronchus"])
    with pytest.raises(ValueError, match="appendix"):
        clinical.draw_clinical(bad, np.random.default_rng(0))
    with pytest.raises(ValueError, match="stage"):
        clinical.draw_clinical(tumors.head(2).assign(stage_group="early"), np.random.default_rng(0))
    with pytest.raises(ValueError, match="diagnosis_date"):
        unknown_date = pd.Series(np.array(["NaT", "NaT"], dtype="datetime64[ns]"), index=tumors.index[:2])
        clinical.draw_clinical(tumors.head(2).assign(diagnosis_date=unknown_date), np.random.default_rng(0))


def test_empty_input() -> None:
    empty = _tumors(5, seed=1).iloc[:0]
    coded = clinical.draw_clinical(empty, np.random.default_rng(0))
    assert coded.empty and list(coded.columns) == [*clinical_items.ITEMS, *clinical_items.HELPER_COLUMNS]


def test_stage_codes_helper() -> None:
    assert clinical.stage_codes_for("breast")["in_situ"] == ("0",)
    assert clinical.stage_codes_for("prostate")["in_situ"] == ("1",)
    assert clinical.stage_codes_for("leukemia")["unknown"] == ("7",)
    assert set(clinical_items.SITE_KEYS) == {key for key in clinical_model.SITES}
    assert all(re.fullmatch(r"[a-z_]+", key) for key in clinical_items.SITE_KEYS)
