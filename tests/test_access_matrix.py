"""Role x public data function: what each role receives from every function that returns registry data.

Every public function of ``registry.cohort`` and ``registry.analysis`` that takes the caller's
``Principal`` must have a row in ``MATRIX``; a new one without a row fails ``test_every_data_function_has_a_row``.
Researchers and administrators must never receive an identifier column or an unsuppressed count of 1-15;
registrars receive what the function promises.
"""

from __future__ import annotations

import inspect
import io
import warnings
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest

from registry import (
    access,
    analysis,
    annual_report,
    audit_trail,
    batches,
    breach,
    breach_report,
    certification,
    cohort_counts,
    cohort_export,
    corrections,
    definition_export,
    edit_reports,
    export_requests,
    program_statistics,
    query_letters,
    record_view,
    source_records,
    trial_candidates,
    worklist,
)
from registry.audit import events, record_event
from registry.cohort import TumorFilter
from registry.cohort_definition import CohortDefinition
from registry.errors import AccessDenied
from registry.operational import OperationalStore
from registry.operational_store import open_operational_store
from registry.principal import Principal
from registry.privacy import DIRECT_IDENTIFIER_COLUMNS
from registry.release import Release
from registry.stats import StatisticalWarning
from registry.store import read_connection
from registry.suppression import DIFFERENCING
from tests.release_checks import assert_no_small_count, assert_table_has_no_small_count

SMALL_SITE = TumorFilter(site_recodes=("43",), counties=("20001", "20003", "20005"), sexes=("2",))
BREAST = TumorFilter(site_recodes=("39",), sexes=("1", "2"))
Call = Callable[[Principal, Path], object]
# A cohort of the sample registry with small cells by county (breast cancers of women in three counties).
COHORT = CohortDefinition.from_json({"name": "matrix cohort", "groups": [
    {"name": "Breast", "criteria": [{"kind": "site", "codes": ["C500-C509"]}]},
    {"name": "Women", "criteria": [{"kind": "sex", "codes": ["2"]}]},
    {"name": "Three counties", "criteria": [{"kind": "county", "codes": ["20001", "20003", "20005"]}]}]})

