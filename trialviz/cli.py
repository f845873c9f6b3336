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


def table_names() -> list[str]:
    """The names of ``trialviz table NAME``: the report tables of the registry of views."""
    from trialviz.views import REPORTS

    return list(REPORTS)


def _count(text: str) -> int:
    """A whole number of 0 or more, for argparse."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number of 0 or more, got {text!r}")
    return value


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
APP_MODULES = ("voila", "ipywidgets", "anywidget", "psutil")
"""What ``trialviz serve`` needs beyond the core install: the ``app`` extra."""


def missing_app_modules() -> list[str]:
    """The modules of the ``app`` extra that cannot be imported here."""
    import importlib.util

    def missing(name: str) -> bool:
        try:
            return importlib.util.find_spec(name) is None
        except (ImportError, ValueError):  # a broken or blocked install is as good as none
            return True

    return [name for name in APP_MODULES if missing(name)]


def cmd_serve(args: argparse.Namespace) -> int:
    missing = missing_app_modules()
    if missing:
        print(f"trialviz serve needs the dashboard extra, which is not installed (missing: {', '.join(missing)}). "
              "Install it with: pip install 'trialviz[app]' (or pip install -r requirements.txt in a checkout).",
              file=sys.stderr)
        return 1
    from trialviz.app.serve import serve

    return serve(args.study, port=args.port, open_browser=not args.no_browser, ip=args.ip,
                 kernels_ready=args.kernels_ready)


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
    from trialviz.views import REPORTS

    if args.name not in REPORTS:
        raise AnalysisError(f"Unknown table {args.name!r}; choose one of: {', '.join(REPORTS)}.")
    study = _study(args.study)
    if args.by:
        from trialviz.tables.common import grouped_by

        study = grouped_by(study, args.by)
    view = REPORTS[args.name]
    options = vars(args)
    table = view.table_for(study, options)
    if not len(table) and table.attrs.get("notes"):  # e.g. lab-grade on a study without grades: say so
        print(" ".join(table.attrs["notes"]), file=sys.stderr)

    def html() -> str:
        from trialviz.report.tables import as_html
        from trialviz.views import render_report

        title = f"{view.title} — {study.meta.display_name}"
        return _html_page(title, as_html(render_report(args.name, table, study, title=title)))

    _write(view.tidy_for(table, study, options), args.format, args.output, html)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trialviz", description="Explore clinical trial results.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="start the dashboard (Voilà) on a study")
    serve.add_argument("study", nargs="?", help="study folder (default: the bundled MSC-SSc study)")
    serve.add_argument("--port", type=int, help="port (default 8866, or a free one)")
    serve.add_argument("--no-browser", action="store_true", help="do not open a browser")
    serve.add_argument("--ip", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--kernels-ready", type=_count, metavar="N",
                       help="kernels kept started with the dashboard built, so that the next N pages open at "
                            "once (default 2; 0: each page starts its own)")
    serve.set_defaults(run=cmd_serve)

    validate = commands.add_parser("validate", help="check a study and list every problem")
    validate.add_argument("study", help="study folder or file")
    validate.add_argument("--format", choices=["text", "json"], default="text")
    validate.set_defaults(run=cmd_validate)

    table = commands.add_parser("table", help="print one report table")
    table.add_argument("name", help=f"one of: {', '.join(table_names())}")
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
    table.add_argument("--percent", type=float, default=20,
                       help="revised-criss: relative improvement (%%) of the core items other than FVC (default 20)")
    table.add_argument("--covariate", action="append",
                       help="ancova: ADSL covariate (repeatable), e.g. SITEGR1")
    table.add_argument("--listing", action="store_true",
                       help="hys-law: list the potential Hy's law cases instead of the quadrant counts")
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
