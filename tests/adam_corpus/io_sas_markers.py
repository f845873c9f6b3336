"""SAS export (PROC EXPORT): ``.`` for a missing number and for a blank visit; blank text otherwise.

With ``declared=True`` the study also writes ``N/A`` for a missing number and declares it in the study
file (``[conventions] missing_values``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.adam_corpus.io_common import MISSING, adsl, write_sas_csv

EXPECTED = {
    "subjects": 8,
    "week4_n": {"Placebo": 3, "Drug": 4},  # S03's Week 4 AVAL is "."
    "week4_mean": {"Placebo": (30 + 31 + 33) / 3, "Drug": (34 + 35 + 36 + 37) / 4},
    "unscheduled_records": 1,  # one record with AVISIT "." (no visit): not in the by-visit summary
    "age_missing": 1,
    "na_markers": 2,  # with declared=True: two N/A values (BASE of S08 at Week 4, AVAL of S01's extra record)
}


def build(folder: Path, *, declared: bool = False) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    subjects = adsl()
    subjects["AGE"] = subjects["AGE"].astype(object)
    subjects.loc[4, "AGE"] = MISSING
    subjects["DTHFL"] = [MISSING] * 7 + ["Y"]
    write_sas_csv(subjects, folder / "adsl.csv")
    rows = []
    for i, subject in enumerate(subjects["USUBJID"]):
        for visit, visitn, value in (("Baseline", 0.0, 40.0 + i), ("Week 4", 4.0, 30.0 + i)):
            rows.append({"USUBJID": subject, "PARAMCD": "SCORE", "PARAM": "Symptom score (points)",
                         "AVISIT": visit, "AVISITN": visitn, "AVAL": value, "BASE": 40.0 + i,
                         "CHG": MISSING if visitn == 0 else value - (40.0 + i),
                         "ABLFL": "Y" if visitn == 0 else "", "ANL01FL": "Y", "DTYPE": ""})
    rows.append({"USUBJID": "S01", "PARAMCD": "SCORE", "PARAM": "Symptom score (points)", "AVISIT": MISSING,
                 "AVISITN": MISSING, "AVAL": 50.0, "BASE": 40.0, "CHG": 10.0, "ABLFL": "", "ANL01FL": "",
                 "DTYPE": ""})
    adqs = pd.DataFrame(rows).astype(object)
    s03 = adqs.index[(adqs["USUBJID"] == "S03") & (adqs["AVISIT"] == "Week 4")][0]
    adqs.loc[s03, ["AVAL", "CHG"]] = [MISSING, MISSING]
    path = write_sas_csv(adqs, folder / "adqs.csv", missing_text=".")
    if declared:
        text = path.read_text(encoding="utf-8").splitlines(keepends=True)
        header = text[0].rstrip("\r\n").split(",")
        base, aval = header.index("BASE"), header.index("AVAL")
        for number, column in ((16, base), (17, aval)):  # S08 Week 4 BASE, S01's extra record AVAL
            fields = text[number].rstrip("\r\n").split(",")
            fields[column] = "N/A"
            fields[header.index("CHG")] = "."  # no change without both values
            text[number] = ",".join(fields) + "\r\n"
        path.write_text("".join(text), encoding="utf-8")
        (folder / "study.toml").write_text('[conventions]\nmissing_values = ["NA", ".", "N/A"]\n', encoding="utf-8")
    return EXPECTED
