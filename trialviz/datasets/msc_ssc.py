"""Seeded simulation of patient-level data for the MSC-SSc trial (NCT02213705).

The trial's individual patient data are not public. This module writes ADaM-shaped CSV files
(``adsl``, ``adeff``, ``adae``, ``adtte``, ``adlb``) that reproduce every published, checkable fact exactly
(see ``data/msc_ssc/study.toml`` and ``../shared/trial/README.md``) and fill everything else with
plausible, clearly **simulated** values. Regenerate the bundled files with::

    python -m trialviz.datasets.msc_ssc            # writes data/msc_ssc/*.csv
    python -m trialviz.datasets.msc_ssc OUTDIR     # writes elsewhere

With the pinned numpy and pandas the output is identical byte for byte (a test checks it).

Published facts reproduced exactly
----------------------------------
- 20 patients: the first 10 infused at 1×10⁶ MSC/kg, the next 10 at 3×10⁶ MSC/kg; 13 women, 7 men;
  age 18–70; mRSS ≥ 15 at entry; first infusion 24 March 2014, last 6 January 2020.
- Infusion and first 10 days (``ASTDY`` 1–11): exactly three infusion-related adverse events — one
  patient with grade 1 flushing, another with grade 1 nausea and grade 2 asthenia — and nothing else.
- After day 10 (``ASTDY`` ≥ 12): exactly 36 serious, grade ≥ 3, not-related adverse events in 14
  patients (70 %); no other events. No event starts on days 10–12, so "within 10 days" read as
  ``ASTDY`` ≤ 10 or ≤ 11 gives the same counts.
- Follow-up from infusion to last contact, in months of 30.4375 days: median 24.1, IQR 20.8–24.5
  (numpy's default linear quantiles, rounded to one decimal).

Assumptions (not published; each with its reason)
-------------------------------------------------
- Infusion dates: cohort 1 uniformly over 24 March 2014 – January 2016; cohort 2 with 4 patients from
  June 2016 to 2018 and 5 in 2019 before the last on 6 January 2020; at least 14 days between two
  infusions (sentinel observation in dose escalation). Recruitment speeding up in 2019 is what lets the
  shorter follow-up come from the data cut-off for the last patients enrolled, as the brief requires;
  the published median of just over 24 months leaves room for only about a quarter of patients
  below 21 months.
- Data cut-off: not public. The generator takes the latest date from March to September 2021 (before
  the paper's online publication in January 2022) at which the simulated follow-up reproduces the
  published median and IQR; if no such date exists, it draws the dates
  again from the same seeded stream (``python -m trialviz.datasets.msc_ssc`` prints how many draws
  it took). Patients still in follow-up at the cut-off have their last contact on it.
- The month-24 visit (the last contact of those who complete) falls 716–765 days after infusion,
  a visit window around day 730.
- Every planned dose was given as planned (``TRT01A`` = ``TRT01P``): actual doses are not public.
- No deaths and no withdrawals: the abstract reports none and we invent none.
- Baseline characteristics (age, weight, height, disease duration, anti-topoisomerase I antibodies,
  interstitial lung disease) follow typical severe diffuse SSc cohorts; none are published.
- Efficacy: the sponsor reported "significant improvement in skin fibrosis at 3 to 6 months after
  infusion which appeared lower thereafter". The simulated mean mRSS change is −3 at month 1, about
  −7 to −8 at months 3–6 and −4 to −6 later, with between-patient SD 3 and visit noise SD 2.5 (close
  to the intraobserver SD of 2.45 reported by Clements et al. 1995). Lung function, HAQ-DI and the
  global assessments change little, with small improvements at months 3–6. No dose–response is
  simulated, because none is published.
- Lung function is measured at baseline and months 3, 6, 12, 18 and 24; the other endpoints at every
  visit. About 7 % of post-baseline visits are missed at random and about 5 % of DLCO tests alone.
- Laboratory data (``adlb``; none published): haematology (haemoglobin, white cells, neutrophils,
  lymphocytes, platelets) and liver tests (ALT, AST, alkaline phosphatase, total bilirubin) at baseline and
  months 1, 3, 6, 12 and 24, on the days of the efficacy visits, from a random stream of their own
  (seed ``[SEED, LAB_STREAM]``). Baselines follow severe diffuse SSc (mild anaemia of chronic disease in
  about a quarter, normal liver tests), values vary around each patient's own level with no treatment
  effect (none is published); a transient transaminase rise (3–6 × ULN, as from a concomitant drug) occurs
  at about 0.5 % of post-baseline tests. Normal ranges are those of a typical French hospital laboratory;
  ``ATOXGR`` is the CTCAE v5 grade, signed (negative for the low direction: anaemia, cytopenias).
- Infusion-related events occur on the infusion day (nausea, flushing) and days 1–3 (asthenia);
  which patients had them is drawn at random (their cohort is not public).
- The sources of step 1 of the ACR CRISS (see ``[composites.criss]`` in the study file), added without
  changing anything above: the serious events already hold scleroderma renal crisis and pulmonary
  arterial hypertension (the step-1 adverse-event terms). Left-ventricular ejection fraction (``LVEF``,
  %) is simulated by echocardiography at baseline, month 12 and month 24, on the day of the mRSS visit,
  from the seed's second random stream (so every other value is unchanged): about 62 % (SD 5, within
  51–75 %) and stable (visit SD 3), except after a simulated heart failure (``Cardiac failure``), when it
  is 35–44 % — new left-ventricular failure in step 1. No LVEF value is published.
- The 36 late serious events: the 14 patients are drawn at random; each has at least one event and
  the other 22 are spread by a gamma frailty; terms are drawn from a catalogue of serious
  complications typical of severe diffuse SSc, with MedDRA primary SOCs; 80 % grade 3, 20 % grade 4.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from trialviz.paths import BUNDLED_STUDY_DIR

SEED = 20140324
STUDYID = "NCT02213705"
FIRST_INFUSION = pd.Timestamp("2014-03-24")
LAST_INFUSION = pd.Timestamp("2020-01-06")
COHORT_1_END = pd.Timestamp("2016-01-31")
COHORT_2_START = pd.Timestamp("2016-06-01")
SECOND_PHASE_START = pd.Timestamp("2019-01-01")
MIN_DAYS_BETWEEN_INFUSIONS = 14
DAYS_PER_MONTH = 30.4375
CUTOFF_SEARCH = ("2021-03-01", "2021-09-30")
PUBLISHED_FOLLOWUP_QUARTILES = (20.8, 24.1, 24.5)
COHORTS = (("MSC 1×10⁶/kg", 1.0), ("MSC 3×10⁶/kg", 3.0))
N_PER_COHORT = 10
N_WOMEN, N_MEN = 13, 7

VISITS = (("Baseline", 0), ("Month 1", 1), ("Month 3", 3), ("Month 6", 6), ("Month 9", 9),
          ("Month 12", 12), ("Month 18", 18), ("Month 24", 24))
LUNG_VISITS = {0, 3, 6, 12, 18, 24}


@dataclass(frozen=True)
class EndpointModel:
    """How one simulated endpoint behaves: baseline distribution, mean change by month, noise, rounding."""

    paramcd: str
    param: str
    baseline_mean: float
    baseline_sd: float
    low: float
    high: float
    step: float
    mean_change: dict[int, float]
    patient_sd: float
    visit_sd: float
    visits: frozenset[int]


ALL_VISITS = frozenset(m for _, m in VISITS)
ENDPOINTS = (
    EndpointModel("MRSS", "Modified Rodnan skin score (points)", 27, 6, 15, 45, 1,
                  {1: -3, 3: -7, 6: -8, 9: -6.5, 12: -6, 18: -5, 24: -4.5}, 3.0, 2.5, ALL_VISITS),
    EndpointModel("FVCPP", "Forced vital capacity (% predicted)", 72, 14, 40, 110, 0.1,
                  {3: 1.0, 6: 1.5, 12: 0.5, 18: 0.0, 24: -0.5}, 3.5, 3.0, frozenset(LUNG_VISITS)),
    EndpointModel("DLCOPP", "Diffusing capacity for carbon monoxide (% predicted)", 50, 11, 25, 90, 0.1,
                  {3: 0.5, 6: 1.0, 12: 0.0, 18: -0.5, 24: -1.0}, 4.0, 3.5, frozenset(LUNG_VISITS)),
    EndpointModel("HAQDI", "HAQ Disability Index (0-3)", 1.4, 0.55, 0.25, 2.75, 0.125,
                  {1: -0.05, 3: -0.2, 6: -0.25, 9: -0.15, 12: -0.15, 18: -0.1, 24: -0.1}, 0.2, 0.15, ALL_VISITS),
    EndpointModel("PTGLOBAL", "Patient global assessment (0-10)", 6.2, 1.6, 2, 10, 1,
                  {1: -0.5, 3: -1.2, 6: -1.4, 9: -1.0, 12: -0.9, 18: -0.7, 24: -0.6}, 1.0, 0.9, ALL_VISITS),
    EndpointModel("MDGLOBAL", "Physician global assessment (0-10)", 6.0, 1.3, 2, 10, 1,
                  {1: -0.5, 3: -1.4, 6: -1.6, 9: -1.2, 12: -1.0, 18: -0.8, 24: -0.7}, 0.9, 0.8, ALL_VISITS),
)

# Serious complications of severe diffuse SSc: (MedDRA PT, primary SOC, verbatim term, weight).
LATE_SERIOUS_EVENTS = (
    ("Pneumonia", "Infections and infestations", "Community-acquired pneumonia", 5),
    ("Cellulitis", "Infections and infestations", "Cellulitis of the leg", 2),
    ("Infected skin ulcer", "Infections and infestations", "Infected digital ulcer", 4),
    ("Urinary tract infection", "Infections and infestations", "Pyelonephritis", 1),
    ("Skin ulcer", "Skin and subcutaneous tissue disorders", "Digital ulcer requiring hospitalisation", 4),
    ("Peripheral ischaemia", "Vascular disorders", "Critical digital ischaemia", 3),
    ("Intestinal pseudo-obstruction", "Gastrointestinal disorders", "Intestinal pseudo-obstruction", 2),
    ("Gastric antral vascular ectasia", "Gastrointestinal disorders", "GAVE with anaemia", 1),
    ("Malnutrition", "Metabolism and nutrition disorders", "Severe malnutrition", 2),
    ("Interstitial lung disease", "Respiratory, thoracic and mediastinal disorders",
     "Worsening of interstitial lung disease", 3),
    ("Pulmonary arterial hypertension", "Respiratory, thoracic and mediastinal disorders",
     "Pulmonary arterial hypertension", 2),
    ("Cardiac failure", "Cardiac disorders", "Heart failure", 2),
    ("Pericardial effusion", "Cardiac disorders", "Pericardial effusion", 1),
    ("Scleroderma renal crisis", "Renal and urinary disorders", "Scleroderma renal crisis", 1),
    ("Anaemia", "Blood and lymphatic system disorders", "Anaemia requiring transfusion", 1),
    ("Finger amputation", "Surgical and medical procedures", "Amputation of fingertip", 1),
)
INFUSION_EVENTS = (  # (patient slot, PT, verbatim, SOC, grade, start day, end day)
    (0, "Flushing", "Facial flushing during infusion", "Vascular disorders", 1, 1, 1),
    (1, "Nausea", "Nausea during infusion", "Gastrointestinal disorders", 1, 1, 1),
    (1, "Asthenia", "Asthenia after infusion", "General disorders and administration site conditions", 2, 1, 3),
)
N_LATE_EVENTS, N_LATE_PATIENTS = 36, 14

LVEF_STREAM = 1
"""The LVEF values come from the seed's second stream (``default_rng((seed, 1))``)."""
LVEF_VISITS = ("Baseline", "Month 12", "Month 24")
LVEF_PARAM = "Left ventricular ejection fraction (%)"
HEART_FAILURE_TERM = "Cardiac failure"

