"""A subject filter reaches every dataset at once."""

from __future__ import annotations

import pytest

import trialviz
from trialviz.filters import SubjectFilter


def test_cohort_filter_reaches_every_dataset(bundled):
    high = trialviz.filter_study(bundled, cohorts=["MSC 3×10⁶/kg"])
    ids = set(high.subjects["USUBJID"])
    assert len(ids) == 10 and set(high.subjects["TRT01P"]) == {"MSC 3×10⁶/kg"}
    for frame in (high.measurements, high.adverse_events, high.time_to_event):
        assert len(frame) > 0 and set(frame["USUBJID"]) <= ids
    assert len(high.adverse_events) == (bundled.adverse_events["USUBJID"].isin(ids)).sum()


def test_sex_and_age_combine_with_and(bundled):
    adsl = bundled.subjects
    expected = set(adsl[(adsl["SEX"] == "F") & adsl["AGE"].between(40, 60)]["USUBJID"])
    kept = trialviz.filter_study(bundled, sex=["F"], age=(40, 60))
    assert set(kept.subjects["USUBJID"]) == expected
    assert "women" in kept.filter_description and "age 40–60" in kept.filter_description


def test_baseline_range_and_other_columns(bundled):
    kept = SubjectFilter(baseline=("MRSS", 30, 51), where={"ILDFL": ("Y",)}).apply(bundled)
    base = trialviz.filters.baseline_values(bundled, "MRSS")
    ild = set(bundled.subjects.loc[bundled.subjects["ILDFL"] == "Y", "USUBJID"])
    assert set(kept.subjects["USUBJID"]) == set(base[base >= 30].index) & ild


def test_filter_that_leaves_nobody(bundled):
    nobody = trialviz.filter_study(bundled, age=(0, 1))
    assert nobody.n_subjects == 0 and len(nobody.measurements) == 0 and len(nobody.adverse_events) == 0
    table = trialviz.ae_overview(nobody)
    assert (table["subjects"] == 0).all() and (table["denominator"] == 0).all()


def test_empty_filter_returns_the_same_study(bundled):
    assert SubjectFilter().apply(bundled) is bundled


def test_filtering_commutes_with_summarising(bundled):
    """A cohort's column of the full table equals the table of the study filtered to that cohort."""
    full = trialviz.endpoint_summary(bundled, "MRSS")
    only = trialviz.endpoint_summary(trialviz.filter_study(bundled, cohorts=["MSC 1×10⁶/kg"]), "MRSS")
    a = full[full["cohort"] == "MSC 1×10⁶/kg"].reset_index(drop=True)
    b = only[only["cohort"] == "MSC 1×10⁶/kg"].reset_index(drop=True)
    assert a.equals(b)


def test_unknown_column_is_a_clear_error(bundled):
    with pytest.raises(trialviz.AnalysisError, match="no such column"):
        trialviz.filter_study(bundled, where={"NOPE": ["x"]})


def test_restrict_events_keeps_subjects_and_denominators(bundled):
    from trialviz.filters import restrict_events

    first_year = restrict_events(bundled, onset=(1, 365))
    days = bundled.adverse_events["ASTDY"]
    assert len(first_year.adverse_events) == int(days.between(1, 365).sum())
    assert first_year.n_subjects == bundled.n_subjects
    table = trialviz.ae_overview(first_year)
    serious = table[(table["category"] == "serious") & (table["cohort"] == "Total")].iloc[0]
    events = bundled.adverse_events
    late = events[(events["AESER"] == "Y") & events["ASTDY"].between(1, 365)]
    assert ((serious["subjects"], serious["events"], serious["denominator"])
            == (late["USUBJID"].nunique(), len(late), 20))
    assert "study days 1–365" in first_year.filter_description
    assert restrict_events(bundled, onset=(366, float("inf"))).adverse_events["ASTDY"].min() >= 366
