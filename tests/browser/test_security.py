"""The running dashboard server (``trialviz serve``, production Voilà configuration) lets nobody reach what
they should not, and shows hostile data as text.

- It serves no file that is not meant for the browser: no data file, no notebook, no study file, nothing
  outside its folders, whatever the path (traversal with ``..``, encoded or not, through every Jupyter
  and Voilà route), and its error responses carry no traceback.
- The one file it adds to Voilà's is plotly's widget code, at one address that names plotly's version.
- Its pages carry no notebook source, no server path and no traceback; ``?template=`` and ``?theme=`` are
  ignored.
- Its kernels execute nothing a browser sends except widget messages: an ``execute_request`` (and every
  other request to run or inspect code) sent on the kernel's websocket is refused and nothing runs.
- Nothing in the address chooses which files are read: the study is the server's.
- A study whose every text is HTML or script (``tests/test_hostile_content.py``) opens in Chromium with
  every tab, hover label and drill-down showing that text as text, and none of it runs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import http.client
import json
import re
import time
import uuid
from urllib.parse import quote, urlsplit

import plotly
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Server, screenshot
from tests.browser.voila_server import VoilaServer
from tests.test_hostile_content import (
    COHORTS,
    LOW_LABEL,
    NAME,
    SUBJECTS,
    TERMS,
    TITLE,
    UNIT,
    VISIT,
    write_hostile_study,
)
from trialviz.app.plotly_code import PLOTLY_CODE_FILE, PLOTLY_CODE_PATH
from trialviz.paths import BUNDLED_STUDY_DIR, DASHBOARD_NOTEBOOK, PROJECT_ROOT

pytestmark = pytest.mark.browser

SECRETS = {
    "a data file": b"STUDYID,USUBJID",
    "a subject identifier": b"MSC-SSC-0",
    "the study file": b"[[cohorts]]",
    "the notebook": b"from_environment",
    "a notebook file": b'"nbformat"',
    "a system file": b"root:x:0:0",
    "a traceback": b"Traceback (most recent call last)",
    "a server path": str(PROJECT_ROOT).encode(),
}
"""What no response may hold."""

DATA = "data/msc_ssc/adsl.csv"
PATHS = [
    "files/notebooks/dashboard.ipynb", "files/" + DATA, "notebooks/dashboard.ipynb", "notebooks/", DATA,
    "data/msc_ssc/study.toml", "voila/files/dashboard.ipynb", "voila/files/" + DATA, "voila/files/../" + DATA,
    "voila/files/../../" + DATA, "voila/files/%2e%2e/" + DATA, "voila/files/..%2f" + DATA.replace("/", "%2f"),
    "voila/files//etc/passwd", "voila/files/../../../../../../etc/passwd", "voila/static/../../" + DATA,
    "voila/static/..%2f..%2f" + DATA.replace("/", "%2f"), "voila/templates/lab/static/../../../../../" + DATA,
    "voila/nbextensions/../../" + DATA, "voila/labextensions/../../" + DATA, "static/../" + DATA,
    "voila/render/dashboard.ipynb", "voila/render/../" + DATA, "voila/tree", "voila/tree/data",
    "api/contents", "api/contents/notebooks/dashboard.ipynb", "api/contents/" + DATA, "api/kernels", "api/sessions",
    "api/kernelspecs", "api/terminals", "api/config/notebook", "api/nbconvert", "api/me", "api/status",
    "tree", "tree/data", "lab", "lab/tree/notebooks/dashboard.ipynb", "edit/" + DATA, "view/" + DATA,
    "nbconvert/html/notebooks/dashboard.ipynb", "nbconvert/script/notebooks/dashboard.ipynb", "login", "logout",
    "voila/render/" + quote(str(DASHBOARD_NOTEBOOK)),
    # the one file trialviz adds to Voilà's (plotly's widget code) opens no way to another
    "trialviz/static/", "trialviz/static/../../" + DATA, PLOTLY_CODE_PATH + "/../../../" + DATA,
    "trialviz/static/plotly.min.js", "trialviz/static/widgetbundle.js", PLOTLY_CODE_PATH + "x",
    PLOTLY_CODE_PATH.replace("/", "%2f"), "trialviz/static/..%2f..%2f" + DATA.replace("/", "%2f"),
]


def fetch(url: str, path: str, *, follow: int = 3) -> tuple[int, bytes, str]:
    """GET ``path`` exactly as written (no normalisation of ``..``), following redirects on the server."""
    parts = urlsplit(url)
    location = "/" + path
    for _ in range(follow + 1):
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        connection.request("GET", location)
        response = connection.getresponse()
        body = response.read()
        connection.close()
        target = response.getheader("Location")
        if response.status in (301, 302, 303, 307, 308) and target:
            target_parts = urlsplit(target)
            assert target_parts.hostname in (None, "127.0.0.1"), f"{path} redirects off the server: {target}"
            location = target_parts.path + (f"?{target_parts.query}" if target_parts.query else "")
            continue
        return response.status, body, location
    raise AssertionError(f"{path}: more than {follow} redirects")


def test_a_request_to_another_address_fails_and_is_recorded(page):
    """What every browser test relies on: a page that asks another address than the server's gets nothing, and
    the test sees the request (and then fails on it)."""
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.set_content('<img src="https://example.org/pixel.png"><img src="http://10.0.0.1/pixel.png">')
    expected = ["http://10.0.0.1/pixel.png", "https://example.org/pixel.png"]
    assert sorted(page.outside_requests) == expected
    assert sorted(failed) == expected
    assert page.console_errors == ["Failed to load resource: net::ERR_PROXY_CONNECTION_FAILED"] * 2
    page.outside_requests.clear()  # the fixture's own check is for the tests that open the dashboard
    page.console_errors.clear()


def test_no_data_notebook_or_system_file_is_served(server):
    served = {}
    for path in PATHS:
        status, body, final = fetch(server.url, path)
        served[path] = status
        for what, marker in SECRETS.items():
            assert marker not in body, f"{path} (→ {final}, {status}) returned {what}"
        assert status in (403, 404, 405, 500), f"{path} (→ {final}) answered {status}"
    assert served["voila/files/dashboard.ipynb"] == 403 and served["voila/files/../../" + DATA] == 403


def test_the_one_file_added_is_plotlys_widget_code_cached_by_version(server):
    status, body, _ = fetch(server.url, f"{PLOTLY_CODE_PATH}?v={plotly.__version__}")
    assert status == 200 and body == PLOTLY_CODE_FILE.read_bytes()
    connection = http.client.HTTPConnection("127.0.0.1", urlsplit(server.url).port, timeout=60)
    connection.request("HEAD", f"/{PLOTLY_CODE_PATH}?v={plotly.__version__}")
    response = connection.getresponse()
    connection.close()
    # the address names plotly's version: the browser keeps the file and asks for it once
    assert "max-age=" in response.getheader("Cache-Control", "") and response.getheader("Etag")


def test_the_page_holds_no_source_no_path_and_no_traceback(server):
    status, body, _ = fetch(server.url, "")
    assert status == 200
    for what, marker in SECRETS.items():
        assert marker not in body, f"the page holds {what}"
    page = body.decode()
    assert "Explorer" not in page and "import " not in page and "TRIALVIZ_STUDY" not in page


def test_template_and_theme_cannot_be_chosen_from_the_address(server):
    def normalised(query: str) -> str:
        _, body, _ = fetch(server.url, query)
        page = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}", "",
                      body.decode())
        return page.replace("<script>window.voila_heartbeat()</script>\n", "")

    default = normalised("")
    assert 'theme-name="JupyterLab Light"' in default and "reveal" not in default
    # every page request starts a kernel (kept until culled): two requests try every way to ask
    for query in ("?template=reveal&theme=dark", "?template=../../../etc&voila-template=classic&voila-theme=dark"):
        assert normalised(query) == default, f"{query} changed the page"


async def _kernel_messages(server: Server, sent: list[dict], seconds: float) -> list[dict]:
    from tornado.websocket import websocket_connect

    _, body, _ = fetch(server.url, "")
    kernel = re.search(r'kernelId": "([0-9a-f-]+)"', body.decode()).group(1)
    socket = await websocket_connect(f"ws://127.0.0.1:{server.port}/api/kernels/{kernel}/channels?"
                                     f"session_id={uuid.uuid4()}")
    for message in sent:
        await socket.write_message(json.dumps(message))
    received: list[dict] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            message = await asyncio.wait_for(socket.read_message(), timeout=end - time.monotonic())
        except TimeoutError:
            break
        if message is None:
            break
        if isinstance(message, str):
            received.append(json.loads(message))
    socket.close()
    return received


def _run_in_own_thread(coroutine):
    """Run a coroutine on a fresh event loop in a thread: a session-scoped playwright loop may be running here."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _request(kind: str, content: dict) -> dict:
    return {"header": {"msg_id": uuid.uuid4().hex, "username": "browser", "session": uuid.uuid4().hex,
                       "msg_type": kind, "version": "5.3", "date": ""},
            "metadata": {}, "content": content, "buffers": [], "parent_header": {}, "channel": "shell"}


