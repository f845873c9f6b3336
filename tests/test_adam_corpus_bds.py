"""BDS conventions of real ADaM deliveries (issue 16), one small generated study each (``tests/adam_corpus``):
timepoints, derived records, baseline without the analysis flag, unscheduled and derived visits, two
records left in a cell, character results. The expected numbers come from the corpus module (plain pandas
on the written data), never from trialviz."""

from __future__ import annotations

import pytest

import trialviz
from tests.adam_corpus import (
    bds_baseline,
    bds_character,
    bds_derived,
    bds_duplicates,
    bds_timepoints,
    bds_visits,
)
from trialviz.errors import AnalysisError, ValidationError
from trialviz.figures import category_figure, trajectory_figure, waterfall_figure
from trialviz.filters import baseline_values


def _load(module, tmp_path):
    expected = module.build(tmp_path / module.__name__.rsplit(".", 1)[-1])
    return trialviz.load_study(tmp_path / module.__name__.rsplit(".", 1)[-1]), expected


def _row(table, **keys):
    rows = table
    for key, value in keys.items():
        rows = rows[rows[key] == value]
    assert len(rows) == 1, (keys, rows)
    return rows.iloc[0]


# --- timepoints -------------------------------------------------------------------------------------------------
def test_timepoints_are_summarised_apart_one_value_per_patient(tmp_path):
    study, expected = _load(bds_timepoints, tmp_path)
    assert study.timepoints("SYSBP") == expected["timepoints"]
    table = trialviz.endpoint_summary(study, "SYSBP", total=False)
    assert list(table.columns[:7]) == ["param", "measure", "cohort", "visit", "timepoint", "dtype", "visitn"]
    change = table[table["measure"] == "change"]
    for (arm, visit, timepoint), n in expected["n"].items():
        row = _row(change, cohort=arm, visit=visit, timepoint=timepoint)
        assert row["n"] == n
        assert row["mean"] == pytest.approx(expected["mean_change"][(arm, visit, timepoint)])
    # n is patients everywhere: never more than the cohort has
    sizes = study.subjects["TRT01P"].value_counts()
    assert (table["n"] <= table["cohort"].map(sizes)).all()
    # the timepoints of one visit in ATPTN order
    week4 = change[(change["cohort"] == "Placebo") & (change["visit"] == "Week 4")]
    assert week4["timepoint"].tolist() == expected["timepoints"]
    # the baseline a filter uses is the first timepoint's, not whichever record comes first in the file
    assert baseline_values(study, "SYSBP").to_dict() == expected["first_baseline"]


def test_one_timepoint_selected_and_unknown_timepoint_listed(tmp_path):
    study, expected = _load(bds_timepoints, tmp_path)
    subject, visit, lying = expected["missing"]
    table = trialviz.endpoint_summary(study, "SYSBP", timepoint=lying, total=False)
    assert set(table["timepoint"]) == {lying}
    arm = study.subjects.set_index("USUBJID").at[subject, "TRT01P"]
    assert _row(table, measure="change", cohort=arm, visit=visit)["n"] == expected["n"][(arm, visit, lying)]
    with pytest.raises(AnalysisError, match="AFTER STANDING FOR 1 MINUTE"):
        trialviz.endpoint_summary(study, "SYSBP", timepoint="SITTING")
    for function in (trialviz.endpoint_tests, trialviz.responders):
        with pytest.raises(AnalysisError, match="Unknown timepoint"):
            function(study, "SYSBP", timepoint="SITTING", **({"threshold": 5, "better": "lower"}
                                                             if function is trialviz.responders else {}))


def test_tests_ancova_responders_are_keyed_by_timepoint(tmp_path):
    study, expected = _load(bds_timepoints, tmp_path)
    tests = trialviz.endpoint_tests(study, "SYSBP", visit="Week 4")
    assert list(tests.columns[:5]) == ["param", "measure", "visit", "timepoint", "visitn"]
    assert set(tests["timepoint"]) == set(expected["timepoints"])
    paired = tests[tests["test"].str.startswith("Paired")]
    for row in paired.itertuples():
        assert row.n == expected["n"][(row.cohort, "Week 4", row.timepoint)]
    fit = trialviz.ancova(study, "SYSBP", "Week 4")
    assert list(fit.columns[:5]) == ["param", "measure", "visit", "timepoint", "term"]
    means = fit[fit["term"] == "ls_mean"]
    assert len(means) == 2 * len(expected["timepoints"])
    for row in means.itertuples():
        assert row.n == expected["n"][(row.cohort, "Week 4", row.timepoint)]
    table = trialviz.responders(study, "SYSBP", threshold=5, better="lower", visit="Week 4", total=False)
    assert list(table.columns[:3]) == ["param", "visit", "timepoint"]
    for row in table.itertuples():
        assert row.denominator == expected["n"][(row.cohort, "Week 4", row.timepoint)]


