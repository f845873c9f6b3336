"""A dashboard server whose Voilà process the test owns: its own options (culling, preheating), its kernels
found by id, and a stop that ends Voilà itself, so that Voilà shuts its kernels down.

``tests/browser/conftest.py``'s ``Server`` runs ``trialviz serve``, the user's command; this runs the same
Voilà command line (:func:`trialviz.app.serve.voila_command`, production configuration) directly, with
extra options, for the reliability tests and the load test.
"""

from __future__ import annotations

import re
import subprocess
import urllib.request
from pathlib import Path

import psutil

from tests.browser.conftest import free_port, stop_process, wait_listening
from trialviz.app.serve import dashboard_environment, voila_command
from trialviz.paths import PROJECT_ROOT

KERNEL_ID = re.compile(r'kernelId": "([0-9a-f-]{36})"')


class VoilaServer:
    """Voilà serving the dashboard on 127.0.0.1 with the production configuration plus ``options``."""

    def __init__(self, study: str | Path | None, log_dir: Path, options: list[str] | None = None,
                 timeout: float = 120):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log_path = log_dir / f"voila-{self.port}.log"
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(voila_command(self.port, ip="127.0.0.1", extra=options or []),
                                        env=dashboard_environment(study), stdout=self._log,
                                        stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)
        try:
            wait_listening(self.process, self.port, timeout, "Voilà", self.log_path)
        except TimeoutError:
            self.stop()
            raise

    def kernels(self) -> list[psutil.Process]:
        """The kernel processes Voilà runs now (preheated ones included)."""
        try:
            return [p for p in psutil.Process(self.process.pid).children(recursive=True)
                    if "ipykernel_launcher" in " ".join(p.cmdline())]
        except psutil.NoSuchProcess:
            return []

    def kernel_process(self, kernel_id: str) -> psutil.Process:
        for process in self.kernels():
            if f"kernel-{kernel_id}.json" in " ".join(process.cmdline()):
                return process
        raise LookupError(f"no kernel process for {kernel_id}")

    def memory(self) -> int:
        """Resident memory of Voilà and all its kernels, in bytes."""
        return self.server_memory() + self.kernel_memory()

    def server_memory(self) -> int:
        """Resident memory of the Voilà server process alone, in bytes."""
        try:
            return psutil.Process(self.process.pid).memory_info().rss
        except psutil.NoSuchProcess:
            return 0

    def kernel_memory(self) -> int:
        """Resident memory of the kernels, in bytes."""
        total = 0
        for process in self.kernels():
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    def page(self, query: str = "", timeout: float = 180) -> tuple[str, str]:
        """Request the dashboard as a browser does (the response ends once the notebook has run); returns the
        HTML and the id of the kernel that serves it."""
        with urllib.request.urlopen(self.url + query, timeout=timeout) as response:
            html = response.read().decode()
        match = KERNEL_ID.search(html)
        assert match, "the page names no kernel"
        return html, match.group(1)

    def stop(self) -> None:
        """SIGTERM to Voilà, which shuts its kernels down; anything left after 30 s is killed."""
        children = self.kernels()
        stop_process(self.process, 30)
        for child in children:
            try:
                child.wait(timeout=5)
            except psutil.TimeoutExpired:
                child.kill()
            except psutil.NoSuchProcess:
                pass
        self._log.close()
