"""Cumulative incidence, recurrence-free survival and recurrence rates against values pinned from R.

References (tests/reference/competing/, produced by make_reference.R; R calls in each file's header):
cmprsk::cuminc + timepoints, survival::survfit(conf.type = "log-log"), poisson.test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from registry.stats.competing import cumulative_incidence, recurrence_free_survival, recurrence_rate
from registry.stats.result import provenance

REF = Path(__file__).parent / "reference" / "competing"
GRID = [0, 0.1, 0.25, 1, 2, 2.6, 4.5, 5, 7.5, 8, 9.75, 12, 100]


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(REF / "competing_input.csv", comment="#")


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / name, comment="#")


def _close(actual: pd.Series, expected: pd.Series, rtol: float, atol: float = 0.0) -> None:
    a, e = actual.to_numpy(float), expected.to_numpy(float)
    assert (np.isnan(a) == np.isnan(e)).all()
    np.testing.assert_allclose(a[~np.isnan(e)], e[~np.isnan(e)], rtol=rtol, atol=atol)


CUMINC_CASES = sorted({(g, c, k, a) for g, c, k, a in
                       _read("cuminc_reference.csv")[["group", "cause", "kind", "alpha"]].itertuples(index=False)})


@pytest.mark.parametrize(("group", "cause", "kind", "alpha"), CUMINC_CASES)
def test_cumulative_incidence_matches_cmprsk(data: pd.DataFrame, group: str, cause: int, kind: str,
                                             alpha: float) -> None:
    ref = _read("cuminc_reference.csv")
    ref = ref[(ref.group == group) & (ref.cause == cause) & (ref.kind == kind) & (ref.alpha == alpha)]
    s = data[data.group == group]
    out = cumulative_incidence(s.time, s.event, event_of_interest=int(cause), alpha=alpha,
                               times=None if kind == "event_times" else GRID)
    np.testing.assert_allclose(out.time, ref.time)
    _close(out.estimate, ref.estimate, rtol=1e-9, atol=1e-15)
    _close(out.variance, ref.variance, rtol=1e-6, atol=1e-15)
    _close(out.lower, ref.lower, rtol=1e-6, atol=1e-12)
    _close(out.upper, ref.upper, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(out.std_err ** 2, out.variance, rtol=1e-12)


def test_cumulative_incidence_frame_layout(data: pd.DataFrame) -> None:
    tiny = data[data.group == "tiny"]
    out = cumulative_incidence(tiny.time, tiny.event, event_of_interest=1, times=GRID)
    assert list(out.columns) == ["time", "estimate", "std_err", "variance", "lower", "upper", "at_risk",
                                 "events", "competing_events", "censored"]
    row = out.set_index("time").loc[2.0]
    # 13 subjects have time >= 2 (events before censorings: the two censored at 2 are at risk)
    assert row.at_risk == 13 and row.events == 2 and row.competing_events == 1 and row.censored == 2
    # counts since the previous requested time add up to the totals up to the last observed time
    assert out.events.sum() == (tiny.event == 1).sum()
    assert out.censored.sum() == (tiny.event == 0).sum()
    assert out.loc[out.time > tiny.time.max(), "estimate"].isna().all()
    assert (out.loc[out.time < 1, "estimate"] == 0).all()
    prov = provenance(out)
    assert "Aalen-Johansen" in prov["method"] and "cmprsk" in prov["method"] and prov["alpha"] == 0.05
    assert prov["parameters"]["event_of_interest"] == 1


def test_cumulative_incidences_and_survival_add_up(data: pd.DataFrame) -> None:
    s = data[data.group == "cohort"]
    grid = np.linspace(0, s.time.max(), 17)
    total = sum(cumulative_incidence(s.time, s.event, event_of_interest=k, times=grid).estimate
                for k in (1, 2, 3))
    free = recurrence_free_survival(s.time, s.event, times=grid).estimate
    np.testing.assert_allclose(total + free, 1.0, rtol=1e-12)


def test_tied_times_are_not_jittered() -> None:
    time = [1, 1, 1, 2, 2, 3]
    event = [1, 2, 0, 1, 0, 1]
    a = cumulative_incidence(time, event, event_of_interest=1)
    b = cumulative_incidence(time, event, event_of_interest=1)
    pd.testing.assert_frame_equal(a, b)
    # hand computation: S(1-) = 1, n = 6, d1 = 1 -> F(1) = 1/6; S(1) = 4/6; at 2: n = 3, d1 = 1
    np.testing.assert_allclose(a.estimate, [1 / 6, 1 / 6 + 4 / 6 / 3, 1 / 6 + 4 / 6 / 3 + 4 / 6 * 2 / 3])


def test_cause_that_never_occurs_gives_zero() -> None:
    out = cumulative_incidence([1, 2, 3], [1, 0, 1], event_of_interest=2)
    assert (out.estimate == 0).all() and (out.lower == 0).all() and (out.upper == 0).all()


def test_plain_interval_is_clipped() -> None:
    out = cumulative_incidence([1, 2, 3, 4], [1, 0, 2, 1], event_of_interest=1, conf_type="plain")
    assert (out.lower >= 0).all() and (out.upper <= 1).all()
    z = 1.959963984540054
    inner = (out.estimate - z * out.std_err > 0)
    np.testing.assert_allclose(out.lower[inner], (out.estimate - z * out.std_err)[inner])


RFS_CASES = sorted({(g, k, a) for g, k, a in
                    _read("rfs_reference.csv")[["group", "kind", "alpha"]].itertuples(index=False)})


@pytest.mark.parametrize(("group", "kind", "alpha"), RFS_CASES)
def test_recurrence_free_survival_matches_survfit(data: pd.DataFrame, group: str, kind: str,
                                                  alpha: float) -> None:
    ref = _read("rfs_reference.csv")
    ref = ref[(ref.group == group) & (ref.kind == kind) & (ref.alpha == alpha)]
    s = data[data.group == group]
    times = None if kind == "event_times" else [t for t in GRID if t <= s.time.max()]
    out = recurrence_free_survival(s.time, s.event, alpha=alpha, times=times)
    np.testing.assert_allclose(out.time, ref.time)
    for column in ("estimate", "std_err", "lower", "upper"):
        _close(out[column], ref[column], rtol=1e-9, atol=1e-15)
    for column in ("at_risk", "events", "censored"):
        np.testing.assert_array_equal(out[column], ref[column])


def test_recurrence_free_survival_after_last_time_is_undefined() -> None:
    out = recurrence_free_survival([1, 2, 3], [1, 0, 0], times=[0.5, 3, 4])
    np.testing.assert_allclose(out.estimate.iloc[:2], [1.0, 2 / 3])
    assert np.isnan(out.estimate.iloc[2])


@pytest.mark.parametrize("alpha", [0.05, 0.10])
def test_recurrence_rate_matches_poisson_test(data: pd.DataFrame, alpha: float) -> None:
    ref = _read("rate_reference.csv")
    for group, s in data.groupby("group"):
        expected = ref[(ref.group == group) & (ref.alpha == alpha)].iloc[0]
        out = recurrence_rate(s.time, s.event, alpha=alpha)
        assert out.events.iloc[0] == expected.events
        np.testing.assert_allclose(out.person_years.iloc[0], expected.person_years)
        for column in ("rate", "lower", "upper"):
            np.testing.assert_allclose(out[column].iloc[0], expected[column], rtol=1e-9)
        assert "per 100 person-years" in provenance(out)["method"]


def test_recurrence_rate_units_and_zero_events() -> None:
    years = recurrence_rate([1.0, 2.0, 3.0], [1, 0, 2])
    months = recurrence_rate([12.0, 24.0, 36.0], [1, 0, 2], time_unit="months")
    np.testing.assert_allclose(years[["rate", "lower", "upper"]], months[["rate", "lower", "upper"]])
    zero = recurrence_rate([1.0, 2.0], [0, 2])
    assert zero.rate.iloc[0] == 0 and zero.lower.iloc[0] == 0
    # exact upper limit for x = 0: -log(alpha/2) / person-years
    np.testing.assert_allclose(zero.upper.iloc[0], 100 * -np.log(0.025) / 3.0)


@pytest.mark.parametrize(("time", "event", "message"), [
    ([1, -2, np.nan], [0, 1, 1], "time must be a finite, non-negative number; 2 value"),
    ([1, 2, 3], [0, 1.5, "x"], "event codes must be 0"),
    ([1, 2], [1], "differ in length"),
    ([], [], "empty"),
])
def test_input_errors(time: list, event: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cumulative_incidence(time, event, event_of_interest=1)
    with pytest.raises(ValueError, match=message):
        recurrence_free_survival(time, event)


def test_input_errors_name_the_column() -> None:
    with pytest.raises(ValueError, match=r"event \(column 'vital_status'\).*-1"):
        cumulative_incidence(pd.Series([1.0, 2.0], name="fu_years"), pd.Series([1, -1], name="vital_status"),
                             event_of_interest=1)
    with pytest.raises(ValueError, match="event_of_interest"):
        cumulative_incidence([1, 2], [1, 0], event_of_interest=0)
    with pytest.raises(ValueError, match="alpha"):
        cumulative_incidence([1, 2], [1, 0], event_of_interest=1, alpha=1.5)
    with pytest.raises(ValueError, match="times"):
        cumulative_incidence([1, 2], [1, 0], event_of_interest=1, times=[-1])
    with pytest.raises(ValueError, match="time_unit"):
        recurrence_rate([1, 2], [1, 0], time_unit="weeks")


def test_booleans_are_read_as_codes() -> None:
    a = cumulative_incidence([1, 2, 3], [True, False, True], event_of_interest=1)
    b = cumulative_incidence([1, 2, 3], [1, 0, 1], event_of_interest=1)
    pd.testing.assert_frame_equal(a, b)


def test_frequency_weights_equal_the_expanded_data() -> None:
    """``counts`` (one row per distinct time and event) gives exactly the estimates of the expanded rows."""
    rng = np.random.default_rng(3)
    time = rng.integers(1, 40, 600) / 4.0
    event = rng.choice([0, 1, 2], 600, p=[0.5, 0.3, 0.2])
    grouped = pd.DataFrame({"time": time, "event": event}).value_counts().reset_index(name="n")
    assert len(grouped) < 300
    weighted = {"time": grouped["time"], "event": grouped["event"], "counts": grouped["n"]}
    for estimator, options in ((cumulative_incidence, {"event_of_interest": 1}), (recurrence_free_survival, {})):
        for times in (None, [1.0, 3.0, 5.0]):
            full = estimator(time, event, times=times, **options)
            short = estimator(weighted["time"], weighted["event"], counts=weighted["counts"], times=times, **options)
            pd.testing.assert_frame_equal(full, short, rtol=1e-12)
            assert short.attrs["parameters"]["n"] == 600
    pd.testing.assert_frame_equal(recurrence_rate(time, event),
                                  recurrence_rate(weighted["time"], weighted["event"], counts=weighted["counts"]),
                                  rtol=1e-12)
    with pytest.raises(ValueError, match="counts"):
        cumulative_incidence([1.0, 2.0], [1, 0], event_of_interest=1, counts=[1, 0.5])
