"""The adverse-event tables count on integer codes; every count equals pandas' grouping of the events (distinct
patients and number of events per class, term and cohort, and over all cohorts)."""

from __future__ import annotations

import pandas as pd
import pytest

import trialviz
from trialviz.filters import SubjectFilter
from trialviz.tables.common import TOTAL
from trialviz.tables.safety import (
    _coded,
    ae_overview,
    ae_soc_pt,
    event_kinds,
    overview_categories,
    safety_events,
)


def views(bundled, pilot) -> dict[str, trialviz.Study]:
    return {"bundled": bundled, "pilot": pilot,
            "pilot, one cohort": SubjectFilter(cohorts=(pilot.cohort_values()[1],)).apply(pilot),
            "pilot, women": SubjectFilter(sex=("F",)).apply(pilot)}


def expected_counts(events: pd.DataFrame, keys: list[str]) -> dict[tuple, tuple[int, int]]:
    counts = {}
    for by_cohort in (True, False):
        grouped = events.groupby([*keys, "cohort"] if by_cohort else keys, observed=True)["USUBJID"]
        for key, part in grouped:
            key = key if isinstance(key, tuple) else (key,)
            counts[key if by_cohort else (*key, TOTAL)] = (part.nunique(), len(part))
    return counts


@pytest.mark.parametrize("which", ["bundled", "pilot", "pilot, one cohort", "pilot, women"])
def test_soc_and_term_counts_are_pandas_groupings(which, bundled, pilot):
    view = views(bundled, pilot)[which]
    table = ae_soc_pt(view)
    events, _ = safety_events(view)
    events = events.assign(soc=_coded(events, ("AEBODSYS", "AESOC"), "Uncoded"), pt=_coded(events, ("AEDECOD",),
                                                                                             "Uncoded"))
    for keys, rows in ((["soc"], table[(table["soc"] != "") & (table["pt"] == "")]),
                       (["soc", "pt"], table[table["pt"] != ""])):
        expected = expected_counts(events, keys)
        got = {(*(getattr(r, k) for k in keys), r.cohort): (r.subjects, r.events) for r in rows.itertuples()}
        assert {k: v for k, v in got.items() if v != (0, 0)} == expected
        cohorts = set(rows["cohort"])
        assert TOTAL in cohorts and len(rows) == len({k[:-1] for k in got}) * len(cohorts)  # the full grid


@pytest.mark.parametrize("which", ["bundled", "pilot", "pilot, one cohort", "pilot, women"])
def test_overview_counts_are_pandas_groupings(which, bundled, pilot):
    view = views(bundled, pilot)[which]
    table = ae_overview(view)
    events, _ = safety_events(view)
    checked = 0
    for key, _label, selected in overview_categories(view, events):
        chosen = events[selected.to_numpy()]
        rows = table[table["category"] == key].set_index("cohort")
        for cohort in rows.index:
            part = chosen if cohort == TOTAL else chosen[chosen["cohort"] == cohort]
            assert (rows.loc[cohort, "subjects"], rows.loc[cohort, "events"]) == (part["USUBJID"].nunique(),
                                                                                 len(part)), (key, cohort)
            checked += 1
    assert checked >= 2 * len(event_kinds(view, events))
