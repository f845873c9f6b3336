"""The adverse-event table by class and term can list only the terms reported in ≥ x% of a cohort: the
dashboard's default above 400 patients, a choice in the Safety tab, and part of the view's address."""

from __future__ import annotations

import pytest

import trialviz
from trialviz.app import Explorer
from trialviz.app import state as state_module
from trialviz.app.explorer import TAB_KEYS
from trialviz.app.state import ViewState
from trialviz.tables.common import TOTAL, conventions_of


@pytest.mark.parametrize("threshold", [5, 10, 30])
def test_terms_below_the_threshold_in_every_cohort_are_left_out(pilot, threshold):
    every = trialviz.ae_soc_pt(pilot)
    shown = trialviz.ae_soc_pt(pilot, min_percent=threshold)
    terms = every[every["pt"] != ""]
    highest = terms[terms["cohort"] != TOTAL].groupby(["soc", "pt"])["percent"].max()
    expected = set(highest[highest >= threshold].index)
    assert {(s, p) for s, p in zip(shown["soc"], shown["pt"], strict=True) if p} == expected
    assert 0 < len(expected) < len(highest)
    # class rows and the first row are those of the full table, which count every term
    rows = ["soc", "pt", "cohort", "subjects", "events", "percent", "p_value"]
    classes = every[every["pt"] == ""][rows].reset_index(drop=True)
    assert shown[shown["pt"] == ""][rows].reset_index(drop=True).equals(classes)
    assert f"{len(expected)} of {len(highest)} terms" in conventions_of(shown)[-1]


def test_the_dashboard_lists_every_term_of_a_small_study_and_frequent_ones_of_a_large(pilot, monkeypatch):
    app = Explorer(pilot)
    app.tabs.selected_index = TAB_KEYS.index("safety")
    safety = app.panel("safety")
    soc_pt = safety.slot("ae-soc-pt").html
    assert app.control("terms").read() == 0 and "Preferred terms reported in" not in soc_pt.value
    everything = soc_pt.value
    app.control("terms").choose(10.0)
    assert "terms=10" in app.bridge.query and app.state.terms == 10
    assert "terms in ≥ 10% of a cohort" in soc_pt.value and len(soc_pt.value) < len(everything) / 2
    assert "min_percent=10" in safety.code
    # above the limit the default is 5%, and an address without "terms" gets it
    monkeypatch.setattr(state_module, "ALL_TERMS_UP_TO", 100)
    large = Explorer(pilot, ViewState(tab="safety"))
    assert large.control("terms").read() == 5 and "terms=" not in large.bridge.query
    assert "terms in ≥ 5% of a cohort" in large.panel("safety").slot("ae-soc-pt").html.value


def test_the_threshold_round_trips_through_the_address():
    state, ignored = ViewState.from_query("tab=safety&terms=10")
    assert state.terms == 10 and ignored == []
    assert ViewState.from_query(state.to_query())[0] == state
    for bad in ("terms=ten", "terms=150", "terms=-1"):
        state, ignored = ViewState.from_query(bad)
        assert state.terms is None and ignored == [f"{bad.split('=')[0]}={bad.split('=')[1]!r} is not understood"]


def test_an_address_with_a_threshold_not_offered_says_so(bundled):
    app = Explorer(bundled, ViewState(tab="safety", terms=7.0))
    assert app.control("terms").read() == 0
    assert "a preferred-term threshold of 7% is not offered" in app.status.value
