"""The dashboard's pages: file, title, section and the action of the access table each needs.

Kept apart from the router (`dashboard/app.py`, which runs as a script when imported) so that tests and
documentation can read the list without starting the dashboard.
"""

from __future__ import annotations

from pathlib import Path

from registry.api import (
    APPROVE_EXPORT,
    CHANGE_OWN_PASSWORD,
    COHORT_COUNT,
    FIND_PATIENT,
    LINK_REVIEW,
    MANAGE_USERS,
    READ_AGGREGATES,
    RECORD_VIEW,
    VIEW_AUDIT_TRAIL,
    VIEW_DATA_QUALITY,
    VIEW_INGEST_BATCHES,
    VIEW_PROGRAM_STATISTICS,
    VIEW_STORE_OVERVIEW,
    WORKLIST,
)

PAGES = Path(__file__).parent / "views"
# (file stem, title, section, the action of the access table it needs)
PAGE_LIST: tuple[tuple[str, str, str, str], ...] = (
    ("overview", "Overview", "Explore", READ_AGGREGATES),
    ("incidence_map", "Incidence map", "Explore", READ_AGGREGATES),
    ("trends", "Trends", "Explore", READ_AGGREGATES),
    ("survival", "Survival", "Explore", READ_AGGREGATES),
    ("recurrence", "Recurrence", "Explore", READ_AGGREGATES),
    ("store", "Store overview", "Registry", VIEW_STORE_OVERVIEW),
    ("batches", "Ingest batches", "Registry", VIEW_INGEST_BATCHES),
    ("link_review", "Linkage review", "Registry", LINK_REVIEW),
    ("find_patient", "Find a patient", "Registry", FIND_PATIENT),
    ("worklist", "Discrepancy worklist", "Registry", WORKLIST),
    ("record", "Patient record", "Registry", RECORD_VIEW),
    ("cohort_builder", "Cohort builder", "Cohorts", COHORT_COUNT),
    ("trial_candidates", "Trial candidates", "Cohorts", COHORT_COUNT),
    ("export_requests", "Export requests", "Cohorts", APPROVE_EXPORT),
    ("program_statistics", "Funding and workload", "Program", VIEW_PROGRAM_STATISTICS),
    ("data_quality", "Data quality", "Program", VIEW_DATA_QUALITY),
    ("users", "Users", "Administration", MANAGE_USERS),
    ("audit_trail", "Audit trail", "Administration", VIEW_AUDIT_TRAIL),
    ("breach_alerts", "Breach alerts", "Administration", VIEW_AUDIT_TRAIL),
    ("change_password", "Change password", "Account", CHANGE_OWN_PASSWORD),
)
DEFAULT_PAGE = "overview"
