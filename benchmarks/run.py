"""The performance benchmark: what a user waits for, on the bundled study, a 1,000× larger one and the CDISC pilot.

    .venv/bin/python -m benchmarks.run                  # full: about 30–40 min on 2 cores
    .venv/bin/python -m benchmarks.run --scale smoke    # CI: a small synthetic study, 1–2 min, no targets

Writes ``benchmarks/results/<scale>.json`` and prints a table. The large study is generated once
(seeded, :mod:`benchmarks.synthetic`) under ``benchmarks/data/`` (ignored by git) and loaded through
``trialviz.load_study(folder)`` as a user's study is. The CDISC pilot (``../shared/data/cdiscpilot01``, its
SAS transport and CSV files as delivered: timepoints, derived records, five BDS datasets) is the study of real
shape (issue 16: load ≤ 3 s, a cohort click's efficacy tables ≤ 300 ms in the kernel, painted ≤ 500 ms).
Every measure is the median of repeated runs, with min and max, beside a floor measured in the same run:

1. load time and peak memory per format (Parquet, CSV, SAS transport); floor: the plain read of the same
   files (:mod:`benchmarks.kernel`);
2. a filter change → every table of a tab recomputed and rendered, in the kernel; floor: the bare pandas
   groupby of the same aggregation;
3. a filter change → each figure recomputed and put into its plotly widget, in the kernel;
4. time to interactive in headless Chromium, request → first figure drawn; floor: Voilà serving a
   one-widget notebook with the same settings (:mod:`benchmarks.browser`);
5. a click on a cohort → the updated trajectory figure painted; floor: a bare widget round trip;
6. resident memory of one dashboard kernel, and the bytes sent to the browser per update.

The targets of issue 7 are evaluated at the full scale only (``targets`` in the JSON); the smoke run
checks that every part still runs and that its results are well formed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from benchmarks.common import DATA_DIR, RESULTS_DIR, machine, ratio, run_worker, stats
from benchmarks.kernel import data_format
from benchmarks.synthetic import FORMATS, ensure_study
from trialviz.paths import BUNDLED_STUDY_DIR, PROJECT_ROOT

PLANS = {
    # repeats of each part; loads alternate trialviz and floor, each in a fresh process
    "full": {"load": {"parquet": 5, "csv": 3, "xpt": 3}, "bundled_load": 5, "interact": 7,
             "pilot_load": 5, "studies": ("bundled", "large", "pilot"),
             "browser_runs": {"bundled": 5, "large": 3, "pilot": 3}, "updates": 10, "warm_up": True},
    # the smoke run exercises every part once: the small synthetic study, and the pilot in the kernel
    "smoke": {"load": {"parquet": 1, "csv": 1, "xpt": 1}, "bundled_load": 1, "pilot_load": 1, "interact": 1,
              "studies": ("large", "pilot"), "browser_runs": {"large": 1}, "updates": 1, "warm_up": False},
}
MIB = 1024 * 1024
PILOT_DIR = PROJECT_ROOT.parent / "shared" / "data" / "cdiscpilot01"
"""The CDISC pilot (real ADaM as delivered: SAS transport and CSV files, timepoints, derived records)."""
PILOT_FILES = "as delivered"


def study_folder(name: str, large: str) -> Path:
    """The folder of a benchmarked study: ``bundled``, ``large`` (generated) or ``pilot``."""
    return {"bundled": BUNDLED_STUDY_DIR, "large": Path(large), "pilot": PILOT_DIR}[name]


def measure_loads(folder: Path, repeats: int) -> dict:
    runs: dict[str, list[dict]] = {"trialviz": [], "floor": []}
    for _ in range(repeats):
        for mode in ("floor", "trialviz"):
            runs[mode].append(run_worker("benchmarks.kernel", "load", str(folder), mode))
    out = {}
    for mode, items in runs.items():
        out[mode] = {"seconds": stats([r["seconds"] for r in items]),
                     "peak_mb": stats([r["peak_mb"] for r in items], 1),
                     "peak_increase_mb": stats([r["peak_mb"] - r["before_mb"] for r in items], 1),
                     "resident_after_mb": stats([r["after_mb"] for r in items], 1),
                     "rows": items[0]["rows"], "warnings": items[0]["warnings"]}
    out["ratio"] = ratio(out["trialviz"]["seconds"], out["floor"]["seconds"])
    out["bytes_on_disk"] = sum(p.stat().st_size for p in folder.iterdir() if data_format(p))
    return out


def with_ratios(interact: dict) -> dict:
    for entry in interact["tables"].values():
        entry["ratio"] = ratio(entry["seconds"], entry["floor"])
    return interact


def browser(study: str | None, runs: int, updates: int, preheat: bool, warm_up: bool, log_dir: Path) -> dict:
    from benchmarks.browser import measure

    result = measure(study, runs, updates, preheat=preheat, warm_up=warm_up, log_dir=log_dir)
    result["interactive_ratio"] = ratio(result["dashboard"]["interactive_s"], result["floor"]["interactive_s"])
    result["update_ratio"] = ratio(result["dashboard"]["update_s"], result["floor"]["update_s"])
    return result


def _met(value: float | None, limit: float) -> dict:
    if value is None:
        return {"value": None, "limit": limit, "met": False, "by": None}
    return {"value": value, "limit": limit, "met": value <= limit,
            "by": round(value / limit - 1, 2) if value > limit else 0.0}


def targets(result: dict) -> dict:
    """Issue 7's targets, each with its value, limit, met or missed and by how much (a fraction)."""
    out: dict[str, dict] = {}
    bundled, large = result.get("browser", {}).get("bundled"), result.get("browser", {}).get("large")
    if bundled:
        dash = bundled["dashboard"]
        out["bundled: time to interactive / Voilà floor"] = _met(bundled["interactive_ratio"], 1.5)
        out["bundled: filter → figure painted (s, median)"] = _met(dash["update_s"]["median"], 0.150)
        out["bundled: kernel memory (MB)"] = _met(max(dash["kernel_rss_interactive_mb"]["max"] or 0,
                                                      dash["kernel_rss_after_updates_mb"]["max"] or 0), 250)
    pilot = result.get("load", {}).get("pilot", {}).get(PILOT_FILES)
    if pilot:
        out["pilot: load (s, median)"] = _met(pilot["trialviz"]["seconds"]["median"], 3.0)
    pilot_kernel = result.get("kernel", {}).get("pilot")
    if pilot_kernel:
        out["pilot: filter → efficacy tab's tables (s, median)"] = _met(
            pilot_kernel["tables"]["efficacy"]["seconds"]["median"], 0.300)
    if pilot_kernel and "labs" in pilot_kernel["tables"]:
        out["pilot: filter → Labs tab's tables (s, median)"] = _met(
            pilot_kernel["tables"]["labs"]["seconds"]["median"], 0.300)
    if result.get("browser", {}).get("pilot"):
        out["pilot: cohort click → figure painted (s, median)"] = _met(
            result["browser"]["pilot"]["dashboard"]["update_s"]["median"], 0.500)
    loads = result.get("load", {}).get("large", {})
    if "parquet" in loads:
        out["large: Parquet load (s, median)"] = _met(loads["parquet"]["trialviz"]["seconds"]["median"], 3.0)
    interact = result.get("kernel", {}).get("large")
    if interact:
        worst = max(interact["tables"].items(), key=lambda item: item[1]["seconds"]["median"])
        out[f"large: filter → all tables of a tab (s, median; slowest tab: {worst[0]})"] = _met(
            worst[1]["seconds"]["median"], 0.300)
    if large:
        dash = large["dashboard"]
        out["large: filter → figure painted (s, median)"] = _met(dash["update_s"]["median"], 0.500)
        out["large: kernel memory (MB)"] = _met(max(dash["kernel_rss_interactive_mb"]["max"] or 0,
                                                    dash["kernel_rss_after_updates_mb"]["max"] or 0), 2048)
        out["large: bytes sent per update (MB, max)"] = _met(
            round(dash["update_bytes"]["max"] / MIB, 2), 2.0)
    return out


