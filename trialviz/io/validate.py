"""Validate raw ADaM datasets in one pass and report every problem precisely.

The checks are pandera schemas run with lazy validation, so all failures of a dataset come back
together; each failure becomes a :class:`~trialviz.errors.Problem` naming the file, dataset, column, the
first offending records (1-based record numbers, the first data record is 1) with their values, how many
there are, and what to do.

Each dataset goes through three passes, and every pass runs whatever the others found, so that one
validation lists everything a user must fix:

1. *structure* (errors), on the values as read: required columns, numbers, flags, grades, identifiers,
   subjects not in ADSL, duplicated analysis records;
2. *content* (errors), on the typed values: censoring codes, cohorts, ``CHG = AVAL − BASE``. A value the
   first pass already reported (text in ``AVAL``) is left out here rather than reported twice;
3. *advisory* (warnings): causality and severity terms, subjects without a cohort, values outside an
   endpoint's declared range, visit order, population flags the study lacks, dates that do not parse.

Errors are problems that could make a number wrong; warnings are shown next to the results.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from trialviz.errors import ProblemLog, Severity
from trialviz.io.screening import is_not_randomised_value, not_randomised
from trialviz.io.text import is_categorical, map_values, present_values, stripped_codes, text_eq, text_isin
from trialviz.study import Conventions, StudyMeta

MAX_SHOWN = 5
"""How many offending records and values a problem lists (the count says how many there are)."""

KIND_REQUIRED = {
    "ADSL": ("USUBJID",),
    "BDS": ("USUBJID", "PARAMCD", "AVAL"),
    "ADAE": ("USUBJID", "AEDECOD", "AEBODSYS"),
    "ADTTE": ("USUBJID", "PARAMCD", "AVAL", "CNSR"),
}
NUMERIC_COLUMNS = {
    "ADSL": ("AGE", "TRT01PN", "TRT01AN"),
    "BDS": ("AVAL", "BASE", "CHG", "PCHG", "AVISITN", "ADY"),
    "ADAE": ("ASTDY", "AENDY"),
    "ADTTE": ("AVAL", "CNSR"),
}
FLAG_VALUES = ("Y", "N")
GRADE_COLUMNS = ("AETOXGR", "ATOXGR")
"""Adverse-event grades (CTCAE). A grade is the number 1–5, or text holding only that number, as the
character ``AETOXGR`` of SDTM does; anything else (``"GRADE 3"``, 0, 6, 2.5) is an error, never guessed."""
GRADES = (1, 2, 3, 4, 5)
SEVERITY_COLUMNS = ("AESEV", "ASEV")
"""Adverse-event severity. Shown as severity in studies without grades; never turned into a grade."""
SEVERITIES = ("MILD", "MODERATE", "SEVERE")
AGE_RANGE = (0, 120)
"""Ages (years) outside this range are reported as warnings."""
CONDITIONAL_BDS_COLUMNS = ("AVISIT", "AVISITN")
"""BDS columns ADaM makes conditional (a dataset of best overall response has no visit): their absence is a
warning naming the analyses that need them (:data:`VISIT_ANALYSES`), never an error."""
VISIT_ANALYSES = ("by-visit analyses (endpoint summary by visit, change from baseline, tests, ANCOVA, responders, "
                  "trajectories)")
MISSING_VISIT = ("", ".")
"""``AVISIT`` text that means no visit (SAS writes a missing value as ``"."``; ADLBC pads it with blanks)."""


@dataclass
class RawDataset:
    """A dataset as read from its file, before validation."""

    name: str
    """ADaM name: ADSL, ADAE, ADTTE, ADEFF, ADVS, …"""
    kind: str
    """One of ``ADSL``, ``BDS``, ``ADAE``, ``ADTTE``."""
    path: Path
    frame: pd.DataFrame
    renamed: dict[str, str] = field(default_factory=dict)
    """Standard CDISC name → the file's own column name, for columns the study file maps."""

    @property
    def file(self) -> str:
        return self.path.name

    def own(self, columns: str) -> str:
        """Column name(s) as the file spells them (problems name the columns a user can find)."""
        return ", ".join(self.renamed.get(c, c) for c in columns.split(", ")) if columns else columns


