"""Dashboard entry point: sign-in, then the pages the signed-in role may use (each in dashboard/views/)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.session import ROUTED_KEY, account_controls, current_session
from registry.api import (
    CHANGE_OWN_PASSWORD,
    FIND_PATIENT,
    LINK_REVIEW,
    READ_AGGREGATES,
    VIEW_INGEST_BATCHES,
    VIEW_STORE_OVERVIEW,
    allowed,
)

PAGES = Path(__file__).parent / "views"
# (file stem, title, section, the action of the access table it needs)
PAGE_LIST: tuple[tuple[str, str, str, str], ...] = (
    ("overview", "Overview", "Explore", READ_AGGREGATES),
    ("incidence_map", "Incidence map", "Explore", READ_AGGREGATES),
    ("trends", "Trends", "Explore", READ_AGGREGATES),
    ("survival", "Survival", "Explore", READ_AGGREGATES),
    ("recurrence", "Recurrence", "Explore", READ_AGGREGATES),
    ("store", "Store overview", "Registry", VIEW_STORE_OVERVIEW),
    ("batches", "Ingest batches", "Registry", VIEW_INGEST_BATCHES),
    ("link_review", "Linkage review", "Registry", LINK_REVIEW),
    ("find_patient", "Find a patient", "Registry", FIND_PATIENT),
    ("change_password", "Change password", "Account", CHANGE_OWN_PASSWORD),
)
DEFAULT_PAGE = "overview"


def stand_in(page: str, title: str) -> st.Page:
    """Navigation where every page's address shows `page` (sign-in, forced password change): a link opened
    now lands on its own page, with its filters in the query string, once that is done."""
    return st.navigation([st.Page(PAGES / f"{page}.py", title=title, url_path=stem, default=stem == DEFAULT_PAGE)
                          for stem, *_ in PAGE_LIST], position="hidden")

st.set_page_config(page_title="Oncoregistry", layout="wide")
active = current_session()
account_controls(active)
if active is None:
    navigation = stand_in("sign_in", "Sign in")
elif active.must_change_password:
    navigation = stand_in("change_password", "Change password")
else:
    principal = active.principal
    sections: dict[str, list[st.Page]] = {}
    for stem, title, section, action in PAGE_LIST:
        if allowed(principal, action):
            sections.setdefault(section, []).append(st.Page(PAGES / f"{stem}.py", title=title,
                                                            default=stem == DEFAULT_PAGE))
    navigation = st.navigation(sections)
st.session_state[ROUTED_KEY] = True
try:
    navigation.run()
finally:
    st.session_state.pop(ROUTED_KEY, None)
