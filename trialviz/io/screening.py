"""Subjects screened but never randomised ("screen failures"), as ADaM's ADSL may hold them.

ADSL may list every screened subject; those never randomised carry ``ARM``/``TRT01P`` "Screen Failure"
(also "Not Assigned", "Not Treated", or blank) and no population flag. They belong in disposition counts,
never in a treatment column: the loader keeps them out of :attr:`Study.subjects` and holds them in
:attr:`Study.screen_failures`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialviz.io.text import map_distinct
from trialviz.study import Conventions

NOT_RANDOMISED = ("SCREEN FAILURE", "NOT ASSIGNED", "NOT TREATED")
"""Treatment texts (compared stripped, in any case) of a subject who was never randomised or treated."""


def is_not_randomised_value(series: pd.Series) -> np.ndarray:
    """True where a treatment value reads "Screen Failure", "Not Assigned" or "Not Treated" (any case,
    surrounding blanks ignored); a missing value is not one of them."""
    return np.asarray(map_distinct(
        series, lambda s: s.astype("string").str.strip().str.upper().isin(NOT_RANDOMISED).fillna(False), False),
        dtype=bool)


def not_randomised(adsl: pd.DataFrame, conventions: Conventions) -> np.ndarray:
    """Which ADSL rows are subjects screened but never randomised.

    Parameters
    ----------
    adsl
        ADSL as read.
    conventions
        The study's conventions: ``efficacy_cohort`` (``TRT01P``) is the planned treatment.

    Returns
    -------
    numpy.ndarray of bool
        True where the planned treatment is "Screen Failure", "Not Assigned", "Not Treated" (any case) or
        blank, or ``ARM`` is one of those texts. A study whose ADSL has neither column has none.
    """
    found = np.zeros(len(adsl), dtype=bool)
    cohort = conventions.efficacy_cohort
    if cohort in adsl.columns:
        values = adsl[cohort]
        blank = np.asarray(map_distinct(values, lambda s: s.astype("string").str.strip().fillna("").eq(""), True),
                           dtype=bool)
        found |= blank | is_not_randomised_value(values)
    if "ARM" in adsl.columns and cohort != "ARM":
        found |= is_not_randomised_value(adsl["ARM"])
    return found
