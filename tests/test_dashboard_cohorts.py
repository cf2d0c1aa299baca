"""The cohort pages over a small linked store (Streamlit AppTest), for every role: the cohort builder (start
from a template, a saved, shared or uploaded definition; narrow and exclude; attrition table and funnel as
released; export in each format, limited data sets by request), the trial-candidate finder (released counts;
the identified list only for registrars, audited) and the administrators' export requests (approve with a
DUA reference, refuse with a reason, settings)."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.page_list import PAGE_LIST
from registry.access import APPROVE_EXPORT, COHORT_COUNT
from registry.audit import events
from registry.cohort_counts import cohort_attrition, cohort_count
from registry.cohort_definition import CohortDefinition
from registry.export_requests import export_settings, list_requests
from registry.operational_store import open_operational_store
from registry.principal import Principal
from registry.trial_templates import trial_template, trial_templates
from tests.cohort_store import build_cohort_store
from tests.dashboard_session import session_token

DASHBOARD = Path(__file__).resolve().parents[1] / "dashboard"
VIEWS = DASHBOARD / "views"
EXPORTED = ["histologicTypeIcdO3", "behaviorCodeIcdO3"]   # no quasi-identifier: k-anonymity keeps every row
FIRST = trial_templates()[0]
SAFE_HARBOR_LABEL = "De-identified (HIPAA Safe Harbor)"
BREAST = CohortDefinition.from_json({"name": "Breast", "groups": [
    {"name": "Breast", "criteria": [{"kind": "site", "codes": ["C500-C509"]}]}]})   # 39 tumors of the store


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_cohort_store(tmp_path_factory.mktemp("cohort-pages"))


@pytest.fixture
def db(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the store per test (accounts, ledgers, requests and audit start empty); $REGISTRY_DB."""
    shutil.copytree(built.parent, tmp_path / "store")
    path = tmp_path / "store" / built.name
    monkeypatch.setenv("REGISTRY_DB", str(path))
    return path


def page(name: str, role: str, *, user: str | None = None, grants: tuple[str, ...] = (), **params: str) -> AppTest:
    at = AppTest.from_file(str(VIEWS / f"{name}.py"), default_timeout=120)
    at.session_state["session_token"] = session_token(role, user, grants=grants)
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def button(at: AppTest, label: str) -> AppTest:
    return next(b for b in at.button if b.label == label).click().run()


def editor_prefix(at: AppTest, editor: str) -> str:
    """The editor's widget key prefix now (it changes when a definition is loaded)."""
    return f"{editor}-{at.session_state[f'{editor}:generation']}"


def shown_definition(at: AppTest, editor: str) -> CohortDefinition:
    return CohortDefinition.from_json(at.session_state[f"{editor}:definition"])


def numbers(column: pd.Series) -> pd.Series:
    return pd.to_numeric(column, errors="coerce")


def funnel(at: AppTest) -> list[dict[str, Any]]:
    return list(json.loads(at.get("plotly_chart")[0].proto.spec)["data"])


def test_the_pages_are_in_the_cohorts_section_for_their_actions() -> None:
    rows = {stem: (title, section, action) for stem, title, section, action in PAGE_LIST}
    assert rows["cohort_builder"] == ("Cohort builder", "Cohorts", COHORT_COUNT)
    assert rows["trial_candidates"] == ("Trial candidates", "Cohorts", COHORT_COUNT)
    assert rows["export_requests"] == ("Export requests", "Cohorts", APPROVE_EXPORT)


@pytest.mark.parametrize("role", ["registrar", "researcher", "administrator"])
def test_navigation_offers_each_role_its_cohort_pages(db: Path, role: str) -> None:
    at = AppTest.from_file(str(DASHBOARD / "app.py"), default_timeout=120)
    at.session_state["session_token"] = session_token(role)
    at.run()
    expected = {"cohort_builder": True, "trial_candidates": True, "export_requests": role == "administrator"}
    for stem, offered in expected.items():
        if offered:
            at.switch_page(f"views/{stem}.py").run()
            assert not at.exception
        else:
            with pytest.raises(ValueError, match="navigation page"):
                at.switch_page(f"views/{stem}.py")


@pytest.mark.parametrize(("name", "role", "message"), [
    ("export_requests", "registrar", "decided by administrators"),
    ("export_requests", "researcher", "decided by administrators")])
