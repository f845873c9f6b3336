"""The command line: exit codes, tidy CSV, and precise validation output."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout

import pandas as pd
import pytest

from tests.conftest import PILOT_DIR
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
    assert list(table.columns) == ["cohort", "param", "visit", "timepoint", "dtype", "measure", "statistic", "value",
                                   "test"]
    n = table[(table["cohort"] == "Total") & (table["measure"] == "value") & (table["statistic"] == "n")]
    assert n["value"].iloc[0] == 20
    p_rows = table[table["statistic"] == "p_value"]
    assert (len(p_rows) and p_rows["test"].notna().all()
            and table.loc[table["statistic"] != "p_value", "test"].isna().all())
    assert set(p_rows["measure"]) == {"change", "percent change"}
    assert "Wilcoxon signed-rank test (change ≠ 0)" in set(p_rows["test"])


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


PILOT = str(PILOT_DIR)
COUNT_KEYS = {"populations": ["population", "category"], "ae-overview": ["category"], "ae-soc-pt": ["soc", "pt"],
              "ae-grade": ["grade"], "ae-period": ["period", "category"],
              "responders": ["param", "visit", "timepoint", "threshold"]}
COUNT_VALUES = ["subjects", "denominator", "percent", "events", "ci_low", "ci_high", "p_value", "test"]


def _csv(*args: str) -> pd.DataFrame:
    code, out, err = run("table", *args)
    assert code == 0, err
    return pd.read_csv(io.StringIO(out), keep_default_na=False, na_values=[""])


def test_every_counting_table_is_long_and_tidy_on_both_studies():
    for study in ([], ["--study", PILOT]):
        for name, keys in COUNT_KEYS.items():
            extra = (["--param", "ACTOT", "--better", "lower", "--threshold", "4"]
                     if study and name == "responders" else [])
            table = _csv(name, *study, *extra)
            assert list(table.columns[:1 + len(keys)]) == ["cohort", *keys], name
            assert set(table.columns[1 + len(keys):]) <= set(COUNT_VALUES), name
            assert "Total" in set(table["cohort"]) and (table["percent"].dropna().between(0, 100)).all(), name


def test_ae_soc_pt_csv_rows_and_published_pilot_numbers():
    table = _csv("ae-soc-pt", "--study", PILOT)
    first = table[table["soc"].isna() & table["pt"].isna()].set_index("cohort")
    assert first.loc["Placebo", ["subjects", "denominator", "events"]].tolist() == [65, 86, 281]
    assert round(first.loc["Placebo", "percent"], 1) == 75.6
    soc_rows = table[table["soc"].notna() & table["pt"].isna()]
    assert len(soc_rows) == 23 * 4  # 23 classes × (3 arms + Total)
    tested = table[table["p_value"].notna()]
    assert set(tested["test"]) == {"Fisher's exact test (two-sided) vs Placebo"}


def test_baseline_and_km_csv():
    baseline = _csv("baseline", "--study", PILOT)
    assert list(baseline.columns) == ["cohort", "variable", "category", "statistic", "value"]
    age = baseline[(baseline["variable"] == "AGE") & (baseline["statistic"] == "mean")].set_index("cohort")["value"]
    assert round(age["Placebo"], 2) == 75.21
    assert set(baseline["statistic"]) == {"n", "mean", "sd", "median", "q1", "q3", "min", "max", "count", "percent"}
    km = _csv("km", "--study", PILOT)
    assert list(km.columns) == ["cohort", "param", "time", "at_risk", "events", "censored", "survival", "ci_low",
                                "ci_high", "statistic", "value", "test"]
    assert km.loc[km["time"] == 0, "at_risk"].tolist() == [86, 84, 84]
    medians = km[km["statistic"] == "median"]
    assert medians["cohort"].tolist() == ["Placebo", "Xanomeline Low Dose", "Xanomeline High Dose"]
    assert km.loc[km["statistic"] == "p_value", "test"].str.startswith("Log-rank").all()


def test_ancova_endpoint_tests_and_primary_endpoint_csv():
    fit = _csv("ancova", "--study", PILOT, "--param", "ACTOT", "--visit", "Week 24", "--covariate", "SITEGR1")
    high = fit[(fit["term"] == "difference") & (fit["cohort"] == "Xanomeline High Dose")
               & (fit["reference"] == "Placebo")].iloc[0]
    assert (round(high["estimate"], 1), round(high["se"], 2), round(high["p_value"], 3)) == (-1.0, 0.84, 0.233)
    tests = _csv("endpoint-tests", "--param", "MRSS", "--visit", "Month 6")
    assert set(tests["visit"]) == {"Month 6"} and tests["test"].notna().all()
    primary = _csv("primary-endpoint")
    total = primary[(primary["cohort"] == "Total") & (primary["period"] == "window")
                    & (primary["category"] == "severe")].iloc[0]
    assert (total["subjects"], total["denominator"], round(total["ci_high"], 1)) == (0, 20, 16.8)
    code, _, err = run("table", "primary-endpoint", "--study", PILOT)
    assert code == 1 and "no primary-endpoint window" in err


def test_by_column_regroups_the_table():
    table = _csv("ae-overview", "--by", "SEX")
    assert set(table["cohort"]) == {"F", "M", "Total"}
    assert table.loc[(table["cohort"] == "F") & (table["category"] == "any"), "denominator"].item() == 13
    code, _, err = run("table", "ae-overview", "--by", "NOPE")
    assert code == 1 and "Unknown column 'NOPE' to group by" in err


def test_html_is_the_formatted_report_and_xlsx_the_tidy_table(tmp_path):
    code, out, _ = run("table", "ae-soc-pt", "--format", "html")
    assert code == 0 and out.startswith("<!doctype html>") and "N = 10" in out and "p: MSC 3×10⁶/kg" in out
    target = tmp_path / "soc.xlsx"
    assert run("table", "ae-soc-pt", "--format", "xlsx", "--output", str(target))[0] == 0
    sheet = pd.read_excel(target)
    assert list(sheet.columns[:3]) == ["cohort", "soc", "pt"] and len(sheet) == len(_csv("ae-soc-pt"))
    assert run("table", "km", "--format", "xlsx")[0] == 1  # xlsx needs --output


def test_bad_parameters_of_the_new_tables_exit_1():
    code, _, err = run("table", "km", "--param", "NOPE")
    assert code == 1 and "Unknown time-to-event parameter 'NOPE'" in err and "TTSAE" in err
    code, _, err = run("table", "responders", "--param", "MRSS", "--visit", "Month 99")
    assert code == 1 and "Unknown visit 'Month 99'" in err
    code, _, err = run("table", "responders", "--study", PILOT, "--param", "ACTOT")
    assert code == 1 and "--better" in err
    code, _, err = run("table", "ancova", "--covariate", "NOPE")
    assert code == 1 and "Unknown covariate 'NOPE'" in err


def test_xlsx_cells_cannot_run_as_formulas(tmp_path):
    from trialviz.cli import _write

    target = tmp_path / "t.xlsx"
    _write(pd.DataFrame({"pt": ["=HYPERLINK(\"x\")", "Nausea"], "subjects": [1, 2]}), "xlsx", str(target))
    sheet = pd.read_excel(target)
    assert sheet["pt"].tolist() == ["'=HYPERLINK(\"x\")", "Nausea"] and sheet["subjects"].tolist() == [1, 2]


def test_kernels_ready_becomes_voilas_pool_options():
    """``--kernels-ready`` (its effect on a running server: ``tests/browser/test_failures.py``)."""
    from trialviz.app.serve import pool_options
    from trialviz.cli import build_parser

    assert pool_options(None) == []  # voila.json's pool of 2
    assert pool_options(0) == ["--VoilaConfiguration.preheat_kernel=False"]
    assert pool_options(3) == ["--VoilaConfiguration.default_pool_size=3"]
    assert build_parser().parse_args(["serve", "--kernels-ready", "3"]).kernels_ready == 3
    for wrong in ("-1", "two"):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["serve", "--kernels-ready", wrong])