# function name -> (call, count column of its aggregate result or None, the action of the access table it needs)
MATRIX: dict[str, tuple[Call, str | None, str]] = {
    "analysis.case_counts": (lambda p, db: analysis.case_counts(p, db, SMALL_SITE, by=("county_fips",)), "count",
                           access.READ_AGGREGATES),
    "analysis.case_totals": (lambda p, db: analysis.case_totals(p, db, SMALL_SITE, by=("county_fips",)), "count",
                           access.READ_AGGREGATES),
    "analysis.population_counts": (lambda p, db: analysis.population_counts(p, db, SMALL_SITE), None,
                                 access.READ_POPULATION),
    "analysis.survival_data": (lambda p, db: analysis.survival_data(p, db, BREAST), None, access.READ_DEIDENTIFIED),
    "analysis.incidence_rates": (lambda p, db: analysis.incidence_rates(p, db, SMALL_SITE, by=("county_fips",)),
                                 "count", access.READ_AGGREGATES),
    "analysis.age_specific": (lambda p, db: analysis.age_specific(p, db, SMALL_SITE), "count", access.READ_AGGREGATES),
    "analysis.incidence_trend": (lambda p, db: analysis.incidence_trend(p, db, SMALL_SITE)[0], "count",
                                 access.READ_AGGREGATES),
    "analysis.survival": (lambda p, db: analysis.survival(p, db, SMALL_SITE), "at_risk", access.READ_AGGREGATES),
    "analysis.recurrence": (lambda p, db: analysis.recurrence(p, db, SMALL_SITE, by="stage_group"), "at_risk",
                            access.READ_AGGREGATES),
    "analysis.recurrence_rates": (lambda p, db: analysis.recurrence_rates(p, db, SMALL_SITE, by="stage_group"),
                                  "events", access.READ_AGGREGATES),
    "batches.list_batches": (lambda p, db: batches.list_batches(p, db), "tumors_read", access.VIEW_INGEST_BATCHES),
    "batches.rejects_by_rule": (lambda p, db: batches.rejects_by_rule(p, db), "records", access.VIEW_INGEST_BATCHES),
    "batches.store_info": (lambda p, db: pd.DataFrame([vars(batches.store_info(p, db))]), None,
                           access.VIEW_STORE_OVERVIEW),
    "source_records.review_pair": (lambda p, db: _review_pair(p, db), None, "link-review"),
    "linkage.find.find_patient": (lambda p, db: _find_patient(p, db), None, "find-patient"),
    # Registry-level corrections (an override flag: it changes no statistic of the shared sample store).
    "corrections.correct": (lambda p, db: _correct(p, db, corrections.correct), None, access.CORRECTION),
    "worklist.apply_correction": (lambda p, db: _correct(p, db, worklist.apply_correction), None, access.CORRECTION),
    "corrections.corrections_of": (lambda p, db: pd.DataFrame(
        [vars(c) for c in corrections.corrections_of(p, db, tumor_id=_first_tumor(db))]), None, access.RECORD_VIEW),
    # ---- the discrepancy worklist, query letters and edit reports (registrars only) ----
    "worklist.list_items": (lambda p, db: _items(worklist.list_items(p, _ops(db))), None, "worklist"),
    "worklist.worklist_counts": (lambda p, db: worklist.worklist_counts(p, _ops(db)), None, "worklist"),
    "worklist.work_item": (lambda p, db: _events(worklist.work_item(p, _ops(db), _work_item(db, "open"))), None,
                           "worklist"),
    "worklist.query_item": (lambda p, db: _items([worklist.query_item(p, _ops(db), _work_item(db, "open"), "?")]),
                            None, "worklist"),
    "worklist.answer_item": (lambda p, db: _items([worklist.answer_item(p, _ops(db), _work_item(db, "queried"),
                                                                        "yes")]), None, "worklist"),
    "worklist.resolve_item": (lambda p, db: _items([worklist.resolve_item(p, _ops(db), _work_item(db, "open"),
                                                                          "done")]), None, "worklist"),
    "worklist.reopen_item": (lambda p, db: _items([worklist.reopen_item(p, _ops(db), _work_item(db, "resolved"),
                                                                        "again")]), None, "worklist"),
    "worklist.assign_item": (lambda p, db: _items([worklist.assign_item(p, _ops(db), _work_item(db, "open"),
                                                                        _registrar_account(db))]), None, "worklist"),
    "worklist.set_due_date": (lambda p, db: _items([worklist.set_due_date(p, _ops(db), _work_item(db, "open"),
                                                                          "2027-01-31")]), None, "worklist"),
    "worklist.close_valid": (lambda p, db: _items([worklist.close_valid(p, db, _ops(db), _work_item(db, "open"),
                                                                        "overRideAgeSiteMorph", "valid")]), None,
                             "worklist"),
    "query_letters.query_letter": (lambda p, db: _csv(query_letters.query_letter(p, _ops(db), _queried_facility(db))),
                                   None, "worklist"),
    "edit_reports.edit_report": (lambda p, db: _csv(edit_reports.edit_report(p, db, _ops(db), batch_id=1)), None,
                                 "worklist"),
    "record_view.patient_record": (lambda p, db: _patient_record(p, db), None, access.RECORD_VIEW),
    # ---- cohorts: counts released, definitions saved and shared ----
    "cohort_counts.cohort_attrition": (lambda p, db: cohort_counts.cohort_attrition(p, db, COHORT), None,
                                       access.COHORT_COUNT),
    "cohort_counts.cohort_count": (lambda p, db: cohort_counts.cohort_count(p, db, COHORT), "tumors",
                                   access.COHORT_COUNT),
    "cohort_counts.cohort_counts_by": (lambda p, db: cohort_counts.cohort_counts_by(p, db, COHORT), "persons",
                                       access.COHORT_COUNT),
    "cohort_counts.save_cohort": (lambda p, db: pd.DataFrame([vars(cohort_counts.save_cohort(p, _ops(db), COHORT))]),
                                  None, access.COHORT_COUNT),
    "cohort_counts.cohort_definitions": (lambda p, db: pd.DataFrame(
        [vars(d) for d in cohort_counts.cohort_definitions(p, _ops(db))]), None, access.COHORT_COUNT),
    "cohort_counts.definition_by_id": (lambda p, db: pd.DataFrame(
        [vars(cohort_counts.definition_by_id(p, _ops(db), _saved_cohort(db))[0])]), None, access.COHORT_COUNT),
    # ---- governed cohort export and its requests ----
    "cohort_export.export_cohort": (lambda p, db: _cohort_export(p, db), None, access.COHORT_EXPORT_DEIDENTIFIED),
    "export_requests.own_requests": (lambda p, db: _requests(export_requests.own_requests(p, _ops(db))), None,
                                     access.COHORT_EXPORT_DEIDENTIFIED),
    "export_requests.list_requests": (lambda p, db: _requests(export_requests.list_requests(p, _ops(db))), None,
                                      access.APPROVE_EXPORT),
    "export_requests.approve_request": (lambda p, db: _requests([export_requests.approve_request(
        p, _ops(db), _pending_request(db), dua_reference="DUA-matrix")]), None, access.APPROVE_EXPORT),
    "export_requests.refuse_request": (lambda p, db: _requests([export_requests.refuse_request(
        p, _ops(db), _pending_request(db), reason="matrix")]), None, access.APPROVE_EXPORT),
    "export_requests.set_export_settings": (lambda p, db: pd.DataFrame([vars(export_requests.set_export_settings(
        p, _ops(db), k=export_requests.DEFAULT_K))]), None, access.SET_EXPORT_LIMIT),
    "definition_export.export_definition": (lambda p, db: _definition_export(p, db), None,
                                            access.COHORT_EXPORT_DEIDENTIFIED),
    # ---- data-quality certification: figures for registrars and administrators, records for registrars ----
    "certification.certification": (lambda p, db: certification.certification(p, db), "count",
                                     access.VIEW_DATA_QUALITY),
    "certification.certification_trend": (lambda p, db: certification.certification_trend(p, db), "count",
                                           access.VIEW_DATA_QUALITY),
    "certification.completeness_by_site": (lambda p, db: certification.completeness_by_site(p, db, 2019), "count",
                                            access.VIEW_DATA_QUALITY),
    "certification.quality_records": (lambda p, db: certification.quality_records(p, db, 2019, "dco"), None,
                                      access.DATA_QUALITY_RECORDS),
    # ---- the honest broker's identified trial-candidate list (registrars only) ----
    "trial_candidates.candidate_list": (lambda p, db: trial_candidates.candidate_list(p, db, _ops(db), BREAST_COHORT),
                                        None, access.TRIAL_CANDIDATE_IDENTITIES),
    "trial_candidates.candidate_list_csv": (lambda p, db: _csv(trial_candidates.candidate_list_csv(
        p, db, _ops(db), BREAST_COHORT)), None, access.TRIAL_CANDIDATE_IDENTITIES),
    # ---- the audit trail (administrators) ----
    "audit_trail.audit_trail": (lambda p, db: audit_trail.trail_table(audit_trail.audit_trail(p, _ops(db), limit=50)),
                                None, access.VIEW_AUDIT_TRAIL),
    "audit_trail.audit_trail_actions": (lambda p, db: pd.DataFrame(
        {"action": audit_trail.audit_trail_actions(p, _ops(db))}), None, access.VIEW_AUDIT_TRAIL),
    "audit_trail.audit_trail_csv": (lambda p, db: _csv(audit_trail.audit_trail_csv(p, _ops(db), limit=50)), None,
                                    access.VIEW_AUDIT_TRAIL),
    "audit_trail.verify_audit_trail": (lambda p, db: pd.DataFrame(
        [{"intact": audit_trail.verify_audit_trail(p, _ops(db)).ok}]), None, access.VIEW_AUDIT_TRAIL),
    # ---- breach detection: alerts, thresholds, containment and the breach report (administrators) ----
    "breach.alerts": (lambda p, db: _alerts(breach.alerts(p, _ops(db))), None, access.VIEW_AUDIT_TRAIL),
    "breach.acknowledge": (lambda p, db: _alerts([breach.acknowledge(p, _ops(db), _open_alert(db))]), None,
                           access.VIEW_AUDIT_TRAIL),
    "breach.set_rule": (lambda p, db: pd.DataFrame([breach.set_rule(p, _ops(db), breach.REFUSALS, refusals=5)]),
                        None, access.SET_BREACH_RULES),
    "breach.contain": (lambda p, db: pd.DataFrame([vars(breach.contain(p, _ops(db), _suspect_account(db),
                                                                       reason="matrix"))]), None,
                       access.CONTAIN_ACCOUNT),
    "breach_report.breach_report": (lambda p, db: breach_report.breach_report(
        p, db, _ops(db), ROLES["registrar"].user, datetime(2000, 1, 1, tzinfo=UTC), datetime.now(UTC)).rows, None,
        access.BREACH_REPORT),
    # ---- funding and workload figures and the annual report (registrars; administrators suppressed) ----
    "program_statistics.cases_by_facility": (lambda p, db: program_statistics.cases_by_facility(p, db, PROGRAM_YEARS),
                                             "count", access.VIEW_PROGRAM_STATISTICS),
    "program_statistics.site_groups_by_year": (lambda p, db: program_statistics.site_groups_by_year(
        p, db, PROGRAM_YEARS)[0], "count", access.VIEW_PROGRAM_STATISTICS),
    "program_statistics.recurrences_by_site": (lambda p, db: program_statistics.recurrences_by_site(
        p, db, PROGRAM_YEARS), "count", access.VIEW_PROGRAM_STATISTICS),
    "program_statistics.treatment_mix": (lambda p, db: program_statistics.treatment_mix(p, db, PROGRAM_YEARS), "count",
                                         access.VIEW_PROGRAM_STATISTICS),
    "program_statistics.payer_mix": (lambda p, db: program_statistics.payer_mix(p, db, PROGRAM_YEARS), "count",
                                     access.VIEW_PROGRAM_STATISTICS),
    "program_statistics.residency": (lambda p, db: program_statistics.residency(p, db, PROGRAM_YEARS), "count",
                                     access.VIEW_PROGRAM_STATISTICS),
    "program_statistics.timeliness": (lambda p, db: program_statistics.timeliness(p, db, PROGRAM_YEARS), "count",
                                      access.VIEW_PROGRAM_STATISTICS),
    "program_statistics.registrar_workload": (lambda p, db: program_statistics.registrar_workload(p, db), "count",
                                              access.VIEW_PROGRAM_STATISTICS),
    "annual_report.annual_report": (lambda p, db: _pdf_lines(annual_report.annual_report(p, db, PROGRAM_YEARS[1])),
                                    None, access.VIEW_PROGRAM_STATISTICS),
}
# Functions whose purpose is to name people to an administrator: the breach report names the patients whose
# records a user read, so that they can be notified (45 CFR 164.404); no other role may run it.
NAMES_BY_PURPOSE = {"breach_report.breach_report"}
PROGRAM_YEARS = (2019, 2020)
BREAST_COHORT = CohortDefinition.from_json({"name": "matrix breast", "groups": [
    {"name": "Breast", "criteria": [{"kind": "site", "codes": ["C500-C509"]}]},
    {"name": "Diagnosed 2019", "criteria": [{"kind": "diagnosis_date", "from": "2019-01-01", "to": "2019-12-31"}]}]})
