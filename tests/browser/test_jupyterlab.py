"""A researcher's notebook in JupyterLab, in headless Chromium: it runs, and its widgets and figures work.

JupyterLab serves a copy of ``notebooks/02-efficacy.ipynb`` (running it in the browser must never rewrite the
committed notebook) with its settings, workspaces and runtime files in a temporary folder. The test runs
every cell from the Run menu, waits for the first ``interact`` cell to show its controls and its plotly
figure (a stored notebook holds neither: both prove the kernel, the widget manager and the plotly renderer
of this JupyterLab work together), then changes the endpoint and checks that the figure is redrawn with the
figure the package draws for it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

import trialviz
from tests.browser.conftest import free_port, screenshot, stop_process
from trialviz.figures import trajectory_figure
from trialviz.paths import NOTEBOOKS_DIR

pytestmark = pytest.mark.browser

WIDGET_PLACEHOLDER = "[Widget: it appears when this cell runs in JupyterLab.]"  # scripts/run_notebooks.py
NOTEBOOK = "02-efficacy.ipynb"
SETTINGS = {  # every cell in the page (no virtual scrolling), nothing saved behind the test's back
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                       "checkForUpdates": False},
}


class JupyterLab:
    """``jupyter lab`` on a loopback port with a random token, serving a folder, stopped at the end."""

    def __init__(self, folder: Path, state: Path):
        self.port = free_port()
        self.token = secrets.token_hex(16)
        for name, values in SETTINGS.items():
            plugin, file = name.rsplit("/", 1)
            (state / "settings" / plugin).mkdir(parents=True, exist_ok=True)
            (state / "settings" / plugin / file).write_text(json.dumps(values))
        env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(state / "settings"),
               "JUPYTERLAB_WORKSPACES_DIR": str(state / "workspaces"),
               "JUPYTER_RUNTIME_DIR": str(state / "runtime")}
        env.pop("TRIALVIZ_STUDY", None)
        self.log_path = state / "jupyterlab.log"
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
             f"--port={self.port}", f"--ServerApp.token={self.token}", f"--ServerApp.root_dir={folder}",
             "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=folder, env=env)
        self.url = f"http://127.0.0.1:{self.port}/"
        deadline = time.monotonic() + 90
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited:\n{self.log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}api/status?token={self.token}", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"jupyter lab is not answering; see {self.log_path}") from None
                time.sleep(0.3)

    def stop(self) -> None:
        stop_process(self.process, 20)
        self.log.close()


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory) -> Iterator[JupyterLab]:
    folder = tmp_path_factory.mktemp("notebooks")
    shutil.copy(NOTEBOOKS_DIR / NOTEBOOK, folder / NOTEBOOK)
    lab = JupyterLab(folder, tmp_path_factory.mktemp("jupyterlab"))
    yield lab
    lab.stop()


def plot_title(output) -> str:
    return output.locator(".js-plotly-plot").first.evaluate("plot => plot.layout.title.text")


def test_efficacy_notebook_runs_in_jupyterlab_with_widgets_and_figures(jupyterlab, page):
    page.goto(f"{jupyterlab.url}lab/tree/{NOTEBOOK}?token={jupyterlab.token}")
    notebook = page.locator(".jp-NotebookPanel")
    expect(notebook.locator(".jp-Cell").first).to_contain_text("MSC-SSc: skin, lung and function")
    # the stored outputs read before anything runs: a report table and the static copy of a figure
    stored = notebook.locator(".jp-OutputArea-output")
    expect(stored.filter(has_text="Endpoint summary").first).to_be_visible()
    expect(stored.filter(has_text=WIDGET_PLACEHOLDER).first).to_be_visible()

    expect(page.get_by_text("Python 3 (ipykernel) | Idle")).to_be_visible()  # the kernel is ready

    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()

    # the first interact cell: its controls, and the figure its function returns
    interact = notebook.locator(".widget-interact").first
    endpoint = interact.locator("select").first
    expect(endpoint).to_be_visible()
    output = interact.locator("xpath=..")
    skin = "Skin score (mRSS): change from baseline"
    expect(output.locator(".js-plotly-plot .gtitle").first).to_contain_text(skin)
    assert plot_title(output).startswith(skin)
    # every cell ran without an error, to the last one
    expect(notebook.locator(".jp-InputArea-prompt").filter(has_text="[*]")).to_have_count(0)
    expect(notebook.locator("[data-mime-type='application/vnd.jupyter.stderr']")).to_have_count(0)
    screenshot(page, "jupyterlab-efficacy-run")

    # the widget drives the kernel: another endpoint redraws the figure with the package's figure for it
    study = trialviz.load_study()
    endpoint.select_option(value=study.endpoint("FVCPP").label)  # ipywidgets: an option's value is its label
    expected = trajectory_figure(study, "FVCPP", measure="change")
    expect(output.locator(".js-plotly-plot .gtitle").first).to_contain_text("Forced vital capacity (FVC)")
    shown = output.locator(".js-plotly-plot").first.evaluate("plot => plot.data.map(t => t.name)")
    assert shown == [trace.name for trace in expected.data]
    interact.scroll_into_view_if_needed()
    screenshot(page, "jupyterlab-efficacy-widget")
