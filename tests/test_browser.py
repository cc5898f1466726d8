"""The dashboard in a real browser: Debian's headless Chromium driven by Selenium, against a live sandbox.

Run by .ci/run (`pytest -m browser`); needs `apt-get install chromium chromium-driver` and the `browser-test` extra.
Nothing is downloaded: the driver's path is given explicitly and Selenium Manager is kept offline. Each test saves a
screenshot under artifacts/browser/ (or $BETCORE_SANDBOX_ARTIFACTS).
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from betcore_sandbox import Sandbox
from betcore_sandbox.signing import signed_headers

from .conftest import REPO

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(os.environ.get("BETCORE_SANDBOX_ARTIFACTS", REPO / "artifacts")) / "browser"
POLL = 0.05  # seconds between checks while waiting for the page


@pytest.fixture(scope="module")
def driver():
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never fetch a browser or a driver
    webdriver = pytest.importorskip("selenium.webdriver", reason="install the browser-test extra")
    from selenium.webdriver.chrome.service import Service

    for needed in (CHROMIUM, CHROMEDRIVER):
        if not needed.exists():
            pytest.fail(f"{needed} is missing: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,800"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield browser
    finally:
        browser.quit()


class Page:
    """The dashboard open in the browser, with the waits and lookups the tests need."""

    def __init__(self, driver, sandbox: Sandbox) -> None:
        self.driver = driver
        self.sandbox = sandbox

    def open(self, live: bool = True) -> Page:
        self.driver.get(self.sandbox.base_url + "/")
        if live:
            self.wait_text("#live", "live")
        return self

    def find(self, css: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def until(self, condition, timeout: float = 5.0):
        from selenium.common.exceptions import StaleElementReferenceException
        from selenium.webdriver.support.ui import WebDriverWait

        # A live view re-renders under the test: an element it held may be replaced, so look again.
        wait = WebDriverWait(self.driver, timeout, POLL, ignored_exceptions=(StaleElementReferenceException,))
        return wait.until(lambda _: condition())

    def click(self, css: str) -> None:
        """Scroll the element to the middle of the window first, as a person would: Chromium clicks an element
        already in the window where it is, and the sticky header may be over it."""
        element = self.find(css)
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()

    def wait_text(self, css: str, text: str, timeout: float = 5.0) -> None:
        self.until(lambda: any(text in e.text for e in self.find_all(css)), timeout)

    def tab(self, name: str) -> None:
        self.find(f"#tab-{name}").click()
        self.until(lambda: self.find(f"#view-{name}").is_displayed())

    def errors(self) -> list[str]:
        return [e["message"] for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path


def leave_the_last_page(driver) -> None:
    """Close an earlier test's page (its sandbox is gone: a reload it has pending would log a refused connection)
    and drop what it logged."""
    driver.get("about:blank")
    driver.get_log("browser")


@pytest.fixture
def page(driver, betcore_sandbox, request):
    driver.set_window_size(1280, 800)
    driver.delete_all_cookies()
    leave_the_last_page(driver)
    shown = Page(driver, betcore_sandbox)
    yield shown
    shown.screenshot(request.node.name)


def send(sandbox: Sandbox, endpoint: str, body: dict[str, Any] | None = None, secret: str | None = None) -> Any:
    """A game server's call: signed over the exact bytes sent (with `secret`, a wrong one)."""
    method = "GET" if endpoint == "balance" else "POST"
    raw = json.dumps(body).encode() if body is not None else b""
    path = "balance" if endpoint == "balance" else f"bets/{endpoint}"
    headers = signed_headers(secret or sandbox.secret, sandbox.counterparty_id, method, raw)
    call = urllib.request.Request(
        f"{sandbox.url}/sessions/session-eur/{path}", data=raw or None, headers=headers, method=method
    )
    try:
        with urllib.request.urlopen(call, timeout=5) as response:
            return json.loads(response.read(), parse_float=Decimal)
    except urllib.error.HTTPError as error:
        return json.loads(error.read(), parse_float=Decimal)


