"""The endpoint summary, computed for all cohorts and visits at once, equals :func:`describe` applied to each
cohort and visit's values: the definition it must keep (n, mean, SD, t-based CI, quartiles, min, max)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import trialviz
from trialviz.filters import SubjectFilter
from trialviz.tables.common import TOTAL
from trialviz.tables.endpoints import MEASURE_COLUMNS, STATISTICS, analysis_records, describe, summarise_records


def expected_rows(study: trialviz.Study, param: str, records: pd.DataFrame) -> pd.DataFrame:
    visits = records.groupby("AVISIT")["AVISITN"].min().sort_values(kind="stable")
    rows = []
    for measure, column in MEASURE_COLUMNS.items():
        for cohort in [*study.cohort_values(), TOTAL]:
            in_cohort = records if cohort == TOTAL else records[records["cohort"] == cohort]
            for visit, visitn in visits.items():
                values = in_cohort.loc[in_cohort["AVISIT"] == visit, column]
                at_visit = records[records["AVISIT"] == visit]
                baseline = (at_visit["ABLFL"].astype("string") == "Y").fillna(False).all()
                if measure != "value" and values.dropna().empty and baseline:
                    continue  # no change from baseline at the baseline visit
                rows.append({"measure": measure, "cohort": cohort, "visit": visit, "visitn": float(visitn),
                             **describe(values)})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("which", ["bundled", "one cohort", "pilot"])
def test_every_row_is_describe_of_its_group(which, bundled, pilot):
    study = {"bundled": bundled, "pilot": pilot,
             "one cohort": SubjectFilter(cohorts=(bundled.cohort_values()[0],)).apply(bundled)}[which]
    for endpoint in study.endpoints[:4]:
        records = analysis_records(study, endpoint.paramcd)
        table = summarise_records(study, endpoint.paramcd, records, measures=tuple(MEASURE_COLUMNS))
        expected = expected_rows(study, endpoint.paramcd, records)
        assert table[["measure", "cohort", "visit", "visitn"]].to_dict("records") == \
            expected[["measure", "cohort", "visit", "visitn"]].to_dict("records")
        assert (table["n"].to_numpy() == expected["n"].to_numpy()).all()
        for statistic in STATISTICS[1:]:
            np.testing.assert_allclose(table[statistic].to_numpy(dtype=float),
                                       expected[statistic].to_numpy(dtype=float), rtol=1e-12, atol=1e-12,
                                       err_msg=f"{endpoint.paramcd}: {statistic}")
