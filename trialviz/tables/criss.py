"""The composite response of systemic sclerosis trials: the ACR CRISS and the revised CRISS.

Definitions (``../shared/trial/README.md``, "Composite response"):

- **ACR CRISS** (Khanna et al., Arthritis Care Res 2016;68:167–178, Table 4; Arthritis Rheumatol
  2016;68:299–311). Step 1: a patient who develops a new scleroderma renal crisis, a decline in FVC
  % predicted of ≥ 15 % (relative) to below 80 % predicted, new left-ventricular failure (LVEF ≤ 45 %) or
  new pulmonary arterial hypertension is *not improved* (probability 0.0). Step 2: the predicted
  probability of improvement ``exp(X) / (1 + exp(X))`` with
  ``X = −5.54 − 0.81·ΔmRSS + 0.21·ΔFVC%pred − 0.40·ΔPtGlobal − 0.44·ΔMDGlobal − 3.41·ΔHAQ-DI``
  (Δ = visit minus baseline); a probability ≥ 0.60 is *improved*.
- **Revised CRISS** (Khanna et al., Ann Rheum Dis 2021;80:641–650): improved by at least X % relative to
  baseline in at least 3 of the 5 core items (FVC: 5 %).

Where the items are is the study file's ``[composites.criss]`` (:class:`~trialviz.study.CrissMapping`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast

import numpy as np
import pandas as pd

from trialviz.errors import AnalysisError
from trialviz.stats import exact_ci
from trialviz.study import CRISS_ITEMS, CrissMapping, Study
from trialviz.tables.common import TOTAL, cohort_columns, population, with_conventions
from trialviz.tables.endpoints import analysis_records, records_notes
from trialviz.visits import text_of

INTERCEPT = -5.54
COEFFICIENTS = {"mrss": -0.81, "fvc": 0.21, "ptglobal": -0.40, "mdglobal": -0.44, "haqdi": -3.41}
"""The step-2 logistic model of the ACR CRISS (Khanna et al. 2016, Table 4), per unit of change."""
IMPROVED_AT = 0.60
"""A probability of improvement at or above it is "improved"."""
LVEF_FAILURE_AT = 45.0
"""An LVEF (%) at or below it is left-ventricular failure (ACR CRISS step 1)."""
REVISED_FVC_PERCENT = 5.0
"""The revised CRISS's relative improvement of FVC % predicted (the other items: ``percent``)."""
REVISED_ITEMS_NEEDED = 3

ITEM_NAMES = {"mrss": "mRSS", "fvc": "FVC % predicted", "ptglobal": "patient global", "mdglobal": "physician global",
              "haqdi": "HAQ-DI"}
CRITERIA = {"renal": "new scleroderma renal crisis", "fvc": "FVC decline",
            "lvef": "new left-ventricular failure (LVEF ≤ 45%)", "pah": "new pulmonary arterial hypertension"}
"""The step-1 criteria, in the order of Khanna et al. 2016, Table 4."""
Index = Literal["criss", "revised"]


def criss_probability(changes: Mapping[str, float]) -> float:
    """Step 2 of the ACR CRISS: the predicted probability of improvement from the five changes.

    Parameters
    ----------
    changes
        Change from baseline (visit minus baseline) of each core item (:data:`~trialviz.study.CRISS_ITEMS`).

    Examples
    --------
    >>> from trialviz.tables.criss import criss_probability
    >>> round(criss_probability({"mrss": -10, "fvc": 0, "ptglobal": 0, "mdglobal": 0, "haqdi": 0}), 4)
    0.9282
    """
    x = INTERCEPT + sum(COEFFICIENTS[item] * changes[item] for item in CRISS_ITEMS)
    return 1 / (1 + math.exp(-x))


def _probabilities(changes: pd.DataFrame) -> pd.Series:
    """:func:`criss_probability` of every row of a frame with a column per core item (missing where one is)."""
    x = INTERCEPT + sum(COEFFICIENTS[item] * changes[item] for item in CRISS_ITEMS)
    return 1 / (1 + np.exp(-x))


@dataclass(frozen=True)
class _Items:
    """The five core items of every patient of the population at one visit."""

    subjects: pd.DataFrame  # USUBJID, cohort, in population order
    baseline: pd.DataFrame  # index USUBJID, a column per item
    at_visit: pd.DataFrame  # index USUBJID, a column per item
    change: pd.DataFrame  # index USUBJID, a column per item
    visit_day: pd.Series  # index USUBJID: the study day of the visit (the patient's, else the visit's median)
    # (infinite where the records have no study day)
    visitn: float
    notes: list[str]


