"""Laboratory and vital-sign safety tables: shifts from baseline, toxicity grades, values outside the normal
range and liver signals (Hy's law), each with the drill-down that lists the patients behind a count.

Every table reads the same records (:func:`lab_records`): the safety population's records of a lab, vital-sign
or ECG dataset (``ADLB…``, ``ADVS``, ``ADEG``), each placed against its subject's baseline record
(``ABLFL = "Y"``). *Post-baseline* means every observed record (no ``DTYPE``, not at a derived visit such as
"End of Treatment") after the baseline record, by date (``ADT``) where both have one, else by visit number
(``AVISITN``), and, where the dataset has ``ONTRTFL``, flagged on treatment. ``ANL01FL`` is not used.

Normal-range indicators are read in either coding (``L``/``N``/``H`` or ``LOW``/``NORMAL``/``HIGH``) and
always written LOW/NORMAL/HIGH; where a record has no indicator it is worked out from ``AVAL`` and the normal
range (``ANRLO``/``ANRHI``, else ``A1LO``/``A1HI``). Signed toxicity grades (``ATOXGR``, baseline ``BTOXGR``)
are read per direction: −3 is grade 3 in the LOW direction, 3 grade 3 in the HIGH direction.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from trialviz.errors import AnalysisError
from trialviz.io.text import map_distinct
from trialviz.study import Study
from trialviz.tables.common import TOTAL, cohort_columns, patients_of, population, with_conventions
from trialviz.visits import DERIVED_NAME, DERIVED_VISITN, NAMED_DERIVED_VISITN, text_of

LAB_DATASETS = ("ADLB", "ADVS", "ADEG")
"""Prefixes of the datasets whose parameters are safety measurements (labs, vital signs, ECG)."""
INDICATORS = ("LOW", "NORMAL", "HIGH")
DIRECTIONS: tuple[Direction, ...] = ("LOW", "HIGH")
GRADES = tuple(f"Grade {g}" for g in range(5))
GRADE_3_OR_MORE = "Grade ≥ 3"
QUADRANTS = ("Normal", "Hyperbilirubinaemia", "Temple's corollary", "Potential Hy's law")
"""Quadrants of the Hy's law plot: transaminase < 3 × ULN or not, bilirubin < 2 × ULN or not."""
TRANSAMINASE_LIMIT = 3.0
BILIRUBIN_LIMIT = 2.0
ALT_CODES = ("ALT", "SGPT", "ALAT")
AST_CODES = ("AST", "SGOT", "ASAT")
BILIRUBIN_CODES = ("BILI", "TBILI", "BILITOT")
_INDICATOR_CODES = {"L": "LOW", "LOW": "LOW", "N": "NORMAL", "NORMAL": "NORMAL", "H": "HIGH", "HIGH": "HIGH"}
Direction = Literal["LOW", "HIGH"]


def is_lab_dataset(dataset: str) -> bool:
    """Whether a BDS dataset holds safety measurements: ``ADLB…`` (``ADLBC``, ``ADLBH``…), ``ADVS``, ``ADEG``."""
    return str(dataset).upper().startswith(LAB_DATASETS)


def lab_params(study: Study) -> list[str]:
    """The numeric parameters of the study's lab, vital-sign and ECG datasets, in the study's order."""
    return [e.paramcd for e in study.endpoints if is_lab_dataset(e.dataset) and e.kind == "numeric"]


def ranged_params(study: Study) -> list[str]:
    """The lab parameters with a normal-range limit (``ANRLO``/``ANRHI`` or ``A1LO``/``A1HI``) on at least one
    record: those the lab tables cover when no parameter is chosen. The CDISC pilot's ``_``-prefixed parameters
    (change from the previous visit) have indicators but no range, and are left out."""
    def compute() -> list[str]:
        records = _all_lab_records(study.subset_of or study)
        ranged = records.loc[records["low"].notna().to_numpy() | records["high"].notna().to_numpy(), "param"]
        present = set(ranged)
        return [p for p in lab_params(study) if p in present]

    return list(study.derived(("lab ranged params",), compute))


def graded_params(study: Study) -> list[str]:
    """The lab parameters with a toxicity grade (``ATOXGR``) on at least one record."""
    records = _all_lab_records(study.subset_of or study)
    present = set(records.loc[records["grade"].notna(), "param"])
    return [p for p in lab_params(study) if p in present]


# --- the records -------------------------------------------------------------------------------------------
def _column(data: pd.DataFrame, *names: str) -> pd.Series:
    """The first of ``names`` that the data has, as numbers, filled from the next ones where missing."""
    values = pd.Series(np.nan, index=data.index)
    for name in names:
        if name in data.columns:
            values = values.fillna(pd.to_numeric(data[name], errors="coerce"))
    return values


def _indicators(data: pd.DataFrame, column: str) -> pd.Series:
    """``ANRIND``/``BNRIND`` in either coding as LOW/NORMAL/HIGH (missing stays missing); an unknown code is an
    error naming the dataset, the column, the values and the first subjects."""
    if column not in data.columns:
        return pd.Series(pd.NA, index=data.index, dtype="object")
    text = pd.Series(map_distinct(data[column], lambda v: v.astype("string").str.strip().str.upper().fillna("")
                                  .to_numpy(dtype=object), ""), index=data.index, dtype=object)
    mapped = text.map(_INDICATOR_CODES)
    unknown = (text != "") & mapped.isna()
    if unknown.any():
        bad = data[unknown.to_numpy()]
        datasets = ", ".join(sorted(set(map(str, bad["DATASET"])))) if "DATASET" in bad.columns else "the lab data"
        raise AnalysisError(
            f"{datasets}, column {column}: {int(unknown.sum())} records have a normal-range indicator that is not "
            f"L/N/H or LOW/NORMAL/HIGH: {', '.join(sorted(set(text[unknown])))} (subjects "
            f"{', '.join(list(dict.fromkeys(map(str, bad['USUBJID'])))[:5])}). Recode them.")
    return mapped.where(text != "")


