"""Benchmark parts measured in headless Chromium against real Voilà servers.

Two servers run side by side with the same Voilà settings (a copy of the production
``trialviz/app/voila/voila.json``, preheated kernel pool of 2, or both without preheating):

- the dashboard, started exactly as ``trialviz serve STUDY`` starts it;
- the floor: a notebook with one check box, one HTML echo and one small plotly ``FigureWidget``.

Before every page load both servers are *settled*: every kernel idle and the pool full again (a page
takes a kernel from the pool, which then starts and runs a new one). Runs of the floor and of the
dashboard alternate, so that both see the same machine. Measured per page, in the page's own clock
(``performance.now()``, from the start of the navigation):

- time to interactive: request → the patient count shown and the first figure drawn (floor: the check
  box shown and the figure drawn);
- after the Efficacy tab was opened once (tabs are built on first view) and the page is quiet: a click on
  a cohort check box → the trajectory figure updated (its ``layout.meta.patients`` changed) and painted
  (the next animation frame); the floor: click → the kernel's echo shown and painted;
- the bytes the page receives on the kernel's websocket for each update (until 1 s without messages);
- resident memory of the page's kernel process, once interactive and after the updates.

After each page, its kernel is shut down through Voilà's own shutdown endpoint (what the page's
``beforeunload`` beacon would do), so kernels do not pile up during the benchmark.
"""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil

from benchmarks.common import MB, stats, wait_until_idle
from trialviz.app.serve import dashboard_environment, voila_command
from trialviz.paths import VOILA_CONFIG_DIR

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 240_000

FLOOR_NOTEBOOK = {
    "cells": [{"cell_type": "code", "execution_count": None, "id": "floor", "metadata": {}, "outputs": [],
               "source": [
                   "import ipywidgets as widgets\n",
                   "import plotly.graph_objects as go\n",
                   "\n",
                   "figure = go.FigureWidget(go.Figure(go.Scatter(x=[0, 1, 2], y=[1, 3, 2]),\n",
                   "                                   layout=dict(height=420, template='plotly_white')))\n",
                   "box = widgets.Checkbox(value=True, description='Cohort A', indent=False)\n",
                   "echo = widgets.HTML(\"<span class='floor-echo'>0</span>\")\n",
                   "\n",
                   "def on_change(change):\n",
                   "    echo.value = f\"<span class='floor-echo'>"
                   "{int(echo.value.split('>')[1].split('<')[0]) + 1}</span>\"\n",
                   "\n",
                   "box.observe(on_change, names='value')\n",
                   "widgets.VBox([box, echo, figure])\n"]}],
    "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
                 "language_info": {"name": "python"}},
    "nbformat": 4, "nbformat_minor": 5,
}

# request → interactive and first figure drawn, in the page's clock
READY_JS = """(selector) => {
  const plots = [...document.querySelectorAll('.js-plotly-plot')]
    .filter(p => p.data && p.data.length > 0 && p.querySelector('.main-svg'));
  return plots.length > 0 && document.querySelector(selector) ? performance.now() : false;
}"""

# a click on a check box → the watched value changed → the next frame (painted)
UPDATE_JS = """async ([box, kind]) => {
  const watch = kind === 'floor'
    ? () => { const e = document.querySelector('.floor-echo'); return e ? e.textContent : null; }
    : () => { const p = [...document.querySelectorAll('.js-plotly-plot')]
                .find(p => p.layout && p.layout.meta && p.layout.meta.visits);
              return p ? String(p.layout.meta.patients) + '/' + String(p.data.length) : null; };
  const before = watch();
  const t0 = performance.now();
  box.click();
  return await new Promise((resolve) => {
    const tick = () => {
      const now = watch();
      if (now !== null && now !== before) requestAnimationFrame(() => resolve(performance.now() - t0));
      else if (performance.now() - t0 > 180000) resolve(-1);
      else requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
}"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def voila_config(folder: Path, preheat: bool) -> Path:
    """A copy of the production Voilà configuration (with preheating switched off when asked)."""
    config = json.loads((VOILA_CONFIG_DIR / "voila.json").read_text())
    config["VoilaConfiguration"]["preheat_kernel"] = preheat
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "voila.json").write_text(json.dumps(config, indent=2))
    return folder


class VoilaServer:
    """A Voilà process on a free port (the dashboard's command, or the floor notebook's), stopped at the end."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_dir: Path, pool: int):
        self.name, self.pool = name, pool
        self.port = int(next(a.split("=", 1)[1] for a in command if a.startswith("--port=")))
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = (log_dir / f"{name}.log").open("w")
        self.started = time.perf_counter()
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 180
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{name}: voila exited; see {log_dir / (name + '.log')}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name}: voila is not listening") from None
                time.sleep(0.2)
        self.listening_s = time.perf_counter() - self.started

    @classmethod
    def dashboard(cls, study: str | None, config: Path, log_dir: Path, pool: int) -> VoilaServer:
        port = _free_port()
        command = voila_command(port)
        command = [a if not a.startswith("--Voila.config_file_paths=") else f"--Voila.config_file_paths={config}"
                   for a in command]
        return cls("dashboard", command, dashboard_environment(study), log_dir, pool)

    @classmethod
    def floor(cls, config: Path, log_dir: Path, pool: int) -> VoilaServer:
        notebook = config / "floor.ipynb"
        notebook.write_text(json.dumps(FLOOR_NOTEBOOK))
        port = _free_port()
        command = [sys.executable, "-m", "voila", str(notebook), f"--port={port}", "--Voila.ip=127.0.0.1",
                   f"--Voila.config_file_paths={config}", "--no-browser"]
        # the floor is served with the dashboard's configuration and page template, on no study
        return cls("floor", command, dashboard_environment(None), log_dir, pool)

    def kernels(self) -> list[psutil.Process]:
        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        return [p for p in children if _is_kernel(p)]

    def kernel_process(self, kernel_id: str) -> psutil.Process | None:
        return next((p for p in self.kernels() if any(kernel_id in part for part in _cmdline(p))), None)

    def shutdown_kernel(self, kernel_id: str) -> None:
        """What the page's beacon on leaving does: Voilà's shutdown endpoint (double-submit XSRF token)."""
        token = secrets.token_hex(16)
        request = urllib.request.Request(f"{self.url}voila/api/shutdown/{kernel_id}", data=b"", method="POST",
                                         headers={"X-XSRFToken": token, "Cookie": f"_xsrf={token}"})
        try:
            urllib.request.urlopen(request, timeout=30).close()
        except OSError:
            process = self.kernel_process(kernel_id)
            if process is not None:
                process.terminate()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []


def _is_kernel(process: psutil.Process) -> bool:
    return any("ipykernel" in part for part in _cmdline(process))


def settle(servers: list[VoilaServer], quiet_s: float = 2.0, timeout_s: float = 900) -> float:
    """Wait until each server has at least its pool of kernels and the server and every kernel have been
    idle (below 3 % of a core) for ``quiet_s``; returns the seconds waited."""
    return wait_until_idle(
        lambda: [p for server in servers for p in [psutil.Process(server.process.pid), *server.kernels()]],
        lambda: all(len(server.kernels()) >= server.pool for server in servers),
        quiet_s=quiet_s, timeout_s=timeout_s, what="the Voilà servers")


class _Frames:
    """Bytes received on the page's kernel websocket."""

    def __init__(self, page):
        self.total = 0
        self.largest = 0
        self.count = 0
        self.last = time.perf_counter()
        self.kernel_id = ""
        page.on("websocket", self._on_socket)

    def _on_socket(self, ws) -> None:
        if "/api/kernels/" in ws.url and "/channels" in ws.url:
            self.kernel_id = ws.url.split("/api/kernels/")[1].split("/")[0]
            ws.on("framereceived", self._on_frame)

    def _on_frame(self, payload) -> None:
        size = len(payload.encode() if isinstance(payload, str) else payload)
        self.total += size
        self.count += 1
        self.largest = max(self.largest, size)
        self.last = time.perf_counter()

    def reset(self) -> None:
        self.total = self.largest = self.count = 0

    def wait_quiet(self, page, quiet_s: float = 1.0, timeout_s: float = 120) -> None:
        started = time.perf_counter()
        while time.perf_counter() - started < timeout_s:
            page.wait_for_timeout(100)  # lets playwright deliver the events
            if time.perf_counter() - self.last >= quiet_s:
                return


def _new_page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
        ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")) else route.abort())
    return context, page


class PageFailure(RuntimeError):
    """A page that did not become interactive or did not update (screenshot and console saved)."""