def criss_mapping(study: Study) -> CrissMapping:
    """The study's ``[composites.criss]``, checked against its data: every mapped ``PARAMCD`` is a parameter.

    Raises
    ------
    AnalysisError
        The study file declares no mapping, or an item (or ``lvef``) names a ``PARAMCD`` the data lack; the
        message names the item and the parameters there are.
    """
    mapping = study.meta.criss
    where = study.provenance.study_file or "the study file"
    if mapping is None:
        raise AnalysisError(f"The ACR CRISS needs a [composites.criss] table in {where} naming the PARAMCD of "
                            f"each core item ({', '.join(CRISS_ITEMS)}) and the step-1 sources; this study has "
                            "none.")
    known = {e.paramcd for e in study.endpoints}
    named = {**mapping.items, **({"lvef": mapping.lvef} if mapping.lvef else {})}
    missing = {item: code for item, code in named.items() if code not in known}
    if missing:
        listed = "; ".join(f"`{item}` = {code!r}" for item, code in missing.items())
        raise AnalysisError(f"{where} [composites.criss]: no BDS parameter for {listed} (the data's PARAMCD: "
                            f"{', '.join(sorted(known)) or 'none'}).")
    return mapping


def criss_visits(study: Study) -> list[str]:
    """The visits of the study's CRISS tables: ``visits`` of ``[composites.criss]``, else every post-baseline
    scheduled visit at which all five core items are measured, in visit order."""
    mapping = criss_mapping(study)
    return list(mapping.visits) if mapping.visits else _visits_with_items(study, mapping)


def _visits_with_items(study: Study, mapping: CrissMapping) -> list[str]:
    common: list[str] | None = None
    for code in mapping.items.values():
        kinds = study.visit_kinds(code)
        chosen = (kinds["kind"] == "scheduled") & ~kinds["baseline"].astype(bool)
        visits = [str(v) for v in kinds.loc[chosen, "visit"]]
        common = visits if common is None else [v for v in common if v in visits]
    return common or []


Prepared = TypeVar("Prepared")


@dataclass(frozen=True)
class _ItemRecords:
    """One core item's plain records (no derived record, no timepoint) in the population, prepared once per
    study for every visit."""

    records: pd.DataFrame  # USUBJID as text
    is_baseline: np.ndarray
    baseline_value: pd.Series  # index USUBJID: AVAL of the baseline record
    notes: list[str]


def _prepared(study: Study, population_flag: str | None, key: Hashable, compute: Callable[[], Prepared]
              ) -> Prepared:
    """``compute()`` once per study and population: what the CRISS reads from the study (each item's records, the
    step-1 measurements, the adverse events with given terms), prepared for every visit. One entry of
    :meth:`Study.derived` holds them all (a study keeps few), and holds no reference back to the study."""
    cache: dict[Hashable, Any] = study.derived(("criss sources", population_flag), dict)
    if key not in cache:
        cache[key] = compute()
    return cast(Prepared, cache[key])


def _item_records(study: Study, code: str, population_flag: str | None) -> _ItemRecords:
    records = analysis_records(study, code, population_flag=population_flag)
    notes = records_notes(records)
    records, is_baseline, aval = _marked(records[(records["dtype"] == "").to_numpy()
                                                 & (records["ATPT"] == "").to_numpy()])
    base_record = records[is_baseline & aval.notna().to_numpy()]
    baseline_value = pd.to_numeric(base_record.set_index("USUBJID")["AVAL"], errors="coerce")
    return _ItemRecords(records, is_baseline, baseline_value, notes)


def _marked(records: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, pd.Series]:
    """``records`` with ``USUBJID`` as text, which of them are baseline records (``ABLFL`` "Y"), and ``AVAL`` as
    numbers."""
    records = records.assign(USUBJID=records["USUBJID"].astype(str))
    is_baseline = (text_of(records["ABLFL"]) == "Y") if "ABLFL" in records.columns else \
        np.zeros(len(records), dtype=bool)
    return records, is_baseline, pd.to_numeric(records["AVAL"], errors="coerce")