def _grades(data: pd.DataFrame, column: str) -> pd.Series:
    """Signed toxicity grades as numbers (−4 … 4); anything else is an error naming dataset, column and values."""
    if column not in data.columns:
        return pd.Series(np.nan, index=data.index)
    text = pd.Series(text_of(data[column]), index=data.index, dtype=object)
    grades = pd.to_numeric(text.where(text != ""), errors="coerce")
    bad = ((text != "") & grades.isna()) | grades.abs().gt(4) | (grades.notna() & (grades % 1 != 0))
    if bad.any():
        rows = data[bad.to_numpy()]
        datasets = ", ".join(sorted(set(map(str, rows["DATASET"])))) if "DATASET" in rows.columns else "the lab data"
        raise AnalysisError(
            f"{datasets}, column {column}: {int(bad.sum())} records have a toxicity grade that is not a whole "
            f"number from -4 to 4: {', '.join(sorted(set(text[bad])))} (subjects "
            f"{', '.join(list(dict.fromkeys(map(str, rows['USUBJID'])))[:5])}).")
    return grades


def _all_lab_records(study: Study) -> pd.DataFrame:
    """Every lab record of the study's subjects with its normal range, indicator, grade and whether it is the
    baseline, derived, on treatment: one frame per study object (a filtered study takes its subjects' rows)."""
    def compute() -> pd.DataFrame:
        whole = study.subset_of
        if whole is not None:
            return study.own_rows(_all_lab_records(whole))
        data = study.measurements
        if "DATASET" not in data.columns or not len(data):
            return _frame(data.iloc[:0])
        datasets = pd.Series(text_of(data["DATASET"]), index=data.index)
        return _frame(data[datasets.map(is_lab_dataset).to_numpy(dtype=bool)])

    return study.derived(("lab records",), compute)


def _frame(data: pd.DataFrame) -> pd.DataFrame:
    value = _column(data, "AVAL")
    low, high = _column(data, "ANRLO", "A1LO"), _column(data, "ANRHI", "A1HI")
    indicator = _indicators(data, "ANRIND")
    computed = pd.Series(np.where(value.lt(low), "LOW", np.where(value.gt(high), "HIGH", "NORMAL")),
                         index=data.index, dtype=object)
    computed = computed.where(value.notna() & (low.notna() | high.notna()))
    params = pd.Series(text_of(data["PARAMCD"]) if len(data) else [], index=data.index, dtype=object)
    visits = pd.Series(text_of(data["AVISIT"]) if "AVISIT" in data.columns and len(data) else "", index=data.index,
                       dtype=object)
    dtype = (pd.Series(text_of(data["DTYPE"]), index=data.index, dtype=object) if "DTYPE" in data.columns
             else pd.Series("", index=data.index, dtype=object))
    # a visit is derived (visits.classify_visits' rule) where its smallest AVISITN is >= 9997, or >= 99 with a name
    # such as "End of Treatment"; a record is derived too where it has a DTYPE
    first = pd.DataFrame({"param": params, "visit": visits, "visitn": _column(data, "AVISITN")}).groupby(
        ["param", "visit"], sort=False)["visitn"].transform("min")
    named = pd.Series(map_distinct(visits, lambda v: v.str.contains(DERIVED_NAME).to_numpy(dtype=bool), False),
                      index=data.index, dtype=bool)
    at_derived_visit = (visits != "") & ((first >= DERIVED_VISITN) | ((first >= NAMED_DERIVED_VISITN) & named))
    datasets = pd.Series(text_of(data["DATASET"]) if len(data) else [], index=data.index, dtype=object)
    on_treatment = pd.Series(True, index=data.index)
    if "ONTRTFL" in data.columns:
        flag = pd.Series(map_distinct(data["ONTRTFL"], lambda v: v.astype("string").str.strip().str.upper()
                                      .fillna("").to_numpy(dtype=object), ""), index=data.index, dtype=object)
        flagged_datasets = set(datasets[flag != ""])  # a dataset "has" the flag where any of its records carries it
        on_treatment = ~datasets.isin(flagged_datasets) | flag.eq("Y")
    return pd.DataFrame({
        "USUBJID": pd.Series(text_of(data["USUBJID"]) if len(data) else [], index=data.index, dtype=object),
        "dataset": datasets,
        "param": params,
        "timepoint": (pd.Series(text_of(data["ATPT"]), index=data.index, dtype=object) if "ATPT" in data.columns
                      else pd.Series("", index=data.index, dtype=object)),
        "visit": visits,
        "visitn": _column(data, "AVISITN"),
        "date": pd.to_datetime(data["ADT"], errors="coerce") if "ADT" in data.columns else pd.NaT,
        "day": _column(data, "ADY"),
        "value": value,
        "low": low,
        "high": high,
        "uln_ratio": _column(data, "R2A1HI"),
        "indicator": indicator.fillna(computed),
        "range_indicator": computed,
        "base_indicator": _indicators(data, "BNRIND"),
        "grade": _grades(data, "ATOXGR"),
        "base_grade": _grades(data, "BTOXGR"),
        "baseline": pd.Series(text_of(data["ABLFL"]), index=data.index).eq("Y")
        if "ABLFL" in data.columns else False,
        "derived": dtype.ne("") | at_derived_visit,
        "on_treatment": on_treatment,
    })