def test_figures_show_one_timepoint_named_in_the_title(tmp_path):
    study, expected = _load(bds_timepoints, tmp_path)
    first = expected["timepoints"][0]
    fig = waterfall_figure(study, "SYSBP", "Week 4")
    assert fig.layout.meta["timepoint"] == first and first.lower() in fig.layout.title.text
    n = sum(v for (arm, visit, tp), v in expected["n"].items() if visit == "Week 4" and tp == first)
    assert fig.layout.meta["patients"] == n
    standing = expected["timepoints"][2]
    fig = trajectory_figure(study, "SYSBP", measure="change", timepoint=standing)
    assert standing.lower() in fig.layout.title.text
    placebo = next(t for t in fig.data if t.name.startswith("Placebo · mean"))
    assert placebo.y[-1] == pytest.approx(expected["mean_change"][("Placebo", "Week 4", standing)])


# --- derived records --------------------------------------------------------------------------------------------
def test_average_records_are_their_own_rows_and_locf_is_the_flagged_value(tmp_path):
    study, expected = _load(bds_derived, tmp_path)
    records = trialviz.analysis_records(study, "DBP")
    assert set(records["dtype"]) == {"", "AVERAGE"}
    assert (records.loc[records["dtype"] == "AVERAGE", "ATPT"] == "").all()
    table = trialviz.endpoint_summary(study, "DBP", total=False)
    change = table[(table["measure"] == "change") & (table["visit"] == "Week 4")]
    for (arm, timepoint), numbers in expected["dbp_observed"].items():
        row = _row(change, cohort=arm, timepoint=timepoint, dtype="")
        assert (row["n"], row["mean"]) == (numbers["count"], pytest.approx(numbers["mean"]))
    for arm, numbers in expected["dbp_average"].items():
        row = _row(change, cohort=arm, dtype="AVERAGE")
        assert (row["n"], row["mean"]) == (numbers["count"], pytest.approx(numbers["mean"]))
    # the observed rows of a visit come before its derived one
    placebo = change[change["cohort"] == "Placebo"]
    assert placebo["dtype"].tolist() == ["", "", "AVERAGE"]

    score = trialviz.analysis_records(study, "SCORE")
    week8 = score[score["AVISIT"] == "Week 8"]
    assert set(week8["dtype"]) == {""} and week8["USUBJID"].nunique() == len(week8)
    assert sorted(week8.loc[week8["DTYPE"] == "LOCF", "USUBJID"]) == expected["locf_subjects"]
    summary = trialviz.endpoint_summary(study, "SCORE", total=False)
    for arm, numbers in expected["score_week8"].items():
        row = _row(summary, measure="value", cohort=arm, visit="Week 8")
        assert (row["n"], row["mean"]) == (numbers["count"], pytest.approx(numbers["mean"]))


# --- baseline without the analysis flag -------------------------------------------------------------------------
def test_baseline_comes_from_ablfl_without_anl01fl(tmp_path):
    study, expected = _load(bds_baseline, tmp_path)
    table = trialviz.endpoint_summary(study, "FEV1", total=False)
    assert table.drop_duplicates("visit")["visit"].tolist() == expected["visits"]
    for arm, numbers in expected["baseline"].items():
        row = _row(table, measure="value", cohort=arm, visit="Baseline")
        assert (row["n"], row["mean"]) == (numbers["count"], pytest.approx(numbers["mean"]))
    for arm, numbers in expected["week4_change"].items():
        row = _row(table, measure="change", cohort=arm, visit="Week 4")
        assert (row["n"], row["mean"]) == (numbers["count"], pytest.approx(numbers["mean"]))
    assert baseline_values(study, "FEV1").to_dict() == pytest.approx(expected["baseline_values"])
    kept = trialviz.filter_study(study, baseline=("FEV1", 0, 2.25))
    assert kept.n_subjects == sum(v <= 2.25 for v in expected["baseline_values"].values())


