"""The endpoint tests, which pick each cohort's values once per visit as arrays, equal the same scipy tests
run on each cohort and visit's records selected one by one from the analysis records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import trialviz
from trialviz.filters import SubjectFilter
from trialviz.stats import signed_rank_test
from trialviz.tables.endpoints import analysis_records

WITHIN = {"change": "Paired t-test (visit value vs baseline)",
          "percent change": "One-sample t-test (percent change ≠ 0)"}
COLUMN = {"change": "CHG", "percent change": "PCHG"}


def expected_rows(study: trialviz.Study, param: str, measure: str) -> list[dict[str, object]]:
    records = analysis_records(study, param)
    column = COLUMN[measure]
    with_values = records[pd.to_numeric(records[column], errors="coerce").notna()]
    visits = with_values.groupby("AVISIT")["AVISITN"].min().sort_values(kind="stable")
    reference = study.cohort_values()[0]
    rows: list[dict[str, object]] = []
    for visit in visits.index:
        at_visit = with_values[with_values["AVISIT"] == visit]
        samples = {c: at_visit[at_visit["cohort"] == c] for c in study.cohort_values()}
        for cohort, part in samples.items():
            x = pd.to_numeric(part[column]).to_numpy(dtype=float)
            if np.count_nonzero(x):
                statistic, p_value = signed_rank_test(x)
                rows.append({"visit": visit, "cohort": cohort, "test": "Wilcoxon signed-rank test (change ≠ 0)",
                             "n": len(x), "estimate": float(np.median(x)), "statistic": statistic,
                             "p_value": p_value})
            if len(x) > 1:
                if measure == "change":
                    pairs = part[["AVAL", "BASE"]].apply(pd.to_numeric, errors="coerce").dropna()
                    result = stats.ttest_rel(pairs["AVAL"], pairs["BASE"])
                    estimate = float((pairs["AVAL"] - pairs["BASE"]).mean())
                else:
                    result = stats.ttest_1samp(x, 0.0)
                    estimate = float(x.mean())
                rows.append({"visit": visit, "cohort": cohort, "test": WITHIN[measure], "n": len(x),
                             "estimate": estimate, "statistic": float(result.statistic),
                             "p_value": float(result.pvalue)})
        y = pd.to_numeric(samples[reference][column]).to_numpy(dtype=float)
        for cohort, part in samples.items():
            x = pd.to_numeric(part[column]).to_numpy(dtype=float)
            if cohort != reference and len(x) and len(y):
                result = stats.mannwhitneyu(x, y, alternative="two-sided")
                rows.append({"visit": visit, "cohort": cohort, "test": "Mann–Whitney U test (two-sided)",
                             # Hodges–Lehmann shift: the median of every difference of a value of x and one of y
                             "n": len(x) + len(y), "estimate": float(np.median(np.subtract.outer(x, y))),
                             "statistic": float(result.statistic), "p_value": float(result.pvalue)})
    return rows


@pytest.mark.parametrize("which", ["bundled", "one cohort", "women", "pilot"])
@pytest.mark.parametrize("measure", ["change", "percent change"])
def test_every_test_is_scipy_on_its_own_selection(which, measure, bundled, pilot):
    study = {"bundled": bundled, "pilot": pilot,
             "one cohort": SubjectFilter(cohorts=(bundled.cohort_values()[1],)).apply(bundled),
             "women": SubjectFilter(sex=("F",)).apply(pilot)}[which]
    checked = 0
    for endpoint in study.endpoints[:3]:
        table = trialviz.endpoint_tests(study, endpoint.paramcd, measure=measure)
        expected = pd.DataFrame(expected_rows(study, endpoint.paramcd, measure))
        keys = ["visit", "cohort", "test"]
        shown = table[[*keys, "n", "estimate", "statistic", "p_value"]]
        assert shown[keys].to_dict("records") == expected[keys].to_dict("records"), endpoint.paramcd
        assert (shown["n"].to_numpy() == expected["n"].to_numpy()).all()
        for number in ("estimate", "statistic", "p_value"):
            np.testing.assert_allclose(shown[number].to_numpy(dtype=float), expected[number].to_numpy(dtype=float),
                                       rtol=1e-12, atol=0, err_msg=f"{endpoint.paramcd}: {number}")
        checked += len(table)
    assert checked > 20