def lab_records(study: Study, *, param: str | None = None, timepoint: str | None = None) -> pd.DataFrame:
    """The lab records of the safety population, each placed against its subject's baseline.

    Parameters
    ----------
    study
        A (possibly filtered) study.
    param
        One ``PARAMCD`` of a lab, vital-sign or ECG dataset; every one by default.
    timepoint
        One ``ATPT`` text; every timepoint by default (each is its own baseline and table).

    Returns
    -------
    pandas.DataFrame
        One row per record: ``USUBJID``, ``cohort`` (actual treatment), ``dataset``, ``param``, ``timepoint``
        (``""`` where none), ``visit``, ``visitn``, ``date``, ``day``, ``value``, ``low``, ``high``,
        ``uln_ratio`` (``R2A1HI``), ``indicator`` (LOW/NORMAL/HIGH), ``grade`` (signed), ``baseline`` (the
        subject's baseline record), ``post_baseline`` (counted as after baseline), ``derived``,
        ``on_treatment``, and the subject's baseline ``base_indicator`` and ``base_grade`` (from ``BNRIND`` and
        ``BTOXGR`` where given, else from the baseline record).

    Raises
    ------
    AnalysisError
        An unknown or non-lab parameter, an unknown timepoint, or an indicator or grade that cannot be read.
    """
    if param is not None and param not in lab_params(study):
        known = ", ".join(lab_params(study)) or "none"
        raise AnalysisError(f"{param!r} is not a parameter of a lab, vital-sign or ECG dataset; those are: {known}.")
    if param is not None and timepoint is not None:
        from trialviz.tables.endpoints import check_timepoint

        check_timepoint(study, param, timepoint)
    placed = study.derived(("lab records placed",), lambda: _placed(study))
    keep = np.ones(len(placed), dtype=bool)
    if param is not None:
        keep &= (placed["param"] == param).to_numpy()
    if timepoint is not None:
        keep &= (placed["timepoint"] == timepoint).to_numpy()
    return placed[keep]


def _placed(study: Study) -> pd.DataFrame:
    whole = study.subset_of
    if whole is not None:  # a filtered view: a subject's records are placed as in the whole study (once for it)
        return study.own_rows(whole.derived(("lab records placed",), lambda: _placed(whole)))
    pop = population(study, "safety")
    cohorts = pop.subjects.assign(USUBJID=pop.subjects["USUBJID"].astype(str)).set_index("USUBJID")["cohort"]
    records = _all_lab_records(study)
    records = records[records["USUBJID"].isin(cohorts.index).to_numpy()]
    records = records.assign(cohort=records["USUBJID"].map(cohorts).astype(str))
    keys = ["USUBJID", "param", "timepoint"]
    # the baseline record of each subject, parameter and timepoint (the latest, where several are flagged)
    base = records[records["baseline"].to_numpy()].sort_values(["date", "visitn"], na_position="first", kind="stable")
    base = base.drop_duplicates(keys, keep="last")[[*keys, "date", "visitn", "indicator", "grade"]]
    base = base.rename(columns={"date": "_base_date", "visitn": "_base_visitn", "indicator": "_base_record_indicator",
                                "grade": "_base_record_grade"})
    placed = records.merge(base.assign(has_baseline=True), on=keys, how="left")
    placed["has_baseline"] = placed["has_baseline"].astype("boolean").fillna(False).astype(bool)
    by_date = placed["date"].notna() & placed["_base_date"].notna()
    after = np.where(by_date, placed["date"] > placed["_base_date"], placed["visitn"] > placed["_base_visitn"])
    placed["post_baseline"] = (after.astype(bool) & ~placed["baseline"] & ~placed["derived"] & placed["on_treatment"]
                               & placed["has_baseline"])
    placed["base_indicator"] = placed["base_indicator"].where(placed["base_indicator"].notna(),
                                                              placed["_base_record_indicator"])
    placed["base_grade"] = placed["base_grade"].fillna(placed["_base_record_grade"])
    return placed.drop(columns=[c for c in placed.columns if c.startswith("_")])


def directional_grade(grades: pd.Series, direction: Direction) -> pd.Series:
    """Signed grades as grades of one direction: −3 is 3 LOW and 0 HIGH; 2 is 2 HIGH and 0 LOW."""
    return (-grades).clip(lower=0) if direction == "LOW" else grades.clip(lower=0)


# --- the worst value of each subject -------------------------------------------------------------------------
_WORST_FIRST = {"LOW": ("LOW", "NORMAL", "HIGH"), "HIGH": ("HIGH", "NORMAL", "LOW")}
"""The indicators from worst to best in each direction (admiral's worst-low/worst-high ranking)."""


def worst_indicators(records: pd.DataFrame) -> pd.DataFrame:
    """Per subject, parameter, timepoint and direction: the baseline indicator and the worst post-baseline one.

    In the LOW direction the worst is LOW if any post-baseline indicator is LOW, else NORMAL if any is NORMAL,
    else HIGH; the HIGH direction mirrors it. Subjects without a post-baseline indicator are not listed;
    ``baseline`` is missing where the subject has no baseline indicator.
    """
    post = records[records["post_baseline"].to_numpy() & records["indicator"].notna().to_numpy()]
    keys = ["USUBJID", "cohort", "param", "timepoint"]
    parts = []
    for direction in DIRECTIONS:
        rank = {v: i for i, v in enumerate(_WORST_FIRST[direction])}
        ranked = post.assign(_rank=post["indicator"].map(rank))
        worst = ranked.groupby(keys, sort=False, observed=True)["_rank"].min()
        base = post.groupby(keys, sort=False, observed=True)["base_indicator"].first()
        parts.append(pd.DataFrame({"direction": direction, "baseline": base,
                                   "worst": worst.map(dict(enumerate(_WORST_FIRST[direction])))}).reset_index())
    columns = [*keys, "direction", "baseline", "worst"]
    # object columns even when empty (a filtered study without values): merged with the table's text cells
    return pd.concat(parts, ignore_index=True)[columns].astype({"baseline": object, "worst": object})


def worst_grades(records: pd.DataFrame) -> pd.DataFrame:
    """Per subject, parameter, timepoint and direction: baseline grade and worst post-baseline grade (0–4) of
    that direction, for subjects with a post-baseline grade."""
    post = records[records["post_baseline"].to_numpy() & records["grade"].notna().to_numpy()]
    keys = ["USUBJID", "cohort", "param", "timepoint"]
    parts = []
    for direction in DIRECTIONS:
        graded = post.assign(_worst=directional_grade(post["grade"], direction),
                             _base=directional_grade(post["base_grade"], direction))
        grouped = graded.groupby(keys, sort=False, observed=True)
        parts.append(pd.DataFrame({"direction": direction, "baseline": grouped["_base"].first(),
                                   "worst": grouped["_worst"].max()}).reset_index())
    columns = [*keys, "direction", "baseline", "worst"]
    return pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns)


