"""Load test: many simultaneous dashboard sessions against one Voilà server, then idle-kernel culling.

Run it by hand, never in CI (20 sessions take minutes and several GB)::

    .venv/bin/python -m benchmarks.load_test [--sessions 20] [--ramp-seconds 0] [--cull-seconds 300] [--study PATH]

What it does, on 127.0.0.1 only:

1. starts Voilà on the dashboard with the production configuration (``trialviz/app/voila/voila.json``,
   through :class:`tests.browser.voila_server.VoilaServer`, the command ``trialviz serve`` runs) plus a
   short idle-kernel culling time, and waits until its preheated kernel pool is full and quiet;
2. opens ``--sessions`` pages at once (or spread evenly over ``--ramp-seconds``) in ONE headless Chromium
   (one browser context per page, every request to anything but 127.0.0.1 refused), keeps every page open
   until all are interactive, and measures each page's time to interactive: request →
   the count reads "N of N patients shown" and a plotly figure is drawn (the page's own clock);
3. samples the resident memory of Voilà and all its kernels every half second and keeps the peak;
4. closes every page, waits for Voilà to cull the session kernels, and measures memory again.

The culling time must exceed the worst time to interactive: Voilà counts a kernel as idle, with no
connection, from the end of its notebook until its page opens the kernel's websocket, and culls it if that
takes longer than the culling time (with 30 s and 20 pages on 2 cores, it culled the kernels of pages still
loading, preheated ones first: they have been idle since the pool was filled).

It writes ``benchmarks/results/load_test.json``, prints a table, and exits 1 when a session did not become
interactive, a session kernel was not culled, or the kernels' memory did not come back; 3 when the whole
run hit its ``--deadline`` (it then stops Voilà and its kernels itself).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from benchmarks.common import MB, RESULTS_DIR, machine, wait_until_idle
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.voila_server import VoilaServer
from trialviz.paths import VOILA_CONFIG_DIR

RESULT_PATH = RESULTS_DIR / "load_test.json"
MEMORY_RETURN_FRACTION = 0.2
"""After culling, at most this share of what the sessions added to the server's memory may remain."""

# the page's clock (ms since navigation start) once the count reads "N of N patients shown"
COUNT_JS = """() => {
  const count = document.querySelector('.tv-count-total');
  const text = count ? count.textContent.replace(/\\s+/g, ' ').trim() : '';
  return /^([\\d,]+) of \\1 patients shown$/.test(text) ? performance.now() : false;
}"""

# resolves to the page's clock (ms since navigation start) once the count reads "N of N patients shown"
# and a plotly figure holding data has been drawn
INTERACTIVE_JS = """() => {
  const count = document.querySelector('.tv-count-total');
  const text = count ? count.textContent.replace(/\\s+/g, ' ').trim() : '';
  const all = /^([\\d,]+) of \\1 patients shown$/.test(text);
  const drawn = [...document.querySelectorAll('.js-plotly-plot')]
    .some(p => p.data && p.data.length > 0 && p.querySelector('.main-svg'));
  return all && drawn ? performance.now() : false;
}"""


@dataclass
class Session:
    """One page: when it became interactive (seconds, or None) and the kernel that served it."""

    index: int
    count_s: float | None = None
    interactive_s: float | None = None
    wall_s: float | None = None
    kernel_id: str = ""
    error: str = ""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load_test",
                                     description="Simultaneous dashboard sessions, then idle-kernel culling.")
    parser.add_argument("--sessions", type=int, default=20, help="pages opened at once (default 20)")
    parser.add_argument("--ramp-seconds", type=float, default=0.0,
                        help="spread the page openings evenly over this many seconds (default 0: all at once); "
                             "every page stays open until all are interactive")
    parser.add_argument("--cull-seconds", type=int, default=300,
                        help="Voilà's cull_idle_timeout for this run, in seconds (default 300; it must exceed "
                             "the worst time to interactive, see the module docstring)")
    parser.add_argument("--cull-interval", type=int, default=5, help="seconds between culling checks (default 5)")
    parser.add_argument("--session-timeout", type=float, default=600,
                        help="seconds a page may take to become interactive (default 600)")
    parser.add_argument("--deadline", type=float, default=1800,
                        help="the whole run stops by itself after this many seconds (default 1800)")
    parser.add_argument("--no-pool", action="store_true",
                        help="switch the production configuration's preheated kernel pool off")
    parser.add_argument("--voila-option", action="append", default=[], metavar="OPTION",
                        help="an extra Voilà command-line option for an experiment (repeatable; in the report)")
    parser.add_argument("--study", default=None, help="study folder (default: the bundled MSC-SSc study)")
    parser.add_argument("--output", type=Path, default=RESULT_PATH, help=f"JSON report (default {RESULT_PATH})")
    args = parser.parse_args(argv)
    if args.sessions < 1:
        parser.error("--sessions must be at least 1")
    if args.cull_seconds < 1 or args.cull_interval < 1:
        parser.error("--cull-seconds and --cull-interval must be at least 1")
    return args


