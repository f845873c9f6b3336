"""Labs with what the CDISC pilot lacks: signed toxicity grades, an on-treatment flag, a derived record, a
parameter without a normal range, analysis timepoints, indicators in both codings and records without dates.

Six subjects (S-001, S-003, S-005 Placebo; S-002, S-004, S-006 Active). Visits: Baseline (day −2), Week 2
(day 15), Week 4 (day 29) on treatment (``ONTRTFL = "Y"``), Follow-up (day 57) off treatment (blank flag).
Every expected number below is worked out by hand from the rows written here.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.adam_corpus.bds_base import adsl, write

DAYS = {"Baseline": (0, -2), "Week 2": (2, 15), "Week 4": (4, 29), "Follow-up": (8, 57),
        "POST-BASELINE MINIMUM": (9998, None), "POST-BASELINE MAXIMUM": (9999, None)}
RANGES = {"K": (3.5, 5.0), "ALT": (7, 40), "AST": (10, 40), "BILI": (3, 20)}
GLUCOSE_RANGES = {"FASTING": (3.9, 6.1), "POSTPRANDIAL": (3.9, 7.8)}
NAMES = {"K": "Potassium (mmol/L)", "GLUC": "Glucose (mmol/L)", "CRP": "C-reactive protein (mg/L)",
         "ALT": "Alanine aminotransferase (U/L)", "AST": "Aspartate aminotransferase (U/L)",
         "BILI": "Bilirubin (umol/L)"}


def _row(subject: str, param: str, visit: str, value: float, *, indicator: str | None = "", grade: float | None = None,
         timepoint: str = "", on_treatment: bool | None = None, dtype: str = "", dated: bool = True,
         ratio: float | None = None) -> dict:
    visitn, day = DAYS[visit]
    low, high = (GLUCOSE_RANGES[timepoint] if param == "GLUC" else RANGES.get(param, (None, None)))
    if indicator == "":  # worked out here from the range, as a lab would
        indicator = None if high is None else "LOW" if value < low else "HIGH" if value > high else "NORMAL"
    flag = on_treatment if on_treatment is not None else visit in ("Week 2", "Week 4") or bool(dtype)
    return {"USUBJID": subject, "PARAMCD": param, "PARAM": NAMES[param], "AVISIT": visit, "AVISITN": visitn,
            "ATPT": timepoint, "ATPTN": {"": None, "FASTING": 1, "POSTPRANDIAL": 2}[timepoint],
            "ADT": (pd.Timestamp("2024-01-10") + pd.Timedelta(days=day)).date() if dated and day is not None else None,
            "ADY": day, "AVAL": value, "ANRLO": low, "ANRHI": high,
            "ANRIND": indicator, "ATOXGR": grade, "R2A1HI": ratio, "DTYPE": dtype,
            "ABLFL": "Y" if visit == "Baseline" else "", "ONTRTFL": "Y" if flag else "", "ANL01FL": ""}


def _rows() -> list[dict]:
    r = _row
    return [
        # potassium, graded: negative grades are hypokalaemia (the LOW direction)
        r("S-001", "K", "Baseline", 4.0, grade=0), r("S-001", "K", "Week 2", 3.2, grade=-1),
        r("S-001", "K", "Week 4", 4.2, grade=0),
        r("S-001", "K", "Follow-up", 2.4, grade=-4),  # off treatment: not counted (else grade 4 low)
        r("S-002", "K", "Baseline", 5.3, grade=1), r("S-002", "K", "Week 2", 5.6, grade=1),
        r("S-002", "K", "Week 4", 6.5, grade=3),
        r("S-002", "K", "POST-BASELINE MINIMUM", 3.0, grade=-1, dtype="MINIMUM"),  # derived: not counted
        r("S-003", "K", "Baseline", 3.3, grade=-1), r("S-003", "K", "Week 2", 4.0, grade=0),
        r("S-003", "K", "Week 4", 5.4, grade=1, indicator=None),  # no ANRIND: HIGH from AVAL > ANRHI
        r("S-004", "K", "Baseline", 4.5, grade=0),
        r("S-004", "K", "Week 2", 2.9, grade=-2, on_treatment=False),  # treatment interrupted: no post-baseline value
        r("S-005", "K", "Week 2", 3.0, grade=-1), r("S-005", "K", "Week 4", 4.1, grade=0),  # no baseline record
        # S-006: the pilot's one-letter coding, and no dates (ordered by AVISITN)
        r("S-006", "K", "Baseline", 4.1, grade=0, indicator="N", dated=False),
        r("S-006", "K", "Week 2", 3.4, grade=-1, indicator="L", dated=False),
        r("S-006", "K", "Week 4", 4.8, grade=0, indicator="N", dated=False),
        # glucose at two timepoints, each its own baseline: never pooled
        r("S-001", "GLUC", "Baseline", 5.0, timepoint="FASTING"),
        r("S-001", "GLUC", "Week 2", 6.5, timepoint="FASTING"),
        r("S-001", "GLUC", "Baseline", 7.0, timepoint="POSTPRANDIAL"),
        r("S-001", "GLUC", "Week 2", 7.5, timepoint="POSTPRANDIAL"),
        r("S-002", "GLUC", "Baseline", 5.5, timepoint="FASTING"),
        r("S-002", "GLUC", "Week 2", 5.8, timepoint="FASTING"),
        r("S-002", "GLUC", "Baseline", 7.2, timepoint="POSTPRANDIAL"),
        r("S-002", "GLUC", "Week 2", 8.5, timepoint="POSTPRANDIAL"),
        # CRP has no normal range at all: left out of the tables
        r("S-001", "CRP", "Baseline", 3.0, indicator=None), r("S-001", "CRP", "Week 2", 12.0, indicator=None),
        # liver tests (ULN: ALT 40, AST 40, bilirubin 20)
        r("S-001", "ALT", "Baseline", 20), r("S-001", "ALT", "Week 2", 130, ratio=3.25),
        r("S-001", "AST", "Baseline", 22), r("S-001", "AST", "Week 2", 50),
        r("S-001", "AST", "POST-BASELINE MAXIMUM", 400, dtype="MAXIMUM"),  # derived: not counted
        r("S-001", "BILI", "Baseline", 8), r("S-001", "BILI", "Week 2", 45),
        r("S-002", "ALT", "Baseline", 25),
        r("S-002", "ALT", "Week 2", 150, ratio=3.75, indicator="HIGH") | {"ANRHI": None},  # ratio only
        r("S-002", "AST", "Baseline", 20), r("S-002", "AST", "Week 2", 30),
        r("S-002", "BILI", "Baseline", 9), r("S-002", "BILI", "Week 2", 10),
        r("S-003", "ALT", "Baseline", 18), r("S-003", "ALT", "Week 2", 30),
        r("S-003", "AST", "Baseline", 19), r("S-003", "AST", "Week 4", 20),
        r("S-003", "BILI", "Baseline", 10), r("S-003", "BILI", "Week 4", 50),
        r("S-004", "ALT", "Baseline", 21), r("S-004", "AST", "Baseline", 23), r("S-004", "BILI", "Baseline", 7),
        r("S-005", "ALT", "Week 2", 300), r("S-005", "BILI", "Week 2", 60),  # no baseline record: not placed
        r("S-006", "ALT", "Baseline", 30), r("S-006", "ALT", "Week 2", 35),
        r("S-006", "ALT", "Follow-up", 200),  # off treatment: not counted (else Temple's corollary)
        r("S-006", "AST", "Baseline", 30), r("S-006", "AST", "Week 4", 100),
        r("S-006", "BILI", "Baseline", 12), r("S-006", "BILI", "Week 2", 39),
    ]


def build(folder: Path) -> dict:
    """Write the study; return the expected counts, worked out by hand (see the comments)."""
    subjects = adsl(6)
    write(folder, subjects, pd.DataFrame(_rows()), "adlb")
    # Potassium, patients with a baseline indicator and a post-baseline one: S-001 (NORMAL), S-003 (LOW) in Placebo;
    # S-002 (HIGH), S-006 (NORMAL) in Active. S-004 has none on treatment, S-005 no baseline record.
    # Worst LOW direction (LOW, else NORMAL, else HIGH): S-001 LOW (3.2), S-002 HIGH (5.6, 6.5: never low or
    # normal; its derived 3.0 is not counted), S-003 NORMAL (4.0), S-006 LOW (L).
    # Worst HIGH direction: S-001 NORMAL, S-002 HIGH, S-003 HIGH (5.4 > 5.0, no ANRIND), S-006 NORMAL.
    shift = {  # (direction, baseline, worst, cohort): (subjects, denominator)
        ("LOW", "NORMAL", "LOW", "Placebo"): (1, 2), ("LOW", "LOW", "NORMAL", "Placebo"): (1, 2),
        ("LOW", "HIGH", "HIGH", "Active"): (1, 2), ("LOW", "NORMAL", "LOW", "Active"): (1, 2),
        ("LOW", "NORMAL", "LOW", "Total"): (2, 4), ("LOW", "NORMAL", "NORMAL", "Total"): (0, 4),
        ("HIGH", "NORMAL", "NORMAL", "Placebo"): (1, 2), ("HIGH", "LOW", "HIGH", "Placebo"): (1, 2),
        ("HIGH", "HIGH", "HIGH", "Active"): (1, 2), ("HIGH", "NORMAL", "NORMAL", "Active"): (1, 2),
        ("HIGH", "NORMAL", "NORMAL", "Total"): (2, 4),
    }
    # Grades per direction, baseline (BTOXGR absent: the baseline record's ATOXGR) → worst post-baseline:
    # LOW: S-001 0 → 1 (−1), S-003 1 (−1) → 0, S-002 0 → 0 (the derived −1 not counted), S-006 0 → 1.
    # HIGH: S-001 0 → 0, S-003 0 → 1, S-002 1 → 3, S-006 0 → 0. (S-001's −4 is off treatment.)
    grade_shift = {
        ("LOW", "Grade 0", "Grade 1", "Placebo"): (1, 2), ("LOW", "Grade 1", "Grade 0", "Placebo"): (1, 2),
        ("LOW", "Grade 0", "Grade 0", "Active"): (1, 2), ("LOW", "Grade 0", "Grade 1", "Active"): (1, 2),
        ("HIGH", "Grade 1", "Grade 3", "Active"): (1, 2), ("HIGH", "Grade 0", "Grade 1", "Placebo"): (1, 2),
        ("HIGH", "Grade 0", "Grade 4", "Total"): (0, 4),
    }
    grades = {  # (direction, worst, cohort): (subjects, denominator) for potassium
        ("LOW", "Grade 0", "Placebo"): (1, 2), ("LOW", "Grade 1", "Placebo"): (1, 2),
        ("LOW", "Grade 4", "Placebo"): (0, 2), ("LOW", "Grade 1", "Total"): (2, 4),
        ("HIGH", "Grade 3", "Active"): (1, 2), ("HIGH", "Grade ≥ 3", "Active"): (1, 2),
        ("HIGH", "Grade ≥ 3", "Total"): (1, 4), ("HIGH", "Grade 1", "Placebo"): (1, 2),
        ("LOW", "Grade ≥ 3", "Total"): (0, 4),
    }
    # Below/above the range: normal at baseline S-001 (Placebo), S-006 (Active), both low after; among all with a
    # post-baseline value: Placebo S-001 (low), S-003 (high); Active S-002 (high), S-006 (low).
    abnormal = {  # (direction, baseline, cohort): (subjects, denominator)
        ("LOW", "NORMAL", "Placebo"): (1, 1), ("LOW", "NORMAL", "Active"): (1, 1), ("LOW", "Any", "Placebo"): (1, 2),
        ("LOW", "Any", "Total"): (2, 4), ("HIGH", "NORMAL", "Total"): (0, 2), ("HIGH", "Any", "Placebo"): (1, 2),
        ("HIGH", "Any", "Active"): (1, 2), ("HIGH", "Any", "Total"): (2, 4),
    }
    # Glucose per timepoint: fasting S-001 5.0 → 6.5 (HIGH), S-002 5.5 → 5.8; postprandial S-001 7.0 → 7.5,
    # S-002 7.2 → 8.5 (HIGH, above 7.8).
    glucose = {  # (timepoint, direction, baseline, worst, cohort): (subjects, denominator)
        ("FASTING", "HIGH", "NORMAL", "HIGH", "Placebo"): (1, 1),
        ("FASTING", "HIGH", "NORMAL", "NORMAL", "Active"): (1, 1),
        ("POSTPRANDIAL", "HIGH", "NORMAL", "NORMAL", "Placebo"): (1, 1),
        ("POSTPRANDIAL", "HIGH", "NORMAL", "HIGH", "Active"): (1, 1),
    }
    # Hy's law, peaks × ULN after baseline, on treatment, observed:
    # S-001 ALT 130/40 = 3.25 (R2A1HI 3.25), AST 50/40 = 1.25 (the derived 400 not counted), BILI 45/20 = 2.25:
    #   Potential Hy's law. S-002 ALT R2A1HI 3.75 (no ANRHI), BILI 10/20 = 0.5: Temple's corollary.
    # S-003 ALT 30/40 = 0.75, AST 0.5, BILI 50/20 = 2.5: Hyperbilirubinaemia. S-006 ALT 35/40 = 0.875 (the
    #   off-treatment 200 not counted), AST 100/40 = 2.5, BILI 39/20 = 1.95: Normal.
    # S-004 (baseline only) and S-005 (no baseline) are not placed: denominators Placebo 2, Active 2, Total 4.
    hys = {("Potential Hy's law", "Placebo"): (1, 2), ("Hyperbilirubinaemia", "Placebo"): (1, 2),
           ("Temple's corollary", "Active"): (1, 2), ("Normal", "Active"): (1, 2), ("Normal", "Placebo"): (0, 2),
           ("Potential Hy's law", "Total"): (1, 4), ("Normal", "Total"): (1, 4)}
    points = {"S-001": (3.25, 2.25), "S-002": (3.75, 0.5), "S-003": (0.75, 2.5), "S-006": (2.5, 1.95)}
    return {"shift": shift, "grade_shift": grade_shift, "grades": grades, "abnormal": abnormal, "glucose": glucose,
            "hys": hys, "points": points, "cases": ["S-001"], "left_out": "CRP",
            "patients": {("K", "LOW", "NORMAL", "LOW"): ["S-001", "S-006"]}}
