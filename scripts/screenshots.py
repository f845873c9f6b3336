"""Screenshots of every dashboard tab in headless Chromium, as a clinician sees them.

    .venv/bin/python scripts/screenshots.py [--study FOLDER] [--name NAME] [--output DIR] [--tabs Overview,Safety]
                                            [--full]

Serves the study with ``trialviz serve`` (the bundled study by default), opens the dashboard in Debian's
Chromium (``/usr/bin/chromium`` or ``$TRIALVIZ_CHROMIUM``) at 1400 × 1000 and writes ``NAME-TAB.png`` per tab
(what the window shows; with ``--full`` the whole tab, however tall) into ``docs/screenshots/`` by default: the
README's screenshots are made with it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser.conftest import (  # noqa: E402 - the browser tests' way of serving and opening the page
    CHROMIUM,
    CHROMIUM_ARGS,
    Server,
    new_session,
    open_dashboard,
    open_tab,
)

TABS = ("Overview", "Baseline", "Efficacy", "Safety", "Patient")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", help="study folder (default: the bundled MSC-SSc study)")
    parser.add_argument("--name", default="bundled", help="file name prefix (default: bundled)")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--tabs", default=",".join(TABS))
    parser.add_argument("--full", action="store_true", help="the whole tab, not the window")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    args.output.mkdir(parents=True, exist_ok=True)
    logs = args.output.parent / ".screenshot-logs"
    logs.mkdir(exist_ok=True)
    server = Server(args.study, logs)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            context, page = new_session(browser)
            open_dashboard(page, server.url)
            for tab in args.tabs.split(","):
                open_tab(page, tab)
                page.wait_for_timeout(2500)  # plotly draws after the tab's content is computed
                path = args.output / f"{args.name}-{tab.lower()}.png"
                # the page scrolls inside the app's box: the tallest scrolling height is the page's
                height = page.evaluate("document.querySelector('.tv-app').getBoundingClientRect().height + "
                                       "document.querySelector('.tv-app').getBoundingClientRect().top")
                if args.full:
                    page.set_viewport_size({"width": 1400, "height": min(int(height) + 40, 16000)})
                    page.wait_for_timeout(1500)
                page.screenshot(path=str(path))
                page.set_viewport_size({"width": 1400, "height": 1000})
                print(f"{path} ({height} px tall)")
            context.close()
            browser.close()
    finally:
        server.stop()
        for log in logs.iterdir():
            log.unlink()
        logs.rmdir()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