def pool_size() -> int:
    """The preheated kernel pool of the production configuration (those kernels are never culled)."""
    config = json.loads((VOILA_CONFIG_DIR / "voila.json").read_text())["VoilaConfiguration"]
    return int(config.get("default_pool_size", 1)) if config.get("preheat_kernel") else 0


class MemorySampler:
    """Samples the resident memory of Voilà and its kernels in a thread; keeps the peak."""

    def __init__(self, server: VoilaServer, every_s: float = 0.5):
        self.server, self.every_s = server, every_s
        self.peak = 0
        self.kernels_at_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            memory = self.server.memory()
            if memory > self.peak:
                self.peak, self.kernels_at_peak = memory, len(self.server.kernels())


def wait_quiet(server: VoilaServer, kernels: int, timeout_s: float, quiet_s: float = 2.0) -> float:
    """Wait until Voilà runs at least ``kernels`` kernels and it and they have used under 3 % of a core for
    ``quiet_s``; returns the seconds waited."""
    return wait_until_idle(lambda: [psutil.Process(server.process.pid), *server.kernels()],
                           lambda: len(server.kernels()) >= kernels,
                           quiet_s=quiet_s, timeout_s=timeout_s, what=f"Voilà with {kernels} kernel(s)")


def process_memory(pid: int) -> int:
    """Resident memory of one process, in bytes (0 once it has ended)."""
    try:
        return psutil.Process(pid).memory_info().rss
    except psutil.NoSuchProcess:
        return 0


def browser_memory() -> int:
    """Resident memory of the Chromium processes this run started, in bytes (the client side)."""
    total = 0
    for process in psutil.Process().children(recursive=True):
        try:
            if "chrom" in process.name():
                total += process.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


async def _local_only(route) -> None:
    """Let the page reach 127.0.0.1 only (the lab template asks a CDN for fonts: refused)."""
    if route.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
        await route.continue_()
    else:
        await route.abort()


async def open_session(browser, url: str, index: int, timeout_s: float,
                       delay_s: float = 0.0) -> tuple[Session, object]:
    """Open one page in its own context after ``delay_s``; returns the session and the context (to close
    later)."""
    await asyncio.sleep(delay_s)
    session = Session(index)
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    await page.route("**/*", _local_only)

    def on_socket(ws) -> None:
        if "/api/kernels/" in ws.url:
            session.kernel_id = ws.url.split("/api/kernels/")[1].split("/")[0]

    page.on("websocket", on_socket)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"[:300]))
    page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}"[:300])
            if message.type == "error" and "Failed to load resource" not in message.text else None)
    started = time.monotonic()
    try:
        await page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
        remaining = max(1.0, timeout_s - (time.monotonic() - started))
        handle = await page.wait_for_function(COUNT_JS, polling=100, timeout=remaining * 1000)
        session.count_s = round(await handle.json_value() / 1000, 2)
        remaining = max(1.0, timeout_s - (time.monotonic() - started))
        handle = await page.wait_for_function(INTERACTIVE_JS, polling=100, timeout=remaining * 1000)
        session.interactive_s = round(await handle.json_value() / 1000, 2)
        session.wall_s = round(time.monotonic() - started, 2)
    except Exception as error:  # any failure of one page is that session's result
        session.error = f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"
        try:
            shown = await page.evaluate("() => document.querySelector('.tv-count-total')?.textContent ?? null")
            session.error += f" (count shown: {shown!r})"
        except Exception:  # the page may be gone
            pass
        session.error += "".join(f"; {problem}" for problem in problems[-3:])
        try:
            await page.screenshot(path=Path(tempfile.gettempdir()) / f"trialviz-load-test-session-{index}.png")
        except Exception:  # the page may be gone
            pass
    return session, context


