"""Drives Berth's web UI in headless Chromium, as a person would, for the browser tests.

Tests/BerthCLITests/WebUIBrowserTests.swift starts `berth serve` with a real dockerd, makes
tokens and jobs, and runs one subcommand of this script per scenario. Every subcommand takes the
API's base URL (the UI is under /ui/), a folder for its screenshots and, where a test must act
in the middle of it (apply a manifest, kill a container, release a job), a folder where it leaves
an empty file named after each step it reached: the test waits for that file, acts, and this
script waits for the page to show the result.

Every wait is bounded and waits for something the page shows; every page's HTML (as the server
sent it) is parsed with html5lib in strict mode, and a parse error fails the scenario. A failed
check exits with status 1 and one clear message; each scenario saves screenshots (and the page's
source when it fails). The script ends the chromium and chromedriver it started, also on failure,
on SIGTERM and when its own deadline (--deadline) passes.

Needs selenium and html5lib (Debian's python3-selenium and python3-html5lib, or PyPI's), and
Debian's chromium and chromium-driver (paths from BERTH_TEST_CHROMIUM and
BERTH_TEST_CHROMEDRIVER, /usr/bin ones by default): scripts/services/browser.sh installs them.
"""

import argparse
import http.client
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import urllib.parse
from datetime import datetime