def _grade_label(grades: pd.Series) -> pd.Series:
    return grades.map(lambda g: f"Grade {int(g)}" if pd.notna(g) else pd.NA).astype(object)


# --- counting ---------------------------------------------------------------------------------------------------
def _count(study: Study, subjects: pd.DataFrame, cells: pd.DataFrame, denominators: pd.DataFrame,
           total: bool) -> pd.DataFrame:
    """Patients per cell and cohort: ``cells`` lists every row of the table (its keys, ``row`` an id);
    ``subjects`` has one row per patient and row id counted there; ``denominators`` the patients per
    ``group`` id and cohort."""
    cohorts = cohort_columns(study, total=False)
    listed = [*cohorts, TOTAL] if total else cohorts
    counts = subjects.groupby(["row", "cohort"], observed=True)["USUBJID"].nunique()
    sizes = denominators.groupby(["group", "cohort"], observed=True)["USUBJID"].nunique()
    rows = []
    for cohort in listed:
        if cohort == TOTAL:
            n = subjects.groupby("row")["USUBJID"].nunique()
            d = denominators.groupby("group")["USUBJID"].nunique()
        else:
            n = counts.xs(cohort, level="cohort") if cohort in counts.index.get_level_values("cohort") else \
                pd.Series(dtype=int)
            d = sizes.xs(cohort, level="cohort") if cohort in sizes.index.get_level_values("cohort") else \
                pd.Series(dtype=int)
        rows.append(cells.assign(cohort=cohort, subjects=cells["row"].map(n).fillna(0).astype(np.int64),
                                 denominator=cells["group"].map(d).fillna(0).astype(np.int64)))
    table = pd.concat(rows, ignore_index=True) if rows else cells.assign(cohort="", subjects=0, denominator=0)
    table["percent"] = np.where(table["denominator"] > 0,
                                100 * table["subjects"] / table["denominator"].clip(lower=1), np.nan)
    return table


def _params(study: Study, param: str | None, timepoint: str | None) -> list[str]:
    if param is not None:
        lab_records(study, param=param, timepoint=timepoint)  # checks the parameter and timepoint
        return [param]
    if timepoint is not None:
        raise AnalysisError("--timepoint needs --param: timepoints belong to a parameter.")
    return ranged_params(study)


def _groups(records: pd.DataFrame, params: list[str]) -> list[tuple[str, str]]:
    """The (parameter, timepoint) pairs of the records, parameters in study order, timepoints by ``ATPTN``."""
    present = records[["param", "timepoint"]].drop_duplicates()
    order = {p: i for i, p in enumerate(params)}
    present = present[present["param"].isin(order)]
    return sorted(((str(p), str(t)) for p, t in present.itertuples(index=False)),
                  key=lambda pt: (order[pt[0]], pt[1] != "", pt[1]))


def _records_notes(study: Study, records: pd.DataFrame, params: list[str]) -> list[str]:
    pop = population(study, "safety")
    chosen = records[records["param"].isin(params).to_numpy()]
    with_post = chosen.loc[chosen["post_baseline"].to_numpy(), ["USUBJID", "param"]].drop_duplicates()
    everyone = chosen[["USUBJID", "param"]].drop_duplicates()
    missing = len(everyone) - len(with_post)
    no_baseline = everyone.merge(chosen.loc[chosen["has_baseline"].to_numpy(), ["USUBJID", "param"]].drop_duplicates(),
                                 how="left", indicator=True)
    without_baseline = int((no_baseline["_merge"] == "left_only").sum())
    flagged = bool((~chosen["on_treatment"]).any())
    notes = [
        pop.note,
        "Post-baseline: every observed record (no DTYPE, not at a derived visit such as End of Treatment) after the "
        "subject's baseline record (ABLFL = \"Y\"), by date (ADT), else by visit number (AVISITN)"
        + ("; records with ONTRTFL not \"Y\" are left out" if flagged or "ONTRTFL" in study.measurements.columns
           else "") + ". ANL01FL is not used.",
        f"{missing} of {len(everyone)} patient-parameter pairs have no post-baseline value"
        + (f" ({without_baseline} of them no baseline record)" if without_baseline else "") + ".",
    ]
    present = set(records["param"])
    given = chosen["indicator"].notna() & chosen["range_indicator"].notna()
    disagree = int((given & (chosen["indicator"] != chosen["range_indicator"])).sum())
    if disagree:
        notes.append(f"{disagree} of {int(given.sum())} records have a normal-range indicator (ANRIND) that disagrees "
                     "with AVAL against the range given (ANRLO/ANRHI or A1LO/A1HI); the indicator is used.")
    left_out = [p for p in lab_params(study) if p not in params and p in present]
    if left_out and len(params) > 1:
        notes.append(f"Parameters without a normal range are left out: {', '.join(left_out)}.")
    return notes


