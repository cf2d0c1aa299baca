"""Persons of the synthetic registry: a person's tumors are separate primaries by the SEER rules."""

from __future__ import annotations

import pandas as pd

from registry.multiple_primaries import PrimaryResult, TumorFacts, judge
from sample_data.config import SampleConfig
from sample_data.generator import generate
from sample_data.persons import separate_same_primaries


def test_no_person_has_two_tumors_the_rules_call_one_primary() -> None:
    registry = generate(SampleConfig(tumors=6_000, seed=11))
    tumors = registry.tumors
    shared = tumors[tumors["person_id"].duplicated(keep=False)]
    assert shared["person_id"].nunique() > 100   # the sample still has many patients with several primaries
    pairs = 0
    for _, group in shared.groupby("person_id"):
        facts = [TumorFacts(r.primarySite, r.histologicTypeIcdO3, r.behaviorCodeIcdO3, r.laterality,
                            r.diagnosis_date.date(), "D") for r in group.itertuples()]
        for i, a in enumerate(facts):
            for b in facts[i + 1:]:
                pairs += 1
                assert judge(a, b).result == PrimaryResult.MULTIPLE_PRIMARIES, (a, b, judge(a, b))
    assert pairs >= shared["person_id"].nunique()
    # every tumor's age agrees with its person's birth date (moved tumors took back their own)
    born = pd.DatetimeIndex(registry.persons.set_index("person_id").loc[tumors["person_id"], "birth_date"])
    dx = pd.DatetimeIndex(tumors["diagnosis_date"])
    before_birthday = (dx.month < born.month) | ((dx.month == born.month) & (dx.day < born.day))
    assert ((dx.year - born.year - before_birthday) == tumors["age"].to_numpy()).all()


def test_separate_same_primaries_moves_only_the_same_tumor() -> None:
    day = pd.to_datetime
    tumors = pd.DataFrame({
        "person_id": [1, 1, 2, 2, 3],
        "diagnosis_date": day(["2012-03-01", "2016-05-01", "2019-01-10", "2020-02-01", "2015-01-01"]),
        "birth_date": day(["1950-06-01"] * 2 + ["1960-01-01"] * 2 + ["1940-01-01"]),
        "own_birth_date": day(["1950-06-01", "1950-09-30", "1960-01-01", "1960-08-15", "1940-01-01"]),
        "age": [61, 65, 59, 60, 75],
    })
    coded = pd.DataFrame({
        "primarySite": ["C619", "C619", "C504", "C504", "C349"],
        "histologicTypeIcdO3": ["8140", "8140", "8500", "8500", "8140"],
        "behaviorCodeIcdO3": ["3", "3", "3", "3", "3"],
        "laterality": ["0", "0", "1", "2", "1"],
    })
    out = separate_same_primaries(tumors, coded)
    # the second prostate adenocarcinoma is the same primary: its own person, its own birth date and age
    assert out.loc[0, "person_id"] != out.loc[1, "person_id"]
    assert out.loc[1, "birth_date"] == pd.Timestamp("1950-09-30") and out.loc[1, "age"] == 65
    # right and left breast are two primaries: the same person
    assert out.loc[2, "person_id"] == out.loc[3, "person_id"]
    assert sorted(out["person_id"]) == [1, 2, 3, 4, 4] and "own_birth_date" not in out.columns
    assert list(out.index) == list(tumors.index)