COHORT_VARIABLES = ["primarySite", "histologicTypeIcdO3", "dateOfDiagnosis", "ageAtDiagnosis", "sex", "race1",
                    "addrAtDxPostalCode", "vitalStatus", "dateOfLastContact", "rxSummChemo", "rxDateSurgery"]


def _cohort_selection(db: Path) -> pd.DataFrame:
    """The sample's first 2,000 registry tumors: a cohort as a definition would select it."""
    with read_connection(db) as con:
        return con.execute("SELECT tumor_id, patient_id FROM registry_tumor ORDER BY tumor_id LIMIT 2000").df()


def _cohort_export(principal: Principal, db: Path) -> pd.DataFrame:
    """A Safe Harbor cohort export as `principal` asks for it: its data file, read back."""
    import tempfile
    import zipfile

    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "cohort.zip"
        cohort_export.export_cohort(principal, db, _ops(db), definition={"name": "matrix"},
                                    selection=_cohort_selection(db), variables=COHORT_VARIABLES,
                                    file_format="csv", destination=target)
        with zipfile.ZipFile(target) as archive:
            return pd.read_csv(io.BytesIO(archive.read("cohort.csv")), dtype=str)


def _definition_export(principal: Principal, db: Path) -> pd.DataFrame:
    """A Safe Harbor export of a cohort definition's selection as `principal` asks for it: its data file, read back."""
    import tempfile
    import zipfile

    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "cohort.zip"
        definition_export.export_definition(principal, db, _ops(db), BREAST_COHORT, variables=COHORT_VARIABLES,
                                            file_format="csv", destination=target)
        with zipfile.ZipFile(target) as archive:
            return pd.read_csv(io.BytesIO(archive.read("cohort.csv")), dtype=str)


