"""Dashboard entry point: sign-in, then the pages the signed-in role may use (each in dashboard/views/)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.page_list import DEFAULT_PAGE, PAGE_LIST, PAGES
from dashboard.session import PAGE_KEY, ROUTED_KEY, account_controls, current_session
from registry.api import allowed

HOME = "home"   # the default page's url path: Streamlit addresses it as "/" (its hash is made from this)


def stand_in(page: str, title: str) -> st.Page:
    """Navigation where every page's address shows `page` (sign-in, forced password change): a link opened
    now lands on its own page, with its filters in the query string, once that is done."""
    script = PAGES / f"{page}.py"
    return st.navigation([st.Page(script, title=title, url_path=own_path(stem), default=stem == DEFAULT_PAGE)
                          for stem, *_ in PAGE_LIST] + [by_name(script, title)], position="hidden")


def own_path(stem: str) -> str:
    """A page's url path; the default page's is never used in an address (Streamlit serves it at "/")."""
    return HOME if stem == DEFAULT_PAGE else stem


def by_name(script: Path, title: str) -> st.Page:
    """The default page again under its own name, out of the menu: Streamlit serves the default page only at
    "/", so a link or bookmark to /overview would otherwise open a "Page not found" box."""
    return st.Page(script, title=title, url_path=DEFAULT_PAGE, visibility="hidden")


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
                                                            url_path=own_path(stem), default=stem == DEFAULT_PAGE))
            if stem == DEFAULT_PAGE:
                sections[section].append(by_name(PAGES / f"{stem}.py", title))
    navigation = st.navigation(sections, expanded=True)   # every page listed (a registrar has 14)
st.session_state[ROUTED_KEY] = True
st.session_state[PAGE_KEY] = navigation.url_path or DEFAULT_PAGE
try:
    navigation.run()
finally:
    st.session_state.pop(ROUTED_KEY, None)
    st.session_state.pop(PAGE_KEY, None)
