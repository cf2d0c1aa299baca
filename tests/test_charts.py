"""Dashboard figures: the offline county map (classes, suppression, comparison) and the simple charts."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from dashboard.charts import (
    CUSTOMDATA,
    NO_CASES_LABEL,
    NO_DATA_LABEL,
    SUPPRESSED_LABEL,
    assign_classes,
    class_breaks,
    compare_to_state,
    county_map_figure,
    survival_figure,
    trend_comparison_figure,
    trend_figure,
)
from registry.county_shapes import state_counties_geojson

COL = {name: i for i, name in enumerate(CUSTOMDATA)}


@pytest.fixture(scope="module")
def kansas() -> dict:
    return state_counties_geojson("KS")


@pytest.fixture(scope="module")
def kansas_rates(kansas: dict) -> pd.DataFrame:
    ids = [f["id"] for f in kansas["features"]]
    rng = np.random.default_rng(7)
    n = 100                                           # the last 5 counties are absent: "no data"
    rate = rng.uniform(300, 600, n).round(2)
    frame = pd.DataFrame({"county_fips": ids[:n], "rate": rate, "lower": rate - 40, "upper": rate + 40,
                          "count": rng.integers(16, 900, n), "population": rng.integers(2_000, 600_000, n),
                          "suppressed": False})
    frame.loc[0:3, ["rate", "lower", "upper"]] = np.nan   # suppressed: values withheld
    frame["count"] = frame["count"].astype("float")
    frame.loc[0:3, "count"] = np.nan
    frame.loc[0:3, "suppressed"] = True
    frame.loc[4, ["rate", "lower", "upper", "count"]] = [0.0, 0.0, 12.0, 0]
    return frame


def _by_county(fig: Any) -> dict[Any, tuple[str, float, list[Any]]]:
    out = {}
    for trace in fig.data:
        for fips, z, custom in zip(trace.locations, trace.z, trace.customdata, strict=True):
            out[fips] = (trace.name, float(z), list(custom))
    return out


def test_map_carries_the_input_rates(kansas: dict, kansas_rates: pd.DataFrame) -> None:
    fig = county_map_figure(kansas_rates, kansas)
    counties = _by_county(fig)
    assert len(counties) == 105
    shown = kansas_rates[~kansas_rates["suppressed"] & (kansas_rates["count"] > 0)]
    for row in shown.itertuples():
        name, z, custom = counties[row.county_fips]
        assert z == pytest.approx(row.rate)
        assert custom[COL["value"]] == pytest.approx(row.rate)
        assert custom[COL["lower"]] == pytest.approx(row.lower)
        assert custom[COL["count"]] == row.count
        assert custom[COL["population"]] == row.population
        assert custom[COL["class"]] == name
    # figure JSON round trip keeps the same values
    data = json.loads(fig.to_json())["data"]
    from_json = {loc: z for t in data for loc, z in zip(t["locations"], t["z"], strict=True)}
    assert from_json[shown.iloc[0]["county_fips"]] == pytest.approx(shown.iloc[0]["rate"])


def test_map_is_offline(kansas: dict, kansas_rates: pd.DataFrame) -> None:
    fig = county_map_figure(kansas_rates, kansas, state_rate=(450.0, 440.0, 460.0))
    assert fig.layout.map.style == "white-bg"
    assert all(t.type == "choroplethmap" for t in fig.data)
    text = fig.to_json()
    assert "http" not in text
    assert "mapbox" not in json.loads(text)["layout"]
    # each shape is in the figure once, not once per trace
    assert sum(len(t.geojson["features"]) for t in fig.data) == 105


def test_map_is_centred_on_the_state(kansas: dict, kansas_rates: pd.DataFrame) -> None:
    fig = county_map_figure(kansas_rates, kansas)
    assert -99.0 < fig.layout.map.center.lon < -97.5 and 38.0 < fig.layout.map.center.lat < 39.0
    assert 5 < fig.layout.map.zoom < 7


def test_suppressed_zero_and_missing_are_labelled(kansas: dict, kansas_rates: pd.DataFrame) -> None:
    fig = county_map_figure(kansas_rates, kansas, state_rate=(450.0, 440.0, 460.0))
    counties = _by_county(fig)
    for fips in kansas_rates.loc[0:3, "county_fips"]:
        name, _, custom = counties[fips]
        assert name == SUPPRESSED_LABEL == custom[COL["class"]] == custom[COL["value_text"]]
        numbers = [custom[COL[c]] for c in ("value", "lower", "upper", "count", "population", "comparison")]
        assert numbers == [None] * 6
    zero = kansas_rates.loc[4, "county_fips"]
    assert counties[zero][0] == NO_CASES_LABEL and counties[zero][2][COL["count"]] == 0
    absent = set(counties) - set(kansas_rates["county_fips"])
    assert len(absent) == 5 and {counties[f][0] for f in absent} == {NO_DATA_LABEL}
    names = [t.name for t in fig.data]
    assert names[-3:] == [NO_CASES_LABEL, SUPPRESSED_LABEL, NO_DATA_LABEL]
    colors = {t.name: t.colorscale[0][1] for t in fig.data}
    assert len(set(colors.values())) == len(colors)
    assert "no data" not in fig.data[names.index(SUPPRESSED_LABEL)].hovertemplate


def test_quantile_classes_monotone(kansas: dict, kansas_rates: pd.DataFrame) -> None:
    fig = county_map_figure(kansas_rates, kansas, classes="quantile", n_classes=5)
    breaks = fig.layout.meta["breaks"]
    assert len(breaks) == 6 and all(a < b for a, b in zip(breaks, breaks[1:], strict=False))
    class_traces = [t for t in fig.data if t.name not in (NO_CASES_LABEL, SUPPRESSED_LABEL, NO_DATA_LABEL)]
    assert len(class_traces) == 5
    for lower_trace, upper_trace in zip(class_traces, class_traces[1:], strict=False):
        assert max(lower_trace.z) <= min(upper_trace.z)
    sizes = [len(t.z) for t in class_traces]
    assert max(sizes) - min(sizes) <= 1              # 95 classed counties, about 19 per class
    assert class_traces[0].name.startswith(f"{breaks[0]:,.1f}")


def test_class_breaks() -> None:
    values = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], dtype=float)
    assert class_breaks(values, method="equal", n_classes=3) == pytest.approx([1, 4, 7, 10])
    quantile = class_breaks(values, method="quantile", n_classes=5)
    assert quantile[0] == 1 and quantile[-1] == 10 and quantile == sorted(quantile)
    classes = assign_classes(values, quantile)
    assert list(classes) == sorted(classes) and classes[0] == 0 and classes[-1] == 4
    assert class_breaks([5, 5, 5, 5], method="quantile") == [5, 5]
    assert len(class_breaks([1, 1, 1, 1, 1, 1, 2, 3], method="quantile", n_classes=5)) < 6   # ties merged
    with pytest.raises(ValueError):
        class_breaks(values, method="jenks")  # type: ignore[arg-type]


def test_comparison_with_state() -> None:
    lower = [20.0, 5.0, 8.0, 14.9, 15.1, np.nan]
    upper = [30.0, 9.0, 12.0, 16.0, 18.0, np.nan]
    assert compare_to_state(lower, upper, (12.0, 10.0, 15.0)) == \
        ["above", "below", "similar", "similar", "above", None]
    assert compare_to_state([1.0], [9.99], {"rate": 12.0, "lower": 10.0, "upper": 15.0}) == ["below"]


def test_comparison_in_figure() -> None:
    geojson = state_counties_geojson("DE")       # 3 counties: 10001, 10003, 10005
    rates = pd.DataFrame({"county_fips": ["10001", "10003", "10005"], "rate": [500.0, 300.0, 455.0],
                          "lower": [480.0, 290.0, 420.0], "upper": [520.0, 310.0, 490.0],
                          "count": [900, 2000, 1500], "population": [180_000, 560_000, 230_000]})
    fig = county_map_figure(rates, geojson, state_rate=(450.0, 440.0, 460.0), n_classes=3)
    got = {fips: custom[COL["comparison"]] for fips, (_, _, custom) in _by_county(fig).items()}
    assert got == {"10001": "above", "10003": "below", "10005": "similar"}
    assert all("customdata[7]" in t.hovertemplate for t in fig.data)
    assert fig.layout.meta["state_rate"] == [450.0, 440.0, 460.0]


def test_equal_interval_and_bad_input(kansas: dict, kansas_rates: pd.DataFrame) -> None:
    fig = county_map_figure(kansas_rates, kansas, classes="equal", n_classes=4)
    breaks = fig.layout.meta["breaks"]
    steps = np.diff(breaks)
    assert len(breaks) == 5 and np.allclose(steps, steps[0])
    with pytest.raises(ValueError):
        county_map_figure(pd.concat([kansas_rates, kansas_rates]), kansas)
    with pytest.raises(ValueError):
        county_map_figure(kansas_rates.drop(columns="rate"), kansas)


def test_trend_figure() -> None:
    yearly = pd.DataFrame({"diagnosis_year": [2018, 2019, 2020], "rate": [400.0, 410.0, 390.0],
                           "lower": [390.0, 400.0, 380.0], "upper": [410.0, 420.0, 400.0]})
    apc = pd.DataFrame({"apc": [1.234], "lower": [-0.5], "upper": [3.0]})
    fig = trend_figure(yearly, apc)
    assert [t.name for t in fig.data] == ["confidence interval", "rate"]
    assert list(fig.data[1].y) == [400.0, 410.0, 390.0]
    assert "APC 1.2%" in fig.layout.title.text
    assert "http" not in fig.to_json()


def test_survival_figure() -> None:
    curve = pd.DataFrame({"time": [0.0, 1.0, 2.0], "survival": [1.0, 0.8, 0.6],
                          "lower": [1.0, 0.7, 0.5], "upper": [1.0, 0.9, 0.7]})
    fig = survival_figure([curve.assign(label="men"), curve.assign(label="women")])
    lines = [t for t in fig.data if t.fill is None]
    bands = [t for t in fig.data if t.fill == "toself"]
    assert [t.name for t in lines] == ["men", "women"] and len(bands) == 2
    assert list(lines[0].y) == [1.0, 0.8, 0.6] and lines[0].line.shape == "hv"
    assert max(bands[0].y) == 1.0 and min(bands[0].y) == 0.5
    one = survival_figure(pd.concat([curve.assign(label="a"), curve.assign(label="b")]))
    assert len(one.data) == 4


def test_survival_above_one_is_not_drawn_off_the_axis_silently() -> None:
    """Net survival can exceed 1: the axis stops just above 1 and the chart says how high the curve goes."""
    rising = pd.DataFrame({"time": [0.0, 5.0, 10.0], "estimate": [1.0, 0.68, 1.119], "label": "All"})
    figure = survival_figure(rising, estimate="estimate")
    assert list(figure.layout.yaxis.range) == [0, 1.05]
    assert "up to 1.12 from 10.0 years" in figure.layout.annotations[0].text
    plain = survival_figure(rising.assign(estimate=[1.0, 0.68, 0.62]), estimate="estimate")
    assert list(plain.layout.yaxis.range) == [0, 1.02] and not plain.layout.annotations


def _band_polygons(trace: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """The closed polygons of a band trace (runs between None separators)."""
    polygons, xs, ys = [], [], []
    for x, y in [*zip(trace.x, trace.y, strict=True), (None, None)]:
        if x is None or y is None:
            if xs:
                polygons.append((np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)))
            xs, ys = [], []
        else:
            xs.append(x)
            ys.append(y)
    return polygons


def _assert_bands_stay_within_their_group(fig: Any, frames: dict[str, pd.DataFrame], x: str) -> None:
    """Each band belongs to one curve, and each of its polygons goes out along the upper limits and back
    along the lower limits of that curve's known intervals: no NaN, no chord across a gap or a group."""
    lines = {t.name: t for t in fig.data if t.fill != "toself"}
    bands = [t for t in fig.data if t.fill == "toself"]
    assert bands
    for band in bands:
        assert band.legendgroup in lines and band.name == f"{band.legendgroup} interval"
        assert band.mode == "lines"                          # no markers at the polygon's corners
        frame = frames[band.legendgroup]
        known = frame.dropna(subset=["lower", "upper"])
        polygons = _band_polygons(band)
        assert polygons
        for px, py in polygons:
            assert np.isfinite(px).all() and np.isfinite(py).all()
            half = len(px) // 2
            assert np.array_equal(px, px[::-1])              # out and back over the same times
            assert (py[:half] >= py[::-1][:half]).all()      # upper limits above the lower ones
            assert set(px) <= set(known[x].astype(float))    # only times whose interval is known
            assert set(py[:half]) <= set(known["upper"]) and set(py[half:]) <= set(known["lower"])