async def run_sessions(url: str, count: int, timeout_s: float, hold_s: float = 5.0,
                       ramp_s: float = 0.0) -> tuple[list[Session], int]:
    """Open ``count`` pages in one headless Chromium, at once or evenly spread over ``ramp_s`` seconds; keep
    them all open ``hold_s`` once all are done, then close them. Returns the sessions and the browser's
    resident memory with every page open."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            opened = await asyncio.gather(*(open_session(browser, url, i, timeout_s, i * ramp_s / count)
                                            for i in range(count)))
            await asyncio.sleep(hold_s)
            client_memory = browser_memory()
            for _, context in opened:
                await context.close()
        finally:
            await browser.close()
    return [session for session, _ in opened], client_memory


def wait_culled(server: VoilaServer, kernel_ids: set[str], timeout_s: float) -> float:
    """Wait until none of ``kernel_ids`` runs any more; returns the seconds waited (or ``timeout_s``)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if not session_kernels_left(server, kernel_ids):
            break
        time.sleep(1)
    return time.monotonic() - started


def session_kernels_left(server: VoilaServer, kernel_ids: set[str]) -> list[str]:
    """The ids among ``kernel_ids`` whose kernel process still runs."""
    left = []
    for kernel_id in kernel_ids:
        try:
            server.kernel_process(kernel_id)
            left.append(kernel_id)
        except LookupError:
            pass
    return left


def build_report(sessions: Sequence[Session], *, memory: dict[str, int], kernels: dict[str, int],
                 settings: dict[str, object], durations: dict[str, float]) -> dict[str, object]:
    """The JSON report: per-session times, their median and worst, memory in MiB, kernels, and failures."""
    times = [s.interactive_s for s in sessions if s.interactive_s is not None]
    counts = [s.count_s for s in sessions if s.count_s is not None]
    mib = {key: round(value / MB) for key, value in memory.items()}
    added = memory["peak"] - memory["idle"]
    report: dict[str, object] = {
        "settings": settings,
        "sessions": len(sessions),
        "interactive": len(times),
        "time_to_interactive_s": {
            "median": round(statistics.median(times), 2) if times else None,
            "worst": max(times) if times else None,
            "best": min(times) if times else None,
        },
        "count_shown": len(counts),
        "time_to_count_s": {"median": round(statistics.median(counts), 2) if counts else None,
                            "worst": max(counts) if counts else None},
        "memory_mib": mib,
        "memory_per_session_kernel_mib": round(added / len(sessions) / MB) if sessions else None,
        "kernels": kernels,
        "durations_s": {key: round(value, 1) for key, value in durations.items()},
        "per_session": [asdict(s) for s in sessions],
    }
    report["failures"] = failures(report, memory)
    return report


def failures(report: dict[str, object], memory: dict[str, int]) -> list[str]:
    """Why the run failed (empty when it passed)."""
    out = []
    for session in report["per_session"]:  # type: ignore[union-attr]
        if session["interactive_s"] is None:
            out.append(f"session {session['index']} did not become interactive: {session['error']}")
    kernels = report["kernels"]
    if kernels["session_left"]:  # type: ignore[index]
        out.append(f"{kernels['session_left']} session kernel(s) not culled")  # type: ignore[index]
    added = memory["peak"] - memory["idle"]
    if memory["after_culling"] - memory["idle"] > MEMORY_RETURN_FRACTION * added:
        out.append(f"memory did not come back: {memory['after_culling'] / MB:.0f} MiB after culling, "
                   f"{memory['idle'] / MB:.0f} MiB before the sessions, {memory['peak'] / MB:.0f} MiB at peak")
    return out


def format_table(report: dict[str, object]) -> str:
    """The report as a short readable table."""
    tti, mib, kernels = report["time_to_interactive_s"], report["memory_mib"], report["kernels"]
    count = report["time_to_count_s"]

    def seconds(value: object) -> str:
        return "-" if value is None else f"{value:.1f} s"

    rows = [
        ("sessions showing the patient count", f"{report['count_shown']} of {report['sessions']}"),
        ("time to the count, median / worst",
         f"{seconds(count['median'])} / {seconds(count['worst'])}"),  # type: ignore[index]
        ("sessions interactive (count and a figure drawn)", f"{report['interactive']} of {report['sessions']}"),
        ("time to interactive, median", seconds(tti["median"])),  # type: ignore[index]
        ("time to interactive, worst", seconds(tti["worst"])),  # type: ignore[index]
        ("memory before sessions (Voilà + pool)", f"{mib['idle']} MiB"),  # type: ignore[index]
        ("memory at peak (Voilà + kernels)", f"{mib['peak']} MiB with {kernels['at_peak']} kernels"),  # type: ignore[index]
        ("  of which the Voilà server", f"{mib['server_at_end_of_sessions']} MiB"),  # type: ignore[index]
        ("memory added per session (peak - before) / N", f"{report['memory_per_session_kernel_mib']} MiB"),
        ("Chromium, all pages open (client)", f"{mib['browser']} MiB"),  # type: ignore[index]
        ("session kernels culled", f"{kernels['session'] - kernels['session_left']} of {kernels['session']}"),  # type: ignore[index]
        ("kernels left (preheated pool)", f"{kernels['left']} (pool {kernels['pool']})"),  # type: ignore[index]
        ("memory after culling", f"{mib['after_culling']} MiB"),  # type: ignore[index]
        ("total run time", f"{report['durations_s']['total']:.0f} s"),  # type: ignore[index]
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"{name:<{width}}  {value}" for name, value in rows]
    lines += [f"FAILED: {reason}" for reason in report["failures"]] or ["PASSED"]  # type: ignore[union-attr]
    return "\n".join(lines)


