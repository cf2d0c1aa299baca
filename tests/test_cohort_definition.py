"""The cohort definition: exact, canonical JSON round-trip over many generated definitions, and a clear error
naming the group and criterion for every kind of bad definition."""

from __future__ import annotations

import json
import random
from datetime import date
from typing import Any

import pytest

from registry.cohort_definition import KINDS, CohortDefinition, code_list, cohort_items
from registry.errors import InvalidDefinition, InvalidRequest


def _criterion(rng: random.Random, kind: str) -> dict[str, Any]:
    """A valid criterion of `kind` with random values (some fields left to their defaults)."""
    pick = lambda name, k=2: rng.sample(sorted(code_list(name)), k)  # noqa: E731
    if kind == "site":
        return {"kind": kind, "codes": rng.choice([["C500-C509"], ["C619"], ["C180-C189", "C199", "C209"]])}
    if kind == "histology":
        return {"kind": kind, "codes": rng.choice([["8500"], ["8000-8576"], ["8140", "8480-8490"]])}
    if kind == "site_recode":
        return {"kind": kind, "codes": pick("site_recode", 3)}
    if kind in ("behavior", "sex", "race", "vital_status"):
        name = {"behavior": "behaviorCodeIcdO3", "race": "race1", "vital_status": "vitalStatus"}.get(kind, kind)
        return {"kind": kind, "codes": pick(name, 1)}
    if kind == "grade":
        return {"kind": kind, "codes": ["9"], **({"item": rng.choice(["grade", "gradeClinical"])} if rng.random() < .5
                                                 else {})}
    if kind == "diagnosis_date":
        year = rng.randint(2000, 2022)
        return {"kind": kind, "from": f"{year}-01-01", **({"to": f"{year + 1}-06-30"} if rng.random() < .5 else {})}
    if kind == "age_at_diagnosis":
        low = rng.randint(0, 80)
        return {"kind": kind, "min": low, "max": rng.randint(low, 120)}
    if kind == "county":
        return {"kind": kind, "codes": pick("county", 2), "label": rng.choice(["", "South central"])}
    if kind in ("summary_stage", "derived_stage"):
        return {"kind": kind, "codes": ["2", "3"], "scheme": rng.choice(["2018", "2000", "any"])}
    if kind == "stage_group":
        return {"kind": kind, "codes": rng.sample(["in_situ", "localized", "regional", "distant"], 2)}
    if kind == "item":
        item = rng.choice(sorted(cohort_items()))
        if cohort_items()[item].value_type == "number":
            return {"kind": kind, "item": item, "min": rng.choice([4, 10.5]), "max": 20}
        return {"kind": kind, "item": item, "codes": pick(item, 1)}
    if kind == "treatment":
        return {"kind": kind, "modality": rng.choice(["surgery", "systemic", "radiation"]), "received": rng.random() < .5}
    if kind == "time_since_diagnosis":
        return {"kind": kind, "min_months": rng.randint(0, 12), "max_months": rng.randint(12, 60)}
    if kind == "recurrence":
        return {"kind": kind, "types": rng.choice([[], ["22", "62"]]), "within_months": rng.choice([None, 24])}
    if kind == "facility":
        return {"kind": kind, "codes": ["1000000001"]}
    return {"kind": kind}


def _definition(rng: random.Random) -> dict[str, Any]:
    groups = [{"name": f"group {g}", "exclude": rng.random() < .3,
               "criteria": [_criterion(rng, rng.choice(sorted(KINDS))) for _ in range(rng.randint(1, 3))]}
              for g in range(rng.randint(0, 5))]
    return {"version": 1, "name": f"cohort {rng.random():.4f}", "description": "généré", "groups": groups,
            **({"as_of": "2024-12-31"} if rng.random() < .5 else {})}


def test_every_generated_definition_round_trips_exactly_and_canonically() -> None:
    rng = random.Random(15)
    kinds_seen: set[str] = set()
    for _ in range(300):
        definition = CohortDefinition.from_json(_definition(rng))
        text = definition.to_json()
        again = CohortDefinition.from_json(text)
        assert again == definition
        assert again.to_json() == text                       # canonical: the same text every time
        assert json.loads(text) == json.loads(json.dumps(json.loads(text), sort_keys=True))
        kinds_seen |= {c.kind for g in definition.groups for c in g.criteria}
    assert kinds_seen == set(KINDS)