def test_the_kernel_executes_nothing_the_browser_sends(server, tmp_path):
    marker = tmp_path / "executed"
    code = f"open({str(marker)!r}, 'w').write('ran')"
    refused = [
        _request("execute_request", {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                                     "allow_stdin": False, "stop_on_error": False}),
        _request("execute_request", {"code": "", "silent": True, "store_history": False,
                                     "user_expressions": {"x": f"__import__('builtins').exec({code!r})"},
                                     "allow_stdin": False, "stop_on_error": False}),
        _request("inspect_request", {"code": "open", "cursor_pos": 4, "detail_level": 1}),
        _request("complete_request", {"code": "import o", "cursor_pos": 8}),
        _request("history_request", {"output": True, "raw": True, "hist_access_type": "tail", "n": 100}),
        _request("is_complete_request", {"code": code}),
    ]
    allowed = _request("kernel_info_request", {})
    received = _run_in_own_thread(_kernel_messages(server, [*refused, allowed], seconds=8))
    replies = {m["parent_header"].get("msg_id"): m["header"]["msg_type"] for m in received
               if m.get("channel") == "shell" and m.get("parent_header")}
    assert replies.get(allowed["header"]["msg_id"]) == "kernel_info_reply", "the websocket works: allowed messages"
    answered = {m["parent_header"].get("msg_id") for m in received if m.get("parent_header")}
    for message in refused:
        assert message["header"]["msg_id"] not in answered, f"{message['header']['msg_type']} reached the kernel"
    assert not marker.exists(), "code sent by the browser ran"
    log = server.log_path.read_text()
    for kind in ("execute_request", "inspect_request", "complete_request", "history_request"):
        assert f'Received message of type "{kind}", which is not allowed. Ignoring.' in log


