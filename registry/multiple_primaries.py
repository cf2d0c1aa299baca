"""Are two tumor reports of one patient the same tumor? The SEER multiple-primary rules, pair by pair.

``judge(a, b)`` returns SINGLE_PRIMARY (the same tumor), MULTIPLE_PRIMARIES (separate primaries) or
QUESTIONABLE (a registrar decides: the human review queue), with the rule set, the rule step as the manual
numbers it, and one plain sentence of reason. It never raises: reports without a usable site, histology,
behavior or diagnosis year are QUESTIONABLE with the reason.

Which rules: as in the reference implementation (imsweb/mph, ``MphUtils.computePrimaries``), both tumors
are placed in a rule set using the LATER of the two diagnosis years; tumors that fall in different rule
sets are separate primaries; otherwise the rule set's steps are tried in the manual's order and the first
that applies decides. Rule sets (``registry/data/mp_rule_sets.csv``):

- Hematopoietic 2010+ for histologies 9590-9993 (``registry.mp_hematopoietic``);
- Solid Tumor Rules 2018+ modules (head & neck, colon, lung, breast, kidney, urinary, malignant and
  non-malignant CNS; cutaneous melanoma from 2021, other sites from 2023) (``registry.mp_solid``);
- MP/H 2007 modules for 2007-2017 (melanoma to 2020, other sites to 2022) (``registry.mp_solid_2007``).

Implemented as the rules state them: rule-set choice by later year, site and histology/behavior; the site
rules (2nd/3rd/4th character, module site groups such as colon/rectosigmoid/rectum, named subsite pairs);
paired organs (left and right -> multiple; unknown laterality -> a potential result that stands only if a
later step agrees, else QUESTIONABLE); timing (1, 3, 5 years and 60 days, by module, on date intervals:
a date known to the month or year is decided only when every possible day agrees, else the rules'
potential/QUESTIONABLE convention); in situ and invasive (more than 60 days -> multiple, where the module
says so); the MP/H 2007 histology rules (first three digits, NOS and specific type); the Heme DB
same-primary pairs and chronic-to-acute transformations. Approximations (details in
docs/multiple-primaries.md): the Solid Tumor Rules histology tables are partial, and codes missing from
them are compared by the MP/H 2007 conventions; steps that need facts a report does not carry (tumor
counts, surgery, recurrence, treatment, biopsies) are skipped; diagnoses before 2007 (before 2010 for
hematopoietic) use the 2007 (2010) rules; "more than N years" is strictly after the N-th anniversary.

Speed: the tables are read once, each report is prepared once (cached), and a pair costs a few dictionary
look-ups and comparisons (no pandas).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from registry.mp_hematopoietic import HEMATOPOIETIC
from registry.mp_rules import (
    MULTIPLE,
    QUESTIONABLE,
    SINGLE,
    PrimaryResult,
    Step,
    Tumor,
    codes,
    data_rows,
    date_interval,
    site_ranges,
)
from registry.mp_solid import RULE_SETS_2018
from registry.mp_solid_2007 import RULE_SETS_2007

__all__ = ["PrimaryDecision", "PrimaryResult", "TumorFacts", "judge", "rule_set_name"]


@dataclass(frozen=True)
class TumorFacts:
    """One tumor report as the rules see it."""

    primary_site: str | None         # ICD-O-3 topography 'C509'
    histology: str | None            # 4 digits '8500'
    behavior: str | None             # '0'..'3'
    laterality: str | None           # NAACCR laterality code '0'..'9'
    date_of_diagnosis: date | None   # first day of the known period
    diagnosis_precision: str | None  # 'D', 'M', 'Y' (None = unknown date)


@dataclass(frozen=True)
class PrimaryDecision:
    """The decision for a pair of reports, the rule set and rule step that made it, and why."""

    result: PrimaryResult
    rule_set: str   # e.g. "Solid Tumor Rules 2018+: Breast"
    rule: str       # rule step id as the manual numbers it, e.g. "M10"
    reason: str     # one plain sentence


@dataclass(frozen=True)
class _RuleSet:
    key: str
    name: str
    first_year: int
    last_year: int
    sites: frozenset[int] | None
    hist_in: frozenset[str] | None
    hist_out: frozenset[str]
    behaviors: frozenset[str]
    steps: tuple[Step, ...]


def _load_rule_sets() -> tuple[_RuleSet, ...]:
    steps = {"heme_2010": HEMATOPOIETIC, **RULE_SETS_2018, **RULE_SETS_2007}
    return tuple(
        _RuleSet(r["rule_set"], r["name"], int(r["first_year"]), int(r["last_year"]),
                 site_ranges(r["sites"]) if r["sites"] else None,
                 codes(r["hist_included"]) if r["hist_included"] else None, codes(r["hist_excluded"]),
                 frozenset(r["behaviors"].split()), tuple(steps[r["rule_set"]]))
        for r in data_rows("mp_rule_sets.csv"))


_RULE_SETS = _load_rule_sets()
_SITE = re.compile(r"C\d{3}")
_HISTOLOGY = re.compile(r"\d{4}")
_NOT_SPECIFIED = "Input check"


@lru_cache(maxsize=4096)
def _rule_set(site_n: int, hist: str, beh: str, year: int) -> _RuleSet | None:
    """The first rule set whose years, sites, histologies and behaviors take the tumor."""
    for rs in _RULE_SETS:
        if rs.first_year <= year <= rs.last_year and beh in rs.behaviors and hist not in rs.hist_out \
                and (rs.sites is None or site_n in rs.sites) and (rs.hist_in is None or hist in rs.hist_in):
            return rs
    return None


def rule_set_name(facts: TumorFacts, year: int) -> str | None:
    """Name of the rule set that takes this tumor when the pair's later diagnosis year is ``year``."""
    tumor = _prepare(facts)
    if isinstance(tumor, str):
        return None
    rs = _rule_set(tumor.site_n, tumor.hist, tumor.beh, year)
    return rs.name if rs else None


