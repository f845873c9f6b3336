"""Derived records beside observed ones: an AVERAGE of the timepoints in the same visit, and LOCF records
picked by the analysis flag where the observed record is not flagged (the CDISC pilot's ADAS-Cog)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.adam_corpus.bds_base import adsl, arm_of, write

TIMEPOINTS = {"FIRST READING": 1, "SECOND READING": 2}


def build(folder: Path) -> dict:
    """Write the study; return the expected numbers.

    ``DBP``: two readings per visit and their AVERAGE (``DTYPE``, no ``ATPT``), all flagged. ``SCORE``:
    observed at Baseline, Week 4 and Week 8; S-002 and S-005 miss Week 8, where a LOCF record (their Week 4
    value) is flagged; S-004's Week 8 observed record is out of window (not flagged) and a LOCF record is
    flagged instead."""
    subjects = adsl(8)
    rows = []
    for k, subject in enumerate(subjects["USUBJID"]):
        base_by_tp = {tp: 70.0 + k + 3 * n for tp, n in TIMEPOINTS.items()}
        base_avg = sum(base_by_tp.values()) / 2
        for visit, visitn in {"Baseline": 0, "Week 4": 4}.items():
            values = {tp: v + (0 if visitn == 0 else -2 - k % 3 - n) for (tp, v), n in
                      zip(base_by_tp.items(), TIMEPOINTS.values(), strict=True)}
            for tp, value in values.items():
                rows.append({"USUBJID": subject, "PARAMCD": "DBP", "PARAM": "Diastolic Blood Pressure",
                             "AVALU": "mmHg", "AVISIT": visit, "AVISITN": visitn, "ATPT": tp,
                             "ATPTN": TIMEPOINTS[tp], "DTYPE": "", "AVAL": value, "BASE": base_by_tp[tp],
                             "CHG": None if visitn == 0 else value - base_by_tp[tp],
                             "ABLFL": "Y" if visitn == 0 else "", "ANL01FL": "Y"})
            average = sum(values.values()) / 2
            rows.append({"USUBJID": subject, "PARAMCD": "DBP", "PARAM": "Diastolic Blood Pressure",
                         "AVALU": "mmHg", "AVISIT": visit, "AVISITN": visitn, "ATPT": "", "ATPTN": None,
                         "DTYPE": "AVERAGE", "AVAL": average, "BASE": base_avg,
                         "CHG": None if visitn == 0 else average - base_avg, "ABLFL": "", "ANL01FL": "Y"})
        score = {"Baseline": 30.0 + k, "Week 4": 28.0 + k - k % 2, "Week 8": 25.0 + k}
        for visit, visitn in {"Baseline": 0, "Week 4": 4, "Week 8": 8}.items():
            missed = visit == "Week 8" and subject in ("S-002", "S-005")
            late = visit == "Week 8" and subject == "S-004"
            if not missed:
                rows.append({"USUBJID": subject, "PARAMCD": "SCORE", "PARAM": "Symptom score", "AVISIT": visit,
                             "AVISITN": visitn, "DTYPE": "", "AVAL": score[visit], "BASE": score["Baseline"],
                             "CHG": None if visitn == 0 else score[visit] - score["Baseline"],
                             "ABLFL": "Y" if visitn == 0 else "", "ANL01FL": "" if late else "Y"})
            if missed or late:
                rows.append({"USUBJID": subject, "PARAMCD": "SCORE", "PARAM": "Symptom score", "AVISIT": visit,
                             "AVISITN": visitn, "DTYPE": "LOCF", "AVAL": score["Week 4"], "BASE": score["Baseline"],
                             "CHG": score["Week 4"] - score["Baseline"], "ABLFL": "", "ANL01FL": "Y"})
    adeff = pd.DataFrame(rows)
    write(folder, subjects, adeff, "adeff")
    arms = arm_of(subjects)
    flagged = adeff[adeff["ANL01FL"] == "Y"].assign(arm=adeff["USUBJID"].map(arms))
    dbp = flagged[(flagged["PARAMCD"] == "DBP") & (flagged["AVISIT"] == "Week 4")]
    observed = dbp[dbp["DTYPE"] == ""].groupby(["arm", "ATPT"])["CHG"].agg(["count", "mean"])
    averaged = dbp[dbp["DTYPE"] == "AVERAGE"].groupby("arm")["CHG"].agg(["count", "mean"])
    week8 = flagged[(flagged["PARAMCD"] == "SCORE") & (flagged["AVISIT"] == "Week 8")]
    return {"dbp_observed": observed.to_dict("index"), "dbp_average": averaged.to_dict("index"),
            "score_week8": week8.groupby("arm")["AVAL"].agg(["count", "mean"]).to_dict("index"),
            "score_week8_subjects": week8["USUBJID"].nunique(), "locf_subjects": ["S-002", "S-004", "S-005"]}