def _watchdog(seconds: float) -> threading.Timer:
    """After ``seconds``, kill every process this run started (Voilà, its kernels, Chromium) and leave with
    status 3, whatever is hanging."""

    def fire() -> None:
        print(f"load test: deadline of {seconds:.0f} s reached; stopping Voilà and its kernels", flush=True)
        for process in psutil.Process().children(recursive=True):  # Voilà, its kernels, Chromium
            try:
                process.kill()
            except psutil.NoSuchProcess:
                pass
        os._exit(3)

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    return timer


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    watchdog = _watchdog(args.deadline)
    log_dir = Path(tempfile.mkdtemp(prefix="trialviz-load-test-"))
    options = [f"--MappingKernelManager.cull_idle_timeout={args.cull_seconds}",
               f"--MappingKernelManager.cull_interval={args.cull_interval}"]
    pool = 0 if args.no_pool else pool_size()
    if args.no_pool:
        options.append("--VoilaConfiguration.preheat_kernel=False")
    options += args.voila_option
    durations: dict[str, float] = {}
    server = VoilaServer(args.study, log_dir, options, timeout=180)
    try:
        durations["server_ready"] = wait_quiet(server, pool, timeout_s=300) + time.monotonic() - started
        idle = server.memory()
        arrival = f"over {args.ramp_seconds:g} s" if args.ramp_seconds else "at once"
        print(f"Voilà on {server.url} (log {server.log_path}), pool of {pool} ready; "
              f"opening {args.sessions} sessions {arrival}", flush=True)
        phase = time.monotonic()
        with MemorySampler(server) as sampler:
            sessions, client = asyncio.run(run_sessions(server.url, args.sessions, args.session_timeout,
                                                        ramp_s=args.ramp_seconds))
            server_at_end = process_memory(server.process.pid)
        durations["sessions"] = time.monotonic() - phase
        ids = {s.kernel_id for s in sessions if s.kernel_id}
        print(f"{sum(s.interactive_s is not None for s in sessions)} of {args.sessions} interactive; pages closed, "
              f"waiting for culling ({args.cull_seconds} s idle)", flush=True)
        # Voilà culls one kernel after another, each shutdown taking seconds on a loaded machine
        budget = args.cull_seconds + 3 * args.cull_interval + 60 + 10 * len(ids)
        durations["culling"] = wait_culled(server, ids, budget)
        left = session_kernels_left(server, ids)
        wait_quiet(server, pool, timeout_s=120)
        after = server.memory()
        durations["total"] = time.monotonic() - started
        report = build_report(
            sessions,
            memory={"idle": idle, "peak": max(sampler.peak, idle), "server_at_end_of_sessions": server_at_end,
                    "browser": client, "after_culling": after},
            kernels={"pool": pool, "session": len(ids), "at_peak": sampler.kernels_at_peak,
                     "session_left": len(left), "left": len(server.kernels())},
            settings={"sessions": args.sessions, "ramp_s": args.ramp_seconds,
                      "cull_idle_timeout_s": args.cull_seconds,
                      "cull_interval_s": args.cull_interval, "preheated_pool": pool,
                      "extra_voila_options": args.voila_option,
                      "voila_log": str(server.log_path), "session_timeout_s": args.session_timeout,
                      "study": args.study or "bundled MSC-SSc", "machine": machine()},
            durations=durations)
    finally:
        server.stop()
        watchdog.cancel()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(format_table(report))
    print(f"report: {args.output}")
    return 1 if report["failures"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