# The shown form controls that no label, aria-label or aria-labelledby names for a screen reader.
UNNAMED_CONTROLS = """
return [...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
  .filter((e) => e.getClientRects().length > 0)
  .filter((e) => !e.labels.length && !e.getAttribute("aria-label") && !e.getAttribute("aria-labelledby"))
  .map((e) => e.id || e.name || e.className);
"""


# What a screen reader says for each shown button.
BUTTON_NAMES = """
return [...document.querySelectorAll("main button")]
  .filter((e) => e.getClientRects().length > 0)
  .map((e) => e.getAttribute("aria-label") || e.textContent.trim());
"""


def test_the_page_loads_with_no_console_errors_and_every_view_opens(page):
    page.open()
    assert page.driver.current_url.endswith("/__admin/ui/")
    tab = page.find("#tab-feed")
    tab.send_keys("\ue014")  # ArrowRight: keyboard navigation between the tabs
    for name in ("bets", "wallets", "faults", "audit", "report", "feed"):
        page.until(lambda name=name: page.find(f"#view-{name}").is_displayed())
        assert page.driver.switch_to.active_element.get_attribute("id") == f"tab-{name}"
        if name == "wallets":
            page.wait_text("#players tbody", "player-eur")  # its rows' fields are checked too
        if name == "audit":
            page.wait_text("#audit-verdict", "The money adds up.")
        if name == "report":
            page.wait_text("#report-verdict", "Passed: no check failed.")
        # The focused tab shows it (a visible outline), and every control of the view has a name.
        assert page.driver.execute_script("return getComputedStyle(document.activeElement).outlineStyle") != "none"
        assert page.driver.execute_script(UNNAMED_CONTROLS) == [], name
        names = page.driver.execute_script(BUTTON_NAMES)
        assert len(names) == len(set(names)), (name, names)  # a row's buttons say which row they act on
        page.driver.switch_to.active_element.send_keys("\ue014")
    assert not page.find("#clock").is_displayed()  # the clock shows only when it is virtual
    assert page.errors() == []


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (420, 800)])
def test_readable_at_desktop_and_narrow_widths(page, width, height):
    page.driver.set_window_size(width, height)
    page.open()
    send(page.sandbox, "pay-in", {"betId": "wide-1", "betAmount": "1.00"})
    page.wait_text("#feed tbody", "wide-1")
    for name in ("feed", "wallets", "faults", "report"):
        page.tab(name)
        if name == "report":
            page.until(lambda: page.find_all("#report-checks tbody tr"))
        # Nothing makes the whole page scroll sideways: wide tables scroll inside their own box.
        overflow = page.driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (name, overflow)
        page.screenshot(f"{name}-{width}x{height}")
    for label in page.find_all("label[for]"):
        assert page.find_all(f"#{label.get_attribute('for')}"), label.text  # every label names a real field
    assert page.errors() == []


def test_a_signed_pay_in_appears_in_the_feed_within_a_second(page):
    page.open()
    before = page.driver.execute_script("return performance.timeOrigin")
    assert send(page.sandbox, "pay-in", {"betId": "live-1", "betAmount": "2.50"})["_responseCode"] == 1
    started = time.monotonic()
    page.wait_text("#feed tbody tr", "live-1", timeout=1.0)
    took = time.monotonic() - started
    row = page.find("#feed tbody tr")
    assert [cell.text for cell in row.find_elements("css selector", "td")][2:7] == [
        "pay-in",
        "session-eur",
        "live-1",
        "1",
        "200",
    ]
    assert page.driver.execute_script("return performance.timeOrigin") == before  # no reload happened
    row.click()
    page.wait_text("#detail .request-body", '"betId": "live-1"')
    assert '"balance": 997.5' in page.find("#detail .response-body").text
    assert "X-Sign" in page.find("#detail .headers").text
    print(f"pay-in shown in the feed {took * 1000:.0f} ms after its answer")


