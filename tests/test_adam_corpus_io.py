"""Issue 16 (items 5, 6, 7, 10): ADaM conventions of real exports, one generated study per convention.

Each study of :mod:`tests.adam_corpus` (``io_*``) is written as its exporter writes it (R's ``write.csv``,
SAS's PROC EXPORT) and returns the numbers it must give.
"""

from __future__ import annotations

import io
import math
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pandas as pd
import pytest

import trialviz
from tests.adam_corpus import (
    io_admiral,
    io_conditional,
    io_r_markers,
    io_sas_markers,
    io_screen_failures,
    io_tte_params,
)
from trialviz.cli import main
from trialviz.errors import AnalysisError, ValidationError
from trialviz.figures import km_figure
from trialviz.filters import SubjectFilter
from trialviz.io.config import parse_study_config
from trialviz.study import Endpoint
from trialviz.tables.common import conventions_of


def validate(folder: Path) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["validate", str(folder)])
    return code, out.getvalue() + err.getvalue()


def _by_cohort(table: pd.DataFrame, column: str) -> dict:
    return dict(zip(table["cohort"], table[column], strict=True))


# --- item 5: missing-value markers ------------------------------------------------------------------------------
def test_r_export_quoted_na_is_a_value_and_bare_na_is_missing(tmp_path):
    expected = io_r_markers.build(tmp_path / "study")
    study = trialviz.load_study(tmp_path / "study")
    assert study.warnings == ()
    region = study.subjects["REGION1"]
    assert region.value_counts().to_dict() == expected["region"]
    assert int(region.isna().sum()) == expected["region_missing"]
    # North America is a filter category like any other
    assert SubjectFilter(where={"REGION1": ("NA",)}).apply(study).n_subjects == expected["region"]["NA"]
    assert int(pd.to_numeric(study.subjects["AGE"]).isna().sum()) == expected["age_missing"]
    # a missing number is missing, not text: the summary counts the values there are
    summary = trialviz.endpoint_summary(study, "SYSBP", measures=["value"])
    week2 = summary[summary["visit"] == "Week 2"]
    assert {k: v for k, v in _by_cohort(week2, "n").items() if k != "Total"} == expected["aval_n_week2"]
    assert len(study.adverse_events) == expected["adverse_events"]
    assert study.adverse_events["AEREL"].isna().sum() == 1  # causality not assessed: missing, not a term
    assert validate(tmp_path / "study")[0] == 0


def test_sas_export_dot_is_a_missing_number_and_a_missing_visit(tmp_path):
    expected = io_sas_markers.build(tmp_path / "study")
    study = trialviz.load_study(tmp_path / "study")
    assert study.warnings == ()
    summary = trialviz.endpoint_summary(study, "SCORE", measures=["value"])
    week4 = summary[(summary["visit"] == "Week 4") & (summary["cohort"] != "Total")]
    assert _by_cohort(week4, "n") == expected["week4_n"]
    for cohort, mean in _by_cohort(week4, "mean").items():
        assert math.isclose(mean, expected["week4_mean"][cohort])
    assert int(study.measurements["AVISIT"].isna().sum()) == expected["unscheduled_records"]
    assert study.visits("SCORE") == ["Baseline", "Week 4"]
    assert int(pd.to_numeric(study.subjects["AGE"]).isna().sum()) == expected["age_missing"]
    assert validate(tmp_path / "study")[0] == 0


def test_a_declared_marker_is_missing_and_undeclared_it_is_an_error(tmp_path):
    expected = io_sas_markers.build(tmp_path / "study", declared=True)
    study = trialviz.load_study(tmp_path / "study")
    assert study.warnings == ()
    assert study.conventions.missing_values == ("NA", ".", "N/A")
    records = study.measurements
    assert int(records["BASE"].isna().sum() + records["AVAL"].isna().sum()) == 1 + expected["na_markers"]
    (tmp_path / "study" / "study.toml").unlink()
    with pytest.raises(ValidationError) as info:
        trialviz.load_study(tmp_path / "study")
    assert {(p.column, p.values) for p in info.value.errors} == {("AVAL", ("N/A",)), ("BASE", ("N/A",))}


def test_missing_values_must_be_a_list_of_texts():
    with pytest.raises(trialviz.errors.StudyConfigError, match="missing_values must be a list"):
        parse_study_config({"conventions": {"missing_values": "NA"}})


