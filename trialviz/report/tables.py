"""Report tables of each kind (counts, Table 1, tests, Kaplan–Meier) formatted once with great_tables: "n (%)"
with N in the column headers, confidence intervals and p-values beside the counts, and the population and
conventions as source notes. :mod:`trialviz.views` names which table is rendered by which.

Examples
--------
>>> import trialviz
>>> from trialviz.views import report_table
>>> from trialviz.report.tables import as_html
>>> html = as_html(report_table("ae-soc-pt", trialviz.load_study()))
>>> "N = 10" in html
True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from great_tables import GT

from trialviz.report.render import _n_percent, _style, _table_id, as_html, cohort_header
from trialviz.study import Study
from trialviz.tables.common import TOTAL, conventions_of

__all__ = ["as_html", "baseline_gt", "composite_gt", "counting_gt", "format_p", "km_gt", "statistics_gt"]


def format_p(p: float | None) -> str:
    """A p-value as a report prints it: three decimals, ``<0.001`` and ``>0.999`` at the ends."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return ""
    if p < 0.001:
        return "<0.001"
    return ">0.999" if p > 0.999 else f"{p:.3f}"


def _num(value: float, places: int) -> str:
    missing = value is None or (isinstance(value, float) and math.isnan(value))
    return "–" if missing else f"{value:.{places}f}"


def _cohort_name(study: Study, cohort: str) -> str:
    return TOTAL if cohort == TOTAL else study.cohort_label(cohort)


def _finish(gt: GT, table: pd.DataFrame, legend: str = "") -> GT:
    for note in [legend, *conventions_of(table)]:
        if note:
            gt = gt.tab_source_note(note)
    return _style(gt)


def counting_gt(table: pd.DataFrame, study: Study, *, title: str, keys: list[str], show_events: bool = True,
                show_ci: bool = False, fixed_denominator: bool = True, group: str | None = None) -> GT:
    """A tidy counting table as a report table: a row per combination of ``keys`` (labelled by ``label``
    where the table has one), a column per cohort, then one p-value column per compared cohort.
    With ``group`` (a column of ``table``), rows are gathered under a heading per value of that column.

    Cells read "n (%)", with "[events]" when ``show_events`` and the confidence interval when ``show_ci``;
    with ``fixed_denominator`` the N of each cohort goes to its header, otherwise each cell shows n/N.
    """
    cohorts = list(dict.fromkeys(table["cohort"]))
    if fixed_denominator:
        sizes = table.drop_duplicates("cohort").set_index("cohort")["denominator"]
        headers = {c: cohort_header(study, c, int(sizes[c])) for c in cohorts}
    else:
        headers = {c: _cohort_name(study, c) for c in cohorts}
    has_events = show_events and "events" in table.columns
    cells = []
    for row in table.itertuples(index=False):
        text = _n_percent(row.subjects, row.percent, row.events if has_events else None)
        if not fixed_denominator:
            text = text.replace(" (", f"/{int(row.denominator)} (", 1)
        if show_ci and not math.isnan(row.ci_low):
            text += f"; {row.ci_low:.1f}–{row.ci_high:.1f}"
        cells.append(text)
    shown = table.assign(_cell=cells, _row=table[keys].astype(str).agg("\x1f".join, axis=1))
    label = shown["label"] if "label" in shown.columns else shown[keys[-1]].astype(str)
    labels = dict(zip(shown["_row"], label, strict=False))
    wide = shown.pivot_table(index="_row", columns="cohort", values="_cell", aggfunc="first", sort=False)
    wide = wide.reindex(columns=cohorts).rename(columns=headers)
    if "p_value" in shown.columns:
        tested = shown[shown["test"].astype(str) != ""]
        for cohort in dict.fromkeys(tested["cohort"]):
            reference = str(tested[tested["cohort"] == cohort]["test"].iloc[0]).rsplit(" vs ", 1)[-1]
            column = f"p: {_cohort_name(study, cohort)} vs {_cohort_name(study, reference)}"
            p_values = shown[shown["cohort"] == cohort].set_index("_row")["p_value"]
            wide[column] = p_values.reindex(wide.index).map(format_p).fillna("")
    wide.insert(0, "", [labels[i] for i in wide.index])
    if group is not None:
        groups = dict(zip(shown["_row"], shown[group].astype(str), strict=False))
        wide.insert(0, "_group", [groups[i] for i in wide.index])
    gt = GT(wide.reset_index(drop=True), rowname_col="", groupname_col="_group" if group else None,
            id=_table_id(title)).tab_header(title=title)
    legend = "n (%) patients" + (" [number of events]" if has_events else "") + \
        ("; exact 95% CI of the percentage" if show_ci else "") + "."
    return _finish(gt, table, legend)


