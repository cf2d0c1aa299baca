"""The registrar's pages, Linkage review and Find a patient, over a small linked store (Streamlit AppTest):
who sees them, the queue and a pair side by side, a decision recorded and audited, a person found."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.page_list import PAGE_LIST
from registry.api import FIND_PATIENT, IDENTITY_ITEMS, LINK_REVIEW, LINKAGE_THRESHOLDS, TUMOR_ITEMS
from registry.audit import events
from registry.link_review import decisions, review_queue
from registry.operational_store import open_operational_store
from registry.principal import Principal
from registry.store import read_connection
from tests.dashboard_session import session_token
from tests.registry_reports import two_hospitals_store

DASHBOARD = Path(__file__).resolve().parents[1] / "dashboard"
PAGES = DASHBOARD / "views"
REVIEWER = Principal("registrar1", "registrar")


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The two hospitals' store: one patient pair and one tumor pair wait for a reviewer."""
    return two_hospitals_store(tmp_path_factory.mktemp("registrar"))


@pytest.fixture
def db(linked: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the linked store with its operational store (decisions change the queue), as $REGISTRY_DB."""
    copy = tmp_path / "store"
    shutil.copytree(linked.parent, copy)
    monkeypatch.setenv("REGISTRY_DB", str(copy / linked.name))
    return copy / linked.name


def page(name: str, role: str = "registrar") -> AppTest:
    at = AppTest.from_file(str(PAGES / name), default_timeout=120)
    at.session_state["session_token"] = session_token(role)
    return at.run()


def registry_patient(db: Path, patient_number: str) -> int:
    """The registry patient a facility's patient number is linked to."""
    with read_connection(db) as con:
        return int(con.execute("""SELECT DISTINCT l.registry_patient_id FROM patient_link l
                                  JOIN patient p ON p.patient_id = l.source_patient_id
                                  WHERE p.patient_id_number = ?""", [patient_number]).fetchall()[0][0])


def test_both_pages_are_in_the_registry_section_with_their_actions() -> None:
    rows = {stem: (title, section, action) for stem, title, section, action in PAGE_LIST}
    assert rows["link_review"] == ("Linkage review", "Registry", LINK_REVIEW)
    assert rows["find_patient"] == ("Find a patient", "Registry", FIND_PATIENT)


@pytest.mark.parametrize("role", ["registrar", "researcher", "administrator"])
def test_only_registrars_get_the_pages_in_navigation(db: Path, role: str) -> None:
    at = AppTest.from_file(str(DASHBOARD / "app.py"), default_timeout=120)
    at.session_state["session_token"] = session_token(role)
    at.run()
    for view, title in (("link_review", "Linkage review"), ("find_patient", "Find a patient")):
        if role == "registrar":
            at.switch_page(f"views/{view}.py").run()
            assert not at.exception and at.title[0].value == title
        else:
            with pytest.raises(ValueError, match="navigation page"):
                at.switch_page(f"views/{view}.py")


@pytest.mark.parametrize("role", ["researcher", "administrator"])
@pytest.mark.parametrize("view", ["link_review.py", "find_patient.py"])
def test_other_roles_opening_the_page_file_are_refused(db: Path, role: str, view: str) -> None:
    at = page(view, role)
    assert not at.exception
    assert "registry specialists only" in at.error[0].value
    assert not at.dataframe and not at.text_input and [b.label for b in at.button] == ["Sign out"]
    assert not events(open_operational_store(db), action="record-view")


def test_the_queue_lists_pending_pairs_with_score_and_why(db: Path) -> None:
    at = page("link_review.py")
    assert not at.exception
    queue = at.dataframe[0].value
    pending = review_queue(open_operational_store(db), REVIEWER)
    assert sorted(queue["kind"]) == ["patient", "tumor"] and len(pending) == 2
    assert list(queue["review_id"]) == [item.review_id for item in pending]   # most likely matches first
    patient = queue[queue["kind"] == "patient"].iloc[0]
    item = next(i for i in pending if i.kind == "patient")
    assert (patient["left_key"], patient["right_key"]) == ("1000000001/00000101", "2000000002/00007003")
    assert float(patient["match_weight"]) == pytest.approx(item.score)
    assert LINKAGE_THRESHOLDS["lower"] <= item.score < LINKAGE_THRESHOLDS["upper"]
    assert float(patient["match_probability"]) == pytest.approx(1 / (1 + 2 ** -item.score))
    assert "between the thresholds" in patient["why"]
    tumor = queue[queue["kind"] == "tumor"].iloc[0]
    assert "Breast" in tumor["why"] and "laterality" in tumor["why"]
    assert "1 patient pair" in at.caption[0].value and "1 tumor pair" in at.caption[0].value

    at.radio(key="review_kind").set_value("tumor").run()
    assert list(at.dataframe[0].value["kind"]) == ["tumor"]


def test_a_pair_is_shown_side_by_side_with_its_differences_and_weights(db: Path) -> None:
    at = page("link_review.py")
    ops = open_operational_store(db)
    patient = next(i for i in review_queue(ops, REVIEWER) if i.kind == "patient")
    at.selectbox(key="review_pair").set_value(patient.review_id).run()
    assert not at.exception
    side_by_side = at.dataframe[1].value.set_index("item")
    items = list(side_by_side.index)
    known = [n for n in (*IDENTITY_ITEMS, *TUMOR_ITEMS) if n in items]
    assert items[:len(known)] == known and items.index("nameLast") == 0   # identity items first, in their order
    assert side_by_side.loc["nameFirst", "left"] == "MARGARET" and side_by_side.loc["nameFirst", "right"] == "MARGRET"
    marked = set(side_by_side.index[side_by_side["differs"] == "≠"])
    assert {"nameFirst", "dateOfBirth", "patientIdNumber"} <= marked
    assert "nameLast" not in marked and "sex" not in marked
    assert marked == {n for n in items if side_by_side.loc[n, "left"] != side_by_side.loc[n, "right"]}
    styles = at.dataframe[1].proto.arrow_data.styler.styles   # the differing rows are highlighted too
    highlighted = {items[int(row)] for row in re.findall(r"_row(\d+)_col0\b", styles)}
    assert "background-color" in styles and highlighted == marked
    weights = at.dataframe[2].value.set_index("comparison")["weight"]
    assert float(weights["First name"]) == pytest.approx(patient.evidence["name_first"])
    assert float(weights.sum()) == pytest.approx(patient.score)   # the comparisons and the prior add up
    viewed = events(ops, action="record-view")
    assert viewed and viewed[0].detail["review_id"] == patient.review_id


def test_deciding_records_the_decision_for_ever_and_audits_it(db: Path) -> None:
    at = page("link_review.py")
    ops = open_operational_store(db)
    tumor = next(i for i in review_queue(ops, REVIEWER) if i.kind == "tumor")
    at.selectbox(key="review_pair").set_value(tumor.review_id).run()
    assert [b.label for b in at.button if b.label in ("Same tumor", "Separate primaries")] == [
        "Same tumor", "Separate primaries"]
    at.text_area(key=f"reason-{tumor.review_id}").input("pathology: two separate lesions")
    next(b for b in at.button if b.label == "Separate primaries").click().run()
    assert not at.exception
    assert [(d.kind, d.left_key, d.right_key, d.decision) for d in decisions(ops)] == [
        ("tumor", tumor.left_key, tumor.right_key, "different")]
    [audited] = events(ops, action="link-review-decided")
    assert audited.user == "registrar1" and audited.detail["review_id"] == tumor.review_id
    assert audited.detail["decision"] == "separate primaries"
    assert audited.detail["reason"] == "pathology: two separate lesions"
    done = at.success[0].value
    assert "separate primaries" in done and "kept for ever" in done and "registry link" in done
    assert list(at.dataframe[0].value["kind"]) == ["patient"]   # off the queue

    patient = review_queue(ops, REVIEWER)[0]
    at.selectbox(key="review_pair").set_value(patient.review_id).run()
    next(b for b in at.button if b.label == "Same person").click().run()
    assert [d.decision for d in decisions(ops, "patient")] == ["same"]
    assert "same person" in at.success[0].value
    assert "No pairs wait for review" in at.info[0].value


def test_an_empty_queue_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_DB", str(tmp_path / "registry.duckdb"))
    at = page("link_review.py")
    assert not at.exception and not at.dataframe
    assert "No pairs wait for review" in at.info[0].value


def search(at: AppTest, **fields: str) -> AppTest:
    labels = {"last": "Last name", "first": "First name", "born": "Birth date", "ssn": "Social security number",
              "mrn": "Medical record number"}
    for name, value in fields.items():
        next(t for t in at.text_input if t.label == labels[name]).input(value)
    return next(b for b in at.button if b.label == "Search").click().run()


@pytest.mark.parametrize("fields", [{"last": "Whitfield", "first": "Margaret", "born": "1959-04-12"},
                                    {"ssn": "412-55-6789"}, {"mrn": "MR5521"}],
                         ids=["name-and-birth-date", "ssn", "mrn"])
def test_a_known_person_is_found(db: Path, fields: dict[str, str]) -> None:
    ops = open_operational_store(db)
    at = search(page("find_patient.py"), **fields)
    assert not at.exception and not at.error
    found = at.dataframe[0].value
    margaret = registry_patient(db, "00000101")
    assert int(found["registry_patient_id"].iloc[0]) == margaret
    best = found.iloc[0]
    assert best["name"] == "WHITFIELD, MARGARET ANN" and best["date_of_birth"] == "1959-04-12"
    assert best["ssn_last4"].endswith("6789") and "412556789" not in found.to_string()
    assert list(found["match_weight"]) == sorted(found["match_weight"], reverse=True)
    weight = float(best["match_weight"])
    advice = (at.success or at.warning or at.info)[0].value
    if weight >= LINKAGE_THRESHOLDS["upper"]:
        assert f"same person as registry patient {margaret}" in advice
    elif weight < LINKAGE_THRESHOLDS["lower"]:
        assert "a new patient may be created" in advice
    else:
        assert f"Registry patient {margaret} may be the same person" in advice
    [audited] = events(ops, action="find-patient")
    assert audited.user == "registrar1" and margaret in audited.detail["candidates"]


def test_every_search_is_audited_and_a_bad_birth_date_is_explained(db: Path) -> None:
    ops = open_operational_store(db)
    at = search(page("find_patient.py"), last="Okafor")
    thomas = registry_patient(db, "00000102")
    assert int(at.dataframe[0].value["registry_patient_id"].iloc[0]) == thomas
    search(at, last="Okafor", first="Tom")
    assert len(events(ops, action="find-patient")) == 2
    at = search(page("find_patient.py"), born="1959-13-12")
    assert not at.exception and not at.dataframe
    assert "date_of_birth" in at.error[0].value and "not a date" in at.error[0].value
    at = search(page("find_patient.py"))
    assert "give at least one of" in at.error[0].value