def lab_shift(study: Study, *, param: str | None = None, timepoint: str | None = None,
              total: bool = True) -> pd.DataFrame:
    """Shift from baseline: baseline normal-range indicator against the worst post-baseline one, per direction;
    the same by toxicity grade where the parameter has grades.

    Parameters
    ----------
    study
        A (possibly filtered) study.
    param
        One lab ``PARAMCD``; by default every parameter with a normal range.
    timepoint
        One ``ATPT`` of ``param``; every timepoint by default (each a table of its own).
    total
        Add a ``Total`` cohort.

    Returns
    -------
    pandas.DataFrame
        One row per parameter, timepoint, direction (LOW, HIGH), scale (``"indicator"`` or ``"grade"``),
        baseline and worst category (LOW/NORMAL/HIGH, or Grade 0–4), and cohort: ``subjects`` (patients with that
        baseline and worst), ``denominator`` (patients of the cohort with both a baseline and a post-baseline
        value), ``percent``; ``label`` ("NORMAL → HIGH") and ``heading`` for the report.

    Examples
    --------
    >>> import trialviz
    >>> table = trialviz.lab_shift(trialviz.load_study(), param="ALT")
    >>> sorted(set(table["worst"]))[:3]
    ['Grade 0', 'Grade 1', 'Grade 2']
    """
    params = _params(study, param, timepoint)
    records = lab_records(study, param=param, timepoint=timepoint)
    worst = worst_indicators(records)
    worst = worst[worst["baseline"].notna().to_numpy()]
    graded = worst_grades(records)
    graded = graded[graded["baseline"].notna().to_numpy()].assign(baseline=lambda f: _grade_label(f["baseline"]),
                                                                   worst=lambda f: _grade_label(f["worst"]))
    cells: list[tuple[str, str, Direction, str, str, str, int, int]] = []
    counted = []
    # a grade shift per direction the parameter is graded in (haemoglobin: low only; ALT: high only)
    graded_directions = set(map(tuple, graded.loc[(graded["baseline"] != "Grade 0") | (graded["worst"] != "Grade 0"),
                                                  ["param", "direction"]].to_numpy()))
    graded_set = set(graded["param"])
    for group, (p, t) in enumerate(_groups(records, params)):
        scales = [("indicator", INDICATORS)] + ([("grade", GRADES)] if p in graded_set else [])
        for scale, categories in scales:
            for direction in DIRECTIONS:
                if scale == "grade" and (p, direction) not in graded_directions:
                    continue
                for b in categories:
                    for w in categories:
                        cells.append((p, t, direction, scale, b, w, len(cells), group))
    cell_frame = pd.DataFrame(cells, columns=["param", "timepoint", "direction", "scale", "baseline", "worst", "row",
                                              "group"])
    keys = ["param", "timepoint", "direction", "scale", "baseline", "worst"]
    for scale, subjects in (("indicator", worst), ("grade", graded)):
        counted.append(subjects.assign(scale=scale).merge(cell_frame, on=keys))
    subjects = pd.concat(counted, ignore_index=True)
    denominators = worst.merge(cell_frame[["param", "timepoint", "group"]].drop_duplicates(), on=["param", "timepoint"])
    table = _count(study, subjects, cell_frame, denominators, total)
    table["label"] = table["baseline"] + " → " + table["worst"]
    table["heading"] = _heading(study, table) + np.where(table["scale"] == "grade", ", toxicity grade", "")
    columns = ["param", "timepoint", "direction", "scale", "baseline", "worst", "label", "heading", "cohort",
               "subjects", "denominator", "percent"]
    no_base = worst_indicators(records)
    missing_base = int(no_base.loc[no_base["direction"] == "LOW", "baseline"].isna().sum())
    return with_conventions(
        table[columns].reset_index(drop=True),
        *_records_notes(study, records, params),
        "Rows: baseline indicator (BNRIND, else ANRIND of the baseline record) → worst post-baseline indicator "
        "(ANRIND, else AVAL against the normal range) in each direction: in the LOW direction LOW if any value was "
        "LOW, else NORMAL if any was NORMAL, else HIGH (HIGH mirrors it). Percent of the patients of the cohort "
        f"with both a baseline and a post-baseline indicator; {missing_base} patient-parameter pairs with a "
        "post-baseline value but no baseline indicator are not in the table.",
        "Toxicity grades (where the parameter has them): baseline BTOXGR → worst post-baseline ATOXGR per direction, "
        "for the directions with a grade above 0; negative grades are the LOW direction (−3 is grade 3 low)."
        if len(graded) else "",
    )


def _heading(study: Study, table: pd.DataFrame) -> pd.Series:
    names = {e.paramcd: e.label for e in study.endpoints}
    return (table["param"].map(lambda p: names.get(p, p)) + np.where(table["timepoint"] != "", ", " +
            table["timepoint"].str.lower(), "") + ", " + table["direction"].str.lower() + " direction")


def lab_shift_patients(study: Study, *, param: str, timepoint: str, direction: str, scale: str, baseline: str,
                       worst: str, cohort: str | None = None) -> list[str]:
    """The patients counted in one cell of :func:`lab_shift` (``cohort`` ``None`` or ``Total``: every cohort)."""
    subjects = _worst_of(study, param, timepoint, "grade label" if scale == "grade" else "indicator")
    chosen = (subjects["direction"] == direction) & (subjects["baseline"] == baseline) & (subjects["worst"] == worst)
    return patients_of(subjects, chosen.fillna(False), cohort)


def _worst_of(study: Study, param: str, timepoint: str, scale: Literal["grade", "grade label", "indicator"]
              ) -> pd.DataFrame:
    """:func:`worst_grades` (``grade label``: with its grades as the table's row labels) or
    :func:`worst_indicators` of one parameter at one timepoint, computed once per study object: the cells of one
    table are drilled into one after another."""
    def compute() -> pd.DataFrame:
        if scale == "grade label":
            return _worst_of(study, param, timepoint, "grade").assign(
                baseline=lambda f: _grade_label(f["baseline"]), worst=lambda f: _grade_label(f["worst"]))
        records = lab_records(study, param=param)
        at_timepoint = records[(records["timepoint"] == timepoint).to_numpy()]
        return worst_grades(at_timepoint) if scale == "grade" else worst_indicators(at_timepoint)

    return study.derived(("lab worst", param, timepoint, scale), compute)


