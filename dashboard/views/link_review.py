"""Linkage review: the pairs the linkage could not decide, both sides' reports as received side by side with
what differs marked, why the pair was asked, and the registrar's decision (kept for ever under the records'
natural keys, applied by the next link)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.common import match_probability, require_principal
from dashboard.session import operational_store
from dashboard.tables import show_table
from registry.api import (
    DECISION_WORDS,
    IDENTITY_ITEMS,
    LINK_REVIEW,
    TUMOR_ITEMS,
    PairView,
    Principal,
    RegistryError,
    ReviewItem,
    SourceReport,
    allowed,
    decide,
    pending_counts,
    review_pair,
    review_queue,
)

QUEUE_LIMIT = 200
NOTICE_KEY = "link_review_notice"
KIND_CHOICES = {"both": "Patients and tumors", "patient": "Patient pairs", "tumor": "Tumor pairs"}
BUTTONS = {"patient": ("Same person", "Different persons"), "tumor": ("Same tumor", "Separate primaries")}
PATIENT_REASONS = {
    "band": "The match weight lies between the thresholds: not clearly the same person, not clearly different.",
    "conflict": "A strong match, but linking it would join records a reviewer has said are different persons.",
    "no_identity": "One record has nothing identifying (no name, birth date or SSN), so it is never linked "
                   "without a reviewer.",
}
COMPARISONS = {"name_last": "Last name", "name_first": "First name", "name_middle": "Middle name",
               "dob": "Birth date", "ssn": "SSN", "sex": "Sex", "address": "Address at diagnosis"}
DIFFERS = "≠"


def probability(weight: float | None) -> float | None:
    """The match probability of a patient pair's score (tumor pairs have none)."""
    return None if weight is None else match_probability(weight)


def pairs(count: int, kind: str) -> str:
    """"1 patient pair", "12 tumor pairs"."""
    return f"{count:,} {kind} pair{'' if count == 1 else 's'}"


def why(item: ReviewItem) -> str:
    """Why the pair was put to a reviewer, in words."""
    if item.kind == "patient":
        reason = str(item.evidence.get("reason", ""))
        return PATIENT_REASONS.get(reason, reason or "uncertain match")
    rule = ", rule ".join(str(item.evidence[k]) for k in ("rule_set", "rule") if item.evidence.get(k))
    return f"{rule}: {item.evidence.get('reason', '')}" if rule else str(item.evidence.get("reason", ""))


def queue_table(items: list[ReviewItem]) -> pd.DataFrame:
    """One row per pending pair: its number, kind, the two records, score and why it was asked."""
    return pd.DataFrame({
        "review_id": [i.review_id for i in items], "kind": [i.kind for i in items],
        "left_key": [i.left_key for i in items], "right_key": [i.right_key for i in items],
        "match_weight": pd.Series([i.score for i in items], dtype=float),
        "match_probability": pd.Series([probability(i.score) for i in items], dtype=float),
        "why": [why(i) for i in items]})


def item_order(names: set[str]) -> list[str]:
    """Identity items first, then the tumor items, then the rest by name."""
    first = [n for n in (*IDENTITY_ITEMS, *TUMOR_ITEMS) if n in names]
    return first + sorted(names - set(first))


def comparison_table(view: PairView) -> pd.DataFrame:
    """The first report of each side item by item, with the differing items marked."""
    left = view.left[0].items if view.left else {}
    right = view.right[0].items if view.right else {}
    names = item_order(set(left) | set(right))
    return pd.DataFrame({"item": names, "left": [left.get(n, "") for n in names],
                         "right": [right.get(n, "") for n in names],
                         "differs": [DIFFERS if n in view.differing else "" for n in names]})


def describe_side(side: str, key: str, reports: list[SourceReport], kind: str) -> str:
    """"Left: 1000000001/00000101, 2 reports (h1.xml, h2.xml), now registry patient 3", the registry patient or
    tumor a link to its record."""
    if not reports:
        return f"**{side}:** `{key}`: not in the store any more."
    files = ", ".join(dict.fromkeys(r.file_name.rsplit("/", 1)[-1] for r in reports))
    linked = sorted({r.registry_id for r in reports if r.registry_id is not None})
    records = ", ".join(f"[registry {kind} {i}](record?{kind}={i})" for i in linked)
    now = f"; now {records}" if linked else "; not linked yet"
    count = f"{len(reports)} reports, the first shown" if len(reports) > 1 else "1 report"
    return f"**{side}:** `{key}`: {count} ({files}){now}."


def comparison_weights(item: ReviewItem) -> dict[str, float]:
    """The weight each comparison gave a patient pair (the numbers kept with the pair when it was queued),
    in the model's order."""
    numbers = {name: float(value) for name, value in item.evidence.items()
               if isinstance(value, int | float) and not isinstance(value, bool)}
    order = [name for name in COMPARISONS if name in numbers] + sorted(set(numbers) - set(COMPARISONS))
    return {name: numbers[name] for name in order}


