"""Dashboard pages render over a fixture store and show its numbers (Streamlit AppTest)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pipelines.load import ingest_file
from tests.dashboard_session import session_token

PAGES = Path(__file__).resolve().parents[1] / "dashboard" / "pages"
PATIENT = {"patientIdNumber": "00000001", "sex": "2"}
TUMOR = {"primarySite": "C509", "dateOfDiagnosis": "20200101"}


@pytest.fixture
def store(write_xml, db_path, monkeypatch) -> Path:
    ingest_file(write_xml("a.xml", [(PATIENT, [TUMOR, TUMOR]), ({**PATIENT, "patientIdNumber": "2"}, [TUMOR])]),
                db_path=db_path)
    ingest_file(write_xml("b.xml", [(PATIENT, [{**TUMOR, "bogus": "1"}])]), db_path=db_path)
    monkeypatch.setenv("REGISTRY_DB", str(db_path))
    return db_path


def test_store_overview_shows_counts(store):
    at = AppTest.from_file(str(PAGES / "store.py"))
    at.session_state["session_token"] = session_token("researcher")
    at.run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    # b.xml: its only tumor is rejected, its patient record (valid) is kept
    assert metrics == {"Tumors": "3", "Patients": "3", "Rejected records": "1"}


def _as(role: str) -> AppTest:
    at = AppTest.from_file(str(PAGES / "batches.py"))
    at.session_state["session_token"] = session_token(role)
    return at.run()


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
    assert list(rejects["rule"]) == ["unknown-item"]


def test_pages_explain_an_empty_store(tmp_path, monkeypatch):
    monkeypatch.setenv("REGISTRY_DB", str(tmp_path / "none.duckdb"))
    at = AppTest.from_file(str(PAGES / "store.py"))
    at.session_state["session_token"] = session_token("researcher")
    at.run()
    assert not at.exception
    assert "registry ingest" in at.warning[0].value


@pytest.fixture
def accounts(store, monkeypatch) -> dict[str, str]:
    """One account per role in the store's operational store (cheap hashing for tests)."""
    from argon2 import PasswordHasher

    from registry import accounts as account_module
    from registry.operational import open_operational_store

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


def test_router_starts_on_the_sign_in_page(store):
    at = AppTest.from_file(str(PAGES.parent / "app.py")).run()
    assert not at.exception
    assert at.title[0].value == "Sign in to Oncoregistry"


@pytest.mark.parametrize("role", ["registrar", "researcher", "administrator"])
def test_each_role_signs_in_and_gets_its_pages(accounts, store, role):
    at = _sign_in(f"{role}1", accounts[role])
    assert not at.exception
    from registry.accounts import resume_session
    from registry.operational import open_operational_store as ops_of
    assert resume_session(ops_of(store), at.session_state["session_token"]).principal.role == role
    at.switch_page("pages/store.py").run()   # a browser lands here by itself after the sign-in rerun
    assert not at.exception
    assert at.title[0].value == "Registry store"
    from registry.audit import events
    from registry.operational import open_operational_store
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