def _pending_request(db: Path) -> int:
    """A new limited-data-set export request of a registrar, waiting for an administrator (nothing written)."""
    import uuid

    result = cohort_export.export_cohort(ROLES["registrar"], db, _ops(db), definition={"name": uuid.uuid4().hex},
                                         selection=_cohort_selection(db), variables=["dateOfDiagnosis"],
                                         file_format="csv", destination=Path("never-written.zip"),
                                         kind="limited_data_set")
    assert result.status == "pending" and result.request is not None
    return result.request.id


def _requests(requests: list[export_requests.ExportRequest]) -> pd.DataFrame:
    return pd.DataFrame([vars(request) for request in requests])


def _saved_cohort(db: Path) -> int:
    """The id of the matrix cohort as a registrar saved it (for others to open by id)."""
    return cohort_counts.save_cohort(ROLES["registrar"], _ops(db), COHORT).definition_id


def _first_tumor(db: Path) -> int:
    with read_connection(db) as con:
        return int(con.execute("SELECT min(tumor_id) FROM registry_tumor").fetchall()[0][0])


def _patient_record(principal: Principal, db: Path) -> pd.DataFrame:
    """The record of the sample's first registry tumor's patient: its reports' items, as `principal` asks."""
    record = record_view.patient_record(principal, db, open_operational_store(db), tumor_id=_first_tumor(db))
    assert record.tumors and record.reports
    return pd.DataFrame([report.items for report in record.reports])


