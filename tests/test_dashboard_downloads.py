"""Every file the dashboard hands out is audited: no page calls ``st.download_button`` itself, only the one
helper (`dashboard.common.download_file`), whose click writes one `download` event, and the router tells it
which page the download came from."""

from __future__ import annotations

import ast
from pathlib import Path

DASHBOARD = Path(__file__).resolve().parents[1] / "dashboard"
HELPER = ("common.py", "download_file")


def _names_download_button(node: ast.AST) -> bool:
    """`x.download_button`, a bare `download_button` or `from streamlit import download_button`."""
    if isinstance(node, ast.Attribute):
        return node.attr == "download_button"
    if isinstance(node, ast.Name):
        return node.id == "download_button"
    return isinstance(node, ast.ImportFrom) and any(a.name == "download_button" for a in node.names)


def _download_buttons(path: Path) -> list[tuple[str, int]]:
    """(enclosing function, line) of every use of a `download_button` attribute in a module."""
    found: list[tuple[str, int]] = []

    def walk(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                walk(child, child.name)
                continue
            if _names_download_button(child):
                found.append((function, child.lineno))
            walk(child, function)
    walk(ast.parse(path.read_text(encoding="utf-8")), "<module>")
    return found


def test_no_download_button_outside_the_audited_helper() -> None:
    uses = {(str(path.relative_to(DASHBOARD)), function, line)
            for path in DASHBOARD.rglob("*.py") for function, line in _download_buttons(path)}
    direct = sorted(use for use in uses if use[:2] != HELPER)
    assert direct == [], f"download buttons that bypass dashboard.common.download_file (not audited): {direct}"
    assert len(uses) == 1, "the helper itself offers the file"


def test_the_walk_finds_a_direct_button(tmp_path: Path) -> None:
    page = tmp_path / "page.py"
    page.write_text("import streamlit as st\nfrom streamlit import download_button\n\n"
                    "def offer():\n    st.download_button('x', b'1')\n\ndownload_button('y', b'2')\n")
    assert _download_buttons(page) == [("<module>", 2), ("offer", 5), ("<module>", 7)]
