"""The registry of views: every table and figure trialviz shows, declared once.

A :class:`View` names a pure function of :mod:`trialviz.tables` or :mod:`trialviz.figures` and says how it is
rendered as a report table, which patients are behind a cell of it (drill-down, a function in
:mod:`trialviz.tables` next to the counting it inverts) and how it is called in code. The command line
(``trialviz table NAME``), the dashboard's tabs, "Show code", the HTML report and the exports all read this
registry, so that adding a view touches one place.

A :class:`ViewCall` is a view with its arguments (an endpoint, a visit, a threshold…): what a dashboard tab
shows for a state, computed on a (filtered) study and written as the one line of code that reproduces it.

Examples
--------
>>> import trialviz
>>> from trialviz.views import VIEWS
>>> call = VIEWS["ae-soc-pt"].bind(min_percent=5)
>>> call.code()
'trialviz.ae_soc_pt(view, min_percent=5)'
>>> table = call.compute(trialviz.load_study())
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
import plotly.graph_objects as go
from great_tables import GT

from trialviz import figures, tables
from trialviz.errors import AnalysisError
from trialviz.report.render import facts_gt, summary_gt
from trialviz.report.tables import (
    LISTING_LABELS,
    baseline_gt,
    composite_gt,
    counting_gt,
    grade_gt,
    km_gt,
    listing_gt,
    responders_gt,
    statistics_gt,
)
from trialviz.study import Study
from trialviz.tables.criss import criss_patients, revised_criss_patients
from trialviz.tables.labs import (
    hys_law_cases,
    hys_law_patients,
    lab_abnormal_patients,
    lab_grade_patients,
    lab_shift_patients,
    lab_summary,
)
from trialviz.tables.populations import populations_patients
from trialviz.tables.safety import (
    ae_grade_patients,
    ae_overview_patients,
    ae_period_patients,
    ae_soc_pt_patients,
    patient_events,
)

Render = Callable[[pd.DataFrame, Study, str], GT]
"""Formats a computed table as a report table: ``render(table, study, title)``."""
Drill = Callable[..., list[str]]
"""The patients behind a cell: ``drill(study, *, <row keys>, cohort, <the view's options>)``."""
Options = dict[str, Any]
"""The options of ``trialviz table NAME`` (``param``, ``visit``, ``timepoint``, ``threshold``…), by name."""
Command = Callable[[Study, Options], pd.DataFrame]
"""Computes a table from the command line's options (filling in what they leave to the study's defaults)."""
Tidy = Callable[[pd.DataFrame, Study, Options], pd.DataFrame]
"""A computed table in the long, tidy form the command line writes as CSV."""


@dataclass(frozen=True)
class View:
    """One table or figure, declared once.

    Parameters
    ----------
    name
        The command-line name (``trialviz table NAME``) and the dashboard's CSS class ``tv-view-NAME``.
    title
        What a report calls it.
    compute
        The pure function: ``compute(study, *args, **options)`` gives a tidy DataFrame or a plotly figure.
    call
        How code calls it (``"trialviz.ae_overview"``); ``imports`` is the line that makes the name
        available, for figures.
    kind
        ``"table"`` or ``"figure"``.
    render
        The report table of a computed table (tables only).
    drill
        The patients behind one cell (counting tables): keyword arguments are the values of ``drill_keys``
        of the clicked row, ``cohort`` (``None`` for every cohort) and the view's own options.
    """

    name: str
    title: str
    compute: Callable[..., Any]
    call: str
    kind: Literal["table", "figure"] = "table"
    render: Render | None = None
    drill: Drill | None = None
    drill_keys: tuple[str, ...] = ()
    drill_options: tuple[str, ...] = ()
    """The view options that the drill-down function takes too (``min_percent`` selects rows, it does not
    change who is counted in one)."""
    imports: str = ""
    needs_param: bool = False
    """Whether it takes an endpoint (``PARAMCD``) as its first argument after the study."""
    in_report: bool = True
    """Whether it is a report table of its own (``trialviz table NAME``); a patient's listing is not."""
    command: Command | None = None
    """How ``trialviz table NAME`` computes it from its options; by default ``compute(study)``."""
    tidy: Tidy | None = None
    """Its long, tidy form for CSV; by default the table as computed."""
    cells_per_cohort: int = 1
    """How many cells of a report row each cohort has (the worst-grade table: patients, then events)."""

    def table_for(self, study: Study, options: Options) -> pd.DataFrame:
        """The table ``trialviz table NAME`` computes, with the command line's ``options``."""
        return self.command(study, options) if self.command is not None else self.compute(study)

    def tidy_for(self, table: pd.DataFrame, study: Study, options: Options) -> pd.DataFrame:
        """``table`` in the long, tidy form the command line writes."""
        return self.tidy(table, study, options) if self.tidy is not None else table.reset_index(drop=True)

    def bind(self, *args: Any, title: str | None = None, **options: Any) -> ViewCall:
        """This view with its arguments (and the title a dashboard gives it)."""
        return ViewCall(self, args, dict(options), title or self.title)


@dataclass(frozen=True)
class ViewCall:
    """A view with its arguments: computed on a study, rendered, written as code, drilled into."""

    view: View
    args: tuple[Any, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    title: str = ""

    @property
    def name(self) -> str:
        return self.view.name

    def compute(self, study: Study) -> Any:
        """The table (a tidy DataFrame) or the figure of this view on ``study``."""
        return self.view.compute(study, *self.args, **self.options)

    def render(self, result: pd.DataFrame, study: Study) -> GT:
        """The report table of a computed table."""
        if self.view.render is None:
            raise AnalysisError(f"{self.view.name} is a figure, not a report table.")
        return self.view.render(result, study, self.title)

    def code(self, study_name: str = "view") -> str:
        """The line of code that computes this view: ``trialviz.ae_soc_pt(view, min_percent=5)``."""
        arguments = [study_name, *(repr(a) for a in self.args),
                     *(f"{key}={_literal(value)}" for key, value in self.options.items())]
        return f"{self.view.call}({', '.join(arguments)})"

    def patients(self, study: Study, row: Mapping[str, Any], cohort: str | None) -> list[str]:
        """The ``USUBJID`` of the patients counted in a cell of this (counting) table."""
        if self.view.drill is None:
            return []
        options = {key: value for key, value in self.options.items() if key in self.view.drill_options}
        keys = {key: row[key] for key in self.view.drill_keys}
        return self.view.drill(study, *self.args, **keys, cohort=cohort, **options)


def _literal(value: Any) -> str:
    if isinstance(value, float) and value == float("inf"):
        return "float('inf')"
    if isinstance(value, float) and value.is_integer():
        return repr(int(value)) if abs(value) < 1e15 else repr(value)
    if isinstance(value, tuple):
        return "(" + ", ".join(_literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


# --- report renderers by kind of table ------------------------------------------------------------------------
def _counting(keys: list[str], **options: Any) -> Render:
    return lambda table, study, title: counting_gt(table, study, title=title, keys=keys, **options)


def _by_period(**options: Any) -> Render:
    """Counting table whose rows are kinds of event, under a heading per onset period."""
    return _counting(["period", "category"], group="period_label", **options)


def _statistics(table: pd.DataFrame, study: Study, title: str) -> GT:
    return statistics_gt(table, study, title=title)


def _summary(table: pd.DataFrame, study: Study, title: str) -> GT:
    param = str(table["param"].iloc[0]) if len(table) else ""
    decimals = study.endpoint(param).decimals if param else 1
    return summary_gt(table, study, title=title, decimals=decimals)


def _categories(table: pd.DataFrame, study: Study, title: str) -> GT:
    """Patients per result category: a row per category under a heading per visit (and timepoint)."""
    heading = [f"{v}, {str(t).lower()}" if t else str(v) for v, t in zip(table["visit"], table["timepoint"],
                                                                         strict=True)]
    labelled = table.assign(label=table["category"].astype(str), heading=heading)
    labelled.attrs = dict(table.attrs)
    keys = ["visit", "timepoint", "category"] if len(table) else ["visit"]  # (an empty table's row key: one column)
    return counting_gt(labelled, study, title=title, keys=keys, group="heading", show_events=False,
                       fixed_denominator=False)


def _km_render(table: pd.DataFrame, study: Study, title: str) -> GT:
    param = str(table["param"].iloc[0]) if len(table) else None
    try:
        tests = tables.logrank(study, param)
    except AnalysisError:
        tests = None
    return km_gt(table, study, title=title, medians=tables.km_medians(study, param), tests=tests)


def _figure(name: str, title: str, function: Callable[..., go.Figure]) -> View:
    return View(name, title, function, function.__name__, kind="figure",
                imports=f"from trialviz.figures import {function.__name__}")


# --- the command line's tables: computed from its options, written long and tidy ------------------------------
COUNT_COLUMNS = ["subjects", "denominator", "percent", "events", "ci_low", "ci_high", "p_value", "test"]


def _tidy_counts(table: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    columns = ["cohort", *keys, *[c for c in COUNT_COLUMNS if c in table.columns]]
    return table[columns].reset_index(drop=True)


def _counts(keys: list[str]) -> Tidy:
    """The tidy form of a counting table: cohort, the row's keys, then the counts."""
    return lambda table, study, options: _tidy_counts(table, keys)


def _tidy_endpoint_summary(table: pd.DataFrame, tests: pd.DataFrame | None = None) -> pd.DataFrame:
    """Summary statistics long (one row per cohort, visit, measure and statistic), then the p-values of the
    tests of change (``statistic = "p_value"``, with the test named)."""
    from trialviz.tables.endpoints import STATISTICS

    long = table.melt(id_vars=["cohort", "param", "visit", "timepoint", "dtype", "measure"],
                      value_vars=list(STATISTICS), var_name="statistic", value_name="value")
    if tests is not None and len(tests):
        named = [f"{t} vs {r}" if r else t for t, r in zip(tests["test"], tests["reference"], strict=True)]
        p_rows = tests.assign(statistic="p_value", value=tests["p_value"], test=named, dtype="")
        columns = ["cohort", "param", "visit", "timepoint", "dtype", "measure", "statistic", "value", "test"]
        long = pd.concat([long, p_rows[columns]], ignore_index=True)
    # the summary's rows are in cell order (scheduled visits, derived ones, timepoints by ATPTN)
    cells = {cell: i for i, cell in enumerate(dict.fromkeys(zip(table["visit"], table["timepoint"], table["dtype"],
                                                                strict=True)))}
    long["_cell"] = [cells.get(cell, len(cells)) for cell in zip(long["visit"], long["timepoint"], long["dtype"],
                                                                strict=True)]
    ranks = {
        "_measure": {m: i for i, m in enumerate(dict.fromkeys(table["measure"]))},
        "_cohort": {c: i for i, c in enumerate(dict.fromkeys(table["cohort"]))},
        "_stat": {s: i for i, s in enumerate([*STATISTICS, "p_value"])},
    }
    for rank, source in zip(ranks, ["measure", "cohort", "statistic"], strict=True):
        long[rank] = long[source].map(ranks[rank])
    long = long.sort_values(["_measure", "_cohort", "_cell", "_stat"], kind="stable")
    return long.drop(columns=[*ranks, "_cell"]).reset_index(drop=True)


def _tidy_summary(table: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return table[["cohort", *keys, "statistic", "value"]].reset_index(drop=True)


def _tidy_km(table: pd.DataFrame, medians: pd.DataFrame, tests: pd.DataFrame | None) -> pd.DataFrame:
    median_rows = medians[["cohort", "param", "median", "ci_low", "ci_high"]].rename(columns={"median": "value"})
    parts = [table, median_rows.assign(statistic="median")]
    if tests is not None:
        parts.append(tests.assign(statistic="p_value", value=tests["p_value"])[
            ["cohort", "param", "statistic", "value", "test"]])
    columns = ["cohort", "param", "time", "at_risk", "events", "censored", "survival", "ci_low", "ci_high",
               "statistic", "value", "test"]
    counts = {"at_risk": "Int64", "events": "Int64", "censored": "Int64"}
    long = pd.concat(parts, ignore_index=True).astype(counts)
    return long[[c for c in columns if c in long.columns]]


def _default_endpoint(study: Study) -> str:
    """The study's default endpoint (:meth:`Study.default_endpoint`: the primary one, else an efficacy total)."""
    param = study.default_endpoint()
    if param is None:
        raise AnalysisError("This study has no endpoint measurements (no BDS dataset).")
    return param


def _check_visit(study: Study, param: str, visit: str | None) -> None:
    """``--visit``: a scheduled or derived visit of the parameter (unscheduled visits are in no table)."""
    kinds = study.visit_kinds(param)
    visits = [str(v) for v in kinds.loc[kinds["kind"] != "unscheduled", "visit"]]
    if visit is not None and visit not in visits:
        raise AnalysisError(f"Unknown visit {visit!r} for {param}; visits: {', '.join(visits)}.")


def _check_timepoint(study: Study, param: str, timepoint: str | None) -> None:
    """``--timepoint``: an ``ATPT`` of the parameter; an unknown one is an error listing the valid ones."""
    from trialviz.tables.endpoints import check_timepoint

    check_timepoint(study, param, timepoint)


def _endpoint_summary(study: Study, options: Options) -> pd.DataFrame:
    from trialviz.tables import endpoint_summary

    options["param"] = options["param"] or _default_endpoint(study)
    _check_visit(study, options["param"], options["visit"])
    _check_timepoint(study, options["param"], options["timepoint"])
    table = endpoint_summary(study, options["param"], measures=("value", "change", "percent change"),
                             timepoint=options["timepoint"])
    return table if options["visit"] is None else table[table["visit"] == options["visit"]]


def _summary_with_tests(table: pd.DataFrame, study: Study, options: Options) -> pd.DataFrame:
    from trialviz.tables import endpoint_tests

    tests = []
    for measure in ("change", "percent change"):
        if table.loc[table["measure"] == measure, "n"].sum() > 0:
            tests.append(endpoint_tests(study, options["param"], visit=options["visit"], measure=measure,
                                        timepoint=options["timepoint"]))
    return _tidy_endpoint_summary(table, pd.concat(tests, ignore_index=True) if tests else None)


def _endpoint_tests(study: Study, options: Options) -> pd.DataFrame:
    from trialviz.tables import endpoint_tests

    options["param"] = options["param"] or _default_endpoint(study)
    _check_visit(study, options["param"], options["visit"])
    _check_timepoint(study, options["param"], options["timepoint"])
    return endpoint_tests(study, options["param"], visit=options["visit"], timepoint=options["timepoint"])


def _ancova(study: Study, options: Options) -> pd.DataFrame:
    from trialviz.tables import ancova

    options["param"] = options["param"] or _default_endpoint(study)
    _check_visit(study, options["param"], options["visit"])
    _check_timepoint(study, options["param"], options["timepoint"])
    return ancova(study, options["param"], options["visit"], covariates=options["covariate"] or (), comparisons="all",
                  timepoint=options["timepoint"])


def _responders(study: Study, options: Options) -> pd.DataFrame:
    from trialviz.tables import responders

    options["param"] = options["param"] or _default_endpoint(study)
    _check_visit(study, options["param"], options["visit"])
    _check_timepoint(study, options["param"], options["timepoint"])
    return responders(study, options["param"], visit=options["visit"], threshold=options["threshold"],
                      relative=options["relative"], better=options["better"], timepoint=options["timepoint"])


def _category_summary(study: Study, options: Options) -> pd.DataFrame:
    from trialviz.tables import category_summary

    options["param"] = options["param"] or _default_endpoint(study)
    _check_timepoint(study, options["param"], options["timepoint"])
    table = category_summary(study, options["param"], timepoint=options["timepoint"])
    return table if options["visit"] is None else table[table["visit"] == options["visit"]]


def _km(study: Study, options: Options) -> pd.DataFrame:
    from trialviz.tables import kaplan_meier

    return kaplan_meier(study, options["param"])


def _tidy_km_with_medians(table: pd.DataFrame, study: Study, options: Options) -> pd.DataFrame:
    from trialviz.tables import km_medians, logrank

    param = str(table["param"].iloc[0]) if len(table) else options["param"]
    present = table.loc[table["at_risk"] > 0, "cohort"].nunique() if len(table) else 0
    return _tidy_km(table, km_medians(study, param), logrank(study, param) if present > 1 else None)


def _tidy_tests(table: pd.DataFrame, study: Study, options: Options) -> pd.DataFrame:
    renamed = table.rename(columns={"statistic": "test_statistic"})
    columns = ["cohort", "reference", "param", "visit", "timepoint", "measure", "term", "n", "estimate_of", "estimate",
               "se", "ci_low", "ci_high", "df", "test_statistic", "p_value", "test"]
    return renamed[[c for c in columns if c in renamed.columns]].reset_index(drop=True)



LAB_COLUMNS = ["cohort", "param", "timepoint", "direction", "baseline", "worst", "subjects", "denominator", "percent"]


def _lab_table(function: Callable[..., pd.DataFrame]) -> Command:
    """``trialviz table lab-…``: every parameter with a normal range, or ``--param`` (and ``--timepoint``)."""
    return lambda study, options: function(study, param=options.get("param"), timepoint=options.get("timepoint"))


def _tidy_lab(table: pd.DataFrame, study: Study, options: Options) -> pd.DataFrame:
    return table[LAB_COLUMNS].reset_index(drop=True)


def _lab_render(table: pd.DataFrame, study: Study, title: str) -> GT:
    """Patients per row (n/N (%): the denominator differs between rows), under a heading per parameter."""
    if not len(table):
        return listing_gt(table.iloc[:, :0].assign(**{"": []}), title=title).tab_source_note(
            " ".join(table.attrs.get("notes", [])))
    keys = [c for c in ("param", "timepoint", "direction", "scale", "baseline", "worst") if c in table.columns]
    return counting_gt(table, study, title=title, keys=keys, group="heading", show_events=False,
                       fixed_denominator=False)


def _hys_law(study: Study, options: Options) -> pd.DataFrame:
    from trialviz.tables import hys_law

    return hys_law_cases(study) if options.get("listing") else hys_law(study)


def _hys_law_render(table: pd.DataFrame, study: Study, title: str) -> GT:
    if not len(table):
        return _lab_render(table, study, title)
    if "quadrant" not in table.columns:
        return listing_gt(table, title=title)
    return counting_gt(table, study, title=title, keys=["quadrant"], show_events=False, fixed_denominator=False)


def _tidy_hys_law(table: pd.DataFrame, study: Study, options: Options) -> pd.DataFrame:
    if "quadrant" not in table.columns:  # --listing: the potential cases
        return table.reset_index(drop=True)
    return table[["cohort", "quadrant", "subjects", "denominator", "percent"]].reset_index(drop=True)


def _criss(study: Study, options: Options) -> pd.DataFrame:
    from trialviz.tables import criss_summary

    return criss_summary(study, visit=options["visit"])


def _revised_criss(study: Study, options: Options) -> pd.DataFrame:
    from trialviz.tables import revised_criss_summary

    return revised_criss_summary(study, visit=options["visit"], percent=options["percent"])


def _tidy_composite(table: pd.DataFrame, study: Study, options: Options) -> pd.DataFrame:
    """Cohort, the index, visit and category, then the counts (and the probability's median and quartiles)."""
    columns = ["cohort", "index", "visit", "category", "subjects", "denominator", "percent", "ci_low", "ci_high",
               "median", "q1", "q3"]
    return table[[c for c in columns if c in table.columns]].reset_index(drop=True)


def _composite(table: pd.DataFrame, study: Study, title: str) -> GT:
    return composite_gt(table, study, title=title)


_EVENT_OPTIONS = ("population_flag", "treatment_emergent")

VIEWS: dict[str, View] = {view.name: view for view in (
    View("populations", "Populations and disposition", tables.populations, "trialviz.populations",
         render=_counting(["population", "category"], show_events=False), tidy=_counts(["population", "category"]),
         drill=populations_patients, drill_keys=("population", "category")),
    View("baseline", "Baseline characteristics", tables.baseline_table, "trialviz.baseline_table",
         render=lambda table, study, title: baseline_gt(table, study, title=title),
         tidy=lambda table, study, options: _tidy_summary(table, ["variable", "category"])),
    View("endpoint-summary", "Endpoint summary", tables.endpoint_summary, "trialviz.endpoint_summary",
         render=_summary, needs_param=True, command=_endpoint_summary, tidy=_summary_with_tests),
    View("endpoint-tests", "Tests of change from baseline", tables.endpoint_tests, "trialviz.endpoint_tests",
         render=_statistics, needs_param=True, command=_endpoint_tests, tidy=_tidy_tests),
    View("ancova", "ANCOVA of change from baseline", tables.ancova, "trialviz.ancova", render=_statistics,
         needs_param=True, command=_ancova, tidy=_tidy_tests),
    View("responders", "Responders", tables.responders, "trialviz.responders",
         render=lambda table, study, title: responders_gt(table, study, title=title),
         needs_param=True, command=_responders, tidy=_counts(["param", "visit", "timepoint", "threshold"])),
    View("criss", "ACR CRISS: composite response", tables.criss_summary, "trialviz.criss_summary",
         render=_composite, command=_criss, tidy=_tidy_composite, drill=criss_patients,
         drill_keys=("visit", "category"), drill_options=("population_flag",)),
    View("revised-criss", "Revised CRISS: improved in at least 3 of 5 core items", tables.revised_criss_summary,
         "trialviz.revised_criss_summary", render=_composite, command=_revised_criss,
         tidy=_tidy_composite, drill=revised_criss_patients, drill_keys=("visit", "category"),
         drill_options=("percent", "population_flag")),
    View("ae-overview", "Adverse events: overview", tables.ae_overview, "trialviz.ae_overview",
         render=_counting(["category"]), tidy=_counts(["category"]), drill=ae_overview_patients,
         drill_keys=("category",), drill_options=_EVENT_OPTIONS),
    View("ae-soc-pt", "Adverse events by system organ class and preferred term", tables.ae_soc_pt,
         "trialviz.ae_soc_pt", render=_counting(["soc", "pt"], outline="pt"), tidy=_counts(["soc", "pt"]),
         drill=ae_soc_pt_patients,
         drill_keys=("soc", "pt"), drill_options=("category", *_EVENT_OPTIONS)),
    View("ae-grade", "Adverse events by worst grade", tables.ae_grade, "trialviz.ae_grade",
         render=lambda table, study, title: grade_gt(table, study, title=title), tidy=_counts(["grade"]),
         cells_per_cohort=2,
         drill=ae_grade_patients, drill_keys=("grade",),
         drill_options=_EVENT_OPTIONS),
    View("ae-period", "Adverse events by onset period", tables.ae_period, "trialviz.ae_period",
         render=_by_period(), tidy=_counts(["period", "category"]), drill=ae_period_patients,
         drill_keys=("period", "category"), drill_options=_EVENT_OPTIONS),
    View("primary-endpoint", "Primary endpoint: adverse events in the primary-endpoint window",
         tables.primary_endpoint_table, "trialviz.primary_endpoint_table", render=_by_period(show_ci=True),
         tidy=_counts(["period", "category"]),
         drill=ae_period_patients, drill_keys=("period", "category"),
         drill_options=("population_flag", "treatment_emergent")),
    View("category-summary", "Patients by result category", tables.category_summary, "trialviz.category_summary",
         render=_categories, needs_param=True, command=_category_summary,
         tidy=_counts(["param", "visit", "timepoint", "category"])),
    View("km", "Kaplan–Meier estimates", tables.kaplan_meier, "trialviz.kaplan_meier", render=_km_render,
         command=_km, tidy=_tidy_km_with_medians),
    View("published-facts", "Published facts and the same quantities computed from the data",
         tables.published_facts, "trialviz.published_facts",
         render=lambda table, study, title: facts_gt(table, title=title)),
    View("lab-shift", "Laboratory shift from baseline to the worst post-baseline value", tables.lab_shift,
         "trialviz.lab_shift", render=_lab_render, command=_lab_table(tables.lab_shift), tidy=_tidy_lab,
         drill=lab_shift_patients, drill_keys=("param", "timepoint", "direction", "scale", "baseline", "worst")),
    View("lab-grade", "Laboratory toxicity grades: worst post-baseline grade", tables.lab_grade,
         "trialviz.lab_grade", render=_lab_render, command=_lab_table(tables.lab_grade), tidy=_tidy_lab,
         drill=lab_grade_patients, drill_keys=("param", "timepoint", "direction", "worst")),
    View("lab-abnormal", "Laboratory values outside the normal range after baseline", tables.lab_abnormal,
         "trialviz.lab_abnormal", render=_lab_render, command=_lab_table(tables.lab_abnormal), tidy=_tidy_lab,
         drill=lab_abnormal_patients, drill_keys=("param", "timepoint", "direction", "baseline")),
    View("hys-law", "Liver signals: Hy's law quadrants", tables.hys_law, "trialviz.hys_law",
         render=_hys_law_render, command=_hys_law, tidy=_tidy_hys_law, drill=hys_law_patients,
         drill_keys=("quadrant",)),
    View("lab-summary", "Lab values and changes by visit", lab_summary, "lab_summary", render=_summary,
         needs_param=True, in_report=False, imports="from trialviz.tables.labs import lab_summary"),
    View("hys-law-cases", "Potential Hy's law cases", hys_law_cases, "hys_law_cases",
         render=lambda table, study, title: listing_gt(table, title=title),
         imports="from trialviz.tables.labs import hys_law_cases", in_report=False),
    View("patient-events", "Adverse events of the patient", patient_events, "patient_events",
         render=lambda table, study, title: listing_gt(table, title=title, labels=LISTING_LABELS),
         imports="from trialviz.tables.safety import patient_events", in_report=False),
    _figure("enrolment", "Enrolment and treatment", figures.enrolment_figure),
    _figure("trajectory", "Endpoint over time", figures.trajectory_figure),
    _figure("waterfall", "Change from baseline per patient", figures.waterfall_figure),
    _figure("responder-rates", "Responder rates", figures.responder_figure),
    _figure("category-figure", "Result categories by visit", figures.category_figure),
    _figure("criss-figure", "ACR CRISS: each patient's probability of improvement", figures.criss_figure),
    _figure("ae-timeline", "Adverse events over time", figures.ae_timeline_figure),
    _figure("km-figure", "Kaplan–Meier curves", figures.km_figure),
    _figure("hys-law-figure", "Liver signals: Hy's law", figures.hys_law_figure),
    _figure("lab-outliers", "Lab values over time against the normal range", figures.lab_outlier_figure),
    _figure("patient-labs", "Patient lab values against the normal range", figures.patient_labs_figure),
    _figure("patient-timeline", "Patient timeline", figures.patient_timeline_figure),
    _figure("patient-endpoints", "Patient endpoints", figures.patient_endpoints_figure),
)}
"""Every view by name."""

REPORTS: dict[str, View] = {name: view for name, view in VIEWS.items() if view.render is not None and view.in_report}
"""The report tables by name: the names of ``trialviz table NAME``."""


def render_report(name: str, table: pd.DataFrame, study: Study, *, title: str | None = None) -> GT:
    """Format an already computed table of report ``name`` (see :data:`REPORTS`)."""
    view = _report(name)
    return view.bind(title=title or f"{view.title} — {study.meta.display_name}").render(table, study)


def report_table(name: str, study: Study, *args: Any, title: str | None = None, **options: Any) -> GT:
    """Compute table ``name`` (see :data:`REPORTS`) with the given options and format it as a report.

    Parameters
    ----------
    name
        ``populations``, ``baseline``, ``endpoint-summary``, ``endpoint-tests``, ``ancova``, ``responders``,
        ``criss``, ``revised-criss``, ``ae-overview``, ``ae-soc-pt``, ``ae-grade``, ``ae-period``,
        ``primary-endpoint``, ``km`` or ``published-facts``.
    study
        A (possibly filtered) study.
    *args, **options
        Passed to the table's function (e.g. the endpoint for ``endpoint-summary``).
    title
        Title of the table; by default the report's title and the study name.

    Examples
    --------
    >>> import trialviz
    >>> from trialviz.views import report_table
    >>> gt = report_table("responders", trialviz.load_study(), "MRSS", visit="Month 6")
    """
    view = _report(name)
    call = view.bind(*args, title=title or f"{view.title} — {study.meta.display_name}", **options)
    return call.render(call.compute(study), study)


def _report(name: str) -> View:
    if name not in REPORTS:
        raise AnalysisError(f"Unknown table {name!r}; choose one of: {', '.join(REPORTS)}.")
    return REPORTS[name]
