"""The registrar's workbench in a real browser (Playwright driving Debian's chromium): find a patient, open the
record, open its work item, correct the histology, resolve the item; then the source report is unchanged,
the record shows the correction and its history, the audit trail has each step and the overview's incidence
table counts the corrected value. Skipped when chromium is not installed (CI installs it: ``.ci/run``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.test_browser import ARTIFACTS, CHROMIUM, _local_only, registry_server

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed")

# A third hospital's report whose histology is not an ICD-O-3 code: the edits flag it, the worklist holds it.
ELEANOR = {"nameLast": "HARGREAVES", "nameFirst": "ELEANOR", "dateOfBirth": "19520917",
           "socialSecurityNumber": "631204455", "primarySite": "C169", "histologicTypeIcdO3": "8888",
           "laterality": "0", "dateOfDiagnosis": "20210611"}
CORRECTED = "9680"   # diffuse large B-cell lymphoma: the stomach tumor becomes a non-Hodgkin lymphoma
REASON = "pathology report: diffuse large B-cell lymphoma of the stomach"


@pytest.fixture(scope="module")
def workbench_server(tmp_path_factory: pytest.TempPathFactory) -> object:
    """`registry serve` over the two hospitals' store plus Eleanor's report with an invalid histology."""
    from pipelines.load import ingest_file
    from registry.accounts import ensure_demo_accounts
    from registry.operational_store import open_operational_store
    from tests.registry_reports import report, two_hospitals_store, write_reports

    root = tmp_path_factory.mktemp("workbench-browser")
    db = two_hospitals_store(root)
    ingest_file(write_reports(root / "h3.xml", [report("3000000003", "00000301", **ELEANOR)]), db_path=db,
                user="tests")
    ensure_demo_accounts(open_operational_store(db))
    with registry_server(db) as url:
        yield url, db


def _eleanor(db: Path) -> tuple[int, int, str, str]:
    """(registry patient, registry tumor, her report's histology as received, the registry tumor's histology)."""
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute(
            "SELECT rt.patient_id, rt.tumor_id, si.value, rt.histology FROM source_item si "
            "JOIN tumor t ON t.batch_id = si.batch_id AND t.tumor_seq = si.entity_seq "
            "JOIN tumor_link tl ON tl.source_tumor_id = t.tumor_id "
            "JOIN registry_tumor rt ON rt.tumor_id = tl.registry_tumor_id "
            "WHERE si.level = 2 AND si.naaccr_id = 'histologicTypeIcdO3' AND t.primary_site = 'C169'").fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), str(row[2]), str(row[3])


def _follow(page: Any, link: Any) -> Any:
    """Click a link in a page's text; Streamlit opens such links in a new tab, which is where work goes on (the
    session cookie signs it in)."""
    with page.context.expect_page(timeout=60_000) as opened:
        link.click()
    new_page = opened.value
    new_page.wait_for_load_state("networkidle")
    return new_page


def _site_groups_csv(page: Any) -> str:
    """The overview's table of site groups, as its CSV download gives it."""
    heading = page.get_by_role("heading", name="Most frequent site groups")
    heading.wait_for(timeout=60_000)
    button = heading.locator("xpath=following::button[contains(., 'Download the data (CSV)')][1]")
    with page.expect_download(timeout=60_000) as download:
        button.click()
    return Path(download.value.path()).read_text(encoding="utf-8")