def baseline_gt(table: pd.DataFrame, study: Study, *, title: str = "Baseline characteristics") -> GT:
    """A baseline table (from :func:`trialviz.baseline_table`) as "Table 1": one group per variable,
    "Mean (SD)", "Median (Q1–Q3)", "Min–max" or "n (%)" lines, N in each column header."""
    sizes = table.attrs.get("denominators", {})
    cohorts = list(dict.fromkeys(table["cohort"]))
    headers = {c: cohort_header(study, c, int(sizes.get(c, 0))) for c in cohorts}
    lines: list[dict[str, Any]] = []
    for (_variable, category), part in table.groupby(["variable", "category"], sort=False):
        # all-missing statistics (the SD of one patient, every statistic of an empty cohort) are kept as gaps
        stats_by = part.pivot_table(index="cohort", columns="statistic", values="value", aggfunc="first",
                                    dropna=False).reindex(cohorts)
        group = str(part["label"].iloc[0])
        if category == "":
            for name, make in (("n", lambda s: _num(s["n"], 0)),
                               ("Mean (SD)", lambda s: f"{_num(s['mean'], 1)} ({_num(s['sd'], 2)})"),
                               ("Median (Q1–Q3)", lambda s: f"{_num(s['median'], 1)} ({_num(s['q1'], 1)}–"
                                                            f"{_num(s['q3'], 1)})"),
                               ("Min–max", lambda s: f"{_num(s['min'], 1)}–{_num(s['max'], 1)}")):
                lines.append({"group": group, "": name,
                              **{headers[c]: make(stats_by.loc[c]) for c in cohorts}})
        else:
            lines.append({"group": group, "": str(category),
                          **{headers[c]: _n_percent(stats_by.loc[c, "count"], stats_by.loc[c, "percent"])
                             for c in cohorts}})
    shown = pd.DataFrame(lines, columns=["group", "", *headers.values()])
    gt = GT(shown, rowname_col="", groupname_col="group", id=_table_id(title)).tab_header(title=title)
    return _finish(gt, table)


def statistics_gt(table: pd.DataFrame, study: Study, *, title: str) -> GT:
    """Statistical tests (from :func:`trialviz.endpoint_tests`, :func:`trialviz.ancova` or
    :func:`trialviz.logrank`) as a report table: what is compared, the estimate, CI and p, and the test."""
    rows = []
    for row in table.to_dict("records"):
        what = _cohort_name(study, str(row["cohort"])) if row.get("cohort") else "Dose (continuous)"
        if row.get("reference"):
            joint = " − " if row.get("term") == "difference" else " vs "
            what += joint + _cohort_name(study, str(row["reference"]))
        if row.get("term") == "ls_mean":
            what = f"LS mean: {what}"
        estimate = _num(row.get("estimate", np.nan), 2)
        if "se" in row:
            estimate += f" (SE {_num(row['se'], 2)})"
        ci = f"{_num(row['ci_low'], 2)} to {_num(row['ci_high'], 2)}" if "ci_low" in row else ""
        visit = str(row.get("visit", row.get("param", "")))
        if row.get("timepoint"):
            visit += f", {str(row['timepoint']).lower()}"
        rows.append({"Visit": visit, "Comparison": what,
                     "n": "" if "n" not in row else str(int(row["n"])), "Estimate": estimate, "95% CI": ci,
                     "p": format_p(row["p_value"]), "Test": str(row["test"])})
    shown = pd.DataFrame(rows, columns=["Visit", "Comparison", "n", "Estimate", "95% CI", "p", "Test"])
    if not shown["95% CI"].astype(bool).any():
        shown = shown.drop(columns=["95% CI"])
    gt = GT(shown, groupname_col="Visit", id=_table_id(title)).tab_header(title=title)
    return _finish(gt, table)