def test_survival_band_does_not_join_across_undefined_or_withheld_intervals() -> None:
    """Kaplan-Meier by stage: the log-log interval is undefined at survival 1 (time 0) and a withheld
    point leaves a gap; each stage's band is drawn only where its interval is known."""
    local = pd.DataFrame({"time": [0.0, 0.5, 1.0, 2.0, 3.0], "estimate": [1.0, 0.9, 0.8, 0.7, 0.6],
                          "lower": [np.nan, 0.85, 0.72, np.nan, 0.5], "upper": [np.nan, 0.95, 0.86, np.nan, 0.7]})
    distant = pd.DataFrame({"time": [0.0, 0.25, 0.75], "estimate": [1.0, 0.5, 0.2],
                            "lower": [np.nan, 0.4, 0.1], "upper": [np.nan, 0.6, 0.3]})
    frames = {"Localized": local, "Distant": distant}
    fig = survival_figure(pd.concat([f.assign(label=k) for k, f in frames.items()]), estimate="estimate")
    _assert_bands_stay_within_their_group(fig, frames, "time")
    polygons = _band_polygons(next(t for t in fig.data if t.name == "Localized interval"))
    assert [sorted(set(px)) for px, _ in polygons] == [[0.5, 1.0], [3.0]]


def test_trend_bands_leave_withheld_years_out() -> None:
    men = pd.DataFrame({"diagnosis_year": [2018, 2019, 2020, 2021], "rate": [10.0, np.nan, 12.0, 11.0],
                        "lower": [8.0, np.nan, 10.0, 9.0], "upper": [12.0, np.nan, 14.0, 13.0]})
    women = men.assign(rate=[20.0, 21.0, 22.0, 23.0], lower=[18.0, 19.0, 20.0, 21.0], upper=[22.0, 23.0, 24.0, 25.0])
    frames = {"Male": men, "Female": women}
    _assert_bands_stay_within_their_group(trend_comparison_figure(frames), frames, "diagnosis_year")
    single = trend_figure(men)
    band = next(t for t in single.data if t.fill == "toself")
    assert [sorted(set(px)) for px, _ in _band_polygons(band)] == [[2018.0], [2020.0, 2021.0]]
