"""Standard populations for direct age adjustment (US 2000, WHO 2000-2025, Segi 1960, European 2013,
Canada 2011).

The table (``registry/data/standard_populations.csv``) carries, per standard, the age-group code, its
first and last year of age and the population or weight, from the SEER standard population files
(https://seer.cancer.gov/stdpopulations/) and, for Canada 2011, Statistics Canada's standard population
of the Canadian Cancer Registry; see ``registry/data/README.md``.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import pandas as pd

from registry.errors import InvalidRequest


@cache
def standard_populations() -> pd.DataFrame:
    """All standards, long form: standard, age_group_code, age_lo, age_hi, population_or_weight."""
    with resources.as_file(resources.files("registry") / "data" / "standard_populations.csv") as path:
        return pd.read_csv(path, dtype={"standard": str, "age_group_code": str})


def standard_weights(standard: str) -> pd.Series:
    """Weights of one standard by age-group code, summing to 1."""
    table = standard_populations()
    rows = table[table["standard"] == standard]
    if rows.empty:
        known = ", ".join(sorted(table["standard"].unique()))
        raise InvalidRequest(f"unknown standard population {standard!r}; known: {known}")
    weights = rows.set_index("age_group_code")["population_or_weight"].astype(float)
    return weights / weights.sum()


def standard_age_groups(standard: str) -> pd.DataFrame:
    """The age groups of one standard in age order: code, first and last age (inclusive; ``inf`` for the
    open-ended last group) and the normalised weight (weights sum to 1)."""
    table = standard_populations()
    rows = table[table["standard"] == standard]
    if rows.empty:
        known = ", ".join(sorted(table["standard"].unique()))
        raise InvalidRequest(f"unknown standard population {standard!r}; known: {known}")
    weight = rows["population_or_weight"].astype(float)
    return pd.DataFrame({
        "age_group": rows["age_group_code"].to_numpy(),
        "age_lo": rows["age_lo"].astype(float).to_numpy(),
        "age_hi": rows["age_hi"].astype(float).fillna(float("inf")).to_numpy(),
        "weight": (weight / weight.sum()).to_numpy(),
    }).sort_values("age_lo", ignore_index=True)


def age_group_bounds() -> dict[str, tuple[float, float]]:
    """Every age-group code used by a standard, with its first and last age (``inf`` if open-ended).

    These are the SEER age-group codes the statistics accept in data: ``00``, ``01-04``, ``00-04``,
    ``05-09`` ... ``80-84``, ``85+``, ``85-89``, ``90+``, ``90-94``, ``95-99``, ``95+``, ``100+``.
    """
    table = standard_populations()
    hi = table["age_hi"].astype(float).fillna(float("inf"))
    return {code: (float(lo), float(h)) for code, lo, h in
            zip(table["age_group_code"], table["age_lo"].astype(float), hi, strict=True)}