def test_the_address_cannot_choose_the_files_read(server, page):
    pilot = PROJECT_ROOT.parent / "shared" / "data" / "cdiscpilot01"
    query = (f"study={quote(str(pilot))}&TRIALVIZ_STUDY={quote(str(pilot))}&path=..%2F..%2Fetc%2Fpasswd"
             f"&file={quote(str(BUNDLED_STUDY_DIR / 'adsl.csv'))}&tab=safety")
    page.goto(f"{server.url}?{query}", timeout=120_000)
    expect(page.locator(".tv-count-total")).to_have_text("20 of 20 patients shown")
    expect(page.locator(".tv-title")).to_contain_text("MSC-SSc")
    status = page.locator(".tv-status")
    for key in ("study", "TRIALVIZ_STUDY", "path", "file"):
        expect(status).to_contain_text(f"unknown setting '{key}'")
    expect(page.get_by_role("tab", name="Safety")).to_have_attribute("aria-selected", "true")
    assert page.js_errors == []


# --- hostile content in the browser -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    folder = write_hostile_study(tmp_path_factory.mktemp("hostile") / "study")
    server = VoilaServer(folder, tmp_path_factory.mktemp("voila-hostile"))
    yield server
    server.stop()


TRAP = """() => {
  window.__dialogs = 0;
  window.alert = window.confirm = window.prompt = () => { window.__dialogs += 1; };
}"""


