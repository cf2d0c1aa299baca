"""Tests of the synthetic identities (sample_data/people.py): shapes, determinism, ranges and defects."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from registry.naaccr import base_dictionary
from sample_data import people

COLUMNS = ["nameFirst", "nameMiddle", "nameLast", "nameBirthSurname", "nameSuffix", "socialSecurityNumber",
           "addrAtDxNoStreet", "addrAtDxCity", "addrAtDxPostalCode", "telephone"]
COUNTIES = np.array(["Sedgwick County", "Johnson County", "Doña Ana County", "St. Louis city",
                     "Orleans Parish", "Juneau City and Borough", None], dtype=object)


def draw(n: int, seed: int = 7, state: str = "KS") -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    setup = np.random.default_rng(seed + 1000)
    sex = setup.choice(np.array([1, 2, 2, 1, 9]), n)
    year = setup.integers(1915, 2010, n)
    county = COUNTIES[setup.integers(0, len(COUNTIES), n)]
    return people.draw_people(sex, year, county, state, np.random.default_rng(seed)), sex, year, county


def damerau_levenshtein(a: str, b: str) -> int:
    """Optimal string alignment distance (adjacent transpositions count as one edit)."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def test_shape_columns_and_plain_strings() -> None:
    frame, *_ = draw(5_000)
    assert list(frame.columns) == COLUMNS
    assert len(frame) == 5_000
    for column in COLUMNS:
        assert frame[column].map(lambda v: type(v) is str).all(), column
    assert (frame["nameFirst"] != "").all() and (frame["nameLast"] != "").all()


def test_empty_input() -> None:
    empty = np.array([], dtype=np.int64)
    frame = people.draw_people(empty, empty, np.array([], dtype=object), "KS", np.random.default_rng(1))
    assert list(frame.columns) == COLUMNS and frame.empty


def test_deterministic_given_generator() -> None:
    first, *_ = draw(3_000, seed=11)
    again, *_ = draw(3_000, seed=11)
    other, *_ = draw(3_000, seed=12)
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)


def test_values_fit_naaccr_v25_item_lengths_and_are_uppercase_ascii() -> None:
    frame, *_ = draw(20_000)
    items = base_dictionary("250").items
    for column in COLUMNS:
        assert frame[column].str.len().max() <= items[column].length, column
    for column in ("nameFirst", "nameMiddle", "nameLast", "nameBirthSurname", "nameSuffix", "addrAtDxNoStreet",
                   "addrAtDxCity"):
        assert frame[column].str.fullmatch(r"[A-Z0-9 \-]*").all(), column


def test_ssns_unique_nine_digits_in_never_issued_areas() -> None:
    frame, *_ = draw(50_000)
    ssn = frame["socialSecurityNumber"]
    assert ssn.is_unique
    assert ssn.str.fullmatch(r"9\d{8}").all()
    area = ssn.str[:3].astype(int)
    assert area.between(900, 999).all()
    assert (ssn.str[3:5] != "00").all() and (ssn.str[5:] != "0000").all()


def test_telephones_use_the_fictional_555_01xx_block() -> None:
    frame, *_ = draw(2_000)
    assert frame["telephone"].str.fullmatch(r"3165550 1\d\d".replace(" ", "")).all()


def test_names_follow_sex_and_era() -> None:
    frame, sex, year, _ = draw(30_000)
    table = people.first_names()
    male_names = set(table.loc[table["sex"] == 1, "name"])
    female_names = set(table.loc[table["sex"] == 2, "name"])
    assert frame.loc[sex == 1, "nameFirst"].isin(male_names).all()
    assert frame.loc[sex == 2, "nameFirst"].isin(female_names).all()
    assert frame.loc[sex == 2, "nameSuffix"].eq("").all()
    assert frame.loc[sex == 1, "nameBirthSurname"].eq("").all()
    assert frame.loc[sex == 1, "nameSuffix"].isin(["JR", "SR", "II", "III", "IV"]).mean() == pytest.approx(0.033, abs=0.01)
    women = frame[sex == 2]
    with_birth = women[women["nameBirthSurname"] != ""]
    assert 0.35 < len(with_birth) / len(women) < 0.55
    assert (with_birth["nameBirthSurname"] != with_birth["nameLast"]).all()
    old_women = frame.loc[(sex == 2) & (year < 1940), "nameFirst"]
    young_women = frame.loc[(sex == 2) & (year >= 1980), "nameFirst"]
    assert old_women.value_counts().index[0] == "MARY"
    assert (old_women == "JESSICA").sum() == 0 and (young_women == "JESSICA").sum() > 0
    middle = frame["nameMiddle"]
    assert 0.05 < (middle == "").mean() < 0.25
    assert 0.2 < (middle.str.len() == 1).mean() < 0.5
    assert (middle != frame["nameFirst"]).all()
    assert frame["nameLast"].value_counts().index[0] == "SMITH"