def check_well_formed(result: dict) -> list[str]:
    """What is missing or malformed in a result (the smoke run fails on any)."""
    problems = []
    for key in ("machine", "scale", "load", "kernel", "browser"):
        if key not in result:
            problems.append(f"missing {key}")
    for study, loads in result.get("load", {}).items():
        for fmt, entry in loads.items():
            for mode in ("trialviz", "floor"):
                if not entry.get(mode, {}).get("seconds", {}).get("median"):
                    problems.append(f"load {study} {fmt} {mode}: no time")
    for study, interact in result.get("kernel", {}).items():
        for part in ("tables", "figures", "explorer"):
            if not interact.get(part):
                problems.append(f"kernel {study}: no {part}")
    for study, measured in result.get("browser", {}).items():
        for kind in ("dashboard", "floor"):
            entry = measured.get(kind, {})
            for key in ("interactive_s", "update_s", "update_bytes", "kernel_rss_interactive_mb"):
                if not entry.get(key, {}).get("n"):
                    problems.append(f"browser {study} {kind}: no {key}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(PLANS), default="full")
    parser.add_argument("--only", default="load,kernel,browser",
                        help="comma-separated parts to run: load, kernel, browser")
    parser.add_argument("--no-preheat", action="store_true",
                        help="serve the dashboard and the floor without the preheated kernel pool")
    parser.add_argument("--output", type=Path, help="default: benchmarks/results/<scale>.json")
    parser.add_argument("--studies", help="comma-separated studies for the kernel and browser parts: bundled, "
                                          "large, pilot (default: the scale's)")
    args = parser.parse_args(argv)
    plan = dict(PLANS[args.scale])
    if args.studies:
        plan["studies"] = tuple(args.studies.split(","))
    parts = set(args.only.split(","))
    started = time.perf_counter()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    output = args.output or RESULTS_DIR / f"{args.scale}{'-no-preheat' if args.no_preheat else ''}.json"
    log_dir = RESULTS_DIR / f"{args.scale}-logs"
    log_dir.mkdir(exist_ok=True)

    def say(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.0f} s] {message}", flush=True)

    result: dict = {"scale": args.scale, "machine": machine(), "plan": plan}
    folders: dict[str, Path] = {}
    large = ""
    if "large" in plan["studies"]:
        say(f"generating or reusing the {args.scale} synthetic study under {DATA_DIR}")
        folders = ensure_study(DATA_DIR, args.scale, FORMATS)
        large = str(folders["parquet"])
        result["study"] = json.loads((DATA_DIR / args.scale / "manifest.json").read_text())
    if "load" in parts:
        result["load"] = {"bundled": {}}
        say("loads: bundled study")
        result["load"]["bundled"]["csv"] = measure_loads(BUNDLED_STUDY_DIR, plan["bundled_load"])
        if "pilot" in plan["studies"]:
            say("loads: the CDISC pilot")
            result["load"]["pilot"] = {PILOT_FILES: measure_loads(PILOT_DIR, plan["pilot_load"])}
        for fmt in folders:
            say(f"loads: large study, {fmt}")
            result["load"].setdefault("large", {})[fmt] = measure_loads(folders[fmt], plan["load"][fmt])
    if "kernel" in parts:
        result["kernel"] = {}
        for name in plan["studies"]:
            say(f"kernel: filter changes on the {name} study")
            folder = str(study_folder(name, large))
            result["kernel"][name] = with_ratios(run_worker("benchmarks.kernel", "interact", folder,
                                                            str(plan["interact"])))
    if "browser" in parts:
        result["browser"] = {}
        for name, runs in plan["browser_runs"].items():
            if name not in plan["studies"]:
                continue
            say(f"browser: {name} study")
            result["browser"][name] = browser(None if name == "bundled" else str(study_folder(name, large)), runs,
                                              plan["updates"], not args.no_preheat, plan["warm_up"], log_dir)
    result["seconds"] = round(time.perf_counter() - started)
    if args.scale == "full":
        result["targets"] = targets(result)
    output.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    from benchmarks.report import text_table

    print(text_table(result))
    say(f"results written to {output}")
    problems = check_well_formed(result) if parts == {"load", "kernel", "browser"} else []
    for problem in problems:
        print(f"MALFORMED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
