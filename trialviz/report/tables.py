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
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from great_tables import GT, loc, style

from trialviz.report.render import _n_percent, _style, _table_id, as_html, cohort_header
from trialviz.study import Study
from trialviz.tables.common import TOTAL, conventions_of

__all__ = ["as_html", "baseline_gt", "composite_gt", "counting_gt", "format_p", "grade_gt", "km_gt", "statistics_gt"]


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
                show_ci: bool = False, fixed_denominator: bool = True, group: str | None = None,
                outline: str | None = None) -> GT:
    """A tidy counting table as a report table: a row per combination of ``keys`` (labelled by ``label``
    where the table has one), a column per cohort, then one p-value column per compared cohort.
    With ``group`` (a column of ``table``), rows are gathered under a heading per value of that column.

    Cells read "n (%)", with "[events]" when ``show_events`` and the confidence interval when ``show_ci``;
    with ``fixed_denominator`` the N of each cohort goes to its header, otherwise each cell shows n/N.
    With ``outline`` (a key column), rows where it is empty are headings in bold (a class and its total) and
    the others are indented under them (its terms).
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
    wide.insert(0, "", [labels[i].strip() for i in wide.index])
    headings: list[int] = []
    if outline is not None:
        heading_rows = set(shown.loc[shown[outline].astype(str) == "", "_row"])
        headings = [i for i, row in enumerate(wide.index) if row in heading_rows]
    if group is not None:
        groups = dict(zip(shown["_row"], shown[group].astype(str), strict=False))
        wide.insert(0, "_group", [groups[i] for i in wide.index])
    gt = GT(wide.reset_index(drop=True), rowname_col="", groupname_col="_group" if group else None,
            id=_table_id(title)).tab_header(title=title)
    if outline is not None and len(wide):
        terms = [i for i in range(len(wide)) if i not in set(headings)]
        if terms:
            gt = gt.tab_stub_indent(rows=terms, indent=2)
        if headings:
            gt = gt.tab_style(style.text(weight="bold"), locations=[loc.stub(rows=headings), loc.body(rows=headings)])
    legend = "n (%) patients" + (" [number of events]" if has_events else "") + \
        ("; exact 95% CI of the percentage" if show_ci else "") + "."
    return _finish(gt, table, legend)


def grade_gt(table: pd.DataFrame, study: Study, *, title: str) -> GT:
    """Adverse events by worst grade (from :func:`trialviz.ae_grade`): per cohort, under its header, two labelled
    columns: the patients whose worst event has the grade, n (%), and the events of that grade (a patient's
    milder events count in the rows of their grades); the first row is any grade."""
    cohorts = list(dict.fromkeys(table["cohort"]))
    sizes = table.drop_duplicates("cohort").set_index("cohort")["denominator"]
    scale = str(table["scale"].iloc[0]) if len(table) else "CTCAE grade"
    worst = "Patients by worst grade, n (%)" if scale == "CTCAE grade" else "Patients by worst severity, n (%)"
    events_label = "Events of the grade" if scale == "CTCAE grade" else "Events of the severity"
    rows = list(dict.fromkeys(table["grade"]))
    labels = {"any": "Any grade" if scale == "CTCAE grade" else "Any severity"}
    labels.update({g: str(lab) for g, lab in zip(table["grade"], table["label"], strict=True) if g != "any"})
    shown = pd.DataFrame({"": [labels[g] for g in rows]})
    by_cell = table.set_index(["grade", "cohort"])
    gt_columns: dict[str, list[str]] = {}
    for cohort in cohorts:
        patients, events = f"{cohort}\x1fpatients", f"{cohort}\x1fevents"
        shown[patients] = [_n_percent(by_cell.loc[(g, cohort), "subjects"], by_cell.loc[(g, cohort), "percent"])
                           for g in rows]
        shown[events] = [str(int(by_cell.loc[(g, cohort), "events"])) for g in rows]
        gt_columns[cohort_header(study, cohort, int(sizes[cohort]))] = [patients, events]
    gt = GT(shown, rowname_col="", id=_table_id(title)).tab_header(title=title)
    for header, columns in gt_columns.items():
        gt = gt.tab_spanner(label=header, columns=columns)
    gt = gt.cols_label(cases={c: worst if c.endswith("patients") else events_label
                              for columns in gt_columns.values() for c in columns})
    if len(shown):
        gt = gt.tab_style(style.text(weight="bold"), locations=[loc.stub(rows=[0]), loc.body(rows=[0])])
    legend = ("Patients are counted once, in the row of their worst grade (the first row: patients with an event "
              "of any grade); events are counted in the row of their own grade, so a row can list events of "
              "patients counted in a worse row.") if scale == "CTCAE grade" else (
              "Patients are counted once, in the row of their worst severity (the first row: patients with any "
              "event); events are counted in the row of their own severity.")
    return _finish(gt, table, legend)


CATEGORY_WORDS = {"SEX": {"F": "Women", "M": "Men", "U": "Unknown"}}
"""Categories of Table 1 in the words the dashboard's filters use."""


