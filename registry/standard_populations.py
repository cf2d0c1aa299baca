"""Standard populations for direct age adjustment (US 2000, WHO 2000-2025, Segi 1960, European 2013).

The table (``registry/data/standard_populations.csv``) carries, per standard, the age-group code, its
first and last year of age and the population or weight, from the SEER standard population files
(https://seer.cancer.gov/stdpopulations/); see ``registry/data/README.md``.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import pandas as pd


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
        raise ValueError(f"unknown standard population {standard!r}; known: {known}")
    weights = rows.set_index("age_group_code")["population_or_weight"].astype(float)
    return weights / weights.sum()
