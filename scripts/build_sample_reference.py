"""Build the project's reference data files from the shared reference folder (run once by developers).

Reads ``/work/shared/reference`` (Census population estimates, SEER bridged national population, the
2015 county age-sex file, R's ``survexp.us`` life table, the CDC USCS 2019 rates and the site facts) and
the ``cb_2016_us_county_500k`` shapefile shipped by the ``plotly-geo`` package, and writes:

* ``registry/data/us_counties.csv``: the 3,142 counties of the 50 states + DC (Census V2019 set);
* ``registry/data/us_life_table.csv``: US life table, year x sex x age, qx and daily hazard;
* ``sample_data/data/county_population.parquet``: county x year x sex x SEER 19 age groups, 2010-2023
  (an approximation; the method is in ``sample_data/data/README.md``);
* ``sample_data/data/site_incidence.csv`` and ``sample_data/data/site_facts.csv``.

Output is deterministic: rerunning on the same inputs writes byte-identical files. Nothing in the
project reads the shared folder at run time; only this script does.

Usage: ``python scripts/build_sample_reference.py [--reference DIR]``
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import pandas as pd

from registry.geography import FIPS_STATE

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REFERENCE = Path("/work/shared/reference")
REGISTRY_DATA = ROOT / "registry" / "data"
SAMPLE_DATA = ROOT / "sample_data" / "data"

SEER19 = ("00", "01-04", "05-09", "10-14", "15-19", "20-24", "25-29", "30-34", "35-39", "40-44", "45-49",
          "50-54", "55-59", "60-64", "65-69", "70-74", "75-79", "80-84", "85+")
SEER18 = ("00-04",) + SEER19[2:]
# The 2015 county file's 10-year groups and the two 5-year groups each is split into.
TEN_YEAR_SPLITS = {"35-44": ("35-39", "40-44"), "45-54": ("45-49", "50-54"), "55-64": ("55-59", "60-64"),
                   "65-74": ("65-69", "70-74"), "75-84": ("75-79", "80-84")}
SEX_CODES = {"male": 1, "female": 2}
FIRST_YEAR, LAST_YEAR, BASE_YEAR = 2010, 2023, 2015
# V2019 county codes replaced in the V2023 estimates (see population/README.md and notes/geo.md).
CT_STATE_FIPS = "09"
VALDEZ_CORDOVA, VALDEZ_CORDOVA_SUCCESSORS = "02261", ("02063", "02066")


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write a CSV with LF line ends and UTF-8 so rebuilds are byte-identical."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)}: {len(frame):,} rows, {path.stat().st_size:,} bytes")


# --------------------------------------------------------------------------------------------- counties

def _v2019_counties(reference: Path) -> pd.DataFrame:
    """The V2019 county list (codes, state and county names) from the raw Latin-1 Census file."""
    raw = pd.read_csv(reference / "population" / "co-est2019-alldata.csv", encoding="latin-1",
                      usecols=["SUMLEV", "STATE", "COUNTY", "STNAME", "CTYNAME"], dtype=str)
    raw = raw[raw["SUMLEV"].astype(int) == 50]
    frame = pd.DataFrame({
        "state_fips": raw["STATE"].str.zfill(2),
        "county_fips": raw["COUNTY"].str.zfill(3),
        "state_name": raw["STNAME"],
        "county_name": raw["CTYNAME"],
    })
    frame.insert(0, "fips", frame["state_fips"] + frame["county_fips"])
    return frame.drop(columns="county_fips").sort_values("fips").reset_index(drop=True)


def build_counties(reference: Path) -> pd.DataFrame:
    """us_counties.csv: V2019 counties with names, centroids (EPSG:5070 centroid) and land area."""
    import _plotly_geo
    import geopandas as gpd

    frame = _v2019_counties(reference)
    if len(frame) != 3142 or frame["fips"].duplicated().any():
        raise SystemExit(f"expected 3,142 unique V2019 counties, found {len(frame):,}")
    unknown = set(frame["state_fips"]) - set(FIPS_STATE)
    if unknown:
        raise SystemExit(f"state FIPS without an abbreviation: {sorted(unknown)}")
    frame.insert(2, "state_abbr", frame["state_fips"].map(FIPS_STATE))

    shapefile = Path(os.path.dirname(_plotly_geo.__file__)) / "package_data" / "cb_2016_us_county_500k.shp"
    shapes = gpd.read_file(shapefile).set_crs(4269)   # Census cartographic files: NAD83, no .prj shipped
    shapes = shapes[shapes["GEOID"].isin(set(frame["fips"]))].set_index("GEOID")
    missing = set(frame["fips"]) - set(shapes.index)
    if missing:
        raise SystemExit(f"counties missing from {shapefile.name}: {sorted(missing)[:10]}")
    # Centroids in an equal-area projection (CONUS Albers) are true area centroids, unlike degree space.
    centroids = shapes.geometry.to_crs(5070).centroid.to_crs(4269)
    frame["centroid_lon"] = frame["fips"].map(centroids.x).round(4)
    frame["centroid_lat"] = frame["fips"].map(centroids.y).round(4)
    frame["land_area_km2"] = (frame["fips"].map(shapes["ALAND"].astype("int64")) / 1e6).round(3)
    _write_csv(frame, REGISTRY_DATA / "us_counties.csv")
    return frame


# ------------------------------------------------------------------------------------ county population

def _national_shares(reference: Path) -> pd.DataFrame:
    """National sex x SEER-19 age shares of the total population per year (SEER bridged-race).

    The national file has 18 groups; ``00`` is taken as one fifth of ``00-04`` and ``01-04`` as four
    fifths (documented approximation).
    """
    nat = pd.read_csv(reference / "population" / "us_age_sex_seer_bridged_1969_2024.csv",
                      dtype={"age_group_code": str})
    nat = nat[nat["year"].between(FIRST_YEAR, LAST_YEAR)]
    nat = nat.assign(sex=nat["sex"].map(SEX_CODES))
    wide = nat.pivot_table(index="year", columns=["sex", "age_group_code"], values="population",
                           aggfunc="sum")
    parts = {}
    for sex in (1, 2):
        for group in SEER19:
            if group == "00":
                parts[(sex, group)] = wide[(sex, "00-04")] * 0.2
            elif group == "01-04":
                parts[(sex, group)] = wide[(sex, "00-04")] * 0.8
            else:
                parts[(sex, group)] = wide[(sex, group)]
    table = pd.DataFrame(parts)
    return table.div(table.sum(axis=1), axis=0)


def _county_base_structure(reference: Path, national: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    """Each county's 2015 sex x SEER-19 structure as shares summing to 1: fips list, array (n, 38).

    The 13-group counts are split into 19 groups with the national 2015 shares of the same sex.
    """
    raw = pd.read_csv(reference / "population" / "county_age_sex_2015_13groups.csv",
                      dtype={"fips": str, "age_group_code": str})
    raw = raw.assign(sex=raw["sex"].map(SEX_CODES))
    wide = raw.pivot_table(index="fips", columns=["sex", "age_group_code"], values="population",
                           aggfunc="sum").fillna(0.0)
    base = national.loc[BASE_YEAR]
    columns: list[np.ndarray] = []
    for sex in (1, 2):
        for group in SEER19:
            if group in ("00", "01-04"):
                counts = wide[(sex, "00-04")] * (0.2 if group == "00" else 0.8)
            elif (sex, group) in wide.columns:
                counts = wide[(sex, group)]
            else:
                ten = next(k for k, pair in TEN_YEAR_SPLITS.items() if group in pair)
                pair = TEN_YEAR_SPLITS[ten]
                share = base[(sex, group)] / (base[(sex, pair[0])] + base[(sex, pair[1])])
                counts = wide[(sex, ten)] * share
            columns.append(counts.to_numpy(dtype=float))
    structure = np.column_stack(columns)
    structure /= structure.sum(axis=1, keepdims=True)
    return list(wide.index), structure


def _county_totals(reference: Path, fips: list[str]) -> pd.DataFrame:
    """County totals for 2010-2023 on the V2019 county set (fips x year), with the V2023 mapping."""
    totals = pd.read_csv(reference / "population" / "county_totals.csv",
                         dtype={"fips": str, "state_fips": str, "county_fips": str})
    v2019 = totals[totals["vintage"] == "V2019"].pivot(index="fips", columns="year", values="population")
    v2023 = totals[totals["vintage"] == "V2023"].pivot(index="fips", columns="year", values="population")
    wanted = pd.Index(fips)
    later = v2023.reindex(wanted)
    # Connecticut: the 8 old counties get the state's 2020-2023 total (planning regions) by 2019 shares.
    ct_old = [f for f in fips if f.startswith(CT_STATE_FIPS)]
    ct_total = v2023[v2023.index.str.startswith(CT_STATE_FIPS)].sum()
    ct_share = v2019.loc[ct_old, 2019] / v2019.loc[ct_old, 2019].sum()
    later.loc[ct_old] = np.outer(ct_share.to_numpy(), ct_total.to_numpy())
    # Alaska: Valdez-Cordova (02261) = Chugach (02063) + Copper River (02066).
    later.loc[VALDEZ_CORDOVA] = v2023.loc[list(VALDEZ_CORDOVA_SUCCESSORS)].sum()
    if later.isna().any().any():
        raise SystemExit(f"no 2020-2023 total for {later.index[later.isna().any(axis=1)].tolist()}")
    # Largest-remainder rounding keeps Connecticut's split summing to the state total.
    for year in later.columns:
        values = later.loc[ct_old, year].to_numpy(dtype=float)
        later.loc[ct_old, year] = _largest_remainder(values[None, :], np.array([round(values.sum())]))[0]
    combined = pd.concat([v2019.reindex(wanted), later], axis=1).astype("int64")
    if list(combined.columns) != list(range(FIRST_YEAR, LAST_YEAR + 1)):
        raise SystemExit(f"unexpected years in county_totals.csv: {list(combined.columns)}")
    return combined


def _largest_remainder(values: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Round each row of non-negative values to integers summing exactly to that row's total.

    Floors every cell, then gives one more to the cells with the largest fractional parts (ties go to
    the earlier cell), as many as the row still lacks.
    """
    floors = np.floor(values)
    missing = (totals - floors.sum(axis=1)).round().astype(np.int64)
    order = np.argsort(-(values - floors), axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(values.shape[1])[None, :].repeat(len(values), axis=0), axis=1)
    return (floors + (ranks < missing[:, None])).astype(np.int64)


