"""The Audit trail page (Streamlit AppTest): only administrators get it; each filter alone and together shows
what `registry.audit_search.search_events` finds; verify says intact with the head, or names each problem of a
tampered copy; a search exported as CSV is recorded as an export, and its download as a download."""

from __future__ import annotations

import io
import shutil
import sqlite3
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.page_list import PAGE_LIST
from registry.access import VIEW_AUDIT_TRAIL
from registry.audit import chain_head, events, record_event
from registry.audit_search import RecordRef, search_events
from registry.operational_store import open_operational_store
from registry.principal import Principal
from tests.dashboard_session import session_token

DASHBOARD = Path(__file__).resolve().parents[1] / "dashboard"
PAGE = DASHBOARD / "views" / "audit_trail.py"
REG = Principal("reg", "registrar")


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store whose trail names patients 12 and 123 and tumor 12 (no analytic data needed), as $REGISTRY_DB."""
    path = tmp_path / "store" / "registry.duckdb"
    path.parent.mkdir()
    ops = open_operational_store(path)
    record_event(ops, REG, "record-view", purpose="record", patient_id=12, tumors=[34])
    record_event(ops, REG, "record-view", purpose="record", patient_id=123, tumors=[12])
    record_event(ops, Principal("ana", "researcher"), "search", definition={"site": "C50"}, rows=40)
    record_event(ops, REG, "correction", entity="tumor", entity_id=12, item="grade", reason="path report")
    monkeypatch.setenv("REGISTRY_DB", str(path))
    return path


def page(role: str = "administrator") -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state["session_token"] = session_token(role)
    return at.run()


def shown(at: AppTest) -> list[int]:
    """The sequence numbers of the events the page lists."""
    return [int(s) for s in at.dataframe[0].value["seq"]] if at.dataframe else []


def expected(db: Path, **search: object) -> list[int]:
    return [e.seq for e in search_events(open_operational_store(db), **search)]  # type: ignore[arg-type]


def test_the_page_is_in_the_administration_section() -> None:
    rows = {stem: (title, section, action) for stem, title, section, action in PAGE_LIST}
    assert rows["audit_trail"] == ("Audit trail", "Administration", VIEW_AUDIT_TRAIL)


@pytest.mark.parametrize("role", ["registrar", "researcher", "administrator"])
def test_only_administrators_get_the_page_in_navigation(db: Path, role: str) -> None:
    at = AppTest.from_file(str(DASHBOARD / "app.py"), default_timeout=60)
    at.session_state["session_token"] = session_token(role)
    at.run()
    if role == "administrator":
        at.switch_page("views/audit_trail.py").run()
        assert not at.exception and at.title[0].value == "Audit trail"
    else:
        with pytest.raises(ValueError, match="navigation page"):
            at.switch_page("views/audit_trail.py")


@pytest.mark.parametrize("role", ["registrar", "researcher"])
def test_other_roles_opening_the_page_file_are_refused(db: Path, role: str) -> None:
    at = page(role)
    assert not at.exception
    assert at.error[0].value == "The audit trail is for administrators."
    assert not at.dataframe and not at.text_input and [b.label for b in at.button] == ["Sign out"]


def test_every_event_is_listed_newest_first_with_readable_detail(db: Path) -> None:
    at = page()
    assert not at.exception and at.title[0].value == "Audit trail"
    assert shown(at) == expected(db) and shown(at)[0] > shown(at)[-1]
    table = at.dataframe[0].value.set_index("seq")
    view = next(seq for seq in expected(db, record=RecordRef("patient", 12)))
    assert table.loc[view, "detail"] == "patient id 12; purpose record; tumors 34"
    assert (table.loc[view, "user"], table.loc[view, "role"], table.loc[view, "action"]) == \
        ("reg", "registrar", "record-view")
    assert set(at.selectbox(key="trail_action").options) >= {"Any action", "record-view", "search", "correction"}


def test_each_filter_alone_and_together(db: Path) -> None:
    at = page()
    at.text_input(key="trail_user").input("ANA").run()
    assert shown(at) == expected(db, user="ana") and len(shown(at)) == 1
    at.text_input(key="trail_user").input("").run()
    at.selectbox(key="trail_action").set_value("record-view").run()
    assert shown(at) == expected(db, action="record-view") and len(shown(at)) == 2
    at.selectbox(key="trail_action").set_value("").run()
    at.selectbox(key="trail_record_kind").set_value("patient").run()
    at.number_input(key="trail_record_id").set_value(12).run()
    assert shown(at) == expected(db, record=RecordRef("patient", 12)) and len(shown(at)) == 1   # not 123
    at.selectbox(key="trail_record_kind").set_value("tumor").run()
    assert shown(at) == expected(db, record=RecordRef("tumor", 12)) and len(shown(at)) == 2     # view and correction
    at.selectbox(key="trail_action").set_value("correction").run()
    assert shown(at) == expected(db, record=RecordRef("tumor", 12), action="correction") and len(shown(at)) == 1
    at.text_input(key="trail_user").input("ana").run()
    assert not at.dataframe and "No event matches" in at.info[0].value


def test_the_time_filters(db: Path) -> None:
    today = datetime.now(UTC).date()
    at = page()
    at.date_input(key="trail_from").set_value(today + timedelta(days=1)).run()
    assert not at.dataframe and "No event matches" in at.info[0].value
    at.date_input(key="trail_from").set_value(today).run()
    assert shown(at) == expected(db)
    at.date_input(key="trail_to").set_value(today - timedelta(days=1)).run()
    assert "starts after it ends" in at.error[0].value and not at.dataframe
    at.date_input(key="trail_to").set_value(today).run()
    assert shown(at) == expected(db)
    at.date_input(key="trail_from").set_value(None)
    at.date_input(key="trail_to").set_value(today - timedelta(days=1))
    at.time_input(key="trail_to_time").set_value(time(23, 59)).run()   # up to the end of yesterday: nothing yet
    assert not at.dataframe and "No event matches" in at.info[0].value


def test_verify_says_intact_with_the_head(db: Path) -> None:
    at = page()
    at.button(key="trail_verify").click().run()
    seq, digest = chain_head(open_operational_store(db))
    assert not at.error
    assert "intact" in at.success[0].value and f"{seq}:{digest}" in at.success[0].value


def test_verify_names_each_problem_of_a_tampered_copy(db: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(db.parent, copy)
    tampered = copy / db.name
    con = sqlite3.connect(open_operational_store(tampered).path, isolation_level=None)
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        con.execute(f'DROP TRIGGER "{name}"')
    seq = con.execute("SELECT seq FROM audit_event WHERE action = 'search'").fetchone()[0]
    con.execute("UPDATE audit_event SET detail = json_set(detail, '$.rows', 4) WHERE seq = ?", [seq])
    con.close()
    monkeypatch.setenv("REGISTRY_DB", str(tampered))
    at = page()
    at.button(key="trail_verify").click().run()
    assert "tampered with" in at.error[0].value and not at.success
    problems = at.markdown[-1].value
    assert f"seq {seq}: its contents do not match its MAC" in problems
    assert "append-only trigger" in problems


def test_a_search_is_exported_and_downloaded_each_recorded(db: Path) -> None:
    at = page()
    at.selectbox(key="trail_record_kind").set_value("tumor").run()
    at.number_input(key="trail_record_id").set_value(12).run()
    assert not at.download_button
    at.button(key="trail_prepare_csv").click().run()
    ops = open_operational_store(db)
    [exported] = events(ops, action="export")
    assert (exported.user, exported.detail["document"], exported.detail["rows"]) == ("administrator1", "audit-trail", 2)
    assert exported.detail["search"]["record"] == "tumor 12"
    _, data, rows = at.session_state["trail_csv"]
    frame = pd.read_csv(io.BytesIO(data), comment="#")
    assert list(frame["seq"]) == expected(db, record=RecordRef("tumor", 12)) and rows == 2
    assert events(ops, action="download") == []
    at.download_button(key="trail_download").click().run()
    at.run()
    [download] = events(ops, action="download")
    assert (download.user, download.role, download.detail) == ("administrator1", "administrator", {
        "page": "audit_trail", "document": "audit-trail", "file": "audit-trail.csv", "format": "csv", "rows": 2})
    at.selectbox(key="trail_record_kind").set_value("").run()       # another search: prepare it again
    assert not at.download_button


def test_through_the_router_a_download_names_its_page(db: Path) -> None:
    at = AppTest.from_file(str(DASHBOARD / "app.py"), default_timeout=60)
    at.session_state["session_token"] = session_token("administrator")
    at.run()
    at.switch_page("views/audit_trail.py").run()
    at.button(key="trail_prepare_csv").click().run()
    at.download_button(key="trail_download").click().run()
    [download] = events(open_operational_store(db), action="download")
    assert download.detail["page"] == "audit_trail"
