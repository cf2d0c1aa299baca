"""Building blocks of the multiple-primary rules: a tumor prepared for comparison, date arithmetic, tables.

Every rule step of every rule set (see ``registry.mp_solid``, ``registry.mp_hematopoietic``) is a small
function of two prepared tumors that either does not apply (``None``) or returns an outcome: a *final*
result, or a *potential* one when the step would apply but a date or a laterality is unknown (the
convention of the SEER rules as implemented by imsweb/mph: a potential result stands only if a later
step confirms it; a later step that disagrees makes the pair QUESTIONABLE). Steps are symmetric: they
never depend on which tumor is given first.

Dates are intervals: a day, a month or a year (the known part of the diagnosis date), so "more than 60
days apart" is decided only when every possible pair of days in the two intervals agrees.
"""

from __future__ import annotations

import calendar
import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache
from importlib import resources


class PrimaryResult(StrEnum):
    """Whether two tumor reports describe one primary, two primaries, or need a registrar's review."""

    SINGLE_PRIMARY = "single"
    MULTIPLE_PRIMARIES = "multiple"
    QUESTIONABLE = "questionable"


SINGLE = PrimaryResult.SINGLE_PRIMARY
MULTIPLE = PrimaryResult.MULTIPLE_PRIMARIES
QUESTIONABLE = PrimaryResult.QUESTIONABLE

# NAACCR laterality codes used by the rules
RIGHT, LEFT, BOTH, MIDLINE = "1", "2", "4", "5"
SIDES = frozenset((RIGHT, LEFT))

# Outcome of one step: (final?, result, reason or None for the step's own reason)
Outcome = tuple[bool, PrimaryResult, str | None] | None


@dataclass(frozen=True, slots=True)
class Tumor:
    """One tumor as the rule steps read it (codes checked, date as an interval of day ordinals)."""

    site: str          # 'C509'
    site3: str         # 'C50'
    site_n: int        # 509
    hist: str          # '8500'
    hist_n: int
    beh: str           # '3'
    code: str          # '8500/3'
    lat: str           # NAACCR laterality code, '' when not given
    lo: int | None     # first possible day (date ordinal); None when the date is unknown
    hi: int | None     # last possible day
    year: int | None


Check = Callable[[Tumor, Tumor], Outcome]


@dataclass(frozen=True, slots=True)
class Step:
    """One numbered rule of a rule set: its id as the manual numbers it, the check, a one-sentence reason."""

    rule: str
    check: Check
    reason: str


def date_interval(day: date | None, precision: str | None) -> tuple[int | None, int | None]:
    """(first, last) possible day ordinal for a date known to the day ('D'), month ('M') or year ('Y')."""
    if day is None or precision is None:
        return None, None
    if precision == "D":
        return day.toordinal(), day.toordinal()
    if precision == "M":
        last = calendar.monthrange(day.year, day.month)[1]
        return date(day.year, day.month, 1).toordinal(), date(day.year, day.month, last).toordinal()
    if precision == "Y":
        return date(day.year, 1, 1).toordinal(), date(day.year, 12, 31).toordinal()
    return None, None


# --- dates ---------------------------------------------------------------------------------------------

APART, WITHIN, UNKNOWN = 1, 0, -1


def later(a: Tumor, b: Tumor) -> int:
    """1 if ``a`` was surely diagnosed after ``b``, -1 if surely before, 0 the same day, 2 if unknown."""
    if a.lo is None or b.lo is None or a.hi is None or b.hi is None:
        return 2
    if a.lo > b.hi:
        return 1
    if b.lo > a.hi:
        return -1
    if a.lo == a.hi == b.lo == b.hi:
        return 0
    return 2


def days_apart(a: Tumor, b: Tumor, days: int) -> int:
    """APART if the diagnoses are surely more than ``days`` apart, WITHIN if surely not, else UNKNOWN."""
    if a.lo is None or b.lo is None or a.hi is None or b.hi is None:
        return UNKNOWN
    shortest = max(0, max(a.lo, b.lo) - min(a.hi, b.hi))
    longest = max(a.hi, b.hi) - min(a.lo, b.lo)
    if shortest > days:
        return APART
    if longest <= days:
        return WITHIN
    return UNKNOWN


def _more_than_years(first: int, second: int, years: int) -> bool:
    """Is day ``second`` more than ``years`` years after day ``first`` (after the anniversary)?"""
    start = date.fromordinal(first)
    try:
        anniversary = start.replace(year=start.year + years)
    except ValueError:   # 29 February
        anniversary = date(start.year + years, 2, 28)
    return second > anniversary.toordinal()


