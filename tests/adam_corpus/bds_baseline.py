"""Baseline records flagged ``ABLFL = "Y"`` but not ``ANL01FL``: the analysis flag marks post-baseline
records only (common in sponsor ADaM; the pilot's ADLBC). A study file names the primary endpoint and visit."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.adam_corpus.bds_base import adsl, arm_of, write

TOML = """
[conventions]
primary_visit = "Week 4"

[[endpoints]]
paramcd = "FEV1"
name = "FEV1"
unit = "L"
primary = true
analysis = "efficacy"
"""


def build(folder: Path) -> dict:
    """Write the study; return the baseline ``n`` and mean by arm, the subjects with a baseline value and
    the Week 4 change by arm."""
    subjects = adsl(8)
    rows = []
    for k, subject in enumerate(subjects["USUBJID"]):
        base = 2.0 + 0.1 * k
        for param in ("FEV1", "FVCTOT"):
            for visit, visitn in {"Screening": -1, "Baseline": 0, "Week 4": 4, "Week 8": 8}.items():
                value = base + (0.05 * visitn if visitn > 0 else 0.02 * visitn)
                rows.append({"USUBJID": subject, "PARAMCD": param, "PARAM": f"{param} (L)", "AVISIT": visit,
                             "AVISITN": visitn, "AVAL": round(value, 3), "BASE": base if visitn > 0 else None,
                             "CHG": round(value - base, 3) if visitn > 0 else None,
                             "ABLFL": "Y" if visitn == 0 else "", "ANL01FL": "Y" if visitn > 0 else ""})
    adrs = pd.DataFrame(rows)
    write(folder, subjects, adrs, "adrs", toml=TOML)
    arms = arm_of(subjects)
    fev1 = adrs[adrs["PARAMCD"] == "FEV1"].assign(arm=adrs["USUBJID"].map(arms))
    baseline = fev1[fev1["ABLFL"] == "Y"]
    week4 = fev1[(fev1["AVISIT"] == "Week 4") & (fev1["ANL01FL"] == "Y")]
    return {"baseline": baseline.groupby("arm")["AVAL"].agg(["count", "mean"]).to_dict("index"),
            "baseline_values": baseline.set_index("USUBJID")["AVAL"].sort_index().to_dict(),
            "week4_change": week4.groupby("arm")["CHG"].agg(["count", "mean"]).to_dict("index"),
            "visits": ["Baseline", "Week 4", "Week 8"], "default_endpoint": "FEV1", "default_visit": "Week 4",
            "screening_left_out": False}