@lru_cache(maxsize=65536)
def _prepare(facts: TumorFacts) -> Tumor | str:
    """The tumor in the form the steps read, or the reason it cannot be judged."""
    site = (facts.primary_site or "").strip().upper()
    hist = (facts.histology or "").strip()
    beh = (facts.behavior or "").strip()
    if not _SITE.fullmatch(site) or site == "C809":
        return f"primary site {facts.primary_site!r} is not a known ICD-O-3 topography code"
    if not _HISTOLOGY.fullmatch(hist) or not 8000 <= int(hist) <= 9999:
        return f"histology {facts.histology!r} is not an ICD-O-3 histology code (8000-9999)"
    if beh not in ("0", "1", "2", "3"):
        return f"behavior {facts.behavior!r} is not an ICD-O-3 behavior code (0-3)"
    lo, hi = date_interval(facts.date_of_diagnosis, facts.diagnosis_precision)
    if lo is None:
        return "the diagnosis year is unknown, so the rule set cannot be chosen"
    year = facts.date_of_diagnosis.year if facts.date_of_diagnosis else None
    return Tumor(site, site[:3], int(site[1:]), hist, int(hist), beh, f"{hist}/{beh}",
                 (facts.laterality or "").strip(), lo, hi, year)


def _questionable(rule_set: str, reason: str, rule: str = "-") -> PrimaryDecision:
    return PrimaryDecision(QUESTIONABLE, rule_set, rule, reason)


def judge(a: TumorFacts, b: TumorFacts) -> PrimaryDecision:
    """Single primary, multiple primaries or questionable for two tumor reports of one patient."""
    ta, tb = _prepare(a), _prepare(b)
    if isinstance(ta, str) or isinstance(tb, str):
        problems = [f"report {n}: {p}" for n, p in (("1", ta), ("2", tb)) if isinstance(p, str)]
        return _questionable(_NOT_SPECIFIED, "Cannot apply the rules: " + "; ".join(problems) + ".")
    year = max(ta.year or 0, tb.year or 0)
    rsa, rsb = _rule_set(ta.site_n, ta.hist, ta.beh, year), _rule_set(tb.site_n, tb.hist, tb.beh, year)
    if rsa is None or rsb is None:
        same = (ta.site, ta.code, ta.lat, ta.lo, ta.hi) == (tb.site, tb.code, tb.lat, tb.lo, tb.hi)
        if rsa is None and rsb is None and same:
            return PrimaryDecision(SINGLE, _NOT_SPECIFIED, "-", "The two reports have the same site, histology, "
                                   "behavior, laterality and diagnosis date.")
        missing = ta if rsa is None else tb
        return _questionable(_NOT_SPECIFIED, f"No multiple-primary rule set covers {missing.site} "
                             f"{missing.code} diagnosed in {year}.")
    if rsa is not rsb:
        return PrimaryDecision(MULTIPLE, " / ".join(sorted((rsa.name, rsb.name))), "-",
                               "The tumors belong to different rule sets (different organ systems or histology "
                               "groups).")
    return _apply(rsa, ta, tb)


def _apply(rs: _RuleSet, a: Tumor, b: Tumor) -> PrimaryDecision:
    """Try the rule set's steps in order; a potential result stands only if a later step agrees."""
    pending: tuple[PrimaryResult, str, str] | None = None
    for s in rs.steps:
        outcome = s.check(a, b)
        if outcome is None:
            continue
        is_final, result, message = outcome
        reason = message or s.reason
        if not is_final:
            if pending is None:
                pending = (result, s.rule, reason)
            elif pending[0] != result:
                return _questionable(rs.name, f"{pending[2]} (rule {pending[1]}).", s.rule)
            continue
        if pending is not None and pending[0] != result:
            return _questionable(rs.name, f"{pending[2]} (rule {pending[1]}).", s.rule)
        return PrimaryDecision(result, rs.name, s.rule, reason + ".")
    return _questionable(rs.name, "No rule of the rule set applies.")
