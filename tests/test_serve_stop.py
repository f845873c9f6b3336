"""Stopping ``trialviz serve`` stops every process Voilà started, also one Voilà itself would leave behind (a
preheated kernel still starting when the signal came, in its own session, as jupyter_client starts kernels)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil

FAKE_VOILA = textwrap.dedent("""
    import subprocess, sys, time
    from pathlib import Path
    # a "kernel" in a session of its own that outlives its parent, as a kernel stuck in its start-up does
    kernel = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True)
    Path(sys.argv[1]).write_text(str(kernel.pid))
    time.sleep(300)  # until SIGTERM, which ends this process and not its kernel
""")

SERVE = textwrap.dedent("""
    import sys
    import trialviz.app.serve as serve
    fake = [sys.executable, "-c", sys.argv[1], sys.argv[2]]
    serve.voila_command = lambda *args, **kwargs: fake
    sys.exit(serve.serve())
""")


def test_stopping_serve_stops_a_kernel_voila_left_behind(tmp_path: Path) -> None:
    pid_file = tmp_path / "kernel.pid"
    server = subprocess.Popen([sys.executable, "-c", SERVE, FAKE_VOILA, str(pid_file)], stdout=subprocess.DEVNULL)
    kernel = None
    try:
        deadline = time.monotonic() + 60
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline, "the fake Voilà did not start its kernel"
            time.sleep(0.1)
        kernel = psutil.Process(int(pid_file.read_text()))
        assert kernel.is_running()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        _, alive = psutil.wait_procs([kernel], timeout=10)
        assert not alive, "the kernel outlived trialviz serve"
    finally:
        server.kill()
        if kernel is not None and kernel.is_running():
            kernel.kill()
