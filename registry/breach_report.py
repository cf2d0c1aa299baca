"""The breach report: every record a user viewed or exported in a time window, with when and how, naming the
people whose records they were and their address at diagnosis, as a breach notification (45 CFR 164.404)
needs.

One row per (audit event, registry patient), with the registry tumors the event concerned. Events are
resolved to registry patients from what they carry: a record view names its patient and tumors; a worklist
view its work items (-> their registry tumors); a link-review view its pair's source records (-> the registry
patients and tumors they are linked to now); a patient search the candidates it showed; a trial-candidate list
and a cohort export their definition, which is run again (at the export's data vintage when the event
records it; a row's note says when the store has changed since, or when the event records no vintage). Events
that do not identify their records (an edit report, a query letter, a dashboard download) get one row saying
what they were. The report is for administrators (BREACH_REPORT) and is itself audited (`breach-report`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from registry.access import BREACH_REPORT, require_audited
from registry.audit import AuditEvent, record_event
from registry.audit_search import user_events_between
from registry.cohort import data_vintage
from registry.cohort_definition import parse_definition
from registry.cohort_query import resolve_as_of, select_tumors
from registry.errors import InvalidRequest, RegistryError
from registry.link_review import reviews_by_id
from registry.operational import OperationalStore, timestamp
from registry.principal import Principal
from registry.printable import Document, Section, render
from registry.store import read_connection
from registry.worklist import items_by_id

REPORT_ACTION = "breach-report"
RECORD_ACTIONS = ("record-view", "find-patient", "trial-candidate-list", "trial-candidate-export", "cohort-export",
                  "export", "download", "correction")
DEFINITION_ACTIONS = ("trial-candidate-list", "trial-candidate-export", "cohort-export")
COLUMNS = ("seq", "occurred_at", "action", "how", "patient_id", "tumor_ids", "name_last", "name_first",
           "addr_at_dx_no_street", "addr_at_dx_city", "addr_at_dx_state", "addr_at_dx_postal_code", "note")
NAME_ITEMS = {"nameLast": "name_last", "nameFirst": "name_first"}
ADDRESS_ITEMS = {"addrAtDxNoStreet": "addr_at_dx_no_street", "addrAtDxCity": "addr_at_dx_city",
                 "addrAtDxState": "addr_at_dx_state", "addrAtDxPostalCode": "addr_at_dx_postal_code"}

# (registry patient or None, registry tumors, note) an event concerned
Target = tuple[int | None, list[int], str]


@dataclass(frozen=True)
class BreachReport:
    """The report of one user and window: its rows (`COLUMNS`) and how many audit events they come from."""

    user: str
    start: str
    end: str
    events: int
    rows: pd.DataFrame

    @property
    def patients(self) -> set[int]:
        """The registry patients whose records the user viewed or exported."""
        return {int(p) for p in self.rows["patient_id"].dropna()}


def _ints(values: Any) -> list[int]:
    return [int(v) for v in values if isinstance(v, int) and not isinstance(v, bool)] if isinstance(values, list) else []


def _how(event: AuditEvent) -> str:
    """The way the record was reached: the action and the page, purpose or document it names."""
    detail = event.detail
    parts = [str(detail[key]) for key in ("purpose", "page", "document", "kind", "format") if detail.get(key)]
    return f"{event.action} ({', '.join(parts)})" if parts else event.action


class _Resolver:
    """Turns events into the registry patients and tumors they concerned, reading each store once per kind."""

    def __init__(self, db_path: Path, ops: OperationalStore, found: list[AuditEvent]) -> None:
        self.db_path = db_path
        self.items = items_by_id(ops, sorted({i for e in found for i in [*_ints(e.detail.get("work_items")),
                                                                            *_ints([e.detail.get("work_item_id")])]}))
        self.reviews = reviews_by_id(ops, sorted(set(_ints([e.detail.get("review_id") for e in found]))))
        self.vintage = data_vintage(db_path) if any(e.action in DEFINITION_ACTIONS for e in found) else None
        kinds = {e.seq: self.reviews[e.detail["review_id"]].kind for e in found
                 if isinstance(e.detail.get("review_id"), int) and e.detail["review_id"] in self.reviews}
        sources = {kind: sorted({r for e in found if kinds.get(e.seq) == kind for r in _ints(e.detail.get("records"))})
                   for kind in ("patient", "tumor")}
        with read_connection(db_path) as con:
            self.source_patient = self._map(con, "SELECT source_patient_id, registry_patient_id FROM patient_link "
                                                 "WHERE list_contains(?, source_patient_id)", sources["patient"])
            self.source_tumor = self._map(con, "SELECT source_tumor_id, registry_tumor_id FROM tumor_link "
                                               "WHERE list_contains(?, source_tumor_id)", sources["tumor"])
            tumors = {item.registry_tumor_id for item in self.items.values()} | set(self.source_tumor.values()) | {
                int(e.detail["entity_id"]) for e in found if e.action == "correction" and e.detail.get("entity") ==
                "tumor" and isinstance(e.detail.get("entity_id"), int)}
            self.tumor_patient = self._map(con, "SELECT tumor_id, patient_id FROM registry_tumor "
                                                "WHERE list_contains(?, tumor_id)", sorted(tumors))

    @staticmethod
    def _map(con: Any, sql: str, ids: list[int]) -> dict[int, int]:
        return {int(k): int(v) for k, v in con.execute(sql, [ids]).fetchall()} if ids else {}

    def _by_patient(self, tumors: Iterable[int], note: str = "") -> list[Target]:
        grouped: dict[int | None, list[int]] = {}
        for tumor in tumors:
            grouped.setdefault(self.tumor_patient.get(tumor), []).append(tumor)
        return [(patient, sorted(set(ids)), note if patient is not None else f"{note} registry tumors no longer in "
                                                                            "the store".strip())
                for patient, ids in grouped.items()]

    def targets(self, event: AuditEvent) -> list[Target]:
        """What one event concerned."""
        detail, action = event.detail, event.action
        if action in ("record-view", "correction") and isinstance(detail.get("patient_id"), int):
            return [(int(detail["patient_id"]), _ints(detail.get("tumors")), "")]
        if action == "correction" and isinstance(detail.get("entity_id"), int):
            if detail.get("entity") == "patient":
                return [(int(detail["entity_id"]), [], "")]
            return self._by_patient([int(detail["entity_id"])])
        if "work_items" in detail or isinstance(detail.get("work_item_id"), int):
            ids = _ints(detail.get("work_items")) + _ints([detail.get("work_item_id")])
            missing = [i for i in ids if i not in self.items]
            note = f"work items {', '.join(map(str, missing))} no longer exist" if missing else ""
            found = self._by_patient([self.items[i].registry_tumor_id for i in ids if i in self.items])
            return found or [(None, [], note or "a worklist view that showed no work item")]
        if isinstance(detail.get("review_id"), int):
            return self._review(detail)
        if action == "find-patient":
            candidates = _ints(detail.get("candidates"))
            return [(patient, [], "shown in the search results") for patient in candidates] or \
                [(None, [], "a search that found no patient")]
        if action in DEFINITION_ACTIONS:
            return self._definition(event)
        what = ", ".join(f"{key} {detail[key]}" for key in ("document", "facility", "batch_id", "page", "rows")
                         if detail.get(key) is not None)
        return [(None, [], f"{what}: the audit event does not identify the records".lstrip(": "))]

    def _review(self, detail: dict[str, Any]) -> list[Target]:
        review = self.reviews.get(int(detail["review_id"]))
        records = _ints(detail.get("records"))
        if review is None:
            return [(None, [], f"link review {detail['review_id']} no longer exists (source records "
                               f"{', '.join(map(str, records))})")]
        if review.kind == "patient":
            patients = sorted({self.source_patient[r] for r in records if r in self.source_patient})
            return [(patient, [], "a source report of this patient, in a link review") for patient in patients] or \
                [(None, [], "source patient records not linked to a registry patient")]
        tumors = [self.source_tumor[r] for r in records if r in self.source_tumor]
        return self._by_patient(tumors, "a source report of this tumor, in a link review") or \
            [(None, [], "source tumor records not linked to a registry tumor")]

    def _definition(self, event: AuditEvent) -> list[Target]:
        """The definition run again: at the export's data vintage when recorded, noting what may differ."""
        detail = event.detail
        try:
            definition = parse_definition(detail.get("definition"))
        except RegistryError as exc:
            return [(None, [], f"the definition cannot be run again: {exc}")]
        vintage = detail.get("data_vintage")
        if vintage is None:
            note = "the event records no data vintage: the definition run on the store as it is now"
        elif vintage != self.vintage:
            note = (f"the store changed since the export (data vintage {vintage}, now {self.vintage}): the "
                    "definition run on the store as it is now")
        else:
            note = f"the definition run again at the export's data vintage {vintage}"
        selection = select_tumors(self.db_path, definition,
                                  as_of=resolve_as_of(definition, vintage if isinstance(vintage, str) else self.vintage))
        rows = detail.get("rows")
        if isinstance(rows, int) and rows != len(selection):
            note += f"; the event recorded {rows} rows, the definition now selects {len(selection)} tumors"
        grouped: dict[int, list[int]] = {}
        for tumor, patient in zip(selection["tumor_id"], selection["patient_id"], strict=True):
            grouped.setdefault(int(patient), []).append(int(tumor))
        return [(patient, tumors, note) for patient, tumors in grouped.items()] or [(None, [], f"{note}: no tumor")]


