"""The ``trialviz`` command line: ``serve``, ``validate`` and ``table``.

Exit codes: 0 success (``validate``: no errors, warnings printed), 1 errors in the study or a bad
argument (with a message), 2 a path that cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
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


def _tidy_endpoint_summary(table: pd.DataFrame) -> pd.DataFrame:
    from trialviz.tables.endpoints import STATISTICS

    long = table.melt(id_vars=["cohort", "param", "visit", "measure"], value_vars=list(STATISTICS),
                      var_name="statistic", value_name="value")
    ranks = {
        "_measure": {m: i for i, m in enumerate(dict.fromkeys(table["measure"]))},
        "_cohort": {c: i for i, c in enumerate(dict.fromkeys(table["cohort"]))},
        "_visit": dict(zip(table["visit"], table["visitn"], strict=False)),
        "_stat": {s: i for i, s in enumerate(STATISTICS)},
    }
    for rank, source in zip(ranks, ["measure", "cohort", "visit", "statistic"], strict=True):
        long[rank] = long[source].map(ranks[rank])
    long = long.sort_values(list(ranks), kind="stable")
    return long.drop(columns=list(ranks)).reset_index(drop=True)


def _first_endpoint(study: Study) -> str:
    if not study.endpoints:
        raise AnalysisError("This study has no endpoint measurements (no BDS dataset).")
    return study.endpoints[0].paramcd


def _table_ae_overview(study: Study, args: argparse.Namespace) -> pd.DataFrame:
    from trialviz.tables import ae_overview

    return _tidy_counts(ae_overview(study), ["category"])


def _table_ae_period(study: Study, args: argparse.Namespace) -> pd.DataFrame:
    from trialviz.tables import ae_period

    return _tidy_counts(ae_period(study), ["period", "category"])


def _table_endpoint_summary(study: Study, args: argparse.Namespace) -> pd.DataFrame:
    from trialviz.tables import endpoint_summary

    param = args.param or _first_endpoint(study)
    table = endpoint_summary(study, param, measures=("value", "change", "percent change"))
    if args.visit is not None:
        if args.visit not in set(table["visit"]):
            raise AnalysisError(f"Unknown visit {args.visit!r} for {param}; visits: {', '.join(study.visits(param))}.")
        table = table[table["visit"] == args.visit]
    return _tidy_endpoint_summary(table)


TABLES: dict[str, Callable[[Study, argparse.Namespace], pd.DataFrame]] = {
    "endpoint-summary": _table_endpoint_summary,
    "ae-overview": _table_ae_overview,
    "ae-period": _table_ae_period,
}


def _write(table: pd.DataFrame, fmt: str, output: str | None) -> None:
    if fmt == "csv":
        text = table.to_csv(index=False, lineterminator="\n")
    elif fmt == "markdown":
        text = table.to_markdown(index=False) + "\n"
    elif fmt == "html":
        text = table.to_html(index=False, na_rep="")
    elif fmt == "xlsx":
        if not output:
            raise AnalysisError("--format xlsx needs --output FILE.")
        table.to_excel(output, index=False)
        return
    else:  # pragma: no cover - argparse restricts the choices
        raise AnalysisError(f"Unknown format {fmt!r}.")
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


# --- commands ---------------------------------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace) -> int:
    from trialviz.app.serve import serve

    return serve(args.study, port=args.port, open_browser=not args.no_browser, ip=args.ip)


def cmd_validate(args: argparse.Namespace) -> int:
    from trialviz.io import load_study

    try:
        study = load_study(Path(args.study))
        problems = list(study.warnings)
        code = 0
    except ValidationError as exc:
        problems = list(exc.problems)
        code = 1
    if args.format == "json":
        print(json.dumps([p.to_dict() for p in problems], indent=2, ensure_ascii=False))
    else:
        errors = sum(p.severity == "error" for p in problems)
        warnings = len(problems) - errors
        for problem in problems:
            print(problem)
        verdict = "cannot be loaded" if errors else "loads"
        print(f"{args.study}: {errors} error(s), {warnings} warning(s); the study {verdict}.")
    return code


def cmd_table(args: argparse.Namespace) -> int:
    if args.name not in TABLES:
        raise AnalysisError(f"Unknown table {args.name!r}; choose one of: {', '.join(TABLES)}.")
    study = _study(args.study)
    _write(TABLES[args.name](study, args), args.format, args.output)
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
    table.add_argument("--param", help="endpoint PARAMCD (default: the study's first)")
    table.add_argument("--visit", help="analysis visit, as its AVISIT text")
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