import html5lib
from html5lib.constants import E as HTML5_ERRORS
from selenium import webdriver
from selenium.common.exceptions import (
    JavascriptException,
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait


class CheckFailed(Exception):
    """A check of a scenario that did not hold; its message says what was expected and seen."""


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


# A page of the UI renders in milliseconds: a load that takes longer waits for something else.
PAGE_LOAD_SECONDS = 30


class Response:
    """One HTTP answer as the server sent it (no redirect followed)."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        return self.headers.get(name)


def parse_strictly(where, text):
    """Parses `text` as HTML5 with html5lib in strict mode; a parse error fails, naming where."""
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    try:
        parser.parse(text)
    except html5lib.html5parser.ParseError:
        (line, column), code, variables = parser.errors[-1]
        message = HTML5_ERRORS.get(code, code) % (variables or {})
        lines = text.splitlines()
        context = lines[line - 1][max(0, column - 80) : column + 80] if 0 < line <= len(lines) else ""
        raise CheckFailed(f"{where} is not valid HTML5: line {line}, column {column}: {message} ({code})\n  near: {context}")


class UI:
    """One headless Chromium on Berth's UI, with the helpers the scenarios share."""

    def __init__(self, base, shots, signals, name):
        parsed = urllib.parse.urlsplit(base)
        check(parsed.scheme == "http" and parsed.hostname, f"the base URL must be http://HOST:PORT, not {base!r}")
        self.base = f"{parsed.scheme}://{parsed.netloc}"
        self.host, self.port = parsed.hostname, parsed.port or 80
        self.shots, self.signals, self.name = shots, signals, name
        self.started = time.monotonic()
        os.makedirs(shots, exist_ok=True)
        self.profile = tempfile.mkdtemp(prefix="berth-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = os.environ.get("BERTH_TEST_CHROMIUM", "/usr/bin/chromium")
        for argument in [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-sync",
            "--password-store=basic",
            f"--user-data-dir={self.profile}",
            "--window-size=1280,900",
        ]:
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        chromedriver = os.environ.get("BERTH_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
        # chromedriver's own flag: selenium's keyword for it changed between versions.
        service = Service(chromedriver, service_args=[f"--log-path={os.path.join(shots, name + '-chromedriver.log')}"])
        self.driver = None
        try:
            self.driver = webdriver.Chrome(service=service, options=options)
        except WebDriverException as error:
            shutil.rmtree(self.profile, ignore_errors=True)
            raise CheckFailed(f"headless chromium did not start through chromedriver: {error.msg or error}")
        self.driver.set_page_load_timeout(PAGE_LOAD_SECONDS)
        self.driver.set_script_timeout(30)
        self.driver.set_window_size(1280, 900)

    def quit(self):
        """Ends chromium and chromedriver (driver.quit) and removes the profile."""
        try:
            if self.driver is not None:
                self.driver.quit()
        finally:
            self.driver = None
            shutil.rmtree(self.profile, ignore_errors=True)

    # MARK: files for the test

    def say(self, message):
        print(f"{time.monotonic() - self.started:6.1f} s  {message}", flush=True)

    def shot(self, label, whole=False):
        """Saves a screenshot of the window as SHOTS/NAME-LABEL.png; `whole`: of the whole page,
        the window made as tall as the page (at most 3000 px) for it."""
        path = os.path.join(self.shots, f"{self.name}-{label}.png")
        if whole:
            chrome = 900 - self.js("return window.innerHeight;")
            self.driver.set_window_size(1280, min(3000, self.js("return document.documentElement.scrollHeight;") + chrome))
        try:
            check(self.driver.save_screenshot(path), f"could not save the screenshot {path}")
        finally:
            if whole:
                self.driver.set_window_size(1280, 900)
        self.say(f"screenshot {path}")
        return path

    def signal(self, step):
        """Tells the test that this step is reached: an empty file SIGNALS/STEP."""
        with open(os.path.join(self.signals, step), "w"):
            pass
        self.say(f"reached {step}")

    def save_failure(self):
        """On a failed check: a screenshot and the DOM of the page as it was."""
        if self.driver is None or not self.driver.current_url.startswith(self.base):
            return
        try:
            self.shot("failed")
            with open(os.path.join(self.shots, f"{self.name}-failed.html"), "w", encoding="utf-8") as file:
                file.write(self.driver.page_source)
            self.say(f"the page at the failure was {self.driver.current_url}")
        except WebDriverException as error:
            print(f"could not save the failed page: {error}", flush=True)

    # MARK: HTTP as the server answers it

    def cookies(self):
        """The browser's cookies for the server (HttpOnly ones included), as a Cookie header."""
        return "; ".join(f"{cookie['name']}={cookie['value']}" for cookie in self.driver.get_cookies())

    def raw(self, method, path, form=None, cookie=None, headers=None, read=True):
        """One request to the server, no redirect followed; `cookie` None sends the browser's."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            sent = dict(headers or {})
            cookie = self.cookies() if cookie is None else cookie
            if cookie:
                sent["Cookie"] = cookie
            body = None
            if form is not None:
                body = urllib.parse.urlencode(form)
                sent["Content-Type"] = "application/x-www-form-urlencoded"
            connection.request(method, path, body=body, headers=sent)
            answer = connection.getresponse()
            text = answer.read().decode("utf-8", "replace") if read else ""
            return Response(answer.status, answer.headers, text)
        finally:
            connection.close()

    def page(self, path, status=200, cookie=None):
        """GETs `path` as the server sends it, checks its status and type, parses it strictly."""
        answer = self.raw("GET", path, cookie=cookie)
        check(answer.status == status, f"GET {path} answered {answer.status}, expected {status}: {answer.body[:500]}")
        kind = answer.header("Content-Type") or ""
        check(kind.startswith("text/html") and "utf-8" in kind.lower(), f"GET {path} is {kind!r}, expected text/html; charset=utf-8")
        parse_strictly(f"GET {path} ({status})", answer.body)
        return answer

    # MARK: the browser

    def path(self):
        """The path (and query) the browser shows now."""
        url = urllib.parse.urlsplit(self.driver.current_url)
        return url.path + (f"?{url.query}" if url.query else "")

    def open(self, path, status=200):
        """Parses `path` as the server sends it, then opens it in the browser."""
        self.page(path, status)
        self.say(f"GET {path}: {status}, valid HTML5")
        self.go(path)
        self.wait(f"{path} has loaded", lambda: self.js("return document.readyState") == "complete")
        self.say(f"opened {path}")

    def go(self, path):
        """Navigates to `path`; a load over PAGE_LOAD_SECONDS fails, with how long its request waited."""
        try:
            self.driver.get(self.base + path)
        except TimeoutException:
            raise CheckFailed(
                f"the browser did not load {path} within {PAGE_LOAD_SECONDS} s (the server answers it at once to a new connection:"
                " the browser's request waited for one of its 6 connections per host, held by event streams of pages left earlier?)"
            )

    def parse_current(self, status=200):
        """Parses the page the browser shows now, as the server sends it."""
        self.page(self.path(), status)

    def js(self, script, *arguments):
        return self.driver.execute_script(script, *arguments)

    def text(self, selector):
        """The trimmed text of the first element matching `selector`, or None."""
        return self.js("const e = document.querySelector(arguments[0]); return e ? e.textContent.trim() : null;", selector)

    def count(self, selector):
        return self.js("return document.querySelectorAll(arguments[0]).length;", selector)

    def attributes(self, selector, attribute):
        return self.js("return Array.from(document.querySelectorAll(arguments[0]), e => e.getAttribute(arguments[1]));", selector, attribute)

    def main_text(self):
        try:
            return self.text("main") or self.js("return document.body ? document.body.innerText : ''") or ""
        except WebDriverException:
            return ""

    def wait(self, what, condition, timeout=60):
        """Waits until `condition()` returns something true, at most `timeout` seconds; returns it."""
        try:
            return WebDriverWait(
                self.driver,
                timeout,
                poll_frequency=0.2,
                ignored_exceptions=(NoSuchElementException, StaleElementReferenceException, JavascriptException),
            ).until(lambda _: condition())
        except TimeoutException:
            raise CheckFailed(f"timed out after {timeout} s waiting until {what} (at {self.driver.current_url}); the page reads:\n{self.main_text()[:2000]}")

    def console_errors(self):
        """Script errors the page logged, and event streams the server refused (other failed
        loads, e.g. an expected 403, are not counted)."""
        entries = [entry for entry in self.driver.get_log("browser") if entry.get("level") == "SEVERE"]
        return [entry["message"] for entry in entries if entry.get("source") != "network" or "/live" in entry["message"].split(" ")[0]]

    def check_console(self):
        errors = self.console_errors()
        check(not errors, f"the browser logged script errors or refused event streams: {errors}")

    # MARK: signing in and live swaps

    def sign_in(self, token):
        """Signs in with `token` through the form; ends on the overview."""
        self.go("/ui/signin")
        field = self.wait("the sign-in form shows input#token", lambda: self.driver.find_element(By.CSS_SELECTOR, "input#token"))
        field.clear()
        field.send_keys(token)
        self.click("button#signin")
        self.wait("signing in lands on the overview (/ui/) with nav#nav", lambda: self.path() == "/ui/" and self.count("nav#nav") == 1)

    def click(self, selector):
        """Clicks the first element matching `selector`; a live swap that replaces it between
        finding and clicking (a stale element) finds it again, within the usual bound."""
        self.wait(f"{selector} can be clicked", lambda: self.driver.find_element(By.CSS_SELECTOR, selector).click() or True, 30)

    def mark(self):
        """Sets a marker on the window (a reload would lose it); returns the live swap count."""
        self.js("window.berthTestMarker = 'kept';")
        return self.swaps()

    def swaps(self):
        return int(self.js("return Number(document.body.dataset.liveSwaps || 0);"))

    def check_not_reloaded(self, what):
        check(self.js("return window.berthTestMarker;") == "kept", f"the page was reloaded while {what}: the marker set on the window is gone")

    def wait_live(self, what, condition, swaps_before, timeout=120):
        """Waits until `condition` holds, reached through a live swap (liveSwaps grew) without a reload."""
        self.wait(what, condition, timeout)
        check(self.swaps() > swaps_before, f"{what} was shown without a live swap (data-live-swaps stayed at {swaps_before})")
        self.check_not_reloaded(what)

    def csrf(self):
        """The session's csrf value, from the sign-out form every signed-in page has."""
        value = self.js("const e = document.querySelector('form#signout input[name=csrf]'); return e ? e.value : null;")
        check(value, "form#signout has no input[name=csrf] with a value")
        return value

    def fetch_post(self, path, form):
        """POSTs `form` to `path` from the page itself (same origin, its cookies); returns the status."""
        return self.driver.execute_async_script(
            """
            const [path, form, done] = arguments;
            fetch(path, {method: 'POST', body: new URLSearchParams(form), redirect: 'manual', credentials: 'same-origin'})
              .then(answer => done(answer.type === 'opaqueredirect' ? 303 : answer.status), error => done('failed: ' + error));
            """,
            path,
            form,
        )

    def phone(self, label):
        """Shows the page 390 px wide as a phone would: no sideways scrolling; a screenshot."""
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})
        try:
            width = self.wait("the phone metrics apply", lambda: self.js("return window.innerWidth;") != 1280 and self.js("return window.innerWidth;"), 10)
            check(width == 390, f"at phone width the layout viewport is {width} px, not 390 (is <meta name=viewport content='width=device-width'> missing?)")
            scroll = self.js("return document.documentElement.scrollWidth;")
            check(scroll <= 391, f"at 390 px the page is {scroll} px wide: it scrolls sideways (wide tables need a scrolling wrapper)")
            self.shot(label)
        finally:
            self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def integer(text, what):
    try:
        return int((text or "").strip())
    except ValueError:
        raise CheckFailed(f"{what} is {text!r}, not an integer")


def row(kind, project, name):
    return f'tr[data-resource="{kind}/{project}/{name}"]'


# MARK: scenarios


def selftest(ui, arguments):
    """Chromium renders a page, html5lib accepts a valid one and refuses a broken one."""
    page = "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>t</title></head><body><h1 id=x>works</h1></body></html>"
    parse_strictly("the self-test page", page)
    try:
        parse_strictly("a broken page", "<!DOCTYPE html><title>t</title><p><b>unclosed</p></i>")
        accepted = True
    except CheckFailed:
        accepted = False
    check(not accepted, "html5lib in strict mode accepted a page with misnested tags")
    ui.driver.get("data:text/html;charset=utf-8," + urllib.parse.quote(page))
    ui.wait("the self-test page shows its heading", lambda: ui.text("h1#x") == "works", 30)
    ui.shot("page")
    ui.say(f"chromium {ui.driver.capabilities.get('browserVersion')} renders pages")


def signin(ui, arguments):
    """Signed out nothing shows; a bad token is refused with an alert; a good one reaches the overview; sign-out ends the session."""
    secret = arguments.secret
    for path in ["/ui/", "/ui/plan", "/ui/jobs", "/ui/events", "/ui/cronjobs", "/ui/certificates", f"/ui/services/{secret}/web", "/ui/jobs/0/logs/live"]:
        answer = ui.raw("GET", path, cookie="")
        check(answer.status == 303, f"signed out, GET {path} answered {answer.status}, expected 303 to /ui/signin")
        location = urllib.parse.urlsplit(answer.header("Location") or "").path
        check(location == "/ui/signin", f"signed out, GET {path} redirects to {answer.header('Location')!r}, expected /ui/signin")
        check(secret not in answer.body, f"signed out, GET {path} shows {secret!r} in its body")
    live = ui.raw("GET", "/ui/live", cookie="", read=False)
    check(live.status == 303, f"signed out, GET /ui/live answered {live.status}, expected 303")

    ui.go("/ui/")
    ui.wait("signed out, /ui/ lands on the sign-in page", lambda: ui.path() == "/ui/signin" and ui.count("input#token") == 1)
    check(secret not in ui.driver.page_source, f"the sign-in page shows {secret!r}")
    check(ui.count("nav#nav") == 0 and ui.count("#services") == 0, "signed out, the page shows the navigation or the services")
    check(ui.js("return document.querySelector('input#token').type;") == "password", "input#token is not type=password")
    check(ui.js("return document.querySelector('input#token').name;") == "token", "input#token is not named token")
    ui.page("/ui/signin", cookie="")
    ui.shot("signed-out")

    # The form without its csrf value is refused, whatever the token.
    refused = ui.raw("POST", "/ui/signin", form={"token": arguments.token}, cookie="")
    check(refused.status == 403, f"POST /ui/signin without csrf answered {refused.status}, expected 403")

    field = ui.driver.find_element(By.CSS_SELECTOR, "input#token")
    field.send_keys(arguments.bad_token)
    ui.click("button#signin")
    ui.wait("a bad token shows p.error[role=alert]", lambda: ui.count("p.error[role=alert]") == 1 and ui.text("p.error[role=alert]"))
    check(ui.path() == "/ui/signin", f"after a bad token the browser is at {ui.path()}, expected /ui/signin")
    check(ui.count("nav#nav") == 0, "a bad token shows the navigation")
    check(not any(cookie["name"] == "berth_session" for cookie in ui.driver.get_cookies()), "a bad token got a berth_session cookie")
    ui.shot("refused")
    # The same through HTTP, with the double-submit csrf the form carries: 401 and an alert.
    form_csrf = ui.js("const e = document.querySelector('form input[name=csrf]'); return e ? e.value : null;")
    check(form_csrf, "the sign-in form has no input[name=csrf]")
    bad = ui.raw("POST", "/ui/signin", form={"token": arguments.bad_token, "csrf": form_csrf})
    check(bad.status == 401, f"POST /ui/signin with a bad token answered {bad.status}, expected 401")
    check('role="alert"' in bad.body, "the 401 sign-in page has no role=\"alert\"")
    parse_strictly("POST /ui/signin (401)", bad.body)

    ui.sign_in(arguments.token)
    session = [cookie for cookie in ui.driver.get_cookies() if cookie["name"] == "berth_session"]
    check(len(session) == 1, f"signed in, the browser has no berth_session cookie: {ui.driver.get_cookies()}")
    check(session[0].get("httpOnly") is True, "the session cookie is not HttpOnly")
    check(session[0].get("sameSite") == "Strict", f"the session cookie's SameSite is {session[0].get('sameSite')!r}, not Strict")
    check(session[0].get("path") == "/ui", f"the session cookie's path is {session[0].get('path')!r}, not /ui")
    check(ui.count("main#main[data-live]") == 1 and ui.count("form#signout") == 1, "the overview lacks main#main[data-live] or form#signout")
    ui.parse_current()
    ui.check_console()
    ui.shot("overview")

    # Signing out ends the session on the server: the old cookie no longer opens a page.
    old = ui.cookies()
    ui.click("form#signout button")
    ui.wait("signing out lands on the sign-in page", lambda: ui.path() == "/ui/signin" and ui.count("input#token") == 1)
    after = ui.raw("GET", "/ui/", cookie=old)
    check(after.status == 303, f"GET /ui/ with the signed-out session's cookie answered {after.status}, expected 303")


def service_live(ui, arguments):
    """A service applied while the overview is open reaches Ready live; a kill shows its restart and cause live."""
    project, service = arguments.project, arguments.service
    selector = row("service", project, service)
    ui.sign_in(arguments.token)
    ui.open("/ui/")
    check(ui.count("table#services") == 1, "the overview has no table#services")
    check(ui.count(selector) == 0, f"the overview shows {selector} before it was applied")
    swaps = ui.mark()
    ui.signal("overview-open")

    ui.wait_live(f"{selector} td.phase reads Ready", lambda: ui.text(f"{selector} td.phase") == "Ready", swaps, 120)
    replicas = ui.text(f"{selector} td.replicas")
    check(replicas == "1/1", f"{selector} td.replicas reads {replicas!r}, expected 1/1")
    check(integer(ui.text(f"{selector} td.restarts"), "td.restarts") == 0, "a new service shows restarts")
    check(ui.text("#phase-counts"), "the overview has no #phase-counts")
    ui.check_console()
    ui.shot("ready")
    swaps = ui.mark()
    ui.signal("service-ready")

    cause = arguments.restart_cause
    ui.wait_live(
        f"{selector} shows a restart and its cause {cause!r}",
        lambda: integer(ui.text(f"{selector} td.restarts"), "td.restarts") >= 1 and cause in (ui.text(f"{selector} td.last-action") or ""),
        swaps,
        120,
    )
    ui.check_console()
    ui.shot("restarted")
    ui.phone("phone")

    # The service's own page, reached by its link.
    ui.click(f"{selector} a")
    page = f"/ui/services/{project}/{service}"
    ui.wait(f"the link leads to {page}", lambda: ui.path() == page and ui.text("h1") == service)
    ui.parse_current()
    replica = 'tr[data-replica="0"]'
    check(ui.text(f"#replicas {replica} .container-id"), f"#replicas {replica} has no .container-id")
    image = ui.text(f"#replicas {replica} .image") or ""
    check(arguments.image in image, f"#replicas {replica} .image reads {image!r}, expected {arguments.image!r}")
    check(integer(ui.text(f"#replicas {replica} .restarts"), ".restarts") >= 1, "the service page shows no restart")
    reasons = ui.js("return Array.from(document.querySelectorAll('#events li[data-reason]'), e => e.textContent);")
    check(any(cause in reason for reason in reasons), f"#events has no li[data-reason] naming {cause!r}: {reasons}")
    check(ui.count("#plan-actions") == 1, "the service page has no #plan-actions")
    ui.check_console()
    ui.shot("service")


def job_live(ui, arguments):
    """A running job's output is followed live; at its end the state, exit code and pretty-printed feedback show."""
    page = f"/ui/jobs/{arguments.job}"
    ui.sign_in(arguments.token)
    ui.open(page)
    ui.wait("the job runs and its first line shows in pre#logs", lambda: ui.text("#job-state") == "started" and "waiting for go" in (ui.text("pre#logs") or ""))
    check(ui.count("pre#feedback") == 0, "a running job shows pre#feedback")
    check(ui.count("form#cancel button#cancel-button") == 1, "a writer sees no Cancel on a running job")
    events = ui.count("ol#timeline li")
    check(events >= 1, "ol#timeline has no event")
    ui.js("window.berthTestMarker = 'kept';")
    ui.signal("job-open")

    ui.wait("the output after go arrives live in pre#logs", lambda: "step 1" in (ui.text("pre#logs") or ""), 60)
    check(ui.text("#job-state") == "started", "the first step's output showed only once the job had ended")
    ui.check_not_reloaded("the output was followed")
    ui.wait("the job page shows the state finished", lambda: ui.text("#job-state") == "finished", 60)
    ui.wait("pre#feedback shows", lambda: ui.count("pre#feedback") == 1, 30)
    ui.check_not_reloaded("the job ended")
    logs = ui.text("pre#logs") or ""
    for line in ["waiting for go", "step 1", "step 2", "all done"]:
        check(line in logs, f"pre#logs lacks {line!r}: {logs!r}")
    shown = ui.js("return document.querySelector('pre#feedback').textContent;")
    expected = json.loads(arguments.feedback)
    try:
        check(json.loads(shown) == expected, f"pre#feedback holds {shown!r}, expected {expected!r}")
    except json.JSONDecodeError:
        raise CheckFailed(f"pre#feedback is not JSON: {shown!r}")
    check("\n  " in shown, f"pre#feedback is not pretty-printed (no indented lines): {shown!r}")
    exit_code = ui.text("#exit-code")
    check(exit_code == "0", f"#exit-code reads {exit_code!r}, expected 0")
    check(ui.count("button#cancel-button") == 0, "an ended job still shows Cancel")
    check(ui.count("ol#timeline li") > events, "ol#timeline gained no event while the job ran to its end")
    check(ui.text("#attempts"), "the job page has no #attempts")
    ui.parse_current()
    ui.check_console()
    ui.shot("finished", whole=True)

    # The jobs list: the job's row, and the filter form narrowing by state.
    ui.open("/ui/jobs")
    job_row = f'tr[data-job="{arguments.job}"]'
    check(ui.text(f"{job_row} td.state") == "finished", f"/ui/jobs shows {job_row} td.state as {ui.text(job_row + ' td.state')!r}")
    ui.driver.find_element(By.CSS_SELECTOR, "form#job-filter [name=state]").send_keys("failed")
    ui.driver.find_element(By.CSS_SELECTOR, "form#job-filter").submit()
    ui.wait("the filter asks for state=failed", lambda: "state=failed" in ui.path())
    ui.parse_current()
    check(ui.count(job_row) == 0, "filtered by state=failed, /ui/jobs still shows the finished job")
    ui.open(f"/ui/jobs?state=finished&project={urllib.parse.quote(arguments.project)}")
    check(ui.count(job_row) == 1, "filtered by state=finished and its project, /ui/jobs does not show the job")
    ui.shot("jobs")


def cancel(ui, arguments):
    """A running job is cancelled from its page; a POST without a valid csrf is refused first."""
    page = f"/ui/jobs/{arguments.job}"
    ui.sign_in(arguments.token)
    ui.open(page)
    ui.wait("the job runs", lambda: ui.text("#job-state") == "started" and ui.count("button#cancel-button") == 1)
    for form, what in [({}, "without csrf"), ({"csrf": "0" * 64}, "with a wrong csrf")]:
        status = ui.fetch_post(page + "/cancel", form)
        check(status == 403, f"POST {page}/cancel {what} answered {status}, expected 403")
    ui.open(page)
    check(ui.text("#job-state") == "started", f"after the refused posts the job's state is {ui.text('#job-state')!r}, expected started")
    ui.shot("running")
    ui.click("form#cancel button#cancel-button")
    ui.wait("the job page shows the state cancelled", lambda: ui.path() == page and ui.text("#job-state") == "cancelled", 60)
    check(ui.count("button#cancel-button") == 0, "a cancelled job still shows Cancel")
    ui.parse_current()
    ui.check_console()
    ui.shot("cancelled")


def read_only(ui, arguments):
    """A reader sees no Cancel, and its forged posts (from the page and with its cookie) are refused."""
    page = f"/ui/jobs/{arguments.job}"
    ui.sign_in(arguments.token)
    ui.open(page)
    ui.wait("the job runs", lambda: ui.text("#job-state") == "started")
    check(ui.count("form#cancel") == 0 and ui.count("button#cancel-button") == 0, "a reader sees the Cancel form")
    ui.shot("no-cancel")
    csrf = ui.csrf()
    for form, what in [({"csrf": csrf}, "with the session's csrf"), ({}, "without csrf")]:
        status = ui.fetch_post(page + "/cancel", form)
        check(status == 403, f"a reader's POST {page}/cancel {what} from the page answered {status}, expected 403")
        answer = ui.raw("POST", page + "/cancel", form=form)
        check(answer.status == 403, f"a reader's POST {page}/cancel {what} with its session cookie answered {answer.status}, expected 403")
        check('role="alert"' in answer.body, f"the 403 answer to the reader's post {what} has no role=\"alert\"")
        parse_strictly(f"POST {page}/cancel (403)", answer.body)
    ui.open(page)
    check(ui.text("#job-state") == "started", f"after the refused posts the job's state is {ui.text('#job-state')!r}, expected started")
    ui.check_console()
    ui.shot("refused")


def limited(ui, arguments):
    """A project-limited token sees its project's rows only, everywhere, and is refused the other's pages."""
    mine, other = arguments.project, arguments.other
    ui.sign_in(arguments.token)
    ui.open("/ui/")
    ui.wait(f"the overview shows {mine}'s service", lambda: ui.count(row("service", mine, arguments.service)) == 1, 60)
    resources = ui.attributes("[data-resource]", "data-resource")
    strangers = [resource for resource in resources if resource.split("/")[1] != mine]
    check(not strangers, f"the overview shows rows of other projects: {strangers}")
    check(other not in ui.driver.page_source, f"the overview names the other project {other!r}")
    ui.shot("overview")

    ui.open("/ui/jobs")
    jobs = ui.attributes("tr[data-job]", "data-job")
    check(jobs == [arguments.job], f"/ui/jobs lists {jobs}, expected only {mine}'s job {arguments.job}")
    check(arguments.other_job not in ui.driver.page_source, "/ui/jobs shows the other project's job")
    ui.shot("jobs")
    for path in [f"/ui/jobs?project={other}", f"/ui/events?project={other}", "/ui/events", "/ui/plan", "/ui/cronjobs", "/ui/certificates"]:
        answer = ui.raw("GET", path)
        check(answer.status in (200, 403), f"GET {path} answered {answer.status}, expected 200 (filtered) or 403")
        parse_strictly(f"GET {path} ({answer.status})", answer.body)
        check(arguments.other_job not in answer.body, f"GET {path} shows the other project's job {arguments.other_job}")
        # A 403 may name the project asked for; a filtered page may repeat it in its form and links.
        shown = answer.body.replace(f'value="{other}"', "").replace(f"project={other}", "")
        check(answer.status == 403 or other not in shown, f"GET {path} shows the other project {other!r}")
    for path in [f"/ui/jobs/{arguments.other_job}", f"/ui/services/{other}/{arguments.service}"]:
        answer = ui.raw("GET", path)
        check(answer.status in (403, 404), f"GET {path} answered {answer.status}, expected 403 or 404")
        check('role="alert"' in answer.body, f"the {answer.status} page of {path} has no role=\"alert\"")
        parse_strictly(f"GET {path} ({answer.status})", answer.body)
    ui.go(f"/ui/jobs/{arguments.other_job}")
    ui.wait("the other project's job page shows its refusal", lambda: ui.count("p.error[role=alert]") == 1)
    ui.shot("refused")


def url_map(arguments):
    """The signed-in pages of the URL map, each with a label and the parts it must have."""
    project, service, job = arguments.project, arguments.service, arguments.job
    return [
        ("overview", "/ui/", ["table#services", "#phase-counts", row("service", project, service)]),
        ("service", f"/ui/services/{project}/{service}", ["#replicas tr[data-replica]", "#events", "#plan-actions"]),
        ("plan", "/ui/plan", ["#plan"]),
        ("jobs", "/ui/jobs", ["form#job-filter", "table#jobs", f'tr[data-job="{job}"] td.state']),
        ("jobs-filtered", f"/ui/jobs?project={project}&state=finished&label=tier%3Dweb", ["form#job-filter"]),
        ("job", f"/ui/jobs/{job}", ["#job-state", "ol#timeline li", "#attempts", "#exit-code", "pre#logs"]),
        ("cronjobs", "/ui/cronjobs", [f"{row('cronjob', project, arguments.cron)} .schedule", ".next-run"]),
        ("events", "/ui/events", ["form#event-filter", "#events tr[data-sequence] .reason"]),
        ("events-filtered", f"/ui/events?project={project}&kind=service&name={service}", ["form#event-filter"]),
        # No certificate is configured: the table, or a line saying there is none.
        ("certificates", "/ui/certificates", ["#certificates, p.none"]),
    ]


def html5(ui, arguments):
    """Every page of the URL map, as the server sends it, parses as HTML5 (strictly); 404 pages, assets with ETag and 304."""
    project, service, job = arguments.project, arguments.service, arguments.job
    ui.page("/ui/signin", cookie="")
    ui.sign_in(arguments.token)
    for _, path, _ in url_map(arguments):
        ui.page(path)
        ui.say(f"GET {path}: 200, valid HTML5")
    links = ui.attributes("nav#nav a[href]", "href")
    check(len(links) >= 6, f"nav#nav links to {links}, expected the overview, plan, jobs, cron jobs, events and certificates")
    for link in links:
        ui.page(urllib.parse.urljoin("/ui/", link))
    for path in [f"/ui/jobs/{job}x", f"/ui/services/{project}/{service}-missing"]:
        answer = ui.page(path, 404)
        check('role="alert"' in answer.body, f"the 404 page of {path} has no role=\"alert\"")
    for path, kind in [("/ui/assets/berth.css", "text/css"), ("/ui/assets/berth.js", "javascript")]:
        answer = ui.raw("GET", path, cookie="")
        check(answer.status == 200 and kind in (answer.header("Content-Type") or ""), f"GET {path}: {answer.status} {answer.header('Content-Type')!r}")
        tag, cache = answer.header("ETag"), answer.header("Cache-Control")
        check(tag and cache, f"GET {path} has ETag {tag!r} and Cache-Control {cache!r}; both are needed")
        again = ui.raw("GET", path, cookie="", headers={"If-None-Match": tag})
        check(again.status == 304, f"GET {path} with If-None-Match of its ETag answered {again.status}, expected 304")


def pages(ui, arguments):
    """The browser opens every page of the URL map in turn: each loads, has its parts and exact times, logs no error."""
    ui.sign_in(arguments.token)
    for label, path, parts in url_map(arguments):
        ui.open(path)
        for part in ["nav#nav", "form#signout input[name=csrf]", "main#main[data-live]"] + parts:
            check(ui.count(part) >= 1, f"{path} has no {part}")
        times = ui.js("return Array.from(document.querySelectorAll('time'), t => [t.getAttribute('datetime'), t.getAttribute('title')]);")
        for stamp, title in times:
            try:
                datetime.fromisoformat((stamp or "").replace("Z", "+00:00"))
            except ValueError:
                raise CheckFailed(f"{path} has <time datetime={stamp!r}>, not an ISO 8601 time")
            check(title, f"{path} has <time datetime={stamp!r}> without the exact time as its title")
        ui.check_console()
        ui.shot(label, whole=label in ("overview", "job"))


def usability(ui, arguments):
    """Keyboard focus is visible, dark mode follows the system, phone width does not scroll sideways, JavaScript off still works."""
    project, job = arguments.project, arguments.job
    ui.sign_in(arguments.token)
    # Keyboard: Tab reaches a link or button, and the focused element is visibly outlined.
    ui.open("/ui/")
    ActionChains(ui.driver).send_keys(Keys.TAB).perform()
    focused = ui.js(
        "const e = document.activeElement; const s = getComputedStyle(e);"
        " return [e.tagName, s.outlineStyle, s.outlineWidth, s.boxShadow];"
    )
    check(focused[0] in ("A", "BUTTON", "INPUT", "SELECT"), f"Tab focused a {focused[0]}, expected a link or control")
    check((focused[1] != "none" and focused[2] != "0px") or focused[3] != "none", f"the focused {focused[0]} has no visible outline: {focused[1:]}")
    ui.shot("focus")
    # Dark mode follows prefers-color-scheme.
    colours = "const s = getComputedStyle(document.body); return [s.backgroundColor, s.color];"
    light = ui.js(colours)
    ui.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    dark = ui.wait("the dark colours apply", lambda: ui.js(colours) if ui.js(colours) != light else None, 10)
    ui.shot("dark")
    ui.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    ui.say(f"colours light {light}, dark {dark}")
    ui.phone("phone")
    ui.check_console()

    # JavaScript off: the job page still shows its state and output; the filter form still works.
    ui.driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        ui.go(f"/ui/jobs/{job}")
        state = ui.driver.find_element(By.CSS_SELECTOR, "#job-state").text.strip()
        check(state == "finished", f"with JavaScript off the job page shows the state {state!r}")
        logs = ui.driver.find_element(By.CSS_SELECTOR, "pre#logs").text
        check(arguments.output in logs, f"with JavaScript off pre#logs lacks {arguments.output!r}: {logs!r}")
        ui.go("/ui/jobs")
        ui.driver.find_element(By.CSS_SELECTOR, "form#job-filter [name=project]").send_keys(project)
        ui.driver.find_element(By.CSS_SELECTOR, "form#job-filter").submit()
        ui.wait("the filter form works without JavaScript", lambda: f"project={project}" in ui.path() and ui.count(f'tr[data-job="{job}"]') == 1, 30)
        ui.shot("no-javascript")
    finally:
        ui.driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})


