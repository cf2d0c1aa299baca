"""The discrepancy worklist page over the two hospitals' store with edit failures (Streamlit AppTest): who
gets it, counts and filters, an item opened from the address, each transition, a correction and the
facility's documents, all recorded and audited."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.page_list import PAGE_LIST
from registry.api import WORKLIST
from registry.audit import events
from registry.corrections import corrections_of
from registry.operational_store import open_operational_store
from registry.worklist import list_items, sync_worklist, work_item
from tests.dashboard_session import session_token
from tests.test_worklist import PAYER, REGISTRAR, SITE_MORPH, add_failures, linked

__all__ = ["linked"]
DASHBOARD = Path(__file__).resolve().parents[1] / "dashboard"
PAGE = DASHBOARD / "views" / "worklist.py"


@pytest.fixture
def db(linked: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the two hospitals' store with Thomas's reports failing two edits, synced; as $REGISTRY_DB."""
    shutil.copytree(linked.parent, tmp_path / "store")
    db = tmp_path / "store" / linked.name
    monkeypatch.setenv("REGISTRY_DB", str(db))
    add_failures(db, [SITE_MORPH, PAYER])
    sync_worklist(db, open_operational_store(db))
    return db


def page(role: str = "registrar", item: int | None = None) -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=120)
    at.session_state["session_token"] = session_token(role)
    if item is not None:
        at.query_params["item"] = str(item)
    return at.run()


def thomas(db: Path) -> int:
    """The work item of Thomas's registry tumor (2)."""
    return next(i.work_item_id for i in list_items(REGISTRAR, open_operational_store(db)) if i.registry_tumor_id == 2)


def button(at: AppTest, label: str) -> AppTest:
    return next(b for b in at.button if b.label == label).click().run()


def test_the_page_is_in_the_registry_section_for_its_action() -> None:
    assert ("worklist", "Discrepancy worklist", "Registry", WORKLIST) in PAGE_LIST


@pytest.mark.parametrize("role", ["registrar", "researcher", "administrator"])
def test_only_registrars_get_the_page_in_navigation(db: Path, role: str) -> None:
    at = AppTest.from_file(str(DASHBOARD / "app.py"), default_timeout=120)
    at.session_state["session_token"] = session_token(role)
    at.run()
    if role == "registrar":
        at.switch_page("views/worklist.py").run()
        assert not at.exception and at.title[0].value == "Discrepancy worklist"
    else:
        with pytest.raises(ValueError, match="navigation page"):
            at.switch_page("views/worklist.py")


@pytest.mark.parametrize("role", ["researcher", "administrator"])
def test_other_roles_opening_the_page_file_are_refused(db: Path, role: str) -> None:
    at = page(role)
    assert not at.exception
    assert "registry specialists only" in at.error[0].value
    assert not at.dataframe and [b.label for b in at.button] == ["Sign out"]
    assert not events(open_operational_store(db), action="record-view")


def test_counts_filters_and_the_item_table(db: Path) -> None:
    at = page()
    assert not at.exception
    counts = at.dataframe[0].value.set_index("status")
    assert int(counts.loc["open", "Priority 1"]) == 4
    table = at.dataframe[1].value
    assert sorted(table["registry_tumor_id"]) == [1, 2, 3, 4]
    assert table.set_index("registry_tumor_id").loc[2, "issues"] == "N0441, N2001"
    at.selectbox(key="filter_facility").set_value("2000000002").run()
    assert list(at.dataframe[1].value["registry_tumor_id"]) == [4]
    at.selectbox(key="filter_facility").set_value("all").run()
    at.text_input(key="filter_edit").input("N2001").run()
    assert list(at.dataframe[1].value["registry_tumor_id"]) == [2]
    listed = events(open_operational_store(db), action="record-view")
    assert listed and listed[0].detail["purpose"] == "worklist"


def test_an_item_opens_from_the_address_with_its_issues_and_history(db: Path) -> None:
    item_id = thomas(db)
    at = page(item=item_id)
    assert not at.exception
    assert at.selectbox(key="work_item").value == item_id
    assert f"Work item {item_id}: registry tumor 2" in at.subheader[0].value
    issues = at.dataframe[2].value
    assert list(issues["what"]) == ["N0441 (incoming)", "N2001 (incoming)"]
    assert issues.iloc[0]["values"] == "primarySite=C619; histologicTypeIcdO3=8070"
    assert list(at.dataframe[3].value["to_status"]) == ["open"]
    assert any("?tumor=2" in m.value for m in at.markdown)          # the link to the record view
    opened = events(open_operational_store(db), action="record-view")[0]
    assert opened.detail == {"purpose": "worklist", "work_item_id": item_id, "registry_tumor_id": 2}
    assert at.query_params["item"] == str(item_id)
    other = next(i for i in at.selectbox(key="work_item").options if i != str(item_id))
    at.selectbox(key="work_item").set_value(int(other)).run()
    assert at.query_params["item"] == other and f"Work item {other}:" in at.subheader[0].value


