"""The one release path: every result `registry` hands to a caller is a `Release` built here.

A release is a typed object, not a DataFrame with counts riding in ``attrs``: the table (its ``attrs``
empty), the counts released beside it (patients, cases left out, comparison group sizes), and how it was
computed (`Provenance`: method, standard, confidence level, data vintage, filter, and the estimator's
settings). For registrars it is the result as computed. For researchers and administrators every count
passes through here:

- tables go through `registry.privacy.apply_policy` (small cells and their complements withheld);
- every released cell, every margin a table lets one compute (the sum of a fully shown line, the grand
  total) and every count beside a table is screened against the counts released earlier to the same user
  (`registry.suppression.CellGuard`, kept in the operational store): a count differing by 1-15 from one
  released under a filter that differs in one nested dimension is withheld, whichever was seen first;
- curves are thinned (`thin_curve`) so that no two released points are separated by 1-15 events, and the
  numbers at risk at whole years are screened like cells; per-time event counts are never released;
- the estimator's settings keep only names known not to be counts (`SAFE_SETTINGS`).
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from registry.access import READ_UNSUPPRESSED, allowed
from registry.cohort import MALE_BREAST, TumorFilter, reporting_site
from registry.cohort_definition import LEDGER_RANGE_DIMENSIONS
from registry.operational_store import open_operational_store
from registry.principal import Principal
from registry.privacy import apply_policy
from registry.suppression import DEFAULT_THRESHOLD, DIFFERENCING, REASON, SUPPRESSED, CellGuard, lines_of

# Estimator settings that are never counts: the only ones a non-registrar receives.
SAFE_SETTINGS = frozenset({
    "conf_type", "estimator", "full_curve", "time_unit", "estimate_column", "event_of_interest", "ties",
    "endpoint", "integration", "method", "days_per_year", "by", "per", "ci", "standard_age_groups",
    "data_age_groups", "weighted", "joinpoints", "start", "end", "comparison", "times",
})
# Dimensions whose differing values always count as nested: TumorFilter's range bounds, and a cohort
# definition's groups by kind (`registry.cohort_definition.ledger_filter`).
RANGE_LIMITS = frozenset({"first_year", "last_year", "min_age", "max_age", *LEDGER_RANGE_DIMENSIONS})
# Which TumorFilter field a stratum narrows (diagnosis year and age group narrow the ranges).
STRATUM_FIELDS = {"sex": "sexes", "race": "races", "county_fips": "counties", "stage_group": "stage_groups",
                  "site_recode": "site_recodes", "treatment_group": "treatment_groups"}
CURVE_COUNTS = ("events", "censored", "competing_events", "at_risk_total")   # never released to non-registrars
BREAST_SITES = ("39", MALE_BREAST)   # the reporting sites whose stratum fixes the sex (see registry.cohort)
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Provenance:
    """How a released result was computed: method, standard, confidence level, data vintage, filter, settings."""

    method: str | None = None
    standard: str | None = None
    alpha: float | None = None
    data_vintage: str | None = None
    filter: Mapping[str, Any] | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain values for notes and CSV headers."""
        return {"method": self.method, "standard": self.standard, "alpha": self.alpha,
                "data_vintage": self.data_vintage, "filter": dict(self.filter or {}), "settings": dict(self.settings)}


@dataclass(frozen=True)
class GroupSize:
    """One comparison group's released number of patients (``None`` when withheld)."""

    group: str
    patients: int | None
    suppressed: bool


@dataclass(frozen=True)
class Release:
    """What a caller receives: a table, the counts released beside it, and how it was computed."""

    table: pd.DataFrame
    provenance: Provenance
    counts: Mapping[str, int | None] = field(default_factory=dict)
    groups: tuple[GroupSize, ...] = ()
    comparison: str | None = None

    def count(self, name: str) -> int | None:
        """A count released beside the table (``None``: withheld or not part of this result)."""
        return self.counts.get(name)

    def to_csv(self, table: pd.DataFrame | None = None) -> str:
        """The table (or a display form of it) as CSV, preceded by ``#`` lines with provenance and counts."""
        facts: dict[str, Any] = {**self.provenance.as_dict(), "counts": dict(self.counts)}
        if self.groups:
            facts["groups"] = [{"group": g.group, "patients": g.patients, "suppressed": g.suppressed}
                               for g in self.groups]
        buffer = io.StringIO()
        buffer.write("".join(f"# {key}: {json.dumps(value, default=str)}\n" for key, value in facts.items()))
        (self.table if table is None else table).to_csv(buffer, index=False)
        return buffer.getvalue()