def _identities(db_path: Path, patients: list[int]) -> dict[int, dict[str, str | None]]:
    """Each registry patient's name (from its newest report) and address at diagnosis (from its most recently
    diagnosed tumor's newest report): whom to notify and where."""
    with read_connection(db_path) as con:
        names = con.execute(f"""
            SELECT pl.registry_patient_id, i.naaccr_id, arg_max(i.value, p.patient_id)
            FROM patient_link pl JOIN patient p ON p.patient_id = pl.source_patient_id
            JOIN source_item i ON i.batch_id = p.batch_id AND i.level = 1 AND i.entity_seq = p.patient_seq
            WHERE list_contains(?, pl.registry_patient_id) AND i.naaccr_id IN ({', '.join('?' * len(NAME_ITEMS))})
              AND trim(i.value) <> ''
            GROUP BY ALL""", [patients, *NAME_ITEMS]).fetchall()
        addresses = con.execute(f"""
            SELECT rt.patient_id, i.naaccr_id,
                   arg_max(i.value, (rt.date_of_diagnosis, rt.tumor_id, tl.source_tumor_id))
            FROM registry_tumor rt JOIN tumor_link tl ON tl.registry_tumor_id = rt.tumor_id
            JOIN tumor s ON s.tumor_id = tl.source_tumor_id
            JOIN source_item i ON i.batch_id = s.batch_id AND i.level = 2 AND i.entity_seq = s.tumor_seq
            WHERE list_contains(?, rt.patient_id) AND i.naaccr_id IN ({', '.join('?' * len(ADDRESS_ITEMS))})
              AND trim(i.value) <> ''
            GROUP BY ALL""", [patients, *ADDRESS_ITEMS]).fetchall()
    found: dict[int, dict[str, str | None]] = {p: {} for p in patients}
    for patient, item, value in names:
        found[int(patient)][NAME_ITEMS[item]] = str(value)
    for patient, item, value in addresses:
        found[int(patient)][ADDRESS_ITEMS[item]] = str(value)
    return found


