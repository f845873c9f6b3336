"""What a view's tables and figures derive from the same data is derived once per (filtered) study."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

import trialviz
from trialviz.filters import SubjectFilter, baseline_values, restrict_events
from trialviz.tables import endpoints
from trialviz.tables.common import population


def fresh(study: trialviz.Study) -> trialviz.Study:
    """A study object of the test's own (the session's bundled study has derived values of other tests),
    standing on its own (not a subset of the session's study)."""
    return replace(study.with_subjects(pd.Series(True, index=study.subjects.index), "everyone"), _subset_of=None)


def test_a_value_is_computed_once_per_study_and_key(bundled):
    study = fresh(bundled)
    calls: list[str] = []

    def compute(name: str):
        calls.append(name)
        return name.upper()

    assert study.derived(("x", 1), lambda: compute("a")) == "A"
    assert study.derived(("x", 1), lambda: compute("b")) == "A"
    assert study.derived(("x", 2), lambda: compute("c")) == "C"
    assert calls == ["a", "c"]


def test_a_study_keeps_only_its_latest_derived_values(bundled):
    from trialviz.study import DERIVED_KEPT

    study = fresh(bundled)
    for key in range(DERIVED_KEPT + 3):
        study.derived(key, lambda key=key: [key])
    kept = study.derived(DERIVED_KEPT + 2, lambda: "computed again")
    assert kept == [DERIVED_KEPT + 2]
    assert study.derived(0, lambda: "computed again") == "computed again"  # the oldest was let go


def test_a_filtered_study_derives_anew(bundled, monkeypatch):
    selected: list[str] = []
    original = endpoints._analysis_records

    def counting(study, param, flag):
        selected.append(param)
        return original(study, param, flag)

    monkeypatch.setattr(endpoints, "_analysis_records", counting)
    study = fresh(bundled)
    trialviz.endpoint_summary(study, "MRSS")
    trialviz.endpoint_tests(study, "MRSS")
    trialviz.responders(study, "MRSS")
    assert selected == ["MRSS"]
    one_cohort = SubjectFilter(cohorts=(bundled.cohort_values()[0],)).apply(study)
    records = endpoints.analysis_records(one_cohort, "MRSS")
    assert selected == ["MRSS", "MRSS"]
    assert set(records["cohort"]) == {bundled.cohort_values()[0]}
    assert len(endpoints.analysis_records(study, "MRSS")) > len(records)


def test_a_caller_changing_its_records_does_not_change_the_next_callers(bundled):
    study = fresh(bundled)
    first = endpoints.analysis_records(study, "MRSS")
    first["doubled"] = first["AVAL"] * 2
    first["AVAL"] = 0.0
    again = endpoints.analysis_records(study, "MRSS")
    assert "doubled" not in again.columns
    assert (again["AVAL"].dropna() > 0).all()
    assert again.attrs["population_note"] == first.attrs["population_note"]


def test_populations_are_selected_once_per_study(bundled):
    study = fresh(bundled)
    assert population(study, "safety") is population(study, "safety")
    assert population(study, "safety") is not population(study, "efficacy")
    assert population(study, "efficacy", "") is not population(study, "efficacy")


def test_adverse_events_are_selected_once_per_study(bundled, monkeypatch):
    from trialviz.tables import safety

    selected: list[tuple] = []
    original = safety._safety_events

    def counting(study, flag, treatment_emergent):
        selected.append((flag, treatment_emergent))
        return original(study, flag, treatment_emergent)

    monkeypatch.setattr(safety, "_safety_events", counting)
    study = fresh(bundled)
    trialviz.ae_overview(study)
    trialviz.ae_soc_pt(study)
    trialviz.ae_grade(study)
    assert selected == [(None, True)]
    trialviz.ae_overview(study, treatment_emergent=False)
    assert selected == [(None, True), (None, False)]


FILTERS = [SubjectFilter(cohorts=("MSC 1×10⁶/kg",)), SubjectFilter(sex=("F",)), SubjectFilter(age=(40, 55)),
           SubjectFilter(cohorts=("MSC 3×10⁶/kg",), sex=("M",))]


@pytest.mark.parametrize("subject_filter", FILTERS, ids=lambda f: f.describe())
def test_a_filtered_studys_records_are_those_it_would_select_itself(bundled, subject_filter):
    view = subject_filter.apply(fresh(bundled))
    assert view.subset_of is not None
    on_its_own = replace(view, _subset_of=None)  # selects from its own measurements
    for param in ("MRSS", "FVCPP"):
        expected = endpoints.analysis_records(on_its_own, param)
        got = endpoints.analysis_records(view, param)
        pd.testing.assert_frame_equal(got, expected)
        assert got.attrs == expected.attrs
        pd.testing.assert_frame_equal(trialviz.endpoint_summary(view, param),
                                      trialviz.endpoint_summary(on_its_own, param))
        # baseline values come from the whole study's, derived once for every endpoint
        pd.testing.assert_series_equal(baseline_values(view, param), baseline_values(on_its_own, param))
        assert set(baseline_values(view, param).index) <= set(view.subjects["USUBJID"])
    pd.testing.assert_frame_equal(trialviz.baseline_table(view), trialviz.baseline_table(on_its_own))
    # adverse events come from the whole study's safety events; narrowed by onset, from the view's own
    for events_of in (lambda s: s, lambda s: restrict_events(s, onset=(1, 30))):
        for table in (trialviz.ae_overview, trialviz.ae_soc_pt, trialviz.primary_endpoint_table):
            pd.testing.assert_frame_equal(table(events_of(view)), table(events_of(on_its_own)))
    assert restrict_events(view, onset=(1, 30)).subset_of is None


def test_a_filtered_study_selects_its_measurements_only_when_read(bundled):
    from trialviz.figures import trajectory_figure

    study = fresh(bundled)
    view = SubjectFilter(cohorts=(bundled.cohort_values()[1],)).apply(study)
    trajectory_figure(view, "MRSS")
    trialviz.endpoint_summary(view, "MRSS")
    trialviz.endpoint_tests(view, "MRSS")
    trialviz.responders(view, "MRSS")
    trialviz.baseline_table(view)
    assert view._measurements._rows is None  # an endpoint's tables and figure read the whole study's records
    kept = set(view.subjects["USUBJID"])
    assert set(view.measurements["USUBJID"]) == kept
    expected = study.measurements[study.measurements["USUBJID"].isin(kept)]
    pd.testing.assert_frame_equal(view.measurements, expected)


def test_a_filter_of_a_filtered_study_selects_from_the_whole_study(bundled):
    study = fresh(bundled)
    women = SubjectFilter(sex=("F",)).apply(study)
    young_women = SubjectFilter(age=(20, 50)).apply(women)
    assert young_women.subset_of is study
    assert set(young_women.measurements["USUBJID"]) == set(young_women.subjects["USUBJID"])
    assert set(young_women.subjects["USUBJID"]) <= set(women.subjects["USUBJID"])


def test_a_regrouped_filtered_study_selects_its_own_records(bundled):
    from trialviz.tables.common import grouped_by

    view = SubjectFilter(cohorts=(bundled.cohort_values()[0],)).apply(fresh(bundled))
    by_sex = grouped_by(view, "SEX")
    assert by_sex.subset_of is None  # other cohorts: the whole study's records do not apply
    records = endpoints.analysis_records(by_sex, "MRSS")
    assert set(records["cohort"]) <= set(view.subjects["SEX"].astype(str))
    assert set(records["USUBJID"]) <= set(view.subjects["USUBJID"])
