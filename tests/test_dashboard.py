"""Dashboard pages render over a fixture store and show its numbers (Streamlit AppTest)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pipelines.load import ingest_file
from tests.conftest import naaccr_xml
from tests.dashboard_session import session_token

PAGES = Path(__file__).resolve().parents[1] / "dashboard" / "views"
PATIENT = {"patientIdNumber": "00000001", "sex": "2"}
TUMOR = {"primarySite": "C509", "dateOfDiagnosis": "20200101"}


@pytest.fixture(scope="module")
def store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture store, ingested once per module: two files, the second with a value too long."""
    folder = tmp_path_factory.mktemp("dashboard-store")
    db = folder / "data" / "registry.duckdb"
    for name, patients in (("a.xml", [(PATIENT, [{**TUMOR, "laterality": "1"}, {**TUMOR, "laterality": "2"}]),
                                      ({**PATIENT, "patientIdNumber": "2", "dateOfBirth": "19700505"}, [TUMOR])]),
                           ("b.xml", [(PATIENT, [{**TUMOR, "laterality": "12"}])])):
        (folder / name).write_text(naaccr_xml(patients), encoding="utf-8")
        ingest_file(folder / name, db_path=db)
    return db


@pytest.fixture
def store(store_template: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A test's own copy of the fixture store (its files, modes kept), named by $REGISTRY_DB."""
    shutil.copytree(store_template.parent, db_path.parent)
    monkeypatch.setenv("REGISTRY_DB", str(db_path))
    return db_path


def _as(role: str, page: str = "batches.py") -> AppTest:
    at = AppTest.from_file(str(PAGES / page))
    at.session_state["session_token"] = session_token(role)
    return at.run()


def test_store_overview_shows_counts(store):
    at = _as("registrar", "store.py")
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    # b.xml: its only tumor is rejected, its patient record (valid) is kept; it has the same patient number
    # and sex as a.xml's first patient but no facility or name, so the pair waits for a reviewer.
    assert metrics == {"Registry tumors": "3", "Registry patients": "3", "Pending linkage reviews": "1",
                       "Tumor reports": "3", "Patient reports": "3", "Rejected records": "1"}
    assert "T" not in at.caption[0].value.split("last load ")[1][:16]   # a time for people, not ISO


@pytest.mark.parametrize("role", ["researcher", "administrator"])
def test_store_overview_withholds_small_totals(store, role):
    at = _as(role, "store.py")
    assert not at.exception
    assert {m.label: m.value for m in at.metric} == {
        "Registry tumors": "fewer than 16", "Registry patients": "fewer than 16",
        "Pending linkage reviews": "fewer than 16", "Tumor reports": "fewer than 16",
        "Patient reports": "fewer than 16", "Rejected records": "fewer than 16"}


@pytest.mark.parametrize("page", sorted(p.name for p in PAGES.glob("*.py") if p.name != "sign_in.py"))
def test_every_page_opened_directly_without_sign_in_refuses(store, page):
    at = AppTest.from_file(str(PAGES / page), default_timeout=60).run()
    assert not at.exception
    assert at.error and not at.metric and not at.dataframe


def test_batches_page_is_for_registrars_and_administrators(store):
    at = _as("researcher")
    assert not at.exception and not at.dataframe
    assert "registry specialists and administrators" in at.error[0].value


def test_batches_page_lists_every_batch_with_accounting(store):
    at = _as("registrar")
    assert not at.exception
    batches = at.dataframe[0].value
    assert list(batches["tumors_read"]) == [1, 3]
    assert list(batches["tumors_loaded"] + batches["tumors_rejected"]) == [1, 3]
    rejects = at.dataframe[1].value
    assert list(rejects["rule"]) == ["too-long"]


def test_batches_page_withholds_small_file_counts_for_administrators(store):
    at = _as("administrator")
    assert not at.exception
    batches = at.dataframe[0].value
    assert [Path(name).name for name in batches["file_name"]] == ["b.xml", "a.xml"]   # operations: every file
    assert (batches["tumors_read"] == "suppressed").all() and batches["suppressed"].all()   # said, not blank
    assert (at.dataframe[1].value["records"] == "suppressed").all()


def test_batches_page_shows_labels_and_times_for_people(store):
    at = _as("registrar")
    proto = at.dataframe[0].proto
    labels = {column: config.get("label") for column, config in json.loads(proto.columns).items()}
    assert labels["file_name"] == "File" and labels["tumors_read"] == "Tumors read"
    assert labels["finished_at"] == "Finished"
    finished = str(at.dataframe[0].value["finished_at"].iloc[0])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", finished), finished


def test_pages_explain_an_empty_store(tmp_path, monkeypatch):
    monkeypatch.setenv("REGISTRY_DB", str(tmp_path / "none.duckdb"))
    at = _as("researcher", "store.py")
    assert not at.exception
    assert "registry ingest" in at.warning[0].value


@pytest.fixture
def accounts(store, monkeypatch) -> dict[str, str]:
    """One account per role in the store's operational store (cheap hashing for tests)."""
    from argon2 import PasswordHasher

    from registry import accounts as account_module
    from registry.operational_store import open_operational_store

    monkeypatch.setattr(account_module, "PASSWORD_HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    ops = open_operational_store(store)
    return {role: account_module.create_user(ops, f"{role}1", role, password=f"pw-{role}-123456",
                                             must_change_password=False)
            for role in ("registrar", "researcher", "administrator")}


def _sign_in(user: str, password: str) -> AppTest:
    at = AppTest.from_file(str(PAGES.parent / "app.py")).run()
    at.text_input[0].input(user)
    at.text_input[1].input(password)
    at.button[0].click().run()
    return at


def test_before_sign_in_only_the_sign_in_page_exists(store):
    """No ``pages/`` folder beside app.py (Streamlit would list its files before the router runs), and the
    first run before sign-in registers the sign-in page alone: every other view is unreachable."""
    assert not (PAGES.parent / "pages").exists()
    at = AppTest.from_file(str(PAGES.parent / "app.py")).run()
    assert not at.exception
    assert at.title[0].value == "Sign in to Oncoregistry"
    for view in sorted(PAGES.glob("*.py")):
        if view.name != "sign_in.py":
            with pytest.raises(ValueError, match="navigation page"):
                at.switch_page(f"views/{view.name}")


def test_router_starts_on_the_sign_in_page(store):
    at = AppTest.from_file(str(PAGES.parent / "app.py")).run()
    assert not at.exception
    assert at.title[0].value == "Sign in to Oncoregistry"


@pytest.mark.parametrize("role", ["registrar", "researcher", "administrator"])
def test_each_role_signs_in_and_gets_its_pages(accounts, store, role):
    at = _sign_in(f"{role}1", accounts[role])
    assert not at.exception
    from registry.operational_store import open_operational_store as ops_of
    from registry.sessions import resume_session
    assert resume_session(ops_of(store), at.session_state["session_token"]).principal.role == role
    at.switch_page("views/store.py").run()   # a browser lands here by itself after the sign-in rerun
    assert not at.exception
    assert at.title[0].value == "Registry store"
    from registry.audit import events
    from registry.operational_store import open_operational_store
    assert len(events(open_operational_store(store), user=f"{role}1", action="sign-in")) == 1


def test_wrong_password_is_refused_without_revealing_it(accounts, store):
    at = _sign_in("researcher1", "not-the-password")
    assert not at.exception
    assert "session_token" not in at.session_state
    assert at.error and "not-the-password" not in at.error[0].value
    assert at.title[0].value == "Sign in to Oncoregistry"


def test_identity_provider_claims_map_to_roles():
    from dashboard.session import role_from_claims

    mapping = {"claim": "groups", "registrar": "registrars", "researcher": "researchers", "administrator": "admins"}
    assert role_from_claims({"groups": ["researchers", "registrars"]}, mapping) == "registrar"
    assert role_from_claims({"groups": "admins"}, mapping) == "administrator"
    assert role_from_claims({"groups": ["visitors"]}, mapping) is None
    assert role_from_claims({}, mapping) is None
