"""Two records of one subject left in one cell (the same visit and timepoint, both observed and flagged
for analysis): a validation error naming them, never a silent first or mean."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.adam_corpus.bds_base import adsl, write


def build(folder: Path) -> dict:
    """Write the study; return the duplicated records' 1-based record numbers and their keys."""
    subjects = adsl(6)
    rows = []
    for k, subject in enumerate(subjects["USUBJID"]):
        for visit, visitn in {"Baseline": 0, "Week 4": 4}.items():
            for timepoint, number in {"SUPINE": 1, "STANDING": 2}.items():
                rows.append({"USUBJID": subject, "PARAMCD": "PULSE", "PARAM": "Pulse Rate (beats/min)",
                             "AVISIT": visit, "AVISITN": visitn, "ATPT": timepoint, "ATPTN": number,
                             "AVAL": 70.0 + k + visitn, "ABLFL": "Y" if visitn == 0 else "", "ANL01FL": "Y"})
    advs = pd.DataFrame(rows)
    # S-003's Week 4 standing pulse twice, both flagged and observed
    twin = advs[(advs["USUBJID"] == "S-003") & (advs["AVISIT"] == "Week 4") & (advs["ATPT"] == "STANDING")]
    advs = pd.concat([advs, twin.assign(AVAL=twin["AVAL"] + 9)], ignore_index=True)
    write(folder, subjects, advs, "advs")
    keys = advs[["USUBJID", "AVISIT", "ATPT"]].astype(str).agg("/".join, axis=1)
    rows_at = [i + 1 for i in range(len(advs)) if keys.iloc[i] == "S-003/Week 4/STANDING"]
    return {"file": "advs.csv", "rows": tuple(rows_at), "key": "S-003 / PULSE / Week 4 / STANDING"}