def years_apart(a: Tumor, b: Tumor, years: int) -> int:
    """APART if surely more than ``years`` years between the diagnoses, WITHIN if surely not, else UNKNOWN."""
    if a.lo is None or b.lo is None or a.hi is None or b.hi is None:
        return UNKNOWN
    a_lo, a_hi, b_lo, b_hi = a.lo, a.hi, b.lo, b.hi
    if b_hi < a_lo:   # b surely first: look at it as (earlier, later)
        a_lo, a_hi, b_lo, b_hi = b_lo, b_hi, a_lo, a_hi
    if a_hi < b_lo:
        if _more_than_years(a_hi, b_lo, years):
            return APART
        return UNKNOWN if _more_than_years(a_lo, b_hi, years) else WITHIN
    widest = _more_than_years(a_lo, b_hi, years) or _more_than_years(b_lo, a_hi, years)
    return UNKNOWN if widest else WITHIN


# --- codes ---------------------------------------------------------------------------------------------

@cache
def codes(text: str) -> frozenset[str]:
    """Expand '8000-8005 8010 8520/2' (space or comma separated, ranges of four-digit codes) to a set
    (cached: the rule steps name their code groups inline)."""
    out: set[str] = set()
    for item in text.replace(",", " ").split():
        if "-" in item:
            lo, hi = item.split("-")
            out.update(str(n) for n in range(int(lo), int(hi) + 1))
        else:
            out.add(item)
    return frozenset(out)


def site_ranges(text: str) -> frozenset[int]:
    """Expand 'C500-C506 C508' to site numbers {500, ..., 506, 508}."""
    out: set[int] = set()
    for item in text.split():
        lo, _, hi = item.partition("-")
        out.update(range(int(lo[1:]), int((hi or lo)[1:]) + 1))
    return frozenset(out)


def in_codes(t: Tumor, group: frozenset[str]) -> bool:
    """Is the tumor's histology (or histology/behavior) in the group?"""
    return t.hist in group or t.code in group


def one_each(a: Tumor, b: Tumor, first: frozenset[str], second: frozenset[str]) -> bool:
    """One tumor in ``first`` and the other in ``second`` (either way round)."""
    return (in_codes(a, first) and in_codes(b, second)) or (in_codes(b, first) and in_codes(a, second))


def data_rows(name: str) -> list[dict[str, str]]:
    """Rows of a CSV in ``registry/data`` (lines starting with '#' are the file's source notes)."""
    text = resources.files("registry").joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))


@dataclass(frozen=True)
class HistologyTable:
    """One histology table: the row of each code and the column-3 subtypes/variants."""

    name: str
    row_of: dict[str, str]
    subtypes: frozenset[str]

    def row(self, t: Tumor) -> str | None:
        """Row of the tumor's histology/behavior, else of its histology; None when not in the table."""
        return self.row_of.get(t.code) or self.row_of.get(t.hist)

    def is_subtype(self, t: Tumor) -> bool:
        """Is the tumor's histology a column-3 subtype/variant?"""
        return in_codes(t, self.subtypes)


@cache
def histology_tables() -> dict[str, HistologyTable]:
    """All histology tables of ``mp_histology_tables.csv``, read once."""
    rows: dict[str, dict[str, str]] = {}
    subtypes: dict[str, set[str]] = {}
    for r in data_rows("mp_histology_tables.csv"):
        table_rows = rows.setdefault(r["table"], {})
        table_subtypes = subtypes.setdefault(r["table"], set())
        for code in codes(r["code"]):
            table_rows.setdefault(code, r["row"])
            if r["kind"] == "subtype":
                table_subtypes.add(code)
    return {name: HistologyTable(name, rows[name], frozenset(subtypes[name])) for name in rows}


@cache
def _nos_chart() -> dict[str, frozenset[str]]:
    """MP/H 2007 chart: NOS histology -> its more specific types."""
    return {r["row"]: codes(r["code"]) for r in data_rows("mp_histology_tables.csv") if r["table"] == "nos_2007"}


def nos_and_specific(a: Tumor, b: Tumor, nos: Iterable[str]) -> bool:
    """MP/H 2007 chart: one tumor is a listed NOS histology and the other one of its specific types."""
    chart = _nos_chart()
    for x, y in ((a, b), (b, a)):
        if x.hist in nos and x.hist in chart and y.hist in chart[x.hist] and y.hist != x.hist:
            return True
    return False