HOSTILE = '<img src=x onerror="window.injected=1">'


def test_provider_strings_render_as_text_never_as_markup(page):
    """A betId, a body field and a header holding markup show as the characters sent, in every view."""
    page.open()
    body = {"betId": HOSTILE, "betAmount": "1.00", "note": "<script>window.injected=2</script>"}
    raw = json.dumps(body).encode()
    headers = signed_headers(page.sandbox.secret, page.sandbox.counterparty_id, "POST", raw)
    headers["X-Note"] = HOSTILE
    call = urllib.request.Request(
        f"{page.sandbox.url}/sessions/session-eur/bets/pay-in", data=raw, headers=headers, method="POST"
    )
    with urllib.request.urlopen(call, timeout=5) as response:
        assert json.loads(response.read())["_responseCode"] == 1
    page.wait_text("#feed tbody tr .bet-id", HOSTILE)
    page.click("#feed tbody tr")
    page.wait_text("#detail .request-body", "<script>window.injected=2</script>")
    page.wait_text("#detail .headers", HOSTILE)
    page.tab("bets")
    page.wait_text("#bets .bet h3", HOSTILE)
    assert page.find_all("#feed img, #detail img, #bets img, #detail script, #bets script") == []
    assert page.driver.execute_script("return window.injected") is None
    assert page.errors() == []  # a handler blocked by the page's policy would have logged a violation


def test_a_bad_signature_shows_its_diagnostics_side_by_side(page):
    page.open()
    body = {"betId": "bad-1", "betAmount": "1.00"}
    assert send(page.sandbox, "pay-in", body, secret="not-the-secret")["_responseCode"] == 8
    page.wait_text("#feed tbody tr .code", "8")  # its betId is read from the kept bytes, never trusted
    row = page.find("#feed tbody tr")
    row.send_keys("\ue007")  # Enter opens it, as a click does
    page.until(lambda: page.find("#signature").is_displayed())
    [entry] = page.sandbox.requests()
    debug = entry["signature"]["debug"]
    assert page.find("#signature .string-to-sign").text == debug["stringToSign"]
    assert json.dumps(body) in debug["stringToSign"]
    assert page.find("#signature .received-sign").text == debug["receivedSign"]
    assert page.find("#signature .expected-sign").text == debug["expectedSign"]  # the journal keeps it (admin)
    hints = [li.text for li in page.find_all("#signature .hints li")]
    assert hints and hints == debug["hints"]
    assert page.find(".sig-sandbox").location["y"] == page.find(".sig-client").location["y"]  # side by side
    # In a half that narrow, each part's value gets the half's width (a sliver beside its name was unreadable).
    assert (
        page.find("#signature .sig-sandbox td").size["width"] > 0.8 * page.find("#signature .sig-sandbox").size["width"]
    )
    overflow = page.driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0  # long signatures wrap instead of widening the page
    page.screenshot("signature-diagnostics")
    assert page.errors() == []