@dataclass(frozen=True)
class FrameRule:
    """A check across the columns of a record, with how to report the records that fail it."""

    name: str
    message: str
    ok: Callable[[pd.DataFrame], pd.Series]
    """True for the records that pass."""
    column: Callable[[pd.DataFrame], str]
    """The column(s) a problem names."""
    show: Callable[[pd.DataFrame, int], str]
    """One failing record as text (its keys and the values at fault)."""


def validate_study(datasets: list[RawDataset], meta: StudyMeta, log: ProblemLog,
                   on_checked: Callable[[RawDataset], None] | None = None,
                   study_file: str = "") -> dict[str, pd.DataFrame]:
    """Check every dataset, adding each problem to ``log``; return the type-coerced frames by name.

    Parameters
    ----------
    datasets
        The datasets as read.
    meta
        The study's metadata: conventions, cohorts and endpoints from the study file.
    log
        Receives every problem.
    on_checked
        Called after each dataset is checked (progress reporting).
    study_file
        Name of the study file ``meta`` comes from, for the problems found in it.

    Returns
    -------
    dict of str to pandas.DataFrame
        The datasets without errors, typed (numbers, dates); a dataset with errors is left out, and the
        caller raises :class:`~trialviz.errors.ValidationError` when ``log`` has errors.
    """
    adsl = [d for d in datasets if d.kind == "ADSL"]
    if not adsl and not any(p.dataset == "ADSL" for p in log.problems):
        log.error("ADSL", "", "", "No subject-level dataset (ADSL) was found. A study needs one file named adsl "
                  "(.xpt, .sas7bdat, .csv, .csv.gz or .parquet) with one row per subject.")
    _check_one_file_each(datasets, log)
    # without a readable ADSL, records cannot be matched to subjects: that check waits for ADSL
    subject_ids = _subject_ids(adsl[0]) if adsl else None
    checked: dict[str, pd.DataFrame] = {}
    for dataset in datasets:
        frame = _check_dataset(dataset, meta, subject_ids, log)
        if frame is not None:
            checked[dataset.name] = frame
        if on_checked:
            on_checked(dataset)
    _check_parameters_unique(datasets, log)
    _check_endpoints_declared(datasets, meta, log, study_file)
    return checked


def _subject_ids(adsl: RawDataset) -> pd.Index | None:
    if "USUBJID" not in adsl.frame.columns:
        return None  # reported as a missing column; records cannot be matched to subjects
    return pd.Index([str(v) for v in present_values(adsl.frame["USUBJID"])]).unique()


def _check_dataset(dataset: RawDataset, meta: StudyMeta, subject_ids: pd.Index | None,
                   log: ProblemLog) -> pd.DataFrame | None:
    errors_before = _error_count(log)
    structure = _structure_rules(dataset, meta.conventions.analysis_flag)
    _run(pa.DataFrameSchema(_structure_columns(dataset, meta.conventions, subject_ids), name=dataset.name),
         structure, dataset.frame, dataset, "error", log)
    frame = _typed(dataset)
    _parse_dates(frame, dataset, log)
    content = _content_rules(dataset)
    _run(pa.DataFrameSchema(_content_columns(dataset, meta), name=dataset.name), content, frame, dataset, "error", log)
    advisory = _advisory_rules(dataset, meta)
    _run(pa.DataFrameSchema(_advisory_columns(dataset, meta), name=dataset.name), advisory, frame, dataset,
         "warning", log)
    _check_population_flags(dataset, meta.conventions, log)
    _check_conditional_columns(dataset, log)
    return frame if _error_count(log) == errors_before else None


def _error_count(log: ProblemLog) -> int:
    return sum(p.severity == "error" for p in log.problems)


def _typed(dataset: RawDataset) -> pd.DataFrame:
    """Numbers as numbers. Values that are not numbers were reported by the structure pass; they become
    missing here only so that the later passes can check every other value (the frame is then not used)."""
    frame = dataset.frame.copy(deep=False)  # columns are replaced, never written into
    columns = NUMERIC_COLUMNS[dataset.kind] + (GRADE_COLUMNS if dataset.kind == "ADAE" else ())
    for column in columns:
        if column in frame.columns and not pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
        if column in frame.columns and pd.api.types.is_float_dtype(frame[column]):
            infinite = np.isinf(frame[column].to_numpy())
            if infinite.any():
                frame[column] = frame[column].mask(infinite)  # reported as not a number
    return frame


