"""Visits that are not visits: unscheduled ones, records without a visit, and derived summary visits
("End of Treatment", ``AVISITN`` 99, windowed from the last visit; "POST-BASELINE MAXIMUM", ``AVISITN`` 9998,
every record ``DTYPE`` MAXIMUM)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.adam_corpus.bds_base import adsl, arm_of, write

SCHEDULED = {"Baseline": 0, "Week 4": 4, "Week 8": 8}


def build(folder: Path) -> dict:
    """Write the study; return the visit kinds, the order of the summary's visits, the records left out and
    the expected numbers at the derived visits."""
    subjects = adsl(8)
    rows = []

    def add(subject: str, visit: str, visitn: float | None, value: float, base: float, **extra: str) -> None:
        rows.append({"USUBJID": subject, "PARAMCD": "ALT", "PARAM": "Alanine Aminotransferase (U/L)",
                     "AVISIT": visit, "AVISITN": visitn, "AVAL": value, "BASE": base,
                     "CHG": None if extra.get("ABLFL") == "Y" else value - base, "DTYPE": extra.get("DTYPE", ""),
                     "ABLFL": extra.get("ABLFL", ""), "ANL01FL": extra.get("ANL01FL", "Y")})

    for k, subject in enumerate(subjects["USUBJID"]):
        base = 20.0 + k
        values = {"Baseline": base, "Week 4": base + 3 + k % 4, "Week 8": base + 1 + k % 3}
        for visit, visitn in SCHEDULED.items():
            if visit == "Week 8" and subject == "S-008":
                continue  # discontinued after Week 4
            add(subject, visit, visitn, values[visit], base, ABLFL="Y" if visitn == 0 else "")
        last = values["Week 4"] if subject == "S-008" else values["Week 8"]
        add(subject, "End of Treatment", 99, last, base)
        add(subject, "POST-BASELINE MAXIMUM", 9998, max(values["Week 4"], last), base, DTYPE="MAXIMUM")
        if k % 3 == 0:  # unscheduled repeats, twice for S-001 and flagged: never a duplicate, never counted
            add(subject, "Unscheduled 4.1", 4.1, base + 40, base)
            if subject == "S-001":
                add(subject, "Unscheduled 4.1", 4.1, base + 41, base)
        if k % 4 == 1:  # records without a visit, one written as SAS's "."
            add(subject, "." if k == 1 else "", None, base + 50, base)  # flagged, yet no visit
    adlb = pd.DataFrame(rows)
    write(folder, subjects, adlb, "adlb")
    arms = arm_of(subjects)
    at = adlb.assign(arm=adlb["USUBJID"].map(arms))
    eot = at[at["AVISIT"] == "End of Treatment"].groupby("arm")["CHG"].agg(["count", "mean"])
    peak = at[at["AVISIT"] == "POST-BASELINE MAXIMUM"].groupby("arm")["AVAL"].agg(["count", "mean"])
    unscheduled = int(adlb["AVISIT"].str.startswith("Unscheduled").sum())
    no_visit = int(adlb["AVISIT"].isin(["", "."]).sum() + adlb["AVISIT"].isna().sum())
    return {"scheduled": list(SCHEDULED), "derived": ["End of Treatment", "POST-BASELINE MAXIMUM"],
            "unscheduled": ["Unscheduled 4.1"], "summary_visits": [*SCHEDULED, "End of Treatment",
                                                                 "POST-BASELINE MAXIMUM"],
            "unscheduled_records": unscheduled, "no_visit_records": no_visit,
            "eot_change": eot.to_dict("index"), "maximum": peak.to_dict("index"), "last_scheduled": "Week 8"}
