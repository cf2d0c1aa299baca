"""Build ``registry/data/reference_incidence_rates.csv``: the reference age-specific incidence rates that the
data-quality certification multiplies by the registry's own population to get expected cases.

Reads ``<reference>/epi_age_specific_rates_uscs2019.csv`` (CDC U.S. Cancer Statistics, diagnosis year 2019,
whole US: cases, population and crude rate per 100,000 by site, sex and SEER 19 age group; see
``registry/data/README.md``) and writes one row per site x sex x age group with the sex as the NAACCR code
(1 male, 2 female). Cells USCS suppressed (fewer than 16 cases) have no rate in the source: they are
written with rate 0 and ``suppressed`` true, as the certification then expects no case there. Which registry
tumors each site covers is ``registry/data/reference_incidence_sites.csv`` (written by hand).

Usage: ``python scripts/build_reference_incidence_rates.py [--reference DIR]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REFERENCE = Path("/work/shared/reference")
SOURCE = "epi_age_specific_rates_uscs2019.csv"
TARGET = ROOT / "registry" / "data" / "reference_incidence_rates.csv"
SEXES = {"male": "1", "female": "2"}
AGE_GROUPS = ("00", "01-04", *(f"{lo:02d}-{lo + 4:02d}" for lo in range(5, 85, 5)), "85+")


def build(reference: Path) -> pd.DataFrame:
    """The rates table in the project's form, checked: every site and sex has the 19 age groups once."""
    source = pd.read_csv(reference / SOURCE, dtype={"age_group_code": str})
    unknown = set(source["sex"]) - set(SEXES)
    if unknown:
        raise ValueError(f"{SOURCE}: unknown sex values {sorted(unknown)}")
    suppressed = source["cases_flag"].fillna("").str.startswith("suppressed")
    table = pd.DataFrame({
        "site_key": source["site_key"],
        "sex": source["sex"].map(SEXES),
        "age_group": source["age_group_code"],
        "cases": source["cases"].where(~suppressed).astype("Int64"),
        "population": source["population"].astype("int64"),
        "rate_per_100k": source["rate_per_100k"].where(~suppressed, 0.0).astype(float).round(6),
        "suppressed": suppressed.map({True: "true", False: "false"}),
    })
    for (site, sex), part in table.groupby(["site_key", "sex"]):
        if sorted(part["age_group"]) != sorted(AGE_GROUPS):
            raise ValueError(f"{SOURCE}: {site} sex {sex} does not have the 19 SEER age groups once each")
    order = {code: i for i, code in enumerate(AGE_GROUPS)}
    return table.sort_values(["site_key", "sex", "age_group"], key=lambda c: c.map(order) if c.name == "age_group"
                             else c, kind="stable").reset_index(drop=True)


def main() -> None:
    """Write the rates file from the shared reference folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE,
                        help="the shared reference folder (default %(default)s)")
    args = parser.parse_args()
    table = build(args.reference)
    table.to_csv(TARGET, index=False, lineterminator="\n")
    print(f"{TARGET.relative_to(ROOT)}: {len(table)} rows, {table['site_key'].nunique()} sites")


if __name__ == "__main__":
    main()
