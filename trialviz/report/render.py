"""Report tables: tidy tables formatted once as great_tables objects (HTML in notebooks and Voilà).

Counting tables show "n (%)" of patients over the cohort's population (N in each column header) and
the number of events; summary tables show the usual descriptive statistics. Conventions travel with
each table as source notes. great_tables escapes every cell, so text from data files shows as text.
"""

from __future__ import annotations

import math
import re

import pandas as pd
from great_tables import GT

from trialviz.study import Study
from trialviz.tables.common import TOTAL, conventions_of


def _table_id(title: str) -> str:
    """A stable HTML id (great_tables would draw a random one, which changes every run)."""
    return "tv-" + re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40]


def _n_percent(subjects: float, percent: float, events: float | None = None) -> str:
    if subjects is None or (isinstance(subjects, float) and math.isnan(subjects)):
        return "–"
    pct = "–" if percent is None or math.isnan(percent) else f"{percent:.1f}%"
    text = f"{int(subjects)} ({pct})"
    return text if events is None else f"{text} [{int(events)}]"


def cohort_header(study: Study, cohort: str, n: int) -> str:
    name = "Total" if cohort == TOTAL else study.cohort_label(cohort)
    return f"{name} (N = {n})"


def counts_gt(table: pd.DataFrame, study: Study, *, title: str, row_keys: list[str], row_label: str = "label",
              show_events: bool = True, subtitle: str = "") -> GT:
    """A counting table as a report table: one row per ``row_keys`` combination, one column per cohort.

    ``table`` is a tidy counting table (``cohort, subjects, denominator, percent, events`` plus keys).
    """
    denominators = table.drop_duplicates("cohort").set_index("cohort")["denominator"]
    cohorts = list(dict.fromkeys(table["cohort"]))
    labels = {c: cohort_header(study, c, int(denominators[c])) for c in cohorts}
    cells = table.assign(cell=[
        _n_percent(s, p, e if show_events else None)
        for s, p, e in zip(table["subjects"], table["percent"],
                           table["events"] if "events" in table.columns else [None] * len(table), strict=True)
    ])
    wide = cells.pivot_table(index=row_keys, columns="cohort", values="cell", aggfunc="first", sort=False)
    wide = wide.reindex(columns=cohorts).rename(columns=labels).reset_index()
    first_key = row_keys[0] if row_label not in row_keys else row_label
    wide = wide.rename(columns={first_key: ""})
    hidden = [k for k in row_keys if k != first_key]
    gt = GT(wide, rowname_col="", id=_table_id(title)).tab_header(title=title, subtitle=subtitle or None)
    if hidden:
        gt = gt.cols_hide(hidden)
    legend = "n (%) patients with at least one event [number of events]." if show_events else "n (%) patients."
    for note in [legend, *conventions_of(table)]:
        gt = gt.tab_source_note(note)
    return _style(gt)


def summary_gt(table: pd.DataFrame, study: Study, *, title: str, decimals: int = 1) -> GT:
    """An endpoint summary (from :func:`trialviz.endpoint_summary`) as a report table: visits down,
    one row group per cohort and measure, statistics across."""
    shown = table.copy()
    shown["group"] = [f"{study.cohort_label(c) if c != TOTAL else TOTAL} · {m}"
                      for c, m in zip(shown["cohort"], shown["measure"], strict=True)]
    d = decimals

    def fmt(value: float, places: int) -> str:
        return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{places}f}"

    shown["Mean (SD)"] = [f"{fmt(m, d + 1)} ({fmt(s, d + 1)})" for m, s in zip(shown["mean"], shown["sd"], strict=True)]
    shown["95% CI"] = [f"{fmt(lo, d + 1)} to {fmt(hi, d + 1)}" if not math.isnan(lo) else "–"
                       for lo, hi in zip(shown["ci_low"], shown["ci_high"], strict=True)]
    shown["Median (Q1–Q3)"] = [f"{fmt(m, d)} ({fmt(a, d)}–{fmt(b, d)})"
                               for m, a, b in zip(shown["median"], shown["q1"], shown["q3"], strict=True)]
    shown["Min–max"] = [f"{fmt(a, d)}–{fmt(b, d)}" for a, b in zip(shown["min"], shown["max"], strict=True)]
    # a visit's timepoint and a derived value of its own are part of its row label (never pooled)
    shown["Visit"] = [", ".join(str(p) for p in parts if p) for parts in zip(
        shown["visit"], shown.get("timepoint", pd.Series("", index=shown.index)).str.lower(),
        shown.get("dtype", pd.Series("", index=shown.index)), strict=True)]
    shown = shown[["group", "Visit", "n", "Mean (SD)", "95% CI",
                                                      "Median (Q1–Q3)", "Min–max"]]
    gt = GT(shown, rowname_col="Visit", groupname_col="group", id=_table_id(title)).tab_header(title=title)
    for note in conventions_of(table):
        gt = gt.tab_source_note(note)
    return _style(gt)


def facts_gt(facts: pd.DataFrame, *, title: str = "Published facts and the same quantities computed from the data"
             ) -> GT:
    """The published facts beside the computed values (from :func:`trialviz.published_facts`)."""
    def show(value: object) -> str:
        if value is None:
            return "text only"
        if isinstance(value, dict):
            return ", ".join(f"{k}: {v}" for k, v in value.items())
        if isinstance(value, list):
            return "; ".join(show(v) for v in value)
        if isinstance(value, float):
            return f"{value:.1f}" if not value.is_integer() else f"{value:.0f}"
        return str(value)

    verdicts = {("equal", True): "✔ reproduced", ("equal", False): "✘ differs",
                ("within", True): "✔ consistent with the published limits",
                ("within", False): "✘ outside the published limits"}
    comparisons = facts["comparison"] if "comparison" in facts.columns else pd.Series("equal", index=facts.index)
    checks = []
    for matches, comparison in zip(facts["matches"], comparisons, strict=True):
        missing = matches is None or (isinstance(matches, float) and math.isnan(matches))
        checks.append("—" if missing else verdicts[(str(comparison), bool(matches))])
    shown = pd.DataFrame({
        "Fact": facts["label"],
        "Published": facts["published"].map(show),
        "Computed from the data": facts["computed"].map(show),
        "Check": checks,
        "Source": facts["source"],
    })
    gt = GT(shown, id=_table_id(title)).tab_header(title=title)
    gt = gt.tab_source_note("Published values are quoted exactly from the source; computed values come from the "
                            "package's own table functions on the loaded data.")
    gt = gt.tab_source_note("“Reproduced”: the computed value equals the published one. “Consistent with the "
                            "published limits”: the published value is a limit (an eligibility range, say) and "
                            "the observed range lies inside it; the data cannot reproduce a limit.")
    return _style(gt)


def _style(gt: GT) -> GT:
    return gt.tab_options(table_font_size="14px", heading_title_font_size="16px", heading_align="left",
                          source_notes_font_size="12px", table_width="100%", row_group_font_weight="bold")


def as_html(gt: GT) -> str:
    """HTML of a report table, for an ipywidgets ``HTML`` or a report."""
    return gt.as_raw_html()


__all__ = ["as_html", "cohort_header", "counts_gt", "facts_gt", "summary_gt"]
