"""A tiny study whose every table can be computed by hand (see each test for the arithmetic)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import trialviz
from tests.conftest import write_study

TOML = """
[study]
id = "TINY"
title = "Tiny test study"
[conventions]
primary_window = [1, 11]
[[cohorts]]
value = "Low"
[[cohorts]]
value = "High"
[[endpoints]]
paramcd = "SCORE"
name = "Score"
unit = "points"
range = [0, 100]
better = "lower"
mcid = 2
"""


def tiny_study(folder: Path) -> trialviz.Study:
    adsl = pd.DataFrame({
        "USUBJID": ["S1", "S2", "S3", "S4", "S5"],
        "TRT01P": ["Low", "Low", "High", "High", "High"],
        "TRT01A": ["Low", "Low", "High", "High", "High"],
        "SEX": ["F", "M", "F", "F", "M"],
        "AGE": [30, 40, 50, 60, 70],
        "SAFFL": ["Y", "Y", "Y", "Y", "N"],
        "EFFFL": ["Y", "Y", "Y", "Y", "Y"],
        "TRTSDT": ["2020-01-01"] * 5,
        "LSTALVDT": ["2020-12-31", "2021-06-30", "2020-07-01", "2021-01-01", "2021-01-01"],
    })
    rows = []
    # baseline and week 4 values; S4 misses week 4
    values = {"S1": (10, 6), "S2": (20, 17), "S3": (30, 21), "S4": (40, None), "S5": (50, 44)}
    for subject, (base, week4) in values.items():
        rows.append((subject, "Baseline", 0, base, base, None, "Y"))
        if week4 is not None:
            rows.append((subject, "Week 4", 4, week4, base, week4 - base, ""))
    adeff = pd.DataFrame(rows, columns=["USUBJID", "AVISIT", "AVISITN", "AVAL", "BASE", "CHG", "ABLFL"])
    adeff.insert(1, "PARAMCD", "SCORE")
    adeff.insert(2, "PARAM", "Score (points)")
    adeff["ANL01FL"] = "Y"
    adae = pd.DataFrame({
        "USUBJID": ["S1", "S1", "S2", "S3", "S3", "S3", "S5"],
        "AEDECOD": ["Nausea", "Nausea", "Headache", "Pneumonia", "Nausea", "Rash", "Nausea"],
        "AEBODSYS": ["GI", "GI", "Nervous", "Infections", "GI", "Skin", "GI"],
        "ASTDY": [1, 20, 5, 30, 2, 40, 3],
        "AETOXGR": [1, 2, 1, 3, 1, 2, 1],
        "AESER": ["N", "N", "N", "Y", "N", "N", "N"],
        "AEREL": ["RELATED", "NOT RELATED", "POSSIBLE", "NOT RELATED", "RELATED", "NOT RELATED", "RELATED"],
        "TRTEMFL": ["Y", "Y", "Y", "Y", "Y", "N", "Y"],
    })
    return trialviz.load_study(write_study(folder, adsl, adeff, adae, TOML))
