"""Validate raw ADaM datasets in one pass and report every problem precisely.

The checks are pandera schemas run with lazy validation, so all failures of a dataset come back
together; each failure becomes a :class:`~trialviz.errors.Problem` naming the file, dataset, column, the
first offending records (1-based record numbers, the first data record is 1) with their values, how many
there are, and what to do. Cross-dataset checks (records whose subject is not in ADSL) are pandera
checks built around the ADSL identifiers.

Errors are problems that could make a number wrong; warnings are shown next to the results.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from trialviz.errors import ProblemLog, Severity
from trialviz.study import Conventions, StudyMeta

MAX_SHOWN = 5
"""How many offending records and values a problem lists (the count says how many there are)."""

KIND_REQUIRED = {
    "ADSL": ("USUBJID",),
    "BDS": ("USUBJID", "PARAMCD", "AVAL", "AVISIT", "AVISITN"),
    "ADAE": ("USUBJID", "AEDECOD", "AEBODSYS"),
    "ADTTE": ("USUBJID", "PARAMCD", "AVAL", "CNSR"),
}
NUMERIC_COLUMNS = {
    "ADSL": ("AGE", "TRT01PN", "TRT01AN"),
    "BDS": ("AVAL", "BASE", "CHG", "PCHG", "AVISITN", "ADY"),
    "ADAE": ("ASTDY", "AENDY", "AETOXGR", "ATOXGR"),
    "ADTTE": ("AVAL", "CNSR"),
}
FLAG_VALUES = ("Y", "N")


@dataclass
class RawDataset:
    """A dataset as read from its file, before validation."""

    name: str
    """ADaM name: ADSL, ADAE, ADTTE, ADEFF, ADVS, …"""
    kind: str
    """One of ``ADSL``, ``BDS``, ``ADAE``, ``ADTTE``."""
    path: Path
    frame: pd.DataFrame

    @property
    def file(self) -> str:
        return self.path.name


def validate_study(datasets: list[RawDataset], meta: StudyMeta, log: ProblemLog) -> dict[str, pd.DataFrame]:
    """Check every dataset, adding each problem to ``log``; return the type-coerced frames by name.

    A dataset whose structure or types are wrong is left out of the result (its problems are errors);
    the caller raises :class:`~trialviz.errors.ValidationError` when ``log`` has errors.
    """
    adsl = [d for d in datasets if d.kind == "ADSL"]
    if not adsl and not any(p.dataset == "ADSL" for p in log.problems):
        log.error("ADSL", "", "", "No subject-level dataset (ADSL) was found. A study needs one file named adsl "
                  "(.xpt, .sas7bdat, .csv, .csv.gz or .parquet) with one row per subject.")
    if len(adsl) > 1:
        log.error("ADSL", ", ".join(d.file for d in adsl), "", "More than one subject-level dataset was found; "
                  "keep one ADSL file in the study folder.")
    # without a readable ADSL, records cannot be matched to subjects: that check waits for ADSL
    subject_ids = _subject_ids(adsl[0]) if adsl else None
    checked: dict[str, pd.DataFrame] = {}
    for dataset in datasets:
        frame = _check_dataset(dataset, meta, subject_ids, log)
        if frame is not None:
            checked[dataset.name] = frame
    _check_parameters_unique(datasets, log)
    return checked


def _subject_ids(adsl: RawDataset) -> pd.Index:
    if "USUBJID" not in adsl.frame.columns:
        return pd.Index([])
    return pd.Index(adsl.frame["USUBJID"].dropna().astype(str).unique())


def _check_dataset(dataset: RawDataset, meta: StudyMeta, subject_ids: pd.Index | None,
                   log: ProblemLog) -> pd.DataFrame | None:
    conventions = meta.conventions
    frame = dataset.frame
    structure = pa.DataFrameSchema(
        _structure_columns(dataset, conventions, subject_ids),
        checks=_structure_frame_checks(dataset, conventions),
        name=dataset.name,
    )
    if not _run(structure, frame, dataset, "error", log):
        return None
    frame = frame.copy()
    for column in NUMERIC_COLUMNS[dataset.kind]:
        if column in frame.columns:
            frame[column] = pd.to_numeric(frame[column])
    _parse_dates(frame, dataset, log)
    content = pa.DataFrameSchema(_content_columns(dataset, meta), checks=_content_frame_checks(dataset),
                                 name=dataset.name)
    ok = _run(content, frame, dataset, "error", log)
    advisory = pa.DataFrameSchema(_advisory_columns(dataset, meta), checks=_advisory_frame_checks(dataset, meta),
                                  name=dataset.name)
    _run(advisory, frame, dataset, "warning", log)
    return frame if ok else None


# --- the checks -------------------------------------------------------------------------------------------------
def _check(fn: Callable[[pd.Series], pd.Series], name: str, message: str) -> pa.Check:
    return pa.Check(fn, name=name, error=message, ignore_na=True)


def _is_number(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce").notna()


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
        if name.endswith("FL") and len(name) > 2:
            checks.append(_check(lambda s: s.astype(str).isin(FLAG_VALUES), "flag",
                                 f"{name} is a flag and may only be \"Y\", \"N\" or blank."))
        if name == "USUBJID" and kind != "ADSL" and subject_ids is not None:
            checks.append(_check(lambda s: s.astype(str).isin(subject_ids), "orphan",
                                 "These records belong to subjects that are not in ADSL, so they could not be "
                                 "counted. Add the subjects to ADSL or remove the records."))
        columns[name] = pa.Column(
            checks=checks,
            required=name in required,
            nullable=not (name == "USUBJID" or (name == "PARAMCD" and kind in ("BDS", "ADTTE"))),
            unique=kind == "ADSL" and name == "USUBJID",
        )
    return columns


def _analysis_keys(frame: pd.DataFrame) -> list[str]:
    return [c for c in ("USUBJID", "PARAMCD", "AVISIT", "ATPT", "DTYPE") if c in frame.columns]


def _analysis_records(frame: pd.DataFrame) -> pd.Series:
    """The records an analysis uses: flagged ``ANL01FL == "Y"`` (where the flag exists), with a visit."""
    used = pd.Series(True, index=frame.index)
    if "ANL01FL" in frame.columns:
        used &= frame["ANL01FL"].astype("string").eq("Y").fillna(False)
    if "AVISIT" in frame.columns:
        used &= frame["AVISIT"].astype("string").str.strip().fillna("").ne("")
    return used


def _structure_frame_checks(dataset: RawDataset, conventions: Conventions) -> list[pa.Check]:
    if dataset.kind != "BDS":
        return []

    def no_duplicates(frame: pd.DataFrame) -> pd.Series:
        keys = _analysis_keys(frame)
        if len(keys) < 3:
            return pd.Series(True, index=frame.index)
        used = _analysis_records(frame)
        key_frame = frame[keys].astype("string").apply(lambda s: s.str.strip())
        duplicated = key_frame[used].duplicated(keep=False)
        return ~duplicated.reindex(frame.index, fill_value=False)

    return [pa.Check(no_duplicates, name="duplicate analysis record",
                     error="Duplicated analysis records: the same subject, parameter, visit (and timepoint and "
                     "derivation type where present) occur more than once among the records flagged for analysis "
                     "(ANL01FL = \"Y\", non-blank AVISIT), so a summary would count one measurement twice. Flag "
                     "only one of them with ANL01FL.")]


def _content_columns(dataset: RawDataset, meta: StudyMeta) -> dict[str, pa.Column]:
    columns: dict[str, pa.Column] = {}
    kind = dataset.kind
    if kind == "ADAE":
        for grade in ("AETOXGR", "ATOXGR"):
            columns[grade] = pa.Column(checks=_check(lambda s: s.isin([1, 2, 3, 4, 5]), "grade",
                                                     f"{grade} is a CTCAE grade and must be 1, 2, 3, 4 or 5."),
                                       required=False, nullable=True)
    if kind == "ADTTE":
        columns["CNSR"] = pa.Column(checks=_check(lambda s: s.isin([0, 1]), "censoring",
                                                  "CNSR must be 0 (event) or 1 (censored)."), nullable=True)
    if kind == "ADSL" and meta.cohorts:
        known = {c.value for c in meta.cohorts}
        for column in {meta.conventions.safety_cohort, meta.conventions.efficacy_cohort}:
            columns[column] = pa.Column(
                checks=_check(lambda s: s.astype(str).isin(known), "cohort",
                              f"{column} holds values that are not among the study file's cohorts "
                              f"({', '.join(sorted(known))}); these subjects would be left out of every cohort. "
                              "Add the cohort to [[cohorts]] in the study file."),
                nullable=True, required=False)
    return columns


def _content_frame_checks(dataset: RawDataset) -> list[pa.Check]:
    if dataset.kind != "BDS":
        return []

    def change_consistent(frame: pd.DataFrame) -> pd.Series:
        if not {"AVAL", "BASE", "CHG"} <= set(frame.columns):
            return pd.Series(True, index=frame.index)
        expected = frame["AVAL"] - frame["BASE"]
        tolerance = 1e-6 * np.maximum(1.0, np.maximum(frame["AVAL"].abs(), frame["BASE"].abs()))
        bad = frame["CHG"].notna() & expected.notna() & ((frame["CHG"] - expected).abs() > tolerance)
        return ~bad

    return [pa.Check(change_consistent, name="change from baseline",
                     error="CHG differs from AVAL − BASE on these records, so the change from baseline is "
                     "ambiguous. Re-derive CHG = AVAL − BASE.")]


def _advisory_columns(dataset: RawDataset, meta: StudyMeta) -> dict[str, pa.Column]:
    columns: dict[str, pa.Column] = {}
    conventions = meta.conventions
    if dataset.kind == "ADAE" and "AEREL" in dataset.frame.columns:
        known = set(conventions.related_values) | set(conventions.not_related_values)
        columns["AEREL"] = pa.Column(
            checks=_check(lambda s: s.astype(str).str.strip().str.upper().isin(known), "causality",
                          "AEREL values that are neither a related nor a not-related term; these events are "
                          "counted as not related. Declare them in [conventions] related_values or "
                          "not_related_values of the study file."),
            nullable=True, required=False)
    if dataset.kind == "ADSL":
        for column in {conventions.safety_cohort, conventions.efficacy_cohort}:
            columns[column] = pa.Column(
                required=False, nullable=True,
                checks=pa.Check(lambda s: s.notna(), ignore_na=False, name="no cohort",
                                error=f"These subjects have no {column}: they belong to no cohort and are left out "
                                "of every by-cohort table."),
            )
    return columns


def _advisory_frame_checks(dataset: RawDataset, meta: StudyMeta) -> list[pa.Check]:
    if dataset.kind != "BDS":
        return []
    checks = []
    for endpoint in meta.endpoints:
        if endpoint.valid_range is None:
            continue
        low, high = endpoint.valid_range
        checks.append(pa.Check(_in_range(endpoint.paramcd, low, high), name=f"range {endpoint.paramcd}",
                               error=f"{endpoint.paramcd} ({endpoint.name}) values outside its valid range "
                               f"{low:g}–{high:g}. They are analysed as recorded: check them at the source."))

    def visit_numbers_consistent(frame: pd.DataFrame) -> pd.Series:
        keyed = frame.dropna(subset=["AVISIT", "AVISITN"])
        counts = keyed.groupby("AVISIT", observed=True)["AVISITN"].nunique()
        ambiguous = counts[counts > 1].index
        return ~frame["AVISIT"].isin(ambiguous)

    checks.append(pa.Check(visit_numbers_consistent, name="visit order",
                           error="The same AVISIT has more than one AVISITN, so visit order is ambiguous; the "
                           "smallest AVISITN orders the visit."))
    return checks


def _in_range(paramcd: str, low: float, high: float) -> Callable[[pd.DataFrame], pd.Series]:
    def endpoint_values_plausible(frame: pd.DataFrame) -> pd.Series:
        rows = frame["PARAMCD"].astype(str).eq(paramcd) & frame["AVAL"].notna()
        return ~(rows & ~frame["AVAL"].between(low, high))
    return endpoint_values_plausible


def _parse_dates(frame: pd.DataFrame, dataset: RawDataset, log: ProblemLog) -> None:
    """Turn ISO date text (columns ending in DT) into dates; report text that is not a date."""
    for column in frame.columns:
        if not column.endswith("DT") or pd.api.types.is_datetime64_any_dtype(frame[column]):
            continue
        text = frame[column]
        if pd.api.types.is_numeric_dtype(text):
            continue
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
        bad = text.notna() & parsed.isna()
        if bad.any():
            _report(log, "warning", dataset, column, frame.index[bad], text[bad],
                    f"{column} values that are not ISO dates (YYYY-MM-DD); they are treated as missing dates.")
        frame[column] = parsed


def _check_parameters_unique(datasets: Iterable[RawDataset], log: ProblemLog) -> None:
    owners: dict[str, list[str]] = {}
    for dataset in datasets:
        if dataset.kind == "BDS" and "PARAMCD" in dataset.frame.columns:
            for code in dataset.frame["PARAMCD"].dropna().astype(str).unique():
                owners.setdefault(code, []).append(dataset.file)
    for code, files in sorted(owners.items()):
        if len(files) > 1:
            log.error("BDS", ", ".join(files), "PARAMCD", f"Parameter {code} occurs in more than one dataset, so "
                      "its records cannot be told apart. Rename it in one of them.", values=(code,), count=1)


# --- turning pandera failures into problems ----------------------------------------------------------------------
def _run(schema: pa.DataFrameSchema, frame: pd.DataFrame, dataset: RawDataset, severity: Severity,
         log: ProblemLog) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            schema.validate(frame, lazy=True)
    except SchemaErrors as exc:
        _report_failures(exc.failure_cases, schema, dataset, severity, log)
        return False
    return True


def _report_failures(cases: pd.DataFrame, schema: pa.DataFrameSchema, dataset: RawDataset,
                     severity: Severity, log: ProblemLog) -> None:
    # pandera names a failed check by its error text when it has one, else by its name
    column_checks = {key: check.error for column in schema.columns.values() for check in column.checks
                     for key in (check.name, check.error)}
    frame_checks = {key: check.error for check in schema.checks for key in (check.name, check.error)}
    is_frame_check = cases["check"].astype(str).isin(frame_checks)
    # a frame-level check reports every column of a failing row: group it by check alone
    groups = [(("", check), group) for check, group in cases[is_frame_check].groupby("check", sort=False)]
    groups += list(cases[~is_frame_check].groupby(["column", "check"], dropna=False, sort=False))
    for (column, check), group in groups:
        check = str(check)
        column = "" if column is None or column != column else str(column)
        if check == "column_in_dataframe":
            for missing in group["failure_case"]:
                log.add_problem(severity, dataset.name, dataset.file, str(missing),
                                f"Required column {missing} is missing from {dataset.name}. Add it, or map the "
                                "file's own column to it under [columns] in the study file.")
            continue
        index, values = group["index"].dropna(), group["failure_case"]
        if check in frame_checks:
            message = frame_checks[check]
            if group["index"].isna().all():  # the check itself raised: report, never hide
                message = f"{message} (the check could not run: {group['failure_case'].iloc[0]})"
            column = ", ".join(_analysis_keys(dataset.frame)) if "Duplicated" in message else ""
            firsts = group.dropna(subset=["index"]).drop_duplicates("index")
            index, values = firsts["index"], firsts["index"].map(lambda i: _row_text(dataset.frame, i))
        elif check == "field_uniqueness":
            message = f"{column} must identify each subject once, but these values occur more than once."
        elif check == "not_nullable":
            message = f"{column} is missing (blank) on these records; every record needs a {column}."
        else:
            message = column_checks.get(check) or f"Check {check} failed."
        _report(log, severity, dataset, column, index, values, message)


def _row_text(frame: pd.DataFrame, index: object) -> str:
    keys = _analysis_keys(frame) or list(frame.columns[:3])
    row = frame.loc[index, keys]
    return " / ".join("" if pd.isna(v) else str(v).strip() for v in row)


def _report(log: ProblemLog, severity: Severity, dataset: RawDataset, column: str, index: Iterable[object],
            values: Iterable[object], message: str) -> None:
    pairs = sorted({int(i): v for i, v in zip(index, values, strict=False)}.items())
    rows = tuple(i + 1 for i, _ in pairs[:MAX_SHOWN])
    shown = tuple("" if pd.isna(v) else str(v) for _, v in pairs[:MAX_SHOWN])
    log.add_problem(severity, dataset.name, dataset.file, column, message, rows=rows, count=len(pairs),
                    values=shown)
