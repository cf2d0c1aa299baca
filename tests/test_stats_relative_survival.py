"""Relative (net) survival and rate tables against R relsurv 2.2.9 ``rs.surv``.

References: tests/reference/survival/relsurv_curves.csv and relsurv_summary.csv (R calls in their '#'
headers; produced by make_reference.R there) on relsurv's colrec/slopop (exported to CSV) and on a
synthetic cohort with the shipped US life table.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from registry.ratetables import DAYS_PER_YEAR, load_ratetable, ratetable_arrays, us_life_table
from registry.stats.relative_survival import relative_survival
from registry.stats.survival import StatisticalWarning, conditional_survival, median_survival

REF = Path(__file__).parent / "reference" / "survival"
YEARS = np.array([1, 3, 5, 10])


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / name, comment="#")


def _colrec() -> pd.DataFrame:
    cr = _read("colrec.csv")
    return pd.DataFrame({"time_days": cr["time"], "dead": cr["stat"], "age_days": cr["age"], "sex": cr["sex"],
                         "diagnosis_date": cr["diag"]})


COLREC = _colrec()
SLOPOP = load_ratetable(REF / "slopop.csv")
SYNTHETIC = _read("us_synthetic_cohort.csv")
US = us_life_table()
RUNS = {"colrec_slopop": (COLREC, SLOPOP), "us_synthetic": (SYNTHETIC, US)}
CURVES = _read("relsurv_curves.csv")
SUMMARY = _read("relsurv_summary.csv")


def _rs(run: str, method: str, **kwargs: object) -> pd.DataFrame:
    data, table = RUNS[run]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        return relative_survival(data, table, method=method, **kwargs)  # type: ignore[arg-type]


def _nan_close(a: object, b: object, atol: float) -> None:
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    np.testing.assert_array_equal(np.isnan(x), np.isnan(y))
    ok = ~np.isnan(y)
    np.testing.assert_allclose(x[ok], y[ok], rtol=0, atol=atol)


@pytest.mark.parametrize("run", sorted(RUNS))
@pytest.mark.parametrize("method", ["pohar-perme", "ederer2"])
def test_daily_stepping_replicates_relsurv_full_curve(run: str, method: str) -> None:
    ref = CURVES[(CURVES["run"] == run) & (CURVES["method"] == method)]
    ours = _rs(run, method, integration="daily")
    np.testing.assert_array_equal(ours["time"], ref["time"])
    np.testing.assert_array_equal(ours["at_risk"], ref["n_risk"])
    np.testing.assert_array_equal(ours["events"], ref["n_event"])
    _nan_close(ours["estimate"], ref["surv"], 1e-8)
    _nan_close(ours["std_err_cumhaz"], ref["std_err_cumhaz"], 1e-8)
    _nan_close(ours["lower"], ref["lower"], 1e-8)
    _nan_close(ours["upper"], ref["upper"], 1e-8)


@pytest.mark.parametrize("run", sorted(RUNS))
@pytest.mark.parametrize("method", ["pohar-perme", "ederer2"])
@pytest.mark.parametrize("conf_type", ["log", "log-log", "plain"])
@pytest.mark.parametrize("integration", ["exact", "daily"])
def test_summary_times_match_relsurv(run: str, method: str, conf_type: str, integration: str) -> None:
    ref = SUMMARY[(SUMMARY["run"] == run) & (SUMMARY["method"] == method) & (SUMMARY["conf_type"] == conf_type)]
    ours = _rs(run, method, integration=integration, conf_type=conf_type, times=YEARS * DAYS_PER_YEAR)
    tol = 1e-8 if integration == "daily" else 5e-4
    np.testing.assert_array_equal(ours["at_risk"], ref["n_risk"])
    _nan_close(ours["estimate"], ref["surv"], tol)
    _nan_close(ours["std_err"], ref["std_err"], tol)
    _nan_close(ours["lower"], ref["lower"], tol)
    _nan_close(ours["upper"], ref["upper"], tol)


def test_exact_integration_against_quadrature() -> None:
    """Exact mode = the Pohar Perme integral computed by brute force (fine midpoint rule)."""
    data = COLREC[(COLREC["time_days"] > 0)].sample(25, random_state=4).copy()
    data.loc[data["time_days"] > 500, "dead"] = 0                 # follow-up cut at 500 days
    data["time_days"] = np.minimum(data["time_days"], 500)
    rt = ratetable_arrays(SLOPOP)
    ours = relative_survival(data, rt, integration="exact", min_at_risk=0)
    y = data["time_days"].to_numpy(float)
    dead = data["dead"].to_numpy(float)
    age = data["age_days"].to_numpy(float)
    date = pd.to_datetime(data["diagnosis_date"]).to_numpy().astype("datetime64[D]").astype(np.int64).astype(float)
    sex = data["sex"].to_numpy(int)
    h = 1 / 256
    s = (np.arange(int(y.max() / h)) + 0.5) * h                  # midpoints
    ia = np.clip(np.searchsorted(rt.age_starts, age[:, None] + s, "right") - 1, 0, len(rt.ages) - 1)
    iy = np.clip(np.searchsorted(rt.year_starts, date[:, None] + s, "right") - 1, 0, len(rt.years) - 1)
    lam = rt.hazard[sex[:, None] - 1, iy, ia]                      # subjects x fine steps
    cum = np.cumsum(lam, axis=1) * h
    lam_mid = cum - lam * h / 2                                     # Lambda at the midpoints
    grid_t = np.unique(y)
    est, prev = 1.0, 0.0
    expected = []
    for t in grid_t:
        risk = y >= t
        steps = (s > prev) & (s < t)
        wgt = np.exp(lam_mid[risk][:, steps])
        pop = h * np.sum((lam[risk][:, steps] * wgt).sum(axis=0) / wgt.sum(axis=0))
        k = int(round(t / h)) - 1
        w_end = np.exp(cum[:, k])
        ev = np.sum((w_end * dead)[y == t]) / np.sum(w_end[risk])
        est *= 1 - (ev - pop)
        expected.append(est)
        prev = t
    np.testing.assert_allclose(ours["estimate"], expected, rtol=0, atol=2e-7)


def test_results_do_not_depend_on_chunks_or_row_order() -> None:
    base = relative_survival(SYNTHETIC, US, min_at_risk=0)
    shuffled = SYNTHETIC.sample(frac=1.0, random_state=2)
    other = relative_survival(shuffled, US, chunk_size=97, min_at_risk=0)
    np.testing.assert_allclose(other["estimate"], base["estimate"], rtol=1e-12)
    np.testing.assert_allclose(other["std_err"], base["std_err"], rtol=1e-12)


@pytest.mark.parametrize("integration", ["exact", "daily"])
def test_extreme_ages_and_long_follow_up_are_numerically_stable(integration: str) -> None:
    """Ages past the table, 38 years of follow-up: pooled cell sums equal one-patient-at-a-time sums."""
    rng = np.random.default_rng(3)
    n = 80
    data = pd.DataFrame({"time_days": rng.integers(1, 14000, n), "dead": rng.integers(0, 2, n),
                         "age_days": (rng.uniform(60, 112, n) * DAYS_PER_YEAR).astype(int),
                         "sex": rng.integers(1, 3, n),
                         "diagnosis_date": pd.Timestamp("1975-01-01") + pd.to_timedelta(rng.integers(0, 3000, n), "D")})
    pooled = relative_survival(data, US, integration=integration, min_at_risk=0)
    single = relative_survival(data, US, integration=integration, min_at_risk=0, chunk_size=1)
    np.testing.assert_allclose(pooled["estimate"], single["estimate"], rtol=1e-10)


def test_zero_follow_up_dropped_and_provenance() -> None:
    res = relative_survival(SYNTHETIC, US, min_at_risk=0)
    params = res.attrs["parameters"]
    assert params["dropped_zero_time"] == 3
    assert params["n"] == len(SYNTHETIC) - 3
    assert "Pohar Perme" in res.attrs["method"] and res.attrs["alpha"] == 0.05
    assert list(res.columns[:5]) == ["time", "estimate", "std_err", "lower", "upper"]


def _one_subject(age_days: float, date: str, days: int, table: pd.DataFrame, integration: str,
                 method: str = "ederer2") -> float:
    data = pd.DataFrame({"time_days": [days], "dead": [0], "age_days": [age_days], "sex": [1],
                         "diagnosis_date": [date]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        res = relative_survival(data, table, method=method, integration=integration)
    return float(res["estimate"].iloc[-1]) - 1.0          # one censored subject: estimate = 1 + Lambda(y)


TINY = pd.DataFrame([(yr, sx, ag, hz) for yr, base in ((2000, 1e-4), (2005, 2e-4))
                     for sx in (1, 2) for ag, hz in ((50, base), (60, 3 * base))],
                    columns=["year", "sex", "age", "daily_hazard"])


@pytest.mark.parametrize("method", ["ederer2", "pohar-perme"])
def test_cell_conventions(method: str) -> None:
    age50 = 50 * DAYS_PER_YEAR
    # before the first listed year -> first year's row; stays in it during 2000
    assert _one_subject(age50 + 10, "1999-12-22", 20, TINY, "exact", method) == pytest.approx(20 * 1e-4)
    # 1 January 2005 at day 10: 10 days at the 2000 rate, 10 at the 2005 rate
    assert _one_subject(age50 + 10, "2004-12-22", 20, TINY, "exact", method) == pytest.approx(10e-4 + 10 * 2e-4)
    # after the last listed year -> last year's row
    assert _one_subject(age50 + 10, "2030-06-01", 20, TINY, "exact", method) == pytest.approx(20 * 2e-4)
    # birthday (age 60 = 21914.46 days) crossed 5.54 days into follow-up: exact vs next whole day
    age = 60 * DAYS_PER_YEAR - 5.54
    exact = _one_subject(age, "2001-03-01", 20, TINY, "exact", method)
    daily = _one_subject(age, "2001-03-01", 20, TINY, "daily", method)
    assert exact == pytest.approx(5.54 * 1e-4 + 14.46 * 3e-4)
    if method == "ederer2":
        assert daily == pytest.approx(6 * 1e-4 + 14 * 3e-4)
    else:
        # relsurv's day-step rule for the Pohar Perme population part (netfastpinter2): running sums of
        # lambda/S and 1/S over the days of the interval, averaged between day starts and day ends
        lam = np.array([1e-4] * 6 + [3e-4] * 14)
        cum = np.concatenate(([0.0], np.cumsum(lam)))
        a0, b0 = np.cumsum(lam * np.exp(cum[:-1])), np.cumsum(np.exp(cum[:-1]))
        a1, b1 = np.cumsum(lam * np.exp(cum[1:])), np.cumsum(np.exp(cum[1:]))
        assert daily == pytest.approx(np.sum((a0 / b0 + a1 / b1) / 2), rel=1e-12)
    # ages past the last listed age -> last age row
    assert _one_subject(90 * DAYS_PER_YEAR, "2001-03-01", 20, TINY, "exact", method) == pytest.approx(20 * 3e-4)


def test_median_and_conditional_on_relative_survival() -> None:
    full = relative_survival(COLREC, SLOPOP, min_at_risk=0)
    med = median_survival(full)
    assert 1000 < med["median"] < 1500
    assert med["lower"] <= med["median"] <= med["upper"]
    cond = conditional_survival(full, 1)
    g = 365.241
    s_g = full.loc[full["time"] <= g, "estimate"].iloc[-1]
    row = cond[cond["time"] <= 5 * g].iloc[-1]
    ref = full[full["time"] <= 5 * g].iloc[-1]
    assert row["estimate"] == pytest.approx(ref["estimate"] / s_g)
    v_g = full.loc[full["time"] <= g, "std_err_cumhaz"].iloc[-1] ** 2
    assert row["std_err_cumhaz"] == pytest.approx(np.sqrt(ref["std_err_cumhaz"] ** 2 - v_g))


def test_small_numbers_warn() -> None:
    with pytest.warns(StatisticalWarning, match="fewer than 10 at risk"):
        relative_survival(SYNTHETIC, US, times=[365.241, 20 * 365.241])


@pytest.mark.parametrize(("column", "value", "message"), [
    ("time_days", -5, r"column 'time_days' has negative values \[-5\]"),
    ("sex", 3, r"column 'sex' must be 1 \(male\) or 2 \(female\); found \[3\]"),
    ("dead", 2, r"column 'dead' must be 0 .* found \[2\]"),
    ("age_days", np.nan, "column 'age_days' has missing"),
    ("diagnosis_date", "not a date", "column 'diagnosis_date' has missing or unparseable values"),
])
def test_input_errors(column: str, value: Any, message: str) -> None:
    data = SYNTHETIC.head(50).copy()
    data[column] = data[column].astype(object)
    data.loc[data.index[7], column] = value
    with pytest.raises(ValueError, match=message):
        relative_survival(data, US)


def test_argument_errors() -> None:
    with pytest.raises(ValueError, match=r"missing column\(s\) \['sex'\]"):
        relative_survival(SYNTHETIC.drop(columns="sex"), US)
    with pytest.raises(ValueError, match="method"):
        relative_survival(SYNTHETIC, US, method="hakulinen")
    frac = SYNTHETIC.head(30).assign(time_days=lambda d: d["time_days"] + 0.5)
    with pytest.raises(ValueError, match="whole-day"):
        relative_survival(frac, US, integration="daily")


# ---- rate tables -------------------------------------------------------------------------------------


def test_us_life_table() -> None:
    assert list(US.columns[:4]) == ["year", "sex", "age", "daily_hazard"]
    assert len(US) == 75 * 2 * 110
    assert (US["year"].min(), US["year"].max(), US["age"].max()) == (1940, 2014, 109)
    row = US[(US["year"] == 1940) & (US["sex"] == 1) & (US["age"] == 0)].iloc[0]
    assert row["daily_hazard"] == pytest.approx(-np.log(1 - row["qx"]) / 365.25, rel=1e-8)


def test_load_ratetable_converts_qx_with_relsurv_year() -> None:
    table = TINY.assign(qx=lambda d: 1 - np.exp(-d["daily_hazard"] * 365.241)).drop(columns="daily_hazard")
    loaded = load_ratetable(table)
    np.testing.assert_allclose(loaded["daily_hazard"], TINY.sort_values(["year", "sex", "age"])["daily_hazard"],
                               rtol=1e-12)
    assert "365.241" in loaded.attrs["hazard_source"]


def test_load_ratetable_from_path(tmp_path: Path) -> None:
    path = tmp_path / "table.csv"
    TINY.to_csv(path, index=False)
    pd.testing.assert_frame_equal(load_ratetable(path), load_ratetable(TINY))
    res = relative_survival(SYNTHETIC.head(40), path, min_at_risk=0)
    assert len(res) > 0


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.drop(columns="age"), r"missing column\(s\) \['age'\]"),
    (lambda d: d.drop(columns="daily_hazard"), "'daily_hazard' or a 'qx' column"),
    (lambda d: d.assign(sex=d["sex"].replace(2, 9)), r"column 'sex' must be 1 \(male\) or 2 \(female\); found \[9\]"),
    (lambda d: pd.concat([d, d.iloc[[3]]]), r"duplicate rows for \(year, sex, age\): \(year=2000, sex=2, age=60\)"),
    (lambda d: d.iloc[1:], r"not a full year x sex x age grid; missing rows include \(year=2000, sex=1, age=50\)"),
    (lambda d: d.assign(age=d["age"] - 55), r"column 'age' has negative values \[-5\]"),
    (lambda d: d.assign(year=d["year"] + 0.5), "column 'year' must hold whole numbers"),
    (lambda d: d.assign(daily_hazard=-d["daily_hazard"]), "column 'daily_hazard' has negative values"),
    (lambda d: d.assign(daily_hazard=d["daily_hazard"].astype(object).where(d.index != 2, "x")),
     r"column 'daily_hazard' has missing or non-numeric values \['x'\]"),
    (lambda d: d.drop(columns="daily_hazard").assign(qx=1.5), r"column 'qx' must lie in \[0, 1\); found \[1\.5\]"),
])
def test_load_ratetable_errors(change: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_ratetable(change(TINY))  # type: ignore[operator]


def test_pohar_perme_weights_against_brute_force() -> None:
    """Effective number and largest weight share from 1/S*_i(t) integrated by a fine midpoint rule."""
    from registry.stats.relative_survival import pohar_perme_weights

    data = COLREC[COLREC["time_days"] > 0].sample(60, random_state=5)
    rt = ratetable_arrays(SLOPOP)
    times = np.array([200.0, 700.0, 1500.0])
    ours = pohar_perme_weights(data, rt, times)
    y = data["time_days"].to_numpy(float)
    age = data["age_days"].to_numpy(float)
    date = pd.to_datetime(data["diagnosis_date"]).to_numpy().astype("datetime64[D]").astype(np.int64).astype(float)
    sex = data["sex"].to_numpy(int)
    for row, t in zip(ours.itertuples(), times, strict=True):
        h = t / 4096
        s = (np.arange(4096) + 0.5) * h
        ia = np.clip(np.searchsorted(rt.age_starts, age[:, None] + s, "right") - 1, 0, len(rt.ages) - 1)
        iy = np.clip(np.searchsorted(rt.year_starts, date[:, None] + s, "right") - 1, 0, len(rt.years) - 1)
        weight = np.exp(rt.hazard[sex[:, None] - 1, iy, ia].sum(axis=1) * h)[y >= t]
        assert row.at_risk == len(weight)
        assert row.effective_n == pytest.approx(weight.sum() ** 2 / (weight ** 2).sum(), rel=1e-4)
        assert row.max_weight_share == pytest.approx(weight.max() / weight.sum(), rel=1e-4)


def test_a_few_heavily_weighted_patients_are_reported() -> None:
    """Ten 100-year-olds alive 10 years on among 20 young patients: their weights (1/S* in the thousands)
    carry the estimate above 1; the result says how few patients it is worth and warns."""
    young = pd.DataFrame({"time_days": 3800, "dead": 0, "age_days": 40 * 365, "sex": 1,
                          "diagnosis_date": "2000-01-01"}, index=range(20))
    old = young.assign(age_days=100 * 365)[:10]
    dying = young.assign(time_days=[400 + 100 * i for i in range(20)], dead=1)
    data = pd.concat([young, old, dying], ignore_index=True)
    with pytest.warns(StatisticalWarning, match="few heavily weighted patients"):
        result = relative_survival(data, US, times=[365.241, 3652.41], min_at_risk=0)
    assert result["estimate"].iloc[1] > 1
    assert result["effective_n"].iloc[1] < 20 < result["effective_n"].iloc[0]
    assert result["max_weight_share"].iloc[1] > 0.09


@pytest.mark.parametrize("method", ["pohar-perme", "ederer2"])
@pytest.mark.parametrize("standard", ["icss1", "icss2"])
def test_icss_age_standardised_survival_matches_relsurv(method: str, standard: str) -> None:
    """Band-specific rs.surv combined with the ICSS weights in R (icss_reference.csv, make_icss_reference.R);
    relsurv's daily steps (integration="daily") reproduce it to rounding."""
    from registry.stats import age_standardised_survival

    reference = _read("icss_reference.csv")
    expected = reference[(reference["method"] == method) & (reference["standard"] == standard)]
    ours = age_standardised_survival(COLREC, SLOPOP, standard=standard, method=method,
                                     times=expected["years"].to_numpy() * DAYS_PER_YEAR, integration="daily")
    np.testing.assert_allclose(ours["estimate"], expected["estimate"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours["std_err"], expected["std_err"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours["upper"] - ours["estimate"], 1.959963984540054 * ours["std_err"], rtol=1e-12)


def test_age_standardised_survival_is_not_computable_without_a_band() -> None:
    """No patient aged 45-54 followed past 2 years: from then on the standardised estimate is NaN, at risk 0,
    and the notes say so; children are outside the standard."""
    from registry.stats import age_standardised_survival
    from registry.stats.relative_survival import net_survival_notes

    data = SYNTHETIC.copy()
    years = data["age_days"] / DAYS_PER_YEAR
    data.loc[(years >= 45) & (years < 55), "time_days"] = data["time_days"].clip(upper=700)
    child = data.iloc[:1].assign(age_days=3000)
    result = age_standardised_survival(pd.concat([data, child]), US, times=[365.241, 1095.723])
    assert np.isfinite(result["estimate"].iloc[0]) and result["at_risk"].iloc[0] > 0
    assert np.isnan(result["estimate"].iloc[1]) and result["at_risk"].iloc[1] == 0
    assert result.attrs["parameters"]["left_out_under_15"] == 1
    notes = net_survival_notes(result.assign(time=[1, 3]))
    assert notes == [notes[0]] and "not computable at 3 years" in notes[0]


def test_icss_standard_follows_the_site() -> None:
    from registry.stats import icss_standard_for_sites, icss_weights

    assert icss_standard_for_sites(()) == "icss1"
    assert icss_standard_for_sites(("49",)) == "icss1"            # prostate
    assert icss_standard_for_sites(("37",)) == "icss2"            # melanoma of the skin
    assert icss_standard_for_sites(("42", "63")) == "icss2"       # cervix and thyroid
    assert icss_standard_for_sites(("50",)) == "icss3"            # testis
    assert icss_standard_for_sites(("37", "30")) == "icss1"       # mixed: all sites
    for standard in ("icss1", "icss2", "icss3"):
        assert icss_weights(standard)["weight"].sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="standard"):
        icss_weights("icss4")


def test_net_survival_notes_explain_estimates_above_one() -> None:
    from registry.stats.relative_survival import net_survival_notes

    table = pd.DataFrame({"group": ["Male", "Male"], "time": [5, 10], "estimate": [0.68, 1.119],
                          "at_risk": [400, 40], "effective_n": [300.0, 12.1], "max_weight_share": [0.01, 0.24]})
    above, heavy = net_survival_notes(table)
    assert "above 1 at 10 years (Male): 1.119" in above and "1/S*" in above
    assert "10 years (Male): worth 12 equally weighted patients, largest single weight 24%" in heavy
    assert net_survival_notes(table.iloc[:1]) == []