def _correct(principal: Principal, db: Path, correcting: Any) -> pd.DataFrame:
    """An override flag set on the sample's first registry tumor, as `principal` asks to set it."""
    done = correcting(principal, db, open_operational_store(db), tumor_id=_first_tumor(db),
                      item="overRideAgeSiteMorph", new_value="1", reason="access matrix")
    return pd.DataFrame([vars(done)])


def _ops(db: Path) -> OperationalStore:
    return open_operational_store(db)


def _items(items: list[worklist.WorkItem]) -> pd.DataFrame:
    return pd.DataFrame([vars(item) for item in items])


def _events(view: worklist.WorkItemView) -> pd.DataFrame:
    return pd.DataFrame([vars(event) for event in view.events])


def _pdf_lines(document: bytes) -> pd.DataFrame:
    """A PDF's text, one row per line."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(document))
    return pd.DataFrame({"line": [line for page in reader.pages for line in page.extract_text().splitlines()]})


def _csv(document: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(document), comment="#")


def _work_item(db: Path, status: str) -> int:
    """A work item of the sample registry brought to `status` by a registrar: a linkage question on two of its
    patient reports, synced onto the worklist."""
    from registry.link_review import ReviewPair, queue_pairs
    from registry.linkage_store import patient_keys

    ops, registrar = _ops(db), ROLES["registrar"]
    with read_connection(db) as con:
        first, second = patient_keys(con)["natural_key"].head(2)
    queue_pairs(ops, [ReviewPair("patient", first, second, 3.0)])
    worklist.sync_worklist(db, ops)
    item = worklist.list_items(registrar, ops, limit=1)[0]
    if item.status != "open":
        worklist.resolve_item(registrar, ops, item.work_item_id, "matrix")
        worklist.reopen_item(registrar, ops, item.work_item_id, "matrix")
    steps = {"open": (), "queried": ("query",), "answered": ("query", "answer"), "resolved": ("resolve",)}[status]
    for step in steps:
        {"query": worklist.query_item, "answer": worklist.answer_item, "resolve": worklist.resolve_item}[step](
            registrar, ops, item.work_item_id, "matrix")
    return item.work_item_id


def _queried_facility(db: Path) -> str:
    """The facility of a work item queried by a registrar."""
    item_id = _work_item(db, "queried")
    return str(next(i.facility for i in worklist.list_items(ROLES["registrar"], _ops(db), status="queried")
                    if i.work_item_id == item_id))


def _registrar_account(db: Path) -> str:
    """The matrix registrar's account (created once), to assign items to."""
    from unittest import mock

    from registry import accounts
    from tests.dashboard_session import CHEAP_HASHER

    ops, name = _ops(db), ROLES["registrar"].user
    if accounts.get_user(ops, name) is None:
        with mock.patch.object(accounts, "PASSWORD_HASHER", CHEAP_HASHER):
            accounts.create_user(ops, name, "registrar", password="matrix-password-1")
    return name


