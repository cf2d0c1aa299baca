"""The main flows in a real browser (Playwright driving Debian's chromium): a researcher signs in, opens the
map with a site chosen, selects a county by clicking it, downloads the CSV, opens survival; a registrar
decides a linkage review pair, finds a patient and opens the patient's record. Screenshots go to ``test-artifacts/``; no request may
leave localhost. Skipped when chromium is not installed (CI installs it: ``.ci/run``)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
COUNTY_NAMES: dict[str, str] = {}
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_listening(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.5)


@contextmanager
def registry_server(db: Path) -> Iterator[str]:
    """`registry serve` over the store `db` on a free local port, for the length of the block: its address."""
    port = _free_port()
    process = subprocess.Popen([str(Path(sys.executable).parent / "registry"), "serve", "--db", str(db),
                                "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_until_listening(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)


def _local_only(page: object, outside: list[str]) -> None:
    """Refuse every request that would leave this machine, and note it."""
    def guard(route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        host = urlparse(url).hostname or ""
        if url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            route.continue_()  # type: ignore[attr-defined]
        else:
            outside.append(url)
            route.abort()  # type: ignore[attr-defined]

    page.route("**/*", guard)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def server(sample_registry: dict[str, object]) -> object:
    from registry.accounts import ensure_demo_accounts
    from registry.operational_store import open_operational_store

    db = Path(str(sample_registry["db"]))
    ensure_demo_accounts(open_operational_store(db))
    port = _free_port()
    env = {**os.environ, "REGISTRY_DB": str(db)}
    app = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"
    process = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
                                "--server.headless", "true", "--browser.gatherUsageStats", "false",
                                "--server.address", "127.0.0.1"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_until_listening(port)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=20)


def test_sign_in_map_county_download_survival(server: str) -> None:
    from playwright.sync_api import sync_playwright

    from registry.geography import counties

    COUNTY_NAMES.update(counties().set_index("fips")["county_name"].to_dict())
    ARTIFACTS.mkdir(exist_ok=True)
    outside: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(accept_downloads=True, viewport={"width": 1400, "height": 1000})
        _local_only(page, outside)
        page.goto(server, wait_until="networkidle")
        page.get_by_role("textbox", name="User name").fill("researcher")
        page.get_by_role("textbox", name="Password").fill("demo-researcher")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("Most frequent site groups").wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "1-overview.png"))

        # Within the signed-in session: the sidebar link, then choose a site group.
        page.get_by_role("link", name="Incidence map").click()
        page.get_by_text("State rate per 100,000").wait_for(timeout=60_000)
        site = page.locator("[data-testid='stSelectbox']").filter(has_text="Site group")
        site.locator("input").click()
        page.keyboard.type("Breast")
        page.keyboard.press("Enter")
        page.wait_for_url("**site=39**", timeout=60_000)
        page.get_by_text("Breast,").first.wait_for(timeout=60_000)
        chart = page.locator(".js-plotly-plot").first
        chart.wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "2-map.png"))

        # Select a county by clicking the map (the middle of Kansas): it becomes the chosen county.
        county = page.locator("[data-testid='stSelectbox']").filter(has_text="County (or click").locator("input")
        county.wait_for(timeout=60_000)
        listed_first = county.input_value()   # before any click, the first county of the list is shown
        page.wait_for_timeout(2_000)   # the map canvas draws after the element appears
        box = chart.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_function("first => !window.location.search.includes('county=' + first)",
                               arg=[k for k, v in COUNTY_NAMES.items() if v == listed_first and k.startswith("20")][0],
                               timeout=60_000)
        chosen = parse_qs(urlparse(page.url).query)["county"][0]
        assert chosen.startswith("20") and COUNTY_NAMES[chosen] != listed_first
        page.wait_for_function("([selector, name]) => document.querySelector(selector)?.value === name",
                               arg=["input[aria-label='County (or click one on the map)']", COUNTY_NAMES[chosen]],
                               timeout=60_000)
        page.get_by_text("Age-specific rates per 100,000").wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "3-county.png"), full_page=True)
        with page.expect_download(timeout=60_000) as download:
            page.get_by_role("button", name="Download the data (CSV)").first.click()
        csv_text = Path(download.value.path()).read_text(encoding="utf-8")
        assert csv_text.startswith("# method:") and "county_fips" in csv_text

        page.get_by_role("link", name="Survival").click()
        page.get_by_text("Median survival").or_(page.get_by_text("median")).first.wait_for(timeout=60_000)
        page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "4-survival.png"))
        browser.close()
    assert outside == [], f"requests left localhost: {outside[:5]}"


def _session_cookies(context: object) -> list[dict[str, str]]:
    """The session cookie, once the page's script has set it (it runs after the page has drawn)."""
    deadline = time.monotonic() + 30
    while True:
        found = [c for c in context.cookies() if c["name"] == "oncoregistry_session"]  # type: ignore[attr-defined]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.25)


