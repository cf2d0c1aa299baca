"""Plotly figures for the dashboard: county incidence map, incidence trend, survival curves.

Everything here works offline. The county map is a ``Choroplethmap`` (MapLibre) with
``map.style = "white-bg"``: no tiles, no style sheet and no fonts are fetched, only the GeoJSON passed
in is drawn (see ``registry.county_shapes``). Figures are plain ``plotly.graph_objects.Figure`` objects,
so tests read their JSON instead of rendering them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative, sample_colorscale

from registry.api import DEFAULT_THRESHOLD, geojson_bounds

SUPPRESSED_LABEL = f"suppressed (fewer than {DEFAULT_THRESHOLD} cases, or protecting one)"
NO_CASES_LABEL = "no cases"
NO_DATA_LABEL = "no data"
SUPPRESSED_COLOR = "#8c8c8c"
NO_CASES_COLOR = "#ffffff"
NO_DATA_COLOR = "#e3e3e3"
BORDER_COLOR = "#6b6b6b"
CLASS_COLORSCALE = "YlOrRd"
# customdata columns of every map trace, in order (also in ``fig.layout.meta["customdata"]``)
CUSTOMDATA = ("fips", "name", "value", "lower", "upper", "count", "population", "comparison", "class",
              "value_text")
Classes = Literal["quantile", "equal"]


# ---------------------------------------------------------------------------------------- classes
def class_breaks(values: Sequence[float] | np.ndarray | pd.Series, *, method: Classes = "quantile",
                 n_classes: int = 5) -> list[float]:
    """Increasing class boundaries ``[b0, b1, ..., bk]`` (k <= n_classes) covering the finite values.

    ``quantile``: boundaries at the 0, 1/k, ..., 1 quantiles (ties merged, so there may be fewer classes);
    ``equal``: k equal-width intervals between the minimum and the maximum.
    """
    if n_classes < 1:
        raise ValueError(f"n_classes must be at least 1, not {n_classes}")
    data = np.asarray(values, dtype=float)
    data = data[np.isfinite(data)]
    if data.size == 0:
        return []
    low, high = float(data.min()), float(data.max())
    if low == high:
        return [low, high]
    if method == "quantile":
        raw = np.quantile(data, np.linspace(0.0, 1.0, n_classes + 1))
    elif method == "equal":
        raw = np.linspace(low, high, n_classes + 1)
    else:
        raise ValueError(f"classes: unknown {method!r}; use 'quantile' or 'equal'")
    breaks = [float(raw[0])]
    for b in raw[1:]:
        if float(b) > breaks[-1]:
            breaks.append(float(b))
    breaks[-1] = high
    return breaks


def assign_classes(values: Sequence[float] | np.ndarray | pd.Series, breaks: Sequence[float]) -> np.ndarray:
    """Class index (0-based) of each value: class i holds [b_i, b_i+1), the last class includes its top."""
    data = np.asarray(values, dtype=float)
    if len(breaks) < 2:
        return np.zeros(data.shape, dtype=int)
    inner = np.asarray(breaks[1:-1], dtype=float)
    return np.searchsorted(inner, data, side="right").astype(int)


def _format_number(value: float, digits: int) -> str:
    return f"{value:,.{digits}f}"


def class_labels(breaks: Sequence[float], digits: int = 1) -> list[str]:
    """Legend labels "a – b" of the classes given by ``breaks``."""
    if len(breaks) < 2:
        return []
    return [f"{_format_number(lo, digits)} – {_format_number(hi, digits)}"
            for lo, hi in zip(breaks[:-1], breaks[1:], strict=True)]


# -------------------------------------------------------------------------------------- comparison
def compare_to_state(lower: Any, upper: Any, state_rate: Sequence[float] | Mapping[str, float]) -> list[str | None]:
    """"above" / "below" / "similar" by confidence-interval overlap with the state's interval; None if unknown.

    A county is "above" when its lower limit exceeds the state's upper limit, "below" when its upper
    limit is under the state's lower limit, and "similar" when the two intervals overlap. Non-overlap
    of two 95% intervals is a conservative test (it misses some real differences), as in State Cancer
    Profiles.
    """
    _, state_lower, state_upper = _state_triplet(state_rate)
    out: list[str | None] = []
    for lo, hi in zip(np.asarray(lower, dtype=float), np.asarray(upper, dtype=float), strict=True):
        if not (np.isfinite(lo) and np.isfinite(hi)):
            out.append(None)
        elif lo > state_upper:
            out.append("above")
        elif hi < state_lower:
            out.append("below")
        else:
            out.append("similar")
    return out


def _state_triplet(state_rate: Sequence[float] | Mapping[str, float]) -> tuple[float, float, float]:
    if isinstance(state_rate, Mapping):
        return float(state_rate["rate"]), float(state_rate["lower"]), float(state_rate["upper"])
    rate, lower, upper = state_rate
    return float(rate), float(lower), float(upper)


# ---------------------------------------------------------------------------------------- the map
def _feature_table(geojson: Mapping[str, Any]) -> pd.DataFrame:
    rows = [{"fips": str(f.get("id") or f.get("properties", {}).get("fips")),
             "name": str(f.get("properties", {}).get("name", ""))} for f in geojson["features"]]
    return pd.DataFrame(rows, columns=["fips", "name"])


def _fips_column(rates: pd.DataFrame) -> str:
    for column in ("county_fips", "fips", "GEOID"):
        if column in rates.columns:
            return column
    raise ValueError(f"rates needs a county_fips (or fips) column; it has {list(rates.columns)}")


def _map_view(geojson: Mapping[str, Any], width: int, height: int) -> tuple[dict[str, float], float]:
    """Centre and zoom that fit the GeoJSON's bounds into a width x height map (web Mercator, 512 px tiles)."""
    west, south, east, north = geojson_bounds(dict(geojson))

    def merc(lat: float) -> float:
        lat = max(min(lat, 85.0), -85.0)
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    lon_span = max(east - west, 1e-6)
    y_span = max(merc(north) - merc(south), 1e-6)
    zoom_x = math.log2(360.0 * width / (512.0 * lon_span))
    zoom_y = math.log2(2 * math.pi * height / (512.0 * y_span))
    zoom = max(min(zoom_x, zoom_y) - 0.25, 0.0)   # a little margin around the state
    centre_y = (merc(north) + merc(south)) / 2
    centre_lat = math.degrees(2 * math.atan(math.exp(centre_y)) - math.pi / 2)
    return {"lon": (west + east) / 2, "lat": centre_lat}, round(zoom, 3)


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _count(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else int(round(number))


def county_map_figure(rates: pd.DataFrame, geojson: Mapping[str, Any], *, value: str = "rate",
                      classes: Classes = "quantile", n_classes: int = 5,
                      state_rate: Sequence[float] | Mapping[str, float] | None = None,
                      title: str = "Age-adjusted incidence rate per 100,000", digits: int = 1,
                      width: int = 760, height: int = 560) -> go.Figure:
    """County choropleth of ``rates`` (one row per county) over ``geojson`` (feature id = 5-digit FIPS).

    ``rates`` needs ``county_fips`` (or ``fips``), ``value`` (default ``rate``) and may carry ``lower``,
    ``upper``, ``count``, ``population`` and ``suppressed``. Counties fall into:
    - value classes (``quantile`` or ``equal`` interval, ``n_classes``), legend labelled with ranges;
    - "suppressed (fewer than 16 cases, or protecting one)": rows flagged ``suppressed``; no number is shown or stored;
    - "no cases": rows with a count of 0 (or a value of 0);
    - "no data": counties in the GeoJSON that are absent from ``rates`` or have no value.
    With ``state_rate`` = (rate, lower, upper) each county with an interval is compared with the state
    ("above", "similar", "below" by interval overlap); the result is in the hover and in customdata.

    One trace per class (so the legend lists the classes); every trace's ``customdata`` columns are
    ``CUSTOMDATA`` (also in ``fig.layout.meta["customdata"]``). ``z`` holds the county value in value
    classes and a constant 0 in the three special classes (only used to pick the single fill colour).
    """
    fips_col = _fips_column(rates)
    if value not in rates.columns:
        raise ValueError(f"rates has no column {value!r}")
    features = _feature_table(geojson)
    data = rates.copy()
    data["fips"] = data[fips_col].astype(str).str.zfill(5)
    if data["fips"].duplicated().any():
        raise ValueError("rates has more than one row for a county; filter or group it first")
    keep = ["fips", value, *[c for c in ("lower", "upper", "count", "population", "suppressed",
                                          "suppression_reason") if c in data.columns and c != value]]
    table = features.merge(data[keep], on="fips", how="left", indicator=True)
    present = table["_merge"] == "both"
    suppressed = (present & table["suppressed"].eq(True) if "suppressed" in table
                  else pd.Series(False, index=table.index))
    values = pd.to_numeric(table[value], errors="coerce")
    counts = pd.to_numeric(table["count"], errors="coerce") if "count" in table else None
    zero = present & ~suppressed & ((counts == 0) if counts is not None else pd.Series(False, index=table.index))
    zero |= present & ~suppressed & (values == 0)
    classed = present & ~suppressed & ~zero & values.notna() & np.isfinite(values)
    no_data = ~(classed | suppressed | zero)

    lower = pd.to_numeric(table["lower"], errors="coerce") if "lower" in table else pd.Series(np.nan, index=table.index)
    upper = pd.to_numeric(table["upper"], errors="coerce") if "upper" in table else pd.Series(np.nan, index=table.index)
    comparison: list[str | None] = [None] * len(table)
    if state_rate is not None:
        shown = classed | zero
        compared = compare_to_state(lower.where(shown), upper.where(shown), state_rate)
        comparison = list(compared)

    breaks = class_breaks(values[classed], method=classes, n_classes=n_classes)
    labels = class_labels(breaks, digits)
    class_index = assign_classes(values, breaks)
    colors = sample_colorscale(CLASS_COLORSCALE, [0.5] if len(labels) == 1 else
                               list(np.linspace(0.08, 1.0, max(len(labels), 1))))

    def row_custom(i: int, category: str) -> list[Any]:
        row = table.iloc[i]
        if category in (SUPPRESSED_LABEL, NO_DATA_LABEL):
            shown_text = category
            return [row["fips"], row["name"], None, None, None, None, None, comparison[i] if category != SUPPRESSED_LABEL
                    else None, category, shown_text]
        val, lo, hi = _number(values.iloc[i]), _number(lower.iloc[i]), _number(upper.iloc[i])
        text = "" if val is None else _format_number(val, digits)
        if lo is not None and hi is not None:
            text += f" ({_format_number(lo, digits)} – {_format_number(hi, digits)})"
        count = _count(counts.iloc[i]) if counts is not None else None
        population = _count(table["population"].iloc[i]) if "population" in table else None
        return [row["fips"], row["name"], val, lo, hi, count, population, comparison[i], category, text]

    hover_lines = ["<b>%{customdata[1]}</b> (%{customdata[0]})", f"{value}: %{{customdata[9]}}"]
    hover_full = [*hover_lines, "cases: %{customdata[5]:,}", "population: %{customdata[6]:,}"]
    if state_rate is not None:
        hover_full.append("compared with the state: %{customdata[7]}")
    hover_special = "<br>".join(hover_lines) + "<extra></extra>"
    hover_value = "<br>".join(hover_full) + "<extra></extra>"

    traces: list[go.Choroplethmap] = []

    def add(mask: np.ndarray, name: str, color: str, z: Sequence[float] | None, hover: str) -> None:
        idx = np.flatnonzero(mask)
        if idx.size == 0:
            return
        scale = {"z": list(z), "zauto": True} if z is not None else {"z": [0] * idx.size, "zmin": 0, "zmax": 1}
        own = set(table["fips"].iloc[idx])   # each trace carries only its own shapes: one copy in all
        shapes = {"type": "FeatureCollection",
                  "features": [f for f, fips in zip(geojson["features"], table["fips"], strict=True) if fips in own]}
        traces.append(go.Choroplethmap(
            geojson=shapes, featureidkey="id", locations=table["fips"].iloc[idx].tolist(),
            colorscale=[[0, color], [1, color]], showscale=False, showlegend=True, name=name,
            legendgroup=name, customdata=[row_custom(int(i), name) for i in idx], hovertemplate=hover,
            marker={"line": {"color": BORDER_COLOR, "width": 0.5}, "opacity": 0.9}, **scale))

    for k, label in enumerate(labels):
        mask = (classed & (class_index == k)).to_numpy()
        add(mask, label, colors[k], values[mask].astype(float).tolist(), hover_value)
    add(zero.to_numpy(), NO_CASES_LABEL, NO_CASES_COLOR, None, hover_value)
    add(suppressed.to_numpy(), SUPPRESSED_LABEL, SUPPRESSED_COLOR, None, hover_special)
    add(no_data.to_numpy(), NO_DATA_LABEL, NO_DATA_COLOR, None, hover_special)

    centre, zoom = _map_view(geojson, width, height)
    fig = go.Figure(traces)
    subtitle = ""
    if state_rate is not None:
        rate, lo, hi = _state_triplet(state_rate)
        subtitle = (f"<br><sup>State: {_format_number(rate, digits)} ({_format_number(lo, digits)} – "
                    f"{_format_number(hi, digits)}); counties compared by interval overlap</sup>")
    fig.update_layout(
        title={"text": title + subtitle}, width=width, height=height,
        map={"style": "white-bg", "center": centre, "zoom": zoom},
        legend={"title": {"text": f"{value} ({classes} classes)"}, "itemclick": False,
                "itemdoubleclick": False},
        margin={"l": 0, "r": 0, "t": 60 if subtitle else 40, "b": 0},
        meta={"customdata": list(CUSTOMDATA), "classes": classes, "breaks": breaks,
              "state_rate": list(_state_triplet(state_rate)) if state_rate is not None else None})
    return fig


# ---------------------------------------------------------------------------------------- bands
def band_polygons(x: Sequence[float] | np.ndarray, lower: Sequence[float] | pd.Series | np.ndarray,
                  upper: Sequence[float] | pd.Series | np.ndarray, *,
                  steps: bool = False) -> tuple[list[float | None], list[float | None]]:
    """Coordinates of a confidence band for a ``fill="toself"`` trace: one closed polygon (upper limits
    forward, lower limits back) per run of points whose interval is known, runs separated by None.

    A point without an interval (withheld, or undefined such as a log-log interval at survival 1) ends a
    run: a polygon with a gap is no longer one shape, and its pieces are filled on their own (closed by
    chords across the chart) or dropped. ``steps`` draws step functions (survival curves).
    """
    xs = np.asarray(x, dtype=float)
    low = pd.to_numeric(pd.Series(np.asarray(lower)), errors="coerce").to_numpy(dtype=float)
    high = pd.to_numeric(pd.Series(np.asarray(upper)), errors="coerce").to_numpy(dtype=float)
    known = np.isfinite(xs) & np.isfinite(low) & np.isfinite(high)
    out_x: list[float | None] = []
    out_y: list[float | None] = []
    start = None
    for i in range(len(xs) + 1):
        if i < len(xs) and known[i]:
            start = i if start is None else start
            continue
        if start is not None:
            run = slice(start, i)
            if steps:
                xu, yu = _steps(xs[run], high[run])
                xl, yl = _steps(xs[run], low[run])
            else:
                xu, yu = xs[run].tolist(), high[run].tolist()
                xl, yl = xs[run].tolist(), low[run].tolist()
            if out_x:
                out_x.append(None)
                out_y.append(None)
            out_x += [*xu, *xl[::-1]]
            out_y += [*yu, *yl[::-1]]
            start = None
    return out_x, out_y


# ---------------------------------------------------------------------------------------- trend
def trend_figure(yearly: pd.DataFrame, apc: pd.DataFrame | Mapping[str, Any] | None = None, *,
                 year: str = "diagnosis_year", value: str = "rate",
                 title: str = "Age-adjusted incidence rate per 100,000 by year", digits: int = 1) -> go.Figure:
    """Rate by year with its confidence interval as a band; the annual percent change in the title."""
    data = yearly.sort_values(year)
    x = data[year].astype(float).tolist()
    fig = go.Figure()
    if {"lower", "upper"} <= set(data.columns):
        band_x, band_y = band_polygons(x, data["lower"], data["upper"])
        fig.add_trace(go.Scatter(x=band_x, y=band_y, mode="lines", fill="toself", fillcolor="rgba(31,119,180,0.18)",
                                 line={"width": 0}, hoverinfo="skip", name="confidence interval"))
    fig.add_trace(go.Scatter(x=x, y=data[value].tolist(), mode="lines+markers", name=value,
                             line={"color": "rgb(31,119,180)"},
                             hovertemplate="%{x:.0f}: %{y:." + str(digits) + "f}<extra></extra>"))
    text = title
    if apc is not None:
        row = apc.iloc[0] if isinstance(apc, pd.DataFrame) else apc
        text += (f"<br><sup>APC {float(row['apc']):.{digits}f}% "
                 f"({float(row['lower']):.{digits}f} to {float(row['upper']):.{digits}f})</sup>")
    fig.update_layout(title={"text": text}, xaxis={"title": {"text": "year of diagnosis"}, "dtick": 1},
                      yaxis={"title": {"text": value}, "rangemode": "tozero"}, template="plotly_white")
    return fig


MAX_BANDS = 4   # with more curves the interval bands hide each other: the intervals stay in the tables
# Colour-blind-safe qualitative colours (plotly's "Safe" set, the dark blue first so a single curve is
# strong): compared groups, up to nine treatment combinations, must stay apart.
CURVE_COLORS = [qualitative.Safe[i] for i in (4, 1, 3, 2, 5, 6, 7, 8, 0, 9, 10)]


def trend_comparison_figure(series: Mapping[str, pd.DataFrame], *, year: str = "diagnosis_year",
                            value: str = "rate",
                            title: str = "Age-adjusted incidence rate per 100,000 by year") -> go.Figure:
    """One rate-by-year line with its interval band per group (e.g. male and female); withheld years are
    gaps, not zeros."""
    fig = go.Figure()
    for (label, yearly), color in zip(series.items(), CURVE_COLORS, strict=False):
        data = yearly.sort_values(year)
        x = data[year].astype(float).tolist()
        if {"lower", "upper"} <= set(data.columns):
            band_x, band_y = band_polygons(x, data["lower"], data["upper"])
            fig.add_trace(go.Scatter(x=band_x, y=band_y, mode="lines", fill="toself",
                                     fillcolor=color.replace("rgb(", "rgba(").replace(")", ",0.15)"),
                                     line={"width": 0}, hoverinfo="skip", showlegend=False, legendgroup=label,
                                     name=f"{label} interval"))
        fig.add_trace(go.Scatter(x=x, y=data[value].tolist(), mode="lines+markers", name=label, legendgroup=label,
                                 line={"color": color},
                                 hovertemplate="%{x:.0f}: %{y:.1f}<extra>" + label + "</extra>"))
    fig.update_layout(title={"text": title}, xaxis={"title": {"text": "year of diagnosis"}, "dtick": 1},
                      yaxis={"title": {"text": value}, "rangemode": "tozero"}, template="plotly_white")
    return fig


# ---------------------------------------------------------------------------------------- survival
_ESTIMATE_COLUMNS = ("estimate", "survival", "net_survival", "relative_survival", "cumulative_incidence")


def _steps(time: np.ndarray, y: np.ndarray) -> tuple[list[float], list[float]]:
    """Step-function coordinates (value holds until the next time)."""
    xs: list[float] = []
    ys: list[float] = []
    for i, (t, v) in enumerate(zip(time, y, strict=True)):
        if i:
            xs.append(float(t))
            ys.append(float(y[i - 1]))
        xs.append(float(t))
        ys.append(float(v))
    return xs, ys


def survival_figure(curves: pd.DataFrame | Sequence[pd.DataFrame] | Mapping[str, pd.DataFrame], *,
                    estimate: str | None = None, title: str = "Survival",
                    time_label: str = "years since diagnosis") -> go.Figure:
    """Step curves with their confidence bands (up to ``MAX_BANDS`` curves), one per frame (or per ``label``
    within one frame).

    Each frame has ``time``, an estimate column (``estimate``, ``survival``, ``net_survival``, ...)
    and optionally ``lower``/``upper`` and ``label``.
    """
    if isinstance(curves, pd.DataFrame):
        groups = ([(str(k), g) for k, g in curves.groupby("label", sort=False)] if "label" in curves
                  else [("", curves)])
    elif isinstance(curves, Mapping):
        groups = [(str(k), g) for k, g in curves.items()]
    else:
        groups = [(str(g["label"].iloc[0]) if "label" in g and len(g) else f"curve {i + 1}", g)
                  for i, g in enumerate(curves)]
    palette = [CURVE_COLORS[i % len(CURVE_COLORS)] for i in range(max(len(groups), 1))]
    fig = go.Figure()
    for (label, frame), color in zip(groups, palette, strict=False):
        column = estimate or next((c for c in _ESTIMATE_COLUMNS if c in frame.columns), None)
        if column is None:
            raise ValueError(f"curve {label!r} has no estimate column ({', '.join(_ESTIMATE_COLUMNS)})")
        frame = frame.sort_values("time")
        time = frame["time"].to_numpy(dtype=float)
        name = label or column
        if len(groups) <= MAX_BANDS and {"lower", "upper"} <= set(frame.columns):
            band_x, band_y = band_polygons(time, frame["lower"], frame["upper"], steps=True)
            fig.add_trace(go.Scatter(x=band_x, y=band_y, mode="lines", fill="toself", line={"width": 0},
                                     fillcolor=color.replace("rgb(", "rgba(").replace(")", ",0.18)"),
                                     hoverinfo="skip", showlegend=False, legendgroup=name,
                                     name=f"{name} interval"))
        fig.add_trace(go.Scatter(x=time.tolist(), y=frame[column].to_numpy(dtype=float).tolist(),
                                 mode="lines", line={"shape": "hv", "color": color}, name=name,
                                 legendgroup=name,
                                 hovertemplate="%{x:.2f}: %{y:.3f}<extra>" + name + "</extra>"))
    fig.update_layout(title={"text": title}, template="plotly_white",
                      xaxis={"title": {"text": time_label}, "rangemode": "tozero"},
                      yaxis={"title": {"text": "proportion"}, "range": [0, 1.02]})
    _mark_above_one(fig, groups, estimate)
    return fig


def _mark_above_one(fig: go.Figure, groups: Sequence[tuple[str, pd.DataFrame]], estimate: str | None) -> None:
    """A survival proportion above 1 (net survival can exceed it) is not drawn off the axis silently: the
    axis stops just above 1 and a note on the chart says how high the curve goes and from when."""
    above = []
    for label, frame in groups:
        column = estimate or next((c for c in _ESTIMATE_COLUMNS if c in frame.columns), None)
        values = pd.to_numeric(frame[column], errors="coerce") if column else pd.Series(dtype=float)
        over = frame.loc[values > 1, "time"]
        if len(over):
            above.append(f"{label + ': ' if label else ''}up to {values.max():.2f} from {float(over.min()):.1f} "
                         "years")
    if above:
        fig.update_yaxes(range=[0, 1.05])
        fig.add_annotation(text="Above 1, not drawn (" + "; ".join(above) + "): see the note below",
                           xref="paper", yref="paper", x=1, y=1, xanchor="right", yanchor="bottom",
                           showarrow=False, font={"size": 11, "color": "rgb(180,40,40)"})



def attrition_funnel(steps: pd.DataFrame) -> go.Figure:
    """The attrition as a funnel: one bar per step (`step`. `label`) for persons and for tumors, each step's count
    as released (`persons`, `tumors`); a withheld step (empty count) has no bar and reads "withheld"."""
    figure = go.Figure()
    names = [f"{int(step)}. {label}" for step, label in zip(steps["step"], steps["label"], strict=True)]
    for column, name in (("persons", "Persons (registry patients)"), ("tumors", "Tumors (registry tumors)")):
        values = [_count(v) for v in steps[column]]
        figure.add_trace(go.Funnel(
            name=name, y=names, x=values, textinfo="text", hoverinfo="name+y+text",
            text=["withheld" if v is None else f"{v:,}" for v in values]))
    for name, persons, tumors in zip(names, steps["persons"], steps["tumors"], strict=True):
        if _count(persons) is None or _count(tumors) is None:
            figure.add_annotation(x=0.5, xref="paper", y=name, yref="y", showarrow=False,
                                  text=f"withheld (fewer than {DEFAULT_THRESHOLD}, or would give a small count away)")
    figure.update_layout(margin={"l": 10, "r": 10, "t": 30, "b": 10}, legend={"orientation": "h"},
                         funnelmode="group", height=max(260, 70 * len(steps)))
    return figure