def _alerts(found: list[breach.Alert]) -> pd.DataFrame:
    return pd.DataFrame([vars(alert) for alert in found])


def _suspect_account(db: Path) -> str:
    """A new registrar account, for an administrator to contain."""
    from unittest import mock

    from registry import accounts
    from tests.dashboard_session import CHEAP_HASHER

    ops = _ops(db)
    name = f"matrix-suspect-{len(accounts.list_users(ops))}"
    with mock.patch.object(accounts, "PASSWORD_HASHER", CHEAP_HASHER):
        accounts.create_user(ops, name, "registrar", password="matrix-password-1")
    return name


def _open_alert(db: Path) -> int:
    """An open breach alert: a new user name refused five times (the refusals rule's default)."""
    ops = _ops(db)
    name = f"matrix-refused-{len(breach.alerts(ROLES['administrator'], ops, limit=10_000))}"
    for _ in range(5):
        record_event(ops, name, "access-refused", action=access.RECORD_VIEW)
    return breach.alerts(ROLES["administrator"], ops, status="open", user=name)[0].alert_id


def _find_patient(principal: Principal, db: Path) -> pd.DataFrame:
    """Candidates for the last name and birth date of one of the sample's patient reports."""
    from registry.linkage.find import find_patient

    with read_connection(db) as con:
        last, born = con.execute("""SELECT max(value) FILTER (WHERE naaccr_id = 'nameLast'),
                                           max(value) FILTER (WHERE naaccr_id = 'dateOfBirth')
                                    FROM source_item WHERE level = 1 AND batch_id = 1 AND entity_seq = 1""").fetchall()[0]
    found = find_patient(principal, db, open_operational_store(db), last_name=last, date_of_birth=born)
    assert found and found[0].match_probability > 0.5
    return pd.DataFrame([vars(candidate) for candidate in found])


def _review_pair(principal: Principal, db: Path) -> pd.DataFrame:
    """A queued pair of two of the sample's patient reports, as `principal` asks to see it."""
    from registry.link_review import ReviewPair, queue_pairs, review_queue
    from registry.linkage_store import patient_keys

    ops = open_operational_store(db)
    with read_connection(db) as con:
        first, second = patient_keys(con)["natural_key"].head(2)
    queue_pairs(ops, [ReviewPair("patient", first, second, 3.0)])
    review_id = next(i.review_id for i in review_queue(ops, ROLES["registrar"], limit=10_000)
                     if {i.left_key, i.right_key} == {first, second})
    view = source_records.review_pair(principal, db, ops, review_id)
    return pd.DataFrame([report.items for report in view.left + view.right])
# Times of the registry's own operations (when a file was loaded), not dates about a person.
OPERATIONAL_TIMES = {"started_at", "finished_at", "last_loaded_at"}
# The access decision, the policy and the release path take a Principal but fetch no registry data themselves.
POLICY_MODULES = {"registry.access", "registry.privacy", "registry.release"}
ROLES = {name: Principal(f"matrix-{name}", name, frozenset()) for name in ("registrar", "researcher", "administrator")}