def lab_grade(study: Study, *, param: str | None = None, timepoint: str | None = None,
              total: bool = True) -> pd.DataFrame:
    """Patients by worst post-baseline toxicity grade, per parameter and direction.

    Parameters
    ----------
    study
        A (possibly filtered) study.
    param
        One lab ``PARAMCD``; by default every parameter with grades (``ATOXGR``).
    timepoint
        One ``ATPT`` of ``param``; every timepoint by default.
    total
        Add a ``Total`` cohort.

    Returns
    -------
    pandas.DataFrame
        One row per parameter, timepoint, direction, worst grade (Grade 0 … Grade 4, then Grade ≥ 3) and cohort:
        ``subjects``, ``denominator`` (patients of the cohort with a post-baseline grade), ``percent``; ``baseline``
        is ``"Any"``. Empty, with a note saying so, for a study without lab grades.
    """
    if param is None and timepoint is not None:
        raise AnalysisError("--timepoint needs --param: timepoints belong to a parameter.")
    params = [param] if param is not None else graded_params(study)
    records = lab_records(study, param=param, timepoint=timepoint)
    graded = worst_grades(records[records["param"].isin(params).to_numpy()])
    columns = ["param", "timepoint", "direction", "baseline", "worst", "label", "heading", "cohort", "subjects",
               "denominator", "percent"]
    if not len(records.loc[records["grade"].notna().to_numpy()]):
        what = f"{param} has" if param is not None else "This study's lab, vital-sign and ECG data have"
        return with_conventions(pd.DataFrame(columns=columns), f"{what} no toxicity grades (ATOXGR).")
    cells: list[tuple[str, str, Direction, str, str, int, int]] = []
    groups = _groups(records[records["grade"].notna().to_numpy()], params)
    for group, (p, t) in enumerate(groups):
        for direction in DIRECTIONS:
            for worst in (*GRADES, GRADE_3_OR_MORE):
                cells.append((p, t, direction, "Any", worst, len(cells), group))
    cell_frame = pd.DataFrame(cells, columns=["param", "timepoint", "direction", "baseline", "worst", "row", "group"])
    labelled = pd.concat([graded.assign(worst=_grade_label(graded["worst"])),
                          graded[graded["worst"] >= 3].assign(worst=GRADE_3_OR_MORE)], ignore_index=True)
    subjects = labelled.drop(columns="baseline").merge(cell_frame, on=["param", "timepoint", "direction", "worst"])
    denominators = graded.merge(cell_frame[["param", "timepoint", "group"]].drop_duplicates(),
                                on=["param", "timepoint"])
    table = _count(study, subjects, cell_frame, denominators, total)
    table["label"] = table["worst"]
    table["heading"] = _heading(study, table)
    return with_conventions(
        table[columns].reset_index(drop=True), *_records_notes(study, records, params),
        "Worst post-baseline toxicity grade (ATOXGR) per direction: negative grades are the LOW direction (−3 is "
        "grade 3 low), positive ones the HIGH direction; a patient whose grades are all of the other direction is "
        "grade 0 in this one. Percent of the patients of the cohort with a post-baseline grade.")


def lab_grade_patients(study: Study, *, param: str, timepoint: str, direction: str, worst: str,
                       cohort: str | None = None) -> list[str]:
    """The patients counted in one cell of :func:`lab_grade`."""
    graded = _worst_of(study, param, timepoint, "grade")
    graded = graded[(graded["direction"] == direction).to_numpy()]
    chosen = graded["worst"] >= 3 if worst == GRADE_3_OR_MORE else _grade_label(graded["worst"]) == worst
    return patients_of(graded, chosen.fillna(False), cohort)


def lab_abnormal(study: Study, *, param: str | None = None, timepoint: str | None = None,
                 total: bool = True) -> pd.DataFrame:
    """Patients with at least one post-baseline value below (LOW) or above (HIGH) the normal range, among the
    patients normal at baseline and among all patients with a post-baseline value.

    Parameters
    ----------
    study
        A (possibly filtered) study.
    param
        One lab ``PARAMCD``; by default every parameter with a normal range.
    timepoint
        One ``ATPT`` of ``param``; every timepoint by default.
    total
        Add a ``Total`` cohort.

    Returns
    -------
    pandas.DataFrame
        One row per parameter, timepoint, direction, ``baseline`` (``"NORMAL"``: patients normal at baseline;
        ``"Any"``: every patient) and cohort: ``worst`` is the direction, ``subjects``, ``denominator`` (patients
        of that baseline with a post-baseline indicator), ``percent``.
    """
    params = _params(study, param, timepoint)
    records = lab_records(study, param=param, timepoint=timepoint)
    worst = worst_indicators(records)
    cells: list[tuple[str, str, Direction, str, Direction, int, tuple[int, Direction, str]]] = []
    for group, (p, t) in enumerate(_groups(records, params)):
        for direction in DIRECTIONS:
            for baseline in ("NORMAL", "Any"):
                cells.append((p, t, direction, baseline, direction, len(cells), (group, direction, baseline)))
    cell_frame = pd.DataFrame(cells, columns=["param", "timepoint", "direction", "baseline", "worst", "row", "group"])
    among = pd.concat([worst[(worst["baseline"] == "NORMAL").fillna(False).to_numpy()].assign(baseline="NORMAL"),
                       worst.assign(baseline="Any")], ignore_index=True)
    among = among.merge(cell_frame.drop(columns="worst"), on=["param", "timepoint", "direction", "baseline"])
    subjects = among[(among["worst"] == among["direction"]).to_numpy()]
    table = _count(study, subjects, cell_frame, among, total)
    table["label"] = np.where(table["direction"] == "LOW", "Below", "Above") + " the normal range" + \
        np.where(table["baseline"] == "NORMAL", ", normal at baseline", ", all patients")
    table["heading"] = _heading(study, table.assign(direction="either")).str.replace(", either direction", "")
    columns = ["param", "timepoint", "direction", "baseline", "worst", "label", "heading", "cohort", "subjects",
               "denominator", "percent"]
    return with_conventions(
        table[columns].reset_index(drop=True), *_records_notes(study, records, params),
        "Patients with at least one post-baseline value below (LOW) or above (HIGH) the normal range (ANRIND, else "
        "AVAL against ANRLO/ANRHI or A1LO/A1HI), among the patients normal at baseline and among all patients, each "
        "with a post-baseline value.")


def lab_abnormal_patients(study: Study, *, param: str, timepoint: str, direction: str, baseline: str,
                          cohort: str | None = None) -> list[str]:
    """The patients counted in one cell of :func:`lab_abnormal`."""
    worst = _worst_of(study, param, timepoint, "indicator")
    chosen = (worst["direction"] == direction) & (worst["worst"] == direction)
    if baseline == "NORMAL":
        chosen &= worst["baseline"] == "NORMAL"
    return patients_of(worst, chosen.fillna(False), cohort)


