"""The cohort definition editor both cohort pages share: groups of criteria (OR inside a group, AND across
groups, a group may exclude), each criterion with the widget its kind needs, producing the definition's JSON
dict (`registry.cohort_definition`'s format). The dict lives in the session under the editor's key; loading
a template, a saved or an uploaded definition replaces it, and the widgets start again from it."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import streamlit as st

from registry.api import (
    GRADE_ITEMS,
    KINDS,
    MODALITIES,
    SCHEMES,
    SITE_GROUPS,
    STAGE_GROUPS,
    code_labels,
    code_list,
    cohort_code_labels,
    cohort_items,
    counties,
)

ANY = "any"
KIND_LABELS = {
    "site": "Primary site (ICD-O-3 topography)", "site_recode": "SEER site recode group",
    "histology": "Histology (ICD-O-3)", "behavior": "Behavior", "grade": "Grade",
    "diagnosis_date": "Diagnosis date", "age_at_diagnosis": "Age at diagnosis", "sex": "Sex", "race": "Race",
    "county": "County at diagnosis", "summary_stage": "Summary stage", "stage_group": "Stage group",
    "derived_stage": "Derived summary stage", "item": "Biomarker or other item", "treatment": "First-course treatment",
    "time_since_diagnosis": "Time since diagnosis", "recurrence": "Recurrence", "vital_status": "Vital status",
    "first_primary": "First primary only", "no_prior_cancer": "No prior cancer", "facility": "Reporting facility",
}
# The code list (and label list) of each kind that picks codes from one list.
CODE_ITEMS = {"behavior": "behaviorCodeIcdO3", "sex": "sex", "race": "race1", "vital_status": "vitalStatus"}
STAGE_ITEMS = {"2018": ("summaryStage2018",), "2000": ("seerSummaryStage2000",),
               ANY: ("summaryStage2018", "seerSummaryStage2000")}
MODALITY_LABELS = {"surgery": "Surgery of the primary site", "radiation": "Radiation", "chemotherapy": "Chemotherapy",
                   "hormone": "Hormone therapy", "immunotherapy": "Immunotherapy (BRM)",
                   "transplant_endocrine": "Transplant or endocrine", "systemic": "Any systemic therapy"}


def empty_definition(name: str = "") -> dict[str, Any]:
    """A definition with one group to fill in."""
    return {"version": 1, "name": name, "description": "", "as_of": None,
            "groups": [{"name": "Group 1", "exclude": False, "criteria": [new_criterion("site")]}]}


def new_criterion(kind: str) -> dict[str, Any]:
    """A criterion of `kind` with every field at its starting value (codes still to choose)."""
    out: dict[str, Any] = {"kind": kind}
    for name, default in KINDS[kind].items():
        if isinstance(default, list | tuple) or name in ("codes", "types"):
            out[name] = list(default) if isinstance(default, list | tuple) else []
        elif name == "item":
            out[name] = ANY if kind == "grade" else next(iter(cohort_items()))
        elif name == "scheme":
            out[name] = ANY
        elif name == "modality":
            out[name] = MODALITIES[0]
        elif name == "label":
            out[name] = ""
        elif name == "received":
            out[name] = True
        else:
            out[name] = default if isinstance(default, int | float | str | bool) else None
    return out


def _state(key: str) -> str:
    return f"{key}:definition"


def load_definition(key: str, definition: dict[str, Any]) -> None:
    """Put `definition` (its JSON dict) in the editor `key`; the widgets start again from it."""
    st.session_state[_state(key)] = copy.deepcopy(definition)
    st.session_state[f"{key}:generation"] = st.session_state.get(f"{key}:generation", 0) + 1


def current_definition(key: str) -> dict[str, Any] | None:
    """The editor's definition as last edited (None before one is loaded)."""
    found = st.session_state.get(_state(key))
    return copy.deepcopy(found) if found is not None else None


def _labels(item: str) -> dict[str, str]:
    return {**code_labels().get(item, {}), **cohort_code_labels().get(item, {})}


def _codes_widget(label: str, options: list[str], labels: dict[str, str], chosen: list[str], key: str, *,
                  free: bool = False) -> list[str]:
    """A multiselect over a code list (code and label shown); `free` also takes typed codes and ranges."""
    everything = list(dict.fromkeys([*options, *chosen]))
    picked = st.multiselect(label, everything, default=chosen, key=key, accept_new_options=free,
                            format_func=lambda c: f"{c} {labels[c]}" if labels.get(c) else c)
    return [str(c).strip().upper() if free else str(c) for c in picked]


def _number(label: str, value: Any, key: str) -> float | None:
    picked = st.number_input(label, value=value, key=key, step=1.0 if value is None or isinstance(value, float) else 1)
    if picked is None:
        return None
    return int(picked) if float(picked).is_integer() else float(picked)