def _data_functions(module: ModuleType) -> set[str]:
    found = set()
    for name, function in inspect.getmembers(module, inspect.isfunction):
        if name.startswith("_") or function.__module__ != module.__name__:
            continue
        parameters = list(inspect.signature(function).parameters)
        if parameters and parameters[0] == "principal":
            found.add(f"{module.__name__.removeprefix('registry.')}.{name}")
    return found


def test_every_data_function_has_a_row() -> None:
    """Every public function anywhere in ``registry`` that takes a Principal first is in the matrix."""
    import importlib
    import pkgutil

    import registry

    found: set[str] = set()
    for info in pkgutil.walk_packages(registry.__path__, "registry."):
        if info.name not in POLICY_MODULES:
            found |= _data_functions(importlib.import_module(info.name))
    assert found == set(MATRIX)


@pytest.fixture(scope="module")
def db(sample_registry: dict[str, object]) -> Path:
    return Path(str(sample_registry["db"]))


@pytest.mark.parametrize("function", sorted(MATRIX))
@pytest.mark.parametrize("role", sorted(ROLES))
def test_role_receives_only_what_it_may(db: Path, role: str, function: str) -> None:
    call, count_column, action = MATRIX[function]
    principal = ROLES[role]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        try:
            released = call(principal, db)
        except AccessDenied:
            assert not access.allowed(principal, action), f"{role} refused {function}, which the access table allows"
            return
    assert access.allowed(principal, action), f"{role} received {function}, which the access table refuses"
    if function in NAMES_BY_PURPOSE:
        assert role == "administrator" and isinstance(released, pd.DataFrame)
        return
    # Statistics are Releases; the registry's operational views (batches) are plain tables.
    result = released.table if isinstance(released, Release) else released
    assert isinstance(result, pd.DataFrame) and not result.attrs, "nothing released rides in attrs"
    if role == "registrar":
        if function == "analysis.survival_data":
            assert {"tumor_id", "diagnosis_date"} <= set(result.columns)
            assert pd.api.types.is_datetime64_any_dtype(result["diagnosis_date"])
        return
    if isinstance(released, Release):
        assert_no_small_count(released, function)
    else:
        assert_table_has_no_small_count(result.reset_index(drop=True), function)
    assert not set(result.columns) & DIRECT_IDENTIFIER_COLUMNS, function
    for column in set(result.columns) - OPERATIONAL_TIMES:
        assert not pd.api.types.is_datetime64_any_dtype(result[column]), (function, column)
    if count_column is not None and count_column in result.columns:
        assert "suppressed" in result.columns
        withheld = result["suppressed"].astype(bool)
        assert pd.to_numeric(result[count_column], errors="coerce")[withheld].isna().all()


def test_small_cells_are_really_there_for_the_registrar(db: Path) -> None:
    """The matrix is not vacuous: the registrar's view of the same query has counts of 1-15."""
    counts = analysis.case_counts(ROLES["registrar"], db, SMALL_SITE, by=("county_fips",)).table
    assert ((counts["count"] >= 1) & (counts["count"] <= 15)).any()
    researcher = analysis.case_counts(ROLES["researcher"], db, SMALL_SITE, by=("county_fips",)).table
    assert researcher["suppressed"].any()


def test_record_level_release_is_audited(db: Path) -> None:
    ops = open_operational_store(db)
    before = len(events(ops, user="matrix-researcher", action="search", limit=10_000))
    released = analysis.survival_data(ROLES["researcher"], db, BREAST).table
    after = events(ops, user="matrix-researcher", action="search", limit=10_000)
    assert len(after) == before + 1
    assert not np.isin(["tumor_id", "age_days"], released.columns).any()


