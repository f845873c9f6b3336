"""The command line: exit codes, tidy CSV, and precise validation output."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout

import pandas as pd

from trialviz.cli import main


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def test_table_ae_overview_csv_is_long_and_tidy(bundled):
    code, out, _ = run("table", "ae-overview")
    assert code == 0
    table = pd.read_csv(io.StringIO(out))
    assert list(table.columns) == ["cohort", "category", "subjects", "denominator", "percent", "events"]
    serious = table[(table["category"] == "serious") & (table["cohort"] == "Total")].iloc[0]
    assert (serious["subjects"], serious["denominator"], serious["percent"], serious["events"]) == (14, 20, 70.0, 36)


def test_table_endpoint_summary_with_visit(bundled):
    code, out, _ = run("table", "endpoint-summary", "--param", "MRSS", "--visit", "Month 6")
    table = pd.read_csv(io.StringIO(out))
    assert code == 0 and set(table["visit"]) == {"Month 6"}
    assert list(table.columns) == ["cohort", "param", "visit", "measure", "statistic", "value"]
    n = table[(table["cohort"] == "Total") & (table["measure"] == "value") & (table["statistic"] == "n")]
    assert n["value"].iloc[0] == 20


def test_bad_table_name_visit_and_param_exit_1():
    assert run("table", "nope")[0] == 1
    code, _, err = run("table", "endpoint-summary", "--param", "MRSS", "--visit", "Month 99")
    assert code == 1 and "Unknown visit 'Month 99'" in err
    code, _, err = run("table", "endpoint-summary", "--param", "XYZ")
    assert code == 1 and "Unknown endpoint 'XYZ'" in err


def test_validate_exit_codes_and_json(bundled_copy):
    assert run("validate", str(bundled_copy))[0] == 0
    adae = bundled_copy / "adae.csv"
    frame = pd.read_csv(adae, dtype=str, keep_default_na=False)
    frame.loc[0, "USUBJID"] = "GHOST"
    frame.to_csv(adae, index=False)
    code, out, _ = run("validate", str(bundled_copy), "--format", "json")
    assert code == 1
    [problem] = json.loads(out)
    assert problem == {"severity": "error", "dataset": "ADAE", "file": "adae.csv", "column": "USUBJID",
                       "rows": [1], "count": 1, "values": ["GHOST"], "message": problem["message"]}
    code, out, _ = run("validate", str(bundled_copy))
    assert code == 1 and "adae.csv, column USUBJID, record 1" in out and "1 error(s)" in out
    assert run("validate", "/no/such/study")[0] == 2


def test_python_dash_m_runs_the_cli():
    result = subprocess.run([sys.executable, "-m", "trialviz", "table", "ae-overview", "--format", "markdown"],
                            capture_output=True, text=True, check=True)
    assert "| cohort" in result.stdout and "MSC 3×10⁶/kg" in result.stdout
