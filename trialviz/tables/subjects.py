"""Subject-level tables: follow-up time."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialviz.errors import AnalysisError
from trialviz.study import Study
from trialviz.tables.common import TOTAL, cohort_columns, population, with_conventions

DAYS_PER_MONTH = 30.4375
"""Average month length (365.25 / 12): follow-up months = days / 30.4375."""
LAST_CONTACT_COLUMNS = ("LSTALVDT", "LSTCNDT", "EOSDT", "RFENDT")


def followup(study: Study) -> pd.DataFrame:
    """Follow-up of each subject: from treatment start (``TRTSDT``) to last contact.

    Last contact is the first of ``LSTALVDT`` (last date known alive), ``LSTCNDT``, ``EOSDT`` or ``RFENDT``
    that ADSL has. Returns ``USUBJID``, ``start``, ``last_contact``, ``days``, ``months`` (days / 30.4375).
    """
    adsl = study.subjects
    end_column = next((c for c in LAST_CONTACT_COLUMNS if c in adsl.columns), None)
    if "TRTSDT" not in adsl.columns or end_column is None:
        raise AnalysisError("Follow-up needs TRTSDT and a last-contact date (LSTALVDT, EOSDT or RFENDT) in ADSL.")
    start = pd.to_datetime(adsl["TRTSDT"])
    end = pd.to_datetime(adsl[end_column])
    days = (end - start).dt.days
    return pd.DataFrame({"USUBJID": adsl["USUBJID"].to_numpy(), "start": start.to_numpy(),
                         "last_contact": end.to_numpy(), "days": days.to_numpy(),
                         "months": (days / DAYS_PER_MONTH).to_numpy()})


def followup_summary(study: Study, *, total: bool = True) -> pd.DataFrame:
    """Follow-up in months by cohort (safety population): n, median, q1, q3 (linear), min, max.

    Examples
    --------
    >>> import trialviz
    >>> row = trialviz.followup_summary(trialviz.load_study()).query("cohort == 'Total'").iloc[0]
    >>> round(float(row["median"]), 1), round(float(row["q1"]), 1), round(float(row["q3"]), 1)
    (24.1, 20.8, 24.5)
    """
    pop = population(study, "safety")
    times = followup(study).merge(pop.subjects[["USUBJID", "cohort"]], on="USUBJID")
    rows = []
    for cohort in cohort_columns(study, total):
        months = (times if cohort == TOTAL else times[times["cohort"] == cohort])["months"].dropna().to_numpy()
        quartiles = np.quantile(months, [0.25, 0.5, 0.75]) if len(months) else [np.nan] * 3
        rows.append({"cohort": cohort, "n": len(months), "median": quartiles[1], "q1": quartiles[0],
                     "q3": quartiles[2], "min": months.min() if len(months) else np.nan,
                     "max": months.max() if len(months) else np.nan})
    return with_conventions(pd.DataFrame(rows), pop.note, "Months = days from treatment to last contact / "
                            "30.4375; quartiles by linear interpolation.")
