"""What a BDS record's visit, timepoint and derivation type make of it: the analysis cells of ADaM.

A BDS analysis value is keyed by ``USUBJID`` × ``PARAMCD`` × ``AVISIT`` × ``ATPT`` × ``DTYPE`` (see the
ADaM Implementation Guide). These helpers work on integer codes, never row by row, so that they serve the
validation of millions of records and the selection of an endpoint's analysis records alike.

Visit kinds
-----------
Every named visit (``AVISIT`` not blank and not ``"."``, with an ``AVISITN``) is one of:

``"unscheduled"``
    ``AVISIT`` starts with "Unscheduled" (any case), e.g. "Unscheduled 4.1". Left out of by-visit tables.
``"derived"``
    A summary over visits rather than a visit: every record of it has a non-blank ``DTYPE``; or
    ``AVISITN`` ≥ 9997 (admiral's "POST-BASELINE MAXIMUM" and the like); or ``AVISITN`` ≥ 99 with a name
    that says end of treatment/study, maximum, minimum, last, worst, best or average (the pilot's
    "End of Treatment", ``AVISITN`` 99). Shown as its own labelled rows after the scheduled visits, never
    on a visit axis.
``"scheduled"``
    Every other visit, ordered by ``AVISITN``.

Records without a visit (blank or ``"."`` ``AVISIT``, or no ``AVISITN``) belong to no visit.
"""

from __future__ import annotations

import re
from typing import Literal

import numpy as np
import pandas as pd

from trialviz.io.text import is_categorical, map_distinct, map_each

VisitKind = Literal["scheduled", "derived", "unscheduled"]
MISSING_VISIT = ("", ".")
"""``AVISIT`` text that means no visit (SAS writes a missing value as ``"."``; ADLBC pads it with blanks)."""
UNSCHEDULED = re.compile(r"^\s*unscheduled", re.IGNORECASE)
DERIVED_NAME = re.compile(r"end of (?:treatment|study|trial)|\bmax|\bmin|\blast\b|\bworst\b|\bbest\b|\baverage\b",
                          re.IGNORECASE)
DERIVED_VISITN = 9997.0
"""``AVISITN`` from which a visit is derived whatever its name (admiral's 9997–9999)."""
NAMED_DERIVED_VISITN = 99.0
"""``AVISITN`` from which a visit whose name says so (end of treatment, maximum…) is derived."""


def text_of(series: pd.Series) -> np.ndarray:
    """Each value as stripped text, ``""`` for a missing or blank one (worked out once per distinct value)."""
    return map_each(series, lambda value: str(value).strip(), "")


def codes_of(series: pd.Series) -> np.ndarray:
    """An integer per value, equal exactly when the stripped texts are (blank and missing: -1)."""
    if is_categorical(series):
        text = pd.Series(series.cat.categories, dtype=object).astype("string").str.strip()
        recoded, _ = pd.factorize(text.where(text != ""), use_na_sentinel=True)
        return np.append(recoded, -1)[series.cat.codes.to_numpy()]
    text = series.astype("string").str.strip()
    codes, _ = pd.factorize(text.where(text != ""), use_na_sentinel=True)
    return codes


def combine_key(codes: list[np.ndarray], length: int) -> np.ndarray:
    """One integer per record, equal exactly when all the codes (≥ −1) are: the codes' combination as one
    number where it fits in 63 bits, otherwise the group number of the combination."""
    if not codes:
        return np.zeros(length, dtype=np.int64)
    sizes = [int(c.max()) + 2 if len(c) else 1 for c in codes]
    if float(np.prod(sizes, dtype=float)) < 2.0 ** 62:
        key = np.zeros(length, dtype=np.int64)
        for column, size in zip(codes, sizes, strict=True):
            key = key * size + (np.asarray(column, dtype=np.int64) + 1)
        return key
    return (pd.DataFrame(dict(enumerate(codes))).groupby(list(range(len(codes))), sort=False, observed=False)
            .ngroup().to_numpy())


def combine(codes: list[np.ndarray], length: int) -> np.ndarray:
    """One group number (0, 1, … in order of appearance) per record for the combination of several code
    arrays (codes ≥ −1)."""
    return pd.factorize(combine_key(codes, length))[0]


def has_visit(frame: pd.DataFrame) -> np.ndarray:
    """True for records with a visit: ``AVISIT`` neither blank nor ``"."``, and an ``AVISITN``."""
    if "AVISIT" not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    named = ~np.isin(text_of(frame["AVISIT"]), MISSING_VISIT)
    if "AVISITN" in frame.columns:
        named &= pd.to_numeric(frame["AVISITN"], errors="coerce").notna().to_numpy()
    return named


