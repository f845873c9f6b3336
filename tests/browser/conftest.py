"""End-to-end fixtures: a real `trialviz serve` process and Debian's Chromium driven by playwright.

A browser test never skips: without Chromium at /usr/bin/chromium (or $TRIALVIZ_CHROMIUM) it fails.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from trialviz.paths import PROJECT_ROOT

CHROMIUM = os.environ.get("TRIALVIZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 # every address but this machine's goes to a proxy that is not there, so a page can reach
                 # nothing else (Chromium never sends loopback addresses to a proxy)
                 "--proxy-server=127.0.0.1:9"]
SCREENSHOTS = PROJECT_ROOT / "test-output" / "screenshots"
TIMEOUT_MS = 90_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


TEST_KERNELS_READY = 1
"""The preheated pool of the tests' shared servers: each worker's tests open one page at a time, and every
kernel kept ready but never used costs a kernel start (production keeps 2, ``voila.json``)."""


class Server:
    """A `trialviz serve` process on a free port, stopped at the end (``kernels_ready``: its option; ``None``:
    the production default)."""

    def __init__(self, study: str | None, log_dir: Path, kernels_ready: int | None = None):
        self.port = free_port()
        self.log_path = log_dir / f"serve-{self.port}.log"
        self.log = self.log_path.open("w")
        pool = [] if kernels_ready is None else ["--kernels-ready", str(kernels_ready)]
        command = [sys.executable, "-m", "trialviz", "serve", *([study] if study else []),
                   "--port", str(self.port), "--no-browser", *pool]
        env = {k: v for k, v in os.environ.items() if k != "TRIALVIZ_STUDY"}
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT,
                                        env=env)
        self.url = f"http://127.0.0.1:{self.port}/"
        wait_listening(self.process, self.port, 90, "trialviz serve", self.log_path)

    def stop(self) -> None:
        stop_process(self.process, 20)
        self.log.close()


def wait_listening(process: subprocess.Popen, port: int, timeout_s: float, what: str, log_path: Path) -> None:
    """Wait until ``process`` accepts connections on 127.0.0.1:``port``; an error naming its log if it exits
    or is still not listening after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited; see {log_path}:\n{log_path.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} is not listening; see {log_path}") from None
            time.sleep(0.2)


def stop_process(process: subprocess.Popen, timeout_s: float) -> None:
    """SIGTERM, then SIGKILL if the process has not ended after ``timeout_s``."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[Server]:
    srv = Server(None, tmp_path_factory.mktemp("voila"), TEST_KERNELS_READY)
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def pilot_server(tmp_path_factory) -> Iterator[Server]:
    study = str(PROJECT_ROOT.parent / "shared" / "data" / "cdiscpilot01")
    srv = Server(study, tmp_path_factory.mktemp("voila-pilot"), TEST_KERNELS_READY)
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), (
        f"Chromium not found at {CHROMIUM}: install Debian's chromium (apt-get install chromium) or set "
        "TRIALVIZ_CHROMIUM. Browser tests never skip.")
    profile = tempfile.mkdtemp(prefix="trialviz-chromium-")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    shutil.rmtree(profile, ignore_errors=True)


LOCAL = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")
"""Where a request may go: this machine's server, or the page itself."""
VIEWPORT = {"width": 1400, "height": 1000}


def watch(page):
    """Collect on ``page`` what must never happen: ``page.js_errors`` (uncaught errors),
    ``page.console_errors`` (errors logged to the console) and ``page.outside_requests`` (any request to
    another address than the server's: unreachable (``CHROMIUM_ARGS``), and a failure, since hospitals and
    air-gapped servers block them). :func:`assert_clean` checks all three. Returns ``page``."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    console: list[str] = []
    outside: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda message: console.append(message.text) if message.type == "error" else None)
    page.on("request", lambda request: None if request.url.startswith(LOCAL) else outside.append(request.url))
    page.js_errors = errors  # type: ignore[attr-defined]
    page.console_errors = console  # type: ignore[attr-defined]
    page.outside_requests = outside  # type: ignore[attr-defined]
    return page


def new_session(browser):
    """A fresh browser context (an empty cache, no cookies) and page, as a new user's visit, watched
    (:func:`watch`). Returns ``(context, page)``; close the context when done."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    return context, watch(context.new_page())


@pytest.fixture(scope="session")
def browser_profile(browser):
    """One browser context for the ``page`` fixture's tabs: like a clinician's browser, it keeps Voilà's and
    plotly's code in its cache from one page to the next (opening a page then costs Chromium about a third
    less work than with an empty cache)."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    yield context
    context.close()


def assert_clean(page, console: bool = True) -> None:
    """No uncaught error, no request to another address than the server's and (``console``) no console error."""
    assert page.outside_requests == [], f"requests to other addresses: {page.outside_requests}"
    assert page.js_errors == [], f"page errors: {page.js_errors}"
    if console:
        assert page.console_errors == [], f"console errors: {page.console_errors}"


@pytest.fixture
def page(browser_profile, request):
    """A new tab of the shared browser (:func:`browser_profile`), watched, closed after the test."""
    page = watch(browser_profile.new_page())
    yield page
    try:
        # a test that kills the page's kernel on purpose expects the page to log the lost connection
        assert_clean(page, console=request.node.get_closest_marker("kernel_killed") is None)
    finally:
        page.close()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


TAB_MARKERS = {"Overview": ".tv-flow .tv-section > summary", "Baseline": ".tv-baseline .tv-section > summary",
               "Efficacy": ".tv-endpoint-summary .tv-section > summary",
               "Safety": ".tv-ae-overview .tv-section > summary",
               "Labs": ".tv-hys-law .tv-section > summary", "Patient": ".tv-patient-events"}
"""An element each dashboard tab shows once it has been computed (a table's title: a long table is folded)."""


def open_dashboard(page, url: str) -> None:
    """Open the dashboard and wait until it is interactive (the patient count is shown)."""
    from playwright.sync_api import expect

    page.goto(url, timeout=120_000)
    expect(page.locator(".tv-count-total")).to_be_visible()


def open_tab(page, name: str) -> None:
    """Click a tab and wait until its content has been computed."""
    from playwright.sync_api import expect

    page.get_by_role("tab", name=name).click()
    expect(page.locator(TAB_MARKERS[name]).first).to_be_visible()


BARRIERS = itertools.count()


def revision(page) -> int:
    """How many updates the dashboard has drawn (``data-tv-revision`` of the page's body)."""
    return int(page.evaluate("() => Number(document.body.dataset.tvRevision || 0)"))


def kernel_caught_up(page, timeout_ms: float = 120_000) -> None:
    """Wait until the kernel has handled every message the page sent so far, and the updates those set off: a
    ping is answered only after the messages sent before it, and is sent again while the revision moves."""
    while True:
        seen = revision(page)
        token = f"barrier-{next(BARRIERS)}"
        page.evaluate("(id) => window.__trialvizBridgeModel.send({type: 'ping', id})", token)
        page.wait_for_function("(id) => window.__trialvizLastPongId === id", arg=token, timeout=timeout_ms)
        if revision(page) == seen:
            return
