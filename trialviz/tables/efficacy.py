"""Statistical tests of an endpoint: change within each cohort, comparisons between cohorts, and ANCOVA.

Every p-value comes with the name of its test. The ANCOVA follows the usual trial convention (and the
CDISC pilot's primary analysis): change from baseline regressed on cohort (a factor), the baseline
value and any covariates; least-squares (LS) means are predictions at the mean of each continuous
covariate with equal weights over the levels of each factor (SAS ``LSMEANS``, R ``emmeans``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from trialviz.errors import AnalysisError
from trialviz.stats import hodges_lehmann_shift, signed_rank_test
from trialviz.study import Study
from trialviz.tables.common import require_cohort, with_conventions
from trialviz.tables.endpoints import MEASURE_COLUMNS, analysis_records, cell_order, records_notes

if TYPE_CHECKING:
    from statsmodels.regression.linear_model import RegressionResults

TestedMeasure = Literal["change", "percent change"]
Comparisons = Literal["reference", "all"]
FACTOR_NAMES = re.compile(r"^(SITE\w*|\w*GR\d+|\w*FL)$")
"""Covariates treated as factors even when coded as numbers (pooled site ``SITEGR1``, groupings, flags)."""


def visit_records(records: pd.DataFrame, column: str, visit: str | None,
                  param: str) -> dict[tuple[str, str], pd.DataFrame]:
    """Records with a value of ``column`` by visit and timepoint (one visit if asked), in table order
    (:func:`~trialviz.tables.endpoints.cell_order`: scheduled visits, then derived ones; timepoints by
    ``ATPTN``). Only each cell's value (``dtype`` ``""``) is tested, one per patient. An unknown visit
    raises :class:`AnalysisError` naming the visits with values."""
    with_values = records[pd.to_numeric(records[column], errors="coerce").notna().to_numpy()
                          & (records["dtype"] == "").to_numpy()]
    cells, codes = cell_order(with_values)
    if visit is not None:
        if visit not in set(cells["visit"]):
            visits = ", ".join(dict.fromkeys(cells["visit"])) or "none"
            raise AnalysisError(f"Unknown visit {visit!r} for {param}; visits with a change from baseline: "
                                f"{visits}.")
        cells = cells[cells["visit"] == visit]
    groups = dict(tuple(with_values.groupby(codes, sort=False, observed=False)))  # one pass, not a comparison per cell
    return {(str(cell.visit), str(cell.timepoint)): groups[code] for code, cell in zip(
        cells.index, cells.itertuples(index=False), strict=True)}


def _last_visit(records: pd.DataFrame, column: str, param: str) -> str:
    """The last scheduled visit with values of ``column`` (derived visits are not visits)."""
    with_values = records[pd.to_numeric(records[column], errors="coerce").notna().to_numpy()
                          & (records["visit_kind"] == "scheduled").to_numpy()]
    if with_values.empty:
        raise AnalysisError(f"{param} has no post-baseline values to analyse.")
    return str(with_values.loc[with_values["AVISITN"].idxmax(), "AVISIT"])


def endpoint_tests(study: Study, param: str, *, visit: str | None = None, measure: TestedMeasure = "change",
                   reference: str | None = None, population_flag: str | None = None,
                   timepoint: str | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """Nonparametric and t tests of an endpoint's change from baseline, at each visit or one.

    Within each cohort: Wilcoxon signed-rank test of the change against 0 (``scipy.stats.wilcoxon``'s
    numbers, zero changes dropped; see :func:`~trialviz.stats.signed_rank_test`) and the paired
    t-test of the visit value against baseline (``scipy.stats.ttest_rel``; a one-sample t-test of the
    percent change for ``measure="percent change"``). Between cohorts: the Mann–Whitney U test
    (two-sided, ``scipy.stats.mannwhitneyu``) of each cohort against the reference.

    Parameters
    ----------
    study
        A (possibly filtered) study; efficacy conventions (planned treatment, ``EFFFL``, ``ANL01FL``).
    param
        The endpoint's ``PARAMCD``.
    visit
        One analysis visit (``AVISIT`` text); every post-baseline visit by default.
    measure
        ``"change"`` (``CHG``) or ``"percent change"`` (``PCHG``).
    reference
        Cohort the others are compared with; the study's first cohort by default.
    population_flag
        ADSL flag of the efficacy population; defaults to the study's (``EFFFL``).
    timepoint
        One ``ATPT`` text; every timepoint by default (each tested on its own, never pooled).
    confidence
        Level of the confidence intervals of the estimates.

    Returns
    -------
    pandas.DataFrame
        One row per visit, timepoint, cohort and test: ``param``, ``measure``, ``visit``, ``timepoint``
        (``""`` where the parameter has none), ``visitn``, ``cohort``,
        ``reference`` (empty for within-cohort tests), ``test``, ``n`` (subjects; both groups for
        between-cohort tests), ``estimate_of`` (what the estimate is: the mean change for the t-test, the
        median change for the signed-rank test, the Hodges–Lehmann shift for the Mann–Whitney test),
        ``estimate``, ``ci_low``, ``ci_high``, ``statistic``, ``p_value``.

    Examples
    --------
    >>> import trialviz
    >>> tests = trialviz.endpoint_tests(trialviz.load_study(), "MRSS", visit="Month 6")
    >>> tests.query("cohort == 'MSC 1×10⁶/kg'")["test"].tolist()
    ['Wilcoxon signed-rank test (change ≠ 0)', 'Paired t-test (visit value vs baseline)']
    """
    from scipy import stats

    if measure not in ("change", "percent change"):
        raise AnalysisError(f"Unknown measure {measure!r}; use 'change' or 'percent change'.")
    reference = require_cohort(study, reference)
    column = MEASURE_COLUMNS[measure]
    records = analysis_records(study, param, population_flag=population_flag, timepoint=timepoint)
    rows: list[dict[str, object]] = []
    undefined: list[str] = []
    base = {"param": param, "measure": measure}
    cohorts = study.cohort_values()
    for (visit_name, timepoint_name), at_visit in visit_records(records, column, visit, param).items():
        where = {**base, "visit": visit_name, "timepoint": timepoint_name,
                 "visitn": float(at_visit["AVISITN"].min())}
        # each cohort's rows picked once per visit, as arrays (masks on the frame cost more than the tests)
        cohort_of = at_visit["cohort"].to_numpy()
        measured = pd.to_numeric(at_visit[column]).to_numpy(dtype=float)
        pairs = at_visit[["AVAL", "BASE"]].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        in_cohort = {c: cohort_of == c for c in cohorts}
        values = {c: measured[mask] for c, mask in in_cohort.items()}
        for cohort, x in values.items():
            rows += _within(where, cohort, x, pairs[in_cohort[cohort]], measure, confidence, undefined)
        for cohort, x in values.items():
            y = values[reference]
            if cohort == reference or len(x) == 0 or len(y) == 0:
                continue
            result = stats.mannwhitneyu(x, y, alternative="two-sided")
            shift, low, high = hodges_lehmann_shift(x, y, confidence)
            rows.append({**where, "cohort": cohort, "reference": reference,
                         "test": "Mann–Whitney U test (two-sided)", "n": len(x) + len(y),
                         "estimate_of": "Hodges–Lehmann shift", "estimate": shift, "ci_low": low, "ci_high": high,
                         "statistic": float(result.statistic), "p_value": float(result.pvalue)})
    table = pd.DataFrame(rows, columns=["param", "measure", "visit", "timepoint", "visitn", "cohort", "reference",
                                        "test", "n", "estimate_of", "estimate", "ci_low", "ci_high", "statistic",
                                        "p_value"])
    return with_conventions(table, *records_notes(records),
                            "Within cohorts: Wilcoxon signed-rank (zero changes dropped) with the median change "
                            "and its distribution-free CI (binomial order statistics), and the paired t-test with "
                            f"the mean change and its t CI; between cohorts: Mann–Whitney U against {reference} "
                            "with the Hodges–Lehmann shift (median of the pairwise differences) and its "
                            f"distribution-free (Moses) CI. CIs {confidence:.0%}. All tests two-sided; p-values "
                            "unadjusted for the number of tests shown.",
                            *([f"No t-test where every {measure} is the same (no variance): "
                               f"{'; '.join(undefined)}."] if undefined else []))


def _within(where: dict[str, object], cohort: str, x: np.ndarray, pairs: np.ndarray,
            measure: TestedMeasure, confidence: float, undefined: list[str]) -> list[dict[str, object]]:
    """The within-cohort tests of one cohort at one visit: ``x`` its changes, ``pairs`` its (visit value,
    baseline) rows. Each estimate is named (``estimate_of``) and has its confidence interval; where the
    t-test is undefined (fewer than two pairs, or every change the same), its row has the mean alone, and
    ``undefined`` gets the cohort and visit where every change is the same."""
    from scipy import stats

    out: list[dict[str, object]] = []
    common = {**where, "cohort": cohort, "reference": "", "n": len(x)}
    if np.count_nonzero(x) > 0:
        statistic, p_value = signed_rank_test(x)
        # the median's distribution-free CI: order statistics from the binomial (scipy's quantile test)
        median_ci = stats.quantile_test(x, q=0.0, p=0.5).confidence_interval(confidence)
        out.append({**common, "test": "Wilcoxon signed-rank test (change ≠ 0)",
                    "estimate_of": f"Median {measure}", "estimate": float(np.median(x)),
                    "ci_low": float(median_ci.low), "ci_high": float(median_ci.high),
                    "statistic": statistic, "p_value": p_value})
    if len(x) > 1:
        if measure == "change":
            visit_value, baseline = pairs[~np.isnan(pairs).any(axis=1)].T
            differences = visit_value - baseline
            test = "Paired t-test (visit value vs baseline)"
        else:
            differences = x
            test = "One-sample t-test (percent change ≠ 0)"
        row = {**common, "test": test, "estimate_of": f"Mean {measure}",
               "estimate": float(differences.mean()) if len(differences) else np.nan,
               "ci_low": np.nan, "ci_high": np.nan, "statistic": np.nan, "p_value": np.nan}
        if len(differences) > 1 and _is_constant(differences):
            undefined.append(f"{cohort} at {where['visit']}")
        elif len(differences) > 1:
            result = stats.ttest_1samp(differences, 0.0)  # the paired t-test is this test of the differences
            mean_ci = result.confidence_interval(confidence)
            row.update(ci_low=float(mean_ci.low), ci_high=float(mean_ci.high), statistic=float(result.statistic),
                       p_value=float(result.pvalue))
        out.append(row)
    return out


def _is_constant(values: np.ndarray) -> bool:
    """Whether every value is the same up to rounding. A t-test is undefined there (no variance): scipy
    warns of precision loss and gives an infinite t with p = 0 or a missing one, R's ``t.test`` stops
    ("data are essentially constant")."""
    return bool(np.allclose(values, values[0], rtol=1e-9, atol=1e-12))


def _model_data(study: Study, records: pd.DataFrame, column: str, covariates: Sequence[str]) -> pd.DataFrame:
    adsl = study.subjects
    data = records[["USUBJID", "cohort", column, "BASE"]].copy()
    for covariate in covariates:
        if covariate in adsl.columns:
            data[covariate] = data["USUBJID"].map(_per_subject(adsl, covariate))
        elif covariate in records.columns:
            data[covariate] = records[covariate]
        else:
            raise AnalysisError(f"Unknown covariate {covariate!r}; use ADSL columns: "
                                f"{', '.join(map(str, adsl.columns))}.")
    data[column] = pd.to_numeric(data[column], errors="coerce")
    data["BASE"] = pd.to_numeric(data["BASE"], errors="coerce")
    return data.dropna(subset=[column, "BASE", *covariates])


def _design(data: pd.DataFrame, cohorts: list[str], reference: str, numeric: list[str],
            factors: dict[str, list[str]]) -> pd.DataFrame:
    """Intercept, cohort dummies (reference left out), baseline, numeric covariates, factor dummies (first
    level left out)."""
    columns: dict[str, np.ndarray] = {"Intercept": np.ones(len(data))}
    for cohort in cohorts:
        if cohort != reference:
            columns[f"cohort[{cohort}]"] = (data["cohort"] == cohort).to_numpy(dtype=float)
    columns["BASE"] = data["BASE"].to_numpy(dtype=float)
    for name in numeric:
        columns[name] = pd.to_numeric(data[name]).to_numpy(dtype=float)
    for name, levels in factors.items():
        for level in levels[1:]:
            columns[f"{name}[{level}]"] = (data[name].astype(str) == level).to_numpy(dtype=float)
    return pd.DataFrame(columns, index=data.index)


def _ls_vector(design: pd.DataFrame, cohort: str, cohorts: list[str], reference: str,
               factors: dict[str, list[str]]) -> np.ndarray:
    """The row of the reference grid whose prediction is the cohort's LS mean."""
    vector = design.mean(axis=0)
    for other in cohorts:
        if other != reference:
            vector[f"cohort[{other}]"] = float(other == cohort)
    for name, levels in factors.items():
        for level in levels[1:]:
            vector[f"{name}[{level}]"] = 1 / len(levels)
    return vector.to_numpy(dtype=float)


