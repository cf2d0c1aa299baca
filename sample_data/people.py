"""Synthetic identities: names, social security numbers, addresses, telephones and medical record numbers.

Every value is made up, and drawn so that linkage and deduplication have realistic work to do: common
names are common, some women carry a birth surname, a few men are JR or SR, and the defect primitives at
the end (``typo``, ``nickname``, ``transpose_date``, ``alternate_surname``) make the kinds of mistakes
real abstracts carry. All drawing is vectorized and driven by the caller's ``numpy.random.Generator``,
so the same generator state always gives the same people; a million people take a few seconds.

Reference tables (``sample_data/data/``), all approximate:

- ``first_names.csv``: about 220 male and 220 female first names with relative frequencies (per 10,000
  births of that sex) for four birth eras (before 1940, 1940-59, 1960-79, 1980 on); approximate, after
  the Social Security Administration's published baby-name rankings by decade.
- ``surnames.csv``: about 560 surnames with frequency per 100,000 people; the top 100 approximate the
  U.S. Census Bureau's 2010 surname table, later ranks are in approximately that table's order with
  frequencies smoothed by rank.
- ``middle_names.csv``: common middle names (the project's own judgement, no source).
- ``nicknames.csv``: common English nickname pairs (William -> Bill, Margaret -> Peggy, ...).
- ``streets.csv``, ``street_suffixes.csv``: common street names and USPS suffix abbreviations, weights
  by judgement; ``towns.csv``: generic town names found in many states.

Choices that keep the data harmless:

- Social security numbers use areas 900-999, which the Social Security Administration has never issued
  as SSNs (they are reserved, e.g. for individual taxpayer identification numbers); they are unique
  within one draw.
- Telephone numbers use the 555-0100 to 555-0199 exchange block, reserved for fictional use, after one
  real area code of the state.
- Cities are synthetic but plausible: each county gets a small set of towns derived deterministically
  from its name (the county's own name, as for a county seat, plus generic names from ``towns.csv``
  picked by a hash of the county name). They are not real places of that county.
- ZIP codes are 5 digits whose first three lie in the state's real 3-digit ZIP prefix ranges
  (``STATE_ZIP3``, from the USPS 3-digit prefix assignments, approximate); the last two digits are made
  up, so a ZIP may not exist.

Names and addresses are uppercase ASCII, as registries store them, and every value fits its NAACCR v25
item length.
"""

from __future__ import annotations

import unicodedata
import zlib
from collections.abc import Callable
from datetime import date
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

# Birth eras of the first-name table: column name and first birth year (the last era is open).
ERAS: tuple[tuple[str, int], ...] = (("era1930", -10_000), ("era1950", 1940), ("era1970", 1960), ("era1990", 1980))
MIDDLE_FORMS = (0.50, 0.35)          # share with a full middle name, with only an initial (rest: none)
BIRTH_SURNAME_SHARE = 0.45           # women with a recorded birth surname different from their last name
SUFFIX_SHARES = {"JR": 0.020, "SR": 0.005, "II": 0.002, "III": 0.005, "IV": 0.001}   # men only
DIRECTION_SHARE = 0.15               # "N OAK ST"
NUMBERED_STREET_SHARE = 0.12         # "2ND AVE"
UNIT_SHARE = 0.06                    # "... APT 4"
TOWN_SHARES = (0.55, 0.20, 0.15, 0.10)   # the county's own name first, then three generic towns
NAME_LENGTH = 40                     # NAACCR nameFirst/nameLast/nameMiddle/nameBirthSurname
SSN_AREAS = (900, 999)