def show_evidence(item: ReviewItem) -> None:
    """Why the linkage asked: the weight of each comparison (patients) or the multiple-primary rule (tumors)."""
    st.markdown(f"**Why asked:** {why(item)}")
    if item.kind != "patient":
        return
    chance = probability(item.score)
    if item.score is not None and chance is not None:
        st.markdown(f"**Match weight:** {item.score:.2f} (match probability {chance:.1%})")
    weights = comparison_weights(item)
    if not weights:
        st.caption("No comparison weights are kept for this pair (it was queued before they were).")
        return
    rows = [(COMPARISONS.get(name, name.replace("_", " ").capitalize()), value)
            for name, value in weights.items()]
    if item.score is not None:
        rows.append(("Prior (before any comparison)", item.score - sum(weights.values())))
    frame = pd.DataFrame(rows, columns=["comparison", "weight"])
    show_table(frame, labels={"comparison": "Comparison", "weight": "Weight"}, formats={"weight": "{:+.2f}"})
    st.caption("Weights are log2 likelihood ratios: above 0 the comparison favours the same person, below 0 "
               "different persons, 0 is no evidence (e.g. an item missing on one side). The match weight is "
               "their sum.")


def decision_form(principal: Principal, item: ReviewItem) -> None:
    """The reason and the two decisions; a decision is recorded (and audited) by `decide`."""
    same_label, different_label = BUTTONS[item.kind]
    with st.form(f"decide-{item.review_id}"):
        reason = st.text_area("Reason (kept with the decision)", key=f"reason-{item.review_id}")
        left, right = st.columns(2)
        same = left.form_submit_button(same_label, type="primary")
        different = right.form_submit_button(different_label)
    if not (same or different):
        return
    decision = "same" if same else "different"
    try:
        decided = decide(operational_store(), principal, item.review_id, decision, reason)
    except RegistryError as exc:
        st.error(str(exc))
        return
    st.session_state[NOTICE_KEY] = (
        f"Review {decided.review_id} decided: **{DECISION_WORDS[(decided.kind, decision)]}** "
        f"(`{decided.left_key}` and `{decided.right_key}`). The decision is kept for ever under these records' "
        "keys and is applied by the next `registry link` or ingest; until then the registry stays as it is.")
    st.rerun()


principal, db = require_principal()
st.title("Linkage review")
if not allowed(principal, LINK_REVIEW):
    st.error("Linkage review is for registry specialists only.")
    st.stop()
if notice := st.session_state.pop(NOTICE_KEY, None):
    st.success(notice)
ops = operational_store()
pending = pending_counts(ops)
st.caption(f"Waiting for a decision: {pairs(pending['patient'], 'patient')} (are two records one person?) and "
           f"{pairs(pending['tumor'], 'tumor')} (are two reports one tumor?).")
kind = st.radio("Show", list(KIND_CHOICES), format_func=KIND_CHOICES.__getitem__, horizontal=True,
                key="review_kind")
try:
    items = review_queue(ops, principal, kind=None if kind == "both" else kind, limit=QUEUE_LIMIT)
except RegistryError as exc:
    st.warning(str(exc))
    st.stop()
if not items:
    what = {"both": "pairs", "patient": "patient pairs", "tumor": "tumor pairs"}[kind]
    st.info(f"No {what} wait for review: the linkage decided everything it found. New ones appear after "
            "an ingest or `registry link`.")
    st.stop()
shown = sum(pending.values()) if kind == "both" else pending[kind]
if shown > len(items):
    st.caption(f"The {len(items)} most likely matches of {shown:,} are listed; decide these first.")
show_table(queue_table(items), labels={"review_id": "Review", "kind": "Kind", "left_key": "Left record",
                                       "right_key": "Right record", "match_weight": "Match weight",
                                       "match_probability": "Probability", "why": "Why asked"},
           formats={"review_id": "{:.0f}", "match_weight": "{:.2f}", "match_probability": "{:.1%}"})

by_id = {i.review_id: i for i in items}
chosen = st.selectbox("Pair to review", list(by_id), key="review_pair",
                      format_func=lambda r: f"{r}: {by_id[r].kind}, {by_id[r].left_key} and {by_id[r].right_key}")
try:
    view = review_pair(principal, db, ops, int(chosen))
except RegistryError as exc:
    st.warning(str(exc))
    st.stop()
st.subheader(f"Review {chosen}: {'one person?' if view.item.kind == 'patient' else 'one tumor?'}")
st.markdown(describe_side("Left", view.item.left_key, view.left, view.item.kind) + "  \n"
            + describe_side("Right", view.item.right_key, view.right, view.item.kind))
table = comparison_table(view)
show_table(table, labels={"item": "Item", "left": "Left", "right": "Right", "differs": "Differs"},
           marked=table["differs"] == DIFFERS)
st.caption(f"Items as each facility sent them; the {len(view.differing)} that differ are marked {DIFFERS} and "
           "highlighted. Identity items first, then the tumor's.")
show_evidence(view.item)
decision_form(principal, view.item)
