"""APC and AAPC against R's lm() (values pinned in tests/reference)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from registry.stats.trends import aapc, annual_percent_change

REFERENCE = Path(__file__).parent / "reference"
POINT = 1e-6
INTERVAL = 1e-4

TREND = pd.read_csv(REFERENCE / "trend_input.csv")
APC = pd.read_csv(REFERENCE / "apc_reference.csv")
AAPC = pd.read_csv(REFERENCE / "aapc_reference.csv")


def _check(got: pd.Series, expected: Any, estimate: str) -> None:
    assert got[estimate] == pytest.approx(getattr(expected, estimate), rel=POINT)
    assert got["slope"] == pytest.approx(expected.slope, rel=POINT)
    assert got["slope_se"] == pytest.approx(expected.slope_se, rel=POINT)
    assert got["p_value"] == pytest.approx(expected.p_value, rel=POINT)
    assert got["lower"] == pytest.approx(expected.lower, rel=INTERVAL)
    assert got["upper"] == pytest.approx(expected.upper, rel=INTERVAL)


@pytest.mark.parametrize("row", list(APC.itertuples(index=False)), ids=lambda r: f"{r.case}-{r.alpha}")
def test_apc_matches_r_lm(row: Any) -> None:
    case = row.case
    data = TREND[TREND["year"] <= 2007] if case == "ols_2000_2007" else TREND
    se = data["se"] if case.startswith("wls") else None
    result = annual_percent_change(data["year"], data["rate"], se=se, alpha=row.alpha)
    assert len(result) == 1
    got = result.iloc[0]
    _check(got, row, "apc")
    assert got["n_years"] == len(data)
    assert (got["first_year"], got["last_year"]) == (2000, data["year"].max())
    assert result.attrs["alpha"] == row.alpha
    assert result.attrs["parameters"]["weighted"] is (se is not None)
    assert ("weighted least-squares" in result.attrs["method"]) is (se is not None)


@pytest.mark.parametrize("row", list(AAPC.itertuples(index=False)),
                         ids=lambda r: f"{'wls' if r.weighted else 'ols'}-{r.start}-{r.end}-{r.alpha}")
def test_aapc_with_a_fixed_joinpoint_matches_r(row: Any) -> None:
    se = TREND["se"] if row.weighted else None
    result = aapc(TREND["year"], TREND["rate"], se=se, joinpoints=[2007], start=row.start,
                  end=row.end, alpha=row.alpha)
    got = result.iloc[0]
    _check(got, row, "aapc")
    assert got["n_segments"] == 2
    assert got["segment_apcs"] == pytest.approx([row.apc_segment1, row.apc_segment2], rel=POINT)
    assert result.attrs["parameters"]["joinpoints"] == [2007.0]
    assert "Joinpoint" in result.attrs["method"]


def test_aapc_of_one_segment_equals_the_apc() -> None:
    apc = annual_percent_change(TREND["year"], TREND["rate"], se=TREND["se"]).iloc[0]
    avg = aapc(TREND["year"], TREND["rate"], se=TREND["se"]).iloc[0]
    for column in ("slope", "slope_se", "lower", "upper", "p_value"):
        assert avg[column] == pytest.approx(apc[column], rel=1e-10)
    assert avg["aapc"] == pytest.approx(apc["apc"], rel=1e-10)


def test_aapc_within_one_segment_is_that_segments_apc() -> None:
    late = aapc(TREND["year"], TREND["rate"], joinpoints=[2007], start=2009, end=2013).iloc[0]
    assert late["aapc"] == pytest.approx(late["segment_apcs"][1], rel=1e-10)


def test_order_of_years_does_not_matter() -> None:
    shuffled = TREND.sample(frac=1, random_state=3)
    a = annual_percent_change(shuffled["year"], shuffled["rate"], se=shuffled["se"])
    b = annual_percent_change(TREND["year"], TREND["rate"], se=TREND["se"])
    pd.testing.assert_frame_equal(a, b)


def test_exact_log_linear_series() -> None:
    years = np.arange(1990, 2000)
    result = annual_percent_change(years, 20 * 1.03 ** (years - 1990)).iloc[0]
    assert result["apc"] == pytest.approx(3.0, rel=1e-9)
    assert result["lower"] == pytest.approx(3.0, rel=1e-6) and result["upper"] == pytest.approx(3.0, rel=1e-6)


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_zero_or_negative_rates_are_rejected(bad: float) -> None:
    rates = TREND["rate"].copy()
    rates.iloc[4] = bad
    with pytest.raises(ValueError, match=r"rates must be positive .* years \[2004.0\]"):
        annual_percent_change(TREND["year"], rates)
    with pytest.raises(ValueError, match="rates must be positive"):
        aapc(TREND["year"], rates)


def test_input_errors() -> None:
    years, rates = TREND["year"], TREND["rate"]
    with pytest.raises(ValueError, match="differ in length"):
        annual_percent_change(years, rates[:-1])
    with pytest.raises(ValueError, match="at least 3 years"):
        annual_percent_change(years[:2], rates[:2])
    with pytest.raises(ValueError, match="se must be positive"):
        annual_percent_change(years, rates, se=TREND["se"] * 0)
    with pytest.raises(ValueError, match=r"years repeat: \[2000.0\]"):
        annual_percent_change([2000, 2000, 2001], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="missing or infinite"):
        annual_percent_change([2000, 2001, 2002], [1.0, np.nan, 3.0])
    with pytest.raises(ValueError, match="alpha must be between"):
        annual_percent_change(years, rates, alpha=0)


def test_aapc_range_and_joinpoint_errors() -> None:
    years, rates = TREND["year"], TREND["rate"]
    with pytest.raises(ValueError, match="start < end"):
        aapc(years, rates, start=2010, end=2005)
    with pytest.raises(ValueError, match="start < end"):
        aapc(years, rates, start=1995)
    with pytest.raises(ValueError, match="strictly inside"):
        aapc(years, rates, joinpoints=[2014])
    with pytest.raises(ValueError, match="fewer than two years"):
        aapc(years, rates, joinpoints=[2007, 2007.5])
    with pytest.raises(ValueError, match="joinpoints repeat"):
        aapc(years, rates, joinpoints=[2007, 2007])