def _ols(outcome: pd.Series, design: pd.DataFrame) -> RegressionResults:
    """Ordinary least squares fit of ``outcome`` on the ``design`` columns."""
    # imported here: statsmodels.api adds about 40 MB to every dashboard kernel, and the dashboard fits no model
    import statsmodels.api as sm

    return sm.OLS(outcome.to_numpy(dtype=float), design).fit()


def ancova(study: Study, param: str, visit: str | None = None, *, covariates: Sequence[str] = (),
           factors: Sequence[str] | None = None, reference: str | None = None,
           measure: TestedMeasure = "change", comparisons: Comparisons = "reference",
           population_flag: str | None = None, confidence: float = 0.95,
           timepoint: str | None = None) -> pd.DataFrame:
    """ANCOVA of the change from baseline at one visit: cohort as a factor, adjusted for the baseline
    value and covariates; LS means, LS-mean differences with SE, CI and p.

    The model is ordinary least squares (``statsmodels.api.OLS``) of the change on cohort + baseline
    (``BASE``) + covariates. The CDISC pilot's primary analysis of ADAS-Cog is
    ``ancova(study, "ACTOT", "Week 24", covariates=["SITEGR1"], comparisons="all")``. Where ADSL has the
    numeric dose of the cohort variable (``TRT01PN``) and there are more than two cohorts, a dose-response
    row tests the dose as a continuous variable in the same model.

    Parameters
    ----------
    study
        A (possibly filtered) study; efficacy conventions (planned treatment, ``EFFFL``, ``ANL01FL``).
    param
        The endpoint's ``PARAMCD``.
    visit
        Analysis visit (``AVISIT`` text); the last scheduled visit with post-baseline values by default.
    covariates
        ADSL columns to adjust for (e.g. ``["SITEGR1"]``, the pilot's pooled site).
    factors
        Covariates to treat as factors (equal weights in the LS means). By default: text columns and
        columns named like a site or a grouping (``SITEGR1``, ``AGEGR1``, ``…FL``).
    reference
        Cohort the differences are taken against; the study's first cohort by default.
    measure
        ``"change"`` (``CHG``) or ``"percent change"`` (``PCHG``).
    comparisons
        ``"reference"``: each cohort minus the reference; ``"all"``: every pair (later cohort minus
        earlier, in the study's order).
    population_flag
        ADSL flag of the efficacy population; defaults to the study's (``EFFFL``).
    confidence
        Level of the t-based confidence intervals.
    timepoint
        One ``ATPT`` text; by default every timepoint of the visit, each fitted on its own.

    Returns
    -------
    pandas.DataFrame
        ``param``, ``measure``, ``visit``, ``timepoint`` (``""`` where the parameter has none), ``term``
        (``ls_mean``, ``difference`` or ``dose_response``), ``cohort``, ``reference`` (the subtracted cohort for
        differences), ``n``, ``estimate``, ``se``,
        ``ci_low``, ``ci_high``, ``df``, ``statistic`` (t), ``p_value``, ``test``.

    Examples
    --------
    >>> import trialviz
    >>> fit = trialviz.ancova(trialviz.load_study(), "MRSS", "Month 6")
    >>> fit.query("term == 'difference'")[["cohort", "reference"]].values.tolist()
    [['MSC 3×10⁶/kg', 'MSC 1×10⁶/kg']]
    """
    if measure not in ("change", "percent change"):
        raise AnalysisError(f"Unknown measure {measure!r}; use 'change' or 'percent change'.")
    reference = require_cohort(study, reference)
    column = MEASURE_COLUMNS[measure]
    records = analysis_records(study, param, population_flag=population_flag, timepoint=timepoint)
    visit = _last_visit(records, column, param) if visit is None else visit
    covariates = list(covariates)
    rows: list[dict[str, object]] = []
    fitted: list[str] = []
    for (_, timepoint_name), at_visit in visit_records(records, column, visit, param).items():
        cell_rows, n, adjusted, factors_levels = _ancova_cell(
            study, param, visit, timepoint_name, at_visit, column, covariates, factors, reference, measure,
            comparisons, confidence)
        rows += cell_rows
        fitted.append(f"{timepoint_name}: n = {n}" if timepoint_name else f"n = {n}")
    table = pd.DataFrame(rows, columns=["param", "measure", "visit", "timepoint", "term", "cohort", "reference",
                                        "n", "estimate", "se", "ci_low", "ci_high", "df", "statistic", "p_value",
                                        "test"])
    return with_conventions(
        table, *records_notes(records),
        f"ANCOVA of the {measure} from baseline at {visit}: cohort (factor) + {adjusted}"
        f"{' (factors: ' + ', '.join(factors_levels) + ')' if factors_levels else ''}; complete cases "
        f"({'; '.join(fitted)}), each timepoint fitted on its own. LS means at the covariate means with equal "
        f"weights over factor levels; {confidence:.0%} CI from the t-distribution; p-values unadjusted for "
        "multiplicity.")