def _items(study: Study, mapping: CrissMapping, visit: str, population_flag: str | None) -> _Items:
    pop = population(study, "efficacy", population_flag)
    subjects = pop.subjects[["USUBJID", "cohort"]].assign(USUBJID=lambda f: f["USUBJID"].astype(str))
    ids = pd.Index(subjects["USUBJID"])
    baseline, at_visit, change, days, visitns = {}, {}, {}, [], []
    notes: list[str] = []
    absent: list[str] = []
    for item, code in mapping.items.items():
        prepared = _prepared(study, population_flag, ("item", code),
                             functools.partial(_item_records, study, code, population_flag))
        notes = notes or prepared.notes
        records = prepared.records
        visit_rows = records[(records["AVISIT"] == visit).to_numpy() & ~prepared.is_baseline]
        if not len(visit_rows) and not _measured_at(study.subset_of or study, code, visit):
            absent.append(f"{ITEM_NAMES[item]} ({code})")
        visit_rows = visit_rows.set_index("USUBJID")
        value = pd.to_numeric(visit_rows["AVAL"], errors="coerce").reindex(ids)
        base = pd.to_numeric(visit_rows["BASE"], errors="coerce").reindex(ids) if "BASE" in visit_rows.columns \
            else pd.Series(np.nan, index=ids)
        base = base.fillna(prepared.baseline_value.reindex(ids))
        chg = pd.to_numeric(visit_rows["CHG"], errors="coerce").reindex(ids) if "CHG" in visit_rows.columns \
            else pd.Series(np.nan, index=ids)
        baseline[item], at_visit[item] = base, value
        change[item] = chg.where(chg.notna(), value - base).where(value.notna() & base.notna())
        if "ADY" in visit_rows.columns:
            days.append(pd.to_numeric(visit_rows["ADY"], errors="coerce").reindex(ids))
        visitns.extend(pd.to_numeric(visit_rows["AVISITN"], errors="coerce").dropna().tolist())
    if absent:
        raise AnalysisError(f"The CRISS cannot be computed at {visit!r}: no record of {', '.join(absent)} there; "
                            f"visits with every core item: {', '.join(_visits_with_items(study, mapping)) or 'none'}.")
    day = pd.concat(days, axis=1).max(axis=1) if days else pd.Series(np.nan, index=ids)
    # a patient not seen at the visit: its usual study day; no study day at all: every event from day 1 counts
    day = day.fillna(day.median() if day.notna().any() else np.inf)
    return _Items(subjects=subjects.reset_index(drop=True), baseline=pd.DataFrame(baseline),
                  at_visit=pd.DataFrame(at_visit), change=pd.DataFrame(change), visit_day=day,
                  visitn=min(visitns) if visitns else np.nan, notes=notes)


def _measured_at(study: Study, code: str, visit: str) -> bool:
    """Whether the (unfiltered) study has a post-baseline record of ``code`` at ``visit``: a filter that leaves
    nobody measured there leaves patients without a result, it does not make the visit unknown."""
    kinds = study.visit_kinds(code)
    return bool(((kinds["visit"].astype(str) == visit) & ~kinds["baseline"].astype(bool)).any())


def _missing(items: _Items, visit: str) -> pd.Series:
    """Why a patient's step 2 cannot be computed: the items missing at baseline or at the visit."""
    reasons = []
    for usubjid in items.change.index:
        parts = []
        for item in CRISS_ITEMS:
            where = [w for w, frame in (("baseline", items.baseline), (visit, items.at_visit))
                     if pd.isna(frame.at[usubjid, item])]
            if where:
                parts.append(f"{ITEM_NAMES[item]} missing at {' and '.join(where)}")
        reasons.append("; ".join(parts))
    return pd.Series(reasons, index=items.change.index, dtype=object)


def _term_events(study: Study, terms: Sequence[str], subjects: pd.Index, visit_day: pd.Series) -> dict[str, str]:
    """The first adverse event of each patient whose term is one of ``terms``, from study day 1 to the visit."""
    found = _prepared(study, None, ("events", tuple(terms)), lambda: _events_with_terms(study, tuple(terms)))
    if found is None:
        return {}
    found = found[found["USUBJID"].isin(subjects).to_numpy()]
    limit = found["USUBJID"].map(visit_day)
    day = found["onset_day"]
    # an event of unknown onset day is counted (kept in view rather than assumed to fall after the visit)
    found = found[(day.isna() | ((day >= 1) & (day <= limit))).to_numpy()]
    records: dict[str, str] = {}
    for row in found.sort_values("onset_day", na_position="last").itertuples(index=False):
        usubjid = row.USUBJID
        if usubjid in records:
            continue
        term = str(getattr(row, "AEDECOD", "") or getattr(row, "AETERM", ""))
        start = getattr(row, "ASTDT", None)
        when = ", ".join(([f"onset {pd.Timestamp(start).date()}"] if start is not None and pd.notna(start) else [])
                         + ["day unknown" if pd.isna(row.onset_day) else f"day {row.onset_day:g}"])
        records[usubjid] = f"ADAE: {term} ({when})"
    return records


