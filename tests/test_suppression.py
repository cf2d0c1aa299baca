"""Small-cell suppression: primary and complementary cells, flags, derived values, and a brute-force
attacker who tries to solve every withheld cell from what the table publishes; the cell-level
differencing guard."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from registry.operational_store import open_operational_store
from registry.suppression import (
    COMPLEMENTARY,
    DIFFERENCING,
    CellGuard,
    suppress,
)

PRIMARY = "primary: count 1-15"


def grid(values: list[list[int]]) -> pd.DataFrame:
    """A county x year table from a matrix of counts (rows: counties A, B, ...; columns: 2019, 2020, ...)."""
    return pd.DataFrame([(chr(65 + r), 2019 + c, n) for r, row in enumerate(values) for c, n in enumerate(row)],
                        columns=["county", "year", "count"])


def lines_of(table: pd.DataFrame, dims: list[str], totals: dict[str, str]) -> list[tuple[list[int], int | None]]:
    """Independently of the module: each line's component positions and its total row (None: a margin)."""
    out = []
    for axis, dim in enumerate(dims):
        others = [d for i, d in enumerate(dims) if i != axis]
        keyed = table.groupby(others, dropna=False).indices if others else {(): np.arange(len(table))}
        for positions in keyed.values():
            parts = [int(p) for p in positions if not (dim in totals and table[dim].iloc[p] == totals[dim])]
            tot = [int(p) for p in positions if dim in totals and table[dim].iloc[p] == totals[dim]]
            if tot:
                out.append((parts, tot[0]))
            elif len(parts) >= 2:
                out.append((parts, None))
    return out


def recoverable_cells(original: pd.DataFrame, released: pd.DataFrame, dims: list[str],
                      totals: dict[str, str] | None = None) -> list[int]:
    """Brute force: enumerate every non-negative integer filling of the withheld cells that agrees with all
    published cells and totals; a withheld cell that takes one value in every filling is recovered."""
    totals = totals or {}
    counts = original["count"].astype(int).tolist()
    hidden = [i for i, flag in enumerate(released["suppressed"]) if flag]
    lines = lines_of(original, dims, totals)
    # Each equation: list of cells and the published right-hand side (a margin total, or 0 for a total row).
    equations = []
    for parts, tot in lines:
        if tot is None:
            equations.append((parts, [], sum(counts[p] for p in parts)))
        else:
            equations.append((parts, [tot], 0))
    bound = sum(counts)
    seen: dict[int, set[int]] = {h: set() for h in hidden}
    value: dict[int, int] = {}

    def residual(eq: tuple[list[int], list[int], int]) -> tuple[int, bool]:
        plus, minus, rhs = eq
        total, complete = 0, True
        for p in plus:
            if p in value or p not in seen:
                total += value.get(p, counts[p])
            else:
                complete = False
        for p in minus:
            if p in value or p not in seen:
                total -= value.get(p, counts[p])
            else:
                complete = False
        return total - rhs, complete

    def consistent() -> bool:
        for eq in equations:
            diff, complete = residual(eq)
            if complete and diff != 0:
                return False
            if not eq[1] and diff > 0:   # a margin already exceeded
                return False
        return True

    def search(i: int) -> bool:
        if all(len(v) >= 2 for v in seen.values()):
            return True
        if i == len(hidden):
            for h in hidden:
                seen[h].add(value[h])
            return False
        for v in range(bound + 1):
            value[hidden[i]] = v
            if consistent() and search(i + 1):
                return True
            del value[hidden[i]]
        return False

    search(0)
    return [h for h, values in seen.items() if len(values) == 1]


