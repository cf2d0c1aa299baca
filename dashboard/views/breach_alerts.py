"""Breach alerts: what the rules over the audit trail raised, with their evidence; acknowledge an alert, or
contain the account in one action (disabled, its sessions ended, with a reason); the rules' thresholds; and
the breach report of a user and a time window (every record viewed or exported, CSV and PDF)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

import pandas as pd
import streamlit as st

from dashboard.common import download_file, require_principal
from dashboard.session import operational_store
from dashboard.tables import show_table
from registry.api import (
    BREACH_REPORT,
    CONTAIN_ACCOUNT,
    DEFAULT_RULES,
    RULE_TEXT,
    SET_BREACH_RULES,
    VIEW_AUDIT_TRAIL,
    WEEKDAYS,
    Alert,
    RegistryError,
    acknowledge,
    alerts,
    allowed,
    breach_report,
    contain,
    report_csv,
    report_pdf,
    rules,
    scan,
    set_rule,
)

NOTICE_KEY = "breach_notice"
REPORT_KEY = "breach_report"
LABELS = {"alert_id": "Alert", "rule": "Rule", "user": "User", "window_start": "From", "window_end": "To",
          "event_count": "Events", "raised_at": "Raised", "status": "Status", "decided_by": "Decided by",
          "note": "Note"}
OPEN = ["alert_id", "rule", "user", "window_start", "window_end", "event_count", "raised_at"]
DECIDED = ["alert_id", "rule", "user", "window_start", "event_count", "status", "decided_by", "note"]


def table(found: list[Alert]) -> pd.DataFrame:
    """One row per alert (its evidence is shown for the alert chosen)."""
    return pd.DataFrame([{k: v for k, v in vars(a).items() if k != "evidence"} for a in found], columns=list(LABELS))


def done(message: str) -> None:
    st.session_state[NOTICE_KEY] = message
    st.rerun()


def threshold_input(rule: str, key: str, value: object) -> object:
    """A form control for one threshold, of its default's kind."""
    widget = f"rule-{rule}-{key}"
    label = key.replace("_", " ").capitalize()
    if isinstance(value, bool):
        return st.checkbox(label, value=value, key=widget)
    if isinstance(value, int):
        return int(st.number_input(label, min_value=1, step=1, value=value, key=widget))
    if isinstance(value, float):
        return float(st.number_input(label, min_value=0.1, step=0.5, value=value, key=widget))
    if key == "weekdays":
        return st.multiselect(label, WEEKDAYS, default=list(value) if isinstance(value, list) else [], key=widget)
    return st.text_input(label, value=str(value), key=widget)


principal, db = require_principal()
st.title("Breach alerts")
if not allowed(principal, VIEW_AUDIT_TRAIL):
    st.error("Breach alerts are read by administrators.")
    st.stop()
ops = operational_store()
if notice := st.session_state.pop(NOTICE_KEY, None):
    st.success(notice)
try:
    scan(ops, db)                     # catch up with events written while detection could not run
except RegistryError as exc:
    st.warning(f"Detection could not read every event: {exc}")
found = alerts(principal, ops)
waiting = [a for a in found if a.status == "open"]
st.subheader("Open alerts")
if not waiting:
    st.info("No open alert.")
else:
    show_table(table(waiting), columns=OPEN, labels=LABELS, formats={"alert_id": "{:.0f}", "event_count": "{:,.0f}"})
    by_id = {a.alert_id: a for a in waiting}
    chosen = st.selectbox("Alert", list(by_id), key="alert_chosen",
                          format_func=lambda i: f"{i}: {by_id[i].rule}, {by_id[i].user}")
    alert = by_id[chosen]
    st.caption(RULE_TEXT.get(alert.rule, alert.rule))
    with st.expander("Evidence", expanded=True):
        st.code(json.dumps(alert.evidence, indent=2, sort_keys=True), language="json")
    left, right = st.columns(2)
    with left.form(f"acknowledge-{chosen}"):
        note = st.text_input("Note (optional)", key=f"ack-note-{chosen}")
        if st.form_submit_button("Acknowledge"):
            try:
                acknowledge(principal, ops, int(chosen), note=note)
            except RegistryError as exc:
                st.error(str(exc))
            else:
                done(f"Alert {chosen} acknowledged.")
    if allowed(principal, CONTAIN_ACCOUNT):
        with right.form(f"contain-{chosen}"):
            reason = st.text_area(f"Why contain {alert.user}", key=f"contain-reason-{chosen}")
            if st.form_submit_button(f"Contain {alert.user}: disable and end sessions"):
                try:
                    result = contain(principal, ops, alert.user, reason=reason, alert_id=int(chosen))
                except RegistryError as exc:
                    st.error(str(exc))
                else:
                    done(f"{result.user} is disabled and signed out everywhere; alerts "
                         f"{', '.join(map(str, result.alerts))} contained.")
decided = [a for a in found if a.status != "open"]
if decided:
    st.subheader("Acknowledged and contained")
    show_table(table(decided), columns=DECIDED, labels=LABELS, formats={"alert_id": "{:.0f}", "event_count": "{:,.0f}"})

if allowed(principal, SET_BREACH_RULES):
    st.subheader("Rules")
    current = rules(ops)
    for rule, settings in current.items():
        with st.expander(f"{rule}: {RULE_TEXT[rule]}"), st.form(f"rule-{rule}"):
            values = {key: threshold_input(rule, key, value) for key, value in settings.items()}
            if st.form_submit_button(f"Save {rule}"):
                changes = {k: v for k, v in values.items() if v != settings[k]}
                try:
                    saved = set_rule(principal, ops, rule, **changes)
                except RegistryError as exc:
                    st.error(str(exc))
                else:
                    done(f"{rule}: " + ", ".join(f"{k} {v}" for k, v in saved.items()
                                                 if v != DEFAULT_RULES[rule][k]) or f"{rule}: the defaults")

if allowed(principal, BREACH_REPORT):
    st.subheader("Breach report")
    today = datetime.now(UTC).date()
    with st.form("breach-report"):
        user = st.text_input("User", value=alert.user if waiting else "", key="report_user")
        left, right = st.columns(2)
        start = left.date_input("From (UTC, start of day)", value=today - timedelta(days=7), key="report_from")
        end = right.date_input("To (UTC, end of day)", value=today, key="report_to")
        if st.form_submit_button("Build the report"):
            try:
                st.session_state[REPORT_KEY] = breach_report(principal, db, ops, user.strip(),
                                                             datetime.combine(start, time.min, UTC),
                                                             datetime.combine(end, time.max, UTC))
            except RegistryError as exc:
                st.error(str(exc))
    if (report := st.session_state.get(REPORT_KEY)) is not None:
        st.write(f"{report.user}, {report.start} to {report.end}: {report.events:,} audit events, "
                 f"{len(report.rows):,} rows, {len(report.patients):,} registry patients.")
        show_table(report.rows)
        name = f"breach-report-{report.user}-{report.start[:10]}-{report.end[:10]}"
        left, right = st.columns(2)
        with left:
            download_file("Download the report (CSV)", report_csv(report), file_name=f"{name}.csv", mime="text/csv",
                          document="breach-report", rows=len(report.rows), key="report_csv")
        with right:
            download_file("Download the report (PDF)", report_pdf(report), file_name=f"{name}.pdf",
                          mime="application/pdf", document="breach-report", rows=None, key="report_pdf")
