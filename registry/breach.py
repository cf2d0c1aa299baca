"""Breach detection: rules over the audit trail raise alerts an administrator reads, acknowledges or contains.

Rules and their defaults (an administrator changes thresholds with `set_rule`, SET_BREACH_RULES, audited):
- `record-views`: at least 100 record views (`record-view` events) by one user within 10 minutes;
- `off-hours`: records viewed, searched or exported (`ACCESS_ACTIONS`) outside working hours, 07:00-19:00
  Monday to Friday in the registry's time zone (default America/Chicago); one alert per user per stretch of
  off hours (e.g. Friday 19:00 to Monday 07:00);
- `export-volume`: a user's rows exported in one day (`EXPORT_ACTIONS`: cohort and candidate exports and
  `export` documents, not the downloads that hand them over; days in the off-hours rule's time zone) above max(2 x the median of the user's daily totals on the days they exported in the previous 90
  days, 1,000 rows); one alert per user per day;
- `refusals`: at least 5 refusals (`access-refused`, `sign-in-failed`) of one user name within 15 minutes;
- `family-name`: a user opens the record of a registry patient whose last name (or birth surname, on any of
  the patient's reports) is the family name of the user's account (the display name's last word, or what
  precedes a comma); one alert per user per day. It reads the analytic store; while that cannot be read
  (within 5 seconds) the rule is skipped for the events at hand, with a warning in the log.
Burst rules raise one alert per user per burst: an event within the window of an alert's last event extends
that alert (its count and end) instead of raising another.

Detection is incremental: `scan` reads the events after the last one it read (`breach_scan`) and moves that
mark in the same transaction as the alerts it writes, so a scan repeated or run by two processes at once
never raises an alert twice. It is triggered by the store itself: `registry.operational_store` opens every
store with `watch(db_path)` as its `on_audit`, which `OperationalStore.write` calls after each write that
appended audit events, so a burst raises its alert while it happens, whether or not an administrator has a
page open. Each new alert is written once to the log `oncoregistry.breach` as one JSON line (WARNING), for an
external monitor. A failing scan is logged and retried at the next event; the user's own action stands.

Containment (`contain`, CONTAIN_ACCOUNT) disables the account, which ends its open dashboard sessions
(`registry.accounts.disable_user`), and marks the user's alerts contained; audited with the reason.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import statistics
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from registry import accounts
from registry.access import CONTAIN_ACCOUNT, SET_BREACH_RULES, VIEW_AUDIT_TRAIL, require_audited
from registry.audit import SYSTEM, AuditEvent, append_event
from registry.audit_search import events_after, user_events_between
from registry.errors import InvalidRequest, RegistryError, StoreError
from registry.operational import OperationalStore, name_key, parse_timestamp, timestamp
from registry.patient_names import family_key, family_names
from registry.principal import Principal

log = logging.getLogger(__name__)
alert_log = logging.getLogger("oncoregistry.breach")

RECORD_VIEWS, OFF_HOURS, EXPORT_VOLUME, REFUSALS, FAMILY_NAME = (
    "record-views", "off-hours", "export-volume", "refusals", "family-name")
VIEW_ACTION = "record-view"
ACCESS_ACTIONS = frozenset({"record-view", "find-patient", "trial-candidate-list", "trial-candidate-export",
                            "cohort-export", "export", "download"})
# Record-level data written out. A `download` is left out: it either hands over a document one of these
# already counted when it was prepared, or carries aggregates (a chart's CSV), so counting it would double a
# prepared export and let statistics tables pass for records.
EXPORT_ACTIONS = frozenset({"cohort-export", "trial-candidate-export", "export"})
REFUSAL_ACTIONS = frozenset({"access-refused", "sign-in-failed"})
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
STATUSES = ("open", "acknowledged", "contained")
SCAN_BATCH = 5000
SAMPLE_SEQS = 20          # sequence numbers an alert's evidence lists (the first ones)

DEFAULT_RULES: dict[str, dict[str, Any]] = {
    RECORD_VIEWS: {"enabled": True, "views": 100, "minutes": 10},
    OFF_HOURS: {"enabled": True, "start": "07:00", "end": "19:00", "weekdays": list(WEEKDAYS[:5]),
                "time_zone": "America/Chicago"},
    EXPORT_VOLUME: {"enabled": True, "multiplier": 2.0, "floor_rows": 1000, "history_days": 90},
    REFUSALS: {"enabled": True, "refusals": 5, "minutes": 15},
    FAMILY_NAME: {"enabled": True},
}
RULE_TEXT = {
    RECORD_VIEWS: "many record views by one user in a short time",
    OFF_HOURS: "records viewed or exported outside working hours",
    EXPORT_VOLUME: "rows exported in a day beyond the user's usual volume",
    REFUSALS: "repeated refusals (access refused, failed sign-ins)",
    FAMILY_NAME: "a record viewed whose patient shares the user's family name",
}


@dataclass(frozen=True)
class Alert:
    """One alert: which rule, whose events from when to when, how many, the evidence, and what was done."""

    alert_id: int
    rule: str
    user: str
    window_start: str
    window_end: str
    event_count: int
    evidence: dict[str, Any]
    raised_at: str
    status: str
    decided_by: str | None
    decided_at: str | None
    note: str | None


def _alert(row: sqlite3.Row) -> Alert:
    return Alert(row["alert_id"], row["rule"], row["user_name"], row["window_start"], row["window_end"],
                 row["event_count"], json.loads(row["evidence"]), row["raised_at"], row["status"],
                 row["decided_by"], row["decided_at"], row["note"])


# ---- rules --------------------------------------------------------------------------------------------------

def _clock_time(text: str, where: str) -> time:
    try:
        return time.fromisoformat(text)
    except (TypeError, ValueError) as exc:
        raise InvalidRequest(f"{where}: {text!r} is not a time of day (HH:MM)") from exc


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidRequest(f"{OFF_HOURS} time_zone: {name!r} is not a time zone (e.g. America/Chicago)") from exc


def _checked(rule: str, key: str, value: Any) -> Any:
    """A threshold of the type its default has, in range; InvalidRequest naming rule and threshold."""
    where = f"breach rule {rule}, {key}"
    default = DEFAULT_RULES[rule][key]
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise InvalidRequest(f"{where}: expected true or false, not {value!r}")
        return value
    if isinstance(default, int | float):
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0 or \
                (isinstance(default, int) and value != int(value)):
            raise InvalidRequest(f"{where}: expected a positive {'whole ' if isinstance(default, int) else ''}"
                                 f"number, not {value!r}")
        return type(default)(value)
    if key == "weekdays":
        days = [value] if isinstance(value, str) else list(value)
        unknown = [d for d in days if d not in WEEKDAYS]
        if unknown:
            raise InvalidRequest(f"{where}: {unknown[0]!r} is not one of {', '.join(WEEKDAYS)}")
        return [d for d in WEEKDAYS if d in days]
    if key in ("start", "end"):
        return _clock_time(str(value), where).strftime("%H:%M")
    if key == "time_zone":
        _zone(str(value))
    return str(value)


def parse_threshold(rule: str, key: str, text: str) -> Any:
    """A threshold typed as text (command line, form) in the type of its default; weekdays comma-separated."""
    if rule not in DEFAULT_RULES:
        raise InvalidRequest(f"unknown breach rule {rule!r}: expected one of {', '.join(DEFAULT_RULES)}")
    if key not in DEFAULT_RULES[rule]:
        raise InvalidRequest(f"breach rule {rule} has no threshold {key!r}: it has {', '.join(DEFAULT_RULES[rule])}")
    default = DEFAULT_RULES[rule][key]
    value: Any = text.strip()
    if isinstance(default, bool):
        value = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}.get(
            value.lower(), value)
    elif isinstance(default, int | float):
        try:
            value = float(value) if isinstance(default, float) or "." in value else int(value)
        except ValueError as exc:
            raise InvalidRequest(f"breach rule {rule}, {key}: {text!r} is not a number") from exc
    elif key == "weekdays":
        value = [day.strip().title() for day in value.split(",") if day.strip()]
    return _checked(rule, key, value)


def rules(ops: OperationalStore) -> dict[str, dict[str, Any]]:
    """Every rule's thresholds as they apply now: the defaults, overridden by what an administrator set."""
    with ops.connect() as con:
        return _rules(con)


