"""The generator's data files and module layout: clinical tables read from ``sample_data/data`` by their
loaders, every file documented with its source, and no import circle among ``sample_data`` modules."""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path

import pytest

from sample_data import clinical_items, clinical_model

DATA = resources.files("sample_data") / "data"
PACKAGE = Path(clinical_model.__file__).parent


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open("r", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_every_data_file_is_documented_in_the_readme() -> None:
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    names = [entry.name for entry in DATA.iterdir() if entry.name != "README.md"]
    assert any(name.startswith("clinical_") for name in names)
    assert [name for name in names if f"`{name}`" not in readme] == []


def test_site_model_follows_the_files_in_order_and_type() -> None:
    variants = _rows("clinical_variants.csv")
    assert [(s, v.name) for s, site in clinical_model.SITES.items() for v in site.variants] == \
        [(row["site_key"], row["variant"]) for row in variants]
    codes = [row for row in _rows("clinical_variant_codes.csv")
             if row["site_key"] == "breast" and row["table"] == "topography"]
    topography = clinical_model.SITES["breast"].variants[0].topography
    assert list(topography) == [row["code"] for row in codes]
    assert [type(w) for w in topography.values()] == [float if "." in row["weight"] else int for row in codes]
    sites = {row["site_key"]: row for row in _rows("clinical_sites.csv")}
    for key, site in clinical_model.SITES.items():
        assert (site.size is None) == (sites[key]["size_mm_localized"] == "")
        assert site.paired == frozenset(sites[key]["paired_topography"].split())
        assert all((v.in_situ is None) == all(not (row["variant"] == v.name and row["site_key"] == key
                                                   and row["table"] == "in_situ")
                                               for row in _rows("clinical_variant_codes.csv"))
                   for v in site.variants)


def test_treatment_profiles_cover_every_variant_and_stage_table() -> None:
    profiles = clinical_model.PROFILES
    assert list(profiles) == [row["profile"] for row in _rows("clinical_profiles.csv")]
    assert {v.profile for site in clinical_model.SITES.values() for v in site.variants} <= set(profiles)
    for row in _rows("clinical_profile_stages.csv"):
        values = getattr(profiles[row["profile"]], row["treatment"])
        assert values == tuple(float(row[group]) for group in clinical_items.STAGE_GROUPS)
    staged = [p for p in profiles.values() if isinstance(p.surgery_codes, tuple)]
    assert staged and all(len(p.surgery_codes) == len(clinical_items.STAGE_GROUPS) for p in staged)


def test_variant_with_an_unknown_profile_is_refused_naming_file_and_field() -> None:
    without = {key: profile for key, profile in clinical_model.PROFILES.items() if key != "wilms"}
    with pytest.raises(ValueError, match=r"clinical_variants\.csv: unknown profile values \['wilms'\]"):
        clinical_model.load_sites(without)


def test_item_table_gives_years_codes_and_patterns() -> None:
    rows = _rows("clinical_items.csv")
    assert tuple(row["item"] for row in rows) == clinical_items.ITEMS
    assert clinical_items.ITEM_YEARS["grade"][1] < clinical_items.ITEM_YEARS["gradeClinical"][0]
    assert set(clinical_items.CODES) | set(clinical_items.CODE_PATTERNS) <= set(clinical_items.ITEMS)
