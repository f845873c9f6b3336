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


def computed(view: View, study: trialviz.Study, **options: object) -> pd.DataFrame | None:
    """The view's table, or ``None`` where the study cannot give it (a documented :class:`AnalysisError`)."""
    try:
        return view.bind(**options).compute(study)
    except trialviz.AnalysisError:
        return None


def check_every_cell(view: View, study: trialviz.Study, table: pd.DataFrame | None = None, **options: object) -> int:
    """Each cell's listed patients against its count (in ``table``, the view's table of ``study`` when already
    computed); returns the number of cells checked."""
    call = view.bind(**options)
    table = computed(view, study, **options) if table is None else table
    if table is None:
        return 0
    subjects = set(study.subjects["USUBJID"].astype(str))
    checked = 0
    for _, cells in table.groupby(list(view.drill_keys), sort=False, dropna=False):
        row = cells.iloc[0].to_dict()
        for cell in cells.itertuples(index=False):
            cohort = None if cell.cohort == TOTAL else str(cell.cohort)
            listed = call.patients(study, row, cohort)
            assert len(listed) == int(cell.subjects), (view.name, row, cell.cohort, listed)
            assert len(set(listed)) == len(listed) and set(listed) <= subjects
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
    """Also with adverse events restricted to the first year, for each table that restriction changes (the
    lab tables, which read no adverse event, would be checked twice on the same data)."""
    view_study = filtered(rule, bundled())
    first_year = restrict_events(view_study, onset=(1, 365))
    for view in COUNTING:
        table, restricted = computed(view, view_study), computed(view, first_year)
        check_every_cell(view, view_study, table)
        if restricted is None or table is None or not restricted.equals(table):
            check_every_cell(view, first_year, restricted)


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
