"""Tables of a benchmark result: plain text for the terminal, Markdown for the README.

    .venv/bin/python -m benchmarks.report [benchmarks/results/full.json] [--markdown]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.common import RESULTS_DIR

MIB = 1024 * 1024


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("result", nargs="?", type=Path, default=RESULTS_DIR / "full.json")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    result = json.loads(args.result.read_text())
    print(markdown(result) if args.markdown else text_table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
