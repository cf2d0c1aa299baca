"""How the pages show tables: people's column names, numbers and times formatted for reading, and a
withheld cell that says "suppressed" (never a blank or "None" that could pass for no data or zero)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler

from registry.api import REASON, SUPPRESSED

WITHHELD = "suppressed"
NOT_AVAILABLE = "–"
MARKED = "background-color: rgba(255, 196, 0, 0.35); font-weight: 600"   # rows a page points out
# Column names of registry results -> what a person reads; a page can add or override its own.
LABELS: dict[str, str] = {
    "county_fips": "County FIPS", "county_name": "County", "county": "County", "age_group": "Age group",
    "diagnosis_year": "Year", "sex": "Sex", "race": "Race", "site_recode": "SEER site recode",
    "site_group": "Site group", "stage_group": "Summary stage", "group": "Group",
    "count": "Cases", "population": "Population", "rate": "Rate per 100,000", "lower": "95% CI lower",
    "upper": "95% CI upper", SUPPRESSED: "Suppressed", REASON: "Why withheld",
    "batch_id": "Batch", "file_name": "File", "format": "Format", "naaccr_version": "NAACCR version",
    "record_type": "Record type", "status": "Status", "tumors_read": "Tumors read",
    "tumors_loaded": "Tumors loaded", "tumors_rejected": "Tumors rejected",
    "tumors_unchanged": "Tumors re-sent unchanged", "patients_read": "Patients read",
    "patients_loaded": "Patients loaded", "patients_rejected": "Patients rejected",
    "patients_unchanged": "Patients re-sent unchanged", "warnings": "Warnings",
    "loaded_by": "Loaded by", "started_at": "Started", "finished_at": "Finished", "message": "Message",
    "rule": "Rule", "records": "Records", "example": "Example reason",
}
# Number formats by column (Python format specs); other numeric columns get thousands separators.
FORMATS: dict[str, str] = {"rate": "{:,.1f}", "lower": "{:,.1f}", "upper": "{:,.1f}", "batch_id": "{:.0f}",
                           "diagnosis_year": "{:.0f}"}


def when(value: Any) -> str:
    """A timestamp (or its ISO text) as people read it: "2024-03-05 14:07 UTC" (no T, no seconds or
    microseconds)."""
    if value is None or (not isinstance(value, datetime | str) and pd.isna(value)):
        return NOT_AVAILABLE
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC")
        return stamp.strftime("%Y-%m-%d %H:%M UTC")
    return stamp.strftime("%Y-%m-%d %H:%M")


def label(column: str, labels: Mapping[str, str] | None = None) -> str:
    """The column's name for people: the page's own label, the shared one, or the name made readable."""
    return (labels or {}).get(column) or LABELS.get(column) or column.replace("_", " ").capitalize()


def styled(frame: pd.DataFrame, *, withheld: pd.Series | None = None,
           formats: Mapping[str, str] | None = None, marked: pd.Series | None = None) -> Styler:
    """The table as shown: times formatted, numbers with separators, and the empty number cells of a
    withheld row (``withheld``, by default the frame's ``suppressed`` flag) reading "suppressed"; other
    empty cells read "–"; the ``marked`` rows highlighted.

    The browser's table draws any empty cell as "None", whatever its display text, so a number column
    with empty cells becomes text: each number as its exact ``repr`` (what the table sorts, copies and
    tests read back with ``pd.to_numeric``), shown formatted, and the empty cells as their words.
    """
    shown = frame.reset_index(drop=True).copy()
    if withheld is None:
        withheld = shown[SUPPRESSED] if SUPPRESSED in shown.columns else pd.Series(False, index=shown.index)
    rows = pd.Series(withheld).reset_index(drop=True).fillna(False).astype(bool).to_numpy()
    for column in shown.columns:
        if pd.api.types.is_datetime64_any_dtype(shown[column]):
            shown[column] = shown[column].map(when)
        elif shown[column].dtype == object:   # text without a value (no message, no reason)
            shown[column] = shown[column].where(shown[column].notna(), NOT_AVAILABLE)
    numbers = [c for c in shown.columns if pd.api.types.is_numeric_dtype(shown[c])
               and not pd.api.types.is_bool_dtype(shown[c])]
    spec = {c: (formats or {}).get(c) or FORMATS.get(c) or "{:,.0f}" for c in numbers}
    for column in numbers:
        values = shown[column]
        if values.isna().any():
            words = pd.Series([WITHHELD if hidden else NOT_AVAILABLE for hidden in rows], index=shown.index)
            shown[column] = values.map(lambda v: repr(float(v)), na_action="ignore").fillna(words).astype(object)
    style = shown.style.format({c: _number_text(spec[c]) for c in numbers})
    if marked is not None:
        flags = pd.Series(marked).reset_index(drop=True).fillna(False).astype(bool).to_numpy()
        style = style.apply(lambda row: [MARKED if flags[row.name] else ""] * len(row), axis=1)
    return style


def _number_text(spec: str) -> Callable[[object], str]:
    """Format a number (or its exact text) with ``spec``; words such as "suppressed" pass through."""
    def text(value: object) -> str:
        number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
        return str(value) if pd.isna(number) else spec.format(number)   # a word ("suppressed", "–") passes through
    return text


def text_numbers(frame: pd.DataFrame) -> list[str]:
    """The number columns that ``styled`` turns into text (they have empty cells)."""
    return [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])
            and not pd.api.types.is_bool_dtype(frame[c]) and frame[c].isna().any()]


def show_table(frame: pd.DataFrame, *, columns: Sequence[str] | None = None,
               labels: Mapping[str, str] | None = None, formats: Mapping[str, str] | None = None,
               withheld: pd.Series | None = None, marked: pd.Series | None = None) -> None:
    """``st.dataframe`` of ``frame`` (its ``columns``, in order) with people's labels and formats; the
    withheld rows are ``withheld`` or, by default, those flagged ``suppressed``; ``marked`` rows are
    highlighted."""
    chosen = list(columns) if columns is not None else list(frame.columns)
    if withheld is None and SUPPRESSED in frame.columns:
        withheld = frame[SUPPRESSED]
    config: dict[str, Any] = {c: label(c, labels) for c in chosen}
    for column in text_numbers(frame[chosen]):
        config[column] = st.column_config.TextColumn(label(column, labels), alignment="right")
    if SUPPRESSED in chosen:
        config[SUPPRESSED] = st.column_config.CheckboxColumn(label(SUPPRESSED, labels))
    st.dataframe(styled(frame[chosen], withheld=withheld, formats=formats, marked=marked), hide_index=True,
                 column_config=config)