# 3-digit ZIP prefix ranges per state (inclusive), after the USPS prefix assignments; approximate.
STATE_ZIP3: dict[str, tuple[tuple[int, int], ...]] = {
    "AL": ((350, 352), (354, 369)), "AK": ((995, 999),), "AZ": ((850, 853), (855, 857), (859, 860), (863, 865)),
    "AR": ((716, 729),), "CA": ((900, 908), (910, 928), (930, 961)), "CO": ((800, 816),),
    "CT": ((60, 69),), "DE": ((197, 199),), "DC": ((200, 200), (202, 205)),
    "FL": ((320, 339), (341, 342), (344, 344), (346, 347), (349, 349)), "GA": ((300, 319), (398, 399)),
    "HI": ((967, 968),), "ID": ((832, 838),), "IL": ((600, 620), (622, 629)), "IN": ((460, 479),),
    "IA": ((500, 516), (520, 528)), "KS": ((660, 662), (664, 679)), "KY": ((400, 418), (420, 427)),
    "LA": ((700, 701), (703, 708), (710, 714)), "ME": ((39, 49),), "MD": ((206, 212), (214, 219)),
    "MA": ((10, 27),), "MI": ((480, 499),), "MN": ((550, 551), (553, 567)), "MS": ((386, 397),),
    "MO": ((630, 631), (633, 641), (644, 658)), "MT": ((590, 599),), "NE": ((680, 681), (683, 693)),
    "NV": ((889, 891), (893, 895), (897, 898)), "NH": ((30, 38),), "NJ": ((70, 89),),
    "NM": ((870, 871), (873, 884)), "NY": ((100, 149),), "NC": ((270, 289),), "ND": ((580, 588),),
    "OH": ((430, 459),), "OK": ((730, 731), (734, 749)), "OR": ((970, 979),), "PA": ((150, 196),),
    "RI": ((28, 29),), "SC": ((290, 299),), "SD": ((570, 577),), "TN": ((370, 385),),
    "TX": ((750, 799), (885, 885)), "UT": ((840, 847),), "VT": ((50, 54), (56, 59)),
    "VA": ((201, 201), (220, 246)), "WA": ((980, 986), (988, 994)), "WV": ((247, 268),),
    "WI": ((530, 532), (534, 535), (537, 549)), "WY": ((820, 831),),
}
# One real area code per state (its largest city's or capital's); only the 555-01xx block is used with it.
AREA_CODES: dict[str, str] = {
    "AL": "205", "AK": "907", "AZ": "602", "AR": "501", "CA": "213", "CO": "303", "CT": "203", "DE": "302",
    "DC": "202", "FL": "305", "GA": "404", "HI": "808", "ID": "208", "IL": "312", "IN": "317", "IA": "515",
    "KS": "316", "KY": "502", "LA": "504", "ME": "207", "MD": "410", "MA": "617", "MI": "313", "MN": "612",
    "MS": "601", "MO": "314", "MT": "406", "NE": "402", "NV": "702", "NH": "603", "NJ": "201", "NM": "505",
    "NY": "212", "NC": "919", "ND": "701", "OH": "614", "OK": "405", "OR": "503", "PA": "215", "RI": "401",
    "SC": "803", "SD": "605", "TN": "615", "TX": "214", "UT": "801", "VT": "802", "VA": "804", "WA": "206",
    "WV": "304", "WI": "414", "WY": "307",
}
_COUNTY_WORDS = (" CITY AND BOROUGH", " CENSUS AREA", " PLANNING REGION", " MUNICIPALITY", " COUNTY",
                 " PARISH", " BOROUGH", " CITY")
_DIRECTIONS = np.array(["N ", "S ", "E ", "W "], dtype=object)


# ---------------------------------------------------------------------------------------------- tables

def _read(name: str, **kwargs: object) -> pd.DataFrame:
    with (resources.files("sample_data") / "data" / name).open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle, keep_default_na=False, **kwargs)  # type: ignore[call-overload]


@cache
def first_names() -> pd.DataFrame:
    """sex (1, 2), name and one relative-frequency column per birth era (``ERAS``)."""
    return _read("first_names.csv", dtype={"name": str})


@cache
def surnames() -> pd.DataFrame:
    """name and per100k, most common first."""
    return _read("surnames.csv", dtype={"name": str})


@cache
def middle_names() -> pd.DataFrame:
    return _read("middle_names.csv", dtype={"name": str})


@cache
def nicknames() -> dict[str, tuple[str, ...]]:
    """Formal first name -> its common nicknames."""
    table = _read("nicknames.csv", dtype=str)
    result: dict[str, list[str]] = {}
    for name, nick in zip(table["name"], table["nickname"], strict=True):
        result.setdefault(name, []).append(nick)
    return {name: tuple(values) for name, values in result.items()}


