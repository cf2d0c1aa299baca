"""The coding edits' predicates on hand-written records from the NAACCR/SEER rules: each edit passes what the
rule allows, fails what it forbids, and leaves blanks to the required-item edits."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from registry.edits import edit_definitions
from registry.edits.definitions import EDIT_SETS, code_lists, morphology_behaviors, site_histology_rules
from registry.edits.predicates import PREDICATES, EditFrame, evaluate

TODAY = date(2026, 12, 7)
EDITS = {edit.id: edit for edit in edit_definitions()}


def fails(edit_id: str, **items: str) -> bool:
    """Whether the one record made of `items` fails the edit."""
    frame = EditFrame(pd.DataFrame([{"record_id": 1, **items}]), today=TODAY)
    return bool(evaluate(frame, EDITS[edit_id])[0][0])


def test_every_definition_names_a_predicate_a_set_a_severity_and_its_items() -> None:
    for edit in edit_definitions():
        assert edit.predicate in PREDICATES or edit.predicate == "inter_record", edit.id
        assert set(edit.sets) <= set(EDIT_SETS) and edit.severity in ("error", "warning"), edit.id
        assert edit.items and edit.message and edit.source, edit.id
        assert edit.override == "" or edit.override.startswith("overRide"), edit.id
    assert len(EDITS) == len(edit_definitions())


def test_code_lists_come_from_the_naaccr_lookups() -> None:
    lists = code_lists()
    assert "C509" in lists["primarySite"] and "C129" in lists["primarySite"] and "C123" not in lists["primarySite"]
    assert lists["behaviorCodeIcdO3"] == {"0", "1", "2", "3"}
    assert lists["sexAssignedAtBirth"] == {"1", "2", "9"}
    assert morphology_behaviors()["8500"] >= {"2", "3"} and "8888" not in morphology_behaviors()
    assert any(rule.name == "hepatocellular carcinoma" for rule in site_histology_rules())


@pytest.mark.parametrize(("edit_id", "item", "good", "bad"), [
    ("code-primary-site", "primarySite", "C509", "C999"),
    ("code-primary-site", "primarySite", "C129", "C123"),
    ("code-histology", "histologicTypeIcdO3", "8500", "8888"),
    ("code-behavior", "behaviorCodeIcdO3", "3", "6"),
    ("code-laterality", "laterality", "9", "7"),
    ("code-race1", "race1", "01", "55"),
    ("code-race1", "race1", "99", "88"),
    ("code-race2", "race2", "88", "55"),
    ("code-payer", "primaryPayerAtDx", "31", "33"),
    ("code-confirmation", "diagnosticConfirmation", "1", "0"),
    ("code-reporting-source", "typeOfReportingSource", "7", "9"),
    ("code-summary-stage-2018", "summaryStage2018", "7", "5"),
    ("code-summary-stage-2000", "seerSummaryStage2000", "5", "6"),
    ("code-grade", "grade", "9", "0"),
    ("code-grade-clinical", "gradeClinical", "A", "Z"),
    ("code-sex", "sex", "6", "7"),
    ("code-sex-at-birth", "sexAssignedAtBirth", "9", "3"),
    ("code-vital-status", "vitalStatus", "0", "2"),
])
def test_a_code_outside_its_list_fails_and_a_blank_passes(edit_id: str, item: str, good: str, bad: str) -> None:
    assert not fails(edit_id, **{item: good})
    assert fails(edit_id, **{item: bad})
    assert not fails(edit_id, **{item: ""})


def test_county_is_a_county_of_the_state_or_unknown() -> None:
    assert not fails("code-county", countyAtDx="173", addrAtDxState="KS")
    assert not fails("code-county", countyAtDx="999", addrAtDxState="KS")
    assert not fails("code-county", countyAtDx="998", addrAtDxState="XX")
    assert fails("code-county", countyAtDx="400", addrAtDxState="KS")    # Kansas has no county 400
    assert fails("code-county", countyAtDx="17", addrAtDxState="KS")
    assert not fails("code-county", countyAtDx="123", addrAtDxState="ZZ")  # not a US state: three digits


def test_postal_code_five_or_nine_digits() -> None:
    for good in ("67202", "672021234", "99999", "888888888", "999999999"):
        assert not fails("code-postal-code", addrAtDxPostalCode=good)
    for bad in ("6720", "6720212", "67A02"):
        assert fails("code-postal-code", addrAtDxPostalCode=bad)
    assert not fails("code-postal-code", addrAtDxPostalCode="K1A0B1", addrAtDxCountry="CAN")


def test_dates_are_real_calendar_dates_at_any_precision() -> None:
    for good in ("20200229", "2019", "201912", ""):
        assert not fails("date-diagnosis", dateOfDiagnosis=good)
    for bad in ("20190229", "20190431", "201913", "2019061", "19X0", "17991231"):
        assert fails("date-diagnosis", dateOfDiagnosis=bad)
    assert fails("date-treatment", rxDateChemo="20191301")


def test_a_blank_date_needs_its_flag_and_a_known_date_none_until_v25_retired_the_flags() -> None:
    assert fails("flag-birth", dateOfBirth="", naaccrVersion="180")
    assert not fails("flag-birth", dateOfBirth="", dateOfBirthFlag="12", naaccrVersion="180")
    assert not fails("flag-birth", dateOfBirth="19590412", naaccrVersion="240")
    assert fails("flag-birth", dateOfBirth="19590412", dateOfBirthFlag="12", naaccrVersion="240")
    assert not fails("flag-birth", dateOfBirth="", naaccrVersion="250")


def test_dates_in_order_compared_at_the_precision_both_have() -> None:
    assert fails("order-birth-diagnosis", dateOfBirth="20190401", dateOfDiagnosis="20190315")
    assert not fails("order-birth-diagnosis", dateOfBirth="2019", dateOfDiagnosis="20190315")
    assert fails("order-birth-diagnosis", dateOfBirth="201904", dateOfDiagnosis="20190315")
    assert not fails("order-birth-diagnosis", dateOfBirth="201903", dateOfDiagnosis="20190301")
    assert not fails("order-birth-diagnosis", dateOfBirth="", dateOfDiagnosis="20190315")
    assert fails("order-diagnosis-treatment", dateOfDiagnosis="20190315", rxDateSurgery="20190301")
    assert not fails("order-diagnosis-treatment", dateOfDiagnosis="20190315", rxDateSurgery="2019")
    assert fails("order-birth-treatment", dateOfBirth="20200101", rxDateChemo="20190301")
    assert fails("order-diagnosis-last-contact", dateOfDiagnosis="20190315", dateOfLastContact="20181231",
                 vitalStatus="0")
    assert fails("order-treatment-last-contact", dateOfLastContact="20190101", rxDateRadiation="20190301")
    assert fails("order-future", dateOfLastContact="20270101")
    assert not fails("order-future", dateOfLastContact="2026")


def test_required_items_follow_the_diagnosis_year() -> None:
    assert not fails("required-payer", primaryPayerAtDx="", dateOfDiagnosis="20060601")
    assert fails("required-payer", primaryPayerAtDx="", dateOfDiagnosis="20100601")
    assert not fails("required-summary-stage-2018", summaryStage2018="", dateOfDiagnosis="2017")
    assert fails("required-summary-stage-2018", summaryStage2018="", dateOfDiagnosis="2018")
    assert not fails("required-summary-stage-2000", seerSummaryStage2000="", derivedSs2000="1",
                     dateOfDiagnosis="20100101")
    assert fails("required-summary-stage-2000", seerSummaryStage2000="", dateOfDiagnosis="20160101")
    assert fails("required-grade", grade="", dateOfDiagnosis="20170101")
    assert not fails("required-grade", grade="", dateOfDiagnosis="20180101")
    assert fails("required-primary-site", primarySite="", dateOfDiagnosis="")
    assert not fails("required-dateOfBirth", dateOfBirth="", dateOfBirthFlag="12")
    assert fails("required-sex", sex="", sexAssignedAtBirth="")
    assert not fails("required-sex", sexAssignedAtBirth="2")


def test_site_specific_morphologies_outside_their_sites() -> None:
    assert fails("site-type", primarySite="C509", histologicTypeIcdO3="8170", behaviorCodeIcdO3="3")
    assert not fails("site-type", primarySite="C220", histologicTypeIcdO3="8170", behaviorCodeIcdO3="3")
    assert not fails("site-type", primarySite="C509", histologicTypeIcdO3="8170", behaviorCodeIcdO3="0")
    assert fails("site-type", primarySite="C220", histologicTypeIcdO3="8960", behaviorCodeIcdO3="3")
    assert not fails("site-type", primarySite="C649", histologicTypeIcdO3="8960", behaviorCodeIcdO3="3")
    assert fails("site-type", primarySite="C169", histologicTypeIcdO3="9863", behaviorCodeIcdO3="3")
    assert not fails("site-type", primarySite="C421", histologicTypeIcdO3="9863", behaviorCodeIcdO3="3")
    assert fails("site-type", primarySite="C341", histologicTypeIcdO3="9510", behaviorCodeIcdO3="3")
    assert not fails("site-type", primarySite="C999", histologicTypeIcdO3="8170", behaviorCodeIcdO3="3")
    assert fails("site-type", primarySite="C772", histologicTypeIcdO3="8140", behaviorCodeIcdO3="3")
    assert not fails("site-type", primarySite="C772", histologicTypeIcdO3="9680", behaviorCodeIcdO3="3")
    assert fails("site-type", primarySite="C421", histologicTypeIcdO3="8000", behaviorCodeIcdO3="3")
    assert not fails("site-type", primarySite="C809", histologicTypeIcdO3="8140", behaviorCodeIcdO3="3")


def test_behavior_must_be_one_icdo3_gives_the_histology() -> None:
    assert not fails("behavior-histology", histologicTypeIcdO3="8500", behaviorCodeIcdO3="2")
    assert fails("behavior-histology", histologicTypeIcdO3="8170", behaviorCodeIcdO3="2")
    assert not fails("behavior-histology", histologicTypeIcdO3="8888", behaviorCodeIcdO3="2")  # code edit's
    assert fails("site-behavior", primarySite="C809", behaviorCodeIcdO3="2")
    assert not fails("site-behavior", primarySite="C509", behaviorCodeIcdO3="2")
    assert fails("behavior-confirmation", behaviorCodeIcdO3="2", diagnosticConfirmation="7")
    assert not fails("behavior-confirmation", behaviorCodeIcdO3="2", diagnosticConfirmation="1")
    assert fails("histology-confirmation", histologicTypeIcdO3="8500", diagnosticConfirmation="3")
    assert not fails("histology-confirmation", histologicTypeIcdO3="9680", diagnosticConfirmation="3")


def test_sex_and_site() -> None:
    assert fails("sex-site", primarySite="C619", sex="2")
    assert not fails("sex-site", primarySite="C619", sex="1")
    assert fails("sex-site", primarySite="C569", sex="1")
    assert not fails("sex-site", primarySite="C569", sex="3")
    assert fails("sex-site", primarySite="C539", sexAssignedAtBirth="1")      # v26
    assert not fails("sex-site", primarySite="C509", sex="1")


def test_laterality_of_paired_and_unpaired_sites() -> None:
    assert fails("laterality-site", primarySite="C504", laterality="0")
    assert not fails("laterality-site", primarySite="C504", laterality="2")
    assert fails("laterality-site", primarySite="C187", laterality="1")
    assert not fails("laterality-site", primarySite="C187", laterality="0")
    assert fails("laterality-site", primarySite="C081", laterality="0")
    assert not fails("laterality-site", primarySite="C288", laterality="1")   # not a site: the code edit's
    assert fails("laterality-bilateral", primarySite="C504", histologicTypeIcdO3="8500", behaviorCodeIcdO3="3",
                 laterality="4")
    assert not fails("laterality-bilateral", primarySite="C569", histologicTypeIcdO3="8441", behaviorCodeIcdO3="3",
                     laterality="4")
    assert not fails("laterality-bilateral", primarySite="C692", histologicTypeIcdO3="9510", behaviorCodeIcdO3="3",
                     laterality="4")


def test_age_site_histology() -> None:
    assert fails("age-site-histology", ageAtDiagnosis="007", primarySite="C692", histologicTypeIcdO3="9510")
    assert not fails("age-site-histology", ageAtDiagnosis="003", primarySite="C692", histologicTypeIcdO3="9510")
    assert fails("age-site-histology", ageAtDiagnosis="010", primarySite="C619", histologicTypeIcdO3="8140")
    assert not fails("age-site-histology", ageAtDiagnosis="005", primarySite="C619", histologicTypeIcdO3="8900")
    assert not fails("age-site-histology", ageAtDiagnosis="999", primarySite="C619", histologicTypeIcdO3="8140")


def test_death_certificate_only_and_autopsy_reports() -> None:
    assert fails("dco-confirmation", typeOfReportingSource="7", diagnosticConfirmation="1")
    assert not fails("dco-confirmation", typeOfReportingSource="7", diagnosticConfirmation="9")
    assert fails("dco-vital-status", typeOfReportingSource="6", vitalStatus="1")
    assert not fails("dco-vital-status", typeOfReportingSource="6", vitalStatus="0")
    assert not fails("dco-vital-status", typeOfReportingSource="1", vitalStatus="1")


def test_predicates_are_vectorised_over_many_records() -> None:
    frame = EditFrame(pd.DataFrame({"record_id": range(4), "primarySite": ["C619", "C619", "C569", ""],
                                    "sex": ["1", "2", "1", "2"]}), today=TODAY)
    assert evaluate(frame, EDITS["sex-site"])[0].tolist() == [False, True, True, False]


def test_age_at_diagnosis_and_the_dates() -> None:
    assert not fails("code-age", ageAtDiagnosis="999")
    assert fails("code-age", ageAtDiagnosis="130") and fails("code-age", ageAtDiagnosis="54")
    assert not fails("age-birth-diagnosis", ageAtDiagnosis="059", dateOfBirth="19590412", dateOfDiagnosis="20190411")
    assert fails("age-birth-diagnosis", ageAtDiagnosis="060", dateOfBirth="19590412", dateOfDiagnosis="20190411")
    assert not fails("age-birth-diagnosis", ageAtDiagnosis="060", dateOfBirth="19590412", dateOfDiagnosis="20190412")
    assert not fails("age-birth-diagnosis", ageAtDiagnosis="059", dateOfBirth="1959", dateOfDiagnosis="20190412")
    assert not fails("age-birth-diagnosis", ageAtDiagnosis="060", dateOfBirth="1959", dateOfDiagnosis="20190412")
    assert fails("age-birth-diagnosis", ageAtDiagnosis="061", dateOfBirth="1959", dateOfDiagnosis="20190412")
    assert not fails("age-birth-diagnosis", ageAtDiagnosis="999", dateOfBirth="19590412", dateOfDiagnosis="20190411")


def test_grade_items_follow_the_diagnosis_year() -> None:
    assert not fails("grade-year", grade="2", dateOfDiagnosis="20170101")
    assert fails("grade-year", grade="2", dateOfDiagnosis="20180101")
    assert not fails("grade-year", gradeClinical="9", gradePathological="2", dateOfDiagnosis="20180101")
    assert fails("grade-year", gradeClinical="9", dateOfDiagnosis="20170101")


def test_treatment_dates_need_their_flags() -> None:
    assert fails("flag-treatment", rxDateChemo="", naaccrVersion="180")
    assert not fails("flag-treatment", naaccrVersion="180", **{f"{i}Flag": "11" for i in (
        "rxDateSurgery", "rxDateRadiation", "rxDateChemo", "rxDateHormone", "rxDateBrm", "rxDateOther",
        "rxDateSystemic", "rxDateMostDefinSurg")})
    assert fails("flag-treatment", rxDateSurgery="20190402", rxDateSurgeryFlag="12", naaccrVersion="180")
    assert not fails("flag-treatment", rxDateChemo="", naaccrVersion="260")