def test_a_fault_added_from_the_form_fails_the_next_call_and_its_counter_moves(page):
    from selenium.webdriver.support.ui import Select

    page.open()
    page.tab("faults")
    Select(page.find("#fault-kind")).select_by_visible_text("http_error")
    Select(page.find("#fault-endpoint")).select_by_visible_text("pay-in")
    page.find("#fault-status").send_keys("503")
    page.find("#fault-form button[type=submit]").click()
    page.wait_text("#faults tbody tr[data-id='fault-1'] .fired", "0")
    [rule] = page.sandbox.faults()
    assert (rule.kind, rule.endpoint, rule["status"]) == ("http_error", "pay-in", 503)
    answer = send(page.sandbox, "pay-in", {"betId": "f-1", "betAmount": "1.00"})
    assert answer["_responseCode"] == 99
    page.wait_text("#faults tbody tr[data-id='fault-1'] .fired", "1")
    assert page.find("#faults tbody tr[data-id='fault-1'] .remaining").text == "0"
    assert page.find("#faults tbody tr[data-id='fault-1'] .state").text == "used-up"  # spent, still listed
    page.screenshot("faults")
    page.click("#faults tbody tr[data-id='fault-1'] .remove-fault")
    page.wait_text("#faults tbody", "No fault rules.")
    assert page.sandbox.faults() == []
    page.find("#fault-times").clear()  # empty: until removed
    Select(page.find("#fault-kind")).select_by_visible_text("delay")
    page.find("#fault-delay").send_keys("5")
    page.find("#fault-form button[type=submit]").click()
    page.wait_text("#faults tbody tr[data-id='fault-2'] .remaining", "∞")
    [rule] = page.sandbox.faults()
    assert (rule.kind, rule.times, rule["delayMs"], rule["status"]) == ("delay", None, 5, None)  # a delay has no status
    page.click("#faults-clear")
    page.wait_text("#faults tbody", "No fault rules.")
    assert page.sandbox.faults() == []
    page.tab("feed")
    page.wait_text("#feed tbody tr .fault", "http_error (before)")


def test_the_feed_filters_and_clears(page):
    page.open()
    send(page.sandbox, "pay-in", {"betId": "keep-1", "betAmount": "1.00"})
    send(page.sandbox, "balance")
    page.until(lambda: len(page.find_all("#feed tbody tr")) == 2)
    page.find("#feed-filter").send_keys("keep-1")
    page.until(lambda: [r.is_displayed() for r in page.find_all("#feed tbody tr")] == [False, True])
    page.find("#feed-clear").click()
    page.until(lambda: not page.find_all("#feed tbody tr"))
    assert page.sandbox.requests() == []


def test_an_edited_balance_shows_in_the_next_balance_call(page):
    page.open()
    page.tab("wallets")
    page.wait_text("#players tbody", "player-eur")
    field = page.find("#players tr[data-id='player-eur'] .balance-input")
    field.clear()
    field.send_keys("123.45")
    page.find("#players tr[data-id='player-eur'] .save-balance").click()
    page.wait_text("#players tr[data-id='player-eur'] .balance", "123.45")
    answer = send(page.sandbox, "balance")
    assert (answer["_responseCode"], answer["balance"]) == (1, Decimal("123.45"))
    # The provider's next bet moves the balance on the page live, from its event: a page opened afresh has no
    # reload pending (the edit's own reload could otherwise show the new balance), and it reads no list again.
    page.open()
    page.tab("wallets")
    page.wait_text("#players tr[data-id='player-eur'] .balance", "123.45")
    lists = (
        "return performance.getEntriesByType('resource')"
        ".filter((e) => /__admin\\/(players|sessions)/.test(e.name)).length"
    )
    read = page.driver.execute_script(lists)
    send(page.sandbox, "pay-in", {"betId": "w-1", "betAmount": "3.45"})
    page.wait_text("#players tr[data-id='player-eur'] .balance", "120.00")
    page.wait_text("#sessions tr[data-id='session-eur'] .balance", "120.00 EUR")
    assert page.driver.execute_script(lists) == read
    page.screenshot("players-and-sessions")