def test_query_answer_and_resolve_from_the_page(db: Path) -> None:
    item_id = thomas(db)
    at = page(item=item_id)
    assert {b.label for b in at.button} >= {"Send query", "Resolve", "Close as valid", "Assign", "Set due date"}
    assert "Record answer" not in {b.label for b in at.button}
    at.text_area(key=f"query-text-{item_id}").input("Is 8070 right for this prostate primary?")
    at = button(at, "Send query")
    assert not at.exception and "now **queried**" in at.success[0].value
    assert "Record answer" in {b.label for b in at.button} and "Send query" not in {b.label for b in at.button}
    at.text_area(key=f"answer-text-{item_id}").input("Yes, confirmed by pathology.")
    at = button(at, "Record answer")
    at.text_area(key=f"resolve-text-{item_id}").input("answered")
    at = button(at, "Resolve")
    assert "now **resolved**" in at.success[0].value and "Reopen" in {b.label for b in at.button}
    actions = [e.action for e in reversed(events(open_operational_store(db), limit=None))
               if e.action.startswith("worklist-") and e.action != "worklist-sync"]
    assert actions == ["worklist-query", "worklist-answer", "worklist-resolve"]


def test_an_illegal_or_empty_request_is_shown_not_raised(db: Path) -> None:
    item_id = thomas(db)
    at = button(page(item=item_id), "Send query")          # no question typed
    assert not at.exception and "question to the facility is required" in at.error[0].value
    at.text_input(key=f"assignee-{item_id}").input("nobody")
    at = button(at, "Assign")
    assert "not the user name of an active registrar" in at.error[0].value


def test_close_as_valid_from_the_page(db: Path) -> None:
    item_id = thomas(db)
    at = page(item=item_id)
    at.selectbox(key=f"close-flag-{item_id}").set_value("overRideSiteType")
    at.text_area(key=f"close-reason-{item_id}").input("histology confirmed by the pathologist")
    at = button(at, "Close as valid")
    assert not at.exception and "now **closed-valid**" in at.success[0].value
    assert any(c.item == "overRideSiteType" for c in corrections_of(REGISTRAR, db, tumor_id=2))


def test_a_correction_from_the_page_reruns_the_edits_and_the_item_follows(db: Path) -> None:
    item_id = thomas(db)
    at = page(item=item_id)
    assert at.selectbox(key=f"correct-item-{item_id}").options[:2] == ["primarySite", "histologicTypeIcdO3"]
    at.selectbox(key=f"correct-item-{item_id}").set_value("histologicTypeIcdO3")
    at.text_input(key=f"correct-value-{item_id}").input("8140")
    at.text_area(key=f"correct-reason-{item_id}").input("pathology report says adenocarcinoma")
    at = button(at, "Correct")
    assert not at.exception and "histologicTypeIcdO3 corrected" in at.success[0].value
    [kept] = corrections_of(REGISTRAR, db, tumor_id=2)
    assert (kept.item, kept.new_value, kept.work_item_id) == ("histologicTypeIcdO3", "8140", item_id)
    # The edits ran again on the tumor and its reports, which pass every real edit: the item is settled.
    assert work_item(REGISTRAR, open_operational_store(db), item_id).item.status == "resolved"


def test_the_facilitys_documents_are_prepared_audited_and_downloaded(db: Path) -> None:
    item_id = thomas(db)
    at = page(item=item_id)
    at.text_area(key=f"query-text-{item_id}").input("Histology?")
    at = button(at, "Send query")
    assert "Documents for facility 1000000001" in at.subheader[-1].value
    at.selectbox(key="document_format").set_value("csv")
    at = button(at, "Prepare")
    assert not at.exception
    assert [b.label for b in at.get("download_button")] == ["Download query letter (CSV)"]
    at.selectbox(key="document_kind").set_value("report")
    at = button(at, "Prepare")
    assert [b.label for b in at.get("download_button")] == ["Download edit report (CSV)"]
    exported = [(e.detail["document"], e.detail["rows"]) for e in reversed(events(open_operational_store(db),
                                                                                  action="export"))]
    assert exported == [("query-letter", 1), ("edit-report", 2)]
    at.download_button(key="download_document").click().run()
    [download] = events(open_operational_store(db), action="download")
    assert download.detail == {"page": "worklist", "document": "edit-report", "file": "edit-report-1000000001.csv",
                                "format": "csv", "rows": 2}


def test_close_as_valid_offers_the_flag_that_clears_the_failing_edit_first(db: Path) -> None:
    add_failures(db, [(2, SITE_MORPH[1], "age-site-histology", "error", "ageAtDiagnosis,primarySite,histologicTypeIcdO3",
                       "ageAtDiagnosis=017; primarySite=C649; histologicTypeIcdO3=8960", "Wilms tumor at 17")], run_id=3)
    sync_worklist(db, open_operational_store(db))
    at = page(item=thomas(db))
    assert at.selectbox(key=f"close-flag-{thomas(db)}").options[0] == "overRideAgeSiteMorph"
