"""ADSL with screened subjects never randomised: "Screen Failure", "NOT ASSIGNED" (upper case, TRT01P
blank) and "Not Treated", with blank flags and dates, one with a pre-treatment adverse event and one with a
screening measurement."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.adam_corpus.io_common import MISSING, adsl, write_r_csv

EXPECTED = {
    "screened": 11,
    "enrolled": {"Placebo": 4, "Drug": 4, "Total": 8},
    "screen_failures": 3,
    "cohorts": ["Placebo", "Drug"],
    "set_aside": {"adae.csv": 1, "advs.csv": 1},
    "adverse_events": 3,
}


def build(folder: Path, *, not_treated: bool = False) -> dict:
    """With ``not_treated``, S08 was randomised to Drug but never treated (TRT01A "Not Treated", SAFFL
    blank): enrolled in Drug, in no safety column."""
    folder.mkdir(parents=True, exist_ok=True)
    subjects = adsl(EOSSTT=["COMPLETED"] * 7 + ["DISCONTINUED"])
    if not_treated:
        subjects["TRT01A"] = subjects["TRT01A"].astype(object)
        subjects.loc[7, ["TRT01A", "TRT01AN", "SAFFL", "TRTSDT"]] = ["Not Treated", MISSING, MISSING, MISSING]
    failures = pd.DataFrame({
        "STUDYID": "IO01", "USUBJID": ["S09", "S10", "S11"],
        "ARM": ["Screen Failure", "NOT ASSIGNED", "Not Treated"],
        "TRT01P": ["Screen Failure", MISSING, "not treated"], "TRT01PN": [MISSING] * 3,
        "TRT01A": ["Screen Failure", MISSING, MISSING], "TRT01AN": [MISSING] * 3,
        "AGE": [50.0, 61.0, 33.0], "SEX": ["F", "M", "F"], "TRTSDT": [MISSING] * 3,
        "SAFFL": [MISSING] * 3, "ITTFL": ["N", MISSING, MISSING], "EFFFL": [MISSING] * 3,
        "EOSSTT": ["DISCONTINUED"] * 3,
    })
    write_r_csv(pd.concat([subjects.astype(object), failures.astype(object)], ignore_index=True),
                folder / "adsl.csv")
    adae = pd.DataFrame({
        "USUBJID": ["S01", "S05", "S09", "S06"], "AEDECOD": ["Headache", "Nausea", "Syncope", "Rash"],
        "AEBODSYS": ["Nervous system disorders", "Gastrointestinal disorders", "Nervous system disorders",
                     "Skin disorders"],
        "AESEV": ["MILD", "MILD", "SEVERE", "MODERATE"], "AESER": ["N", "N", "Y", "N"],
        "AEREL": ["POSSIBLE", "NONE", MISSING, "PROBABLE"], "TRTEMFL": ["Y", "Y", MISSING, "Y"],
        "ASTDY": [3.0, 5.0, -10.0, 8.0], "TRTA": ["Placebo", "Drug", MISSING, "Drug"],
    })
    write_r_csv(adae.astype(object), folder / "adae.csv")
    rows = [{"USUBJID": s, "PARAMCD": "PULSE", "PARAM": "Pulse (beats/min)", "AVISIT": "Baseline", "AVISITN": 0.0,
             "AVAL": 70.0 + i, "ABLFL": "Y", "ANL01FL": "Y"} for i, s in enumerate(subjects["USUBJID"])]
    rows.append({"USUBJID": "S10", "PARAMCD": "PULSE", "PARAM": "Pulse (beats/min)", "AVISIT": "Screening",
                 "AVISITN": -1.0, "AVAL": 90.0, "ABLFL": MISSING, "ANL01FL": MISSING})
    write_r_csv(pd.DataFrame(rows).astype(object), folder / "advs.csv")
    return EXPECTED