def test_defaults_are_written_out() -> None:
    definition = CohortDefinition.from_json({"groups": [{"name": "Surgery", "criteria": [
        {"kind": "treatment", "modality": "surgery"}, {"kind": "grade", "codes": ["3"]}]}]})
    written = json.loads(definition.to_json())
    assert written["version"] == 1 and written["as_of"] is None and written["description"] == ""
    assert written["groups"][0]["exclude"] is False
    assert written["groups"][0]["criteria"] == [{"kind": "treatment", "modality": "surgery", "received": True},
                                                {"kind": "grade", "codes": ["3"], "item": "any"}]


def test_ledger_key_ignores_names_labels_and_orders_but_not_what_is_selected() -> None:
    def group(*criteria: dict[str, Any], name: str = "A", exclude: bool = False) -> Any:
        return CohortDefinition.from_json({"groups": [{"name": name, "exclude": exclude,
                                                       "criteria": list(criteria)}]}).groups[0]

    one = group({"kind": "sex", "codes": ["2"]}, {"kind": "county", "codes": ["20173", "20015"], "label": "South"})
    two = group({"kind": "county", "codes": ["20015", "20173"], "label": "Wichita area"}, {"kind": "sex", "codes": ["2"]},
                name="B")
    assert one.ledger_key() == two.ledger_key()
    assert one.ledger_key() != group({"kind": "sex", "codes": ["2"]}).ledger_key()
    assert one.ledger_key() != group(*[{"kind": "sex", "codes": ["2"]}, {"kind": "county", "codes": ["20173", "20015"]}],
                                     exclude=True).ledger_key()
    timed = group({"kind": "time_since_diagnosis", "max_months": 12})
    assert timed.ledger_key(date(2024, 1, 1)) != timed.ledger_key(date(2025, 1, 1))
    assert one.ledger_key(date(2024, 1, 1)) == one.ledger_key(date(2025, 1, 1))


def _error(group: dict[str, Any], *, before: int = 0) -> str:
    padding = [{"name": "Breast", "criteria": [{"kind": "site", "codes": ["C500-C509"]}]}] * before
    with pytest.raises(InvalidDefinition) as caught:
        CohortDefinition.from_json({"groups": [*padding, group]})
    assert isinstance(caught.value, InvalidRequest)
    return str(caught.value)


def test_the_error_names_group_criterion_and_code() -> None:
    message = _error({"name": "HER2 positive", "criteria": [
        {"kind": "item", "item": "her2OverallSummary", "codes": ["7x"]}]}, before=1)
    assert message == 'group 2 "HER2 positive", criterion 1 (item her2OverallSummary): code "7x" is not in the code list'


