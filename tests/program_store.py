"""A small linked store for the funding and workload figures: 100 persons with one tumor each, reported by
three facilities (the third a small one), ten of them reported again by a second facility, with patterned
payers, residence, treatment, recurrences and received dates; loaded by two registrars who then decide link
reviews, resolve work items and correct values. The reports as written are kept for independent recounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from registry.principal import Principal
from tests.registry_reports import report, write_reports

FACILITIES = ("1000000001", "2000000002", "3000000003")
SITES = (("C504", "8500", "2", "2"), ("C341", "8140", "1", "1"), ("C619", "8140", "0", "1"), ("C187", "8140", "0", "2"))
PAYERS = ("10", "20", "31", "60", "61", "99", "01")
SURNAMES = ("ABBOTT", "BARNES", "CORTEZ", "DUNCAN", "ELLIS", "FOSTER", "GARCIA", "HOLMES", "INGRAM", "JENSEN")
FIRST_NAMES = ("ANNA", "BETH", "CARL", "DORA", "EVAN", "FLORA", "GUS", "HANNA", "IVAN", "JUNE")
PERSONS = 100
DUPLICATES = 10                  # persons 0-9 are reported by the first and again by the second facility
ANN = Principal("reg-ann", "registrar", frozenset())
BOB = Principal("reg-bob", "registrar", frozenset())
DECIDED, RESOLVED, CORRECTED = 2, 3, 2   # reviews Ann decides, work items Bob resolves, corrections Ann makes


def _facility(p: int) -> str:
    """Persons 0-59 at the first facility, 60-93 at the second, 94-99 at the small third."""
    return FACILITIES[0] if p < 60 else FACILITIES[1] if p < 94 else FACILITIES[2]


def _lag(facility: str, p: int) -> int:
    """Days from diagnosis to receipt: the first facility fast, the second slower, the third late."""
    return {FACILITIES[0]: 15 + 8 * (p % 20), FACILITIES[1]: 120 + 13 * (p % 25), FACILITIES[2]: 300 + 60 * (p % 6)}[facility]


def _items(p: int, facility: str) -> dict[str, str]:
    site, histology, laterality, sex = SITES[p % len(SITES)]
    cycle = p // len(SITES)   # independent of the site: every site has every year, payer and treatment
    diagnosed = date((2018, 2019, 2020, 2021, 2022, 2022, 2022, 2022)[cycle % 8], 1 + p % 12, 1 + p % 27)
    received = diagnosed + timedelta(days=_lag(facility, p))
    items = {"nameLast": SURNAMES[p % 10], "nameFirst": FIRST_NAMES[p // 10], "dateOfBirth": f"{1940 + p % 30}0{1 + p % 9}15",
             "socialSecurityNumber": f"{600000000 + p * 7919}", "sex": sex, "primarySite": site,
             "histologicTypeIcdO3": histology, "laterality": laterality,
             "dateOfDiagnosis": diagnosed.strftime("%Y%m%d"), "dateCaseReportReceived": received.strftime("%Y%m%d"),
             "primaryPayerAtDx": PAYERS[p % len(PAYERS)],
             "addrAtDxState": "ZZ" if p == 50 else "MO" if p % 13 == 0 else "KS",
             "rxSummSurgPrimSite": ("30", "00", "99")[p % 3], "rxSummRadiation": ("1", "0")[cycle % 2],
             "rxSummChemo": ("01", "00", "99", "00")[cycle % 4]}
    if cycle % 3 == 0:
        items.update(recurrenceType1st=("13", "22", "62")[p % 3],
                     recurrenceDate1st=(diagnosed + timedelta(days=400)).strftime("%Y%m%d"))
    elif cycle % 3 == 1:
        items["recurrenceType1st"] = "00"
    return items


def program_reports() -> pd.DataFrame:
    """Every report as written: person, file (a or b), reporting facility and its tumor items."""
    rows = []
    for p in range(PERSONS):
        facility = _facility(p)
        rows.append({"person": p, "file": "a" if facility == FACILITIES[0] else "b", "number": f"{20000000 + p}",
                     **_items(p, facility), "reportingFacility": facility})
    for p in range(DUPLICATES):   # the same tumor again, from the second facility under its own number
        rows.append({"person": p, "file": "b", "number": f"{70000000 + p}", **_items(p, FACILITIES[1]),
                     "reportingFacility": FACILITIES[1]})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class ProgramStore:
    """The store, the reports as written and the month the workload happened in."""

    db: Path
    reports: pd.DataFrame
    month: str


def build_program_store(root: Path) -> ProgramStore:
    """Ingest file a (loaded by Ann) and file b (loaded by Bob), linked; then Ann decides DECIDED link reviews,
    Bob resolves RESOLVED work items (linkage questions synced onto the worklist) and Ann makes CORRECTED
    corrections."""
    from pipelines.load import ingest_file
    from registry import worklist
    from registry.corrections import correct
    from registry.link_review import ReviewPair, decide, queue_pairs, review_queue
    from registry.linkage_store import patient_keys
    from registry.operational_store import open_operational_store
    from registry.store import read_connection

    reports = program_reports()
    db = root / "store" / "registry.duckdb"
    for name, user in (("a", ANN.user), ("b", BOB.user)):
        written = [report(row["reportingFacility"], row["number"],
                          **{k: v for k, v in row.items() if isinstance(v, str) and k not in ("file", "number", "reportingFacility")})
                   for row in reports[reports["file"] == name].to_dict("records")]
        ingest_file(write_reports(root / f"{name}.xml", written), db_path=db, user=user)
    ops = open_operational_store(db)
    with read_connection(db) as con:
        keys = sorted(patient_keys(con)["natural_key"])
        tumors = [int(r[0]) for r in con.execute("SELECT tumor_id FROM registry_tumor ORDER BY tumor_id LIMIT ?",
                                                 [CORRECTED]).fetchall()]
    queue_pairs(ops, [ReviewPair("patient", keys[2 * k], keys[2 * k + 1], 3.0) for k in range(DECIDED + RESOLVED)])
    worklist.sync_worklist(db, ops)
    for item in worklist.list_items(BOB, ops, status="open")[:RESOLVED]:
        worklist.resolve_item(BOB, ops, item.work_item_id, "checked")
    for item in review_queue(ops, ANN, limit=DECIDED):
        decide(ops, ANN, item.review_id, "different", "not the same person")
    for tumor_id in tumors:
        correct(ANN, db, ops, tumor_id=tumor_id, item="overRideAgeSiteMorph", new_value="1", reason="reviewed")
    return ProgramStore(db, reports, ops.now().strftime("%Y-%m"))
