"""The analysis library on the tiny study (tests/tiny.py): values computed by hand, and the same statistics
computed with scipy, statsmodels and lifelines directly.

Tiny study: Low = S1, S2; High = S3, S4, S5 (S5 outside the safety population). Score (lower is better,
MCID 2): baseline 10, 20, 30, 40, 50; week 4: S1 6 (−4), S2 17 (−3), S3 21 (−9), S5 44 (−6), S4 missing.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

import trialviz
from tests.test_tables import _row as _one
from tests.tiny import tiny_study
from trialviz.stats import exact_ci


@pytest.fixture
def tiny(tmp_path):
    return tiny_study(tmp_path / "tiny")


@pytest.fixture
def tiny_tte(tmp_path):
    """The tiny study with an ADTTE: Low S1 10 (event), S2 20 (censored); High S3 5 (event), S4 15 (event);
    S5 (not in the safety population) 7 (event)."""
    study = tiny_study(tmp_path / "tte")
    pd.DataFrame({"USUBJID": ["S1", "S2", "S3", "S4", "S5"], "PARAMCD": "TTE", "PARAM": "Time to event (days)",
                  "AVAL": [10, 20, 5, 15, 7], "CNSR": [0, 1, 0, 0, 0]}).to_csv(tmp_path / "tte" / "adtte.csv",
                                                                               index=False)
    assert study.time_to_event.empty
    return trialviz.load_study(tmp_path / "tte")


# --- populations and baseline ----------------------------------------------------------------------------------
def test_populations_by_hand(tiny):
    table = trialviz.populations(tiny)
    assert tuple(_one(table, population="enrolled", cohort="High")[["subjects", "denominator"]]) == (3, 3)
    safety = _one(table, population="SAFFL", cohort="High")
    assert (safety["subjects"], safety["denominator"], round(safety["percent"], 1)) == (2, 3, 66.7)
    assert _one(table, population="SAFFL", cohort="Total")["subjects"] == 4
    assert "completed" not in set(table["population"])  # no EOSSTT: no disposition rows


def test_baseline_by_hand(tiny):
    table = trialviz.baseline_table(tiny, ["AGE", "SEX", "SCORE"])
    value = table.set_index(["variable", "category", "cohort", "statistic"])["value"]
    assert value[("AGE", "", "Low", "mean")] == 35 and value[("AGE", "", "High", "median")] == 60
    assert value[("AGE", "", "Total", "sd")] == pytest.approx(math.sqrt(250))
    assert (value[("AGE", "", "High", "q1")], value[("AGE", "", "High", "q3")]) == (55, 65)
    assert (value[("SEX", "F", "High", "count")], value[("SEX", "F", "High", "percent")]) == (2, pytest.approx(200 / 3))
    assert value[("SCORE", "", "High", "mean")] == 40  # baseline of the endpoint: 30, 40, 50
    assert table.attrs["denominators"] == {"Low": 2, "High": 3, "Total": 5}
    assert any("ADSL has no ITTFL" in note for note in table.attrs["notes"])  # all enrolled subjects


def test_baseline_missing_values_get_their_own_category(tmp_path):
    from tests.conftest import write_study

    adsl = pd.DataFrame({"USUBJID": ["A", "B", "C"], "TRT01P": ["X", "X", "X"], "TRT01A": ["X", "X", "X"],
                         "SEX": ["F", None, "M"], "ITTFL": ["Y", "Y", "N"]})
    table = trialviz.baseline_table(trialviz.load_study(write_study(tmp_path / "m", adsl)), ["SEX"])
    counts = table[table["statistic"] == "count"].set_index(["cohort", "category"])["value"]
    assert counts[("X", "F")] == 1 and counts[("X", "Missing")] == 1 and ("X", "M") not in counts.index


def test_unknown_baseline_variable(tiny):
    with pytest.raises(trialviz.AnalysisError, match="Unknown baseline variable 'NOPE'.*ADSL columns: USUBJID"):
        trialviz.baseline_table(tiny, ["NOPE"])


# --- tests of change and ANCOVA --------------------------------------------------------------------------------
def test_endpoint_tests_against_scipy(tiny):
    table = trialviz.endpoint_tests(tiny, "SCORE")
    wilcoxon = _one(table, cohort="Low", test="Wilcoxon signed-rank test (change ≠ 0)")
    assert (wilcoxon["n"], wilcoxon["estimate"], wilcoxon["p_value"]) == (2, -3.5, 0.5)  # exact: 2 × 1/4
    paired = _one(table, cohort="Low", test="Paired t-test (visit value vs baseline)")
    assert paired["statistic"] == pytest.approx(-7.0)  # mean −3.5, SD √0.5, n 2
    assert paired["p_value"] == pytest.approx(stats.ttest_rel([6, 17], [10, 20]).pvalue)
    between = _one(table, cohort="High", reference="Low")
    assert between["test"] == "Mann–Whitney U test (two-sided)"
    assert between["p_value"] == pytest.approx(stats.mannwhitneyu([-9, -6], [-4, -3]).pvalue)
    assert between["p_value"] == pytest.approx(1 / 3)  # exact: 2 of the 6 orderings are this extreme
    assert table["test"].astype(bool).all()


@pytest.mark.parametrize("change", [-2.0, 0.1, 0.0])
def test_no_t_test_where_every_change_is_the_same(tiny, change):
    """Every Low patient changes by the same amount: no variance, so no t statistic, p or CI (scipy would
    warn and give an infinite t with p = 0), the mean change and a note saying why; the other tests stand."""
    records = tiny.measurements.astype({"AVAL": float, "CHG": float})
    week4 = (records["AVISIT"] == "Week 4") & records["USUBJID"].isin(["S1", "S2"])
    records.loc[week4, "AVAL"] = records.loc[week4, "BASE"] + change
    records.loc[week4, "CHG"] = records.loc[week4, "AVAL"] - records.loc[week4, "BASE"]
    study = replace(tiny, _measurements=records)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = trialviz.endpoint_tests(study, "SCORE")
    paired = _one(table, cohort="Low", test="Paired t-test (visit value vs baseline)")
    assert paired["estimate"] == pytest.approx(change) and paired["n"] == 2
    assert paired[["statistic", "p_value", "ci_low", "ci_high"]].isna().all()
    assert any("No t-test where every change is the same" in note and "Low at Week 4" in note
               for note in table.attrs["notes"])
    assert not np.isnan(_one(table, cohort="High", test="Paired t-test (visit value vs baseline)")["p_value"])
    assert not np.isnan(_one(table, cohort="High", reference="Low")["p_value"])


def test_ancova_against_statsmodels_formula(tiny):
    fit = trialviz.ancova(tiny, "SCORE", "Week 4")
    data = pd.DataFrame({"CHG": [-4, -3, -9, -6], "BASE": [10, 20, 30, 50], "cohort": ["Low", "Low", "High", "High"]})
    model = smf.ols("CHG ~ C(cohort, Treatment('Low')) + BASE", data=data).fit()
    diff = _one(fit, term="difference")
    coefficient = "C(cohort, Treatment('Low'))[T.High]"
    assert diff["estimate"] == pytest.approx(model.params[coefficient])
    assert diff["se"] == pytest.approx(model.bse[coefficient])
    assert diff["p_value"] == pytest.approx(model.pvalues[coefficient])
    assert (diff["ci_low"], diff["ci_high"]) == pytest.approx(tuple(model.conf_int().loc[coefficient]))
    for cohort in ("Low", "High"):  # LS mean: the prediction at the mean baseline (27.5)
        predicted = model.predict(pd.DataFrame({"cohort": [cohort], "BASE": [27.5]})).iloc[0]
        assert _one(fit, term="ls_mean", cohort=cohort)["estimate"] == pytest.approx(predicted)


def test_ancova_ls_means_weight_factor_levels_equally(pilot):
    """LS means as SAS LSMEANS / R emmeans: the mean over pooled sites of the predictions at the mean baseline."""
    fit = trialviz.ancova(pilot, "ACTOT", "Week 24", covariates=["SITEGR1"])
    records = trialviz.analysis_records(pilot, "ACTOT")
    data = records[records["AVISIT"] == "Week 24"][["USUBJID", "cohort", "CHG", "BASE"]]
    data = data.merge(pilot.subjects[["USUBJID", "SITEGR1"]], on="USUBJID").astype({"SITEGR1": str})
    model = smf.ols("CHG ~ C(cohort, Treatment('Placebo')) + BASE + C(SITEGR1)", data=data).fit()
    sites = sorted(data["SITEGR1"].unique())
    for cohort in ("Placebo", "Xanomeline High Dose"):
        grid = pd.DataFrame({"cohort": cohort, "BASE": data["BASE"].mean(), "SITEGR1": sites})
        assert _one(fit, term="ls_mean", cohort=cohort)["estimate"] == pytest.approx(model.predict(grid).mean())
    coefficient = "C(cohort, Treatment('Placebo'))[T.Xanomeline High Dose]"
    diff = _one(fit, term="difference", cohort="Xanomeline High Dose")
    assert (diff["estimate"], diff["se"]) == pytest.approx((model.params[coefficient], model.bse[coefficient]))


def test_bad_analysis_parameters_name_the_valid_values(tiny):
    with pytest.raises(trialviz.AnalysisError, match="Unknown covariate 'NOPE'; use ADSL columns"):
        trialviz.ancova(tiny, "SCORE", "Week 4", covariates=["NOPE"])
    with pytest.raises(trialviz.AnalysisError, match="Unknown visit 'Week 9'.*Week 4"):
        trialviz.ancova(tiny, "SCORE", "Week 9")
    with pytest.raises(trialviz.AnalysisError, match="Unknown reference cohort 'Mid'; the cohorts are: Low, High"):
        trialviz.endpoint_tests(tiny, "SCORE", reference="Mid")
    with pytest.raises(trialviz.AnalysisError, match="Unknown endpoint 'NOPE'"):
        trialviz.responders(tiny, "NOPE")
    with pytest.raises(trialviz.AnalysisError, match="Unknown kind of adverse event 'fatal'"):
        trialviz.ae_soc_pt(tiny, category="fatal")


# --- responders --------------------------------------------------------------------------------------------------
def test_responders_by_hand_with_exact_intervals(tiny):
    table = trialviz.responders(tiny, "SCORE", threshold=5)
    low, high = _one(table, cohort="Low"), _one(table, cohort="High")
    assert (low["subjects"], low["denominator"], high["subjects"], high["denominator"]) == (0, 2, 2, 2)
    assert high["ci_low"] == pytest.approx(100 * 0.025 ** 0.5)  # Clopper–Pearson for 2/2: (α/2)^(1/n)
    assert low["ci_high"] == pytest.approx(100 * (1 - 0.025 ** 0.5))
    lo, hi = proportion_confint(2, 2, alpha=0.05, method="beta")
    assert (high["ci_low"], high["ci_high"]) == pytest.approx((100 * lo, 100 * hi))
    assert high["p_value"] == pytest.approx(stats.fisher_exact([[2, 0], [0, 2]]).pvalue)
    assert high["test"] == "Fisher's exact test (two-sided) vs Low"
    assert high["threshold"] == "improvement ≥ 5 points (CHG ≤ −5)"


@pytest.mark.parametrize("confidence", [0.8, 0.9, 0.95, 0.99])
def test_exact_ci_is_statsmodels_clopper_pearson(confidence):
    """Every count of up to 150 trials, the edges (none, all) and no trials (missing) included."""
    trials = np.repeat(np.arange(151), np.arange(151) + 1)
    successes = np.concatenate([np.arange(n + 1) for n in range(151)])
    low, high = exact_ci(successes, trials, confidence)
    tried = trials > 0
    lo, hi = proportion_confint(successes[tried], trials[tried], alpha=1 - confidence, method="beta")
    assert low[tried] == pytest.approx(100 * lo, rel=1e-12, abs=1e-12)
    assert high[tried] == pytest.approx(100 * hi, rel=1e-12, abs=1e-12)
    assert np.isnan(low[~tried]).all() and np.isnan(high[~tried]).all()
    assert (low[tried & (successes == 0)] == 0).all() and (high[successes == trials][1:] == 100).all()


def test_responders_default_to_the_mcid_and_accept_percent_thresholds(tiny):
    by_mcid = trialviz.responders(tiny, "SCORE")  # MCID 2: every change (−4, −3, −9, −6) responds
    assert _one(by_mcid, cohort="Total")[["subjects", "denominator"]].tolist() == [4, 4]
    relative = trialviz.responders(tiny, "SCORE", threshold=20, relative=True)  # −40%, −15%, −30%, −12%
    assert _one(relative, cohort="Low")["subjects"] == 1 and _one(relative, cohort="High")["subjects"] == 1
    higher = trialviz.responders(tiny, "SCORE", threshold=2, better="higher")
    assert _one(higher, cohort="Total")["subjects"] == 0
    with pytest.raises(trialviz.AnalysisError, match="relative"):
        trialviz.responders(tiny, "SCORE", relative=True)


# --- adverse events ----------------------------------------------------------------------------------------------
def test_ae_soc_pt_by_hand(tiny):
    table = trialviz.ae_soc_pt(tiny)
    assert table[["soc", "pt"]].drop_duplicates().apply(tuple, axis=1).tolist() == [
        ("", ""), ("GI", ""), ("GI", "Nausea"), ("Infections", ""), ("Infections", "Pneumonia"),
        ("Nervous", ""), ("Nervous", "Headache")]
    nausea = _one(table, pt="Nausea", cohort="Low")  # S1 twice
    assert (nausea["subjects"], nausea["events"], nausea["denominator"], nausea["percent"]) == (1, 2, 2, 50)
    gi_total = _one(table, soc="GI", pt="", cohort="Total")  # S1 ×2, S3; S5 is not in the safety population
    assert (gi_total["subjects"], gi_total["events"], gi_total["denominator"]) == (2, 3, 4)
    pneumonia = _one(table, pt="Pneumonia", cohort="High")
    assert pneumonia["p_value"] == pytest.approx(stats.fisher_exact([[1, 1], [0, 2]]).pvalue)
    assert np.isnan(_one(table, pt="Pneumonia", cohort="Low")["p_value"])  # the reference
    assert "Skin" not in set(table["soc"])  # the rash is not treatment-emergent


def test_ae_grade_by_hand(tiny):
    table = trialviz.ae_grade(tiny).set_index(["grade", "cohort"])
    # worst grade: S1 2, S2 1 (Low); S3 3, S4 none (High)
    assert table.loc[("1", "Low"), "subjects"] == 1 and table.loc[("1", "Low"), "events"] == 2
    assert table.loc[("2", "Low"), "subjects"] == 1 and table.loc[("3", "High"), "subjects"] == 1
    assert table.loc[("1", "High"), ["subjects", "events"]].tolist() == [0, 1]  # S3's grade-1 nausea
    assert table.loc[("any", "Total"), "subjects"] == 3 and set(table["scale"]) == {"CTCAE grade"}
    per_soc = trialviz.ae_grade(tiny, per_soc=True)
    assert _one(per_soc, soc="GI", grade="2", cohort="Low")["subjects"] == 1


def test_primary_endpoint_table_by_hand(tiny):
    table = trialviz.primary_endpoint_table(tiny)
    primary = _one(table, primary=True, cohort="Total")
    assert (primary["period"], primary["category"], primary["subjects"], primary["denominator"]) == \
        ("window", "severe", 0, 4)
    assert primary["ci_high"] == pytest.approx(100 * (1 - 0.025 ** 0.25))
    related = _one(table, period="window", category="related", cohort="Total")
    assert (related["subjects"], related["events"]) == (3, 3)


def test_grouped_by_regroups_every_table(tiny):
    by_sex = trialviz.grouped_by(tiny, "SEX")
    assert by_sex.cohort_values() == ["F", "M"]
    overview = trialviz.ae_overview(by_sex)
    # S1, S3 of S1, S3, S4
    assert tuple(_one(overview, category="any", cohort="F")[["subjects", "denominator"]]) == (2, 3)
    assert tuple(_one(overview, category="any", cohort="M")[["subjects", "denominator"]]) == (1, 1)  # S2
    summary = trialviz.endpoint_summary(by_sex, "SCORE")
    assert _one(summary, measure="value", cohort="M", visit="Baseline")["mean"] == 35  # S2 20, S5 50
    with pytest.raises(trialviz.AnalysisError, match="Unknown column 'NOPE' to group by"):
        trialviz.grouped_by(tiny, "NOPE")


# --- time to event ----------------------------------------------------------------------------------------------
def test_kaplan_meier_by_hand_and_against_lifelines(tiny_tte):
    km = trialviz.kaplan_meier(tiny_tte, times=[0, 5, 10, 15, 20]).set_index(["cohort", "time"])
    assert km.loc[("Low", 10.0), ["at_risk", "events", "censored"]].tolist() == [2, 1, 0]
    assert km.loc[("Low", 20.0), ["at_risk", "events", "censored"]].tolist() == [1, 1, 1]
    assert km.loc[("Low", 10.0), "survival"] == 0.5 and km.loc[("Low", 20.0), "survival"] == 0.5
    assert km.loc[("High", 5.0), "survival"] == 0.5 and km.loc[("High", 15.0), "survival"] == 0
    fitter = KaplanMeierFitter().fit([10, 20], event_observed=[True, False])
    assert km.loc[("Low", 10.0), "ci_low"] == pytest.approx(fitter.confidence_interval_.iloc[1, 0])
    medians = trialviz.km_medians(tiny_tte).set_index("cohort")
    assert medians.loc["Low", "median"] == 10 and medians.loc["High", "median"] == 5
    assert medians.loc["High", "n"] == 2  # S5 is outside the safety population
    test = trialviz.logrank(tiny_tte).iloc[0]
    direct = logrank_test([10, 20], [5, 15], [True, False], [True, True])
    assert test["p_value"] == pytest.approx(direct.p_value) and test["df"] == 1


def test_default_times_are_round(tiny_tte):
    from trialviz.tables.survival import default_times

    assert default_times(20) == [0, 2.5, 5, 7.5, 10, 12.5, 15, 17.5, 20]
    assert default_times(733)[:3] == [0, 100, 200]
    with pytest.raises(trialviz.AnalysisError, match="Unknown time-to-event parameter 'X'.*TTE"):
        trialviz.kaplan_meier(tiny_tte, "X")


def test_no_time_to_event_data_is_a_clear_error(tiny):
    with pytest.raises(trialviz.AnalysisError, match="no time-to-event data"):
        trialviz.kaplan_meier(tiny)


# --- the bundled study's published facts from the same functions -----------------------------------------------
def test_msc_ssc_published_facts_come_from_the_library(bundled):
    table = trialviz.primary_endpoint_table(bundled)
    primary = _one(table, primary=True, cohort="Total")
    assert (primary["subjects"], primary["events"], primary["denominator"]) == (0, 0, 20)  # no SAE in days 1–11
    related = _one(table, period="window", category="related", cohort="Total")
    assert (related["subjects"], related["events"]) == (2, 3)  # 3 infusion-related events in 2 patients
    late = _one(table, period="after", category="severe", cohort="Total")
    assert (late["subjects"], late["events"], late["percent"]) == (14, 36, 70.0)
    assert _one(table, period="after", category="related", cohort="Total")["events"] == 0
    socs = trialviz.ae_soc_pt(bundled)
    window = bundled.adverse_events[bundled.adverse_events["ASTDY"].between(1, 11)]
    assert set(window["AEBODSYS"]) == {"Vascular disorders", "Gastrointestinal disorders",
                                       "General disorders and administration site conditions"}
    assert _one(socs, soc="", pt="", cohort="Total")[["subjects", "events"]].tolist() == [14, 39]
    enrolled = trialviz.populations(bundled).query("population == 'enrolled' and cohort == 'Total'")
    assert enrolled["subjects"].item() == 20


@pytest.mark.parametrize("module", ["common", "populations", "baseline", "efficacy", "responders", "safety",
                                    "survival", "endpoints", "subjects", "report.tables", "views", "stats"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    name = module if module in ("views", "stats") or module.startswith("report") else f"tables.{module}"
    result = doctest.testmod(importlib.import_module(f"trialviz.{name}"), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_ancova_refuses_a_model_it_cannot_estimate(tiny):
    # the four patients with a Week 4 value have AGE = BASE + 20 (30/10, 40/20, 50/30, 70/50): AGE adds nothing
    # that the intercept and the baseline do not already give, so the model's coefficients are not unique
    with pytest.raises(trialviz.AnalysisError, match="cannot be estimated.*4 patients.*AGE"):
        trialviz.ancova(tiny, "SCORE", "Week 4", covariates=["AGE"])
