"""The cohort definition editor both cohort pages share (Streamlit AppTest): a template loads into it, every
criterion kind can be added with its own widgets, groups are added, removed and made to exclude, and what it
produces is a definition `CohortDefinition.from_json` accepts."""

from __future__ import annotations

from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from registry.cohort_definition import KINDS, CohortDefinition
from registry.trial_templates import trial_template, trial_templates


def _editor_script(template_id: str | None = None) -> None:
    import json

    import streamlit as st

    from dashboard.cohort_editor import definition_editor, load_definition
    from registry.trial_templates import trial_template

    if template_id and "loaded" not in st.session_state:
        load_definition("t", trial_template(template_id).definition)
        st.session_state["loaded"] = True
    edited = definition_editor("t")
    st.code(json.dumps(edited, sort_keys=True), language="json")


def editor(template_id: str | None = None) -> AppTest:
    return AppTest.from_function(_editor_script, args=(template_id,), default_timeout=60).run()


def produced(at: AppTest) -> dict[str, Any]:
    import json

    return dict(json.loads(at.code[-1].value))


def click(at: AppTest, key: str) -> AppTest:
    return at.button(key=key).click().run()


def generation_key(at: AppTest) -> str:
    """The prefix of the editor's widget keys now (it changes when the definition is replaced)."""
    name = next(w.key for w in at.text_input if str(w.key).endswith("-name") and "-g" not in str(w.key))
    return str(name).removesuffix("-name")


@pytest.mark.parametrize("template", [t.template_id for t in trial_templates()])
def test_a_template_loads_and_comes_back_unchanged(template: str) -> None:
    at = editor(template)
    assert not at.exception
    expected = CohortDefinition.from_json(trial_template(template).definition)
    assert CohortDefinition.from_json(produced(at)) == expected
    assert at.text_input(key=f"{generation_key(at)}-name").value == expected.name


def test_an_empty_editor_starts_with_one_group() -> None:
    at = editor()
    assert not at.exception
    assert [g["name"] for g in produced(at)["groups"]] == ["Group 1"]


def test_groups_are_added_removed_and_excluded() -> None:
    at = editor("her2-breast-neoadjuvant")
    groups = len(produced(at)["groups"])
    w = generation_key(at)
    at = click(at, f"{w}-add-group")
    assert len(produced(at)["groups"]) == groups + 1
    w = generation_key(at)
    at = click(at, f"{w}-g0-remove")
    after = produced(at)["groups"]
    assert len(after) == groups and after[0]["name"] == "Invasive"
    w = generation_key(at)
    at.toggle(key=f"{w}-g0-exclude").set_value(True)
    at.multiselect(key=f"{w}-g{groups - 1}-c0-codes").set_value(["C619"]).run()
    assert produced(at)["groups"][0]["exclude"] is True
    definition = CohortDefinition.from_json(produced(at))
    assert definition.groups[0].exclude and definition.groups[-1].criteria[0].codes == ("C619",)


# What to set on a new criterion of each kind (widget suffix -> value) for it to be a valid criterion.
FILL: dict[str, dict[str, Any]] = {
    "site": {"codes": ["C500-C509"]}, "site_recode": {"codes": ["39"]}, "histology": {"codes": ["8000-8576"]},
    "behavior": {"codes": ["3"]}, "grade": {"codes": ["3"]}, "sex": {"codes": ["2"]}, "race": {"codes": ["01"]},
    "county": {"codes": ["20173"], "label": "Wichita"}, "summary_stage": {"codes": ["2"]},
    "stage_group": {"codes": ["regional"]}, "derived_stage": {"codes": ["7"]}, "vital_status": {"codes": ["1"]},
    "facility": {"codes": ["1000000001"]}, "item": {}, "treatment": {"received": "not given"},
    "recurrence": {"types": ["10"], "within": 24}, "age_at_diagnosis": {"min": 18, "max": 75},
    "time_since_diagnosis": {"max": 12}, "first_primary": {}, "no_prior_cancer": {}, "diagnosis_date": {},
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_of_criterion_can_be_added_and_filled(kind: str) -> None:
    at = editor()
    w = generation_key(at)
    at.selectbox(key=f"{w}-g0-kind").set_value(kind)
    at = click(at, f"{w}-g0-add")
    w = generation_key(at)
    assert produced(at)["groups"][0]["criteria"][1]["kind"] == kind
    prefix = f"{w}-g0-c1"
    for field, value in FILL[kind].items():
        if field in ("codes", "types"):
            at.multiselect(key=f"{prefix}-{field}").set_value(value)
        elif field == "label":
            at.text_input(key=f"{prefix}-label").input(value)
        elif field == "received":
            at.radio(key=f"{prefix}-received").set_value(value)
        else:
            at.number_input(key=f"{prefix}-{field}").set_value(value)
    if kind == "diagnosis_date":
        at.date_input(key=f"{prefix}-from").set_value("2019-01-01")
    if kind == "item":   # the first cohort item is ER; HER2 positive instead
        at.selectbox(key=f"{prefix}-item").set_value("her2OverallSummary").run()
        at.multiselect(key=f"{prefix}-codes-her2OverallSummary").set_value(["1"])
    at.multiselect(key=f"{w}-g0-c0-codes").set_value(["C509"])
    at.run()
    assert not at.exception
    definition = CohortDefinition.from_json(produced(at))
    added = definition.groups[0].criteria[1]
    assert added.kind == kind
    if kind == "treatment":
        assert added.modality == "surgery" and added.received is False
    if kind == "item":
        assert (added.item, added.codes) == ("her2OverallSummary", ("1",))
    if kind == "age_at_diagnosis":
        assert (added.min, added.max) == (18, 75)
    if kind == "diagnosis_date":
        assert added.from_date == "2019-01-01"
    if "codes" in FILL[kind]:
        assert list(added.codes) == FILL[kind]["codes"]


def test_a_criterion_is_removed() -> None:
    at = editor("egfr-nsclc")
    before = produced(at)["groups"][0]["criteria"]
    w = generation_key(at)
    if len(before) < 2:
        at.selectbox(key=f"{w}-g0-kind").set_value("histology")
        at = click(at, f"{w}-g0-add")
        w = generation_key(at)
        before = produced(at)["groups"][0]["criteria"]
    at = click(at, f"{w}-g0-c0-remove")
    assert produced(at)["groups"][0]["criteria"] == before[1:]
