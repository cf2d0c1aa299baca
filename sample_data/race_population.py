"""Split the synthetic population by race, so race-specific rates have denominators.

The sample's patients get their race from one statewide distribution (``persons.RACE_SHARES``), the
same in every county, age and sex. The denominators follow the same assumption: every county x year x
sex x age cell is split over the four SEER race groups (1 White, 2 Black, 3 American Indian/Alaska
Native, 4 Asian or Pacific Islander) in the state's shares among persons of known race, rounded by
largest remainder so each cell keeps its total. Synthetic race-specific rates therefore all equal the
overall rate; the split exists so the race filter can be exercised, not to model disparities.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sample_data.persons import RACE_SHARES

SEER_RACES = ("1", "2", "3", "4")


def seer_race(race1: str) -> str | None:
    """SEER race group of a NAACCR Race 1 code (``None`` for other or unknown race: 98, 99)."""
    if race1 in ("01", "02", "03"):
        return race1[1]
    code = int(race1) if race1.isdigit() else -1
    if 4 <= code <= 17 or 20 <= code <= 32 or code in (96, 97):
        return "4"
    return None


def race_shares(state_abbr: str) -> np.ndarray:
    """Shares of SEER races 1-4 among the state's patients of known race (sums to 1)."""
    shares = dict.fromkeys(SEER_RACES, 0.0)
    for code, share in RACE_SHARES.get(state_abbr, RACE_SHARES["US"]).items():
        group = seer_race(code)
        if group is not None:
            shares[group] += share
    values = np.array([shares[r] for r in SEER_RACES])
    return values / values.sum()


def population_by_race(population: pd.DataFrame, state_abbr: str) -> pd.DataFrame:
    """Each population cell split into four race rows (column ``race``), cell totals kept exactly."""
    shares = race_shares(state_abbr)
    totals = population["population"].to_numpy(dtype=np.int64)
    exact = totals[:, None] * shares[None, :]
    counts = np.floor(exact).astype(np.int64)
    short = totals - counts.sum(axis=1)
    # Largest remainder: the cells with the largest fractions get the missing persons (ties: lower race code).
    order = np.argsort(-(exact - counts), axis=1, kind="stable")
    ranks = np.argsort(order, axis=1, kind="stable")
    counts += ranks < short[:, None]
    split = population.loc[population.index.repeat(len(SEER_RACES))].reset_index(drop=True)
    split["race"] = np.tile(SEER_RACES, len(population))
    split["population"] = counts.reshape(-1)
    return split