def breach_report(principal: Principal, db_path: Path, ops: OperationalStore, user: str, start: datetime,
                  end: datetime) -> BreachReport:
    """Every record `user` viewed or exported from `start` to `end` (see the module doc); administrators
    (BREACH_REPORT); audited as `breach-report` with the user, the window and how many rows and patients."""
    require_audited(principal, BREACH_REPORT, ops, target=user)
    if end <= start:
        raise InvalidRequest("a breach report's window must end after it starts")
    first, last = timestamp(start), timestamp(end)
    with ops.connect() as con:
        found = user_events_between(con, user, RECORD_ACTIONS, first, last)
    resolver = _Resolver(db_path, ops, found)
    rows: list[dict[str, Any]] = []
    for event in found:
        for patient, tumors, note in resolver.targets(event):
            rows.append({"seq": event.seq, "occurred_at": event.occurred_at, "action": event.action,
                         "how": _how(event), "patient_id": patient, "tumor_ids": " ".join(map(str, tumors)),
                         "note": note})
    frame = pd.DataFrame(rows, columns=[c for c in COLUMNS if c not in (*NAME_ITEMS.values(), *ADDRESS_ITEMS.values())])
    patients = sorted({int(p) for p in frame["patient_id"].dropna()})
    identities = _identities(db_path, patients) if patients else {}
    for column in (*NAME_ITEMS.values(), *ADDRESS_ITEMS.values()):
        frame[column] = [identities.get(int(p), {}).get(column) if pd.notna(p) else None for p in frame["patient_id"]]
    frame["patient_id"] = frame["patient_id"].astype("Int64")
    report = BreachReport(user, first, last, len(found), frame[list(COLUMNS)])
    record_event(ops, principal, REPORT_ACTION, target=user, start=first, end=last, events=len(found),
                 rows=len(frame), patients=len(patients))
    return report


def report_csv(report: BreachReport) -> bytes:
    """The report as CSV (UTF-8, a header row)."""
    return report.rows.to_csv(index=False).encode("utf-8")


def report_pdf(report: BreachReport, *, generated: datetime | None = None) -> bytes:
    """The report as a printable PDF (the registry's document layout)."""
    table = report.rows.drop(columns=["addr_at_dx_state"]).fillna("")
    return render(Document(
        f"Breach report: {report.user}",
        [f"Every record {report.user} viewed or exported from {report.start} to {report.end} (UTC).",
         f"{report.events} audit events, {len(report.rows)} rows, {len(report.patients)} registry patients."],
        [Section("Records viewed or exported", ["One row per audit event and registry patient; the address is "
                                                "the patient's address at diagnosis."], table)]),
        generated=generated)
