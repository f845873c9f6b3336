"""Tables of benchmark results: plain text for the terminal, Markdown, and the documentation's performance page.

    .venv/bin/python -m benchmarks.report [benchmarks/results/full.json] [--markdown]
    .venv/bin/python -m benchmarks.report --docs     # rewrite docs/performance.md from benchmarks/results/

``--docs`` takes, for each part (load, kernel, browser) and study, the latest full-scale result that measured
it (runs often measure only some parts), so the page always shows the newest number of every measure with
the run it comes from.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.common import RESULTS_DIR, ROOT

MIB = 1024 * 1024
PERFORMANCE_PAGE = ROOT / "docs" / "performance.md"
PARTS = ("load", "kernel", "browser")


def _s(entry: dict | None, unit: str = "s", scale: float = 1.0, digits: int = 2) -> str:
    """median (min–max) of a stats entry."""
    if not entry or entry.get("median") is None:
        return "–"
    f = lambda v: f"{v * scale:,.{digits}f}"  # noqa: E731
    return f"{f(entry['median'])} ({f(entry['min'])}–{f(entry['max'])}){(' ' + unit) if unit else ''}"


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def rows(result: dict) -> list[tuple[str, str, str, str]]:
    """(measure, value, floor, ratio) in the order of the issue."""
    out: list[tuple[str, str, str, str]] = []
    for study, loads in result.get("load", {}).items():
        for fmt, entry in loads.items():
            t, f = entry["trialviz"], entry["floor"]
            out.append((f"1. {study}: load {fmt} ({entry['bytes_on_disk'] / 1e6:,.1f} MB), time",
                        _s(t["seconds"]), _s(f["seconds"]), _ratio(entry["ratio"])))
            out.append((f"1. {study}: load {fmt}, peak memory", _s(t["peak_mb"], "MB", digits=0),
                        _s(f["peak_mb"], "MB", digits=0),
                        _ratio(round(t["peak_mb"]["median"] / f["peak_mb"]["median"], 2))))
    for study, interact in result.get("kernel", {}).items():
        if not interact:
            continue
        for tab, entry in interact["tables"].items():
            out.append((f"2. {study}: filter → tables of {tab} tab (kernel)", _s(entry["seconds"], digits=3),
                        _s(entry["floor"], digits=3), _ratio(entry["ratio"])))
        for name, entry in interact["figures"].items():
            out.append((f"3. {study}: filter → {name} figure in its widget (kernel; JSON "
                        f"{entry['json_bytes'] / 1e3:,.0f} kB)", _s(entry["seconds"], digits=3), "", ""))
        for tab, entry in interact["explorer"].items():
            out.append((f"2+3. {study}: cohort click → whole {tab} tab (Explorer, kernel)",
                        _s(entry["seconds"], digits=3), "", ""))
    for study, measured in result.get("browser", {}).items():
        dash, floor = measured["dashboard"], measured["floor"]
        out.append((f"4. {study}: request → interactive, first figure drawn (Chromium)",
                    _s(dash["interactive_s"]), _s(floor["interactive_s"]), _ratio(measured["interactive_ratio"])))
        out.append((f"5. {study}: cohort click → figure painted (Chromium)", _s(dash["update_s"], digits=3),
                    _s(floor["update_s"], digits=3), _ratio(measured["update_ratio"])))
        out.append((f"6. {study}: kernel resident memory, interactive", _s(dash["kernel_rss_interactive_mb"], "MB",
                                                                             digits=0),
                    _s(floor["kernel_rss_interactive_mb"], "MB", digits=0), ""))
        out.append((f"6. {study}: kernel resident memory, after {measured['updates']} updates",
                    _s(dash["kernel_rss_after_updates_mb"], "MB", digits=0),
                    _s(floor["kernel_rss_after_updates_mb"], "MB", digits=0), ""))
        out.append((f"6. {study}: bytes received per update (websocket)", _s(dash["update_bytes"], "kB", 1e-3, 0),
                    _s(floor["update_bytes"], "kB", 1e-3, 1), ""))
        out.append((f"6. {study}: bytes received while the page opens (websocket)",
                    _s(dash["load_bytes"], "MB", 1 / 1e6, 2), _s(floor["load_bytes"], "MB", 1 / 1e6, 2), ""))
    return out


def _machine(result: dict) -> str:
    m = result["machine"]
    return (f"{m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB RAM, {m['os']}, Python {m['python']}; "
            f"{m['date']}; load average at start {', '.join(map(str, m.get('load_average_at_start', [])))}")


def text_table(result: dict) -> str:
    lines = [f"trialviz benchmark, scale {result['scale']}: {_machine(result)}"]
    table = [("measure", "trialviz: median (min–max)", "floor: median (min–max)", "ratio"), *rows(result)]
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    for row in table:
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)))
    for name, verdict in result.get("targets", {}).items():
        state = "met" if verdict["met"] else f"MISSED by {verdict['by']:.0%}"
        lines.append(f"target {name}: {verdict['value']} (limit {verdict['limit']}) {state}")
    for study, measured in result.get("browser", {}).items():
        for failure in measured.get("failures", []):
            lines.append(f"page failure ({study}): {failure}")
    return "\n".join(lines)


def markdown(result: dict) -> str:
    lines = [f"Measured on {_machine(result)}.", "",
             "| Measure | trialviz: median (min–max) | Floor: median (min–max) | Ratio |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows(result)]
    if result.get("targets"):
        lines += ["", "| Target | Value | Limit | Verdict |", "|---|---|---|---|"]
        for name, verdict in result["targets"].items():
            state = "met" if verdict["met"] else f"**missed** by {verdict['by']:.0%}"
            lines.append(f"| {name} | {verdict['value']} | {verdict['limit']} | {state} |")
    return "\n".join(lines)


# --- the documentation's performance page --------------------------------------------------------------------
def latest_measures(directory: Path = RESULTS_DIR) -> list[tuple[str, str, str, dict]]:
    """The newest measurement of each part and study among the full-scale results in ``directory``.

    Returns
    -------
    list of (part, study, file name, result)
        In the order of :data:`PARTS`, then bundled before large; ``result`` is the whole result the
        measurement comes from (its machine, date and plan).
    """
    results = []
    for path in sorted(directory.glob("*.json")):
        result = json.loads(path.read_text(encoding="utf-8"))
        if result.get("scale") == "full" and "machine" in result:
            results.append((result["machine"]["date"], path.name, result))
    newest: dict[tuple[str, str], tuple[str, dict]] = {}
    for _, name, result in sorted(results, key=lambda item: item[0]):  # "YYYY-MM-DD HH:MM UTC" sorts as time
        for part in PARTS:
            for study, entry in result.get(part, {}).items():
                if entry:
                    newest[(part, study)] = (name, result)
    order = {"bundled": 0, "large": 1}
    keys = sorted(newest, key=lambda key: (PARTS.index(key[0]), order.get(key[1], 2), key[1]))
    return [(part, study, *newest[(part, study)]) for part, study in keys]


def _only(result: dict, part: str, study: str) -> dict:
    """``result`` reduced to one part and study (for :func:`rows` and the targets)."""
    return {**{k: v for k, v in result.items() if k not in PARTS and k != "targets"},
            part: {study: result[part][study]}}


def _time_to_dashboard(directory: Path) -> list[str]:
    path = directory / "time_to_dashboard.json"
    if not path.exists():
        return []
    result = json.loads(path.read_text(encoding="utf-8"))
    runs = result.get("runs", [])
    summary = (f"`benchmarks/time_to_dashboard.py` (`benchmarks/results/time_to_dashboard.json`; {result['study']} "
               f"study, {len(runs)} runs; {result['machine']}): `trialviz serve` was listening after "
               f"{result['server_listening_s']:.1f} s. Each run waited {result['settle_s']:g} s for the preheated "
               f"kernel pool to refill, then opened a fresh page: the header and patient count were visible after "
               f"a median {result['median_interactive_s']:.2f} s, and the efficacy figure (its tab clicked at once) "
               f"was drawn {result['median_first_figure_s']:.2f} s after the request.")
    return ["## Time to the dashboard", "", summary, ""]


def _load_test(directory: Path) -> list[str]:
    path = directory / "load_test.json"
    if not path.exists():
        return []
    result = json.loads(path.read_text(encoding="utf-8"))
    settings, memory, kernels = result["settings"], result["memory_mib"], result["kernels"]
    tti = result["time_to_interactive_s"]
    failures = result.get("failures", [])
    return ["## Many sessions (load test)", "",
            f"`benchmarks/load_test.py` (`benchmarks/results/load_test.json`; {settings['study']} study, "
            f"{_machine({'machine': settings['machine']})}): {result['sessions']} pages arriving over "
            f"{settings['ramp_s']:g} s in one headless Chromium on the same cores as the server, Voilà culling after "
            f"{settings['cull_idle_timeout_s']} s. {result['interactive']} of {result['sessions']} pages became "
            f"interactive, time to interactive median {tti['median']:.1f} s, worst {tti['worst']:.1f} s. Voilà and "
            f"its kernels peaked at {memory['peak']:,} MiB with {kernels['at_peak']} kernels (about "
            f"{result['memory_per_session_kernel_mib']} MiB per session; {memory['idle']:,} MiB before the "
            f"sessions); the browser took {memory['browser']:,} MiB. After the pages closed, "
            f"{kernels['session'] - kernels['session_left']} of {kernels['session']} session kernels were culled "
            f"and memory fell to {memory['after_culling']:,} MiB. "
            + (f"Failures: {'; '.join(map(str, failures))}." if failures else "No page failed."), ""]


_PAGE_HEAD = """\
# Performance

