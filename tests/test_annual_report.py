"""The annual report PDF read back (pypdf): its pages, headings, charts and figures, as a registrar and as an
administrator receive it; audited as an export; refused to researchers."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from registry.annual_report import HEADINGS, annual_report
from registry.audit import events
from registry.errors import AccessDenied
from registry.operational_store import open_operational_store
from registry.principal import Principal
from registry_cli.app import app
from tests.program_store import ANN, CORRECTED, DECIDED, FACILITIES, ProgramStore

YEAR = 2022
REGISTRAR = Principal("report-registrar", "registrar", frozenset())
ADMINISTRATOR = Principal("report-administrator", "administrator", frozenset())


@pytest.fixture
def store(program_store: ProgramStore) -> ProgramStore:
    return program_store


def read_back(document: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(document))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def test_registrar_report_reads_back(store: ProgramStore) -> None:
    document = annual_report(REGISTRAR, store.db, YEAR)
    reader, text = read_back(document)
    assert len(reader.pages) >= 2
    assert f"Annual report {YEAR}" in text
    for heading in HEADINGS:
        assert heading in text, heading
    in_year = store.reports[store.reports["dateOfDiagnosis"].str[:4] == str(YEAR)]
    assert f"Reports received: {len(in_year):,}." in text
    assert f"Registry tumors: {in_year['person'].nunique():,}." in text
    assert all(facility in text for facility in FACILITIES)
    assert sum(len(page.images) for page in reader.pages) >= 4   # facility, site group, payer, timeliness charts
    assert "suppressed" not in text
    loaded = store.reports.groupby("file").size()
    assert f"{ANN.user} {store.month} {loaded['a']} {DECIDED} 0 {CORRECTED}" in text      # workload, this month
    audit = events(open_operational_store(store.db), user=REGISTRAR.user, action="export", limit=1)[0]
    assert audit.detail["document"] == "annual-report" and audit.detail["year"] == YEAR
    assert audit.detail["bytes"] == len(document)


def test_administrator_report_is_suppressed(store: ProgramStore) -> None:
    """The administrator's report has the same headings; its small cells read "suppressed", and its totals
    (released counts of 16 or more) are those the registrar reads."""
    _, text = read_back(annual_report(ADMINISTRATOR, store.db, YEAR))
    for heading in HEADINGS:
        assert heading in text, heading
    assert "suppressed" in text
    in_year = store.reports[store.reports["dateOfDiagnosis"].str[:4] == str(YEAR)]
    assert len(in_year) >= 16 and f"Reports received: {len(in_year):,}." in text


def test_researchers_get_no_report(store: ProgramStore) -> None:
    with pytest.raises(AccessDenied):
        annual_report(Principal("report-researcher", "researcher", frozenset()), store.db, YEAR)


def test_command_writes_the_report(store: ProgramStore, tmp_path: Path) -> None:
    """`registry report annual` writes the administrator's (suppressed) report, audited as the console's export."""
    target = tmp_path / "annual.pdf"
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["report", "annual", "--year", str(YEAR), "--out",
                                                            str(target), "--db", str(store.db)])
    assert result.exit_code == 0, result.output
    assert f"annual report {YEAR} written" in result.output
    reader, text = read_back(target.read_bytes())
    assert len(reader.pages) >= 2 and HEADINGS[-1] in text and "suppressed" in text
    audit = events(open_operational_store(store.db), action="export", limit=1)[0]
    assert audit.user.startswith("console:") and audit.detail["document"] == "annual-report"
    missing = CliRunner().invoke(app, ["report", "annual", "--year", str(YEAR), "--out", str(target), "--db",
                                       str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 2 and "no registry store" in missing.output


def test_an_empty_store_gives_a_report_of_nothing(tmp_path: Path) -> None:
    from registry.store_writes import ensure_store

    db = tmp_path / "new.duckdb"
    ensure_store(db)
    reader, text = read_back(annual_report(REGISTRAR, db, YEAR))
    assert "Reports received: 0." in text and all(heading in text for heading in HEADINGS)
    assert sum(len(page.images) for page in reader.pages) >= 4   # each chart drawn, saying it has nothing to show
