"""The public face of `registry`: what the dashboard, the command and a Python user need, in one place.

Everything else in `registry` is internal and free to move. Data functions take the caller's `Principal`
first and return a `Release`; every error a user can meet is a `RegistryError` (`registry.errors`).
"""

from __future__ import annotations

from registry.access import (
    APPROVE_EXPORT,
    BREACH_REPORT,
    CHANGE_OWN_PASSWORD,
    COHORT_COUNT,
    COHORT_EXPORT_DEIDENTIFIED,
    COHORT_EXPORT_LIMITED_DATA_SET,
    CONTAIN_ACCOUNT,
    CORRECTION,
    DATA_QUALITY_RECORDS,
    FIND_PATIENT,
    LINK_REVIEW,
    MANAGE_USERS,
    READ_AGGREGATES,
    READ_UNSUPPRESSED,
    RECORD_VIEW,
    SET_BREACH_RULES,
    SET_EXPORT_LIMIT,
    TRIAL_CANDIDATE_IDENTITIES,
    VIEW_AUDIT_TRAIL,
    VIEW_DATA_QUALITY,
    VIEW_INGEST_BATCHES,
    VIEW_PROGRAM_STATISTICS,
    VIEW_STORE_OVERVIEW,
    allowed,
    require,
    require_audited,
)
from registry.accounts import (  # the users page
    MIN_PASSWORD_LENGTH,
    Account,
    SignInAttempt,
    authenticate,
    change_password,
    create_user,
    disable_user,
    enable_user,
    get_user,
    list_users,
    locked_until,
    require_password_change,
    reset_password,
    sign_in_history,
    update_user,
)
from registry.analysis import (
    SURVIVAL_METHODS,
    age_specific,
    case_counts,
    case_totals,
    incidence_rates,
    incidence_trend,
    population_counts,
    recurrence,
    recurrence_rates,
    survival,
    survival_data,
)
from registry.annual_report import annual_report
from registry.audit import VerifyResult, record_download, record_event
from registry.audit_search import RECORD_KINDS, RecordRef
from registry.audit_trail import (
    audit_trail,
    audit_trail_actions,
    audit_trail_csv,
    readable_detail,
    trail_table,
    verify_audit_trail,
)
from registry.batches import list_batches, rejects_by_rule, store_info
from registry.breach import (
    DEFAULT_RULES,
    RULE_TEXT,
    WEEKDAYS,
    Alert,
    Containment,
    acknowledge,
    alerts,
    contain,
    parse_threshold,
    rules,
    scan,
    set_rule,
)
from registry.breach_report import BreachReport, breach_report, report_csv, report_pdf
from registry.certification import (
    CRITERIA,
    STANDARDS,
    certification,
    certification_trend,
    completeness_by_site,
    quality_records,
)
from registry.cohort import (
    COMPARISONS,
    MALE_BREAST,
    MAX_PLAUSIBLE_AGE,
    RACE_RECODES,
    STAGE_GROUPS,
    TumorFilter,
    data_vintage,
    reporting_site,
)
from registry.cohort_counts import (
    cohort_attrition,
    cohort_count,
    cohort_counts_by,
    cohort_definitions,
    definition_by_id,
    save_cohort,
)
from registry.cohort_definition import (
    GRADE_ITEMS,
    KINDS,
    MODALITIES,
    SCHEMES,
    CohortDefinition,
    CohortItem,
    CriteriaGroup,
    Criterion,
    code_list,
    cohort_code_labels,
    cohort_items,
)
from registry.cohort_export import ExportResult, export_cohort
from registry.correctable_items import correctable_items
from registry.corrections import Correction, correct, corrections_of
from registry.county_shapes import geojson_bounds, state_counties_geojson
from registry.definition_export import export_definition
from registry.edit_reports import edit_report
from registry.edits import EditDefinition, EditRunSummary, edit_definitions, run_edits
from registry.errors import (
    AccessDenied,
    AccountError,
    AuthenticationError,
    InvalidDefinition,
    InvalidRequest,
    NotComputable,
    PasswordChangeRequired,
    PasswordPolicyError,
    RegistryError,
    SessionEnded,
    SourceFileError,
    StoreError,
)
from registry.export_requests import (
    DEFAULT_K,
    DEFAULT_ROW_LIMIT,
    LIMITED_DATA_SET,
    SAFE_HARBOR,
    ExportRequest,
    ExportSettings,
    approve_request,
    export_settings,
    list_requests,
    own_requests,
    refuse_request,
    set_export_settings,
)
from registry.export_variables import ExportVariable, code_labels, export_variables
from registry.geography import FIPS_STATE, counties
from registry.link_review import DECISION_WORDS, ReviewItem, decide, pending_counts, review_queue
from registry.linkage.find import PatientCandidate, find_patient
from registry.linkage.model import DEFAULT_THRESHOLDS as LINKAGE_THRESHOLDS
from registry.operational import OperationalStore
from registry.operational_store import open_operational_store
from registry.principal import GRANTS, ROLES, Principal
from registry.privacy import DEFAULT_THRESHOLD
from registry.program_statistics import (
    cases_by_facility,
    payer_mix,
    recurrences_by_site,
    registrar_workload,
    registry_state,
    residency,
    site_groups_by_year,
    timeliness,
    treatment_mix,
)
from registry.query_letters import query_letter
from registry.record_view import ConsolidatedValue, PatientRecord, ReceivedReport, TumorRecord, patient_record
from registry.release import GroupSize, Provenance, Release
from registry.sessions import (
    DEFAULT_SESSION_POLICY,
    ActiveSession,
    end_session,
    resume_session,
    start_session,
)
from registry.site_recode import SITE_GROUPS
from registry.source_records import IDENTITY_ITEMS, TUMOR_ITEMS, PairView, SourceReport, review_pair
from registry.stats import icss_standard_for_sites, icss_weights, median_survival
from registry.stats.relative_survival import net_survival_notes
from registry.store import default_db_path
from registry.suppression import REASON, SUPPRESSED
from registry.trial_candidates import candidate_list, candidate_list_csv
from registry.trial_templates import TrialTemplate, trial_template, trial_templates
from registry.worklist import (
    UNFINISHED,
    WORK_ITEM_STATUSES,
    WORK_ITEM_TRANSITIONS,
    WORKLIST,
    WorkItem,
    WorkItemEvent,
    WorkItemView,
    answer_item,
    apply_correction,
    assign_item,
    close_valid,
    list_items,
    query_item,
    reopen_item,
    resolve_item,
    set_due_date,
    sync_worklist,
    work_item,
    worklist_counts,
)

