"""Serve the dashboard notebook with Voilà, in its production configuration.

Only ``notebooks/dashboard.ipynb`` is served (never the notebooks folder). The study reaches the
notebook through the ``TRIALVIZ_STUDY`` environment variable of the server, never through the URL, so
nothing a browser sends can choose which files are read. ``voila/voila.json`` beside this module holds
the production settings: sources stripped, no tracebacks, no template or theme override from the URL,
no files served but Voilà's own and plotly's widget code (``voila_server``), idle kernels culled.

The names of the study's files when the server starts go to the notebook too (``TRIALVIZ_STUDY_FILES``): a
file of that list that is gone later gives new sessions an error page, never a smaller study.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from types import FrameType

import psutil

from trialviz.app.source import FILES_ENVIRONMENT_VARIABLE, STUDY_ENVIRONMENT_VARIABLE, study_files
from trialviz.errors import StudyFileError
from trialviz.paths import DASHBOARD_NOTEBOOK, VOILA_CONFIG_DIR, VOILA_TEMPLATE_ROOT


def voila_command(port: int, *, open_browser: bool = False, ip: str = "127.0.0.1",
                  extra: list[str] | None = None, notary_dir: str | Path | None = None) -> list[str]:
    """The Voilà command line that serves the dashboard (Voilà with plotly's widget code served once:
    :mod:`trialviz.app.voila_server`).

    ``notary_dir``: a folder holding a notebook signature store in which the dashboard is signed
    (:func:`trust_dashboard`): Voilà then finds it trusted instead of warning, and the user's own Jupyter
    signature store is left alone. Kernels talk to the server over local sockets (IPC), not TCP, so that
    ipykernel has no unencrypted TCP to warn about.
    """
    return [
        sys.executable, "-m", "trialviz.app.voila_server", str(DASHBOARD_NOTEBOOK),
        f"--port={port}", f"--Voila.ip={ip}",
        f"--Voila.config_file_paths={VOILA_CONFIG_DIR}",
        *([] if open_browser else ["--no-browser"]),
        *([f"--NotebookNotary.data_dir={notary_dir}"] if notary_dir is not None else []),
        "--KernelManager.transport=ipc",
        *(extra or []),
    ]


def trust_dashboard(notary_dir: str | Path) -> None:
    """Sign the dashboard notebook in a signature store of its own, in ``notary_dir`` (see :func:`voila_command`)."""
    import nbformat
    from nbformat.sign import NotebookNotary

    notebook = nbformat.read(DASHBOARD_NOTEBOOK, as_version=4)
    notary = NotebookNotary(data_dir=str(notary_dir))
    notary.sign(notebook)
    notary.close()


READY_PROBE = "trialviz-ready-probe"
"""A path the server does not serve (it answers 403 or 404): asking for it renders no dashboard (which would take
a kernel)."""


def wait_until_answering(url: str, process: subprocess.Popen[bytes], *, timeout_s: float = 180.0) -> bool:
    """Whether the server at ``url`` answers an HTTP request (any status; :data:`READY_PROBE` is asked for)
    before ``timeout_s`` seconds, while ``process`` runs."""
    import time
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url + READY_PROBE, timeout=5):
                return True
        except urllib.error.HTTPError:
            return True  # it answered, with an error status: it is listening
        except (urllib.error.URLError, OSError):
            time.sleep(0.25)
    return False


def pool_options(kernels_ready: int | None) -> list[str]:
    """Voilà's options for a pool of ``kernels_ready`` preheated kernels (none: ``voila.json``'s)."""
    if kernels_ready is None:
        return []
    if kernels_ready < 0:
        raise ValueError(f"kernels_ready must be 0 or more, not {kernels_ready}")
    if kernels_ready == 0:
        return ["--VoilaConfiguration.preheat_kernel=False"]
    return [f"--VoilaConfiguration.default_pool_size={kernels_ready}"]


def dashboard_environment(study: str | Path | None) -> dict[str, str]:
    """The server environment: ``TRIALVIZ_STUDY`` set to the absolute study path (or unset: bundled),
    ``TRIALVIZ_STUDY_FILES`` to the JSON list of the study's file names now, and the Jupyter data path to
    include trialviz's page template."""
    env = dict(os.environ)
    env.pop(STUDY_ENVIRONMENT_VARIABLE, None)
    path = None
    if study is not None:
        path = Path(study).expanduser().resolve()
        if not path.exists():
            raise StudyFileError(f"{study}: no such file or folder.")
        env[STUDY_ENVIRONMENT_VARIABLE] = str(path)
    env[FILES_ENVIRONMENT_VARIABLE] = json.dumps(sorted(study_files(path)))
    # trialviz's own Voilà page template (no request leaves the server) is found on the Jupyter data path
    env["JUPYTER_PATH"] = os.pathsep.join([str(VOILA_TEMPLATE_ROOT), *filter(None, [env.get("JUPYTER_PATH")])])
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
          ip: str = "127.0.0.1", kernels_ready: int | None = None) -> int:
    """Run Voilà on the dashboard until interrupted; returns its exit code.

    ``kernels_ready``: how many kernels Voilà keeps started, with the dashboard built, for the next pages
    (``default_pool_size`` of ``voila.json``, 2, when ``None``; 0 turns preheating off: each page starts its
    own kernel). SIGTERM and SIGINT (Ctrl+C) stop Voilà, which shuts its kernels down, and are waited for.
    """
    import tempfile
    import webbrowser

    env = dashboard_environment(study)
    port = port or free_port()
    url = f"http://{'127.0.0.1' if ip in ('0.0.0.0', '') else ip}:{port}/"
    _say(f"trialviz dashboard on {env.get(STUDY_ENVIRONMENT_VARIABLE, 'the bundled MSC-SSc study')}: starting…")
    notary = tempfile.TemporaryDirectory(prefix="trialviz-notary-")
    trust_dashboard(notary.name)
    # Voilà never opens a browser itself: trialviz opens it once the server answers, where there is one
    process = subprocess.Popen(voila_command(port, ip=ip, notary_dir=notary.name, extra=pool_options(kernels_ready)),
                               env=env)

    def announce() -> None:
        if not wait_until_answering(url, process):
            return
        _say(f"Open {url} in a browser (Ctrl+C stops the server).")
        if open_browser:
            try:
                webbrowser.get().open(url)
            except webbrowser.Error:
                _say("(No web browser found here to open it.)")

    threading.Thread(target=announce, name="trialviz-announce", daemon=True).start()
    kernels: list[psutil.Process] = []

    def stop(_signal: int, _frame: FrameType | None) -> None:
        if process.poll() is None:
            kernels.extend(_children(process.pid))
            process.terminate()

    main = threading.current_thread() is threading.main_thread()  # only the main thread may set handlers
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)} if main else {}
    try:
        return process.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        # Voilà shuts down the kernels it knows; a preheated kernel still starting when the signal came is
        # not one of them yet, and can outlive it (seen in CI: a kernel that failed to write its connection
        # file and never exited)
        _stop(kernels)
        notary.cleanup()


def _say(line: str) -> None:
    """Print ``line`` in one write: Voilà logs to the same output, and with unbuffered output (``python -u``,
    ``PYTHONUNBUFFERED``) ``print`` writes the text and its newline separately, so that a log line of Voilà's
    could land between them (seen: "…stops the server).[TrialvizVoila] Kernel started")."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _stop(processes: list[psutil.Process], timeout_s: float = 5) -> None:
    """SIGTERM to those of ``processes`` still running, SIGKILL to those still running ``timeout_s`` later."""
    running = [p for p in processes if p.is_running()]
    for process in running:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.terminate()
    _, alive = psutil.wait_procs(running, timeout=timeout_s)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
