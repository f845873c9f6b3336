"""Measure how long the dashboard takes to appear, as a user waits for it.

    .venv/bin/python benchmarks/time_to_dashboard.py [STUDY] [--runs 3]

Starts ``trialviz serve`` (the production Voilà configuration, with its preheated kernel pool), then for
each run waits ``--settle`` seconds (0 measures a cold server) and opens a fresh page in headless
Chromium, recording: the server's start-up (launch → port listening), request → header and
patient count visible (interactive), and → the efficacy figure drawn after a click on its tab. Prints
a table and writes ``benchmarks/results/time_to_dashboard.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, Server  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", nargs="?")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--settle", type=float, default=15.0,
                        help="seconds to wait before each run, so the preheated kernel pool can refill")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    results_dir = ROOT / "benchmarks" / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    server = Server(args.study, Path(tempfile.mkdtemp(prefix="trialviz-bench-")))
    listening = time.perf_counter() - started
    runs = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            for _ in range(args.runs):
                time.sleep(args.settle)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(
                    ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")) else r.abort())
                t0 = time.perf_counter()
                page.goto(server.url, timeout=180_000)
                page.locator(".tv-count-total").wait_for(timeout=180_000)
                interactive = time.perf_counter() - t0
                page.get_by_role("tab", name="Efficacy").click()
                page.wait_for_function("() => { const p = document.querySelector('.js-plotly-plot');"
                                       " return p && p.data && p.data.length > 0; }", timeout=180_000)
                figure = time.perf_counter() - t0
                runs.append({"interactive_s": round(interactive, 2), "first_figure_s": round(figure, 2)})
                page.close()
            browser.close()
    finally:
        server.stop()
    summary = {
        "study": args.study or "bundled MSC-SSc",
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}",
        "server_listening_s": round(listening, 2),
        "settle_s": args.settle,
        "runs": runs,
        "median_interactive_s": statistics.median(r["interactive_s"] for r in runs),
        "median_first_figure_s": statistics.median(r["first_figure_s"] for r in runs),
    }
    (results_dir / "time_to_dashboard.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"server listening after {summary['server_listening_s']} s")
    print("run  interactive  first figure")
    for i, run in enumerate(runs, 1):
        print(f"{i:>3}  {run['interactive_s']:>10.2f}s  {run['first_figure_s']:>11.2f}s")
    print(f"median {summary['median_interactive_s']:.2f}s to interactive, "
          f"{summary['median_first_figure_s']:.2f}s to the first figure")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