SCENARIOS = {
    "selftest": selftest,
    "signin": signin,
    "service-live": service_live,
    "job-live": job_live,
    "cancel": cancel,
    "read-only": read_only,
    "limited": limited,
    "html5": html5,
    "pages": pages,
    "usability": usability,
}


def arguments_parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="scenario", required=True)
    for name, function in SCENARIOS.items():
        command = commands.add_parser(name, help=function.__doc__)
        command.add_argument("--shots", required=True, help="folder for the screenshots")
        command.add_argument("--signals", help="folder for the step files the test waits for (default: --shots)")
        command.add_argument("--deadline", type=int, default=300, help="seconds after which the scenario fails and ends its browser")
        if name == "selftest":
            continue
        command.add_argument("--base", required=True, help="the API's base URL, http://127.0.0.1:PORT")
        command.add_argument("--token", required=True, help="the API token to sign in with")
        if name in ("signin",):
            command.add_argument("--bad-token", required=True)
            command.add_argument("--secret", required=True, help="text (a project's name) a signed-out page must never show")
        site = ("html5", "pages", "usability")
        if name in ("service-live", "limited", "job-live") + site:
            command.add_argument("--project", required=True)
        if name in ("service-live", "limited") + site:
            command.add_argument("--service", required=True)
        if name in ("job-live", "cancel", "read-only", "limited") + site:
            command.add_argument("--job", required=True)
        if name == "service-live":
            command.add_argument("--restart-cause", required=True, help="the cause the restart must show, e.g. 'exited with code 137'")
            command.add_argument("--image", required=True)
        if name == "job-live":
            command.add_argument("--feedback", required=True, help="the job's feedback as JSON")
        if name == "limited":
            command.add_argument("--other", required=True, help="a project the token may not see")
            command.add_argument("--other-job", required=True)
        if name in site:
            command.add_argument("--cron", required=True)
            command.add_argument("--output", required=True, help="a line of the job's output")
    return parser