def _date(label: str, value: str | None, key: str) -> str | None:
    picked = st.date_input(label, value=date.fromisoformat(value) if value else None, key=key,
                           min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))
    return picked.isoformat() if isinstance(picked, date) else None


def _county_labels() -> dict[str, str]:
    table = counties()
    return dict(zip(table["fips"], table["county_name"] + ", " + table["state_abbr"], strict=True))


def criterion_fields(criterion: dict[str, Any], key: str) -> dict[str, Any]:
    """The widgets of one criterion, by kind; returns the criterion as edited."""
    kind = str(criterion["kind"])
    out = {"kind": kind, **{name: criterion.get(name) for name in KINDS[kind]}}
    codes = [str(c) for c in criterion.get("codes") or []]
    columns = st.columns(2)
    if kind == "site":
        out["codes"] = _codes_widget("Topography codes or ranges (type e.g. C500-C509)",
                                     sorted(code_list("primarySite")), _labels("primarySite"), codes, f"{key}-codes",
                                     free=True)
    elif kind == "histology":
        out["codes"] = _codes_widget("Histology codes or ranges (type e.g. 8000-8576)", sorted(code_list("histology")),
                                     _labels("histologicTypeIcdO3"), codes, f"{key}-codes", free=True)
    elif kind == "site_recode":
        group_names = dict(zip(SITE_GROUPS["code"], SITE_GROUPS["name"], strict=True))
        out["codes"] = _codes_widget("SEER site recode groups", sorted(code_list("site_recode")), group_names, codes,
                                     f"{key}-codes")
    elif kind in CODE_ITEMS:
        out["codes"] = _codes_widget("Codes", sorted(code_list(CODE_ITEMS[kind])), _labels(CODE_ITEMS[kind]), codes,
                                     f"{key}-codes")
    elif kind == "grade":
        choices = [ANY, *GRADE_ITEMS]
        grade_item = str(columns[0].selectbox("Grade item", choices, key=f"{key}-item",
                                              index=choices.index(criterion.get("item") or ANY)))
        out["item"] = grade_item
        grade_items = tuple(GRADE_ITEMS) if grade_item == ANY else (grade_item,)
        options = sorted(set().union(*(code_list(n) for n in grade_items)))
        with columns[1]:
            out["codes"] = _codes_widget("Grade codes", options, _labels(grade_items[0]), codes, f"{key}-codes")
    elif kind in ("summary_stage", "derived_stage"):
        scheme = columns[0].selectbox("Scheme", list(SCHEMES), index=list(SCHEMES).index(criterion.get("scheme") or ANY),
                                      key=f"{key}-scheme")
        out["scheme"] = scheme
        stage_items = STAGE_ITEMS[str(scheme)]
        options = sorted(set().union(*(code_list(n) for n in stage_items)))
        with columns[1]:
            out["codes"] = _codes_widget("Stage codes", options, _labels(stage_items[0]), codes, f"{key}-codes")
    elif kind == "stage_group":
        out["codes"] = _codes_widget("Stage groups", list(STAGE_GROUPS), {}, codes, f"{key}-codes")
    elif kind == "county":
        with columns[0]:
            out["codes"] = _codes_widget("Counties (FIPS)", sorted(code_list("county")), _county_labels(), codes,
                                         f"{key}-codes")
        out["label"] = columns[1].text_input("Region name", value=criterion.get("label") or "", key=f"{key}-label")
    elif kind == "facility":
        out["codes"] = _codes_widget("Reporting facility ids (type them)", [], {}, codes, f"{key}-codes", free=True)
    elif kind == "diagnosis_date":
        with columns[0]:
            out["from"] = _date("From (inclusive)", criterion.get("from"), f"{key}-from")
        with columns[1]:
            out["to"] = _date("To (inclusive)", criterion.get("to"), f"{key}-to")
    elif kind == "age_at_diagnosis":
        with columns[0]:
            out["min"] = _number("Youngest age", criterion.get("min"), f"{key}-min")
        with columns[1]:
            out["max"] = _number("Oldest age", criterion.get("max"), f"{key}-max")
    elif kind == "time_since_diagnosis":
        with columns[0]:
            out["min_months"] = _number("At least (months)", criterion.get("min_months"), f"{key}-min")
        with columns[1]:
            out["max_months"] = _number("At most (months)", criterion.get("max_months"), f"{key}-max")
    elif kind == "item":
        catalogue = cohort_items()
        item_ids = list(catalogue)
        current = str(criterion.get("item")) if criterion.get("item") in catalogue else item_ids[0]
        item = str(columns[0].selectbox("Item", item_ids, index=item_ids.index(current), key=f"{key}-item",
                                        format_func=lambda n: f"{catalogue[n].label} ({n})"))
        out["item"] = item
        if item != current:
            codes = []
        with columns[1]:
            out["codes"] = _codes_widget("Codes", sorted(code_list(item)), _labels(item), codes, f"{key}-codes-{item}")
        if catalogue[item].value_type == "number":
            low, high = st.columns(2)
            with low:
                out["min"] = _number("At least", criterion.get("min"), f"{key}-min")
            with high:
                out["max"] = _number("At most", criterion.get("max"), f"{key}-max")
        else:
            out["min"] = out["max"] = None
    elif kind == "treatment":
        modalities = list(MODALITIES)
        out["modality"] = columns[0].selectbox("Modality", modalities,
                                               index=modalities.index(criterion.get("modality") or modalities[0]),
                                               format_func=MODALITY_LABELS.__getitem__, key=f"{key}-modality")
        received = columns[1].radio("Received", ["given", "not given"], horizontal=True, key=f"{key}-received",
                                    index=0 if criterion.get("received", True) else 1)
        out["received"] = received == "given"
    elif kind == "recurrence":
        with columns[0]:
            out["types"] = _codes_widget("Recurrence types (none chosen: any recurrence)",
                                         sorted(code_list("recurrenceType1st")), _labels("recurrenceType1st"),
                                         [str(c) for c in criterion.get("types") or []], f"{key}-types")
        with columns[1]:
            out["within_months"] = _number("Within (months of diagnosis)", criterion.get("within_months"),
                                           f"{key}-within")
    elif kind == "first_primary":
        st.caption("The person's first primary (sequence 00 or 01).")
    elif kind == "no_prior_cancer":
        st.caption("No other registry tumor of the person diagnosed earlier.")
    return out


