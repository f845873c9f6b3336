"""Failures while the dashboard runs: a kernel that dies, study files that change under a running server,
idle kernels, a stopped server. Nothing is lost (the address restores the view), nothing wrong is shown (a
study that can no longer be read gives new sessions a clear error page, never a traceback, and a dataset file
deleted under the server is an error, never a smaller study), and sessions already open keep working on the
study they loaded.

Most servers here run the production Voilà configuration without the preheated kernel pool, so that each
page gets a kernel started for it; ``test_the_preheated_pool_never_shows_files_that_changed`` runs the
production configuration with its pool of two kernels, which loaded the study before the files changed: each
kernel checks the files again when a browser attaches (:class:`trialviz.app.source.StudySource`).
"""

from __future__ import annotations

import re
import shutil
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import TIMEOUT_MS, Server, assert_clean, kernel_caught_up, new_session, screenshot
from tests.browser.voila_server import VoilaServer
from tests.conftest import folder_hashes
from trialviz import load_study
from trialviz.paths import BUNDLED_STUDY_DIR

pytestmark = pytest.mark.browser

HIGH = "MSC 3×10⁶/kg"
LOW = "MSC 1×10⁶/kg"
NO_POOL = ["--VoilaConfiguration.preheat_kernel=False"]


@pytest.fixture(autouse=True)
def _long_expect_timeout() -> None:
    """Tests that open their own browser contexts (no ``page`` fixture) need the long timeout too."""
    expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="module")
def study_copy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("running") / "study"
    shutil.copytree(BUNDLED_STUDY_DIR, folder)
    return folder


@pytest.fixture(scope="module")
def fresh_server(study_copy, tmp_path_factory):
    server = VoilaServer(study_copy, tmp_path_factory.mktemp("voila-failures"), NO_POOL)
    yield server
    server.stop()


def open_dashboard(page, url: str) -> None:
    page.goto(url, timeout=TIMEOUT_MS)
    expect(page.locator(".tv-count-total, .tv-status-error").first).to_be_visible()


def kernel_of(page) -> str:
    """The id of the kernel that serves this page (Voilà writes it into the page's configuration)."""
    match = re.search(r'"kernelId": "([0-9a-f-]{36})"', page.content())
    assert match, "the page names no kernel"
    return match.group(1)


@pytest.mark.kernel_killed
def test_a_reload_restores_the_view_after_the_kernel_died(fresh_server, page):
    open_dashboard(page, fresh_server.url)
    page.get_by_role("checkbox", name=LOW).uncheck()
    open_tab = page.get_by_role("tab", name="Safety")
    open_tab.click()
    expect(page.locator(".tv-count-total")).to_have_text("10 of 20 patients shown")
    page.wait_for_function("() => location.search.includes('tab=safety') && location.search.includes('cohorts=')")
    address = page.url
    # the page has drawn the tab and sent what drawing sends (plotly reports each figure's layout): a message
    # sent after the kill fails in the page ("Kernel connection disconnected"), which this test is not about
    kernel_caught_up(page)
    fresh_server.kernel_process(kernel_of(page)).kill()  # the kernel dies (out of memory, a crash)
    page.wait_for_timeout(3000)
    page.reload(timeout=TIMEOUT_MS)
    assert page.url == address
    expect(page.locator(".tv-count-total")).to_have_text("10 of 20 patients shown")
    expect(page.get_by_role("tab", name="Safety")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("checkbox", name=LOW)).not_to_be_checked()
    expect(page.locator("#tv-adverse-events-overview-by-cohort")).to_contain_text(f"{HIGH} (N = 10)")
    expect(page.locator(".tv-status-error")).to_have_count(0)
    expect(page.locator("#tv-kernel-lost")).to_have_count(0)


def _new_session_shows_error(browser, url: str, *texts: str) -> None:
    context, page = new_session(browser)
    try:
        open_dashboard(page, url)
        error = page.locator(".tv-status-error")
        expect(error).to_contain_text("could not be opened")
        for text in texts:
            expect(error).to_contain_text(text)
        expect(error).to_contain_text("Correct the files, then reload this page.")
        assert "Traceback" not in page.content() and 'File "' not in error.inner_text()
        expect(page.locator(".tv-count-total")).to_have_count(0)
        assert_clean(page)
    finally:
        context.close()