def _ancova_cell(study: Study, param: str, visit: str, timepoint: str, at_visit: pd.DataFrame, column: str,
                 covariates: list[str], factors: Sequence[str] | None, reference: str, measure: TestedMeasure,
                 comparisons: Comparisons, confidence: float
                 ) -> tuple[list[dict[str, object]], int, str, dict[str, list[str]]]:
    """The ANCOVA rows of one visit and timepoint, the patients fitted, the adjustment and factor levels."""
    from scipy import stats

    factor_names = _factor_names(study, at_visit, covariates, factors)
    data = _model_data(study, at_visit, column, covariates)
    cohorts = [c for c in study.cohort_values() if (data["cohort"] == c).any()]
    at = f"{visit}, {timepoint}" if timepoint else visit
    if reference not in cohorts or len(cohorts) < 2:
        raise AnalysisError(f"ANCOVA of {param} at {at} needs values in the reference cohort "
                            f"{reference!r} and at least one other; cohorts with values: "
                            f"{', '.join(cohorts) or 'none'}.")
    numeric = [c for c in covariates if c not in factor_names]
    factors_levels = {c: sorted(data[c].astype(str).unique()) for c in covariates if c in factor_names}
    design = _design(data, cohorts, reference, numeric, factors_levels)
    if np.linalg.matrix_rank(design.to_numpy(dtype=float)) < design.shape[1]:
        raise AnalysisError(f"ANCOVA of {param} at {at} cannot be estimated: among the {len(data)} patients with "
                            f"values, a covariate ({', '.join(['baseline', *covariates])}) is constant or "
                            "determined by the cohort or the other covariates.")
    fit = _ols(data[column], design)
    if fit.df_resid < 1:
        raise AnalysisError(f"ANCOVA of {param} at {at}: too few subjects ({len(data)}) for the model.")
    t_crit = stats.t.ppf(0.5 + confidence / 2, fit.df_resid)
    vectors = {c: _ls_vector(design, c, cohorts, reference, factors_levels) for c in cohorts}
    adjusted = " + ".join(["baseline", *covariates])
    test = f"ANCOVA (OLS): {measure} ~ cohort + {adjusted}; t-test of the LS-mean contrast"
    where = {"param": param, "measure": measure, "visit": visit, "timepoint": timepoint}

    def contrast(term: str, cohort: str, against: str, vector: np.ndarray, n: int) -> dict[str, object]:
        estimate = float(vector @ fit.params.to_numpy())
        se = float(np.sqrt(vector @ fit.cov_params().to_numpy() @ vector))
        t = estimate / se if se > 0 else np.nan
        p = float(2 * stats.t.sf(abs(t), fit.df_resid)) if se > 0 else np.nan
        return {**where, "term": term, "cohort": cohort, "reference": against, "n": n, "estimate": estimate,
                "se": se, "ci_low": estimate - t_crit * se, "ci_high": estimate + t_crit * se,
                "df": float(fit.df_resid), "statistic": t, "p_value": p, "test": test}

    sizes = data["cohort"].value_counts()
    rows = [contrast("ls_mean", c, "", vectors[c], int(sizes[c])) for c in cohorts]
    pairs = [(c, reference) for c in cohorts if c != reference] if comparisons == "reference" else \
        [(later, earlier) for i, earlier in enumerate(cohorts) for later in cohorts[i + 1:]]
    rows += [contrast("difference", a, b, vectors[a] - vectors[b], int(sizes[a] + sizes[b]))
             for a, b in pairs]
    dose = _dose_response(study, data, column, numeric, factors_levels, cohorts, measure)
    if dose is not None:
        rows.append({**where, **dose})
    return rows, len(data), adjusted, factors_levels