<!-- Written by `python -m benchmarks.report --docs` from benchmarks/results/*.json; do not edit by hand. -->

The benchmark (`benchmarks/run.py`, whose docstring says what each part times) measures what a user waits
for, on the bundled study, on the CDISC pilot as delivered (SAS transport and CSV; \
`python -m benchmarks.run --studies pilot` runs it
alone) and on a seeded synthetic "large" study generated once under `benchmarks/data/` as Parquet, CSV and
SAS transport ({large}).
Every measure is the median of repeated runs with min and max, beside a floor measured in the same run (a
plain `pyarrow`/`pandas`/`pyreadstat` read of the same files; the bare pandas groupby of the same
aggregation; Voilà serving a one-widget notebook), so that ratios stay meaningful on a noisy machine.

```bash
.venv/bin/python -m benchmarks.run --scale full     # about 30–40 min on 2 cores; writes benchmarks/results/full.json
.venv/bin/python -m benchmarks.run --only kernel,browser --output benchmarks/results/full-kernel-browser.json
.venv/bin/python -m benchmarks.report --docs        # this page, from benchmarks/results/*.json
.venv/bin/python -m benchmarks.run --scale smoke    # a small study, every part once, no targets
```

CI runs the smoke scale (`tests/test_benchmark_smoke.py`), which checks that every part runs and that its
results are well formed; no target is asserted in a test. A test also checks that this page is what
`benchmarks.report --docs` writes from the committed results.
"""

_PAGE_TAIL = """\
## Older runs and analyses

Earlier runs are in the git history of `benchmarks/results/`. The profiles of the missed targets as of
the 2026-11-30 runs (where the time goes, what would close each gap) and the before/after measurements of
each optimisation are in the history of `README.md` (`git show 73720b6:README.md`, section "Performance").
"""


def performance_page(directory: Path = RESULTS_DIR) -> str:
    """The documentation's performance page (``docs/performance.md``) from the results in ``directory``."""
    from benchmarks.run import targets

    measures = latest_measures(directory)
    scale = next((r["study"]["scale"] for *_, r in reversed(measures) if "study" in r), {})
    large = (f"{scale['subjects']:,} subjects in {scale['cohorts']} cohorts, {scale['endpoints']} endpoints × "
             f"{scale['visits']} visits, {scale['adverse_events']:,} adverse events" if scale else "not measured yet")
    lines = [_PAGE_HEAD.format(large=large), "## Runs behind the numbers", "",
             "| Part | Study | Run | Load average at start | File |", "|---|---|---|---|---|"]
    for part, study, name, result in measures:
        load = ", ".join(map(str, result["machine"].get("load_average_at_start", [])))
        lines.append(f"| {part} | {study} | {result['machine']['date']} | {load} | `benchmarks/results/{name}` |")
    machines = {_machine({"machine": {**r["machine"], "date": "", "load_average_at_start": []}}).split(";")[0]
                for *_, r in measures}
    lines += ["", f"Machine: {'; '.join(sorted(machines))}.", "", "## Results", "",
              "| Measure | trialviz: median (min–max) | Floor: median (min–max) | Ratio | Run |",
              "|---|---|---|---|---|"]
    verdicts: list[str] = []
    for part, study, _, result in measures:
        single = _only(result, part, study)
        date = result["machine"]["date"]
        lines += [f"| {a} | {b} | {c} | {d} | {date} |" for a, b, c, d in rows(single)]
        for target, verdict in targets(single).items():
            state = "met" if verdict["met"] else f"**missed** by {verdict['by']:.0%}"
            verdicts.append(f"| {target} | {verdict['value']} | {verdict['limit']} | {state} | {date} |")
    if verdicts:
        lines += ["", "## Targets (issue 7)", "", "| Target | Value | Limit | Verdict | Run |", "|---|---|---|---|---|",
                  *verdicts]
    lines += ["", *_time_to_dashboard(directory), *_load_test(directory), _PAGE_TAIL]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("result", nargs="?", type=Path, default=RESULTS_DIR / "full.json")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--docs", action="store_true",
                        help=f"write {PERFORMANCE_PAGE.relative_to(ROOT)} from the latest results in "
                             f"{RESULTS_DIR.relative_to(ROOT)}/")
    args = parser.parse_args()
    if args.docs:
        PERFORMANCE_PAGE.parent.mkdir(exist_ok=True)
        PERFORMANCE_PAGE.write_text(performance_page(), encoding="utf-8")
        print(f"wrote {PERFORMANCE_PAGE.relative_to(ROOT)}")
        return 0
    result = json.loads(args.result.read_text())
    print(markdown(result) if args.markdown else text_table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