def test_primary_endpoint_visit_unit_and_dataset_from_the_study_file_and_data(tmp_path):
    study, expected = _load(bds_baseline, tmp_path)
    assert study.default_endpoint() == expected["default_endpoint"]  # primary, before the ADRS "...TOT"
    assert study.default_visit("FEV1") == expected["default_visit"]
    fev1, fvc = study.endpoint("FEV1"), study.endpoint("FVCTOT")
    assert (fev1.primary, fev1.analysis, fev1.dataset, fev1.unit) == (True, "efficacy", "ADRS", "L")
    assert (fvc.primary, fvc.dataset, fvc.unit, fvc.name) == (False, "ADRS", "L", "FVCTOT")


# --- unscheduled and derived visits -----------------------------------------------------------------------------
def test_unscheduled_and_derived_visits_are_off_the_visit_axis(tmp_path):
    study, expected = _load(bds_visits, tmp_path)
    assert study.visits("ALT") == expected["scheduled"]
    kinds = study.visit_kinds("ALT").set_index("visit")["kind"].to_dict()
    assert {v for v, k in kinds.items() if k == "derived"} == set(expected["derived"])
    assert {v for v, k in kinds.items() if k == "unscheduled"} == set(expected["unscheduled"])
    assert study.default_visit("ALT") == expected["last_scheduled"]
    table = trialviz.endpoint_summary(study, "ALT", total=False)
    assert table.drop_duplicates("visit")["visit"].tolist() == expected["summary_visits"]
    for arm, numbers in expected["eot_change"].items():
        row = _row(table, measure="change", cohort=arm, visit="End of Treatment")
        assert (row["n"], row["mean"]) == (numbers["count"], pytest.approx(numbers["mean"]))
    for arm, numbers in expected["maximum"].items():
        row = _row(table, measure="value", cohort=arm, visit="POST-BASELINE MAXIMUM")
        assert (row["n"], row["mean"]) == (numbers["count"], pytest.approx(numbers["mean"]))
    notes = " ".join(table.attrs["notes"])
    assert f"{expected['unscheduled_records']} record(s) at unscheduled visits" in notes
    assert f"{expected['no_visit_records']} record(s) without a visit" in notes
    assert "End of Treatment" in notes
    fig = trajectory_figure(study, "ALT")
    assert fig.layout.meta["visits"] == expected["scheduled"]
    tests = trialviz.endpoint_tests(study, "ALT")
    assert "Unscheduled 4.1" not in set(tests["visit"])
    assert trialviz.ancova(study, "ALT")["visit"].iloc[0] == expected["last_scheduled"]


# --- two records in a cell --------------------------------------------------------------------------------------
def test_two_records_left_in_a_cell_are_a_validation_error_naming_them(tmp_path):
    expected = bds_duplicates.build(tmp_path / "dup")
    with pytest.raises(ValidationError) as caught:
        trialviz.load_study(tmp_path / "dup")
    [problem] = [p for p in caught.value.problems if p.message.startswith("Duplicated analysis records")]
    assert problem.file == expected["file"] and problem.rows == expected["rows"]
    assert "USUBJID" in problem.column and "ATPT" in problem.column
    assert all(value.startswith(expected["key"]) for value in problem.values)


# --- character results ------------------------------------------------------------------------------------------
def test_character_parameter_is_counted_by_category(tmp_path):
    study, expected = _load(bds_character, tmp_path)
    param = expected["param"]
    assert study.endpoint(param).kind == "character" and study.endpoint("SUMDIAM").kind == "numeric"
    assert not [w for w in study.warnings if "Every AVAL" in w.message]
    table = trialviz.category_summary(study, param, total=False)
    assert list(table.columns) == ["cohort", "param", "visit", "timepoint", "category", "subjects", "denominator",
                                   "percent"]
    assert set(table["category"]) == set(expected["categories"])
    for row in table.itertuples():
        assert row.subjects == expected["counts"].get((row.cohort, row.visit, row.category), 0)
        assert row.denominator == expected["denominators"][(row.cohort, row.visit)]
        assert row.percent == pytest.approx(100 * row.subjects / row.denominator)
    fig = category_figure(study, param)
    assert {t.name for t in fig.data} == set(expected["categories"]) and fig.layout.barmode == "stack"