def test_cities_come_from_the_county_and_zips_are_in_state_prefixes() -> None:
    frame, _, _, county = draw(10_000)
    prefixes = {f"{p:03d}" for p in people.zip3_prefixes("KS")}
    assert frame["addrAtDxPostalCode"].str.fullmatch(r"\d{5}").all()
    assert frame["addrAtDxPostalCode"].str[:3].isin(prefixes).all()
    for name in COUNTIES:
        mask = np.array([c is name or c == name for c in county])
        towns = people.county_towns(name, "KS")
        assert len(set(towns)) == len(towns) == 4
        assert frame.loc[mask, "addrAtDxCity"].isin(towns).all()
        assert frame.loc[mask, "addrAtDxCity"].value_counts().index[0] == towns[0]
    assert people.county_towns("Sedgwick County", "KS")[0] == "SEDGWICK"
    assert people.county_towns("Doña Ana County", "NM")[0] == "DONA ANA"
    assert people.county_towns("St. Louis city", "MO")[0] == "ST LOUIS"
    assert people.county_towns("Juneau City and Borough", "AK")[0] == "JUNEAU"
    assert people.county_towns("Sedgwick County", "KS") == people.county_towns("Sedgwick County", "KS")
    assert frame["addrAtDxNoStreet"].str.fullmatch(r"\d{1,4} ([NSEW] )?[A-Z0-9 ]+ [A-Z]+( APT \d+)?").all()


def test_every_state_and_dc_has_zip_prefixes_and_an_area_code() -> None:
    assert len(people.STATE_ZIP3) == 51 and set(people.STATE_ZIP3) == set(people.AREA_CODES)
    seen: dict[int, str] = {}
    for state in people.STATE_ZIP3:
        prefixes = people.zip3_prefixes(state)
        for prefix in prefixes:
            assert prefix not in seen, f"{prefix:03d} in {state} and {seen.get(prefix)}"
            seen[prefix] = state
        frame = people.draw_people(np.array([1, 2] * 50), np.full(100, 1950),
                                   np.array(["Adams County", "Lake County"] * 50, dtype=object), state,
                                   np.random.default_rng(3))
        assert frame["addrAtDxPostalCode"].str[:3].astype(int).isin(prefixes).all(), state
        assert frame["telephone"].str.startswith(people.AREA_CODES[state]).all()
    assert people.zip3_prefixes("KS").min() == 660 and people.zip3_prefixes("MA").min() == 10
    with pytest.raises(ValueError, match="unknown state"):
        people.draw_people(np.array([1]), np.array([1950]), np.array(["X"], dtype=object), "ZZ",
                           np.random.default_rng(1))


def test_medical_record_numbers_differ_by_facility_and_fit() -> None:
    serial = np.arange(1, 2_001)
    facilities = np.arange(-1, 9)
    numbers = {int(f): people.medical_record_number(np.full(serial.size, f), serial) for f in facilities}
    for f, values in numbers.items():
        assert pd.Series(values).str.len().max() <= 11
        assert pd.Series(values).is_unique, f
        assert pd.Series(values).str.fullmatch(r"[A-Z0-9\-]+").all()
    shapes = {(len(v[0]), re.sub(r"\d", "9", v[0])) for v in numbers.values()}
    assert len(shapes) >= 6
    big = people.medical_record_number(np.arange(20), np.full(20, 9_999_999))
    assert max(len(v) for v in big) <= 11 <= base_dictionary("250").items["medicalRecordNumber"].length
    mixed = people.medical_record_number(np.array([3, 0, 3]), np.array([5, 5, 5]))
    assert mixed[0] == mixed[2] != mixed[1]
    with pytest.raises(ValueError):
        people.medical_record_number(np.array([0]), np.array([10_000_000]))


def test_typo_is_exactly_one_damerau_levenshtein_edit() -> None:
    frame, *_ = draw(3_000)
    values = np.concatenate([frame["nameLast"].to_numpy(dtype=object), frame["nameFirst"].to_numpy(dtype=object),
                             np.array(["", "O", "LEE", "DE LA CRUZ", "SMITH-JONES", "AA"], dtype=object)])
    new, changed = people.typo(values, np.random.default_rng(5))
    assert new.shape == values.shape and changed.dtype == bool
    for before, after, flag in zip(values, new, changed, strict=True):
        if before == "":
            assert after == "" and not flag
            continue
        assert flag and damerau_levenshtein(before, after) == 1, (before, after)
        assert after == after.strip(" -") and after
    again, _ = people.typo(values, np.random.default_rng(5))
    assert (again == new).all()
    kinds = {len(a) - len(b) for a, b in zip(new, values, strict=True)}
    assert kinds == {-1, 0, 1}


