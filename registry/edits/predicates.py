"""The predicates of the coding edits: vectorised over a chunk of records, each returns which records fail.

A record frame (`EditFrame`) holds one text column per NAACCR item ('' when blank), as received for source
reports or as consolidated for registry tumors. A predicate takes the frame and its edit's definition and
returns a boolean array (True = the record fails), or that array with a per-record note (which rule of a
table it broke) for the message. Blank items pass every edit but the ones about blanks: a missing item is
the required-item edits' business, so one defect is reported once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd

from registry.edits.definitions import (
    EditDefinition,
    age_rules,
    code_lists,
    county_codes,
    in_ranges,
    morphology_behaviors,
    paired_sites,
    parse_ranges,
    site_histology_rules,
)

Result = np.ndarray | tuple[np.ndarray, np.ndarray]
FLAGS_RETIRED = 250                                    # NAACCR v25 retired the date flag items
FLAG_FOR_BLANK = frozenset({"10", "11", "12", "15"})   # NAACCR date flags: no information, not applicable, unknown, ...
MALE, FEMALE = "1", "2"
WIDTH = 10                     # characters of a value the edits look at (dates 8, postal codes 9)
DAYS = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def member(values: np.ndarray, codes: frozenset[str] | set[str] | set[int]) -> np.ndarray:
    """Which values are among the codes (hash look-up)."""
    return pd.Series(values, dtype=object, copy=False).isin(codes).to_numpy(dtype=bool)


def _ascii(values: np.ndarray, width: int) -> np.ndarray:
    """The first `width` characters of each value as an (n, width) array of byte codes (0 past the end)."""
    try:
        raw = values.astype(f"S{width}")
    except UnicodeEncodeError:
        raw = np.array([str(v).encode("ascii", "replace")[:width] for v in values], dtype=f"S{width}")
    return raw.view(np.uint8).reshape(len(values), width).astype(np.int16)


class EditFrame:
    """Text columns of a chunk of records, with the derived values several edits share computed once."""

    def __init__(self, frame: pd.DataFrame, today: date | None = None, *, nulls: bool = True) -> None:
        self.frame = frame
        self.nulls = nulls          # False when every column already holds '' for a blank
        self.size = len(frame)
        self.today = int((today or date.today()).strftime("%Y%m%d"))
        self._text: dict[str, np.ndarray] = {}
        self._dates: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
        self._numbers: dict[str, np.ndarray] = {}
        self._blanks: dict[str, np.ndarray] = {}
        self._lengths: dict[str, np.ndarray] = {}
        self._bytes: dict[str, np.ndarray] = {}

    def text(self, item: str) -> np.ndarray:
        """The item's values as str objects ('' when blank or not read)."""
        if item not in self._text:
            if item in self.frame.columns:
                column = self.frame[item].to_numpy(dtype=object)
                if self.nulls and pd.isna(column).any():
                    column = np.where(pd.isna(column), "", column)
                self._text[item] = column
            else:
                self._text[item] = np.full(self.size, "", dtype=object)
        return self._text[item]

    def blank(self, item: str) -> np.ndarray:
        if item not in self._blanks:
            self._blanks[item] = self.text(item) == ""
        return self._blanks[item]

    def codes(self, item: str) -> np.ndarray:
        """Byte codes of the first 10 characters of each value (0 past the end); no edit reads further."""
        if item not in self._bytes:
            self._bytes[item] = _ascii(self.text(item), WIDTH)
        return self._bytes[item]

    def length(self, item: str) -> np.ndarray:
        """Characters of each value, counted up to 10 (longer values count 10)."""
        if item not in self._lengths:
            self._lengths[item] = np.count_nonzero(self.codes(item), axis=1)
        return self._lengths[item]

    def _digits(self, item: str, width: int, skip: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(byte codes minus '0', length, every character a digit) of the item's first `width` characters
        after `skip`."""
        lengths = self.length(item) - skip
        codes = self.codes(item)[:, skip:width + skip] - 48
        used = np.arange(width)[None, :] < lengths[:, None]
        digits = np.all(((codes >= 0) & (codes <= 9)) | ~used, axis=1) & (lengths <= width) & (lengths > 0)
        return np.where(used, codes, 0), lengths, digits

    @staticmethod
    def _value(codes: np.ndarray, start: int, stop: int) -> np.ndarray:
        weights = 10 ** np.arange(stop - start - 1, -1, -1)
        return codes[:, start:stop] @ weights

    def number(self, item: str) -> np.ndarray:
        """The item as an integer (-1 when blank or not digits); topographies without their C (C509 -> 509)."""
        if item not in self._numbers:
            skip = 1 if item == "primarySite" else 0
            codes, lengths, digits = self._digits(item, 4, skip)
            if skip:
                digits &= (self.codes(item)[:, 0] == ord("C")) & (lengths == 3)
            value = codes @ (10 ** np.arange(3, -1, -1)) // (10 ** np.clip(4 - lengths, 0, 4))
            self._numbers[item] = np.where(digits, value, -1)
        return self._numbers[item]

    def date(self, item: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(year, month, day, valid) of a NAACCR date (YYYY, YYYYMM or YYYYMMDD; month and day 0 when not
        known); valid is False for a present value that is not a real date."""
        if item not in self._dates:
            codes, lengths, digits = self._digits(item, 8)
            shaped = digits & np.isin(lengths, [4, 6, 8])
            year, month, day = self._value(codes, 0, 4), self._value(codes, 4, 6), self._value(codes, 6, 8)
            month_ok = (lengths < 6) | ((month >= 1) & (month <= 12))
            leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
            limit = DAYS[np.clip(month, 0, 12)] - ((month == 2) & ~leap)
            day_ok = (lengths < 8) | ((day >= 1) & (day <= limit))
            valid = shaped & month_ok & day_ok & (year >= 1800)
            self._dates[item] = (np.where(valid, year, 0), np.where(valid, month, 0), np.where(valid, day, 0), valid)
        return self._dates[item]


def _after(frame: EditFrame, first: str, second: str) -> np.ndarray:
    """Both dates valid and `first` later than `second`, compared at the precision both have."""
    y1, m1, d1, v1 = frame.date(first)
    y2, m2, d2, v2 = frame.date(second)
    months = (m1 > 0) & (m2 > 0)
    days = months & (d1 > 0) & (d2 > 0)
    later = (y1 > y2) | ((y1 == y2) & months & ((m1 > m2) | ((m1 == m2) & days & (d1 > d2))))
    return v1 & v2 & later


def valid_code(frame: EditFrame, edit: EditDefinition) -> Result:
    values = frame.text(edit.parameter)
    return ~frame.blank(edit.parameter) & ~member(values, code_lists()[edit.parameter])


def race1_code(frame: EditFrame, edit: EditDefinition) -> Result:
    """Race 1 from the race code list, where 88 (no further race) is for Race 2-5 only."""
    return valid_code(frame, edit) | (frame.text("race1") == "88")


def morphology_code(frame: EditFrame, edit: EditDefinition) -> Result:
    values = frame.text("histologicTypeIcdO3")
    return ~frame.blank("histologicTypeIcdO3") & ~member(values, frozenset(morphology_behaviors()))


def county_code(frame: EditFrame, edit: EditDefinition) -> Result:
    """countyAtDx: 998/999, or a county of addrAtDxState when that is a US state (3 digits otherwise)."""
    county, state = frame.text("countyAtDx"), frame.text("addrAtDxState")
    known = member(county, {"998", "999"})
    digits = frame.number("countyAtDx") >= 0
    digits &= frame.length("countyAtDx") == 3
    us_state = member(state, {code[:2] for code in county_codes()})
    real = member(state.astype(object) + county.astype(object), county_codes())
    return ~frame.blank("countyAtDx") & ~known & (~digits | (us_state & ~real))


def postal_code(frame: EditFrame, edit: EditDefinition) -> Result:
    """5 or 9 digits (99999, 888888888 and 999999999 included); other countries' codes are letters too."""
    codes, lengths, digits = frame._digits("addrAtDxPostalCode", 9)
    us = digits & member(lengths, {5, 9})
    foreign = ~member(frame.text("addrAtDxCountry"), {"", "USA"})
    return ~frame.blank("addrAtDxPostalCode") & ~us & ~foreign


def valid_date(frame: EditFrame, edit: EditDefinition) -> Result:
    return ~frame.blank(edit.parameter) & ~frame.date(edit.parameter)[3]


def valid_dates(frame: EditFrame, edit: EditDefinition) -> Result:
    fails = np.zeros(frame.size, dtype=bool)
    for item in edit.items:
        fails |= ~frame.blank(item) & ~frame.date(item)[3]
    return fails


def _flag_disagrees(frame: EditFrame, item: str) -> np.ndarray:
    """A blank date without a flag for blanks, or a known date with a flag, in a NAACCR version that has date
    flags (before v25, which retired them: a blank date is then simply not known)."""
    version = frame.number("naaccrVersion")
    flagged = (version >= 0) & (version < FLAGS_RETIRED)
    flag = frame.text(f"{item}Flag")
    return flagged & ((frame.blank(item) & ~member(flag, FLAG_FOR_BLANK)) | (~frame.blank(item) & (flag != "")))


def date_flag(frame: EditFrame, edit: EditDefinition) -> Result:
    """A blank date needs its flag (10, 11, 12 or 15) and a known date none (NAACCR date flags, to v24)."""
    return _flag_disagrees(frame, edit.parameter)


def date_flags(frame: EditFrame, edit: EditDefinition) -> Result:
    fails = np.zeros(frame.size, dtype=bool)
    for item in edit.parameter.split(";"):
        fails |= _flag_disagrees(frame, item)
    return fails


def date_order(frame: EditFrame, edit: EditDefinition) -> Result:
    first, second = edit.parameter.split(";")
    return _after(frame, first, second)


def date_order_any(frame: EditFrame, edit: EditDefinition) -> Result:
    """Every other item's date on or after the parameter's date."""
    fails = np.zeros(frame.size, dtype=bool)
    for item in edit.items:
        if item != edit.parameter:
            fails |= _after(frame, edit.parameter, item)
    return fails


def date_order_any_before(frame: EditFrame, edit: EditDefinition) -> Result:
    """Every other item's date on or before the parameter's date."""
    fails = np.zeros(frame.size, dtype=bool)
    for item in edit.items:
        if item != edit.parameter:
            fails |= _after(frame, item, edit.parameter)
    return fails


def not_future(frame: EditFrame, edit: EditDefinition) -> Result:
    fails = np.zeros(frame.size, dtype=bool)
    for item in edit.items:
        year, month, day, valid = frame.date(item)
        fails |= valid & (year * 10000 + month * 100 + day > frame.today)
    return fails


def diagnosis_year(frame: EditFrame) -> np.ndarray:
    year, _, _, valid = frame.date("dateOfDiagnosis")
    return np.where(valid, year, -1)


def required(frame: EditFrame, edit: EditDefinition) -> Result:
    """The item is blank for a diagnosis year that requires it ('first-last', either end open). A blank date
    with a date flag is known to be unknown and is the date-flag edits' business; Summary Stage 2000 of
    2004-2015 may be derived (derivedSs2000, NPCR)."""
    item, _, years = edit.parameter.partition(":")
    first, _, last = years.partition("-")
    year = diagnosis_year(frame)
    applies = np.ones(frame.size, dtype=bool)
    if first:
        applies &= year >= int(first)
    if last:
        applies &= (year >= 0) & (year <= int(last))
    missing = frame.blank(item)
    if item.startswith("date"):
        missing &= frame.blank(f"{item}Flag")
    if item == "seerSummaryStage2000":
        missing &= ~((year >= 2004) & (year <= 2015) & ~frame.blank("derivedSs2000"))
    return applies & missing


def required_sex(frame: EditFrame, edit: EditDefinition) -> Result:
    return frame.blank("sex") & frame.blank("sexAssignedAtBirth")


def _behavior_malignant(frame: EditFrame) -> np.ndarray:
    return member(frame.text("behaviorCodeIcdO3"), {"2", "3"})


def site_type(frame: EditFrame, edit: EditDefinition) -> Result:
    """A site-specific morphology (malignant or in situ) coded with a topography outside its sites."""
    site, histology = frame.number("primarySite"), frame.number("histologicTypeIcdO3")
    considered = _behavior_malignant(frame) & member(frame.text("primarySite"), code_lists()["primarySite"])
    fails = np.zeros(frame.size, dtype=bool)
    note = np.full(frame.size, "", dtype=object)
    for rule in site_histology_rules():
        broken = considered & in_ranges(histology, rule.histologies) & ~in_ranges(site, rule.sites) & ~fails
        note[broken] = rule.name
        fails |= broken
    return fails, note


def behavior_histology(frame: EditFrame, edit: EditDefinition) -> Result:
    """The behavior is one ICD-O-3 gives the histology (histologies outside ICD-O-3 are another edit's)."""
    table = morphology_behaviors()
    histology, behavior = frame.number("histologicTypeIcdO3"), frame.number("behaviorCodeIcdO3")
    allowed = np.array(sorted(int(h) * 10 + int(b) for h, behaviors in table.items() for b in behaviors))
    known = member(frame.text("histologicTypeIcdO3"), frozenset(table)) & member(
        frame.text("behaviorCodeIcdO3"), {"0", "1", "2", "3"})
    return known & ~np.isin(histology * 10 + behavior, allowed)


def site_behavior(frame: EditFrame, edit: EditDefinition) -> Result:
    """In situ is not possible for an ill-defined or unknown primary site."""
    return (frame.text("behaviorCodeIcdO3") == "2") & in_ranges(frame.number("primarySite"),
                                                                 parse_ranges(edit.parameter))


def insitu_confirmation(frame: EditFrame, edit: EditDefinition) -> Result:
    return (frame.text("behaviorCodeIcdO3") == "2") & ~frame.blank("diagnosticConfirmation") & ~member(
        frame.text("diagnosticConfirmation"), {"1", "2", "3", "4"})


def heme_confirmation(frame: EditFrame, edit: EditDefinition) -> Result:
    histology = frame.number("histologicTypeIcdO3")
    return (frame.text("diagnosticConfirmation") == "3") & (histology >= 0) & ((histology < 9590) | (histology > 9993))


def age_code(frame: EditFrame, edit: EditDefinition) -> Result:
    """Age at diagnosis: three digits, 000-120, or 999 (unknown)."""
    age = frame.number("ageAtDiagnosis")
    return ~frame.blank("ageAtDiagnosis") & ((frame.length("ageAtDiagnosis") != 3) | (age < 0)
                                             | ((age > 120) & (age != 999)))


def age_dates(frame: EditFrame, edit: EditDefinition) -> Result:
    """A coded age at diagnosis is the completed years from birth to diagnosis; when a month or day is not
    known either side, one year less is possible too."""
    yb, mb, db, vb = frame.date("dateOfBirth")
    yd, md, dd, vd = frame.date("dateOfDiagnosis")
    age = frame.number("ageAtDiagnosis")
    years = yd - yb
    months = (mb > 0) & (md > 0)
    days = months & (db > 0) & (dd > 0)
    before = months & ((md < mb) | ((md == mb) & days & (dd < db)))
    known = months & ((md != mb) | days)
    exact = np.where(before, years - 1, years)
    fits = np.where(known, age == exact, (age == years) | (age == years - 1))
    return vb & vd & (age >= 0) & (age < 999) & (yb <= yd) & ~fits


def grade_year(frame: EditFrame, edit: EditDefinition) -> Result:
    """Grade (item 440) is for tumors diagnosed before 2018, Grade Clinical and Pathological from 2018."""
    year = diagnosis_year(frame)
    old = (year >= 0) & (year < 2018)
    new = year >= 2018
    return (new & ~frame.blank("grade")) | (old & ~(frame.blank("gradeClinical") & frame.blank("gradePathological")))


def sex_code(frame: EditFrame) -> np.ndarray:
    """Sex assigned at birth (v26) when reported, else Sex."""
    return np.where(frame.blank("sexAssignedAtBirth"), frame.text("sex"), frame.text("sexAssignedAtBirth"))


def sex_site(frame: EditFrame, edit: EditDefinition) -> Result:
    """Female genital organs (C51-C58) in a male, male genital organs (C60-C63) in a female."""
    site, sex = frame.number("primarySite"), sex_code(frame)
    female_site = (site >= 510) & (site <= 589)
    male_site = (site >= 600) & (site <= 639)
    return (female_site & (sex == MALE)) | (male_site & (sex == FEMALE))


def laterality_site(frame: EditFrame, edit: EditDefinition) -> Result:
    """Paired organs need a side (any code but 0); every other site takes 0 (not paired)."""
    site, laterality = frame.number("primarySite"), frame.text("laterality")
    coded = member(laterality, code_lists()["laterality"]) & member(frame.text("primarySite"),
                                                                    code_lists()["primarySite"])
    paired = in_ranges(site, paired_sites())
    fails = coded & ((paired & (laterality == "0")) | (~paired & (laterality != "0")))
    note = np.where(paired, "a paired organ needs a side", "not a paired organ: laterality 0").astype(object)
    return fails, note


def laterality_bilateral(frame: EditFrame, edit: EditDefinition) -> Result:
    site, histology = frame.number("primarySite"), frame.number("histologicTypeIcdO3")
    allowed = (site == 569) | ((site == 692) & (histology >= 9510) & (histology <= 9514)) | (
        (site == 649) & (histology == 8960))
    return (frame.text("laterality") == "4") & _behavior_malignant(frame) & ~allowed


def age_site_histology(frame: EditFrame, edit: EditDefinition) -> Result:
    age = frame.number("ageAtDiagnosis")
    site, histology = frame.number("primarySite"), frame.number("histologicTypeIcdO3")
    known = (age >= 0) & (age < 999)
    fails = np.zeros(frame.size, dtype=bool)
    note = np.full(frame.size, "", dtype=object)
    for rule in age_rules():
        broken = (known & in_ranges(histology, rule.histologies) & in_ranges(site, rule.sites)
                  & ((age < rule.min_age) | (age > rule.max_age)) & ~fails)
        note[broken] = rule.name
        fails |= broken
    return fails, note


def dco_confirmation(frame: EditFrame, edit: EditDefinition) -> Result:
    return (frame.text("typeOfReportingSource") == "7") & ~frame.blank("diagnosticConfirmation") & (
        frame.text("diagnosticConfirmation") != "9")


def dco_vital_status(frame: EditFrame, edit: EditDefinition) -> Result:
    return member(frame.text("typeOfReportingSource"), {"6", "7"}) & ~frame.blank("vitalStatus") & (
        frame.text("vitalStatus") != "0")


PREDICATES: dict[str, Callable[[EditFrame, EditDefinition], Result]] = {
    f.__name__: f for f in (
        valid_code, race1_code, morphology_code, county_code, postal_code, valid_date, valid_dates, date_flag,
        date_flags, date_order, date_order_any, date_order_any_before, not_future, required, required_sex,
        site_type, behavior_histology, site_behavior, insitu_confirmation, heme_confirmation, sex_site,
        laterality_site, laterality_bilateral, age_site_histology, dco_confirmation, dco_vital_status, age_code,
        age_dates, grade_year)}
RECORD_LEVEL = frozenset(PREDICATES)
INTER_RECORD = "inter_record"


def evaluate(frame: EditFrame, edit: EditDefinition) -> tuple[np.ndarray, np.ndarray | None]:
    """(fails, note) of one record-level edit over the frame (note None when the edit has none)."""
    result = PREDICATES[edit.predicate](frame, edit)
    if isinstance(result, tuple):
        return result[0].astype(bool), result[1]
    return np.asarray(result, dtype=bool), None