# --- the checks -------------------------------------------------------------------------------------------------
def _check(fn: Callable[[pd.Series], pd.Series], name: str, message: str) -> pa.Check:
    return pa.Check(fn, name=name, error=message, ignore_na=True)


def _optional(fn: Callable[[pd.Series], pd.Series], name: str, message: str) -> pa.Column:
    """A column checked where the dataset has it; blanks are not checked."""
    return pa.Column(checks=_check(fn, name, message), nullable=True, required=False)


def _is_number(series: pd.Series) -> pd.Series:
    """Finite numbers: ``inf`` and ``-inf`` (text a CSV reader turns into floats) are no measurement."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return pd.Series(np.isfinite(series.astype(float)), index=series.index)
    return pd.Series(map_values(series, lambda s: np.isfinite(pd.to_numeric(s, errors="coerce").astype(float)),
                                False), index=series.index)


def _is_grade(series: pd.Series) -> pd.Series:
    return pd.Series(map_values(series, lambda s: pd.to_numeric(s, errors="coerce").isin(GRADES), False),
                     index=series.index)


def _terms_in(series: pd.Series, known: set[str] | tuple[str, ...]) -> pd.Series:
    """True where the value, stripped and upper-cased, is one of ``known``."""
    return pd.Series(map_values(series, lambda s: s.astype("string").str.strip().str.upper().isin(known), False),
                     index=series.index)


def _structure_columns(dataset: RawDataset, conventions: Conventions,
                       subject_ids: pd.Index | None) -> dict[str, pa.Column]:
    kind = dataset.kind
    required = set(KIND_REQUIRED[kind])
    if kind == "ADSL":
        required |= {conventions.safety_cohort, conventions.efficacy_cohort}
    columns: dict[str, pa.Column] = {}
    for name in sorted(required | set(dataset.frame.columns)):
        checks: list[pa.Check] = []
        if name in NUMERIC_COLUMNS[kind]:
            checks.append(_check(_is_number, "numeric", f"{name} must be numeric: these values are not numbers. "
                                 "Correct them in the source data (a missing value must be blank)."))
        if kind == "ADAE" and name in GRADE_COLUMNS:
            checks.append(_check(_is_grade, "grade", f"{name} is a CTCAE grade and must be 1, 2, 3, 4 or 5 (the "
                                 "number alone: write 3, not \"GRADE 3\"). Correct these values at the source."))
        if name.endswith("FL") and len(name) > 2:
            checks.append(_check(lambda s: text_isin(s, FLAG_VALUES), "flag",
                                 f"{name} is a flag and may only be \"Y\", \"N\" or blank (upper case). "
                                 "Correct these values at the source."))
        if name == "USUBJID" and kind != "ADSL" and subject_ids is not None:
            checks.append(_check(lambda s: text_isin(s, subject_ids), "orphan",
                                 "These records belong to subjects that are not in ADSL, so they could not be "
                                 "counted. Add the subjects to ADSL or remove the records."))
        columns[name] = pa.Column(
            checks=checks,
            required=name in required,
            nullable=not (name == "USUBJID" or (name == "PARAMCD" and kind in ("BDS", "ADTTE"))),
            unique=kind == "ADSL" and name == "USUBJID",
        )
    return columns


def analysis_keys(frame: pd.DataFrame, kind: str = "BDS") -> list[str]:
    """The columns that identify one analysis record: subject, parameter and, for BDS datasets, visit,
    timepoint and derivation type where the dataset has them."""
    keys = ("USUBJID", "PARAMCD") if kind == "ADTTE" else ("USUBJID", "PARAMCD", "AVISIT", "ATPT", "DTYPE")
    return [c for c in keys if c in frame.columns]


def analysis_records(frame: pd.DataFrame, flag: str = "ANL01FL") -> pd.Series:
    """The records an analysis uses: flagged ``flag == "Y"`` (where the flag exists) or baseline
    (``ABLFL == "Y"``, which many sponsors leave without the analysis flag), at a visit that is not
    unscheduled (:mod:`trialviz.visits`).

    Real ADaM legitimately repeats records outside this set (unscheduled and blank visits, records not
    flagged for analysis), so duplicates are looked for only inside it.
    """
    from trialviz.visits import has_visit, is_unscheduled

    used = pd.Series(True, index=frame.index)
    if flag in frame.columns:
        chosen = text_eq(frame[flag], "Y")
        if "ABLFL" in frame.columns:
            chosen |= text_eq(frame["ABLFL"], "Y")
        used &= chosen
    if "AVISIT" in frame.columns:
        used &= has_visit(frame)
        used &= ~is_unscheduled(frame)
    return used


def _key_text(frame: pd.DataFrame, index: int, keys: list[str]) -> str:
    return " / ".join(str(v).strip() for v in frame.loc[index, keys] if pd.notna(v) and str(v).strip())


def _duplicated(codes: list[np.ndarray]) -> np.ndarray:
    """Which records share their combination of codes with another record (codes ≥ −1, as from
    :func:`~trialviz.io.text.stripped_codes`); one integer key per record when the combinations fit in 63 bits."""
    sizes = [int(c.max()) + 2 if len(c) else 1 for c in codes]
    if float(np.prod(sizes, dtype=float)) < 2.0 ** 62:
        key = np.zeros(len(codes[0]) if codes else 0, dtype=np.int64)
        for column, size in zip(codes, sizes, strict=True):
            key = key * size + (column.astype(np.int64) + 1)
        return pd.Series(key).duplicated(keep=False).to_numpy()
    return pd.DataFrame(dict(enumerate(codes))).duplicated(keep=False).to_numpy()


def _structure_rules(dataset: RawDataset, flag: str) -> list[FrameRule]:
    kind = dataset.kind
    if kind not in ("BDS", "ADTTE"):
        return []

    def no_duplicates(frame: pd.DataFrame) -> pd.Series:
        keys = analysis_keys(frame, kind)
        if keys[:2] != ["USUBJID", "PARAMCD"]:
            return pd.Series(True, index=frame.index)
        if kind == "ADTTE":
            chosen = np.ones(len(frame), dtype=bool)
            duplicated = _duplicated([stripped_codes(frame[key]) for key in keys])
        else:
            from trialviz.visits import cell_dtypes, duplicated_cells

            chosen = analysis_records(frame, flag).to_numpy()
            used = frame[chosen]
            duplicated = duplicated_cells(used, cell_dtypes(used))
        return ~pd.Series(duplicated, index=frame.index[chosen]).reindex(frame.index, fill_value=False)

    if kind == "ADTTE":
        message = ("Duplicated time-to-event records: the same subject and parameter occur more than once, so a "
                   "Kaplan-Meier estimate would count the subject twice. Keep one record per subject and PARAMCD.")
    else:
        message = ("Duplicated analysis records: the same subject, parameter, visit (and timepoint and derivation "
                   f"type where present) occur more than once among the records flagged for analysis ({flag} = "
                   "\"Y\", non-blank AVISIT) or baseline (ABLFL = \"Y\") at a visit that is not unscheduled, so a "
                   "summary would have to pick one or average them. A derived record (DTYPE) beside an observed one "
                   f"is its own value; flag only one of the others with {flag}.")
    return [FrameRule("duplicate analysis record", message, no_duplicates,
                      column=lambda f: ", ".join(analysis_keys(f, kind)),
                      show=lambda f, i: _key_text(f, i, analysis_keys(f, kind)))]


def _content_columns(dataset: RawDataset, meta: StudyMeta) -> dict[str, pa.Column]:
    columns: dict[str, pa.Column] = {}
    kind = dataset.kind
    if kind == "ADTTE":
        columns["CNSR"] = _optional(lambda s: s.isin([0, 1]), "censoring", "CNSR must be 0 (event) or 1 (censored).")
    if kind == "ADSL" and meta.cohorts:
        known = {c.value for c in meta.cohorts}
        screened = _screened(dataset, meta.conventions)
        for column in sorted({meta.conventions.safety_cohort, meta.conventions.efficacy_cohort}):
            columns[column] = _optional(lambda s: text_isin(s, known) | is_not_randomised_value(s)
                                        | screened.reindex(s.index, fill_value=False), "cohort",
                                        f"{column} holds values that are not among the study file's cohorts "
                                        f"({', '.join(sorted(known))}); these subjects would be left out of every "
                                        "cohort. Add the cohort to [[cohorts]] in the study file.")
    return columns


def _screened(dataset: RawDataset, conventions: Conventions) -> pd.Series:
    """Which ADSL records are subjects screened but never randomised (their treatment columns are not
    cohorts: no cohort check applies to them)."""
    return pd.Series(not_randomised(dataset.frame, conventions), index=dataset.frame.index)


def _number(value: object) -> str:
    return "blank" if pd.isna(value) else format(float(value), ".10g")  # type: ignore[arg-type]


def _content_rules(dataset: RawDataset) -> list[FrameRule]:
    if dataset.kind != "BDS":
        return []

    def change_consistent(frame: pd.DataFrame) -> pd.Series:
        if not {"AVAL", "BASE", "CHG"} <= set(frame.columns):
            return pd.Series(True, index=frame.index)
        expected = frame["AVAL"] - frame["BASE"]
        tolerance = 1e-6 * np.maximum(1.0, np.maximum(frame["AVAL"].abs(), frame["BASE"].abs()))
        bad = frame["CHG"].notna() & expected.notna() & ((frame["CHG"] - expected).abs() > tolerance)
        return ~bad

    def show_change(frame: pd.DataFrame, i: int) -> str:
        aval, base = frame.at[i, "AVAL"], frame.at[i, "BASE"]
        return (f"{_key_text(frame, i, analysis_keys(frame))}: CHG {_number(frame.at[i, 'CHG'])}, "
                f"AVAL − BASE = {_number(aval)} − {_number(base)} = {_number(aval - base)}")

    return [FrameRule("change from baseline", "CHG differs from AVAL − BASE on these records, so the change "
                      "from baseline is ambiguous. Re-derive CHG = AVAL − BASE.", change_consistent,
                      column=lambda f: "CHG", show=show_change)]


def _advisory_columns(dataset: RawDataset, meta: StudyMeta) -> dict[str, pa.Column]:
    columns: dict[str, pa.Column] = {}
    conventions = meta.conventions
    present = dataset.frame.columns
    if dataset.kind == "ADAE":
        causality = next((c for c in ("AEREL", "AREL") if c in present), None)
        if causality:
            known = set(conventions.related_values) | set(conventions.not_related_values)
            columns[causality] = _optional(
                lambda s: _terms_in(s, known), "causality",
                f"{causality} values that are neither a related nor a not-related term; these events are counted "
                "as not related. Declare them in [conventions] related_values or not_related_values of the study "
                "file.")
        for severity in SEVERITY_COLUMNS:
            columns[severity] = _optional(
                lambda s: _terms_in(s, SEVERITIES), "severity",
                f"{severity} values other than MILD, MODERATE or SEVERE; these events are shown with their severity "
                "as recorded, with no severity colour (severity is never turned into a grade). Correct them at the "
                "source if they are typos.")
    if dataset.kind == "ADSL":
        screened = _screened(dataset, conventions)
        columns["AGE"] = _optional(lambda s: s.between(*AGE_RANGE), "age", f"AGE values outside "
                                   f"{AGE_RANGE[0]}–{AGE_RANGE[1]} years; they are analysed as recorded: check "
                                   "them at the source.")
        for column in sorted({conventions.safety_cohort, conventions.efficacy_cohort}):
            columns[column] = pa.Column(
                required=False, nullable=True,
                checks=pa.Check(lambda s: s.notna() | screened.reindex(s.index, fill_value=False), ignore_na=False,
                                name="no cohort",
                                error=f"These subjects have no {column}: they belong to no cohort and are left out "
                                "of every by-cohort table."),
            )
    return columns


def _advisory_rules(dataset: RawDataset, meta: StudyMeta) -> list[FrameRule]:
    if dataset.kind != "BDS":
        return []
    rules = []
    for endpoint in meta.endpoints:
        if endpoint.valid_range is None:
            continue
        low, high = endpoint.valid_range
        rules.append(FrameRule(
            f"range {endpoint.paramcd}",
            f"{endpoint.paramcd} ({endpoint.name}) values outside its valid range {low:g}–{high:g} (declared in "
            "the study file). They are analysed as recorded: check them at the source.",
            _in_range(endpoint.paramcd, low, high), column=lambda f: "AVAL",
            show=lambda f, i: f"{_key_text(f, i, analysis_keys(f))}: {_number(f.at[i, 'AVAL'])}"))

    def parameter_has_values(frame: pd.DataFrame) -> pd.Series:
        if not {"PARAMCD", "AVAL"} <= set(frame.columns):
            return pd.Series(True, index=frame.index)
        given = frame["AVAL"].notna()
        if "AVALC" in frame.columns:  # a character parameter: its results are in AVALC
            from trialviz.visits import text_of

            given |= text_of(frame["AVALC"]) != ""
        has_values = given.groupby(_codes(frame["PARAMCD"]), observed=False).transform("any")
        return has_values | frame["PARAMCD"].isna()

    rules.append(FrameRule("no values", "Every AVAL of this parameter is missing (blank), so its tables and figures "
                           "show no values. Check that the dataset was exported completely.", parameter_has_values,
                           column=lambda f: "AVAL", show=lambda f, i: str(f.at[i, "PARAMCD"])))

    def visit_numbers_consistent(frame: pd.DataFrame) -> pd.Series:
        if not {"AVISIT", "AVISITN"} <= set(frame.columns):
            return pd.Series(True, index=frame.index)
        keyed = frame[["AVISIT", "AVISITN"]].dropna()
        counts = keyed.groupby("AVISIT", observed=True)["AVISITN"].nunique()
        ambiguous = counts[counts > 1].index
        return ~frame["AVISIT"].isin(ambiguous)

    rules.append(FrameRule("visit order", "The same AVISIT has more than one AVISITN, so visit order is ambiguous; "
                           "the smallest AVISITN orders the visit.", visit_numbers_consistent,
                           column=lambda f: "AVISIT, AVISITN",
                           show=lambda f, i: f"{str(f.at[i, 'AVISIT']).strip()} / {_number(f.at[i, 'AVISITN'])}"))
    return rules


def _codes(series: pd.Series) -> np.ndarray:
    """A group number per value, as grouping by the value as text would give (missing: one group)."""
    if is_categorical(series):
        return series.cat.codes.to_numpy()
    return pd.factorize(series.astype(str))[0]


def _in_range(paramcd: str, low: float, high: float) -> Callable[[pd.DataFrame], pd.Series]:
    def endpoint_values_plausible(frame: pd.DataFrame) -> pd.Series:
        if not {"PARAMCD", "AVAL"} <= set(frame.columns):
            return pd.Series(True, index=frame.index)
        rows = text_eq(frame["PARAMCD"], paramcd) & frame["AVAL"].notna()
        return ~(rows & ~frame["AVAL"].between(low, high))
    return endpoint_values_plausible


def _check_conditional_columns(dataset: RawDataset, log: ProblemLog) -> None:
    """A BDS without a visit column loads; a warning says which analyses its parameters cannot have."""
    if dataset.kind != "BDS" or "PARAMCD" not in dataset.frame.columns:
        return
    missing = [c for c in CONDITIONAL_BDS_COLUMNS if c not in dataset.frame.columns]
    if not missing:
        return
    params = [str(v) for v in present_values(dataset.frame["PARAMCD"])]
    log.warning(dataset.name, dataset.file, ", ".join(missing),
                f"{dataset.name} has no {' or '.join(missing)} column, so its parameters ({_some(params)}) have no "
                f"ordered analysis visit: {VISIT_ANALYSES} cannot be computed for them. The other analyses are not "
                "affected.", values=tuple(params[:MAX_SHOWN]), count=len(params))


def _check_population_flags(dataset: RawDataset, conventions: Conventions, log: ProblemLog) -> None:
    if dataset.kind != "ADSL":
        return
    for analysis, flag, key in (("safety", conventions.safety_population, "safety_population"),
                                ("efficacy", conventions.efficacy_population, "efficacy_population")):
        if flag and flag not in dataset.frame.columns:
            log.warning(dataset.name, dataset.file, flag, f"ADSL has no {flag} column, the {analysis} population "
                        f"flag: {analysis} analyses include every subject. Add the flag, or name the study's own "
                        f"flag with {key} under [conventions] in the study file.")


def _parse_dates(frame: pd.DataFrame, dataset: RawDataset, log: ProblemLog) -> None:
    """Turn date text (columns ending in DT) into dates; report what is not a date.

    ISO dates (``2014-01-02``) and SAS ``DATE9.`` text (``02JAN2014``, as SAS writes formatted dates to
    CSV) are read; both are unambiguous. Numbers are not guessed at (days since 1960 for SAS, since 1899 for
    Excel): they are reported, and treated as missing dates like any other value that is not a date.
    """
    for column in frame.columns:
        if not column.endswith("DT") or pd.api.types.is_datetime64_any_dtype(frame[column]):
            continue
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values):
            given = values.notna()
            if given.any():
                _report(log, "warning", dataset, column, frame.index[given], values[given],
                        f"{column} holds numbers, not dates; they are treated as missing dates. Export the dates as "
                        "text, YYYY-MM-DD or SAS DATE9. (e.g. 02JAN2014).")
            frame[column] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
            continue
        if is_categorical(values):  # each distinct date text is parsed once
            dates = _parse_date_text(pd.Series(values.cat.categories, dtype=object))
            codes = values.cat.codes.to_numpy()
            parsed = pd.Series(np.append(dates.to_numpy(), np.datetime64("NaT"))[codes], index=frame.index)
            given = codes >= 0
        else:
            parsed = _parse_date_text(values)
            given = values.astype("string").str.strip().notna().to_numpy()
        bad = given & parsed.isna()
        if bad.any():
            _report(log, "warning", dataset, column, frame.index[bad], values[bad],
                    f"{column} values that are not dates (YYYY-MM-DD, or SAS DATE9. such as 02JAN2014); they are "
                    "treated as missing dates. Correct them at the source.")
        frame[column] = parsed


def _parse_date_text(values: pd.Series) -> pd.Series:
    """Dates from ISO 8601 or SAS DATE9. text (``NaT`` where neither)."""
    text = values.astype("string").str.strip()
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
    sas = parsed.isna() & text.notna()
    if sas.any():
        parsed = parsed.where(~sas, pd.to_datetime(text.where(sas), format="%d%b%Y", errors="coerce"))
    return parsed


def _check_one_file_each(datasets: Iterable[RawDataset], log: ProblemLog) -> None:
    """One file per dataset name, and one ADSL and one ADAE in all (several BDS and ADTTE files are fine):
    a second file would otherwise be left out without a word."""
    groups: dict[str, list[RawDataset]] = {}
    for dataset in datasets:
        key = dataset.kind if dataset.kind in ("ADSL", "ADAE") else dataset.name
        groups.setdefault(key, []).append(dataset)
    for key, group in groups.items():
        if len(group) > 1:
            files = ", ".join(d.file for d in group)
            log.error(key, files, "", f"More than one file holds {key} ({files}), and only one can be used. Keep one "
                      "of them in the study folder, or name the right one under [datasets] in the study file.")


def _check_parameters_unique(datasets: Iterable[RawDataset], log: ProblemLog) -> None:
    """A parameter code in two BDS (or two ADTTE) datasets would mix their records."""
    owners: dict[tuple[str, str], list[str]] = {}
    for dataset in datasets:
        if dataset.kind in ("BDS", "ADTTE") and "PARAMCD" in dataset.frame.columns:
            for code in dict.fromkeys(str(v) for v in present_values(dataset.frame["PARAMCD"])):
                owners.setdefault((dataset.kind, code), []).append(dataset.file)
    for (kind, code), files in sorted(owners.items()):
        if len(files) > 1:
            log.error(kind, ", ".join(files), "PARAMCD", f"Parameter {code} occurs in more than one dataset, so "
                      "its records cannot be told apart. Rename it in one of them.", values=(code,), count=1)


def _check_endpoints_declared(datasets: Iterable[RawDataset], meta: StudyMeta, log: ProblemLog,
                              study_file: str) -> None:
    """An endpoint the study file describes but no dataset holds is most likely a mistyped PARAMCD."""
    present = {str(code).strip() for d in datasets if d.kind in ("BDS", "ADTTE") and "PARAMCD" in d.frame.columns
               for code in present_values(d.frame["PARAMCD"])}
    if not any(d.kind == "BDS" for d in datasets):
        return
    for endpoint in meta.endpoints:
        if endpoint.paramcd not in present:
            log.warning("study", study_file, "PARAMCD", f"The study file describes endpoint {endpoint.paramcd} "
                        f"({endpoint.name}), but no dataset has PARAMCD {endpoint.paramcd}; it is not shown. "
                        f"Correct the paramcd in [[endpoints]] (codes in the data: {_some(sorted(present))}).",
                        values=(endpoint.paramcd,), count=1)


def _some(items: list[str], shown: int = 12) -> str:
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more


# --- turning pandera failures into problems ----------------------------------------------------------------------
def _run(schema: pa.DataFrameSchema, rules: list[FrameRule], frame: pd.DataFrame, dataset: RawDataset,
         severity: Severity, log: ProblemLog) -> None:
    """The record-level rules, then the schema's column checks (pandera, lazily: every failure at once)."""
    for rule in rules:
        _run_rule(rule, frame, dataset, severity, log)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            schema.validate(frame, lazy=True, inplace=True)  # nothing is coerced: no copy of the data is needed
    except SchemaErrors as exc:
        _report_failures(exc.failure_cases, schema, dataset, severity, log)