@pytest.mark.parametrize("grants", [(), ("lds",)])
def test_other_roles_opening_a_page_file_are_refused(db: Path, name: str, role: str, message: str,
                                                     grants: tuple[str, ...]) -> None:
    at = page(name, role, grants=grants)
    assert not at.exception and message in at.error[0].value
    assert not at.dataframe and not at.get("plotly_chart")


# ---- cohort builder ----------------------------------------------------------------------------------

def test_the_registrar_sees_the_attrition_of_the_first_template_as_computed(db: Path) -> None:
    at = page("cohort_builder", "registrar")
    assert not at.exception and not at.error
    assert shown_definition(at, "builder") == CohortDefinition.from_json(FIRST.definition)
    table = at.dataframe[0].value
    expected = cohort_attrition(Principal("registrar1", "registrar"), db,
                                CohortDefinition.from_json(FIRST.definition)).table
    assert list(table["label"]) == list(expected["label"])
    assert list(numbers(table["persons"])) == list(expected["persons"])
    assert list(numbers(table["tumors"])) == list(expected["tumors"])
    persons, tumors = funnel(at)
    assert persons["name"].startswith("Persons") and tumors["name"].startswith("Tumors")
    assert persons["x"] == [int(v) for v in expected["persons"]]


@pytest.mark.parametrize(("role", "grants"), [("researcher", ()), ("researcher", ("lds",)), ("administrator", ())])
def test_a_non_registrar_never_sees_a_small_count_in_table_or_funnel(db: Path, role: str,
                                                                     grants: tuple[str, ...]) -> None:
    at = page("cohort_builder", role, grants=grants)
    assert not at.exception
    assert ("Export" in [b.label for b in at.button]) == (role == "researcher")   # administrators export nothing
    table = at.dataframe[0].value
    for column in ("persons", "tumors"):
        values = numbers(table[column])
        assert not values.between(1, 15).any()
    withheld = table["persons"].astype(str) == "suppressed"
    assert withheld.any(), "the 90-tumor store leaves some HER2 steps small"
    persons, tumors = funnel(at)
    for trace in (persons, tumors):
        for value, text in zip(trace["x"], trace["text"], strict=True):
            assert (value is None and text == "withheld") or (value >= 16 or value == 0)
    assert [t == "withheld" for t in persons["text"]] == list(withheld)
    layout = json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]
    notes = layout.get("annotations", [])
    assert len(notes) == int(withheld.sum()) and all(n["text"].startswith("withheld") for n in notes)
    assert [n["y"] for n in notes] == [f"{s}. {label}" for s, label in zip(table["step"], table["label"], strict=True)
                                       if str(table.set_index("step").loc[s, "persons"]) == "suppressed"]


def test_a_template_is_loaded_narrowed_and_a_group_excluded(db: Path) -> None:
    at = page("cohort_builder", "registrar")
    at.selectbox(key="builder_start").set_value("template:egfr-nsclc")
    at = button(at, "Load")
    egfr = CohortDefinition.from_json(trial_template("egfr-nsclc").definition)
    assert shown_definition(at, "builder") == egfr
    assert "Loaded template" in at.success[0].value
    steps = len(at.dataframe[0].value)
    w = editor_prefix(at, "builder")
    at = at.button(key=f"{w}-add-group").click().run()
    w = editor_prefix(at, "builder")
    last = len(egfr.groups)
    at.multiselect(key=f"{w}-g{last}-c0-codes").set_value(["C341"])
    at.text_input(key=f"{w}-g{last}-name").input("Upper lobe").run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert len(table) == steps + 1 and table["label"].iloc[-1] == "Upper lobe"
    at.toggle(key=f"{w}-g{last}-exclude").set_value(True).run()
    assert at.dataframe[0].value["label"].iloc[-1] == "excluding: Upper lobe"
    narrowed = shown_definition(at, "builder")
    expected = cohort_attrition(Principal("registrar1", "registrar"), db, narrowed).table
    assert list(numbers(at.dataframe[0].value["tumors"])) == list(expected["tumors"])


def test_a_bad_definition_is_named_not_raised(db: Path) -> None:
    at = page("cohort_builder", "researcher")
    w = editor_prefix(at, "builder")
    at = at.button(key=f"{w}-add-group").click().run()     # a new group's site criterion has no codes yet
    assert not at.exception
    assert "codes is empty" in at.error[0].value and "criterion 1 (site)" in at.error[0].value
    assert not at.dataframe