def definition_editor(key: str) -> dict[str, Any]:
    """Edit the definition held under `key` (an empty one to start) and return it as edited: name,
    description, reference date, then each group with its criteria, add and remove buttons."""
    if current_definition(key) is None:
        load_definition(key, empty_definition())
    definition = current_definition(key) or empty_definition()
    w = f"{key}-{st.session_state.get(f'{key}:generation', 0)}"
    top = st.columns([2, 3, 1])
    edited: dict[str, Any] = {"version": definition.get("version", 1)}
    edited["name"] = top[0].text_input("Name", value=definition.get("name", ""), key=f"{w}-name")
    edited["description"] = top[1].text_input("Description", value=definition.get("description", ""),
                                              key=f"{w}-description")
    with top[2]:
        edited["as_of"] = _date("As of (time since diagnosis)", definition.get("as_of"), f"{w}-as-of")
    change: tuple[str, int, int | str] | None = None
    groups = []
    for g, group in enumerate(definition.get("groups", [])):
        gk = f"{w}-g{g}"
        with st.container(border=True):
            head = st.columns([4, 2, 1])
            name = head[0].text_input(f"Group {g + 1}", value=group.get("name", ""), key=f"{gk}-name")
            exclude = head[1].toggle("Exclude (NOT)", value=bool(group.get("exclude")), key=f"{gk}-exclude",
                                     help="An excluding group removes the tumors its criteria select.")
            if head[2].button("Remove group", key=f"{gk}-remove"):
                change = ("remove-group", g, 0)
            criteria = []
            for c, criterion in enumerate(group.get("criteria", [])):
                ck = f"{gk}-c{c}"
                row = st.columns([5, 1])
                row[0].markdown(f"{'or ' if c else ''}**{KIND_LABELS.get(criterion['kind'], criterion['kind'])}**")
                if row[1].button("Remove", key=f"{ck}-remove"):
                    change = ("remove-criterion", g, c)
                criteria.append(criterion_fields(criterion, ck))
            add = st.columns([4, 1])
            kind = add[0].selectbox("Criterion kind", list(KINDS), format_func=KIND_LABELS.__getitem__,
                                    key=f"{gk}-kind", label_visibility="collapsed")
            if add[1].button("Add criterion", key=f"{gk}-add"):
                change = ("add-criterion", g, kind)
        groups.append({"name": name, "exclude": exclude, "criteria": criteria})
    if st.button("Add group", key=f"{w}-add-group"):
        change = ("add-group", len(groups), 0)
    edited["groups"] = groups
    st.session_state[_state(key)] = copy.deepcopy(edited)
    if change is not None:
        what, g, detail = change
        if what == "remove-group":
            del groups[g]
        elif what == "remove-criterion":
            del groups[g]["criteria"][int(detail)]
        elif what == "add-criterion":
            groups[g]["criteria"].append(new_criterion(str(detail)))
        else:
            groups.append({"name": f"Group {g + 1}", "exclude": False, "criteria": [new_criterion("site")]})
        load_definition(key, edited)
        st.rerun()
    return edited
