"""ADTTE with two parameters per subject: OS (safety conventions) and PFS, which the study file declares an
efficacy analysis. S04 was planned Placebo but received Drug; S08 is not in the efficacy population.

Hand-computed Kaplan–Meier (event e, censored c):

OS, safety population by actual treatment
    Placebo (S01–S03): 10e, 20c, 30e → S(10) = 2/3, S(30) = 0; median 30.
    Drug (S04–S08): 5e, 15e, 25c, 35e, 40c → S = 0.8, 0.6, (0.6), 0.3; median 35.
PFS, efficacy population (EFFFL) by planned treatment
    Placebo (S01–S04): 4e, 8e, 12e, 16c → S = 0.75, 0.5, 0.25; median 8.
    Drug (S05–S07): 10e, 20e, 30c → S = 2/3, 1/3; median 20.
    (By actual treatment in the safety population, Placebo would be S01–S03 with median 12.)
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.adam_corpus.io_common import adsl, write_r_csv

EXPECTED = {
    "params": ["OS", "PFS"],
    "os": {"n": {"Placebo": 3, "Drug": 5}, "median": {"Placebo": 30.0, "Drug": 35.0},
           "drug_survival": {0.0: 1.0, 5.0: 0.8, 15.0: 0.6, 30.0: 0.6, 35.0: 0.3},
           "drug_at_risk": {0.0: 5, 5.0: 5, 15.0: 4, 30.0: 2, 35.0: 2}},
    "pfs": {"n": {"Placebo": 4, "Drug": 3}, "median": {"Placebo": 8.0, "Drug": 20.0},
            "placebo_survival": {4.0: 0.75, 8.0: 0.5, 12.0: 0.25, 16.0: 0.25}},
    "pfs_label": "Progression-free survival",
}

OS = {"S01": (10, 0), "S02": (20, 1), "S03": (30, 0), "S04": (5, 0), "S05": (15, 0), "S06": (25, 1),
      "S07": (35, 0), "S08": (40, 1)}
PFS = {"S01": (8, 0), "S02": (12, 0), "S03": (16, 1), "S04": (4, 0), "S05": (20, 0), "S06": (30, 1),
       "S07": (10, 0), "S08": (2, 0)}

STUDY_TOML = '''
[[endpoints]]
paramcd = "PFS"
name = "Progression-free survival"
analysis = "efficacy"
primary = true
'''


def build(folder: Path) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    subjects = adsl()
    subjects.loc[3, ["TRT01A", "TRT01AN"]] = ["Drug", 1.0]  # S04: planned Placebo, received Drug
    subjects.loc[7, "EFFFL"] = "N"
    write_r_csv(subjects, folder / "adsl.csv")
    rows = []
    for subject in subjects["USUBJID"]:  # OS then PFS for each subject: data order OS, PFS
        for code, label, table in (("OS", "Overall survival", OS), ("PFS", "Progression-free survival", PFS)):
            time, censored = table[subject]
            rows.append({"STUDYID": "IO01", "USUBJID": subject, "PARAMCD": code, "PARAM": label,
                         "AVAL": float(time), "CNSR": censored, "STARTDT": "2014-01-02",
                         "EVNTDESC": "CENSORED" if censored else "EVENT"})
    write_r_csv(pd.DataFrame(rows), folder / "adtte.csv")
    (folder / "study.toml").write_text(STUDY_TOML, encoding="utf-8")
    return EXPECTED