def _events_with_terms(study: Study, terms: tuple[str, ...]) -> pd.DataFrame | None:
    """The adverse events whose ``AEDECOD`` or ``AETERM`` is one of ``terms`` (any case), with ``USUBJID`` as text
    and ``onset_day``; ``None`` without events or terms."""
    events = study.adverse_events
    if not len(events) or not terms:
        return None
    wanted = {t.casefold() for t in terms}
    matched = np.zeros(len(events), dtype=bool)
    for column in ("AEDECOD", "AETERM"):
        if column in events.columns:
            matched |= np.isin([str(v).casefold() for v in text_of(events[column])], list(wanted))
    found = events[matched]
    day = pd.to_numeric(found["ASTDY"], errors="coerce") if "ASTDY" in found.columns else \
        pd.Series(np.nan, index=found.index)
    return found.assign(USUBJID=found["USUBJID"].astype(str), onset_day=day)


def _measurement_events(study: Study, code: str, items: _Items, population_flag: str | None,
                        crossed: Callable[[pd.Series, pd.Series], pd.Series],
                        describe: Callable[[float, float], str]) -> dict[str, str]:
    """The first post-baseline record (study day 1 to the visit) of parameter ``code`` that ``crossed``."""
    records = _prepared(study, population_flag, ("measurement", code),
                        lambda: _measurement_records(study, code, population_flag))
    limit = records["USUBJID"].map(items.visit_day)
    day, visitn = records["onset_day"], records["visitn"]
    by_day = (day >= 1) & (day <= limit)
    # without a study day, a record is in the window by its visit: after baseline, up to the visit
    by_visit = day.isna() & (visitn > 0) & (visitn <= items.visitn)
    chosen = ~records["is_baseline"].to_numpy() & (by_day | by_visit).to_numpy() & \
        crossed(records["crossed_value"], records["base_value"]).to_numpy()
    out: dict[str, str] = {}
    for row in records[chosen].sort_values("onset_day").itertuples(index=False):
        if row.USUBJID not in out:
            when = "day unknown" if pd.isna(row.onset_day) else f"day {row.onset_day:g}"
            out[row.USUBJID] = f"{getattr(row, 'DATASET', 'BDS')} {code} {row.AVISIT} ({when}): " \
                               f"{describe(row.crossed_value, row.base_value)}"
    return out


def _measurement_records(study: Study, code: str, population_flag: str | None) -> pd.DataFrame:
    """The plain records of parameter ``code`` in the population, with ``USUBJID`` as text, ``is_baseline``,
    their value (``crossed_value``), baseline (``base_value``: ``BASE``, else the baseline record's),
    ``onset_day`` (``ADY``) and ``visitn``."""
    records = analysis_records(study, code, population_flag=population_flag)
    records, is_baseline, aval = _marked(records[(records["dtype"] == "").to_numpy()])
    baseline = pd.to_numeric(records["BASE"], errors="coerce") if "BASE" in records.columns else \
        pd.Series(np.nan, index=records.index)
    from_record = pd.Series(aval[is_baseline].to_numpy(), index=records.loc[is_baseline, "USUBJID"].to_numpy())
    from_record = from_record[~from_record.index.duplicated()]
    baseline = baseline.fillna(records["USUBJID"].map(from_record))
    day = pd.to_numeric(records["ADY"], errors="coerce") if "ADY" in records.columns else \
        pd.Series(np.nan, index=records.index)
    return records.assign(is_baseline=is_baseline, crossed_value=aval, base_value=baseline,
                          onset_day=day, visitn=pd.to_numeric(records["AVISITN"], errors="coerce"))


