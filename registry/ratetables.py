"""Population rate tables (life tables) for expected and relative survival.

A *rate table* here is a long pandas DataFrame with one row per calendar year x sex x single year of age:

=================  ==================================================================================
column             meaning
=================  ==================================================================================
``year``           calendar year; the row applies from 1 January of that year until 1 January of the
                   next *listed* year (tables with irregular years, such as relsurv's ``slopop``, work)
``sex``            1 male, 2 female
``age``            completed years; the row applies from exact age ``age`` until the next listed age
``daily_hazard``   population mortality hazard per day
``qx``             optional: probability of dying before age + 1 (converted when ``daily_hazard`` is absent)
=================  ==================================================================================

Time conventions are those of the R package relsurv (Pohar Perme & Pavlic 2018, J Stat Softw 87(8)), whose
``transrate`` builds tables with ``daily_hazard = -ln(1 - qx) / 365.241`` and age cut points at
``age * 365.241`` days. The same 365.241-day year is used here for ages. Years are calendar dates
(1 January). Positions outside the table use the nearest edge row: ages past the last listed age use the
last age, dates after the last listed year use the last year (and dates before the first year the first).

The shipped US table (:func:`us_life_table`) keeps the ``daily_hazard`` stored in R's ``survexp.us``,
which the survival package derived as ``-ln(1 - qx) / 365.25``; it is used as stored. Note that R's
``survexp.us`` itself places age cut points at multiples of 365.25 days and applies a special US-table
shift of the year dimension (``type = 4``); this module does neither, so R results computed directly
with ``survexp.us`` differ slightly from ours (results computed in R with the table rebuilt from the CSV
match, see ``tests/reference/survival/make_reference.R``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

DAYS_PER_YEAR = 365.241
"""Days in a year for ages and follow-up in years (relsurv's convention)."""

SEXES = (1, 2)
_KEY = ["year", "sex", "age"]


def _show(value: object) -> str:
    item = value.item() if isinstance(value, np.generic) else value
    if isinstance(item, float) and item.is_integer():
        return str(int(item))
    return repr(item)


def _values_list(values: object, limit: int = 8) -> str:
    """A short, sorted list of offending values for error messages."""
    uniq = np.asarray(pd.unique(pd.Series(np.asarray(values).ravel())))
    with contextlib.suppress(TypeError):
        uniq = np.sort(uniq)
    shown = ", ".join(_show(v) for v in uniq[:limit])
    more = f" and {len(uniq) - limit} more" if len(uniq) > limit else ""
    return f"[{shown}{more}]"


def load_ratetable(path_or_frame: str | Path | pd.DataFrame) -> pd.DataFrame:
    """Read and validate a rate table; return it sorted by year, sex, age with a ``daily_hazard`` column.

    ``path_or_frame`` is a DataFrame or a path to a CSV (lines starting with ``#`` are comments) or a
    ``.parquet`` file.
    Required columns: ``year``, ``sex``, ``age`` and ``daily_hazard`` or ``qx``. When only ``qx`` is given
    the hazard is ``-ln(1 - qx) / 365.241`` per day (relsurv's ``transrate``); when both are given
    ``daily_hazard`` is used as is. The table must be a full grid: every listed year has both sexes and
    every (year, sex) the same ages.

    Raises ``ValueError`` naming the column and the offending values for: missing columns, missing or
    non-numeric values, sexes other than 1/2, negative or fractional ages, fractional years, negative
    hazards, ``qx`` outside [0, 1), duplicate (year, sex, age) rows and an incomplete grid.
    """
    if isinstance(path_or_frame, pd.DataFrame):
        raw = path_or_frame.copy()
    else:
        path = Path(path_or_frame)
        raw = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(path, comment="#")
    missing = [c for c in _KEY if c not in raw.columns]
    if missing:
        raise ValueError(f"rate table is missing column(s) {missing}; it needs year, sex, age and "
                         f"daily_hazard or qx (has {list(raw.columns)})")
    if "daily_hazard" not in raw.columns and "qx" not in raw.columns:
        raise ValueError("rate table needs a 'daily_hazard' or a 'qx' column "
                         f"(has {list(raw.columns)})")
    rate_col = "daily_hazard" if "daily_hazard" in raw.columns else "qx"
    cols = [*_KEY, rate_col] + (["qx"] if rate_col == "daily_hazard" and "qx" in raw.columns else [])
    out = pd.DataFrame(index=raw.index)
    for col in cols:
        values = pd.to_numeric(raw[col], errors="coerce")
        bad = values.isna() | ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
        if bad.any():
            raise ValueError(f"rate table column '{col}' has missing or non-numeric values "
                             f"{_values_list(raw.loc[bad, col].astype(str))}")
        out[col] = values.astype(float)
    for col in ("year", "age"):
        frac = out[col] != np.round(out[col])
        if frac.any():
            raise ValueError(f"rate table column '{col}' must hold whole numbers; found "
                             f"{_values_list(out.loc[frac, col])}")
    if (out["age"] < 0).any():
        raise ValueError(f"rate table column 'age' has negative values {_values_list(out.loc[out['age'] < 0, 'age'])}")
    bad_sex = ~out["sex"].isin(SEXES)
    if bad_sex.any():
        raise ValueError("rate table column 'sex' must be 1 (male) or 2 (female); found "
                         f"{_values_list(out.loc[bad_sex, 'sex'])}")
    for col in ("year", "sex", "age"):
        out[col] = out[col].astype(np.int64)
    if rate_col == "qx" or "qx" in out.columns:
        q = out["qx"]
        bad_q = (q < 0) | (q >= 1)
        if bad_q.any():
            raise ValueError(f"rate table column 'qx' must lie in [0, 1); found {_values_list(q[bad_q])}")
    if rate_col == "qx":
        out["daily_hazard"] = -np.log1p(-out["qx"]) / DAYS_PER_YEAR
    neg = out["daily_hazard"] < 0
    if neg.any():
        raise ValueError("rate table column 'daily_hazard' has negative values "
                         f"{_values_list(out.loc[neg, 'daily_hazard'])}")
    dup = out.duplicated(_KEY, keep=False)
    if dup.any():
        keys = out.loc[dup, _KEY].drop_duplicates().head(5)
        shown = ", ".join(f"(year={y}, sex={s}, age={a})" for y, s, a in keys.itertuples(index=False))
        raise ValueError(f"rate table has duplicate rows for (year, sex, age): {shown}"
                         + (" ..." if out.loc[dup, _KEY].drop_duplicates().shape[0] > 5 else ""))
    years = np.sort(out["year"].unique())
    ages = np.sort(out["age"].unique())
    expected = len(years) * len(SEXES) * len(ages)
    if len(out) != expected:
        full = pd.MultiIndex.from_product([years, SEXES, ages], names=_KEY)
        have = pd.MultiIndex.from_frame(out[_KEY])
        gaps = full.difference(have)[:5]
        shown = ", ".join(f"(year={y}, sex={s}, age={a})" for y, s, a in gaps)
        raise ValueError("rate table is not a full year x sex x age grid; missing rows include " + shown)
    out = out.sort_values(_KEY, kind="stable").reset_index(drop=True)
    out.attrs["hazard_source"] = ("daily_hazard column" if rate_col == "daily_hazard"
                                  else "-ln(1 - qx) / 365.241 (relsurv transrate convention)")
    return out


def us_life_table() -> pd.DataFrame:
    """The shipped US total-population life table (1940-2014, ages 0-109) in rate-table form.

    Source: R survival's ``survexp.us`` (see ``registry/data/README.md``); ``daily_hazard`` as stored there.
    """
    ref = resources.files("registry") / "data" / "us_life_table.csv"
    with resources.as_file(ref) as path:
        table = load_ratetable(path)
    table.attrs["source"] = "registry/data/us_life_table.csv (R survival survexp.us, 1940-2014)"
    return table


@dataclass(frozen=True)
class RateTableArrays:
    """A validated rate table as arrays for vectorised look-ups.

    ``hazard[sex - 1, year_index, age_index]`` is the daily hazard; ``year_starts`` are the days (since
    1970-01-01) of 1 January of each listed year; ``age_starts`` are the listed ages in days
    (``age * 365.241``).
    """

    years: np.ndarray
    ages: np.ndarray
    year_starts: np.ndarray
    age_starts: np.ndarray
    hazard: np.ndarray

    @property
    def n_cells(self) -> int:
        return int(self.hazard.size)


def ratetable_arrays(table: pd.DataFrame) -> RateTableArrays:
    """Convert a rate table (validated by :func:`load_ratetable` first) to :class:`RateTableArrays`."""
    t = load_ratetable(table)
    years = np.sort(t["year"].unique())
    ages = np.sort(t["age"].unique())
    hazard = (t.sort_values(_KEY)["daily_hazard"].to_numpy(dtype=float)
              .reshape(len(years), len(SEXES), len(ages)).transpose(1, 0, 2).copy())
    year_starts = (np.array([f"{y:04d}-01-01" for y in years], dtype="datetime64[D]")
                   .astype(np.int64).astype(float))
    age_starts = ages.astype(float) * DAYS_PER_YEAR
    return RateTableArrays(years=years, ages=ages, year_starts=year_starts, age_starts=age_starts,
                           hazard=hazard)
