"""Serve the dashboard notebook with Voilà, in its production configuration.

Only ``notebooks/dashboard.ipynb`` is served (never the notebooks folder). The study reaches the
notebook through the ``TRIALVIZ_STUDY`` environment variable of the server, never through the URL, so
nothing a browser sends can choose which files are read. ``voila/voila.json`` beside this module holds
the production settings: sources stripped, no tracebacks, no template or theme override from the URL,
no static files served, idle kernels culled.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from trialviz.app.explorer import STUDY_ENVIRONMENT_VARIABLE
from trialviz.errors import StudyFileError
from trialviz.paths import DASHBOARD_NOTEBOOK, VOILA_CONFIG_DIR


def voila_command(port: int, *, open_browser: bool = False, ip: str = "127.0.0.1",
                  extra: list[str] | None = None) -> list[str]:
    """The Voilà command line that serves the dashboard."""
    return [
        sys.executable, "-m", "voila", str(DASHBOARD_NOTEBOOK),
        f"--port={port}", f"--Voila.ip={ip}",
        f"--Voila.config_file_paths={VOILA_CONFIG_DIR}",
        *([] if open_browser else ["--no-browser"]),
        *(extra or []),
    ]


def dashboard_environment(study: str | Path | None) -> dict[str, str]:
    """The server environment: ``TRIALVIZ_STUDY`` set to the absolute study path (or unset: bundled)."""
    env = dict(os.environ)
    env.pop(STUDY_ENVIRONMENT_VARIABLE, None)
    if study is not None:
        path = Path(study).expanduser().resolve()
        if not path.exists():
            raise StudyFileError(f"{study}: no such file or folder.")
        env[STUDY_ENVIRONMENT_VARIABLE] = str(path)
    return env


def free_port(preferred: int = 8866) -> int:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])


def serve(study: str | Path | None = None, *, port: int | None = None, open_browser: bool = False,
          ip: str = "127.0.0.1") -> int:
    """Run Voilà on the dashboard until interrupted; returns its exit code."""
    env = dashboard_environment(study)
    port = port or free_port()
    url = f"http://{'127.0.0.1' if ip in ('0.0.0.0', '') else ip}:{port}/"
    print(f"trialviz dashboard on {env.get(STUDY_ENVIRONMENT_VARIABLE, 'the bundled MSC-SSc study')}")
    print(f"Open {url} in a browser (Ctrl+C stops the server).", flush=True)
    process = subprocess.Popen(voila_command(port, open_browser=open_browser, ip=ip), env=env)
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        return process.wait()
