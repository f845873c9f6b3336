"""Vital signs with analysis timepoints (``ATPT``): three positions per visit, summarised apart.

Pooling the positions would count each patient three times (issue 16: n = 177 for 59 patients).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tests.adam_corpus.bds_base import adsl, arm_of, write

TIMEPOINTS = {"AFTER LYING DOWN FOR 5 MINUTES": 815, "AFTER STANDING FOR 1 MINUTE": 816,
              "AFTER STANDING FOR 3 MINUTES": 817}
VISITS = {"Baseline": 0, "Week 2": 2, "Week 4": 4}


def build(folder: Path) -> dict:
    """Write the study; return the expected numbers: ``n`` and ``mean_change`` by (arm, visit, timepoint),
    the timepoints in ``ATPTN`` order, each subject's baseline at the first timepoint and the subject who has
    no Week 4 value at the lying position."""
    subjects = adsl(10)
    rng = np.random.default_rng(16)
    rows = []
    for subject in subjects["USUBJID"]:
        for timepoint, number in TIMEPOINTS.items():
            base = float(rng.integers(110, 150)) + (number - 815) * 7  # positions differ, as they do
            for visit, visitn in VISITS.items():
                if subject == "S-003" and visit == "Week 4" and number == 815:
                    continue  # a missed measurement: n differs between timepoints
                value = base if visitn == 0 else base + float(rng.integers(-12, 8))
                rows.append({"USUBJID": subject, "PARAMCD": "SYSBP", "PARAM": "Systolic Blood Pressure (mmHg)",
                             "AVISIT": visit, "AVISITN": visitn, "ATPT": timepoint, "ATPTN": number,
                             "AVAL": value, "BASE": base, "CHG": None if visitn == 0 else value - base,
                             "ABLFL": "Y" if visitn == 0 else "", "ANL01FL": "Y"})
    # the positions in reverse ATPTN order in the file: the order must come from ATPTN
    advs = pd.DataFrame(rows).sort_values("ATPTN", ascending=False, kind="stable")
    write(folder, subjects, advs, "advs")
    post = advs[advs["AVISITN"] > 0].assign(arm=advs["USUBJID"].map(arm_of(subjects)))
    grouped = post.groupby(["arm", "AVISIT", "ATPT"])
    first = advs[(advs["ABLFL"] == "Y") & (advs["ATPTN"] == min(TIMEPOINTS.values()))]
    return {"timepoints": list(TIMEPOINTS), "first_baseline": first.set_index("USUBJID")["AVAL"].to_dict(),
            "missing": ("S-003", "Week 4", "AFTER LYING DOWN FOR 5 MINUTES"),
            "n": grouped["USUBJID"].nunique().to_dict(), "mean_change": grouped["CHG"].mean().to_dict(),
            "records_per_cell": 1}
