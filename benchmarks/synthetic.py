"""A seeded, synthetic ADaM study of any size, for the performance benchmark (never a trial result).

    .venv/bin/python -m benchmarks.synthetic OUTDIR [--scale full|clinical|smoke] [--formats parquet,csv,xpt]

At the full scale it is a large pooled study: 20,000 subjects in 4 cohorts, 12 endpoints × 12 visits
(2,880,000 BDS records), 200,000 adverse events and one time-to-event record per subject, written once
per format into ``OUTDIR/<format>/`` (``adsl``, ``adeff``, ``adae``, ``adtte`` and a ``study.toml``), so
that each folder loads with ``trialviz.load_study(folder)`` exactly as a user's study would. The data are
random draws with a plausible shape (cohort effects on the endpoints, missed visits, graded and
serious events, censoring); they pass validation without a warning.

The ``clinical`` scale is a large trial a clinician would open in the dashboard: 2,000 subjects in 4
cohorts, 6 endpoints × 8 visits and 12,000 adverse events (the scale of issue 18's presentation checks:
tables, figures and tabs that must stay readable far past a few dozen patients).

A ``manifest.json`` records the parameters: :func:`ensure_study` reuses a folder whose manifest matches
and writes it again otherwise.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

GENERATOR_VERSION = 1
FORMATS = ("parquet", "csv", "xpt")
SUFFIX = {"parquet": ".parquet", "csv": ".csv", "xpt": ".xpt"}
STUDYID = "TVBENCH01"
START = pd.Timestamp("2019-01-07")


@dataclass(frozen=True)
class Scale:
    """How large a synthetic study is."""

    subjects: int
    cohorts: int
    endpoints: int
    visits: int
    adverse_events: int
    seed: int = 20240607

    @property
    def bds_records(self) -> int:
        return self.subjects * self.endpoints * self.visits


SCALES = {
    "full": Scale(subjects=20_000, cohorts=4, endpoints=12, visits=12, adverse_events=200_000),
    "clinical": Scale(subjects=2_000, cohorts=4, endpoints=6, visits=8, adverse_events=12_000),
    "smoke": Scale(subjects=400, cohorts=4, endpoints=4, visits=6, adverse_events=4_000),
}

# (PARAMCD, name, unit, low, high, baseline mean, baseline SD, better, MCID, decimals)
ENDPOINTS = [
    ("SKIN", "Skin score", "points", 0, 51, 24, 7, "lower", 5, 0),
    ("FVCPP", "Forced vital capacity", "% predicted", 20, 150, 78, 14, "higher", 3, 1),
    ("DLCOPP", "Diffusing capacity", "% predicted", 10, 150, 62, 15, "higher", 5, 1),
    ("HAQDI", "Disability index", "0–3", 0, 3, 1.2, 0.6, "lower", 0.14, 2),
    ("PTGLOB", "Patient global assessment", "0–10", 0, 10, 5.5, 2.0, "lower", 1, 1),
    ("MDGLOB", "Physician global assessment", "0–10", 0, 10, 5.0, 2.0, "lower", 1, 1),
    ("PAIN", "Pain score", "0–10", 0, 10, 4.5, 2.2, "lower", 1, 1),
    ("FATIGUE", "Fatigue score", "0–52", 0, 52, 30, 9, "higher", 4, 0),
    ("SIXMWD", "Six-minute walk distance", "m", 50, 800, 420, 90, "higher", 30, 0),
    ("CRP", "C-reactive protein", "mg/L", 0, 300, 9, 6, "lower", None, 1),
    ("WEIGHT", "Body weight", "kg", 30, 200, 68, 13, None, None, 1),
    ("SBP", "Systolic blood pressure", "mmHg", 70, 230, 128, 15, None, None, 0),
]
COHORT_NAMES = ["Placebo", "Low dose", "Middle dose", "High dose", "Dose 4", "Dose 5", "Dose 6", "Dose 7"]
SOCS = [
    "Infections and infestations", "Gastrointestinal disorders", "Skin and subcutaneous tissue disorders",
    "Musculoskeletal and connective tissue disorders", "Nervous system disorders",
    "Respiratory, thoracic and mediastinal disorders", "General disorders and administration site conditions",
    "Vascular disorders", "Cardiac disorders", "Renal and urinary disorders", "Blood and lymphatic system disorders",
    "Metabolism and nutrition disorders", "Psychiatric disorders", "Eye disorders", "Investigations",
    "Injury, poisoning and procedural complications", "Hepatobiliary disorders", "Immune system disorders",
    "Reproductive system and breast disorders", "Ear and labyrinth disorders",
]
TERMS_PER_SOC = 12
RELATED = ["NOT RELATED", "UNLIKELY", "POSSIBLE", "PROBABLE"]


def scale_of(name: str) -> Scale:
    return SCALES[name]


def generate(scale: Scale) -> dict[str, pd.DataFrame]:
    """The datasets of a synthetic study, as frames named ``adsl``, ``adeff``, ``adae``, ``adtte``."""
    rng = np.random.default_rng(scale.seed)
    adsl = _adsl(rng, scale)
    return {"adsl": adsl, "adeff": _adeff(rng, scale, adsl), "adae": _adae(rng, scale, adsl),
            "adtte": _adtte(rng, adsl)}


def _adsl(rng: np.random.Generator, scale: Scale) -> pd.DataFrame:
    n = scale.subjects
    width = len(str(n))
    ids = np.arange(1, n + 1)
    cohort = ids % scale.cohorts  # balanced, interleaved as randomisation would
    names = np.array(COHORT_NAMES[:scale.cohorts], dtype=object)
    site = rng.integers(1, 61, n)
    start = START + pd.to_timedelta(np.sort(rng.integers(0, 900, n)), unit="D")
    age = np.clip(np.round(rng.normal(54, 12, n)), 18, 85).astype(int)
    followup = rng.integers(300, 800, n)
    discontinued = rng.random(n) < 0.08
    last = start + pd.to_timedelta(np.where(discontinued, rng.integers(30, 300, n), followup), unit="D")
    saf = rng.random(n) > 0.005
    eff = saf & (rng.random(n) > 0.02)
    return pd.DataFrame({
        "STUDYID": STUDYID,
        "USUBJID": [f"{STUDYID}-{s:03d}-{i:0{width}d}" for s, i in zip(site, ids, strict=True)],
        "SUBJID": [f"{i:0{width}d}" for i in ids],
        "SITEID": [f"{s:03d}" for s in site],
        "TRT01P": names[cohort], "TRT01PN": cohort.astype(float),
        "TRT01A": names[cohort], "TRT01AN": cohort.astype(float),
        "TRTSDT": start.strftime("%Y-%m-%d"), "TRTEDT": start.strftime("%Y-%m-%d"),
        "AGE": age, "AGEU": "YEARS",
        "AGEGR1": np.where(age < 45, "18-44", np.where(age < 65, "45-64", ">=65")),
        "SEX": np.where(rng.random(n) < 0.6, "F", "M"),
        "RACE": rng.choice(["WHITE", "ASIAN", "BLACK OR AFRICAN AMERICAN", "OTHER"], n, p=[0.7, 0.15, 0.1, 0.05]),
        "WEIGHTBL": np.round(rng.normal(70, 13, n).clip(35, 180), 1),
        "SAFFL": np.where(saf, "Y", "N"), "ITTFL": "Y", "EFFFL": np.where(eff, "Y", "N"),
        "LSTALVDT": last.strftime("%Y-%m-%d"),
        "EOSSTT": np.where(discontinued, "DISCONTINUED", "COMPLETED"),
        "DTHFL": "N",
    })


def _adeff(rng: np.random.Generator, scale: Scale, adsl: pd.DataFrame) -> pd.DataFrame:
    n, p, v = scale.subjects, scale.endpoints, scale.visits
    endpoints = ENDPOINTS[:p]
    subject = np.repeat(np.arange(n), p * v)
    param = np.tile(np.repeat(np.arange(p), v), n)
    visit = np.tile(np.arange(v), n * p)
    cohort = adsl["TRT01PN"].to_numpy(dtype=int)[subject]
    low = np.array([e[3] for e in endpoints], dtype=float)[param]
    high = np.array([e[4] for e in endpoints], dtype=float)[param]
    mean = np.array([e[5] for e in endpoints], dtype=float)[param]
    sd = np.array([e[6] for e in endpoints], dtype=float)[param]
    sign = np.array([{"lower": -1.0, "higher": 1.0}.get(e[7], 0.0) for e in endpoints])[param]
    decimals = np.array([e[9] for e in endpoints])[param]
    # a subject's level, a cohort effect growing over the first visits, and visit noise
    level = rng.normal(0, 1, n * p)[subject * p + param]
    effect = sign * cohort * 0.12 * np.minimum(visit, 6) / 6
    noise = np.where(visit == 0, 0.0, rng.normal(0, 0.35, len(subject)))
    raw = mean + sd * (level + effect + noise)
    value = np.clip(raw, low, high)
    value = np.round(value * 10.0 ** decimals) / 10.0 ** decimals
    missed = (visit > 0) & (rng.random(len(subject)) < 0.05)
    value[missed] = np.nan
    base = value[(subject * p + param) * v]  # the baseline record of the same subject and endpoint
    change = value - base
    change[visit == 0] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        percent = np.where(base != 0, np.round(100 * change / base, 2), np.nan)
    start = pd.to_datetime(adsl["TRTSDT"]).to_numpy()
    study_day = np.where(visit == 0, -rng.integers(1, 15, len(subject)), visit * 28 + rng.integers(-3, 4, len(subject)))
    visit_names = np.array(["Baseline"] + [f"Week {4 * i}" for i in range(1, v)], dtype=object)
    codes = np.array([e[0] for e in endpoints], dtype=object)
    labels = np.array([f"{e[1]} ({e[2]})" for e in endpoints], dtype=object)
    del start
    return pd.DataFrame({
        "STUDYID": STUDYID,
        "USUBJID": adsl["USUBJID"].to_numpy()[subject],
        "TRTP": adsl["TRT01P"].to_numpy()[subject],
        "PARAMCD": codes[param], "PARAM": labels[param],
        "AVISIT": visit_names[visit], "AVISITN": visit.astype(float),
        "ADY": study_day.astype(float),
        "AVAL": value, "BASE": base, "CHG": change, "PCHG": percent,
        "ABLFL": np.where(visit == 0, "Y", ""), "ANL01FL": "Y",
    })


def _adae(rng: np.random.Generator, scale: Scale, adsl: pd.DataFrame) -> pd.DataFrame:
    n, m = scale.subjects, scale.adverse_events
    safety = np.flatnonzero(adsl["SAFFL"].to_numpy() == "Y")
    frailty = rng.gamma(1.5, 1.0, len(safety))
    subject = np.sort(rng.choice(safety, size=m, p=frailty / frailty.sum()))
    socs = rng.integers(0, len(SOCS), m)
    term = rng.zipf(1.6, m) % TERMS_PER_SOC
    soc_names = np.array(SOCS, dtype=object)
    decod = np.array([f"{soc.split(' ')[0].split(',')[0]} event {k + 1}" for soc in SOCS
                      for k in range(TERMS_PER_SOC)], dtype=object)[socs * TERMS_PER_SOC + term]
    start = pd.to_datetime(adsl["TRTSDT"]).to_numpy()[subject]
    last = pd.to_datetime(adsl["LSTALVDT"]).to_numpy()[subject]
    span = ((last - start) / np.timedelta64(1, "D")).astype(int)
    onset = np.minimum(np.floor(rng.random(m) * span).astype(int) + 1, span)
    onset = np.where(rng.random(m) < 0.03, -rng.integers(1, 10, m), onset)  # a few before treatment
    duration = rng.integers(1, 40, m)
    grade = rng.choice([1, 2, 3, 4, 5], m, p=[0.5, 0.3, 0.15, 0.049, 0.001])
    serious = (grade >= 3) & (rng.random(m) < 0.7)
    begin = pd.DatetimeIndex(start + (onset - 1).astype("timedelta64[D]"))
    end = pd.DatetimeIndex(start + (onset - 1 + duration).astype("timedelta64[D]"))
    return pd.DataFrame({
        "STUDYID": STUDYID,
        "USUBJID": adsl["USUBJID"].to_numpy()[subject],
        "AESEQ": np.concatenate([np.arange(1, c + 1) for c in np.bincount(subject, minlength=n) if c]),
        "TRTA": adsl["TRT01A"].to_numpy()[subject],
        "AETERM": decod, "AEDECOD": decod, "AEBODSYS": soc_names[socs],
        "ASTDT": begin.strftime("%Y-%m-%d"), "AENDT": end.strftime("%Y-%m-%d"),
        "ASTDY": onset.astype(float), "AENDY": (onset + duration).astype(float),
        "AETOXGR": grade.astype(float), "AESER": np.where(serious, "Y", "N"),
        "AEREL": rng.choice(RELATED, m, p=[0.55, 0.2, 0.15, 0.1]),
        "AEOUT": np.where(grade == 5, "FATAL", "RECOVERED/RESOLVED"),
        "TRTEMFL": np.where(onset >= 1, "Y", "N"), "SAFFL": "Y",
    })


def _adtte(rng: np.random.Generator, adsl: pd.DataFrame) -> pd.DataFrame:
    start = pd.to_datetime(adsl["TRTSDT"])
    last = pd.to_datetime(adsl["LSTALVDT"])
    followup = ((last - start).dt.days + 1).to_numpy()
    hazard = 1 / (900 * (1 + 0.15 * adsl["TRT01PN"].to_numpy()))
    event_time = np.ceil(rng.exponential(1 / hazard)).astype(int)
    event = event_time <= followup
    time_ = np.where(event, event_time, followup)
    return pd.DataFrame({
        "STUDYID": STUDYID, "USUBJID": adsl["USUBJID"], "TRTA": adsl["TRT01A"],
        "PARAMCD": "TTSAE", "PARAM": "Time to first serious adverse event (days)",
        "STARTDT": start.dt.strftime("%Y-%m-%d"),
        "ADT": (start + pd.to_timedelta(time_ - 1, unit="D")).dt.strftime("%Y-%m-%d"),
        "AVAL": time_.astype(float), "CNSR": np.where(event, 0.0, 1.0),
        "EVNTDESC": np.where(event, "SERIOUS ADVERSE EVENT", ""), "CNSDTDSC": np.where(event, "", "LAST CONTACT"),
        "SAFFL": adsl["SAFFL"],
    })


def study_toml(scale: Scale) -> str:
    """The study file: cohorts in order, endpoints with names, units, ranges and MCIDs."""
    lines = [
        "# Synthetic study written by benchmarks/synthetic.py for the performance benchmark.",
        "format = 1", "", "[study]", f'id = "{STUDYID}"', 'name = "Synthetic pooled study"',
        f'title = "Synthetic pooled study, {scale.subjects:,} subjects (benchmark data)"',
        'design = "Randomised, parallel groups (synthetic data written by the trialviz benchmark)"',
        "simulated = true",
        'simulation_note = "SYNTHETIC benchmark data: random draws, not a trial."', "",
        "[conventions]", "primary_window = [1, 28]",
        'primary_window_label = "First four weeks (study days 1–28)"', "",
    ]
    for name in COHORT_NAMES[:scale.cohorts]:
        lines += ["[[cohorts]]", f'value = "{name}"', f'label = "{name}"', ""]
    for code, name, unit, low, high, _, _, better, mcid, decimals in ENDPOINTS[:scale.endpoints]:
        lines += ["[[endpoints]]", f'paramcd = "{code}"', f'name = "{name}"', f'unit = "{unit}"',
                  f"range = [{low}, {high}]", f"decimals = {decimals}"]
        if better:
            lines.append(f'better = "{better}"')
        if mcid:
            lines.append(f"mcid = {mcid}")
        lines.append("")
    return "\n".join(lines)


def write(frames: dict[str, pd.DataFrame], folder: Path, fmt: str, scale: Scale) -> None:
    """Write the datasets in one format (and the study file) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "study.toml").write_text(study_toml(scale), encoding="utf-8")
    for name, frame in frames.items():
        path = folder / f"{name}{SUFFIX[fmt]}"
        if fmt == "parquet":
            frame.to_parquet(path, index=False)
        elif fmt == "csv":
            frame.to_csv(path, index=False)
        else:
            import pyreadstat

            pyreadstat.write_xport(frame, str(path), table_name=name.upper()[:8], file_format_version=5)


