"""The CDISC pilot (CDISCPILOT01) tables against its published values.

Sources of the published numbers (read with the project's search tools, not typed from memory):

- Demographics: R Consortium Submission Pilot 1, ``output/tlf-demographic.out`` (Intent-to-Treat).
- ADAS-Cog(11) week 24, Table 14-3.01: R Consortium Submission Pilot 1, ``output/tlf-primary.rtf``.
- Populations 14-1.01, TEAE 14-5.01 and serious TEAE 14-5.02: Atorus Research ``CDISC_pilot_replication``
  ``outputs/14-1.01.rtf``, ``14-5.01.rtf``, ``14-5.02.rtf`` (a replication of the pilot CSR tables); the
  first rows of 14-5.01 are the figures the issue quotes from the CSR (65 (75.6%) [281] …).

The Kaplan–Meier numbers at risk of the pilot's figure 14-1 are published only as a PDF image that could
not be read, so the survival tests compare with lifelines and with counts made directly from ADTTE.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test

import trialviz

ARMS = ["Placebo", "Xanomeline Low Dose", "Xanomeline High Dose"]


def _by_cohort(table: pd.DataFrame, column: str, **keys: object) -> list:
    mask = np.ones(len(table), dtype=bool)
    for key, value in keys.items():
        mask &= (table[key] == value).to_numpy()
    return table[mask].set_index("cohort").loc[ARMS, column].tolist()


def test_populations_table_14_1_01(pilot):
    table = trialviz.populations(pilot)
    assert _by_cohort(table, "subjects", population="ITTFL") == [86, 84, 84]
    assert _by_cohort(table, "subjects", population="SAFFL") == [86, 84, 84]
    assert _by_cohort(table, "subjects", population="EFFFL") == [79, 81, 74]
    assert _by_cohort(table, "subjects", population="COMP24FL") == [60, 28, 30]
    assert _by_cohort(table, "subjects", population="completed") == [58, 25, 27]
    total = table[table["cohort"] == "Total"].set_index("population")["subjects"]
    assert (total["EFFFL"], total["COMP24FL"], total["completed"]) == (234, 118, 110)
    reasons = table[(table["population"] == "discontinued") & (table["category"] != "")]
    assert reasons.groupby("cohort")["subjects"].sum()[ARMS].tolist() == \
        _by_cohort(table, "subjects", population="discontinued", category="")


def _stat(table: pd.DataFrame, variable: str, statistic: str, category: str = "") -> list[float]:
    rows = table[(table["variable"] == variable) & (table["statistic"] == statistic) & (table["category"] == category)]
    return rows.set_index("cohort").loc[ARMS, "value"].tolist()


def test_demographics_table_14_2_01(pilot):
    table = trialviz.baseline_table(pilot)
    assert table.attrs["denominators"] == {"Placebo": 86, "Xanomeline Low Dose": 84, "Xanomeline High Dose": 84,
                                           "Total": 254}
    published = {  # variable: (mean, sd, median, min, max) per arm, as printed (2 decimals)
        "AGE": [(75.21, 8.59, 76, 52, 89), (75.67, 8.29, 77.5, 51, 88), (74.38, 7.89, 76, 56, 88)],
        "HEIGHTBL": [(162.57, 11.52, 162.6, 137.2, 185.4), (163.43, 10.42, 162.6, 135.9, 195.6),
                     (165.82, 10.13, 165.1, 146.1, 190.5)],
        "WEIGHTBL": [(62.76, 12.77, 60.55, 34, 86.2), (67.28, 14.12, 64.9, 45.4, 106.1), (70, 14.65, 69.2, 41.7, 108)],
        "BMIBL": [(23.64, 3.67, 23.4, 15.1, 33.3), (25.06, 4.27, 24.3, 17.7, 40.1), (25.35, 4.16, 24.8, 13.7, 34.5)],
        "MMSETOT": [(18.05, 4.27, 19.5, 10, 23), (17.87, 4.22, 18, 10, 24), (18.51, 4.16, 20, 10, 24)],
    }
    for variable, arms in published.items():
        computed = zip(*(_stat(table, variable, s) for s in ("mean", "sd", "median", "min", "max")), strict=True)
        for got, expected in zip(computed, arms, strict=True):
            assert [round(v, 2) for v in got] == pytest.approx(expected), variable
    assert _stat(table, "AGEGR1", "count", "<65") == [14, 8, 11]
    assert _stat(table, "AGEGR1", "count", "65-80") == [42, 47, 55]
    assert _stat(table, "AGEGR1", "count", ">80") == [30, 29, 18]
    assert _stat(table, "RACE", "count", "WHITE") == [78, 78, 74]
    assert _stat(table, "RACE", "count", "BLACK OR AFRICAN AMERICAN") == [8, 6, 9]
    assert _stat(table, "RACE", "count", "AMERICAN INDIAN OR ALASKA NATIVE") == [0, 0, 1]
    # categories follow the numeric companion column (AGEGR1N), not the alphabet
    ages = table[(table["variable"] == "AGEGR1") & (table["cohort"] == "Total")]["category"].unique().tolist()
    assert ages == ["<65", "65-80", ">80"]


def test_adas_cog_week_24_summary_table_14_3_01(pilot):
    table = trialviz.endpoint_summary(pilot, "ACTOT", measures=["value", "change"])
    published = {  # (measure, visit): per arm (n, mean, sd, median, min, max) as printed
        ("value", "Baseline"): [(79, 24.1, 12.19, 21.0, 5, 61), (81, 24.4, 12.92, 21.0, 5, 57),
                                (74, 21.3, 11.74, 18.0, 3, 57)],
        ("value", "Week 24"): [(79, 26.7, 13.79, 24.0, 5, 62), (81, 26.4, 13.18, 25.0, 6, 62),
                               (74, 22.8, 12.48, 20.0, 3, 62)],
        ("change", "Week 24"): [(79, 2.5, 5.80, 2.0, -11, 16), (81, 2.0, 5.55, 2.0, -11, 17),
                                (74, 1.5, 4.26, 1.0, -7, 13)],
    }
    for (measure, visit), arms in published.items():
        rows = table[(table["measure"] == measure) & (table["visit"] == visit)].set_index("cohort").loc[ARMS]
        for (_, row), (n, mean, sd, median, low, high) in zip(rows.iterrows(), arms, strict=True):
            assert (row["n"], round(row["mean"], 1), round(row["sd"], 2), round(row["median"], 1)) == \
                (n, mean, sd, median)
            assert (round(row["min"]), round(row["max"])) == (low, high)


def test_adas_cog_week_24_ancova_table_14_3_01(pilot):
    fit = trialviz.ancova(pilot, "ACTOT", "Week 24", covariates=["SITEGR1"], comparisons="all")
    diffs = fit[fit["term"] == "difference"].set_index(["cohort", "reference"])
    published = {  # difference of LS means (SE), 95% CI, p
        ("Xanomeline Low Dose", "Placebo"): (-0.5, 0.82, -2.1, 1.1, 0.569),
        ("Xanomeline High Dose", "Placebo"): (-1.0, 0.84, -2.7, 0.7, 0.233),
        ("Xanomeline High Dose", "Xanomeline Low Dose"): (-0.5, 0.84, -2.2, 1.1, 0.520),
    }
    for pair, (estimate, se, low, high, p) in published.items():
        row = diffs.loc[pair]
        assert (round(row["estimate"], 1), round(row["se"], 2)) == (estimate, se)
        assert (round(row["ci_low"], 1), round(row["ci_high"], 1), round(row["p_value"], 3)) == (low, high, p)
        assert "ANCOVA" in row["test"] and "SITEGR1" in row["test"]
    dose = fit[fit["term"] == "dose_response"].iloc[0]
    assert round(dose["p_value"], 3) == 0.245 and "TRT01PN" in dose["test"]
    assert fit.loc[fit["term"] == "ls_mean", "n"].tolist() == [79, 81, 74]


def test_teae_overview_and_table_14_5_01(pilot):
    table = trialviz.ae_soc_pt(pilot)
    first = table[(table["soc"] == "") & (table["pt"] == "")].set_index("cohort").loc[ARMS]
    assert first["subjects"].tolist() == [65, 77, 76]
    assert first["events"].tolist() == [281, 412, 433]
    assert [round(p, 1) for p in first["percent"]] == [75.6, 91.7, 90.5]
    published = {  # (soc, pt): (subjects, events) per arm; Fisher p low vs placebo, high vs placebo
        ("CARDIAC DISORDERS", ""): ([12, 13, 15], [26, 30, 30], [0.831, 0.534]),
        ("CARDIAC DISORDERS", "SINUS BRADYCARDIA"): ([2, 7, 8], [2, 10, 12], [0.097, 0.056]),
        ("CARDIAC DISORDERS", "MYOCARDIAL INFARCTION"): ([4, 2, 4], [4, 4, 8], [0.682, 1.0]),
        ("CARDIAC DISORDERS", "ATRIAL FIBRILLATION"): ([1, 1, 3], [1, 1, 5], [1.0, 0.365]),
        ("CARDIAC DISORDERS", "VENTRICULAR EXTRASYSTOLES"): ([0, 2, 1], [0, 4, 1], [0.243, 0.494]),
        ("CARDIAC DISORDERS", "ATRIAL HYPERTROPHY"): ([1, 0, 0], [2, 0, 0], [1.0, 1.0]),
    }
    for (soc, pt), (subjects, events, p_values) in published.items():
        assert _by_cohort(table, "subjects", soc=soc, pt=pt) == subjects, pt or soc
        assert _by_cohort(table, "events", soc=soc, pt=pt) == events, pt or soc
        assert [round(p, 3) for p in _by_cohort(table, "p_value", soc=soc, pt=pt)[1:]] == p_values, pt or soc
    assert set(table.loc[table["p_value"].notna(), "test"]) == {"Fisher's exact test (two-sided) vs Placebo"}
    # denominators come from ADSL (the safety population), not from ADAE
    assert set(zip(table["cohort"], table["denominator"], strict=True)) == {
        ("Placebo", 86), ("Xanomeline Low Dose", 84), ("Xanomeline High Dose", 84), ("Total", 254)}


def test_serious_teae_table_14_5_02(pilot):
    table = trialviz.ae_soc_pt(pilot, category="serious")
    assert _by_cohort(table, "subjects", soc="", pt="") == [0, 1, 2]
    assert [round(p, 3) for p in _by_cohort(table, "p_value", soc="", pt="")[1:]] == [0.494, 0.243]
    assert set(table["soc"]) == {"", "NERVOUS SYSTEM DISORDERS"}
    assert _by_cohort(table, "subjects", soc="NERVOUS SYSTEM DISORDERS", pt="SYNCOPE") == [0, 1, 1]
    seizure = _by_cohort(table, "p_value", soc="NERVOUS SYSTEM DISORDERS",
                         pt="PARTIAL SEIZURES WITH SECONDARY GENERALISATION")
    assert np.isnan(seizure[1]) and round(seizure[2], 3) == 0.494  # blank where neither arm has the event


def test_soc_pt_is_sorted_by_frequency(pilot):
    table = trialviz.ae_soc_pt(pilot)
    socs = table[(table["pt"] == "") & (table["soc"] != "") & (table["cohort"] != "Total")]
    per_soc = socs.groupby("soc", sort=False)["subjects"].sum().tolist()
    assert per_soc == sorted(per_soc, reverse=True)
    assert socs["soc"].iloc[0] == "GENERAL DISORDERS AND ADMINISTRATION SITE CONDITIONS"


def test_severity_is_shown_as_severity_never_as_a_grade(pilot):
    table = trialviz.ae_grade(pilot)
    assert set(table["scale"]) == {"severity"}
    assert table["grade"].unique().tolist() == ["any", "MILD", "MODERATE", "SEVERE"]
    assert any("no CTCAE grades" in note for note in table.attrs["notes"])
    # worst severity per patient, counted directly
    events = pilot.adverse_events[pilot.adverse_events["TRTEMFL"] == "Y"]
    rank = events["AESEV"].map({"MILD": 0, "MODERATE": 1, "SEVERE": 2})
    worst = rank.groupby(events["USUBJID"], observed=True).max().value_counts().sort_index().tolist()
    total = table[(table["cohort"] == "Total") & (table["grade"] != "any")]
    assert total["subjects"].tolist() == worst
    overview = trialviz.ae_overview(pilot)
    assert "grade3" not in set(overview["category"]) and "severe_intensity" in set(overview["category"])


def test_kaplan_meier_against_lifelines_and_direct_counts(pilot):
    km = trialviz.kaplan_meier(pilot, "TTDE", times=[0, 30, 60, 90, 120, 150, 180])
    adsl = pilot.subjects[pilot.subjects["SAFFL"] == "Y"][["USUBJID", "TRT01A"]]
    tte = pilot.time_to_event.merge(adsl, on="USUBJID")
    for arm in ARMS:
        data = tte[tte["TRT01A"] == arm]
        rows = km[km["cohort"] == arm].set_index("time")
        fitter = KaplanMeierFitter().fit(data["AVAL"], event_observed=data["CNSR"] == 0)
        for t in rows.index:
            assert rows.at[t, "at_risk"] == (data["AVAL"] >= t).sum()
            assert rows.at[t, "events"] == ((data["AVAL"] <= t) & (data["CNSR"] == 0)).sum()
            assert rows.at[t, "survival"] == pytest.approx(float(fitter.survival_function_at_times(t).iloc[0]))
    assert km.loc[km["time"] == 0, "at_risk"].tolist() == [86, 84, 84]
    medians = trialviz.km_medians(pilot).set_index("cohort")
    assert np.isnan(medians.at["Placebo", "median"])  # fewer than half had an event
    assert medians.loc[ARMS, "events"].sum() == 152  # the 152 dermatologic events of ADTTE
    test = trialviz.logrank(pilot).iloc[0]
    direct = multivariate_logrank_test(tte["AVAL"], tte["TRT01A"], tte["CNSR"] == 0)
    assert test["p_value"] == pytest.approx(direct.p_value) and test["test"].startswith("Log-rank")


def test_no_primary_window_is_a_clear_error(pilot):
    with pytest.raises(trialviz.AnalysisError, match="no primary-endpoint window"):
        trialviz.primary_endpoint_table(pilot)
