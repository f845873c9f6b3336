"""A corpus of broken variants of the real CDISC pilot files, each with its exact problem report.

Every variant copies the pilot files it needs into a temporary folder, breaks them the way real files
break (a column dropped, a subject duplicated, text in AVAL, a truncated or mis-encoded file, …), then
checks the report three ways, as a user meets it: ``trialviz.load_study`` (the exact problems, with file,
column, record numbers, values and count), ``trialviz validate`` (exit code and text) and
``trialviz validate --format json``.
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

import trialviz
from trialviz.cli import main
from trialviz.errors import Problem, ValidationError

ADD_COLUMN = "Add it, or map the file's own column to it under [columns] in the study file."
ORPHAN = ("These records belong to subjects that are not in ADSL, so they could not be counted. Add the subjects "
          "to ADSL or remove the records.")
NOT_NUMERIC = ("{} must be numeric: these values are not numbers. Correct them in the source data (a missing value "
               "must be blank).")
FLAG = "{} is a flag and may only be \"Y\", \"N\" or blank (upper case). Correct these values at the source."
CHG = ("CHG differs from AVAL − BASE on these records, so the change from baseline is ambiguous. Re-derive "
       "CHG = AVAL − BASE.")
DUPLICATE = ("Duplicated analysis records: the same subject, parameter, visit (and timepoint and derivation type "
             "where present) occur more than once among the records flagged for analysis (ANL01FL = \"Y\", "
             "non-blank AVISIT) or baseline (ABLFL = \"Y\") at a visit that is not unscheduled, so a summary would "
             "have to pick one or average them. A derived record (DTYPE) beside an observed one is its own value; "
             "flag only one of the others with ANL01FL.")


def error(dataset: str, file: str, column: str, message: str, rows: tuple[int, ...] = (), count: int | None = None,
          values: tuple[str, ...] = ()) -> Problem:
    return Problem("error", dataset, file, column, message, rows, len(rows) if count is None else count, values)


def warning(*args, **kwargs) -> Problem:
    return Problem(**{**error(*args, **kwargs).__dict__, "severity": "warning"})


# --- building variants ------------------------------------------------------------------------------------------
def edit_xpt(path: Path, edit: Callable[[pd.DataFrame], pd.DataFrame | None], version: int = 5) -> None:
    """Rewrite a transport file through pyreadstat, as SAS or R would write the edited dataset."""
    frame, meta = pyreadstat.read_xport(path)
    frame = _apply(edit, frame)
    formats = {c: f for c, f in meta.original_variable_types.items() if f and f.startswith("DATE") and c in frame}
    pyreadstat.write_xport(frame, path, table_name=path.stem.upper(), file_format_version=version,
                           variable_format=formats)


def _apply(edit: Callable[[pd.DataFrame], pd.DataFrame | None], frame: pd.DataFrame) -> pd.DataFrame:
    """An edit changes the frame in place (returning None) or returns a new one."""
    result = edit(frame)
    return frame if result is None else result


def edit_csv(path: Path, edit: Callable[[pd.DataFrame], pd.DataFrame | None], encoding: str = "utf-8") -> None:
    """Rewrite a CSV (or .csv.gz) with every value as text, exactly as read but for the edit."""
    frame = _apply(edit, pd.read_csv(path, dtype=str, keep_default_na=False))
    data = frame.to_csv(index=False).encode(encoding)
    path.write_bytes(gzip.compress(data, mtime=0) if path.name.endswith(".gz") else data)


def cut(path: Path, size: int) -> None:
    path.write_bytes(path.read_bytes()[:size])


def first(frame: pd.DataFrame, mask: pd.Series) -> int:
    return int(frame.index[mask][0])


@dataclass
class Variant:
    name: str
    files: tuple[str, ...]
    """Pilot files the variant needs besides adsl.xpt."""
    breaks: Callable[[Path], None]
    expected: list[Problem]
    study_toml: str = ""

    @property
    def exit_code(self) -> int:
        return 1 if any(p.severity == "error" for p in self.expected) else 0


def _set(column: str, row: int, value: str) -> Callable[[pd.DataFrame], None]:
    def edit(frame: pd.DataFrame) -> None:
        frame.loc[row, column] = value
    return edit


def _duplicate(row: int) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda frame: pd.concat([frame, frame.loc[[row]]], ignore_index=True)


def _grades(frame: pd.DataFrame) -> None:
    frame["AETOXGR"] = frame["AESEV"].map({"MILD": "1", "MODERATE": "2", "SEVERE": "3"})
    frame.loc[5, "AETOXGR"] = "7"
    frame.loc[8, "AETOXGR"] = "GRADE 3"


def _analysis_duplicate(frame: pd.DataFrame) -> pd.DataFrame:
    row = first(frame, (frame["ANL01FL"] == "Y") & (frame["DTYPE"] == "") & (frame["AVISIT"] == "Week 8"))
    return pd.concat([frame, frame.loc[[row]]], ignore_index=True)


def _wrong_change(frame: pd.DataFrame) -> None:
    frame.loc[first(frame, frame["CHG"] != ""), "CHG"] = "99"


def _total_above_range(frame: pd.DataFrame) -> None:
    row = first(frame, (frame["PARAMCD"] == "ACTOT") & (frame["CHG"] != ""))
    frame.loc[row, "AVAL"] = "75"
    frame.loc[row, "CHG"] = str(75 - float(frame.loc[row, "BASE"]))


def _latin1_xpt(path: Path) -> None:
    edit_xpt(path, _set("AETERM", 9, "ÉRYTHÈME"))
    data = path.read_bytes()
    assert data.count("ÉRYTHÈME".encode()) == 1
    path.write_bytes(data.replace("ÉRYTHÈME".encode(), "ÉRYTHÈME".encode("latin-1") + b"  "))


def _several(folder: Path) -> None:
    edit_xpt(folder / "adsl.xpt", _set("EFFFL", 3, "YES"))
    edit_xpt(folder / "adae.xpt", lambda f: f.drop(columns=["AEBODSYS"]).assign(
        USUBJID=lambda f: f["USUBJID"].mask(f.index == 6, "01-000-0000")))

    def adas(frame: pd.DataFrame) -> pd.DataFrame:
        frame = _analysis_duplicate(frame)
        frame.loc[4, "AVAL"] = "n/a"
        frame.loc[1, "CHG"] = "99"
        return frame.drop(columns=["AVISITN"])
    edit_csv(folder / "adqsadas.csv", adas)
    (folder / "adtte.xpt").write_bytes(b"")


ACTOT_RANGE = '[[endpoints]]\nparamcd = "ACTOT"\nname = "ADAS-Cog (11)"\nrange = [0, 70]\nbetter = "lower"\n'
TWO_COHORTS = '[[cohorts]]\nvalue = "Placebo"\n\n[[cohorts]]\nvalue = "Xanomeline Low Dose"\n'
NOT_COHORT = ("{} holds values that are not among the study file's cohorts (Placebo, Xanomeline Low Dose); these "
              "subjects would be left out of every cohort. Add the cohort to [[cohorts]] in the study file.")

VARIANTS = [
    Variant("xpt column dropped", ("adae.xpt",),
            lambda d: edit_xpt(d / "adae.xpt", lambda f: f.drop(columns=["AEDECOD"])),
            [error("ADAE", "adae.xpt", "AEDECOD", f"Required column AEDECOD is missing from ADAE. {ADD_COLUMN}")]),
    Variant("subject duplicated in ADSL", (), lambda d: edit_xpt(d / "adsl.xpt", _duplicate(0)),
            [error("ADSL", "adsl.xpt", "USUBJID", "USUBJID must identify each subject once, but these values occur "
                   "more than once.", (1, 255), values=("01-701-1015", "01-701-1015"))]),
    Variant("subject identifier blank in ADSL, its events orphaned", ("adae.xpt",),
            lambda d: edit_xpt(d / "adsl.xpt", _set("USUBJID", 0, "")),
            [error("ADSL", "adsl.xpt", "USUBJID", "USUBJID is missing (blank) on these records; every record needs "
                   "a USUBJID.", (1,), values=("",)),
             error("ADAE", "adae.xpt", "USUBJID", ORPHAN, (1, 2, 3), values=("01-701-1015",) * 3)]),
    Variant("orphan adverse event (version 8 transport file)", ("adae.xpt",),
            lambda d: edit_xpt(d / "adae.xpt", _set("USUBJID", 2, "01-999-9999"), version=8),
            [error("ADAE", "adae.xpt", "USUBJID", ORPHAN, (3,), values=("01-999-9999",))]),
    Variant("text in AVAL", ("adqsadas.csv",), lambda d: edit_csv(d / "adqsadas.csv", _set("AVAL", 4, "n/a")),
            [error("ADQSADAS", "adqsadas.csv", "AVAL", NOT_NUMERIC.format("AVAL"), (5,), values=("n/a",))]),
    Variant("truncated transport file", ("adtte.xpt",), lambda d: cut(d / "adtte.xpt", 40_007),
            [error("ADTTE", "adtte.xpt", "", "The file is truncated: it is 40,007 bytes, not a whole number of "
                   "80-byte transport records. Copy or export the file again.")]),
    Variant("transport file truncated on a record boundary", ("adtte.xpt",), lambda d: cut(d / "adtte.xpt", 40_000),
            [error("ADTTE", "adtte.xpt", "", "The file is truncated: it stops inside record 131, after 130 complete "
                   "records. Copy or export the file again.")]),
    Variant("truncated csv.gz", ("adlbc.csv.gz",), lambda d: cut(d / "adlbc.csv.gz", 800_000),
            [error("ADLBC", "adlbc.csv.gz", "", "The gzip file is truncated (it ends before its compressed data "
                   "does). Copy or compress the file again.")]),
    Variant("truncated csv", ("advs.csv",), lambda d: cut(d / "advs.csv", 4_299_056),
            [error("ADVS", "advs.csv", "TRTP", "The file is truncated: its last record (record 16041) stops inside "
                   "column TRTP (column 13 of 34), without a line end. Copy or export the file again.", (16041,),
                   values=("Xanomeli",))]),
    Variant("Latin-1 CSV", ("adqsadas.csv",),
            lambda d: edit_csv(d / "adqsadas.csv", _set("PARAM", 6, "Évaluation"), encoding="latin-1"),
            [error("ADQSADAS", "adqsadas.csv", "PARAM", "The text is not UTF-8: record 7, column PARAM holds the byte "
                   "0xC9 ('É' in Latin-1/Windows-1252). Save the file as UTF-8, e.g. `iconv -f latin1 -t utf-8`.",
                   (7,), values=("Évaluation",))]),
    Variant("Latin-1 transport file", ("adae.xpt",), lambda d: _latin1_xpt(d / "adae.xpt"),
            [error("ADAE", "adae.xpt", "AETERM", "The text is not UTF-8: record 10, column AETERM holds the byte 0xC9 "
                   "('É' in Latin-1/Windows-1252). Export the dataset again with UTF-8 encoding.", (10,),
                   values=("ÉRYTHÈME",))]),
    Variant("empty file", ("adae.xpt",), lambda d: (d / "adae.xpt").write_bytes(b""),
            [error("ADAE", "adae.xpt", "", "The file is empty (0 bytes).")]),
    Variant("header-only file", ("advs.csv",),
            lambda d: (d / "advs.csv").write_bytes((d / "advs.csv").read_bytes().split(b"\n")[0] + b"\n"),
            [error("ADVS", "advs.csv", "", "The file holds column names but no records. If the dataset really is "
                   "empty, remove the file from the study folder.")]),
    Variant("duplicated analysis record", ("adqsadas.csv",),
            lambda d: edit_csv(d / "adqsadas.csv", _analysis_duplicate),
            [error("ADQSADAS", "adqsadas.csv", "USUBJID, PARAMCD, AVISIT, DTYPE", DUPLICATE, (2, 12464),
                   values=("01-701-1015 / ACITM01 / Week 8",) * 2)]),
    Variant("duplicated time-to-event record", ("adtte.xpt",), lambda d: edit_xpt(d / "adtte.xpt", _duplicate(3)),
            [error("ADTTE", "adtte.xpt", "USUBJID, PARAMCD", "Duplicated time-to-event records: the same subject and "
                   "parameter occur more than once, so a Kaplan-Meier estimate would count the subject twice. Keep "
                   "one record per subject and PARAMCD.", (4, 255), values=("01-701-1033 / TTDE",) * 2)]),
    Variant("flag value y", (), lambda d: edit_xpt(d / "adsl.xpt", _set("SAFFL", 1, "y")),
            [error("ADSL", "adsl.xpt", "SAFFL", FLAG.format("SAFFL"), (2,), values=("y",))]),
    Variant("date that does not parse", ("advs.csv",), lambda d: edit_csv(d / "advs.csv", _set("ADT", 3, "2014-13-45")),
            [warning("ADVS", "advs.csv", "ADT", "ADT values that are not dates (YYYY-MM-DD, or SAS DATE9. such as "
                     "02JAN2014); they are treated as missing dates. Correct them at the source.", (4,),
                     values=("2014-13-45",))]),
    Variant("grade 7 and GRADE 3", ("adae.xpt",), lambda d: edit_xpt(d / "adae.xpt", _grades),
            [error("ADAE", "adae.xpt", "AETOXGR", "AETOXGR is a CTCAE grade and must be 1, 2, 3, 4 or 5 (the number "
                   "alone: write 3, not \"GRADE 3\"). Correct these values at the source.", (6, 9),
                   values=("7", "GRADE 3"))]),
    Variant("CHG is not AVAL − BASE", ("adqsadas.csv",), lambda d: edit_csv(d / "adqsadas.csv", _wrong_change),
            [error("ADQSADAS", "adqsadas.csv", "CHG", CHG, (2,),
                   values=("01-701-1015 / ACITM01 / Week 8: CHG 99, AVAL − BASE = 2 − 3 = -1",))]),
    Variant("unknown causality and severity terms", ("adae.xpt",),
            lambda d: edit_xpt(d / "adae.xpt",
                               lambda f: f.assign(AEREL=f["AEREL"].mask(f.index == 7, "MAYBE"),
                                                  AESEV=f["AESEV"].mask(f.index == 10, "LIFE THREATENING"))),
            [warning("ADAE", "adae.xpt", "AEREL", "AEREL values that are neither a related nor a not-related term; "
                     "these events are counted as not related. Declare them in [conventions] related_values or "
                     "not_related_values of the study file.", (8,), values=("MAYBE",)),
             warning("ADAE", "adae.xpt", "AESEV", "AESEV values other than MILD, MODERATE or SEVERE; these events are "
                     "shown with their severity as recorded, with no severity colour (severity is never turned into "
                     "a grade). Correct them at the source if they are typos.", (11,), values=("LIFE THREATENING",))]),
    Variant("value outside the declared range", ("adqsadas.csv",),
            lambda d: edit_csv(d / "adqsadas.csv", _total_above_range),
            [warning("ADQSADAS", "adqsadas.csv", "AVAL", "ACTOT (ADAS-Cog (11)) values outside its valid range 0–70 "
                     "(declared in the study file). They are analysed as recorded: check them at the source.", (58,),
                     values=("01-701-1015 / ACTOT / Week 8: 75",))],
            study_toml=ACTOT_RANGE),
    Variant("cohort missing from the study file", (), lambda d: None,
            [error("ADSL", "adsl.xpt", column, NOT_COHORT.format(column), (3, 5, 12, 13, 14), 84,
                   ("Xanomeline High Dose",) * 5) for column in ("TRT01A", "TRT01P")],
            study_toml=TWO_COHORTS),
    Variant("endpoint of the study file not in the data", ("adqsadas.csv",), lambda d: None,
            [warning("study", "study.toml", "PARAMCD", "The study file describes endpoint ACTTO (ADAS-Cog (11)), "
                     "but no dataset has PARAMCD ACTTO; it is not shown. Correct the paramcd in [[endpoints]] "
                     "(codes in the data: "
                     "ACITM01, ACITM02, ACITM03, ACITM04, ACITM05, ACITM06, ACITM07, ACITM08, ACITM09, ACITM10, "
                     "ACITM11, ACITM12 and 3 more).", count=1, values=("ACTTO",))],
            study_toml=ACTOT_RANGE.replace('"ACTOT"', '"ACTTO"')),
    Variant("file that is not a dataset", (),
            lambda d: (d / "listing.csv").write_text("SITE,NOTE\n701,checked\n", encoding="utf-8"),
            [warning("LISTING", "listing.csv", "", "Not recognised as ADSL, ADAE, ADTTE or a BDS dataset (no USUBJID "
                     "with PARAMCD/AVAL, AEDECOD or CNSR); the file is not used.")]),
    Variant("several problems in several files, all reported at once", ("adae.xpt", "adqsadas.csv", "adtte.xpt"),
            _several,
            [error("ADAE", "adae.xpt", "AEBODSYS", f"Required column AEBODSYS is missing from ADAE. {ADD_COLUMN}"),
             error("ADAE", "adae.xpt", "USUBJID", ORPHAN, (7,), values=("01-000-0000",)),
             # AVISITN is conditional in ADaM: its absence is a warning naming the analyses it blocks
             warning("ADQSADAS", "adqsadas.csv", "AVISITN", "ADQSADAS has no AVISITN column, so its parameters "
                     "(ACITM01, ACITM02, ACITM03, ACITM04, ACITM05, ACITM06, ACITM07, ACITM08, ACITM09, ACITM10, "
                     "ACITM11, ACITM12 and 3 more) have no ordered analysis visit: by-visit analyses (endpoint "
                     "summary by visit, change from baseline, tests, ANCOVA, responders, trajectories) cannot be "
                     "computed for them. The other analyses are not affected.", count=15,
                     values=("ACITM01", "ACITM02", "ACITM03", "ACITM04", "ACITM05")),
             error("ADQSADAS", "adqsadas.csv", "USUBJID, PARAMCD, AVISIT, DTYPE", DUPLICATE, (2, 12464),
                   values=("01-701-1015 / ACITM01 / Week 8",) * 2),
             error("ADQSADAS", "adqsadas.csv", "AVAL", NOT_NUMERIC.format("AVAL"), (5,), values=("n/a",)),
             error("ADQSADAS", "adqsadas.csv", "CHG", CHG, (2,),
                   values=("01-701-1015 / ACITM01 / Week 8: CHG 99, AVAL − BASE = 2 − 3 = -1",)),
             error("ADSL", "adsl.xpt", "EFFFL", FLAG.format("EFFFL"), (4,), values=("YES",)),
             error("ADTTE", "adtte.xpt", "", "The file is empty (0 bytes).")]),
]


@pytest.fixture(params=VARIANTS, ids=lambda v: v.name)
def variant(request, pilot_dir, tmp_path) -> tuple[Variant, Path]:
    variant: Variant = request.param
    folder = tmp_path / "study"
    folder.mkdir()
    for name in ("adsl.xpt", *variant.files):
        shutil.copyfile(pilot_dir / name, folder / name)
    variant.breaks(folder)
    if variant.study_toml:
        (folder / "study.toml").write_text(variant.study_toml, encoding="utf-8")
    return variant, folder


def validate(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["validate", *args])
    assert err.getvalue() == ""
    return code, out.getvalue()


def test_each_broken_variant_reports_its_exact_problems(variant):
    variant, folder = variant
    if variant.exit_code:
        with pytest.raises(ValidationError) as info:
            trialviz.load_study(folder)
        problems = list(info.value.problems)
        errors = sum(p.severity == "error" for p in variant.expected)
        assert str(info.value).startswith(f"The study has {errors} error(s) that stop loading:")
    else:
        problems = list(trialviz.load_study(folder).warnings)
    assert sorted(problems, key=_order) == sorted(variant.expected, key=_order)


def _order(problem: Problem) -> tuple[str, str, str]:
    return problem.severity, problem.file, problem.message


def test_each_broken_variant_through_the_command_line(variant):
    variant, folder = variant
    expected = sorted(variant.expected, key=lambda p: p.severity != "error")
    code, text = validate(str(folder))
    assert code == variant.exit_code
    lines = text.splitlines()
    assert sorted(lines[:-1]) == sorted(str(p) for p in expected)
    errors = sum(p.severity == "error" for p in expected)
    verdict = "cannot be loaded: correct the errors above" if errors else "loads"
    assert lines[-1] == f"{folder}: {errors} error(s), {len(expected) - errors} warning(s); the study {verdict}."
    code, text = validate(str(folder), "--format", "json")
    assert code == variant.exit_code
    records = json.loads(text)
    assert sorted(records, key=json.dumps) == sorted((p.to_dict() for p in expected), key=json.dumps)
    assert [r["severity"] for r in records] == sorted((r["severity"] for r in records), key=lambda s: s != "error")


def test_text_report_shows_file_dataset_column_records_values_and_advice(pilot_dir, tmp_path):
    shutil.copyfile(pilot_dir / "adsl.xpt", tmp_path / "adsl.xpt")
    shutil.copyfile(pilot_dir / "adae.xpt", tmp_path / "adae.xpt")
    edit_xpt(tmp_path / "adae.xpt", lambda f: f.assign(USUBJID=f["USUBJID"].mask(f.index % 100 == 7, "X-1")))
    code, text = validate(str(tmp_path))
    assert code == 1
    assert text.splitlines()[0] == (
        "ERROR [ADAE adae.xpt, column USUBJID, records 8, 108, 208, 308, 408 and 7 more]: " + ORPHAN
        + " Values: 'X-1', 'X-1', 'X-1', 'X-1', 'X-1'.")
    [record] = json.loads(validate(str(tmp_path), "--format", "json")[1])
    assert (record["rows"], record["count"], record["column"]) == ([8, 108, 208, 308, 408], 12, "USUBJID")