def _run_rule(rule: FrameRule, frame: pd.DataFrame, dataset: RawDataset, severity: Severity,
              log: ProblemLog) -> None:
    """One record-level rule, reported as pandera reports a failed dataframe check: the failing records
    (leaving out records whose every value is missing), or the error when the check itself fails."""
    try:
        failing = ~np.asarray(rule.ok(frame), dtype=bool)
        index = frame.index[failing]
        if len(index):
            index = index[~frame.loc[index].isna().all(axis="columns").to_numpy()]
    except Exception as exc:  # the check itself failed: report, never hide
        detail = f'"{exc.args[0]}"' if exc.args else ""
        _report(log, severity, dataset, rule.column(frame), [], [],
                f"{rule.message} (the check could not run: {type(exc).__name__}({detail}))")
        return
    if not len(index):
        return
    rows = sorted(int(i) for i in index)
    values = [rule.show(frame, i) for i in rows[:MAX_SHOWN]] + [""] * (len(rows) - MAX_SHOWN)
    _report(log, severity, dataset, rule.column(frame), rows, values, rule.message)


def _report_failures(cases: pd.DataFrame, schema: pa.DataFrameSchema, dataset: RawDataset, severity: Severity,
                     log: ProblemLog) -> None:
    # pandera names a failed check by its error text when it has one, else by its name
    column_checks = {key: check.error for column in schema.columns.values() for check in column.checks
                     for key in (check.name, check.error)}
    for (column, check), group in cases.groupby(["column", "check"], dropna=False, sort=False, observed=False):
        check = str(check)
        column = "" if column is None or column != column else str(column)
        if check == "column_in_dataframe":
            for missing in group["failure_case"]:
                log.add_problem(severity, dataset.name, dataset.file, str(missing),
                                f"Required column {missing} is missing from {dataset.name}. Add it, or map the "
                                "file's own column to it under [columns] in the study file.")
            continue
        index, values = group["index"].dropna(), group["failure_case"]
        if check == "field_uniqueness":
            message = f"{column} must identify each subject once, but these values occur more than once."
        elif check == "not_nullable":
            message = f"{column} is missing (blank) on these records; every record needs a {column}."
        else:
            message = column_checks.get(check) or f"Check {check} failed."
        _report(log, severity, dataset, column, index, values, message)


def _report(log: ProblemLog, severity: Severity, dataset: RawDataset, column: str, index: Iterable[object],
            values: Iterable[object], message: str) -> None:
    pairs = sorted({int(i): v for i, v in zip(index, values, strict=False)}.items())  # type: ignore[call-overload]
    rows = tuple(i + 1 for i, _ in pairs[:MAX_SHOWN])
    shown = tuple("" if pd.isna(v) else str(v) for _, v in pairs[:MAX_SHOWN])
    log.add_problem(severity, dataset.name, dataset.file, dataset.own(column), message, rows=rows, count=len(pairs),
                    values=shown)
