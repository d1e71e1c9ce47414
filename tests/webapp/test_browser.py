"""The web app in a real browser: `fhirclaim serve --sandbox` in a subprocess, the example cases posted by the
sandbox hospital's client over HTTP, and headless Chromium (Debian's `chromium` + `chromium-driver`, driven by
Selenium; nothing downloads a browser) signing in as the sandbox hospital user and walking the worklist, a claim
page, the special-CMG choice, a purification decision, the answer to BPJS-K's pending confirmation, a resubmit and
the dashboard.

Screenshots of each page go to `FHIRCLAIM_ARTIFACTS_DIR` (else the test's tmp dir); with `FHIRCLAIM_SCREENSHOTS_DIR`
set, one per page is also copied there (docs/screenshots/). Without a browser the tests skip and say why —
unless `FHIRCLAIM_REQUIRE_BROWSER=1` (set by .ci/run), which turns the skip into a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from webkit import example

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1366,900")
WAIT_SECONDS = 60  # an upper bound for the sandbox's pipeline and BPJS-K simulator, never a pause


def _browser_missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    if not CHROMIUM or not CHROMEDRIVER:
        return "no chromium / chromedriver (apt-get install chromium chromium-driver)"
    return None


@pytest.fixture(scope="module")
def browser_or_skip() -> None:
    reason = _browser_missing()
    if reason and os.environ.get("FHIRCLAIM_REQUIRE_BROWSER") == "1":
        pytest.fail(f"FHIRCLAIM_REQUIRE_BROWSER=1 but {reason}")
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory, browser_or_skip, artifacts) -> Iterator[dict]:
    """A real `fhirclaim serve --sandbox` on a free port, with the example cases posted by the hospital client."""
    data_dir = tmp_path_factory.mktemp("sandbox")
    env = {**os.environ, "FHIRCLAIM_BPJS_SIMULATOR_DELAY_SECONDS": "0"}
    env.pop("FHIRCLAIM_DATABASE_URL", None)  # the sandbox's own SQLite in its data dir
    process = subprocess.Popen([sys.executable, "-m", "fhirclaim.cli", "serve", "--sandbox", "--port", "0",
                                "--data-dir", str(data_dir)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=env)
    try:
        base = _base_url(process)
        threading.Thread(target=_keep_log, args=(process, artifacts / "serve.log"), daemon=True).start()
        clients = json.loads((data_dir / "sandbox-clients.json").read_text())
        users = json.loads((data_dir / "sandbox-users.json").read_text())
        _post_cases(base + "/fhir", clients["facility"])
        yield {"base": base, "user": users["hospital"]}
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise


def _base_url(process: subprocess.Popen) -> str:
    for line in process.stdout:
        match = re.search(r"serving FHIR R4 at (http://127\.0\.0\.1:\d+)/fhir", line)
        if match:
            return match.group(1)
    raise AssertionError("fhirclaim serve --sandbox did not start")


def _keep_log(process: subprocess.Popen, path: Path) -> None:
    """The server's log lines to a file: a pipe nobody reads would fill up and block the server."""
    with path.open("w") as log:
        for line in process.stdout:
            log.write(line)


def _post_cases(fhir: str, client: dict) -> None:
    token = requests.post(f"{fhir.rsplit('/', 1)[0]}/oauth2/v1/accesstoken?grant_type=client_credentials",
                          data={"client_id": client["client_id"], "client_secret": client["client_secret"]},
                          timeout=30).json()["access_token"]
    for case, kw in (("01-outpatient-visit", {}), ("02-hip-replacement-special-cmg", {"without_special_cmg": True}),
                     ("03-class-upgrade", {}), ("05-precheck-rejected", {}),
                     ("06-pending-readmission", {"file": "earlier-episode.json"}), ("06-pending-readmission", {})):
        answer = requests.post(fhir, json=example(case, **kw), timeout=60,
                               headers={"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"})
        assert answer.status_code == 200, answer.text


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    given = os.environ.get("FHIRCLAIM_ARTIFACTS_DIR")
    directory = Path(given) if given else tmp_path_factory.mktemp("artifacts")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture(scope="module")