def page_run(browser, server: VoilaServer, kind: str, updates: int, cohort: str | None = None,
             log_dir: Path | None = None) -> dict:
    """One page view: time to interactive, then ``updates`` filter clicks; the page's kernel is shut down."""
    context, page = _new_page(browser)
    frames = _Frames(page)
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"[:500]))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"[:500]))
    out: dict[str, object] = {}
    step = "request"
    try:
        selector = ".tv-count-total" if kind == "dashboard" else ".widget-checkbox input"
        wall = time.perf_counter()
        page.goto(server.url, wait_until="commit", timeout=TIMEOUT_MS)
        handle = page.wait_for_function(READY_JS, arg=selector, polling="raf", timeout=TIMEOUT_MS)
        out["interactive_s"] = handle.json_value() / 1000
        out["interactive_wall_s"] = time.perf_counter() - wall
        out["load_bytes"] = frames.total
        frames.wait_quiet(page, 1.5)
        kernel = server.kernel_process(frames.kernel_id)
        out["kernel_rss_interactive_mb"] = kernel.memory_info().rss / MB if kernel else None
        step = "efficacy tab"
        if kind == "dashboard":
            page.get_by_role("tab", name="Efficacy").click()
            page.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot')].some(p => p.layout && "
                                   "p.layout.meta && p.layout.meta.visits && p.data.length > 0)", polling="raf")
            frames.wait_quiet(page, 1.5)
            box = page.get_by_label(cohort, exact=True).element_handle()
        else:
            box = page.locator(".widget-checkbox input").first.element_handle()
        latencies, sizes, largest = [], [], []
        step = "updates"
        for _ in range(updates):
            frames.reset()
            ms = page.evaluate(UPDATE_JS, [box, kind])
            if ms < 0:
                raise TimeoutError(f"{kind}: the update was not painted within 180 s")
            frames.wait_quiet(page, 1.0)
            latencies.append(ms / 1000)
            sizes.append(frames.total)
            largest.append(frames.largest)
        out["update_s"] = latencies
        out["update_bytes"] = sizes
        out["update_largest_message_bytes"] = largest
        kernel = server.kernel_process(frames.kernel_id)
        out["kernel_rss_after_updates_mb"] = kernel.memory_info().rss / MB if kernel else None
    except Exception as exc:
        if log_dir is None:
            raise
        shot = log_dir / f"failure-{kind}-{int(time.time())}.png"
        page.screenshot(path=str(shot), full_page=True)
        (shot.with_suffix(".txt")).write_text("\n".join([f"{type(exc).__name__}: {exc}", *console]))
        raise PageFailure(f"{kind}: {step}: {type(exc).__name__}: {str(exc).splitlines()[0]} (see {shot})") from exc
    finally:
        context.close()
        if frames.kernel_id:
            server.shutdown_kernel(frames.kernel_id)
    return out


def measure(study: str | None, runs: int, updates: int, preheat: bool = True, pool: int = 2,
            cohort: str | None = None, warm_up: bool = True, log_dir: Path | None = None) -> dict:
    """Time to interactive, update latency, bytes per update and kernel memory: dashboard and floor."""
    from playwright.sync_api import sync_playwright

    import trialviz

    if cohort is None:
        cohort = trialviz.load_study(study).cohorts[0].display if study else "MSC 1×10⁶/kg"
    work = Path(tempfile.mkdtemp(prefix="trialviz-bench-browser-"))
    log_dir = log_dir or work
    config = voila_config(work / "config", preheat)
    pool = pool if preheat else 0
    servers = []
    result: dict[str, object] = {"preheat": preheat, "pool_size": pool, "runs": runs, "updates": updates}
    try:
        dashboard = VoilaServer.dashboard(study, config, log_dir, pool)
        servers.append(dashboard)
        floor = VoilaServer.floor(config, log_dir, pool)
        servers.append(floor)
        result["settle_first_s"] = round(settle(servers), 1)
        per_kind: dict[str, list[dict]] = {"floor": [], "dashboard": []}
        settles: list[float] = []
        failures: list[str] = []
        result["failures"] = failures
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                first = 0 if warm_up else 1  # the first page of each server warms it up and is not counted
                for run in range(first, runs + 1):
                    for kind, server in (("floor", floor), ("dashboard", dashboard)):
                        waited = settle(servers)
                        try:
                            measured = page_run(browser, server, kind, updates if run else 1, cohort, log_dir)
                        except PageFailure as exc:  # reported with the results, never hidden
                            failures.append(str(exc))
                            if len(failures) > runs:
                                raise
                            continue
                        if run:
                            settles.append(waited)
                            per_kind[kind].append(measured)
            finally:
                browser.close()
        result["settle_s"] = stats(settles, 1)
        for kind, pages in per_kind.items():
            result[kind] = summarise(pages)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work / "config", ignore_errors=True)
    return result


def summarise(pages: list[dict]) -> dict:
    def every(key: str) -> list[float]:
        return [v for p in pages for v in (p[key] if isinstance(p[key], list) else [p[key]]) if v is not None]

    return {
        "interactive_s": stats(every("interactive_s")),
        "interactive_wall_s": stats(every("interactive_wall_s")),
        "load_bytes": stats(every("load_bytes"), 0),
        "update_s": stats(every("update_s")),
        "update_bytes": stats(every("update_bytes"), 0),
        "update_largest_message_bytes": stats(every("update_largest_message_bytes"), 0),
        "kernel_rss_interactive_mb": stats(every("kernel_rss_interactive_mb"), 1),
        "kernel_rss_after_updates_mb": stats(every("kernel_rss_after_updates_mb"), 1),
    }


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Browser part of the benchmark alone")
    parser.add_argument("study", nargs="?")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--updates", type=int, default=3)
    parser.add_argument("--no-preheat", action="store_true")
    args = parser.parse_args()
    print(json.dumps(measure(args.study, args.runs, args.updates, preheat=not args.no_preheat), indent=1))
