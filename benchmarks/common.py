"""Helpers shared by the benchmark's parts: statistics of repeated runs, the machine, worker processes."""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "benchmarks" / "results"
DATA_DIR = ROOT / "benchmarks" / "data"
MB = 1024 * 1024


def stats(values: Sequence[float], digits: int = 3) -> dict[str, object]:
    """Median, min and max of repeated runs, with the runs themselves."""
    values = [float(v) for v in values]
    if not values:
        return {"median": None, "min": None, "max": None, "n": 0, "runs": []}
    return {"median": round(statistics.median(values), digits), "min": round(min(values), digits),
            "max": round(max(values), digits), "n": len(values), "runs": [round(v, digits) for v in values]}


def ratio(value: dict | float | None, floor: dict | float | None) -> float | None:
    """Median of ``value`` over median of ``floor`` (both measured in the same run)."""
    v = value.get("median") if isinstance(value, dict) else value
    f = floor.get("median") if isinstance(floor, dict) else floor
    if v is None or not f:
        return None
    return round(float(v) / float(f), 2)


def machine() -> dict[str, object]:
    """What the numbers were measured on: CPU model, cores, memory, OS, Python, date."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) * 1024
    except OSError:
        pass
    os_name = platform.platform()
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    return {"cpu": model or platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "memory_gb": round(memory / 1024 ** 3, 1), "os": os_name, "python": platform.python_version(),
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "load_average_at_start": load}


def rss_mb(pid: int | None = None) -> float:
    """Resident memory of a process (this one by default), in MiB."""
    import psutil

    return psutil.Process(pid or os.getpid()).memory_info().rss / MB


def peak_rss_mb() -> float:
    """The highest resident memory this process has had, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_worker(module: str, *args: str, timeout: float = 1800) -> dict:
    """Run ``python -m module args`` in a fresh process and return the JSON it prints last."""
    completed = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True,
                               timeout=timeout)
    if completed.returncode != 0:
        raise RuntimeError(f"{module} {' '.join(args)} failed ({completed.returncode}):\n{completed.stderr[-4000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def wait_until_idle(processes: Callable[[], list[psutil.Process]], ready: Callable[[], bool], *,
                    quiet_s: float, timeout_s: float, what: str) -> float:
    """Wait until ``ready()`` holds and every process of ``processes()`` has used under 3 % of a core for
    ``quiet_s`` (a Voilà server has filled its kernel pool and its kernels ran their notebooks); returns the
    seconds waited. A process that ends meanwhile counts as busy."""
    started = time.monotonic()
    quiet_since: float | None = None
    while time.monotonic() - started < timeout_s:
        watched = processes()
        for process in watched:
            try:
                process.cpu_percent(None)
            except psutil.NoSuchProcess:
                pass
        time.sleep(0.5)
        busy = not ready()
        for process in watched:
            try:
                busy |= process.cpu_percent(None) > 3.0
            except psutil.NoSuchProcess:
                busy = True
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_s:
            return time.monotonic() - started
    raise TimeoutError(f"{what} did not settle within {timeout_s:.0f} s")