def test_a_saved_definition_is_opened_by_its_owner_and_shared_by_id(db: Path) -> None:
    at = page("cohort_builder", "researcher", user="owner")
    w = editor_prefix(at, "builder")
    at.text_input(key=f"{w}-name").input("My HER2 cohort").run()
    at = button(at, "Save definition")
    assert not at.exception
    saved_id = int(at.success[0].value.split("definition ")[1].split(":")[0])
    at.selectbox(key="builder_start").set_value(f"saved:{saved_id}")
    at = button(at, "Load")
    assert shown_definition(at, "builder").name == "My HER2 cohort"
    other = page("cohort_builder", "registrar", user="colleague", definition=str(saved_id))
    assert not other.exception and f"Opened definition {saved_id}" in other.success[0].value
    assert shown_definition(other, "builder").name == "My HER2 cohort"
    [opened] = events(open_operational_store(db), action="cohort-definition-open", limit=1)
    assert opened.user == "colleague" and opened.detail["definition_id"] == saved_id


def test_the_definition_json_downloads_and_an_upload_loads(db: Path) -> None:
    at = page("cohort_builder", "researcher")
    assert "Download the definition (.json)" in [b.label for b in at.get("download_button")]
    assert json.loads(at.code[-1].value) == CohortDefinition.from_json(FIRST.definition).to_dict()
    at.download_button(key="builder_json").click().run()
    at.run()                                  # the next run of the page records nothing more
    [download] = events(open_operational_store(db), action="download")
    assert (download.user, download.detail) == ("researcher1", {
        "page": "cohort_builder", "document": "cohort-definition", "file": "cohort-definition.json",
        "format": "json", "rows": None})
    msi = trial_template("msi-high-colorectal")
    text = CohortDefinition.from_json(msi.definition).to_json().encode()
    at.file_uploader(key="builder_upload").upload("msi.json", text, "application/json").run()
    assert not at.exception
    assert shown_definition(at, "builder") == CohortDefinition.from_json(msi.definition)
    at.file_uploader(key="builder_upload").set_value(("bad.json", b'{"groups": [{"criteria": []}]}',
                                                      "application/json")).run()
    assert not at.exception and any("bad.json" in e.value and "at least one criterion" in e.value for e in at.error)


def _export(at: AppTest, file_format: str, kind: str | None = None) -> AppTest:
    """Upload the breast cohort's definition, choose variables, format and kind, and press Export."""
    at.file_uploader(key="builder_upload").upload("breast.json", BREAST.to_json().encode(), "application/json").run()
    at.multiselect(key="builder_variables").set_value(EXPORTED)
    at.selectbox(key="builder_format").set_value(file_format)
    if kind is not None:
        at.radio(key="builder_kind").set_value(kind)
    return button(at, "Export")


@pytest.mark.parametrize("file_format", ["csv", "parquet", "xlsx"])
def test_a_researcher_exports_a_deidentified_cohort_in_each_format(db: Path, file_format: str) -> None:
    at = page("cohort_builder", "researcher")
    assert at.radio(key="builder_kind").options == [SAFE_HARBOR_LABEL]     # no lds grant: Safe Harbor only
    at = _export(at, file_format)
    assert not at.exception and not at.error
    assert "Download the cohort (ZIP)" in [b.label for b in at.get("download_button")]
    _, content, rows = at.session_state["builder_export"]
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        names = set(archive.namelist())
        assert names == {f"cohort.{file_format}", "data_dictionary.csv", "manifest.json"}
        manifest = json.loads(archive.read("manifest.json"))
        data = archive.read(f"cohort.{file_format}")
    frame = {"csv": lambda b: pd.read_csv(io.BytesIO(b), dtype=str), "parquet": lambda b: pd.read_parquet(io.BytesIO(b)),
             "xlsx": lambda b: pd.read_excel(io.BytesIO(b), dtype=str)}[file_format](data)
    assert len(frame) == rows == manifest["rows"] > 0
    assert set(EXPORTED) <= set(frame.columns) and manifest["kind"] == "safe_harbor"
    assert manifest["definition"] == BREAST.to_dict() and rows == 39
    [exported] = events(open_operational_store(db), user="researcher1", action="cohort-export", limit=1)
    assert exported.detail["rows"] == rows
    at.download_button(key="builder_download").click().run()
    [download] = events(open_operational_store(db), action="download")
    assert download.detail == {"page": "cohort_builder", "document": "cohort-export", "file": "breast.zip",
                               "format": "zip", "rows": rows}