__all__ = [
    "CHANGE_OWN_PASSWORD", "COMPARISONS", "DECISION_WORDS", "DEFAULT_SESSION_POLICY", "DEFAULT_THRESHOLD", "FIPS_STATE",
    "FIND_PATIENT", "IDENTITY_ITEMS", "LINK_REVIEW", "LINKAGE_THRESHOLDS", "MALE_BREAST", "MANAGE_USERS", "MAX_PLAUSIBLE_AGE", "MIN_PASSWORD_LENGTH", "RACE_RECODES", "READ_AGGREGATES",
    "READ_UNSUPPRESSED", "REASON", "ROLES", "SITE_GROUPS", "STAGE_GROUPS", "SUPPRESSED", "SURVIVAL_METHODS",
    "TUMOR_ITEMS", "VIEW_AUDIT_TRAIL", "VIEW_INGEST_BATCHES", "VIEW_STORE_OVERVIEW",
    "AccessDenied", "ActiveSession", "AuthenticationError", "GroupSize", "InvalidRequest", "NotComputable",
    "OperationalStore", "PairView", "PatientCandidate", "PasswordPolicyError", "Principal", "Provenance", "RegistryError", "Release",
    "ReviewItem", "SessionEnded", "SourceFileError", "SourceReport", "StoreError", "TumorFilter",
    "age_specific", "allowed", "authenticate", "case_counts", "case_totals", "change_password", "counties",
    "data_vintage", "decide", "default_db_path", "end_session", "find_patient", "geojson_bounds", "icss_standard_for_sites", "icss_weights",
    "incidence_rates", "incidence_trend", "list_batches", "median_survival", "net_survival_notes",
    "open_operational_store", "pending_counts", "population_counts", "record_event", "recurrence", "recurrence_rates",
    "rejects_by_rule", "reporting_site", "require", "resume_session", "review_pair", "review_queue", "start_session", "state_counties_geojson",
    "store_info", "survival", "survival_data",
    # registry-level corrections
    "CORRECTION", "RECORD_VIEW", "Correction", "correct", "correctable_items", "corrections_of", "require_audited",
    # the discrepancy worklist, query letters and edit reports
    "UNFINISHED", "WORKLIST", "WORK_ITEM_STATUSES", "WORK_ITEM_TRANSITIONS", "WorkItem", "WorkItemEvent",
    "WorkItemView", "answer_item", "apply_correction", "assign_item", "close_valid", "edit_report", "list_items", "query_item", "query_letter",
    "reopen_item", "resolve_item", "set_due_date", "sync_worklist", "work_item", "worklist_counts",
    # the record view
    "ConsolidatedValue", "PatientRecord", "ReceivedReport", "TumorRecord", "patient_record",
    # coding edits
    "EditDefinition", "EditRunSummary", "edit_definitions", "run_edits",
    # cohorts, trial candidates and cohort export
    "APPROVE_EXPORT", "COHORT_COUNT", "COHORT_EXPORT_DEIDENTIFIED", "COHORT_EXPORT_LIMITED_DATA_SET", "DEFAULT_K", "DEFAULT_ROW_LIMIT",
    "GRADE_ITEMS", "KINDS", "LIMITED_DATA_SET", "MODALITIES", "SAFE_HARBOR", "SCHEMES", "SET_EXPORT_LIMIT",
    "TRIAL_CANDIDATE_IDENTITIES", "CohortDefinition", "CohortItem", "CriteriaGroup", "Criterion", "ExportRequest", "ExportResult", "ExportSettings",
    "ExportVariable", "InvalidDefinition", "TrialTemplate", "approve_request", "candidate_list", "candidate_list_csv",
    "code_labels", "code_list", "cohort_attrition", "cohort_count", "cohort_counts_by", "cohort_definitions",
    "definition_by_id", "export_definition", "own_requests", "save_cohort",
    "cohort_code_labels", "cohort_items", "export_cohort", "export_settings", "export_variables", "list_requests",
    "refuse_request", "set_export_settings", "trial_template", "trial_templates",
    # administration: program statistics, data quality, users, audit, breach detection
    "BREACH_REPORT", "CONTAIN_ACCOUNT", "DATA_QUALITY_RECORDS", "SET_BREACH_RULES", "VIEW_DATA_QUALITY",
    "VIEW_PROGRAM_STATISTICS",
    # users: accounts managed by administrators, forced password change, sign-in history
    "GRANTS", "Account", "AccountError", "PasswordChangeRequired", "SignInAttempt", "create_user", "disable_user",
    "enable_user", "get_user", "list_users", "locked_until", "require_password_change", "reset_password",
    "sign_in_history", "update_user",
    # the audit trail: search, verify, export; every download recorded
    "RECORD_KINDS", "RecordRef", "VerifyResult", "audit_trail", "audit_trail_actions", "audit_trail_csv",
    "readable_detail", "record_download", "trail_table", "verify_audit_trail",
    # data-quality certification
    "CRITERIA", "STANDARDS", "certification", "certification_trend", "completeness_by_site", "quality_records",
    # breach detection: alerts, thresholds, containment, the breach report
    "DEFAULT_RULES", "RULE_TEXT", "WEEKDAYS", "Alert", "BreachReport", "Containment", "acknowledge", "alerts",
    "breach_report", "contain", "parse_threshold", "report_csv", "report_pdf", "rules", "scan", "set_rule",
    # program statistics and the annual report
    "annual_report", "cases_by_facility", "payer_mix", "recurrences_by_site", "registrar_workload", "registry_state",
    "residency", "site_groups_by_year", "timeliness", "treatment_mix",
]