def _step1(study: Study, mapping: CrissMapping, items: _Items,
           population_flag: str | None) -> tuple[pd.Series, pd.Series, list[str]]:
    """Step 1: per patient, the criteria met with the record of each; and the criteria not checked."""
    ids = items.change.index
    found: dict[str, dict[str, str]] = {}
    not_checked: list[str] = []
    has_events = len(study.adverse_events.columns) > 0
    for key, terms in (("renal", mapping.renal_crisis_terms), ("pah", mapping.pah_terms)):
        if terms and has_events:
            found[key] = _term_events(study, terms, ids, items.visit_day)
        else:
            not_checked.append(CRITERIA[key])
    if mapping.fvc_decline_percent is not None and mapping.fvc_below is not None:
        percent, below = mapping.fvc_decline_percent, mapping.fvc_below
        found["fvc"] = _measurement_events(
            study, mapping.items["fvc"], items, population_flag,
            lambda value, base: (100 * (base - value) / base.where(base > 0) >= percent) & (value < below),
            lambda value, base: f"{value:g} from {base:g} at baseline ({100 * (base - value) / base:.1f}% "
                                f"decline, below {below:g})")
    else:
        not_checked.append(CRITERIA["fvc"])
    if mapping.lvef:
        found["lvef"] = _measurement_events(
            study, mapping.lvef, items, population_flag,
            lambda value, base: (value <= LVEF_FAILURE_AT) & ~(base <= LVEF_FAILURE_AT),
            lambda value, base: f"LVEF {value:g}% (baseline {'unknown' if pd.isna(base) else f'{base:g}%'})")
    else:
        not_checked.append(CRITERIA["lvef"])
    not_checked = [CRITERIA[key] for key in CRITERIA if CRITERIA[key] in not_checked]
    order = [key for key in CRITERIA if key in found]
    met = pd.Series(["; ".join(CRITERIA[k] for k in order if s in found[k]) for s in ids], index=ids, dtype=object)
    where = pd.Series(["; ".join(found[k][s] for k in order if s in found[k]) for s in ids], index=ids, dtype=object)
    return met, where, not_checked


def _parts(study: Study, mapping: CrissMapping, visit: str, population_flag: str | None
           ) -> tuple[_Items, pd.Series, pd.Series, list[str]]:
    """The core items and step 1 at a visit, derived once per study for the ACR CRISS, the revised CRISS, their
    cohort tables, figure and drill-downs (shared: callers never change them)."""
    def compute() -> tuple[_Items, pd.Series, pd.Series, list[str]]:
        items = _items(study, mapping, visit, population_flag)
        return (items, *_step1(study, mapping, items, population_flag))
    return study.derived(("criss parts", visit, population_flag), compute)


def criss(study: Study, *, visit: str, population_flag: str | None = None) -> pd.DataFrame:
    """The ACR CRISS of every patient at one visit: the five core changes, step 1, the step-2 probability
    and whether the patient improved.

    Step 1 looks for a new scleroderma renal crisis and new pulmonary arterial hypertension among the
    adverse events (the study file's ``renal_crisis_terms`` and ``pah_terms``, matched on ``AEDECOD`` or
    ``AETERM``), a decline of FVC % predicted (``fvc_decline``) and an LVEF ≤ 45 % with a baseline above
    it (``lvef``), from study day 1 to the patient's visit. A patient who meets one is not improved
    (probability 0.0) whatever the core items. A criterion without a source in the study file is
    "not checked" (``not_checked``), and step 2 is still computed.

    Parameters
    ----------
    study
        A (possibly filtered) study whose study file has a ``[composites.criss]`` table.
    visit
        The analysis visit (``AVISIT`` text), e.g. ``"Month 12"``.
    population_flag
        ADSL flag of the efficacy population; defaults to the study's (``EFFFL``).

    Returns
    -------
    pandas.DataFrame
        One row per patient of the efficacy population: ``USUBJID``, ``cohort``, ``visit``, the changes
        ``mrss_change``, ``fvc_change``, ``ptglobal_change``, ``mdglobal_change``, ``haqdi_change``,
        ``step1`` (the criteria met, ``""`` for none), ``step1_record`` (the record of each),
        ``not_checked`` (the criteria without a source), ``probability`` (0–1; 0.0 after step 1; missing
        when it cannot be computed), ``improved`` (probability ≥ 0.60; missing when unknown) and
        ``missing`` (which item is missing at baseline or at the visit).

    Raises
    ------
    AnalysisError
        No ``[composites.criss]`` mapping, a mapped ``PARAMCD`` not in the data, or an unknown visit.

    Examples
    --------
    >>> import trialviz
    >>> table = trialviz.criss(trialviz.load_study(), visit="Month 12")
    >>> len(table)
    20
    """
    mapping = criss_mapping(study)
    items, met, where, not_checked = _parts(study, mapping, visit, population_flag)
    probability = _probabilities(items.change).where(items.change.notna().all(axis=1))
    worsened = met != ""
    probability[worsened] = 0.0
    improved = pd.array([pd.NA if pd.isna(p) else bool(p >= IMPROVED_AT) for p in probability], dtype="boolean")
    table = items.subjects.assign(visit=visit)
    for item in CRISS_ITEMS:
        table[f"{item}_change"] = items.change[item].to_numpy()
    table = table.assign(step1=met.to_numpy(), step1_record=where.to_numpy(),
                         not_checked="; ".join(not_checked), probability=probability.to_numpy(), improved=improved,
                         missing=_missing(items, visit).to_numpy())
    codes = ", ".join(f"{ITEM_NAMES[i]} {c}" for i, c in mapping.items.items())
    return with_conventions(
        table, *items.notes,
        f"ACR CRISS (Khanna et al., Arthritis Care Res 2016;68:167–178): step 1, then step 2's probability "
        f"exp(X)/(1+exp(X)), X = −5.54 − 0.81·ΔmRSS + 0.21·ΔFVC%pred − 0.40·ΔPtGlobal − 0.44·ΔMDGlobal − "
        f"3.41·ΔHAQ-DI (Δ: the visit minus baseline; {codes}). Improved: probability ≥ {IMPROVED_AT:.2f}.",
        _step1_note(mapping, not_checked),
        "A patient who meets a step-1 criterion is not improved (probability 0) even where a core item is missing; "
        "otherwise a patient missing a core item at baseline or at the visit has no probability (column missing).")