def test_registrar_corrects_a_histology_from_the_work_item_and_resolves_it(workbench_server: tuple[str, Path]) -> None:
    from playwright.sync_api import sync_playwright

    from registry.audit import events, verify_chain
    from registry.operational_store import open_operational_store
    from registry.principal import Principal
    from registry.worklist import list_items

    server, db = workbench_server
    patient_id, tumor_id, received, _ = _eleanor(db)
    ops = open_operational_store(db)
    [item] = [i for i in list_items(Principal("registrar", "registrar"), ops, limit=100)
              if i.registry_tumor_id == tumor_id and i.status == "open"]
    ARTIFACTS.mkdir(exist_ok=True)
    outside: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(accept_downloads=True, viewport={"width": 1400, "height": 1100})
        _local_only(page, outside)
        page.goto(server, wait_until="networkidle")
        page.get_by_role("textbox", name="User name").fill("registrar")
        page.get_by_role("textbox", name="Password").fill("demo-registrar")
        page.get_by_role("button", name="Sign in").click()
        before = _site_groups_csv(page)
        assert "Stomach" in before and "Non-Hodgkin Lymphomas" not in before

        # Find her, open her record.
        page.get_by_role("link", name="Find a patient").click()
        page.get_by_role("textbox", name="Last name").fill("Hargreaves")
        page.get_by_role("textbox", name="Birth date").fill("1952-09-17")
        page.get_by_role("button", name="Search").click()
        page = _follow(page, page.get_by_role("link", name=f"registry patient {patient_id}"))
        page.get_by_role("heading", name=f"Registry patient {patient_id}").wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "9-workbench-record.png"), full_page=True)

        # Her tumor's work item, from the record.
        page = _follow(page, page.get_by_role("link", name=f"work item {item.work_item_id}").first)
        page.get_by_role("heading", name=f"Work item {item.work_item_id}").wait_for(timeout=60_000)
        page.get_by_text("histologicTypeIcdO3=8888").first.wait_for(state="attached", timeout=60_000)  # a grid cell
        form = page.locator("[data-testid='stForm']").filter(has_text="New value (NAACCR code)")
        item_choice = form.locator("[data-testid='stSelectbox']").locator("input")
        assert item_choice.input_value() == "histologicTypeIcdO3"      # the item in question comes first
        form.get_by_role("textbox", name="New value (NAACCR code)").fill(CORRECTED)
        form.get_by_role("textbox", name="Reason (kept with the correction)").fill(REASON)
        form.get_by_role("button", name="Correct").click()
        page.get_by_text(f"corrected from 8888 to {CORRECTED}").wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "10-work-item-corrected.png"), full_page=True)

        resolve = page.locator("[data-testid='stForm']").filter(has_text="Resolution note")
        resolve.get_by_role("textbox", name="Resolution note").fill("histology corrected from the pathology report")
        resolve.get_by_role("button", name="Resolve").click()
        page.get_by_text("is now").first.wait_for(timeout=60_000)
        page.get_by_text("resolved").first.wait_for(timeout=60_000)

        # The record shows the corrected value and the correction's history.
        page.goto(f"{server}/record?patient={patient_id}", wait_until="networkidle")
        page.get_by_role("heading", name=f"Registry patient {patient_id}").wait_for(timeout=60_000)
        page.get_by_role("tab", name="Corrections").click()
        page.get_by_text(REASON).first.wait_for(state="attached", timeout=60_000)   # a grid cell
        page.screenshot(path=str(ARTIFACTS / "11-record-corrected.png"), full_page=True)

        # The incidence table counts the corrected value.
        page.get_by_role("link", name="Overview", exact=True).click()
        after = _site_groups_csv(page)
        assert "Non-Hodgkin Lymphomas" in after and "Stomach" not in after
        browser.close()
    assert outside == [], f"requests left localhost: {outside[:5]}"

    _, _, received_after, registry_value = _eleanor(db)
    assert (received_after, registry_value) == (received, CORRECTED) == ("8888", CORRECTED)   # the report as received
    [resolved] = [i for i in list_items(Principal("registrar", "registrar"), ops, limit=100)
                  if i.work_item_id == item.work_item_id]
    assert resolved.status == "resolved"
    steps = [e.action for e in reversed(events(ops, user="registrar", limit=200))]
    for action in ("sign-in", "find-patient", "record-view", "correction", "worklist-resolve"):
        assert action in steps, f"{action} is not in the audit trail: {steps}"
    assert steps.index("find-patient") < steps.index("correction") < steps.index("worklist-resolve")
    assert verify_chain(ops).ok