def same_row(table: HistologyTable | None, a: Tumor, b: Tumor) -> bool:
    """Same row of a Solid Tumor Rules table; codes missing from the (partial) table fall back to the same
    histology, an NOS with one of its specific types (MP/H 2007 chart), or the same first three digits."""
    if a.hist == b.hist:
        return True
    if table is not None:
        ra, rb = table.row(a), table.row(b)
        if ra is not None and rb is not None:
            return ra == rb
    return nos_and_specific(a, b, ("8000", "8010", "8140", "8070", "8720", "8800", "8312")) \
        or a.hist[:3] == b.hist[:3]


# --- generic steps -------------------------------------------------------------------------------------

def step(rule: str, reason: str, check: Check) -> Step:
    """A rule step (keeps step lists readable)."""
    return Step(rule, check, reason)


def final(result: PrimaryResult, reason: str | None = None) -> Outcome:
    """A step's final result."""
    return True, result, reason


def potential(result: PrimaryResult, reason: str) -> Outcome:
    """A step's potential result (a date or laterality needed to decide it is unknown)."""
    return False, result, reason


UNKNOWN_DATE = "The diagnosis dates are not known well enough to apply this rule"
UNKNOWN_SIDE = "The laterality of a paired site is not known (left or right is needed)"


def sites_differ_2_3(a: Tumor, b: Tumor) -> Outcome:
    """Topography codes differ at the second or third character."""
    return final(MULTIPLE) if a.site3 != b.site3 else None


def sites_differ(a: Tumor, b: Tumor) -> Outcome:
    """Topography codes differ at any character."""
    return final(MULTIPLE) if a.site != b.site else None


def fourth_character_differs(sites3: frozenset[str]) -> Check:
    """Same three characters in one of ``sites3`` but a different fourth character."""
    def check(a: Tumor, b: Tumor) -> Outcome:
        return final(MULTIPLE) if a.site3 in sites3 and a.site3 == b.site3 and a.site != b.site else None
    return check


def site_pairs(pairs: Iterable[tuple[str, str]]) -> Check:
    """One tumor in each site group of a listed pair (e.g. upper lip and lower lip)."""
    groups = [(site_ranges(x), site_ranges(y)) for x, y in pairs]

    def check(a: Tumor, b: Tumor) -> Outcome:
        for x, y in groups:
            if (a.site_n in x and b.site_n in y) or (b.site_n in x and a.site_n in y):
                return final(MULTIPLE)
        return None
    return check


def both_sides(paired: str | None, unknown: PrimaryResult | None = MULTIPLE) -> Check:
    """Tumors on the left and on the right of a paired site (``paired``: site ranges, None = any site).

    When a laterality is not left or right the rule cannot be applied: a potential ``unknown`` result.
    """
    sites = site_ranges(paired) if paired else None

    def check(a: Tumor, b: Tumor) -> Outcome:
        if sites is not None and not (a.site_n in sites and b.site_n in sites):
            return None
        if a.lat not in SIDES or b.lat not in SIDES:
            return potential(unknown, UNKNOWN_SIDE) if unknown else None
        return final(MULTIPLE) if a.lat != b.lat else None
    return check


def more_than_years(years: int) -> Check:
    """Diagnosed more than ``years`` years apart (unknown interval: potential multiple)."""
    def check(a: Tumor, b: Tumor) -> Outcome:
        apart = years_apart(a, b, years)
        if apart == UNKNOWN:
            return potential(MULTIPLE, UNKNOWN_DATE)
        return final(MULTIPLE) if apart == APART else None
    return check


def _insitu_and_invasive(a: Tumor, b: Tumor) -> tuple[Tumor, Tumor] | None:
    """(in situ, invasive) when one tumor is /2 and the other /3."""
    if a.beh == "2" and b.beh == "3":
        return a, b
    if a.beh == "3" and b.beh == "2":
        return b, a
    return None


def _same_side(a: Tumor, b: Tumor) -> bool:
    return a.lat == b.lat and a.lat in SIDES