def test_a_limited_data_set_is_a_request_until_an_administrator_approves_it(db: Path) -> None:
    at = page("cohort_builder", "researcher", user="lds-researcher", grants=("lds",))
    assert at.radio(key="builder_kind").options[0] == SAFE_HARBOR_LABEL
    assert at.radio(key="builder_kind").options[1].startswith("Limited data set")
    at = _export(at, "csv", "limited_data_set")
    assert not at.exception and "waiting for an administrator" in at.info[0].value
    assert not at.get("download_button") or "Download the cohort (ZIP)" not in [b.label for b in at.get("download_button")]
    mine = at.dataframe[-1].value
    assert list(mine["status"]) == ["pending"] and list(mine["kind"]) == ["limited_data_set"]

    admin = page("export_requests", "administrator")
    pending = admin.dataframe[0].value
    assert list(pending["requester"]) == ["lds-researcher"] and list(pending["kind"]) == ["Limited data set"]
    assert pending["definition"].iloc[0] == "Breast"
    request_id = int(pending["id"].iloc[0])
    admin = button(admin, "Approve")                                        # no DUA reference
    assert "data use agreement" in admin.error[0].value
    admin.text_input(key=f"dua-{request_id}").input("DUA-2026-014")
    admin = button(admin, "Approve")
    assert not admin.exception and "approved under DUA-2026-014" in admin.success[0].value
    assert admin.dataframe[-1].value["status"].iloc[0] == "approved"

    at = button(at, "Export")                                               # the same export, now approved
    assert not at.exception and "Exported" in at.success[0].value
    _, content, _ = at.session_state["builder_export"]
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["kind"] == "limited_data_set" and manifest["request"]["dua_reference"] == "DUA-2026-014"


def test_an_administrator_refuses_a_request_with_a_reason_and_sets_the_limits(db: Path) -> None:
    page("cohort_builder", "researcher", user="asker", grants=("lds",))
    at = _export(page("cohort_builder", "researcher", user="asker", grants=("lds",)), "csv", "limited_data_set")
    [request] = list_requests(Principal("admin", "administrator"), open_operational_store(db))
    admin = page("export_requests", "administrator")
    admin = button(admin, "Refuse")
    assert "needs a reason" in admin.error[0].value
    admin.text_area(key=f"reason-{request.id}").input("No IRB approval on file")
    admin = button(admin, "Refuse")
    assert "refused" in admin.success[0].value and "No export request is waiting" in admin.info[0].value
    at.run()
    mine = at.dataframe[-1].value
    assert list(mine["status"]) == ["refused"] and list(mine["reason"]) == ["No IRB approval on file"]
    admin.number_input(key="setting_row_limit").set_value(10)
    admin.number_input(key="setting_k").set_value(15)
    admin = button(admin, "Save settings")
    assert not admin.exception and "more than 10 tumors" in admin.success[0].value
    settings = export_settings(open_operational_store(db))
    assert (settings.row_limit, settings.k) == (10, 15)
    big = _export(page("cohort_builder", "researcher", user="asker2"), "csv")   # over the new limit: a request
    assert "waiting for an administrator" in big.info[0].value


# ---- trial candidates ---------------------------------------------------------------------------------

@pytest.mark.parametrize("template", [t.template_id for t in trial_templates()])
def test_each_template_shows_what_it_mirrors_and_loads_into_the_editor(db: Path, template: str) -> None:
    at = page("trial_candidates", "researcher")
    at.selectbox(key="trial_template").set_value(template).run()
    chosen = trial_template(template)
    assert not at.exception
    assert any(chosen.mirrors in m.value for m in at.markdown)
    assert any(chosen.notes in c.value for c in at.caption)
    assert shown_definition(at, "trial") == CohortDefinition.from_json(chosen.definition)


@pytest.mark.parametrize(("role", "grants"), [("researcher", ()), ("researcher", ("lds",)), ("administrator", ())])
def test_non_registrars_see_released_counts_and_no_identities(db: Path, role: str, grants: tuple[str, ...]) -> None:
    at = page("trial_candidates", role, grants=grants)
    assert not at.exception
    assert [m.label for m in at.metric] == ["Candidate persons", "Candidate tumors"]
    for metric in at.metric:
        assert metric.value.startswith("fewer than") or int(metric.value.replace(",", "")) in (0, *range(16, 10**6))
    for table in at.dataframe:
        for column in ("persons", "tumors"):
            assert not numbers(table.value[column]).between(1, 15).any()
    assert "Show the identified candidates" not in [b.label for b in at.button]
    assert not any("Identified candidates" in s.value for s in at.subheader)
    assert not events(open_operational_store(db), action="trial-candidate-list")