@pytest.mark.filterwarnings("ignore::registry.stats.result.StatisticalWarning")
def test_all_counties_minus_one_cannot_be_subtracted(db: Path) -> None:
    """The total over all counties, then over all counties but one small one: the second view's total (its
    margin) would give the small county away, so cells of the second view are withheld until it cannot
    be computed."""
    researcher = Principal("matrix-differ", "researcher", frozenset())
    chosen = TumorFilter(site_recodes=("43",), sexes=("2",), first_year=2016, last_year=2016)
    counties = analysis.incidence_rates(ROLES["registrar"], db, chosen, by=("county_fips",)).table
    small = counties[(counties["count"] >= 1) & (counties["count"] <= 15)]["county_fips"]
    assert not small.empty
    others = tuple(sorted(set(counties["county_fips"]) - {small.iloc[0]}))
    everyone = replace(chosen, counties=tuple(sorted(counties["county_fips"])))
    total = analysis.incidence_rates(researcher, db, everyone).table["count"].iloc[0]
    assert total >= 16
    second = analysis.incidence_rates(researcher, db, replace(chosen, counties=others), by=("county_fips",)).table
    assert second["suppressed"].any()
    assert second["count"].isna().sum() >= 2      # a withheld cell and its complement: no sum to subtract


@pytest.mark.filterwarnings("ignore::registry.stats.result.StatisticalWarning")
def test_cells_of_two_views_differing_in_sex_cannot_be_subtracted(db: Path) -> None:
    """A researcher who saw breast cancer by county for both sexes, then for women, cannot subtract the
    two to get the men by county: a county whose difference is 1-15 is withheld in the second view."""
    researcher = Principal("matrix-differencing", "researcher", frozenset())
    both = TumorFilter(site_recodes=("39",), sexes=("1", "2"))
    women = TumorFilter(site_recodes=("39",), sexes=("2",))
    first = analysis.incidence_rates(researcher, db, both, by=("county_fips",)).table.set_index("county_fips")
    second = analysis.incidence_rates(researcher, db, women, by=("county_fips",)).table.set_index("county_fips")
    shown = first["count"].notna() & second["count"].reindex(first.index).notna()
    difference = first.loc[shown, "count"] - second["count"].reindex(first.index)[shown]
    assert not difference.between(1, 15).any()
    assert (second["suppression_reason"] == DIFFERENCING).any()   # the guard had something to do
    registrar = analysis.incidence_rates(ROLES["registrar"], db, women, by=("county_fips",)).table
    assert not registrar["count"].isna().any()


def _facility_file(path: Path, patients: int) -> Path:
    """A NAACCR XML file of ``patients`` patients with one tumor each, as a facility would send it."""
    from tests.conftest import naaccr_xml

    records = [({"patientIdNumber": f"{path.stem[:4]}{i:04d}", "sex": "2"},
                [{"tumorRecordNumber": "01", "primarySite": "C509", "histologicTypeIcdO3": "8500",
                  "behaviorCodeIcdO3": "3", "dateOfDiagnosis": "20200115"}]) for i in range(patients)]
    path.write_text(naaccr_xml(records), encoding="utf-8")
    return path


def test_small_files_counts_are_withheld_for_administrators(tmp_path: Path) -> None:
    """Administrators see every ingested file (its name carries the facility and year) but none of a file's
    record counts of 1-15, and a withheld file never stands alone (the store's totals are published)."""
    from pipelines.load import ingest_file

    db = tmp_path / "registry.duckdb"
    for name, patients in (("large-a.xml", 40), ("small.xml", 7), ("large-b.xml", 30)):
        assert ingest_file(_facility_file(tmp_path / name, patients), db_path=db).status == "loaded"
    registrar = batches.list_batches(ROLES["registrar"], db).set_index("batch_id")
    administrator = batches.list_batches(ROLES["administrator"], db).set_index("batch_id")
    counts = list(batches.BATCH_COUNTS)
    small = registrar[counts].apply(lambda c: c.between(1, 15)).any(axis=1)
    assert small.sum() == 1                                        # the small facility's file
    assert list(administrator["file_name"]) == list(registrar["file_name"])
    assert not administrator[counts].apply(lambda c: c.between(1, 15)).any().any()
    withheld = administrator["suppressed"]
    assert withheld[small[small].index].all() and withheld.sum() >= 2
    assert administrator.loc[withheld, [*counts, "warnings"]].isna().all().all()
    assert administrator.loc[~withheld, counts].equals(registrar.loc[~withheld, counts].astype(float))
    with pytest.raises(AccessDenied):
        batches.list_batches(ROLES["researcher"], db)