def _decimals(values: pd.Series) -> int:
    """The decimals a variable is recorded with (0 for integers, at most 2)."""
    finite = values.dropna().to_numpy(dtype=float)
    for places in range(3):
        if np.allclose(finite, np.round(finite, places)):
            return places
    return 2


def baseline_gt(table: pd.DataFrame, study: Study, *, title: str = "Baseline characteristics") -> GT:
    """A baseline table (from :func:`trialviz.baseline_table`) as a compact "Table 1": one group per variable
    (with its unit), "Mean (SD)", "Median (Q1–Q3)", "Min–max" at the precision the variable is recorded with
    (integers as integers: the minimum and maximum with its decimals, the mean and median with one more, the SD
    with two more), an "n" line only where some values are missing, "n (%)" lines for categories in the
    filters' words (Women, Men), N in each column header."""
    sizes = table.attrs.get("denominators", {})
    cohorts = list(dict.fromkeys(table["cohort"]))
    headers = {c: cohort_header(study, c, int(sizes.get(c, 0))) for c in cohorts}
    lines: list[dict[str, Any]] = []
    for (variable, category), part in table.groupby(["variable", "category"], sort=False, observed=False):
        # all-missing statistics (the SD of one patient, every statistic of an empty cohort) are kept as gaps
        stats_by = part.pivot_table(index="cohort", columns="statistic", values="value", aggfunc="first",
                                    dropna=False).reindex(cohorts)
        group = str(part["label"].iloc[0])
        if category == "":
            d = _decimals(part.loc[part["statistic"].isin(["min", "max"]), "value"])
            # each function takes a cohort's statistics (``d`` is bound by a default argument)
            shown_lines: list[tuple[str, Callable[..., str]]] = [
                ("Mean (SD)", lambda s, d=d: f"{_num(s['mean'], d + 1)} ({_num(s['sd'], min(d + 2, 2))})"),
                ("Median (Q1–Q3)", lambda s, d=d: f"{_num(s['median'], d + 1)} ({_num(s['q1'], d + 1)}–"
                                                  f"{_num(s['q3'], d + 1)})"),
                ("Min–max", lambda s, d=d: f"{_num(s['min'], d)}–{_num(s['max'], d)}")]
            if any(stats_by.loc[c, "n"] < sizes.get(c, 0) for c in cohorts):
                shown_lines.insert(0, ("n (with a value)", lambda s: _num(s["n"], 0)))
            for name, make in shown_lines:
                lines.append({"group": group, "": name,
                              **{headers[c]: make(stats_by.loc[c]) for c in cohorts}})
        else:
            words = CATEGORY_WORDS.get(str(variable), {}).get(str(category), str(category))
            lines.append({"group": group, "": words,
                          **{headers[c]: _n_percent(stats_by.loc[c, "count"], stats_by.loc[c, "percent"])
                             for c in cohorts}})
    shown = pd.DataFrame(lines, columns=["group", "", *headers.values()])
    gt = GT(shown, rowname_col="", groupname_col="group", id=_table_id(title)).tab_header(title=title)
    gt = gt.tab_options(data_row_padding="2px", row_group_padding="3px")
    return _finish(gt, table)


