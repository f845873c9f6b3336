"""Lab safety tables (issue 17): every cell of each table recomputed on the CDISC pilot's ADLBC with plain pandas,
and the cases the pilot lacks (signed grades, ONTRTFL, derived records, timepoints, no range) checked on a
generated study against hand-computed numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import trialviz
from tests.adam_corpus import bds_labs
from tests.conftest import PILOT_DIR
from tests.test_cli import run
from trialviz.errors import AnalysisError
from trialviz.figures.labs import hys_law_figure, lab_outlier_figure, patient_labs_figure
from trialviz.tables.labs import (
    hys_law_cases,
    hys_law_patients,
    hys_law_points,
    lab_abnormal_patients,
    lab_grade_patients,
    lab_shift_patients,
)
from trialviz.views import VIEWS


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("labs")
    expected = bds_labs.build(folder)
    return trialviz.load_study(folder), expected, folder


def _cells(table: pd.DataFrame, keys: list[str]) -> dict[tuple, tuple[int, int]]:
    return {tuple(row[k] for k in keys): (int(row["subjects"]), int(row["denominator"]))
            for _, row in table.iterrows()}


# --- the generated study: hand-computed numbers ------------------------------------------------------------------
def test_shift_on_potassium_counts_only_on_treatment_observed_records_after_baseline(corpus):
    study, expected, _ = corpus
    table = trialviz.lab_shift(study, param="K")
    indicators = _cells(table[table["scale"] == "indicator"], ["direction", "baseline", "worst", "cohort"])
    for key, value in expected["shift"].items():
        assert indicators[key] == value, key
    grades = _cells(table[table["scale"] == "grade"], ["direction", "baseline", "worst", "cohort"])
    for key, value in expected["grade_shift"].items():
        assert grades[key] == value, key
    # 3 × 3 indicator cells and 5 × 5 grade cells per direction and cohort (Placebo, Active, Total)
    assert len(table) == (9 + 25) * 2 * 3
    assert set(table["baseline"]) >= {"LOW", "NORMAL", "HIGH"}  # the pilot's L/N/H are written out too


def test_lab_grade_reads_negative_grades_as_the_low_direction(corpus):
    study, expected, _ = corpus
    table = trialviz.lab_grade(study)
    assert set(table["param"]) == {"K"}  # the only graded parameter
    cells = _cells(table, ["direction", "worst", "cohort"])
    for key, value in expected["grades"].items():
        assert cells[key] == value, key


def test_lab_abnormal_among_normal_at_baseline_and_all(corpus):
    study, expected, _ = corpus
    cells = _cells(trialviz.lab_abnormal(study, param="K"), ["direction", "baseline", "cohort"])
    for key, value in expected["abnormal"].items():
        assert cells[key] == value, key


def test_timepoints_are_tables_of_their_own(corpus):
    study, expected, _ = corpus
    table = trialviz.lab_shift(study, param="GLUC")
    assert list(dict.fromkeys(table["timepoint"])) == ["FASTING", "POSTPRANDIAL"]
    cells = _cells(table, ["timepoint", "direction", "baseline", "worst", "cohort"])
    for key, value in expected["glucose"].items():
        assert cells[key] == value, key
    only = trialviz.lab_shift(study, param="GLUC", timepoint="FASTING")
    assert set(only["timepoint"]) == {"FASTING"}
    with pytest.raises(AnalysisError, match="POSTPRANDIAL"):
        trialviz.lab_shift(study, param="GLUC", timepoint="LYING")


def test_parameter_without_normal_range_is_left_out_and_said(corpus):
    study, expected, _ = corpus
    table = trialviz.lab_shift(study)
    assert expected["left_out"] not in set(table["param"])
    assert any(expected["left_out"] in note and "left out" in note for note in table.attrs["notes"])
    # patients per parameter: K 6, GLUC 2 (pairs, not timepoints), ALT 6, AST 5 (not S-005), BILI 6: 25 pairs;
    # without a post-baseline value: K S-004 (off treatment), S-005; ALT S-004, S-005; AST S-004; BILI S-004,
    # S-005 = 7, of which S-005's three have no baseline record
    assert "7 of 25 patient-parameter pairs have no post-baseline value (3 of them no baseline record)." in \
        table.attrs["notes"]


def test_hys_law_quadrants_points_and_cases(corpus):
    study, expected, _ = corpus
    cells = _cells(trialviz.hys_law(study), ["quadrant", "cohort"])
    for key, value in expected["hys"].items():
        assert cells[key] == value, key
    points = hys_law_points(study).set_index("USUBJID")
    for subject, (transaminase, bilirubin) in expected["points"].items():
        assert points.loc[subject, "transaminase"] == pytest.approx(transaminase)
        assert points.loc[subject, "bilirubin"] == pytest.approx(bilirubin)
    assert list(hys_law_cases(study)["USUBJID"]) == expected["cases"]
    assert hys_law_patients(study, quadrant="Potential Hy's law", cohort=None) == expected["cases"]


def test_drill_downs_invert_every_count(corpus):
    study, expected, _ = corpus
    for name, function in (("lab-shift", trialviz.lab_shift), ("lab-grade", trialviz.lab_grade),
                           ("lab-abnormal", trialviz.lab_abnormal)):
        view = VIEWS[name]
        table = function(study)
        for _, row in table.iterrows():
            patients = view.bind().patients(study, row, None if row["cohort"] == "Total" else row["cohort"])
            assert len(patients) == row["subjects"], (name, dict(row))
    table = trialviz.hys_law(study)
    for _, row in table.iterrows():
        assert len(VIEWS["hys-law"].bind().patients(study, row, row["cohort"])) == row["subjects"]
    assert lab_shift_patients(study, param="K", timepoint="", direction="LOW", scale="indicator", baseline="NORMAL",
                              worst="LOW") == expected["patients"][("K", "LOW", "NORMAL", "LOW")]
    assert lab_grade_patients(study, param="K", timepoint="", direction="HIGH", worst="Grade ≥ 3") == ["S-002"]
    assert lab_abnormal_patients(study, param="K", timepoint="", direction="HIGH", baseline="Any",
                                 cohort="Placebo") == ["S-003"]


def test_a_filtered_study_counts_its_own_patients(corpus):
    study, _, _ = corpus
    placebo = trialviz.SubjectFilter(cohorts=("Placebo",)).apply(study)
    cells = _cells(trialviz.hys_law(placebo), ["quadrant", "cohort"])
    assert cells[("Potential Hy's law", "Total")] == (1, 2)  # S-001 of S-001, S-003


def test_unknown_indicator_code_is_an_error_naming_dataset_column_and_subjects(tmp_path):
    bds_labs.build(tmp_path)
    adlb = pd.read_csv(tmp_path / "adlb.csv")
    adlb.loc[adlb["USUBJID"].eq("S-003") & adlb["AVISIT"].eq("Week 2") & adlb["PARAMCD"].eq("K"), "ANRIND"] = "ABN"
    adlb.to_csv(tmp_path / "adlb.csv", index=False)
    with pytest.raises(AnalysisError, match=r"ADLB, column ANRIND: 1 records .*ABN.*S-003"):
        trialviz.lab_shift(trialviz.load_study(tmp_path))


def test_lab_grade_without_grades_says_so(corpus):
    study, _, _ = corpus
    table = trialviz.lab_grade(study, param="GLUC")
    assert table.empty and table.attrs["notes"] == ["GLUC has no toxicity grades (ATOXGR)."]


def test_figures(corpus):
    study, expected, _ = corpus
    fig = hys_law_figure(study)
    xs = sorted(x for trace in fig.data for x in trace.x)
    assert xs == pytest.approx(sorted(t for t, _ in expected["points"].values()))
    outliers = lab_outlier_figure(study, "K")
    # every observed value is drawn, on or off treatment: S-001 3.2 (and 2.4), S-002 5.3 at baseline, S-003 3.3,
    # S-004 2.9 (off treatment), S-005 3.0 (no baseline record), S-006 "L"
    assert outliers.layout.meta["outside"] == ["S-001", "S-002", "S-003", "S-004", "S-005", "S-006"]
    drawn = {(i, y) for trace in outliers.data for i, y in zip(trace.customdata, trace.y, strict=True) if i}
    assert ("S-002", 3.0) not in drawn and ("S-002", 6.5) in drawn  # the derived minimum is not a value
    assert patient_labs_figure(study, "S-001").layout.meta["params"] == ["K", "GLUC", "ALT", "AST", "BILI"]
    assert patient_labs_figure(study, "S-004").layout.meta["params"] == ["K"]  # 2.9, off treatment; liver normal


# --- the CDISC pilot: every cell against plain pandas ------------------------------------------------------------
@pytest.fixture(scope="module")
def pilot():
    return trialviz.load_study(PILOT_DIR)


@pytest.fixture(scope="module")
def pilot_oracle():
    """Worst post-baseline indicator per subject, parameter and direction, from the CSV with plain pandas."""
    lb = pd.read_csv(PILOT_DIR / "adlbc.csv.gz")
    lb = lb[(lb["SAFFL"] == "Y") & lb["A1HI"].notna().groupby(lb["PARAMCD"]).transform("any")]
    lb = lb.assign(AVISIT=lb["AVISIT"].str.strip(), ADT=pd.to_datetime(lb["ADT"]),
                   IND=lb["ANRIND"].map({"L": "LOW", "N": "NORMAL", "H": "HIGH"}),
                   BIND=lb["BNRIND"].map({"L": "LOW", "N": "NORMAL", "H": "HIGH"}))
    base = lb[lb["ABLFL"] == "Y"][["USUBJID", "PARAMCD", "ADT"]].rename(columns={"ADT": "BASEDT"})
    lb = lb.merge(base, on=["USUBJID", "PARAMCD"], how="inner")  # every pilot record has a date
    # post-baseline: after the baseline date, not the derived "End of Treatment" (AVISITN 99) copy
    post = lb[(lb["ADT"] > lb["BASEDT"]) & (lb["AVISIT"] != "End of Treatment") & lb["IND"].notna()]
    worst = {}
    for direction, order in (("LOW", ["LOW", "NORMAL", "HIGH"]), ("HIGH", ["HIGH", "NORMAL", "LOW"])):
        rank = post["IND"].map({v: i for i, v in enumerate(order)})
        w = post.assign(rank=rank).groupby(["USUBJID", "PARAMCD", "TRTA"])["rank"].min().map(dict(enumerate(order)))
        worst[direction] = w
    baseline = lb.groupby(["USUBJID", "PARAMCD"])["BIND"].first()
    return lb, post, worst, baseline


def test_pilot_shift_every_cell(pilot, pilot_oracle):
    _, _, worst, baseline = pilot_oracle
    table = trialviz.lab_shift(pilot)
    assert set(table["scale"]) == {"indicator"}  # the pilot has no grades
    expected = {}
    for direction, w in worst.items():
        frame = w.rename("worst").reset_index()
        frame["baseline"] = [baseline.get((u, p)) for u, p in zip(frame["USUBJID"], frame["PARAMCD"], strict=True)]
        frame = frame[frame["baseline"].notna()]
        for cohort, rows in [*frame.groupby("TRTA"), ("Total", frame)]:
            sizes = rows.groupby("PARAMCD")["USUBJID"].nunique()
            counts = rows.groupby(["PARAMCD", "baseline", "worst"])["USUBJID"].nunique()
            for param in sizes.index:
                for b in ("LOW", "NORMAL", "HIGH"):
                    for v in ("LOW", "NORMAL", "HIGH"):
                        expected[(param, direction, b, v, cohort)] = (int(counts.get((param, b, v), 0)),
                                                                       int(sizes[param]))
    got = _cells(table, ["param", "direction", "baseline", "worst", "cohort"])
    assert got == expected
    assert len(got) == 18 * 2 * 9 * 4  # 18 parameters with a range, 2 directions, 3 × 3 cells, 3 arms and Total


def test_pilot_abnormal_every_cell(pilot, pilot_oracle):
    _, _, worst, baseline = pilot_oracle
    expected = {}
    for direction, w in worst.items():
        frame = w.rename("worst").reset_index()
        frame["baseline"] = [baseline.get((u, p)) for u, p in zip(frame["USUBJID"], frame["PARAMCD"], strict=True)]
        for cohort, rows in [*frame.groupby("TRTA"), ("Total", frame)]:
            for among, chosen in (("NORMAL", rows[rows["baseline"] == "NORMAL"]), ("Any", rows)):
                for param, own in rows.groupby("PARAMCD"):
                    own = chosen[chosen["PARAMCD"] == param]
                    expected[(param, direction, among, cohort)] = (int((own["worst"] == direction).sum()),
                                                                    len(own))
    got = _cells(trialviz.lab_abnormal(pilot), ["param", "direction", "baseline", "cohort"])
    assert got == expected


def test_pilot_hys_law_every_cell_and_the_case(pilot, pilot_oracle):
    _, post, _, _ = pilot_oracle
    liver = post[post["PARAMCD"].isin(["ALT", "AST", "BILI"])]
    peaks = liver.assign(role=np.where(liver["PARAMCD"] == "BILI", "b", "t")).groupby(
        ["USUBJID", "TRTA", "role"])["R2A1HI"].max().unstack().dropna()
    quadrant = np.select([(peaks["t"] >= 3) & (peaks["b"] >= 2), peaks["t"] >= 3, peaks["b"] >= 2],
                         ["Potential Hy's law", "Temple's corollary", "Hyperbilirubinaemia"], "Normal")
    peaks = peaks.assign(quadrant=quadrant).reset_index()
    expected = {}
    for cohort, rows in [*peaks.groupby("TRTA"), ("Total", peaks)]:
        for q in ("Normal", "Hyperbilirubinaemia", "Temple's corollary", "Potential Hy's law"):
            expected[(q, cohort)] = (int((rows["quadrant"] == q).sum()), len(rows))
    assert _cells(trialviz.hys_law(pilot), ["quadrant", "cohort"]) == expected
    assert list(hys_law_cases(pilot)["USUBJID"]) == list(peaks.loc[peaks["quadrant"] == "Potential Hy's law",
                                                                   "USUBJID"])
    assert trialviz.lab_grade(pilot).attrs["notes"] == [
        "This study's lab, vital-sign and ECG data have no toxicity grades (ATOXGR)."]


# --- the command line ----------------------------------------------------------------------------------------------
def test_cli_lab_tables_write_the_issue_columns(corpus):
    _, _, folder = corpus
    for name in ("lab-shift", "lab-grade", "lab-abnormal"):
        code, out, err = run("table", name, "--study", str(folder))
        assert code == 0, err
        header = "cohort,param,timepoint,direction,baseline,worst,subjects,denominator,percent"
        assert out.splitlines()[0] == header
    _, out, _ = run("table", "hys-law", "--study", str(folder))
    assert out.splitlines()[0] == "cohort,quadrant,subjects,denominator,percent"
    assert "Placebo,Potential Hy's law,1,2,50.0" in out
    _, listing, _ = run("table", "hys-law", "--listing", "--study", str(folder))
    assert listing.splitlines()[1].startswith("S-001,Placebo,3.25,1.25,2.25")
    _, shift, _ = run("table", "lab-shift", "--study", str(folder), "--param", "GLUC", "--timepoint", "FASTING")
    assert "Placebo,GLUC,FASTING,HIGH,NORMAL,HIGH,1,1,100.0" in shift


def test_pilot_lab_summary_uses_every_record_not_anl01fl(pilot):
    """The pilot flags few lab records ANL01FL: the Labs tab's summary by visit counts every record."""
    from trialviz.tables.labs import lab_summary

    lb = pd.read_csv(PILOT_DIR / "adlbc.csv.gz")
    lb = lb[(lb["SAFFL"] == "Y") & (lb["PARAMCD"] == "SODIUM")].assign(AVISIT=lambda f: f["AVISIT"].str.strip())
    expected = lb[lb["AVISIT"] != "."].groupby(["TRTA", "AVISIT"])["AVAL"].agg(["count", "mean"])
    table = lab_summary(pilot, "SODIUM").query("measure == 'value' and cohort != 'Total'")
    got = table.set_index(["cohort", "visit"])[["n", "mean"]]
    assert len(got) == len(expected)
    for (cohort, visit), row in expected.iterrows():
        assert got.loc[(cohort, visit), "n"] == row["count"]
        assert got.loc[(cohort, visit), "mean"] == pytest.approx(row["mean"])