# --- item 6: conditional columns --------------------------------------------------------------------------------
def test_bds_without_visits_loads_and_only_the_by_visit_analyses_say_so(tmp_path):
    expected = io_conditional.build(tmp_path / "study")
    study = trialviz.load_study(tmp_path / "study")
    assert study.n_subjects == expected["subjects"]
    [warning] = study.warnings
    assert (warning.file, warning.column, warning.values) == ("adrs.csv", "AVISIT, AVISITN", ("BOR",))
    assert "by-visit analyses" in warning.message
    summary = trialviz.endpoint_summary(study, "WEIGHT", measures=["value"])
    week4 = summary[(summary["visit"] == "Week 4") & (summary["cohort"] != "Total")]
    assert _by_cohort(week4, "mean") == expected["weight_week4_mean"]
    for param in ("BOR", "OVRLRESP"):  # no visit column at all; a visit column blank on every record
        with pytest.raises(AnalysisError, match=f"{param} has no analysis visit"):
            trialviz.endpoint_summary(study, param)
    assert study.visits("BOR") == []
    assert trialviz.baseline_table(study) is not None
    assert validate(tmp_path / "study")[0] == 0


# --- item 7: screen failures ------------------------------------------------------------------------------------
def test_screen_failures_are_screened_never_a_cohort(tmp_path):
    expected = io_screen_failures.build(tmp_path / "study")
    study = trialviz.load_study(tmp_path / "study")
    assert study.cohort_values() == expected["cohorts"]
    assert len(study.screen_failures) == expected["screen_failures"]
    assert study.n_subjects == expected["enrolled"]["Total"]
    table = trialviz.populations(study)
    assert table["population"].iloc[0] == "screened"
    screened = table[table["population"] == "screened"]
    enrolled = table[table["population"] == "enrolled"]
    assert _by_cohort(screened, "subjects")["Total"] == expected["screened"]
    assert _by_cohort(enrolled, "subjects") == expected["enrolled"]
    assert any("Screened" in note for note in conventions_of(table))
    for frame in (table, trialviz.baseline_table(study)):
        assert set(frame["cohort"]) == {*expected["cohorts"], "Total"}
    set_aside = {w.file: w.count for w in study.warnings if "screened but never randomised" in w.message}
    assert set_aside == expected["set_aside"]
    assert len(study.adverse_events) == expected["adverse_events"]
    assert not study.adverse_events["USUBJID"].isin(study.screen_failures["USUBJID"]).any()
    assert "Screen Failure" not in SubjectFilter(cohorts=("Placebo",)).describe(study)
    code, text = validate(tmp_path / "study")
    assert code == 0 and "0 error(s)" in text


def test_screen_failures_are_not_cohort_errors_when_the_study_file_lists_cohorts(tmp_path):
    io_screen_failures.build(tmp_path / "study")
    (tmp_path / "study" / "study.toml").write_text(
        '[[cohorts]]\nvalue = "Placebo"\n\n[[cohorts]]\nvalue = "Drug"\n', encoding="utf-8")
    study = trialviz.load_study(tmp_path / "study")
    assert study.cohort_values() == ["Placebo", "Drug"] and len(study.screen_failures) == 3


def test_randomised_but_not_treated_is_enrolled_and_in_no_safety_column(tmp_path):
    io_screen_failures.build(tmp_path / "study", not_treated=True)
    (tmp_path / "study" / "study.toml").write_text(
        '[[cohorts]]\nvalue = "Placebo"\n\n[[cohorts]]\nvalue = "Drug"\n', encoding="utf-8")
    study = trialviz.load_study(tmp_path / "study")  # "Not Treated" in TRT01A is no cohort error
    assert "S08" in set(study.subjects["USUBJID"]) and study.cohort_values() == ["Placebo", "Drug"]
    enrolled = trialviz.populations(study).query("population == 'enrolled'")
    assert _by_cohort(enrolled, "subjects") == {"Placebo": 4, "Drug": 4, "Total": 8}
    overview = trialviz.ae_overview(study).query("category == 'any'")
    assert _by_cohort(overview, "denominator") == {"Placebo": 4, "Drug": 3, "Total": 7}