def test_deep_link_survives_sign_in_reload_keeps_the_session_filters_follow_pages(server: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(f"{server}/survival?site=39&sex=2&method=ederer2", wait_until="networkidle")
        page.get_by_role("textbox", name="User name").fill("researcher")
        assert page.get_by_text("Page not found").count() == 0
        page.get_by_role("textbox", name="Password").fill("demo-researcher")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Survival").wait_for(timeout=60_000)
        query = parse_qs(urlparse(page.url).query)
        assert (query["site"], query["sex"], query["method"]) == (["39"], ["2"], ["ederer2"])
        [cookie] = _session_cookies(context)
        assert cookie["sameSite"] == "Strict" and cookie["value"] not in page.url

        page.reload(wait_until="networkidle")                       # still signed in, same view
        page.get_by_role("button", name="Sign out").wait_for(timeout=60_000)
        assert page.get_by_role("heading", name="Sign in to Oncoregistry").count() == 0
        page.get_by_role("link", name="Trends").click()             # the menu link drops the query string...
        page.get_by_role("heading", name="Incidence trends").wait_for(timeout=60_000)
        page.wait_for_url("**site=39**", timeout=60_000)            # ...the filters come along anyway
        site = page.locator("[data-testid='stSelectbox']").filter(has_text="Site group").locator("input")
        assert site.input_value() == "Breast (female)"

        page.get_by_role("button", name="Sign out").click()
        page.get_by_role("heading", name="Sign in to Oncoregistry").wait_for(timeout=60_000)
        page.reload(wait_until="networkidle")
        page.get_by_role("heading", name="Sign in to Oncoregistry").wait_for(timeout=60_000)
        assert not [c for c in context.cookies() if c["name"] == "oncoregistry_session"]
        browser.close()


@pytest.fixture(scope="module")
def registrar_server(tmp_path_factory: pytest.TempPathFactory) -> object:
    """`registry serve` over the two hospitals' store (a patient pair and a tumor pair wait for review)."""
    from registry.accounts import ensure_demo_accounts
    from registry.operational_store import open_operational_store
    from tests.registry_reports import two_hospitals_store

    db = two_hospitals_store(tmp_path_factory.mktemp("registrar-browser"))
    ensure_demo_accounts(open_operational_store(db))
    with registry_server(db) as url:
        yield url, db


def test_registrar_decides_a_review_pair_and_finds_a_patient(registrar_server: tuple[str, Path]) -> None:
    from playwright.sync_api import sync_playwright

    from registry.link_review import decisions
    from registry.operational_store import open_operational_store

    server, db = registrar_server
    ARTIFACTS.mkdir(exist_ok=True)
    outside: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        _local_only(page, outside)
        page.goto(server, wait_until="networkidle")
        page.get_by_role("textbox", name="User name").fill("registrar")
        page.get_by_role("textbox", name="Password").fill("demo-registrar")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("link", name="Linkage review").click()
        page.get_by_text("Pair to review").wait_for(timeout=60_000)
        page.get_by_text("Why asked:").wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "5-linkage-review.png"), full_page=True)

        # The most likely match comes first: the patient pair; the registrar says they are different persons.
        page.get_by_role("textbox", name="Reason (kept with the decision)").fill("different mothers on the phone")
        page.get_by_role("button", name="Different persons").click()
        page.get_by_text("kept for ever").wait_for(timeout=60_000)
        page.get_by_text("kept for ever").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "6-linkage-decided.png"), full_page=True)
        assert [(d.kind, d.decision) for d in decisions(open_operational_store(db))] == [("patient", "different")]

        page.get_by_role("link", name="Find a patient").click()
        page.get_by_role("textbox", name="Last name").fill("Whitfield")
        page.get_by_role("textbox", name="Birth date").fill("1959-04-12")
        page.get_by_role("button", name="Search").click()
        page.get_by_text("Candidates (").wait_for(timeout=60_000)
        page.locator("[data-testid='stDataFrame']").first.wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "7-find-patient.png"), full_page=True)

        # Each candidate opens its patient record (a new tab, still signed in).
        with page.context.expect_page() as opened:
            page.get_by_role("link", name="registry patient").first.click()
        record = opened.value
        _local_only(record, outside)
        record.get_by_text("Every view of a record is recorded").wait_for(timeout=60_000)
        record.get_by_role("tab", name="Reports as received").click()
        record.get_by_text("Every item of every report exactly as received").wait_for(timeout=60_000)
        record.locator("[data-testid='stDataFrame']:visible").nth(1).wait_for(timeout=60_000)
        record.get_by_role("button", name="Stop").wait_for(state="hidden", timeout=60_000)   # the run is over
        record.screenshot(path=str(ARTIFACTS / "8-patient-record.png"), full_page=True)
        browser.close()
    assert outside == [], f"requests left localhost: {outside[:5]}"
