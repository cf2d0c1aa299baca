"""Released cohort counts: registrars see every count; researchers never a count of 1-15, never an attrition
step 1-15 from the previous shown one, never two nested definitions' counts 1-15 apart (in either order);
administrators are released counts as researchers are. Saved definitions per user, opened by id (audited for others)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from registry.audit import events
from registry.cohort_counts import (
    OPENED_SHARED,
    cohort_attrition,
    cohort_count,
    cohort_counts_by,
    cohort_definitions,
    definition_by_id,
    save_cohort,
)
from registry.cohort_definition import CohortDefinition
from registry.cohort_query import attrition, counts_by
from registry.errors import InvalidDefinition, InvalidRequest
from registry.operational_store import open_operational_store
from registry.principal import Principal
from tests.cohort_store import build_cohort_store

REGISTRAR = Principal("reg", "registrar")
RESEARCHER = Principal("res", "researcher")
OTHER_RESEARCHER = Principal("res2", "researcher")
ADMINISTRATOR = Principal("adm", "administrator")
SMALL = range(1, 16)

WOMEN = {"name": "Women", "criteria": [{"kind": "sex", "codes": ["2"]}]}
INVASIVE = {"name": "Invasive", "criteria": [{"kind": "behavior", "codes": ["3"]}]}
BREAST = {"name": "Breast", "criteria": [{"kind": "site", "codes": ["C500-C509"]}]}
NOT_TREATED = {"name": "Surgery", "exclude": True, "criteria": [{"kind": "treatment", "modality": "surgery"}]}


def _definition(*groups: dict[str, Any], name: str = "test") -> CohortDefinition:
    return CohortDefinition.from_json({"name": name, "as_of": "2024-12-31", "groups": list(groups)})


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_cohort_store(tmp_path_factory.mktemp("counts"))


@pytest.fixture
def db(built: Path, tmp_path: Path) -> Path:
    """A copy of the store with an operational store (ledger, audit trail) of its own."""
    shutil.copytree(built.parent, tmp_path / "store", ignore=shutil.ignore_patterns("*.ops.sqlite*"))
    return tmp_path / "store" / built.name


def _shown(values: pd.Series) -> list[int]:
    return [int(v) for v in values if not pd.isna(v)]


def test_registrars_see_every_count(db: Path) -> None:
    definition = _definition(WOMEN, INVASIVE, BREAST, NOT_TREATED)
    raw = attrition(db, definition)
    released = cohort_attrition(REGISTRAR, db, definition).table
    assert released[["step", "label", "tumors", "persons"]].astype({"tumors": int, "persons": int}).equals(raw)
    assert not released["suppressed"].any()
    assert any(int(v) in SMALL for v in np.abs(np.diff(raw["tumors"]))), "the store must hold small differences"
    count = cohort_count(REGISTRAR, db, definition)
    assert count.counts == {"tumors": int(raw["tumors"].iloc[-1]), "persons": int(raw["persons"].iloc[-1])}
    assert cohort_counts_by(REGISTRAR, db, definition, by="reporting_facility").table["tumors"].tolist() == \
        counts_by(db, definition, "reporting_facility")["tumors"].tolist()


def test_researchers_see_no_small_count_and_no_small_step(db: Path) -> None:
    definition = _definition(WOMEN, INVASIVE, BREAST, NOT_TREATED)
    raw = attrition(db, definition)
    table = cohort_attrition(RESEARCHER, db, definition).table
    assert table["label"].tolist() == raw["label"].tolist()
    for column in ("tumors", "persons"):
        shown = _shown(table[column])
        assert not any(v in SMALL for v in shown)
        assert not any(abs(a - b) in SMALL for a, b in zip(shown, shown[1:], strict=False))
        assert shown == [int(raw.at[i, column]) for i in table.index if not pd.isna(table.at[i, column])]
    assert table["suppressed"].any() and not table["suppressed"].all()
    assert table.loc[table["suppressed"], "suppression_reason"].notna().all()


@pytest.mark.parametrize("order", ["narrow first", "wide first"])
def test_nested_definitions_cannot_be_subtracted_in_either_order(db: Path, order: str) -> None:
    wide, narrow = _definition(INVASIVE), _definition(INVASIVE, WOMEN, name="renamed")
    raw_wide, raw_narrow = attrition(db, wide), attrition(db, narrow)
    assert int(raw_wide["tumors"].iloc[-1] - raw_narrow["tumors"].iloc[-1]) in SMALL
    first, second = (narrow, wide) if order == "narrow first" else (wide, narrow)
    seen = cohort_count(RESEARCHER, db, first)
    assert seen.count("tumors") is not None
    again = cohort_count(RESEARCHER, db, second)
    assert again.count("tumors") is None
    assert bool(again.table["suppressed"].iloc[0])
    # The same groups under other names and in another order of criteria are the same cells: shown again.
    reordered = _definition({**INVASIVE, "name": "Malignant"}, name="again") if first is wide else \
        _definition({**INVASIVE, "name": "x"}, {**WOMEN, "name": "y"})
    assert cohort_count(RESEARCHER, db, reordered).count("tumors") == seen.count("tumors")
    # Another user has no earlier release: both are shown to them.
    assert cohort_count(OTHER_RESEARCHER, db, second).count("tumors") is not None


def test_an_attrition_step_is_screened_against_counts_seen_before(db: Path) -> None:
    narrow = _definition(INVASIVE, WOMEN)
    assert cohort_count(RESEARCHER, db, narrow).count("tumors") is not None
    table = cohort_attrition(RESEARCHER, db, _definition(INVASIVE)).table
    assert bool(table.at[1, "suppressed"]) and "differencing" in str(table.at[1, "suppression_reason"])


def test_counts_by_county_hide_small_cells_for_researchers(db: Path) -> None:
    definition = _definition(INVASIVE)
    raw = counts_by(db, definition, "reporting_facility")
    assert (raw["tumors"] >= 16).any()
    table = cohort_counts_by(RESEARCHER, db, definition, by="reporting_facility").table
    assert _shown(table["tumors"]) == [int(v) for v in raw.loc[~table["suppressed"], "tumors"]]
    small = cohort_counts_by(RESEARCHER, db, _definition(INVASIVE, BREAST), by="county_fips").table
    assert small["suppressed"].any() and not any(v in SMALL for v in _shown(small["persons"]))
    assert list(table.columns[:3]) == ["reporting_facility", "persons", "tumors"]
    for column in ("tumors", "persons"):
        assert not any(v in SMALL for v in _shown(table[column]))
    assert table.loc[table["suppressed"], ["tumors", "persons"]].isna().all().all()
    with pytest.raises(InvalidRequest):
        cohort_counts_by(RESEARCHER, db, definition, by="stage")


def test_administrators_see_counts_as_researchers_do(db: Path) -> None:
    definition = _definition(WOMEN, INVASIVE, BREAST, NOT_TREATED)
    table = cohort_attrition(ADMINISTRATOR, db, definition).table
    for column in ("tumors", "persons"):
        shown = _shown(table[column])
        assert shown and not any(v in SMALL for v in shown)
        assert not any(abs(a - b) in SMALL for a, b in zip(shown, shown[1:], strict=False))
    assert table["suppressed"].any()
    by_facility = cohort_counts_by(ADMINISTRATOR, db, _definition(INVASIVE), by="reporting_facility").table
    assert not any(v in SMALL for v in _shown(by_facility["tumors"]))
    assert cohort_count(ADMINISTRATOR, db, _definition(INVASIVE, BREAST, WOMEN)).count("tumors") not in SMALL


def test_saved_definitions_are_per_user_and_shared_by_id(db: Path) -> None:
    ops = open_operational_store(db)
    definition = _definition(WOMEN, BREAST, name="Breast, women")
    saved = save_cohort(RESEARCHER, ops, definition)
    assert [d.name for d in cohort_definitions(RESEARCHER, ops)] == ["Breast, women"]
    assert cohort_definitions(OTHER_RESEARCHER, ops) == []
    mine, body = definition_by_id(RESEARCHER, ops, saved.definition_id)
    assert body == definition and mine.owner == "res"
    assert events(ops, action=OPENED_SHARED) == []
    _, shared = definition_by_id(OTHER_RESEARCHER, ops, saved.definition_id)
    assert shared == definition
    [opened] = events(ops, action=OPENED_SHARED)
    assert opened.user == "res2" and opened.detail == {"definition_id": saved.definition_id, "owner": "res",
                                                       "name": "Breast, women"}
    definition_by_id(ADMINISTRATOR, ops, saved.definition_id)
    assert [e.user for e in events(ops, action=OPENED_SHARED)].count("adm") == 1
    with pytest.raises(InvalidRequest, match="no saved cohort definition 999"):
        definition_by_id(RESEARCHER, ops, 999)
    with pytest.raises(InvalidDefinition, match="needs a name"):
        save_cohort(RESEARCHER, ops, _definition(WOMEN, name=" "))


def _invasive_until(year: int) -> CohortDefinition:
    return _definition(INVASIVE, {"name": "Years", "criteria": [{"kind": "diagnosis_date", "from": "2014-01-01",
                                                                  "to": f"{year}-12-31"}]})


def test_a_changed_criterion_cannot_be_subtracted(db: Path) -> None:
    """Two definitions differing by a changed range (diagnosed to 2021 against to 2022), not an added group:
    the second count is withheld when it is 1-15 from the first, whichever order."""
    pairs = [(a, a + 1) for a in range(2016, 2023)]
    small = [(a, b) for a, b in pairs if int(attrition(db, _invasive_until(b))["tumors"].iloc[-1]
                                             - attrition(db, _invasive_until(a))["tumors"].iloc[-1]) in SMALL
             and int(attrition(db, _invasive_until(a))["tumors"].iloc[-1]) >= 16]
    assert small, "the store must hold two such ranges"
    first, second = small[0]
    assert cohort_count(RESEARCHER, db, _invasive_until(first)).count("tumors") is not None
    assert cohort_count(RESEARCHER, db, _invasive_until(second)).count("tumors") is None
    assert cohort_count(OTHER_RESEARCHER, db, _invasive_until(second)).count("tumors") is not None
    assert cohort_count(OTHER_RESEARCHER, db, _invasive_until(first)).count("tumors") is None


def test_a_facility_cell_and_a_facility_group_are_one_filter(db: Path) -> None:
    """A cell of the count by reporting facility, then the same cohort narrowed to that facility and to women:
    the difference (the men reported by that facility) is never shown as 1-15 (county cells work alike)."""
    raw = counts_by(db, _definition(INVASIVE), "reporting_facility")
    by_facility = cohort_counts_by(RESEARCHER, db, _definition(INVASIVE), by="reporting_facility").table
    shown = by_facility[~by_facility["suppressed"]]
    assert len(shown) >= 2, "two facility cells of 16 or more are shown"
    risky = []
    for facility in shown["reporting_facility"]:
        narrowed = _definition(INVASIVE, {"name": "Facility", "criteria": [{"kind": "facility", "codes": [facility]}]},
                               WOMEN)
        whole = int(raw.loc[raw["reporting_facility"] == facility, "persons"].iloc[0])
        women = int(attrition(db, narrowed)["persons"].iloc[-1])
        released = cohort_count(RESEARCHER, db, narrowed).count("persons")
        if whole - women in SMALL:
            risky.append(facility)
            assert released is None, facility
    assert risky, "the store must hold a facility with 1-15 men"