LAB_STREAM = 17
"""Second seed of the lab data's own random stream."""
LAB_VISITS = frozenset({0, 1, 3, 6, 12, 24})


@dataclass(frozen=True)
class LabModel:
    """One simulated lab test: category, normal range (by sex where it differs), log-normal or normal
    variation, and the CTCAE v5 grade limits of its abnormal direction."""

    paramcd: str
    param: str
    unit: str
    category: str
    low: tuple[float, float]  # lower limit of normal (women, men)
    high: tuple[float, float]  # upper limit of normal (women, men)
    mean: tuple[float, float]  # baseline mean (women, men)
    between_sd: float  # between patients (relative, on the log scale)
    within_sd: float  # between visits of one patient (relative)
    decimals: int
    direction: str  # "LOW" or "HIGH": the direction CTCAE grades
    limits: tuple[float, float, float]  # grade 2, 3, 4 limits: absolute (LOW) or × ULN (HIGH)


LAB_TESTS = (
    LabModel("HGB", "Haemoglobin (g/L)", "g/L", "HAEMATOLOGY", (120, 130), (160, 175), (126, 139), 0.09, 0.05, 0,
             "LOW", (100, 80, 0)),
    LabModel("WBC", "Leukocytes (10^9/L)", "10^9/L", "HAEMATOLOGY", (4.0, 4.0), (10.0, 10.0), (7.0, 7.2), 0.25,
             0.15, 1, "LOW", (3.0, 2.0, 1.0)),
    LabModel("NEUT", "Neutrophils (10^9/L)", "10^9/L", "HAEMATOLOGY", (1.8, 1.8), (7.5, 7.5), (4.5, 4.6), 0.3,
             0.2, 2, "LOW", (1.5, 1.0, 0.5)),
    LabModel("LYMPH", "Lymphocytes (10^9/L)", "10^9/L", "HAEMATOLOGY", (1.0, 1.0), (4.0, 4.0), (1.5, 1.6), 0.35,
             0.2, 2, "LOW", (0.8, 0.5, 0.2)),
    LabModel("PLAT", "Platelets (10^9/L)", "10^9/L", "HAEMATOLOGY", (150, 150), (400, 400), (280, 265), 0.25, 0.1,
             0, "LOW", (75, 50, 25)),
    LabModel("ALT", "Alanine aminotransferase (U/L)", "U/L", "LIVER", (7, 10), (35, 45), (18, 24), 0.35, 0.2, 0,
             "HIGH", (3, 5, 20)),
    LabModel("AST", "Aspartate aminotransferase (U/L)", "U/L", "LIVER", (10, 10), (35, 40), (21, 24), 0.3, 0.15,
             0, "HIGH", (3, 5, 20)),
    LabModel("ALP", "Alkaline phosphatase (U/L)", "U/L", "LIVER", (35, 40), (105, 130), (70, 78), 0.25, 0.1, 0,
             "HIGH", (2.5, 5, 20)),
    LabModel("BILI", "Bilirubin, total (umol/L)", "umol/L", "LIVER", (3, 3), (21, 21), (8, 9), 0.4, 0.25, 0,
             "HIGH", (1.5, 3, 10)),
)