# --- liver signals ----------------------------------------------------------------------------------------------
def liver_params(study: Study) -> dict[str, str]:
    """The study's ALT, AST and total bilirubin parameters by role (``"ALT"``, ``"AST"``, ``"BILI"``)."""
    params = set(lab_params(study))
    found = {}
    for role, codes in (("ALT", ALT_CODES), ("AST", AST_CODES), ("BILI", BILIRUBIN_CODES)):
        code = next((c for c in codes if c in params), None)
        if code is not None:
            found[role] = code
    return found


def hys_law_points(study: Study) -> pd.DataFrame:
    """One row per patient: peak post-baseline ALT, AST and total bilirubin as multiples of the upper limit of
    normal, and the Hy's law quadrant.

    ×ULN is ``R2A1HI`` where the data give the ratio, else ``AVAL`` / ``ANRHI`` (or ``A1HI``). Peaks are taken
    separately (not necessarily on one day), over the post-baseline records of :func:`lab_records`.

    Returns
    -------
    pandas.DataFrame
        ``USUBJID``, ``cohort``, ``alt``, ``ast``, ``transaminase`` (the larger of the two), ``bilirubin``,
        ``alt_day``, ``ast_day``, ``bilirubin_day`` (study day of each peak), ``quadrant`` (missing for a patient
        without both a transaminase and a bilirubin peak).

    Raises
    ------
    AnalysisError
        The study has no ALT or AST, or no total bilirubin, among its lab parameters.
    """
    liver = liver_params(study)
    if "BILI" not in liver or not {"ALT", "AST"} & set(liver):
        raise AnalysisError("Hy's law needs ALT or AST and total bilirubin (PARAMCD ALT/SGPT, AST/SGOT, BILI/TBILI) "
                            f"in a lab dataset; this study has: {', '.join(liver.values()) or 'none of them'}.")

    def compute() -> pd.DataFrame:
        whole = study.subset_of
        if whole is not None:  # a filtered view: its patients' points of the whole study's
            return study.own_rows(hys_law_points(whole))
        pop = population(study, "safety")
        points = pd.DataFrame({"USUBJID": pop.subjects["USUBJID"].astype(str).to_numpy(),
                               "cohort": pop.subjects["cohort"].to_numpy()})
        for role in ("ALT", "AST", "BILI"):
            column = "bilirubin" if role == "BILI" else role.lower()
            if role not in liver:
                points[column], points[f"{column}_day"] = np.nan, np.nan
                continue
            records = lab_records(study, param=liver[role])
            ratio = records["uln_ratio"].fillna(records["value"] / records["high"].where(records["high"] > 0))
            post = records.assign(ratio=ratio)[records["post_baseline"].to_numpy() & ratio.notna().to_numpy()]
            peaks = post.sort_values(["ratio", "day"], ascending=[False, True], kind="stable")
            peaks = peaks.drop_duplicates("USUBJID")
            points = points.merge(peaks[["USUBJID", "ratio", "day"]].rename(
                columns={"ratio": column, "day": f"{column}_day"}), on="USUBJID", how="left")
        points["transaminase"] = points[["alt", "ast"]].max(axis=1, skipna=True)
        points["quadrant"] = quadrant_of(points["transaminase"], points["bilirubin"])
        return points[["USUBJID", "cohort", "alt", "ast", "transaminase", "bilirubin", "alt_day", "ast_day",
                       "bilirubin_day", "quadrant"]]

    return study.derived(("hys law points",), compute).copy()


def quadrant_of(transaminase: pd.Series, bilirubin: pd.Series) -> pd.Series:
    """The Hy's law quadrant of peak transaminase and bilirubin (× ULN); missing where either is."""
    high_t = transaminase >= TRANSAMINASE_LIMIT
    high_b = bilirubin >= BILIRUBIN_LIMIT
    names = np.select([high_t & high_b, high_t, high_b], [QUADRANTS[3], QUADRANTS[2], QUADRANTS[1]], QUADRANTS[0])
    return pd.Series(names, index=transaminase.index, dtype=object).where(transaminase.notna() & bilirubin.notna())


def hys_law(study: Study, *, total: bool = True) -> pd.DataFrame:
    """Hy's law quadrant counts by cohort: peak ALT or AST ≥ 3 × ULN against peak total bilirubin ≥ 2 × ULN.

    Parameters
    ----------
    study
        A (possibly filtered) study.
    total
        Add a ``Total`` cohort.

    Returns
    -------
    pandas.DataFrame
        One row per quadrant (Normal, Hyperbilirubinaemia, Temple's corollary, Potential Hy's law) and cohort:
        ``subjects``, ``denominator`` (patients of the cohort with post-baseline transaminase and bilirubin),
        ``percent``, ``label``.
    """
    try:
        points = hys_law_points(study)
    except AnalysisError as missing:  # a study without liver tests says so in one line, as lab_grade does
        return with_conventions(pd.DataFrame(columns=["quadrant", "label", "cohort", "subjects", "denominator",
                                                      "percent"]), str(missing))
    placed = points[points["quadrant"].notna().to_numpy()]
    cells = pd.DataFrame({"quadrant": QUADRANTS, "row": range(len(QUADRANTS)), "group": 0})
    subjects = placed.merge(cells, on="quadrant")
    table = _count(study, subjects, cells, placed.assign(group=0), total)
    table["label"] = table["quadrant"]
    liver = liver_params(study)
    unplaced = int(points["quadrant"].isna().sum())
    records = lab_records(study)
    records = records[records["param"].isin(liver.values()).to_numpy()]
    pop = population(study, "safety")
    return with_conventions(
        table[["quadrant", "label", "cohort", "subjects", "denominator", "percent"]].reset_index(drop=True),
        pop.note,
        f"Peak post-baseline {' or '.join(liver[r] for r in ('ALT', 'AST') if r in liver)} (the larger, × ULN) "
        f"against peak post-baseline {liver['BILI']} (× ULN), each over every observed record after the baseline "
        "(ANL01FL not used); × ULN is R2A1HI where given, else AVAL / ANRHI (or A1HI). Potential Hy's law: "
        "transaminase ≥ 3 × ULN and bilirubin ≥ 2 × ULN; Temple's corollary: transaminase ≥ 3 × ULN only; "
        "Hyperbilirubinaemia: bilirubin ≥ 2 × ULN only.",
        f"Percent of the patients of the cohort with both peaks; {unplaced} of {len(points)} patients have no "
        "post-baseline transaminase or bilirubin value and are not counted.",
    )


