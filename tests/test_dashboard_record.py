"""The Patient record page (Streamlit AppTest) over the two hospitals' store: who may open it, opening by
address or by id, the sections, the differing items highlighted, links to the worklist, the correction form,
and the links from Find a patient and Linkage review."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.page_list import PAGE_LIST
from registry.api import RECORD_VIEW
from registry.audit import events
from registry.corrections import corrections_of
from registry.link_review import review_queue
from registry.operational_store import open_operational_store
from registry.principal import Principal
from registry.store import read_connection
from tests.dashboard_session import session_token
from tests.registry_reports import two_hospitals_store

DASHBOARD = Path(__file__).resolve().parents[1] / "dashboard"
PAGES = DASHBOARD / "views"
REGISTRAR = Principal("registrar1", "registrar")


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return two_hospitals_store(tmp_path_factory.mktemp("record-page"))


@pytest.fixture
def db(linked: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "store"
    shutil.copytree(linked.parent, copy)
    monkeypatch.setenv("REGISTRY_DB", str(copy / linked.name))
    return copy / linked.name


def page(name: str, role: str = "registrar", **params: str) -> AppTest:
    at = AppTest.from_file(str(PAGES / name), default_timeout=120)
    at.session_state["session_token"] = session_token(role)
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def thomas(db: Path) -> tuple[int, int]:
    """(registry patient, registry tumor) of Thomas, reported by both hospitals."""
    with read_connection(db) as con:
        row = con.execute("""SELECT DISTINCT t.patient_id, t.tumor_id FROM registry_tumor t
                             JOIN tumor_link l ON l.registry_tumor_id = t.tumor_id JOIN tumor s ON s.tumor_id = l.source_tumor_id
                             JOIN patient p ON p.patient_id = s.patient_id WHERE p.patient_id_number = '00000102'""").fetchall()
    return int(row[0][0]), int(row[0][1])


def test_the_page_is_in_the_registry_section_for_registrars() -> None:
    rows = {stem: (title, section, action) for stem, title, section, action in PAGE_LIST}
    assert rows["record"] == ("Patient record", "Registry", RECORD_VIEW)


@pytest.mark.parametrize("role", ["researcher", "administrator"])
def test_other_roles_are_refused_and_the_refusal_is_audited(db: Path, role: str) -> None:
    patient, _ = thomas(db)
    at = page("record.py", role, patient=str(patient))
    assert not at.exception
    assert "registry specialists only" in at.error[0].value
    assert not at.dataframe and not at.text_input
    ops = open_operational_store(db)
    [refused] = events(ops, action="access-refused")
    assert refused.user == f"{role}1" and refused.detail["action"] == RECORD_VIEW
    assert not events(ops, action="record-view")


def test_a_tumor_in_the_address_opens_its_patients_record(db: Path) -> None:
    patient, tumor = thomas(db)
    at = page("record.py", tumor=str(tumor))
    assert not at.exception and not at.error
    assert at.subheader[0].value == f"Registry patient {patient}"
    assert [t.label for t in at.tabs] == ["Tumors", "Patient values", "Reports as received", "Linkage and reviews",
                                         "Corrections"]
    assert any(f"Registry tumor {tumor}: C619, 8140/3" in e.label for e in at.expander)
    values = at.dataframe[0].value.set_index("item")
    assert values.loc["histologicTypeIcdO3", "value"] == "8140"
    assert values.loc["primarySite", "rule"].startswith("specific site")
    [viewed] = events(open_operational_store(db), action="record-view")
    assert viewed.detail["patient_id"] == patient


def test_reports_are_side_by_side_with_the_differences_highlighted(db: Path) -> None:
    patient, _ = thomas(db)
    at = page("record.py", patient=str(patient))
    side = next(d for d in at.dataframe if "differs" in d.value.columns and "item" in d.value.columns
                and any(c.startswith("#1") for c in d.value.columns))
    frame = side.value.set_index("item")
    assert frame.loc["nameFirst"].tolist()[1:] == ["THOMAS", "TOM"] and frame.loc["nameFirst", "differs"] == "≠"
    assert frame.loc["primarySite", "differs"] == ""
    assert "background-color" in side.proto.arrow_data.styler.styles


def test_an_id_typed_in_opens_the_record_and_a_bad_one_is_explained(db: Path) -> None:
    patient, _ = thomas(db)
    at = page("record.py")
    assert "Type a registry patient or tumor id" in at.info[0].value
    at.text_input[0].input("abc")
    at = next(b for b in at.button if b.label == "Open").click().run()
    assert "is not a registry patient id" in at.error[0].value
    at.text_input[0].input(str(patient))
    at = next(b for b in at.button if b.label == "Open").click().run()
    assert not at.error and at.subheader[0].value == f"Registry patient {patient}"
    assert at.query_params["patient"] == str(patient)
    at = page("record.py", tumor="424242")
    assert "no registry tumor 424242" in at.error[0].value


def test_the_correction_form_corrects_and_the_record_shows_it(db: Path) -> None:
    patient, tumor = thomas(db)
    ops = open_operational_store(db)
    with ops.write() as con:
        con.execute("INSERT INTO work_item (registry_tumor_id, registry_patient_id, status, priority, issues, "
                    "created_at, updated_at) VALUES (?, ?, 'open', 1, '[]', '2026-12-07', '2026-12-07')",
                    [tumor, patient])
        work = int(con.execute("SELECT max(work_item_id) FROM work_item").fetchone()[0])
    at = page("record.py", tumor=str(tumor))
    assert any(f"(worklist?item={work})" in m.value for m in at.markdown)
    at.selectbox(key=f"item-tumor-{tumor}").set_value("histologicTypeIcdO3")
    at.text_input(key=f"value-tumor-{tumor}").input("85x0")
    at.text_input(key=f"reason-tumor-{tumor}").input("slides reviewed")
    at = next(b for b in at.button if b.label == "Correct").click().run()
    assert "histologicTypeIcdO3 = '85x0'" in at.error[0].value
    assert not corrections_of(REGISTRAR, db, tumor_id=tumor)
    at.text_input(key=f"value-tumor-{tumor}").input("8550")
    at.text_input(key=f"work-tumor-{tumor}").input(str(work))
    at = next(b for b in at.button if b.label == "Correct").click().run()
    assert not at.exception and not at.error
    [done] = corrections_of(REGISTRAR, db, tumor_id=tumor)
    assert (done.new_value, done.old_value, done.work_item_id, done.corrected_by) == ("8550", "8140", work, "registrar1")
    assert "is now 8550 (was 8140)" in at.success[0].value
    values = at.dataframe[0].value.set_index("item")
    assert values.loc["histologicTypeIcdO3", "value"] == "8550"
    assert values.loc["histologicTypeIcdO3", "source"] == f"correction {done.correction_id}"
    history = at.dataframe[-1].value
    assert list(history["new_value"]) == ["8550"] and list(history["reason"]) == ["slides reviewed"]


def test_find_a_patient_and_linkage_review_link_to_the_record(db: Path) -> None:
    patient, _ = thomas(db)
    at = AppTest.from_file(str(PAGES / "find_patient.py"), default_timeout=120)
    at.session_state["session_token"] = session_token("registrar")
    at.run()
    next(t for t in at.text_input if t.label == "Last name").input("Okafor")
    at = next(b for b in at.button if b.label == "Search").click().run()
    assert any(f"(record?patient={patient})" in m.value for m in at.markdown)

    review = page("link_review.py")
    pending = review_queue(open_operational_store(db), REGISTRAR)
    tumor_pair = next(i for i in pending if i.kind == "tumor")
    review.selectbox(key="review_pair").set_value(tumor_pair.review_id).run()
    assert any("(record?tumor=" in m.value for m in review.markdown)