def _still_works(page) -> None:
    """The session opened before the change keeps working on the study it loaded."""
    page.get_by_role("checkbox", name=LOW).click()
    page.get_by_role("tab", name="Efficacy").click()
    expect(page.locator(".tv-endpoint-summary table").first).to_be_visible()
    page.get_by_role("checkbox", name=LOW).click()
    page.get_by_role("tab", name="Safety").click()
    expect(page.locator(".tv-status-error")).to_have_count(0)


def test_study_files_changed_under_a_running_server(fresh_server, study_copy, browser, page):
    open_dashboard(page, fresh_server.url)
    page.get_by_role("tab", name="Safety").click()
    expect(page.locator("#tv-adverse-events-overview-by-cohort")).to_contain_text("Total (N = 20)")
    originals = {p.name: p.read_bytes() for p in study_copy.iterdir()}
    try:
        # a file cut short (an interrupted copy): new sessions get the reason, the open one carries on
        adae = originals["adae.csv"]
        (study_copy / "adae.csv").write_bytes(adae[: len(adae) // 2])
        _new_session_shows_error(browser, fresh_server.url, "adae.csv", "truncated")
        _still_works(page)
        expect(page.locator(".tv-count-total")).to_have_text("20 of 20 patients shown")
        # a file deleted
        (study_copy / "adae.csv").write_bytes(adae)
        (study_copy / "adsl.csv").unlink()
        _new_session_shows_error(browser, fresh_server.url, "No subject-level dataset (ADSL) was found")
        _still_works(page)
        # the whole study folder gone
        shutil.rmtree(study_copy)
        _new_session_shows_error(browser, fresh_server.url, "no such file or folder")
        _still_works(page)
        screenshot(page, "failures-session-kept")
    finally:
        study_copy.mkdir(exist_ok=True)
        for name, data in originals.items():
            (study_copy / name).write_bytes(data)
    # the files restored: new sessions open the dashboard again
    context, fresh = new_session(browser)
    open_dashboard(fresh, fresh_server.url)
    expect(fresh.locator(".tv-count-total")).to_have_text("20 of 20 patients shown")
    assert_clean(fresh)
    context.close()


def test_idle_kernels_are_culled_and_their_memory_returns(study_copy, tmp_path):
    """With a short culling time, kernels of closed pages go and the server's memory comes back."""
    before = folder_hashes(study_copy)
    server = VoilaServer(study_copy, tmp_path, [*NO_POOL, "--MappingKernelManager.cull_idle_timeout=20",
                                               "--MappingKernelManager.cull_interval=2"])
    try:
        idle = server.memory()
        with ThreadPoolExecutor(3) as pool:  # three page views whose browsers went away: idle kernels
            list(pool.map(lambda _: server.page(), range(3)))
        assert len(server.kernels()) == 3
        kernels, serving = server.kernel_memory(), server.server_memory()
        assert kernels > 3 * 60e6, kernels  # each kernel holds the study and the dashboard
        deadline = time.monotonic() + 90
        while server.kernels() and time.monotonic() < deadline:
            time.sleep(1)
        assert server.kernels() == [], "idle kernels were not culled"
        # the kernels' memory is given back; the server keeps what serving pages made it grow, no more
        after = server.memory()
        assert after < idle + kernels / 2 and server.server_memory() < serving + 20e6, (idle, kernels, serving, after)
        assert "Culling kernel" in server.log_path.read_text()
    finally:
        server.stop()
    assert folder_hashes(study_copy) == before, "serving changed the study files"


@pytest.mark.kernel_killed
def test_the_page_says_so_when_its_kernel_dies(tmp_path, page):
    """Once the kernel is gone the browser cannot even send its heartbeat: the banner must still show."""
    server = VoilaServer(None, tmp_path, NO_POOL)
    try:
        open_dashboard(page, server.url)
        expect(page.locator(".tv-count-total")).to_have_text("20 of 20 patients shown")
        expect(page.locator("#tv-kernel-lost")).to_have_count(0)
        server.kernel_process(kernel_of(page)).kill()
        banner = page.locator("#tv-kernel-lost")
        expect(banner).to_be_visible(timeout=30_000)  # heartbeat every 5 s, lost after 15 s without an answer
        expect(banner).to_contain_text("The dashboard has stopped responding")
        expect(banner).to_contain_text("Reload the page to continue")
    finally:
        server.stop()


def _wait_for_idle_pool(server: VoilaServer, size: int = 2, timeout: float = 180) -> None:
    """Wait until ``size`` preheated kernels exist and have finished running the notebook (they are idle)."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while quiet < 2:
        assert time.monotonic() < deadline, "the kernel pool did not fill"
        kernels = server.kernels()
        try:
            busy = len(kernels) < size or any(k.cpu_percent(interval=0.5) > 5 for k in kernels)
        except psutil.NoSuchProcess:
            busy = True
        quiet = 0 if busy else quiet + 1


def test_the_preheated_pool_never_shows_files_that_changed(tmp_path, browser):
    """Production configuration, pool of two: both kernels loaded the study before a file was cut short, and
    the first new sessions still get the error page; kernels that loaded the broken file show the dashboard
    once it is restored, at the view the address names, with working drill-down."""
    study = tmp_path / "study"
    shutil.copytree(BUNDLED_STUDY_DIR, study)
    server = VoilaServer(study, tmp_path)  # production configuration, pool of 2
    adae = (study / "adae.csv").read_bytes()
    try:
        _wait_for_idle_pool(server)  # both kernels hold the study as it was
        (study / "adae.csv").write_bytes(adae[: len(adae) // 2])
        for _ in range(2):  # the two kernels preheated before the change
            _new_session_shows_error(browser, server.url, "adae.csv", "truncated")
        _wait_for_idle_pool(server)  # the refilled pool loaded the broken file: it holds error pages
        (study / "adae.csv").write_bytes(adae)
        pneumonia = load_study(study).adverse_events
        expected = sorted(pneumonia.loc[pneumonia["AEDECOD"] == "Pneumonia", "USUBJID"].unique())
        for _ in range(2):
            context, page = new_session(browser)
            try:
                page.goto(server.url + "?tab=safety", timeout=TIMEOUT_MS)
                expect(page.locator(".tv-count-total")).to_have_text("20 of 20 patients shown")
                expect(page.get_by_role("tab", name="Safety")).to_have_attribute("aria-selected", "true")
                expect(page.locator(".tv-status-error")).to_have_count(0)
                (page.locator(".tv-ae-soc-pt tbody tr").filter(has_text="Pneumonia")
                 .first.locator("th, td").first.click())
                expect(page.locator(".tv-drill-patients")).to_have_text(", ".join(expected))
                assert_clean(page)
            finally:
                context.close()
    finally:
        server.stop()


def test_a_deleted_dataset_file_is_not_silently_left_out(tmp_path, browser):
    """adae.csv deleted while the server runs: a new session would load a study without adverse events (0
    events for everyone); it gets an error page naming the file instead."""
    study = tmp_path / "study"
    shutil.copytree(BUNDLED_STUDY_DIR, study)
    server = VoilaServer(study, tmp_path, NO_POOL)
    try:
        (study / "adae.csv").unlink()
        _new_session_shows_error(browser, server.url, "adae.csv", "no longer in the study folder")
    finally:
        server.stop()


def test_stopping_trialviz_serve_stops_voila_and_its_kernels(tmp_path):
    """SIGTERM (what systemd and container runtimes send) to ``trialviz serve`` stops Voilà and its kernels;
    and ``--kernels-ready 1`` keeps one kernel ready (the production pool starts its two together)."""
    server = Server(None, tmp_path, kernels_ready=1)
    voila = [p for p in psutil.Process(server.process.pid).children(recursive=True) if "voila" in " ".join(p.cmdline())]
    assert voila
    deadline = time.monotonic() + 120
    while not psutil.Process(voila[0].pid).children(recursive=True):  # the preheated kernel
        assert time.monotonic() < deadline, "no preheated kernel started"
        time.sleep(0.2)
    time.sleep(3)
    kernels = psutil.Process(voila[0].pid).children(recursive=True)
    assert len(kernels) == 1, kernels
    server.stop()
    try:
        assert server.process.returncode is not None
        _, alive = psutil.wait_procs(voila + kernels, timeout=30)
        assert not alive, f"still running after trialviz serve stopped: {alive}"
    finally:
        for process in voila + kernels:
            if process.is_running():
                process.kill()

