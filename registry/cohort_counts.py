"""Cohort counts as a caller may see them: attrition, the cohort's size, and its size by county or facility;
and cohort definitions saved per user and shared by id.

Every function takes the caller's `Principal` first and needs the `cohort-count` action. Registrars see the
counts as computed. For anyone else every count goes through `registry.release`: a count of 1-15 is withheld;
in an attrition table a step whose tumors (or persons) differ by 1-15 from the previous shown step is
withheld, since the difference would count a small group; and each shown count is screened against and
recorded in the user's ledger under `{"measure": "cohort_tumors" | "cohort_persons", **ledger_filter(groups)}`
(`registry.cohort_definition.ledger_filter`: one dimension per criterion kind holding its groups' canonical
keys, which name their criteria, not the group). Two definitions that differ by one added, removed or
changed group differ in one dimension and count as nested, so their counts are never released 1-15 apart,
whichever is viewed first.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from registry.access import COHORT_COUNT, READ_UNSUPPRESSED, allowed, require, require_audited
from registry.audit import record_event
from registry.cohort import data_vintage
from registry.cohort_definition import CohortDefinition, ledger_filter
from registry.cohort_query import attrition, counts_by, resolve_as_of
from registry.errors import InvalidDefinition, InvalidRequest
from registry.operational import (
    OperationalStore,
    SavedDefinition,
    list_definitions,
    name_key,
    save_definition,
)
from registry.operational import definition_by_id as saved_by_id
from registry.principal import Principal
from registry.release import Provenance, Release, bare, release_count, release_table
from registry.suppression import DEFAULT_THRESHOLD, DIFFERENCING, REASON, SUPPRESSED, primary_reason

MEASURES = {"tumors": "cohort_tumors", "persons": "cohort_persons"}
STEP_DIFFERENCE = f"differencing: differs by 1-{DEFAULT_THRESHOLD - 1} from the previous shown step"
COHORT_KIND = "cohort"                       # saved_definition.kind of a cohort definition
OPENED_SHARED = "cohort-definition-open"     # audit action: a user opened another user's saved definition


def _applied(db_path: Path, definition: CohortDefinition) -> tuple[str | None, date]:
    """The data vintage and the as-of date one release applies the definition at, read once for the counts,
    the ledger and the provenance alike."""
    vintage = data_vintage(db_path)
    return vintage, resolve_as_of(definition, vintage)


def _provenance(definition: CohortDefinition, vintage: str | None, as_of: date, method: str) -> Provenance:
    # The filter is the definition as applied: its as-of date resolved (the data vintage's day by default).
    return Provenance(method=method, data_vintage=vintage, filter={**definition.to_dict(), "as_of": as_of.isoformat()})


def _released_steps(principal: Principal, db_path: Path, definition: CohortDefinition, raw: pd.DataFrame,
                    as_of: date) -> pd.DataFrame:
    """The attrition steps a non-registrar may see (see the module docstring); registrars get them all."""
    table = raw.copy()
    steps = len(raw)
    reasons: list[str | None] = [None] * steps
    if not allowed(principal, READ_UNSUPPRESSED):
        for column, measure in MEASURES.items():
            values = [int(v) for v in raw[column].tolist()]
            shown: list[float] = []
            previous: int | None = None
            for step, value in enumerate(values):
                reason = None
                if 1 <= value < DEFAULT_THRESHOLD:
                    reason = primary_reason(DEFAULT_THRESHOLD)
                elif previous is not None and 1 <= abs(previous - value) < DEFAULT_THRESHOLD:
                    reason = STEP_DIFFERENCE
                elif release_count(principal, db_path, value,
                                   {"measure": measure, **ledger_filter(definition.groups[:step], as_of)}) is None:
                    reason = DIFFERENCING
                if reason is None:
                    previous = value
                reasons[step] = reasons[step] or reason
                shown.append(float("nan") if reason else float(value))
            table[column] = shown
    table[SUPPRESSED] = [reason is not None for reason in reasons]
    table[REASON] = pd.Series(reasons, dtype=object)
    return table


def cohort_attrition(principal: Principal, db_path: Path, definition: CohortDefinition) -> Release:
    """The cohort's attrition as the caller may see it: `step` (0 = all registry tumors, then one per group),
    `label`, `tumors` and `persons` after each group (cumulative), `suppressed`, `suppression_reason`."""
    require(principal, COHORT_COUNT)
    vintage, as_of = _applied(db_path, definition)
    raw = attrition(db_path, definition, as_of=as_of)
    return Release(table=bare(_released_steps(principal, db_path, definition, raw, as_of)),
                   provenance=_provenance(definition, vintage, as_of, "cohort attrition"))


def cohort_count(principal: Principal, db_path: Path, definition: CohortDefinition) -> Release:
    """How many registry tumors and persons the definition selects, as the caller may see them: the counts
    `tumors` and `persons` (None when withheld), and the same as a one-row table."""
    require(principal, COHORT_COUNT)
    vintage, as_of = _applied(db_path, definition)
    raw = attrition(db_path, definition, as_of=as_of)
    last = {column: int(raw[column].tolist()[-1]) for column in MEASURES}
    if allowed(principal, READ_UNSUPPRESSED):
        released: dict[str, int | None] = dict(last)
    else:
        ledger = ledger_filter(definition.groups, as_of)
        released = {column: release_count(principal, db_path, last[column], {"measure": measure, **ledger})
                    for column, measure in MEASURES.items()}
    table = pd.DataFrame({"tumors": [released["tumors"]], "persons": [released["persons"]]}, dtype="Float64")
    table[SUPPRESSED] = any(value is None for value in released.values())
    table[REASON] = primary_reason(DEFAULT_THRESHOLD) + " or differencing" if table.at[0, SUPPRESSED] else None
    return Release(table=bare(table), provenance=_provenance(definition, vintage, as_of, "cohort count"),
                   counts=released)


def cohort_counts_by(principal: Principal, db_path: Path, definition: CohortDefinition, *,
                     by: str = "county_fips") -> Release:
    """The cohort's `tumors` and `persons` by county at diagnosis (`county_fips`) or reporting facility
    (`reporting_facility`), as the caller may see them: small cells, their complements and cells differing
    by 1-15 from earlier releases withheld (a row's tumors with its persons)."""
    require(principal, COHORT_COUNT)
    vintage, as_of = _applied(db_path, definition)
    raw = counts_by(db_path, definition, by, as_of=as_of)
    base: dict[str, Any] = ledger_filter(definition.groups, as_of)
    # Persons <= tumors, so suppressing on persons withholds every row whose tumors are 1-15 too.
    table = release_table(principal, db_path, raw[[by, "persons", "tumors"]], base=base, measure=MEASURES["persons"],
                          dimensions=[by], count_column="persons", derived_columns=["tumors"],
                          also={"tumors": MEASURES["tumors"]})
    return Release(table=bare(table), provenance=_provenance(definition, vintage, as_of, f"cohort counts by {by}"))


# ---- saved definitions ---------------------------------------------------------------------------------

def save_cohort(principal: Principal, ops: OperationalStore, definition: CohortDefinition) -> SavedDefinition:
    """Save (or replace) the caller's definition under its name; others may open it by its id."""
    require(principal, COHORT_COUNT)
    if not definition.name.strip():
        raise InvalidDefinition("name: a saved definition needs a name")
    return save_definition(ops, principal.user, COHORT_KIND, definition.name, definition.to_dict())


def cohort_definitions(principal: Principal, ops: OperationalStore) -> list[SavedDefinition]:
    """The caller's saved cohort definitions, by name."""
    require(principal, COHORT_COUNT)
    return list_definitions(ops, principal.user, COHORT_KIND)


def definition_by_id(principal: Principal, ops: OperationalStore, definition_id: int
                     ) -> tuple[SavedDefinition, CohortDefinition]:
    """A saved cohort definition shared by id, with its checked definition. Opening another user's
    definition is audited (`cohort-definition-open`, its id and owner); a refusal is audited too."""
    require_audited(principal, COHORT_COUNT, ops, definition_id=definition_id)
    saved = saved_by_id(ops, definition_id)
    if saved is None or saved.kind != COHORT_KIND:
        raise InvalidRequest(f"there is no saved cohort definition {definition_id}")
    if name_key(saved.owner) != name_key(principal.user):
        record_event(ops, principal, OPENED_SHARED, definition_id=definition_id, owner=saved.owner, name=saved.name)
    return saved, CohortDefinition.from_json(saved.body)
