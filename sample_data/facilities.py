"""Reporting facilities of the synthetic state and which one reports each tumor.

Hospitals are placed in counties with probability rising faster than population (cities have more and
bigger hospitals); one academic cancer centre sits in the most populous county. Case volumes follow a
log-normal spread, so a few centres report most cases and many community hospitals report a few hundred
a year, as in real registries. A patient goes to a hospital with probability proportional to its size
times ``exp(-distance / 80 km)``. Death-certificate-only cases come from the state's vital records office.
Facility names are synthetic; identifiers are 10-digit numbers in the NPI layout, not real NPIs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from registry.geography import counties

PEOPLE_PER_HOSPITAL = 150_000
MIN_HOSPITALS, MAX_HOSPITALS = 8, 45
TRAVEL_KM = 80.0
VITAL_RECORDS_ID = "9999999999"
_SUFFIXES = ("Regional Medical Center", "Memorial Hospital", "Community Hospital", "Medical Center",
             "Health System", "General Hospital")


def _coordinates(frame: pd.DataFrame, lat0: float) -> np.ndarray:
    """Kilometre coordinates (equirectangular around latitude ``lat0``; fine within one state)."""
    return np.column_stack([frame["centroid_lon"].to_numpy() * 111.32 * np.cos(lat0),
                            frame["centroid_lat"].to_numpy() * 110.57])


def build_facilities(state_abbr: str, county_population: pd.Series, rng: np.random.Generator) -> pd.DataFrame:
    """The state's hospitals: id, name, county, volume weight, kind (``county_population`` by FIPS)."""
    table = counties().set_index("fips").loc[county_population.index]
    total = float(county_population.sum())
    count = int(np.clip(round(total / PEOPLE_PER_HOSPITAL), MIN_HOSPITALS, MAX_HOSPITALS))
    weights = county_population.to_numpy(float) ** 1.3
    largest = county_population.idxmax()
    others = rng.choice(county_population.index.to_numpy(), size=count - 1, p=weights / weights.sum())
    fips = np.concatenate([[largest], others])
    volume = np.sort(rng.lognormal(0.0, 1.0, count))[::-1]
    volume[0] *= 3.0   # the academic cancer centre
    names = []
    used: set[str] = set()
    for index, code in enumerate(fips):
        place = str(table.loc[code, "county_name"]).removesuffix(" County").removesuffix(" Parish")
        if index == 0:
            name = f"{table.loc[code, 'state_name']} University Cancer Center"
        else:
            name = f"{place} {_SUFFIXES[int(rng.integers(len(_SUFFIXES)))]}"
            while name in used:
                name = f"{place} {_SUFFIXES[int(rng.integers(len(_SUFFIXES)))]} {len(used)}"
        used.add(name)
        names.append(name)
    ids = [f"1{(int(rng.integers(10**8, 10**9))):09d}" for _ in range(count)]
    return pd.DataFrame({"facility_id": ids, "facility_name": names, "fips": fips, "volume_weight": volume,
                         "kind": ["academic"] + ["community"] * (count - 1)})


def assign_facilities(tumor_fips: np.ndarray, facilities: pd.DataFrame, rng: np.random.Generator,
                      exclude: np.ndarray | None = None) -> np.ndarray:
    """Index into ``facilities`` of the hospital reporting each tumor (optionally not ``exclude``)."""
    table = counties().set_index("fips")
    lat0 = float(np.deg2rad(table.loc[facilities["fips"], "centroid_lat"].mean()))
    facility_xy = _coordinates(table.loc[facilities["fips"]], lat0)
    result = np.empty(len(tumor_fips), dtype=np.int64)
    for code in np.unique(tumor_fips):
        rows = np.flatnonzero(tumor_fips == code)
        here = _coordinates(table.loc[[code]], lat0)
        distance = np.hypot(*(facility_xy - here).T)
        weight = facilities["volume_weight"].to_numpy() * np.exp(-distance / TRAVEL_KM)
        if exclude is None:
            cum = np.cumsum(weight / weight.sum())
            result[rows] = np.minimum(np.searchsorted(cum, rng.random(rows.size)), len(cum) - 1)
            continue
        for row in rows:   # second reports: a different hospital than the first
            w = weight.copy()
            w[exclude[row]] = 0.0
            result[row] = int(rng.choice(len(w), p=w / w.sum()))
    return result
