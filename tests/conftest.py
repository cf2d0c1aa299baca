"""Shared fixtures: small NAACCR XML documents written from plain dictionaries."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

Patient = tuple[dict[str, str], Sequence[dict[str, str]]]


def naaccr_xml(patients: Sequence[Patient], *, version: str = "250", record_type: str = "I",
               root_items: dict[str, str] | None = None, spec: str = "1.8") -> str:
    """A NAACCR XML document, one Item per line, items in the order given."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<NaaccrData baseDictionaryUri="http://naaccr.org/naaccrxml/naaccr-dictionary-{version}.xml" '
             f'recordType="{record_type}" specificationVersion="{spec}" xmlns="http://naaccr.org/naaccrxml">']
    for key, value in (root_items or {}).items():
        lines.append(f'  <Item naaccrId="{key}">{escape(value)}</Item>')
    for patient_items, tumors in patients:
        lines.append("  <Patient>")
        lines += [f'    <Item naaccrId="{k}">{escape(v)}</Item>' for k, v in patient_items.items()]
        for tumor in tumors:
            lines.append("    <Tumor>")
            lines += [f'      <Item naaccrId="{k}">{escape(v)}</Item>' for k, v in tumor.items()]
            lines.append("    </Tumor>")
        lines.append("  </Patient>")
    lines.append("</NaaccrData>")
    return "\n".join(lines) + "\n"


@pytest.fixture
def write_xml(tmp_path: Path) -> Callable[..., Path]:
    """Write a NAACCR XML document into tmp_path and return its path."""
    def write(name: str, patients: Sequence[Patient], **kwargs: object) -> Path:
        path = tmp_path / name
        path.write_text(naaccr_xml(patients, **kwargs), encoding="utf-8")  # type: ignore[arg-type]
        return path
    return write


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A fresh store location."""
    return tmp_path / "data" / "registry.duckdb"
