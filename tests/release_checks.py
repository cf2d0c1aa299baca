"""What a release to a researcher or administrator may never hold: a count of 1-15 anywhere in it, or a curve
from which the events between two shown points can be read as 1-15."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd

from registry.release import SAFE_SETTINGS, Release

SMALL = (1, 15)
# Columns of released tables that hold counts of people or tumors (population is a public denominator).
COUNT_COLUMNS = ("count", "at_risk", "events", "censored", "competing_events", "subjects", "cell", "patients",
                 "tumors", "persons")
ESTIMATES = ("survival", "estimate")


def small(values: object) -> bool:
    """Whether any of the values is a count of 1-15."""
    numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
    return bool(((numbers >= SMALL[0]) & (numbers <= SMALL[1])).any())


def assert_table_has_no_small_count(table: pd.DataFrame, label: str) -> None:
    """No count column holds 1-15, and the index carries nothing (positions only)."""
    assert isinstance(table.index, pd.RangeIndex), f"{label}: values ride in the index"
    for column in COUNT_COLUMNS:
        if column in table.columns:
            assert not small(table[column]), f"{label}: {column} of 1-15 released"


def assert_curve_hides_small_steps(table: pd.DataFrame, label: str) -> None:
    """Between consecutive shown points of a curve, at_risk x (1 - S_i / S_prev) is 0 or at least 16."""
    estimate = next((c for c in ESTIMATES if c in table.columns), None)
    if estimate is None or "time" not in table.columns or "at_risk" not in table.columns:
        return
    parts = table.groupby("group", sort=False) if "group" in table.columns else [("", table)]
    for group, part in parts:
        shown = part[~part.get("suppressed", pd.Series(False, index=part.index)).astype(bool)]
        shown = shown.dropna(subset=[estimate, "at_risk"]).sort_values("time")
        values = shown[estimate].to_numpy(dtype=float)
        at_risk = shown["at_risk"].to_numpy(dtype=float)
        if (np.diff(values) > 1e-12).any():
            continue   # a rising curve (cumulative incidence): see test_release's check against the counts
        for i in range(1, len(values)):
            if values[i - 1] <= 0:
                continue
            derived = at_risk[i - 1] * (1 - values[i] / values[i - 1])
            assert not 0.5 <= derived < 15.5, f"{label} {group}: {derived:.2f} events readable between points"


def assert_no_small_count(release: Release, label: str) -> None:
    """The whole release to a non-registrar: table, counts beside it, group sizes, settings and CSV text."""
    assert isinstance(release, Release), label
    assert not release.table.attrs, f"{label}: attrs carry values"
    for name, value in release.counts.items():
        assert value is None or not SMALL[0] <= int(value) <= SMALL[1], f"{label}: {name}={value} released"
    for group in release.groups:
        assert group.patients is None or not SMALL[0] <= group.patients <= SMALL[1], f"{label}: {group}"
    assert set(release.provenance.settings) <= SAFE_SETTINGS, f"{label}: {set(release.provenance.settings)}"
    assert_table_has_no_small_count(release.table, label)
    assert_curve_hides_small_steps(release.table, label)
    text = release.to_csv()
    header = [line for line in text.splitlines() if line.startswith("# ")]
    facts = {line[2:].split(": ", 1)[0]: json.loads(line[2:].split(": ", 1)[1]) for line in header}
    for name, value in (facts.get("counts") or {}).items():
        assert value is None or not SMALL[0] <= int(value) <= SMALL[1], f"{label}: CSV {name}={value}"
    for group in facts.get("groups") or []:
        assert group["patients"] is None or not SMALL[0] <= group["patients"] <= SMALL[1], f"{label}: CSV {group}"
    for key in ("n", "events", "subjects", "patients"):
        assert key not in (facts.get("settings") or {}), f"{label}: CSV settings carry {key}"
    body = "\n".join(line for line in text.splitlines() if not line.startswith("# "))
    if body.strip():
        parsed = pd.read_csv(io.StringIO(body))
        assert_table_has_no_small_count(parsed.reset_index(drop=True), f"{label} (CSV)")
