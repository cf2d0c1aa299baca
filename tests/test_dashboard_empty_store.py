"""Pages over a store that is new, or has tumors but no population yet: no page fails, each says what to load."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pipelines.load import ingest_file
from registry.store_writes import ensure_store
from tests.dashboard_session import session_token

PAGES = Path(__file__).resolve().parents[1] / "dashboard" / "views"
ROLES = ("registrar", "researcher", "administrator")
pytestmark = pytest.mark.filterwarnings("ignore::registry.stats.result.StatisticalWarning")
ANALYSIS_PAGES = ("overview.py", "incidence_map.py", "trends.py", "survival.py", "recurrence.py", "store.py")


def render(page: str, role: str) -> AppTest:
    at = AppTest.from_file(str(PAGES / page), default_timeout=60)
    at.session_state["session_token"] = session_token(role, f"empty-{role}")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def messages(at: AppTest) -> str:
    return " ".join(str(m.value) for kind in (at.info, at.warning, at.error) for m in kind)


# First: the shared sample registry is built with spawned worker processes, which must start before any
# AppTest run in this process has replaced the main module with a page script.
def test_tumors_without_population_still_show_counts(sample_registry: dict[str, object], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "no-population.duckdb"
    first = sorted((Path(str(sample_registry["out"])) / "naaccr" / "xml").rglob("*.xml"))[0]
    assert ingest_file(first, db_path=db, user="test").status == "loaded"
    monkeypatch.setenv("REGISTRY_DB", str(db))
    at = render("overview.py", "registrar")
    assert "registry population load" in messages(at)
    assert at.dataframe[0].value["total"].sum() > 0   # the site counts are there without denominators
    assert "registry population load" in messages(render("trends.py", "registrar"))
    assert not render("survival.py", "registrar").info   # survival needs no population


@pytest.mark.parametrize("role", ROLES)
def test_a_new_store_says_what_to_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, role: str) -> None:
    db = tmp_path / "new.duckdb"
    ensure_store(db)
    monkeypatch.setenv("REGISTRY_DB", str(db))
    for page in ANALYSIS_PAGES:
        render(page, role)
    assert "registry ingest" in messages(render("overview.py", role))
    assert "registry population load" in messages(render("incidence_map.py", role))