def _step1_note(mapping: CrissMapping, not_checked: list[str]) -> str:
    sources = []
    if mapping.renal_crisis_terms:
        sources.append(f"renal crisis: adverse events {', '.join(mapping.renal_crisis_terms)}")
    if mapping.pah_terms:
        sources.append(f"PAH: adverse events {', '.join(mapping.pah_terms)}")
    if mapping.fvc_decline_percent is not None:
        sources.append(f"FVC: a decline ≥ {mapping.fvc_decline_percent:g}% relative to baseline to below "
                       f"{mapping.fvc_below:g}% predicted (confirmation within a month and HRCT not checked)")
    if mapping.lvef:
        sources.append(f"LV failure: {mapping.lvef} ≤ {LVEF_FAILURE_AT:g}% with a baseline above it (need of "
                       "treatment not checked)")
    checked = "; ".join(sources) if sources else "no source"
    note = f"Step 1 from study day 1 to the visit — {checked}."
    if not_checked:
        note += f" Not checked (no source in the study file): {', '.join(not_checked)}."
    return note


def revised_criss(study: Study, *, visit: str, percent: float = 20, population_flag: str | None = None
                  ) -> pd.DataFrame:
    """The revised CRISS of every patient at one visit: improved by at least ``percent`` % relative to
    baseline in at least 3 of the 5 core items (FVC % predicted: 5 % relative), with no step-1 worsening.

    An item improves in its better direction: a fall of mRSS, the two global assessments and HAQ-DI, a rise
    of FVC. An item whose baseline is 0 cannot improve relatively and counts as not improved. Requiring no
    step-1 worsening (:func:`criss`) is this project's choice. A patient missing an item is improved when
    the items present already make 3, not improved when even all missing ones could not make 3, and
    unknown otherwise.

    Parameters
    ----------
    study
        A (possibly filtered) study whose study file has a ``[composites.criss]`` table.
    visit
        The analysis visit (``AVISIT`` text), e.g. ``"Month 12"``.
    percent
        The relative improvement (%) of mRSS, the global assessments and HAQ-DI.
    population_flag
        ADSL flag of the efficacy population; defaults to the study's (``EFFFL``).

    Returns
    -------
    pandas.DataFrame
        One row per patient: ``USUBJID``, ``cohort``, ``visit``, per item the percent change
        (``mrss_percent`` …) and whether it improved (``mrss_improved`` …, missing when unknown),
        ``items_improved``, ``step1``, ``step1_record``, ``not_checked``, ``improved`` and ``missing``.

    Examples
    --------
    >>> import trialviz
    >>> table = trialviz.revised_criss(trialviz.load_study(), visit="Month 12", percent=20)
    >>> int(table["items_improved"].max()) <= 5
    True
    """
    if not percent > 0:
        raise AnalysisError(f"The revised CRISS's improvement must be a positive percentage, not {percent!r}.")
    mapping = criss_mapping(study)
    items, met, where, not_checked = _parts(study, mapping, visit, population_flag)
    table = items.subjects.assign(visit=visit)
    counted = pd.Series(0, index=items.change.index)
    unknown = pd.Series(0, index=items.change.index)
    for item in CRISS_ITEMS:
        base = items.baseline[item]
        # rounded so that binary noise (0.8 − 1.0 = −0.19999…) does not move a patient off the threshold
        relative = (100 * items.change[item] / base.where(base != 0)).round(9)
        needed = REVISED_FVC_PERCENT if item == "fvc" else percent
        better = relative if COEFFICIENTS[item] > 0 else -relative
        known = items.change[item].notna()
        improved = (better >= needed) & (base != 0) & known
        table[f"{item}_percent"] = relative.to_numpy()
        table[f"{item}_improved"] = pd.array([v if k else pd.NA for v, k in zip(improved, known, strict=True)],
                                             dtype="boolean")
        counted += improved.astype(int)
        unknown += (~known).astype(int)
    worsened = met != ""
    decided = worsened | (counted >= REVISED_ITEMS_NEEDED) | (counted + unknown < REVISED_ITEMS_NEEDED)
    result = (counted >= REVISED_ITEMS_NEEDED) & ~worsened
    table = table.assign(items_improved=counted.to_numpy(), step1=met.to_numpy(), step1_record=where.to_numpy(),
                         not_checked="; ".join(not_checked),
                         improved=pd.array([r if d else pd.NA for r, d in zip(result, decided, strict=True)],
                                           dtype="boolean"),
                         missing=_missing(items, visit).to_numpy())
    return with_conventions(
        table, *items.notes,
        f"Revised CRISS (Khanna et al., Ann Rheum Dis 2021;80:641–650): improved by ≥ {percent:g}% relative to "
        f"baseline in ≥ {REVISED_ITEMS_NEEDED} of the 5 core items (FVC % predicted: ≥ {REVISED_FVC_PERCENT:g}% "
        "relative), in each item's better direction.",
        "Without step-1 worsening (this project's choice, as in the ACR CRISS). " + _step1_note(mapping, not_checked),
        "An item whose baseline is 0 cannot improve relatively: counted as not improved. A patient missing items "
        "is classed only when the items present decide it, else left unknown (column missing).")