def km_gt(table: pd.DataFrame, study: Study, *, title: str, medians: pd.DataFrame | None = None,
          tests: pd.DataFrame | None = None) -> GT:
    """Kaplan–Meier estimates at chosen times: a row per time, per cohort "at risk" and "S(t) (CI)";
    medians and log-rank tests as notes."""
    cohorts = list(dict.fromkeys(table["cohort"]))
    wide = pd.DataFrame({"Time": [f"{t:g}" for t in dict.fromkeys(table["time"])]})
    for cohort in cohorts:
        part = table[table["cohort"] == cohort]
        name = _cohort_name(study, cohort)
        wide[f"{name}: at risk"] = part["at_risk"].astype(int).astype(str).to_numpy()
        wide[f"{name}: S(t) (95% CI)"] = [f"{_num(s, 3)} ({_num(lo, 3)}–{_num(hi, 3)})" for s, lo, hi in
                                          zip(part["survival"], part["ci_low"], part["ci_high"], strict=True)]
    gt = GT(wide, rowname_col="Time", id=_table_id(title)).tab_header(title=title)
    notes = []
    if medians is not None:
        notes += [f"Median, {_cohort_name(study, r.cohort)}: " +
                  ("not reached" if math.isnan(r.median) else
                   f"{r.median:g} (95% CI {_num(r.ci_low, 0)}–{_num(r.ci_high, 0)})")
                  + f"; {r.events}/{r.n} events."
                  for r in medians.itertuples(index=False)]
    if tests is not None:
        notes += [f"{r.test}: p = {format_p(r.p_value)}." for r in tests.itertuples(index=False)]
    for note in notes:
        gt = gt.tab_source_note(note)
    return _finish(gt, table)


def composite_gt(table: pd.DataFrame, study: Study, *, title: str) -> GT:
    """A composite response (ACR CRISS, revised CRISS) by cohort under a heading per visit, a row per category
    in table order: improvers n/N (%) with the exact CI, the median probability (IQR) of the n patients with
    one, step-1 worsening and no result as n/N (%)."""
    cohorts = list(dict.fromkeys(table["cohort"]))
    lines = []
    for (visit, _), rows in table.groupby(["visit", "category"], sort=False):
        cells = []
        for row in rows.itertuples(index=False):
            if row.category == "probability":
                cells.append(f"{_num(row.median, 2)} ({_num(row.q1, 2)}–{_num(row.q3, 2)}); n = {row.subjects}")
                continue
            text = _n_percent(int(row.subjects), float(row.percent), None).replace(" (", f"/{int(row.denominator)} (",
                                                                                  1)
            if not math.isnan(row.ci_low):
                text += f"; {row.ci_low:.1f}–{row.ci_high:.1f}"
            cells.append(text)
        lines.append([visit, str(rows["label"].iloc[0]), *cells])
    shown = pd.DataFrame(lines, columns=["visit", "", *[_cohort_name(study, c) for c in cohorts]])
    gt = GT(shown, rowname_col="", groupname_col="visit", id=_table_id(title)).tab_header(title=title)
    return _finish(gt, table, "n/N (%) patients; exact 95% CI of the percentage of improvers.")


def listing_gt(table: pd.DataFrame, *, title: str) -> GT:
    """A listing (one row per record, the data's own columns) as a report table."""
    shown = table.astype("string").fillna("")
    return _finish(GT(shown, id=_table_id(title)).tab_header(title=title), table)


def responders_gt(table: pd.DataFrame, study: Study, *, title: str) -> GT:
    """Responders by visit and timepoint (a row each, labelled "Week 24, after lying down…")."""
    label = [f"{v}, {str(p).lower()}" if p else str(v) for v, p in zip(table["visit"], table["timepoint"],
                                                                      strict=True)]
    labelled = table.assign(label=label)
    labelled.attrs = dict(table.attrs)
    keys = ["visit", "timepoint"] if len(table) else ["visit"]  # (a row key of an empty table is one column)
    return counting_gt(labelled, study, title=title, keys=keys, show_events=False, show_ci=True,
                       fixed_denominator=False)