@pytest.mark.parametrize(("criterion", "says"), [
    ({"kind": "colour"}, "unknown kind 'colour'"),
    ({"kind": "site", "codes": ["C500"], "colour": "red"}, "unknown field 'colour' (a site criterion has codes)"),
    ({"kind": "site", "codes": []}, "codes is empty"),
    ({"kind": "site"}, "codes is required"),
    ({"kind": "site", "codes": "C500"}, "codes is a list of codes"),
    ({"kind": "site", "codes": ["C999"]}, 'code "C999" is not in the code list'),
    ({"kind": "site", "codes": ["C50"]}, 'code "C50" is not an ICD-O-3 topography code'),
    ({"kind": "site", "codes": ["C509-C500"]}, 'range "C509-C500" runs backwards'),
    ({"kind": "histology", "codes": ["81400"]}, 'code "81400" is not an ICD-O-3 histology code'),
    ({"kind": "histology", "codes": ["7999"]}, 'code "7999" is not in the code list'),
    ({"kind": "site_recode", "codes": ["AB"]}, 'code "AB" is not in the code list'),
    ({"kind": "behavior", "codes": ["6"]}, 'code "6" is not in the code list'),
    ({"kind": "grade", "codes": ["A"], "item": "grade"}, 'code "A" is not in the code list'),
    ({"kind": "grade", "codes": ["1"], "item": "gradeAnything"}, "item 'gradeAnything' is not a grade item"),
    ({"kind": "sex", "codes": ["7"]}, 'code "7" is not in the code list'),
    ({"kind": "race", "codes": ["1"]}, 'code "1" is not in the code list'),
    ({"kind": "county", "codes": ["20999"]}, 'code "20999" is not in the code list'),
    ({"kind": "summary_stage", "codes": ["6"], "scheme": "2018"}, 'code "6" is not in the code list'),
    ({"kind": "summary_stage", "codes": ["1"], "scheme": "1977"}, "scheme '1977' is not one of 2018, 2000, any"),
    ({"kind": "derived_stage", "codes": ["5"], "scheme": "2018"}, 'code "5" is not in the code list'),
    ({"kind": "stage_group", "codes": ["early"]}, 'code "early" is not in the code list'),
    ({"kind": "vital_status", "codes": ["2"]}, 'code "2" is not in the code list'),
    ({"kind": "facility", "codes": ["10 0"]}, 'code "10 0" is not a reporting facility id'),
    ({"kind": "diagnosis_date"}, "give from, to or both"),
    ({"kind": "diagnosis_date", "from": "2020-02-30"}, "from: '2020-02-30' is not a date (YYYY-MM-DD)"),
    ({"kind": "diagnosis_date", "from": "2021-01-01", "to": "2020-12-31"}, "from 2021-01-01 is after to 2020-12-31"),
    ({"kind": "age_at_diagnosis", "min": 70, "max": 50}, "min 70 is greater than max 50"),
    ({"kind": "age_at_diagnosis", "min": -1}, "min -1 is below 0"),
    ({"kind": "age_at_diagnosis", "max": 121}, "max 121 is above 120"),
    ({"kind": "age_at_diagnosis", "min": "50"}, "min is a number, not '50'"),
    ({"kind": "age_at_diagnosis", "min": True}, "min is a number, not True"),
    ({"kind": "time_since_diagnosis", "min_months": -3}, "min_months -3 is below 0"),
    ({"kind": "time_since_diagnosis", "min_months": 24, "max_months": 12}, "min_months 24 is greater than max_months 12"),
    ({"kind": "recurrence", "types": ["99x"]}, 'code "99x" is not in the code list'),
    ({"kind": "recurrence", "within_months": -1}, "within_months -1 is below 0"),
    ({"kind": "treatment", "modality": "prayer"}, "modality 'prayer' is not one of surgery"),
    ({"kind": "treatment", "modality": "surgery", "received": "yes"}, "received is true or false"),
    ({"kind": "item", "item": "nameLast", "codes": ["X"]}, "unknown item 'nameLast'"),
    ({"kind": "item", "item": "physicianManaging", "codes": ["X"]}, "unknown item 'physicianManaging'"),
    ({"kind": "item", "item": "kras", "min": 1}, "kras is a coded item: select it by codes, not min/max"),
    ({"kind": "item", "item": "psaLabValue"}, "give codes or min/max"),
    ({"kind": "item", "item": "psaLabValue", "min": 20, "max": 10}, "min 20 is greater than max 10"),
    ({"kind": "item", "item": "psaLabValue", "codes": ["XXX.5"]}, 'code "XXX.5" is not in the code list'),
])
def test_each_bad_criterion_is_refused_naming_it(criterion: dict[str, Any], says: str) -> None:
    message = _error({"name": "Eligible", "criteria": [{"kind": "sex", "codes": ["2"]}, criterion]})
    assert message.startswith('group 1 "Eligible", criterion 2')
    assert says in message


@pytest.mark.parametrize(("definition", "says"), [
    ("{not json", "not JSON"),
    ([], "a cohort definition is a JSON object"),
    ({"version": 2}, "version 2 is not supported"),
    ({"colour": 1}, "unknown field 'colour'"),
    ({"as_of": "31/12/2024"}, "as_of: '31/12/2024' is not a date"),
    ({"groups": {}}, "groups: a list of groups"),
    ({"groups": [{"name": "Empty", "criteria": []}]}, 'group 1 "Empty": a group needs at least one criterion'),
    ({"groups": [{"name": "X", "exclude": "no", "criteria": [{"kind": "first_primary"}]}]},
     'group 1 "X": exclude is true or false'),
    ({"groups": [{"name": "X", "or": [], "criteria": [{"kind": "first_primary"}]}]}, "unknown field 'or'"),
    ({"groups": [{"name": "X", "criteria": ["site"]}]}, 'group 1 "X", criterion 1: a criterion is an object'),
])
def test_bad_definitions_are_refused(definition: Any, says: str) -> None:
    with pytest.raises(InvalidDefinition, match=None) as caught:
        CohortDefinition.from_json(definition if isinstance(definition, str) else definition)
    assert says in str(caught.value)


def test_number_items_take_their_special_codes_and_ranges() -> None:
    definition = CohortDefinition.from_json({"groups": [{"name": "PSA", "criteria": [
        {"kind": "item", "item": "psaLabValue", "min": 10.0}, {"kind": "item", "item": "psaLabValue", "codes": ["XXX.1"]}]}]})
    assert [c.min for c in definition.groups[0].criteria] == [10.0, None]


def test_every_cohort_item_has_a_code_list_and_unknown_codes_from_it() -> None:
    for item in cohort_items().values():
        assert item.value_type in ("code", "number")
        assert set(item.unknown) <= code_list(item.naaccr_id), item.naaccr_id
        assert item.value_type == "number" or len(code_list(item.naaccr_id)) >= 3
