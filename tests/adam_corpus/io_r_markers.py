"""R export (``write.csv``): quoted ``"NA"`` is a value (North America), bare ``NA`` is missing.

Missing values everywhere a real study has them: a date, a flag (blank means N), a number, causality
(AEREL not assessed), a datetime (ISO ``2014-07-02T11:45``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.adam_corpus.io_common import MISSING, adsl, write_r_csv

EXPECTED = {
    "subjects": 8,
    "region": {"NA": 3, "Europe": 4},  # and one subject with REGION1 missing
    "region_missing": 1,
    "age_missing": 1,
    # efficacy population: EFFFL is missing (= N) for S03 and S07; S02's Week 2 AVAL is NA
    "aval_n_week2": {"Placebo": 2, "Drug": 3},
    "adverse_events": 4,
}


def build(folder: Path) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    subjects = adsl(REGION1=["NA", "NA", "Europe", MISSING, "Europe", "NA", "Europe", "Europe"])
    subjects["AGE"] = subjects["AGE"].astype(object)
    subjects.loc[3, "AGE"] = MISSING
    subjects.loc[5, "TRTSDT"] = MISSING
    subjects["EFFFL"] = ["Y", "Y", MISSING, "Y", "Y", "Y", MISSING, "Y"]
    subjects["COMP24FL"] = ["Y", MISSING, "Y", "Y", MISSING, "Y", "Y", "Y"]
    write_r_csv(subjects, folder / "adsl.csv")
    ids = subjects["USUBJID"].tolist()
    rows = []
    for i, subject in enumerate(ids):
        arm = subjects.loc[i, "TRT01P"]
        base = 120.0 + i
        for visit, visitn, delta in (("Baseline", 0.0, 0.0), ("Week 2", 2.0, -2.0 - i)):
            aval = base + delta
            rows.append({"STUDYID": "IO01", "USUBJID": subject, "PARAMCD": "SYSBP",
                         "PARAM": "Systolic Blood Pressure (mmHg)", "AVISIT": visit, "AVISITN": visitn,
                         "ADT": "2014-07-02T11:45" if visitn else "2014-01-02", "AVAL": aval,
                         "BASE": base, "CHG": MISSING if visitn == 0 else aval - base,
                         "ABLFL": "Y" if visitn == 0 else MISSING, "ANL01FL": "Y", "TRTP": arm, "TRTA": arm})
    advs = pd.DataFrame(rows)
    week2 = advs.index[(advs["USUBJID"] == "S02") & (advs["AVISIT"] == "Week 2")][0]
    advs.loc[week2, ["AVAL", "CHG"]] = [MISSING, MISSING]
    advs.loc[advs["USUBJID"] == "S07", "ADT"] = MISSING
    write_r_csv(advs.astype(object), folder / "advs.csv")
    adae = pd.DataFrame({
        "STUDYID": "IO01", "USUBJID": ["S01", "S02", "S05", "S06"],
        "AETERM": ["Headache", "Nausea", "Rash", "Headache"], "AEDECOD": ["Headache", "Nausea", "Rash", "Headache"],
        "AEBODSYS": ["Nervous system disorders", "Gastrointestinal disorders", "Skin disorders",
                     "Nervous system disorders"],
        "ASTDT": ["2014-01-05", MISSING, "2014-02-01", "2014-02-03"], "ASTDY": [4.0, MISSING, 26.0, 28.0],
        "AESEV": ["MILD", "MODERATE", "MILD", MISSING], "AESER": ["N", "N", "N", "N"],
        "AEREL": ["PROBABLE", MISSING, "NONE", "POSSIBLE"], "TRTEMFL": ["Y", "Y", MISSING, "Y"],
        "TRTA": ["Placebo", "Placebo", "Drug", "Drug"],
    })
    write_r_csv(adae.astype(object), folder / "adae.csv")
    return EXPECTED
