"""The dashboard's view state survives the trip through an address, and bad addresses never raise."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from trialviz.app.state import SETTINGS, TABS, ViewState, normalise, state_fields
from trialviz.filters import SubjectFilter

names = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="|"), min_size=1,
                max_size=12)
ranges = st.tuples(st.integers(0, 100), st.integers(0, 100)).map(lambda t: (float(min(t)), float(max(t))))


@given(tab=st.sampled_from(TABS), cohorts=st.none() | st.lists(names, min_size=1, max_size=3).map(tuple),
       sex=st.none() | st.sampled_from([("F",), ("M",), ("F", "M")]), age=st.none() | ranges,
       endpoint=st.none() | names, measure=st.sampled_from(["value", "change"]), patient=st.none() | names,
       onset=st.none() | ranges, where=st.lists(st.tuples(st.sampled_from(["ILDFL", "SCL70", "RACE"]),
                                                          st.lists(names, min_size=1, max_size=2).map(tuple)),
                                                unique_by=lambda w: w[0], max_size=2).map(lambda w: dict(sorted(w))))
def test_round_trip(tab, cohorts, sex, age, endpoint, measure, patient, onset, where):
    state = ViewState(tab=tab, filter=SubjectFilter(cohorts=cohorts, sex=sex, age=age, where=where),
                      endpoint=endpoint, measure=measure, patient=patient, onset=onset)
    parsed, ignored = ViewState.from_query(state.to_query())
    assert ignored == [] and parsed == state


def test_every_setting_is_declared_once():
    """The address, the controls and the code read the declarations: a field without one would be lost."""
    declared = [setting.key for setting in SETTINGS]
    assert len(declared) == len(set(declared))
    view_settings = {s.key for s in SETTINGS if not s.in_filter}
    assert set(state_fields()) - {"filter"} == view_settings
    filter_fields = set(SubjectFilter.__dataclass_fields__) - {"subjects"}
    assert {s.key for s in SETTINGS if s.in_filter} == filter_fields


def test_a_state_is_normalised_for_its_study(bundled):
    state, ignored = normalise(bundled, ViewState(endpoint="NOPE", visit="Month 99",
                                                  filter=SubjectFilter(cohorts=("Ghost", "MSC 3×10⁶/kg"))))
    assert state.endpoint == bundled.endpoints[0].paramcd and state.visit in bundled.visits(state.endpoint)
    assert state.filter.cohorts == ("MSC 3×10⁶/kg",) and state.population == "EFFFL" and state.terms == 0
    assert ignored == ["unknown cohort(s) Ghost", "unknown endpoint 'NOPE'"]
    again, none = normalise(bundled, state)
    assert again == state and none == []  # normalising twice changes nothing
    every, _ = normalise(bundled, ViewState(filter=SubjectFilter(cohorts=tuple(bundled.cohort_values()))))
    assert every.filter.cohorts is None  # every cohort ticked is no filter
    baseline, _ = normalise(bundled, ViewState(endpoint="HAQDI", filter=SubjectFilter(baseline=("MRSS", 10, 30))))
    assert baseline.filter.baseline is None  # the baseline filter belongs to the endpoint shown


@given(st.text(max_size=200))
def test_any_query_parses_without_raising(query):
    state, ignored = ViewState.from_query(query)
    assert isinstance(state, ViewState) and isinstance(ignored, list)


def test_what_is_ignored_is_named():
    state, ignored = ViewState.from_query("tab=nowhere&age=old&colour=red&measure=change")
    assert state.measure == "change" and state.tab == "overview" and state.filter.age is None
    assert ignored == ["tab='nowhere' is not understood", "age='old' is not understood", "unknown setting 'colour'"]


def test_no_setting_can_name_a_file():
    state, ignored = ViewState.from_query("study=/etc/passwd&path=../data&file=x.csv")
    assert state == ViewState() and len(ignored) == 3


def test_patient_summary_speaks_clinicians_words_and_escapes_text():
    import pandas as pd

    from trialviz.app.panels import patient_summary_html

    subject = pd.Series({"USUBJID": "P1", "TRT01P": "MSC 3×10⁶/kg", "AGE": 55, "SEX": "F",
                         "TRTSDT": pd.Timestamp("2014-03-24"), "EOSSTT": "DISCONTINUED",
                         "DCSREAS": "<script>x</script>", "DTHFL": "N", "TRT01A": None})
    text = patient_summary_html(subject)
    for shown in ("Planned treatment: <b>MSC 3×10⁶/kg</b>", "Age: <b>55</b>", "Treated on: <b>2014-03-24</b>",
                  "End of study: <b>Discontinued</b>", "Died: <b>no</b>", "Actual treatment: <b>–</b>",
                  "&lt;script&gt;"):
        assert shown in text, shown
    assert "<script>" not in text and "title='EOSSTT'" in text


def test_the_header_names_a_study_once_when_it_has_no_other_title(pilot, bundled):
    from trialviz.app.page import header_html

    for study, heading in ((pilot, "<p class='tv-title'>CDISCPILOT01</p>"),
                           (bundled, "<p class='tv-title'>MSC-SSc: Allogeneic bone marrow")):
        assert heading in header_html(study)
    assert "NCT02213705 · Single-centre" in header_html(bundled)
