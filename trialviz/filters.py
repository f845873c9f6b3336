"""Subject filters: one selection of patients applied to every dataset of a study at once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import pandas as pd

from trialviz.errors import AnalysisError
from trialviz.study import Study


@dataclass(frozen=True)
class SubjectFilter:
    """Which subjects to keep. Criteria left as ``None`` keep everyone; given criteria are combined with AND.

    Parameters
    ----------
    cohorts
        Cohort values to keep, matched against the study's efficacy cohort variable (planned treatment,
        ``TRT01P`` by default), so a patient stays in the cohort they were assigned to.
    sex
        ``SEX`` values to keep (``"F"``, ``"M"``…).
    age
        Inclusive ``(low, high)`` range of ``AGE``.
    subjects
        ``USUBJID`` values to keep.
    where
        Any other ADSL column and the values to keep, e.g. ``{"SITEGR1": ("701",)}``.
    baseline
        ``(PARAMCD, low, high)``: keep subjects whose baseline value (``ABLFL == "Y"``) of that
        endpoint lies in the inclusive range. Subjects without a baseline value are dropped.

    Examples
    --------
    >>> import trialviz
    >>> from trialviz.filters import SubjectFilter
    >>> study = trialviz.load_study()
    >>> SubjectFilter(sex=("F",), age=(40, 70)).apply(study).n_subjects <= 13
    True
    """

    cohorts: tuple[str, ...] | None = None
    sex: tuple[str, ...] | None = None
    age: tuple[float, float] | None = None
    subjects: tuple[str, ...] | None = None
    where: Mapping[str, tuple[object, ...]] = field(default_factory=dict)
    baseline: tuple[str, float, float] | None = None

    @property
    def is_empty(self) -> bool:
        return (
            self.cohorts is None
            and self.sex is None
            and self.age is None
            and self.subjects is None
            and not self.where
            and self.baseline is None
        )

    def mask(self, study: Study) -> pd.Series:
        """Boolean Series aligned with ``study.subjects``: which subjects pass."""
        adsl = study.subjects
        keep = pd.Series(True, index=adsl.index)
        criteria: list[tuple[str, tuple[object, ...]]] = []
        if self.cohorts is not None:
            criteria.append((study.conventions.efficacy_cohort, self.cohorts))
        if self.sex is not None:
            criteria.append(("SEX", self.sex))
        criteria.extend(self.where.items())
        for column, values in criteria:
            _require_column(study, column)
            keep &= adsl[column].astype("string").isin([str(v) for v in values]).fillna(False).to_numpy()
        if self.age is not None:
            _require_column(study, "AGE")
            low, high = self.age
            age = pd.to_numeric(adsl["AGE"], errors="coerce")
            keep &= age.between(low, high).to_numpy()
        if self.subjects is not None:
            keep &= adsl["USUBJID"].isin(self.subjects).to_numpy()
        if self.baseline is not None:
            paramcd, low, high = self.baseline
            base = baseline_values(study, paramcd)
            in_range = base[base.between(low, high)].index
            keep &= adsl["USUBJID"].isin(in_range).to_numpy()
        return keep

    def apply(self, study: Study) -> Study:
        """A new study with only the matching subjects, in every dataset."""
        if self.is_empty:
            return study
        view = study.with_subjects(self.mask(study), self.describe(study))
        return _without_removed_cohorts(study, view)

    def describe(self, study: Study | None = None) -> str:
        """The filter in words, for table footnotes and report headers."""
        parts: list[str] = []
        if self.cohorts is not None:
            labels = [study.cohort_label(c) if study else c for c in self.cohorts]
            parts.append("cohort " + " or ".join(labels) if labels else "no cohort")
        if self.sex is not None:
            names = {"F": "women", "M": "men"}
            parts.append(" and ".join(names.get(str(s), str(s)) for s in self.sex) or "no sex")
        if self.age is not None:
            parts.append(f"age {self.age[0]:g}–{self.age[1]:g} years")
        if self.baseline is not None:
            paramcd, low, high = self.baseline
            name = study.endpoint(paramcd).name if study else paramcd
            parts.append(f"baseline {name} {low:g}–{high:g}")
        for column, values in self.where.items():
            parts.append(f"{column} in {', '.join(map(str, values))}")
        if self.subjects is not None:
            parts.append(f"{len(self.subjects)} selected patient(s)")
        return "; ".join(parts) if parts else "all patients"


def filter_study(
    study: Study,
    *,
    cohorts: Sequence[str] | None = None,
    sex: Sequence[str] | None = None,
    age: tuple[float, float] | None = None,
    subjects: Sequence[str] | None = None,
    where: Mapping[str, Sequence[object]] | None = None,
    baseline: tuple[str, float, float] | None = None,
) -> Study:
    """Keep only the subjects matching every criterion given, in every dataset of ``study``.

    A shortcut for ``SubjectFilter(...).apply(study)``; see :class:`SubjectFilter` for the arguments.

    Examples
    --------
    >>> import trialviz
    >>> study = trialviz.load_study()
    >>> trialviz.filter_study(study, cohorts=["MSC 3×10⁶/kg"]).n_subjects
    10
    """
    return SubjectFilter(
        cohorts=None if cohorts is None else tuple(cohorts),
        sex=None if sex is None else tuple(sex),
        age=age,
        subjects=None if subjects is None else tuple(subjects),
        where={column: tuple(values) for column, values in (where or {}).items()},
        baseline=baseline,
    ).apply(study)


def baseline_values(study: Study, paramcd: str) -> pd.Series:
    """Baseline value of one endpoint per subject (index ``USUBJID``, sorted), from the ``ABLFL == "Y"``
    records, whether or not they carry the analysis flag (many sponsors flag only post-baseline records).

    Where a subject has several baseline records (one per timepoint, ``ATPT``), the value is that of the
    first timepoint by ``ATPTN``, of the record without ``DTYPE`` and flagged for analysis where there is a
    choice: the baseline of the timepoint a figure shows first (:func:`trialviz.figures.waterfall_figure`).
    """
    whole = study.subset_of or study
    # every endpoint's, derived once for the whole study: a filtered view only picks its subjects
    by_endpoint = whole.derived("baseline values", lambda: _baseline_values(whole.measurements,
                                                                            whole.conventions.analysis_flag))
    of_param = by_endpoint.get(paramcd, by_endpoint[None])
    return of_param if whole is study else of_param[of_param.index.isin(study.subjects["USUBJID"])]


def _baseline_values(data: pd.DataFrame, analysis_flag: str) -> dict[str | None, pd.Series]:
    """The baseline value (``ABLFL == "Y"``) per subject of each endpoint, by ``PARAMCD`` (see
    :func:`baseline_values` for the record chosen among several); ``None`` gives the empty series of an
    endpoint without any."""
    from trialviz.visits import text_of

    rows = data[(data["ABLFL"] == "Y").fillna(False).to_numpy(dtype=bool)]
    rows = rows[rows["AVAL"].notna().to_numpy()]
    # preference among a subject's baseline records: first timepoint, observed, flagged for analysis
    order = pd.DataFrame({
        "timepoint": pd.to_numeric(rows["ATPTN"], errors="coerce").to_numpy(dtype=float)
        if "ATPTN" in rows.columns else 0.0,
        "derived": text_of(rows["DTYPE"]) != "" if "DTYPE" in rows.columns else False,
        "unflagged": (text_of(rows[analysis_flag]) != "Y") if analysis_flag in rows.columns else False,
    }, index=rows.index).sort_values(["timepoint", "derived", "unflagged"], kind="stable", na_position="last")
    rows = rows.loc[order.index]
    values = rows.groupby(["PARAMCD", "USUBJID"], observed=True)["AVAL"].first()
    by_endpoint: dict[str | None, pd.Series] = {
        str(paramcd): part.droplevel("PARAMCD") for paramcd, part in values.groupby(level="PARAMCD", observed=True)}
    by_endpoint[None] = values.iloc[:0].droplevel("PARAMCD")
    return by_endpoint


def _without_removed_cohorts(study: Study, view: Study) -> Study:
    """``view`` without the cohorts its filter removed (every patient of theirs filtered out): a table of the
    view has no column, and a figure no legend entry, of a cohort it has no patient of. A cohort the whole
    study has no patient of stays (the study file declares it), and so does every cohort when no patient is
    left (the view then says that nobody matches)."""
    columns = [c for c in dict.fromkeys((study.conventions.efficacy_cohort, study.conventions.safety_cohort))
               if c in study.subjects.columns]
    if view.n_subjects == 0 or not columns:
        return view

    def present(subjects: pd.DataFrame) -> set[str]:
        return {str(v) for column in columns for v in subjects[column].dropna().unique()}

    before, after = present(study.subjects), present(view.subjects)
    kept = tuple(c for c in study.meta.cohorts if c.value in after or c.value not in before)
    if len(kept) == len(study.meta.cohorts):
        return view
    return replace(view, meta=replace(view.meta, cohorts=kept, narrowed_from=view.meta.narrowed_from or view.meta))


def _require_column(study: Study, column: str) -> None:
    if column not in study.subjects.columns:
        raise AnalysisError(f"Cannot filter on {column!r}: the subject-level dataset (ADSL) has no such column.")


def restrict_events(study: Study, *, onset: tuple[float, float] | None = None) -> Study:
    """Keep only the adverse events whose onset study day (``ASTDY``) lies in ``onset`` (inclusive).

    Subjects and denominators are unchanged: a safety table of the result still counts every patient of
    the safety population, with the events of that period. Events without an onset day are left out
    when a period is given (the description says so).

    Examples
    --------
    >>> import trialviz
    >>> from trialviz.filters import restrict_events
    >>> first_year = restrict_events(trialviz.load_study(), onset=(1, 365))
    >>> bool((first_year.adverse_events["ASTDY"] <= 365).all())
    True
    """
    if onset is None:
        return study
    events = study.adverse_events
    if "ASTDY" not in events.columns:
        raise AnalysisError("Cannot select events by onset: the adverse-event dataset has no ASTDY (study day).")
    day = pd.to_numeric(events["ASTDY"], errors="coerce")
    kept = events[day.between(onset[0], onset[1]).fillna(False).to_numpy()]
    high = "" if onset[1] == float("inf") else f"–{onset[1]:g}"
    period = f"adverse events with onset on study days {onset[0]:g}{high}" + (
        " (or later)" if not high else "")
    description = "; ".join(p for p in (study.filter_description, period) if p)
    # no longer a subset of the study it was filtered from: its events are fewer than those of its subjects
    return replace(study, adverse_events=kept, filter_description=description, _subset_of=None)