def _factor_names(study: Study, records: pd.DataFrame, covariates: list[str],
                  factors: Sequence[str] | None) -> set[str]:
    if factors is not None:
        unknown = [f for f in factors if f not in covariates]
        if unknown:
            raise AnalysisError(f"Factor(s) {unknown} are not among the covariates {covariates}.")
        return set(factors)
    adsl = study.subjects
    chosen = set()
    for name in covariates:
        source = adsl[name] if name in adsl.columns else records.get(name)
        if source is None or not pd.api.types.is_numeric_dtype(source) or FACTOR_NAMES.match(name):
            chosen.add(name)
    return chosen


def _dose_response(study: Study, data: pd.DataFrame, column: str, numeric: list[str],
                   factors_levels: dict[str, list[str]], cohorts: list[str],
                   measure: str) -> dict[str, object] | None:
    """Test of the cohort's numeric dose (``TRT01PN``) as a continuous term, where ADSL has it."""
    dose_column = f"{study.conventions.efficacy_cohort}N"
    adsl = study.subjects
    if len(cohorts) < 3 or dose_column not in adsl.columns:
        return None
    doses = pd.to_numeric(data["USUBJID"].map(_per_subject(adsl, dose_column)), errors="coerce")
    if doses.isna().any() or doses.nunique() < 3:
        return None
    design = _design(data, [], "", numeric, factors_levels)
    design.insert(1, "dose", doses.to_numpy(dtype=float))
    fit = _ols(data[column], design)
    estimate, se = float(fit.params["dose"]), float(fit.bse["dose"])
    adjusted = " + ".join(["baseline", *numeric, *factors_levels])
    low, high = fit.conf_int().loc["dose"]
    return {"term": "dose_response", "cohort": "", "reference": "", "n": len(data), "estimate": estimate,
            "se": se, "ci_low": float(low), "ci_high": float(high), "df": float(fit.df_resid),
            "statistic": float(fit.tvalues["dose"]), "p_value": float(fit.pvalues["dose"]),
            "test": f"ANCOVA (OLS): {measure} ~ dose ({dose_column}, continuous) + {adjusted}; "
                    "t-test of the dose slope"}


def _per_subject(adsl: pd.DataFrame, column: str) -> pd.Series:
    """An ADSL column indexed by ``USUBJID``."""
    return adsl.drop_duplicates("USUBJID").set_index("USUBJID")[column]
