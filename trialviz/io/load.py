"""Load a study folder (or a list of files) into a validated :class:`~trialviz.study.Study`."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from trialviz.errors import ProblemLog, StudyFileError, ValidationError
from trialviz.io.config import StudyConfig, default_config, find_study_file, read_study_file
from trialviz.io.readers import data_suffix, dataset_stem, file_sha256, read_columns, read_table
from trialviz.io.screening import NOT_RANDOMISED, not_randomised
from trialviz.io.text import is_categorical, is_text, present_values, strip_categories
from trialviz.io.validate import RawDataset, validate_study
from trialviz.paths import BUNDLED_STUDY_DIR
from trialviz.study import Cohort, Conventions, Endpoint, EndpointKind, Provenance, SourceFile, Study, StudyMeta

Progress = Callable[[int, int, str], None]
"""Called as ``progress(done, total, message)`` while a study loads.

``done`` grows from 0 to ``total`` in work units (bytes of the files, counted once when read and once
when validated, so reading and validating each fill about half the bar); ``message`` says what is
happening: ``"Reading advs.csv"``, ``"Checking ADVS"``, ``"Loaded"``. CSV files report block by block,
other formats once per file. :mod:`trialviz.io.progress` has ready-made displays.
"""

BDS_COLUMNS = (
    "USUBJID", "PARAMCD", "PARAM", "PARAMN", "AVISIT", "AVISITN", "ADY", "ADT", "AVAL", "AVALC", "AVALU", "BASE", "CHG",
    "PCHG", "ABLFL", "ANL01FL", "DTYPE", "ATPT", "ATPTN", "TRTP", "TRTA",
    # normal ranges, indicators, toxicity grades and the on-treatment flag of labs, vital signs and ECG
    "ANRLO", "ANRHI", "A1LO", "A1HI", "R2A1HI", "ANRIND", "BNRIND", "ATOXGR", "BTOXGR", "ONTRTFL",
)
ADAE_COLUMNS = (
    "USUBJID", "AETERM", "AEDECOD", "AEBODSYS", "AESOC", "ASTDT", "AENDT", "ASTDY", "AENDY", "AETOXGR", "ATOXGR",
    "AESEV", "ASEV", "AESER", "AEREL", "AREL", "TRTEMFL", "TRTA", "TRTAN", "AEOUT", "AEACN", "AESDTH", "CQ01NAM",
)
ADTTE_COLUMNS = ("USUBJID", "PARAMCD", "PARAM", "AVAL", "CNSR", "EVNTDESC", "CNSDTDSC", "STARTDT", "ADT", "TRTA",
                 "TRTP")
KIND_COLUMNS: dict[str, tuple[str, ...] | None] = {
    "ADSL": None, "BDS": BDS_COLUMNS, "ADAE": ADAE_COLUMNS, "ADTTE": ADTTE_COLUMNS,
}
CATEGORICAL_COLUMNS = ("USUBJID", "PARAMCD", "PARAM", "AVISIT", "DATASET", "AEDECOD", "AEBODSYS", "AETERM", "DTYPE",
                       "ATPT", "TRTP", "TRTA")
"""Text columns of the record-level datasets kept as categoricals (with every flag, ``…FL``): subject
identifiers and codes repeat on every record, so they take a few bytes per record and compare at the speed
of numbers. Other text (``AESEV``, ``AEREL``, ``AEOUT``…) is kept as strings."""


def load_study(path: str | Path | Sequence[str | Path] | None = None, *,
               progress: Progress | bool | None = None) -> Study:
    """Load and validate a study.

    Parameters
    ----------
    path
        A folder holding ADSL and any ADAE, ADTTE and BDS datasets (``.xpt``, ``.sas7bdat``, ``.csv``,
        ``.csv.gz``, ``.parquet``) and optionally a ``study.toml``; or a list of such files. ``None``
        loads the bundled MSC-SSc study (simulated patient-level data).
    progress
        ``True`` shows a progress bar (a widget in a notebook, a text line otherwise; see
        :func:`trialviz.io.progress.auto_progress`), or a callback ``progress(done, total, message)``
        (see :data:`Progress`).

    Returns
    -------
    Study
        The validated study. Problems that allow a correct analysis are in ``study.warnings``.

    Raises
    ------
    StudyFileError
        The path does not exist or holds no data files.
    StudyConfigError
        The study file is not valid TOML or has an unknown key or a bad value.
    ValidationError
        Some data would make an analysis wrong; ``.problems`` lists every problem found.

    Examples
    --------
    >>> import trialviz
    >>> study = trialviz.load_study()
    >>> study.meta.study_id, study.n_subjects
    ('NCT02213705', 20)
    """
    files, folder = _resolve(path)
    study_file = find_study_file(folder) if folder else None
    config = read_study_file(study_file) if study_file else default_config()
    if progress is True:
        from trialviz.io.progress import auto_progress

        progress = auto_progress()
    tracker = _Tracker(files, progress or None)
    log = ProblemLog()
    raw = _read_datasets(files, config, log, tracker)
    checked = validate_study(raw, config.meta, log, on_checked=tracker.checked,
                             study_file=study_file.name if study_file else "")
    if log.has_errors:
        tracker.finish("Not loaded: the study has errors")
        raise ValidationError(log.problems)
    location = str(folder if folder else files[0].parent)
    provenance = Provenance(
        location=location,
        files=tuple(SourceFile(d.name, d.file, file_sha256(d.path), d.path.stat().st_size, len(d.frame))
                    for d in raw),
        loaded_at=datetime.now(UTC),
        study_file=study_file.name if study_file else "",
    )
    study = _assemble(raw, checked, config, provenance, log)
    del raw, checked
    _release_memory(collect=sum(source.size for source in provenance.files) >= COLLECT_AFTER_READING_BYTES)
    tracker.finish("Loaded")
    return study


COLLECT_AFTER_READING_BYTES = 8 * 1024 * 1024
"""Study files of at least this size in all are followed by a full garbage collection (:func:`_release_memory`):
it takes about 0.1 s in a process that has loaded plotly and scipy (a dashboard kernel), half the load of a
small study, and only frees memory worth giving back after large files."""


def _release_memory(collect: bool) -> None:
    """Give the memory that reading and checking used back to the system (a dashboard kernel keeps running
    with the study): Arrow's pool keeps what it allocated, and glibc keeps freed heap memory, until asked.
    ``collect``: first free what the readers' and checks' reference cycles hold (a full collection)."""
    import gc
    import sys

    if collect:
        gc.collect()
    if "pyarrow" in sys.modules:
        sys.modules["pyarrow"].default_memory_pool().release_unused()
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc
            pass


class _Tracker:
    """Turns file reads and dataset checks into ``progress(done, total, message)`` calls."""

    def __init__(self, files: list[Path], progress: Progress | None):
        self.progress = progress
        self.sizes = {f: max(f.stat().st_size, 1) for f in files}
        self.total = 2 * sum(self.sizes.values()) + 1  # the last unit is the finish
        self.done = 0

    def _emit(self, done: int, message: str) -> None:
        if self.progress:
            self.progress(min(done, self.total - 1), self.total, message)

    def reading(self, path: Path) -> Callable[[int], None]:
        """The byte counter of one file's read; the file's share is complete when :meth:`read` is called."""
        start, size = self.done, self.sizes[path]
        self._emit(start, f"Reading {path.name}")
        return lambda n: self._emit(start + min(n, size), f"Reading {path.name}")

    def read(self, path: Path, used: bool = True) -> None:
        self.done += self.sizes[path] * (1 if used else 2)
        self._emit(self.done, f"Read {path.name}")

    def checked(self, dataset: RawDataset) -> None:
        self.done += self.sizes.get(dataset.path, 0)
        self._emit(self.done, f"Checked {dataset.name}")

    def finish(self, message: str) -> None:
        self.done = self.total
        if self.progress:
            self.progress(self.total, self.total, message)


def _resolve(path: str | Path | Sequence[str | Path] | None) -> tuple[list[Path], Path | None]:
    if path is None:
        path = BUNDLED_STUDY_DIR
    if isinstance(path, (str, Path)):
        folder = Path(path).expanduser()
        if not folder.exists():
            raise StudyFileError(f"{folder}: no such file or folder.")
        if folder.is_file():
            return [folder], None
        files = sorted(p for p in folder.iterdir() if p.is_file() and data_suffix(p))
        if not files:
            raise StudyFileError(f"{folder}: the folder holds no data files (.xpt, .sas7bdat, .csv, .csv.gz, "
                                 ".parquet).")
        return files, folder
    files = [Path(p).expanduser() for p in path]
    for file in files:
        if not file.is_file():
            raise StudyFileError(f"{file}: no such file.")
    if not files:
        raise StudyFileError("No files were given.")
    parents = {f.parent for f in files}
    return files, parents.pop() if len(parents) == 1 else None


def _read_datasets(files: list[Path], config: StudyConfig, log: ProblemLog, tracker: _Tracker) -> list[RawDataset]:
    named = {file_name.lower(): dataset for dataset, file_name in config.datasets.items()}
    for dataset, file_name in config.datasets.items():
        if not any(f.name.lower() == file_name.lower() for f in files):
            log.error(dataset, file_name, "", f"The study file names {file_name} for {dataset}, but there is no "
                      "such file in the study folder.")
    datasets: list[RawDataset] = []
    for path in files:
        name = named.get(path.name.lower(), dataset_stem(path))
        mapping = config.columns.get(name, {})
        counter = tracker.reading(path)
        try:
            own = read_columns(path)
            mapping = _usable_mapping(name, path, own, mapping, log)
            header = [_standard_name(c, mapping) for c in own]
            kind = _identify(name, header)
            if kind is None:
                log.warning(name, path.name, "", "Not recognised as ADSL, ADAE, ADTTE or a BDS dataset (no "
                            "USUBJID with PARAMCD/AVAL, AEDECOD or CNSR); the file is not used.")
                tracker.read(path, used=False)
                continue
            wanted = _needed_columns(kind, config.meta.conventions)
            columns = None if wanted is None else [mapping.get(c, c) for c in wanted]
            frame = read_table(path, columns, progress=counter,
                               missing_values=config.meta.conventions.missing_values)
        except StudyFileError as exc:
            reason = str(exc).removeprefix(f"{path.name}: ")
            log.error(name, path.name, exc.column, reason[:1].upper() + reason[1:], rows=exc.rows,
                      count=len(exc.rows), values=exc.values)
            tracker.read(path, used=False)
            continue
        tracker.read(path)
        if mapping:
            frame = frame.rename(columns={own: standard for standard, own in mapping.items()}, copy=False)
        if kind == "ADSL":
            name = "ADSL"
            frame = _as_strings(frame)
        datasets.append(RawDataset(name=name, kind=kind, path=path, frame=_shallow(frame),
                                   renamed=mapping))
    known = {dataset_stem(f) for f in files} | set(config.datasets)  # a missing named file is reported above
    for dataset in sorted(set(config.columns) - known):
        log.warning("study", config.path.name if config.path else "", "", f"The study file maps columns of "
                    f"{dataset} ([columns.{dataset.lower()}]), but no file holds {dataset}; the mapping is not used. "
                    "Check the dataset name.")
    return datasets


def _needed_columns(kind: str, conventions: Conventions) -> tuple[str, ...] | None:
    """The columns to read from a dataset of this kind (``None``: all), with those the study file's
    conventions name (an analysis or treatment-emergent flag of the study's own)."""
    wanted = KIND_COLUMNS[kind]
    extra = {"BDS": conventions.analysis_flag, "ADAE": conventions.treatment_emergent_flag}.get(kind)
    if wanted is None or not extra or extra in wanted:
        return wanted
    return (*wanted, extra)


def _usable_mapping(name: str, path: Path, own: list[str], mapping: dict[str, str],
                    log: ProblemLog) -> dict[str, str]:
    """The study file's column mapping for one file, minus what cannot apply (each reported)."""
    usable = {}
    for standard, theirs in mapping.items():
        where = f"[columns.{name.lower()}] maps {standard} to {theirs}"
        if theirs not in own:
            log.warning(name, path.name, standard, f"The study file's {where}, but {path.name} has no column "
                        f"{theirs}; the mapping is not used. Correct the column name.")
        elif standard in own and standard != theirs:
            log.error(name, path.name, standard, f"The study file's {where}, but {path.name} also has a column "
                      f"{standard}, so it would hold two. Remove the mapping or rename one of the columns.")
        else:
            usable[standard] = theirs
    return usable


def _standard_name(column: str, mapping: dict[str, str]) -> str:
    for standard, theirs in mapping.items():
        if theirs == column:
            return standard
    return column


def _identify(name: str, columns: Iterable[str]) -> str | None:
    present = set(columns)
    if name in ("ADSL", "ADAE", "ADTTE"):
        return name  # named so (file or study file): a missing USUBJID is that dataset's error, never a skip
    if "USUBJID" not in present and not (name.startswith("AD") and {"PARAMCD", "AVAL"} <= present):
        return None  # an ADaM-named parameter dataset without USUBJID is reported, not skipped
    if name == "ADSL" or (not name.startswith("AD") and {"TRT01P", "TRT01A"} & present and "PARAMCD" not in present):
        return "ADSL"
    if name == "ADAE" or "AEDECOD" in present:
        return "ADAE"
    if name == "ADTTE" or {"CNSR", "PARAMCD"} <= present:
        return "ADTTE"
    if {"PARAMCD", "AVAL"} <= present:
        return "BDS"
    return None


def _assemble(raw: list[RawDataset], checked: dict[str, pd.DataFrame], config: StudyConfig,
              provenance: Provenance, log: ProblemLog) -> Study:
    kinds = {d.name: d.kind for d in raw}
    adsl = checked["ADSL"].reset_index(drop=True)
    screened = not_randomised(adsl, config.meta.conventions)
    subjects = adsl[~screened].reset_index(drop=True)
    screen_failures = adsl[screened].reset_index(drop=True)
    if screened.any():
        checked = _set_aside(checked, raw, screen_failures["USUBJID"], log)
    bds = [_shallow(frame, DATASET=name) for name, frame in sorted(checked.items(), key=lambda i: _bds_rank(i[0]))
           if kinds[name] == "BDS"]
    measurements = _concat(bds) if bds else _empty(BDS_COLUMNS + ("DATASET",))
    if "AVISIT" in measurements.columns:
        measurements["AVISIT"] = strip_categories(measurements["AVISIT"])
    for column in ("PARAM", "ABLFL", "ANL01FL", "BASE", "CHG", "PCHG", "ADY", "AVISITN"):
        if column not in measurements.columns:
            measurements[column] = pd.NA if column != "AVISITN" else np.nan
    if "AVISIT" not in measurements.columns:  # conditional in ADaM: records without a visit (validation warned)
        measurements["AVISIT"] = pd.Categorical.from_codes(np.full(len(measurements), -1), categories=[])
    adverse_events = next((f for n, f in checked.items() if kinds[n] == "ADAE"), None)
    survival = [frame for name, frame in sorted(checked.items()) if kinds[name] == "ADTTE"]
    time_to_event = _concat(survival) if survival else None
    meta = _complete_meta(config.meta, subjects, measurements, time_to_event)
    return Study(
        subjects=subjects,
        screen_failures=screen_failures,
        _measurements=_categorical(measurements),
        adverse_events=_categorical(adverse_events if adverse_events is not None else _empty(ADAE_COLUMNS)),
        time_to_event=_as_strings(time_to_event) if time_to_event is not None else _empty(ADTTE_COLUMNS),
        meta=meta,
        provenance=provenance,
        warnings=tuple(log.warnings),
    )


def _set_aside(checked: dict[str, pd.DataFrame], raw: list[RawDataset], screened: pd.Series,
               log: ProblemLog) -> dict[str, pd.DataFrame]:
    """The datasets without the records of subjects screened but never randomised; a warning per dataset
    says how many records were set aside (they are in no cohort, so no analysis could count them)."""
    files = {d.name: d for d in raw}
    kept: dict[str, pd.DataFrame] = {}
    for name, frame in checked.items():
        if files[name].kind == "ADSL" or "USUBJID" not in frame.columns:
            kept[name] = frame
            continue
        theirs = frame["USUBJID"].isin(screened).to_numpy()
        if theirs.any():
            rows = np.flatnonzero(theirs)
            ids = [str(v) for v in pd.unique(frame["USUBJID"].to_numpy()[rows])]
            log.warning(name, files[name].file, "USUBJID",
                        f"{len(rows)} record(s) of {len(ids)} subject(s) screened but never randomised (ADSL "
                        "TRT01P/ARM \"Screen Failure\", \"Not Assigned\", \"Not Treated\" or blank) are set aside: "
                        "they belong to no cohort. The subjects are counted as screened in the populations table.",
                        rows=tuple(int(r) + 1 for r in rows[:5]), count=len(rows), values=tuple(ids[:5]))
            frame = frame[~theirs]
        kept[name] = frame
    return kept


def _bds_rank(name: str) -> tuple[int, str]:
    """Efficacy datasets first, safety measurements (vital signs, labs, ECG) last: the first endpoint is
    what the dashboard opens with when no study file orders them."""
    for rank, prefix in enumerate(("ADEFF", "ADQS", "ADRS", "ADVS", "ADEG", "ADLB")):
        if name.startswith(prefix):
            return (rank if rank < 3 else rank + 1, name)
    return (3, name)


def _as_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Text as pandas strings, for the small datasets (ADSL, ADTTE: about one record per subject), whose
    text gains nothing from categoricals."""
    for column in frame.columns:
        if is_categorical(frame[column]) and is_text(frame[column]):
            frame[column] = frame[column].astype("string")
    return frame


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Datasets stacked, text columns staying categoricals (over the union of their categories)."""
    if len(frames) == 1:
        return _shallow(frames[0])
    columns = list(dict.fromkeys(c for frame in frames for c in frame.columns))
    frames = [frame.copy(deep=False) for frame in frames]
    for column in columns:
        present = [frame[column] for frame in frames if column in frame.columns]
        if not all(is_categorical(series) for series in present):
            continue
        categories = sorted(set().union(*(series.cat.categories for series in present)))
        for frame in frames:
            if column in frame.columns:
                frame[column] = frame[column].cat.set_categories(categories)
            else:
                frame[column] = pd.Categorical.from_codes(np.full(len(frame), -1), categories=categories)
    return pd.concat(frames, ignore_index=True)


def _empty(columns: Iterable[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


def _shallow(frame: pd.DataFrame, **columns: object) -> pd.DataFrame:
    """A new frame over the same data with a fresh 0…n−1 index and ``columns`` set (nothing is copied: the
    datasets are millions of records; columns are replaced, never written into)."""
    frame = frame.copy(deep=False)
    frame.index = pd.RangeIndex(len(frame))
    for name, value in columns.items():
        frame[name] = value
    return frame


def _categorical(frame: pd.DataFrame) -> pd.DataFrame:
    frame = _shallow(frame)
    for column in frame.columns:
        keep = column in CATEGORICAL_COLUMNS or column.endswith("FL")
        if keep and frame[column].dtype != "category" and (column in CATEGORICAL_COLUMNS or is_text(frame[column])):
            frame[column] = frame[column].astype("category")
        elif not keep and is_categorical(frame[column]) and is_text(frame[column]):
            frame[column] = frame[column].astype("string")
    return frame


def _complete_meta(meta: StudyMeta, subjects: pd.DataFrame, measurements: pd.DataFrame,
                   time_to_event: pd.DataFrame | None = None) -> StudyMeta:
    """Fill what the study file left out from the data: cohorts in order, endpoints, identifier. The study
    file's endpoints that are ADTTE parameters (and no BDS one) become its time-to-event endpoints."""
    cohorts = meta.cohorts or _cohorts_from_data(subjects, meta)
    known = {e.paramcd for e in meta.endpoints}
    extra: list[Endpoint] = []
    facts = _parameter_facts(measurements)
    for code, (label, unit, dataset, kind) in facts.items():
        if code not in known:
            name, unit = _name_and_unit(label or code, unit)
            extra.append(Endpoint(paramcd=code, name=name, unit=unit, dataset=dataset, kind=kind))
    declared = tuple(replace(e, dataset=facts[e.paramcd][2], kind=facts[e.paramcd][3],
                             unit=e.unit or _name_and_unit(facts[e.paramcd][0], facts[e.paramcd][1])[1])
                     for e in meta.endpoints if e.paramcd in facts)
    endpoints = declared + tuple(extra)
    tte_present = (set() if time_to_event is None or "PARAMCD" not in time_to_event.columns
                   else {str(v) for v in present_values(time_to_event["PARAMCD"])})
    tte_endpoints = tuple(e for e in meta.endpoints if e.paramcd in tte_present and e.paramcd not in facts)
    study_id = meta.study_id
    if not study_id and "STUDYID" in subjects.columns and subjects["STUDYID"].notna().any():
        study_id = str(subjects["STUDYID"].dropna().iloc[0])
    return replace(meta, cohorts=tuple(cohorts), endpoints=endpoints, study_id=study_id,
                   title=meta.title or study_id, time_to_event_endpoints=tte_endpoints)


UNIT_IN_NAME = re.compile(r"^(?P<name>.*\S)\s*\((?P<unit>[^()]+)\)\s*$")
"""A unit in parentheses at the end of ``PARAM``: "Systolic Blood Pressure (mmHg)"."""


def _name_and_unit(label: str, unit: str) -> tuple[str, str]:
    """An endpoint's name and unit from ``PARAM`` and ``AVALU``: the unit is ``AVALU`` when given, else the
    text in parentheses ending ``PARAM`` (then left out of the name, which :attr:`Endpoint.label` shows
    with its unit)."""
    match = UNIT_IN_NAME.match(label)
    if unit:
        if match and match["unit"].strip() == unit:
            return match["name"], unit
        return label, unit
    if match and not re.fullmatch(r"\d+", match["unit"].strip()):
        return match["name"], match["unit"].strip()
    return label, ""


def _parameter_facts(measurements: pd.DataFrame) -> dict[str, tuple[str, str, str, EndpointKind]]:
    """Per ``PARAMCD`` in record order: its first ``PARAM``, first ``AVALU``, dataset and kind (``"character"``
    when every ``AVAL`` is missing and some ``AVALC`` is given, else ``"numeric"``), grouped on codes."""
    if not len(measurements):
        return {}
    codes, names = pd.factorize(measurements["PARAMCD"], use_na_sentinel=True)
    keep = codes >= 0
    has_value = np.bincount(codes[keep], weights=measurements["AVAL"].notna().to_numpy()[keep],
                            minlength=len(names)) > 0
    if "AVALC" in measurements.columns:
        from trialviz.visits import text_of

        given = text_of(measurements["AVALC"]) != ""
        has_text = np.bincount(codes[keep], weights=given[keep], minlength=len(names)) > 0
    else:
        has_text = np.zeros(len(names), dtype=bool)
    first = measurements.iloc[np.unique(codes[keep], return_index=True)[1]] if keep.any() else measurements.iloc[:0]
    facts: dict[str, tuple[str, str, str, EndpointKind]] = {}
    for i, row in zip(np.unique(codes[keep]), first.itertuples(index=False), strict=True):
        label = getattr(row, "PARAM", None)
        unit = getattr(row, "AVALU", None)
        kind: EndpointKind = "character" if has_text[i] and not has_value[i] else "numeric"
        facts[str(names[i])] = ("" if label is None or pd.isna(label) else str(label).strip(),
                                "" if unit is None or pd.isna(unit) else str(unit).strip(),
                                str(getattr(row, "DATASET", "")), kind)
    return facts


def _cohorts_from_data(subjects: pd.DataFrame, meta: StudyMeta) -> list[Cohort]:
    conventions = meta.conventions
    order: dict[str, float] = {}
    for column in (conventions.efficacy_cohort, conventions.safety_cohort):
        if column not in subjects.columns:
            continue
        numeric = f"{column}N"
        for _, row in subjects.drop_duplicates(column).iterrows():
            value = row[column]
            if pd.isna(value) or str(value) in order or not str(value).strip() \
                    or str(value).strip().upper() in NOT_RANDOMISED:
                continue
            rank = row.get(numeric) if numeric in subjects.columns else None
            order[str(value)] = float(rank) if rank is not None and pd.notna(rank) else float("inf")
    ranked = sorted(order.items(), key=lambda item: (item[1], item[0]))
    return [Cohort(value=value, label=value) for value, _ in ranked]