def ensure_study(root: Path, scale_name: str, formats: tuple[str, ...] = FORMATS) -> dict[str, Path]:
    """The folder of each format under ``root/<scale_name>/``, generated when missing or out of date."""
    scale = scale_of(scale_name)
    base = root / scale_name
    manifest = {"generator": GENERATOR_VERSION, "scale": asdict(scale)}
    folders = {fmt: base / fmt for fmt in formats}
    manifest_path = base / "manifest.json"
    current = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    missing = [fmt for fmt in formats if not (folders[fmt] / "study.toml").exists()]
    if current.get("generator") == manifest["generator"] and current.get("scale") == manifest["scale"] and not missing:
        return folders
    if current and (current.get("generator"), current.get("scale")) != (manifest["generator"], manifest["scale"]):
        shutil.rmtree(base, ignore_errors=True)
        missing = list(formats)
    started = time.perf_counter()
    frames = generate(scale)
    for fmt in missing:
        shutil.rmtree(folders[fmt], ignore_errors=True)
        write(frames, folders[fmt], fmt, scale)
    base.mkdir(parents=True, exist_ok=True)
    manifest["formats"] = sorted(set(current.get("formats", [])) | set(missing) | set(formats))
    manifest["rows"] = {name: len(frame) for name, frame in frames.items()}
    manifest["seconds"] = round(time.perf_counter() - started, 1)
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return folders


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    parser.add_argument("--formats", default=",".join(FORMATS))
    args = parser.parse_args()
    started = time.perf_counter()
    folders = ensure_study(args.outdir, args.scale, tuple(args.formats.split(",")))
    for fmt, folder in folders.items():
        size = sum(p.stat().st_size for p in folder.iterdir())
        print(f"{fmt:8} {folder}  {size / 1e6:,.1f} MB")
    print(f"{time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
