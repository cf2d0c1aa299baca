"""The cohort pages in a real browser (Playwright driving Debian's chromium): a researcher starts from the EGFR
template, narrows it with a group, sees the attrition, exports a de-identified cohort and downloads the ZIP
(data, dictionary, manifest); an administrator approves a limited-data-set request. Skipped when chromium is
not installed (CI installs it: ``.ci/run``)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.test_browser import ARTIFACTS, CHROMIUM, _local_only, registry_server

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed")
PEOPLE = 40   # EGFR-mutant lung cancers of women alike in every quasi-identifier: one class, larger than k;
#              half of them (the upper lobe) still 16 or more, the least a de-identified export may hold
DUA = "DUA-2026-031"
SURNAMES = ("ABBOTT", "BARNES", "CORTEZ", "DUNCAN", "ELLIS", "FOSTER", "GARCIA", "HOLMES", "INGRAM", "JENSEN",
            "KELLER", "LAWSON", "MORENO", "NOLAN", "OWENS", "PRICE", "QUINN", "ROWE", "SAWYER", "TATE", "UPTON",
            "VAUGHN", "WALSH", "YATES")
FIRST_NAMES = ("ANNA", "BETH", "CLARA", "DIANE")


def _reports() -> list[tuple[dict[str, str], dict[str, str]]]:
    from tests.registry_reports import report

    found = []
    for i in range(PEOPLE):
        found.append(report("1000000001", f"{70000000 + i}", nameLast=SURNAMES[i % 24] + ("SON" if i >= 24 else ""),
                            nameFirst=FIRST_NAMES[i % 4],
                            dateOfBirth=f"1958{1 + i % 12:02d}{1 + i % 28:02d}",
                            socialSecurityNumber=f"{600000000 + i * 7919}", primarySite="C341" if i % 2 else "C343",
                            histologicTypeIcdO3="8140", laterality="1", dateOfDiagnosis="20200615",
                            summaryStage2018="7", egfrMutationalAnalysis="1",
                            npiPhysicianManaging="1234567893"))
    return found


@pytest.fixture(scope="module")
def cohort_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """`registry serve` over a store of the lung cancers above, the demo accounts, and a limited-data-set
    export request of a researcher with the `lds` grant waiting for an administrator."""
    from pipelines.load import ingest_file
    from registry.accounts import ensure_demo_accounts
    from registry.cohort_definition import CohortDefinition
    from registry.definition_export import export_definition
    from registry.operational_store import open_operational_store
    from registry.principal import Principal
    from registry.trial_templates import trial_template
    from tests.registry_reports import write_reports

    root = tmp_path_factory.mktemp("cohort-browser")
    db = root / "store" / "registry.duckdb"
    ingest_file(write_reports(root / "lung.xml", _reports()), db_path=db, user="tests")
    ops = open_operational_store(db)
    ensure_demo_accounts(ops)
    pending = export_definition(Principal("lds-researcher", "researcher", frozenset({"lds"})), db, ops,
                                CohortDefinition.from_json(trial_template("egfr-nsclc").definition),
                                variables=["dateOfDiagnosis", "primarySite"], file_format="csv",
                                destination=root / "never.zip", kind="limited_data_set")
    assert pending.status == "pending"
    with registry_server(db) as url:
        yield url, db


def _sign_in(page: Any, server: str, user: str) -> None:
    page.goto(server, wait_until="networkidle")
    page.get_by_role("textbox", name="User name").fill(user)
    page.get_by_role("textbox", name="Password").fill(f"demo-{user}")
    page.get_by_role("button", name="Sign in").click()


def _choose(page: Any, label: str, text: str) -> None:
    """Type into the last select or multiselect box so labelled and take the first match."""
    box = page.locator("[data-testid='stSelectbox'], [data-testid='stMultiSelect']").filter(has_text=label).last
    box.locator("input").click()
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")   # a multiselect keeps its menu open


def test_researcher_builds_and_exports_a_cohort_and_an_administrator_approves_a_request(
        cohort_server: tuple[str, Path]) -> None:
    from playwright.sync_api import sync_playwright

    from registry.audit import events
    from registry.export_requests import list_requests
    from registry.operational_store import open_operational_store
    from registry.principal import Principal

    server, db = cohort_server
    ARTIFACTS.mkdir(exist_ok=True)
    outside: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(accept_downloads=True, viewport={"width": 1400, "height": 1200})
        _local_only(page, outside)
        _sign_in(page, server, "researcher")
        page.get_by_role("link", name="Cohort builder").click()
        page.get_by_role("heading", name="Cohort builder").wait_for(timeout=60_000)

        # Start from the EGFR template.
        page.get_by_text("Start from a template, a saved definition or a file").click()
        _choose(page, "Template or saved definition", "EGFR")
        page.get_by_role("button", name="Load", exact=True).click()
        page.get_by_text("Loaded template: EGFR-mutant").wait_for(timeout=60_000)
        page.get_by_role("heading", name="Attrition").first.wait_for(timeout=60_000)
        page.get_by_text("EGFR mutated (exons 18-21)").first.wait_for(state="attached", timeout=60_000)

        # Narrow it: a new group, upper lobe only (C341), named.
        page.get_by_role("button", name="Add group", exact=True).click()
        page.get_by_text("codes is empty").wait_for(timeout=60_000)
        _choose(page, "Topography codes or ranges", "C341")
        page.get_by_text("codes is empty").wait_for(state="detached", timeout=60_000)
        page.get_by_role("heading", name="Attrition").first.wait_for(timeout=60_000)
        page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
        page.get_by_text("Group 6").first.wait_for(state="attached", timeout=60_000)   # the new step
        page.screenshot(path=str(ARTIFACTS / "12-cohort-builder.png"), full_page=True)

        # Export the de-identified cohort and download the ZIP.
        page.get_by_role("button", name="Export", exact=True).click()
        download_button = page.get_by_role("button", name="Download the cohort (ZIP)")
        download_button.wait_for(timeout=120_000)
        with page.expect_download(timeout=60_000) as download:
            download_button.click()
        content = Path(download.value.path()).read_bytes()
        page.screenshot(path=str(ARTIFACTS / "13-cohort-exported.png"), full_page=True)
        page.context.clear_cookies()

        # An administrator approves the waiting limited-data-set request.
        admin = browser.new_page(viewport={"width": 1400, "height": 1100})
        _local_only(admin, outside)
        _sign_in(admin, server, "administrator")
        admin.get_by_role("link", name="Export requests").click()
        admin.get_by_role("heading", name="Waiting for a decision").wait_for(timeout=60_000)
        form = admin.locator("[data-testid='stForm']").filter(has_text="Data use agreement reference")
        form.get_by_role("textbox", name="Data use agreement reference").fill(DUA)
        form.get_by_role("button", name="Approve").click()
        admin.get_by_text(f"approved under {DUA}").wait_for(timeout=60_000)
        admin.screenshot(path=str(ARTIFACTS / "14-export-request-approved.png"), full_page=True)
        browser.close()
    assert outside == [], f"requests left localhost: {outside[:5]}"

    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert set(archive.namelist()) == {"cohort.csv", "data_dictionary.csv", "manifest.json"}
        data = pd.read_csv(io.BytesIO(archive.read("cohort.csv")), dtype=str)
        dictionary = pd.read_csv(io.BytesIO(archive.read("data_dictionary.csv")), dtype=str)
        manifest = json.loads(archive.read("manifest.json"))
    assert len(data) == manifest["rows"] == PEOPLE // 2                       # the upper-lobe half
    assert set(data["primarySite"]) <= {"C341", "C34"} and set(data["dateOfDiagnosis"]) == {"2020"}   # year only
    assert set(data.columns) <= set(dictionary["column"])
    assert manifest["kind"] == "safe_harbor" and manifest["definition"]["groups"][-1]["criteria"][0]["codes"] == ["C341"]
    ops = open_operational_store(db)
    [request] = list_requests(Principal("admin", "administrator"), ops)
    assert (request.status, request.dua_reference, request.decided_by) == ("approved", DUA, "administrator")
    assert events(ops, user="researcher", action="cohort-export", limit=1)