# --- item 10: time to event by parameter ------------------------------------------------------------------------
def test_km_per_parameter_with_the_parameters_population(tmp_path):
    expected = io_tte_params.build(tmp_path / "study")
    study = trialviz.load_study(tmp_path / "study")
    assert study.tte_params() == expected["params"]
    assert study.tte_param_label("PFS") == expected["pfs_label"]
    assert study.tte_param_label("OS") == "Overall survival"
    assert study.tte_endpoint("PFS") == Endpoint("PFS", "Progression-free survival", analysis="efficacy",
                                                 primary=True)
    assert [e.paramcd for e in study.endpoints] == []  # an ADTTE parameter is no BDS endpoint

    os_medians = trialviz.km_medians(study, "OS")
    assert _by_cohort(os_medians, "n") == expected["os"]["n"]
    assert _by_cohort(os_medians, "median") == expected["os"]["median"]
    assert conventions_of(os_medians)[0].startswith("Safety population (SAFFL")
    times = list(expected["os"]["drug_survival"])
    km = trialviz.kaplan_meier(study, "OS", times=times)
    drug = km[km["cohort"] == "Drug"].set_index("time")
    assert drug["survival"].round(10).to_dict() == expected["os"]["drug_survival"]
    assert drug["at_risk"].to_dict() == expected["os"]["drug_at_risk"]

    pfs_medians = trialviz.km_medians(study, "PFS")
    assert _by_cohort(pfs_medians, "n") == expected["pfs"]["n"]
    assert _by_cohort(pfs_medians, "median") == expected["pfs"]["median"]
    assert conventions_of(pfs_medians)[0] == 'Efficacy population (EFFFL = "Y"), by planned treatment (TRT01P).'
    times = list(expected["pfs"]["placebo_survival"])
    km = trialviz.kaplan_meier(study, "PFS", times=times)
    placebo = km[km["cohort"] == "Placebo"].set_index("time")
    assert placebo["survival"].round(10).to_dict() == expected["pfs"]["placebo_survival"]
    assert trialviz.logrank(study, "PFS")["param"].unique().tolist() == ["PFS"]
    assert conventions_of(trialviz.logrank(study, "PFS"))[0].startswith("Efficacy population")

    figure = km_figure(study, param="PFS")
    assert figure.layout.meta["param"] == "PFS"
    assert "Progression-free survival" in figure.layout.title.text and "Efficacy population" in \
        figure.layout.title.text
    assert km_figure(study).layout.meta["param"] == "OS"


def test_km_table_command_per_parameter_and_unknown_parameter(tmp_path, capsys):
    io_tte_params.build(tmp_path / "study")
    assert main(["table", "km", "--study", str(tmp_path / "study"), "--param", "PFS"]) == 0
    out = capsys.readouterr().out
    medians = pd.read_csv(io.StringIO(out)).query("statistic == 'median'")
    assert dict(zip(medians["cohort"], medians["value"], strict=True)) == {"Placebo": 8.0, "Drug": 20.0}
    assert main(["table", "km", "--study", str(tmp_path / "study"), "--param", "DOR"]) == 1
    assert "Unknown time-to-event parameter 'DOR'; this study's are: OS, PFS." in capsys.readouterr().err


def test_endpoint_keys_analysis_and_primary_are_checked():
    config = parse_study_config({"endpoints": [{"paramcd": "OS", "name": "OS", "analysis": "safety"}]})
    assert config.meta.endpoints[0] == Endpoint("OS", "OS", analysis="safety", primary=False)
    with pytest.raises(trialviz.errors.StudyConfigError, match="`analysis` must be"):
        parse_study_config({"endpoints": [{"paramcd": "OS", "name": "OS", "analysis": "itt"}]})
    with pytest.raises(trialviz.errors.StudyConfigError, match="`primary` must be true or false"):
        parse_study_config({"endpoints": [{"paramcd": "OS", "name": "OS", "primary": "yes"}]})


# --- all at once: an admiral-like R export ----------------------------------------------------------------------
def test_trialviz_validate_accepts_an_admiral_like_r_export(tmp_path):
    expected = io_admiral.build(tmp_path / "study")
    code, text = validate(tmp_path / "study")
    assert code == 0, text
    assert "0 error(s)" in text
    study = trialviz.load_study(tmp_path / "study")
    assert study.n_subjects == expected["subjects"]
    assert len(study.screen_failures) == expected["screen_failures"]
    assert study.tte_params() == expected["tte_params"]
    table = trialviz.populations(study)
    assert table.query("population == 'screened' and cohort == 'Total'")["subjects"].item() == expected["screened"]
    assert set(study.subjects["REGION1"].dropna()) == {"NA", "Europe"}
    # a date column (…DT) is a date; other ISO text (…DTM here) is kept as the file writes it
    assert str(study.subjects["TRTSDT"].dtype) == "datetime64[ns]"
    assert study.subjects["TRTSDTM"].dropna().unique().tolist() == ["2014-01-02T08:30"]
    for param in expected["tte_params"]:
        assert set(trialviz.km_medians(study, param)["cohort"]) == {"Placebo", "Drug"}