def simulate(seed: int = SEED) -> dict[str, pd.DataFrame]:
    """Simulate the five datasets; returns ``{"adsl": …, "adeff": …, "adae": …, "adtte": …, "adlb": …}``."""
    rng = np.random.default_rng(seed)
    infusions, month24_day, cutoff, draws = _enrolment_and_followup(rng)
    print(f"enrolment accepted at draw {draws}; data cut-off {cutoff.date()}", file=sys.stderr)
    adsl = _subjects(rng, infusions, month24_day, cutoff)
    adeff = _measurements(rng, adsl)
    adae = _adverse_events(rng, adsl)
    # LVEF from its own seeded stream, appended last: every other value and row stays as it was
    adeff = pd.concat([adeff, _ejection_fraction(np.random.default_rng((seed, LVEF_STREAM)), adeff, adae)],
                      ignore_index=True)
    adtte = _time_to_first_sae(adsl, adae)
    # the lab data draw from a stream of their own, so that adding them left the other datasets as they were
    adlb = _laboratory(np.random.default_rng([seed, LAB_STREAM]), adsl, adeff)
    return {"adsl": adsl, "adeff": adeff, "adae": adae, "adtte": adtte, "adlb": adlb}


def write(folder: Path = BUNDLED_STUDY_DIR, seed: int = SEED) -> list[Path]:
    """Simulate and write the CSV files into ``folder``; returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in simulate(seed).items():
        path = folder / f"{name}.csv"
        frame.to_csv(path, index=False, date_format="%Y-%m-%d", lineterminator="\n")
        written.append(path)
    return written


# --- enrolment and follow-up --------------------------------------------------------------------------------------
def followup_months(infusions: pd.Series, last_contact: pd.Series) -> np.ndarray:
    return ((last_contact - infusions).dt.days / DAYS_PER_MONTH).to_numpy()


def _enrolment_and_followup(rng: np.random.Generator) -> tuple[pd.Series, np.ndarray, pd.Timestamp, int]:
    candidates = pd.date_range(CUTOFF_SEARCH[0], CUTOFF_SEARCH[1])
    for draw in range(1, 100_001):
        infusions = pd.Series(sorted(
            [FIRST_INFUSION, LAST_INFUSION]
            + _uniform_dates(rng, FIRST_INFUSION, COHORT_1_END, N_PER_COHORT - 1)
            + _uniform_dates(rng, COHORT_2_START, SECOND_PHASE_START, 4)
            + _uniform_dates(rng, SECOND_PHASE_START, LAST_INFUSION - pd.Timedelta(days=14), N_PER_COHORT - 5)
        ))
        if infusions.diff().dt.days.min() < MIN_DAYS_BETWEEN_INFUSIONS:
            continue
        month24_day = (730 + np.clip(np.round(rng.normal(10, 10, len(infusions))), -14, 35)).astype(int)
        # follow-up in days for every candidate cut-off at once: rows are cut-offs, columns patients
        to_cutoff = (candidates.to_numpy()[:, None] - infusions.to_numpy()[None, :]) / np.timedelta64(1, "D")
        months = np.minimum(month24_day[None, :], to_cutoff) / DAYS_PER_MONTH
        quartiles = np.quantile(months, [0.25, 0.5, 0.75], axis=1).T
        # within 0.04 of the published value, so that any rounding convention gives the published value
        close = np.abs(quartiles - np.array(PUBLISHED_FOLLOWUP_QUARTILES)) <= 0.04
        matches = np.flatnonzero(close.all(axis=1))
        if len(matches):
            return infusions, month24_day, candidates[matches[-1]], draw
    raise RuntimeError("no enrolment draw reproduces the published follow-up")  # pragma: no cover


def _uniform_dates(rng: np.random.Generator, start: pd.Timestamp, end: pd.Timestamp, n: int) -> list[pd.Timestamp]:
    offsets = rng.integers(0, (end - start).days + 1, n)
    return [start + pd.Timedelta(days=int(d)) for d in offsets]


def _last_contact(infusions: pd.Series, month24_day: np.ndarray, cutoff: pd.Timestamp) -> pd.Series:
    return (infusions + pd.to_timedelta(month24_day, unit="D")).clip(upper=cutoff)


# --- datasets -----------------------------------------------------------------------------------------------------
def _subjects(rng: np.random.Generator, infusions: pd.Series, month24_day: np.ndarray,
              cutoff: pd.Timestamp) -> pd.DataFrame:
    n = len(infusions)
    sex = rng.permutation(["F"] * N_WOMEN + ["M"] * N_MEN)
    age = np.clip(np.round(rng.normal(46, 11, n)), 19, 69).astype(int)
    women = sex == "F"
    height = np.round(np.where(women, rng.normal(163, 6, n), rng.normal(176, 7, n)), 0)
    weight = np.round(np.where(women, rng.normal(59, 9, n), rng.normal(71, 10, n)), 1)
    last_contact = _last_contact(infusions, month24_day, cutoff)
    completed = last_contact < cutoff
    cohort = [COHORTS[0 if i < N_PER_COHORT else 1] for i in range(n)]
    return pd.DataFrame({
        "STUDYID": STUDYID,
        "USUBJID": [f"MSC-SSC-{i + 1:03d}" for i in range(n)],
        "SUBJID": [f"{i + 1:03d}" for i in range(n)],
        "SITEID": "01",
        "TRT01P": [c[0] for c in cohort],
        "TRT01PN": [c[1] for c in cohort],
        "TRT01A": [c[0] for c in cohort],
        "TRT01AN": [c[1] for c in cohort],
        "TRTSDT": infusions,
        "TRTEDT": infusions,
        "AGE": age,
        "AGEU": "YEARS",
        "AGEGR1": np.where(age < 45, "18-44", "45-70"),
        "SEX": sex,
        "HEIGHTBL": height,
        "WEIGHTBL": weight,
        "BMIBL": np.round(weight / (height / 100) ** 2, 1),
        "DURDIS": np.round(np.clip(rng.lognormal(np.log(3.0), 0.6, n), 0.5, 15), 1),
        "SCL70": rng.choice(["POSITIVE", "NEGATIVE"], n, p=[0.65, 0.35]),
        "ILDFL": rng.choice(["Y", "N"], n, p=[0.75, 0.25]),
        "SAFFL": "Y",
        "ITTFL": "Y",
        "EFFFL": "Y",
        "LSTALVDT": last_contact,
        "EOSSTT": np.where(completed, "COMPLETED", "ONGOING"),
        "DTHFL": "N",
        "DCUTDT": cutoff,
    })


def _measurements(rng: np.random.Generator, adsl: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for subject in adsl.itertuples(index=False):
        followup_days = (subject.LSTALVDT - subject.TRTSDT).days
        missed_visits = {m for _, m in VISITS[1:] if rng.random() < 0.07}
        visit_days = {0: -int(rng.integers(1, 15))}
        for _, month in VISITS[1:]:
            jitter = int(rng.integers(-3, 4)) if month == 1 else int(rng.integers(-10, 11))
            visit_days[month] = round(month * DAYS_PER_MONTH) + jitter
        if subject.EOSSTT == "COMPLETED":
            visit_days[24] = followup_days
            missed_visits.discard(24)
        for model in ENDPOINTS:
            baseline = _round_to(np.clip(rng.normal(model.baseline_mean, model.baseline_sd), model.low,
                                         model.high), model.step)
            patient_effect = rng.normal(0, model.patient_sd)
            for visit, month in VISITS:
                noise = rng.normal(0, model.visit_sd)
                dlco_missing = model.paramcd == "DLCOPP" and rng.random() < 0.05
                if (month not in model.visits or month in missed_visits or visit_days[month] > followup_days
                        or (month and dlco_missing)):
                    continue
                if month == 0:
                    value = baseline
                else:
                    shift = model.mean_change.get(month, 0.0) + patient_effect + noise
                    value = _round_to(np.clip(baseline + shift, 0, 51 if model.paramcd == "MRSS" else
                                              (3 if model.paramcd == "HAQDI" else
                                               (10 if "GLOBAL" in model.paramcd else 150))), model.step)
                ady = visit_days[month] + (1 if visit_days[month] >= 0 else 0)
                rows.append((subject.USUBJID, subject.TRT01P, model.paramcd, model.param, visit, month, ady,
                             value, baseline, month == 0))
    frame = pd.DataFrame(rows, columns=["USUBJID", "TRTP", "PARAMCD", "PARAM", "AVISIT", "AVISITN", "ADY",
                                        "AVAL", "BASE", "ABLFL"])
    post = ~frame["ABLFL"]
    decimals = frame["PARAMCD"].map({m.paramcd: _decimals(m.step) for m in ENDPOINTS})
    frame["CHG"] = np.where(post, (frame["AVAL"] - frame["BASE"]), np.nan)
    frame["CHG"] = [round(v, d) if v == v else v for v, d in zip(frame["CHG"], decimals, strict=True)]
    frame["PCHG"] = np.where(post, np.round(100 * frame["CHG"] / frame["BASE"], 2), np.nan)
    frame["ABLFL"] = np.where(frame["ABLFL"], "Y", "")
    frame["ANL01FL"] = "Y"
    frame.insert(0, "STUDYID", STUDYID)
    return frame[["STUDYID", "USUBJID", "TRTP", "PARAMCD", "PARAM", "AVISIT", "AVISITN", "ADY", "AVAL", "BASE",
                  "CHG", "PCHG", "ABLFL", "ANL01FL"]]


def _laboratory(rng: np.random.Generator, adsl: pd.DataFrame, adeff: pd.DataFrame) -> pd.DataFrame:
    """Haematology and liver tests on the days of the efficacy visits (see the module's assumptions)."""
    visit_days = adeff[adeff["PARAMCD"] == "MRSS"].set_index(["USUBJID", "AVISITN"])["ADY"]
    rows = []
    for subject in adsl.itertuples(index=False):
        man = int(subject.SEX == "M")
        anaemic = rng.random() < 0.25
        for test in LAB_TESTS:
            level = test.mean[man] * np.exp(rng.normal(0, test.between_sd))
            if anaemic and test.paramcd == "HGB":
                level *= 0.85
            baseline_value = baseline_indicator = baseline_grade = None
            for visit, month in VISITS:
                if month not in LAB_VISITS or (subject.USUBJID, month) not in visit_days.index:
                    continue
                value = level * np.exp(rng.normal(0, test.within_sd))
                if month and test.paramcd in ("ALT", "AST") and rng.random() < 0.005:
                    value = test.high[man] * rng.uniform(3, 6)
                value = round(float(value), test.decimals)
                low, high = test.low[man], test.high[man]
                indicator = "LOW" if value < low else "HIGH" if value > high else "NORMAL"
                grade = _ctcae_grade(test, value, low, high)
                ady = int(visit_days[(subject.USUBJID, month)])
                adt = subject.TRTSDT + pd.Timedelta(days=ady - 1 if ady >= 1 else ady)
                if month == 0:
                    baseline_value, baseline_indicator, baseline_grade = value, indicator, grade
                rows.append((subject.USUBJID, subject.TRT01A, test.category, test.paramcd, test.param, visit, month,
                             adt, ady, value, test.unit, baseline_value, low, high, indicator, baseline_indicator,
                             grade, baseline_grade, "Y" if month == 0 else ""))
    frame = pd.DataFrame(rows, columns=["USUBJID", "TRTA", "PARCAT1", "PARAMCD", "PARAM", "AVISIT", "AVISITN", "ADT",
                                        "ADY", "AVAL", "AVALU", "BASE", "ANRLO", "ANRHI", "ANRIND", "BNRIND", "ATOXGR",
                                        "BTOXGR", "ABLFL"])
    decimals = frame["PARAMCD"].map({t.paramcd: t.decimals for t in LAB_TESTS})
    change = np.where(frame["ABLFL"] == "Y", np.nan, frame["AVAL"] - frame["BASE"])
    frame["CHG"] = [round(v, d) if v == v else v for v, d in zip(change, decimals, strict=True)]
    frame["ANL01FL"] = "Y"
    frame.insert(0, "STUDYID", STUDYID)
    return frame


def _ctcae_grade(test: LabModel, value: float, low: float, high: float) -> int:
    """The CTCAE v5 grade of a value in the test's abnormal direction, signed (negative: LOW direction)."""
    if test.direction == "LOW":
        if value >= low:
            return 0
        return -(1 + sum(value < limit for limit in test.limits))
    if value <= high:
        return 0
    return 1 + sum(value > limit * high for limit in test.limits)


def _round_to(value: float, step: float) -> float:
    return round(round(value / step) * step, _decimals(step))


def _decimals(step: float) -> int:
    return 0 if step >= 1 else len(f"{step:g}".split(".")[1])


def _adverse_events(rng: np.random.Generator, adsl: pd.DataFrame) -> pd.DataFrame:
    n = len(adsl)
    rows = []
    infusion_patients = rng.choice(n, size=2, replace=False)
    for slot, term, verbatim, soc, grade, start, end in INFUSION_EVENTS:
        subject = adsl.iloc[infusion_patients[slot]]
        rows.append(_event(subject, verbatim, term, soc, grade, start, end, serious="N", related="RELATED"))

    late_patients = np.sort(rng.choice(n, size=N_LATE_PATIENTS, replace=False))
    frailty = rng.gamma(1.2, 1.0, N_LATE_PATIENTS)
    extra = rng.multinomial(N_LATE_EVENTS - N_LATE_PATIENTS, frailty / frailty.sum())
    weights = np.array([w for *_, w in LATE_SERIOUS_EVENTS], dtype=float)
    for patient, count in zip(late_patients, 1 + extra, strict=True):
        subject = adsl.iloc[patient]
        last_day = (subject.LSTALVDT - subject.TRTSDT).days + 1
        starts = np.sort(rng.choice(np.arange(13, last_day - 5), size=count, replace=False))
        for start in starts:
            pt, soc, verbatim, _ = LATE_SERIOUS_EVENTS[rng.choice(len(weights), p=weights / weights.sum())]
            grade = 4 if rng.random() < 0.2 else 3
            end = int(min(start + rng.integers(3, 31), last_day))
            rows.append(_event(subject, verbatim, pt, soc, grade, int(start), end, serious="Y",
                               related="NOT RELATED"))
    frame = pd.DataFrame(rows).sort_values(["USUBJID", "ASTDY", "AEDECOD"], kind="stable")
    frame.insert(2, "AESEQ", frame.groupby("USUBJID").cumcount() + 1)
    return frame.reset_index(drop=True)


def _event(subject: pd.Series, verbatim: str, term: str, soc: str, grade: int, start: int, end: int, *,
           serious: str, related: str) -> dict[str, object]:
    return {
        "STUDYID": STUDYID,
        "USUBJID": subject.USUBJID,
        "TRTA": subject.TRT01A,
        "AETERM": verbatim,
        "AEDECOD": term,
        "AEBODSYS": soc,
        "ASTDT": subject.TRTSDT + pd.Timedelta(days=start - 1),
        "AENDT": subject.TRTSDT + pd.Timedelta(days=end - 1),
        "ASTDY": start,
        "AENDY": end,
        "AETOXGR": grade,
        "AESER": serious,
        "AEREL": related,
        "AEOUT": "RECOVERED/RESOLVED",
        "TRTEMFL": "Y",
        "SAFFL": "Y",
    }


def _ejection_fraction(rng: np.random.Generator, adeff: pd.DataFrame, adae: pd.DataFrame) -> pd.DataFrame:
    """LVEF (%) by echocardiography at baseline, month 12 and month 24, on the day of the mRSS visit: normal
    (about 62 %, never at or below 50 %) except after a simulated heart failure, when it is 35–44 %."""
    failure = adae[adae["AEDECOD"] == HEART_FAILURE_TERM].groupby("USUBJID")["ASTDY"].min()
    visits = adeff[(adeff["PARAMCD"] == "MRSS") & adeff["AVISIT"].isin(LVEF_VISITS)]
    rows = []
    for usubjid, records in visits.groupby("USUBJID", sort=False):
        baseline = float(np.clip(np.round(rng.normal(62, 5)), 51, 75))
        for record in records.itertuples(index=False):
            noise = float(np.round(rng.normal(0, 3)))
            failed_before = usubjid in failure.index and failure[usubjid] <= record.ADY
            if record.AVISITN == 0:
                value = baseline
            elif failed_before:
                value = float(rng.integers(35, 45))
            else:
                value = float(np.clip(baseline + noise, 51, 75))
            rows.append((record.STUDYID, usubjid, record.TRTP, "LVEF", LVEF_PARAM, record.AVISIT, record.AVISITN,
                         record.ADY, value, baseline, record.ABLFL, "Y"))
    frame = pd.DataFrame(rows, columns=["STUDYID", "USUBJID", "TRTP", "PARAMCD", "PARAM", "AVISIT", "AVISITN", "ADY",
                                        "AVAL", "BASE", "ABLFL", "ANL01FL"])
    post = frame["ABLFL"] != "Y"
    frame["CHG"] = np.where(post, frame["AVAL"] - frame["BASE"], np.nan)
    frame["PCHG"] = np.where(post, np.round(100 * frame["CHG"] / frame["BASE"], 2), np.nan)
    return frame[adeff.columns]


def _time_to_first_sae(adsl: pd.DataFrame, adae: pd.DataFrame) -> pd.DataFrame:
    first = adae[adae["AESER"] == "Y"].groupby("USUBJID")["ASTDT"].min()
    rows = []
    for subject in adsl.itertuples(index=False):
        event_date = first.get(subject.USUBJID)
        event = event_date is not None
        end = event_date if event else subject.LSTALVDT
        rows.append({
            "STUDYID": STUDYID,
            "USUBJID": subject.USUBJID,
            "TRTA": subject.TRT01A,
            "PARAMCD": "TTSAE",
            "PARAM": "Time to first serious adverse event (days)",
            "STARTDT": subject.TRTSDT,
            "ADT": end,
            "AVAL": (end - subject.TRTSDT).days + 1,
            "CNSR": 0 if event else 1,
            "EVNTDESC": "SERIOUS ADVERSE EVENT" if event else "",
            "CNSDTDSC": "" if event else "LAST CONTACT",
            "SAFFL": "Y",
        })
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0]) if args else BUNDLED_STUDY_DIR
    for path in write(folder):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
