"""What a view's tables and figures derive from the same data is derived once per (filtered) study."""

from __future__ import annotations

import trialviz
import pandas as pd

from trialviz.filters import SubjectFilter
from trialviz.tables import endpoints
from trialviz.tables.common import population


def fresh(study: trialviz.Study) -> trialviz.Study:
    """A study object of the test's own (the session's bundled study has derived values of other tests)."""
    return study.with_subjects(pd.Series(True, index=study.subjects.index), "everyone")


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