def invasive_after_insitu(more_than_60: bool, same_side: bool = False) -> Check:
    """Invasive tumor diagnosed after an in situ one: more than 60 days later (multiple) or within 60 days
    (single, the invasive). ``same_side``: only when both are on the same side of a paired organ."""
    def check(a: Tumor, b: Tumor) -> Outcome:
        pair = _insitu_and_invasive(a, b)
        if pair is None or (same_side and not _same_side(a, b)):
            return None
        insitu, invasive = pair
        order = later(invasive, insitu)
        if order in (-1, 0):
            return None
        apart = days_apart(a, b, 60)
        if more_than_60:
            if apart == UNKNOWN:
                return potential(MULTIPLE, UNKNOWN_DATE)
            return final(MULTIPLE) if apart == APART and order == 1 else None
        if apart == WITHIN:
            return final(SINGLE)
        return potential(SINGLE, UNKNOWN_DATE) if apart == UNKNOWN else None
    return check


def insitu_after_invasive(same_side: bool = False) -> Check:
    """In situ tumor diagnosed after an invasive one: single primary (the invasive)."""
    def check(a: Tumor, b: Tumor) -> Outcome:
        pair = _insitu_and_invasive(a, b)
        if pair is None or (same_side and not _same_side(a, b)):
            return None
        order = later(pair[0], pair[1])
        if order == 2:
            return potential(SINGLE, UNKNOWN_DATE)
        return final(SINGLE) if order == 1 else None
    return check


def histology_3_digits_differ(a: Tumor, b: Tumor) -> Outcome:
    """ICD-O-3 histology codes differ at the first, second or third digit."""
    return final(MULTIPLE) if a.hist[:3] != b.hist[:3] else None


def nos_vs_specific(nos: Iterable[str]) -> Check:
    """One tumor is an NOS histology and the other a more specific type of it (MP/H 2007 chart)."""
    listed = tuple(nos)

    def check(a: Tumor, b: Tumor) -> Outcome:
        return final(SINGLE) if nos_and_specific(a, b, listed) else None
    return check


def both_in(group: str, result: PrimaryResult, sites: str | None = None) -> Check:
    """Both histologies (or histology/behavior codes) in ``group`` (optionally both in ``sites``)."""
    members = codes(group)
    where = site_ranges(sites) if sites else None

    def check(a: Tumor, b: Tumor) -> Outcome:
        if where is not None and not (a.site_n in where and b.site_n in where):
            return None
        return final(result) if in_codes(a, members) and in_codes(b, members) else None
    return check


def one_in_each(first: str, second: str, result: PrimaryResult, sites: str | None = None) -> Check:
    """One histology in ``first`` and the other in ``second``."""
    x, y = codes(first), codes(second)
    where = site_ranges(sites) if sites else None

    def check(a: Tumor, b: Tumor) -> Outcome:
        if where is not None and not (a.site_n in where and b.site_n in where):
            return None
        return final(result) if a.hist != b.hist and one_each(a, b, x, y) else None
    return check


def within_60_days_single(a: Tumor, b: Tumor) -> Outcome:
    """Single primary when diagnosed within 60 days (potential when the dates cannot tell)."""
    apart = days_apart(a, b, 60)
    if apart == WITHIN:
        return final(SINGLE)
    return potential(SINGLE, UNKNOWN_DATE) if apart == UNKNOWN else None


def subtypes_differ(table_name: str) -> Check:
    """Two different column-3 subtypes/variants of the table: multiple primaries (timing irrelevant)."""
    table = histology_tables()[table_name]

    def check(a: Tumor, b: Tumor) -> Outcome:
        if a.hist != b.hist and table.is_subtype(a) and table.is_subtype(b):
            return final(MULTIPLE)
        return None
    return check


def rows_differ(table_name: str | None) -> Check:
    """Different rows of the table (see ``same_row`` for codes the table does not list)."""
    table = histology_tables()[table_name] if table_name else None

    def check(a: Tumor, b: Tumor) -> Outcome:
        return None if same_row(table, a, b) else final(MULTIPLE)
    return check


def same_row_single(table_name: str | None, within_60_days: bool, same_behavior: bool = False) -> Check:
    """Same row of the table: single primary (when ``within_60_days``: only synchronous tumors)."""
    table = histology_tables()[table_name] if table_name else None

    def check(a: Tumor, b: Tumor) -> Outcome:
        if not same_row(table, a, b) or (same_behavior and a.beh != b.beh):
            return None
        return within_60_days_single(a, b) if within_60_days else final(SINGLE)
    return check


def default_single(a: Tumor, b: Tumor) -> Outcome:
    """No earlier rule applied: single primary."""
    return final(SINGLE)
