"""A parameter with character results only (``AVALC``, ``AVAL`` blank): response categories by visit,
beside a numeric parameter of the same dataset."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.adam_corpus.bds_base import adsl, arm_of, write

RESPONSES = ("CR", "PR", "SD", "PD")


def build(folder: Path) -> dict:
    """Write the study; return the patients per category and the denominators by (arm, visit)."""
    subjects = adsl(10)
    rows = []
    for k, subject in enumerate(subjects["USUBJID"]):
        for visit, visitn in {"Week 6": 6, "Week 12": 12}.items():
            if visit == "Week 12" and subject == "S-010":
                continue  # not assessed: not in the denominator
            response = RESPONSES[(k + visitn // 6) % 4 if k % 2 else (k // 2 + visitn // 6) % 3]
            rows.append({"USUBJID": subject, "PARAMCD": "OVRLRESP", "PARAM": "Overall Response",
                         "AVISIT": visit, "AVISITN": visitn, "AVAL": None, "AVALC": response, "ANL01FL": "Y"})
            rows.append({"USUBJID": subject, "PARAMCD": "SUMDIAM", "PARAM": "Sum of Diameters (mm)",
                         "AVISIT": visit, "AVISITN": visitn, "AVAL": 50.0 - k - visitn, "AVALC": "",
                         "ANL01FL": "Y"})
    adrs = pd.DataFrame(rows)
    write(folder, subjects, adrs, "adrs")
    response = adrs[adrs["PARAMCD"] == "OVRLRESP"].assign(arm=adrs["USUBJID"].map(arm_of(subjects)))
    counts = response.groupby(["arm", "AVISIT", "AVALC"])["USUBJID"].nunique().to_dict()
    denominators = response.groupby(["arm", "AVISIT"])["USUBJID"].nunique().to_dict()
    return {"param": "OVRLRESP", "counts": counts, "denominators": denominators,
            "categories": sorted(response["AVALC"].unique())}
