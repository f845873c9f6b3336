"""Tables against values computed by hand on the tiny study, and against scipy directly."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from scipy import stats

import trialviz
from tests.tiny import tiny_study


@pytest.fixture
def tiny(tmp_path):
    return tiny_study(tmp_path / "tiny")


def _row(table, **keys):
    mask = np.ones(len(table), dtype=bool)
    for key, value in keys.items():
        mask &= (table[key] == value).to_numpy()
    [index] = np.flatnonzero(mask)
    return table.iloc[index]


def test_endpoint_summary_by_hand(tiny):
    table = trialviz.endpoint_summary(tiny, "SCORE", measures=["value", "change"])
    # High at week 4: S3 21 and S5 44 (S4 missed the visit) → n 2, mean 32.5, SD sqrt(((21-32.5)²+(44-32.5)²)/1)
    high = _row(table, measure="value", cohort="High", visit="Week 4")
    assert high["n"] == 2 and high["mean"] == 32.5
    assert math.isclose(high["sd"], math.sqrt(2 * 11.5 ** 2))
    half = stats.t.ppf(0.975, 1) * high["sd"] / math.sqrt(2)
    assert math.isclose(high["ci_low"], 32.5 - half) and math.isclose(high["ci_high"], 32.5 + half)
    assert (high["median"], high["min"], high["max"]) == (32.5, 21, 44)
    assert (high["q1"], high["q3"]) == (21 + 0.25 * 23, 21 + 0.75 * 23)
    # change, Low: S1 −4, S2 −3 → mean −3.5
    low = _row(table, measure="change", cohort="Low", visit="Week 4")
    assert (low["n"], low["mean"]) == (2, -3.5)
    # Total baseline: 10, 20, 30, 40, 50 → mean 30, median 30, SD sqrt(250)
    total = _row(table, measure="value", cohort="Total", visit="Baseline")
    assert (total["n"], total["mean"], total["median"]) == (5, 30, 30)
    assert math.isclose(total["sd"], math.sqrt(250))
    # no change rows at baseline
    assert not ((table["measure"] == "change") & (table["visit"] == "Baseline")).any()


def test_single_value_has_no_sd_or_ci(tiny):
    table = trialviz.endpoint_summary(trialviz.filter_study(tiny, subjects=["S1"]), "SCORE")
    row = _row(table, measure="value", cohort="Low", visit="Week 4")
    assert row["n"] == 1 and row["mean"] == 6 and math.isnan(row["sd"]) and math.isnan(row["ci_low"])
    assert "High" not in set(table["cohort"])  # a cohort the filter removed is no part of the table


def test_ae_overview_by_hand(tiny):
    table = trialviz.ae_overview(tiny)
    # safety population: S1, S2 (Low), S3, S4 (High); S5 is not in it; S3's Rash is not treatment-emergent
    any_low = _row(table, category="any", cohort="Low")
    assert (any_low["subjects"], any_low["denominator"], any_low["events"], any_low["percent"]) == (2, 2, 3, 100)
    any_high = _row(table, category="any", cohort="High")
    assert (any_high["subjects"], any_high["denominator"], any_high["events"], any_high["percent"]) == (1, 2, 2, 50)
    assert tuple(_row(table, category="serious", cohort="Total")[["subjects", "events"]]) == (1, 1)
    assert tuple(_row(table, category="grade3", cohort="Total")[["subjects", "events"]]) == (1, 1)
    # related: S1 Nausea (RELATED), S2 Headache (POSSIBLE), S3 Nausea (RELATED)
    assert tuple(_row(table, category="related", cohort="Total")[["subjects", "events"]]) == (3, 3)
    # window days 1–11: S1 day 1, S2 day 5, S3 day 2
    assert tuple(_row(table, category="window", cohort="Total")[["subjects", "events"]]) == (3, 3)
    assert any("SAFFL" in note for note in table.attrs["notes"])


def test_ae_period_by_hand(tiny):
    table = trialviz.ae_period(tiny)
    after = _row(table, period="after", category="any", cohort="Total")
    assert (after["subjects"], after["events"]) == (2, 2)  # S1 day 20, S3 day 30
    day1 = _row(table, period="treatment_day", category="any", cohort="Total")
    assert (day1["subjects"], day1["events"]) == (1, 1)


def test_counts_never_exceed_the_population(bundled, pilot):
    for study in (bundled, pilot):
        for table in (trialviz.ae_overview(study), trialviz.ae_period(study)):
            assert (table["subjects"] <= table["denominator"]).all()
            assert (table["subjects"] <= table["events"]).all()
            expected = 100 * table["subjects"] / table["denominator"]
            assert np.allclose(table["percent"], expected)


def test_cdisc_pilot_treatment_emergent_adverse_events(pilot):
    """The published CSR numbers: TEAEs in 65 (75.6%) / 77 (91.7%) / 76 (90.5%) patients with 281/412/433
    events; serious TEAEs in 0, 1 and 2 patients."""
    table = trialviz.ae_overview(pilot)
    expected = {"Placebo": (65, 75.6, 281), "Xanomeline Low Dose": (77, 91.7, 412),
                "Xanomeline High Dose": (76, 90.5, 433)}
    for cohort, (subjects, percent, events) in expected.items():
        row = _row(table, category="any", cohort=cohort)
        assert (row["subjects"], round(row["percent"], 1), row["events"]) == (subjects, percent, events)
    serious = table[table["category"] == "serious"].set_index("cohort")["subjects"]
    assert serious[["Placebo", "Xanomeline Low Dose", "Xanomeline High Dose"]].tolist() == [0, 1, 2]


def test_followup_summary(bundled, tiny):
    table = trialviz.followup_summary(bundled).set_index("cohort")
    assert round(table.at["Total", "median"], 1) == 24.1
    assert table.at["Total", "n"] == 20
    tiny_table = trialviz.followup_summary(tiny).set_index("cohort")
    # Low: S1 365 days, S2 546 days → months 11.99…, 17.93…
    assert np.allclose(tiny_table.loc["Low", ["min", "max"]].to_numpy(dtype=float),
                       [365 / 30.4375, 546 / 30.4375])


def test_unknown_endpoint_is_a_clear_error(bundled):
    with pytest.raises(trialviz.AnalysisError, match="Unknown endpoint 'NOPE'.*MRSS"):
        trialviz.endpoint_summary(bundled, "NOPE")


def test_period_tables_group_kinds_of_event_under_their_period(bundled):
    from trialviz.report.tables import as_html
    from trialviz.views import report_table

    html = as_html(report_table("primary-endpoint", bundled))
    headings = re.findall(r'class="gt_group_heading"[^>]*>([^<]+)<', html)
    assert [h.strip() for h in headings] == ["Primary-endpoint window: Infusion and first 10 days (study days 1–11)",
                                             "After the window (day ≥ 12)"]
    stubs = [s.strip() for s in re.findall(r'gt_stub">([^<]+)<', html)]
    assert stubs[0] == "Serious or grade ≥ 3 adverse event" and "Any adverse event" in stubs
    assert not any("·" in s for s in stubs), "row labels repeat the period"
