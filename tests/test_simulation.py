"""The bundled MSC-SSc data are exactly what the seeded generator writes, and say they are simulated."""

from __future__ import annotations

import pandas as pd

from trialviz.datasets import msc_ssc
from trialviz.paths import BUNDLED_STUDY_DIR


def test_generator_reproduces_the_bundled_files_byte_for_byte(tmp_path):
    written = msc_ssc.write(tmp_path)
    assert {p.name for p in written} == {"adsl.csv", "adeff.csv", "adae.csv", "adtte.csv", "adlb.csv"}
    for path in written:
        assert path.read_bytes() == (BUNDLED_STUDY_DIR / path.name).read_bytes(), path.name


def test_a_different_seed_gives_different_data_with_the_same_facts(tmp_path):
    other = msc_ssc.simulate(seed=7)
    bundled = pd.read_csv(BUNDLED_STUDY_DIR / "adeff.csv")
    assert not other["adeff"]["AVAL"].reset_index(drop=True).equals(bundled["AVAL"])
    adae = other["adae"]
    late = adae[adae["ASTDY"] >= 12]
    assert len(late) == 36 and late["USUBJID"].nunique() == 14
    assert (late["AESER"] == "Y").all() and (late["AETOXGR"] >= 3).all() and (late["AEREL"] == "NOT RELATED").all()


def test_study_is_labelled_simulated(bundled):
    assert bundled.meta.simulated
    assert "SIMULATED" in bundled.meta.simulation_note
    assert "simulated" in repr(bundled).lower()


def test_simulated_data_respect_eligibility_and_ranges(bundled):
    adsl = bundled.subjects
    assert adsl["AGE"].between(18, 70).all()
    m = bundled.measurements
    mrss = m[m["PARAMCD"] == "MRSS"]
    assert mrss["AVAL"].between(0, 51).all()
    assert mrss.loc[mrss["ABLFL"] == "Y", "AVAL"].min() >= 15
    haq = m[m["PARAMCD"] == "HAQDI"]["AVAL"]
    assert ((haq * 8).round(9) % 1 == 0).all(), "HAQ-DI is a mean of 8 integer scores"
    assert adsl["DTHFL"].eq("N").all()


def test_missed_visits_exist_and_follow_up_is_cut_off_for_late_patients(bundled):
    m = bundled.measurements
    per_visit = m[m["PARAMCD"] == "MRSS"].groupby("AVISIT", observed=True)["USUBJID"].nunique()
    assert per_visit["Month 1"] < 20
    assert (bundled.subjects["EOSSTT"] == "ONGOING").sum() >= 5
    late = bundled.subjects.sort_values("TRTSDT").tail(5)
    assert (late["EOSSTT"] == "ONGOING").all()


def test_skin_improves_most_at_months_3_to_6(bundled):
    from trialviz.tables import endpoint_summary

    change = endpoint_summary(bundled, "MRSS", measures=["change"], total=True)
    total = change[change["cohort"] == "Total"].set_index("visit")["mean"]
    assert total[["Month 3", "Month 6"]].min() < total[["Month 1", "Month 18", "Month 24"]].min()
    assert total["Month 6"] < total["Month 24"] < 0