def hys_law_patients(study: Study, *, quadrant: str, cohort: str | None = None) -> list[str]:
    """The patients counted in one quadrant of :func:`hys_law`."""
    points = hys_law_points(study)
    return patients_of(points, (points["quadrant"] == quadrant).fillna(False), cohort)


def hys_law_cases(study: Study) -> pd.DataFrame:
    """The potential Hy's law cases (peak ALT or AST ≥ 3 × ULN and peak bilirubin ≥ 2 × ULN), one row each.

    Returns
    -------
    pandas.DataFrame
        ``USUBJID``, ``cohort``, ``alt``, ``ast``, ``bilirubin`` (peaks × ULN) and the study day of each peak,
        highest bilirubin first.
    """
    points = hys_law_points(study)
    cases = points[(points["quadrant"] == QUADRANTS[3]).fillna(False).to_numpy()]
    cases = cases.sort_values(["bilirubin", "transaminase"], ascending=False, kind="stable")
    columns = ["USUBJID", "cohort", "alt", "ast", "bilirubin", "alt_day", "ast_day", "bilirubin_day"]
    return with_conventions(cases[columns].reset_index(drop=True),
                            f"{len(cases)} potential Hy's law cases: peak ALT or AST ≥ 3 × ULN and peak total "
                            "bilirubin ≥ 2 × ULN after baseline (peaks not necessarily on one day).")


def lab_summary(study: Study, param: str, *, measures: tuple[str, ...] = ("value", "change"),
                timepoint: str | None = None, total: bool = True) -> pd.DataFrame:
    """Summary statistics of a lab parameter by cohort, visit and timepoint, in the safety population.

    As :func:`trialviz.endpoint_summary`, but over the safety population by actual treatment and every record at
    a scheduled or derived visit: ``ANL01FL`` is not used (the CDISC pilot flags only a few lab records).
    Change is ``CHG`` where given, else the value minus the subject's baseline value (``ABLFL = "Y"``).

    Raises
    ------
    AnalysisError
        An unknown or non-lab parameter or timepoint, or a subject with two records in one cell.
    """
    from trialviz.io.text import as_str, text_eq
    from trialviz.tables.endpoints import check_timepoint, summarise_records
    from trialviz.visits import cell_dtypes, duplicated_cells, has_visit, is_unscheduled

    if param not in lab_params(study):
        raise AnalysisError(f"{param!r} is not a parameter of a lab, vital-sign or ECG dataset.")
    chosen = check_timepoint(study, param, timepoint)
    pop = population(study, "safety")
    data = study.measurements
    rows = data[text_eq(data["PARAMCD"], param).to_numpy()]
    with_visit = has_visit(rows)
    unscheduled = with_visit & is_unscheduled(rows)
    cohorts = pop.subjects.set_index("USUBJID")["cohort"]
    rows = rows[with_visit & ~unscheduled]
    rows = rows[rows["USUBJID"].isin(cohorts.index).to_numpy()]
    kinds = study.visit_kinds(param).set_index("visit")["kind"]
    visit = text_of(rows["AVISIT"])
    point = text_of(rows["ATPT"]) if "ATPT" in rows.columns else np.full(len(rows), "", dtype=object)
    value = pd.to_numeric(rows["AVAL"], errors="coerce")
    baseline = pd.Series(text_of(rows["ABLFL"]) == "Y", index=rows.index) if "ABLFL" in rows.columns else \
        pd.Series(False, index=rows.index)
    key = pd.Series(list(zip(as_str(rows["USUBJID"]), point, strict=True)), index=rows.index)
    base_value = dict(zip(key[baseline], value[baseline], strict=True))
    change = (pd.to_numeric(rows["CHG"], errors="coerce") if "CHG" in rows.columns
              else pd.Series(np.nan, index=rows.index))
    computed = value - key.map(base_value).astype(float)
    change = change.fillna(computed.where(~baseline))
    dtype = cell_dtypes(rows)
    twice = duplicated_cells(rows, dtype)
    if twice.any():
        raise AnalysisError(f"{param}: {int(twice.sum())} records leave a subject with more than one value at a visit "
                            "(USUBJID / PARAMCD / AVISIT / ATPT / DTYPE); mark derived records with DTYPE.")
    rows = rows.assign(cohort=as_str(rows["USUBJID"].map(cohorts)), AVISIT=visit, ATPT=point, CHG=change.to_numpy(),
                       ATPTN=pd.to_numeric(rows["ATPTN"], errors="coerce") if "ATPTN" in rows.columns else np.nan,
                       dtype=dtype, visit_kind=pd.Series(visit, dtype=object).map(kinds).to_numpy())
    if chosen is not None:
        rows = rows[(rows["ATPT"] == chosen).to_numpy()]
    rows.attrs["population_note"] = pop.note
    rows.attrs["record_note"] = ("Every record at a scheduled or derived visit (ANL01FL not used), one per patient, "
                                 "visit and timepoint.")
    rows.attrs["visit_note"] = (f"{int(unscheduled.sum())} records at unscheduled visits and "
                                f"{int((~with_visit).sum())} without a visit are not in this summary."
                                if unscheduled.any() or (~with_visit).any() else "")
    return summarise_records(study, param, rows, measures=measures, total=total)  # type: ignore[arg-type]