def build_county_population(reference: Path, counties: pd.DataFrame) -> pd.DataFrame:
    """county_population.parquet: county x year x sex x SEER-19 age, 2010-2023 (approximation)."""
    national = _national_shares(reference)
    fips, structure = _county_base_structure(reference, national)
    if sorted(fips) != sorted(counties["fips"]):
        raise SystemExit("the 2015 county age-sex file does not hold the V2019 county set")
    totals = _county_totals(reference, fips)
    years = list(range(FIRST_YEAR, LAST_YEAR + 1))
    base = national.loc[BASE_YEAR].to_numpy()
    blocks = []
    for year in years:
        shares = structure * (national.loc[year].to_numpy() / base)[None, :]
        shares /= shares.sum(axis=1, keepdims=True)
        total = totals[year].to_numpy(dtype=np.int64)
        blocks.append(_largest_remainder(shares * total[:, None], total))
    cells = np.stack(blocks, axis=1)                       # (county, year, 38)
    sums = cells.sum(axis=2)
    if not np.array_equal(sums, totals[years].to_numpy()):
        raise SystemExit("a county-year does not sum to its total")
    n_county, n_year, n_cell = cells.shape
    sex = np.repeat([1, 2], len(SEER19))
    age = np.tile(np.array(SEER19, dtype=object), 2)
    frame = pd.DataFrame({
        "fips": np.repeat(np.array(fips, dtype=object), n_year * n_cell),
        "year": np.tile(np.repeat(np.array(years, dtype=np.int16), n_cell), n_county),
        "sex": np.tile(sex.astype(np.int8), n_county * n_year),
        "age_group": np.tile(age, n_county * n_year),
        "population": cells.reshape(-1).astype(np.int32),
    })
    path = SAMPLE_DATA / "county_population.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False, compression="zstd", compression_level=9)
    by_year = frame.groupby("year")["population"].sum()
    print(f"wrote {path.relative_to(ROOT)}: {len(frame):,} rows, {n_county:,} counties x {n_year} years "
          f"x {n_cell} cells, {path.stat().st_size:,} bytes")
    print("  US total by year: " + ", ".join(f"{y} {v:,}" for y, v in by_year.items()))
    print(f"  every county-year sums to its total; smallest cell {frame['population'].min()}, "
          f"zero cells {(frame['population'] == 0).sum():,}")
    return frame


