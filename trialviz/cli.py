"""The ``trialviz`` command line: ``serve``, ``validate`` and ``table``.

Exit codes: 0 success (``validate``: no errors, warnings printed), 1 errors in the study or a bad
argument (with a message), 2 a path that cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from trialviz.errors import AnalysisError, StudyConfigError, StudyFileError, TrialvizError, ValidationError
from trialviz.study import Study


def _study(path: str | None) -> Study:
    from trialviz.io import load_study

    return load_study(Path(path) if path else None)


# --- table exports: long, tidy CSV ----------------------------------------------------------------------------
COUNT_COLUMNS = ["subjects", "denominator", "percent", "events", "ci_low", "ci_high", "p_value", "test"]


def _tidy_counts(table: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    columns = ["cohort", *keys, *[c for c in COUNT_COLUMNS if c in table.columns]]
    return table[columns].reset_index(drop=True)


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


@dataclass(frozen=True)
class TableCommand:
    """One ``trialviz table NAME``: the analysis table from the study and the options, and its tidy form."""

    compute: Callable[[Study, argparse.Namespace], pd.DataFrame]
    tidy: Callable[[pd.DataFrame, Study, argparse.Namespace], pd.DataFrame]


def _compute(function: str) -> Callable[[Study, argparse.Namespace], pd.DataFrame]:
    def compute(study: Study, args: argparse.Namespace) -> pd.DataFrame:
        import trialviz.tables as tables

        return getattr(tables, function)(study)

    return compute


def _counting(function: str, keys: list[str]) -> TableCommand:
    return TableCommand(_compute(function), lambda table, study, args: _tidy_counts(table, keys))


def _endpoint_summary(study: Study, args: argparse.Namespace) -> pd.DataFrame:
    from trialviz.tables import endpoint_summary

    args.param = args.param or _default_endpoint(study)
    _check_visit(study, args.param, args.visit)
    _check_timepoint(study, args.param, args.timepoint)
    table = endpoint_summary(study, args.param, measures=("value", "change", "percent change"),
                             timepoint=args.timepoint)
    return table if args.visit is None else table[table["visit"] == args.visit]


def _summary_with_tests(table: pd.DataFrame, study: Study, args: argparse.Namespace) -> pd.DataFrame:
    from trialviz.tables import endpoint_tests

    tests = []
    for measure in ("change", "percent change"):
        if table.loc[table["measure"] == measure, "n"].sum() > 0:
            tests.append(endpoint_tests(study, args.param, visit=args.visit, measure=measure,
                                        timepoint=args.timepoint))
    return _tidy_endpoint_summary(table, pd.concat(tests, ignore_index=True) if tests else None)


def _endpoint_tests(study: Study, args: argparse.Namespace) -> pd.DataFrame:
    from trialviz.tables import endpoint_tests

    args.param = args.param or _default_endpoint(study)
    _check_visit(study, args.param, args.visit)
    _check_timepoint(study, args.param, args.timepoint)
    return endpoint_tests(study, args.param, visit=args.visit, timepoint=args.timepoint)


def _ancova(study: Study, args: argparse.Namespace) -> pd.DataFrame:
    from trialviz.tables import ancova

    args.param = args.param or _default_endpoint(study)
    _check_visit(study, args.param, args.visit)
    _check_timepoint(study, args.param, args.timepoint)
    return ancova(study, args.param, args.visit, covariates=args.covariate or (), comparisons="all",
                  timepoint=args.timepoint)


def _responders(study: Study, args: argparse.Namespace) -> pd.DataFrame:
    from trialviz.tables import responders

    args.param = args.param or _default_endpoint(study)
    _check_visit(study, args.param, args.visit)
    _check_timepoint(study, args.param, args.timepoint)
    return responders(study, args.param, visit=args.visit, threshold=args.threshold, relative=args.relative,
                      better=args.better, timepoint=args.timepoint)


def _km(study: Study, args: argparse.Namespace) -> pd.DataFrame:
    from trialviz.tables import kaplan_meier

    return kaplan_meier(study, args.param)


def _tidy_km_with_medians(table: pd.DataFrame, study: Study, args: argparse.Namespace) -> pd.DataFrame:
    from trialviz.tables import km_medians, logrank

    param = str(table["param"].iloc[0]) if len(table) else args.param
    present = table.loc[table["at_risk"] > 0, "cohort"].nunique() if len(table) else 0
    return _tidy_km(table, km_medians(study, param), logrank(study, param) if present > 1 else None)


def _tidy_tests(table: pd.DataFrame, study: Study, args: argparse.Namespace) -> pd.DataFrame:
    renamed = table.rename(columns={"statistic": "test_statistic"})
    columns = ["cohort", "reference", "param", "visit", "timepoint", "measure", "term", "n", "estimate", "se", "ci_low",
               "ci_high", "df", "test_statistic", "p_value", "test"]
    return renamed[[c for c in columns if c in renamed.columns]].reset_index(drop=True)


TABLES: dict[str, TableCommand] = {
    "populations": _counting("populations", ["population", "category"]),
    "baseline": TableCommand(_compute("baseline_table"),
                             lambda table, study, args: _tidy_summary(table, ["variable", "category"])),
    "endpoint-summary": TableCommand(_endpoint_summary, _summary_with_tests),
    "endpoint-tests": TableCommand(_endpoint_tests, _tidy_tests),
    "ancova": TableCommand(_ancova, _tidy_tests),
    "responders": TableCommand(_responders, lambda table, study, args: _tidy_counts(
        table, ["param", "visit", "timepoint", "threshold"])),
    "ae-overview": _counting("ae_overview", ["category"]),
    "ae-soc-pt": _counting("ae_soc_pt", ["soc", "pt"]),
    "ae-grade": _counting("ae_grade", ["grade"]),
    "ae-period": _counting("ae_period", ["period", "category"]),
    "primary-endpoint": _counting("primary_endpoint_table", ["period", "category"]),
    "km": TableCommand(_km, _tidy_km_with_medians),
}
"""The tables of ``trialviz table NAME``: the nine of the report, plus ``endpoint-tests``, ``ancova`` and
``primary-endpoint``."""


def _write(table: pd.DataFrame, fmt: str, output: str | None, html: Callable[[], str] | None = None) -> None:
    if fmt == "csv":
        from trialviz.report.export import to_csv_text

        text = to_csv_text(table)  # text cells cannot run as spreadsheet formulas (numbers are unchanged)
    elif fmt == "markdown":
        text = table.to_markdown(index=False) + "\n"
    elif fmt == "html":
        text = html() if html is not None else table.to_html(index=False, na_rep="")
    elif fmt == "xlsx":
        if not output:
            raise AnalysisError("--format xlsx needs --output FILE.")
        from trialviz.report.export import to_xlsx_bytes

        Path(output).write_bytes(to_xlsx_bytes(table))  # text cells cannot run as spreadsheet formulas
        return
    else:  # pragma: no cover - argparse restricts the choices
        raise AnalysisError(f"Unknown format {fmt!r}.")
    if output:
        Path(output).write_text(text, encoding="utf-8", newline="")
    else:
        sys.stdout.write(text)


def _html_page(title: str, body: str) -> str:
    from html import escape

    return (f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{escape(title)}</title>"
            f"</head><body>\n{body}\n</body></html>\n")


# --- commands ---------------------------------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace) -> int:
    from trialviz.app.serve import serve

    return serve(args.study, port=args.port, open_browser=not args.no_browser, ip=args.ip)


def cmd_validate(args: argparse.Namespace) -> int:
    """Check a study: print every problem (errors first), then a verdict.

    Exit 0 with no problems or only warnings, 1 with errors (a study file that cannot be parsed counts),
    2 when the path cannot be read. ``--format json`` prints the problems as a list of records (a path
    that cannot be read or a bad study file gives one record, so the output is always such a list).
    """
    from trialviz.errors import Problem
    from trialviz.io import load_study

    try:
        study = load_study(Path(args.study))
        problems, code = list(study.warnings), 0
    except ValidationError as exc:
        problems, code = list(exc.problems), 1
    except (StudyFileError, StudyConfigError) as exc:
        if args.format != "json":
            raise
        problems, code = [Problem("error", "study", "", "", str(exc))], 2 if isinstance(exc, StudyFileError) else 1
    problems.sort(key=lambda p: p.severity != "error")  # errors first, each group in the order found
    if args.format == "json":
        print(json.dumps([p.to_dict() for p in problems], indent=2, ensure_ascii=False))
    else:
        errors = sum(p.severity == "error" for p in problems)
        for problem in problems:
            print(problem)
        verdict = "cannot be loaded: correct the errors above" if errors else "loads"
        print(f"{args.study}: {errors} error(s), {len(problems) - errors} warning(s); the study {verdict}.")
    return code


def cmd_table(args: argparse.Namespace) -> int:
    """Print (or write) one analysis table: long tidy CSV, markdown, xlsx, or the formatted report table
    as an HTML page. ``--by COLUMN`` compares the groups of an ADSL column instead of the cohorts."""
    if args.name not in TABLES:
        raise AnalysisError(f"Unknown table {args.name!r}; choose one of: {', '.join(TABLES)}.")
    study = _study(args.study)
    if args.by:
        from trialviz.tables.common import grouped_by

        study = grouped_by(study, args.by)
    command = TABLES[args.name]
    table = command.compute(study, args)

    def html() -> str:
        from trialviz.report.tables import as_html
        from trialviz.views import REPORTS, render_report

        title = f"{REPORTS[args.name].title} — {study.meta.display_name}"
        return _html_page(title, as_html(render_report(args.name, table, study, title=title)))

    _write(command.tidy(table, study, args), args.format, args.output, html)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trialviz", description="Explore clinical trial results.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="start the dashboard (Voilà) on a study")
    serve.add_argument("study", nargs="?", help="study folder (default: the bundled MSC-SSc study)")
    serve.add_argument("--port", type=int, help="port (default 8866, or a free one)")
    serve.add_argument("--no-browser", action="store_true", help="do not open a browser")
    serve.add_argument("--ip", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.set_defaults(run=cmd_serve)

    validate = commands.add_parser("validate", help="check a study and list every problem")
    validate.add_argument("study", help="study folder or file")
    validate.add_argument("--format", choices=["text", "json"], default="text")
    validate.set_defaults(run=cmd_validate)

    table = commands.add_parser("table", help="print one report table")
    table.add_argument("name", help=f"one of: {', '.join(TABLES)}")
    table.add_argument("--study", help="study folder (default: the bundled MSC-SSc study)")
    table.add_argument("--param", help="endpoint PARAMCD (default: the study's primary endpoint, else an "
                                       "efficacy total, else the first; for km its first time-to-event parameter)")
    table.add_argument("--visit", help="analysis visit, as its AVISIT text")
    table.add_argument("--timepoint", help="endpoint-summary, endpoint-tests, ancova, responders: analysis "
                                           "timepoint, as its ATPT text (default: every timepoint)")
    table.add_argument("--by", help="ADSL column whose groups replace the cohorts (e.g. SEX)")
    table.add_argument("--threshold", type=float,
                       help="responders: improvement threshold (default: the MCID)")
    table.add_argument("--relative", action="store_true", help="responders: threshold in percent of baseline")
    table.add_argument("--better", choices=["lower", "higher"], help="responders: direction of improvement")
    table.add_argument("--covariate", action="append",
                       help="ancova: ADSL covariate (repeatable), e.g. SITEGR1")
    table.add_argument("--format", choices=["csv", "markdown", "html", "xlsx"], default="csv")
    table.add_argument("--output", help="write to this file instead of standard output")
    table.set_defaults(run=cmd_table)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except StudyFileError as exc:
        print(f"trialviz: {exc}", file=sys.stderr)
        return 2
    except (ValidationError, StudyConfigError, AnalysisError, TrialvizError) as exc:
        print(f"trialviz: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