def _never_ran(page) -> None:
    assert page.evaluate("() => window.__pwned") is None, "a script from the data ran"
    assert page.evaluate("() => window.__dialogs") == 0
    assert page.evaluate("() => document.querySelectorAll('.tv-app script, .tv-app img, .tv-app iframe, "
                         ".tv-app svg[onload], .tv-app [onerror], .tv-app [onmouseover]').length") == 0


HOVER = """() => {
  const seen = [];
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    if (gd.offsetParent === null || !gd.data) continue;
    gd.data.forEach((trace, i) => {
      const n = (trace.x || trace.y || []).length;
      for (let k = 0; k < Math.min(n, 3); k++) {
        try { window.Plotly.Fx.hover(gd, [{curveNumber: i, pointNumber: k}]); } catch (e) { continue; }
        const text = [...gd.querySelectorAll('.hoverlayer')].map(h => h.textContent).join(' ');
        if (text.trim()) seen.push(text);
      }
    });
    window.Plotly.Fx.unhover(gd);
  }
  return seen;
}"""


def _hover_every_plot(page) -> list[str]:
    """Hover the first points of every trace of the visible figures (plotly's own hover, as the mouse
    would); return the hover labels drawn."""
    page.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot')].some(p => p.offsetParent "
                           "!== null && p.data && p.data.length)")
    page.wait_for_timeout(500)
    return page.evaluate(HOVER)


def test_hostile_text_is_shown_as_text_and_never_runs(hostile_server, page):
    page.add_init_script(TRAP.removeprefix("() => {").removesuffix("}"))
    page.goto(hostile_server.url, timeout=120_000)
    expect(page.locator(".tv-count-total")).to_have_text("5 of 5 patients shown")
    expect(page.locator(".tv-title")).to_contain_text(NAME)
    expect(page.locator(".tv-title")).to_contain_text(TITLE)
    expect(page.locator(".tv-filters")).to_contain_text(LOW_LABEL)
    hover: list[str] = []
    for tab in ("Overview", "Baseline", "Efficacy", "Safety", "Patient"):
        page.get_by_role("tab", name=tab).click()
        expect(page.locator(".tv-status-error")).to_have_count(0)
        if tab != "Baseline":  # the baseline tab is a table
            hover += _hover_every_plot(page)
        _never_ran(page)
        if tab == "Safety":
            expect(page.locator(".tv-ae-soc-pt")).to_contain_text(TERMS["Nausea"])
            (page.locator(".tv-ae-soc-pt tbody tr").filter(has_text=TERMS["Nausea"])
             .first.locator("th, td").first.click())
            expect(page.locator(".tv-drill-patients")).to_contain_text(SUBJECTS["S1"])
            expect(page.locator(".tv-drill-patients")).to_contain_text(SUBJECTS["S3"])
            screenshot(page, "hostile-safety")
            # the list closes with the tab: the patient is opened from it now, and shown by the Patient tab
            page.get_by_role("button", name="Open in Patient tab").click()
            expect(page.get_by_role("tab", name="Patient")).to_have_attribute("aria-selected", "true")
        if tab == "Efficacy":
            page.wait_for_function("(visit) => [...document.querySelectorAll('.js-plotly-plot .xtick')]"
                                   ".some(t => t.textContent === visit)", arg=VISIT)
    # hover labels hold the identifiers, the cohort and the unit as text (markup would not be in textContent)
    assert any(SUBJECTS["S2"] in label for label in hover), hover[:5]
    assert any(COHORTS["Low"] in label and UNIT in label for label in hover), hover[:5]
    page.wait_for_function("(id) => [...document.querySelectorAll('.js-plotly-plot .gtitle')]"
                           ".some(t => t.textContent.includes(id))", arg=SUBJECTS["S1"])
    _hover_every_plot(page)
    _never_ran(page)
    screenshot(page, "hostile-patient")
    assert page.js_errors == []