# ----------------------------------------------------------------------------------------- life table

def _significant(value: float, digits: int = 10) -> str:
    """A float with the given number of significant digits, in the shortest plain form."""
    return f"{value:.{digits}g}"


def build_life_table(reference: Path) -> pd.DataFrame:
    """us_life_table.csv: year, sex (1/2), age, qx and daily hazard from R's survexp.us export.

    qx is the file's annual death probability; the daily hazard is recomputed as -ln(1 - qx) / 365.25
    and checked against the rate table's stored hazard.
    """
    raw = pd.read_csv(reference / "lifetables" / "us_survexp.csv")
    qx = raw["annual_death_prob"].to_numpy(dtype=float)
    hazard = -np.log1p(-qx) / 365.25
    stored = raw["daily_hazard"].to_numpy(dtype=float)
    drift = float(np.max(np.abs(hazard - stored) / np.maximum(stored, 1e-300)))
    if drift > 1e-8:
        raise SystemExit(f"-ln(1 - qx) / 365.25 differs from the stored daily hazard by up to {drift:.2e}")
    frame = pd.DataFrame({
        "year": raw["year"].astype(int),
        "sex": raw["sex"].map(SEX_CODES).astype(int),
        "age": raw["age"].astype(int),
        "qx": [_significant(v) for v in qx],
        "daily_hazard": [_significant(v) for v in hazard],
    }).sort_values(["year", "sex", "age"]).reset_index(drop=True)
    if len(frame) != 16_500 or frame["age"].max() != 109:
        raise SystemExit("unexpected rows in us_survexp.csv")
    _write_csv(frame, REGISTRY_DATA / "us_life_table.csv")
    return frame