def test_nickname_only_where_known() -> None:
    names = np.array(["WILLIAM", "ROBERT", "ELIZABETH", "MARGARET", "ZEBEDEE", "", "JENNIFER", "ASHLEY"],
                     dtype=object)
    table = people.nicknames()
    assert len(sum((list(v) for v in table.values()), [])) >= 60
    assert {"BILL", "WILL"} <= set(table["WILLIAM"]) and "BOB" in table["ROBERT"]
    assert {"LIZ", "BETH"} <= set(table["ELIZABETH"]) and "PEGGY" in table["MARGARET"]
    new, changed = people.nickname(names, np.random.default_rng(2))
    for before, after, flag in zip(names, new, changed, strict=True):
        if before in table:
            assert flag and after in table[before]
        else:
            assert not flag and after == before
    draws = {people.nickname(np.array(["WILLIAM"] * 200, dtype=object), np.random.default_rng(s))[0][0]
             for s in range(40)}
    assert draws == set(table["WILLIAM"])


def test_transpose_date() -> None:
    values = np.array(["19530612", "19531225", "", "20010101", "19991231", "195306"], dtype=object)
    new, changed = people.transpose_date(values, np.random.default_rng(4))
    assert new[0] == "19531206"                      # day and month swapped
    assert new[2] == "" and not changed[2]
    assert new[3] != values[3] and changed[3]        # 01/01: day-month swap changes nothing, digits move
    for index in (1, 3, 4, 5):
        before, after = values[index], new[index]
        assert changed[index] and after != before and sorted(after) == sorted(before)
        diff = [i for i in range(len(before)) if before[i] != after[i]]
        assert len(diff) == 2 and diff[1] == diff[0] + 1, (before, after)
    assert new[1][:2] == "19" and new[1] != "19531225"
    dates = pd.Series(pd.date_range("1920-01-01", "2005-12-31", freq="7D").strftime("%Y%m%d"))
    moved, flags = people.transpose_date(dates.to_numpy(dtype=object), np.random.default_rng(1))
    assert flags.all()
    assert pd.Series(moved).str[:2].isin(["19", "20"]).all()
    assert pd.to_datetime(pd.Series(moved), format="%Y%m%d", errors="coerce").notna().mean() > 0.9


def test_alternate_surname() -> None:
    last = np.array(["SMITH", "JONES", "GARCIA", "LEE", "A" * 25], dtype=object)
    birth = np.array(["BROWN", "", "GARCIA", "KIM", "B" * 25], dtype=object)
    results = [people.alternate_surname(last, birth, np.random.default_rng(seed)) for seed in range(30)]
    seen = set()
    for new, changed in results:
        assert list(changed) == [True, False, False, True, True]
        assert new[1] == "JONES" and new[2] == "GARCIA"
        assert new[0] in {"BROWN", "BROWN-SMITH", "SMITH-BROWN"}
        assert new[4] == "B" * 25                     # hyphenated would exceed 40 characters
        seen.add(new[0])
    assert seen == {"BROWN", "BROWN-SMITH", "SMITH-BROWN"}


def _luhn_valid(npi: str) -> bool:
    """An NPI is valid when the Luhn sum of 80840 followed by its 10 digits is a multiple of 10."""
    total = 0
    for position, char in enumerate(reversed("80840" + npi)):
        digit = int(char) * (2 if position % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


def test_managing_physician_npis_are_valid_and_stable() -> None:
    facility = np.array([0, 0, 3, 3, 17, -1])
    tumor = np.array([5, 5, 5, 6, 123456, 5])
    npis = people.managing_physician_npi(facility, tumor)
    assert npis[-1] == ""
    assert all(len(n) == 10 and n.isdigit() and _luhn_valid(n) for n in npis[:-1])
    assert npis[0] == npis[1]                      # one physician per tumor at a facility
    assert npis[2][1:5] == "0003" and npis[4][1:5] == "0017"
    panel = set(people.managing_physician_npi(np.zeros(500, dtype=int), np.arange(500)))
    assert len(panel) == people.PHYSICIANS_PER_FACILITY
    assert _luhn_valid("1234567893") and not _luhn_valid("1234567890")   # the CMS example NPI
