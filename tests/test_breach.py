"""Breach detection over the audit trail (bursts of record views, off hours, export volume, refusals, a
patient sharing the user's family name), containment in one action and the breach report."""

from __future__ import annotations

import json
import logging
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from registry import accounts, breach
from registry.audit import events, record_event
from registry.breach_report import breach_report, report_csv, report_pdf
from registry.errors import AccessDenied, AuthenticationError, InvalidRequest, SessionEnded
from registry.operational import OperationalStore
from registry.operational_store import open_operational_store
from registry.principal import Principal
from registry.record_view import patient_record
from registry.sessions import resume_session, start_session
from registry.store import read_connection
from tests.registry_reports import report, write_reports

ADMIN = Principal("admin1", "administrator")
REGISTRAR = Principal("reg1", "registrar")
RESEARCHER = Principal("res1", "researcher")
PASSWORD = "correct horse battery"
PATIENTS = 200
# Tuesday 3 March 2026, 15:00 UTC = 09:00 in Chicago: working hours by the default rule.
WORKDAY = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = WORKDAY) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture(autouse=True)
def cheap_hasher(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts, "PASSWORD_HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture(scope="module")
def many_patients(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of 200 registry patients, the first named WHITFIELD."""
    from pipelines.load import ingest_file

    root = tmp_path_factory.mktemp("breach")
    reports = [report("1000000001", f"{i:08d}", nameFirst="ALEX", socialSecurityNumber=f"5{i:08d}",
                      nameLast="WHITFIELD" if i == 0 else f"SURNAME{chr(65 + i % 26)}{chr(65 + i // 26 % 26)}",
                      dateOfBirth=f"19{40 + i % 50:02d}0{1 + i % 9}1{i % 10}", addrAtDxCity="WICHITA",
                      addrAtDxNoStreet=f"{i + 1} MAIN ST")
               for i in range(PATIENTS)]
    db = root / "store" / "registry.duckdb"
    ingest_file(write_reports(root / "h.xml", reports), db_path=db, user="tests")
    return db


@pytest.fixture
def db(many_patients: Path, tmp_path: Path) -> Path:
    shutil.copytree(many_patients.parent, tmp_path / "store")
    return tmp_path / "store" / many_patients.name


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ops(db: Path, clock: FakeClock) -> OperationalStore:
    store = open_operational_store(db, clock=clock)
    accounts.create_user(store, REGISTRAR.user, "registrar", password=PASSWORD, must_change_password=False)
    accounts.create_user(store, ADMIN.user, "administrator", password=PASSWORD, must_change_password=False)
    return store


def patient_ids(db: Path) -> list[int]:
    with read_connection(db) as con:
        return [int(r[0]) for r in con.execute("SELECT patient_id FROM registry_patient ORDER BY patient_id").fetchall()]


def whitfield(db: Path) -> int:
    with read_connection(db) as con:
        return int(con.execute("""SELECT DISTINCT l.registry_patient_id FROM patient_link l JOIN patient p
                                  ON p.patient_id = l.source_patient_id WHERE p.patient_id_number = '00000000'"""
                               ).fetchall()[0][0])


def open_alerts(ops: OperationalStore, rule: str | None = None) -> list[breach.Alert]:
    return [a for a in breach.alerts(ADMIN, ops) if rule is None or a.rule == rule]


# ---- the acceptance path: a burst, containment, the report ------------------------------------------------

@pytest.mark.slow
def test_200_records_in_10_minutes_raise_one_alert_containment_ends_the_session_and_the_report_lists_them(
        db: Path, ops: OperationalStore, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    ids = patient_ids(db)
    assert len(ids) == PATIENTS
    other = [i for i in ids if i != whitfield(db)]          # the family-name rule is tested on its own
    opened = other[:PATIENTS - 1] + other[:1]               # 200 record views, 199 distinct patients
    token = start_session(ops, REGISTRAR, source="test")
    start = clock.now
    caplog.set_level(logging.WARNING, logger="oncoregistry.breach")
    for patient in opened:
        patient_record(REGISTRAR, db, ops, patient_id=patient)
        clock.advance(seconds=2.5)                           # 200 views in 500 s
    assert clock.now - start < timedelta(minutes=10)

    [alert] = open_alerts(ops)                               # raised while it happened, no page opened
    assert alert.rule == breach.RECORD_VIEWS and alert.user == REGISTRAR.user and alert.status == "open"
    assert alert.event_count == PATIENTS and alert.evidence["threshold"] == 100
    logged = [json.loads(r.getMessage()) for r in caplog.records if r.name == "oncoregistry.breach"]
    assert [(line["alert_id"], line["rule"], line["user"]) for line in logged] == [
        (alert.alert_id, breach.RECORD_VIEWS, REGISTRAR.user)]
    assert breach.scan(ops, db) == [] and len(open_alerts(ops)) == 1        # idempotent

    assert resume_session(ops, token).principal.user == REGISTRAR.user
    done = breach.contain(ADMIN, ops, REGISTRAR.user, reason="200 records in 8 minutes", alert_id=alert.alert_id)
    assert done.alerts == (alert.alert_id,)
    with pytest.raises(SessionEnded):
        resume_session(ops, token)
    with pytest.raises(AuthenticationError):
        accounts.authenticate(ops, REGISTRAR.user, PASSWORD, source="test")
    [contained] = events(ops, action="account-contained")
    assert contained.detail["reason"] == "200 records in 8 minutes" and contained.detail["alerts"] == [alert.alert_id]
    assert open_alerts(ops)[0].status == "contained"

    found = breach_report(ADMIN, db, ops, REGISTRAR.user, start - timedelta(minutes=1), clock.now)
    assert len(found.rows) == PATIENTS and found.events == PATIENTS
    assert sorted(found.rows["patient_id"]) == sorted(opened) and found.patients == set(opened)
    assert (found.rows["how"] == "record-view (record)").all()
    assert found.rows["name_last"].str.startswith("SURNAME").all() and (found.rows["addr_at_dx_city"] == "WICHITA").all()
    assert found.rows["addr_at_dx_no_street"].str.endswith("MAIN ST").all()
    [audited] = events(ops, action="breach-report")
    assert audited.detail["target"] == REGISTRAR.user and audited.detail["rows"] == PATIENTS
    assert report_csv(found).decode().count("\n") == PATIENTS + 1
    assert report_pdf(found).startswith(b"%PDF")


def test_views_below_the_threshold_or_spread_out_raise_nothing(ops: OperationalStore, clock: FakeClock) -> None:
    for _ in range(99):
        record_event(ops, REGISTRAR, "record-view", purpose="record", patient_id=1, tumors=[])
        clock.advance(seconds=5)
    assert open_alerts(ops) == []
    clock.advance(minutes=10)
    for _ in range(60):                      # 159 views, never 100 within 10 minutes
        record_event(ops, REGISTRAR, "record-view", purpose="record", patient_id=1, tumors=[])
        clock.advance(seconds=11)
    assert open_alerts(ops) == []


def test_an_administrators_thresholds_take_effect_and_a_second_burst_raises_a_second_alert(
        ops: OperationalStore, clock: FakeClock) -> None:
    settings = breach.set_rule(ADMIN, ops, breach.RECORD_VIEWS, views=3, minutes=1)
    assert settings == {"enabled": True, "views": 3, "minutes": 1}
    assert breach.rules(ops)[breach.RECORD_VIEWS]["views"] == 3
    [changed] = events(ops, action="breach-rule-set")
    assert changed.detail["changes"] == {"views": 3, "minutes": 1}
    for _ in range(4):
        record_event(ops, REGISTRAR, "record-view", purpose="record", patient_id=1, tumors=[])
        clock.advance(seconds=10)
    [first] = open_alerts(ops)
    assert first.event_count == 4
    clock.advance(minutes=5)
    for _ in range(3):
        record_event(ops, REGISTRAR, "record-view", purpose="record", patient_id=2, tumors=[])
    assert [a.event_count for a in open_alerts(ops)] == [3, 4]
    breach.set_rule(ADMIN, ops, breach.RECORD_VIEWS, enabled=False)
    clock.advance(minutes=5)
    for _ in range(5):
        record_event(ops, REGISTRAR, "record-view", purpose="record", patient_id=3, tumors=[])
    assert len(open_alerts(ops)) == 2


def test_thresholds_are_checked(ops: OperationalStore) -> None:
    for rule, thresholds in ((breach.RECORD_VIEWS, {"views": 0}), (breach.RECORD_VIEWS, {"seconds": 5}),
                             ("nosuch", {"views": 5}), (breach.OFF_HOURS, {"time_zone": "Mars/Olympus"}),
                             (breach.OFF_HOURS, {"start": "20:00"}), (breach.OFF_HOURS, {"weekdays": ["Funday"]}),
                             (breach.REFUSALS, {"refusals": 2.5}), (breach.FAMILY_NAME, {"enabled": "maybe"})):
        with pytest.raises(InvalidRequest):
            breach.set_rule(ADMIN, ops, rule, **thresholds)
    assert breach.parse_threshold(breach.OFF_HOURS, "weekdays", "mon, tue") == ["Mon", "Tue"]
    assert breach.parse_threshold(breach.EXPORT_VOLUME, "multiplier", "3") == 3.0
    assert breach.parse_threshold(breach.FAMILY_NAME, "enabled", "no") is False
    assert breach.rules(ops) == breach.DEFAULT_RULES


# ---- the other rules ------------------------------------------------------------------------------------------

def test_access_outside_working_hours_raises_one_alert_per_stretch(ops: OperationalStore, clock: FakeClock) -> None:
    record_event(ops, REGISTRAR, "record-view", purpose="record", patient_id=1, tumors=[])   # 09:00 Tuesday
    clock.advance(hours=9, minutes=59)                                                       # 18:59
    record_event(ops, REGISTRAR, "find-patient", searched=["nameLast"], candidates=[1])
    assert open_alerts(ops) == []
    clock.advance(hours=3)                                                                   # 21:59 Tuesday
    record_event(ops, REGISTRAR, "record-view", purpose="record", patient_id=2, tumors=[])
    clock.advance(hours=8)                                                                   # 05:59 Wednesday
    record_event(ops, REGISTRAR, "cohort-export", definition={}, rows=10)
    [night] = open_alerts(ops, breach.OFF_HOURS)
    assert night.event_count == 2 and night.evidence["off_hours_from"].startswith("2026-03-03T19:00:00-06:00")
    clock.now = datetime(2026, 3, 7, 16, 0, tzinfo=UTC)                                      # Saturday 10:00
    record_event(ops, REGISTRAR, "record-view", purpose="record", patient_id=3, tumors=[])
    assert [a.evidence["off_hours_from"][:16] for a in open_alerts(ops, breach.OFF_HOURS)] == [
        "2026-03-06T19:00", "2026-03-03T19:00"]
    breach.set_rule(ADMIN, ops, breach.OFF_HOURS, weekdays=list(breach.WEEKDAYS))           # weekends worked
    clock.advance(hours=1)
    record_event(ops, ADMIN, "download", document="table", rows=3, format="csv", page="x")
    assert len(open_alerts(ops, breach.OFF_HOURS)) == 2


def test_exports_beyond_the_users_usual_volume(ops: OperationalStore, clock: FakeClock) -> None:
    for _ in range(5):                                  # a usual day: 600 rows
        record_event(ops, REGISTRAR, "cohort-export", definition={}, rows=600)
        clock.advance(days=1)
    assert open_alerts(ops, breach.EXPORT_VOLUME) == []  # under the floor of 1,000 rows
    record_event(ops, REGISTRAR, "cohort-export", definition={}, rows=700)
    record_event(ops, REGISTRAR, "trial-candidate-export", definition={}, rows=400)
    assert open_alerts(ops, breach.EXPORT_VOLUME) == []  # 1,100 rows <= 2 x the median of 600
    record_event(ops, REGISTRAR, "download", document="cohort-export", rows=700, format="zip", page="cohort_builder")
    assert open_alerts(ops, breach.EXPORT_VOLUME) == []  # handing over a prepared export is not a second one
    record_event(ops, REGISTRAR, "export", document="query-letter", rows=200, format="csv")
    [alert] = open_alerts(ops, breach.EXPORT_VOLUME)
    assert alert.evidence["rows_exported"] == 1300 and alert.evidence["limit_rows"] == 1200
    assert alert.evidence["median_daily_rows"] == 600 and alert.event_count == 3
    record_event(ops, REGISTRAR, "export", document="edit-report", rows=5)
    [same] = open_alerts(ops, breach.EXPORT_VOLUME)
    assert same.alert_id == alert.alert_id and same.event_count == 4


def test_repeated_refusals_and_failed_sign_ins(ops: OperationalStore, clock: FakeClock) -> None:
    for _ in range(4):
        record_event(ops, RESEARCHER, "access-refused", action="record-view")
        clock.advance(minutes=3)
    assert open_alerts(ops) == []                       # 4 within 15 minutes
    record_event(ops, RESEARCHER, "access-refused", action="record-view")
    [alert] = open_alerts(ops, breach.REFUSALS)
    assert alert.user == RESEARCHER.user and alert.event_count == 5
    for _ in range(5):
        with pytest.raises(AuthenticationError):
            accounts.authenticate(ops, "ADMIN1", "wrong password!", source="test")
    assert {a.user.lower() for a in open_alerts(ops, breach.REFUSALS)} == {"res1", "admin1"}


def test_a_record_of_the_users_family_name(db: Path, ops: OperationalStore) -> None:
    patient_record(REGISTRAR, db, ops, patient_id=whitfield(db))        # no display name: no family name
    accounts.update_user(ops, REGISTRAR.user, display_name="Grace Whitfield")
    other = next(i for i in patient_ids(db) if i != whitfield(db))
    patient_record(REGISTRAR, db, ops, patient_id=other)
    assert open_alerts(ops) == []
    patient_record(REGISTRAR, db, ops, patient_id=whitfield(db))
    [alert] = open_alerts(ops)
    assert alert.rule == breach.FAMILY_NAME and alert.evidence["patients"] == [whitfield(db)]
    assert alert.evidence["family_name"] == "WHITFIELD"
    accounts.update_user(ops, REGISTRAR.user, display_name="Whitfield-Jones, Grace")
    patient_record(REGISTRAR, db, ops, patient_id=whitfield(db))
    assert len(open_alerts(ops)) == 1 and breach.family_name("Whitfield-Jones, Grace") == "WHITFIELDJONES"


# ---- alerts, access ---------------------------------------------------------------------------------------------

def test_acknowledge_and_refusals_for_other_roles(ops: OperationalStore, clock: FakeClock) -> None:
    for _ in range(5):
        record_event(ops, RESEARCHER, "access-refused", action="record-view")
    [alert] = open_alerts(ops)
    done = breach.acknowledge(ADMIN, ops, alert.alert_id, note="a misconfigured page")
    assert done.status == "acknowledged" and done.decided_by == ADMIN.user
    assert breach.alerts(ADMIN, ops, status="open") == []
    with pytest.raises(InvalidRequest):
        breach.acknowledge(ADMIN, ops, alert.alert_id)
    with pytest.raises(InvalidRequest):
        breach.contain(ADMIN, ops, REGISTRAR.user, reason=" ")
    with pytest.raises(InvalidRequest):
        breach.contain(ADMIN, ops, REGISTRAR.user, reason="x", alert_id=alert.alert_id)   # not their alert
    for principal in (REGISTRAR, RESEARCHER):
        for call in (lambda p: breach.alerts(p, ops), lambda p: breach.acknowledge(p, ops, alert.alert_id),
                     lambda p: breach.set_rule(p, ops, breach.REFUSALS, refusals=50),
                     lambda p: breach.contain(p, ops, ADMIN.user, reason="x"),
                     lambda p: breach_report(p, Path("unused"), ops, ADMIN.user, WORKDAY, clock.now)):
            with pytest.raises(AccessDenied):
                call(principal)
    assert accounts.get_user(ops, ADMIN.user).disabled is False
    assert breach.rules(ops)[breach.REFUSALS]["refusals"] == 5


def test_an_unreadable_analytic_store_skips_only_the_family_name_rule(tmp_path: Path, clock: FakeClock,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    ops = open_operational_store(tmp_path / "missing" / "registry.duckdb", clock=clock)
    accounts.create_user(ops, REGISTRAR.user, "registrar", password=PASSWORD, display_name="Grace Whitfield")
    breach.set_rule(ADMIN, ops, breach.RECORD_VIEWS, views=3)
    caplog.set_level(logging.WARNING, logger="registry.breach")
    for _ in range(3):
        record_event(ops, REGISTRAR, "record-view", purpose="record", patient_id=1, tumors=[])
    assert [a.rule for a in breach.alerts(ADMIN, ops)] == [breach.RECORD_VIEWS]
    assert "family-name rule skipped" in caplog.text
