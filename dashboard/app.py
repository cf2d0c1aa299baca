"""Dashboard entry point: sign-in, then the pages the signed-in role may use (each in dashboard/views/)."""

from __future__ import annotations

import streamlit as st

from dashboard.page_list import DEFAULT_PAGE, PAGE_LIST, PAGES
from dashboard.session import PAGE_KEY, ROUTED_KEY, account_controls, current_session
from registry.api import allowed


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
    navigation = st.navigation(sections, expanded=True)   # every page listed (a registrar has 14)
st.session_state[ROUTED_KEY] = True
st.session_state[PAGE_KEY] = navigation.url_path or DEFAULT_PAGE
try:
    navigation.run()
finally:
    st.session_state.pop(ROUTED_KEY, None)
    st.session_state.pop(PAGE_KEY, None)
