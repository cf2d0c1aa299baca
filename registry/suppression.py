"""Small-cell suppression for aggregate tables, and a guard against releasing differences of counts.

What `suppress` protects:
- Primary: every count 1..threshold-1 (1-15 by default) and every value derived from it (rates and their
  confidence limits) is withheld: the value becomes NaN, `suppressed` is True and `suppression_reason`
  says why. Zero counts are published as 0 (a zero discloses nobody).
- Complementary: every *line* of the table (all cells that differ only in one dimension) sums to a
  total that is either a row of the table (`totals=`) or, by default (`margins=True`), assumed to be
  published somewhere else. While a line holds exactly one withheld cell, the next-smallest non-zero cell
  of that line is withheld too; afterwards an exact linear-algebra check (is the cell's value the same in
  every solution of the line equations?) adds cells until no withheld cell can be solved from the totals.

What it does not protect (callers and reviewers must know):
- Bounds: counts are non-negative, so withheld cells can still be narrowed to an interval (e.g. 0..20);
  only exact recovery is prevented, not interval narrowing (no protection ranges as in tau-ARGUS).
- Linked tables: totals published in *other* tables or queries (different strata, overlapping filters)
  are not known here. `CellGuard` (used by `registry.release`) covers counts whose filters differ in one
  nested dimension; chains of several filters and collusion between users are not prevented.
- A margin over a single cell equals that cell: it is left out of the check and must be suppressed
  wherever it is published (it is, when that table goes through `suppress`).
- Cost: the exact check is a dense SVD over withheld cells; fine for thousands of cells, not millions.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from registry.operational import OperationalStore, name_key, timestamp

DEFAULT_THRESHOLD = 16
DERIVED_COLUMNS: tuple[str, ...] = ("rate", "lower", "upper", "std_err", "se", "crude_rate", "crude_lower",
                                    "crude_upper", "percent", "proportion", "lower_ci", "upper_ci",
                                    "variance", "w_max", "w_mean", "w2_mean")
SUPPRESSED = "suppressed"
REASON = "suppression_reason"
COMPLEMENTARY = "complementary"
DIFFERENCING = "differencing: differs by 1-15 from a cell released earlier"




def primary_reason(threshold: int) -> str:
    """The reason text of a primarily suppressed cell, e.g. `primary: count 1-15`."""
    return f"primary: count 1-{threshold - 1}"


def _lines(frame: pd.DataFrame, dimensions: Sequence[str], totals: Mapping[str, Hashable],
           margins: bool) -> tuple[list[tuple[list[int], int | None]], set[int]]:
    """Every line of the table: (positions of its component cells, position of its total row or None);
    and the cells alone in a line whose total is assumed published (they equal that total)."""
    lines: list[tuple[list[int], int | None]] = []
    alone: set[int] = set()
    keys = [frame[d].astype(object).where(frame[d].notna(), None).tolist() for d in dimensions]
    rows = list(zip(*keys, strict=True)) if dimensions else [() for _ in range(len(frame))]
    for axis, dim in enumerate(dimensions):
        groups: dict[tuple[Any, ...], tuple[list[int], list[int]]] = {}
        for pos, row in enumerate(rows):
            rest = row[:axis] + row[axis + 1:]
            parts, tot = groups.setdefault(rest, ([], []))
            (tot if dim in totals and row[axis] == totals[dim] else parts).append(pos)
        for parts, tot in groups.values():
            if tot:
                lines.append((parts, tot[0]))
            elif margins and len(parts) >= 2:
                lines.append((parts, None))
            elif margins and len(parts) == 1:
                alone.add(parts[0])
    return lines, alone


def lines_of(frame: pd.DataFrame, dimensions: Sequence[str]) -> list[tuple[str, list[int]]]:
    """Every line of a table of two or more cells: the dimension along which its cells differ, and their
    positions (the cells that share every other dimension's value)."""
    keys = [frame[d].astype(object).where(frame[d].notna(), None).tolist() for d in dimensions]
    rows = list(zip(*keys, strict=True)) if dimensions else []
    found: list[tuple[str, list[int]]] = []
    for axis, dim in enumerate(dimensions):
        groups: dict[tuple[Any, ...], list[int]] = {}
        for pos, row in enumerate(rows):
            groups.setdefault(row[:axis] + row[axis + 1:], []).append(pos)
        found += [(dim, members) for members in groups.values() if len(members) >= 2]
    if not dimensions and len(frame) >= 2:
        found.append(("", list(range(len(frame)))))
    return found


def _recoverable(hidden: list[int], lines: list[tuple[list[int], int | None]]) -> list[int]:
    """Withheld positions whose value is the same in every solution of the line equations."""
    if not hidden:
        return []
    index = {pos: i for i, pos in enumerate(hidden)}
    equations = []
    for parts, total in lines:
        coefficients = np.zeros(len(hidden))
        for pos in parts:
            if pos in index:
                coefficients[index[pos]] = 1.0
        if total is not None and total in index:
            coefficients[index[total]] = -1.0
        if coefficients.any():
            equations.append(coefficients)
    if not equations:
        return []
    matrix = np.vstack(equations)
    _, singular, vt = np.linalg.svd(matrix, full_matrices=True)
    rank = int((singular > 1e-9 * max(singular.max(initial=0.0), 1.0)).sum())
    null_space = vt[rank:]
    if null_space.shape[0] == 0:
        return list(hidden)
    free = np.abs(null_space).max(axis=0) > 1e-9
    return [pos for pos, is_free in zip(hidden, free, strict=True) if not is_free]


def _pick(candidates: Iterable[int], counts: np.ndarray, hidden: set[int],
          lines: list[tuple[list[int], int | None]]) -> int | None:
    """The complement to withhold among `candidates`: preferably a cell that also completes another line
    holding exactly one withheld cell (closing a cycle instead of opening a new one, which would cascade
    through the table), then the smallest non-zero visible cell (a zero cell only when none is left)."""
    visible = [pos for pos in candidates if pos not in hidden and not np.isnan(counts[pos])]
    if not visible:
        return None

    def closes(pos: int) -> int:
        members = ([*parts, *([total] if total is not None else [])] for parts, total in lines)
        return sum(1 for line in members if pos in line and sum(m in hidden for m in line) == 1)

    return min(visible, key=lambda pos: (-closes(pos), counts[pos] == 0, counts[pos], pos))


def suppress(table: pd.DataFrame, *, count_column: str = "count", threshold: int = DEFAULT_THRESHOLD,
             dimensions: Sequence[str] = (), derived_columns: Sequence[str] = DERIVED_COLUMNS,
             totals: Mapping[str, Hashable] | None = None, margins: bool = True,
             withhold: Iterable[int] = ()) -> pd.DataFrame:
    """A copy of `table` with counts 1..threshold-1, their derived values and complementary cells withheld.

    `withhold` names further rows (by position) to withhold as primary cells, reason `differencing`
    (see `CellGuard`).
    `dimensions` name the table's classifying columns (e.g. county_fips, diagnosis_year); `totals` maps a
    dimension to the label of its total rows (e.g. {"county_fips": "state"}); `margins=True` assumes every
    line's total is published elsewhere even when it is not a row of the table.
    """
    if threshold < 1:
        raise ValueError(f"threshold must be at least 1, not {threshold}")
    if count_column not in table.columns:
        raise ValueError(f"{count_column!r}: no such count column in the table")
    missing = [d for d in dimensions if d not in table.columns]
    if missing:
        raise ValueError(f"dimensions: no such columns {missing}")
    totals = dict(totals or {})
    result = table.reset_index(drop=True).copy()
    counts = pd.to_numeric(result[count_column], errors="coerce").to_numpy(dtype=float)
    if (counts < 0).any():
        raise ValueError(f"{count_column!r}: counts cannot be negative")
    reasons: list[str | None] = [None] * len(result)
    for pos, value in enumerate(counts):
        if 0 < value < threshold:
            reasons[pos] = primary_reason(threshold)
    for pos in withhold:
        reasons[pos] = reasons[pos] or DIFFERENCING
    lines, alone = _lines(result, dimensions, totals, margins) if dimensions else ([], set())
    hidden = {pos for pos, reason in enumerate(reasons) if reason}

    def hide(pos: int) -> None:
        hidden.add(pos)
        reasons[pos] = reasons[pos] or COMPLEMENTARY

    changed = True
    while changed:
        changed = False
        for parts, total in lines:                       # the line rule: never exactly one withheld cell
            members = [*parts, *([total] if total is not None else [])]
            if sum(pos in hidden for pos in members) == 1 and \
                    (pick := _pick(members, counts, hidden, lines)) is not None:
                hide(pick)
                changed = True
        if changed:
            continue
        # The exact check: a cycle-free cell is still solvable. A cell alone in its line equals that line's
        # total, which the margin assumption publishes: no complement in this table can protect it (its
        # protection is the total's own suppression), so it is not chased through the table.
        for pos in (p for p in _recoverable(sorted(hidden), lines) if p not in alone):
            in_lines = [m for parts, total in lines
                        if pos in parts or pos == total for m in [*parts, *([total] if total is not None else [])]]
            if (pick := _pick(in_lines, counts, hidden, lines)) is not None:
                hide(pick)
                changed = True
                break
    mask = np.array([pos in hidden for pos in range(len(result))], dtype=bool)
    result[count_column] = np.where(mask, np.nan, counts)
    for column in derived_columns:
        if column in result.columns:
            result[column] = pd.to_numeric(result[column], errors="coerce").mask(mask)
    result[SUPPRESSED] = mask
    result[REASON] = pd.Series(reasons, dtype=object)
    result.attrs.update(table.attrs)
    result.attrs["suppression"] = {"threshold": threshold, "count_column": count_column,
                                   "dimensions": list(dimensions), "totals": totals, "margins": margins}
    return result


# ---- differencing ------------------------------------------------------------------------------------

FilterSpec = Mapping[str, Any]


def canonical_filter(spec: FilterSpec) -> dict[str, Any]:
    """A filter as {dimension: sorted list of value texts}; scalars become one-element lists."""
    canonical: dict[str, Any] = {}
    for key, value in spec.items():
        values = list(value) if isinstance(value, list | tuple | set | frozenset) else [value]
        canonical[str(key)] = sorted("" if v is None else str(v) for v in values)
    return canonical


def _canonical_value(value: Any) -> str:
    """One dimension's value as text that compares equal when the values are the same filter."""
    return json.dumps(canonical_filter({"v": value})["v"], ensure_ascii=False, separators=(",", ":"))


@dataclass
class CellGuard:
    """Withholds a table cell whose count differs by 1..threshold-1 from a cell released earlier to the
    same user whose filter differs in exactly one dimension, nested (female vs both sexes in the same
    county, 2016-2023 vs 2014-2023): the difference would be the count of a small subpopulation.
    Filters that differ in a dimension without nesting (breast vs lung, county A vs county B) are left
    alone, since their difference counts nobody.

    A cell's filter is the query's filter plus its strata values; a value list means "any of these", an
    empty list "all". Dimensions in `bounds` are range limits (first year, minimum age): any two differing
    values of one of them are nested. Each released cell is kept once per dimension under the key "filter
    without that dimension" (operational store, `released_cell`), so a new cell's possible partners are
    found by index lookups, not by comparing with every earlier release. Withheld cells go to `suppress`
    as primary cells, which adds their complements.
    """

    ops: OperationalStore
    threshold: int = DEFAULT_THRESHOLD
    bounds: frozenset[str] = frozenset()

    @staticmethod
    def _keys(spec: FilterSpec) -> list[tuple[str, str, str]]:
        """(dimension, partial key, value) for each dimension of a cell's full filter."""
        canonical = {key: _canonical_value(value) for key, value in spec.items()}
        keys = []
        for dimension in sorted(canonical):
            rest = {k: v for k, v in canonical.items() if k != dimension}
            keys.append((dimension, json.dumps(rest, sort_keys=True, ensure_ascii=False, separators=(",", ":")),
                         canonical[dimension]))
        return keys

    def _nested(self, dimension: str, mine: str, theirs: str) -> bool:
        """Whether one value's set of records contains the other's."""
        if dimension in self.bounds:
            return True
        a, b = set(json.loads(mine)), set(json.loads(theirs))
        return not a or not b or a <= b or b <= a

    def screen(self, user: str, cells: Sequence[tuple[FilterSpec, int]]) -> list[int]:
        """Positions of the cells (full filter, count) that would disclose a small difference."""
        risky = []
        with self.ops.connect() as con:
            for pos, (spec, count) in enumerate(cells):
                if not count:
                    continue
                for dimension, partial, value in self._keys(spec):
                    partners = con.execute(
                        "SELECT value FROM released_cell WHERE owner_key = ? AND partial_key = ? AND dimension = ? "
                        "AND value <> ? AND abs(count - ?) BETWEEN 1 AND ?",
                        (name_key(user), partial, dimension, value, int(count), self.threshold - 1)).fetchall()
                    if any(self._nested(dimension, value, row[0]) for row in partners):
                        risky.append(pos)
                        break
        return risky

    def record(self, user: str, cells: Sequence[tuple[FilterSpec, int]]) -> None:
        """Remember released cells (full filter, count) for later screening."""
        now = timestamp(self.ops.now())
        rows = [(name_key(user), partial, dimension, value, int(count), now)
                for spec, count in cells for dimension, partial, value in self._keys(spec)]
        with self.ops.write() as con:
            con.executemany("INSERT OR REPLACE INTO released_cell VALUES (?, ?, ?, ?, ?, ?)", rows)