def test_a_change_made_elsewhere_through_the_admin_api_shows_without_a_reload(page):
    page.open()
    page.tab("wallets")
    page.wait_text("#players tr[data-id='player-usd'] .block", "Block player-usd")
    before = page.driver.execute_script("return performance.timeOrigin")
    call = urllib.request.Request(  # curl, a test suite or another tab
        page.sandbox.base_url + "/__admin/players/player-usd",
        data=b'{"blocked": true}',
        method="PATCH",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(call, timeout=5) as response:
        assert response.status == 200
    page.wait_text("#players tr[data-id='player-usd'] .block", "Unblock player-usd")
    assert page.driver.execute_script("return performance.timeOrigin") == before
    assert page.errors() == []


def test_block_expire_and_create_from_the_wallet_view(page):
    page.open()
    page.tab("wallets")
    page.wait_text("#players tbody", "player-usd")
    page.find("#players tr[data-id='player-usd'] .block").click()
    page.wait_text("#players tr[data-id='player-usd'] .block", "Unblock player-usd")
    assert page.sandbox.player("player-usd").blocked
    page.find("#sessions tr[data-id='session-eur'] .session-status").click()
    page.wait_text("#sessions tr[data-id='session-eur']", "expired")
    assert send(page.sandbox, "balance")["_responseCode"] == 3
    page.find("#session-id").send_keys("ui-1")
    page.find("#session-currency").send_keys("USD")
    page.find("#session-balance").send_keys("50")
    page.find("#session-max").send_keys("5")
    page.find("#session-form button[type=submit]").click()
    page.wait_text("#sessions tr[data-id='ui-1']", "50.00 USD")
    created = page.sandbox.session("ui-1")
    assert (created.balance, created.max_bet) == (Decimal("50.00"), Decimal("5.00"))
    assert page.errors() == []


def test_bets_show_as_timelines_with_open_bets_highlighted(page):
    sandbox = page.sandbox
    send(sandbox, "pay-in", {"betId": "t-open", "betAmount": "1.00"})
    send(sandbox, "pay-in", {"betId": "t-done", "betAmount": "2.00"})
    sandbox.add_fault(endpoint="pay-out", kind="http_error", phase="after")
    send(sandbox, "pay-out", {"betId": "t-done", "winAmount": "5.00"})
    send(sandbox, "pay-out", {"betId": "t-done", "winAmount": "5.00"})
    page.open()
    page.tab("bets")
    page.wait_text("#bets", "t-done")
    cards = page.find_all("#bets .bet")
    assert [c.get_attribute("data-bet") for c in cards] == ["t-open", "t-done"]  # open bets first
    assert "open" in cards[0].get_attribute("class").split()
    steps = [li.text for li in cards[1].find_elements("css selector", ".timeline li")]
    assert len(steps) == 3 and "pay-in" in steps[0]
    assert "HTTP 500, code 99" in steps[1] and "fault http_error (after)" in steps[1]
    assert "HTTP 200, code 1" in steps[2]
    page.find("#bets-status").send_keys("open")
    page.find("#bets-filter button[type=submit]").click()
    page.until(lambda: [c.get_attribute("data-bet") for c in page.find_all("#bets .bet")] == ["t-open"])
    page.screenshot("bets")


def test_a_bet_timeline_grows_live_while_the_bets_view_is_open(page):
    page.open()
    page.tab("bets")
    send(page.sandbox, "pay-in", {"betId": "grows", "betAmount": "1.00"})
    card = "#bets .bet[data-bet='grows']"
    page.until(lambda: "open" in page.find(card).get_attribute("class").split())
    send(page.sandbox, "pay-out", {"betId": "grows", "winAmount": "3.00"})
    page.until(lambda: "open" not in page.find(card).get_attribute("class").split())
    page.until(lambda: len(page.find_all(f"{card} .timeline li")) == 2)
    assert "pay-out" in page.find_all(f"{card} .timeline li")[1].text
    assert page.errors() == []


def test_reset_asks_for_a_confirmation_first(page):
    page.open()
    send(page.sandbox, "pay-in", {"betId": "r-1", "betAmount": "10.00"})
    page.wait_text("#feed tbody", "r-1")
    page.find("#reset").click()
    page.until(lambda: page.find("#reset-dialog").is_displayed())
    page.find("#reset-dialog button[value=cancel]").click()
    page.until(lambda: not page.find("#reset-dialog").is_displayed())
    assert page.sandbox.balance("session-eur") == Decimal("990.00")
    page.find("#reset").click()
    page.find("#reset-confirm").click()
    page.wait_text("#notice", "The sandbox was reset.")
    assert page.sandbox.balance("session-eur") == Decimal("1000.00")
    page.until(lambda: not page.find_all("#feed tbody tr"))  # the journal went with it


def test_the_token_login_works_and_a_wrong_token_is_refused(driver, request):
    driver.delete_all_cookies()
    leave_the_last_page(driver)
    with Sandbox(admin_token="ui-s3cret") as sandbox:
        page = Page(driver, sandbox).open(live=False)
        page.until(lambda: page.find("#login-token").is_displayed())
        assert not page.find("#tabs").is_displayed()
        page.find("#login-token").send_keys("wrong")
        page.find("#login-form button").click()
        page.wait_text("#login-error", "Wrong admin token.")
        assert not page.find("#tabs").is_displayed()
        assert not driver.get_cookies()
        page.find("#login-token").clear()
        page.find("#login-token").send_keys("ui-s3cret\n")  # Enter submits
        page.wait_text("#live", "live")
        assert "ui-s3cret" not in driver.current_url
        assert driver.execute_script("return document.cookie") == ""  # HttpOnly: no script on the page reads it
        stored = driver.execute_script("return JSON.stringify([sessionStorage, localStorage])")
        assert "ui-s3cret" not in stored
        [cookie] = driver.get_cookies()
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["value"] != "ui-s3cret"
        send(sandbox, "pay-in", {"betId": "login-1", "betAmount": "1.00"})
        page.wait_text("#feed tbody", "login-1", timeout=1.0)  # the stream works with the login
        page.screenshot("after-login")
        page.tab("report")
        page.wait_text("#report-verdict", "Passed")
        # The report's HTML page opens with the login too (the cookie, never the token in its address).
        driver.get(page.find("#report-html").get_attribute("href"))
        page.until(lambda: "login-1" in driver.page_source)
        assert "ui-s3cret" not in driver.current_url
        driver.back()
        page.wait_text("#live", "live")
        # The page back reads the clock twice (on opening and, a moment later, once connected): logging out with a
        # read still to come would add its refused 401 to the console.
        clock_reads = (
            "return performance.getEntriesByType('resource').filter((e) => e.name.endsWith('/__admin/clock')).length"
        )
        page.until(lambda: driver.execute_script(clock_reads) >= 2)
        page.find("#logout").click()
        page.until(lambda: page.find("#login-token").is_displayed())
        driver.refresh()
        page.until(lambda: page.find("#login-token").is_displayed())
        # The only console errors are the refused login's 401s (and the report page's look for a /favicon.ico).
        errors = [e for e in page.errors() if "/favicon.ico " not in e]
        assert all("/__admin/ui/login " in e and "401" in e for e in errors), "\n".join(e[:300] for e in errors)


def test_a_scenario_applied_from_the_form_shows_its_failed_check_in_the_report(page):
    """The real scenarios and report: the form lists the sandbox's scenarios, applies one for a session, and the
    report tab shows the check the unretried PayOut failed, failures first, with the evidence."""
    from selenium.webdriver.support.ui import Select

    sandbox = page.sandbox
    page.open()
    page.tab("faults")
    names = [s.name for s in sandbox.scenarios()]
    page.until(lambda: [o.get_attribute("value") for o in page.find_all("#scenario-name option")] == names)
    Select(page.find("#scenario-name")).select_by_value("pay-out-lost-answer")
    page.wait_text("#scenario-description", "the next PayOut is applied, then answered with HTTP 500")
    assert "checks: pay-out-acknowledged, retry-identical" in page.find("#scenario-description").text
    page.find("#scenario-session").send_keys("session-eur")
    page.find("#scenario-form button[type=submit]").click()
    page.wait_text("#notice", "Applied pay-out-lost-answer: fault-1.")
    page.wait_text("#faults tbody tr[data-id='fault-1']", "sessionId=session-eur")
    [rule] = sandbox.faults()
    assert (rule.endpoint, rule.kind, rule.phase, rule["sessionId"]) == (
        "pay-out",
        "http_error",
        "after",
        "session-eur",
    )
    assert send(sandbox, "pay-in", {"betId": "cert-1", "betAmount": "5.00"})["_responseCode"] == 1
    assert send(sandbox, "pay-out", {"betId": "cert-1", "winAmount": "12.00"})["_responseCode"] == 99  # not retried

    page.tab("report")
    page.wait_text("#report-verdict", "Failed: pay-out-acknowledged")
    judged = sandbox.report()
    rows = page.find_all("#report-checks tbody tr")
    assert [r.get_attribute("data-check") for r in rows] == [c.id for c in judged.checks]
    first = rows[0]  # failures first
    assert first.get_attribute("data-check") == "pay-out-acknowledged"
    status = first.find_element("css selector", "td.status")
    assert status.text == "fail" and "bad" in status.get_attribute("class").split()
    [finding] = judged.check("pay-out-acknowledged").evidence
    [shown] = first.find_elements("css selector", ".evidence li")
    assert shown.text.startswith(f"bet cert-1: {finding.message}")
    assert [b.text for b in shown.find_elements("css selector", "button.entry")] == [f"#{n}" for n in finding.entries]
    scenario = page.find("#report-scenarios li[data-scenario='pay-out-lost-answer']").text
    assert scenario.startswith("fail pay-out-lost-answer (sessionId=session-eur): faults fired 1 on cert-1")
    # The link opens the HTML report (the same judgement, for a person).
    link = page.find("#report-html").get_attribute("href")
    assert link == sandbox.base_url + "/__admin/report?format=html"
    with urllib.request.urlopen(link, timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/html")
        assert "pay-out-acknowledged" in response.read().decode()
    page.screenshot("report")

    shown.find_element("css selector", "button.entry").click()  # the evidence opens the request it names
    page.until(lambda: page.find("#view-feed").is_displayed())
    page.wait_text("#detail h3", f"#{finding.entries[0]} POST ")
    assert "pay-out" in page.find("#detail h3").text

    # The provider retries the PayOut: judged again, the report passes; a grace of 0 s flags an open bet.
    assert send(sandbox, "pay-out", {"betId": "cert-1", "winAmount": "12.00"})["_responseCode"] == 1
    page.tab("report")
    page.wait_text("#report-verdict", "Passed: no check failed.")
    assert send(sandbox, "pay-in", {"betId": "still-open", "betAmount": "1.00"})["_responseCode"] == 1
    page.find("#report-grace").send_keys("0")
    page.find("#report-refresh").click()
    page.wait_text("#report-verdict", "Failed: no-open-bets")
    assert page.find("#report-html").get_attribute("href").endswith("/__admin/report?format=html&graceSeconds=0")
    assert page.errors() == []


class HeldProvider:
    """A game server whose Launch answers only when the test says so (on a thread of its own)."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.release = threading.Event()
        release = self.release

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                release.wait(30)
                answer = json.dumps({"_responseCode": 1, "frameUri": "https://games.example/play/ui-launch"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever)

    def __enter__(self) -> HeldProvider:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


def test_an_outgoing_launch_shows_in_the_feed_and_its_answer_when_it_comes(page):
    import threading

    sandbox = page.sandbox
    sandbox.settings(partner_timeout_ms=60_000)
    page.open()
    launched: list[Any] = []
    with HeldProvider() as provider:
        launching = threading.Thread(
            target=lambda: launched.append(
                sandbox.launch("aerobet", provider_url=provider.url, player_id="player-eur", session_id="ui-launch")
            )
        )
        launching.start()
        page.wait_text("#feed tbody tr.outgoing .http", "waiting…")  # journaled when sent, before the answer
        row = page.find("#feed tbody tr.outgoing")
        cells = [cell.text for cell in row.find_elements("css selector", "td")][2:7]
        assert cells == ["outgoing launch", "ui-launch", "", "—", "waiting…"]
        assert row.get_attribute("title") == f"the sandbox called {provider.url}/v1/games/aerobet/launch"
        row.click()
        page.wait_text("#detail h3", f"POST {provider.url}/v1/games/aerobet/launch")
        assert "Outgoing" in page.find("#detail .direction").text
        assert page.find("#detail .response-body").text == "waiting for the answer…"
        provider.release.set()
        page.wait_text("#feed tbody tr.outgoing .http", "200")  # the same row, completed in place
        assert len(page.find_all("#feed tbody tr.outgoing")) == 1
        assert page.find("#feed tbody tr.outgoing .code").text == "1"
        page.wait_text("#detail .response-body", "https://games.example/play/ui-launch")  # its details follow
        launching.join(30)
    assert launched[0].status == "launched"
    assert page.errors() == []


def test_a_virtual_clock_shows_in_the_header(page):
    from datetime import datetime, timedelta

    sandbox = page.sandbox
    page.open()
    assert not page.find("#clock").is_displayed()
    sandbox.advance_clock(timedelta(days=2))
    send(sandbox, "balance")  # a change from Python makes no admin call: the next request shows it
    page.wait_text("#clock", "virtual clock")
    shown = datetime.fromisoformat(page.find("#clock").text.removeprefix("virtual clock ").replace(" UTC", "+00:00"))
    assert abs((shown - sandbox.clock().now).total_seconds()) < 60
    call = urllib.request.Request(
        sandbox.base_url + "/__admin/clock",
        data=b'{"mode": "real"}',
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(call, timeout=5) as response:
        assert json.loads(response.read())["mode"] == "real"
    page.until(lambda: not page.find("#clock").is_displayed())  # an admin change is announced: the badge goes
    assert page.errors() == []


def test_the_readme_screenshot(page):
    """The picture of docs/dashboard.md, taken from a scene a developer meets: bets, a lost pay-out answer and its
    retry, and a refused signature opened. Set BETCORE_SANDBOX_UPDATE_DOCS=1 to write it to docs/dashboard.png."""
    sandbox = page.sandbox
    page.open()
    send(sandbox, "pay-in", {"betId": "round-17", "betAmount": "5.00", "gameRoundId": "r-17"})
    send(sandbox, "pay-out", {"betId": "round-17", "winAmount": "12.50", "gameRoundId": "r-17"})
    send(sandbox, "pay-in", {"betId": "round-18", "betAmount": "2.00", "gameRoundId": "r-18"})
    sandbox.add_fault(endpoint="pay-out", kind="http_error", phase="after")
    send(sandbox, "pay-out", {"betId": "round-18", "winAmount": "4.00", "gameRoundId": "r-18"})
    send(sandbox, "pay-out", {"betId": "round-18", "winAmount": "4.00", "gameRoundId": "r-18"})
    send(sandbox, "pay-in", {"betId": "round-19", "betAmount": "1.00"}, secret=sandbox.secret[:-1])
    send(sandbox, "pay-in", {"betId": "round-20", "betAmount": "1.00"})
    page.until(lambda: len(page.find_all("#feed tbody tr")) == 7)
    page.find_all("#feed tbody tr")[1].click()
    page.until(lambda: page.find("#signature").is_displayed())
    page.driver.execute_script("document.activeElement.blur()")  # no focus ring in the picture
    shot = page.screenshot("readme-dashboard")
    if os.environ.get("BETCORE_SANDBOX_UPDATE_DOCS") == "1":
        (REPO / "docs" / "dashboard.png").write_bytes(shot.read_bytes())