def browser(sandbox, tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def shoot(driver, artifacts: Path, name: str) -> None:
    """A full-page screenshot of the page as the user sees it, as a test artifact (and into docs/ on request)."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1366, min(max(900, height + 40), 4000))
    path = artifacts / f"{name}.png"
    assert driver.save_screenshot(str(path))
    driver.set_window_size(1366, 900)
    docs = os.environ.get("FHIRCLAIM_SCREENSHOTS_DIR")
    if docs:
        Path(docs).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(docs) / path.name)


def _and_load(driver, action) -> None:
    """Run `action` (a click, a key) and wait until a new document has replaced this one and finished loading.

    The old document is marked and the wait is for a document without the mark. Waiting for the old <html>
    element to go stale instead is racy: while Chromium tears the old document down, a query on its element can
    answer "Node with given id does not belong to the document" (an unknown error, not a stale reference).
    """
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script("document.fhirclaimOldPage = true")
    action()
    WebDriverWait(driver, WAIT_SECONDS, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script("return !document.fhirclaimOldPage && document.readyState === 'complete'")
    )


def click_and_load(driver, how: str, what: str) -> None:
    """Click a link or a submit button and wait until the next page has replaced this one."""
    _and_load(driver, driver.find_element(how, what).click)


def _press_enter_and_load(driver, field_id: str, text: str) -> None:
    from selenium.webdriver.common.keys import Keys

    field = driver.find_element("id", field_id)
    _and_load(driver, lambda: field.send_keys(text + Keys.ENTER))


def _main_text(driver) -> str:
    return driver.find_element("tag name", "main").text


def until_page_shows(driver, *texts: str) -> None:
    """Reload until the page shows every one of `texts` (the sandbox's workers run in the background), within
    WAIT_SECONDS."""
    from selenium.webdriver.support.ui import WebDriverWait

    def shows(d) -> bool:
        if all(text in d.find_element("tag name", "body").text for text in texts):
            return True
        d.refresh()
        return False

    WebDriverWait(driver, WAIT_SECONDS, poll_frequency=0.5).until(shows, f"the page never showed {texts!r}")


def test_sign_in_as_the_sandbox_hospital_user(browser, sandbox, artifacts):
    browser.get(sandbox["base"] + "/app/")
    assert browser.current_url.startswith(sandbox["base"] + "/app/login")
    shoot(browser, artifacts, "01-sign-in")
    browser.find_element("id", "username").send_keys(sandbox["user"]["username"])
    browser.find_element("id", "password").send_keys("wrong password")
    click_and_load(browser, "id", "sign-in")
    assert "Nama pengguna atau kata sandi salah" in browser.page_source
    _press_enter_and_load(browser, "password", sandbox["user"]["password"])  # the keyboard alone signs in
    assert browser.current_url.endswith("/app/claims")
    assert sandbox["user"]["username"] in browser.find_element("class name", "who").text


def test_the_worklist_shows_the_claims_that_need_a_person(browser, sandbox, artifacts):
    browser.get(sandbox["base"] + "/app/claims?stage=attention")
    until_page_shows(browser, "0301R0011026V000201", "0301R0011026V000501")
    assert "Galat precheck" in browser.find_element("tag name", "body").text
    shoot(browser, artifacts, "02-worklist")
    click_and_load(browser, "css selector", 'a[data-attention="special-cmg"]')
    rows = browser.find_elements("css selector", "table.claims tbody tr")
    assert [r.get_attribute("data-claim") for r in rows] == ["ex2-claim"]


def test_the_claim_page_and_the_special_cmg_choice(browser, sandbox, artifacts):
    browser.get(sandbox["base"] + "/app/claims?attention=special-cmg")
    click_and_load(browser, "link text", "0301R0011026V000201")
    assert "M-1-04-I" in browser.find_element("id", "grouping").text
    shoot(browser, artifacts, "03-claim-special-cmg")
    browser.find_element("id", "cmg-RR04Hip").click()
    browser.find_element("id", "cmg-YY01").click()
    click_and_load(browser, "id", "special-cmg-submit")
    assert "Tersimpan" in _main_text(browser)
    until_page_shows(browser, "RR-04-III-Hip")
    assert browser.find_element("id", "inacbg-total").text == "Rp 62.503.200"
    assert browser.find_element("id", "difference").text == "Rp 19.673.200"
    shoot(browser, artifacts, "04-claim-grouped")


def test_the_purification_decision(browser, sandbox, artifacts):
    browser.get(sandbox["base"] + "/app/claims?attention=decision-due")
    until_page_shows(browser, "0301R0011026V000101")
    click_and_load(browser, "link text", "0301R0011026V000101")
    assert "Keputusan purifikasi ditunggu" in _main_text(browser)
    shoot(browser, artifacts, "05-claim-purification")
    click_and_load(browser, "id", "decision-lanjut")
    assert "Keputusan purifikasi tersimpan" in _main_text(browser)
    until_page_shows(browser, "Terverifikasi")
    assert "lanjut" in browser.find_element("id", "timeline").text.lower()


def test_answering_a_pending_confirmation_from_bpjs_k(browser, sandbox, artifacts):
    browser.get(sandbox["base"] + "/app/claims?attention=decision-due")
    until_page_shows(browser, "0301R0011126V000602")  # example 06: a readmission 9 days after its earlier episode
    click_and_load(browser, "link text", "0301R0011126V000602")
    click_and_load(browser, "id", "decision-lanjut")
    until_page_shows(browser, "Potensi readmisi: konfirmasi episode")  # the simulator returns it as pending
    browser.get(sandbox["base"] + "/app/claims?attention=pending-bpjs")
    rows = browser.find_elements("css selector", "table.claims tbody tr")
    assert [r.get_attribute("data-claim") for r in rows] == ["ex6-claim"]
    click_and_load(browser, "link text", "0301R0011126V000602")
    assert "Pending dari BPJS-K" in browser.find_element("id", "h-pending").text
    browser.find_element("id", "answer-confirmed").click()
    browser.find_element("id", "pending-text").send_keys("Bukan readmisi: episode berbeda, resume episode sebelumnya "
                                                         "terlampir")
    browser.find_element("id", "doc-ex6a-discharge-summary").click()
    shoot(browser, artifacts, "07-claim-pending")
    click_and_load(browser, "id", "pending-submit")
    assert "Jawaban terkirim" in _main_text(browser)
    assert "dikonfirmasi" in browser.find_element("id", "pending-answered").text


def test_resubmit_of_a_claim_whose_inputs_did_not_change(browser, sandbox, artifacts):
    browser.get(sandbox["base"] + "/app/claims?attention=precheck-error")
    until_page_shows(browser, "0301R0011026V000501")
    click_and_load(browser, "link text", "0301R0011026V000501")
    assert browser.find_element("id", "claim-unchanged").text.startswith("Tidak ada yang berubah")
    click_and_load(browser, "id", "resubmit-submit")
    assert "tidak diproses ulang" in _main_text(browser)


def test_the_dashboard_in_english(browser, sandbox, artifacts):
    browser.get(sandbox["base"] + "/app/dashboard")
    click_and_load(browser, "link text", "English")
    assert browser.find_element("tag name", "h1").text == "Dashboard, this month"
    assert len(browser.find_elements("css selector", "svg.chart")) == 3
    assert "PRECHECK-TARIF-MINIMUM" in browser.find_element("id", "pareto").text
    shoot(browser, artifacts, "06-dashboard")
    click_and_load(browser, "link text", "Bahasa Indonesia")
    click_and_load(browser, "id", "sign-out")
    assert browser.current_url.startswith(sandbox["base"] + "/app/login")
    assert "Anda sudah keluar" in browser.page_source