def provenance_of(frame: pd.DataFrame, principal: Principal, tumor_filter: TumorFilter | None,
                  data_vintage: str | None) -> Provenance:
    """An estimator's ``attrs`` turned into provenance; non-registrars get only the settings in SAFE_SETTINGS."""
    attrs = frame.attrs
    settings = dict(attrs.get("parameters") or {})
    settings.pop("filter", None)
    if not allowed(principal, READ_UNSUPPRESSED):
        settings = {key: value for key, value in settings.items() if key in SAFE_SETTINGS}
    return Provenance(method=attrs.get("method"), standard=attrs.get("standard"), alpha=attrs.get("alpha"),
                      data_vintage=data_vintage, filter=None if tumor_filter is None else _plain_filter(tumor_filter),
                      settings=settings)


def _plain_filter(tumor_filter: TumorFilter) -> dict[str, Any]:
    return {key: value for key, value in tumor_filter.spec().items() if key != "extra"}


def bare(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of a table with nothing riding in ``attrs``."""
    out = frame.reset_index(drop=True).copy()
    out.attrs.clear()
    return out


# ---- cell filters and the ledger ---------------------------------------------------------------------

def _age_range(label: str) -> tuple[int, int | None]:
    """Ages covered by a SEER age-group label ('00', '01-04', '05-09', ..., '85+')."""
    if label.endswith("+"):
        return int(label[:-1]), None
    if "-" in label:
        low, high = label.split("-")
        return int(low), int(high)
    return int(label), int(label)


def cell_spec(tumor_filter: TumorFilter | Mapping[str, Any], strata: Mapping[str, Any], measure: str) -> dict[str, Any]:
    """The full filter of one released count: the query's filter narrowed by the cell's strata, plus what
    is counted (``measure``: tumors, patients in a survival selection, ...). Two counts are comparable by
    the ledger only when they count the same measure."""
    spec = _plain_filter(tumor_filter) if isinstance(tumor_filter, TumorFilter) else dict(tumor_filter)
    for name, value in strata.items():
        missing = value is None or (isinstance(value, float) and math.isnan(value))
        if name == "diagnosis_year":
            year = None if missing else int(value)
            spec["first_year"] = spec["last_year"] = UNKNOWN if year is None else year
        elif name == "reporting_site":
            codes, sexes = (None, None) if missing else reporting_site(str(value))
            spec["site_recodes"] = [UNKNOWN] if codes is None else list(codes)
            if str(value) in BREAST_SITES and sexes:
                spec["sexes"] = list(sexes)
        elif name == "age_group":
            low, high = (UNKNOWN, UNKNOWN) if missing else _age_range(str(value))
            spec["min_age"], spec["max_age"] = low, high
        else:
            spec[STRATUM_FIELDS.get(name, name)] = [UNKNOWN if missing else str(value)]
    spec["measure"] = measure
    return spec


@dataclass
class Ledger:
    """The differencing screen of one release for one non-registrar: cells and margins checked against
    what the user was shown before, then what is shown is recorded."""

    principal: Principal
    db_path: Path
    threshold: int = DEFAULT_THRESHOLD

    def __post_init__(self) -> None:
        self.guard = CellGuard(open_operational_store(self.db_path), threshold=self.threshold, bounds=RANGE_LIMITS)

    def risky(self, cells: Sequence[tuple[Mapping[str, Any], int]]) -> set[int]:
        """Positions of the counts that would disclose a small difference with an earlier release."""
        return set(self.guard.screen(self.principal.user, cells))

    def record(self, cells: Sequence[tuple[Mapping[str, Any], int]]) -> None:
        """Remember counts shown to the user."""
        if cells:
            self.guard.record(self.principal.user, cells)


def release_table(principal: Principal, db_path: Path, raw: pd.DataFrame, *, base: TumorFilter | Mapping[str, Any],
                  measure: str, dimensions: Sequence[str] = (), count_column: str = "count",
                  derived_columns: Sequence[str] | None = None, cell_specs: Sequence[Mapping[str, Any]] | None = None,
                  totals: Mapping[str, Hashable] | None = None, margins: bool = True,
                  also: Mapping[str, str] | None = None) -> pd.DataFrame:
    """An aggregate table as the caller may see it: the policy's suppression plus the ledger for every cell
    and every margin the table would let one compute; for non-registrars the shown cells and margins are
    recorded. ``cell_specs`` gives each row's full filter when rows are not strata of ``base`` (comparison
    groups); the rows then form one line whose margin is ``base``. ``also`` names further count columns
    (column -> measure) screened and recorded the same way."""
    table = bare(raw)
    if allowed(principal, READ_UNSUPPRESSED):
        return apply_policy(principal, table, kind="aggregate", count_column=count_column,
                            dimensions=list(dimensions), derived_columns=derived_columns, totals=totals,
                            margins=margins)
    if cell_specs is None:
        strata = table[list(dimensions)].to_dict("records") if dimensions else [{} for _ in range(len(table))]
        lines = [(members, {str(d): v for d, v in strata[members[0]].items() if d != dim})
                 for dim, members in lines_of(table, dimensions)]
        if len(dimensions) > 1 and len(table):
            lines.append((list(range(len(table))), {}))

        def specs_for(what: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            return ([cell_spec(base, {str(k): v for k, v in row.items()}, what) for row in strata],
                    [cell_spec(base, rest, what) for _, rest in lines])
    else:
        lines = [(list(range(len(table))), {})] if len(table) > 1 else []

        def specs_for(what: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            return ([{**spec, "measure": what} for spec in cell_specs], [cell_spec(base, {}, what) for _ in lines])

    ledger = Ledger(principal, db_path)
    withhold: set[int] = set()
    screened = []
    for column, what in {count_column: measure, **(also or {})}.items():
        counts = pd.to_numeric(table[column], errors="coerce").fillna(0).astype(int).tolist()
        cell_filters, margin_filters = specs_for(what)
        withhold |= ledger.risky(list(zip(cell_filters, counts, strict=True)))
        margin_cells = [(spec, sum(counts[m] for m in members))
                        for (members, _), spec in zip(lines, margin_filters, strict=True)]
        for position in ledger.risky(margin_cells):
            members = [m for m in lines[position][0] if m not in withhold and counts[m] > 0]
            if members:   # one withheld cell (and its complement) keeps the risky margin from being computed
                withhold.add(min(members, key=lambda m, c=counts: (c[m], m)))   # type: ignore[misc]
        screened.append((cell_filters, counts, margin_cells))
    released = apply_policy(principal, table, kind="aggregate", count_column=count_column,
                            dimensions=list(dimensions), derived_columns=derived_columns, totals=totals,
                            margins=margins, withhold=sorted(withhold))
    shown = ~released[SUPPRESSED].astype(bool).to_numpy()
    record: list[tuple[Mapping[str, Any], int]] = []
    for cell_filters, counts, margin_cells in screened:
        record += [(cell_filters[i], counts[i]) for i in range(len(counts)) if shown[i]]
        record += [cell for (members, _), cell in zip(lines, margin_cells, strict=True)
                   if all(shown[m] for m in members)]
    ledger.record(record)
    return released


def release_count(principal: Principal, db_path: Path, value: int | None, spec: Mapping[str, Any] | None) -> int | None:
    """A count released beside a table: withheld (``None``) for non-registrars when it is 1-15 or differs by
    1-15 from a count released earlier under a nested filter (with ``spec``); recorded when shown."""
    if value is None or allowed(principal, READ_UNSUPPRESSED):
        return value
    count = int(value)
    if 1 <= count < DEFAULT_THRESHOLD:
        return None
    if spec is not None and count:
        ledger = Ledger(principal, db_path)
        if ledger.risky([(spec, count)]):
            return None
        ledger.record([(spec, count)])
    return count


# ---- curves ------------------------------------------------------------------------------------------

def whole_years(curve: pd.DataFrame, requested: Sequence[float] | None) -> list[float]:
    """The anchor times of a released curve: every whole year up to the last follow-up, and requested whole years."""
    last = float(curve["time"].max()) if len(curve) else 0.0
    anchors = {float(year) for year in range(1, int(math.floor(last)) + 1)}
    anchors |= {float(t) for t in requested or () if float(t).is_integer() and t > 0}
    return sorted(anchors)


def thin_curve(curve: pd.DataFrame, *, estimate: str, anchors: Sequence[float],
               threshold: int = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """The points of a curve a non-registrar may see: no per-time counts, and between two consecutive shown
    points either no event or at least ``threshold`` of each kind (events, and competing events where the
    curve has them), so the events between any two shown points cannot be derived as a small count.

    An event time is shown once every kind of event since the last shown point is 0 or at least
    ``threshold``. The ``anchors`` (whole years) are always reported: an anchor whose gap breaks that rule
    takes the place of the last shown event times since the previous anchor until the merged gap keeps it,
    otherwise its estimate is withheld. Points resting on fewer than ``threshold`` at risk are withheld.
    """
    del estimate   # every value column is kept; the name documents which one the caller plots
    rows = curve.sort_values("time", kind="stable").reset_index(drop=True)
    times = rows["time"].to_numpy(dtype=float)
    kinds = [c for c in ("events", "competing_events") if c in rows.columns]
    events = np.column_stack([pd.to_numeric(rows[c], errors="coerce").fillna(0).to_numpy(dtype=float)
                              for c in kinds]) if kinds else np.zeros((len(rows), 1))
    at_risk = pd.to_numeric(rows["at_risk"], errors="coerce").fillna(0).to_numpy(dtype=float)
    value_columns = [c for c in rows.columns if c not in ("time", *CURVE_COUNTS, SUPPRESSED, REASON)]

    def keeps(gap: np.ndarray) -> bool:
        return bool(np.all((gap == 0) | (gap >= threshold)))

    sequence: list[tuple[float, bool, int | None]] = [(float(times[i]), False, int(i))
                                                       for i in np.flatnonzero(events.sum(axis=1) > 0)]
    sequence += [(float(t), True, None) for t in anchors]
    sequence.sort(key=lambda item: (item[0], item[1]))
    shown: list[tuple[dict[str, Any], bool, np.ndarray]] = []    # (point, is an event time, events in its gap)
    withheld: list[dict[str, Any]] = []
    since = np.zeros(events.shape[1])
    for time, anchor, position in sequence:
        if position is not None:
            since = since + events[position]
            point = {"time": time, **{c: rows.at[position, c] for c in value_columns},
                     "at_risk": at_risk[position]}
        else:
            point = _at(rows, times, at_risk, value_columns, time)
        if point["at_risk"] < threshold:
            if anchor:
                withheld.append(_withheld(point, value_columns, f"primary: fewer than {threshold} at risk"))
            continue
        if not anchor:
            if since.any() and keeps(since):
                shown.append((point, True, since))
                since = np.zeros_like(since)
            continue
        gap, merged = since, []
        while not keeps(gap) and shown and shown[-1][1]:
            merged.append(shown.pop())
            gap = gap + merged[-1][2]
        if keeps(gap):
            shown.append((point, False, gap))
            since = np.zeros_like(since)
        else:
            shown.extend(reversed(merged))
            withheld.append(_withheld(point, value_columns,
                                      f"differencing: 1-{threshold - 1} events since the previous point"))
    out = pd.DataFrame([{**point, SUPPRESSED: False, REASON: None} for point, _, _ in shown] + withheld,
                       columns=["time", *value_columns, SUPPRESSED, REASON])
    out[SUPPRESSED] = out[SUPPRESSED].astype(bool)
    return out.sort_values("time", kind="stable").reset_index(drop=True)


def _at(rows: pd.DataFrame, times: np.ndarray, at_risk: np.ndarray, value_columns: Sequence[str],
        time: float) -> dict[str, Any]:
    """The curve's values at ``time``: the estimate of the last row at or before it (1 before the first), and
    the number still at risk at ``time`` (rows at or after it)."""
    before = np.flatnonzero(times <= time)
    after = np.flatnonzero(times >= time)
    point: dict[str, Any] = {"time": time}
    for column in value_columns:
        if column == "at_risk":
            continue
        if len(before):
            point[column] = rows.at[before[-1], column]
        else:
            point[column] = 1.0 if column in ("survival", "estimate", "lower", "upper") else 0.0
    point["at_risk"] = float(at_risk[after[0]]) if len(after) else 0.0
    return point


def _withheld(point: Mapping[str, Any], value_columns: Sequence[str], reason: str) -> dict[str, Any]:
    return {"time": point["time"], **{c: np.nan for c in value_columns}, SUPPRESSED: True, REASON: reason}


def release_curve(principal: Principal, db_path: Path, curve: pd.DataFrame, *, estimate: str,
                  spec: Mapping[str, Any] | None, requested: Sequence[float] | None,
                  withheld: bool = False) -> pd.DataFrame:
    """A survival-type curve as the caller may see it (registrars: as computed, at ``requested`` times when
    given). For others: the thinned curve (`thin_curve`), the numbers at risk at whole years screened by
    the ledger (``spec`` is the curve's cell filter), and with ``requested`` times the values read from the
    released curve; ``withheld`` (a group too small to show) withholds every point."""
    if allowed(principal, READ_UNSUPPRESSED):
        return bare(curve)
    if curve.empty:   # no patients: nothing to show, and nothing withheld
        columns = [c for c in curve.columns if c not in CURVE_COUNTS]
        return pd.DataFrame(columns=[*columns, SUPPRESSED, REASON]).astype({SUPPRESSED: bool})
    anchors = whole_years(curve, requested)
    thinned = thin_curve(curve, estimate=estimate, anchors=anchors)
    values = [c for c in thinned.columns if c not in ("time", SUPPRESSED, REASON)]
    anchor_rows = thinned["time"].isin(anchors).to_numpy() & ~thinned[SUPPRESSED].to_numpy()
    if withheld:
        thinned = thinned[thinned["time"].isin(anchors)].copy()
        thinned.loc[:, values] = np.nan
        thinned[SUPPRESSED] = True
        thinned[REASON] = "complementary: the group's size is withheld"
    elif spec is not None and anchor_rows.any():
        positions = [int(i) for i in np.flatnonzero(anchor_rows)]
        anchor_times = thinned["time"].to_numpy(dtype=float)
        anchor_at_risk = thinned["at_risk"].to_numpy(dtype=float)
        cells = [({**spec, "measure": f"{spec.get('measure')} at risk", "years": float(anchor_times[i])},
                  int(anchor_at_risk[i])) for i in positions]
        ledger = Ledger(principal, db_path)
        risky = ledger.risky(cells)
        for k in risky:
            row = thinned.index[positions[k]]
            thinned.loc[row, values] = np.nan
            thinned.loc[row, SUPPRESSED] = True
            thinned.loc[row, REASON] = DIFFERENCING
        ledger.record([cell for k, cell in enumerate(cells) if k not in risky])
    if requested is None:
        return thinned.reset_index(drop=True)
    return _read_at(thinned, [float(t) for t in requested], values)


def _read_at(thinned: pd.DataFrame, requested: Sequence[float], values: Sequence[str]) -> pd.DataFrame:
    """Rows at the requested times from a released curve: an anchor's own row, otherwise the last shown
    point before the time (its number at risk is not known there and left empty)."""
    rows = []
    for time in requested:
        exact = thinned[thinned["time"] == time]
        if len(exact):
            rows.append(exact.iloc[0].to_dict())
            continue
        shown = thinned[(thinned["time"] <= time) & ~thinned[SUPPRESSED].astype(bool)]
        if shown.empty:
            rows.append({"time": time, **{c: np.nan for c in values}, SUPPRESSED: True,
                         REASON: "no released point before this time"})
        else:
            rows.append({**shown.iloc[-1].to_dict(), "time": time, "at_risk": np.nan})
    out = pd.DataFrame(rows, columns=thinned.columns)
    out[SUPPRESSED] = out[SUPPRESSED].astype(bool)
    return out