# ----------------------------------------------------------------------------------------- site tables

def build_site_incidence(reference: Path) -> pd.DataFrame:
    """site_incidence.csv: USCS 2019 cases, population and crude rate by site x sex x age group."""
    raw = pd.read_csv(reference / "epi_age_specific_rates_uscs2019.csv", dtype={"age_group_code": str})
    suppressed = raw["cases_flag"].fillna("").str.startswith("suppressed")
    frame = pd.DataFrame({
        "site_key": raw["site_key"],
        "sex": raw["sex"].map(SEX_CODES).astype(int),
        "age_group": raw["age_group_code"],
        "cases": raw["cases"].fillna(0).astype(int),
        "population": raw["population"].astype(int),
        "rate_per_100k": raw["rate_per_100k"].fillna(0.0),
        "suppressed": np.where(suppressed, "true", "false"),
    })
    if raw.loc[~suppressed, "cases"].isna().any():
        raise SystemExit("a cell without cases is not flagged as suppressed")
    if set(frame["age_group"]) != set(SEER19):
        raise SystemExit(f"unexpected age groups: {sorted(set(frame['age_group']) ^ set(SEER19))}")
    _write_csv(frame, SAMPLE_DATA / "site_incidence.csv")
    return frame


SITE_FACT_COLUMNS = {
    "site_key": "site_key", "site_label": "site_label", "uscs_seer_site_group": "seer_site_group",
    "aair_male_per100k": "aair_male", "aair_female_per100k": "aair_female",
    "stage_insitu_pct": "stage_insitu_pct", "stage_localized_pct": "stage_localized_pct",
    "stage_regional_pct": "stage_regional_pct", "stage_distant_pct": "stage_distant_pct",
    "stage_unknown_pct": "stage_unknown_pct", "rs5_overall_pct": "rs5_overall_pct",
    "rs5_insitu_pct": "rs5_insitu_pct", "rs5_localized_pct": "rs5_localized_pct",
    "rs5_regional_pct": "rs5_regional_pct", "rs5_distant_pct": "rs5_distant_pct",
    "median_age_both_est": "median_age",
}


def build_site_facts(reference: Path) -> pd.DataFrame:
    """site_facts.csv: one row per site; values copied as text so empty cells stay empty."""
    raw = pd.read_csv(reference / "epi_facts.csv", dtype=str, keep_default_na=False)
    frame = raw[list(SITE_FACT_COLUMNS)].rename(columns=SITE_FACT_COLUMNS)
    if len(frame) != 20 or frame["site_key"].duplicated().any():
        raise SystemExit(f"expected 20 unique sites in epi_facts.csv, found {len(frame)}")
    _write_csv(frame, SAMPLE_DATA / "site_facts.csv")
    return frame


def main() -> None:
    """Build every reference file from the shared reference folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE,
                        help="the shared reference folder (default %(default)s)")
    args = parser.parse_args()
    reference: Path = args.reference
    counties = build_counties(reference)
    build_county_population(reference, counties)
    build_life_table(reference)
    build_site_incidence(reference)
    build_site_facts(reference)


if __name__ == "__main__":
    main()
