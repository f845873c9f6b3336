"""Conditional BDS columns: a parameter without visits beside one with them, and a dataset of best overall
response with no AVISIT, AVISITN, ATPT or DTYPE column at all."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.adam_corpus.io_common import MISSING, adsl, write_r_csv

EXPECTED = {
    "subjects": 8,
    "weight_week4_mean": {"Placebo": 72.5, "Drug": 82.0},  # 71…74 and 79, 81, 83, 85
    "bor_subjects": 8,
}


def build(folder: Path) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    subjects = adsl()
    write_r_csv(subjects, folder / "adsl.csv")
    rows = []
    for i, subject in enumerate(subjects["USUBJID"]):
        base = 70.0 + i * (1 if i < 4 else 2)
        rows.append({"USUBJID": subject, "PARAMCD": "WEIGHT", "PARAM": "Weight (kg)", "AVISIT": "Baseline",
                     "AVISITN": 0.0, "AVAL": base, "BASE": base, "CHG": MISSING, "ABLFL": "Y", "ANL01FL": "Y"})
        rows.append({"USUBJID": subject, "PARAMCD": "WEIGHT", "PARAM": "Weight (kg)", "AVISIT": "Week 4",
                     "AVISITN": 4.0, "AVAL": base + 1.0, "BASE": base, "CHG": 1.0, "ABLFL": MISSING,
                     "ANL01FL": "Y"})
        # a best-overall-response record of the same dataset has no visit at all
        rows.append({"USUBJID": subject, "PARAMCD": "OVRLRESP", "PARAM": "Overall response (flag)",
                     "AVISIT": MISSING, "AVISITN": MISSING, "AVAL": float(i % 2), "BASE": MISSING, "CHG": MISSING,
                     "ABLFL": MISSING, "ANL01FL": "Y"})
    write_r_csv(pd.DataFrame(rows).astype(object), folder / "adeff.csv")
    responses = ["CR", "PR", "SD", "PD", "CR", "CR", "CR", "PR"]
    adrs = pd.DataFrame({"USUBJID": subjects["USUBJID"], "PARAMCD": "BOR", "PARAM": "Best overall response",
                         "AVALC": responses,
                         "AVAL": [{"CR": 1.0, "PR": 2.0, "SD": 3.0, "PD": 4.0}[r] for r in responses],
                         "ANL01FL": "Y"})
    write_r_csv(adrs, folder / "adrs.csv")
    return EXPECTED