def test_the_registrar_sees_counts_and_the_audited_identified_list(db: Path) -> None:
    at = page("trial_candidates", "registrar")
    at.selectbox(key="trial_template").set_value("egfr-nsclc").run()
    definition = CohortDefinition.from_json(trial_template("egfr-nsclc").definition)
    expected = cohort_count(Principal("registrar1", "registrar"), db, definition).counts
    assert [m.value for m in at.metric] == [f"{expected['persons']:,}", f"{expected['tumors']:,}"]
    by_facility = at.dataframe[1].value
    assert numbers(by_facility["tumors"]).sum() == expected["tumors"]
    at = button(at, "Show the identified candidates")
    shown = at.dataframe[-1].value
    assert len(shown) == expected["tumors"] and shown["name_last"].notna().all()
    assert shown["date_of_birth"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()      # a date, not a midnight time
    assert {"reporting_facility", "npi_physician_managing"} <= set(shown.columns)
    ops = open_operational_store(db)
    [listed] = events(ops, action="trial-candidate-list", limit=1)
    assert listed.detail == {"definition": definition.to_dict(), "rows": expected["tumors"]}
    at = button(at, "Prepare the list as CSV")
    assert "Download the candidates (CSV)" in [b.label for b in at.get("download_button")]
    _, content = at.session_state["trial_candidates_csv"]
    assert len(pd.read_csv(io.BytesIO(content))) == expected["tumors"]
    assert events(ops, action="trial-candidate-export", limit=1)[0].detail["rows"] == expected["tumors"]
    assert events(ops, action="download") == []        # prepared, not yet downloaded
    at.download_button(key="trial_download").click().run()
    [download] = events(ops, action="download")
    assert (download.user, download.detail) == ("registrar1", {
        "page": "trial_candidates", "document": "trial-candidates", "file": "trial-candidates.csv", "format": "csv",
        "rows": expected["tumors"]})


def test_a_group_added_to_the_template_narrows_the_counts_and_a_criterion_widens_them(db: Path) -> None:
    """EGFR's four candidates were diagnosed 2015, 2017, 2021 and 2023 at ages 64, 83, 34 and 53."""
    at = page("trial_candidates", "registrar")
    at.selectbox(key="trial_template").set_value("egfr-nsclc").run()
    registrar = Principal("registrar1", "registrar")
    assert at.metric[1].value == "4"
    g = len(trial_template("egfr-nsclc").definition["groups"])     # the new group's index
    for step in ("add-group", f"g{g}-c0-remove"):                   # a new group, without its site criterion
        at = at.button(key=f"{editor_prefix(at, 'trial')}-{step}").click().run()
    w = editor_prefix(at, "trial")
    at.selectbox(key=f"{w}-g{g}-kind").set_value("diagnosis_date")
    at = at.button(key=f"{w}-g{g}-add").click().run()
    w = editor_prefix(at, "trial")
    at.date_input(key=f"{w}-g{g}-c0-from").set_value("2018-01-01").run()
    assert not at.exception and not at.error
    assert at.metric[1].value == "2"
    at.selectbox(key=f"{w}-g{g}-kind").set_value("age_at_diagnosis")
    at = at.button(key=f"{w}-g{g}-add").click().run()                 # ... or aged 70 at most
    w = editor_prefix(at, "trial")
    at.number_input(key=f"{w}-g{g}-c1-max").set_value(70).run()
    assert not at.exception and not at.error
    expected = cohort_count(registrar, db, shown_definition(at, "trial")).counts["tumors"]
    assert at.metric[1].value == f"{expected:,}" == "3"


@pytest.mark.parametrize("role", ["registrar", "researcher"])
def test_the_cohort_pages_work_on_a_new_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, role: str) -> None:
    from registry.store_writes import ensure_store

    db = tmp_path / "new.duckdb"
    ensure_store(db)
    monkeypatch.setenv("REGISTRY_DB", str(db))
    builder = page("cohort_builder", role, user=f"new-{role}")
    assert not builder.exception and not builder.error
    assert set(numbers(builder.dataframe[0].value["tumors"]).fillna(0)) == {0}
    trial = page("trial_candidates", role, user=f"new-{role}")
    assert not trial.exception and not trial.error
    assert [m.value for m in trial.metric] == ["0", "0"]