def criss_summary(study: Study, *, visit: str | None = None, population_flag: str | None = None,
                  total: bool = True, confidence: float = 0.95) -> pd.DataFrame:
    """ACR CRISS improvers by cohort and visit, with exact confidence intervals and the median probability.

    Parameters
    ----------
    study
        A (possibly filtered) study whose study file has a ``[composites.criss]`` table.
    visit
        One analysis visit; by default the study's CRISS visits (``visits`` of ``[composites.criss]``, else
        every visit with all five core items).
    population_flag
        ADSL flag of the efficacy population; defaults to the study's (``EFFFL``).
    total
        Add a ``Total`` cohort over all cohorts.
    confidence
        Level of the Clopper–Pearson intervals.

    Returns
    -------
    pandas.DataFrame
        One row per visit, category and cohort: ``index``, ``visit``, ``visitn``, ``category`` (``improved``:
        the improvers among the patients with a result; ``probability``: the patients with a probability, and
        its ``median``, ``q1``, ``q3``; ``worsened``: step 1; ``no result``), ``label``, ``cohort``,
        ``subjects``, ``denominator``, ``percent``, ``ci_low``, ``ci_high`` (0–100, of the improvers).

    Examples
    --------
    >>> import trialviz
    >>> table = trialviz.criss_summary(trialviz.load_study(), visit="Month 12")
    >>> list(table["category"].unique())
    ['improved', 'probability', 'worsened', 'no result']
    """
    visits = [visit] if visit is not None else criss_visits(study)
    patients = {v: criss(study, visit=v, population_flag=population_flag) for v in visits}
    return _summary(study, patients, "ACR CRISS", total, confidence)


def revised_criss_summary(study: Study, *, visit: str | None = None, percent: float = 20,
                          population_flag: str | None = None, total: bool = True,
                          confidence: float = 0.95) -> pd.DataFrame:
    """Revised CRISS improvers by cohort and visit, with exact confidence intervals
    (:func:`revised_criss`; parameters and rows as :func:`criss_summary`, without the probability's).

    Examples
    --------
    >>> import trialviz
    >>> table = trialviz.revised_criss_summary(trialviz.load_study(), visit="Month 12", percent=20)
    >>> table["index"].iloc[0]
    'revised CRISS ≥ 20%'
    """
    visits = [visit] if visit is not None else criss_visits(study)
    patients = {v: revised_criss(study, visit=v, percent=percent, population_flag=population_flag) for v in visits}
    return _summary(study, patients, f"revised CRISS ≥ {percent:g}%", total, confidence)


CATEGORIES = {"improved": "Improved", "probability": "Probability of improvement, median (IQR)",
              "worsened": "Not improved by step 1 (worsening)", "no result": "No result (a core item missing)"}
"""The rows of a composite table per visit, with their labels: ``improved`` counts the improvers among the
patients with a result; the others count among all patients of the cohort."""