@cache
def _weighted(name: str, column: str, weight: str) -> tuple[np.ndarray, np.ndarray]:
    table = _read(name, dtype={column: str})
    return table[column].to_numpy(dtype=object), _cumulative(table[weight].to_numpy(float))


@cache
def towns() -> tuple[str, ...]:
    return tuple(_read("towns.csv", dtype=str)["name"])


def _cumulative(weights: np.ndarray) -> np.ndarray:
    cum = np.cumsum(weights, dtype=float)
    return cum / cum[-1]


def _pick(values: np.ndarray, cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    """values drawn by uniforms ``u`` with the cumulative probabilities ``cum``."""
    return values[np.minimum(np.searchsorted(cum, u, side="right"), len(values) - 1)]


def ascii_upper(text: str) -> str:
    """Uppercase ASCII letters, digits, spaces and hyphens only (accents dropped: DOÑA ANA -> DONA ANA)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").upper()
    kept = "".join(ch if ch.isalnum() or ch in " -" else " " if ch in "/_" else "" for ch in plain)
    return " ".join(kept.split())


def county_base_name(county_name: object) -> str:
    """County name without its county word: 'Sedgwick County' -> 'SEDGWICK', 'St. Louis city' -> 'ST LOUIS'."""
    if not isinstance(county_name, str):
        return ""
    name = ascii_upper(county_name)
    for word in _COUNTY_WORDS:
        if name.endswith(word) and len(name) > len(word):
            return name[: -len(word)]
    return name


def _hash(*parts: str) -> int:
    return zlib.crc32("|".join(parts).encode("ascii", "replace"))


def county_towns(county_name: object, state_abbr: str) -> tuple[str, ...]:
    """The synthetic towns of a county (deterministic): its own name first, then three generic towns."""
    base = county_base_name(county_name)
    generic = towns()
    chosen: list[str] = [base[:50]] if base else []
    k = 0
    while len(chosen) < len(TOWN_SHARES):
        town = generic[_hash(state_abbr, base, str(k)) % len(generic)]
        k += 1
        if town not in chosen:
            chosen.append(town)
    return tuple(chosen)


def zip3_prefixes(state_abbr: str) -> np.ndarray:
    """The state's 3-digit ZIP prefixes as integers."""
    if state_abbr not in STATE_ZIP3:
        raise ValueError(f"unknown state {state_abbr!r}")
    return np.concatenate([np.arange(lo, hi + 1) for lo, hi in STATE_ZIP3[state_abbr]])


# ------------------------------------------------------------------------------------------ draw_people

def _as_int(values: np.ndarray, default: int) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype.kind in "iu":
        return array.astype(np.int64)
    series = pd.to_numeric(pd.Series(array.astype(object)), errors="coerce")
    return series.fillna(default).to_numpy().astype(np.int64)


def _texts(numbers: np.ndarray, width: int = 0) -> np.ndarray:
    """Integers as (zero-padded) text in an object array, formatting each distinct value once."""
    unique, inverse = np.unique(numbers, return_inverse=True)
    return np.array([f"{int(v):0{width}d}" for v in unique], dtype=object)[inverse.reshape(numbers.shape)]


def _ordinal(number: int) -> str:
    ending = "TH" if 10 <= number % 100 <= 20 else {1: "ST", 2: "ND", 3: "RD"}.get(number % 10, "TH")
    return f"{number}{ending}"


def _ssns(n: int, rng: np.random.Generator) -> np.ndarray:
    """n distinct 9-digit numbers with area 900-999, group 01-99 and serial 0001-9999."""
    groups, serials = 99, 9999
    capacity = (SSN_AREAS[1] - SSN_AREAS[0] + 1) * groups * serials
    if n > capacity:
        raise ValueError(f"cannot draw {n} distinct synthetic SSNs (at most {capacity})")
    k = rng.choice(capacity, n, replace=False) if n else np.zeros(0, dtype=np.int64)
    area = SSN_AREAS[0] + k // (groups * serials)
    rest = k % (groups * serials)
    number = area * 1_000_000 + (1 + rest // serials) * 10_000 + (1 + rest % serials)
    return number.astype("U9").astype(object)


def draw_people(sex: np.ndarray, birth_year: np.ndarray, county_name: np.ndarray, state_abbr: str,
                rng: np.random.Generator) -> pd.DataFrame:
    """One synthetic identity per input row (see the module doc for what each column holds).

    ``sex`` uses NAACCR codes (1 male, 2 female; other codes get either table at random), ``birth_year``
    picks the first-name era, ``county_name`` (e.g. 'Sedgwick County') gives the town and ZIP.
    """
    if state_abbr not in STATE_ZIP3:
        raise ValueError(f"unknown state {state_abbr!r}")
    sex = _as_int(sex, 9)
    year = _as_int(birth_year, 1950)
    county = np.asarray(county_name, dtype=object)
    n = len(sex)
    if not len(year) == len(county) == n:
        raise ValueError("sex, birth_year and county_name must have the same length")

    # Which name table: 1 male, 2 female; other sex codes either.
    table_sex = np.where(np.isin(sex, (1, 2)), sex, np.where(rng.random(n) < 0.5, 1, 2))
    male = table_sex == 1

    # First names by sex and birth era.
    names = first_names()
    era = np.searchsorted(np.array([start for _, start in ERAS]), year, side="right") - 1
    u = rng.random(n)
    first = np.empty(n, dtype=object)
    for code in (1, 2):
        part = names[names["sex"] == code]
        values = part["name"].to_numpy(dtype=object)
        for index, (column, _) in enumerate(ERAS):
            mask = (table_sex == code) & (era == index)
            if mask.any():
                first[mask] = _pick(values, _cumulative(part[column].to_numpy(float)), u[mask])

    # Middle name: full, initial or none.
    middles = middle_names()
    middle = np.empty(n, dtype=object)
    middle_initial = np.empty(n, dtype=object)
    u = rng.random(n)
    for code in (1, 2):
        part = middles[middles["sex"] == code]
        mask = table_sex == code
        full = part["name"].to_numpy(dtype=object)
        index = np.minimum(np.searchsorted(_cumulative(part["weight"].to_numpy(float)), u[mask], side="right"),
                           len(full) - 1)
        middle[mask] = full[index]
        middle_initial[mask] = np.array([name[0] for name in full], dtype=object)[index]
    form = rng.random(n)
    initial = (form >= MIDDLE_FORMS[0]) | (middle == first)
    middle = np.where(form >= sum(MIDDLE_FORMS), "", np.where(initial, middle_initial, middle))

    # Last name, birth surname (women), suffix (men).
    surname_values = surnames()["name"].to_numpy(dtype=object)
    surname_cum = _cumulative(surnames()["per100k"].to_numpy(float))
    last_index = np.minimum(np.searchsorted(surname_cum, rng.random(n), side="right"), len(surname_values) - 1)
    birth_index = np.minimum(np.searchsorted(surname_cum, rng.random(n), side="right"), len(surname_values) - 1)
    birth_index = np.where(birth_index == last_index, (birth_index + 1) % len(surname_values), birth_index)
    has_birth = (table_sex == 2) & (rng.random(n) < BIRTH_SURNAME_SHARE)
    birth_surname = np.where(has_birth, surname_values[birth_index], "")
    suffix_values = np.array(["", *SUFFIX_SHARES], dtype=object)
    suffix_cum = _cumulative(np.array([1.0 - sum(SUFFIX_SHARES.values()), *SUFFIX_SHARES.values()]))
    suffix = np.where(male, _pick(suffix_values, suffix_cum, rng.random(n)), "")

    return pd.DataFrame({
        "nameFirst": first, "nameMiddle": middle, "nameLast": surname_values[last_index],
        "nameBirthSurname": birth_surname, "nameSuffix": suffix,
        "socialSecurityNumber": _ssns(n, rng),
        "addrAtDxNoStreet": _streets(n, rng),
        **_cities_and_zips(county, state_abbr, rng),
        "telephone": _telephones(n, state_abbr, rng),
    })


def _streets(n: int, rng: np.random.Generator) -> np.ndarray:
    """House number, optional direction, street name or ordinal, suffix and sometimes a unit."""
    number = _texts(np.floor(10 ** rng.uniform(0.5, 4.0, n)).astype(np.int64))
    direction = np.where(rng.random(n) < DIRECTION_SHARE, _DIRECTIONS[rng.integers(0, 4, n)], "")
    names, cum = _weighted("streets.csv", "name", "weight")
    name = _pick(names, cum, rng.random(n))
    ordinals = np.array([_ordinal(k) for k in range(1, 61)], dtype=object)
    numbered = rng.random(n) < NUMBERED_STREET_SHARE
    ordinal = ordinals[np.minimum(rng.geometric(0.15, n), 60) - 1]
    suffixes, suffix_cum = _weighted("street_suffixes.csv", "suffix", "weight")
    suffix = _pick(suffixes, suffix_cum, rng.random(n))
    units = np.array([f" APT {k}" for k in range(1, 41)], dtype=object)
    unit = np.where(rng.random(n) < UNIT_SHARE, units[rng.integers(0, 40, n)], "")
    return number + " " + direction + np.where(numbered, ordinal, name) + " " + suffix + unit


def _cities_and_zips(county: np.ndarray, state_abbr: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Town (see ``county_towns``) and a ZIP in the state's prefixes that depends on county and town."""
    n = len(county)
    keys = np.array([value if isinstance(value, str) else "" for value in county], dtype=object)
    codes, uniques = pd.factorize(keys)
    prefixes = zip3_prefixes(state_abbr)
    town_table = np.empty((len(uniques), len(TOWN_SHARES)), dtype=object)
    zip_table = np.empty((len(uniques), len(TOWN_SHARES)), dtype=np.int64)
    for row, name in enumerate(uniques):
        base = county_base_name(name)
        for col, town in enumerate(county_towns(name, state_abbr)):
            town_table[row, col] = town
            # A county mostly keeps one prefix; its other towns may sit in a neighbouring prefix.
            main = _hash(state_abbr, base) % len(prefixes)
            shift = 0 if col == 0 else (_hash(state_abbr, base, town) % 3) - 1
            prefix = int(prefixes[min(max(main + shift, 0), len(prefixes) - 1)])
            zip_table[row, col] = prefix * 100 + 1 + _hash(state_abbr, base, town, "zip") % 95
    town_index = np.minimum(np.searchsorted(_cumulative(np.array(TOWN_SHARES)), rng.random(n), side="right"),
                            len(TOWN_SHARES) - 1)
    zip5 = zip_table[codes, town_index] + rng.integers(0, 4, n)
    return {"addrAtDxCity": town_table[codes, town_index],
            "addrAtDxPostalCode": _texts(zip5, 5)}


def _telephones(n: int, state_abbr: str, rng: np.random.Generator) -> np.ndarray:
    lines = np.array([f"{AREA_CODES[state_abbr]}5550{100 + k}" for k in range(100)], dtype=object)
    return lines[rng.integers(0, 100, n)]


# ------------------------------------------------------------------------------- medical record numbers

def _mrn_formats() -> tuple[Callable[[int, int], str], ...]:
    return (
        lambda f, s: f"{s:08d}",                               # 8 digits
        lambda f, s: f"M{s:07d}",                              # M + 7 digits
        lambda f, s: f"{f % 100:02d}-{s:06d}",                 # facility-serial
        lambda f, s: f"MR{s + 100_000 * (f % 7):09d}",         # MR + 9 digits (11)
        lambda f, s: f"{s + 1000}",                            # unpadded
        lambda f, s: f"H{(f * 37) % 1000:03d}{s:07d}",         # H + 3 + 7 digits (11)
        lambda f, s: f"E{s:06d}{(s * 7 + f) % 10}",            # E + 6 digits + check digit
    )


MRN_LENGTH = 11


def medical_record_number(facility_index: np.ndarray, serial: np.ndarray) -> np.ndarray:
    """Medical record numbers in each facility's own format (formats differ by length and prefix).

    A facility's format is fixed by its index (negative indexes allowed); ``serial`` is the facility's
    running patient number, 0 to 9,999,999. At most ``MRN_LENGTH`` (11) characters.
    """
    facility = np.asarray(facility_index, dtype=np.int64)
    serial = np.asarray(serial, dtype=np.int64)
    if facility.shape != serial.shape:
        raise ValueError("facility_index and serial must have the same shape")
    if serial.size and (serial.min() < 0 or serial.max() > 9_999_999):
        raise ValueError("serial must lie in 0..9,999,999")
    formats = _mrn_formats()
    which = facility % len(formats)
    result = np.empty(facility.shape, dtype=object)
    for index, make in enumerate(formats):
        mask = which == index
        if mask.any():
            result[mask] = [make(int(f), int(s))[-MRN_LENGTH:] for f, s in
                            zip(facility[mask], serial[mask], strict=True)]
    return result


# --------------------------------------------------------------------------------------------- defects

_KEY_ROWS = ("QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM")
_OCR = {"O": "QD", "Q": "O", "D": "O", "I": "L", "L": "I", "E": "F", "F": "E", "C": "G", "G": "C",
        "U": "V", "V": "U", "M": "N", "N": "M"}


@cache
def keyboard_neighbours() -> dict[str, str]:
    """Letter -> letters a slip of the finger or an OCR confusion turns it into (QWERTY, uppercase)."""
    where = {ch: (r, i) for r, row in enumerate(_KEY_ROWS) for i, ch in enumerate(row)}
    result: dict[str, str] = {}
    for ch, (r, i) in where.items():
        near = [_KEY_ROWS[r][j] for j in (i - 1, i + 1) if 0 <= j < len(_KEY_ROWS[r])]
        for rr, offsets in ((r - 1, (0, 1)), (r + 1, (-1, 0))):
            if 0 <= rr < len(_KEY_ROWS):
                near += [_KEY_ROWS[rr][i + o] for o in offsets if 0 <= i + o < len(_KEY_ROWS[rr])]
        near += [c for c in _OCR.get(ch, "") if c not in near]
        result[ch] = "".join(near)
    return result


def _one_typo(text: str, kind: int, u1: float, u2: float) -> str:
    """One edit of ``text`` (kinds 0 substitute, 1 transpose, 2 drop, 3 double); '' when impossible."""
    letters = [i for i, ch in enumerate(text) if ch.isalpha()]
    if not letters:
        return text
    near = keyboard_neighbours()
    pairs = [i for i in range(len(text) - 1) if text[i].isalpha() and text[i + 1].isalpha()
             and text[i] != text[i + 1]]
    droppable = letters if len(text) > 1 else []
    kinds = [kind, 0, 3]   # fall back to a substitution, then a doubled letter
    for k in kinds:
        if k == 1 and pairs:
            i = pairs[int(u1 * len(pairs))]
            return text[:i] + text[i + 1] + text[i] + text[i + 2:]
        if k == 2 and droppable:
            i = droppable[int(u1 * len(droppable))]
            result = text[:i] + text[i + 1:]
            if result.strip(" -") == result and result:
                return result
        if k == 0:
            i = letters[int(u1 * len(letters))]
            options = near.get(text[i].upper(), "")
            if options:
                sub = options[int(u2 * len(options))]
                return text[:i] + (sub if text[i].isupper() else sub.lower()) + text[i + 1:]
        if k == 3:
            i = letters[int(u1 * len(letters))]
            return text[:i] + text[i] + text[i:]
    return text


def typo(values: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One keyboard/OCR typo per non-empty value: exactly one Damerau-Levenshtein edit.

    The edit is a neighbouring-key (or OCR look-alike) substitution, a transposition of two adjacent
    different letters, a dropped letter or a doubled letter, each about equally often. Values without a
    letter stay as they are. Returns ``(new_values, changed_mask)``.
    """
    values = np.asarray(values, dtype=object)
    n = len(values)
    kind, u1, u2 = rng.integers(0, 4, n), rng.random(n), rng.random(n)
    result = np.array([_one_typo(v, int(k), a, b) if isinstance(v, str) and v else v
                       for v, k, a, b in zip(values, kind, u1, u2, strict=True)], dtype=object)
    return result, _changed(values, result)


def _changed(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    return np.array([isinstance(a, str) and a != b for b, a in zip(before, after, strict=True)], dtype=bool)


def nickname(first_names: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A common nickname (ROBERT -> BOB or ROB) where one is known, else the name unchanged."""
    values = np.asarray(first_names, dtype=object)
    table = nicknames()
    u = rng.random(len(values))
    result = values.copy()
    changed = np.zeros(len(values), dtype=bool)
    for i, value in enumerate(values):
        options = table.get(value.strip().upper()) if isinstance(value, str) else None
        if options:
            result[i] = options[int(u[i] * len(options))]
            changed[i] = True
    return result, changed


def _valid_date(text: str) -> bool:
    if len(text) != 8 or not text.isdigit():
        return False
    try:
        date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return False
    return True


def _transpose(text: str, u: float) -> str:
    if _valid_date(text):
        swapped = text[:4] + text[6:] + text[4:6]
        if swapped != text and _valid_date(swapped):
            return swapped
    positions = [i for i in range(len(text) - 1) if text[i].isdigit() and text[i + 1].isdigit()
                 and text[i] != text[i + 1]]
    if not positions:
        return text
    swaps = {i: text[:i] + text[i + 1] + text[i] + text[i + 2:] for i in positions}
    late = [i for i in positions if i >= 2]   # keep the century: 19531225 -> 19351225, not 15931225
    late_valid = [i for i in late if _valid_date(swaps[i])]
    choose = late_valid or late or positions
    return swaps[choose[int(u * len(choose))]]


def transpose_date(yyyymmdd: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Day and month swapped when that gives another valid date, else two adjacent digits swapped.

    The digit swap keeps the century where it can and prefers a swap that still gives a valid date
    (19531225 -> 19351225); otherwise the result may be an invalid date (19220223 -> 19202223), as real
    transpositions are. '' stays ''; returns ``(new_values, changed_mask)``.
    """
    values = np.asarray(yyyymmdd, dtype=object)
    u = rng.random(len(values))
    result = np.array([_transpose(v, float(a)) if isinstance(v, str) and v else v
                       for v, a in zip(values, u, strict=True)], dtype=object)
    return result, _changed(values, result)


def alternate_surname(last: np.ndarray, birth_surname: np.ndarray,
                      rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The birth surname, or birth and last surname hyphenated (either order), where a birth surname is
    known and differs; else the last name unchanged. Hyphenated names longer than 40 fall back to the
    birth surname."""
    last = np.asarray(last, dtype=object)
    birth = np.asarray(birth_surname, dtype=object)
    n = len(last)
    kind = rng.random(n)
    result = last.copy()
    changed = np.zeros(n, dtype=bool)
    for i in range(n):
        b, name = birth[i], last[i]
        if not isinstance(b, str) or not b or b == name:
            continue
        if kind[i] < 0.5 or not isinstance(name, str) or not name:
            new = b
        else:
            new = f"{b}-{name}" if kind[i] < 0.75 else f"{name}-{b}"
            if len(new) > NAME_LENGTH:
                new = b
        result[i] = new
        changed[i] = True
    return result, changed


# Managing physicians per facility: a facility's oncologists, numbered 0..PHYSICIANS_PER_FACILITY-1.
PHYSICIANS_PER_FACILITY = 12


def _npi_check_digit(base: str) -> str:
    """The NPI check digit of a 9-digit base: Luhn over the base prefixed by 80840 (CMS NPI standard, 45 CFR 162.406)."""
    total = 0
    for position, char in enumerate(reversed("80840" + base)):
        digit = int(char)
        if position % 2 == 0:   # doubled: every second digit from the right, starting next to the check digit
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return str((10 - total % 10) % 10)


def managing_physician_npi(facility_index: np.ndarray, tumor_index: np.ndarray) -> np.ndarray:
    """The 10-digit NPI of the physician managing a tumor at a facility ('' for the death-certificate source).

    A tumor keeps one physician at a facility; which one is fixed by the indexes (no random draw, so adding
    the item leaves every other value of the sample unchanged).
    """
    facility = np.asarray(facility_index, dtype=np.int64)
    tumor = np.asarray(tumor_index, dtype=np.int64)
    physician = (tumor * 7919 + facility * 104729) % PHYSICIANS_PER_FACILITY
    pairs, inverse = np.unique(np.where(facility < 0, -1, facility * PHYSICIANS_PER_FACILITY + physician),
                               return_inverse=True)
    numbers = []
    for pair in pairs.tolist():
        base = f"1{pair // PHYSICIANS_PER_FACILITY % 10000:04d}{pair % PHYSICIANS_PER_FACILITY:04d}"
        numbers.append("" if pair < 0 else base + _npi_check_digit(base))
    return np.asarray(numbers, dtype=object)[inverse.reshape(facility.shape)]
