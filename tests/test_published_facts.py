"""Every checkable published fact of MSC-SSc is derived from the simulated patient-level data by the
package's own functions and compared with the published value exactly."""

from __future__ import annotations

import pytest

from trialviz.io.config import read_study_file
from trialviz.paths import BUNDLED_STUDY_DIR
from trialviz.tables.facts import CHECKS, compute_fact, fact_matches, published_facts

FACTS = read_study_file(BUNDLED_STUDY_DIR / "study.toml").meta.facts
CHECKED = [f for f in FACTS if f.check]


def test_the_study_file_holds_the_published_facts():
    keys = {f.key for f in FACTS}
    assert {"enrolled", "sex", "cohorts", "enrolment_window", "primary_endpoint", "infusion_related_events",
            "late_serious_events", "late_serious_patients", "followup_median", "followup_iqr"} <= keys
    assert all(f.source for f in FACTS)
    assert len(CHECKED) >= 17


@pytest.mark.parametrize("fact", CHECKED, ids=[f.key for f in CHECKED])
def test_fact_is_reproduced(bundled, fact):
    computed = compute_fact(bundled, fact)
    assert fact_matches(fact, computed), f"{fact.label}: published {fact.value!r}, computed {computed!r}"


def test_published_numbers_exactly(bundled):
    by_key = {f.key: compute_fact(bundled, f) for f in CHECKED}
    assert by_key["enrolled"] == 20
    assert by_key["sex"] == {"F": 13, "M": 7}
    assert by_key["cohorts"] == {"MSC 1×10⁶/kg": 10, "MSC 3×10⁶/kg": 10}
    assert by_key["enrolment_window"] == ["2014-03-24", "2020-01-06"]
    assert by_key["primary_endpoint"] == 0
    assert by_key["infusion_related_events"] == 3
    assert by_key["infusion_related_patients"] == 2
    assert by_key["infusion_related_terms"] == [["Flushing, grade 1"], ["Asthenia, grade 2", "Nausea, grade 1"]]
    assert (by_key["late_serious_events"], by_key["late_serious_patients"]) == (36, 14)
    assert by_key["late_serious_percent"] == 70.0
    assert by_key["late_related_events"] == 0
    assert round(by_key["followup_median"], 1) == 24.1
    assert [round(v, 1) for v in by_key["followup_iqr"]] == [20.8, 24.5]


def test_text_only_facts_are_not_derived(bundled):
    table = published_facts(bundled)
    text_only = table[table["computed"].isna()]
    assert set(text_only["key"]) == {"design", "efficacy_statement", "immune_substudy"}
    assert text_only["matches"].isna().all()


def test_a_wrong_published_value_is_detected(bundled):
    fact = next(f for f in CHECKED if f.key == "late_serious_events")
    assert not fact_matches(type(fact)(**{**fact.__dict__, "value": 35}), compute_fact(bundled, fact))


def test_every_named_check_exists():
    assert {f.check for f in CHECKED} <= set(CHECKS)


def test_no_event_between_day_10_and_12_so_both_readings_agree(bundled):
    days = bundled.adverse_events["ASTDY"]
    assert not days.between(10, 12).any()
    assert ((days >= 1) & (days <= 10)).sum() == ((days >= 1) & (days <= 11)).sum() == 3