def _category_patients(table: pd.DataFrame, category: str) -> pd.Series:
    """Which patients of a per-patient CRISS table a category of the cohort table counts."""
    if category == "improved":
        return table["improved"].fillna(False).astype(bool)
    if category == "probability":
        return table["probability"].notna()
    if category == "worsened":
        return table["step1"] != ""
    if category == "no result":
        return table["improved"].isna()
    raise AnalysisError(f"Unknown category {category!r}; the categories are: {', '.join(CATEGORIES)}.")


def _summary(study: Study, patients: dict[str, pd.DataFrame], index: str, total: bool,
             confidence: float) -> pd.DataFrame:
    """The cohort table of per-patient tables by visit."""
    with_probability = index == "ACR CRISS"
    categories = [c for c in CATEGORIES if with_probability or c != "probability"]
    rows = []
    for visit, table in patients.items():
        visitn = _visitn(study, visit)
        for category in categories:
            counted = _category_patients(table, category)
            label = f"{CATEGORIES[category]} ({index})" if category == "improved" else CATEGORIES[category]
            for cohort in cohort_columns(study, total=total):
                mine = (table["cohort"] == cohort) if cohort != TOTAL else pd.Series(True, index=table.index)
                known = mine & table["improved"].notna() if category == "improved" else mine
                row = {"index": index, "visit": visit, "visitn": visitn, "category": category, "label": label,
                       "cohort": cohort, "subjects": int((counted & known).sum()), "denominator": int(known.sum())}
                if with_probability:
                    p = table.loc[mine & table["probability"].notna(), "probability"]
                    on = category == "probability" and len(p) > 0
                    row.update(median=p.median() if on else np.nan, q1=p.quantile(0.25) if on else np.nan,
                               q3=p.quantile(0.75) if on else np.nan)
                rows.append(row)
    columns = ["index", "visit", "visitn", "category", "label", "cohort", "subjects", "denominator", "percent",
               "ci_low", "ci_high", *(["median", "q1", "q3"] if with_probability else [])]
    summary = pd.DataFrame(rows, columns=[c for c in columns if c not in ("percent", "ci_low", "ci_high")])
    summary["percent"] = np.where(summary["denominator"] > 0,
                                  100 * summary["subjects"] / summary["denominator"].clip(lower=1), np.nan)
    low, high = exact_ci(summary["subjects"], summary["denominator"], confidence)
    improved = (summary["category"] == "improved").to_numpy()
    summary["ci_low"], summary["ci_high"] = np.where(improved, low, np.nan), np.where(improved, high, np.nan)
    notes = list(dict.fromkeys(n for t in patients.values() for n in t.attrs.get("notes", [])))
    return with_conventions(
        summary[columns], *notes,
        f"Improved: n/N (%), N the patients with a result; {confidence:.0%} CI: exact (Clopper–Pearson). "
        "Step-1 worsening and no result: n/N (%) of all patients of the cohort."
        + (" Probability: median (IQR, numpy's linear quantiles) over the n patients with one."
           if with_probability else ""))


def criss_patients(study: Study, *, visit: str, category: str, cohort: str | None,
                   population_flag: str | None = None) -> list[str]:
    """The patients of a cell of :func:`criss_summary`: a category (``improved``, ``probability``,
    ``worsened``, ``no result``) of a cohort (every cohort for ``None``) at a visit."""
    table = study.derived(("criss", visit, population_flag),
                          lambda: criss(study, visit=visit, population_flag=population_flag))
    return _cell_patients(table, category, cohort)


def revised_criss_patients(study: Study, *, visit: str, category: str, cohort: str | None, percent: float = 20,
                           population_flag: str | None = None) -> list[str]:
    """The patients of a cell of :func:`revised_criss_summary` (as :func:`criss_patients`)."""
    table = study.derived(("revised criss", visit, percent, population_flag),
                          lambda: revised_criss(study, visit=visit, percent=percent, population_flag=population_flag))
    return _cell_patients(table, category, cohort)


def _cell_patients(table: pd.DataFrame, category: str, cohort: str | None) -> list[str]:
    """The cell's patients in ``table``, which callers derive once per study (the cells of a table are drilled
    into one after another) and share: it is only read here."""
    chosen = _category_patients(table, category)
    if cohort not in (None, TOTAL):
        chosen &= table["cohort"] == cohort
    return table.loc[chosen.to_numpy(), "USUBJID"].tolist()


def _visitn(study: Study, visit: str) -> float:
    kinds = study.visit_kinds(criss_mapping(study).items["mrss"])
    match = kinds[kinds["visit"].astype(str) == visit]
    return float(match["visitn"].iloc[0]) if len(match) else np.nan

