"""The shipped trial-candidate templates: each cites the kind of trial it mirrors and copies are independent."""

from __future__ import annotations

import pandas as pd
import pytest

from registry.cohort_definition import CohortDefinition
from registry.cohort_query import select_tumors
from registry.errors import InvalidRequest
from registry.trial_templates import trial_template, trial_templates
from tests.cohort_store import CohortStore, build_cohort_store, read_cohort_store


def test_templates_are_cited_and_unique() -> None:
    templates = trial_templates()
    ids = [t.template_id for t in templates]
    assert len(ids) == len(set(ids)) == 5
    for template in templates:
        assert template.title and template.notes
        assert "e.g." in template.mirrors and any(ch.isdigit() for ch in template.mirrors), template.mirrors
        assert template.definition["groups"], template.template_id
        assert template.definition["name"]


def test_copies_are_independent() -> None:
    first = trial_template("msi-high-colorectal")
    first.definition["groups"].clear()
    assert trial_template("msi-high-colorectal").definition["groups"]


def test_unknown_template_names_the_known_ones() -> None:
    with pytest.raises(InvalidRequest, match="no trial template 'nope'.*her2-breast-neoadjuvant"):
        trial_template("nope")


def test_every_template_is_a_valid_definition_that_round_trips() -> None:
    for template in trial_templates():
        definition = CohortDefinition.from_json(template.definition)
        assert CohortDefinition.from_json(definition.to_json()) == definition, template.template_id
        assert definition.name and len(definition.groups) >= 4


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> CohortStore:
    return read_cohort_store(build_cohort_store(tmp_path_factory.mktemp("templates")))


def _item(store: CohortStore, naaccr_id: str) -> pd.Series:
    rows = store.items[store.items["naaccr_id"] == naaccr_id]
    return store.tumors["tumor_id"].map(dict(zip(rows["tumor_id"], rows["value"], strict=True)))


def test_templates_select_what_their_criteria_say(store: CohortStore) -> None:
    """Two templates recounted with pandas: MSI-high metastatic colorectal (an item code), and prostate with
    Gleason 8-10 from either of two items (criteria OR-ed in a group)."""
    t = store.tumors
    stage = t["summary_stage_2018"].fillna(t["seer_summary_stage_2000"])
    alive = t["vital_status"] == "1"
    msi = (t["primary_site"].between("C180", "C189") | t["primary_site"].isin(["C199", "C209"])) \
        & (t["behavior"] == "3") & (_item(store, "microsatelliteInstability") == "2") & (stage == "7") & alive
    high = ["08", "09", "10"]
    gleason = (t["primary_site"] == "C619") & (t["behavior"] == "3") & alive & stage.isin(["1", "2", "3", "4", "5"]) \
        & (_item(store, "gleasonScoreClinical").isin(high) | _item(store, "gleasonScorePathological").isin(high))
    for template_id, expected in (("msi-high-colorectal", msi), ("prostate-gleason-8", gleason)):
        selected = select_tumors(store.db, CohortDefinition.from_json(trial_template(template_id).definition))
        assert sorted(selected["tumor_id"]) == sorted(t.loc[expected, "tumor_id"]), template_id
    assert gleason.sum() > 0 and msi.sum() > 0