ESTIMATE_OF_TERM = {"ls_mean": "LS mean", "difference": "Difference of LS means",
                    "dose_response": "Slope per unit of dose"}
"""What an ANCOVA row estimates, by its ``term``."""


def statistics_gt(table: pd.DataFrame, study: Study, *, title: str) -> GT:
    """Statistical tests (from :func:`trialviz.endpoint_tests`, :func:`trialviz.ancova` or
    :func:`trialviz.logrank`) as a report table: what is compared, what the estimate is (mean change, median
    change, Hodges–Lehmann shift, difference of LS means…) with its 95% CI, the p-value and the test; a note says
    that the p-values are not adjusted for the number of tests shown."""
    rows = []
    for row in table.to_dict("records"):
        what = _cohort_name(study, str(row["cohort"])) if row.get("cohort") else "Dose (continuous)"
        if row.get("reference"):
            joint = " − " if row.get("term") == "difference" else " vs "
            what += joint + _cohort_name(study, str(row["reference"]))
        estimate_of = str(row.get("estimate_of") or ESTIMATE_OF_TERM.get(str(row.get("term", "")), ""))
        if row.get("term") in ("ls_mean", "difference") and row.get("measure"):
            estimate_of += f" ({row['measure']})"
        estimate = _num(row.get("estimate", np.nan), 2)
        if "se" in row:
            estimate += f" (SE {_num(row['se'], 2)})"
        has_ci = "ci_low" in row and not (pd.isna(row["ci_low"]) and pd.isna(row["ci_high"]))
        ci = f"{_num(row['ci_low'], 2)} to {_num(row['ci_high'], 2)}" if has_ci else ""
        visit = str(row.get("visit", row.get("param", "")))
        if row.get("timepoint"):
            visit += f", {str(row['timepoint']).lower()}"
        rows.append({"Visit": visit, "Comparison": what,
                     "n": "" if "n" not in row else str(int(row["n"])), "Estimate of": estimate_of,
                     "Estimate": estimate, "95% CI": ci, "p": format_p(row["p_value"]), "Test": str(row["test"])})
    shown = pd.DataFrame(rows, columns=["Visit", "Comparison", "n", "Estimate of", "Estimate", "95% CI", "p", "Test"])
    for optional in ("Estimate of", "95% CI"):
        if not shown[optional].astype(bool).any():
            shown = shown.drop(columns=[optional])
    gt = GT(shown, groupname_col="Visit", id=_table_id(title)).tab_header(title=title)
    return _finish(gt, table, "p-values are unadjusted for the number of tests shown.")


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
    for (visit, _), rows in table.groupby(["visit", "category"], sort=False, observed=False):
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


LISTING_LABELS = {"AEDECOD": "Adverse event", "AEBODSYS": "System organ class", "ASTDY": "Onset (study day)",
                  "AENDY": "End (study day)", "AETOXGR": "Grade", "AESEV": "Severity", "AESER": "Serious",
                  "AEREL": "Related to treatment", "AGE": "Age (years)"}
"""A listing's columns in clinicians' words (the variable stays in the tidy table and the exports)."""


def _listing_text(column: pd.Series) -> pd.Series:
    """A listing column as text: whole numbers (days, grades, ages) as integers, Y/N as yes/no."""
    numbers = pd.to_numeric(column, errors="coerce") if not pd.api.types.is_string_dtype(column) else None
    if numbers is not None and numbers.notna().any() and (numbers.dropna() % 1 == 0).all():
        return numbers.astype("Int64").astype("string").fillna("")
    text = column.astype("string").fillna("")
    return text.replace({"Y": "yes", "N": "no"}) if set(text.unique()) <= {"Y", "N", ""} else text


def listing_gt(table: pd.DataFrame, *, title: str, labels: dict[str, str] | None = None) -> GT:
    """A listing (one row per record) as a report table: columns named by ``labels`` (the data's own names
    otherwise), whole numbers shown as integers."""
    shown = pd.DataFrame({column: _listing_text(table[column]) for column in table.columns}, index=table.index)
    if labels:
        shown = shown.rename(columns={c: labels.get(str(c), str(c)) for c in shown.columns})
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