def _rules(con: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    stored = {row["rule"]: json.loads(row["settings"]) for row in con.execute("SELECT * FROM breach_rule")}
    return {rule: {**defaults, **{k: v for k, v in stored.get(rule, {}).items() if k in defaults}}
            for rule, defaults in DEFAULT_RULES.items()}


def set_rule(principal: Principal, ops: OperationalStore, rule: str, **thresholds: Any) -> dict[str, Any]:
    """Change some thresholds of one rule (administrators; audited as `breach-rule-set`); returns the rule's
    thresholds as they now apply. Unknown rules, thresholds and values out of range are refused."""
    require_audited(principal, SET_BREACH_RULES, ops, rule=rule, thresholds=thresholds)
    if rule not in DEFAULT_RULES:
        raise InvalidRequest(f"unknown breach rule {rule!r}: expected one of {', '.join(DEFAULT_RULES)}")
    unknown = sorted(set(thresholds) - set(DEFAULT_RULES[rule]))
    if unknown:
        raise InvalidRequest(f"breach rule {rule} has no threshold {unknown[0]!r}: it has "
                             f"{', '.join(DEFAULT_RULES[rule])}")
    changes = {key: _checked(rule, key, value) for key, value in thresholds.items()}
    with ops.write() as con:
        settings = {**_rules(con)[rule], **changes}
        if _clock_time(settings.get("start", "00:00"), rule) >= _clock_time(settings.get("end", "23:59"), rule):
            raise InvalidRequest(f"breach rule {rule}: working hours must start before they end")
        now = ops.now()
        con.execute("INSERT INTO breach_rule (rule, settings, set_by, set_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (rule) DO UPDATE SET settings = excluded.settings, set_by = excluded.set_by, "
                    "set_at = excluded.set_at", [rule, json.dumps(settings), principal.user, timestamp(now)])
        append_event(con, now, principal.user, principal.role, "breach-rule-set",
                     {"rule": rule, "changes": changes, "settings": settings})
    return settings


# ---- detection ----------------------------------------------------------------------------------------------

def family_name(display_name: str) -> str:
    """The family name in an account's display name: what precedes a comma, else its last word."""
    text = display_name.strip()
    part = text.split(",")[0] if "," in text else (text.split() or [""])[-1]
    return family_key(part)


def _family_hits(ops: OperationalStore, db_path: Path | None, pending: list[AuditEvent]) -> dict[int, dict[str, Any]]:
    """seq -> what matched, for record views whose patient shares the viewer's family name (read before the
    write lock is taken: the analytic store and the accounts)."""
    views = [e for e in pending if e.action == VIEW_ACTION and isinstance(e.detail.get("patient_id"), int)]
    if db_path is None or not views:
        return {}
    families: dict[str, str] = {}
    for user in {e.user for e in views}:
        account = accounts.get_user(ops, user)
        if account is not None and (name := family_name(account.display_name)) and len(name) > 1:
            families[user] = name
    views = [e for e in views if e.user in families]
    if not views:
        return {}
    names = family_names(db_path, sorted({int(e.detail["patient_id"]) for e in views}))
    return {e.seq: {"patient_id": e.detail["patient_id"], "family_name": families[e.user]} for e in views
            if families[e.user] in names.get(int(e.detail["patient_id"]), set())}


def _upsert(con: sqlite3.Connection, now: datetime, rule: str, user: str, *, start: str, end: str,
            continuing_from: str, count: int, evidence: dict[str, Any], raised: list[Alert],
            actions: frozenset[str] | None = None) -> None:
    """Raise an alert, or extend the user's alert of this rule whose window reaches `continuing_from` (the
    same burst, stretch or day): one alert per user per rule per window. An extended alert counts the user's
    events of `actions` from its start (or keeps the larger count, without `actions`)."""
    row = con.execute("SELECT * FROM breach_alert WHERE user_key = ? AND rule = ? AND window_end >= ? "
                      "ORDER BY alert_id DESC LIMIT 1", [name_key(user), rule, continuing_from]).fetchone()
    if row is None:
        cursor = con.execute(
            "INSERT INTO breach_alert (rule, user_name, user_key, window_start, window_end, event_count, evidence, "
            "raised_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open')",
            [rule, user, name_key(user), start, end, count, json.dumps(evidence, default=str), timestamp(now)])
        raised.append(_alert(con.execute("SELECT * FROM breach_alert WHERE alert_id = ?",
                                         [cursor.lastrowid]).fetchone()))
        return
    old = json.loads(row["evidence"])
    seqs = (old.get("seqs", []) + [s for s in evidence.get("seqs", []) if s not in old.get("seqs", [])])
    merged = {**old, **evidence, "seqs": seqs[:SAMPLE_SEQS]}
    if actions is not None:
        count = len(user_events_between(con, user, actions, row["window_start"], max(end, row["window_end"])))
    con.execute("UPDATE breach_alert SET window_end = max(window_end, ?), event_count = max(event_count, ?), "
                "evidence = ? WHERE alert_id = ?", [end, count, json.dumps(merged, default=str), row["alert_id"]])


def _by_user(events: Iterable[AuditEvent], actions: Iterable[str]) -> dict[str, list[AuditEvent]]:
    chosen = set(actions)
    found: dict[str, list[AuditEvent]] = {}
    for event in events:
        if event.action in chosen and event.user and event.user != SYSTEM:
            found.setdefault(event.user, []).append(event)
    return found


def _bursts(con: sqlite3.Connection, now: datetime, rule: str, batch: list[AuditEvent], actions: frozenset[str],
            threshold: int, minutes: float, raised: list[Alert]) -> None:
    """At least `threshold` events of `actions` by one user within `minutes`."""
    window = timedelta(minutes=minutes)
    for user, mine in _by_user(batch, actions).items():
        first = parse_timestamp(mine[0].occurred_at) - window
        history = user_events_between(con, user, actions, timestamp(first), mine[-1].occurred_at)
        times = [parse_timestamp(e.occurred_at) for e in history]
        new = {e.seq for e in mine}
        begin = 0
        for index, event in enumerate(history):
            while times[begin] <= times[index] - window:
                begin += 1
            if event.seq not in new or index + 1 - begin < threshold:
                continue
            inside = history[begin:index + 1]
            _upsert(con, now, rule, user, start=inside[0].occurred_at, end=event.occurred_at,
                    continuing_from=timestamp(times[index] - window), count=len(inside),
                    evidence={"threshold": threshold, "minutes": minutes, "seqs": [e.seq for e in inside[:SAMPLE_SEQS]],
                              "last_seq": event.seq, "actions": dict(Counter(e.action for e in inside))},
                    raised=raised, actions=actions)


def _off_hours_start(local: datetime, start: time, end: time, days: set[int]) -> datetime | None:
    """None within working hours; else when the stretch of off hours holding `local` began."""
    if local.weekday() in days and start <= local.time() < end:
        return None
    for back in range(8):
        day = local.date() - timedelta(days=back)
        if day.weekday() in days and (ended := datetime.combine(day, end, tzinfo=local.tzinfo)) <= local:
            return ended
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _off_hours(con: sqlite3.Connection, now: datetime, batch: list[AuditEvent], settings: dict[str, Any],
               raised: list[Alert]) -> None:
    zone = _zone(settings["time_zone"])
    start, end = time.fromisoformat(settings["start"]), time.fromisoformat(settings["end"])
    days = {WEEKDAYS.index(day) for day in settings["weekdays"]}
    for user, mine in _by_user(batch, ACCESS_ACTIONS).items():
        for event in mine:
            stretch = _off_hours_start(parse_timestamp(event.occurred_at).astimezone(zone), start, end, days)
            if stretch is None:
                continue
            began = timestamp(stretch)
            inside = user_events_between(con, user, ACCESS_ACTIONS, began, event.occurred_at)
            _upsert(con, now, OFF_HOURS, user, start=inside[0].occurred_at, end=event.occurred_at,
                    continuing_from=began, count=len(inside),
                    evidence={"off_hours_from": stretch.isoformat(), "working_hours": f"{settings['start']}-"
                              f"{settings['end']} {','.join(settings['weekdays'])} {settings['time_zone']}",
                              "seqs": [e.seq for e in inside[:SAMPLE_SEQS]], "last_seq": event.seq,
                              "actions": dict(Counter(e.action for e in inside))}, raised=raised,
                    actions=ACCESS_ACTIONS)


def _rows(event: AuditEvent) -> int:
    rows = event.detail.get("rows")
    return rows if isinstance(rows, int) and not isinstance(rows, bool) else 0


def _export_volume(con: sqlite3.Connection, now: datetime, batch: list[AuditEvent], settings: dict[str, Any],
                   zone: ZoneInfo, raised: list[Alert]) -> None:
    for user, mine in _by_user(batch, EXPORT_ACTIONS).items():
        for event in mine:
            local = parse_timestamp(event.occurred_at).astimezone(zone)
            day = local.replace(hour=0, minute=0, second=0, microsecond=0)
            today = user_events_between(con, user, EXPORT_ACTIONS, timestamp(day), event.occurred_at)
            total = sum(_rows(e) for e in today)
            before = user_events_between(con, user, EXPORT_ACTIONS,
                                         timestamp(day - timedelta(days=settings["history_days"])),
                                         timestamp(day - timedelta(microseconds=1)))
            daily: Counter[str] = Counter()
            for earlier in before:
                daily[parse_timestamp(earlier.occurred_at).astimezone(zone).date().isoformat()] += _rows(earlier)
            median = statistics.median(daily.values()) if daily else 0
            limit = max(settings["multiplier"] * median, settings["floor_rows"])
            if total <= limit:
                continue
            _upsert(con, now, EXPORT_VOLUME, user, start=today[0].occurred_at, end=event.occurred_at,
                    continuing_from=timestamp(day), count=len(today),
                    evidence={"day": day.date().isoformat(), "rows_exported": total, "limit_rows": limit,
                              "median_daily_rows": median, "days_with_exports": len(daily),
                              "seqs": [e.seq for e in today[:SAMPLE_SEQS]], "last_seq": event.seq,
                              "actions": dict(Counter(e.action for e in today))}, raised=raised,
                    actions=EXPORT_ACTIONS)


def _family(con: sqlite3.Connection, now: datetime, batch: list[AuditEvent], hits: dict[int, dict[str, Any]],
            zone: ZoneInfo, raised: list[Alert]) -> None:
    for event in batch:
        if event.seq not in hits:
            continue
        day = parse_timestamp(event.occurred_at).astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
        old = con.execute("SELECT evidence FROM breach_alert WHERE user_key = ? AND rule = ? AND window_end >= ? "
                          "ORDER BY alert_id DESC LIMIT 1", [name_key(event.user), FAMILY_NAME,
                                                             timestamp(day)]).fetchone()
        patients = sorted({*(json.loads(old[0])["patients"] if old else []), hits[event.seq]["patient_id"]})
        _upsert(con, now, FAMILY_NAME, event.user, start=event.occurred_at, end=event.occurred_at,
                continuing_from=timestamp(day), count=len(patients),
                evidence={"family_name": hits[event.seq]["family_name"], "patients": patients, "seqs": [event.seq],
                          "last_seq": event.seq}, raised=raised)


def _last_seq(con: sqlite3.Connection) -> int:
    row = con.execute("SELECT last_seq FROM breach_scan WHERE id = 1").fetchone()
    return int(row[0]) if row else 0


def _log(alert: Alert) -> None:
    alert_log.warning(json.dumps({"alert_id": alert.alert_id, "rule": alert.rule, "user": alert.user,
                                  "window_start": alert.window_start, "window_end": alert.window_end,
                                  "count": alert.event_count, "evidence": alert.evidence,
                                  "raised_at": alert.raised_at}, sort_keys=True, default=str))


def _scan_on(con: sqlite3.Connection, ops: OperationalStore, db_path: Path | None) -> list[Alert]:
    """Every enabled rule over the events after the last one read, on a connection holding the write lock;
    moves the mark and returns the alerts raised."""
    raised: list[Alert] = []
    settings = _rules(con)
    while batch := events_after(con, _last_seq(con), limit=SCAN_BATCH):
        now, zone = ops.now(), _zone(settings[OFF_HOURS]["time_zone"])
        for rule, actions, key in ((RECORD_VIEWS, frozenset({VIEW_ACTION}), "views"),
                                   (REFUSALS, REFUSAL_ACTIONS, "refusals")):
            if settings[rule]["enabled"]:
                _bursts(con, now, rule, batch, actions, settings[rule][key], settings[rule]["minutes"], raised)
        if settings[OFF_HOURS]["enabled"]:
            _off_hours(con, now, batch, settings[OFF_HOURS], raised)
        if settings[EXPORT_VOLUME]["enabled"]:
            _export_volume(con, now, batch, settings[EXPORT_VOLUME], zone, raised)
        if settings[FAMILY_NAME]["enabled"]:
            try:
                hits = _family_hits(ops, db_path, batch)
            except StoreError as exc:      # the analytic store unreadable: the other rules go on
                log.warning("%s: family-name rule skipped for events %d-%d: %s", ops.path, batch[0].seq,
                            batch[-1].seq, exc)
                hits = {}
            _family(con, now, batch, hits, zone, raised)
        con.execute("INSERT INTO breach_scan (id, last_seq, scanned_at) VALUES (1, ?, ?) ON CONFLICT (id) "
                    "DO UPDATE SET last_seq = excluded.last_seq, scanned_at = excluded.scanned_at",
                    [batch[-1].seq, timestamp(now)])
    for alert in raised:
        _log(alert)
    return raised


def scan(ops: OperationalStore, db_path: Path | None = None) -> list[Alert]:
    """Run every enabled rule over the audit events after the last one read; returns the alerts raised (each
    also logged once). Without `db_path` (the analytic store) the family-name rule is not applied."""
    with ops.write() as con:
        return _scan_on(con, ops, db_path)


def watch(db_path: Path | None) -> Callable[[OperationalStore, sqlite3.Connection], None]:
    """The `on_audit` of a store beside the analytic store `db_path`: a scan at the end of each write that
    appended audit events, in its transaction. A failure is logged and undone (the mark stays, so the next
    event retries), never raised into the user's action."""
    def after_audit(ops: OperationalStore, con: sqlite3.Connection) -> None:
        con.execute("SAVEPOINT breach_scan")
        try:
            _scan_on(con, ops, db_path)
        except (sqlite3.Error, RegistryError, OSError, ValueError) as exc:
            con.execute("ROLLBACK TO breach_scan")
            log.error("%s: breach detection failed: %s", ops.path, exc)
        con.execute("RELEASE breach_scan")
    return after_audit


# ---- alerts and containment ---------------------------------------------------------------------------------

def alerts(principal: Principal, ops: OperationalStore, *, status: str | None = None, user: str | None = None,
           limit: int = 200) -> list[Alert]:
    """Alerts, newest first, optionally of one status or user (administrators: who may read the audit trail)."""
    require_audited(principal, VIEW_AUDIT_TRAIL, ops, what="breach-alerts")
    if status is not None and status not in STATUSES:
        raise InvalidRequest(f"status {status!r}: expected one of {', '.join(STATUSES)}")
    with ops.connect() as con:
        rows = con.execute("SELECT * FROM breach_alert WHERE (? IS NULL OR status = ?) AND (? IS NULL OR user_key = ?) "
                           "ORDER BY alert_id DESC LIMIT ?",
                           [status, status, user, None if user is None else name_key(user), limit]).fetchall()
    return [_alert(row) for row in rows]


def acknowledge(principal: Principal, ops: OperationalStore, alert_id: int, *, note: str = "") -> Alert:
    """Mark an open alert seen and dealt with short of containment (administrators; audited with the note)."""
    require_audited(principal, VIEW_AUDIT_TRAIL, ops, alert_id=alert_id)
    with ops.write() as con:
        row = con.execute("SELECT * FROM breach_alert WHERE alert_id = ?", [alert_id]).fetchone()
        if row is None:
            raise InvalidRequest(f"there is no breach alert {alert_id}")
        if row["status"] != "open":
            raise InvalidRequest(f"breach alert {alert_id} is {row['status']} already")
        now = ops.now()
        con.execute("UPDATE breach_alert SET status = 'acknowledged', decided_by = ?, decided_at = ?, note = ? "
                    "WHERE alert_id = ?", [principal.user, timestamp(now), note.strip() or None, alert_id])
        append_event(con, now, principal.user, principal.role, "breach-alert-acknowledged",
                     {"alert_id": alert_id, "rule": row["rule"], "target": row["user_name"], "note": note.strip()})
        return _alert(con.execute("SELECT * FROM breach_alert WHERE alert_id = ?", [alert_id]).fetchone())


@dataclass(frozen=True)
class Containment:
    """What containment did: the account disabled (its sessions ended) and the alerts marked contained."""

    user: str
    alerts: tuple[int, ...]


def contain(principal: Principal, ops: OperationalStore, user: str, *, reason: str,
            alert_id: int | None = None) -> Containment:
    """Contain a suspected breach in one action: disable `user`'s account, which ends its open sessions (its
    next request in one is refused), and mark its alerts contained; audited (`account-contained`, with the
    reason and the alerts). Administrators only; a reason is required."""
    require_audited(principal, CONTAIN_ACCOUNT, ops, target=user, alert_id=alert_id)
    if not reason.strip():
        raise InvalidRequest("containing an account needs a reason")
    if principal.user and name_key(principal.user) == name_key(user):
        raise InvalidRequest("an administrator cannot contain their own account")
    if alert_id is not None:
        with ops.connect() as con:
            row = con.execute("SELECT user_key FROM breach_alert WHERE alert_id = ?", [alert_id]).fetchone()
        if row is None or row["user_key"] != name_key(user):
            raise InvalidRequest(f"breach alert {alert_id} is not an alert about {user!r}")
    accounts.disable_user(ops, user, actor=principal, reason=f"containment: {reason.strip()}")
    with ops.write() as con:
        now = ops.now()
        ids = tuple(int(r[0]) for r in con.execute(
            "SELECT alert_id FROM breach_alert WHERE user_key = ? AND status <> 'contained' ORDER BY alert_id",
            [name_key(user)]).fetchall())
        con.execute("UPDATE breach_alert SET status = 'contained', decided_by = ?, decided_at = ?, note = ? "
                    "WHERE user_key = ? AND status <> 'contained'",
                    [principal.user, timestamp(now), reason.strip(), name_key(user)])
        append_event(con, now, principal.user, principal.role, "account-contained",
                     {"target": user, "reason": reason.strip(), "alert_id": alert_id, "alerts": list(ids)})
    return Containment(user, ids)
