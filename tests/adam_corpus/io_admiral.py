"""An admiral-like R export (``write.csv``): every convention at once, as a third-party study delivers it.

ADSL with screen failures (ARM "Screen Failure", blank flags and dates) and REGION1 "NA" (North America);
ADAE with causality not assessed (bare NA), TRTEMFL blank on pre-treatment events, ISO datetimes; ADVS
with timepoints (ATPT) and derived AVERAGE records (DTYPE); ADRS of best overall response without visits;
ADTTE (Parquet) with OS and PFS. ``trialviz validate`` must report no error.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.adam_corpus.io_common import MISSING, adsl, write_r_csv

EXPECTED = {"subjects": 8, "screen_failures": 2, "screened": 10, "tte_params": ["OS", "PFS"]}


def build(folder: Path) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    subjects = adsl(REGION1=["NA", "Europe"] * 4, RANDFL="Y", RANDDT="2014-01-01", TRTSDTM="2014-01-02T08:30",
                    DTHFL=[MISSING] * 7 + ["Y"], DTHDT=[MISSING] * 7 + ["2014-06-30"])
    failures = pd.DataFrame({
        "STUDYID": "IO01", "USUBJID": ["S09", "S10"], "ARM": ["Screen Failure", "Screen Failure"],
        "TRT01P": ["Screen Failure", "Screen Failure"], "TRT01PN": [MISSING] * 2, "TRT01A": [MISSING] * 2,
        "TRT01AN": [MISSING] * 2, "AGE": [55.0, 62.0], "SEX": ["M", "F"], "TRTSDT": [MISSING] * 2,
        "SAFFL": [MISSING] * 2, "ITTFL": [MISSING] * 2, "EFFFL": [MISSING] * 2, "REGION1": ["NA", MISSING],
        "RANDFL": [MISSING] * 2, "RANDDT": [MISSING] * 2, "TRTSDTM": [MISSING] * 2, "DTHFL": [MISSING] * 2,
        "DTHDT": [MISSING] * 2,
    })
    write_r_csv(pd.concat([subjects.astype(object), failures.astype(object)], ignore_index=True),
                folder / "adsl.csv")
    adae = pd.DataFrame({
        "STUDYID": "IO01", "USUBJID": ["S01", "S02", "S05", "S09"],
        "AETERM": ["HEADACHE", "NAUSEA", "RASH", "DIZZINESS"], "AEDECOD": ["Headache", "Nausea", "Rash", "Dizziness"],
        "AEBODSYS": ["Nervous system disorders", "Gastrointestinal disorders", "Skin disorders",
                     "Nervous system disorders"],
        "ASTDTM": ["2014-01-05T10:00", MISSING, "2014-02-01T00:00", "2013-12-20T09:15"],
        "ASTDT": ["2014-01-05", MISSING, "2014-02-01", "2013-12-20"], "ASTDY": [4.0, MISSING, 31.0, MISSING],
        "AESEV": ["MILD", "MODERATE", "MILD", "MILD"], "AESER": ["N", "N", "N", "N"],
        "AEREL": ["PROBABLE", MISSING, "NONE", MISSING], "TRTEMFL": ["Y", "Y", "Y", MISSING],
        "TRTA": ["Placebo", "Placebo", "Drug", MISSING],
    })
    write_r_csv(adae.astype(object), folder / "adae.csv")
    rows = []
    positions = (("SUPINE 5 MIN", 1.0), ("STANDING 1 MIN", 2.0))
    for i, subject in enumerate(subjects["USUBJID"]):
        arm = subjects.loc[i, "TRT01P"]
        for visit, visitn in (("Baseline", 0.0), ("Week 2", 2.0)):
            values = []
            for atpt, atptn in positions:
                value = 120.0 + i + atptn + visitn
                values.append(value)
                rows.append({"USUBJID": subject, "PARAMCD": "SYSBP", "PARAM": "Systolic Blood Pressure (mmHg)",
                             "AVISIT": visit, "AVISITN": visitn, "ATPT": atpt, "ATPTN": atptn,
                             "ADTM": f"2014-01-{2 + int(visitn) * 7:02d}T11:45", "AVAL": value, "DTYPE": MISSING,
                             "ABLFL": "Y" if visitn == 0 else MISSING, "ANL01FL": "Y", "TRTP": arm, "TRTA": arm})
            rows.append({"USUBJID": subject, "PARAMCD": "SYSBP", "PARAM": "Systolic Blood Pressure (mmHg)",
                         "AVISIT": visit, "AVISITN": visitn, "ATPT": MISSING, "ATPTN": MISSING, "ADTM": MISSING,
                         "AVAL": sum(values) / 2, "DTYPE": "AVERAGE", "ABLFL": MISSING, "ANL01FL": "Y", "TRTP": arm,
                         "TRTA": arm})
    write_r_csv(pd.DataFrame(rows).astype(object), folder / "advs.csv")
    adrs = pd.DataFrame({"USUBJID": subjects["USUBJID"], "PARAMCD": "BOR", "PARAM": "Best Overall Response",
                         "AVALC": ["CR", "PR", "SD", "PD", "CR", "CR", "NE", "PR"],
                         "AVAL": [1.0, 2.0, 3.0, 4.0, 1.0, 1.0, MISSING, 2.0], "ADT": "2014-03-01",
                         "ANL01FL": "Y"}).astype(object)
    write_r_csv(adrs, folder / "adrs.csv")
    tte = []
    for i, subject in enumerate(subjects["USUBJID"]):
        tte.append({"USUBJID": subject, "PARAMCD": "OS", "PARAM": "Overall Survival", "AVAL": 30.0 + 10 * i,
                    "CNSR": 0 if i % 3 == 0 else 1, "STARTDT": "2014-01-02", "ADT": "2014-03-01",
                    "EVNTDESC": "DEATH" if i % 3 == 0 else "LAST DATE KNOWN ALIVE", "CNSDTDSC": MISSING})
        tte.append({"USUBJID": subject, "PARAMCD": "PFS", "PARAM": "Progression Free Survival",
                    "AVAL": 20.0 + 5 * i, "CNSR": 0 if i % 2 == 0 else 1, "STARTDT": "2014-01-02",
                    "ADT": "2014-02-01", "EVNTDESC": "PD" if i % 2 == 0 else "LAST TUMOR ASSESSMENT",
                    "CNSDTDSC": MISSING})
    # as arrow::write_parquet() writes it: missing text is null, numbers typed
    frame = pd.DataFrame(tte)
    frame["CNSDTDSC"] = frame["CNSDTDSC"].astype("string")
    frame.to_parquet(folder / "adtte.parquet", index=False)
    return EXPECTED