def test_primary_derived_flags_and_zero():
    table = pd.DataFrame({"county": ["A", "B", "C", "D"], "count": [3, 40, 0, 16],
                          "rate": [1.5, 20.0, 0.0, 8.0], "lower": [0.3, 14.0, 0.0, 4.0], "upper": [4.4, 27.0, 1.9, 13.0],
                          "population": [200_000] * 4})
    out = suppress(table, dimensions=["county"], margins=False)
    assert out["suppressed"].tolist() == [True, False, False, False]
    assert out.loc[0, "suppression_reason"] == PRIMARY
    assert np.isnan(out.loc[0, ["count", "rate", "lower", "upper"]].astype(float)).all()
    assert out.loc[0, "population"] == 200_000            # not derived from the count
    assert out.loc[2, "count"] == 0 and not out.loc[2, "suppressed"]   # zero is published as zero
    assert out.loc[3, "count"] == 16                       # the threshold itself is published
    assert table.loc[0, "count"] == 3                      # the input is not changed


def test_threshold_configurable():
    table = pd.DataFrame({"county": ["A", "B"], "count": [5, 11]})
    out = suppress(table, threshold=11, dimensions=["county"], margins=False)
    assert out["suppressed"].tolist() == [True, False]
    assert out.loc[0, "suppression_reason"] == "primary: count 1-10"


def test_one_dimension_with_state_total_row():
    table = pd.DataFrame({"county": ["A", "B", "C", "state"], "count": [4, 30, 50, 84], "rate": [1.0, 2, 3, 4]})
    out = suppress(table, dimensions=["county"], totals={"county": "state"})
    assert out["suppressed"].tolist() == [True, True, False, False]
    assert out["suppression_reason"].tolist()[:2] == [PRIMARY, COMPLEMENTARY]
    assert np.isnan(out.loc[1, "rate"])
    assert recoverable_cells(table, out, ["county"], {"county": "state"}) == []


def test_primary_alone_would_be_recoverable():
    """The attacker works: with only the primary cell withheld it recovers it from the margins."""
    table = grid([[3, 40, 50], [20, 30, 60], [25, 35, 45]])
    primary_only = table.assign(suppressed=[True] + [False] * 8)
    assert recoverable_cells(table, primary_only, ["county", "year"]) == [0]


def test_two_dimensions_complementary_across_rows_and_columns():
    table = grid([[3, 40, 50], [20, 30, 60], [25, 35, 45]])
    out = suppress(table, dimensions=["county", "year"])
    hidden = out.index[out["suppressed"]].tolist()
    assert len(hidden) >= 4
    for line in lines_of(table, ["county", "year"], {}):
        assert sum(out["suppressed"].iloc[p] for p in line[0]) != 1
    assert recoverable_cells(table, out, ["county", "year"]) == []
    assert set(out.loc[out["suppressed"], "suppression_reason"]) == {PRIMARY, COMPLEMENTARY}
    assert out.loc[out["suppressed"], "count"].isna().all()


def test_table_with_total_rows_and_columns():
    inner = [[2, 18, 30], [17, 5, 40], [22, 26, 33]]
    rows = []
    for r, counts in enumerate(inner):
        rows += [(chr(65 + r), str(2019 + c), n) for c, n in enumerate(counts)]
        rows.append((chr(65 + r), "all", sum(counts)))
    for c in range(3):
        rows.append(("state", str(2019 + c), sum(row[c] for row in inner)))
    rows.append(("state", "all", sum(map(sum, inner))))
    table = pd.DataFrame(rows, columns=["county", "year", "count"])
    totals = {"county": "state", "year": "all"}
    out = suppress(table, dimensions=["county", "year"], totals=totals, margins=False)
    assert recoverable_cells(table, out, ["county", "year"], totals) == []


@pytest.mark.parametrize("seed", range(12))
def test_random_tables_leave_nothing_recoverable(seed):
    rng = random.Random(seed)
    shape = (rng.randint(2, 4), rng.randint(2, 4))
    values = [[rng.choice([0, 1, 2, 5, 9, 14, 17, 20, 23, 30]) for _ in range(shape[1])] for _ in range(shape[0])]
    table = grid(values)
    out = suppress(table, dimensions=["county", "year"])
    assert recoverable_cells(table, out, ["county", "year"]) == [], values
    for pos, count in enumerate(table["count"]):
        if 0 < count < 16:
            assert out.loc[pos, "suppression_reason"] == PRIMARY
        if count == 0 and not out.loc[pos, "suppressed"]:
            assert out.loc[pos, "count"] == 0


