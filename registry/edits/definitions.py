"""The coding edits as data: their definitions (`registry/data/edits.csv`) and the code lists and rule tables
they check against, loaded once.

An edit is a row: an id, the NAACCR edit it follows, the edit sets it belongs to, a severity, the items it
reads, the NAACCR override flag that clears it, the predicate (a function in `registry.edits.predicates`) with
its parameter, and a message template naming the items and their values.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

EDIT_SETS = ("incoming", "publication")
SEVERITIES = ("error", "warning")
DATA_FILES = ("edits.csv", "edit_codes.csv", "icdo3_morphology.csv", "site_histology_rules.csv", "paired_sites.csv",
              "age_site_histology.csv", "us_counties.csv")


@dataclass(frozen=True)
class EditDefinition:
    """One coding edit (a row of `registry/data/edits.csv`)."""

    id: str
    name: str
    sets: tuple[str, ...]
    severity: str
    items: tuple[str, ...]
    override: str          # NAACCR override flag that clears the edit ('' for none)
    predicate: str
    parameter: str
    message: str
    source: str


@dataclass(frozen=True)
class RangeRule:
    """Histologies (4-digit numbers) and topographies (C-code numbers, C509 -> 509) a rule covers, as
    closed intervals, with what the rule says."""

    histologies: tuple[tuple[int, int], ...]
    sites: tuple[tuple[int, int], ...]
    name: str
    min_age: int = 0
    max_age: int = 999


def _data_text(name: str) -> str:
    return resources.files("registry").joinpath("data", name).read_text(encoding="utf-8")


def _rows(name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(_data_text(name).splitlines()))


def parse_ranges(text: str) -> tuple[tuple[int, int], ...]:
    """'C500-C509;C569' or '8170-8175;8180' as closed intervals of numbers (C509 -> 509)."""
    out = []
    for part in text.split(";"):
        low, _, high = part.strip().partition("-")
        out.append((int(low.lstrip("C")), int((high or low).lstrip("C"))))
    return tuple(out)


def in_ranges(values: np.ndarray, ranges: tuple[tuple[int, int], ...]) -> np.ndarray:
    """Which of the integer values lie in any of the closed intervals."""
    hit = np.zeros(len(values), dtype=bool)
    for low, high in ranges:
        hit |= (values >= low) & (values <= high)
    return hit


@cache
def edit_definitions() -> tuple[EditDefinition, ...]:
    """Every coding edit, in the order of `registry/data/edits.csv`."""
    return tuple(EditDefinition(
        id=row["id"], name=row["name"], sets=tuple(row["sets"].split(";")), severity=row["severity"],
        items=tuple(row["items"].split(";")), override=row["override"], predicate=row["predicate"],
        parameter=row["parameter"], message=row["message"], source=row["source"]) for row in _rows("edits.csv"))


@cache
def code_lists() -> dict[str, frozenset[str]]:
    """The valid codes of every coded item the edits check."""
    lists: dict[str, set[str]] = {}
    for row in _rows("edit_codes.csv"):
        lists.setdefault(row["item"], set()).add(row["code"])
    return {item: frozenset(codes) for item, codes in lists.items()}


@cache
def morphology_behaviors() -> dict[str, frozenset[str]]:
    """ICD-O-3 histology (4 digits) -> the behaviors ICD-O-3 gives it."""
    found: dict[str, set[str]] = {}
    for row in _rows("icdo3_morphology.csv"):
        found.setdefault(row["histology"], set()).add(row["behavior"])
    return {h: frozenset(b) for h, b in found.items()}


@cache
def site_histology_rules() -> tuple[RangeRule, ...]:
    """Site-specific morphologies: the topographies where each may be coded (malignant and in situ)."""
    return tuple(RangeRule(parse_ranges(r["histologies"]), parse_ranges(r["sites"]), r["name"])
                 for r in _rows("site_histology_rules.csv"))


@cache
def paired_sites() -> tuple[tuple[int, int], ...]:
    """Topographies of paired organs (NAACCR paired organ list) as intervals."""
    return tuple(interval for r in _rows("paired_sites.csv") for interval in parse_ranges(r["sites"]))


@cache
def age_rules() -> tuple[RangeRule, ...]:
    """Age, site and histology combinations: the ages (inclusive) outside which each is unlikely."""
    return tuple(RangeRule(parse_ranges(r["histologies"]), parse_ranges(r["sites"]), r["name"], int(r["min_age"]),
                           int(r["max_age"])) for r in _rows("age_site_histology.csv"))


@cache
def county_codes() -> frozenset[str]:
    """Every US county as state abbreviation + 3-digit county code, e.g. KS173."""
    return frozenset(r["state_abbr"] + r["fips"][2:] for r in _rows("us_counties.csv"))


@cache
def edits_version() -> str:
    """A digest of the edit definitions and every table they read, recorded with each run."""
    digest = hashlib.sha256()
    for name in DATA_FILES:
        digest.update(_data_text(name).encode("utf-8"))
    return digest.hexdigest()[:16]
