"""Analysis populations and disposition: how many subjects each cohort enrolled, treated, analysed, kept."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from trialviz.errors import AnalysisError
from trialviz.io.text import is_yes, upper_text
from trialviz.study import Study
from trialviz.tables.common import TOTAL, cohort_columns, population, with_conventions

POPULATION_FLAGS: dict[str, str] = {
    "ITTFL": "Intention-to-treat population",
    "SAFFL": "Safety population",
    "EFFFL": "Efficacy population",
    "PPROTFL": "Per-protocol population",
}
REASON_COLUMNS = ("DCSREAS", "DCDECOD")


def _completion_flags(adsl: pd.DataFrame) -> list[str]:
    """``COMPxxFL`` flags in ADSL (completers of a visit), in visit order (``COMP8FL`` first)."""
    flags = [c for c in adsl.columns if re.fullmatch(r"COMP\d+FL", str(c))]
    return sorted(flags, key=lambda c: int(re.sub(r"\D", "", c)))


def _rows(adsl: pd.DataFrame) -> list[tuple[str, str, str, pd.Series]]:
    """The rows of the table as (population key, category, label, which subjects)."""
    everyone = pd.Series(True, index=adsl.index)
    rows: list[tuple[str, str, str, pd.Series]] = [("enrolled", "", "Enrolled", everyone)]
    if "TRTSDT" in adsl.columns:
        rows.append(("treated", "", "Treated (TRTSDT present)", adsl["TRTSDT"].notna()))
    for flag, label in POPULATION_FLAGS.items():
        if flag in adsl.columns:
            rows.append((flag, "", f"{label} ({flag})", is_yes(adsl[flag])))
    for flag in _completion_flags(adsl):
        week = re.sub(r"\D", "", flag)
        rows.append((flag, "", f"Completed week {week} ({flag})", is_yes(adsl[flag])))
    status = _status(adsl)
    if status is not None:
        for value in ("COMPLETED", "DISCONTINUED", "ONGOING"):
            if status.eq(value).any() or value != "ONGOING":
                key = value.lower()
                rows.append((key, "", f"{value.capitalize()} the study (EOSSTT)",
                             status.eq(value).fillna(False)))
        reason_column = next((c for c in REASON_COLUMNS if c in adsl.columns), None)
        if reason_column is not None:
            discontinued = status.eq("DISCONTINUED").fillna(False)
            reasons = adsl[reason_column].astype("string").str.strip()
            for reason in sorted(reasons[discontinued].dropna().unique()):
                rows.append(("discontinued", str(reason), f"  {reason}",
                             discontinued & reasons.eq(reason).fillna(False)))
            unknown = discontinued & reasons.isna()
            if unknown.any():
                rows.append(("discontinued", "Missing", "  Reason missing", unknown))
    if "DTHFL" in adsl.columns:
        rows.append(("died", "", "Died (DTHFL)", is_yes(adsl["DTHFL"])))
    return rows


def _status(adsl: pd.DataFrame) -> pd.Series | None:
    """End-of-study status: ``EOSSTT``, else derived from ``DCDECOD`` (``COMPLETED`` or not)."""
    if "EOSSTT" in adsl.columns:
        return upper_text(adsl["EOSSTT"])
    if "DCDECOD" in adsl.columns:
        decod = upper_text(adsl["DCDECOD"])
        return decod.where(decod.isna() | decod.eq("COMPLETED"), "DISCONTINUED")
    return None


def populations(study: Study, *, total: bool = True) -> pd.DataFrame:
    """Analysis populations and disposition by cohort: screened, enrolled, treated, each population flag,
    completers, discontinued subjects with their reasons, and deaths.

    A study whose ADSL lists subjects screened but never randomised (:attr:`Study.screen_failures`) has a
    ``screened`` row above ``enrolled``: every cohort's enrolled subjects, and in ``Total`` every ADSL row
    (no percentage). A filtered study has none (filters select among randomised subjects).

    Every subject of ADSL counts, grouped by planned treatment (``TRT01P``); percentages are of the
    subjects the cohort enrolled. Rows appear only for the data the study has: population flags
    (``ITTFL``, ``SAFFL``, ``EFFFL``, ``PPROTFL``), visit completers (``COMP8FL``…), end-of-study status
    (``EOSSTT``, or ``DCDECOD``), reasons for discontinuation (``DCSREAS``, or ``DCDECOD``) and ``DTHFL``.

    Parameters
    ----------
    study
        A (possibly filtered) study.
    total
        Add a ``Total`` cohort over all cohorts.

    Returns
    -------
    pandas.DataFrame
        One row per population (and reason) and cohort: ``population`` (key: ``screened``, ``enrolled``,
        ``treated``,
        the flag name, ``completed``, ``discontinued``, ``ongoing``, ``died``), ``category`` (the reason
        on discontinuation-reason rows, else empty), ``label``, ``cohort``, ``subjects``, ``denominator``
        (subjects enrolled in the cohort), ``percent`` (0–100).

    Examples
    --------
    >>> import trialviz
    >>> table = trialviz.populations(trialviz.load_study())
    >>> table.query("population == 'SAFFL' and cohort == 'Total'")["subjects"].item()
    20
    """
    pop = population(study, "efficacy", flag="")
    adsl = population_of(study)
    cohorts = cohort_columns(study, total=False)
    sizes = pop.sizes(cohorts, total=total)
    parts = []
    for key, category, label, selected in _rows(adsl):
        chosen = adsl[selected.to_numpy()]
        counts = chosen["cohort"].value_counts().reindex(cohorts, fill_value=0)
        if total:
            counts[TOTAL] = len(chosen)
        parts.append(pd.DataFrame({"population": key, "category": category, "label": label,
                                   "cohort": sizes.index, "subjects": counts.reindex(sizes.index).to_numpy(),
                                   "denominator": sizes.to_numpy()}))
    failures = len(study.screen_failures)
    if failures:
        # every enrolled subject was screened; screen failures belong to no cohort, only to the total
        screened = sizes.copy()
        if total:
            screened[TOTAL] = sizes[TOTAL] + failures
        parts.insert(0, pd.DataFrame({"population": "screened", "category": "", "label": "Screened",
                                      "cohort": sizes.index, "subjects": screened.to_numpy(),
                                      "denominator": sizes.to_numpy()}))
    table = pd.concat(parts, ignore_index=True)
    table["percent"] = np.where(table["denominator"] > 0,
                                100 * table["subjects"] / table["denominator"].clip(lower=1), np.nan)
    table.loc[table["population"].eq("screened"), "percent"] = np.nan  # a count: no share of the enrolled
    screened_note = (f"Screened: every subject of ADSL, with the {failures} screened but never randomised "
                     f"({pop.cohort_variable}/ARM \"Screen Failure\", \"Not Assigned\", \"Not Treated\" or blank), "
                     "who are in the total only; enrolled: the randomised subjects." if failures else "")
    return with_conventions(table, f"All enrolled subjects (ADSL), by planned treatment "
                            f"({pop.cohort_variable}); percentages of the subjects each cohort enrolled.",
                            screened_note,
                            "Population flags count subjects with the flag = \"Y\"; completion and "
                            "discontinuation from the end-of-study status (EOSSTT).")


def populations_patients(study: Study, *, population: str, category: str = "", cohort: str | None = None
                         ) -> list[str]:
    """The subjects counted in one cell of :func:`populations`: row (``population``, ``category``), column
    ``cohort`` (``None`` or ``Total``: every cohort)."""
    adsl = population_of(study)
    for key, row_category, _label, selected in _rows(adsl):
        if key == population and row_category == category:
            chosen = adsl[selected.to_numpy(dtype=bool)]
            if cohort is not None and cohort != TOTAL:
                chosen = chosen[chosen["cohort"] == cohort]
            return sorted(str(p) for p in chosen["USUBJID"])
    raise AnalysisError(f"No row {population!r} {category!r} in the populations table of this study.")


def population_of(study: Study) -> pd.DataFrame:
    """The subjects the populations table counts (all enrolled), each with its ``cohort``."""
    return population(study, "efficacy", flag="").subjects
