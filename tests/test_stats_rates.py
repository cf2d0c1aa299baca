"""Age-specific and age-adjusted rates and rate ratios against values pinned from R (tests/reference)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from registry.standard_populations import standard_age_groups, standard_populations
from registry.stats.rates import (
    StatisticalWarning,
    age_adjusted_rates,
    age_specific_rates,
    rate_ratio,
)

REFERENCE = Path(__file__).parent / "reference"
POINT = 1e-6      # relative tolerance for point estimates
INTERVAL = 1e-4   # relative tolerance for interval limits


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(REFERENCE / name, dtype={"age_group": str, "area": str, "numerator": str,
                                                  "denominator": str})


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return _read("rates_input.csv")


def _cases(data: pd.DataFrame) -> pd.DataFrame:
    return data[["area", "age_group", "count"]]


def _population(data: pd.DataFrame) -> pd.DataFrame:
    return data[["area", "age_group", "population"]]


def _adjusted(data: pd.DataFrame, **kwargs: object) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        return age_adjusted_rates(_cases(data), _population(data), by="area", **kwargs)  # type: ignore[arg-type]


AGE_ADJUSTED = _read("age_adjusted_reference.csv")


@pytest.mark.parametrize(("standard", "ci", "alpha"),
                         sorted(set(AGE_ADJUSTED[["standard", "ci", "alpha"]].itertuples(index=False))))
def test_age_adjusted_rates_match_r(data: pd.DataFrame, standard: str, ci: str, alpha: float) -> None:
    result = _adjusted(data, standard=standard, ci=ci, alpha=alpha).set_index("area")
    expected = AGE_ADJUSTED[(AGE_ADJUSTED["standard"] == standard) & (AGE_ADJUSTED["ci"] == ci)
                            & (AGE_ADJUSTED["alpha"] == alpha)]
    assert len(expected) >= 2
    for row in expected.itertuples(index=False):
        got = result.loc[str(row.area)]
        assert got["rate"] == pytest.approx(row.rate, rel=POINT, abs=1e-12)
        assert got["std_err"] == pytest.approx(row.std_err, rel=POINT, abs=1e-12)
        assert got["lower"] == pytest.approx(row.lower, rel=INTERVAL, abs=1e-12)
        assert got["upper"] == pytest.approx(row.upper, rel=INTERVAL)
    assert set(result.index) == {"A", "B", "C"}


def test_age_adjusted_result_columns_and_totals(data: pd.DataFrame) -> None:
    result = _adjusted(data)
    assert list(result["area"]) == ["A", "B", "C"]
    for column in ("count", "population", "crude_rate", "rate", "std_err", "lower", "upper", "note"):
        assert column in result.columns
    a = result.iloc[0]
    area_a = data[data["area"] == "A"]
    assert a["count"] == area_a["count"].sum()
    assert a["population"] == area_a["population"].sum()
    assert a["crude_rate"] == pytest.approx(area_a["count"].sum() / area_a["population"].sum() * 1e5)
    assert a["variance"] == pytest.approx(a["std_err"] ** 2)
    assert (result["note"] == "").all()


def test_zero_count_gives_zero_rate_with_positive_upper_limit(data: pd.DataFrame) -> None:
    c = _adjusted(data).set_index("area").loc["C"]
    assert c["rate"] == 0 and c["lower"] == 0 and c["std_err"] == 0
    assert c["upper"] > 0 and np.isfinite(c["upper"])


def test_missing_case_rows_are_zero_counts(data: pd.DataFrame) -> None:
    full = _adjusted(data)
    sparse = data[data["count"] > 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        result = age_adjusted_rates(_cases(sparse), _population(data), by="area")
    pd.testing.assert_frame_equal(result, full)


def test_repeated_rows_are_summed(data: pd.DataFrame) -> None:
    halves = pd.concat([data.assign(count=data["count"] / 2, population=data["population"] / 2)] * 2)
    pd.testing.assert_frame_equal(_adjusted(halves), _adjusted(data))


def test_finer_data_groups_merge_into_the_standard(data: pd.DataFrame) -> None:
    """20-group data on the 19-group standard equal 19-group data (85-89 + 90+ = 85+)."""
    coarse = data.assign(age_group=data["age_group"].replace({"85-89": "85+", "90+": "85+"}))
    pd.testing.assert_frame_equal(_adjusted(coarse, standard="us2000_19"),
                                  _adjusted(data, standard="us2000_19"), check_like=True)
    assert _adjusted(data, standard="us2000_19").attrs["parameters"]["data_age_groups"][-2:] == ["85-89", "90+"]


def test_stratum_without_by(data: pd.DataFrame) -> None:
    a = data[data["area"] == "A"]
    result = age_adjusted_rates(a[["age_group", "count"]], a[["age_group", "population"]])
    assert len(result) == 1 and "area" not in result.columns
    assert result["rate"].iloc[0] == pytest.approx(_adjusted(data).iloc[0]["rate"], rel=1e-12)


def test_several_by_columns(data: pd.DataFrame) -> None:
    two = pd.concat([data.assign(sex="F"), data.assign(sex="M")])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        result = age_adjusted_rates(two[["area", "sex", "age_group", "count"]],
                                    two[["area", "sex", "age_group", "population"]], by=["area", "sex"])
    assert list(zip(result["area"], result["sex"], strict=True)) == [
        ("A", "F"), ("A", "M"), ("B", "F"), ("B", "M"), ("C", "F"), ("C", "M")]
    assert result["rate"].iloc[0] == pytest.approx(_adjusted(data).iloc[0]["rate"], rel=1e-12)


def test_provenance_is_recorded(data: pd.DataFrame) -> None:
    result = _adjusted(data, standard="us2000_18", ci="gamma", alpha=0.1, per=1_000_000)
    assert result.attrs["standard"] == "us2000_18"
    assert result.attrs["alpha"] == 0.1
    assert "Fay & Feuer" in result.attrs["method"]
    params = result.attrs["parameters"]
    assert params["ci"] == "gamma" and params["per"] == 1_000_000 and params["by"] == ["area"]
    assert params["standard_age_groups"][0] == "00-04"
    assert "Tiwari" in _adjusted(data).attrs["method"]
    assert _adjusted(data).attrs["data_vintage"] is None


def test_per_scales_rates(data: pd.DataFrame) -> None:
    per_100k = _adjusted(data)
    per_1k = _adjusted(data, per=1000)
    for column in ("crude_rate", "rate", "std_err", "lower", "upper"):
        np.testing.assert_allclose(per_1k[column], per_100k[column] / 100)


# --- zero populations ------------------------------------------------------------------------------


def test_stratum_with_zero_population_is_undefined_with_a_note(data: pd.DataFrame) -> None:
    empty = data[data["area"] == "C"].assign(area="Z", population=0, count=0)
    result = _adjusted(pd.concat([data, empty])).set_index("area")
    z = result.loc["Z"]
    for column in ("crude_rate", "rate", "std_err", "lower", "upper"):
        assert np.isnan(z[column])
    assert "population is zero" in z["note"]
    assert result.loc["A", "note"] == ""


def test_cases_with_zero_population_follow_seer_rule(data: pd.DataFrame) -> None:
    """SEER*Stat sets the population to the count where an age group has cases but no population."""
    odd = data.copy()
    row = (odd["area"] == "A") & (odd["age_group"] == "90+")
    odd.loc[row, "population"] = 0
    result = _adjusted(odd, standard="us2000_20").set_index("area")
    patched = data.copy()
    patched.loc[row, "population"] = patched.loc[row, "count"]
    expected = _adjusted(patched, standard="us2000_20").set_index("area")
    for column in ("rate", "std_err", "lower", "upper"):
        assert result.loc["A", column] == pytest.approx(expected.loc["A", column], rel=1e-12)
    assert result.loc["A", "population"] == data.loc[(data["area"] == "A"), "population"].sum() - 2050
    note = str(result.loc["A", "note"])
    assert "90+" in note and "SEER*Stat" in note
    # On the 19-group standard 90+ merges with 85-89, whose population is not zero: no adjustment.
    assert _adjusted(odd).set_index("area").loc["A", "note"] == ""


def test_age_group_with_zero_count_and_population_contributes_zero(data: pd.DataFrame) -> None:
    odd = data.copy()
    row = (odd["area"] == "B") & (odd["age_group"] == "00")
    odd.loc[row, "population"] = 0
    b = _adjusted(odd).set_index("area").loc["B"]
    reference = _adjusted(data).set_index("area").loc["B"]
    assert b["rate"] == pytest.approx(reference["rate"], rel=1e-12)
    assert b["note"] == ""


# --- input errors ----------------------------------------------------------------------------------


def test_negative_counts_are_rejected(data: pd.DataFrame) -> None:
    bad = data.copy()
    bad.loc[3, "count"] = -2
    with pytest.raises(ValueError, match=r"cases\['count'\] has negative values: \[-2.0\]"):
        age_adjusted_rates(_cases(bad), _population(data), by="area")


def test_negative_populations_are_rejected(data: pd.DataFrame) -> None:
    bad = data.copy()
    bad.loc[5, "population"] = -10
    with pytest.raises(ValueError, match=r"population\['population'\] has negative values: \[-10.0\]"):
        age_adjusted_rates(_cases(data), _population(bad), by="area")


@pytest.mark.parametrize("frame", ["cases", "population"])
def test_unknown_age_group_codes_are_rejected(data: pd.DataFrame, frame: str) -> None:
    bad = data.copy()
    bad.loc[0, "age_group"] = "0"
    bad.loc[1, "age_group"] = "unknown"
    cases = _cases(bad) if frame == "cases" else _cases(data)
    population = _population(bad) if frame == "population" else _population(data)
    with pytest.raises(ValueError, match=rf"{frame}\['age_group'\] has unknown age-group codes \['0', 'unknown'\]"):
        age_adjusted_rates(cases, population, by="area")
    with pytest.raises(ValueError, match="unknown age-group codes"):
        age_specific_rates(cases, population, by="area")


def test_population_missing_for_age_group_with_cases(data: pd.DataFrame) -> None:
    population = _population(data)
    population = population[~((population["area"] == "A") & (population["age_group"] == "60-64"))]
    with pytest.raises(ValueError, match=r"population has no row for age groups present in cases "
                                         r"\(population\['age_group'\] missing\): \[\"area='A': 60-64\"\]"):
        age_adjusted_rates(_cases(data), population, by="area")


def test_population_missing_an_age_group_other_strata_have(data: pd.DataFrame) -> None:
    population = _population(data)
    population = population[~((population["area"] == "C") & (population["age_group"] == "60-64"))]
    with_cases = _cases(data[data["count"] > 0])
    with pytest.raises(ValueError, match=r"population lacks age groups .*area='C': 60-64"):
        age_adjusted_rates(with_cases, population, by="area")


def test_stratum_only_in_cases_is_an_error(data: pd.DataFrame) -> None:
    extra = pd.DataFrame({"area": ["Q"], "age_group": ["50-54"], "count": [3]})
    with pytest.raises(ValueError, match=r"population has no row .*area='Q': 50-54"):
        age_adjusted_rates(pd.concat([_cases(data), extra]), _population(data), by="area")


def test_missing_columns_are_named(data: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"cases lacks column\(s\) \['area'\]"):
        age_adjusted_rates(data[["age_group", "count"]], _population(data), by="area")
    with pytest.raises(ValueError, match=r"population lacks column\(s\) \['population'\]"):
        age_adjusted_rates(_cases(data), _cases(data), by="area")


def test_standard_needing_finer_old_age_groups(data: pd.DataFrame) -> None:
    coarse = data.assign(age_group=data["age_group"].replace({"85-89": "85+", "90+": "85+"}))
    with pytest.raises(ValueError, match=r"standard 'us2000_20' needs age groups \['85-89', '90\+'\], but the "
                                         r"data's age_group \['85\+'\] spans several"):
        _adjusted(coarse, standard="us2000_20")


def test_data_group_spanning_young_standard_groups(data: pd.DataFrame) -> None:
    merged = data.assign(age_group=data["age_group"].replace({"00": "00-04", "01-04": "00-04"}))
    with pytest.raises(ValueError, match=r"needs age groups \['00', '01-04'\], but the data's age_group \['00-04'\]"):
        _adjusted(merged)
    # ... while the 18-group standard takes them as they are.
    assert _adjusted(merged, standard="us2000_18")["rate"].iloc[0] == pytest.approx(
        _adjusted(data, standard="us2000_18")["rate"].iloc[0], rel=1e-12)


def test_categorical_by_and_integer_outputs(data: pd.DataFrame) -> None:
    typed = data.astype({"area": "category"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = age_specific_rates(_cases(typed), _population(typed), by="area")
    assert result["count"].dtype == "int64" and result["population"].dtype == "int64"
    assert list(result["area"].unique()) == ["A", "B", "C"]
    assert _adjusted(typed)["count"].dtype == "int64"


def test_data_lacking_age_groups_of_the_standard(data: pd.DataFrame) -> None:
    young_missing = data[~data["age_group"].isin(["00"])]
    with pytest.raises(ValueError, match=r"standard 'us2000_19' needs age groups \['00'\], which the data"):
        _adjusted(young_missing)
    # The 18-group standard's 00-04 needs both 00 and 01-04.
    with pytest.raises(ValueError, match=r"standard 'us2000_18' needs age groups \['00-04'\]"):
        _adjusted(young_missing, standard="us2000_18")


def test_overlapping_age_groups_are_rejected(data: pd.DataFrame) -> None:
    extra = data[(data["area"] == "A") & (data["age_group"] == "85-89")].assign(age_group="85+")
    with pytest.raises(ValueError, match=r"age groups overlap: '85-89' and '85\+'"):
        _adjusted(pd.concat([data, extra]))


def test_bad_options_are_rejected(data: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="ci must be one of"):
        _adjusted(data, ci="normal")
    with pytest.raises(ValueError, match="alpha must be between 0 and 1"):
        _adjusted(data, alpha=1.5)
    with pytest.raises(ValueError, match="unknown standard population 'us1970'"):
        _adjusted(data, standard="us1970")
    with pytest.raises(ValueError, match="ci must be one of"):
        age_specific_rates(_cases(data), _population(data), ci="gamma")


def test_missing_values_are_rejected(data: pd.DataFrame) -> None:
    bad = data.astype({"count": float})
    bad.loc[2, "count"] = np.nan
    with pytest.raises(ValueError, match=r"cases\['count'\] has missing values in 1 row"):
        age_adjusted_rates(_cases(bad), _population(data), by="area")


# --- small counts ----------------------------------------------------------------------------------


def test_small_counts_raise_a_statistical_warning(data: pd.DataFrame) -> None:
    with pytest.warns(StatisticalWarning, match=r"1 age-adjusted rate\(s\) rest on fewer than 16 cases.*area='C'"):
        age_adjusted_rates(_cases(data), _population(data), by="area")
    assert issubclass(StatisticalWarning, UserWarning)


def test_no_warning_for_large_counts(data: pd.DataFrame) -> None:
    a = data[data["area"] == "A"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", StatisticalWarning)
        age_adjusted_rates(_cases(a), _population(a), by="area")


# --- age-specific rates ----------------------------------------------------------------------------


AGE_SPECIFIC = _read("age_specific_reference.csv")


@pytest.mark.parametrize("alpha", sorted(set(AGE_SPECIFIC["alpha"])))
def test_age_specific_rates_match_r_poisson_test(data: pd.DataFrame, alpha: float) -> None:
    result = age_specific_rates(_cases(data), _population(data), by="area", alpha=alpha)
    expected = AGE_SPECIFIC[AGE_SPECIFIC["alpha"] == alpha]
    merged = expected.merge(result, on=["area", "age_group"], suffixes=("_r", ""))
    assert len(merged) == len(expected) == len(result) == 60
    np.testing.assert_allclose(merged["rate"], merged["rate_r"], rtol=POINT)
    np.testing.assert_allclose(merged["lower"], merged["lower_r"], rtol=INTERVAL, atol=1e-12)
    np.testing.assert_allclose(merged["upper"], merged["upper_r"], rtol=INTERVAL)
    assert result.attrs["alpha"] == alpha and "exact Poisson" in result.attrs["method"]
    assert result.attrs["parameters"]["ci"] == "exact"


def test_age_specific_rows_and_zero_population(data: pd.DataFrame) -> None:
    odd = data.copy()
    odd.loc[(odd["area"] == "C") & (odd["age_group"] == "90+"), "population"] = 0
    result = age_specific_rates(_cases(odd), _population(odd), by="area")
    assert list(result.columns) == ["area", "age_group", "count", "population", "rate", "std_err", "lower",
                                    "upper", "note"]
    assert list(result["age_group"][:3]) == ["00", "01-04", "05-09"]
    last = result.iloc[-1]
    assert last["age_group"] == "90+" and np.isnan(last["rate"]) and np.isnan(last["upper"])
    assert "population is zero" in last["note"]
    zero = result[(result["area"] == "C") & (result["age_group"] == "00")].iloc[0]
    assert zero["rate"] == 0 and zero["lower"] == 0 and zero["upper"] > 0


# --- rate ratios -----------------------------------------------------------------------------------


RATIOS = _read("rate_ratio_reference.csv")


@pytest.mark.parametrize("row", list(RATIOS.itertuples(index=False)), ids=lambda r: f"{r.ci}-{r.alpha}-{r.numerator}{r.denominator}")
def test_rate_ratio_matches_r(data: pd.DataFrame, row: Any) -> None:
    rates = _adjusted(data, standard=row.standard, ci=row.ci, alpha=row.alpha)
    result = rate_ratio(rates, numerator={"area": row.numerator},
                        denominator={"area": row.denominator})
    got = result.iloc[0]
    assert got["rate_ratio"] == pytest.approx(row.rate_ratio, rel=POINT)
    assert got["lower"] == pytest.approx(row.lower, rel=INTERVAL)
    assert got["upper"] == pytest.approx(row.upper, rel=INTERVAL)
    assert result.attrs["alpha"] == row.alpha
    assert result.attrs["standard"] == "us2000_19"
    assert "Fay (1999" in result.attrs["method"]


def test_rate_ratio_alpha_can_be_overridden(data: pd.DataFrame) -> None:
    rates = _adjusted(data, alpha=0.05)
    narrow = rate_ratio(rates, numerator={"area": "A"}, denominator={"area": "B"}, alpha=0.1)
    expected = RATIOS[(RATIOS["ci"] == "tiwari") & (RATIOS["alpha"] == 0.1) & (RATIOS["numerator"] == "A")]
    assert narrow["lower"].iloc[0] == pytest.approx(expected["lower"].iloc[0], rel=INTERVAL)


def test_rate_ratio_with_zero_rates(data: pd.DataFrame) -> None:
    rates = _adjusted(data)
    zero_top = rate_ratio(rates, numerator={"area": "C"}, denominator={"area": "A"}).iloc[0]
    assert zero_top["rate_ratio"] == 0 and zero_top["lower"] == 0 and zero_top["upper"] > 0
    zero_bottom = rate_ratio(rates, numerator={"area": "A"}, denominator={"area": "C"}).iloc[0]
    assert np.isnan(zero_bottom["rate_ratio"]) and np.isinf(zero_bottom["upper"]) and zero_bottom["lower"] > 0


def test_rate_ratio_selection_errors(data: pd.DataFrame) -> None:
    rates = _adjusted(data)
    with pytest.raises(ValueError, match=r"numerator \{'area': 'X'\} matches 0 rows"):
        rate_ratio(rates, numerator={"area": "X"}, denominator={"area": "A"})
    with pytest.raises(ValueError, match="names column"):
        rate_ratio(rates, numerator={"sex": "F"}, denominator={"area": "A"})
    with pytest.raises(ValueError, match="same row"):
        rate_ratio(rates, numerator={"area": "A"}, denominator={"area": "A"})
    with pytest.raises(ValueError, match="must be a result of age_adjusted_rates"):
        rate_ratio(rates[["area", "rate"]], numerator={"area": "A"}, denominator={"area": "B"})


# --- standard populations --------------------------------------------------------------------------


def test_canadian_2011_standard() -> None:
    table = standard_populations()
    canada = table[table["standard"] == "canada2011_19"]
    assert canada["population_or_weight"].sum() == 34_342_780
    groups = standard_age_groups("canada2011_19")
    assert list(groups["age_group"][[0, 1, -1 + len(groups)]]) == ["00-04", "05-09", "90+"]
    # Published weights (Statistics Canada, Canadian Cancer Registry standard population).
    assert groups["weight"].iloc[0] == pytest.approx(0.055297, abs=5e-7)
    assert groups["weight"].iloc[9] == pytest.approx(0.079199, abs=5e-7)
    merged = standard_age_groups("canada2011_18")
    assert merged["weight"].iloc[-1] == pytest.approx(groups["weight"].iloc[-2:].sum())