def is_unscheduled(frame: pd.DataFrame) -> np.ndarray:
    """True for records at an unscheduled visit (``AVISIT`` starting with "Unscheduled")."""
    if "AVISIT" not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return map_distinct(frame["AVISIT"], lambda s: s.astype("string").str.match(UNSCHEDULED).fillna(False)
                        .to_numpy(dtype=bool), False).astype(bool)


def cell_dtypes(frame: pd.DataFrame) -> np.ndarray:
    """The ``dtype`` of each record of ``frame`` (the records an analysis uses): ``""`` or its ``DTYPE``.

    The records of one subject, parameter, visit and timepoint (a *cell*) are what an analysis summarises.
    Where the analysis flag left one record per subject at a visit, that record is its value whatever its
    ``DTYPE`` (the pilot's LOCF records at Week 24): ``""``. Where a subject has several records at a visit
    (several timepoints, or an observed and a derived record), its derived records (``DTYPE`` not blank:
    AVERAGE of the timepoints, LOV…) are values of their own, never pooled with the observed ones: their
    ``DTYPE`` becomes the ``dtype`` of every record of that parameter, visit, timepoint and ``DTYPE``, so
    that the rows of one cell mean one thing for every subject.
    """
    n = len(frame)
    dtype = text_of(frame["DTYPE"]) if "DTYPE" in frame.columns else np.full(n, "", dtype=object)
    derived = dtype != ""
    if not derived.any():
        return dtype
    visit = [codes_of(frame[c]) for c in ("PARAMCD", "AVISIT") if c in frame.columns]
    place = [*visit, *([codes_of(frame["ATPT"])] if "ATPT" in frame.columns else [])]
    subject_visit = combine([codes_of(frame["USUBJID"]), *visit], n)
    several = np.bincount(subject_visit)[subject_visit] > 1
    dtype_code = pd.factorize(dtype)[0]
    group = combine([*place, dtype_code], n)
    split = np.isin(group, np.unique(group[derived & several])) & derived
    return np.where(split, dtype, "").astype(object)


def duplicated_cells(frame: pd.DataFrame, dtype: np.ndarray) -> np.ndarray:
    """True for the records sharing subject, parameter, visit, timepoint and ``dtype`` with another."""
    keys = [codes_of(frame[c]) for c in ("USUBJID", "PARAMCD", "AVISIT", "ATPT") if c in frame.columns]
    if (dtype != "").any():
        keys.append(pd.factorize(dtype)[0])
    return pd.Series(combine_key(keys, len(frame))).duplicated(keep=False).to_numpy()


def classify_visits(frame: pd.DataFrame) -> pd.DataFrame:
    """The named visits of some BDS records and their kind (see the module's docstring).

    Returns
    -------
    pandas.DataFrame
        One row per visit: ``visit`` (stripped ``AVISIT``), ``visitn`` (its smallest ``AVISITN``), ``kind``
        (``"scheduled"``, ``"derived"`` or ``"unscheduled"``), ``baseline`` (every record flagged
        ``ABLFL = "Y"``) and ``records``; scheduled visits first, then derived, then unscheduled, each in
        ``AVISITN`` order.
    """
    columns = ["visit", "visitn", "kind", "baseline", "records"]
    rows = frame[has_visit(frame)] if len(frame) else frame
    if not len(rows):
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            columns, [object, float, object, bool, int], strict=True)})
    visit = text_of(rows["AVISIT"])
    parts = pd.DataFrame({
        "visit": visit,
        "visitn": pd.to_numeric(rows["AVISITN"], errors="coerce").to_numpy(dtype=float),
        "derived": text_of(rows["DTYPE"]) != "" if "DTYPE" in rows.columns else False,
        "baseline": text_of(rows["ABLFL"]) == "Y" if "ABLFL" in rows.columns else False,
    })
    table = parts.groupby("visit", sort=False, observed=False).agg(visitn=("visitn", "min"), derived=("derived", "all"),
                                                  baseline=("baseline", "all"), records=("visitn", "size"))
    names = pd.Series(table.index, index=table.index, dtype=object)
    unscheduled = names.str.match(UNSCHEDULED)
    derived = table["derived"] | (table["visitn"] >= DERIVED_VISITN) | (
        (table["visitn"] >= NAMED_DERIVED_VISITN) & names.str.contains(DERIVED_NAME))
    table["kind"] = np.where(unscheduled, "unscheduled", np.where(derived, "derived", "scheduled"))
    table["_rank"] = table["kind"].map({"scheduled": 0, "derived": 1, "unscheduled": 2})
    table = table.reset_index().sort_values(["_rank", "visitn", "visit"], kind="stable")
    table["records"] = table["records"].astype(int)
    return table[columns].reset_index(drop=True)
