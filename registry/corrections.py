"""Registry-level corrections: a registrar sets a registry patient's or tumor's value, with a reason.

The source reports never change. A correction is kept in `registry_correction` (who, when, why, the value
it replaced, the work item it answers) and sets the value of the registry entity (`registry_tumor`,
`registry_patient`) with the columns derived from it, so statistics (`registry.cohort` reads the registry
entities), the consolidated export and the record view use it; `consolidated_value` then says the value
comes from a correction. Consolidation applies the latest correction of each item again after every relink
(`registry.store_writes._consolidate`), so a correction survives relinks and re-ingests. An override flag
(`overRideSiteType`, ...) is kept the same way and read by the edits and the export. Every correction is
audited (old -> new) in the same transaction; only registrars may correct.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from registry.access import CORRECTION, RECORD_VIEW, require, require_audited
from registry.audit import record_event
from registry.correctable_items import LEVEL_NAMES, PATIENT, TUMOR, checked_value, correctable
from registry.edits import run_edits
from registry.errors import InvalidRequest
from registry.operational import OperationalStore
from registry.principal import Principal
from registry.store import read_connection
from registry.store_writes import CorrectionRow, write_correction


@dataclass(frozen=True)
class Correction:
    """One registry-level correction as kept: the entity (level 1 patient, 2 tumor), the NAACCR item, the value
    it replaced and the new one (None clears an override flag), why, the work item it answers, who and when."""

    correction_id: int
    level: int
    entity_id: int
    item: str
    old_value: str | None
    new_value: str | None
    reason: str
    work_item_id: int | None
    corrected_by: str
    corrected_at: str

    @property
    def entity(self) -> str:
        """"registry tumor 12" or "registry patient 3"."""
        return f"registry {LEVEL_NAMES[self.level]} {self.entity_id}"


def _entity(tumor_id: int | None, patient_id: int | None) -> tuple[int, int]:
    """(level, id) of exactly one of a registry tumor id and a registry patient id."""
    if tumor_id is not None and patient_id is None:
        return TUMOR, int(tumor_id)
    if patient_id is not None and tumor_id is None:
        return PATIENT, int(patient_id)
    raise InvalidRequest("give exactly one of a registry tumor id and a registry patient id")


def correct(principal: Principal, db_path: Path, ops: OperationalStore, *, tumor_id: int | None = None,
            patient_id: int | None = None, item: str, new_value: str, reason: str,
            work_item_id: int | None = None) -> Correction:
    """Correct one item of a registry tumor or patient (registrars only; audited with old -> new and the reason).

    `item` is a NAACCR item id (primarySite, histologicTypeIcdO3, dateOfDiagnosis, dateOfBirth, sex, race1,
    countyAtDx, ...) or an override flag (overRideSiteType, ...; 1 sets it, blank clears it). The value is
    checked against the item's NAACCR definition; a reason is required. The edits run again on the tumors
    the correction touches (`rerun_edits`).
    """
    require_audited(principal, CORRECTION, ops, tumor_id=tumor_id, patient_id=patient_id, item=item)
    level, entity_id = _entity(tumor_id, patient_id)
    definition = correctable(item)
    if definition.level != level:
        wanted = "tumor_id" if definition.level == TUMOR else "patient_id"
        raise InvalidRequest(f"{item} is a {LEVEL_NAMES[definition.level]} item: correct it with {wanted}")
    value = checked_value(definition, new_value)
    why = reason.strip()
    if not why:
        raise InvalidRequest(f"{item} = {new_value!r}: a correction needs a reason (kept with it and audited)")
    moment = ops.now()

    def audit(correction_id: int, old_value: str | None) -> None:
        record_event(ops, principal, CORRECTION, correction_id=correction_id, entity=LEVEL_NAMES[level],
                     entity_id=entity_id, item=item, old_value=old_value, new_value=value, reason=why,
                     work_item_id=work_item_id)

    written = write_correction(db_path, CorrectionRow(level, entity_id, item, value, why, work_item_id,
                                                      principal.user, moment), audit)
    rerun_edits(db_path, written.tumor_ids if level == PATIENT else (entity_id,), run_by=principal.user)
    return Correction(written.correction_id, level, entity_id, item, written.old_value, value, why, work_item_id,
                      principal.user, moment.isoformat())


def rerun_edits(db_path: Path, registry_tumor_ids: tuple[int, ...], *, run_by: str) -> None:
    """Run the edits again on the registry tumors a correction touched (their work items follow at the next
    worklist sync: `registry.worklist.apply_correction` syncs at once)."""
    run_edits(db_path, registry_tumor_ids=list(registry_tumor_ids), run_by=run_by)


_HISTORY = """SELECT correction_id, level, entity_id, item, old_value, new_value, reason, work_item_id,
                     corrected_by, strftime(corrected_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%f+00:00')
              FROM registry_correction"""


def history(con: Any, level: int, entity_ids: list[int]) -> list[Correction]:
    """Corrections of registry entities of one level, newest first (for `registry` readers)."""
    if not entity_ids:
        return []
    rows = con.execute(f"{_HISTORY} WHERE level = ? AND list_contains(?, entity_id) "
                       "ORDER BY corrected_at DESC, correction_id DESC", [level, entity_ids]).fetchall()
    return [Correction(int(r[0]), int(r[1]), int(r[2]), str(r[3]), r[4], r[5], str(r[6]),
                       None if r[7] is None else int(r[7]), str(r[8]), str(r[9])) for r in rows]


def corrections_of(principal: Principal, db_path: Path, *, tumor_id: int | None = None,
                   patient_id: int | None = None) -> list[Correction]:
    """The corrections of a registry tumor or patient, newest first (registrars only)."""
    require(principal, RECORD_VIEW)
    level, entity_id = _entity(tumor_id, patient_id)
    with read_connection(db_path) as con:
        return history(con, level, [entity_id])



def corrections_by_month(db_path: Path) -> pd.DataFrame:
    """Registry-level corrections per person and month (UTC): ``person``, ``month`` (YYYY-MM), ``count`` (for
    the registrar workload of `registry.program_statistics`; released there)."""
    with read_connection(db_path) as con:
        return con.execute(
            """SELECT corrected_by AS person, strftime(corrected_at AT TIME ZONE 'UTC', '%Y-%m') AS month,
                      count(*) AS count
               FROM registry_correction GROUP BY ALL ORDER BY month, person""").df()
