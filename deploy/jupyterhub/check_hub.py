"""Start JupyterHub with ``deploy/jupyterhub/jupyterhub_config.py`` on 127.0.0.1, log in with a browser and
check that the login reaches the dashboard. Manual, not part of CI (JupyterHub is not a trialviz
requirement); with JupyterHub in a throwaway environment that also sees trialviz::

    python3 -m venv /tmp/hubvenv && /tmp/hubvenv/bin/pip install jupyterhub jupyterhub-idle-culler
    printf '%s\\n' "$PWD/.venv/lib/python3.11/site-packages" "$PWD" \\
        > /tmp/hubvenv/lib/python3.11/site-packages/trialviz-venv.pth
    (mkdir -p /tmp/hubnpm && cd /tmp/hubnpm && npm install configurable-http-proxy)
    .venv/bin/python -m deploy.jupyterhub.check_hub --hub-venv /tmp/hubvenv \\
        --proxy /tmp/hubnpm/node_modules/.bin/configurable-http-proxy

Voilà's templates and the widget extensions are taken from the environment this runs in (``JUPYTER_PATH``),
as the throwaway Hub environment has none. Only the authenticator and spawner differ from production: ``dummy`` (any user name, one shared password)
and ``simple`` (servers run as this user, no system accounts). Checked, in headless Chromium:

1. without logging in, the dashboard address leads to the Hub's login page, never to the dashboard;
2. after logging in, the user's server starts and opens on the dashboard: "N of N patients shown" and a
   plotly figure drawn;
3. that page holds no notebook source (Voilà read the production ``voila.json``), the server offers no
   JupyterLab, and another user's server does not answer this user.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from trialviz.paths import PROJECT_ROOT

CONFIG = PROJECT_ROOT / "deploy" / "jupyterhub" / "jupyterhub_config.py"
PASSWORD = "trialviz-check"
READY_JS = """() => {
  const count = document.querySelector('.tv-count-total');
  const all = count && /^(\\d+) of \\1 patients shown$/.test(count.textContent.replace(/\\s+/g, ' ').trim());
  return all && [...document.querySelectorAll('.js-plotly-plot')].some(p => p.data && p.data.length > 0);
}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def hub_command(hub_venv: Path, proxy: str, port: int) -> list[str]:
    """The production config file, with test authentication and spawner, on 127.0.0.1:``port``."""
    return [str(hub_venv / "bin" / "jupyterhub"), "-f", str(CONFIG),
            f"--JupyterHub.bind_url=http://127.0.0.1:{port}",
            f"--JupyterHub.hub_port={free_port()}",
            f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{free_port()}",
            f"--ConfigurableHTTPProxy.command={proxy}",
            "--JupyterHub.authenticator_class=dummy", f"--DummyAuthenticator.password={PASSWORD}",
            "--Authenticator.allow_all=True",
            "--JupyterHub.spawner_class=simple",
            # Jupyter servers refuse to run as root unless told (a root CI or container shell)
            *(["--Spawner.args=['--allow-root']"] if os.geteuid() == 0 else []),
            # the servers find Voilà's templates and the widget extensions where trialviz is installed
            "--Spawner.env_keep=['PATH', 'PYTHONPATH', 'VIRTUAL_ENV', 'LANG', 'LC_ALL', 'JUPYTER_PATH']"]


def log_in(page, url: str, user: str) -> None:
    page.goto(f"{url}hub/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("[type=submit]")


def check(url: str, timeout_ms: int) -> list[str]:
    """The checks of the module docstring; returns what failed."""
    from playwright.sync_api import sync_playwright

    failed: list[str] = []
    dashboard = "user/alice/voila/render/dashboard.ipynb"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            anonymous = browser.new_page()
            anonymous.goto(url + dashboard)
            if "/hub/login" not in anonymous.url or anonymous.locator(".tv-count-total").count():
                failed.append(f"without login the dashboard address ended on {anonymous.url}")

            page = browser.new_context().new_page()
            page.set_default_timeout(timeout_ms)
            started = time.monotonic()
            log_in(page, url, "alice")
            page.wait_for_function(READY_JS, timeout=timeout_ms)
            print(f"alice: dashboard interactive at {page.url} {time.monotonic() - started:.1f} s after login")
            html = page.request.get(url + dashboard).text()
            if "Explorer.from_environment" in html or "import trialviz" in html:
                failed.append("the dashboard page holds the notebook's source")
            lab = page.request.get(url + "user/alice/lab", max_redirects=0)
            if lab.status == 200:
                failed.append("the user's server offers JupyterLab")

            bob = browser.new_context().new_page()
            bob.set_default_timeout(timeout_ms)
            log_in(bob, url, "bob")
            bob.wait_for_function(READY_JS, timeout=timeout_ms)
            other = bob.request.get(url + dashboard, max_redirects=0)
            if other.status == 200 and ".tv-count-total" in other.text():
                failed.append("bob reached alice's dashboard")
            print(f"bob on alice's server: HTTP {other.status}")
        finally:
            browser.close()
    return failed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.jupyterhub.check_hub", description=__doc__.split("\n")[0])
    parser.add_argument("--hub-venv", type=Path, required=True, help="virtual environment with jupyterhub")
    parser.add_argument("--proxy", default=shutil.which("configurable-http-proxy") or "configurable-http-proxy")
    parser.add_argument("--timeout", type=float, default=240, help="seconds for each login to reach the dashboard")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="trialviz-hub-"))
    port = free_port()
    env = {**os.environ, "TRIALVIZ_SINGLEUSER": str(args.hub_venv / "bin" / "jupyterhub-singleuser"),
           "PATH": f"{args.hub_venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
           "JUPYTER_PATH": str(Path(sys.prefix) / "share" / "jupyter")}
    log = (workdir / "jupyterhub.log").open("w")
    hub = subprocess.Popen(hub_command(args.hub_venv, args.proxy, port), cwd=workdir, env=env, stdout=log,
                           stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if hub.poll() is not None or time.monotonic() > deadline:
                    print((workdir / "jupyterhub.log").read_text()[-4000:])
                    return 1
                time.sleep(0.5)
        failed = check(f"http://127.0.0.1:{port}/", int(args.timeout * 1000))
    finally:
        hub.terminate()  # the Hub stops the proxy, the culler and the user servers it started
        try:
            hub.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(hub.pid, 9)
        log.close()
    for reason in failed:
        print(f"FAILED: {reason}")
    print("PASSED" if not failed else f"log: {workdir / 'jupyterhub.log'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
