"""Drill-down: the patients listed behind a cell are exactly the patients the cell counts, for every row and
cohort of every counting table of the registry, on any filtered study (hypothesis) and on the CDISC pilot."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given

import trialviz
from tests.test_properties import FAST, bundled, filtered, subject_filters
from trialviz.filters import restrict_events
from trialviz.tables.common import TOTAL
from trialviz.views import VIEWS, View

COUNTING = [view for view in VIEWS.values() if view.drill is not None]
OPTIONS = {"ae-soc-pt": [{}, {"category": "serious"}, {"min_percent": 20.0}]}


def test_every_counting_table_has_a_drill_down():
    """Each table of patients counted per cohort says who they are (``subjects`` is such a count)."""
    counting = {name for name, view in VIEWS.items() if view.kind == "table" and view.in_report
                and name not in ("km", "responders", "published-facts", "baseline", "endpoint-summary",
                                 "endpoint-tests", "ancova", "category-summary")}
    assert counting == {view.name for view in COUNTING}


def check_every_cell(view: View, study: trialviz.Study, **options: object) -> int:
    """Each cell's listed patients against its count; returns the number of cells checked."""
    call = view.bind(**options)
    try:
        table = call.compute(study)
    except trialviz.AnalysisError:
        return 0
    rows = table.drop_duplicates(list(view.drill_keys))
    checked = 0
    for _, row in rows.iterrows():
        cells = table
        for key in view.drill_keys:
            cells = cells[cells[key] == row[key]]
        for cell in cells.itertuples(index=False):
            cohort = None if cell.cohort == TOTAL else str(cell.cohort)
            listed = call.patients(study, row.to_dict(), cohort)
            assert len(listed) == int(cell.subjects), (view.name, row.to_dict(), cell.cohort, listed)
            assert len(set(listed)) == len(listed) and set(listed) <= set(study.subjects["USUBJID"].astype(str))
            checked += 1
    return checked


@pytest.mark.parametrize("view", COUNTING, ids=lambda view: view.name)
def test_each_cell_lists_the_patients_it_counts_on_the_bundled_study(view, bundled):
    checked = sum(check_every_cell(view, bundled, **options) for options in OPTIONS.get(view.name, [{}]))
    assert checked > 0


@pytest.mark.parametrize("view", COUNTING, ids=lambda view: view.name)
def test_each_cell_lists_the_patients_it_counts_on_the_pilot(view, pilot):
    """The pilot grades by severity (MILD … SEVERE) and has no primary-endpoint window, nor CRISS items, nor lab
    grades."""
    checked = check_every_cell(view, pilot)
    assert checked > 0 or view.name in ("primary-endpoint", "criss", "revised-criss", "lab-grade")


@FAST
@given(subject_filters())
def test_each_cell_lists_the_patients_it_counts_on_any_filtered_study(rule):
    view_study = filtered(rule, bundled())
    for view in COUNTING:
        check_every_cell(view, view_study)
        check_every_cell(view, restrict_events(view_study, onset=(1, 365)))


def test_grade_missing_and_severity_rows_list_their_patients(pilot):
    """"Grade missing" once raised an error and "Life threatening" listed nobody: both are rows like others."""
    events = pilot.adverse_events.copy()
    events.loc[events.index[:5], "AESEV"] = None
    events.loc[events.index[5:8], "AESEV"] = "LIFE THREATENING"
    from dataclasses import replace

    study = replace(pilot, adverse_events=events)
    table = trialviz.ae_grade(study)
    assert {"missing", "LIFE THREATENING"} <= set(table["grade"])
    assert check_every_cell(VIEWS["ae-grade"], study) == len(table)
    life = VIEWS["ae-grade"].bind().patients(study, {"grade": "LIFE THREATENING"}, None)
    assert len(life) == int(table.query("grade == 'LIFE THREATENING' and cohort == 'Total'")["subjects"].iloc[0]) > 0


def test_a_cohort_cell_lists_that_cohort_only(bundled):
    call = VIEWS["ae-overview"].bind()
    first, second = bundled.cohort_values()
    row = {"category": "serious"}
    listed = {cohort: set(call.patients(bundled, row, cohort)) for cohort in (first, second)}
    cohort_of = bundled.subjects.set_index("USUBJID")["TRT01A"]
    for cohort, patients in listed.items():
        assert patients and all(cohort_of[p] == cohort for p in patients)
    assert set(call.patients(bundled, row, None)) == listed[first] | listed[second]
    assert pd.Series(sorted(listed[first])).is_unique