class DeadlinePassed(BaseException):
    """Raised by SIGALRM (--deadline) and SIGTERM, so that the browser is ended on the way out."""


def main():
    arguments = arguments_parser().parse_args()

    def stop(number, _frame):
        raise DeadlinePassed(f"the scenario did not finish within {arguments.deadline} s" if number == signal.SIGALRM else "stopped by SIGTERM")

    signal.signal(signal.SIGALRM, stop)
    signal.signal(signal.SIGTERM, stop)
    signal.alarm(arguments.deadline)
    ui = None
    try:
        ui = UI(getattr(arguments, "base", "http://127.0.0.1:1"), arguments.shots, arguments.signals or arguments.shots, arguments.scenario)
        SCENARIOS[arguments.scenario](ui, arguments)
        print(f"{arguments.scenario}: every check passed", flush=True)
        return 0
    except (CheckFailed, DeadlinePassed) as failure:
        if ui is not None:
            ui.save_failure()
        print(f"{arguments.scenario}: FAILED: {failure}", file=sys.stderr, flush=True)
        return 1
    except WebDriverException as error:
        if ui is not None:
            ui.save_failure()
        print(f"{arguments.scenario}: FAILED: the browser reported: {error}", file=sys.stderr, flush=True)
        return 1
    except OSError as error:
        if ui is not None:
            ui.save_failure()
        print(f"{arguments.scenario}: FAILED: could not reach the server: {error}", file=sys.stderr, flush=True)
        return 1
    finally:
        signal.alarm(0)
        if ui is not None:
            ui.quit()


if __name__ == "__main__":
    sys.exit(main())