def test_bad_arguments():
    table = pd.DataFrame({"county": ["A"], "count": [3]})
    with pytest.raises(ValueError, match="count column"):
        suppress(table, count_column="n")
    with pytest.raises(ValueError, match="dimensions"):
        suppress(table, dimensions=["year"])
    with pytest.raises(ValueError, match="negative"):
        suppress(table.assign(count=[-1]))


def test_cell_guard_persists_in_operational_store_and_injection_is_a_value(tmp_path: Path):
    evil = "'); DROP TABLE released_cell; --"
    CellGuard(open_operational_store(tmp_path / "r.duckdb")).record("ana", [({"county": [evil]}, 100)])
    guard = CellGuard(open_operational_store(tmp_path / "r.duckdb"))      # a new guard, same memory
    assert guard.screen("ana", [({"county": [evil, "x"]}, 95)]) == [0]
    assert guard.screen("bob", [({"county": [evil, "x"]}, 95)]) == []     # another user: nothing to difference


def test_a_cell_alone_in_its_line_does_not_cascade_through_the_table():
    """Site x sex with a site reported for one sex only: that cell equals its (margin) total, so no
    complement here can protect it; the others are protected with a compact rectangle, not the whole table."""
    table = pd.DataFrame([("A", "1", 3), ("A", "2", 40), ("B", "1", 20), ("B", "2", 5), ("C", "1", 30),
                          ("C", "2", 25), ("D", "1", 2)], columns=["site", "sex", "count"])
    out = suppress(table, dimensions=["site", "sex"])
    assert out["suppressed"].tolist() == [True, True, True, True, False, False, True]
    assert set(recoverable_cells(table, out, ["site", "sex"])) <= {6}   # D alone: its own total gives it away


def test_cell_guard_finds_partners_differing_in_one_dimension(tmp_path: Path):
    guard = CellGuard(open_operational_store(tmp_path / "r.duckdb"))
    both = {"site": ["39"], "sex": ["1", "2"], "county": "20001"}
    guard.record("ana", [(both, 240)])
    female = {**both, "sex": ["2"]}
    other_county = {**female, "county": "20003"}
    assert guard.screen("ana", [(female, 231), (female, 200), ({**both}, 240), (other_county, 231)]) == [0]
    assert guard.screen("bob", [(female, 231)]) == []          # per user
    assert guard.screen("ana", [({**female, "site": ["30"]}, 231)]) == []   # differs in two dimensions
    assert guard.screen("ana", [({**both, "site": ["30"]}, 231)]) == []     # disjoint sites count nobody
    assert guard.screen("ana", [({**both, "site": []}, 250)]) == [0]        # all sites contain breast
    ranged = CellGuard(guard.ops, bounds=frozenset({"first_year"}))
    ranged.record("ana", [({**both, "first_year": 2014}, 240)])
    assert ranged.screen("ana", [({**both, "first_year": 2016}, 230)]) == [0]
    evil = {**both, "county": "'); DROP TABLE released_cell; --"}
    guard.record("ana", [(evil, 50)])
    assert guard.screen("ana", [({**evil, "sex": ["2"]}, 45)]) == [0]


def test_withheld_positions_are_primary_and_get_complements():
    table = grid([[40, 50], [60, 70]])
    out = suppress(table, dimensions=["county", "year"], withhold=[0])
    assert out.loc[0, "suppression_reason"] == DIFFERENCING and out.loc[0, "count"] != out.loc[0, "count"]
    assert out["suppressed"].sum() == 4   # a 2 x 2 table: the complements close the rectangle
    assert recoverable_cells(table, out, ["county", "year"]) == []
