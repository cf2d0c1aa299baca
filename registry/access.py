"""Who may do what: the one access decision, `allowed(principal, action)`, read from a table of actions x roles.

The table is data (`registry/data/access.csv`): one row per action, a column per role holding `yes`, `no`
or `grant:NAME` (allowed when the caller holds that grant). Every check in `registry/` and the dashboard
(page visibility included) asks `allowed` or `require`; nothing else compares roles. Release decisions
(which columns, which counts) stay in `registry.privacy` and `registry.release`, which ask this module
whether the caller may read identified records or unsuppressed statistics.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

from registry import audit
from registry.errors import AccessDenied
from registry.operational import OperationalStore
from registry.principal import ROLES, Principal

# Actions other modules ask about by name (the table has them all).
READ_IDENTIFIED = "read-identified-records"
READ_LIMITED_DATA_SET = "read-limited-data-set"
READ_DEIDENTIFIED = "read-deidentified-records"
READ_AGGREGATES = "read-aggregates"
READ_UNSUPPRESSED = "read-unsuppressed-statistics"
READ_POPULATION = "read-population"
VIEW_STORE_OVERVIEW = "view-store-overview"
VIEW_INGEST_BATCHES = "view-ingest-batches"
MANAGE_USERS = "manage-users"
CHANGE_OWN_PASSWORD = "change-own-password"
VIEW_AUDIT_TRAIL = "view-audit-trail"
FIND_PATIENT = "find-patient"
LINK_REVIEW = "link-review"
RECORD_VIEW = "record-view"
CORRECTION = "correction"
COHORT_COUNT = "cohort-count"
COHORT_EXPORT_DEIDENTIFIED = "cohort-export-deidentified"
COHORT_EXPORT_LIMITED_DATA_SET = "cohort-export-limited-data-set"
APPROVE_EXPORT = "approve-export"
SET_EXPORT_LIMIT = "set-export-limit"
TRIAL_CANDIDATE_IDENTITIES = "trial-candidate-identities"
VIEW_PROGRAM_STATISTICS = "view-program-statistics"
VIEW_DATA_QUALITY = "view-data-quality"
DATA_QUALITY_RECORDS = "data-quality-records"
SET_BREACH_RULES = "set-breach-rules"
CONTAIN_ACCOUNT = "contain-account"
BREACH_REPORT = "breach-report"


@cache
def access_table() -> dict[str, dict[str, str]]:
    """action -> {role: rule}: the table as shipped, checked once (every role has a rule of a known form)."""
    text = resources.files("registry").joinpath("data/access.csv").read_text(encoding="utf-8")
    table: dict[str, dict[str, str]] = {}
    for row in csv.DictReader(text.splitlines()):
        rules = {role: row[role].strip() for role in ROLES}
        for role, rule in rules.items():
            if rule not in ("yes", "no") and not rule.startswith("grant:"):
                raise ValueError(f"access.csv, action {row['action']}: {role} has {rule!r}; use yes, no or grant:NAME")
        table[row["action"]] = rules
    return table


def allowed(principal: Principal, action: str) -> bool:
    """Whether `principal` may do `action` (an action of the access table)."""
    rules = access_table().get(action)
    if rules is None:
        raise ValueError(f"{action!r} is not an action of the access table")
    rule = rules[principal.role]
    return rule == "yes" or (rule.startswith("grant:") and principal.has_grant(rule.removeprefix("grant:")))


def require(principal: Principal, action: str) -> None:
    """Raise AccessDenied unless `principal` may do `action`."""
    if not allowed(principal, action):
        raise AccessDenied(f"{principal.user} ({principal.role}) may not {action.replace('-', ' ')}")


def require_audited(principal: Principal, action: str, ops: OperationalStore, /, **detail: object) -> None:
    """`require`, with a refusal written to the audit trail (`access-refused`: the action and `detail`) before
    AccessDenied is raised: who tried to read or change a record they may not is itself a record."""
    if not allowed(principal, action):
        audit.record_event(ops, principal, audit.ACCESS_REFUSED, action=action, **detail)
        require(principal, action)
